//! `leofs-bench`: a warp-like S3 load generator. See `leofs-bench --help` and
//! docs/BENCHMARKS.md.

use clap::{ArgAction, Parser};
use leofs_bench::s3bench::{
    self, multipart, parse_bytes, parse_duration, parse_endpoint, Config, SizeSpec, Workload,
};
use std::time::Duration;

const WORKLOADS: &str = "\
Workloads:
  put       PUT new objects of --size
  get       GET random objects of a pool of --objects written first
  mixed     warp's mix over a prepared pool: 45% GET, 15% PUT, 10% DELETE, 30% STAT (HEAD)
  delete    DELETE the --objects written first (at least --ops of them) until none is left
  stat      HEAD random objects of a prepared pool
  list      ListObjectsV2 pages (--list-max-keys) over a prepared pool under --prefix
  multipart whole multipart uploads of new objects of --size (default 50MiB): create, the
            parts of --part-size (5MiB) --part-concurrency (4) at a time, complete; an
            upload that fails is aborted. Ops/s are uploads/s, MiB/s object bytes, and a
            row per phase (CREATE, UPLOAD-PART, COMPLETE, ABORT) follows. --concurrency
            counts connections: --concurrency / --part-concurrency uploads in flight

The bucket is created if missing; the objects a run writes are deleted at the end
(--no-cleanup keeps them). Requests are SigV4-signed, path-style, UNSIGNED-PAYLOAD
unless --signed-payload. --plain-http PATH turns `get` into unsigned GETs of one URL path
(to drive a static file server such as nginx with the same client).

Example:
  leofs-bench --endpoint http://127.0.0.1:8080 --access-key K --secret-key S \\
      --bucket bench get --size 4KiB --concurrency 32 --duration 10s";

#[derive(Parser, Debug)]
#[command(name = "leofs-bench", about = "A warp-like S3 load generator", after_help = WORKLOADS)]
struct Args {
    /// put, get, mixed, delete, stat, list or multipart.
    workload: String,
    /// S3 endpoint, plain HTTP.
    #[arg(
        long,
        env = "LEOFS_BENCH_ENDPOINT",
        default_value = "http://127.0.0.1:8080"
    )]
    endpoint: String,
    #[arg(long, env = "AWS_ACCESS_KEY_ID", default_value = "")]
    access_key: String,
    #[arg(
        long,
        env = "AWS_SECRET_ACCESS_KEY",
        default_value = "",
        hide_env_values = true
    )]
    secret_key: String,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    #[arg(long, default_value = "leofs-bench")]
    bucket: String,
    /// Object size: 4KiB, 1MiB, 4096, `dist` (log-uniform 1 KiB-1 MiB) or dist:MIN-MAX
    /// [default: 4KiB; multipart: 50MiB].
    #[arg(long)]
    size: Option<String>,
    /// multipart: bytes of every part but the last (S3 wants at least 5 MiB).
    #[arg(long, default_value = "5MiB")]
    part_size: String,
    /// multipart: parts of one upload in flight at once, each on its own connection.
    #[arg(long, default_value_t = 4)]
    part_concurrency: usize,
    /// Connections in all (each runs one request at a time).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Length of the measured phase (10s, 500ms, 2m) [default: 10s, or up to 10m with --ops].
    #[arg(long)]
    duration: Option<String>,
    /// Operations in the measured phase, in all (the run also stops at --duration).
    #[arg(long)]
    ops: Option<u64>,
    /// Client threads, each with its own runtime [default: number of CPUs].
    #[arg(long)]
    threads: Option<usize>,
    /// Reuse connections (`--keep-alive false`: one connection per request).
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    keep_alive: bool,
    /// Send the body's SHA-256 in x-amz-content-sha256 (the server must verify it). The
    /// hash is computed once per body size, not per request: the client stays cheap.
    #[arg(long)]
    signed_payload: bool,
    /// Objects written before get, mixed, delete, stat and list.
    #[arg(long, default_value_t = 2500)]
    objects: u64,
    /// Key prefix [default: leofs-bench-<random>/].
    #[arg(long)]
    prefix: Option<String>,
    /// Keys per LIST page.
    #[arg(long, default_value_t = 1000)]
    list_max_keys: u32,
    /// Keep the objects written.
    #[arg(long)]
    no_cleanup: bool,
    /// Longest cleanup.
    #[arg(long, default_value = "60s")]
    cleanup_timeout: String,
    /// Longest preparation of the object pool.
    #[arg(long, default_value = "300s")]
    prepare_timeout: String,
    /// A request not answered in this time counts as an error and its connection is closed.
    #[arg(long, default_value = "60s")]
    timeout: String,
    /// Also report this process's CPU time (the server's pid).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Unsigned GETs of this URL path (no bucket, no keys): for static HTTP servers.
    #[arg(long, value_name = "PATH")]
    plain_http: Option<String>,
    /// Seed for the body bytes, key order and operation mix [default: from the clock].
    #[arg(long)]
    seed: Option<u64>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn config(a: Args) -> Result<Config, String> {
    let workload = Workload::parse(&a.workload)?;
    let (host, addr) = parse_endpoint(&a.endpoint)?;
    let seed = a.seed.unwrap_or_else(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        t.as_nanos() as u64 ^ u64::from(std::process::id()) << 40
    });
    if a.plain_http.is_none() && (a.access_key.is_empty() || a.secret_key.is_empty()) {
        return Err("--access-key and --secret-key are required (or AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)".into());
    }
    if a.plain_http.as_deref().is_some_and(|p| !p.starts_with('/')) {
        return Err("--plain-http takes a URL path starting with /".into());
    }
    if a.ops == Some(0) {
        return Err("--ops must be at least 1".into());
    }
    let mp = workload == Workload::Multipart;
    let size = SizeSpec::parse(
        a.size
            .as_deref()
            .unwrap_or(if mp { "50MiB" } else { "4KiB" }),
    )?;
    let part_size = usize::try_from(parse_bytes(&a.part_size)?)
        .map_err(|_| format!("--part-size {} too large", a.part_size))?;
    if !mp && size.max() > 5 << 30 {
        return Err("--size above 5 GiB: a single PUT cannot be larger".into());
    }
    if mp && part_size < multipart::MIN_PART && size.max() > part_size {
        return Err(format!(
            "--part-size {}: S3 refuses parts under 5 MiB but the last (EntityTooSmall)",
            a.part_size
        ));
    }
    let d = |s: &str| parse_duration(s);
    Ok(Config {
        endpoint: a.endpoint,
        host,
        addr,
        access_key: a.access_key,
        secret_key: a.secret_key,
        region: a.region,
        bucket: a.bucket,
        prefix: a
            .prefix
            .unwrap_or_else(|| format!("leofs-bench-{:08x}/", seed as u32)),
        workload,
        size,
        concurrency: a.concurrency.max(1),
        threads: a
            .threads
            .unwrap_or_else(leofs_rt::runtime::available_cores)
            .max(1),
        duration: a.duration.as_deref().map(d).transpose()?,
        ops: a.ops,
        keep_alive: a.keep_alive,
        signed_payload: a.signed_payload,
        objects: a.objects,
        list_max_keys: a.list_max_keys.clamp(1, 1000),
        part_size,
        part_concurrency: a.part_concurrency.max(1),
        cleanup: !a.no_cleanup,
        cleanup_timeout: d(&a.cleanup_timeout)?,
        prepare_timeout: d(&a.prepare_timeout)?,
        op_timeout: d(&a.timeout)?.max(Duration::from_millis(1)),
        server_pid: a.server_pid,
        plain_http: a.plain_http,
        seed,
        bucket_path: String::new(),
        key_prefix_encoded: String::new(),
        prefix_query: String::new(),
    })
}

fn main() {
    let a = Args::parse();
    let json = a.json;
    let cfg = match config(a) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("leofs-bench: {e}");
            std::process::exit(2);
        }
    };
    match s3bench::run(cfg) {
        Ok(r) if json => println!(
            "{}",
            serde_json::to_string_pretty(&r).expect("the report serializes")
        ),
        Ok(r) => print!("{}", s3bench::report::table(&r)),
        Err(e) => {
            eprintln!("leofs-bench: {e}");
            std::process::exit(1);
        }
    }
}

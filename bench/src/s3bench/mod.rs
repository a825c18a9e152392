//! `leofs-bench`: a warp-like S3 load generator for any S3 endpoint (and, with
//! `--plain-http`, for a static HTTP server, so that the same client drives a reference
//! such as nginx).
//!
//! * [`sign`]: SigV4 request heads (path-style, header auth, `UNSIGNED-PAYLOAD` by default).
//! * [`http`] and [`conn`]: a small HTTP/1.1 client over `leofs_rt::net::Stream`.
//! * [`worker`]: threads × connection tasks, the workloads, the key pools.
//! * [`hist`] and [`report`]: latency histograms, counters, CPU time, the report.
//!
//! A run creates the bucket if missing, writes the key pool the workload needs (not
//! measured), runs the workload for `--duration` or `--ops`, then deletes the pool
//! (bounded by `--cleanup-timeout`). Results and method in docs/BENCHMARKS.md.

pub mod conn;
pub mod hist;
pub mod http;
pub mod report;
pub mod sign;
pub mod worker;

use report::{Cleanup, CpuUse, OpKind, OpReport, OpStats, Report};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};
use worker::{run_phase, Phase};

/// Longest measured phase when only `--ops` bounds it.
pub const MAX_RUN: Duration = Duration::from_secs(600);

/// What the measured phase does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// PUT new objects.
    Put,
    /// GET random objects of the prepared pool.
    Get,
    /// warp's mix: 45% GET, 15% PUT, 10% DELETE, 30% STAT.
    Mixed,
    /// DELETE prepared objects until none is left.
    Delete,
    /// HEAD random objects of the prepared pool.
    Stat,
    /// ListObjectsV2 pages over the prepared pool, from the first page again at the end.
    List,
}

impl Workload {
    pub fn parse(s: &str) -> Result<Workload, String> {
        Ok(match s {
            "put" => Workload::Put,
            "get" => Workload::Get,
            "mixed" => Workload::Mixed,
            "delete" => Workload::Delete,
            "stat" => Workload::Stat,
            "list" => Workload::List,
            "multipart" => return Err("multipart is not available: the server does not implement multipart uploads yet".into()),
            _ => return Err(format!("unknown workload {s:?}: put, get, mixed, delete, stat or list")),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Workload::Put => "put",
            Workload::Get => "get",
            Workload::Mixed => "mixed",
            Workload::Delete => "delete",
            Workload::Stat => "stat",
            Workload::List => "list",
        }
    }

    /// Whether the workload needs objects written before it starts.
    pub fn needs_objects(self) -> bool {
        self != Workload::Put
    }
}

/// Object sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeSpec {
    Fixed(usize),
    /// Log-uniform between the bounds (as many objects of 1-2 KiB as of 512 KiB-1 MiB).
    LogUniform { min: usize, max: usize },
}

impl SizeSpec {
    /// `4KiB`, `1MiB`, `4096`, `dist` (1 KiB to 1 MiB) or `dist:MIN-MAX`.
    pub fn parse(s: &str) -> Result<SizeSpec, String> {
        if s == "dist" {
            return Ok(SizeSpec::LogUniform { min: 1024, max: 1 << 20 });
        }
        if let Some(range) = s.strip_prefix("dist:") {
            let (a, b) = range.split_once('-').ok_or_else(|| format!("size {s:?}: dist:MIN-MAX"))?;
            let (min, max) = (parse_bytes(a)? as usize, parse_bytes(b)? as usize);
            if min == 0 || min > max {
                return Err(format!("size {s:?}: need 0 < MIN <= MAX"));
            }
            return Ok(SizeSpec::LogUniform { min, max });
        }
        Ok(SizeSpec::Fixed(parse_bytes(s)? as usize))
    }

    pub fn max(self) -> usize {
        match self {
            SizeSpec::Fixed(n) => n,
            SizeSpec::LogUniform { max, .. } => max,
        }
    }

    /// A size for random bits `r`.
    pub fn pick(self, r: u64) -> usize {
        match self {
            SizeSpec::Fixed(n) => n,
            SizeSpec::LogUniform { min, max } => {
                let u = (r >> 11) as f64 / (1u64 << 53) as f64;
                let (a, b) = ((min as f64).ln(), (max as f64).ln());
                ((a + u * (b - a)).exp() as usize).clamp(min, max)
            }
        }
    }

    pub fn describe(self) -> String {
        match self {
            SizeSpec::Fixed(n) => human_bytes(n as u64),
            SizeSpec::LogUniform { min, max } => format!("dist:{}-{}", human_bytes(min as u64), human_bytes(max as u64)),
        }
    }
}

/// `4096`, `4k`, `4KiB`, `4KB` (all 4096: object sizes are binary), `1m`, `1MiB`, `1g`.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n: u64 = t[..digits].parse().map_err(|_| format!("bad size {s:?}"))?;
    let mult = match t[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("bad size {s:?}: use B, KiB, MiB or GiB")),
    };
    n.checked_mul(mult).ok_or_else(|| format!("size {s:?} too large"))
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{}MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{}KiB", n >> 10),
        n => format!("{n}B"),
    }
}

/// `10s`, `500ms`, `2m`, `1h`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let n: f64 = t[..digits].parse().map_err(|_| format!("bad duration {s:?}"))?;
    let secs = match &t[digits..] {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("bad duration {s:?}: use ms, s, m or h")),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("bad duration {s:?}"))
}

/// `http://host:port[/]` to the `Host` header value and a socket address.
pub fn parse_endpoint(s: &str) -> Result<(String, SocketAddr), String> {
    if s.starts_with("https://") {
        return Err("https endpoints are not supported: leofs-bench speaks plain HTTP".into());
    }
    let hostport = s.strip_prefix("http://").unwrap_or(s).trim_end_matches('/');
    if hostport.is_empty() || hostport.contains('/') {
        return Err(format!("endpoint {s:?}: expected http://HOST:PORT"));
    }
    let with_port = if hostport.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    let addr = with_port
        .to_socket_addrs()
        .map_err(|e| format!("endpoint {s:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("endpoint {s:?}: no address"))?;
    Ok((hostport.to_string(), addr))
}

/// Everything a run needs.
#[derive(Clone, Debug)]
pub struct Config {
    pub endpoint: String,
    /// `Host` header value.
    pub host: String,
    pub addr: SocketAddr,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
    pub bucket: String,
    /// Key prefix of every object (e.g. `leofs-bench-1a2b3c4d/`).
    pub prefix: String,
    pub workload: Workload,
    pub size: SizeSpec,
    pub concurrency: usize,
    pub threads: usize,
    /// Measured phase length; `None`: 10 s, or [`MAX_RUN`] when `ops` is given.
    pub duration: Option<Duration>,
    /// Operations of the measured phase in all.
    pub ops: Option<u64>,
    pub keep_alive: bool,
    pub signed_payload: bool,
    /// Objects prepared for the workloads that read or delete.
    pub objects: u64,
    pub list_max_keys: u32,
    pub cleanup: bool,
    pub cleanup_timeout: Duration,
    pub prepare_timeout: Duration,
    pub op_timeout: Duration,
    pub server_pid: Option<u32>,
    /// `--plain-http PATH`: unsigned GETs of this path, no bucket, no keys.
    pub plain_http: Option<String>,
    pub seed: u64,
    // Derived by `run`:
    /// `/bucket`, URI-encoded.
    pub bucket_path: String,
    /// The prefix URI-encoded for a path (`/` kept).
    pub key_prefix_encoded: String,
    /// The prefix URI-encoded for a query value (`/` encoded too).
    pub prefix_query: String,
}

/// Runs the whole benchmark: bucket, preparation, measured phase, cleanup.
pub fn run(mut cfg: Config) -> Result<Report, String> {
    cfg.concurrency = cfg.concurrency.max(1);
    let threads = cfg.threads.clamp(1, cfg.concurrency);
    cfg.bucket_path = format!("/{}", sign::encode_key(&cfg.bucket));
    cfg.key_prefix_encoded = sign::encode_key(&cfg.prefix);
    cfg.prefix_query = leofs_net::s3::auth::aws_encode(cfg.prefix.as_bytes());
    if cfg.workload == Workload::Delete {
        // Each DELETE removes one prepared object: prepare enough for --ops.
        cfg.objects = cfg.objects.max(cfg.ops.unwrap_or(0));
    }
    let s3 = cfg.plain_http.is_none();
    if !s3 && cfg.workload != Workload::Get {
        return Err("--plain-http runs the get workload only".into());
    }
    if s3 && cfg.workload.needs_objects() && cfg.objects == 0 {
        return Err(format!("{} needs --objects > 0", cfg.workload.name()));
    }
    let body = random_body(cfg.size.max(), cfg.seed);
    let cfg = Arc::new(cfg);
    if s3 {
        ensure_bucket(&cfg)?;
    }

    let mut pools: Vec<Vec<u64>> = vec![Vec::new(); threads];
    if s3 && cfg.workload.needs_objects() {
        for id in (0..cfg.objects).rev() {
            pools[(id % threads as u64) as usize].push(id);
        }
        let out = run_phase(&cfg, &body, Phase::Prepare, pools, cfg.prepare_timeout, None);
        let st = out.stats();
        pools = out.pools();
        let written: u64 = pools.iter().map(|p| p.len() as u64).sum();
        if written < cfg.objects {
            let errors: Vec<String> = st.ops[OpKind::Put as usize].errors.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
            cleanup(&cfg, &body, pools);
            return Err(format!(
                "preparing {} objects: only {written} written in {:?} (errors: {})",
                cfg.objects,
                cfg.prepare_timeout,
                if errors.is_empty() { "none, out of time".into() } else { errors.join(", ") }
            ));
        }
    }

    let limit = cfg.duration.unwrap_or(if cfg.ops.is_some() { MAX_RUN } else { Duration::from_secs(10) });
    let cpu0 = report::cpu_seconds(None);
    let srv0 = cfg.server_pid.and_then(|p| report::cpu_seconds(Some(p)));
    let out = run_phase(&cfg, &body, Phase::Run, pools, limit, cfg.ops);
    let cpu1 = report::cpu_seconds(None);
    let srv1 = cfg.server_pid.and_then(|p| report::cpu_seconds(Some(p)));
    let secs = out.elapsed.as_secs_f64();
    let stats = out.stats();
    let connects = out.threads.iter().map(|t| t.connects).sum();
    let pools = out.pools();

    let cleanup = (s3 && cfg.cleanup).then(|| cleanup(&cfg, &body, pools));
    let ok = stats.ok_count();
    let mut total = OpStats::default();
    let mut ops = Vec::new();
    for k in OpKind::ALL {
        let o = &stats.ops[k as usize];
        if o.hist.count() + o.error_count() > 0 {
            ops.push(OpReport::new(k.name(), o, secs));
        }
        total.hist.merge(&o.hist);
        total.bytes += o.bytes;
        for (e, n) in &o.errors {
            *total.errors.entry(e.clone()).or_default() += n;
        }
    }
    let cpu = |a: Option<f64>, b: Option<f64>, pid| Some(CpuUse::new(pid, b? - a?, secs, ok));
    Ok(Report {
        workload: cfg.workload.name().to_string(),
        endpoint: cfg.endpoint.clone(),
        target: cfg.plain_http.clone().unwrap_or_else(|| cfg.bucket.clone()),
        size: if s3 { cfg.size.describe() } else { "(served file)".into() },
        concurrency: cfg.concurrency,
        threads,
        keep_alive: cfg.keep_alive,
        signed_payload: cfg.signed_payload,
        prepared: if s3 && cfg.workload.needs_objects() { cfg.objects } else { 0 },
        seconds: secs,
        ops,
        total: OpReport::new("total", &total, secs),
        listed_objects: stats.listed,
        connects,
        client_cpu: cpu(cpu0, cpu1, None),
        server_cpu: cfg.server_pid.and_then(|p| cpu(srv0, srv1, Some(p))),
        cleanup,
    })
}

/// Deletes the keys of `pools`, bounded by `--cleanup-timeout`.
fn cleanup(cfg: &Arc<Config>, body: &Arc<[u8]>, pools: Vec<Vec<u64>>) -> Cleanup {
    let start = Instant::now();
    let total: u64 = pools.iter().map(|p| p.len() as u64).sum();
    if total == 0 {
        return Cleanup::default();
    }
    let out = run_phase(cfg, body, Phase::Cleanup, pools, cfg.cleanup_timeout, None);
    let left: u64 = out.threads.iter().map(|t| t.pool.len() as u64).sum();
    Cleanup {
        deleted: total - left,
        left,
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// Creates the bucket unless it exists (and is ours); errors carry the S3 error code.
fn ensure_bucket(cfg: &Config) -> Result<(), String> {
    leofs_rt::block_on(async {
        let mut conn = conn::Conn::new(cfg.addr);
        let mut signer = sign::Signer::new(&cfg.access_key, &cfg.secret_key, &cfg.region, &cfg.host);
        let empty = leofs_net::s3::auth::EMPTY_SHA256_HEX;
        for method in ["HEAD", "PUT"] {
            conn.req.clear();
            let content_length = (method == "PUT").then_some(0);
            let r = sign::Req { method, path: &cfg.bucket_path, query: "", payload: empty, content_length, close: false };
            signer.write_head(&mut conn.req, &r);
            let fut = conn.exchange(None, method == "HEAD", 0);
            let rep = leofs_rt::task::timeout(cfg.op_timeout, fut)
                .await
                .ok_or_else(|| format!("{method} bucket {}: timed out", cfg.bucket))?
                .map_err(|e| format!("{} ({}): {e}", cfg.endpoint, cfg.addr))?;
            let code = http::s3_error_code(&conn.kept).unwrap_or("").to_string();
            match (method, rep.status) {
                ("HEAD", 200) => return Ok(()),
                // Not there, or not ours to see: the PUT's error body says which.
                ("HEAD", _) => continue,
                ("PUT", 200) => return Ok(()),
                ("PUT", 409) if code == "BucketAlreadyOwnedByYou" => return Ok(()),
                (m, s) => return Err(format!("{m} bucket {}: HTTP {s} {code}", cfg.bucket)),
            }
        }
        Ok(())
    })
}

/// Pseudo-random bytes (incompressible, unlike zeros), shared by every connection.
fn random_body(len: usize, seed: u64) -> Arc<[u8]> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_durations_endpoints() {
        assert_eq!(parse_bytes("4KiB").unwrap(), 4096);
        assert_eq!(parse_bytes("1m").unwrap(), 1 << 20);
        assert_eq!(parse_bytes("123").unwrap(), 123);
        assert!(parse_bytes("4 parsecs").is_err());
        assert_eq!(SizeSpec::parse("1MiB").unwrap(), SizeSpec::Fixed(1 << 20));
        let d = SizeSpec::parse("dist").unwrap();
        for r in [0, 1, u64::MAX, 0x8000_0000_0000_0000] {
            let s = d.pick(r);
            assert!((1024..=1 << 20).contains(&s), "{s}");
        }
        assert_eq!(SizeSpec::parse("dist:4KiB-8KiB").unwrap().describe(), "dist:4KiB-8KiB");
        assert!(SizeSpec::parse("dist:8KiB-4KiB").is_err());
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("soon").is_err());
        let (host, addr) = parse_endpoint("http://127.0.0.1:8080/").unwrap();
        assert_eq!((host.as_str(), addr.port()), ("127.0.0.1:8080", 8080));
        assert_eq!(parse_endpoint("127.0.0.1").unwrap().1.port(), 80);
        assert!(parse_endpoint("https://127.0.0.1:8443").is_err());
        assert!(Workload::parse("multipart").unwrap_err().contains("not implement"));
        assert_eq!(Workload::parse("mixed").unwrap(), Workload::Mixed);
    }
}

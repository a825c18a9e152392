//! `engine-bench`: the storage engine against fio on the same directory, side by side.
//! See docs/BENCHMARKS.md.

use clap::Parser;
use leofs_bench::engine_bench::{self, Options, Workload};
use leofs_rt::fs::IoMode;
use std::path::PathBuf;

/// Counts live heap bytes, for the index-RAM measurement.
#[global_allocator]
static ALLOC: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

fn live_bytes() -> usize {
    ALLOC.allocated()
}

#[derive(Parser, Debug)]
#[command(
    name = "engine-bench",
    about = "leofs storage engine vs fio on the same directory, side by side"
)]
struct Args {
    /// Benchmark directory: disk-backed (tmpfs is refused). Its bench files are removed at the end.
    #[arg(long, default_value = "./target/bench-engine")]
    dir: PathBuf,
    /// Runs per workload (engine and fio alternate A/B, B/A); medians are reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Seconds per measured phase.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Print the report as JSON on stdout (progress goes to stderr).
    #[arg(long)]
    json: bool,
    /// Also write the JSON report to this file.
    #[arg(long)]
    json_out: Option<PathBuf>,
    /// Engine side only: no fio references, no ratios.
    #[arg(long)]
    no_fio: bool,
    /// Skip the diagnostic phases (runtime raw reads, fio at the engine's I/O shapes).
    #[arg(long)]
    no_diagnostics: bool,
    /// Comma-separated subset of: put4k,get4k,write1m,read1m,index.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Puts in flight for the 4 KiB PUT workload.
    #[arg(long, default_value_t = 32)]
    put_concurrency: usize,
    /// Gets in flight for the 4 KiB GET workload.
    #[arg(long, default_value_t = 32)]
    get_concurrency: usize,
    /// Requests in flight for the 1 MiB workloads.
    #[arg(long, default_value_t = 4)]
    large_concurrency: usize,
    /// Size of the 4 KiB read set (engine objects and fio file), MiB.
    #[arg(long, default_value_t = 256)]
    read_set_mib: u64,
    /// Size of the 1 MiB read set (fio file; most engine objects read back), MiB.
    #[arg(long, default_value_t = 1024)]
    large_set_mib: u64,
    /// Objects in the index-RAM and restart workload.
    #[arg(long, default_value_t = 1_000_000)]
    index_objects: u64,
    /// Insert the index workload's keys in shuffled rather than ascending order.
    #[arg(long)]
    index_random_order: bool,
    /// Upper bound on the operations of one phase.
    #[arg(long, default_value_t = 10_000_000)]
    max_ops: u64,
    /// Keep the benchmark files afterwards.
    #[arg(long)]
    keep: bool,
}

fn main() {
    let a = Args::parse();
    engine_bench::install_logger();
    let workloads = if a.only.is_empty() {
        Workload::ALL.to_vec()
    } else {
        match a
            .only
            .iter()
            .map(|s| Workload::parse(s))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(w) => w,
            Err(e) => {
                eprintln!("engine-bench: {e}");
                std::process::exit(2);
            }
        }
    };
    let opts = Options {
        dir: a.dir,
        runs: a.runs.max(1),
        seconds: a.seconds.max(1),
        fio: !a.no_fio,
        workloads,
        put_concurrency: a.put_concurrency.max(1),
        get_concurrency: a.get_concurrency.max(1),
        large_concurrency: a.large_concurrency.max(1),
        read_set_mib: a.read_set_mib.max(1),
        large_set_mib: a.large_set_mib.max(1),
        index_objects: a.index_objects.max(1),
        index_random_order: a.index_random_order,
        max_ops: a.max_ops.max(1),
        keep: a.keep,
        diagnostics: !a.no_diagnostics,
        io_mode: IoMode::Direct,
        live_bytes: Some(live_bytes),
        ..Options::default()
    };
    let report = match engine_bench::run(&opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("engine-bench: {e}");
            std::process::exit(1);
        }
    };
    let json = serde_json::to_string_pretty(&report).expect("the report serializes");
    if let Some(path) = &a.json_out {
        if let Err(e) = std::fs::write(path, format!("{json}\n")) {
            eprintln!("engine-bench: {}: {e}", path.display());
            std::process::exit(1);
        }
    }
    if a.json {
        println!("{json}");
    } else {
        print!("{}", engine_bench::table(&report));
    }
}

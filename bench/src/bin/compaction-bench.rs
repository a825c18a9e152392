//! `compaction-bench`: foreground 4 KiB PUT latency alone vs during a throttled compaction.

use clap::Parser;
use leofs_bench::compaction_bench::{print, run, Options};
use leofs_rt::fs::{probe_direct_io, DirectIoSupport, IoMode};
use std::path::PathBuf;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "./target/bench-compaction")]
    dir: PathBuf,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Compaction throttle in MiB/s (the server default is 16).
    #[arg(long, default_value_t = 16)]
    compact_mib_per_sec: u64,
}

fn main() {
    let a = Args::parse();
    std::fs::create_dir_all(&a.dir).expect("bench dir");
    let mode = match probe_direct_io(&a.dir).expect("probe") {
        DirectIoSupport::Supported => IoMode::Direct,
        DirectIoSupport::Unsupported(why) => {
            eprintln!("compaction-bench needs a disk-backed directory: {why}");
            std::process::exit(1);
        }
    };
    let o = Options { runs: a.runs, seconds: a.seconds, concurrency: a.concurrency, compact_bytes_per_sec: a.compact_mib_per_sec << 20 };
    match leofs_rt::block_on(run(&a.dir, mode, &o)) {
        Ok(r) => print(&r, &o),
        Err(e) => {
            eprintln!("compaction-bench: {e}");
            std::process::exit(1);
        }
    }
}

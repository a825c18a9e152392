//! Foreground latency while compaction runs: the engine promises that compaction is
//! throttled so foreground p99 stays bounded. Measured side by side in one run: 4 KiB
//! durable PUTs alone (A) and the same PUTs while a throttled compaction copies live
//! records out of garbage-heavy segments (B), alternating A/B, medians reported.

use crate::engine_bench::{put_phase, EngineStore, Limits, Phase};
use leofs_engine::{Config, DirDisk, Durability, ObjectMeta, Store};
use leofs_rt::fs::IoMode;
use std::path::Path;

pub struct Options {
    pub runs: usize,
    pub seconds: f64,
    pub concurrency: usize,
    /// Compaction throttle, bytes per second.
    pub compact_bytes_per_sec: u64,
}

pub struct Report {
    pub alone: Vec<Phase>,
    pub with_compaction: Vec<Phase>,
    pub copied_bytes: Vec<u64>,
}

const SEGMENT: u64 = 64 << 20;
const OBJECT: usize = 4096;

/// Fills a store with objects, then overwrites most of them, so that every old segment
/// is mostly garbage and compaction has live records to copy.
async fn make_garbage(store: &EngineStore, round: usize) -> Result<(), String> {
    let n = (3 * SEGMENT as usize) / (OBJECT + 200);
    let body = vec![0x5Au8; OBJECT];
    let m = ObjectMeta { size: OBJECT as u64, ..ObjectMeta::default() };
    let keys: Vec<String> = (0..n).map(|i| format!("g{round}/{i:08}")).collect();
    for pass in 0..2 {
        let mut futs = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            // The second pass overwrites 3 of every 4 keys: 75% garbage.
            if pass == 1 && i % 4 == 0 {
                continue;
            }
            futs.push(async { store.put(k.as_bytes(), &m, body.clone()).await.map(|_| ()) });
            if futs.len() == 64 {
                for r in leofs_rt::task::join_all(std::mem::take(&mut futs)).await {
                    r.map_err(|e| e.to_string())?;
                }
            }
        }
        for r in leofs_rt::task::join_all(futs).await {
            r.map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

pub async fn run(dir: &Path, mode: IoMode, o: &Options) -> Result<Report, String> {
    let _ = std::fs::remove_dir_all(dir);
    let disk = DirDisk::new(dir, mode).map_err(|e| e.to_string())?;
    let cfg = Config { segment_size: SEGMENT, durability: Durability::Fsync, ..Config::default() };
    let store = Store::open(disk, cfg).await.map_err(|e| e.to_string())?;
    let lim = Limits { seconds: o.seconds, max_ops: u64::MAX, concurrency: o.concurrency };
    let mut r = Report { alone: Vec::new(), with_compaction: Vec::new(), copied_bytes: Vec::new() };
    for run in 0..o.runs {
        make_garbage(&store, run).await?;
        let alone = put_phase(&store, &format!("a{run}/"), OBJECT, lim).await?;
        let before = store.stats().compacted_bytes_copied;
        let s2 = store.clone();
        let bps = o.compact_bytes_per_sec;
        let compaction = leofs_rt::task::spawn(async move { s2.compact(0.5, bps).await });
        let busy = put_phase(&store, &format!("b{run}/"), OBJECT, lim).await?;
        let stats = compaction.await.map_err(|e| format!("compaction: {e}"))?;
        let _ = before;
        r.copied_bytes.push(stats.bytes_copied);
        r.alone.push(alone);
        r.with_compaction.push(busy);
    }
    store.close().await.map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(dir);
    Ok(r)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

pub fn print(r: &Report, o: &Options) {
    let a99 = median(r.alone.iter().map(|p| p.lat_p99_us).collect());
    let b99 = median(r.with_compaction.iter().map(|p| p.lat_p99_us).collect());
    let a50 = median(r.alone.iter().map(|p| p.lat_p50_us).collect());
    let b50 = median(r.with_compaction.iter().map(|p| p.lat_p50_us).collect());
    let aops = median(r.alone.iter().map(|p| p.ops_per_sec).collect());
    let bops = median(r.with_compaction.iter().map(|p| p.ops_per_sec).collect());
    let copied = median(r.copied_bytes.iter().map(|b| *b as f64).collect());
    println!("4 KiB durable PUT, {} in flight, {} runs x {} s, compaction throttle {} MiB/s", o.concurrency, o.runs, o.seconds, o.compact_bytes_per_sec >> 20);
    println!("{:<28} | {:>10} | {:>10} | {:>10}", "", "ops/s", "p50 us", "p99 us");
    println!("{:<28} | {:>10.0} | {:>10.0} | {:>10.0}", "alone", aops, a50, a99);
    println!("{:<28} | {:>10.0} | {:>10.0} | {:>10.0}", "while compacting", bops, b50, b99);
    println!("p99 ratio (compacting / alone): {:.2}x; throughput ratio {:.2}x; compaction copied {:.1} MiB per run", b99 / a99.max(1.0), bops / aops.max(1.0), copied / (1u64 << 20) as f64);
}

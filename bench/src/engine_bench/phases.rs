//! Measured phases: the driver and the engine workloads.

use super::*;
use leofs_engine::disk::SplitMix64;
use leofs_engine::{Config, DirDisk, Durability, ObjectMeta, Store};
use leofs_rt::fs::IoMode;
use serde::Serialize;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Bounds of one measured phase.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub seconds: f64,
    pub max_ops: u64,
    pub concurrency: usize,
}

/// What one engine phase measured.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Phase {
    pub ops: u64,
    pub bytes: u64,
    pub secs: f64,
    pub ops_per_sec: f64,
    pub mb_per_sec: f64,
    pub lat_p50_us: f64,
    pub lat_p99_us: f64,
    /// Writer counters over the phase (writes only).
    pub batches: u64,
    pub fsyncs: u64,
    pub records_per_batch: f64,
    pub avg_fsync_us: f64,
}

/// Runs `op(i)` for i = 0, 1, ... from `concurrency` tasks on the current core until the
/// deadline or `max_ops`, whichever first. `op` returns the payload bytes it moved.
pub async fn drive<F, Fut>(lim: Limits, op: F) -> Result<Phase, String>
where
    F: Fn(u64) -> Fut + 'static,
    Fut: Future<Output = Result<u64, String>> + 'static,
{
    struct Shared {
        next: Cell<u64>,
        bytes: Cell<u64>,
        lat_ns: RefCell<Vec<u64>>,
        err: RefCell<Option<String>>,
    }
    let op = Rc::new(op);
    let sh = Rc::new(Shared {
        next: Cell::new(0),
        bytes: Cell::new(0),
        lat_ns: RefCell::new(Vec::new()),
        err: RefCell::new(None),
    });
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(lim.seconds);
    let max_ops = lim.max_ops;
    let mut handles = Vec::with_capacity(lim.concurrency);
    for _ in 0..lim.concurrency.max(1) {
        let (op, sh) = (op.clone(), sh.clone());
        handles.push(leofs_rt::task::spawn(async move {
            loop {
                if sh.err.borrow().is_some() {
                    break;
                }
                let i = sh.next.get();
                if i >= max_ops || Instant::now() >= deadline {
                    break;
                }
                sh.next.set(i + 1);
                let t = Instant::now();
                match op(i).await {
                    Ok(b) => {
                        let ns = t.elapsed().as_nanos() as u64;
                        sh.bytes.set(sh.bytes.get() + b);
                        sh.lat_ns.borrow_mut().push(ns);
                    }
                    Err(e) => {
                        *sh.err.borrow_mut() = Some(e);
                        break;
                    }
                }
            }
        }));
    }
    for h in handles {
        h.await;
    }
    let secs = start.elapsed().as_secs_f64();
    if let Some(e) = sh.err.borrow_mut().take() {
        return Err(e);
    }
    let mut lat = std::mem::take(&mut *sh.lat_ns.borrow_mut());
    lat.sort_unstable();
    let pct = |p: f64| {
        if lat.is_empty() {
            0.0
        } else {
            lat[((lat.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
        }
    };
    let ops = lat.len() as u64;
    let bytes = sh.bytes.get();
    Ok(Phase {
        ops,
        bytes,
        secs,
        ops_per_sec: ops as f64 / secs,
        mb_per_sec: bytes as f64 / secs / 1e6,
        lat_p50_us: pct(0.50),
        lat_p99_us: pct(0.99),
        ..Phase::default()
    })
}

/// Opens a store on `dir` with the default configuration and `durability`.
pub async fn open_store(
    dir: &Path,
    mode: IoMode,
    durability: Durability,
) -> Result<EngineStore, String> {
    let disk = DirDisk::new(dir, mode).map_err(|e| format!("{}: {e}", dir.display()))?;
    Store::open(
        disk,
        Config {
            durability,
            ..Config::default()
        },
    )
    .await
    .map_err(|e| format!("open {}: {e}", dir.display()))
}

pub(crate) fn meta(len: usize) -> ObjectMeta {
    ObjectMeta {
        size: len as u64,
        md5: [0xA5; 16],
        ..ObjectMeta::default()
    }
}

pub(crate) fn random_body(len: usize, seed: u64) -> Vec<u8> {
    let mut r = SplitMix64(seed);
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        v.extend_from_slice(&r.next_u64().to_le_bytes());
    }
    v.truncate(len);
    v
}

pub(crate) fn with_writer_stats(
    mut p: Phase,
    before: &leofs_engine::store::Stats,
    after: &leofs_engine::store::Stats,
) -> Phase {
    p.batches = after.batches - before.batches;
    p.fsyncs = after.fsyncs - before.fsyncs;
    let recs = after.records_written - before.records_written;
    p.records_per_batch = if p.batches > 0 {
        recs as f64 / p.batches as f64
    } else {
        0.0
    };
    p.avg_fsync_us = if p.fsyncs > 0 {
        (after.fsync_ns_total - before.fsync_ns_total) as f64 / p.fsyncs as f64 / 1000.0
    } else {
        0.0
    };
    p
}

/// Puts `body_len`-byte objects `{prefix}{i:010}` for the whole phase.
pub async fn put_phase(
    store: &EngineStore,
    prefix: &str,
    body_len: usize,
    lim: Limits,
) -> Result<Phase, String> {
    let before = store.stats();
    let body = Rc::new(random_body(body_len, 7));
    let m = Rc::new(meta(body_len));
    let (s, prefix) = (store.clone(), prefix.to_string());
    let p = drive(lim, move |i| {
        let (s, body, m) = (s.clone(), body.clone(), m.clone());
        let key = format!("{prefix}{i:010}");
        async move {
            // A server receives each body into a fresh buffer: so does the benchmark.
            let b = body.to_vec();
            s.put(key.as_bytes(), &m, b)
                .await
                .map_err(|e| format!("put {key}: {e}"))?;
            Ok(body.len() as u64)
        }
    })
    .await?;
    Ok(with_writer_stats(p, &before, &store.stats()))
}

/// Reads objects `{prefix}{k:010}` for k in `0..n` (random keys, or `k = i % n` in order
/// when `sequential`), draining each body; checks each length is `body_len`.
pub async fn get_phase(
    store: &EngineStore,
    prefix: &str,
    n: u64,
    body_len: u64,
    sequential: bool,
    lim: Limits,
) -> Result<Phase, String> {
    if n == 0 {
        return Err("nothing to read".into());
    }
    let (s, prefix) = (store.clone(), prefix.to_string());
    drive(lim, move |i| {
        let s = s.clone();
        let k = if sequential {
            i % n
        } else {
            SplitMix64(i ^ 0x5EED).next_u64() % n
        };
        let key = format!("{prefix}{k:010}");
        async move {
            let mut obj = s
                .get(key.as_bytes())
                .await
                .map_err(|e| format!("get {key}: {e}"))?
                .ok_or_else(|| format!("get {key}: missing"))?;
            let mut got = 0u64;
            while let Some(c) = obj
                .body
                .next()
                .await
                .map_err(|e| format!("get {key}: {e}"))?
            {
                got += c.len() as u64;
            }
            if got != body_len {
                return Err(format!("get {key}: {got} bytes, want {body_len}"));
            }
            Ok(got)
        }
    })
    .await
}

/// Engine side of workload 1 on a fresh store in `dir` (removed afterwards).
pub async fn engine_put4k(dir: &Path, mode: IoMode, lim: Limits) -> Result<Phase, String> {
    let _ = std::fs::remove_dir_all(dir);
    let store = open_store(dir, mode, Durability::Fsync).await?;
    let p = put_phase(&store, "bench/put-", 4096, lim).await;
    let _ = store.close().await;
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
    p
}

/// Fills `store` with `n` objects `{prefix}{i:010}` of `body_len` bytes.
pub async fn prefill(
    store: &EngineStore,
    prefix: &str,
    n: u64,
    body_len: usize,
) -> Result<(), String> {
    let lim = Limits {
        seconds: 1e9,
        max_ops: n,
        concurrency: 64,
    };
    put_phase(store, prefix, body_len, lim).await.map(|_| ())
}

/// Diagnostic: `concurrency` tasks reading `len` bytes at random `ALIGN`-aligned offsets of
/// `[start, start + span)` in `file` through the runtime seam directly (no engine): the
/// runtime's own ceiling for the engine's read pattern.
pub async fn raw_read_phase(
    file: &Path,
    mode: IoMode,
    start: u64,
    span: u64,
    len: usize,
    lim: Limits,
) -> Result<Phase, String> {
    let f = Rc::new(
        leofs_rt::fs::File::open(file, false, mode)
            .map_err(|e| format!("{}: {e}", file.display()))?,
    );
    let blocks = (span.saturating_sub(len as u64) / leofs_rt::ALIGN as u64).max(1);
    drive(lim, move |i| {
        let f = f.clone();
        let off = start + SplitMix64(i ^ 0xBEEF).next_u64() % blocks * leofs_rt::ALIGN as u64;
        async move {
            let (r, _buf) = f
                .read_at(leofs_rt::AlignedBuf::with_capacity(len), off, len)
                .await;
            let n = r.map_err(|e| format!("read at {off}: {e}"))?;
            Ok(n as u64)
        }
    })
    .await
}


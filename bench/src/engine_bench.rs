//! `engine-bench`: one shard of the storage engine measured against `fio` on the same
//! directory, in the same run, alternating engine and fio runs (A/B, then B/A) and
//! reporting medians and ratios.
//!
//! Workloads (each phase bounded by time *and* by an op count):
//! 1. 4 KiB durable PUT/s (group commit, N puts in flight) vs fio 4k write + fdatasync qd32.
//! 2. 4 KiB GET/s (random keys, N in flight) vs fio 4k randread qd32 on a file of the same size.
//! 3. 1 MiB durable PUT MB/s vs fio 1m write qd4 with an fdatasync every 4 writes; and
//!    1 MiB GET MB/s vs fio 1m sequential read qd4.
//! 4. Index RAM per object at 1M objects (counted by the binary's global allocator) and
//!    restart time with and without the index checkpoint.

use crate::fio;
use crate::sysinfo::Machine;
use leofs_engine::disk::SplitMix64;
use leofs_engine::{Config, DirDisk, Durability, ObjectMeta, Store};
use leofs_rt::fs::IoMode;
use serde::Serialize;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub type EngineStore = Store<DirDisk>;

/// Engine warnings saying a checkpoint could not be used, seen by [`install_logger`]'s logger.
static CHECKPOINT_REJECTIONS: AtomicUsize = AtomicUsize::new(0);

/// Prints the engine's warnings and errors to stderr and counts rejected checkpoints.
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::Level::Warn
    }
    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            let msg = r.args().to_string();
            if msg.contains("rebuilding the index from the whole log") {
                CHECKPOINT_REJECTIONS.fetch_add(1, Ordering::Relaxed);
            }
            eprintln!("[{} {}] {msg}", r.level(), r.target());
        }
    }
    fn flush(&self) {}
}

static LOGGER: StderrLog = StderrLog;

/// Installs the benchmark's logger (once; a no-op when another logger is installed).
pub fn install_logger() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
}

/// How many times an open found its index checkpoint unusable (needs [`install_logger`]).
pub fn checkpoint_rejections() -> usize {
    CHECKPOINT_REJECTIONS.load(Ordering::Relaxed)
}

/// A function returning the process's live heap bytes (the binary's counting allocator).
pub type LiveBytes = fn() -> usize;

const MIB: u64 = 1 << 20;

/// Which workloads to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    Put4k,
    Get4k,
    Write1m,
    Read1m,
    Index,
}

impl Workload {
    pub const ALL: [Workload; 5] = [
        Workload::Put4k,
        Workload::Get4k,
        Workload::Write1m,
        Workload::Read1m,
        Workload::Index,
    ];

    pub fn parse(s: &str) -> Result<Workload, String> {
        Ok(match s.trim() {
            "put4k" => Workload::Put4k,
            "get4k" => Workload::Get4k,
            "write1m" => Workload::Write1m,
            "read1m" => Workload::Read1m,
            "index" => Workload::Index,
            other => {
                return Err(format!(
                    "unknown workload {other:?} (put4k, get4k, write1m, read1m, index)"
                ))
            }
        })
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Options {
    /// A disk-backed directory (never tmpfs); created if missing; bench files are removed
    /// at the end unless `keep`.
    pub dir: PathBuf,
    pub runs: usize,
    /// Length of each measured phase (engine and fio alike).
    pub seconds: u64,
    /// Run the fio references (false: engine side only, no ratios).
    pub fio: bool,
    pub workloads: Vec<Workload>,
    pub put_concurrency: usize,
    pub get_concurrency: usize,
    pub large_concurrency: usize,
    /// Size of the 4 KiB read set (engine objects and fio file), MiB.
    pub read_set_mib: u64,
    /// Size of the fio 1 MiB read file, and the most engine 1 MiB objects read back, MiB.
    pub large_set_mib: u64,
    /// Size of the fio 1 MiB write file (preallocated, like an engine segment), MiB.
    pub large_write_file_mib: u64,
    pub index_objects: u64,
    /// Insert the index keys in a shuffled order instead of ascending.
    pub index_random_order: bool,
    /// Upper bound on the ops of one phase.
    pub max_ops: u64,
    pub keep: bool,
    /// Also run the diagnostic phases (info rows): the runtime's raw read ceiling, fio at
    /// the engine's read size, fio at the engine's group-commit write shape.
    pub diagnostics: bool,
    #[serde(skip)]
    pub io_mode: IoMode,
    #[serde(skip)]
    pub live_bytes: Option<LiveBytes>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            dir: PathBuf::from("./target/bench-engine"),
            runs: 3,
            seconds: 5,
            fio: true,
            workloads: Workload::ALL.to_vec(),
            put_concurrency: 32,
            get_concurrency: 32,
            large_concurrency: 4,
            read_set_mib: 256,
            large_set_mib: 1024,
            large_write_file_mib: 16 << 10,
            index_objects: 1_000_000,
            index_random_order: false,
            max_ops: 10_000_000,
            keep: false,
            diagnostics: true,
            io_mode: IoMode::Direct,
            live_bytes: None,
        }
    }
}

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

fn meta(len: usize) -> ObjectMeta {
    ObjectMeta {
        size: len as u64,
        md5: [0xA5; 16],
        ..ObjectMeta::default()
    }
}

fn random_body(len: usize, seed: u64) -> Vec<u8> {
    let mut r = SplitMix64(seed);
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        v.extend_from_slice(&r.next_u64().to_le_bytes());
    }
    v.truncate(len);
    v
}

fn with_writer_stats(
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

/// Index-RAM and restart measurements (workload 4).
#[derive(Clone, Debug, Default, Serialize)]
pub struct IndexResult {
    pub objects: u64,
    pub key_order: String,
    pub avg_key_bytes: f64,
    pub insert_secs: f64,
    pub inserts_per_sec: f64,
    pub log_bytes: u64,
    /// Live heap bytes the store gained over the inserts (counting allocator), per object.
    pub heap_per_object: Option<f64>,
    /// The same, minus the average key length (the goal's measure).
    pub heap_per_object_minus_key: Option<f64>,
    /// Live heap per object (minus key) of the index loaded from the checkpoint at open.
    pub reloaded_heap_per_object_minus_key: Option<f64>,
    pub close_checkpoint_secs: f64,
    pub checkpoint_bytes: u64,
    pub open_with_checkpoint_secs: Vec<f64>,
    pub open_without_checkpoint_secs: Vec<f64>,
    /// The engine logged that it could not use its checkpoint during the opens "with
    /// checkpoint" (they then replayed the whole log).
    pub checkpoint_rejected: bool,
}

fn index_key(i: u64) -> String {
    format!("bucket/obj-{i:07}")
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Workload 4 on a fresh store in `dir` (removed afterwards): inserts `n` small objects
/// (durability none), measures the heap the index holds, closes (checkpoint), then times
/// `restarts` opens with the checkpoint and `restarts` without it.
pub async fn index_phase(
    dir: &Path,
    mode: IoMode,
    n: u64,
    random_order: bool,
    restarts: usize,
    live: Option<LiveBytes>,
) -> Result<IndexResult, String> {
    let _ = std::fs::remove_dir_all(dir);
    let heap = || live.map(|f| f() as i64);
    let mut r = IndexResult {
        objects: n,
        key_order: if random_order { "random" } else { "ascending" }.into(),
        ..Default::default()
    };
    r.avg_key_bytes =
        (0..n).map(|i| index_key(i).len() as u64).sum::<u64>() as f64 / n.max(1) as f64;
    // Key i of the insert order: ascending, or a fixed permutation i -> (i * p + c) mod n.
    let mut p = 1_000_003u64;
    while gcd(p, n.max(1)) != 1 {
        p += 2;
    }
    let perm = move |i: u64| {
        if random_order {
            (i.wrapping_mul(p) + 12_345) % n
        } else {
            i
        }
    };

    let store = open_store(dir, mode, Durability::None).await?;
    let h1 = heap();
    let t = Instant::now();
    {
        let s = store.clone();
        let lim = Limits {
            seconds: 1e9,
            max_ops: n,
            concurrency: 256,
        };
        drive(lim, move |i| {
            let s = s.clone();
            let key = index_key(perm(i));
            let len = 16 + (i % 85) as usize;
            async move {
                let body = vec![(i & 0xff) as u8; len];
                s.put(key.as_bytes(), &meta(len), body)
                    .await
                    .map_err(|e| format!("put {key}: {e}"))?;
                Ok(len as u64)
            }
        })
        .await?;
    }
    r.insert_secs = t.elapsed().as_secs_f64();
    r.inserts_per_sec = n as f64 / r.insert_secs;
    if store.index_len() as u64 != n {
        return Err(format!(
            "index holds {} entries after {n} inserts",
            store.index_len()
        ));
    }
    let h2 = heap();
    if let (Some(a), Some(b)) = (h1, h2) {
        let per = (b - a) as f64 / n as f64;
        r.heap_per_object = Some(per);
        r.heap_per_object_minus_key = Some(per - r.avg_key_bytes);
    }
    r.log_bytes = store.stats().bytes_written;
    let t = Instant::now();
    store.close().await.map_err(|e| format!("close: {e}"))?;
    r.close_checkpoint_secs = t.elapsed().as_secs_f64();
    drop(store);
    r.checkpoint_bytes = std::fs::metadata(dir.join("index.ckpt"))
        .map(|m| m.len())
        .unwrap_or(0);

    // An empty store's own heap, to subtract from the heap an open with the index holds.
    let empty_dir = dir.with_extension("empty");
    let _ = std::fs::remove_dir_all(&empty_dir);
    let e0 = heap();
    let empty = open_store(&empty_dir, mode, Durability::None).await?;
    let e1 = heap();
    drop(empty);
    let _ = std::fs::remove_dir_all(&empty_dir);

    let rejections = checkpoint_rejections();
    for _ in 0..restarts.max(1) {
        let h0 = heap();
        let t = Instant::now();
        let s = open_store(dir, mode, Durability::None).await?;
        r.open_with_checkpoint_secs.push(t.elapsed().as_secs_f64());
        if s.index_len() as u64 != n {
            return Err(format!(
                "reopened index holds {} entries, want {n}",
                s.index_len()
            ));
        }
        if let (Some(a), Some(b), Some(x), Some(y)) = (h0, heap(), e0, e1) {
            r.reloaded_heap_per_object_minus_key =
                Some(((b - a) - (y - x)) as f64 / n as f64 - r.avg_key_bytes);
        }
        // Dropped without close: nothing was written, the checkpoint stays current.
        drop(s);
    }
    r.checkpoint_rejected = checkpoint_rejections() > rejections;
    std::fs::remove_file(dir.join("index.ckpt")).map_err(|e| format!("remove index.ckpt: {e}"))?;
    for _ in 0..restarts.max(1) {
        let t = Instant::now();
        let s = open_store(dir, mode, Durability::None).await?;
        r.open_without_checkpoint_secs
            .push(t.elapsed().as_secs_f64());
        if s.index_len() as u64 != n {
            return Err(format!(
                "replayed index holds {} entries, want {n}",
                s.index_len()
            ));
        }
        drop(s);
    }
    let _ = std::fs::remove_dir_all(dir);
    Ok(r)
}

/// One line of the report.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub workload: String,
    pub unit: String,
    pub leofs: f64,
    pub reference: Option<f64>,
    pub reference_name: Option<String>,
    pub reference_cmd: Option<String>,
    pub ratio: Option<f64>,
    pub goal: String,
    pub pass: Option<bool>,
    pub leofs_runs: Vec<f64>,
    pub reference_runs: Vec<f64>,
    /// A caveat printed under the table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Details {
    pub put4k: Vec<Phase>,
    pub get4k: Vec<Phase>,
    pub write1m: Vec<Phase>,
    pub read1m: Vec<Phase>,
    pub fio_put4k: Vec<fio::Measured>,
    pub fio_get4k: Vec<fio::Measured>,
    pub fio_write1m: Vec<fio::Measured>,
    pub fio_read1m: Vec<fio::Measured>,
    pub index: Option<IndexResult>,
    /// Diagnostic phases, by name.
    pub diag: std::collections::BTreeMap<String, Vec<f64>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub options: Options,
    pub rows: Vec<Row>,
    pub details: Details,
}

pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

/// A row comparing the medians of `leofs` and `reference`; `goal: None` for an info row.
fn ratio_row(
    workload: &str,
    unit: &str,
    leofs: Vec<f64>,
    reference: Vec<f64>,
    ref_name: &str,
    ref_cmd: Option<String>,
    goal: Option<f64>,
) -> Row {
    let l = median(&leofs);
    let (rf, ratio, pass) = if reference.is_empty() {
        (None, None, None)
    } else {
        let r = median(&reference);
        let ratio = if r > 0.0 { l / r } else { 0.0 };
        (Some(r), Some(ratio), goal.map(|g| ratio >= g))
    };
    Row {
        workload: workload.into(),
        unit: unit.into(),
        leofs: l,
        reference: rf,
        reference_name: rf.map(|_| ref_name.to_string()),
        reference_cmd: rf.and(ref_cmd),
        ratio,
        goal: goal
            .map(|g| format!(">= {g}x"))
            .unwrap_or_else(|| "(info)".into()),
        pass,
        leofs_runs: leofs,
        reference_runs: reference,
        note: None,
    }
}

fn progress(msg: &str) {
    eprintln!("[engine-bench] {msg}");
}

/// Runs the selected workloads; `Err` on any engine or fio failure.
pub fn run(opts: &Options) -> Result<Report, String> {
    install_logger();
    std::fs::create_dir_all(&opts.dir).map_err(|e| format!("{}: {e}", opts.dir.display()))?;
    if opts.io_mode == IoMode::Direct {
        match leofs_rt::fs::probe_direct_io(&opts.dir)
            .map_err(|e| format!("{}: {e}", opts.dir.display()))?
        {
            leofs_rt::fs::DirectIoSupport::Supported => {}
            leofs_rt::fs::DirectIoSupport::Unsupported(why) => {
                return Err(format!(
                    "{why}: the benchmark needs a disk-backed directory with O_DIRECT (use --dir)"
                ))
            }
        }
    }
    let mut machine = Machine::probe(&opts.dir);
    if opts.fio {
        machine.fio_version = Some(fio::version()?);
    }
    let res = leofs_rt::block_on(async {
        machine.io_driver = leofs_rt::runtime::current_driver()
            .map(|d| d.as_str())
            .unwrap_or("none")
            .to_string();
        run_async(opts).await
    });
    if !opts.keep {
        for name in [
            "engine-put4k",
            "engine-get4k",
            "engine-w1m",
            "engine-index",
            "engine-index.empty",
        ] {
            let _ = std::fs::remove_dir_all(opts.dir.join(name));
        }
        for name in [
            "fio-w4k.dat",
            "fio-r4k.dat",
            "fio-w1m.dat",
            "fio-r1m.dat",
            "fio-out.json",
        ] {
            let _ = std::fs::remove_file(opts.dir.join(name));
        }
    }
    let (rows, details) = res?;
    Ok(Report {
        machine,
        options: opts.clone(),
        rows,
        details,
    })
}

async fn run_async(o: &Options) -> Result<(Vec<Row>, Details), String> {
    let dir = &o.dir;
    let secs = o.seconds as f64;
    let has = |w| o.workloads.contains(&w);
    let mut d = Details::default();

    let w4k = fio::Job {
        file: dir.join("fio-w4k.dat"),
        rw: "write",
        bs: "4k",
        iodepth: 32,
        size: 1 << 30,
        runtime_s: o.seconds,
        extra: vec!["--fdatasync=1".into()],
    };
    let r4k = fio::Job {
        file: dir.join("fio-r4k.dat"),
        rw: "randread",
        bs: "4k",
        iodepth: 32,
        size: o.read_set_mib * MIB,
        runtime_s: o.seconds,
        extra: vec![],
    };
    let r8k = fio::Job {
        bs: "8k",
        ..r4k.clone()
    };
    let w1m = fio::Job {
        file: dir.join("fio-w1m.dat"),
        rw: "write",
        bs: "1m",
        iodepth: 4,
        size: o.large_write_file_mib * MIB,
        runtime_s: o.seconds,
        extra: vec!["--fdatasync=4".into()],
    };
    let w4m = fio::Job {
        bs: "4m",
        iodepth: 1,
        extra: vec!["--fdatasync=1".into()],
        ..w1m.clone()
    };
    let r1m = fio::Job {
        file: dir.join("fio-r1m.dat"),
        rw: "read",
        bs: "1m",
        iodepth: 4,
        size: o.large_set_mib * MIB,
        runtime_s: o.seconds,
        extra: vec![],
    };

    // Preparation, outside every measured phase.
    if o.fio && has(Workload::Get4k) {
        progress(&format!(
            "laying out the fio 4k read file ({} MiB)",
            o.read_set_mib
        ));
        fio::layout(&r4k.file, r4k.size)?;
    }
    if o.fio && has(Workload::Read1m) {
        progress(&format!(
            "laying out the fio 1m read file ({} MiB)",
            o.large_set_mib
        ));
        fio::layout(&r1m.file, r1m.size)?;
    }
    let get_n = (o.read_set_mib * MIB / 4096).clamp(1, o.max_ops);
    let get_store = if has(Workload::Get4k) {
        let gdir = dir.join("engine-get4k");
        let _ = std::fs::remove_dir_all(&gdir);
        progress(&format!(
            "prefilling {get_n} 4 KiB engine objects ({} MiB)",
            o.read_set_mib
        ));
        let s = open_store(&gdir, o.io_mode, Durability::None).await?;
        prefill(&s, "bench/get-", get_n, 4096).await?;
        Some(s)
    } else {
        None
    };

    let lim = |conc| Limits {
        seconds: secs,
        max_ops: o.max_ops,
        concurrency: conc,
    };
    let large_max = o.max_ops.min(o.large_write_file_mib.max(1));
    let fio_run = |job: &fio::Job, what: &str, run: usize| -> Result<fio::Measured, String> {
        if job.rw == "write" {
            // Writes start on a fresh, preallocated file each run, like an engine segment.
            let _ = std::fs::remove_file(&job.file);
        }
        let m = job.run(dir)?;
        if job.rw == "write" {
            let _ = std::fs::remove_file(&job.file);
        }
        progress(&format!(
            "run {run}: fio {what}: {:.0} IOPS, {:.1} MB/s",
            m.iops,
            m.bw_bytes / 1e6
        ));
        Ok(m)
    };

    for run in 1..=o.runs {
        // A/B on odd runs, B/A on even ones.
        let engine_first = run % 2 == 1;
        if has(Workload::Put4k) {
            for side in sides(engine_first, o.fio) {
                if side {
                    let p =
                        engine_put4k(&dir.join("engine-put4k"), o.io_mode, lim(o.put_concurrency))
                            .await?;
                    progress(&format!(
                        "run {run}: engine put4k: {:.0} PUT/s ({} records in {} batches, {:.1}/batch, fsync avg {:.0} us)",
                        p.ops_per_sec, p.ops, p.batches, p.records_per_batch, p.avg_fsync_us
                    ));
                    d.put4k.push(p);
                } else {
                    d.fio_put4k
                        .push(fio_run(&w4k, "4k write+fdatasync qd32", run)?);
                }
            }
        }
        if let Some(store) = &get_store {
            for side in sides(engine_first, o.fio) {
                if side {
                    let p = get_phase(
                        store,
                        "bench/get-",
                        get_n,
                        4096,
                        false,
                        lim(o.get_concurrency),
                    )
                    .await?;
                    progress(&format!(
                        "run {run}: engine get4k: {:.0} GET/s (p50 {:.0} us, p99 {:.0} us)",
                        p.ops_per_sec, p.lat_p50_us, p.lat_p99_us
                    ));
                    d.get4k.push(p);
                } else {
                    d.fio_get4k.push(fio_run(&r4k, "4k randread qd32", run)?);
                }
            }
            if o.diagnostics {
                // A 4 KiB object is a ~4.2 KiB record packed at 8-byte alignment: a GET reads
                // two blocks. The same reads without the engine, then fio at that size.
                let used = store.segments().first().map(|sg| sg.used).unwrap_or(0);
                let seg = dir.join("engine-get4k").join("seg-0000000000000001.log");
                let p = raw_read_phase(
                    &seg,
                    o.io_mode,
                    4096,
                    used.max(1 << 20),
                    8192,
                    lim(o.get_concurrency),
                )
                .await?;
                progress(&format!(
                    "run {run}: runtime raw 8 KiB reads: {:.0}/s (p50 {:.0} us)",
                    p.ops_per_sec, p.lat_p50_us
                ));
                d.diag
                    .entry("runtime_read8k_ops".into())
                    .or_default()
                    .push(p.ops_per_sec);
                if o.fio {
                    let m = fio_run(&r8k, "8k randread qd32", run)?;
                    d.diag
                        .entry("fio_randread8k_iops".into())
                        .or_default()
                        .push(m.iops);
                }
            }
        }
        if has(Workload::Write1m) || has(Workload::Read1m) {
            let wdir = dir.join("engine-w1m");
            let _ = std::fs::remove_dir_all(&wdir);
            let store = open_store(&wdir, o.io_mode, Durability::Fsync).await?;
            // The engine's write phase also produces the objects its read phase reads.
            let wp = put_phase(
                &store,
                "bench/big-",
                MIB as usize,
                Limits {
                    max_ops: large_max,
                    ..lim(o.large_concurrency)
                },
            )
            .await?;
            let written = wp.ops;
            if has(Workload::Write1m) {
                progress(&format!(
                    "run {run}: engine write1m: {:.1} MB/s ({} records in {} batches, {:.1}/batch, fsync avg {:.0} us)",
                    wp.mb_per_sec, wp.ops, wp.batches, wp.records_per_batch, wp.avg_fsync_us
                ));
                d.write1m.push(wp);
                if o.fio {
                    d.fio_write1m
                        .push(fio_run(&w1m, "1m write qd4 fdatasync/4", run)?);
                    if o.diagnostics {
                        let m = fio_run(&w4m, "4m write qd1 fdatasync/1", run)?;
                        d.diag
                            .entry("fio_write4m_qd1_mbs".into())
                            .or_default()
                            .push(m.bw_bytes / 1e6);
                    }
                }
            }
            if has(Workload::Read1m) {
                let n = written.min(o.large_set_mib).max(1);
                for side in sides(engine_first, o.fio) {
                    if side {
                        let p =
                            get_phase(&store, "bench/big-", n, MIB, true, lim(o.large_concurrency))
                                .await?;
                        progress(&format!(
                            "run {run}: engine read1m: {:.1} MB/s over {n} objects",
                            p.mb_per_sec
                        ));
                        d.read1m.push(p);
                    } else {
                        d.fio_read1m.push(fio_run(&r1m, "1m read qd4", run)?);
                    }
                }
            }
            let _ = store.close().await;
            drop(store);
            let _ = std::fs::remove_dir_all(&wdir);
        }
    }
    if let Some(s) = get_store {
        let _ = s.close().await;
    }

    if has(Workload::Index) {
        progress(&format!("index: inserting {} objects", o.index_objects));
        let r = index_phase(
            &dir.join("engine-index"),
            o.io_mode,
            o.index_objects,
            o.index_random_order,
            o.runs,
            o.live_bytes,
        )
        .await?;
        progress(&format!(
            "index: {:.0} inserts/s; heap {:?} B/object minus key; open with checkpoint {:?} s, without {:?} s",
            r.inserts_per_sec, r.heap_per_object_minus_key, r.open_with_checkpoint_secs, r.open_without_checkpoint_secs
        ));
        d.index = Some(r);
    }

    let mut rows = Vec::new();
    let f =
        |v: &[fio::Measured], g: fn(&fio::Measured) -> f64| v.iter().map(g).collect::<Vec<f64>>();
    let e = |v: &[Phase], g: fn(&Phase) -> f64| v.iter().map(g).collect::<Vec<f64>>();
    if has(Workload::Put4k) {
        rows.push(ratio_row(
            &format!("4 KiB durable PUT, {} in flight", o.put_concurrency),
            "ops/s",
            e(&d.put4k, |p| p.ops_per_sec),
            f(&d.fio_put4k, |m| m.iops),
            "fio 4k write+fdatasync qd32",
            Some(w4k.command_line()),
            Some(0.5),
        ));
    }
    if has(Workload::Get4k) {
        rows.push(ratio_row(
            &format!("4 KiB GET, random keys, {} in flight", o.get_concurrency),
            "ops/s",
            e(&d.get4k, |p| p.ops_per_sec),
            f(&d.fio_get4k, |m| m.iops),
            "fio 4k randread qd32",
            Some(r4k.command_line()),
            Some(0.7),
        ));
    }
    let diag = |key: &str| d.diag.get(key).cloned().unwrap_or_default();
    let fio8k = diag("fio_randread8k_iops");
    if !fio8k.is_empty() {
        let name = "fio 8k randread qd32";
        let cmd = Some(r8k.command_line());
        rows.push(ratio_row(
            "  diag: the same GETs vs fio at the 8 KiB they read",
            "ops/s",
            e(&d.get4k, |p| p.ops_per_sec),
            fio8k.clone(),
            name,
            cmd.clone(),
            None,
        ));
        rows.push(ratio_row(
            "  diag: runtime alone, 8 KiB direct reads, no engine",
            "ops/s",
            diag("runtime_read8k_ops"),
            fio8k,
            name,
            cmd,
            None,
        ));
    } else if !diag("runtime_read8k_ops").is_empty() {
        rows.push(info_row(
            "  diag: runtime alone, 8 KiB direct reads, no engine",
            "ops/s",
            median(&diag("runtime_read8k_ops")),
        ));
    }
    if has(Workload::Write1m) {
        rows.push(ratio_row(
            &format!("1 MiB durable PUT, {} in flight", o.large_concurrency),
            "MB/s",
            e(&d.write1m, |p| p.mb_per_sec),
            f(&d.fio_write1m, |m| m.bw_bytes / 1e6),
            "fio 1m write qd4, fdatasync every 4 writes",
            Some(w1m.command_line()),
            Some(0.8),
        ));
    }
    if !diag("fio_write4m_qd1_mbs").is_empty() {
        rows.push(ratio_row(
            "  diag: the same PUTs vs fio at the engine's batch shape",
            "MB/s",
            e(&d.write1m, |p| p.mb_per_sec),
            diag("fio_write4m_qd1_mbs"),
            "fio 4m write qd1 + fdatasync",
            Some(w4m.command_line()),
            None,
        ));
    }
    if has(Workload::Read1m) {
        rows.push(ratio_row(
            &format!("1 MiB GET, {} in flight", o.large_concurrency),
            "MB/s",
            e(&d.read1m, |p| p.mb_per_sec),
            f(&d.fio_read1m, |m| m.bw_bytes / 1e6),
            "fio 1m read qd4",
            Some(r1m.command_line()),
            Some(0.8),
        ));
    }
    if let Some(r) = &d.index {
        if let Some(h) = r.heap_per_object_minus_key {
            let mut row = info_row(
                &format!(
                    "index heap per object at {} objects ({} keys), minus key",
                    r.objects, r.key_order
                ),
                "B",
                h,
            );
            row.goal = "<= 128 B + key".into();
            row.pass = Some(h <= 128.0);
            rows.push(row);
        }
        if let Some(h) = r.reloaded_heap_per_object_minus_key {
            rows.push(info_row(
                "  the same, index loaded at open (checkpoint or replay)",
                "B",
                h,
            ));
        }
        let mut row = info_row(
            &format!("restart (open) with checkpoint, {} objects", r.objects),
            "s",
            median(&r.open_with_checkpoint_secs),
        );
        row.leofs_runs = r.open_with_checkpoint_secs.clone();
        row.goal = "< 2 s".into();
        row.pass = Some(row.leofs < 2.0 && !r.checkpoint_rejected);
        row.note = r.checkpoint_rejected.then(|| {
            "the engine rejected the checkpoint close() had just written (see its warning above) and \
             replayed the whole log: the time is a full replay, not a checkpoint load"
                .to_string()
        });
        rows.push(row);
        let mut row = info_row(
            &format!("restart (open) without checkpoint, {} objects", r.objects),
            "s",
            median(&r.open_without_checkpoint_secs),
        );
        row.leofs_runs = r.open_without_checkpoint_secs.clone();
        rows.push(row);
    }
    Ok((rows, d))
}

fn info_row(workload: &str, unit: &str, v: f64) -> Row {
    Row {
        workload: workload.into(),
        unit: unit.into(),
        leofs: v,
        reference: None,
        reference_name: None,
        reference_cmd: None,
        ratio: None,
        goal: "(info)".into(),
        pass: None,
        leofs_runs: vec![v],
        reference_runs: vec![],
        note: None,
    }
}

/// The order of the two sides in one run: `true` is the engine.
fn sides(engine_first: bool, fio: bool) -> Vec<bool> {
    match (fio, engine_first) {
        (false, _) => vec![true],
        (true, true) => vec![true, false],
        (true, false) => vec![false, true],
    }
}

fn fmt_num(v: f64, unit: &str) -> String {
    match unit {
        "ops/s" => format!("{v:.0}/s"),
        "MB/s" => format!("{v:.1} MB/s"),
        "s" => format!("{v:.3} s"),
        "B" => format!("{v:.1} B"),
        _ => format!("{v:.2} {unit}"),
    }
}

/// The human table.
pub fn table(r: &Report) -> String {
    let mut lines = vec![[
        "workload".to_string(),
        "leofs".to_string(),
        "reference".to_string(),
        "ratio".to_string(),
        "goal".to_string(),
        "result".to_string(),
    ]];
    for row in &r.rows {
        lines.push([
            row.workload.clone(),
            fmt_num(row.leofs, &row.unit),
            match (&row.reference, &row.reference_name) {
                (Some(v), Some(n)) => format!("{} ({n})", fmt_num(*v, &row.unit)),
                _ => "-".into(),
            },
            row.ratio
                .map(|x| format!("{x:.2}x"))
                .unwrap_or_else(|| "-".into()),
            row.goal.clone(),
            match row.pass {
                Some(true) => "pass".into(),
                Some(false) => "FAIL".into(),
                None => "-".into(),
            },
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let m = &r.machine;
    out.push_str(&format!(
        "machine: {} cores ({}), {:.1} GiB RAM, kernel {}, {} on {} ({}), io driver {}, {}\n",
        m.nproc,
        m.cpu_model,
        m.mem_total_gib,
        m.kernel,
        m.dir,
        m.filesystem,
        m.device,
        m.io_driver,
        m.fio_version.as_deref().unwrap_or("fio not run")
    ));
    out.push_str(&format!(
        "runs: {} x {} s per phase, medians\n\n",
        r.options.runs, r.options.seconds
    ));
    for (i, l) in lines.iter().enumerate() {
        let cells: Vec<String> = l
            .iter()
            .enumerate()
            .map(|(c, s)| {
                if c == 0 || c == 2 || c == 4 {
                    format!("{s:<w$}", w = widths[c])
                } else {
                    format!("{s:>w$}", w = widths[c])
                }
            })
            .collect();
        out.push_str(cells.join(" | ").trim_end());
        out.push('\n');
        if i == 0 {
            out.push_str(
                &widths
                    .iter()
                    .map(|w| "-".repeat(*w))
                    .collect::<Vec<_>>()
                    .join("-|-"),
            );
            out.push('\n');
        }
    }
    for row in &r.rows {
        if let Some(n) = &row.note {
            out.push_str(&format!("note on \"{}\": {n}\n", row.workload.trim()));
        }
    }
    let mut refs: Vec<(&str, &str)> = Vec::new();
    for row in &r.rows {
        if let (Some(n), Some(c)) = (&row.reference_name, &row.reference_cmd) {
            if !refs.iter().any(|(rn, _)| rn == n) {
                refs.push((n, c));
            }
        }
    }
    if !refs.is_empty() {
        out.push_str("\nreference commands:\n");
        for (n, c) in refs {
            out.push_str(&format!("  {n}: {c}\n"));
        }
    }
    let d = &r.details;
    let detail = |name: &str, v: &[Phase]| -> String {
        if v.is_empty() {
            return String::new();
        }
        let p50 = median(&v.iter().map(|p| p.lat_p50_us).collect::<Vec<_>>());
        let p99 = median(&v.iter().map(|p| p.lat_p99_us).collect::<Vec<_>>());
        let mut s = format!("  {name}: latency p50 {p50:.0} us, p99 {p99:.0} us");
        if v.iter().any(|p| p.batches > 0) {
            let rpb = median(&v.iter().map(|p| p.records_per_batch).collect::<Vec<_>>());
            let fs = median(&v.iter().map(|p| p.avg_fsync_us).collect::<Vec<_>>());
            s.push_str(&format!(
                ", {rpb:.1} records per group commit, fdatasync avg {fs:.0} us"
            ));
        }
        s.push('\n');
        s
    };
    let engine_details = [
        detail("put4k", &d.put4k),
        detail("get4k", &d.get4k),
        detail("write1m", &d.write1m),
        detail("read1m", &d.read1m),
    ]
    .concat();
    if !engine_details.is_empty() {
        out.push_str("\nengine details (medians):\n");
        out.push_str(&engine_details);
    }
    if let Some(ix) = &d.index {
        out.push_str(&format!(
            "\nindex: {} objects, avg key {:.1} B, {:.0} inserts/s (durability none), log {:.1} MB, checkpoint {:.1} MB written by close() in {:.3} s\n",
            ix.objects,
            ix.avg_key_bytes,
            ix.inserts_per_sec,
            ix.log_bytes as f64 / 1e6,
            ix.checkpoint_bytes as f64 / 1e6,
            ix.close_checkpoint_secs
        ));
        if let Some(h) = ix.heap_per_object {
            out.push_str(&format!("  index heap {h:.1} B/object including the key (bytes requested from the allocator, malloc overhead not counted)\n"));
        }
    }
    out
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

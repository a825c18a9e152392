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
use leofs_engine::{DirDisk, Durability, Store};
use leofs_rt::fs::IoMode;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

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

mod index;
mod phases;
mod report;
pub use index::*;
pub use phases::*;
pub use report::*;

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
pub(crate) fn ratio_row(
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

pub(crate) fn progress(msg: &str) {
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

pub(crate) async fn run_async(o: &Options) -> Result<(Vec<Row>, Details), String> {
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


//! Counting what happened (per operation: successes, bytes, latencies, errors by kind)
//! and the report: a table for people, JSON for scripts.

use super::hist::{Histogram, LatencyUs};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Kinds of [`OpKind`].
pub const OP_KINDS: usize = 10;

/// The S3 operations a workload issues.
///
/// `Multipart` is one whole multipart upload (create, every part, complete); the requests
/// it is made of are counted again under their own kinds, its *phases* (see
/// [`OpKind::phase_of`]), which the total leaves out so that nothing counts twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    Get = 0,
    Put = 1,
    Delete = 2,
    Stat = 3,
    List = 4,
    Multipart = 5,
    /// CreateMultipartUpload.
    MpCreate = 6,
    /// UploadPart.
    MpPart = 7,
    /// CompleteMultipartUpload.
    MpComplete = 8,
    /// AbortMultipartUpload, after a failed create, part or complete.
    MpAbort = 9,
}

impl OpKind {
    pub const ALL: [OpKind; OP_KINDS] = [
        OpKind::Get,
        OpKind::Put,
        OpKind::Delete,
        OpKind::Stat,
        OpKind::List,
        OpKind::Multipart,
        OpKind::MpCreate,
        OpKind::MpPart,
        OpKind::MpComplete,
        OpKind::MpAbort,
    ];

    pub fn name(self) -> &'static str {
        match self {
            OpKind::Get => "GET",
            OpKind::Put => "PUT",
            OpKind::Delete => "DELETE",
            OpKind::Stat => "STAT",
            OpKind::List => "LIST",
            OpKind::Multipart => "MULTIPART",
            OpKind::MpCreate => "CREATE",
            OpKind::MpPart => "UPLOAD-PART",
            OpKind::MpComplete => "COMPLETE",
            OpKind::MpAbort => "ABORT",
        }
    }

    /// The operation this one is a phase of (its requests are part of that operation's).
    pub fn phase_of(self) -> Option<OpKind> {
        match self {
            OpKind::MpCreate | OpKind::MpPart | OpKind::MpComplete | OpKind::MpAbort => {
                Some(OpKind::Multipart)
            }
            _ => None,
        }
    }
}

/// One operation's counters.
#[derive(Clone, Debug, Default)]
pub struct OpStats {
    /// Latencies of successful requests, nanoseconds.
    pub hist: Histogram,
    /// Body bytes sent (PUT) or received (GET, LIST) by successful requests.
    pub bytes: u64,
    /// Failed requests by kind: `404 NoSuchKey`, `io: ...`, `timeout`.
    pub errors: BTreeMap<String, u64>,
}

impl OpStats {
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    fn merge(&mut self, o: &OpStats) {
        self.hist.merge(&o.hist);
        self.bytes += o.bytes;
        for (k, v) in &o.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
    }
}

/// Everything one thread (or, merged, the whole run) counted.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub ops: [OpStats; OP_KINDS],
    /// Objects returned by LIST pages.
    pub listed: u64,
}

impl Stats {
    pub fn op(&mut self, k: OpKind) -> &mut OpStats {
        &mut self.ops[k as usize]
    }

    pub fn merge(&mut self, o: &Stats) {
        for (a, b) in self.ops.iter_mut().zip(&o.ops) {
            a.merge(b);
        }
        self.listed += o.listed;
    }

    /// The operations of the top level (phases left out: they are inside their operation).
    fn top_level(&self) -> impl Iterator<Item = &OpStats> {
        OpKind::ALL
            .iter()
            .filter(|k| k.phase_of().is_none())
            .map(|k| &self.ops[*k as usize])
    }

    /// Successful operations (a multipart upload counts once, not per request).
    pub fn ok_count(&self) -> u64 {
        self.top_level().map(|o| o.hist.count()).sum()
    }

    /// Failed operations (a multipart upload counts once, not per request).
    pub fn error_count(&self) -> u64 {
        self.top_level().map(OpStats::error_count).sum()
    }
}

/// One row of the report.
#[derive(Clone, Debug, Serialize)]
pub struct OpReport {
    pub op: String,
    /// The operation this row is a phase of (`MULTIPART` for its CREATE, UPLOAD-PART,
    /// COMPLETE and ABORT requests); absent for a top-level operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase_of: Option<String>,
    /// Successful requests.
    pub count: u64,
    pub errors: u64,
    pub ops_per_sec: f64,
    /// MiB (2^20 bytes) of bodies per second.
    pub mib_per_sec: f64,
    pub bytes: u64,
    /// Latency of successful requests, microseconds.
    pub latency_us: LatencyUs,
    pub error_kinds: BTreeMap<String, u64>,
}

impl OpReport {
    pub fn new(op: &str, s: &OpStats, secs: f64) -> OpReport {
        let per_sec = |x: f64| if secs > 0.0 { x / secs } else { 0.0 };
        OpReport {
            op: op.to_string(),
            phase_of: None,
            count: s.hist.count(),
            errors: s.error_count(),
            ops_per_sec: per_sec(s.hist.count() as f64),
            mib_per_sec: per_sec(s.bytes as f64 / (1024.0 * 1024.0)),
            bytes: s.bytes,
            latency_us: s.hist.summary_us(),
            error_kinds: s.errors.clone(),
        }
    }
}

/// CPU used by a process during the measured phase.
#[derive(Clone, Debug, Serialize)]
pub struct CpuUse {
    /// `None`: this client.
    pub pid: Option<u32>,
    pub cpu_seconds: f64,
    /// CPU seconds per second of the phase: how many cores it kept busy.
    pub cores: f64,
    /// CPU seconds per 1000 successful operations.
    pub per_1000_ops: f64,
    /// The server's threads (`--server-pid`), busiest first.
    pub threads: Vec<super::cpu::ThreadCpu>,
}

impl CpuUse {
    pub fn new(pid: Option<u32>, cpu_seconds: f64, secs: f64, ops: u64) -> CpuUse {
        CpuUse {
            pid,
            cpu_seconds,
            cores: if secs > 0.0 { cpu_seconds / secs } else { 0.0 },
            per_1000_ops: if ops > 0 {
                cpu_seconds * 1000.0 / ops as f64
            } else {
                0.0
            },
            threads: Vec::new(),
        }
    }
}

/// The key-pool cleanup after the run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Cleanup {
    pub deleted: u64,
    /// Objects still there: the cleanup ran out of time, or DELETEs failed.
    pub left: u64,
    pub seconds: f64,
}

/// How the `multipart` workload cut its uploads.
#[derive(Clone, Debug, Serialize)]
pub struct MultipartShape {
    /// Bytes of every part but the last.
    pub part_size: u64,
    /// Parts of an upload of the largest `size`.
    pub parts: u64,
    /// Connections (parts in flight) per upload.
    pub part_concurrency: usize,
    /// Uploads in flight: `concurrency / part_concurrency`.
    pub uploads_in_flight: usize,
}

/// The whole run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub workload: String,
    pub endpoint: String,
    /// Bucket, or the URL path in `--plain-http` mode.
    pub target: String,
    pub size: String,
    pub concurrency: usize,
    pub threads: usize,
    pub keep_alive: bool,
    pub signed_payload: bool,
    /// Objects written before the measured phase.
    pub prepared: u64,
    /// Length of the measured phase.
    pub seconds: f64,
    pub ops: Vec<OpReport>,
    pub total: OpReport,
    /// Objects returned by LIST pages.
    pub listed_objects: u64,
    /// TCP connections opened for the measured phase, the first of each task included
    /// (as many as `concurrency` when keep-alive works).
    pub connects: u64,
    pub client_cpu: Option<CpuUse>,
    pub server_cpu: Option<CpuUse>,
    pub cleanup: Option<Cleanup>,
    /// The `multipart` workload's parts; absent for the others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multipart: Option<MultipartShape>,
}

/// The report as a table.
pub fn table(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "leofs-bench {} | {} {} | size {} | {} connections on {} threads | keep-alive {} | {:.2} s",
        r.workload, r.endpoint, r.target, r.size, r.concurrency, r.threads, r.keep_alive, r.seconds
    );
    if let Some(m) = &r.multipart {
        let _ = writeln!(
            s,
            "multipart: {} part(s) of up to {} per upload, {} in flight per upload, {} uploads in flight",
            m.parts,
            super::config::human_bytes(m.part_size),
            m.part_concurrency,
            m.uploads_in_flight
        );
    }
    // Phase rows are indented under their operation.
    let label = |o: &OpReport| {
        if o.phase_of.is_some() {
            format!("  {}", o.op)
        } else {
            o.op.clone()
        }
    };
    let w = r
        .ops
        .iter()
        .map(|o| label(o).len())
        .max()
        .unwrap_or(0)
        .max(7);
    let _ = writeln!(
        s,
        "{:<w$} {:>10} {:>11} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "op",
        "count",
        "ops/s",
        "MiB/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "errors"
    );
    let row = |s: &mut String, o: &OpReport| {
        let l = &o.latency_us;
        let _ = writeln!(
            s,
            "{:<w$} {:>10} {:>11.1} {:>9.2} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>7}",
            label(o),
            o.count,
            o.ops_per_sec,
            o.mib_per_sec,
            l.p50 / 1e3,
            l.p90 / 1e3,
            l.p99 / 1e3,
            l.p999 / 1e3,
            l.max / 1e3,
            o.errors
        );
    };
    for o in &r.ops {
        row(&mut s, o);
    }
    if r.ops.iter().filter(|o| o.phase_of.is_none()).count() > 1 {
        row(&mut s, &r.total);
    }
    for o in r.ops.iter().filter(|o| o.errors > 0) {
        for (k, n) in &o.error_kinds {
            let _ = writeln!(s, "  {} error {k}: {n}", o.op);
        }
    }
    if r.listed_objects > 0 {
        let _ = writeln!(
            s,
            "objects listed: {} ({:.0}/s)",
            r.listed_objects,
            r.listed_objects as f64 / r.seconds.max(1e-9)
        );
    }
    for (who, c) in [("client", &r.client_cpu), ("server", &r.server_cpu)] {
        if let Some(c) = c {
            let pid = c.pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
            let _ = writeln!(
                s,
                "{who} CPU{pid}: {:.2} s = {:.2} cores, {:.4} CPU s per 1000 ops",
                c.cpu_seconds, c.cores, c.per_1000_ops
            );
            if !c.threads.is_empty() {
                let t: Vec<String> = c
                    .threads
                    .iter()
                    .map(|t| format!("{} {:.2} s", t.name, t.cpu_seconds))
                    .collect();
                let _ = writeln!(s, "  {who} threads: {}", t.join(", "));
            }
        }
    }
    let _ = writeln!(
        s,
        "prepared {} objects, {} connections opened",
        r.prepared, r.connects
    );
    if let Some(c) = &r.cleanup {
        let _ = writeln!(
            s,
            "cleanup: {} deleted, {} left, {:.2} s",
            c.deleted, c.left, c.seconds
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_merge_and_rows() {
        let mut a = Stats::default();
        a.op(OpKind::Put).hist.record(1_000_000);
        a.op(OpKind::Put).bytes = 4096;
        let mut b = Stats::default();
        b.op(OpKind::Put).hist.record(3_000_000);
        b.op(OpKind::Put).bytes = 4096;
        *b.op(OpKind::Get)
            .errors
            .entry("404 NoSuchKey".into())
            .or_default() += 2;
        a.merge(&b);
        assert_eq!((a.ok_count(), a.error_count()), (2, 2));
        let r = OpReport::new("PUT", &a.ops[OpKind::Put as usize], 2.0);
        assert_eq!((r.count, r.ops_per_sec), (2, 1.0));
        assert!((r.mib_per_sec - 8192.0 / 2.0 / 1048576.0).abs() < 1e-12);
        assert_eq!(r.latency_us.max, 3000.0);
        let c = CpuUse::new(None, 1.0, 2.0, 4000);
        assert_eq!((c.cores, c.per_1000_ops), (0.5, 0.25));
    }
}

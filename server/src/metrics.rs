//! Prometheus metrics, served as `GET /metrics` on the admin listener (never on the S3
//! port, where `/metrics` would be a bucket).
//!
//! Each core counts its own S3 traffic in plain thread-local cells: recording a request
//! touches no atomic and no lock, and no cache line moves between cores. A scrape, on core
//! 0 in the admin API, asks every core for a [`CoreSnapshot`] over a cross-core channel;
//! each core answers from its own thread with its counters and its shard's engine state,
//! and [`expose`] sums the S3 counters and encodes the lot with prometheus-client. Counters
//! only grow on each core, so their sum over cores is a valid counter too.

mod expose;

pub use expose::{encode, encode_with, ClusterGauges, Format};

use crate::shard::ShardStore;
use leofs_engine::store::Stats;
use leofs_rt::sync::cross::{bounded, Receiver, Sender};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Upper bounds, in seconds, of the request latency buckets (a last bucket takes the rest).
pub const LATENCY_BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// The operation label of requests that failed before an operation was known.
pub const UNKNOWN_OP: &str = "Unknown";
/// Longest a scrape waits for the cores' snapshots: a wedged core must not wedge the
/// scrape too; its series are left out instead (and the scrape says so in the log).
const ASK_LIMIT: Duration = Duration::from_secs(5);

/// A latency histogram: a count per bucket (not cumulative), the total and the count.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    /// `buckets[i]` counts observations in `(LATENCY_BUCKETS[i-1], LATENCY_BUCKETS[i]]`;
    /// the last one those over the largest bound.
    pub buckets: [u64; LATENCY_BUCKETS.len() + 1],
    /// Nanoseconds, so that sums over cores are exact.
    pub sum_ns: u64,
    pub count: u64,
}

impl Histogram {
    pub fn observe(&mut self, d: Duration) {
        let s = d.as_secs_f64();
        let i = LATENCY_BUCKETS.iter().position(|b| s <= *b).unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[i] += 1;
        self.sum_ns = self.sum_ns.saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        self.count += 1;
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.buckets.iter_mut().zip(other.buckets) {
            *a += b;
        }
        self.sum_ns = self.sum_ns.saturating_add(other.sum_ns);
        self.count += other.count;
    }
}

/// One core's S3 counters (or, summed, the node's).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct S3Counters {
    /// Requests by operation name and HTTP status.
    pub requests: HashMap<(&'static str, u16), u64>,
    /// Time from request head parsed to response ready, by operation.
    pub latency: HashMap<&'static str, Histogram>,
    /// Request body bytes read from clients.
    pub bytes_received: u64,
    /// Response body bytes written to clients.
    pub bytes_sent: u64,
}

impl S3Counters {
    fn merge(&mut self, other: &S3Counters) {
        for (k, n) in &other.requests {
            *self.requests.entry(*k).or_default() += n;
        }
        for (op, h) in &other.latency {
            self.latency.entry(op).or_default().merge(h);
        }
        self.bytes_received += other.bytes_received;
        self.bytes_sent += other.bytes_sent;
    }
}

thread_local! {
    // Per core: each core's thread is the only one that touches its own.
    static S3: RefCell<S3Counters> = RefCell::new(S3Counters::default());
    static OPEN_CONNECTIONS: Cell<i64> = const { Cell::new(0) };
}

/// Counts one S3 request answered by this core, with how long it took.
pub fn record_request(op: &'static str, status: u16, elapsed: Duration) {
    S3.with(|c| {
        let mut c = c.borrow_mut();
        *c.requests.entry((op, status)).or_default() += 1;
        c.latency.entry(op).or_default().observe(elapsed);
    });
}

/// Counts a request refused before it could be parsed: no operation, and no latency worth
/// a histogram sample (it took no work).
pub fn record_unparsed(status: u16) {
    S3.with(|c| *c.borrow_mut().requests.entry((UNKNOWN_OP, status)).or_default() += 1);
}

pub fn add_bytes_received(n: usize) {
    S3.with(|c| c.borrow_mut().bytes_received += n as u64);
}

pub fn add_bytes_sent(n: u64) {
    S3.with(|c| c.borrow_mut().bytes_sent += n);
}

/// An open S3 connection of this core, counted for as long as the value lives.
pub struct OpenConnection(());

impl OpenConnection {
    pub fn open() -> OpenConnection {
        OPEN_CONNECTIONS.with(|n| n.set(n.get() + 1));
        OpenConnection(())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        OPEN_CONNECTIONS.with(|n| n.set(n.get() - 1));
    }
}

/// A shard's engine state at one moment.
#[derive(Clone, Debug, Default)]
pub struct ShardSnapshot {
    pub segments: usize,
    /// Bytes of records in the segments, live or not.
    pub used_bytes: u64,
    /// Bytes of records the index still points at; `used - live` is garbage.
    pub live_bytes: u64,
    pub index_entries: usize,
    /// RAM the index holds.
    pub index_bytes: u64,
    pub stats: Stats,
    pub poisoned: bool,
}

impl ShardSnapshot {
    pub fn of(store: &ShardStore) -> ShardSnapshot {
        let segs = store.segments();
        ShardSnapshot {
            segments: segs.len(),
            used_bytes: segs.iter().map(|s| s.used).sum(),
            live_bytes: segs.iter().map(|s| s.live).sum(),
            index_entries: store.index_len(),
            index_bytes: store.index_bytes(),
            stats: store.stats(),
            poisoned: store.poisoned().is_some(),
        }
    }
}

/// What one core reports to a scrape.
#[derive(Clone, Debug)]
pub struct CoreSnapshot {
    /// The core, which is also its shard's number.
    pub core: usize,
    pub driver: &'static str,
    pub open_connections: i64,
    /// Multi-buffer MD5 on this core: batches hashed, and body pieces in them.
    pub md5_batches: (u64, u64),
    pub s3: S3Counters,
    pub shard: ShardSnapshot,
}

impl CoreSnapshot {
    /// This core's snapshot: call it on the core that owns `store`.
    pub fn take(core: usize, store: Option<&ShardStore>) -> CoreSnapshot {
        CoreSnapshot {
            core,
            driver: leofs_rt::runtime::current_driver().map_or("unknown", |d| d.as_str()),
            open_connections: OPEN_CONNECTIONS.with(Cell::get),
            md5_batches: crate::gateway::md5pool::stats(),
            s3: S3.with(|c| c.borrow().clone()),
            shard: store.map(ShardSnapshot::of).unwrap_or_default(),
        }
    }
}

/// A request for a core's snapshot: where to send it.
pub type Ask = Sender<CoreSnapshot>;

/// Answers snapshot requests on this core until every sender is gone.
pub async fn serve(core: usize, store: Option<ShardStore>, rx: Receiver<Ask>) {
    while let Ok(reply) = rx.recv_async().await {
        let _ = reply.send(CoreSnapshot::take(core, store.as_ref()));
    }
}

/// The S3 counters of every core, summed.
pub fn sum_s3(cores: &[CoreSnapshot]) -> S3Counters {
    let mut total = S3Counters::default();
    for c in cores {
        total.merge(&c.s3);
    }
    total
}

/// Every core's metrics channel, indexed by core; the admin API scrapes through it.
#[derive(Clone)]
pub struct Cores(pub Arc<Vec<Sender<Ask>>>);

impl Cores {
    /// Every core's snapshot, in core order. Cores are asked all at once; one that does not
    /// answer within [`ASK_LIMIT`] is left out (and logged) rather than hanging the scrape.
    pub async fn collect(&self) -> Vec<CoreSnapshot> {
        let deadline = Instant::now() + ASK_LIMIT;
        let mut waits = Vec::with_capacity(self.0.len());
        for (core, tx) in self.0.iter().enumerate() {
            let (rtx, rrx) = bounded(1);
            if tx.send(rtx).is_ok() {
                waits.push((core, rrx));
            } else {
                log::warn!("metrics: core {core} is gone; its series are missing from this scrape");
            }
        }
        let mut out = Vec::with_capacity(waits.len());
        for (core, rx) in waits {
            let left = deadline.saturating_duration_since(Instant::now());
            match leofs_rt::task::timeout(left, rx.recv_async()).await {
                Some(Ok(snap)) => out.push(snap),
                _ => log::warn!("metrics: core {core} did not answer within {ASK_LIMIT:?}; its series are missing from this scrape"),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_upper_bound_inclusive() {
        let mut h = Histogram::default();
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_micros(501));
        h.observe(Duration::from_secs(11));
        assert_eq!((h.buckets[0], h.buckets[1], h.buckets[LATENCY_BUCKETS.len()]), (1, 1, 1));
        assert_eq!((h.count, h.sum_ns), (3, 11_001_001_000));
    }

    #[test]
    fn counters_sum_over_cores() {
        let a = std::thread::spawn(|| {
            record_request("PutObject", 200, Duration::from_millis(2));
            record_request("PutObject", 200, Duration::from_millis(3));
            record_unparsed(400);
            add_bytes_received(10);
            S3.with(|c| c.borrow().clone())
        });
        let b = std::thread::spawn(|| {
            record_request("PutObject", 200, Duration::from_millis(1));
            record_request("GetObject", 404, Duration::from_millis(1));
            add_bytes_sent(7);
            S3.with(|c| c.borrow().clone())
        });
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        let mut total = a.clone();
        total.merge(&b);
        assert_eq!(total.requests[&("PutObject", 200)], 3);
        assert_eq!(total.requests[&("GetObject", 404)], 1);
        assert_eq!(total.requests[&(UNKNOWN_OP, 400)], 1);
        assert_eq!(total.latency["PutObject"].count, 3);
        assert_eq!(total.latency["PutObject"].sum_ns, 6_000_000);
        assert!(!total.latency.contains_key(UNKNOWN_OP));
        assert_eq!((total.bytes_received, total.bytes_sent), (10, 7));
    }
}

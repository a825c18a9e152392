//! Load generation: one OS thread per `--threads`, each running its own `leofs_rt` runtime
//! with its share of the connection tasks (thread-per-core, like the server).
//!
//! Every thread owns a disjoint part of the key space (key ids `≡ thread (mod threads)`)
//! and its share of the operation budget, split the same way, so threads never
//! coordinate (and `delete --ops N` over N prepared keys deletes exactly N).
//! Within a thread, a task that works on a key takes it out of the thread's pool until
//! its request is done, so a DELETE never races a GET of the same key (warp's `mixed`
//! would otherwise report spurious 404s).

use super::conn::Conn;
use super::report::Stats;
use super::task::task;
use super::{Config, Workload};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// What a phase does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// PUT every key of the pools (not measured).
    Prepare,
    /// The workload.
    Run,
    /// DELETE every key of the pools.
    Cleanup,
}

/// What one thread ends a phase with.
pub struct ThreadOut {
    pub stats: Stats,
    /// The keys that exist afterwards, as far as this thread knows.
    pub pool: Vec<u64>,
    pub connects: u64,
}

/// What a phase ends with.
pub struct PhaseOut {
    pub threads: Vec<ThreadOut>,
    /// From the common start to the last thread's end.
    pub elapsed: Duration,
}

impl PhaseOut {
    pub fn stats(&self) -> Stats {
        let mut s = Stats::default();
        for t in &self.threads {
            s.merge(&t.stats);
        }
        s
    }

    pub fn pools(self) -> Vec<Vec<u64>> {
        self.threads.into_iter().map(|t| t.pool).collect()
    }
}

/// A bijection on `u64` (SplitMix64's finalizer): key ids become well-spread key names,
/// as random-named objects of a real workload would be, without a lookup table.
pub(super) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A xorshift generator per task: no shared state, no locking.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// State shared by the tasks of one thread.
pub(super) struct Ctx {
    pub(super) cfg: Arc<Config>,
    pub(super) body: Arc<[u8]>,
    pub(super) phase: Phase,
    pub(super) thread: usize,
    pub(super) threads: usize,
    /// Keys known to exist (Run, Cleanup) or to write (Prepare).
    pub(super) pool: RefCell<Vec<u64>>,
    /// Keys written by Prepare.
    pub(super) done: RefCell<Vec<u64>>,
    /// New keys this thread made so far (their ids follow the prepared ones).
    pub(super) made: Cell<u64>,
    pub(super) stats: RefCell<Stats>,
    /// Operations this thread may still start.
    pub(super) budget: Cell<u64>,
    pub(super) deadline: Instant,
}

/// Runs one phase on `pools.len()` threads with `cfg.concurrency` connections in all
/// (for `multipart`'s measured phase, [`Config::run_tasks`] tasks of several connections).
/// Bounded by `limit` and by `ops` operations in all (when given).
pub fn run_phase(
    cfg: &Arc<Config>,
    body: &Arc<[u8]>,
    phase: Phase,
    pools: Vec<Vec<u64>>,
    limit: Duration,
    ops: Option<u64>,
) -> PhaseOut {
    let threads = pools.len().max(1);
    let barrier = Arc::new(Barrier::new(threads + 1));
    let mut handles = Vec::with_capacity(threads);
    let (tasks, per_task) = if phase == Phase::Run {
        cfg.run_tasks()
    } else {
        (cfg.concurrency, 1)
    };
    for (t, pool) in pools.into_iter().enumerate() {
        let conns = tasks / threads + usize::from(t < tasks % threads);
        let budget = ops.map_or(u64::MAX, |n| {
            n / threads as u64 + u64::from((t as u64) < n % threads as u64)
        });
        let (cfg, body, barrier) = (cfg.clone(), body.clone(), barrier.clone());
        let h = std::thread::Builder::new()
            .name(format!("bench-{t}"))
            .spawn(move || {
                leofs_rt::block_on(thread_main(
                    cfg, body, phase, t, threads, conns, per_task, pool, budget, barrier, limit,
                ))
            })
            .expect("spawn a load thread");
        handles.push(h);
    }
    barrier.wait();
    let start = Instant::now();
    let mut out = Vec::with_capacity(threads);
    let mut end = start;
    for h in handles {
        let (o, e) = h.join().expect("a load thread panicked");
        end = end.max(e);
        out.push(o);
    }
    PhaseOut {
        threads: out,
        elapsed: end - start,
    }
}

#[allow(clippy::too_many_arguments)]
async fn thread_main(
    cfg: Arc<Config>,
    body: Arc<[u8]>,
    phase: Phase,
    thread: usize,
    threads: usize,
    tasks: usize,
    per_task: usize,
    pool: Vec<u64>,
    budget: u64,
    barrier: Arc<Barrier>,
    limit: Duration,
) -> (ThreadOut, Instant) {
    // Connect first so that the measured phase starts with open connections. A failed
    // connect is retried (and counted) by the first request.
    let mut ready = Vec::with_capacity(tasks);
    for _ in 0..tasks {
        let mut group = Vec::with_capacity(per_task);
        for _ in 0..per_task {
            let mut c = Conn::new(cfg.addr);
            let _ = c.connect().await;
            group.push(c);
        }
        ready.push(group);
    }
    // Blocks this runtime's thread, which has nothing else to run yet.
    barrier.wait();
    let ctx = Rc::new(Ctx {
        cfg: cfg.clone(),
        body,
        phase,
        thread,
        threads,
        pool: RefCell::new(pool),
        done: RefCell::new(Vec::new()),
        made: Cell::new(0),
        stats: RefCell::new(Stats::default()),
        budget: Cell::new(budget),
        deadline: Instant::now() + limit,
    });
    let multipart = phase == Phase::Run && cfg.workload == Workload::Multipart;
    let mut handles = Vec::with_capacity(tasks);
    let mut mp_handles = Vec::new();
    for (i, mut group) in ready.into_iter().enumerate() {
        let rng = Rng(mix(cfg.seed ^ ((thread as u64) << 32) ^ i as u64) | 1);
        if multipart {
            let t = super::multipart::task(ctx.clone(), group, rng);
            mp_handles.push(leofs_rt::task::spawn(t));
        } else if let Some(conn) = group.pop() {
            handles.push(leofs_rt::task::spawn(task(ctx.clone(), conn, rng)));
        }
    }
    let mut connects = 0;
    for t in handles {
        connects += t.await;
    }
    for t in mp_handles {
        connects += t.await;
    }
    let end = Instant::now();
    // Prepare: the keys written. Cleanup: the keys not deleted (failed, or not reached).
    let pool = match phase {
        Phase::Prepare => ctx.done.take(),
        Phase::Run => ctx.pool.take(),
        Phase::Cleanup => {
            let mut left = ctx.pool.take();
            left.extend(ctx.done.take());
            left
        }
    };
    let stats = ctx.stats.take();
    (
        ThreadOut {
            stats,
            pool,
            connects,
        },
        end,
    )
}

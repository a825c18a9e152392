//! Load generation: one OS thread per `--threads`, each running its own `leofs_rt` runtime
//! with its share of the connection tasks (thread-per-core, like the server).
//!
//! Every thread owns a disjoint part of the key space (key ids `≡ thread (mod threads)`),
//! so threads never coordinate except for the shared operation budget (one atomic).
//! Within a thread, a task that works on a key takes it out of the thread's pool until
//! its request is done, so a DELETE never races a GET of the same key (warp's `mixed`
//! would otherwise report spurious 404s).

use super::conn::{Conn, INLINE_BODY_MAX};
use super::report::{OpKind, Stats};
use super::sign::{sha256_hex, write_plain_get, Req, Signer};
use super::{Config, Workload};
use std::cell::{Cell, RefCell};
use std::fmt::Write;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
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
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A xorshift generator per task: no shared state, no locking.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// State shared by the tasks of one thread.
struct Ctx {
    cfg: Arc<Config>,
    body: Arc<[u8]>,
    phase: Phase,
    thread: usize,
    threads: usize,
    /// Keys known to exist (Run, Cleanup) or to write (Prepare).
    pool: RefCell<Vec<u64>>,
    /// Keys written by Prepare.
    done: RefCell<Vec<u64>>,
    /// New keys this thread made so far (their ids follow the prepared ones).
    made: Cell<u64>,
    stats: RefCell<Stats>,
    budget: Arc<AtomicU64>,
    deadline: Instant,
}

/// Runs one phase on `pools.len()` threads with `cfg.concurrency` connections in all.
/// Bounded by `limit` and by `ops` operations in all (when given).
pub fn run_phase(cfg: &Arc<Config>, body: &Arc<[u8]>, phase: Phase, pools: Vec<Vec<u64>>, limit: Duration, ops: Option<u64>) -> PhaseOut {
    let threads = pools.len().max(1);
    let budget = Arc::new(AtomicU64::new(ops.unwrap_or(u64::MAX)));
    let barrier = Arc::new(Barrier::new(threads + 1));
    let mut handles = Vec::with_capacity(threads);
    for (t, pool) in pools.into_iter().enumerate() {
        let conns = cfg.concurrency / threads + usize::from(t < cfg.concurrency % threads);
        let (cfg, body, budget, barrier) = (cfg.clone(), body.clone(), budget.clone(), barrier.clone());
        let h = std::thread::Builder::new()
            .name(format!("bench-{t}"))
            .spawn(move || {
                leofs_rt::block_on(thread_main(cfg, body, phase, t, threads, conns, pool, budget, barrier, limit))
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
    conns: usize,
    pool: Vec<u64>,
    budget: Arc<AtomicU64>,
    barrier: Arc<Barrier>,
    limit: Duration,
) -> (ThreadOut, Instant) {
    // Connect first so that the measured phase starts with open connections. A failed
    // connect is retried (and counted) by the first request.
    let mut ready = Vec::with_capacity(conns);
    for _ in 0..conns {
        let mut c = Conn::new(cfg.addr);
        let _ = c.connect().await;
        ready.push(c);
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
        budget,
        deadline: Instant::now() + limit,
    });
    let mut tasks = Vec::with_capacity(conns);
    for (i, conn) in ready.into_iter().enumerate() {
        let seed = mix(cfg.seed ^ ((thread as u64) << 32) ^ i as u64) | 1;
        tasks.push(leofs_rt::task::spawn(task(ctx.clone(), conn, Rng(seed))));
    }
    let mut connects = 0;
    for t in tasks {
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
    (ThreadOut { stats, pool, connects }, end)
}

/// What a task does next.
enum Op {
    /// PUT of a key id (a new one, or one to prepare).
    Put(u64),
    Get(u64),
    Stat(u64),
    Delete(u64),
    List,
    Plain,
}

impl Ctx {
    fn claim(&self) -> bool {
        self.budget.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok()
    }

    fn new_id(&self) -> u64 {
        let n = self.made.get();
        self.made.set(n + 1);
        self.cfg.objects + self.thread as u64 + n * self.threads as u64
    }

    /// A random key, taken out of the pool while in use (`take`) or just looked at.
    fn pick(&self, rng: &mut Rng, take: bool) -> Option<u64> {
        let mut p = self.pool.borrow_mut();
        if p.is_empty() {
            return None;
        }
        let i = rng.below(p.len());
        Some(if take { p.swap_remove(i) } else { p[i] })
    }

    fn next_op(&self, rng: &mut Rng) -> Option<Op> {
        let pop = || self.pool.borrow_mut().pop();
        Some(match (self.phase, self.cfg.workload) {
            (Phase::Prepare, _) => Op::Put(pop()?),
            (Phase::Cleanup, _) => Op::Delete(pop()?),
            (Phase::Run, Workload::Put) => Op::Put(self.new_id()),
            (Phase::Run, Workload::Get) if self.cfg.plain_http.is_some() => Op::Plain,
            (Phase::Run, Workload::Get) => Op::Get(self.pick(rng, false)?),
            (Phase::Run, Workload::Stat) => Op::Stat(self.pick(rng, false)?),
            (Phase::Run, Workload::Delete) => Op::Delete(self.pick(rng, true)?),
            (Phase::Run, Workload::List) => Op::List,
            // warp's default mix: 45% GET, 15% PUT, 10% DELETE, 30% STAT.
            (Phase::Run, Workload::Mixed) => match rng.below(100) {
                0..=44 => self.pick(rng, true).map_or_else(|| Op::Put(self.new_id()), Op::Get),
                45..=59 => Op::Put(self.new_id()),
                60..=69 => self.pick(rng, true).map_or_else(|| Op::Put(self.new_id()), Op::Delete),
                _ => self.pick(rng, true).map_or_else(|| Op::Put(self.new_id()), Op::Stat),
            },
        })
    }
}

/// One connection's loop: returns the TCP connections it opened (the first one, made
/// before the phase started, included).
async fn task(ctx: Rc<Ctx>, mut conn: Conn, mut rng: Rng) -> u64 {
    let cfg = ctx.cfg.clone();
    let mut signer = Signer::new(&cfg.access_key, &cfg.secret_key, &cfg.region, &cfg.host);
    let mut path = String::with_capacity(256);
    let mut query = String::with_capacity(256);
    // The continuation token of the next LIST page, URI-encoded; empty: first page.
    let mut token = String::new();
    // (size, hex SHA-256) of the last body hashed for --signed-payload.
    let mut hashed: (usize, String) = (usize::MAX, String::new());
    let takes_keys = ctx.phase == Phase::Run && cfg.workload == Workload::Mixed;
    while Instant::now() < ctx.deadline && ctx.claim() {
        let Some(op) = ctx.next_op(&mut rng) else { break };
        let size = cfg.size.pick(rng.next());
        path.clear();
        query.clear();
        path.push_str(&cfg.bucket_path);
        let (kind, method, id) = match op {
            Op::Put(id) => (OpKind::Put, "PUT", Some(id)),
            Op::Get(id) => (OpKind::Get, "GET", Some(id)),
            Op::Stat(id) => (OpKind::Stat, "HEAD", Some(id)),
            Op::Delete(id) => (OpKind::Delete, "DELETE", Some(id)),
            Op::List | Op::Plain => (if matches!(op, Op::List) { OpKind::List } else { OpKind::Get }, "GET", None),
        };
        if let Some(id) = id {
            let _ = write!(path, "/{}{:016x}", cfg.key_prefix_encoded, mix(id));
        }
        conn.req.clear();
        let mut separate_body = None;
        if let Op::Plain = op {
            write_plain_get(&mut conn.req, &cfg.host, cfg.plain_http.as_deref().unwrap_or("/"), !cfg.keep_alive);
        } else {
            if let Op::List = op {
                // Parameters in name order: the query is its own canonical form.
                if !token.is_empty() {
                    let _ = write!(query, "continuation-token={token}&");
                }
                let _ = write!(query, "list-type=2&max-keys={}", cfg.list_max_keys);
                if !cfg.key_prefix_encoded.is_empty() {
                    let _ = write!(query, "&prefix={}", cfg.prefix_query);
                }
            }
            let is_put = matches!(op, Op::Put(_));
            let payload = if is_put && cfg.signed_payload {
                if hashed.0 != size {
                    hashed = (size, sha256_hex(&ctx.body[..size]));
                }
                hashed.1.as_str()
            } else if is_put {
                "UNSIGNED-PAYLOAD"
            } else {
                leofs_net::s3::auth::EMPTY_SHA256_HEX
            };
            let r = Req {
                method,
                path: &path,
                query: &query,
                payload,
                content_length: is_put.then_some(size as u64),
                close: !cfg.keep_alive,
            };
            signer.write_head(&mut conn.req, &r);
            if is_put && size <= INLINE_BODY_MAX {
                conn.req.extend_from_slice(&ctx.body[..size]);
            } else if is_put {
                separate_body = Some(&ctx.body[..size]);
            }
        }
        let keep = if kind == OpKind::List { 4 << 20 } else { 0 };
        let start = Instant::now();
        let r = leofs_rt::task::timeout(cfg.op_timeout, conn.exchange(separate_body, method == "HEAD", keep)).await;
        let ns = start.elapsed().as_nanos() as u64;
        let (ok, err) = match r {
            None => {
                conn.reset();
                (false, Some("timeout".to_string()))
            }
            Some(Err(e)) => (false, Some(format!("io: {e}"))),
            Some(Ok(rep)) => {
                let good = (200..300).contains(&rep.status) || (ctx.phase == Phase::Cleanup && rep.status == 404);
                if good {
                    let bytes = if kind == OpKind::Put { size as u64 } else { rep.body_bytes };
                    let mut st = ctx.stats.borrow_mut();
                    let o = st.op(kind);
                    o.hist.record(ns);
                    o.bytes += bytes;
                    (true, None)
                } else {
                    let code = super::http::s3_error_code(&conn.kept).unwrap_or("");
                    (false, Some(format!("{} {code}", rep.status).trim_end().to_string()))
                }
            }
        };
        if let Some(e) = err {
            *ctx.stats.borrow_mut().op(kind).errors.entry(e).or_default() += 1;
        }
        if kind == OpKind::List && ok {
            let page = &conn.kept;
            let n = std::str::from_utf8(page).map(|t| t.matches("<Key>").count()).unwrap_or(0);
            ctx.stats.borrow_mut().listed += n as u64;
            token.clear();
            if super::http::xml_element(page, "IsTruncated") == Some("true") {
                if let Some(t) = super::http::xml_element(page, "NextContinuationToken") {
                    token.push_str(&leofs_net::s3::auth::aws_encode(super::http::xml_unescape(t).as_bytes()));
                }
            }
        }
        // Keys go back to the pool: new ones once written, taken ones unless deleted.
        match op {
            Op::Put(id) if ok => {
                if ctx.phase == Phase::Prepare {
                    ctx.done.borrow_mut().push(id);
                } else {
                    ctx.pool.borrow_mut().push(id);
                }
            }
            Op::Get(id) | Op::Stat(id) if takes_keys => ctx.pool.borrow_mut().push(id),
            Op::Delete(id) if !ok && ctx.phase == Phase::Run => ctx.pool.borrow_mut().push(id),
            Op::Delete(id) if !ok && ctx.phase == Phase::Cleanup => ctx.done.borrow_mut().push(id),
            _ => {}
        }
    }
    conn.connects
}

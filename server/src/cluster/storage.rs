//! A storage node's RPC side: each core listens on its own port (shard 0's port + core)
//! and serves the requests for the keys its shard owns, so a request reaches the owning
//! core without a hop between cores.
//!
//! A write marked `coordinate` is this node's to replicate: it is written here (which
//! assigns its version), then sent with that version to the key's other replicas; the
//! client is answered once W (D for deletes) copies are durable. A replica that fails or is
//! down gets a repair queued here, durably, before it counts as failed; the repair worker
//! delivers queued repairs with backoff until they land, across restarts (hinted hand-off).
//!
//! The repair queue is ordinary records in the engine: key `\0mq\0<target>\0<object key>`,
//! empty body (docs/format.md "Repair queue"). No bucket name starts with a zero byte, so
//! S3 never sees them; delivery sends the object's *current* local record, so a queued
//! repair is idempotent and never resurrects an older version (last writer wins).

use super::client::{data_timeout, entry_info, from_rpc_version, from_write_kind, to_rpc_version, to_write_kind};
use super::frame_io::{FrameConn, FrameError};
use super::pool::Pool;
use super::{LocalView, View};
use crate::shard::{PutCond, PutError, Shards};
use leofs_control::cluster::{ControlReq, ControlResp};
use leofs_engine::{Error, Kind, ObjectMeta, Version};
use leofs_net::rpc::{Cond, ListReq, ListResp, Op, ReadReq, ReadResp, Status, WriteKind, WriteReq, WriteResp};
use leofs_rt::net::Listener;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const MQ_PREFIX: &[u8] = b"\0mq\0";
/// Objects up to this size are read inside a batch.
const BATCH_READ_MAX: u64 = 64 << 10;
/// How often the repair worker looks at its queue when entries wait on backoff, and when
/// the queue is empty.
const MQ_POLL: Duration = Duration::from_millis(200);
const MQ_IDLE_POLL: Duration = Duration::from_millis(20);
/// Longest wait between two attempts at an unreachable target.
const MQ_MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Queue entries handled per pass, and delivered at once.
const MQ_BATCH: usize = 1024;
const MQ_CONCURRENCY: usize = 64;
/// Queue entries counted per pass for the depth gauge (a deeper queue reads as this).
const MQ_COUNT_MAX: usize = 1 << 20;

pub struct StorageCore {
    pub core: usize,
    pub shards: Shards,
    pub view: LocalView,
    pub pool: Rc<Pool>,
    pub batcher: Rc<super::batch::Batcher>,
    /// Every core's metrics snapshot (for `du`).
    pub metrics: crate::metrics::Cores,
}

type Reply = Result<Vec<Vec<u8>>, (Status, String)>;

fn engine_status(e: &Error) -> Status {
    match e {
        Error::NoSpace(_) => Status::NoSpace,
        Error::Invalid(_) => Status::Invalid,
        Error::Poisoned(_) | Error::Closed | Error::Unavailable(_) => Status::Unavailable,
        _ => Status::Internal,
    }
}

fn engine_reply(e: Error) -> (Status, String) {
    (engine_status(&e), e.to_string())
}

fn put_reply(e: PutError) -> (Status, String) {
    match e {
        PutError::Failed => (Status::PreconditionFailed, "precondition failed".into()),
        PutError::Conflict => (Status::Conflict, "another write of the key is in flight".into()),
        PutError::Engine(e) => engine_reply(e),
    }
}

fn bad(e: impl std::fmt::Display) -> (Status, String) {
    (Status::Invalid, e.to_string())
}

pub fn mq_key(target: &str, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(MQ_PREFIX.len() + target.len() + 1 + key.len());
    k.extend_from_slice(MQ_PREFIX);
    k.extend_from_slice(target.as_bytes());
    k.push(0);
    k.extend_from_slice(key);
    k
}

fn parse_mq_key(k: &[u8]) -> Option<(String, Vec<u8>)> {
    let rest = k.strip_prefix(MQ_PREFIX)?;
    let nul = rest.iter().position(|&b| b == 0)?;
    Some((String::from_utf8(rest[..nul].to_vec()).ok()?, rest[nul + 1..].to_vec()))
}

/// Accepts RPC connections for this core until `stop`.
pub async fn serve(listener: Listener, sc: Rc<StorageCore>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                log::warn!("core {}: RPC accept failed: {e}", sc.core);
                leofs_rt::task::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        if stop.load(Ordering::Relaxed) {
            break;
        }
        leofs_rt::task::spawn(serve_conn(FrameConn::new(stream), sc.clone()));
    }
}

async fn serve_conn(mut conn: FrameConn, sc: Rc<StorageCore>) {
    loop {
        let (head, body) = match conn.read_frame().await {
            Ok(f) => f,
            Err(FrameError::Closed) => return,
            Err(e) => {
                log::warn!("RPC connection dropped: {e}");
                return;
            }
        };
        if head.response {
            return;
        }
        let reply = match head.op {
            Op::Write => sc.write(&body).await,
            Op::Batch => sc.batch(&body).await,
            Op::Read => sc.read(&body).await,
            Op::List => sc.list(&body).await,
            Op::Control => sc.control(&body).await,
        };
        let sent = match reply {
            Ok(parts) => conn.write_frame(head.op, true, Status::Ok, head.request_id, parts).await,
            Err((status, msg)) => conn.write_error(head.op, head.request_id, status, &msg).await,
        };
        if sent.is_err() {
            return;
        }
    }
}

impl StorageCore {
    /// A write request's body, alone in its frame or one of a batch: the object, its tail,
    /// is copied once, into the buffer the engine takes.
    async fn write(&self, body: &[u8]) -> Reply {
        let (req, object) = WriteReq::decode_body(body).map_err(bad)?;
        let object = object.to_vec();
        let kind = from_write_kind(req.kind);
        let meta = if kind == Kind::Tombstone { ObjectMeta::default() } else { ObjectMeta::decode(&req.meta, object.len() as u64).map_err(engine_reply)? };
        if !req.coordinate {
            let Some(v) = req.version else { return Err(bad("a replica write needs a version")) };
            let cond = if req.repair { PutCond::Repair } else { PutCond::None };
            let (_, applied) = self.shards.write(kind, req.key, meta, object, cond, Some(from_rpc_version(v))).await.map_err(put_reply)?;
            return Ok(vec![resp(WriteResp { version: v, applied, existed: false, acks: 1 })]);
        }
        let cond = match req.cond {
            Cond::None => PutCond::None,
            Cond::Absent => PutCond::Absent,
            Cond::Matches(e) => PutCond::Matches(e),
        };
        let view = self.view.get();
        if view.ring.members().is_empty() {
            // Without a RING this node cannot know the key's replicas: acknowledging a
            // single copy would break the promised N.
            return Err((Status::Unavailable, "this storage node has no RING yet (manager unreachable and no ring.cache)".into()));
        }
        let replicas = self.other_replicas(&view, &req.key);
        let c = view.ring.consistency();
        let quorum = if kind == Kind::Tombstone { c.d } else { c.w }.max(1);
        let owned_here = crate::shard::shard_of(&req.key, self.shards.count()) == self.shards.local.id;
        if cond == PutCond::None && owned_here {
            // The common case: the version is taken first, so the copies go out to the
            // other replicas while this node writes its own (one round of fsyncs, not two).
            let store = &self.shards.local.store;
            let version = store.next_version();
            let existed = kind == Kind::Tombstone && store.stat(&req.key).is_some();
            let copy = if replicas.is_empty() { Vec::new() } else { object.clone() };
            let acks = self.send_copies(&view, replicas, req.kind, req.key.clone(), req.meta, copy, version);
            self.shards.write(kind, req.key, meta, object, PutCond::None, Some(version)).await.map_err(put_reply)?;
            let acks = wait_acks(acks, quorum).await;
            return finish(version, existed, acks, quorum);
        }
        // A conditional write is decided here first, and copied only if it holds.
        let copy = if replicas.is_empty() { Vec::new() } else { object.clone() };
        let (version, existed) = if kind == Kind::Tombstone {
            let (existed, v) = self.shards.delete_versioned(req.key.clone()).await.map_err(engine_reply)?;
            (v, existed)
        } else {
            let (v, _) = self.shards.write(kind, req.key.clone(), meta, object, cond, None).await.map_err(put_reply)?;
            (v, false)
        };
        let acks = self.send_copies(&view, replicas, req.kind, req.key, req.meta, copy, version);
        let acks = wait_acks(acks, quorum).await;
        finish(version, existed, acks, quorum)
    }

    /// A batch: every request at once (writes share this shard's group commits), each
    /// answered on its own. A read of an object larger than [`BATCH_READ_MAX`] is answered
    /// `TooLarge` (the client fetches it alone), which keeps batch responses small.
    async fn batch(&self, body: &[u8]) -> Reply {
        let items = leofs_net::rpc::batch::decode_requests(body).map_err(bad)?;
        let futs: Vec<_> = items
            .into_iter()
            .map(|(op, b)| async move {
                match op {
                    Op::Write => self.write(b).await,
                    Op::Read => self.read_limited(b, BATCH_READ_MAX).await,
                    other => Err(bad(format!("{} cannot be batched", other.as_str()))),
                }
            })
            .collect();
        let outcomes: Vec<(Status, Vec<u8>)> = leofs_rt::task::join_all(futs)
            .await
            .into_iter()
            .map(|r| match r {
                Ok(parts) => (Status::Ok, parts.concat()),
                Err((status, msg)) => (status, leofs_net::rpc::error_body(&msg)),
            })
            .collect();
        Ok(vec![leofs_net::rpc::batch::encode_responses(&outcomes)])
    }

    /// The key's replicas other than this node.
    fn other_replicas(&self, view: &View, key: &[u8]) -> Vec<usize> {
        let me = &self.view.shared().node_id;
        view.ring.preference_list(key).into_iter().filter(|&m| view.ring.members()[m].id != *me).collect()
    }

    /// Sends the write to `replicas`, each in its own task; a copy that fails queues a
    /// repair before it reports. Returns the channel the outcomes arrive on, and how many.
    #[allow(clippy::too_many_arguments)]
    fn send_copies(&self, view: &View, replicas: Vec<usize>, kind: WriteKind, key: Vec<u8>, meta: Vec<u8>, object: Vec<u8>, version: Version) -> Copies {
        let (tx, rx) = leofs_rt::sync::cross::unbounded::<bool>();
        let fields = WriteReq { kind, coordinate: false, repair: false, cond: Cond::None, version: Some(to_rpc_version(version)), key: key.clone(), meta }.encode_fields();
        let n = replicas.len();
        let mut object = Some(object);
        for (i, m) in replicas.into_iter().enumerate() {
            let target = view.ring.members()[m].id.clone();
            let addr = view.shard_addr(m, &key);
            let body = if i + 1 == n { object.take().unwrap_or_default() } else { object.clone().unwrap_or_default() };
            let down = !view.serving(m) || addr.is_none();
            let shards = self.shards.clone();
            let pool = self.pool.clone();
            let batcher = self.batcher.clone();
            let fields = fields.clone();
            let key = key.clone();
            let tx = tx.clone();
            leofs_rt::task::spawn(async move {
                let ok = match (down, addr) {
                    (false, Some(addr)) => match if body.len() <= super::batch::BATCH_OBJECT_MAX {
                        let t = data_timeout(body.len());
                        batcher.send(addr, Op::Write, vec![fields, body], t).await.map(|(_, r)| r)
                    } else {
                        let t = data_timeout(body.len());
                        pool.call(addr, Op::Write, vec![fields, body], t).await.map(|(_, r)| r)
                    } {
                        Ok(_) => true,
                        Err(e) => {
                            log::warn!("replica write to {target}: {e}; queued for repair");
                            false
                        }
                    },
                    _ => false,
                };
                if !ok {
                    enqueue(&shards, &target, &key).await;
                }
                let _ = tx.send(ok);
            });
        }
        Copies { rx, pending: n }
    }

    async fn read(&self, body: &[u8]) -> Reply {
        self.read_limited(body, u64::MAX).await
    }

    async fn read_limited(&self, body: &[u8], max_size: u64) -> Reply {
        let req = ReadReq::decode(body).map_err(bad)?;
        let Some(entry) = self.shards.entry_with(req.key.clone(), true).await.map_err(engine_reply)? else {
            return Err((Status::NotFound, String::new()));
        };
        if !entry.is_live() || req.meta_only {
            // An entry-only answer comes from the index: no disk read.
            return Ok(vec![ReadResp { entry: entry_info(&entry), meta: Vec::new() }.encode_fields()]);
        }
        if entry.size > max_size {
            return Err((Status::TooLarge, format!("{} bytes: read it alone", entry.size)));
        }
        let Some(mut got) = self.shards.get(req.key).await.map_err(engine_reply)? else { return Err((Status::NotFound, String::new())) };
        let mut object = Vec::with_capacity(got.entry.size as usize);
        while let Some(c) = got.body.next().await.map_err(engine_reply)? {
            object.extend_from_slice(&c.buf.as_slice()[c.start..c.end]);
        }
        let meta = got.meta.encode(object.len() as u64).map_err(engine_reply)?;
        Ok(vec![ReadResp { entry: entry_info(&got.entry), meta }.encode_fields(), object])
    }

    async fn list(&self, body: &[u8]) -> Reply {
        let req = ListReq::decode(body).map_err(bad)?;
        let limit = (req.limit as usize).min(10_000);
        let entries = self.shards.list_with(&req.prefix, &req.start_after, limit, req.include_tombstones).await.map_err(engine_reply)?;
        let mut out = Vec::new();
        ListResp { entries: entries.iter().map(|(k, e)| (k.to_vec(), entry_info(e))).collect() }.encode(&mut out);
        Ok(vec![out])
    }

    async fn control(self: &Rc<Self>, body: &[u8]) -> Reply {
        let req: ControlReq = serde_json::from_slice(body).map_err(bad)?;
        let shared = self.view.shared().clone();
        let resp = match req {
            ControlReq::Repair { key, targets } => {
                let key = hex::decode(key).map_err(bad)?;
                for t in targets {
                    enqueue(&self.shards, &t, &key).await;
                }
                ControlResp::Ok
            }
            ControlReq::RepairMany { keys, target } => {
                let keys = keys.into_iter().map(hex::decode).collect::<Result<Vec<_>, _>>().map_err(bad)?;
                enqueue_many(&self.shards, &target, keys).await;
                ControlResp::Ok
            }
            ControlReq::Digests { peer } => ControlResp::Digests { ranges: super::sync::digests(self, &peer).await.map_err(|e| (Status::Internal, e))? },
            ControlReq::Keys { peer, ranges } => ControlResp::Keys { entries: super::sync::keys(self, &peer, &ranges).await.map_err(|e| (Status::Internal, e))? },
            ControlReq::Recover => {
                if self.view.get().ring.members().is_empty() || !shared.manager_synced.load(Ordering::Relaxed) {
                    return Err((Status::Unavailable, "this node has not received the RING from the manager yet; retry".into()));
                }
                // One already running (scrub's anti-entropy, say) does the same work.
                if !shared.recovery.lock().running {
                    shared.recovery.lock().running = true;
                    leofs_rt::task::spawn(super::sync::recover(self.clone()));
                }
                ControlResp::Ok
            }
            ControlReq::MqSuspend { suspended } => {
                shared.mq_suspended.store(suspended, Ordering::Relaxed);
                ControlResp::Ok
            }
            ControlReq::Compact { action } => {
                match action.as_str() {
                    "start" => {
                        shared.compact_suspended.store(false, Ordering::Relaxed);
                        shared.compact_requests.fetch_add(1, Ordering::Relaxed);
                    }
                    "suspend" => shared.compact_suspended.store(true, Ordering::Relaxed),
                    "resume" => shared.compact_suspended.store(false, Ordering::Relaxed),
                    "status" => {}
                    other => return Err(bad(format!("compaction action {other:?}: start, suspend, resume or status"))),
                }
                ControlResp::Info { info: self.du_json(&shared).await }
            }
            ControlReq::Du => ControlResp::Info { info: self.du_json(&shared).await },
            ControlReq::Diagnose => {
                shared.scrub_requests.fetch_add(1, Ordering::Relaxed);
                ControlResp::Info { info: self.du_json(&shared).await }
            }
            _ => return Err(bad("a storage node does not take this control message")),
        };
        Ok(vec![serde_json::to_vec(&resp).expect("serialises")])
    }

    /// Space per shard: what `du` and `compact-status` print.
    async fn du_json(&self, shared: &super::Shared) -> serde_json::Value {
        let cores = self.metrics.collect().await;
        let shards: Vec<serde_json::Value> = cores
            .iter()
            .map(|c| {
                let s = &c.shard;
                serde_json::json!({
                    "shard": c.core, "segments": s.segments, "objects": s.index_entries, "used_bytes": s.used_bytes,
                    "live_bytes": s.live_bytes, "garbage_bytes": s.used_bytes.saturating_sub(s.live_bytes),
                    "compacted_segments": s.stats.compacted_segments,
                })
            })
            .collect();
        serde_json::json!({
            "node": shared.node_id,
            "compaction": if shared.compact_suspended.load(Ordering::Relaxed) { "suspended" } else { "enabled" },
            "compaction_requests": shared.compact_requests.load(Ordering::Relaxed),
            "repairs_suspended": shared.mq_suspended.load(Ordering::Relaxed),
            "recovery": shared.recovery.lock().clone(),
            "scrub": shared.scrub_total(),
            "shards": shards,
        })
    }
}

/// Outcomes of the copies sent to other replicas.
struct Copies {
    rx: leofs_rt::sync::cross::Receiver<bool>,
    pending: usize,
}

/// Durable copies (this node's included) once `quorum` is reached or every copy has
/// answered; copies still in flight finish in the background.
async fn wait_acks(mut c: Copies, quorum: u8) -> u8 {
    let mut acks = 1u8;
    while c.pending > 0 && acks < quorum {
        match c.rx.recv_async().await {
            Ok(true) => acks += 1,
            Ok(false) => {}
            Err(_) => break,
        }
        c.pending -= 1;
    }
    acks
}

fn finish(version: Version, existed: bool, acks: u8, quorum: u8) -> Reply {
    if acks < quorum {
        return Err((Status::Unavailable, format!("{acks} of the {quorum} copies this write needs are durable; the others are queued for repair")));
    }
    Ok(vec![resp(WriteResp { version: to_rpc_version(version), applied: true, existed, acks })])
}

fn resp(r: WriteResp) -> Vec<u8> {
    let mut out = Vec::new();
    r.encode(&mut out);
    out
}

/// Durably queues a repair of `key` for `target`.
pub async fn enqueue(shards: &Shards, target: &str, key: &[u8]) {
    let q = mq_key(target, key);
    if let Err(e) = shards.write(Kind::Object, q, ObjectMeta::default(), Vec::new(), PutCond::None, None).await {
        log::error!("cannot queue a repair of {} for {target}: {e:?}", String::from_utf8_lossy(key));
    }
}

/// Durably queues repairs of `keys` for `target`, many at once so that they share group
/// commits (one fsync for a few hundred, not one each).
pub async fn enqueue_many(shards: &Shards, target: &str, keys: Vec<Vec<u8>>) {
    for group in keys.chunks(256) {
        leofs_rt::task::join_all(group.iter().map(|k| enqueue(shards, target, k)).collect()).await;
    }
}

/// A queued repair ready to go: its queue key and entry, the target node, the object key,
/// and the target's index in the RING.
type Due = (Box<[u8]>, leofs_engine::Entry, String, Vec<u8>, usize);

/// What one core's repair worker may send per second (0: unbounded), outside and during a
/// rebalance (config `repair_mib_per_sec`, `rebalance_mib_per_sec`).
#[derive(Clone, Copy, Debug)]
pub struct Rates {
    pub repair_bytes_per_sec: u64,
    pub rebalance_bytes_per_sec: u64,
}

/// Delivers this core's queued repairs, with backoff per unreachable target, until `stop`.
pub async fn repair_worker(sc: Rc<StorageCore>, stop: Arc<AtomicBool>, rates: Rates) {
    let backoff: RefCell<HashMap<String, (Instant, Duration)>> = RefCell::new(HashMap::new());
    let mut pass = 0u64;
    let mut wait = MQ_IDLE_POLL;
    while !stop.load(Ordering::Relaxed) {
        if !wait.is_zero() {
            leofs_rt::task::sleep(wait).await;
        }
        pass += 1;
        // The depth gauge counts the whole queue every 10th pass; delivery looks at its head.
        let count = pass % 10 == 1;
        let queued = sc.shards.local.store.list(MQ_PREFIX, b"", if count { MQ_COUNT_MAX } else { MQ_BATCH * 4 });
        let mut depth: BTreeMap<String, u64> = BTreeMap::new();
        for (k, _) in &queued {
            if let Some((t, _)) = parse_mq_key(k) {
                *depth.entry(t).or_insert(0) += 1;
            }
        }
        if count || queued.len() < MQ_BATCH * 4 {
            *sc.view.shared().mq[sc.core].lock() = depth;
        }
        // An empty queue is looked at again soon (a listing of nothing costs next to
        // nothing, and a rebuild starts with entries queued by peers); one whose entries all
        // wait on their targets' backoff, less often. A pass that delivered something is
        // followed at once by the next.
        wait = if queued.is_empty() { MQ_IDLE_POLL } else { MQ_POLL };
        if queued.is_empty() || sc.view.shared().mq_suspended.load(Ordering::Relaxed) {
            continue;
        }
        let view = sc.view.get();
        let now = Instant::now();
        let in_a_ring = |id: &str| view.index_of(id).is_some() || view.previous.as_ref().is_some_and(|p| p.index_of(id).is_some());
        let due: VecDeque<Due> = queued
            .into_iter()
            .filter_map(|(qk, qe)| {
                let (target, key) = parse_mq_key(&qk)?;
                if !view.ring.members().is_empty() && !in_a_ring(&target) {
                    // The target left the cluster (a rebalance ended without it): it owns
                    // nothing any more, so there is nothing to deliver.
                    sc.shards.local.store.forget(&qk);
                    return None;
                }
                let m = view.index_of(&target)?;
                let waiting = backoff.borrow().get(&target).is_some_and(|(at, _)| now < *at);
                (view.serving(m) && !waiting).then_some((qk, qe, target, key, m))
            })
            .take(MQ_BATCH)
            .collect();
        let rate = if view.previous.is_some() { rates.rebalance_bytes_per_sec } else { rates.repair_bytes_per_sec };
        let pass = Pass { sc: &sc, view: &view, due: RefCell::new(due), backoff: &backoff, began: Instant::now(), sent: Cell::new(0), delivered: Cell::new(0), rate };
        // MQ_CONCURRENCY lanes each take the next due entry as soon as their last one is
        // delivered (no wait for the slowest of a group): their writes share frames
        // (batches) and the receivers' group commits, which is what makes a rebuild fast.
        // A low rate (a rebalance's) gets few lanes, so that it is spent as a trickle
        // rather than as bursts of 64 objects: clients' latency comes first.
        let lanes = if rate == 0 { MQ_CONCURRENCY } else { ((rate >> 22) as usize).clamp(4, MQ_CONCURRENCY) };
        leofs_rt::task::join_all((0..lanes).map(|_| pass.lane()).collect()).await;
        if pass.delivered.get() > 0 {
            wait = Duration::ZERO;
        }
    }
}

/// One pass of a repair worker over the head of its queue.
struct Pass<'a> {
    sc: &'a StorageCore,
    view: &'a View,
    due: RefCell<VecDeque<Due>>,
    backoff: &'a RefCell<HashMap<String, (Instant, Duration)>>,
    began: Instant,
    /// Object bytes sent and entries delivered so far in this pass.
    sent: Cell<u64>,
    delivered: Cell<u64>,
    /// Bytes per second this core may send (0: unbounded).
    rate: u64,
}

impl Pass<'_> {
    async fn lane(&self) {
        loop {
            let Some((qk, qe, target, key, m)) = self.due.borrow_mut().pop_front() else { return };
            if self.backoff.borrow().get(&target).is_some_and(|(at, _)| Instant::now() < *at) {
                continue; // failed meanwhile: stays queued for a later pass
            }
            // Bounded transfer rate, so that a rebuild or a rebalance leaves room for clients.
            if self.rate > 0 {
                let budget = Duration::from_secs_f64(self.sent.get() as f64 / self.rate as f64);
                if let Some(wait) = budget.checked_sub(self.began.elapsed()) {
                    leofs_rt::task::sleep(wait).await;
                }
            }
            match self.sc.deliver(self.view, m, &key).await {
                Ok(bytes) => {
                    self.sent.set(self.sent.get() + bytes);
                    self.delivered.set(self.delivered.get() + 1);
                    self.backoff.borrow_mut().remove(&target);
                    // Remove the entry unless it was queued again meanwhile. Dropped, not
                    // deleted: a tombstone per delivered repair would stay in the index,
                    // and an entry a crash brings back is only delivered twice.
                    let store = &self.sc.shards.local.store;
                    if store.stat(&qk).is_some_and(|e| e.version == qe.version) {
                        store.forget(&qk);
                    }
                }
                Err(e) => {
                    let mut b = self.backoff.borrow_mut();
                    let wait = b.get(&target).map_or(MQ_POLL, |(_, w)| (*w * 2).min(MQ_MAX_BACKOFF));
                    log::debug!("repair for {target} failed ({e}); next try in {wait:?}");
                    b.insert(target, (Instant::now() + wait, wait));
                }
            }
        }
    }
}

impl StorageCore {
    /// Sends this node's current record of `key` (object or tombstone) to member `m`.
    /// Returns the object bytes sent.
    async fn deliver(&self, view: &View, m: usize, key: &[u8]) -> Result<u64, String> {
        let addr = view.shard_addr(m, key).ok_or("no address")?;
        let Some(entry) = self.shards.entry_with(key.to_vec(), true).await.map_err(|e| e.to_string())? else { return Ok(0) };
        let (kind, meta, object) = if entry.is_live() {
            let Some(mut got) = self.shards.get(key.to_vec()).await.map_err(|e| e.to_string())? else { return Ok(0) };
            let mut object = Vec::with_capacity(got.entry.size as usize);
            while let Some(c) = got.body.next().await.map_err(|e| e.to_string())? {
                object.extend_from_slice(&c.buf.as_slice()[c.start..c.end]);
            }
            let meta = got.meta.encode(object.len() as u64).map_err(|e| e.to_string())?;
            (to_write_kind(got.entry.kind), meta, object)
        } else {
            (WriteKind::Tombstone, Vec::new(), Vec::new())
        };
        let fields = WriteReq { kind, coordinate: false, repair: true, cond: Cond::None, version: Some(to_rpc_version(entry.version)), key: key.to_vec(), meta }.encode_fields();
        let bytes = object.len() as u64;
        let sent = if object.len() <= super::batch::BATCH_OBJECT_MAX {
            let t = data_timeout(object.len());
            self.batcher.send(addr, Op::Write, vec![fields, object], t).await.map(|_| ())
        } else {
            let t = data_timeout(object.len());
            self.pool.call(addr, Op::Write, vec![fields, object], t).await.map(|_| ())
        };
        sent.map(|()| bytes).map_err(|e| e.to_string())
    }
}

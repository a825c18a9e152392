//! The gateway's way to the data: objects over the RING. A write goes to the first
//! serving replica of the key, which coordinates it (assigns the version, replicates, waits
//! for W or D acknowledgements); a read asks R replicas and returns the newest version,
//! repairing replicas that answered older; a listing merges every node's ordered index.

use super::frame_io::FrameError;
use super::pool::Pool;
use super::{LocalView, View};
use crate::shard::{BodyStream, Got, OwnedChunk, PutCond, PutError};
use leofs_control::cluster::ControlReq;
use leofs_engine::{Entry, Error, Kind, Loc, ObjectMeta, Version};
use leofs_net::rpc::{self, Cond, EntryInfo, ListReq, ListResp, Op, ReadReq, ReadResp, Status, WriteKind, WriteReq, WriteResp};
use leofs_rt::AlignedBuf;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::time::Duration;

/// Control requests and large transfers must be answered within this.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a data request moving `bytes` may take before the node counts as failed (and
/// another replica is asked): short, since a partitioned node does not refuse, it just
/// never answers; plus time for the bytes at a modest 8 MB/s.
pub fn data_timeout(bytes: usize) -> Duration {
    Duration::from_millis(2000 + bytes as u64 / 8_000)
}
/// Writes up to this size are copied so that a second replica can coordinate if the first
/// does not answer.
const RETRY_COPY_MAX: usize = 1 << 20;
/// Size of the aligned pieces a fetched body is streamed to the client in.
const CHUNK: usize = 1 << 20;

pub fn to_rpc_version(v: Version) -> rpc::Version {
    rpc::Version { timestamp_us: v.timestamp_us, tiebreak: v.tiebreak }
}

pub fn from_rpc_version(v: rpc::Version) -> Version {
    Version { timestamp_us: v.timestamp_us, tiebreak: v.tiebreak }
}

pub fn to_write_kind(k: Kind) -> WriteKind {
    match k {
        Kind::Chunk => WriteKind::Chunk,
        Kind::Tombstone => WriteKind::Tombstone,
        _ => WriteKind::Object,
    }
}

pub fn from_write_kind(k: WriteKind) -> Kind {
    match k {
        WriteKind::Object => Kind::Object,
        WriteKind::Chunk => Kind::Chunk,
        WriteKind::Tombstone => Kind::Tombstone,
    }
}

pub fn entry_info(e: &Entry) -> EntryInfo {
    EntryInfo { version: to_rpc_version(e.version), size: e.size, md5: e.md5, parts: e.parts, tombstone: !e.is_live() }
}

pub fn entry_of(i: &EntryInfo) -> Entry {
    let kind = if i.tombstone { Kind::Tombstone } else { Kind::Object };
    Entry { loc: Loc { seg: 0, off: 0, len: 0 }, kind, size: i.size, md5: i.md5, parts: i.parts, version: from_rpc_version(i.version) }
}

fn unavailable(why: String) -> Error {
    Error::Unavailable(why)
}

/// An RPC failure as the engine error the gateway already maps onto S3 errors.
pub fn engine_error_of(e: FrameError) -> Error {
    match e {
        FrameError::Remote(Status::NoSpace, m) => Error::NoSpace(m),
        FrameError::Remote(Status::Invalid | Status::TooLarge, m) => Error::Invalid(m),
        FrameError::Remote(Status::Unavailable, m) => Error::Unavailable(m),
        other => unavailable(other.to_string()),
    }
}

fn put_error_of(e: FrameError) -> PutError {
    match e {
        FrameError::Remote(Status::PreconditionFailed, _) => PutError::Failed,
        FrameError::Remote(Status::Conflict, _) => PutError::Conflict,
        other => PutError::Engine(engine_error_of(other)),
    }
}

/// Whether a failure says nothing about the request itself (the node is down, slow or
/// unreachable), so another replica may be tried.
fn node_failure(e: &FrameError) -> bool {
    !matches!(e, FrameError::Remote(Status::PreconditionFailed | Status::Conflict | Status::Invalid | Status::TooLarge | Status::NoSpace, _))
}

pub struct ClusterClient {
    pub view: LocalView,
    pub pool: Rc<Pool>,
    batcher: Rc<super::batch::Batcher>,
}

/// One replica's answer to a read.
struct Answer {
    member: usize,
    found: Option<(EntryInfo, Vec<u8>, Option<Vec<u8>>)>,
}

impl ClusterClient {
    pub fn new(view: LocalView) -> ClusterClient {
        let pool = Rc::new(Pool::new());
        ClusterClient { view, batcher: super::batch::Batcher::new(pool.clone()), pool }
    }

    /// Replicas of `key` worth asking, primary first: serving nodes, then the rest (a node
    /// marked down may be back before the manager noticed), skipping recent failures.
    /// During a rebalance, serving nodes that owned the key under the previous RING come
    /// first: a node the new RING adds (a takeover's replacement) may not hold it yet, and
    /// a quorum of old owners meets the replicas every earlier write was acknowledged by.
    fn candidates(&self, v: &View, key: &[u8]) -> Vec<usize> {
        let pref = v.ring.preference_list(key);
        let mut good: Vec<usize> = pref.iter().copied().filter(|&m| v.serving(m) && !self.suspect(v, m, key)).collect();
        if let Some(prev) = &v.previous {
            let old: Vec<&str> = prev.ring.preference_list(key).into_iter().map(|m| prev.id(m)).collect();
            good.sort_by_key(|&m| !old.contains(&v.id(m)));
        }
        let rest: Vec<usize> = pref.iter().copied().filter(|m| !good.contains(m)).collect();
        good.extend(rest);
        good
    }

    fn suspect(&self, v: &View, m: usize, key: &[u8]) -> bool {
        v.shard_addr(m, key).is_none_or(|a| self.pool.is_suspect(a))
    }

    fn no_ring(&self) -> Error {
        unavailable("this gateway has no RING yet (is the manager reachable and the cluster started?)".into())
    }

    pub async fn write(&self, kind: Kind, key: Vec<u8>, meta: &ObjectMeta, body: Vec<u8>, cond: PutCond) -> Result<WriteResp, PutError> {
        let v = self.view.get();
        if v.ring.members().is_empty() {
            return Err(PutError::Engine(self.no_ring()));
        }
        let meta = if kind == Kind::Tombstone { Vec::new() } else { meta.encode(body.len() as u64).map_err(PutError::Engine)? };
        let cond = match cond {
            PutCond::None => Cond::None,
            PutCond::Absent => Cond::Absent,
            PutCond::Matches(e) => Cond::Matches(e),
            PutCond::Repair => Cond::None,
        };
        let req = WriteReq { kind: to_write_kind(kind), coordinate: true, repair: false, cond, version: None, key, meta };
        let fields = req.encode_fields();
        let cands = self.candidates(&v, &req.key);
        let mut last = None;
        // Only the first two candidates may coordinate: a third attempt would mostly add
        // latency to a request whose client retries anyway. The body moves into the last
        // attempt and is copied for the earlier one.
        // A second attempt needs a copy of the body made before the first: worth it for small
        // bodies only. A large one (a 5 MiB chunk) gets one attempt; its failure marks the
        // node suspect, so the client's retry goes to the next replica.
        let tries = cands.len().min(if body.len() <= RETRY_COPY_MAX { 2 } else { 1 });
        let mut body = Some(body);
        for (i, &m) in cands.iter().take(tries).enumerate() {
            let Some(addr) = v.shard_addr(m, &req.key) else { continue };
            let b = if i + 1 == tries { body.take().unwrap_or_default() } else { body.clone().unwrap_or_default() };
            let sent = if b.len() <= super::batch::BATCH_OBJECT_MAX {
                // The coordinator waits for its copies (each within data_timeout): more here.
                let t = data_timeout(b.len()) * 2;
                self.batcher.send(addr, Op::Write, vec![fields.clone(), b], t).await.map(|(_, r)| r)
            } else {
                let t = data_timeout(b.len()) * 2;
                self.pool.call(addr, Op::Write, vec![fields.clone(), b], t).await.map(|(_, r)| r)
            };
            match sent {
                Ok(resp) => return WriteResp::decode(&resp).map_err(|e| PutError::Engine(unavailable(e.to_string()))),
                Err(e) if node_failure(&e) => {
                    log::warn!("write via {}: {e}", v.ring.members()[m].id);
                    last = Some(e);
                }
                Err(e) => return Err(put_error_of(e)),
            }
        }
        Err(put_error_of(last.unwrap_or_else(|| FrameError::Remote(Status::Unavailable, "no replica of this key is reachable".into()))))
    }

    pub async fn put(&self, kind: Kind, key: Vec<u8>, meta: ObjectMeta, body: Vec<u8>, cond: PutCond) -> Result<Version, PutError> {
        self.write(kind, key, &meta, body, cond).await.map(|r| from_rpc_version(r.version))
    }

    pub async fn delete(&self, key: Vec<u8>) -> Result<bool, Error> {
        match self.write(Kind::Tombstone, key, &ObjectMeta::default(), Vec::new(), PutCond::None).await {
            Ok(r) => Ok(r.existed),
            Err(PutError::Engine(e)) => Err(e),
            Err(other) => Err(unavailable(format!("{other:?}"))),
        }
    }

    async fn read_one(&self, v: &View, m: usize, key: &[u8], meta_only: bool) -> Result<Answer, FrameError> {
        let addr = v.shard_addr(m, key).ok_or_else(|| FrameError::Remote(Status::Unavailable, "no address".into()))?;
        let mut body = Vec::new();
        ReadReq { key: key.to_vec(), meta_only }.encode(&mut body);
        // Batched with other reads of that shard; an object too large for a batch is
        // answered `TooLarge` there and fetched on its own.
        let (status, resp) = match self.batcher.send(addr, Op::Read, vec![body.clone()], data_timeout(64 << 10)).await {
            Err(FrameError::Remote(Status::TooLarge, _)) => self.pool.call(addr, Op::Read, vec![body], CALL_TIMEOUT).await.map(|(h, b)| (h.status, b))?,
            other => other?,
        };
        if status == Status::NotFound {
            return Ok(Answer { member: m, found: None });
        }
        let (r, object) = ReadResp::decode_body(&resp)?;
        let object = (!meta_only).then(|| object.to_vec());
        Ok(Answer { member: m, found: Some((r.entry, r.meta, object)) })
    }

    /// Asks replicas until `want` answered (found or not found); the first asked returns
    /// the body, the others only their entry.
    async fn read_quorum(&self, v: &View, key: &[u8], meta_only: bool) -> Result<Vec<Answer>, Error> {
        let want = (v.ring.consistency().r as usize).max(1);
        let cands = self.candidates(v, key);
        let mut answers = Vec::new();
        let mut next = 0;
        let mut errors = Vec::new();
        while answers.len() < want && next < cands.len() {
            let need = (want - answers.len()).min(cands.len() - next);
            let batch: Vec<usize> = cands[next..next + need].to_vec();
            next += need;
            let first_full = !meta_only && answers.is_empty();
            let futs: Vec<_> = batch.iter().enumerate().map(|(i, &m)| self.read_one(v, m, key, meta_only || !(first_full && i == 0))).collect();
            for (r, &m) in leofs_rt::task::join_all(futs).await.into_iter().zip(&batch) {
                match r {
                    Ok(a) => answers.push(a),
                    Err(e) => {
                        log::warn!("read from {}: {e}", v.ring.members()[m].id);
                        errors.push(e);
                    }
                }
            }
        }
        if answers.len() < want {
            let why = errors.into_iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ");
            return Err(unavailable(format!("{} of R = {want} replicas answered: {why}", answers.len())));
        }
        Ok(answers)
    }

    /// Reads the newest version among R replicas: `(entry, meta, body if fetched)`; replicas
    /// that answered with an older version or none get repaired in the background.
    async fn read_newest(&self, key: &[u8], meta_only: bool) -> Result<Option<(EntryInfo, Vec<u8>, Option<Vec<u8>>)>, Error> {
        let v = self.view.get();
        if v.ring.members().is_empty() {
            return Err(self.no_ring());
        }
        let answers = self.read_quorum(&v, key, meta_only).await?;
        if let Some(prev) = &v.previous {
            // A rebalance is moving data: the owners under the previous RING may hold a
            // newer copy than the new owners have received yet.
            let newest_here = answers.iter().filter_map(|a| a.found.as_ref().map(|f| f.0.version)).max();
            if let Some(found) = self.read_previous(&v, prev, key, meta_only).await {
                if newest_here.is_none_or(|n| found.0.version > n) {
                    return Ok((!found.0.tombstone).then_some(found));
                }
            }
        }
        let newest = answers.iter().filter_map(|a| a.found.as_ref().map(|f| (f.0.version, a.member))).max();
        let Some((newest_v, holder)) = newest else { return Ok(None) };
        let stale: Vec<String> = answers.iter().filter(|a| a.found.as_ref().is_none_or(|f| f.0.version < newest_v)).map(|a| v.ring.members()[a.member].id.clone()).collect();
        if !stale.is_empty() {
            self.request_repair(&v, holder, key, stale);
        }
        let mut best = answers.into_iter().find(|a| a.member == holder).and_then(|a| a.found).expect("holder answered");
        if best.0.tombstone {
            return Ok(None);
        }
        if !meta_only && best.2.is_none() {
            // The newest copy is on a replica asked for its entry only: fetch it there.
            let a = self.read_one(&v, holder, key, false).await.map_err(engine_error_of)?;
            match a.found {
                Some(f) if f.0.version >= newest_v && !f.0.tombstone => best = f,
                _ => return Err(unavailable("the newest replica changed while being read; retry".into())),
            }
        }
        Ok(Some(best))
    }

    /// The newest copy among the owners of `key` under the previous RING that the current
    /// one does not name (during a rebalance), with its body unless `meta_only`.
    async fn read_previous(&self, v: &View, prev: &View, key: &[u8], meta_only: bool) -> Option<(EntryInfo, Vec<u8>, Option<Vec<u8>>)> {
        let current: Vec<&str> = v.ring.preference_list(key).into_iter().map(|m| v.id(m)).collect();
        let mut best: Option<(EntryInfo, Vec<u8>, Option<Vec<u8>>)> = None;
        for m in prev.ring.preference_list(key) {
            if current.contains(&prev.id(m)) || !prev.serving(m) {
                continue;
            }
            match self.read_one(prev, m, key, meta_only).await {
                Ok(Answer { found: Some(f), .. }) if best.as_ref().is_none_or(|b| f.0.version > b.0.version) => best = Some(f),
                Ok(_) => {}
                Err(e) => log::debug!("read from previous owner {}: {e}", prev.id(m)),
            }
        }
        best
    }

    /// Read-repair: asks the replica holding the newest version to queue it for `stale`.
    fn request_repair(&self, v: &View, holder: usize, key: &[u8], stale: Vec<String>) {
        let Some(addr) = v.shard_addr(holder, key) else { return };
        let msg = ControlReq::Repair { key: hex::encode(key), targets: stale };
        let body = serde_json::to_vec(&msg).expect("serialises");
        let pool = self.pool.clone();
        leofs_rt::task::spawn(async move {
            if let Err(e) = pool.call(addr, Op::Control, vec![body], CALL_TIMEOUT).await {
                log::warn!("read-repair request: {e}");
            }
        });
    }

    pub async fn stat(&self, key: Vec<u8>) -> Result<Option<Entry>, Error> {
        Ok(self.read_newest(&key, true).await?.map(|(e, _, _)| entry_of(&e)))
    }

    pub async fn get(&self, key: Vec<u8>) -> Result<Option<Got>, Error> {
        let Some((e, meta, body)) = self.read_newest(&key, false).await? else { return Ok(None) };
        let body = body.unwrap_or_default();
        let meta = ObjectMeta::decode(&meta, body.len() as u64)?;
        let mut chunks = VecDeque::new();
        for piece in body.chunks(CHUNK) {
            let mut buf = AlignedBuf::with_capacity(piece.len());
            buf.extend_from_slice(piece);
            chunks.push_back(OwnedChunk { buf, start: 0, end: piece.len() });
        }
        Ok(Some(Got { entry: entry_of(&e), meta, body: BodyStream::Buffered { chunks, pos: 0, want: None } }))
    }

    /// Live keys under `prefix` after `start_after`, at most `limit`, merged from every
    /// node: a key's newest version wins (a newer tombstone hides an older live copy). A
    /// node that does not answer is skipped while every other replica of its keys can
    /// answer, i.e. while fewer than N nodes fail.
    pub async fn list(&self, prefix: &[u8], start_after: &[u8], limit: usize) -> Result<Vec<(Box<[u8]>, Entry)>, Error> {
        let v = self.view.get();
        if v.ring.members().is_empty() {
            return Err(self.no_ring());
        }
        let n = v.ring.consistency().n as usize;
        let mut out: Vec<(Box<[u8]>, Entry)> = Vec::new();
        let mut after = start_after.to_vec();
        loop {
            let want = (limit - out.len()).clamp(1, 1000);
            // Every member of the RING, and during a rebalance those only the previous names.
            let mut members: Vec<(&View, usize)> = (0..v.ring.members().len()).map(|m| (&*v, m)).collect();
            if let Some(prev) = &v.previous {
                members.extend((0..prev.ring.members().len()).filter(|&m| v.index_of(prev.id(m)).is_none()).map(|m| (&**prev, m)));
            }
            let futs: Vec<_> = members.iter().map(|&(view, m)| self.list_one(view, m, prefix, &after, want)).collect();
            let mut merged: BTreeMap<Vec<u8>, EntryInfo> = BTreeMap::new();
            let mut horizon: Option<Vec<u8>> = None;
            let mut failed = Vec::new();
            for (r, &(view, m)) in leofs_rt::task::join_all(futs).await.into_iter().zip(&members) {
                match r {
                    Ok(entries) => {
                        if entries.len() >= want {
                            // This node may hold more keys past its last one: nothing beyond
                            // the smallest such last key is known to be complete.
                            let last = entries.last().expect("non-empty").0.clone();
                            if horizon.as_ref().is_none_or(|h| last < *h) {
                                horizon = Some(last);
                            }
                        }
                        for (k, e) in entries {
                            match merged.get(&k) {
                                Some(cur) if cur.version >= e.version => {}
                                _ => {
                                    merged.insert(k, e);
                                }
                            }
                        }
                    }
                    Err(e) => {
                        log::warn!("list on {}: {e}", view.id(m));
                        failed.push(m);
                    }
                }
            }
            if failed.len() >= n {
                return Err(unavailable(format!("{} nodes did not answer a listing; with N = {n} some keys may have no live replica", failed.len())));
            }
            let exhausted = horizon.is_none();
            let mut last_seen = None;
            for (k, e) in merged {
                if horizon.as_ref().is_some_and(|h| k > *h) {
                    break;
                }
                last_seen = Some(k.clone());
                if !e.tombstone {
                    out.push((k.into_boxed_slice(), entry_of(&e)));
                    if out.len() >= limit {
                        return Ok(out);
                    }
                }
            }
            if exhausted {
                return Ok(out);
            }
            match last_seen {
                Some(k) => after = k,
                None => return Ok(out),
            }
        }
    }

    async fn list_one(&self, v: &View, m: usize, prefix: &[u8], after: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, EntryInfo)>, FrameError> {
        let Some(addr) = v.addrs[m] else { return Err(FrameError::Remote(Status::Unavailable, "no address".into())) };
        if !v.serving(m) && self.pool.is_suspect(addr) {
            return Err(FrameError::Remote(Status::Unavailable, "node is down".into()));
        }
        let mut body = Vec::new();
        ListReq { prefix: prefix.to_vec(), start_after: after.to_vec(), limit: limit as u32, include_tombstones: true }.encode(&mut body);
        let (_, resp) = self.pool.call(addr, Op::List, vec![body], data_timeout(1 << 20)).await?;
        Ok(ListResp::decode(&resp)?.entries)
    }

    /// Sends a control message to the shard owning `key` on member `m`.
    pub async fn control(&self, addr: std::net::SocketAddr, msg: &ControlReq) -> Result<Vec<u8>, FrameError> {
        let body = serde_json::to_vec(msg).expect("serialises");
        self.pool.call_always(addr, Op::Control, vec![body], CALL_TIMEOUT).await.map(|(_, b)| b)
    }
}


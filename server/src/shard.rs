//! Shards: which core owns a key, and how a request reaches it.
//!
//! Keys hash to one of 4096 virtual nodes; shard `s` owns the vnodes `v` with
//! `v % shards == s` (disjoint ranges, fixed for a data directory). A request for a key
//! owned by another core is handed to that core over a channel; the body `Vec` moves, it
//! is not copied. Replies for GET stream aligned read buffers back the same way.

use leofs_engine::store::BodyReader;
use leofs_engine::{DirDisk, Entry, Error, Kind, ObjectMeta, Store, Version};
use leofs_rt::sync::cross::{bounded, Receiver, Sender};
use leofs_rt::AlignedBuf;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use xxhash_rust::xxh3::xxh3_64;

pub const VNODES: u64 = 4096;

pub type ShardStore = Store<DirDisk>;
type File = leofs_rt::fs::File;

pub fn vnode_of(key: &[u8]) -> u64 {
    xxh3_64(key) >> 52
}

pub fn shard_of(key: &[u8], shards: usize) -> usize {
    (vnode_of(key) % shards as u64) as usize
}

#[derive(Debug)]
pub enum PutError {
    Engine(Error),
    /// The condition does not hold (412 PreconditionFailed).
    Failed,
    /// Another write of the key is in flight, so the condition cannot be decided (409
    /// ConditionalRequestConflict, as S3 answers; the client retries).
    Conflict,
}

/// A PUT's precondition, decided on the owning shard at the moment the write takes its
/// version: the check and the version are taken in one step on one thread, which makes the
/// put a compare-and-swap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutCond {
    None,
    /// `If-None-Match: *`: create only.
    Absent,
    /// `If-Match: <etag>`: overwrite only this version (etag without quotes).
    Matches(String),
    /// A repair with a given version: applied unless a newer version is held, replacing an
    /// equal one (which may be corrupt).
    Repair,
}

/// A piece of a GET body: an aligned read buffer and the body range inside it.
pub struct OwnedChunk {
    pub buf: AlignedBuf,
    pub start: usize,
    pub end: usize,
}

#[allow(clippy::large_enum_variant)] // one per GET in flight
pub enum BodyStream {
    Local(BodyReader<File>),
    /// Chunks from the owning core, whole; `want` clips them here (the owner reads and
    /// verifies the whole record anyway, and moving a buffer between cores copies nothing).
    Remote { rx: Receiver<Result<OwnedChunk, Error>>, pos: u64, want: Option<(u64, u64)> },
    /// A multipart object: its parts read one after another (already clipped to a range).
    Parts(Box<crate::gateway::PartStream>),
    /// A body fetched whole from a storage node (cluster gateway), clipped like `Remote`.
    Buffered { chunks: std::collections::VecDeque<OwnedChunk>, pos: u64, want: Option<(u64, u64)> },
}

/// Clips chunk `c`, which starts at body offset `*pos`, to `want`: `Ok(Some)` to send,
/// `Ok(None)` to skip, `Err(())` once past the range.
fn clip(mut c: OwnedChunk, pos: &mut u64, want: Option<(u64, u64)>) -> Result<Option<OwnedChunk>, ()> {
    let cs = *pos;
    let ce = cs + (c.end - c.start) as u64;
    *pos = ce;
    let Some((ws, we)) = want else { return Ok(Some(c)) };
    let (s, e) = (ws.max(cs), we.min(ce));
    if s < e {
        let base = c.start;
        c.start = base + (s - cs) as usize;
        c.end = base + (e - cs) as usize;
        return Ok(Some(c));
    }
    if cs >= we {
        return Err(());
    }
    Ok(None)
}

impl BodyStream {
    /// Restricts the stream to body bytes `[start, end)`.
    pub fn set_range(&mut self, start: u64, end: u64) {
        match self {
            BodyStream::Local(r) => r.set_range(start, end),
            BodyStream::Remote { want, .. } | BodyStream::Buffered { want, .. } => *want = Some((start, end)),
            BodyStream::Parts(p) => p.set_range(start, end),
        }
    }

    pub async fn next(&mut self) -> Result<Option<OwnedChunk>, Error> {
        match self {
            BodyStream::Local(r) => Ok(r.next().await?.map(|c| {
                let (buf, start, end) = c.into_parts();
                OwnedChunk { buf, start, end }
            })),
            BodyStream::Remote { rx, pos, want } => loop {
                let c = match rx.recv_async().await {
                    Ok(r) => r?,
                    Err(_) => return Ok(None),
                };
                match clip(c, pos, *want) {
                    Ok(Some(c)) => return Ok(Some(c)),
                    Ok(None) => {}
                    Err(()) => return Ok(None),
                }
            },
            BodyStream::Buffered { chunks, pos, want } => loop {
                let Some(c) = chunks.pop_front() else { return Ok(None) };
                match clip(c, pos, *want) {
                    Ok(Some(c)) => return Ok(Some(c)),
                    Ok(None) => {}
                    Err(()) => return Ok(None),
                }
            },
            BodyStream::Parts(p) => p.next().await,
        }
    }
}

pub struct Got {
    pub entry: Entry,
    pub meta: ObjectMeta,
    pub body: BodyStream,
}

type GetReply = Result<Option<(Entry, ObjectMeta, Receiver<Result<OwnedChunk, Error>>)>, Error>;

pub enum Req {
    Put { kind: Kind, key: Vec<u8>, meta: ObjectMeta, body: Vec<u8>, cond: PutCond, version: Option<Version>, reply: Sender<Result<(Version, bool), PutError>> },
    Stat { key: Vec<u8>, tombstones: bool, reply: Sender<Option<Entry>> },
    Get { key: Vec<u8>, reply: Sender<GetReply> },
    Delete { key: Vec<u8>, reply: Sender<Result<(bool, Version), Error>> },
    Forget { key: Vec<u8>, reply: Sender<bool> },
    List { prefix: Vec<u8>, start_after: Vec<u8>, limit: usize, tombstones: bool, reply: Sender<Vec<(Box<[u8]>, Entry)>> },
}

/// This core's shard.
pub struct Local {
    pub id: usize,
    pub store: ShardStore,
    /// Writes in flight per key: a conditional PUT cannot be decided while one is pending
    /// (the index does not show it yet).
    inflight: RefCell<HashMap<Vec<u8>, u32>>,
}

impl Local {
    pub fn new(id: usize, store: ShardStore) -> Rc<Local> {
        Rc::new(Local { id, store, inflight: RefCell::new(HashMap::new()) })
    }

    /// Writes a record. With `version` (a replica applying a coordinator's write) it is
    /// applied only if newer than what the index holds; returns the version and whether
    /// the record was applied.
    pub async fn put(&self, kind: Kind, key: Vec<u8>, meta: ObjectMeta, body: Vec<u8>, cond: PutCond, version: Option<Version>) -> Result<(Version, bool), PutError> {
        if !matches!(cond, PutCond::None | PutCond::Repair) {
            if self.inflight.borrow().contains_key(&key) {
                return Err(PutError::Conflict);
            }
            let cur = self.store.stat(&key);
            let holds = match &cond {
                PutCond::Absent => cur.is_none(),
                PutCond::Matches(etag) => cur.is_some_and(|e| crate::gateway::etag_hex(&e.md5, e.parts) == *etag),
                PutCond::None | PutCond::Repair => true,
            };
            if !holds {
                return Err(PutError::Failed);
            }
        }
        let _guard = self.begin_write(&key);
        let r = match (version, kind) {
            (Some(v), _) if cond == PutCond::Repair => self.store.put_repair(kind, &key, &meta, body, v).await.map(|applied| (v, applied)),
            (Some(v), _) => self.store.put_versioned(kind, &key, &meta, body, v).await.map(|applied| (v, applied)),
            (None, Kind::Chunk) => self.store.put_chunk(&key, &meta, body).await.map(|v| (v, true)),
            (None, Kind::Tombstone) => self.store.delete_versioned(&key).await.map(|(_, v)| (v, true)),
            (None, _) => self.store.put(&key, &meta, body).await.map(|v| (v, true)),
        };
        r.map_err(PutError::Engine)
    }

    /// Deletes a key: whether a live object existed, and the tombstone's version.
    pub async fn delete(&self, key: &[u8]) -> Result<(bool, Version), Error> {
        let _guard = self.begin_write(key);
        self.store.delete_versioned(key).await
    }

    /// Marks a write of `key` in flight until the guard drops.
    fn begin_write(&self, key: &[u8]) -> InflightGuard<'_> {
        *self.inflight.borrow_mut().entry(key.to_vec()).or_insert(0) += 1;
        InflightGuard { local: self, key: key.to_vec() }
    }

    pub async fn get(&self, key: &[u8]) -> Result<Option<Got>, Error> {
        Ok(self.store.get(key).await?.map(|o| Got { entry: o.entry, meta: o.meta, body: BodyStream::Local(o.body) }))
    }

    /// Reads the record from the disk, bypassing the read cache (scrub).
    pub async fn get_from_disk(&self, key: &[u8]) -> Result<Option<Got>, Error> {
        Ok(self.store.get_from_disk(key).await?.map(|o| Got { entry: o.entry, meta: o.meta, body: BodyStream::Local(o.body) }))
    }
}

struct InflightGuard<'a> {
    local: &'a Local,
    key: Vec<u8>,
}

impl Drop for InflightGuard<'_> {
    fn drop(&mut self) {
        let mut m = self.local.inflight.borrow_mut();
        if let Some(n) = m.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.key);
            }
        }
    }
}

/// Serves requests other cores send to this shard, each in its own task so that
/// concurrent PUTs share group commits.
pub async fn serve(local: Rc<Local>, rx: Receiver<Req>) {
    while let Ok(req) = rx.recv_async().await {
        let local = local.clone();
        leofs_rt::task::spawn(async move {
            match req {
                Req::Put { kind, key, meta, body, cond, version, reply } => {
                    let _ = reply.send(local.put(kind, key, meta, body, cond, version).await);
                }
                Req::Stat { key, tombstones, reply } => {
                    let _ = reply.send(if tombstones { local.store.entry(&key) } else { local.store.stat(&key) });
                }
                Req::Get { key, reply } => match local.get(&key).await {
                    Ok(Some(mut got)) => {
                        let (tx, rx) = bounded(2);
                        if reply.send(Ok(Some((got.entry, got.meta, rx)))).is_ok() {
                            loop {
                                match got.body.next().await {
                                    Ok(Some(c)) => {
                                        if tx.send_async(Ok(c)).await.is_err() {
                                            break;
                                        }
                                    }
                                    Ok(None) => break,
                                    Err(e) => {
                                        let _ = tx.send_async(Err(e)).await;
                                        break;
                                    }
                                }
                            }
                        }
                    }
                    Ok(None) => {
                        let _ = reply.send(Ok(None));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                },
                Req::Forget { key, reply } => {
                    let _ = reply.send(local.store.forget(&key));
                }
                Req::Delete { key, reply } => {
                    let _ = reply.send(local.delete(&key).await);
                }
                Req::List { prefix, start_after, limit, tombstones, reply } => {
                    let _ = reply.send(local.store.list_with(&prefix, &start_after, limit, tombstones));
                }
            }
        });
    }
}

/// A core's view of every shard (clones share it: a multipart GET keeps one).
#[derive(Clone)]
pub struct Shards {
    pub local: Rc<Local>,
    pub senders: Arc<Vec<Sender<Req>>>,
    /// Every shard's read cache, once its core has opened it (GETs of cached keys are
    /// answered on the asking core).
    pub caches: Arc<Vec<std::sync::OnceLock<leofs_engine::SharedCache>>>,
}

fn gone() -> Error {
    Error::Closed
}

impl Shards {
    pub fn count(&self) -> usize {
        self.senders.len()
    }

    fn owner(&self, key: &[u8]) -> Option<&Sender<Req>> {
        let s = shard_of(key, self.count());
        (s != self.local.id).then(|| &self.senders[s])
    }

    pub async fn put(&self, key: Vec<u8>, meta: ObjectMeta, body: Vec<u8>, cond: PutCond) -> Result<Version, PutError> {
        self.put_kind(Kind::Object, key, meta, body, cond).await
    }

    /// Stores a piece of a large object (a multipart part): a record no listing shows.
    pub async fn put_chunk(&self, key: Vec<u8>, meta: ObjectMeta, body: Vec<u8>) -> Result<Version, PutError> {
        self.put_kind(Kind::Chunk, key, meta, body, PutCond::None).await
    }

    async fn put_kind(&self, kind: Kind, key: Vec<u8>, meta: ObjectMeta, body: Vec<u8>, cond: PutCond) -> Result<Version, PutError> {
        self.write(kind, key, meta, body, cond, None).await.map(|(v, _)| v)
    }

    /// Any write, on the shard owning `key`: see [`Local::put`].
    pub async fn write(&self, kind: Kind, key: Vec<u8>, meta: ObjectMeta, body: Vec<u8>, cond: PutCond, version: Option<Version>) -> Result<(Version, bool), PutError> {
        let Some(tx) = self.owner(&key) else { return self.local.put(kind, key, meta, body, cond, version).await };
        let (rtx, rrx) = bounded(1);
        tx.send(Req::Put { kind, key, meta, body, cond, version, reply: rtx }).map_err(|_| PutError::Engine(gone()))?;
        rrx.recv_async().await.unwrap_or(Err(PutError::Engine(gone())))
    }

    /// The index entry of a live key (no disk read).
    pub async fn stat(&self, key: Vec<u8>) -> Result<Option<Entry>, Error> {
        self.entry_with(key, false).await
    }

    /// The index entry of a key, tombstones included when asked.
    pub async fn entry_with(&self, key: Vec<u8>, tombstones: bool) -> Result<Option<Entry>, Error> {
        let Some(tx) = self.owner(&key) else { return Ok(if tombstones { self.local.store.entry(&key) } else { self.local.store.stat(&key) }) };
        let (rtx, rrx) = bounded(1);
        tx.send(Req::Stat { key, tombstones, reply: rtx }).map_err(|_| gone())?;
        rrx.recv_async().await.map_err(|_| gone())
    }

    pub async fn get(&self, key: Vec<u8>) -> Result<Option<Got>, Error> {
        let Some(tx) = self.owner(&key) else { return self.local.get(&key).await };
        // A small object the owner holds in its read cache is answered here, without a
        // round trip to the owning core (the cache holds only current versions).
        let cached = self.caches.get(shard_of(&key, self.count())).and_then(|c| c.get()).and_then(|c| c.get_current(&key));
        if let Some((entry, meta, buf)) = cached {
            let end = buf.len();
            let chunks = if end == 0 { Default::default() } else { [OwnedChunk { buf, start: 0, end }].into() };
            return Ok(Some(Got { entry, meta, body: BodyStream::Buffered { chunks, pos: 0, want: None } }));
        }
        let (rtx, rrx) = bounded(1);
        tx.send(Req::Get { key, reply: rtx }).map_err(|_| gone())?;
        let r = rrx.recv_async().await.map_err(|_| gone())??;
        Ok(r.map(|(entry, meta, rx)| Got { entry, meta, body: BodyStream::Remote { rx, pos: 0, want: None } }))
    }

    /// Drops a copy this node no longer owns, writing nothing (see `Store::forget`).
    pub async fn forget(&self, key: Vec<u8>) -> Result<bool, Error> {
        let Some(tx) = self.owner(&key) else { return Ok(self.local.store.forget(&key)) };
        let (rtx, rrx) = bounded(1);
        tx.send(Req::Forget { key, reply: rtx }).map_err(|_| gone())?;
        rrx.recv_async().await.map_err(|_| gone())
    }

    pub async fn delete(&self, key: Vec<u8>) -> Result<bool, Error> {
        self.delete_versioned(key).await.map(|(live, _)| live)
    }

    pub async fn delete_versioned(&self, key: Vec<u8>) -> Result<(bool, Version), Error> {
        let Some(tx) = self.owner(&key) else { return self.local.delete(&key).await };
        let (rtx, rrx) = bounded(1);
        tx.send(Req::Delete { key, reply: rtx }).map_err(|_| gone())?;
        rrx.recv_async().await.map_err(|_| gone())?
    }

    /// Live entries under `prefix` after `start_after`, merged from every shard, in key
    /// order, at most `limit`.
    pub async fn list(&self, prefix: &[u8], start_after: &[u8], limit: usize) -> Result<Vec<(Box<[u8]>, Entry)>, Error> {
        self.list_with(prefix, start_after, limit, false).await
    }

    /// [`Shards::list`], tombstones included when asked.
    pub async fn list_with(&self, prefix: &[u8], start_after: &[u8], limit: usize, tombstones: bool) -> Result<Vec<(Box<[u8]>, Entry)>, Error> {
        let mut waits = Vec::new();
        for (i, tx) in self.senders.iter().enumerate() {
            if i == self.local.id {
                continue;
            }
            let (rtx, rrx) = bounded(1);
            tx.send(Req::List { prefix: prefix.to_vec(), start_after: start_after.to_vec(), limit, tombstones, reply: rtx }).map_err(|_| gone())?;
            waits.push(rrx);
        }
        let mut all = self.local.store.list_with(prefix, start_after, limit, tombstones);
        for w in waits {
            all.extend(w.recv_async().await.map_err(|_| gone())?);
        }
        all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        all.truncate(limit);
        Ok(all)
    }
}

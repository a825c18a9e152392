//! Shards: which core owns a key, and how a request reaches it.
//!
//! Keys hash to one of 4096 virtual nodes; shard `s` owns the vnodes `v` with
//! `v % shards == s` (disjoint ranges, fixed for a data directory). A request for a key
//! owned by another core is handed to that core over a channel; the body `Vec` moves, it
//! is not copied. Replies for GET stream aligned read buffers back the same way.

use leofs_engine::store::BodyReader;
use leofs_engine::{DirDisk, Entry, Error, ObjectMeta, Store, Version};
use leofs_rt::sync::cross::{bounded, Receiver, Sender};
use leofs_rt::AlignedBuf;
use std::cell::RefCell;
use std::collections::HashSet;
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
    /// `If-None-Match: *` and the key exists (or is being created).
    Exists,
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
}

impl BodyStream {
    /// Restricts the stream to body bytes `[start, end)`.
    pub fn set_range(&mut self, start: u64, end: u64) {
        match self {
            BodyStream::Local(r) => r.set_range(start, end),
            BodyStream::Remote { want, .. } => *want = Some((start, end)),
        }
    }

    pub async fn next(&mut self) -> Result<Option<OwnedChunk>, Error> {
        match self {
            BodyStream::Local(r) => Ok(r.next().await?.map(|c| {
                let (buf, start, end) = c.into_parts();
                OwnedChunk { buf, start, end }
            })),
            BodyStream::Remote { rx, pos, want } => loop {
                let mut c = match rx.recv_async().await {
                    Ok(r) => r?,
                    Err(_) => return Ok(None),
                };
                let cs = *pos;
                let ce = cs + (c.end - c.start) as u64;
                *pos = ce;
                let Some((ws, we)) = *want else { return Ok(Some(c)) };
                let (s, e) = (ws.max(cs), we.min(ce));
                if s < e {
                    let base = c.start;
                    c.start = base + (s - cs) as usize;
                    c.end = base + (e - cs) as usize;
                    return Ok(Some(c));
                }
                if cs >= we {
                    return Ok(None);
                }
            },
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
    Put { key: Vec<u8>, meta: ObjectMeta, body: Vec<u8>, create_only: bool, reply: Sender<Result<Version, PutError>> },
    Get { key: Vec<u8>, reply: Sender<GetReply> },
    Delete { key: Vec<u8>, reply: Sender<Result<bool, Error>> },
    List { prefix: Vec<u8>, start_after: Vec<u8>, limit: usize, reply: Sender<Vec<(Box<[u8]>, Entry)>> },
}

/// This core's shard.
pub struct Local {
    pub id: usize,
    pub store: ShardStore,
    /// Keys with a create-only PUT in flight: makes `If-None-Match: *` atomic on the shard.
    creating: RefCell<HashSet<Vec<u8>>>,
}

impl Local {
    pub fn new(id: usize, store: ShardStore) -> Rc<Local> {
        Rc::new(Local { id, store, creating: RefCell::new(HashSet::new()) })
    }

    async fn put(&self, key: Vec<u8>, meta: ObjectMeta, body: Vec<u8>, create_only: bool) -> Result<Version, PutError> {
        if !create_only {
            return self.store.put(&key, &meta, body).await.map_err(PutError::Engine);
        }
        if self.store.stat(&key).is_some() || !self.creating.borrow_mut().insert(key.clone()) {
            return Err(PutError::Exists);
        }
        let r = self.store.put(&key, &meta, body).await.map_err(PutError::Engine);
        self.creating.borrow_mut().remove(&key);
        r
    }

    async fn get(&self, key: &[u8]) -> Result<Option<Got>, Error> {
        Ok(self.store.get(key).await?.map(|o| Got { entry: o.entry, meta: o.meta, body: BodyStream::Local(o.body) }))
    }
}

/// Serves requests other cores send to this shard, each in its own task so that
/// concurrent PUTs share group commits.
pub async fn serve(local: Rc<Local>, rx: Receiver<Req>) {
    while let Ok(req) = rx.recv_async().await {
        let local = local.clone();
        leofs_rt::task::spawn(async move {
            match req {
                Req::Put { key, meta, body, create_only, reply } => {
                    let _ = reply.send(local.put(key, meta, body, create_only).await);
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
                Req::Delete { key, reply } => {
                    let _ = reply.send(local.store.delete(&key).await);
                }
                Req::List { prefix, start_after, limit, reply } => {
                    let _ = reply.send(local.store.list(&prefix, &start_after, limit));
                }
            }
        });
    }
}

/// A core's view of every shard.
pub struct Shards {
    pub local: Rc<Local>,
    pub senders: Arc<Vec<Sender<Req>>>,
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

    pub async fn put(&self, key: Vec<u8>, meta: ObjectMeta, body: Vec<u8>, create_only: bool) -> Result<Version, PutError> {
        let Some(tx) = self.owner(&key) else { return self.local.put(key, meta, body, create_only).await };
        let (rtx, rrx) = bounded(1);
        tx.send(Req::Put { key, meta, body, create_only, reply: rtx }).map_err(|_| PutError::Engine(gone()))?;
        rrx.recv_async().await.unwrap_or(Err(PutError::Engine(gone())))
    }

    pub async fn get(&self, key: Vec<u8>) -> Result<Option<Got>, Error> {
        let Some(tx) = self.owner(&key) else { return self.local.get(&key).await };
        let (rtx, rrx) = bounded(1);
        tx.send(Req::Get { key, reply: rtx }).map_err(|_| gone())?;
        let r = rrx.recv_async().await.map_err(|_| gone())??;
        Ok(r.map(|(entry, meta, rx)| Got { entry, meta, body: BodyStream::Remote { rx, pos: 0, want: None } }))
    }

    pub async fn delete(&self, key: Vec<u8>) -> Result<bool, Error> {
        let Some(tx) = self.owner(&key) else { return self.local.store.delete(&key).await };
        let (rtx, rrx) = bounded(1);
        tx.send(Req::Delete { key, reply: rtx }).map_err(|_| gone())?;
        rrx.recv_async().await.map_err(|_| gone())?
    }

    /// Live entries under `prefix` after `start_after`, merged from every shard, in key
    /// order, at most `limit`.
    pub async fn list(&self, prefix: &[u8], start_after: &[u8], limit: usize) -> Result<Vec<(Box<[u8]>, Entry)>, Error> {
        let mut waits = Vec::new();
        for (i, tx) in self.senders.iter().enumerate() {
            if i == self.local.id {
                continue;
            }
            let (rtx, rrx) = bounded(1);
            tx.send(Req::List { prefix: prefix.to_vec(), start_after: start_after.to_vec(), limit, reply: rtx }).map_err(|_| gone())?;
            waits.push(rrx);
        }
        let mut all = self.local.store.list(prefix, start_after, limit);
        for w in waits {
            all.extend(w.recv_async().await.map_err(|_| gone())?);
        }
        all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        all.truncate(limit);
        Ok(all)
    }
}

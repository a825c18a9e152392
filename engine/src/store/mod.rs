//! `Store<D: Disk>`: one shard's storage engine.
//!
//! A shard runs on one core: its state sits in `RefCell`s, never shared across threads.
//! Writers enqueue records; one writer task drains the queue in batches (group commit: one
//! write and one fdatasync per batch), applies the batch to the index only once it is
//! durable, then acknowledges. The index is mutated by the writer task alone, which is what
//! lets checkpoints and compaction reason about it without locks.

mod cache;
pub use cache::SharedCache;
mod compact;
mod read;
mod recover;
mod writer;

pub use compact::CompactStats;
pub use read::{BodyReader, Chunk, Object};

use crate::disk::Disk;
use crate::error::{Error, Result};
use crate::index::{Entry, Index, Loc};
use crate::meta::ObjectMeta;
use crate::record::{self, Kind};
use crate::version::{Clock, Version};
use leofs_rt::sync::{mpsc, oneshot};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

/// When a write is acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// After the batch's fdatasync (default): nothing acknowledged is lost on power failure.
    Fsync,
    /// After the write reaches the kernel: LeoFS's old behaviour, faster, loses the last
    /// writes on power failure (never corrupts: recovery truncates torn records).
    None,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub shard_id: u32,
    /// Version tiebreak: identifies this node and shard among replicas.
    pub tiebreak: u32,
    pub segment_size: u64,
    pub durability: Durability,
    /// Upper bound of one group commit.
    pub max_batch_bytes: usize,
    /// A group commit larger than this is written in parts of this size (a multiple of
    /// `leofs_rt::ALIGN`), each started as soon as it is encoded.
    pub write_part_bytes: usize,
    /// Largest record (body + head) accepted; large objects are chunked above this.
    pub max_record_bytes: u64,
    /// Write a new index checkpoint after this many log bytes.
    pub checkpoint_interval_bytes: u64,
    /// RAM for the read cache of small objects (bodies up to 64 KiB); 0 turns it off.
    pub read_cache_bytes: usize,
    /// Compaction keeps a tombstone at least this long after its version's timestamp. A
    /// replica that missed the delete (down, partitioned) learns it from a tombstone; one
    /// dropped everywhere first would let the old copy come back through read-repair or
    /// anti-entropy. 0 (a single node, where nothing can come back) drops tombstones as soon
    /// as no older segment survives.
    pub tombstone_grace_secs: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            shard_id: 0,
            tiebreak: 0,
            segment_size: 1 << 30,
            durability: Durability::Fsync,
            max_batch_bytes: 8 << 20,
            write_part_bytes: 256 << 10,
            max_record_bytes: 64 << 20,
            checkpoint_interval_bytes: 256 << 20,
            read_cache_bytes: 0,
            tombstone_grace_secs: 0,
        }
    }
}

/// Counters for metrics and benchmarks.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub batches: u64,
    pub records_written: u64,
    pub bytes_written: u64,
    pub fsyncs: u64,
    pub fsync_ns_total: u64,
    pub checkpoints: u64,
    pub compacted_segments: u64,
    pub compacted_bytes_copied: u64,
    /// Reads served from the read cache, reads it could not serve, and the bytes it holds.
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub cache_bytes: u64,
}

/// Per-segment accounting.
pub struct SegInfo<F> {
    pub file: Rc<F>,
    /// End of valid data (records are in [DATA_START, end)).
    pub end: u64,
    /// Bytes of records the index still points at.
    pub live: u64,
}

/// A summary of one segment, for operators and compaction decisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentSummary {
    pub id: u32,
    pub used: u64,
    pub live: u64,
}

pub(crate) struct Head {
    seg: u32,
    off: u64,
    /// Bytes of the partially filled block at `off` (from its block start to `off`).
    tail: Vec<u8>,
}

pub(crate) enum Op {
    /// A new record, assigned its version at enqueue time.
    Put { kind: Kind, key: Box<[u8]>, meta: Vec<u8>, body: Vec<u8>, version: Version, summary: Summary },
    /// A verbatim copy of a record by compaction: applied only if the index still points
    /// at `from`.
    Copy { key: Box<[u8]>, raw: Vec<u8>, from: Loc, entry: Entry },
    /// Forget a tombstone whose record compaction is dropping (if still current at `at`).
    DropTombstone { key: Box<[u8]>, at: Loc },
    /// Write an index checkpoint covering everything applied so far.
    Checkpoint,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Summary {
    size: u64,
    md5: [u8; 16],
    parts: u32,
}

pub(crate) struct Pending {
    op: Op,
    done: oneshot::Sender<Result<Option<Loc>>>,
}

pub(crate) struct Inner<D: Disk> {
    disk: D,
    cfg: Config,
    index: RefCell<Index>,
    segs: RefCell<BTreeMap<u32, SegInfo<D::File>>>,
    head: RefCell<Head>,
    clock: RefCell<Clock>,
    queue: RefCell<VecDeque<Pending>>,
    wake: mpsc::Tx<()>,
    poison: RefCell<Option<String>>,
    closed: Cell<bool>,
    since_checkpoint: Cell<u64>,
    stats: RefCell<Stats>,
    compacting: Cell<bool>,
    cache: cache::SharedCache,
}

/// A handle to one shard; clones share it (all on the shard's core).
pub struct Store<D: Disk> {
    inner: Rc<Inner<D>>,
}

impl<D: Disk> Clone for Store<D> {
    fn clone(&self) -> Self {
        Store { inner: self.inner.clone() }
    }
}

impl<D: Disk> Store<D> {
    /// Opens (or creates) the shard on `disk`: loads the checkpoint, replays the log tail,
    /// truncates a torn tail, and starts the writer task on the current core.
    pub async fn open(disk: D, cfg: Config) -> Result<Store<D>> {
        recover::open(disk, cfg).await
    }

    pub fn config(&self) -> &Config {
        &self.inner.cfg
    }

    /// Why the shard refuses writes, if it does.
    pub fn poisoned(&self) -> Option<String> {
        self.inner.poison.borrow().clone()
    }

    /// This shard's read cache, for other cores to answer GETs of its cached keys.
    pub fn shared_cache(&self) -> SharedCache {
        self.inner.cache.clone()
    }

    pub fn stats(&self) -> Stats {
        let c = self.inner.cache.lock();
        Stats { cache_hits: c.hits, cache_misses: c.misses, cache_bytes: c.bytes() as u64, ..self.inner.stats.borrow().clone() }
    }

    /// Drops `key` from this shard without writing anything: for a copy this node no
    /// longer owns (after a rebalance), never for a delete (a delete must leave a tombstone,
    /// or an older copy elsewhere would come back). Its record becomes garbage for
    /// compaction. Until the next checkpoint a crash brings the entry back, which is
    /// harmless: the copy is dropped again by the next cleanup.
    pub fn forget(&self, key: &[u8]) -> bool {
        let Some(e) = self.inner.index.borrow_mut().remove(key) else { return false };
        // The cache holds only current versions (other cores read it): drop with the entry.
        self.inner.cache.lock().remove(key);
        if let Some(s) = self.inner.segs.borrow_mut().get_mut(&e.loc.seg) {
            assert!(s.live >= e.loc.len as u64, "live bytes of segment {} underflow", e.loc.seg);
            s.live -= e.loc.len as u64;
        }
        true
    }

    /// RAM the index holds (see `Index::mem_bytes`).
    pub fn index_bytes(&self) -> u64 {
        self.inner.index.borrow().mem_bytes()
    }

    /// Number of index entries (live objects and tombstones).
    pub fn index_len(&self) -> usize {
        self.inner.index.borrow().len()
    }

    pub fn segments(&self) -> Vec<SegmentSummary> {
        self.inner
            .segs
            .borrow()
            .iter()
            .map(|(id, s)| SegmentSummary { id: *id, used: s.end - crate::segment::DATA_START, live: s.live })
            .collect()
    }

    /// Stores an object: acknowledged once durable. Returns its version.
    pub async fn put(&self, key: &[u8], meta: &ObjectMeta, body: Vec<u8>) -> Result<Version> {
        self.put_kind(Kind::Object, key, meta, body, None).await.map(|(v, _)| v)
    }

    /// Stores a chunk of a large object (kind `Chunk`, listed by nobody).
    pub async fn put_chunk(&self, key: &[u8], meta: &ObjectMeta, body: Vec<u8>) -> Result<Version> {
        self.put_kind(Kind::Chunk, key, meta, body, None).await.map(|(v, _)| v)
    }

    /// Takes the next version of this shard's clock, for a write whose copies on other
    /// nodes are sent before it is stored here ([`Store::put_versioned`] then stores it).
    pub fn next_version(&self) -> Version {
        self.inner.clock.borrow_mut().next()
    }

    /// Stores a record with a given version (replication). Returns false when the index
    /// already holds a newer version of the key (the record is then garbage).
    pub async fn put_versioned(&self, kind: Kind, key: &[u8], meta: &ObjectMeta, body: Vec<u8>, version: Version) -> Result<bool> {
        if self.inner.index.borrow().get(key).is_some_and(|cur| cur.version >= version) {
            return Ok(false);
        }
        self.put_kind(kind, key, meta, body, Some(version)).await.map(|(_, loc)| loc.is_some())
    }

    /// [`Store::put_versioned`] that also replaces an *equal* version: a repair, which may
    /// bring a good copy of a record this store holds corrupt.
    pub async fn put_repair(&self, kind: Kind, key: &[u8], meta: &ObjectMeta, body: Vec<u8>, version: Version) -> Result<bool> {
        if self.inner.index.borrow().get(key).is_some_and(|cur| cur.version > version) {
            return Ok(false);
        }
        self.put_kind(kind, key, meta, body, Some(version)).await.map(|(_, loc)| loc.is_some())
    }

    async fn put_kind(&self, kind: Kind, key: &[u8], meta: &ObjectMeta, body: Vec<u8>, version: Option<Version>) -> Result<(Version, Option<Loc>)> {
        let meta_bytes = if kind == Kind::Tombstone { Vec::new() } else { meta.encode(body.len() as u64)? };
        self.check_record(key, meta_bytes.len(), body.len() as u64)?;
        let version = match version {
            Some(v) => {
                self.inner.clock.borrow_mut().observe(v);
                v
            }
            None => self.inner.clock.borrow_mut().next(),
        };
        let summary = Summary { size: meta.size, md5: meta.md5, parts: meta.parts };
        let op = Op::Put { kind, key: key.into(), meta: meta_bytes, body, version, summary };
        let loc = self.inner.submit(op).await?;
        Ok((version, loc))
    }

    /// Deletes a key by writing a tombstone. Returns whether a live object existed when
    /// the delete was issued. The tombstone is written even when none did: a write of the
    /// key may still be in flight (or, on a replica, not have arrived yet), and the delete
    /// must win over it.
    pub async fn delete(&self, key: &[u8]) -> Result<bool> {
        self.delete_versioned(key).await.map(|(live, _)| live)
    }

    /// [`Store::delete`], also returning the tombstone's version (a replication coordinator
    /// sends it to the other replicas).
    pub async fn delete_versioned(&self, key: &[u8]) -> Result<(bool, Version)> {
        let live = self.inner.index.borrow().get(key).is_some_and(|e| e.is_live());
        let (v, _) = self.put_kind(Kind::Tombstone, key, &ObjectMeta::default(), Vec::new(), None).await?;
        Ok((live, v))
    }

    fn check_record(&self, key: &[u8], meta_len: usize, body_len: u64) -> Result<()> {
        if key.is_empty() || key.len() > record::MAX_KEY_LEN {
            return Err(Error::Invalid(format!("key length {} is outside 1..={}", key.len(), record::MAX_KEY_LEN)));
        }
        let len = record::record_len(key.len(), meta_len, body_len);
        let max = self.inner.cfg.max_record_bytes.min(self.inner.cfg.segment_size - crate::segment::DATA_START);
        if len > max {
            return Err(Error::Invalid(format!("record of {len} bytes exceeds the {max}-byte limit")));
        }
        Ok(())
    }

    /// The index entry of a live object (no disk I/O).
    pub fn stat(&self, key: &[u8]) -> Option<Entry> {
        self.inner.index.borrow().get(key).filter(|e| e.is_live()).copied()
    }

    /// The index entry, tombstones included (replication compares versions with it).
    pub fn entry(&self, key: &[u8]) -> Option<Entry> {
        self.inner.index.borrow().get(key).copied()
    }

    /// Live objects with `prefix`, after `start_after`, in key order.
    pub fn list(&self, prefix: &[u8], start_after: &[u8], limit: usize) -> Vec<(Box<[u8]>, Entry)> {
        self.inner.index.borrow().list(prefix, start_after, limit)
    }

    /// Entries under `prefix` after `start_after`, tombstones included when asked.
    pub fn list_with(&self, prefix: &[u8], start_after: &[u8], limit: usize, tombstones: bool) -> Vec<(Box<[u8]>, Entry)> {
        self.inner.index.borrow().list_with(prefix, start_after, limit, tombstones)
    }

    /// Live keys whose `hash` falls in `[lo, hi)`.
    pub fn keys_in_hash_range(&self, lo: u64, hi: u64, hash: impl Fn(&[u8]) -> u64) -> Vec<Box<[u8]>> {
        self.inner.index.borrow().keys_in_hash_range(lo, hi, hash)
    }

    /// Opens an object for reading: metadata now, body streamed by the returned reader.
    pub async fn get(&self, key: &[u8]) -> Result<Option<Object<D::File>>> {
        read::get(&self.inner, key, true).await
    }

    /// Like [`Store::get`] but always from the disk, never the read cache: what a scrub
    /// verifying the records on disk must use.
    pub async fn get_from_disk(&self, key: &[u8]) -> Result<Option<Object<D::File>>> {
        read::get(&self.inner, key, false).await
    }

    /// Convenience for small objects and tests: metadata and the whole body.
    pub async fn get_all(&self, key: &[u8]) -> Result<Option<(ObjectMeta, Vec<u8>)>> {
        match self.get(key).await? {
            None => Ok(None),
            Some(mut obj) => {
                let mut body = Vec::with_capacity(obj.body.len() as usize);
                while let Some(c) = obj.body.next().await? {
                    body.extend_from_slice(c.as_slice());
                }
                Ok(Some((obj.meta, body)))
            }
        }
    }

    /// Copies live records out of segments whose garbage exceeds `garbage_ratio` (0..1),
    /// then removes those segments; at most `bytes_per_sec` copied (0 = unthrottled).
    pub async fn compact(&self, garbage_ratio: f64, bytes_per_sec: u64) -> Result<CompactStats> {
        compact::run(&self.inner, garbage_ratio, bytes_per_sec).await
    }

    /// Writes an index checkpoint now (also done periodically and at close).
    pub async fn checkpoint(&self) -> Result<()> {
        self.inner.submit_checkpoint().await
    }

    /// Drains pending writes, writes a checkpoint and stops the writer. Later writes fail
    /// with `Closed`; reads keep working.
    pub async fn close(&self) -> Result<()> {
        let r = if self.poisoned().is_none() { self.checkpoint().await } else { Ok(()) };
        self.inner.closed.set(true);
        let _ = self.inner.wake.send(());
        r
    }
}

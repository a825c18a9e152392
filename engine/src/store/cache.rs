//! The read cache: small objects' metadata and bodies, verified when they were read from the
//! disk, kept in RAM by least-recent use within a byte budget (LeoFS's gateways keep a
//! similar object cache). A hit skips the disk read and the checksum.
//!
//! Other cores read it too ([`SharedCache::get_current`]): a GET arriving on another core is
//! answered there, without a round trip to the owning core, which cannot consult its index
//! for it. What makes that safe is an invariant the owning shard keeps on its own thread:
//! **an entry's version is the version its key's index entry has now.** The index changes
//! only on the owner's thread, and each change that alters a key's version (overwrite,
//! delete, forget) drops the key's entry in the same step; a read inserts its copy only if
//! the index still names the version it read (checked and inserted with no await between).
//! Compaction moves a record but keeps its version and bytes. A write is acknowledged after
//! its index change, so a GET sent after the acknowledgement, on any core, cannot be
//! answered from an older copy. The owner's own reads still compare versions as well.

use crate::index::Entry;
use crate::meta::ObjectMeta;
use crate::version::Version;
use leofs_rt::AlignedBuf;
use lru::LruCache;
use parking_lot::Mutex;
use std::sync::Arc;

/// Bodies up to this size are cached: the cache is for small, hot objects; large ones
/// stream from the disk at its full speed anyway.
pub const MAX_CACHED_BODY: usize = 64 << 10;
/// What an entry costs besides its key and body: its map slot, metadata and links.
const ENTRY_OVERHEAD: usize = 160;

pub(crate) struct Cached {
    /// The index entry the copy was read at (its location may have moved since).
    pub entry: Entry,
    pub meta: ObjectMeta,
    pub body: Box<[u8]>,
}

pub(crate) struct ReadCache {
    lru: LruCache<Box<[u8]>, Cached>,
    bytes: usize,
    budget: usize,
    pub hits: u64,
    pub misses: u64,
}

impl Cached {
    /// The entry, metadata and a copy of the body in a read buffer (the cache keeps its own).
    fn copy_out(&self) -> (Entry, ObjectMeta, AlignedBuf) {
        let mut buf = AlignedBuf::with_capacity(self.body.len().max(1));
        buf.extend_from_slice(&self.body);
        (self.entry, self.meta.clone(), buf)
    }
}

fn cost(key: &[u8], c: &Cached) -> usize {
    key.len() + c.body.len() + ENTRY_OVERHEAD
}

impl ReadCache {
    /// A cache holding at most `budget` bytes; 0 turns it off.
    pub fn new(budget: usize) -> Self {
        ReadCache { lru: LruCache::unbounded(), bytes: 0, budget, hits: 0, misses: 0 }
    }

    pub fn enabled(&self) -> bool {
        self.budget > 0
    }

    /// Bytes held (keys, bodies and a per-entry estimate).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The cached copy of `key` at `version`, its body copied into a read buffer; a copy of
    /// another version is dropped.
    pub fn get(&mut self, key: &[u8], version: Version) -> Option<(ObjectMeta, AlignedBuf)> {
        if !self.enabled() {
            return None;
        }
        match self.lru.get(key) {
            Some(c) if c.entry.version == version => {
                self.hits += 1;
                let (_, meta, buf) = c.copy_out();
                Some((meta, buf))
            }
            Some(_) => {
                self.misses += 1;
                if let Some((k, old)) = self.lru.pop_entry(key) {
                    self.bytes -= cost(&k, &old);
                }
                None
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    /// The cached copy of `key`, whatever its version (the owner keeps it current), with its
    /// body copied into a read buffer.
    pub fn get_current(&mut self, key: &[u8]) -> Option<(Entry, ObjectMeta, AlignedBuf)> {
        if !self.enabled() {
            return None;
        }
        let Some(c) = self.lru.get(key) else {
            self.misses += 1;
            return None;
        };
        self.hits += 1;
        Some(c.copy_out())
    }

    /// Caches a verified small object, evicting the least recently used beyond the budget.
    pub fn insert(&mut self, key: &[u8], entry: Entry, meta: &ObjectMeta, body: &[u8]) {
        if !self.enabled() || body.len() > MAX_CACHED_BODY {
            return;
        }
        let c = Cached { entry, meta: meta.clone(), body: body.into() };
        let add = cost(key, &c);
        if add > self.budget {
            return;
        }
        if let Some((k, old)) = self.lru.push(key.into(), c) {
            // The same key's older entry (or, never here, an evicted one).
            self.bytes -= cost(&k, &old);
        }
        self.bytes += add;
        while self.bytes > self.budget {
            match self.lru.pop_lru() {
                Some((k, old)) => self.bytes -= cost(&k, &old),
                None => break,
            }
        }
    }

    /// Drops `key`'s entry (its record is rewritten or gone).
    pub fn remove(&mut self, key: &[u8]) {
        if let Some((k, old)) = self.lru.pop_entry(key) {
            self.bytes -= cost(&k, &old);
        }
    }
}

/// A shard's read cache, shared with the other cores (see the module's invariant).
#[derive(Clone)]
pub struct SharedCache {
    inner: Arc<Mutex<ReadCache>>,
    /// Whether it has a budget: a cache that is off costs a read neither the lock nor the
    /// second index lookup before an insert.
    on: bool,
}

impl SharedCache {
    pub(crate) fn new(budget: usize) -> Self {
        SharedCache { inner: Arc::new(Mutex::new(ReadCache::new(budget))), on: budget > 0 }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.on
    }

    pub(crate) fn lock(&self) -> parking_lot::MutexGuard<'_, ReadCache> {
        self.inner.lock()
    }

    /// The current version of `key` if it is cached: its index entry, metadata and body.
    /// `None` means "not cached", never "absent": ask the owner.
    pub fn get_current(&self, key: &[u8]) -> Option<(Entry, ObjectMeta, AlignedBuf)> {
        if !self.on {
            return None;
        }
        self.inner.lock().get_current(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(t: u64) -> Version {
        Version { timestamp_us: t, tiebreak: 0 }
    }

    fn e(t: u64) -> Entry {
        Entry { loc: crate::index::Loc { seg: 0, off: 0, len: 0 }, kind: crate::record::Kind::Object, size: 0, md5: [0; 16], parts: 0, version: v(t) }
    }

    #[test]
    fn serves_only_the_version_the_index_names_and_stays_in_budget() {
        let meta = ObjectMeta::default();
        let mut c = ReadCache::new(3 * (4096 + 1 + ENTRY_OVERHEAD));
        c.insert(b"a", e(1), &meta, &[1; 4096]);
        assert_eq!(c.get(b"a", v(1)).map(|(_, b)| b.as_slice()[0]), Some(1));
        assert!(c.get(b"a", v(2)).is_none(), "another version is a miss");
        assert!(c.get(b"a", v(1)).is_none(), "and the stale copy is gone");
        for (i, k) in [b"b", b"c", b"d"].iter().enumerate() {
            c.insert(*k, e(1), &meta, &[i as u8; 4096]);
        }
        c.get(b"b", v(1));
        c.insert(b"e", e(1), &meta, &[9; 4096]);
        assert!(c.get(b"c", v(1)).is_none(), "least recently used evicted first");
        assert!(c.get(b"b", v(1)).is_some());
        assert!(c.bytes() <= 3 * (4096 + 1 + ENTRY_OVERHEAD));
        c.insert(b"big", e(1), &meta, &vec![0; MAX_CACHED_BODY + 1]);
        assert!(c.get(b"big", v(1)).is_none(), "large bodies are not cached");
        c.remove(b"b");
        assert!(c.get(b"b", v(1)).is_none());
        assert_eq!((c.hits, c.misses), (3, 5));
        let mut off = ReadCache::new(0);
        off.insert(b"a", e(1), &meta, &[1]);
        assert!(off.get(b"a", v(1)).is_none());
    }
}

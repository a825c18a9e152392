//! The in-memory index: key -> location and the summary HEAD and LIST need.
//!
//! One ordered map per shard. Keys are the engine's opaque byte keys (the gateway makes them
//! `bucket/object`), so byte order gives S3's listing order within a bucket prefix.
//! Tombstones stay in the index while their record lives, so last-writer-wins holds across
//! recovery and replication.

use crate::record::Kind;
use crate::version::Version;
use std::collections::BTreeMap;
use std::ops::Bound;

/// Where a record lives: segment, byte offset, on-disk length (padding included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loc {
    pub seg: u32,
    pub off: u32,
    pub len: u32,
}

/// One index entry (56 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub loc: Loc,
    pub kind: Kind,
    pub size: u64,
    pub md5: [u8; 16],
    pub parts: u32,
    pub version: Version,
}

impl Entry {
    pub fn is_live(&self) -> bool {
        self.kind != Kind::Tombstone
    }
    pub fn mtime_ms(&self) -> i64 {
        self.version.mtime_ms()
    }
}

/// Entries live in fixed-size chunks (no doubling waste) addressed by a u32 slot; the
/// ordered map holds only `key -> slot`, which keeps a map node small and dense. Measured in
/// `engine/tests/index_mem.rs`: under 128 B + key bytes per object at 1M objects.
const CHUNK: usize = 4096;

const VACANT: Entry = Entry {
    loc: Loc { seg: 0, off: 0, len: 0 },
    kind: Kind::Tombstone,
    size: 0,
    md5: [0; 16],
    parts: 0,
    version: Version { timestamp_us: 0, tiebreak: 0 },
};

#[derive(Default)]
struct Slab {
    chunks: Vec<Box<[Entry]>>,
    free: Vec<u32>,
    used: u32,
}

impl Slab {
    fn get(&self, i: u32) -> &Entry {
        &self.chunks[i as usize / CHUNK][i as usize % CHUNK]
    }
    fn get_mut(&mut self, i: u32) -> &mut Entry {
        &mut self.chunks[i as usize / CHUNK][i as usize % CHUNK]
    }
    fn alloc(&mut self, e: Entry) -> u32 {
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                let i = self.used;
                assert!(i < u32::MAX, "index slab full");
                self.used += 1;
                if i as usize / CHUNK == self.chunks.len() {
                    self.chunks.push(vec![VACANT; CHUNK].into_boxed_slice());
                }
                i
            }
        };
        *self.get_mut(i) = e;
        i
    }
    fn release(&mut self, i: u32) {
        *self.get_mut(i) = VACANT;
        self.free.push(i);
    }
}

#[derive(Default)]
pub struct Index {
    map: BTreeMap<Box<[u8]>, u32>,
    slab: Slab,
    /// Bytes of the keys held (each a heap allocation of its own).
    key_bytes: u64,
}

/// A map entry's share of its BTreeMap node (a `Box<[u8]>` and a `u32` in nodes of 11,
/// about two thirds full): what `engine/tests/index_mem.rs` measures beyond the slab and
/// the keys.
const MAP_BYTES_PER_ENTRY: u64 = 32;

impl Index {
    pub fn from_sorted(entries: Vec<(Box<[u8]>, Entry)>) -> Index {
        let mut slab = Slab::default();
        let key_bytes = entries.iter().map(|(k, _)| k.len() as u64).sum();
        let map = entries.into_iter().map(|(k, e)| (k, slab.alloc(e))).collect();
        Index { map, slab, key_bytes }
    }

    /// RAM the index holds: the slab's chunks and free list (exact), the keys (exact), and
    /// the map nodes (estimated per entry, see [`MAP_BYTES_PER_ENTRY`]).
    pub fn mem_bytes(&self) -> u64 {
        let slab = (self.slab.chunks.len() * CHUNK * std::mem::size_of::<Entry>()) as u64 + self.slab.free.capacity() as u64 * 4;
        slab + self.key_bytes + self.map.len() as u64 * MAP_BYTES_PER_ENTRY
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    pub fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.map.get(key).map(|&i| self.slab.get(i))
    }
    /// Sets the entry of `key`, returning the previous one.
    pub fn insert(&mut self, key: Box<[u8]>, e: Entry) -> Option<Entry> {
        if let Some(&i) = self.map.get(&key) {
            return Some(std::mem::replace(self.slab.get_mut(i), e));
        }
        let i = self.slab.alloc(e);
        self.key_bytes += key.len() as u64;
        self.map.insert(key, i);
        None
    }
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let i = self.map.remove(key)?;
        self.key_bytes -= key.len() as u64;
        let e = *self.slab.get(i);
        self.slab.release(i);
        Some(e)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&Box<[u8]>, &Entry)> {
        self.map.iter().map(|(k, &i)| (k, self.slab.get(i)))
    }

    /// Live entries whose key starts with `prefix` and sorts after `start_after`, in key
    /// order, at most `limit`.
    pub fn list(&self, prefix: &[u8], start_after: &[u8], limit: usize) -> Vec<(Box<[u8]>, Entry)> {
        self.list_with(prefix, start_after, limit, false)
    }

    /// [`Index::list`], tombstones included when `tombstones` (replicas merge listings by
    /// version, and a newer tombstone must hide an older live copy elsewhere).
    pub fn list_with(&self, prefix: &[u8], start_after: &[u8], limit: usize, tombstones: bool) -> Vec<(Box<[u8]>, Entry)> {
        let lower: Bound<&[u8]> = if start_after >= prefix { Bound::Excluded(start_after) } else { Bound::Included(prefix) };
        self.map
            .range::<[u8], _>((lower, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, &i)| (k, self.slab.get(i)))
            .filter(|(_, e)| tombstones || e.is_live())
            .take(limit)
            .map(|(k, e)| (k.clone(), *e))
            .collect()
    }

    /// Live keys whose `hash(key)` falls in `[lo, hi)`: what rebalance and recovery move.
    pub fn keys_in_hash_range(&self, lo: u64, hi: u64, hash: impl Fn(&[u8]) -> u64) -> Vec<Box<[u8]>> {
        self.iter().filter(|(k, e)| e.is_live() && (lo..hi).contains(&hash(k))).map(|(k, _)| k.clone()).collect()
    }
}

impl Index {
    /// Entries from `lower` on, in key order (checkpoints resume from the last key written).
    pub fn iter_from<'a>(&'a self, lower: Bound<&'a [u8]>) -> impl Iterator<Item = (&'a Box<[u8]>, &'a Entry)> + 'a {
        self.map.range::<[u8], _>((lower, Bound::Unbounded)).map(|(k, &i)| (k, self.slab.get(i)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(kind: Kind) -> Entry {
        Entry { loc: Loc { seg: 1, off: 0, len: 8 }, kind, size: 0, md5: [0; 16], parts: 0, version: Version::default() }
    }

    #[test]
    fn entry_is_56_bytes() {
        assert_eq!(std::mem::size_of::<Entry>(), 56);
    }

    #[test]
    fn slots_are_reused_and_values_replaced() {
        let mut ix = Index::default();
        assert!(ix.insert(b"a"[..].into(), e(Kind::Object)).is_none());
        assert_eq!(ix.insert(b"a"[..].into(), e(Kind::Tombstone)).map(|x| x.kind), Some(Kind::Object));
        assert_eq!(ix.get(b"a").map(|x| x.kind), Some(Kind::Tombstone));
        assert!(ix.remove(b"a").is_some());
        assert!(ix.get(b"a").is_none() && ix.is_empty());
        ix.insert(b"b"[..].into(), e(Kind::Object));
        assert_eq!(ix.slab.used, 1, "freed slot reused");
    }

    #[test]
    fn list_prefix_start_after_and_tombstones() {
        let mut ix = Index::default();
        for k in ["a/1", "a/2", "a/3", "b/1", "a/0"] {
            ix.insert(k.as_bytes().into(), e(Kind::Object));
        }
        ix.insert(b"a/25"[..].into(), e(Kind::Tombstone));
        let keys = |v: Vec<(Box<[u8]>, Entry)>| v.into_iter().map(|(k, _)| String::from_utf8(k.to_vec()).unwrap()).collect::<Vec<_>>();
        assert_eq!(keys(ix.list(b"a/", b"", 10)), ["a/0", "a/1", "a/2", "a/3"]);
        assert_eq!(keys(ix.list(b"a/", b"a/1", 2)), ["a/2", "a/3"]);
        assert_eq!(keys(ix.list(b"a/", b"a/3", 10)), Vec::<String>::new());
        assert_eq!(keys(ix.list(b"", b"a/3", 10)), ["b/1"]);
        let all = ix.keys_in_hash_range(0, u64::MAX, |k| k[2] as u64);
        assert_eq!(all.len(), 5);
        assert_eq!(ix.keys_in_hash_range(b'2' as u64, b'3' as u64, |k| k[2] as u64).len(), 1);
    }
}

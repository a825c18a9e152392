//! Reads: one aligned read for small records, streamed 1 MiB reads for large ones; both
//! checksums verified, the body's before its last byte is handed out.

use super::Inner;
use crate::disk::{Disk, DiskFile};
use crate::error::{Error, Result};
use crate::index::Entry;
use crate::meta::ObjectMeta;
use crate::record::{self, Kind, HEADER_LEN};
use leofs_rt::buf::{align_down_u64, align_up};
use leofs_rt::AlignedBuf;
use std::rc::Rc;
use xxhash_rust::xxh3::Xxh3;

/// Records up to this size are read (and verified) with a single I/O: a 1 or 2 MiB object
/// plus its head is one read, not a head read followed by a body read.
const WHOLE_READ: u64 = (2 << 20) + (128 << 10);
/// Streaming read size for larger bodies.
const STREAM_READ: usize = 1 << 20;

/// An object opened for reading.
pub struct Object<F: DiskFile> {
    pub entry: Entry,
    pub meta: ObjectMeta,
    pub body: BodyReader<F>,
}

/// A piece of a body: a range of an aligned read buffer (no copy).
pub struct Chunk {
    buf: AlignedBuf,
    start: usize,
    end: usize,
}

impl Chunk {
    pub fn as_slice(&self) -> &[u8] {
        &self.buf.as_slice()[self.start..self.end]
    }
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
    /// The read buffer and the range of it that is body (to hand to a socket without copying).
    pub fn into_parts(self) -> (AlignedBuf, usize, usize) {
        (self.buf, self.start, self.end)
    }
}

/// Streams a body in order. Every byte is hashed; the checksum is compared before the
/// chunk holding the last byte is returned, so a corrupt body never reaches a client whole.
pub struct BodyReader<F: DiskFile> {
    file: Rc<F>,
    key: Box<[u8]>,
    /// Absolute file offset of the next unread body byte, and body bytes left to read.
    next: u64,
    left: u64,
    /// Body offset of the next byte read, and the wanted body range.
    pos: u64,
    want: (u64, u64),
    len: u64,
    hasher: Xxh3,
    expect: u64,
    first: Option<Chunk>,
}

impl<F: DiskFile> BodyReader<F> {
    /// Body length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Restricts the chunks returned to body bytes `[start, end)`. The whole body is still
    /// read and verified (records are at most one large-object chunk).
    pub fn set_range(&mut self, start: u64, end: u64) {
        self.want = (start.min(self.len), end.min(self.len).max(start.min(self.len)));
        if let Some(c) = self.first.take() {
            self.first = self.clip(c, 0);
        }
    }

    fn clip(&self, mut c: Chunk, chunk_body_off: u64) -> Option<Chunk> {
        let (ws, we) = self.want;
        let cs = chunk_body_off;
        let ce = cs + c.len() as u64;
        let s = ws.max(cs);
        let e = we.min(ce);
        if s >= e {
            return None;
        }
        let base = c.start;
        c.start = base + (s - cs) as usize;
        c.end = base + (e - cs) as usize;
        Some(c)
    }

    fn verify(&self) -> Result<()> {
        if self.hasher.digest() != self.expect {
            return Err(Error::Corrupt(format!("body checksum mismatch for key {}", String::from_utf8_lossy(&self.key))));
        }
        Ok(())
    }

    /// The next chunk, or `None` at the end of the (wanted part of the) body.
    pub async fn next(&mut self) -> Result<Option<Chunk>> {
        if let Some(c) = self.first.take() {
            return Ok(Some(c));
        }
        while self.left > 0 {
            let blk = align_down_u64(self.next);
            let skip = (self.next - blk) as usize;
            let n = (self.left as usize).min(STREAM_READ - skip);
            let (r, buf) = self.file.read_at(AlignedBuf::with_capacity(STREAM_READ), blk, align_up(skip + n)).await;
            let got = r.map_err(|e| Error::io("object read", e))?;
            if got < skip + n {
                return Err(Error::Corrupt("short read inside a segment".into()));
            }
            self.hasher.update(&buf.as_slice()[skip..skip + n]);
            self.next += n as u64;
            self.left -= n as u64;
            if self.left == 0 {
                self.verify()?;
            }
            let off = self.pos;
            self.pos += n as u64;
            if let Some(c) = self.clip(Chunk { buf, start: skip, end: skip + n }, off) {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }
}

pub(crate) async fn get<D: Disk>(inner: &Inner<D>, key: &[u8], use_cache: bool) -> Result<Option<Object<D::File>>> {
    let Some(entry) = inner.index.borrow().get(key).filter(|e| e.is_live()).copied() else {
        return Ok(None);
    };
    let Some(file) = inner.segs.borrow().get(&entry.loc.seg).map(|s| s.file.clone()) else {
        return Err(Error::Corrupt(format!("index points at missing segment {}", entry.loc.seg)));
    };
    let use_cache = use_cache && inner.cache.enabled();
    let hit = if use_cache { inner.cache.lock().get(key, entry.version) } else { None };
    if let Some((meta, body)) = hit {
        return Ok(Some(cached(entry, meta, body, file, key)));
    }
    let rec_off = entry.loc.off as u64;
    let rec_len = entry.loc.len as u64;
    let first_len = if rec_len <= WHOLE_READ { rec_len } else { rec_len.min(128 << 10) };
    let blk = align_down_u64(rec_off);
    let skip = (rec_off - blk) as usize;
    let n = align_up(skip + first_len as usize);
    let (r, buf) = file.read_at(AlignedBuf::with_capacity(n), blk, n).await;
    let got = r.map_err(|e| Error::io("object read", e))?;
    let bad = |why: &str| Error::Corrupt(format!("record for key {} at segment {} offset {rec_off}: {why}", String::from_utf8_lossy(key), entry.loc.seg));
    if got < skip + first_len as usize {
        return Err(bad("short read"));
    }
    let rec = &buf.as_slice()[skip..skip + first_len as usize];
    let h = record::parse_header(rec).map_err(|e| bad(&format!("{e:?}")))?;
    let head_len = h.body_offset() as usize;
    if h.total_len() != rec_len || head_len > rec.len() || !record::verify_head(&h, rec) {
        return Err(bad("head checksum mismatch"));
    }
    if &rec[HEADER_LEN..HEADER_LEN + h.key_len as usize] != key || h.kind == Kind::Tombstone || h.version != entry.version {
        return Err(bad("record does not match the index"));
    }
    let meta_bytes = &rec[HEADER_LEN + h.key_len as usize..head_len];
    let meta = ObjectMeta::decode(meta_bytes, h.body_len)?;
    let in_first = (h.body_len).min((rec.len() - head_len) as u64) as usize;
    let body_start = skip + head_len;
    let first_bytes = &buf.as_slice()[body_start..body_start + in_first];
    let whole = in_first as u64 == h.body_len;
    if whole && record::body_checksum(first_bytes) != h.body_sum {
        // One-shot hash for a body read whole (faster than the streaming state).
        return Err(Error::Corrupt(format!("body checksum mismatch for key {}", String::from_utf8_lossy(key))));
    }
    // Only the version the index names now: a write may have replaced it while we read,
    // and other cores serve the cache without asking the index (see `cache.rs`).
    if whole && use_cache && inner.index.borrow().get(key).is_some_and(|e| e.version == entry.version) {
        inner.cache.lock().insert(key, entry, &meta, first_bytes);
    }
    let mut hasher = Xxh3::new();
    if !whole {
        hasher.update(first_bytes);
    }
    let mut reader = BodyReader {
        file,
        key: key.into(),
        next: rec_off + head_len as u64 + in_first as u64,
        left: h.body_len - in_first as u64,
        pos: in_first as u64,
        want: (0, h.body_len),
        len: h.body_len,
        hasher,
        expect: h.body_sum,
        first: None,
    };
    // A body read whole was verified above; a streamed one is verified at its last chunk.
    if in_first > 0 {
        reader.first = Some(Chunk { buf, start: body_start, end: body_start + in_first });
    }
    Ok(Some(Object { entry, meta, body: reader }))
}

/// An object served from the read cache: its body in one chunk, nothing to read.
fn cached<F: DiskFile>(entry: Entry, meta: ObjectMeta, buf: AlignedBuf, file: Rc<F>, key: &[u8]) -> Object<F> {
    let len = buf.len() as u64;
    let first = (len > 0).then(|| Chunk { start: 0, end: buf.len(), buf });
    let reader = BodyReader { file, key: key.into(), next: 0, left: 0, pos: len, want: (0, len), len, hasher: Xxh3::new(), expect: 0, first };
    Object { entry, meta, body: reader }
}

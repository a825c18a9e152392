//! Index checkpoints (docs/format.md, "Index checkpoint"): the whole index and the segment
//! table, so that opening a shard replays only the log written since.

use crate::disk::{Disk, DiskFile};
use crate::error::{Error, Result};
use crate::index::{Entry, Index, Loc};
use crate::record::Kind;
use crate::version::Version;
use leofs_rt::buf::align_up;
use leofs_rt::{AlignedBuf, ALIGN};
use std::cell::RefCell;
use std::ops::Bound;
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

pub const FILE: &str = "index.ckpt";
pub const TMP: &str = "index.ckpt.tmp";
const MAGIC: [u8; 8] = *b"LEOFSCKP";
const VERSION: u16 = 1;
const HEADER_LEN: usize = 72;
const BODY_START: u64 = ALIGN as u64;
const ENTRY_FIXED: usize = 2 + 1 + 4 + 4 + 4 + 8 + 16 + 4 + 8 + 4;
const PIECE: usize = 4 << 20;

/// What a checkpoint holds.
pub struct Loaded {
    pub covered: (u32, u64),
    pub segments: Vec<(u32, u64)>,
    pub index: Index,
}

/// Writes a checkpoint of `index` covering the log up to `covered`. The caller guarantees
/// nothing else mutates the index meanwhile (only the writer task mutates it, and it is the
/// one writing); the borrow is still released at every await.
pub async fn write<D: Disk>(
    disk: &D,
    shard: u32,
    covered: (u32, u64),
    segments: &[(u32, u64)],
    index: &RefCell<Index>,
) -> Result<()> {
    let io = |op| move |e| Error::io(op, e);
    let _ = disk.remove(TMP);
    let file = disk.open(TMP, true).map_err(io("checkpoint create"))?;
    let mut hasher = Xxh3::new();
    let mut body_len = 0u64;
    let mut at = BODY_START;
    let mut piece: Vec<u8> = Vec::with_capacity(PIECE + 8192);
    for (id, end) in segments {
        piece.extend_from_slice(&(*id as u64).to_le_bytes());
        piece.extend_from_slice(&end.to_le_bytes());
    }
    let count = index.borrow().len() as u64;
    let mut last: Option<Box<[u8]>> = None;
    loop {
        {
            let ix = index.borrow();
            let resume = last.take();
            let lower = match &resume {
                Some(k) => Bound::Excluded(&k[..]),
                None => Bound::Unbounded,
            };
            let mut newest: Option<&Box<[u8]>> = None;
            for (k, e) in ix.iter_from(lower) {
                encode_entry(&mut piece, k, e);
                newest = Some(k);
                if piece.len() >= PIECE {
                    break;
                }
            }
            last = newest.cloned().or(resume);
        }
        let done = piece.len() < PIECE;
        if !piece.is_empty() {
            // Full pieces are multiples of ALIGN only by luck: carry the unaligned tail over
            // to the next piece. Hash and count only what is flushed now, exactly once.
            let flush = if done { piece.len() } else { piece.len() / ALIGN * ALIGN };
            hasher.update(&piece[..flush]);
            body_len += flush as u64;
            let mut buf = AlignedBuf::with_capacity(align_up(flush.max(1)));
            buf.extend_from_slice(&piece[..flush]);
            buf.pad_to_align();
            let len = buf.len() as u64;
            let (r, _) = file.write_at(buf, at).await;
            r.map_err(io("checkpoint write"))?;
            at += len;
            piece.drain(..flush);
        }
        if done {
            break;
        }
    }
    let mut head = AlignedBuf::zeroed(ALIGN);
    head.set_len(ALIGN);
    let h = head.as_mut_slice();
    h[0..8].copy_from_slice(&MAGIC);
    h[8..10].copy_from_slice(&VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&shard.to_le_bytes());
    h[16..24].copy_from_slice(&(covered.0 as u64).to_le_bytes());
    h[24..32].copy_from_slice(&covered.1.to_le_bytes());
    h[32..36].copy_from_slice(&(segments.len() as u32).to_le_bytes());
    h[40..48].copy_from_slice(&count.to_le_bytes());
    h[48..56].copy_from_slice(&body_len.to_le_bytes());
    h[56..64].copy_from_slice(&hasher.digest().to_le_bytes());
    let hs = xxh3_64(&h[0..64]);
    h[64..72].copy_from_slice(&hs.to_le_bytes());
    let (r, _) = file.write_at(head, 0).await;
    r.map_err(io("checkpoint write"))?;
    file.sync().await.map_err(io("checkpoint sync"))?;
    disk.rename(TMP, FILE).map_err(io("checkpoint rename"))?;
    disk.sync_dir().map_err(io("checkpoint directory sync"))?;
    Ok(())
}

fn encode_entry(out: &mut Vec<u8>, k: &[u8], e: &Entry) {
    out.extend_from_slice(&(k.len() as u16).to_le_bytes());
    out.push(e.kind as u8);
    out.extend_from_slice(&e.loc.seg.to_le_bytes());
    out.extend_from_slice(&e.loc.off.to_le_bytes());
    out.extend_from_slice(&e.loc.len.to_le_bytes());
    out.extend_from_slice(&e.size.to_le_bytes());
    out.extend_from_slice(&e.md5);
    out.extend_from_slice(&e.parts.to_le_bytes());
    out.extend_from_slice(&e.version.timestamp_us.to_le_bytes());
    out.extend_from_slice(&e.version.tiebreak.to_le_bytes());
    out.extend_from_slice(k);
}

/// Loads `index.ckpt`. `Ok(None)` when there is none; `Err(Corrupt)` when it fails its
/// checks (the caller then rebuilds from the whole log).
pub async fn load<D: Disk>(disk: &D) -> Result<Option<Loaded>> {
    let file = match disk.open(FILE, false) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("checkpoint open", e)),
    };
    let len = file.len().map_err(|e| Error::io("checkpoint size", e))?;
    let bad = |why: &str| Error::Corrupt(format!("index checkpoint: {why}"));
    if len < BODY_START {
        return Err(bad("shorter than its header"));
    }
    let (r, head) = file.read_at(AlignedBuf::with_capacity(ALIGN), 0, ALIGN).await;
    r.map_err(|e| Error::io("checkpoint read", e))?;
    let h = head.as_slice();
    let u64at = |o: usize| u64::from_le_bytes(h[o..o + 8].try_into().unwrap_or([0; 8]));
    if h.len() < HEADER_LEN || h[0..8] != MAGIC || h[8..10] != VERSION.to_le_bytes() || xxh3_64(&h[0..64]) != u64at(64) {
        return Err(bad("bad header"));
    }
    let covered = (u32::try_from(u64at(16)).map_err(|_| bad("segment id"))?, u64at(24));
    let nseg = u32::from_le_bytes(h[32..36].try_into().unwrap_or([0; 4])) as usize;
    let count = u64at(40) as usize;
    let body_len = u64at(48);
    let body_sum = u64at(56);
    if BODY_START + body_len > len {
        return Err(bad("body overruns the file"));
    }
    let mut body = Vec::with_capacity(body_len as usize);
    let mut at = BODY_START;
    let end = BODY_START + align_up(body_len as usize) as u64;
    let mut buf = AlignedBuf::with_capacity(PIECE);
    while at < end {
        let n = ((end - at) as usize).min(PIECE);
        let (r, b) = file.read_at(buf, at, n).await;
        let got = r.map_err(|e| Error::io("checkpoint read", e))?;
        if got < n {
            return Err(bad("short read"));
        }
        let keep = (body_len as usize - body.len()).min(got);
        body.extend_from_slice(&b.as_slice()[..keep]);
        buf = b;
        at += n as u64;
    }
    if xxh3_64(&body) != body_sum {
        return Err(bad("body checksum mismatch"));
    }
    parse_body(&body, covered, nseg, count).ok_or_else(|| bad("malformed body"))
}

fn parse_body(b: &[u8], covered: (u32, u64), nseg: usize, count: usize) -> Option<Option<Loaded>> {
    let mut p = 0usize;
    let mut take = |n: usize| -> Option<&[u8]> {
        let s = b.get(p..p + n)?;
        p += n;
        Some(s)
    };
    let mut segments = Vec::with_capacity(nseg);
    for _ in 0..nseg {
        let id = u32::try_from(u64::from_le_bytes(take(8)?.try_into().ok()?)).ok()?;
        let end = u64::from_le_bytes(take(8)?.try_into().ok()?);
        segments.push((id, end));
    }
    let mut entries = Vec::with_capacity(count.min(b.len() / ENTRY_FIXED));
    for _ in 0..count {
        let f = take(ENTRY_FIXED)?;
        let u32at = |o: usize| u32::from_le_bytes([f[o], f[o + 1], f[o + 2], f[o + 3]]);
        let u64at = |o: usize| u64::from_le_bytes(f[o..o + 8].try_into().unwrap_or([0; 8]));
        let klen = u16::from_le_bytes([f[0], f[1]]) as usize;
        let entry = Entry {
            kind: Kind::from_u8(f[2])?,
            loc: Loc { seg: u32at(3), off: u32at(7), len: u32at(11) },
            size: u64at(15),
            md5: f[23..39].try_into().ok()?,
            parts: u32at(39),
            version: Version { timestamp_us: u64at(43), tiebreak: u32at(51) },
        };
        let key: Box<[u8]> = take(klen)?.into();
        entries.push((key, entry));
    }
    if p != b.len() || entries.windows(2).any(|w| w[0].0 >= w[1].0) {
        return None;
    }
    Some(Some(Loaded { covered, segments, index: Index::from_sorted(entries) }))
}

//! Log segments: the header block and a sequential scanner that validates records
//! (docs/format.md, "Log segment").

use crate::disk::DiskFile;
use crate::error::{Error, Result};
use crate::record::{self, Header, HeaderError, HEADER_LEN};
use leofs_rt::buf::{align_down_u64, align_up};
use leofs_rt::{AlignedBuf, ALIGN};
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

pub const SEG_MAGIC: [u8; 8] = *b"LEOFSSEG";
pub const SEG_VERSION: u16 = 1;
/// Records start after the header block.
pub const DATA_START: u64 = ALIGN as u64;
/// Scanner read size: large sequential reads make recovery disk-bound, not syscall-bound.
const WINDOW: usize = 1 << 20;

pub fn file_name(id: u32) -> String {
    format!("seg-{id:016x}.log")
}

pub fn parse_file_name(name: &str) -> Option<u32> {
    let hex = name.strip_prefix("seg-")?.strip_suffix(".log")?;
    if hex.len() != 16 {
        return None;
    }
    u32::try_from(u64::from_str_radix(hex, 16).ok()?).ok()
}

pub fn encode_header(id: u32, size: u64, shard: u32, created_ms: u64) -> AlignedBuf {
    let mut b = AlignedBuf::zeroed(ALIGN);
    b.set_len(ALIGN);
    let h = b.as_mut_slice();
    h[0..8].copy_from_slice(&SEG_MAGIC);
    h[8..10].copy_from_slice(&SEG_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&64u32.to_le_bytes());
    h[16..24].copy_from_slice(&(id as u64).to_le_bytes());
    h[24..32].copy_from_slice(&size.to_le_bytes());
    h[32..36].copy_from_slice(&shard.to_le_bytes());
    h[40..48].copy_from_slice(&created_ms.to_le_bytes());
    let sum = xxh3_64(&h[0..56]);
    h[56..64].copy_from_slice(&sum.to_le_bytes());
    b
}

/// Validates a segment header block; returns (id, size).
pub fn parse_header(b: &[u8]) -> Option<(u32, u64)> {
    if b.len() < 64 || b[0..8] != SEG_MAGIC || b[8..10] != SEG_VERSION.to_le_bytes() {
        return None;
    }
    let sum = u64::from_le_bytes(b[56..64].try_into().ok()?);
    if xxh3_64(&b[0..56]) != sum {
        return None;
    }
    let id = u64::from_le_bytes(b[16..24].try_into().ok()?);
    let size = u64::from_le_bytes(b[24..32].try_into().ok()?);
    Some((u32::try_from(id).ok()?, size))
}

/// One step of a scan.
#[derive(Debug)]
pub enum Scan {
    /// A valid record at `off` (both checksums verified).
    Record { off: u64, header: Header, key: Vec<u8>, meta: Vec<u8> },
    /// No record starts here: zeros (the clean end of data) or the end of the segment.
    End { off: u64 },
    /// Bytes at `off` are not a valid record.
    Invalid { off: u64, why: String },
}

/// Reads a segment front to back through a 1 MiB window, validating every record.
pub struct Scanner<'a, F: DiskFile> {
    file: &'a F,
    limit: u64,
    buf: Option<AlignedBuf>,
    win_off: u64,
    pub pos: u64,
}

impl<'a, F: DiskFile> Scanner<'a, F> {
    pub fn new(file: &'a F, limit: u64, start: u64) -> Scanner<'a, F> {
        Scanner { file, limit, buf: Some(AlignedBuf::with_capacity(WINDOW + 2 * ALIGN)), win_off: 0, pos: start }
    }

    fn window_len(&self) -> usize {
        self.buf.as_ref().map_or(0, |b| b.len())
    }

    /// Makes `[off, off+n)` (n <= WINDOW) readable from the window. False past the limit.
    async fn fill(&mut self, off: u64, n: usize) -> Result<bool> {
        if off + n as u64 > self.limit {
            return Ok(false);
        }
        if off >= self.win_off && off + n as u64 <= self.win_off + self.window_len() as u64 {
            return Ok(true);
        }
        let start = align_down_u64(off);
        let want = align_up((off - start) as usize + n).max(WINDOW).min((self.limit - start) as usize);
        let buf = self.buf.take().unwrap_or_else(|| AlignedBuf::with_capacity(WINDOW + 2 * ALIGN));
        let (res, buf) = self.file.read_at(buf, start, align_up(want)).await;
        self.buf = Some(buf);
        res.map_err(|e| Error::io("segment scan read", e))?;
        self.win_off = start;
        Ok(off + n as u64 <= start + self.window_len() as u64)
    }

    fn slice(&self, off: u64, n: usize) -> &[u8] {
        let s = (off - self.win_off) as usize;
        &self.buf.as_ref().expect("window").as_slice()[s..s + n]
    }

    /// The next record at `pos`; advances past it when valid.
    pub async fn next(&mut self) -> Result<Scan> {
        let off = self.pos;
        if !self.fill(off, HEADER_LEN).await? {
            return Ok(Scan::End { off });
        }
        let h = match record::parse_header(self.slice(off, HEADER_LEN)) {
            Ok(h) => h,
            Err(HeaderError::Zero) => return Ok(Scan::End { off }),
            Err(e) => return Ok(Scan::Invalid { off, why: format!("header: {e:?}") }),
        };
        let total = h.total_len();
        if off + total > self.limit {
            return Ok(Scan::Invalid { off, why: "record overruns the segment".into() });
        }
        let head_len = h.body_offset() as usize;
        if !self.fill(off, head_len).await? || !record::verify_head(&h, self.slice(off, head_len)) {
            return Ok(Scan::Invalid { off, why: "head checksum mismatch".into() });
        }
        let key = self.slice(off + HEADER_LEN as u64, h.key_len as usize).to_vec();
        let meta = self.slice(off + HEADER_LEN as u64 + h.key_len as u64, h.meta_len as usize).to_vec();
        let mut hasher = Xxh3::new();
        let mut p = off + head_len as u64;
        let mut left = h.body_len;
        while left > 0 {
            let n = left.min(WINDOW as u64 / 2) as usize;
            if !self.fill(p, n).await? {
                return Ok(Scan::Invalid { off, why: "body overruns the segment".into() });
            }
            hasher.update(self.slice(p, n));
            p += n as u64;
            left -= n as u64;
        }
        if hasher.digest() != h.body_sum {
            return Ok(Scan::Invalid { off, why: "body checksum mismatch".into() });
        }
        self.pos = off + total;
        Ok(Scan::Record { off, header: h, key, meta })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn names_and_header_roundtrip() {
        assert_eq!(parse_file_name(&file_name(0xabc)), Some(0xabc));
        assert_eq!(parse_file_name("seg-1.log"), None);
        let b = encode_header(7, 1 << 30, 3, 99);
        assert_eq!(parse_header(b.as_slice()), Some((7, 1 << 30)));
        let mut bad = b.as_slice().to_vec();
        bad[20] ^= 1;
        assert_eq!(parse_header(&bad), None);
    }
}

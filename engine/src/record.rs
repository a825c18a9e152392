//! The record format (docs/format.md, "Record"): encode into and decode from byte slices.

use crate::version::Version;
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

pub const MAGIC: [u8; 4] = *b"LFRC";
pub const FORMAT_VERSION: u8 = 1;
pub const HEADER_LEN: usize = 48;
pub const MAX_KEY_LEN: usize = 4096;
pub const MAX_META_LEN: usize = 65536;
/// Records start on 8-byte boundaries.
pub const RECORD_ALIGN: u64 = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    Object = 1,
    Tombstone = 2,
    Chunk = 3,
}

impl Kind {
    pub fn from_u8(b: u8) -> Option<Kind> {
        match b {
            1 => Some(Kind::Object),
            2 => Some(Kind::Tombstone),
            3 => Some(Kind::Chunk),
            _ => None,
        }
    }
}

/// A decoded record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub kind: Kind,
    pub key_len: u16,
    pub meta_len: u32,
    pub body_len: u64,
    pub version: Version,
    pub body_sum: u64,
    pub head_sum: u64,
}

impl Header {
    /// Bytes from the record start to the body start.
    pub fn body_offset(&self) -> u64 {
        HEADER_LEN as u64 + self.key_len as u64 + self.meta_len as u64
    }
    /// Total on-disk length including padding to the next record.
    pub fn total_len(&self) -> u64 {
        record_len(self.key_len as usize, self.meta_len as usize, self.body_len)
    }
}

pub fn align8(n: u64) -> u64 {
    (n + RECORD_ALIGN - 1) & !(RECORD_ALIGN - 1)
}

/// On-disk length of a record with these parts, padding included.
pub fn record_len(key_len: usize, meta_len: usize, body_len: u64) -> u64 {
    align8(HEADER_LEN as u64 + key_len as u64 + meta_len as u64 + body_len)
}

/// Writes a whole record (header, key, meta, body, padding) into `out`, which must be exactly
/// `record_len(..)` bytes long. Returns the header written.
pub fn encode(out: &mut [u8], kind: Kind, key: &[u8], meta: &[u8], body: &[u8], version: Version) -> Header {
    let total = record_len(key.len(), meta.len(), body.len() as u64) as usize;
    assert_eq!(out.len(), total, "record buffer size");
    let mut at = 0;
    let h = encode_pieces(kind, key, meta, body, version, &mut |piece| {
        out[at..at + piece.len()].copy_from_slice(piece);
        at += piece.len();
    });
    assert_eq!(at, total, "every byte of the record written");
    h
}

/// The same record as [`encode`], handed to `emit` in order as pieces (header, key, meta,
/// body, padding) that together are `record_len(..)` bytes: for a writer that spreads a
/// batch over several buffers.
pub fn encode_pieces(kind: Kind, key: &[u8], meta: &[u8], body: &[u8], version: Version, emit: &mut impl FnMut(&[u8])) -> Header {
    assert!(!key.is_empty() && key.len() <= MAX_KEY_LEN, "key length checked by caller");
    assert!(meta.len() <= MAX_META_LEN, "meta length checked by caller");
    let total = record_len(key.len(), meta.len(), body.len() as u64) as usize;
    let body_sum = xxh3_64(body);
    let mut head = [0u8; HEADER_LEN];
    head[0..4].copy_from_slice(&MAGIC);
    head[4] = FORMAT_VERSION;
    head[5] = kind as u8;
    head[6..8].copy_from_slice(&(key.len() as u16).to_le_bytes());
    head[8..12].copy_from_slice(&(meta.len() as u32).to_le_bytes());
    head[12..16].copy_from_slice(&version.tiebreak.to_le_bytes());
    head[16..24].copy_from_slice(&(body.len() as u64).to_le_bytes());
    head[24..32].copy_from_slice(&version.timestamp_us.to_le_bytes());
    head[32..40].copy_from_slice(&body_sum.to_le_bytes());
    let head_sum = head_checksum(&head[0..40], key, meta);
    head[40..48].copy_from_slice(&head_sum.to_le_bytes());
    let h = Header { kind, key_len: key.len() as u16, meta_len: meta.len() as u32, body_len: body.len() as u64, version, body_sum, head_sum };
    // Paired assertion: the header about to be written decodes to what we meant.
    debug_assert_eq!(parse_header(&head).ok(), Some(h));
    emit(&head);
    emit(key);
    emit(meta);
    emit(body);
    emit(&[0u8; 8][..total - HEADER_LEN - key.len() - meta.len() - body.len()]);
    h
}

fn head_checksum(fixed: &[u8], key: &[u8], meta: &[u8]) -> u64 {
    let mut h = Xxh3::new();
    h.update(fixed);
    h.update(key);
    h.update(meta);
    h.digest()
}

/// Why bytes are not a valid record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    Short,
    /// All-zero: the end of written data in a preallocated segment.
    Zero,
    BadMagic,
    BadVersion,
    BadKind,
    BadLength,
}

/// Decodes the fixed 48-byte header (checksums are verified separately, once the key and
/// metadata are at hand).
pub fn parse_header(b: &[u8]) -> Result<Header, HeaderError> {
    if b.len() < HEADER_LEN {
        return Err(HeaderError::Short);
    }
    if b[..HEADER_LEN].iter().all(|&x| x == 0) {
        return Err(HeaderError::Zero);
    }
    if b[0..4] != MAGIC {
        return Err(HeaderError::BadMagic);
    }
    if b[4] != FORMAT_VERSION {
        return Err(HeaderError::BadVersion);
    }
    let kind = Kind::from_u8(b[5]).ok_or(HeaderError::BadKind)?;
    let key_len = u16::from_le_bytes([b[6], b[7]]);
    let meta_len = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
    if key_len == 0 || key_len as usize > MAX_KEY_LEN || meta_len as usize > MAX_META_LEN {
        return Err(HeaderError::BadLength);
    }
    let u64at = |o: usize| u64::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3], b[o + 4], b[o + 5], b[o + 6], b[o + 7]]);
    let body_len = u64at(16);
    if body_len > (1u64 << 40) {
        return Err(HeaderError::BadLength);
    }
    Ok(Header {
        kind,
        key_len,
        meta_len,
        body_len,
        version: Version { timestamp_us: u64at(24), tiebreak: u32::from_le_bytes([b[12], b[13], b[14], b[15]]) },
        body_sum: u64at(32),
        head_sum: u64at(40),
    })
}

/// Verifies the head checksum given the full head bytes (header + key + meta).
pub fn verify_head(h: &Header, head: &[u8]) -> bool {
    let k0 = HEADER_LEN;
    let m0 = k0 + h.key_len as usize;
    let b0 = m0 + h.meta_len as usize;
    head.len() >= b0 && head_checksum(&head[0..40], &head[k0..m0], &head[m0..b0]) == h.head_sum
}

pub fn body_checksum(body: &[u8]) -> u64 {
    xxh3_64(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_padding() {
        let v = Version { timestamp_us: 123, tiebreak: 9 };
        let len = record_len(3, 2, 5) as usize;
        assert_eq!(len, 64); // 48 + 10 -> 58 -> 64
        let mut buf = vec![0xAAu8; len];
        let h = encode(&mut buf, Kind::Object, b"abc", b"mm", b"hello", v);
        let p = parse_header(&buf).unwrap();
        assert_eq!(p, h);
        assert!(verify_head(&p, &buf));
        assert_eq!(&buf[53..58], b"hello");
        assert!(buf[58..].iter().all(|&b| b == 0));
        assert_eq!(body_checksum(b"hello"), p.body_sum);
    }

    #[test]
    fn every_single_bit_flip_in_the_head_is_detected() {
        let v = Version { timestamp_us: 1, tiebreak: 1 };
        let len = record_len(4, 3, 0) as usize;
        let mut buf = vec![0u8; len];
        encode(&mut buf, Kind::Tombstone, b"key1", b"abc", b"", v);
        let head_end = HEADER_LEN + 7;
        for bit in 0..head_end * 8 {
            let mut b = buf.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            let ok = match parse_header(&b) {
                Ok(h) => verify_head(&h, &b),
                Err(_) => false,
            };
            assert!(!ok, "bit {bit} flip undetected");
        }
    }

    #[test]
    fn zero_means_end() {
        assert_eq!(parse_header(&[0u8; 48]), Err(HeaderError::Zero));
        assert_eq!(parse_header(&[0u8; 10]), Err(HeaderError::Short));
    }
}

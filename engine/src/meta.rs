//! Object metadata stored in a record's metadata section (docs/format.md, "Object
//! metadata"). The engine stores what HEAD and GET must return; it does not interpret
//! HTTP semantics beyond knowing which header is which.

use crate::error::{Error, Result};

const META_VERSION: u8 = 1;

/// Stored checksum algorithms (tag 12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChecksumAlgo {
    Crc32 = 1,
    Crc32c = 2,
    Crc64Nvme = 3,
    Sha1 = 4,
    Sha256 = 5,
}

impl ChecksumAlgo {
    fn from_u8(b: u8) -> Option<ChecksumAlgo> {
        Some(match b {
            1 => ChecksumAlgo::Crc32,
            2 => ChecksumAlgo::Crc32c,
            3 => ChecksumAlgo::Crc64Nvme,
            4 => ChecksumAlgo::Sha1,
            5 => ChecksumAlgo::Sha256,
            _ => return None,
        })
    }
}

/// Well-known stored headers, one tag each (tags 4..=9).
pub const STD_HEADERS: [&str; 6] =
    ["content-type", "content-encoding", "content-disposition", "content-language", "cache-control", "expires"];

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Logical object size (for a large object, the sum of its chunks).
    pub size: u64,
    pub md5: [u8; 16],
    /// Multipart part count; 0 for a single PUT.
    pub parts: u32,
    /// Stored headers as (lowercase name, value): the six standard ones and any other.
    pub headers: Vec<(String, String)>,
    /// User metadata as (lowercase name without `x-amz-meta-`, value).
    pub user: Vec<(String, String)>,
    pub checksum: Option<(ChecksumAlgo, Vec<u8>)>,
    /// For a large object's manifest: (chunk size, chunk count).
    pub chunks: Option<(u32, u32)>,
}

impl ObjectMeta {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Encodes for a record whose body is `body_len` bytes.
    pub fn encode(&self, body_len: u64) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(64);
        out.push(META_VERSION);
        out.push(0);
        if self.size != body_len {
            field(&mut out, 1, &self.size.to_le_bytes())?;
        }
        field(&mut out, 2, &self.md5)?;
        if self.parts != 0 {
            field(&mut out, 3, &self.parts.to_le_bytes())?;
        }
        for (name, value) in &self.headers {
            match STD_HEADERS.iter().position(|h| h == name) {
                Some(i) => field(&mut out, 4 + i as u8, value.as_bytes())?,
                None => named(&mut out, 11, name, value)?,
            }
        }
        for (name, value) in &self.user {
            named(&mut out, 10, name, value)?;
        }
        if let Some((algo, v)) = &self.checksum {
            let mut b = vec![*algo as u8];
            b.extend_from_slice(v);
            field(&mut out, 12, &b)?;
        }
        if let Some((size, count)) = self.chunks {
            let mut b = size.to_le_bytes().to_vec();
            b.extend_from_slice(&count.to_le_bytes());
            field(&mut out, 13, &b)?;
        }
        if out.len() > crate::record::MAX_META_LEN {
            return Err(Error::Invalid(format!("metadata is {} bytes, limit {}", out.len(), crate::record::MAX_META_LEN)));
        }
        Ok(out)
    }

    pub fn decode(b: &[u8], body_len: u64) -> Result<ObjectMeta> {
        let bad = |why: &str| Error::Corrupt(format!("object metadata: {why}"));
        if b.len() < 2 || b[0] != META_VERSION {
            return Err(bad("unknown version"));
        }
        let mut m = ObjectMeta { size: body_len, ..Default::default() };
        let mut p = 2usize;
        while p < b.len() {
            if b.len() - p < 3 {
                return Err(bad("truncated field"));
            }
            let tag = b[p];
            let len = u16::from_le_bytes([b[p + 1], b[p + 2]]) as usize;
            p += 3;
            let v = b.get(p..p + len).ok_or_else(|| bad("field overruns"))?;
            p += len;
            let text = || String::from_utf8(v.to_vec()).map_err(|_| bad("text is not UTF-8"));
            match tag {
                1 => m.size = u64::from_le_bytes(v.try_into().map_err(|_| bad("size"))?),
                2 => m.md5 = v.try_into().map_err(|_| bad("md5"))?,
                3 => m.parts = u32::from_le_bytes(v.try_into().map_err(|_| bad("parts"))?),
                4..=9 => m.headers.push((STD_HEADERS[(tag - 4) as usize].to_string(), text()?)),
                10 | 11 => {
                    let (&n, rest) = v.split_first().ok_or_else(|| bad("named field"))?;
                    let name = rest.get(..n as usize).ok_or_else(|| bad("name overruns"))?;
                    let value = &rest[n as usize..];
                    let name = String::from_utf8(name.to_vec()).map_err(|_| bad("name not UTF-8"))?;
                    let value = String::from_utf8(value.to_vec()).map_err(|_| bad("value not UTF-8"))?;
                    if tag == 10 { m.user.push((name, value)) } else { m.headers.push((name, value)) }
                }
                12 => {
                    let (&a, rest) = v.split_first().ok_or_else(|| bad("checksum"))?;
                    let algo = ChecksumAlgo::from_u8(a).ok_or_else(|| bad("checksum algorithm"))?;
                    m.checksum = Some((algo, rest.to_vec()));
                }
                13 => {
                    if v.len() != 8 {
                        return Err(bad("manifest"));
                    }
                    m.chunks = Some((u32::from_le_bytes([v[0], v[1], v[2], v[3]]), u32::from_le_bytes([v[4], v[5], v[6], v[7]])));
                }
                t if t >= 128 => return Err(bad("unknown mandatory field")),
                _ => {} // unknown optional field from a newer writer
            }
        }
        Ok(m)
    }
}

fn field(out: &mut Vec<u8>, tag: u8, v: &[u8]) -> Result<()> {
    let len = u16::try_from(v.len()).map_err(|_| Error::Invalid(format!("metadata field {tag} over 64 KiB")))?;
    out.push(tag);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(v);
    Ok(())
}

fn named(out: &mut Vec<u8>, tag: u8, name: &str, value: &str) -> Result<()> {
    let n = u8::try_from(name.len()).map_err(|_| Error::Invalid(format!("metadata name over 255 bytes: {name}")))?;
    let mut v = Vec::with_capacity(1 + name.len() + value.len());
    v.push(n);
    v.extend_from_slice(name.as_bytes());
    v.extend_from_slice(value.as_bytes());
    field(out, tag, &v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_everything() {
        let m = ObjectMeta {
            size: 5 << 30,
            md5: [7; 16],
            parts: 3,
            headers: vec![("content-type".into(), "text/plain".into()), ("x-amz-website-redirect-location".into(), "/a".into())],
            user: vec![("名前".into(), "värde ✓".into())],
            checksum: Some((ChecksumAlgo::Crc32c, vec![1, 2, 3, 4])),
            chunks: Some((5 << 20, 1024)),
        };
        let b = m.encode(0).unwrap();
        assert_eq!(ObjectMeta::decode(&b, 0).unwrap(), m);
    }

    #[test]
    fn small_object_meta_is_compact() {
        let m = ObjectMeta {
            size: 1024,
            md5: [1; 16],
            headers: vec![("content-type".into(), "application/octet-stream".into())],
            ..Default::default()
        };
        // 2 + 19 (md5) + 27 (content-type): small objects stay within the 15% overhead goal.
        assert_eq!(m.encode(1024).unwrap().len(), 48);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut seed = 0x1234_5678_u64;
        for _ in 0..5000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            let mut b: Vec<u8> = (0..len).map(|i| (seed >> (i % 56)) as u8).collect();
            if !b.is_empty() {
                b[0] = 1;
            }
            let _ = ObjectMeta::decode(&b, 10);
        }
    }
}

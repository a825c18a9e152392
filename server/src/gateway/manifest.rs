//! The persisted shapes of multipart uploads (docs/format.md, "Multipart upload records"):
//! reserved engine keys for upload state and parts, the upload-state body, the manifest
//! body of a completed multipart object or of a chunked single PUT ("Chunked single PUT"),
//! and the stream that reads a manifest's pieces in order.
//!
//! Reserved keys start with `bucket` + `\0`: object keys start with `bucket/`, so no
//! listing of a bucket (prefix `bucket/`) ever sees them, and no S3 key can name them.

use crate::backend::Backend;
use crate::shard::{BodyStream, OwnedChunk};
use leofs_engine::{ChecksumAlgo as StoredAlgo, Error};
use std::rc::Rc;
use xxhash_rust::xxh3::xxh3_64;

const UPLOAD_MAGIC: &[u8; 4] = b"LFUP";
const MANIFEST_MAGIC: &[u8; 4] = b"LFMF";
const VERSION: u16 = 1;
/// Bytes of one manifest part entry: number u32, reserved u32, size u64, md5 [16].
const PART_ENTRY: usize = 32;
/// Manifest flag: the pieces are chunks (of a single PUT, or of one large part), not
/// multipart parts.
const FLAG_CHUNKED: u32 = 1;
/// Manifest flag (with [`FLAG_CHUNKED`]): the pieces are the chunks of one large part; the
/// id field is the upload id followed by the part-put-id.
const FLAG_PART_CHUNKS: u32 = 2;
/// Length of an upload id, a put id and a part-put-id (32 hex digits).
const ID_LEN: usize = 32;

/// `bucket \0 mpu/`: the prefix of every upload of a bucket.
pub fn uploads_prefix(bucket: &str) -> Vec<u8> {
    let mut k = bucket.as_bytes().to_vec();
    k.extend_from_slice(b"\0mpu/");
    k
}

/// The upload-state key: `bucket \0 mpu/ key \0 upload-id`.
pub fn upload_key(bucket: &str, key: &str, id: &str) -> Vec<u8> {
    let mut k = uploads_prefix(bucket);
    k.extend_from_slice(key.as_bytes());
    k.push(0);
    k.extend_from_slice(id.as_bytes());
    k
}

/// The prefix of an upload's part keys: the state key + `\0part\0`.
pub fn parts_prefix(bucket: &str, key: &str, id: &str) -> Vec<u8> {
    let mut k = upload_key(bucket, key, id);
    k.extend_from_slice(b"\0part\0");
    k
}

/// Everything an upload owns besides its state (its parts and part chunks): the state key
/// + `\0`. Upload ids have a fixed length, so no other upload's keys share this prefix.
pub fn upload_pieces_prefix(bucket: &str, key: &str, id: &str) -> Vec<u8> {
    let mut k = upload_key(bucket, key, id);
    k.push(0);
    k
}

/// The prefix of every part chunk of an upload: the state key + `\0pchunk\0`.
pub fn pchunks_prefix(bucket: &str, key: &str, id: &str) -> Vec<u8> {
    let mut k = upload_key(bucket, key, id);
    k.extend_from_slice(b"\0pchunk\0");
    k
}

/// The prefix of the chunks of one upload of a large part: [`pchunks_prefix`] +
/// part-put-id + `\0`; chunk `n` adds `n` as 5 digits.
pub fn part_chunks_prefix(bucket: &str, key: &str, id: &str, put_id: &str) -> Vec<u8> {
    let mut k = pchunks_prefix(bucket, key, id);
    k.extend_from_slice(put_id.as_bytes());
    k.push(0);
    k
}

/// A part's key: the parts prefix + the part number as 5 decimal digits (so that key
/// order is part order).
pub fn part_key(bucket: &str, key: &str, id: &str, n: u32) -> Vec<u8> {
    let mut k = parts_prefix(bucket, key, id);
    k.extend_from_slice(format!("{n:05}").as_bytes());
    k
}

/// `bucket \0 chunk/ key \0 put-id \0`: the prefix of the chunk keys of one chunked PUT.
pub fn chunks_prefix(bucket: &str, key: &str, id: &str) -> Vec<u8> {
    let mut k = bucket.as_bytes().to_vec();
    k.extend_from_slice(b"\0chunk/");
    k.extend_from_slice(key.as_bytes());
    k.push(0);
    k.extend_from_slice(id.as_bytes());
    k.push(0);
    k
}

/// The key of chunk `n` (from 1) of a chunked PUT: the chunks prefix + `n` as 5 digits.
pub fn chunk_key(bucket: &str, key: &str, id: &str, n: u32) -> Vec<u8> {
    let mut k = chunks_prefix(bucket, key, id);
    k.extend_from_slice(format!("{n:05}").as_bytes());
    k
}

/// An upload id is 32 lowercase hex digits; anything else names no upload (and must never
/// reach a key, where a `\0` would forge another key).
pub fn valid_upload_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn algo_byte(a: Option<StoredAlgo>) -> u8 {
    a.map_or(0, |a| a as u8)
}

fn algo_of(b: u8) -> Result<Option<StoredAlgo>, Error> {
    Ok(Some(match b {
        0 => return Ok(None),
        1 => StoredAlgo::Crc32,
        2 => StoredAlgo::Crc32c,
        3 => StoredAlgo::Crc64Nvme,
        4 => StoredAlgo::Sha1,
        5 => StoredAlgo::Sha256,
        _ => return Err(corrupt("unknown checksum algorithm")),
    }))
}

fn corrupt(why: &str) -> Error {
    Error::Corrupt(format!("multipart record: {why}"))
}

fn seal(mut b: Vec<u8>) -> Vec<u8> {
    let h = xxh3_64(&b);
    b.extend_from_slice(&h.to_le_bytes());
    b
}

/// Checks magic, version and trailing checksum; returns the bytes after magic+version.
fn unseal<'a>(b: &'a [u8], magic: &[u8; 4]) -> Result<&'a [u8], Error> {
    if b.len() < 14 || &b[..4] != magic {
        return Err(corrupt("bad magic or length"));
    }
    let (data, sum) = b.split_at(b.len() - 8);
    if xxh3_64(data).to_le_bytes() != sum {
        return Err(corrupt("checksum mismatch"));
    }
    if u16::from_le_bytes([b[4], b[5]]) != VERSION {
        return Err(corrupt("unknown version"));
    }
    Ok(&data[6..])
}

/// The body of an upload-state record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadState {
    pub algo: Option<StoredAlgo>,
    pub initiator: String,
}

impl UploadState {
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(24 + self.initiator.len());
        b.extend_from_slice(UPLOAD_MAGIC);
        b.extend_from_slice(&VERSION.to_le_bytes());
        b.push(algo_byte(self.algo));
        b.push(0);
        b.extend_from_slice(&(self.initiator.len() as u16).to_le_bytes());
        b.extend_from_slice(self.initiator.as_bytes());
        seal(b)
    }

    pub fn decode(b: &[u8]) -> Result<UploadState, Error> {
        let d = unseal(b, UPLOAD_MAGIC)?;
        if d.len() < 4 {
            return Err(corrupt("short upload state"));
        }
        let algo = algo_of(d[0])?;
        let n = u16::from_le_bytes([d[2], d[3]]) as usize;
        let name = d.get(4..4 + n).filter(|_| d.len() == 4 + n).ok_or_else(|| corrupt("initiator length"))?;
        let initiator = String::from_utf8(name.to_vec()).map_err(|_| corrupt("initiator not UTF-8"))?;
        Ok(UploadState { algo, initiator })
    }
}

/// One part of a completed object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManifestPart {
    pub number: u32,
    pub size: u64,
    pub md5: [u8; 16],
}

/// The body of a manifest record: which upload's parts (or which PUT's chunks) make up the
/// object, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The multipart upload id, or the put id of a chunked single PUT.
    pub upload_id: String,
    pub parts: Vec<ManifestPart>,
    /// The pieces are chunks (keys from [`chunk_key`], or from [`part_chunks_prefix`] when
    /// `part_of` is set; MD5s zero).
    pub chunked: bool,
    /// The pieces are the chunks of one large part of this upload id; `upload_id` is then
    /// the part-put-id.
    pub part_of: Option<String>,
}

impl Manifest {
    pub fn total(&self) -> u64 {
        self.parts.iter().map(|p| p.size).sum()
    }

    /// The engine key of piece `number`: a part key, or a chunk key.
    pub fn piece_key(&self, bucket: &str, key: &str, number: u32) -> Vec<u8> {
        if let Some(upload) = &self.part_of {
            let mut k = part_chunks_prefix(bucket, key, upload, &self.upload_id);
            k.extend_from_slice(format!("{number:05}").as_bytes());
            k
        } else if self.chunked {
            chunk_key(bucket, key, &self.upload_id, number)
        } else {
            part_key(bucket, key, &self.upload_id, number)
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let id = match &self.part_of {
            Some(upload) => format!("{upload}{}", self.upload_id),
            None => self.upload_id.clone(),
        };
        let flags = match (self.chunked, &self.part_of) {
            (_, Some(_)) => FLAG_CHUNKED | FLAG_PART_CHUNKS,
            (true, None) => FLAG_CHUNKED,
            (false, None) => 0,
        };
        let mut b = Vec::with_capacity(32 + id.len() + self.parts.len() * PART_ENTRY);
        b.extend_from_slice(MANIFEST_MAGIC);
        b.extend_from_slice(&VERSION.to_le_bytes());
        b.extend_from_slice(&(id.len() as u16).to_le_bytes());
        b.extend_from_slice(&(self.parts.len() as u32).to_le_bytes());
        b.extend_from_slice(&flags.to_le_bytes());
        b.extend_from_slice(&self.total().to_le_bytes());
        b.extend_from_slice(id.as_bytes());
        for p in &self.parts {
            b.extend_from_slice(&p.number.to_le_bytes());
            b.extend_from_slice(&0u32.to_le_bytes());
            b.extend_from_slice(&p.size.to_le_bytes());
            b.extend_from_slice(&p.md5);
        }
        seal(b)
    }

    pub fn decode(b: &[u8]) -> Result<Manifest, Error> {
        let d = unseal(b, MANIFEST_MAGIC)?;
        if d.len() < 18 {
            return Err(corrupt("short manifest"));
        }
        let u = u16::from_le_bytes([d[0], d[1]]) as usize;
        let n = u32::from_le_bytes(d[2..6].try_into().map_err(|_| corrupt("count"))?) as usize;
        let flags = u32::from_le_bytes(d[6..10].try_into().map_err(|_| corrupt("flags"))?);
        if flags & !(FLAG_CHUNKED | FLAG_PART_CHUNKS) != 0 || flags == FLAG_PART_CHUNKS {
            return Err(corrupt("unknown manifest flags"));
        }
        let total = u64::from_le_bytes(d[10..18].try_into().map_err(|_| corrupt("total"))?);
        let rest = &d[18..];
        if rest.len() != u + n * PART_ENTRY {
            return Err(corrupt("manifest length"));
        }
        let mut upload_id = String::from_utf8(rest[..u].to_vec()).map_err(|_| corrupt("upload id"))?;
        let part_of = if flags & FLAG_PART_CHUNKS != 0 {
            if u != 2 * ID_LEN || !upload_id.is_ascii() || !valid_upload_id(&upload_id[..ID_LEN]) || !valid_upload_id(&upload_id[ID_LEN..]) {
                return Err(corrupt("part manifest ids"));
            }
            let put_id = upload_id.split_off(ID_LEN);
            Some(std::mem::replace(&mut upload_id, put_id))
        } else {
            None
        };
        let parts = rest[u..]
            .chunks_exact(PART_ENTRY)
            .map(|e| {
                let mut md5 = [0u8; 16];
                md5.copy_from_slice(&e[16..32]);
                let number = u32::from_le_bytes([e[0], e[1], e[2], e[3]]);
                let size = u64::from_le_bytes([e[8], e[9], e[10], e[11], e[12], e[13], e[14], e[15]]);
                ManifestPart { number, size, md5 }
            })
            .collect();
        let m = Manifest { upload_id, parts, chunked: flags & FLAG_CHUNKED != 0, part_of };
        if m.total() != total {
            return Err(corrupt("manifest total"));
        }
        Ok(m)
    }
}

/// Reads a small record body whole (manifests and upload states).
pub async fn read_all(body: &mut BodyStream) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    while let Some(c) = body.next().await? {
        out.extend_from_slice(&c.buf.as_slice()[c.start..c.end]);
    }
    Ok(out)
}

/// Read buffers (1 MiB each) a piece's fetch task may queue ahead of the response writer
/// when it reads the piece from this core's shard. A piece on another core comes as that
/// core's stream, which already reads a little ahead (see `shard::serve`).
const FETCH_QUEUE: usize = 2;
/// A cluster gateway fetches a piece whole: it opens the next one ahead only up to this size.
const AHEAD_WHOLE_MAX: u64 = 16 << 20;

/// What a fetch task hands over: bytes it read, or the piece's stream as opened when that
/// stream reads ahead by itself.
enum Fetched {
    Bytes(OwnedChunk),
    Stream(Box<BodyStream>),
}

/// A piece being fetched by its own task: the task opens the piece's record on its owning
/// shard (or node) and checks its size; a local record it reads ahead into a small bounded
/// channel, clipped to the wanted range. Dropping the receiver stops the task at its next
/// send.
struct Fetch {
    rx: leofs_rt::sync::cross::Receiver<Result<Fetched, Error>>,
    stream: Option<Box<BodyStream>>,
    /// Bytes still expected: a piece that ends early is an error, never a short object.
    left: u64,
}

impl Fetch {
    fn start(shards: Backend, names: Rc<(String, String)>, key: Vec<u8>, size: u64, (s, e): (u64, u64)) -> Fetch {
        let (tx, rx) = leofs_rt::sync::cross::bounded(FETCH_QUEUE);
        leofs_rt::task::spawn(async move {
            let run = async {
                let got = shards.get(key).await?.ok_or_else(|| corrupt("a piece of a manifest object is missing"))?;
                if got.meta.size != size {
                    return Err(corrupt("a piece's size differs from its manifest"));
                }
                let mut body = got.body;
                if got.meta.chunks.is_some() {
                    // A large part: its record is a part manifest; its bytes are in its chunks.
                    let m = Manifest::decode(&read_all(&mut body).await?)?;
                    if m.part_of.is_none() || m.total() != size {
                        return Err(corrupt("a part manifest does not match its part"));
                    }
                    let mut parts = PartStream::with_names(shards.clone(), names, &m);
                    parts.set_range(s, e);
                    let _ = tx.send_async(Ok(Fetched::Stream(Box::new(BodyStream::Parts(Box::new(parts)))))).await;
                    return Ok(());
                }
                body.set_range(s, e);
                if !matches!(body, BodyStream::Local(_)) {
                    let _ = tx.send_async(Ok(Fetched::Stream(Box::new(body)))).await;
                    return Ok(());
                }
                while let Some(c) = body.next().await? {
                    if tx.send_async(Ok(Fetched::Bytes(c))).await.is_err() {
                        break; // the reader is gone
                    }
                }
                Ok(())
            };
            if let Err(e) = run.await {
                let _ = tx.send_async(Err(e)).await;
            }
        });
        Fetch { rx, stream: None, left: e - s }
    }

    /// The piece's next bytes; `None` at its end.
    async fn next(&mut self) -> Result<Option<OwnedChunk>, Error> {
        loop {
            let c = match &mut self.stream {
                // Boxed: a piece's stream is a BodyStream, whose `next` may call this one.
                Some(st) => Box::pin(st.next()).await?,
                None => match self.rx.recv_async().await {
                    Ok(Ok(Fetched::Bytes(c))) => Some(c),
                    Ok(Ok(Fetched::Stream(st))) => {
                        self.stream = Some(st);
                        continue;
                    }
                    Ok(Err(e)) => return Err(e),
                    Err(_) => None,
                },
            };
            let Some(c) = c else {
                if self.left != 0 {
                    return Err(corrupt("a piece ended early"));
                }
                return Ok(None);
            };
            let n = (c.end - c.start) as u64;
            if n > self.left {
                return Err(corrupt("a piece is longer than its manifest says"));
            }
            self.left -= n;
            if n > 0 {
                return Ok(Some(c));
            }
        }
    }
}

/// A manifest object's bytes: the pieces (multipart parts, or the chunks of a large single
/// PUT) that hold the wanted range, in order, each read through its owning shard by a
/// [`Fetch`] task. While one piece streams, the next one is already being fetched, so a
/// piece boundary costs no round trip; read-ahead is bounded by two pieces' queues (a few
/// MiB), never a whole object. A Range reads only the pieces it overlaps.
pub struct PartStream {
    shards: Backend,
    /// The object's bucket and key: a large part's chunk keys derive from them.
    names: Rc<(String, String)>,
    /// (piece key, piece size) in object order.
    parts: Vec<(Vec<u8>, u64)>,
    /// Object bytes `[start, end)` to send.
    range: (u64, u64),
    /// Object offset where the next unopened piece begins, and its index.
    next_part: (u64, usize),
    cur: Option<Fetch>,
    ahead: Option<Fetch>,
}

impl PartStream {
    pub fn new(shards: Backend, bucket: &str, key: &str, m: &Manifest) -> PartStream {
        PartStream::with_names(shards, Rc::new((bucket.to_string(), key.to_string())), m)
    }

    fn with_names(shards: Backend, names: Rc<(String, String)>, m: &Manifest) -> PartStream {
        let parts = m.parts.iter().map(|p| (m.piece_key(&names.0, &names.1, p.number), p.size)).collect();
        PartStream { shards, names, parts, range: (0, m.total()), next_part: (0, 0), cur: None, ahead: None }
    }

    /// Restricts the stream to object bytes `[start, end)`; only before the first `next`.
    pub fn set_range(&mut self, start: u64, end: u64) {
        self.range = (start, end);
    }

    /// Starts fetching the next piece that overlaps the range; `None` past it. `ahead`:
    /// a read-ahead, skipped for a piece a cluster gateway would have to hold whole and
    /// that is too large for that.
    fn open_next(&mut self, ahead: bool) -> Option<Fetch> {
        loop {
            let (off, i) = self.next_part;
            let (k, size) = self.parts.get(i)?;
            let (ps, pe) = (off, off + size);
            if ps >= self.range.1 {
                return None;
            }
            let (s, e) = (self.range.0.max(ps), self.range.1.min(pe));
            if s >= e {
                self.next_part = (pe, i + 1);
                continue;
            }
            if ahead && !matches!(self.shards, Backend::Local(_)) && *size > AHEAD_WHOLE_MAX {
                return None;
            }
            self.next_part = (pe, i + 1);
            return Some(Fetch::start(self.shards.clone(), self.names.clone(), k.clone(), *size, (s - ps, e - ps)));
        }
    }

    pub async fn next(&mut self) -> Result<Option<OwnedChunk>, Error> {
        loop {
            if self.cur.is_none() {
                self.cur = match self.ahead.take() {
                    Some(f) => Some(f),
                    None => self.open_next(false),
                };
                if self.cur.is_none() {
                    return Ok(None);
                }
            }
            if self.ahead.is_none() {
                self.ahead = self.open_next(true);
            }
            let Some(cur) = &mut self.cur else { continue };
            match cur.next().await? {
                Some(c) => return Ok(Some(c)),
                None => self.cur = None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrips_and_rejects_damage() {
        let u = UploadState { algo: Some(StoredAlgo::Crc32), initiator: "root".into() };
        assert_eq!(UploadState::decode(&u.encode()).unwrap(), u);
        let mut m = Manifest { upload_id: "ab".repeat(16), parts: vec![ManifestPart { number: 1, size: 5, md5: [1; 16] }, ManifestPart { number: 3, size: 7, md5: [2; 16] }], chunked: false, part_of: None };
        let b = m.encode();
        assert_eq!(Manifest::decode(&b).unwrap(), m);
        m.chunked = true;
        let c = m.encode();
        assert_eq!(Manifest::decode(&c).unwrap(), m);
        assert_eq!(c[12..16], [1, 0, 0, 0]);
        assert_eq!(m.piece_key("b", "k", 2), b"b\0chunk/k\0abababababababababababababababab\x0000002".to_vec());
        let mut x = c.clone();
        x[13] = 1; // an unknown flag
        let h = xxh3_64(&x[..x.len() - 8]).to_le_bytes();
        let at = x.len() - 8;
        x[at..].copy_from_slice(&h);
        assert!(Manifest::decode(&x).is_err());
        for i in 0..b.len() {
            let mut x = b.clone();
            x[i] ^= 1;
            assert!(Manifest::decode(&x).is_err(), "flip at {i}");
        }
        assert!(Manifest::decode(&b[..b.len() - 1]).is_err());
        // A large part's manifest: both ids in its id field, chunk keys under the upload.
        let p = Manifest { upload_id: "cd".repeat(16), parts: m.parts.clone(), chunked: true, part_of: Some("ab".repeat(16)) };
        let e = p.encode();
        assert_eq!(e[12..16], [3, 0, 0, 0]);
        assert_eq!(&e[24..88], format!("{}{}", "ab".repeat(16), "cd".repeat(16)).as_bytes());
        assert_eq!(Manifest::decode(&e).unwrap(), p);
        let mut want = part_chunks_prefix("b", "k", &"ab".repeat(16), &"cd".repeat(16));
        want.extend_from_slice(b"00002");
        assert_eq!(p.piece_key("b", "k", 2), want);
        assert!(want.starts_with(&upload_pieces_prefix("b", "k", &"ab".repeat(16))));
        assert!(!want.starts_with(&parts_prefix("b", "k", &"ab".repeat(16))));
        // Flag 2 alone, or a part manifest whose id field is not two ids, is refused.
        for (flags, id) in [(2u32, "ab".repeat(32)), (3, "ab".repeat(16)), (3, "xy".repeat(32))] {
            let mut x = e.clone();
            x.truncate(24);
            x[6..8].copy_from_slice(&(id.len() as u16).to_le_bytes());
            x[12..16].copy_from_slice(&flags.to_le_bytes());
            x.extend_from_slice(id.as_bytes());
            x.extend_from_slice(&e[88..e.len() - 8]);
            let h = xxh3_64(&x).to_le_bytes();
            x.extend_from_slice(&h);
            assert!(Manifest::decode(&x).is_err(), "flags {flags} id {id}");
        }
    }

    #[test]
    fn keys() {
        assert!(valid_upload_id(&"0a".repeat(16)));
        assert!(!valid_upload_id("0A"));
        assert!(!valid_upload_id(&format!("{}\0", "0".repeat(31))));
        assert_eq!(part_key("b", "k", "id", 7), b"b\0mpu/k\0id\0part\x0000007".to_vec());
        assert!(!upload_key("b", "k", "id").starts_with(b"b/"));
        assert_eq!(chunk_key("b", "k", "id", 12), b"b\0chunk/k\0id\x0000012".to_vec());
        assert!(!chunk_key("b", "k", "id", 1).starts_with(&uploads_prefix("b")));
    }
}

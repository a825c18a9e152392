//! The messages carried in frame bodies, and the little-endian primitives they are built
//! from. Layouts in `docs/format.md`, "Inter-node RPC frames".
//!
//! Plain messages (`WriteResp`, `ReadReq`, `ListReq`, `ListResp`) are the whole body:
//! `encode(&self, out)` appends it, `decode(body)` reads it and rejects trailing bytes.
//!
//! Object-carrying messages (`WriteReq`, `ReadResp` with status `Ok`) start the body with
//! a u32 `fields_len`, then that many bytes of fields, then the object bytes up to the end
//! of the body. `encode_fields` gives the prefix and the fields (the sender writes the
//! head, them, then the object from wherever it lies); `decode_fields` reads the fields
//! *after* the prefix, so a reader can read 4 bytes, then the fields, then the object
//! straight into its own buffer. [`split_body`] and `decode_body` do the same over a body
//! already in memory.
//!
//! Decoders check every length against the input before using it, so no input makes them
//! allocate more than it holds, and they never panic. Encoders trust their input (keys
//! within [`MAX_KEY_LEN`] and so on): what they write from a bad value is rejected by the
//! decoder on the other side.

use super::frame::RpcError;

/// Longest key (in a write, a read, a listing entry, a list prefix or start key).
///
/// The keys are storage-engine keys (`bucket/key`, multipart part keys), so this is the
/// engine's record limit, not S3's 1024-byte object-key limit: an S3 key of 1024 bytes
/// in a 63-byte bucket is a 1088-byte engine key.
pub const MAX_KEY_LEN: usize = 4096;

/// Longest ETag in [`Cond::Matches`].
pub const MAX_ETAG_LEN: usize = 256;

/// Most entries in a [`ListResp`], and the largest [`ListReq::limit`].
pub const MAX_LIST_ENTRIES: u32 = 100_000;

/// Longest error message body [`error_body`] writes.
pub const MAX_ERROR_LEN: usize = 4096;

/// Largest `fields_len` of an object-carrying message: a key, an ETag and metadata fit
/// many times over, and a reader can hold this much before it sees the object.
pub const MAX_FIELDS_LEN: u32 = 1 << 20;

/// Encoded size of a [`Version`].
pub const VERSION_LEN: usize = 12;

/// Encoded size of an [`EntryInfo`].
pub const ENTRY_INFO_LEN: usize = 41;

// ---------------------------------------------------------------------------------------
// Primitives.

/// Appends little-endian fields to a buffer.
#[derive(Debug)]
pub struct Enc<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> Enc<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Enc<'a> {
        Enc { out }
    }

    pub fn u8(&mut self, v: u8) {
        self.out.push(v);
    }

    pub fn u16(&mut self, v: u16) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u64(&mut self, v: u64) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    /// Bytes as they are, no length.
    pub fn raw(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b);
    }

    /// A u16 length, then the bytes.
    ///
    /// # Panics
    /// If `b` is longer than `u16::MAX` bytes (a caller bug: every such field has a
    /// smaller limit).
    pub fn bytes16(&mut self, b: &[u8]) {
        let len = u16::try_from(b.len()).expect("bytes16 field longer than 65535 bytes");
        self.u16(len);
        self.raw(b);
    }

    /// A u32 length, then the bytes.
    ///
    /// # Panics
    /// If `b` is longer than `u32::MAX` bytes.
    pub fn bytes32(&mut self, b: &[u8]) {
        let len = u32::try_from(b.len()).expect("bytes32 field longer than 4 GiB");
        self.u32(len);
        self.raw(b);
    }
}

/// Reads little-endian fields from the front of a byte slice. Every getter names the
/// field it reads, which is what [`RpcError::Truncated`] reports when the input ends.
#[derive(Debug, Clone)]
pub struct Dec<'a> {
    rest: &'a [u8],
}

impl<'a> Dec<'a> {
    pub fn new(buf: &'a [u8]) -> Dec<'a> {
        Dec { rest: buf }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], RpcError> {
        if n > self.rest.len() {
            return Err(RpcError::Truncated(field));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], RpcError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, field)?);
        Ok(a)
    }

    pub fn u8(&mut self, field: &'static str) -> Result<u8, RpcError> {
        Ok(self.array::<1>(field)?[0])
    }

    pub fn u16(&mut self, field: &'static str) -> Result<u16, RpcError> {
        self.array(field).map(u16::from_le_bytes)
    }

    pub fn u32(&mut self, field: &'static str) -> Result<u32, RpcError> {
        self.array(field).map(u32::from_le_bytes)
    }

    pub fn u64(&mut self, field: &'static str) -> Result<u64, RpcError> {
        self.array(field).map(u64::from_le_bytes)
    }

    /// A u16 length, then that many bytes.
    pub fn bytes16(&mut self, field: &'static str) -> Result<&'a [u8], RpcError> {
        let len = self.u16(field)?;
        self.take(usize::from(len), field)
    }

    /// A u32 length, then that many bytes.
    pub fn bytes32(&mut self, field: &'static str) -> Result<&'a [u8], RpcError> {
        let len = self.u32(field)?;
        let len = usize::try_from(len).map_err(|_| RpcError::Truncated(field))?;
        self.take(len, field)
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.rest)
    }

    /// Ends decoding: an error if bytes remain.
    pub fn finish(self) -> Result<(), RpcError> {
        match self.rest.len() {
            0 => Ok(()),
            n => Err(RpcError::Invalid(format!("{n} trailing bytes"))),
        }
    }
}

/// A 0/1 byte.
fn read_bool(d: &mut Dec<'_>, field: &'static str) -> Result<bool, RpcError> {
    match d.u8(field)? {
        0 => Ok(false),
        1 => Ok(true),
        b => Err(RpcError::Invalid(format!("{field} is {b}, not 0 or 1"))),
    }
}

/// A flags byte with only the bits in `known` allowed.
fn read_flags(d: &mut Dec<'_>, known: u8, field: &'static str) -> Result<u8, RpcError> {
    let b = d.u8(field)?;
    if b & !known != 0 {
        return Err(RpcError::Invalid(format!("unknown {field} bits {b:#04x}")));
    }
    Ok(b)
}

/// A bytes16 key of 1..=[`MAX_KEY_LEN`] bytes.
fn read_key(d: &mut Dec<'_>, field: &'static str) -> Result<Vec<u8>, RpcError> {
    let k = read_bounded(d, field)?;
    if k.is_empty() {
        return Err(RpcError::Invalid(format!("empty {field}")));
    }
    Ok(k)
}

/// A bytes16 key-like field of 0..=[`MAX_KEY_LEN`] bytes (list prefix, start key).
fn read_bounded(d: &mut Dec<'_>, field: &'static str) -> Result<Vec<u8>, RpcError> {
    let k = d.bytes16(field)?;
    if k.len() > MAX_KEY_LEN {
        return Err(RpcError::Invalid(format!(
            "{field} of {} bytes exceeds {MAX_KEY_LEN}",
            k.len()
        )));
    }
    Ok(k.to_vec())
}

/// Encodes an object-carrying message: the u32 prefix, then what `fields` writes.
fn with_fields_len(fields: impl FnOnce(&mut Enc<'_>)) -> Vec<u8> {
    let mut out = vec![0u8; 4];
    fields(&mut Enc::new(&mut out));
    let len = u32::try_from(out.len() - 4).expect("fields longer than 4 GiB");
    out[..4].copy_from_slice(&len.to_le_bytes());
    out
}

/// The `fields_len` of an object-carrying body, from its first 4 bytes. Check it with
/// [`check_fields_len`] before reading that many bytes.
pub fn split_fields_len(first4: [u8; 4]) -> u32 {
    u32::from_le_bytes(first4)
}

/// Checks a `fields_len` against [`MAX_FIELDS_LEN`] and the frame's body length (the
/// prefix and the fields must fit in the body; the object is the rest).
pub fn check_fields_len(fields_len: u32, body_len: u64) -> Result<(), RpcError> {
    if fields_len > MAX_FIELDS_LEN {
        return Err(RpcError::Invalid(format!(
            "fields_len {fields_len} exceeds {MAX_FIELDS_LEN}"
        )));
    }
    if 4 + u64::from(fields_len) > body_len {
        return Err(RpcError::Truncated("fields"));
    }
    Ok(())
}

/// Splits an object-carrying body held in memory into its fields (after the u32 prefix)
/// and its object bytes.
pub fn split_body(body: &[u8]) -> Result<(&[u8], &[u8]), RpcError> {
    let mut d = Dec::new(body);
    let fields_len = split_fields_len(d.array("fields_len")?);
    check_fields_len(fields_len, body.len() as u64)?;
    let fields = d.take(fields_len as usize, "fields")?;
    Ok((fields, d.rest()))
}

// ---------------------------------------------------------------------------------------
// Shared pieces.

/// A write's version: last writer wins, by `(timestamp_us, tiebreak)`. 12 bytes:
/// timestamp u64 | tiebreak u32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Version {
    /// Microseconds since the Unix epoch.
    pub timestamp_us: u64,
    /// Orders equal timestamps (the writer's node/shard id).
    pub tiebreak: u32,
}

impl Version {
    pub fn write_to(&self, e: &mut Enc<'_>) {
        e.u64(self.timestamp_us);
        e.u32(self.tiebreak);
    }

    pub fn read_from(d: &mut Dec<'_>) -> Result<Version, RpcError> {
        Ok(Version {
            timestamp_us: d.u64("version.timestamp_us")?,
            tiebreak: d.u32("version.tiebreak")?,
        })
    }
}

/// What a [`WriteReq`] stores (the engine's record kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum WriteKind {
    /// A whole object (or a multipart manifest).
    Object = 0,
    /// A piece of a large object (a multipart part).
    Chunk = 1,
    /// A delete marker; the object body is empty.
    Tombstone = 2,
}

impl WriteKind {
    pub const ALL: [WriteKind; 3] = [WriteKind::Object, WriteKind::Chunk, WriteKind::Tombstone];
}

impl TryFrom<u8> for WriteKind {
    type Error = RpcError;

    fn try_from(b: u8) -> Result<WriteKind, RpcError> {
        WriteKind::ALL
            .get(usize::from(b))
            .copied()
            .ok_or_else(|| RpcError::Invalid(format!("unknown write kind {b}")))
    }
}

/// A write's precondition on the key's current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// Unconditional (tag 0).
    None,
    /// Only if the key does not exist (tag 1; `If-None-Match: *`).
    Absent,
    /// Only if the key's ETag is this one (tag 2, then the ETag as bytes16; `If-Match`).
    Matches(String),
}

impl Cond {
    pub fn write_to(&self, e: &mut Enc<'_>) {
        match self {
            Cond::None => e.u8(0),
            Cond::Absent => e.u8(1),
            Cond::Matches(etag) => {
                e.u8(2);
                e.bytes16(etag.as_bytes());
            }
        }
    }

    pub fn read_from(d: &mut Dec<'_>) -> Result<Cond, RpcError> {
        match d.u8("cond")? {
            0 => Ok(Cond::None),
            1 => Ok(Cond::Absent),
            2 => {
                let etag = d.bytes16("cond.etag")?;
                if etag.len() > MAX_ETAG_LEN {
                    return Err(RpcError::Invalid(format!(
                        "etag of {} bytes exceeds {MAX_ETAG_LEN}",
                        etag.len()
                    )));
                }
                let etag = std::str::from_utf8(etag)
                    .map_err(|_| RpcError::Invalid("etag is not UTF-8".into()))?;
                Ok(Cond::Matches(etag.to_owned()))
            }
            t => Err(RpcError::Invalid(format!("unknown cond tag {t}"))),
        }
    }
}

/// What a node holds for a key: 41 bytes, version (12) | size u64 | md5 (16) | parts u32
/// | tombstone u8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInfo {
    pub version: Version,
    /// Logical object size in bytes.
    pub size: u64,
    /// The object's MD5 (for multipart objects, the MD5 of the part MD5s).
    pub md5: [u8; 16],
    /// Multipart part count; 0 for a single-part object.
    pub parts: u32,
    pub tombstone: bool,
}

impl EntryInfo {
    pub fn write_to(&self, e: &mut Enc<'_>) {
        self.version.write_to(e);
        e.u64(self.size);
        e.raw(&self.md5);
        e.u32(self.parts);
        e.u8(u8::from(self.tombstone));
    }

    pub fn read_from(d: &mut Dec<'_>) -> Result<EntryInfo, RpcError> {
        Ok(EntryInfo {
            version: Version::read_from(d)?,
            size: d.u64("entry.size")?,
            md5: d.array("entry.md5")?,
            parts: d.u32("entry.parts")?,
            tombstone: read_bool(d, "entry.tombstone")?,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Op::Write.

const WRITE_COORDINATE: u8 = 0x01;
const WRITE_HAS_VERSION: u8 = 0x02;
const WRITE_REPAIR: u8 = 0x04;

/// `Op::Write` request. Object-carrying: the object bytes follow the fields (none for a
/// tombstone).
///
/// Fields: kind u8 | flags u8 (bit 0 coordinate, bit 1 has version) | cond | version (12
/// bytes, zero without one) | key bytes16 | meta bytes32.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteReq {
    pub kind: WriteKind,
    /// The receiver coordinates the write: it assigns the version (if none is given) and
    /// replicates to the key's other replicas. False for a replica write.
    pub coordinate: bool,
    /// A repair (hand-off, read-repair, recovery, scrub): applied over an equal version too,
    /// which replaces a copy found corrupt with a good one of the same version.
    pub repair: bool,
    pub cond: Cond,
    /// The version to store; `None` asks the coordinator to assign one.
    pub version: Option<Version>,
    pub key: Vec<u8>,
    /// The record's metadata section, opaque here.
    pub meta: Vec<u8>,
}

impl WriteReq {
    /// The u32 `fields_len` and the fields: the body up to the object bytes.
    pub fn encode_fields(&self) -> Vec<u8> {
        with_fields_len(|e| {
            e.u8(self.kind as u8);
            let mut flags = 0;
            if self.coordinate {
                flags |= WRITE_COORDINATE;
            }
            if self.version.is_some() {
                flags |= WRITE_HAS_VERSION;
            }
            if self.repair {
                flags |= WRITE_REPAIR;
            }
            e.u8(flags);
            self.cond.write_to(e);
            self.version.unwrap_or_default().write_to(e);
            e.bytes16(&self.key);
            e.bytes32(&self.meta);
        })
    }

    /// Decodes the fields (the `fields_len` bytes after the u32 prefix).
    pub fn decode_fields(fields: &[u8]) -> Result<WriteReq, RpcError> {
        let mut d = Dec::new(fields);
        let kind = WriteKind::try_from(d.u8("kind")?)?;
        let flags = read_flags(&mut d, WRITE_COORDINATE | WRITE_HAS_VERSION | WRITE_REPAIR, "write flags")?;
        let cond = Cond::read_from(&mut d)?;
        let version = Version::read_from(&mut d)?;
        let version = if flags & WRITE_HAS_VERSION != 0 {
            Some(version)
        } else if version == Version::default() {
            None
        } else {
            return Err(RpcError::Invalid(
                "version set without the has-version flag".into(),
            ));
        };
        let key = read_key(&mut d, "key")?;
        let meta = d.bytes32("meta")?.to_vec();
        d.finish()?;
        Ok(WriteReq {
            kind,
            coordinate: flags & WRITE_COORDINATE != 0,
            repair: flags & WRITE_REPAIR != 0,
            cond,
            version,
            key,
            meta,
        })
    }

    /// Decodes a whole body held in memory: the request and its object bytes. A
    /// tombstone's object must be empty.
    pub fn decode_body(body: &[u8]) -> Result<(WriteReq, &[u8]), RpcError> {
        let (fields, object) = split_body(body)?;
        let req = WriteReq::decode_fields(fields)?;
        if req.kind == WriteKind::Tombstone && !object.is_empty() {
            return Err(RpcError::Invalid("tombstone with an object body".into()));
        }
        Ok((req, object))
    }
}

const RESP_APPLIED: u8 = 0x01;
const RESP_EXISTED: u8 = 0x02;

/// `Op::Write` response with status `Ok`. 14 bytes: version (12) | flags u8 (bit 0
/// applied, bit 1 existed) | acks u8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteResp {
    /// The version written (assigned by the coordinator, or the request's).
    pub version: Version,
    /// False when the receiver already held a newer version: the write lost (last writer
    /// wins) and changed nothing.
    pub applied: bool,
    /// The key existed (not as a tombstone) before the write.
    pub existed: bool,
    /// Replicas that made the write durable, the receiver included.
    pub acks: u8,
}

impl WriteResp {
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut e = Enc::new(out);
        self.version.write_to(&mut e);
        let mut flags = 0;
        if self.applied {
            flags |= RESP_APPLIED;
        }
        if self.existed {
            flags |= RESP_EXISTED;
        }
        e.u8(flags);
        e.u8(self.acks);
    }

    pub fn decode(body: &[u8]) -> Result<WriteResp, RpcError> {
        let mut d = Dec::new(body);
        let version = Version::read_from(&mut d)?;
        let flags = read_flags(&mut d, RESP_APPLIED | RESP_EXISTED, "write response flags")?;
        let acks = d.u8("acks")?;
        d.finish()?;
        Ok(WriteResp {
            version,
            applied: flags & RESP_APPLIED != 0,
            existed: flags & RESP_EXISTED != 0,
            acks,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Op::Read.

const READ_META_ONLY: u8 = 0x01;

/// `Op::Read` request: key bytes16 | flags u8 (bit 0 meta only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadReq {
    pub key: Vec<u8>,
    /// Answer with the entry and metadata, without the object bytes (HEAD).
    pub meta_only: bool,
}

impl ReadReq {
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut e = Enc::new(out);
        e.bytes16(&self.key);
        e.u8(if self.meta_only { READ_META_ONLY } else { 0 });
    }

    pub fn decode(body: &[u8]) -> Result<ReadReq, RpcError> {
        let mut d = Dec::new(body);
        let key = read_key(&mut d, "key")?;
        let flags = read_flags(&mut d, READ_META_ONLY, "read flags")?;
        d.finish()?;
        Ok(ReadReq {
            key,
            meta_only: flags & READ_META_ONLY != 0,
        })
    }
}

/// `Op::Read` response with status `Ok`. Object-carrying: the object bytes follow the
/// fields (none when the request was meta only). `NotFound` has an error message body
/// instead.
///
/// Fields: EntryInfo (41) | meta bytes32.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResp {
    pub entry: EntryInfo,
    /// The record's metadata section, opaque here.
    pub meta: Vec<u8>,
}

impl ReadResp {
    /// The u32 `fields_len` and the fields: the body up to the object bytes.
    pub fn encode_fields(&self) -> Vec<u8> {
        with_fields_len(|e| {
            self.entry.write_to(e);
            e.bytes32(&self.meta);
        })
    }

    /// Decodes the fields (the `fields_len` bytes after the u32 prefix).
    pub fn decode_fields(fields: &[u8]) -> Result<ReadResp, RpcError> {
        let mut d = Dec::new(fields);
        let entry = EntryInfo::read_from(&mut d)?;
        let meta = d.bytes32("meta")?.to_vec();
        d.finish()?;
        Ok(ReadResp { entry, meta })
    }

    /// Decodes a whole body held in memory: the response and its object bytes.
    pub fn decode_body(body: &[u8]) -> Result<(ReadResp, &[u8]), RpcError> {
        let (fields, object) = split_body(body)?;
        Ok((ReadResp::decode_fields(fields)?, object))
    }
}

// ---------------------------------------------------------------------------------------
// Op::List.

const LIST_INCLUDE_TOMBSTONES: u8 = 0x01;

/// `Op::List` request: prefix bytes16 | start_after bytes16 | limit u32 | flags u8 (bit 0
/// include tombstones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListReq {
    pub prefix: Vec<u8>,
    /// List keys after this one (exclusive); empty to start at the prefix.
    pub start_after: Vec<u8>,
    /// Most entries to return, at most [`MAX_LIST_ENTRIES`].
    pub limit: u32,
    pub include_tombstones: bool,
}

impl ListReq {
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut e = Enc::new(out);
        e.bytes16(&self.prefix);
        e.bytes16(&self.start_after);
        e.u32(self.limit);
        e.u8(if self.include_tombstones {
            LIST_INCLUDE_TOMBSTONES
        } else {
            0
        });
    }

    pub fn decode(body: &[u8]) -> Result<ListReq, RpcError> {
        let mut d = Dec::new(body);
        let prefix = read_bounded(&mut d, "prefix")?;
        let start_after = read_bounded(&mut d, "start_after")?;
        let limit = d.u32("limit")?;
        if limit > MAX_LIST_ENTRIES {
            return Err(RpcError::Invalid(format!(
                "list limit {limit} exceeds {MAX_LIST_ENTRIES}"
            )));
        }
        let flags = read_flags(&mut d, LIST_INCLUDE_TOMBSTONES, "list flags")?;
        d.finish()?;
        Ok(ListReq {
            prefix,
            start_after,
            limit,
            include_tombstones: flags & LIST_INCLUDE_TOMBSTONES != 0,
        })
    }
}

/// `Op::List` response with status `Ok`: count u32 | count x (key bytes16 | EntryInfo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListResp {
    /// In key order.
    pub entries: Vec<(Vec<u8>, EntryInfo)>,
}

impl ListResp {
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut e = Enc::new(out);
        let count = u32::try_from(self.entries.len()).expect("more than 4G list entries");
        e.u32(count);
        for (key, info) in &self.entries {
            e.bytes16(key);
            info.write_to(&mut e);
        }
    }

    pub fn decode(body: &[u8]) -> Result<ListResp, RpcError> {
        let mut d = Dec::new(body);
        let count = d.u32("count")?;
        if count > MAX_LIST_ENTRIES {
            return Err(RpcError::Invalid(format!(
                "list count {count} exceeds {MAX_LIST_ENTRIES}"
            )));
        }
        // Never reserve more than the input can hold: an entry is at least 2 + 1 + 41
        // bytes.
        let fit = d.remaining() / (2 + 1 + ENTRY_INFO_LEN);
        let mut entries = Vec::with_capacity((count as usize).min(fit));
        for _ in 0..count {
            let key = read_key(&mut d, "entry.key")?;
            let info = EntryInfo::read_from(&mut d)?;
            entries.push((key, info));
        }
        d.finish()?;
        Ok(ListResp { entries })
    }
}

// ---------------------------------------------------------------------------------------
// Error responses.

/// The body of a response whose status is not `Ok`: `msg` as UTF-8, cut to
/// [`MAX_ERROR_LEN`] bytes at a character boundary.
pub fn error_body(msg: &str) -> Vec<u8> {
    let mut end = msg.len().min(MAX_ERROR_LEN);
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    msg.as_bytes()[..end].to_vec()
}

/// The message of an error response body (invalid UTF-8 replaced, never an error).
pub fn error_message(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn entry(ts: u64) -> EntryInfo {
        EntryInfo {
            version: Version {
                timestamp_us: ts,
                tiebreak: 7,
            },
            size: 11,
            md5: [0xab; 16],
            parts: 0,
            tombstone: false,
        }
    }

    fn write_req() -> WriteReq {
        WriteReq {
            kind: WriteKind::Object,
            coordinate: true,
            repair: false,
            cond: Cond::Matches("\"5eb63bbbe01eeed093cb22bb8f5acdc3\"".into()),
            version: Some(Version {
                timestamp_us: 1_700_000_000_000_000,
                tiebreak: 3,
            }),
            key: b"bucket/key".to_vec(),
            meta: b"\x01\x00\x04\x0a\x00text/plain".to_vec(),
        }
    }

    #[test]
    fn write_req_layout_matches_the_documented_one() {
        let req = WriteReq {
            kind: WriteKind::Chunk,
            coordinate: false,
            repair: false,
            cond: Cond::Absent,
            version: None,
            key: b"k".to_vec(),
            meta: vec![9],
        };
        let f = req.encode_fields();
        let mut want = vec![];
        want.extend_from_slice(&(f.len() as u32 - 4).to_le_bytes());
        want.extend_from_slice(&[1, 0, 1]); // kind, flags, cond
        want.extend_from_slice(&[0; 12]); // no version
        want.extend_from_slice(&[1, 0, b'k']);
        want.extend_from_slice(&[1, 0, 0, 0, 9]);
        assert_eq!(f, want);
        assert_eq!(split_fields_len(f[..4].try_into().unwrap()), 23);
        assert_eq!(WriteReq::decode_fields(&f[4..]), Ok(req));
    }

    #[test]
    fn fixed_sizes() {
        let mut out = vec![];
        entry(1).write_to(&mut Enc::new(&mut out));
        assert_eq!(out.len(), ENTRY_INFO_LEN);
        out.clear();
        Version::default().write_to(&mut Enc::new(&mut out));
        assert_eq!(out.len(), VERSION_LEN);
        out.clear();
        let resp = WriteResp {
            version: Version::default(),
            applied: true,
            existed: false,
            acks: 3,
        };
        resp.encode(&mut out);
        assert_eq!(out.len(), 14);
        assert_eq!(&out[12..], &[1, 3]);
    }

    #[test]
    fn object_bodies_split_into_fields_and_object() {
        let req = write_req();
        let fields = req.encode_fields();
        let mut body = fields.clone();
        body.extend_from_slice(b"hello world");
        assert_eq!(
            WriteReq::decode_body(&body),
            Ok((req.clone(), &b"hello world"[..]))
        );
        assert_eq!(split_body(&body), Ok((&fields[4..], &b"hello world"[..])));
        // The fields alone: an empty object.
        assert_eq!(WriteReq::decode_body(&fields), Ok((req.clone(), &b""[..])));
        // fields_len past the body, or past the limit.
        assert_eq!(
            split_body(&fields[..fields.len() - 1]),
            Err(RpcError::Truncated("fields"))
        );
        let mut huge = body.clone();
        huge[..4].copy_from_slice(&(MAX_FIELDS_LEN + 1).to_le_bytes());
        assert!(matches!(split_body(&huge), Err(RpcError::Invalid(_))));
        assert_eq!(check_fields_len(10, 14), Ok(()));
        assert_eq!(check_fields_len(10, 13), Err(RpcError::Truncated("fields")));
        assert_eq!(
            check_fields_len(u32::MAX, u64::MAX).unwrap_err().status(),
            crate::rpc::Status::Invalid
        );
        // A tombstone carries no object.
        let tomb = WriteReq {
            kind: WriteKind::Tombstone,
            ..req
        };
        let mut body = tomb.encode_fields();
        assert_eq!(WriteReq::decode_body(&body), Ok((tomb, &b""[..])));
        body.push(0);
        assert!(matches!(
            WriteReq::decode_body(&body),
            Err(RpcError::Invalid(_))
        ));

        let resp = ReadResp {
            entry: entry(5),
            meta: vec![1, 2, 3],
        };
        let mut body = resp.encode_fields();
        assert_eq!(body.len(), 4 + ENTRY_INFO_LEN + 4 + 3);
        body.extend_from_slice(b"obj");
        assert_eq!(ReadResp::decode_body(&body), Ok((resp, &b"obj"[..])));
    }

    #[test]
    fn limits_are_enforced() {
        let long_key = vec![b'k'; MAX_KEY_LEN + 1];
        let mut out = vec![];
        ReadReq {
            key: long_key.clone(),
            meta_only: false,
        }
        .encode(&mut out);
        assert!(matches!(ReadReq::decode(&out), Err(RpcError::Invalid(_))));
        out.clear();
        ReadReq {
            key: long_key[1..].to_vec(),
            meta_only: false,
        }
        .encode(&mut out);
        assert!(ReadReq::decode(&out).is_ok());
        out.clear();
        ReadReq {
            key: vec![],
            meta_only: false,
        }
        .encode(&mut out);
        assert!(matches!(ReadReq::decode(&out), Err(RpcError::Invalid(_))));

        let mut req = write_req();
        req.cond = Cond::Matches("e".repeat(MAX_ETAG_LEN + 1));
        assert!(matches!(
            WriteReq::decode_fields(&req.encode_fields()[4..]),
            Err(RpcError::Invalid(_))
        ));
        req.cond = Cond::Matches("e".repeat(MAX_ETAG_LEN));
        assert!(WriteReq::decode_fields(&req.encode_fields()[4..]).is_ok());

        // A count over the limit, and a count the input cannot hold (no huge allocation).
        assert!(matches!(
            ListResp::decode(&(MAX_LIST_ENTRIES + 1).to_le_bytes()),
            Err(RpcError::Invalid(_))
        ));
        assert_eq!(
            ListResp::decode(&MAX_LIST_ENTRIES.to_le_bytes()),
            Err(RpcError::Truncated("entry.key"))
        );
        out.clear();
        ListReq {
            prefix: vec![],
            start_after: vec![],
            limit: MAX_LIST_ENTRIES + 1,
            include_tombstones: false,
        }
        .encode(&mut out);
        assert!(matches!(ListReq::decode(&out), Err(RpcError::Invalid(_))));
    }

    #[test]
    fn non_canonical_bytes_are_rejected() {
        let fields = write_req().encode_fields();
        let f = &fields[4..];
        let bad = |i: usize, v: u8| {
            let mut b = f.to_vec();
            b[i] = v;
            WriteReq::decode_fields(&b)
        };
        assert!(matches!(bad(0, 3), Err(RpcError::Invalid(_)))); // kind
        assert!(matches!(bad(1, 8), Err(RpcError::Invalid(_)))); // flags
        assert!(matches!(bad(2, 3), Err(RpcError::Invalid(_)))); // cond tag
                                                                 // A version without the has-version flag.
        assert!(matches!(
            bad(1, WRITE_COORDINATE),
            Err(RpcError::Invalid(_))
        ));
        // Trailing bytes.
        let mut b = f.to_vec();
        b.push(0);
        assert!(matches!(
            WriteReq::decode_fields(&b),
            Err(RpcError::Invalid(_))
        ));
        // Not UTF-8.
        let mut req = write_req();
        req.cond = Cond::Matches("ab".into());
        let mut b = req.encode_fields()[4..].to_vec();
        b[5] = 0xff;
        assert!(matches!(
            WriteReq::decode_fields(&b),
            Err(RpcError::Invalid(_))
        ));
        // A tombstone byte other than 0/1.
        let mut out = vec![];
        ListResp {
            entries: vec![(b"k".to_vec(), entry(1))],
        }
        .encode(&mut out);
        *out.last_mut().unwrap() = 2;
        assert!(matches!(ListResp::decode(&out), Err(RpcError::Invalid(_))));
    }

    #[test]
    fn error_bodies_are_cut_at_a_char_boundary() {
        assert_eq!(error_body("no such key"), b"no such key");
        let long = "é".repeat(MAX_ERROR_LEN); // 2 bytes each
        let b = error_body(&long);
        assert_eq!(b.len(), MAX_ERROR_LEN);
        let odd = format!("x{long}");
        let b = error_body(&odd);
        assert_eq!(b.len(), MAX_ERROR_LEN - 1);
        assert!(std::str::from_utf8(&b).is_ok());
        assert_eq!(error_message(&b[..3]), "xé");
        assert_eq!(error_message(b"a\xffb"), "a\u{fffd}b");
    }

    // -- property tests -----------------------------------------------------------------

    fn any_version() -> impl Strategy<Value = Version> {
        (any::<u64>(), any::<u32>()).prop_map(|(timestamp_us, tiebreak)| Version {
            timestamp_us,
            tiebreak,
        })
    }

    fn any_entry() -> impl Strategy<Value = EntryInfo> {
        (
            any_version(),
            any::<u64>(),
            any::<[u8; 16]>(),
            any::<u32>(),
            any::<bool>(),
        )
            .prop_map(|(version, size, md5, parts, tombstone)| EntryInfo {
                version,
                size,
                md5,
                parts,
                tombstone,
            })
    }

    fn any_key() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            vec(any::<u8>(), 1..40),
            vec(any::<u8>(), MAX_KEY_LEN..=MAX_KEY_LEN)
        ]
    }

    fn any_cond() -> impl Strategy<Value = Cond> {
        prop_oneof![
            Just(Cond::None),
            Just(Cond::Absent),
            "\\PC{0,40}".prop_map(Cond::Matches),
        ]
    }

    fn any_write_req() -> impl Strategy<Value = WriteReq> {
        (
            proptest::sample::select(WriteKind::ALL.to_vec()),
            any::<bool>(),
            any_cond(),
            proptest::option::of(any_version()),
            any_key(),
            vec(any::<u8>(), 0..100),
        )
            .prop_map(|(kind, coordinate, cond, version, key, meta)| WriteReq {
                kind,
                coordinate,
                repair: !coordinate && version.is_some() && key.len() % 2 == 0,
                cond,
                version,
                key,
                meta,
            })
    }

    fn any_write_resp() -> impl Strategy<Value = WriteResp> {
        (any_version(), any::<bool>(), any::<bool>(), any::<u8>()).prop_map(
            |(version, applied, existed, acks)| WriteResp {
                version,
                applied,
                existed,
                acks,
            },
        )
    }

    fn any_read_req() -> impl Strategy<Value = ReadReq> {
        (any_key(), any::<bool>()).prop_map(|(key, meta_only)| ReadReq { key, meta_only })
    }

    fn any_read_resp() -> impl Strategy<Value = ReadResp> {
        (any_entry(), vec(any::<u8>(), 0..100)).prop_map(|(entry, meta)| ReadResp { entry, meta })
    }

    fn any_list_req() -> impl Strategy<Value = ListReq> {
        (
            vec(any::<u8>(), 0..40),
            vec(any::<u8>(), 0..40),
            0..=MAX_LIST_ENTRIES,
            any::<bool>(),
        )
            .prop_map(|(prefix, start_after, limit, include_tombstones)| ListReq {
                prefix,
                start_after,
                limit,
                include_tombstones,
            })
    }

    fn any_list_resp() -> impl Strategy<Value = ListResp> {
        vec((vec(any::<u8>(), 1..30), any_entry()), 0..20).prop_map(|entries| ListResp { entries })
    }

    /// Every strict prefix of a valid encoding fails to decode (without panicking), and so
    /// does the encoding with a byte appended.
    fn check_prefixes<T>(bytes: &[u8], decode: impl Fn(&[u8]) -> Result<T, RpcError>) {
        for end in 0..bytes.len() {
            assert!(
                decode(&bytes[..end]).is_err(),
                "prefix of {end} bytes decoded"
            );
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert!(decode(&longer).is_err(), "trailing byte accepted");
    }

    proptest! {
        #[test]
        fn write_req_round_trips(m in any_write_req(), object in vec(any::<u8>(), 0..50)) {
            let fields = m.encode_fields();
            prop_assert_eq!(split_fields_len(fields[..4].try_into().unwrap()) as usize, fields.len() - 4);
            prop_assert_eq!(WriteReq::decode_fields(&fields[4..]), Ok(m.clone()));
            check_prefixes(&fields[4..], WriteReq::decode_fields);
            let mut body = fields.clone();
            if m.kind != WriteKind::Tombstone {
                body.extend_from_slice(&object);
            }
            let (decoded, obj) = WriteReq::decode_body(&body).unwrap();
            prop_assert_eq!(decoded, m);
            prop_assert_eq!(obj, &body[fields.len()..]);
            for end in 0..fields.len() {
                prop_assert!(WriteReq::decode_body(&body[..end]).is_err());
            }
        }

        #[test]
        fn write_resp_round_trips(m in any_write_resp()) {
            let mut out = vec![];
            m.encode(&mut out);
            prop_assert_eq!(WriteResp::decode(&out), Ok(m));
            check_prefixes(&out, WriteResp::decode);
        }

        #[test]
        fn read_req_round_trips(m in any_read_req()) {
            let mut out = vec![];
            m.encode(&mut out);
            prop_assert_eq!(ReadReq::decode(&out), Ok(m));
            check_prefixes(&out, ReadReq::decode);
        }

        #[test]
        fn read_resp_round_trips(m in any_read_resp(), object in vec(any::<u8>(), 0..50)) {
            let fields = m.encode_fields();
            prop_assert_eq!(ReadResp::decode_fields(&fields[4..]), Ok(m.clone()));
            check_prefixes(&fields[4..], ReadResp::decode_fields);
            let mut body = fields.clone();
            body.extend_from_slice(&object);
            prop_assert_eq!(ReadResp::decode_body(&body), Ok((m, &object[..])));
            for end in 0..fields.len() {
                prop_assert!(ReadResp::decode_body(&body[..end]).is_err());
            }
        }

        #[test]
        fn list_req_round_trips(m in any_list_req()) {
            let mut out = vec![];
            m.encode(&mut out);
            prop_assert_eq!(ListReq::decode(&out), Ok(m));
            check_prefixes(&out, ListReq::decode);
        }

        #[test]
        fn list_resp_round_trips(m in any_list_resp()) {
            let mut out = vec![];
            m.encode(&mut out);
            prop_assert_eq!(ListResp::decode(&out), Ok(m));
            check_prefixes(&out, ListResp::decode);
        }

        #[test]
        fn error_bodies_round_trip(msg in "\\PC{0,3000}") {
            let body = error_body(&msg);
            prop_assert!(body.len() <= MAX_ERROR_LEN);
            let back = error_message(&body);
            prop_assert!(msg.starts_with(&back));
            if msg.len() <= MAX_ERROR_LEN {
                prop_assert_eq!(back, msg);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..200)) {
            crate::rpc::fuzz_rpc(&bytes);
            for end in 0..bytes.len() {
                let b = &bytes[..end];
                let _ = WriteReq::decode_fields(b);
                let _ = WriteReq::decode_body(b);
                let _ = WriteResp::decode(b);
                let _ = ReadReq::decode(b);
                let _ = ReadResp::decode_fields(b);
                let _ = ReadResp::decode_body(b);
                let _ = ListReq::decode(b);
                let _ = ListResp::decode(b);
                let _ = error_message(b);
            }
        }
    }
}

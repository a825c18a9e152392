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
mod tests;

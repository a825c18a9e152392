//! The RING: consistent hashing of keys onto storage nodes (layout of its canonical encoding
//! in docs/format.md, section "RING").
//!
//! As in LeoFS, every member owns `weight` virtual nodes (points) on a circular hash space
//! (here 64 bits, XXH3-64 seed 0, instead of LeoFS's 128-bit MD5). A key's replicas are
//! the first N distinct members met walking clockwise from the first point at or after the
//! key's hash, wrapping around; optionally the walk first prefers members of zones not yet
//! taken (LeoFS's rack awareness).
//!
//! Point `i` (`0..weight`) of member `m` sits at
//! `xxh3_64(m.id ++ "#" ++ (i as u32).to_le_bytes())`, so a member's points depend only on
//! its id and weight: adding or removing a member moves only the keys it gains or loses.
//!
//! The ring is pure data: it does no I/O and holds no node health. Node states
//! ([`NodeState`]) change often and move no data, so they are deliberately kept out of the
//! ring and its checksum; routing skips members that do not [`NodeState::serves`].
//!
//! Two rings built from the same members and settings, in any order, encode to the same
//! bytes and so have the same [`Ring::checksum`]; that checksum is what nodes report to the
//! manager to show which ring they route with.

use std::fmt;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

/// Bytes 0..4 of an encoded ring.
pub const MAGIC: &[u8; 4] = b"LFRG";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// Length of the fixed header before the members.
pub const HEADER_LEN: usize = 28;
/// Length of the trailing checksum.
pub const TRAILER_LEN: usize = 8;
/// Most members a ring may have (bounds memory: at most `MAX_MEMBERS * MAX_WEIGHT` points).
pub const MAX_MEMBERS: usize = 1024;
/// Longest member id, in bytes.
pub const MAX_ID_LEN: usize = 64;
/// Longest zone name, in bytes.
pub const MAX_ZONE_LEN: usize = 64;
/// Longest `rpc_addr`, in bytes.
pub const MAX_ADDR_LEN: usize = 255;
/// Most shards a member may have.
pub const MAX_SHARDS: u16 = 1024;
/// Most virtual nodes a member may have.
pub const MAX_WEIGHT: u32 = 4096;
/// LeoFS's default number of virtual nodes per storage node.
pub const DEFAULT_WEIGHT: u32 = 168;

/// Node states as LeoFS names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    /// Known to the manager but not yet in the ring.
    Attached,
    /// In the ring and serving.
    Running,
    /// Suspended by the operator: rejects requests and is skipped by routing until resumed.
    Suspend,
    /// Down (stopped or unreachable).
    Stop,
    /// A detached node that started again and re-attached.
    Restarted,
    /// Leaving the ring: the next rebalance removes it.
    Detached,
}

impl NodeState {
    /// Every state, in declaration order.
    pub const ALL: [NodeState; 6] = [
        NodeState::Attached,
        NodeState::Running,
        NodeState::Suspend,
        NodeState::Stop,
        NodeState::Restarted,
        NodeState::Detached,
    ];

    /// The LeoFS name (`"running"`, ...), as shown by status and used in JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            NodeState::Attached => "attached",
            NodeState::Running => "running",
            NodeState::Suspend => "suspend",
            NodeState::Stop => "stop",
            NodeState::Restarted => "restarted",
            NodeState::Detached => "detached",
        }
    }

    /// The state named `s` (exactly as [`NodeState::as_str`] writes it).
    pub fn parse(s: &str) -> Option<Self> {
        NodeState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Serves requests (routable): Running and Restarted.
    pub fn serves(&self) -> bool {
        matches!(self, NodeState::Running | NodeState::Restarted)
    }
}

impl fmt::Display for NodeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One storage node in the ring.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Member {
    /// Node id, e.g. `"storage-1"`: 1..=64 bytes of `[A-Za-z0-9._-]`. Its points derive from it.
    pub id: String,
    /// `"host:port"` of shard 0's RPC listener; shard `s` listens on `port + s`.
    pub rpc_addr: String,
    /// Number of shards (cores) of the node, 1..=1024.
    pub shards: u16,
    /// Failure zone (rack, room); may be empty (the empty zone is a zone like any other).
    pub zone: String,
    /// Number of virtual nodes (LeoFS default 168), 1..=4096.
    pub weight: u32,
}

impl Member {
    /// `"host:port+shard"`: the RPC address of shard `shard`, or `None` when the member has
    /// no such shard or its address is malformed.
    pub fn shard_addr(&self, shard: u16) -> Option<String> {
        if shard >= self.shards {
            return None;
        }
        let (host, port) = split_addr(&self.rpc_addr)?;
        let port = port.checked_add(shard)?;
        Some(format!("{host}:{port}"))
    }

    /// Checks every field's range; the error names the member and the field.
    pub fn validate(&self) -> Result<(), String> {
        let id = &self.id;
        if id.is_empty() || id.len() > MAX_ID_LEN {
            return Err(format!(
                "member id {id:?}: length {} is outside 1..={MAX_ID_LEN}",
                id.len()
            ));
        }
        if !id.bytes().all(is_name_byte) {
            return Err(format!(
                "member id {id:?}: only A-Z a-z 0-9 . _ - are allowed"
            ));
        }
        if self.zone.len() > MAX_ZONE_LEN {
            return Err(format!(
                "member {id}: zone length {} exceeds {MAX_ZONE_LEN}",
                self.zone.len()
            ));
        }
        if !self.zone.bytes().all(is_name_byte) {
            return Err(format!(
                "member {id}: zone {:?}: only A-Z a-z 0-9 . _ - are allowed",
                self.zone
            ));
        }
        if self.shards == 0 || self.shards > MAX_SHARDS {
            return Err(format!(
                "member {id}: shards {} is outside 1..={MAX_SHARDS}",
                self.shards
            ));
        }
        if self.weight == 0 || self.weight > MAX_WEIGHT {
            return Err(format!(
                "member {id}: weight {} is outside 1..={MAX_WEIGHT}",
                self.weight
            ));
        }
        let addr = &self.rpc_addr;
        if addr.len() > MAX_ADDR_LEN || !addr.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "member {id}: rpc_addr {addr:?} must be at most {MAX_ADDR_LEN} printable ASCII bytes without blanks"
            ));
        }
        let Some((_, port)) = split_addr(addr) else {
            return Err(format!(
                "member {id}: rpc_addr {addr:?} is not \"host:port\" (port 1..=65535)"
            ));
        };
        if u32::from(port) + u32::from(self.shards) - 1 > u32::from(u16::MAX) {
            return Err(format!(
                "member {id}: rpc_addr port {port} + {} shards runs past port 65535",
                self.shards
            ));
        }
        Ok(())
    }
}

/// `[A-Za-z0-9._-]`.
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')
}

/// Splits `"host:port"` (host non-empty, port 1..=65535 in plain digits).
fn split_addr(addr: &str) -> Option<(&str, u16)> {
    let (host, port) = addr.rsplit_once(':')?;
    if host.is_empty()
        || port.is_empty()
        || port.len() > 5
        || !port.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let port: u16 = port.parse().ok()?;
    (port != 0).then_some((host, port))
}

/// Replication factor and quorums (LeoFS `consistency.*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Consistency {
    /// Number of replicas of every object.
    pub n: u8,
    /// Write quorum.
    pub w: u8,
    /// Read quorum.
    pub r: u8,
    /// Delete quorum.
    pub d: u8,
}

impl Consistency {
    /// Checks `1 <= w, r, d <= n <= members`.
    pub fn validate(&self, members: usize) -> Result<(), String> {
        let Consistency { n, w, r, d } = *self;
        if n == 0 {
            return Err("consistency: n (replicas) must be at least 1".into());
        }
        for (name, v) in [
            ("w (write quorum)", w),
            ("r (read quorum)", r),
            ("d (delete quorum)", d),
        ] {
            if v == 0 {
                return Err(format!("consistency: {name} must be at least 1"));
            }
            if v > n {
                return Err(format!("consistency: {name} = {v} exceeds n = {n}"));
            }
        }
        if usize::from(n) > members {
            return Err(format!(
                "consistency: n = {n} replicas needs at least {n} members, the ring has {members}"
            ));
        }
        Ok(())
    }
}

/// The consistent-hashing ring: members, their points and the replication settings.
///
/// Immutable once built; cheap to query ([`Ring::preference_list`] binary-searches the
/// points and allocates only its result). `Send + Sync + Clone`.
#[derive(Clone)]
pub struct Ring {
    version: u64,
    consistency: Consistency,
    distinct_zones: bool,
    /// Sorted by id (byte order), ids unique.
    members: Vec<Member>,
    /// Zone ordinal of each member (index into the distinct zones, sorted).
    zone_of: Vec<u16>,
    /// Number of distinct zones.
    zones: usize,
    /// Point hashes, sorted by (hash, owner).
    hashes: Vec<u64>,
    /// Owner (member index) of each point in `hashes`.
    owners: Vec<u16>,
    /// Checksum of the canonical encoding.
    checksum: u64,
}

impl PartialEq for Ring {
    fn eq(&self, other: &Self) -> bool {
        // Everything else derives from these.
        self.version == other.version
            && self.consistency == other.consistency
            && self.distinct_zones == other.distinct_zones
            && self.members == other.members
    }
}

impl Eq for Ring {}

impl fmt::Debug for Ring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring")
            .field("version", &self.version)
            .field("consistency", &self.consistency)
            .field("distinct_zones", &self.distinct_zones)
            .field("members", &self.members)
            .field("points", &self.hashes.len())
            .field("checksum", &format_args!("{:016x}", self.checksum))
            .finish()
    }
}

impl Ring {
    /// Builds a ring. Members may come in any order (they are sorted by id). Checks: at
    /// least one and at most [`MAX_MEMBERS`] members, unique ids, every field in range
    /// ([`Member::validate`]), and the consistency against the member count. An empty ring
    /// is only [`Ring::empty`].
    pub fn new(
        version: u64,
        consistency: Consistency,
        distinct_zones: bool,
        mut members: Vec<Member>,
    ) -> Result<Ring, String> {
        if members.len() > MAX_MEMBERS {
            return Err(format!(
                "{} members exceed the maximum of {MAX_MEMBERS}",
                members.len()
            ));
        }
        for m in &members {
            m.validate()?;
        }
        members.sort_by(|a, b| a.id.as_bytes().cmp(b.id.as_bytes()));
        if let Some(pair) = members.windows(2).find(|p| p[0].id == p[1].id) {
            return Err(format!("member id {:?} appears twice", pair[0].id));
        }
        consistency.validate(members.len())?;
        Ok(Ring::build(version, consistency, distinct_zones, members))
    }

    /// The ring before any member joins: version 0, no members, n = w = r = d = 1.
    pub fn empty() -> Ring {
        Ring::build(
            0,
            Consistency {
                n: 1,
                w: 1,
                r: 1,
                d: 1,
            },
            false,
            Vec::new(),
        )
    }

    /// Derives points, zones and checksum from validated, sorted members.
    fn build(
        version: u64,
        consistency: Consistency,
        distinct_zones: bool,
        members: Vec<Member>,
    ) -> Ring {
        let mut zone_names: Vec<&str> = members.iter().map(|m| m.zone.as_str()).collect();
        zone_names.sort_unstable();
        zone_names.dedup();
        let zone_of = members
            .iter()
            .map(|m| zone_names.binary_search(&m.zone.as_str()).unwrap_or(0) as u16)
            .collect();
        let zones = zone_names.len();

        let total: usize = members.iter().map(|m| m.weight as usize).sum();
        let mut points: Vec<(u64, u16)> = Vec::with_capacity(total);
        let mut buf = Vec::with_capacity(MAX_ID_LEN + 5);
        for (idx, m) in members.iter().enumerate() {
            for i in 0..m.weight {
                points.push((point_hash(&mut buf, &m.id, i), idx as u16));
            }
        }
        points.sort_unstable();
        let (hashes, owners) = points.into_iter().unzip();

        let mut ring = Ring {
            version,
            consistency,
            distinct_zones,
            members,
            zone_of,
            zones,
            hashes,
            owners,
            checksum: 0,
        };
        let bytes = ring.encode_body();
        ring.checksum = xxh3_64(&bytes);
        ring
    }

    /// The ring version (the manager increments it on every change).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Replication factor and quorums.
    pub fn consistency(&self) -> Consistency {
        self.consistency
    }

    /// Whether replicas prefer distinct zones.
    pub fn distinct_zones(&self) -> bool {
        self.distinct_zones
    }

    /// The members, sorted by id; preference lists index into this slice.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The member with id `id`.
    pub fn member(&self, id: &str) -> Option<&Member> {
        self.member_index(id).map(|i| &self.members[i])
    }

    /// The index in [`Ring::members`] of the member with id `id`.
    pub fn member_index(&self, id: &str) -> Option<usize> {
        self.members
            .binary_search_by(|m| m.id.as_bytes().cmp(id.as_bytes()))
            .ok()
    }

    /// Number of points (virtual nodes) on the ring.
    pub fn points(&self) -> usize {
        self.hashes.len()
    }

    /// Where `key` sits on the ring: `xxh3_64(key)`, seed 0.
    pub fn key_hash(key: &[u8]) -> u64 {
        xxh3_64(key)
    }

    /// The N distinct members (indexes into members()) that hold `key`, primary first.
    pub fn preference_list(&self, key: &[u8]) -> Vec<usize> {
        self.preference_list_hash(Ring::key_hash(key))
    }

    /// The `min(N, members)` distinct members that hold keys hashing to `hash`, primary
    /// first: walk clockwise from the first point with hash >= `hash` (wrapping), skipping
    /// members already taken. With distinct_zones, the walk first takes only members whose
    /// zone is not yet taken; if there are fewer zones than N, a second walk from the same
    /// start fills the list with any member not yet taken.
    pub fn preference_list_hash(&self, hash: u64) -> Vec<usize> {
        let n = usize::from(self.consistency.n).min(self.members.len());
        let mut out = Vec::with_capacity(n);
        if n == 0 {
            return out;
        }
        let start = self.hashes.partition_point(|&h| h < hash);
        let len = self.owners.len();
        let walk = || {
            self.owners[start..len]
                .iter()
                .chain(&self.owners[..start])
                .map(|&o| usize::from(o))
        };
        if self.distinct_zones {
            // Every member taken here has its own zone, so at most `zones` can be taken.
            let want = n.min(self.zones);
            for m in walk() {
                let zone = self.zone_of[m];
                if !out.iter().any(|&t| self.zone_of[t] == zone) {
                    out.push(m);
                    if out.len() == want {
                        break;
                    }
                }
            }
        }
        if out.len() < n {
            for m in walk() {
                if !out.contains(&m) {
                    out.push(m);
                    if out.len() == n {
                        break;
                    }
                }
            }
        }
        out
    }

    /// The canonical encoding (docs/format.md, "RING"), checksum included.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.encode_body();
        out.extend_from_slice(&self.checksum.to_le_bytes());
        out
    }

    /// The encoding without its trailing checksum.
    fn encode_body(&self) -> Vec<u8> {
        let size = HEADER_LEN
            + TRAILER_LEN
            + self
                .members
                .iter()
                .map(|m| 12 + m.id.len() + m.rpc_addr.len() + m.zone.len())
                .sum::<usize>();
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&self.version.to_le_bytes());
        let c = self.consistency;
        out.extend_from_slice(&[c.n, c.w, c.r, c.d, u8::from(self.distinct_zones), 0, 0, 0]);
        out.extend_from_slice(&(self.members.len() as u32).to_le_bytes());
        for m in &self.members {
            put_str(&mut out, &m.id);
            put_str(&mut out, &m.rpc_addr);
            out.extend_from_slice(&m.shards.to_le_bytes());
            put_str(&mut out, &m.zone);
            out.extend_from_slice(&m.weight.to_le_bytes());
        }
        out
    }

    /// Reads a canonical encoding. Checks, in order: length, magic, format version,
    /// checksum, reserved bytes, then every member (ranges, ids strictly increasing) and the
    /// consistency, and that nothing follows the last member. The error names the failed
    /// check; no input panics.
    pub fn decode(bytes: &[u8]) -> Result<Ring, String> {
        if bytes.len() < HEADER_LEN + TRAILER_LEN {
            return Err(format!(
                "ring truncated: {} bytes, shorter than the {} of an empty ring",
                bytes.len(),
                HEADER_LEN + TRAILER_LEN
            ));
        }
        if &bytes[..4] != MAGIC {
            return Err("ring: bad magic (not an encoded leofs ring)".into());
        }
        let format = u16::from_le_bytes([bytes[4], bytes[5]]);
        if format != FORMAT_VERSION {
            return Err(format!(
                "ring: unsupported format version {format} (this build reads {FORMAT_VERSION})"
            ));
        }
        let (body, trailer) = bytes.split_at(bytes.len() - TRAILER_LEN);
        let stored = u64::from_le_bytes(trailer.try_into().expect("8 bytes"));
        let computed = xxh3_64(body);
        if stored != computed {
            return Err(format!(
                "ring: checksum mismatch (stored {stored:016x}, computed {computed:016x}): damaged or truncated"
            ));
        }

        let mut r = Reader { bytes: body, at: 6 };
        if r.u16()? != 0 {
            return Err("ring: reserved bytes 6..8 are not zero".into());
        }
        let version = r.u64()?;
        let [n, w, rq, d, dz, z0, z1, z2] = r.array::<8>()?;
        let distinct_zones = match dz {
            0 => false,
            1 => true,
            other => return Err(format!("ring: distinct_zones byte is {other}, not 0 or 1")),
        };
        if [z0, z1, z2] != [0, 0, 0] {
            return Err("ring: reserved bytes 21..24 are not zero".into());
        }
        let consistency = Consistency { n, w, r: rq, d };
        let count = r.u32()? as usize;
        if count > MAX_MEMBERS {
            return Err(format!(
                "ring: member count {count} exceeds the maximum of {MAX_MEMBERS}"
            ));
        }
        let mut members: Vec<Member> = Vec::with_capacity(count.min(body.len() / 16));
        for i in 0..count {
            let id = r.str("member id")?;
            let rpc_addr = r.str("rpc_addr")?;
            let shards = r.u16()?;
            let zone = r.str("zone")?;
            let weight = r.u32()?;
            let m = Member {
                id,
                rpc_addr,
                shards,
                zone,
                weight,
            };
            m.validate().map_err(|e| format!("ring: member {i}: {e}"))?;
            if let Some(prev) = members.last() {
                if prev.id.as_bytes() >= m.id.as_bytes() {
                    return Err(format!(
                        "ring: member ids not strictly increasing ({:?} then {:?})",
                        prev.id, m.id
                    ));
                }
            }
            members.push(m);
        }
        if r.at != body.len() {
            return Err(format!(
                "ring: {} unexpected bytes after the last member",
                body.len() - r.at
            ));
        }
        if members.is_empty() {
            if consistency != Ring::empty().consistency {
                return Err("ring: an empty ring must have n = w = r = d = 1".into());
            }
        } else {
            consistency
                .validate(members.len())
                .map_err(|e| format!("ring: {e}"))?;
        }
        let ring = Ring::build(version, consistency, distinct_zones, members);
        debug_assert_eq!(ring.checksum, stored);
        Ok(ring)
    }

    /// The ring's checksum: xxh3-64 of its encoding without the trailing checksum field
    /// (i.e. the stored checksum value). Equal rings have equal checksums.
    pub fn checksum(&self) -> u64 {
        self.checksum
    }

    /// Fraction of the hash space for which each member (indexed as [`Ring::members`]) is
    /// the primary; sums to 1 (empty for an empty ring).
    pub fn ownership(&self) -> Vec<f64> {
        let mut arcs = vec![0u128; self.members.len()];
        let len = self.hashes.len();
        for j in 0..len {
            // Point j owns the keys in (previous point, point j].
            let arc = if j == 0 {
                (1u128 << 64) + u128::from(self.hashes[0]) - u128::from(self.hashes[len - 1])
            } else {
                u128::from(self.hashes[j] - self.hashes[j - 1])
            };
            arcs[usize::from(self.owners[j])] += arc;
        }
        let space = (1u128 << 64) as f64;
        arcs.into_iter().map(|a| a as f64 / space).collect()
    }
}

/// The hash of point `i` of member `id`: `xxh3_64(id ++ "#" ++ (i as u32).to_le_bytes())`.
fn point_hash(buf: &mut Vec<u8>, id: &str, i: u32) -> u64 {
    buf.clear();
    buf.extend_from_slice(id.as_bytes());
    buf.push(b'#');
    buf.extend_from_slice(&i.to_le_bytes());
    xxh3_64(buf)
}

/// Appends a u16 length and the bytes (lengths were validated to fit).
fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A bounds-checked cursor over the encoding.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, len: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(len).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(format!(
                "ring: field at offset {} runs past the end ({} bytes)",
                self.at,
                self.bytes.len()
            ));
        };
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u16(&mut self) -> Result<u16, String> {
        self.array().map(u16::from_le_bytes)
    }

    fn u32(&mut self) -> Result<u32, String> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64, String> {
        self.array().map(u64::from_le_bytes)
    }

    fn str(&mut self, what: &str) -> Result<String, String> {
        let at = self.at;
        let len = usize::from(self.u16()?);
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| format!("ring: {what} at offset {at} is not UTF-8"))
    }
}

#[cfg(test)]
mod tests;

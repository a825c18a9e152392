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
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn member(id: &str, zone: &str, weight: u32) -> Member {
        Member {
            id: id.into(),
            rpc_addr: "10.0.0.1:9000".into(),
            shards: 4,
            zone: zone.into(),
            weight,
        }
    }

    fn cons(n: u8) -> Consistency {
        Consistency {
            n,
            w: 1,
            r: 1,
            d: 1,
        }
    }

    fn ring_of(n: u8, ids: &[&str]) -> Ring {
        let members = ids
            .iter()
            .map(|id| member(id, "", DEFAULT_WEIGHT))
            .collect();
        Ring::new(1, cons(n), false, members).unwrap()
    }

    /// Deterministic keys, realistic shape.
    fn keys(count: usize) -> impl Iterator<Item = Vec<u8>> {
        (0..count).map(|i| format!("photos/2024/img-{i:08}.jpg").into_bytes())
    }

    /// The walk as specified, done naively over the sorted points: the oracle for
    /// `preference_list_hash`.
    fn naive_preference(ring: &Ring, hash: u64) -> Vec<usize> {
        let mut points: Vec<(u64, usize)> = Vec::new();
        let mut buf = Vec::new();
        for (idx, m) in ring.members().iter().enumerate() {
            for i in 0..m.weight {
                points.push((point_hash(&mut buf, &m.id, i), idx));
            }
        }
        points.sort();
        let n = usize::from(ring.consistency().n).min(ring.members().len());
        let start = points.iter().position(|p| p.0 >= hash).unwrap_or(0);
        let order: Vec<usize> = (0..points.len())
            .map(|k| points[(start + k) % points.len()].1)
            .collect();
        let mut out: Vec<usize> = Vec::new();
        if ring.distinct_zones() {
            for &m in &order {
                let zone = &ring.members()[m].zone;
                if out.len() < n && !out.iter().any(|&t| &ring.members()[t].zone == zone) {
                    out.push(m);
                }
            }
        }
        for &m in &order {
            if out.len() < n && !out.contains(&m) {
                out.push(m);
            }
        }
        out
    }

    fn arb_member() -> impl Strategy<Value = Member> {
        (
            "[A-Za-z0-9._-]{1,16}",
            "[a-z0-9.-]{1,20}",
            1u16..=60000,
            1u16..=64,
            "[a-c]{0,2}",
            1u32..=300,
        )
            .prop_map(|(id, host, port, shards, zone, weight)| Member {
                id,
                rpc_addr: format!("{host}:{port}"),
                shards,
                zone,
                weight,
            })
    }

    fn arb_ring() -> impl Strategy<Value = Ring> {
        (
            proptest::collection::vec(arb_member(), 1..8),
            any::<u64>(),
            any::<bool>(),
            any::<[u8; 4]>(),
        )
            .prop_map(|(mut members, version, dz, [n, w, r, d])| {
                let mut seen = HashSet::new();
                members.retain(|m| seen.insert(m.id.clone()));
                let n = 1 + n % members.len().min(5) as u8;
                let c = Consistency {
                    n,
                    w: 1 + w % n,
                    r: 1 + r % n,
                    d: 1 + d % n,
                };
                Ring::new(version, c, dz, members).unwrap()
            })
    }

    #[test]
    fn ring_is_send_sync_clone() {
        fn check<T: Send + Sync + Clone>() {}
        check::<Ring>();
    }

    #[test]
    fn node_states_round_trip_and_serve() {
        for st in NodeState::ALL {
            assert_eq!(NodeState::parse(st.as_str()), Some(st));
            let json = serde_json::to_string(&st).unwrap();
            assert_eq!(json, format!("\"{}\"", st.as_str()));
            assert_eq!(serde_json::from_str::<NodeState>(&json).unwrap(), st);
        }
        assert_eq!(NodeState::parse("Running"), None);
        assert_eq!(NodeState::parse("reserved"), None);
        let serving: Vec<_> = NodeState::ALL.into_iter().filter(|s| s.serves()).collect();
        assert_eq!(serving, [NodeState::Running, NodeState::Restarted]);
    }

    #[test]
    fn layout_matches_the_doc() {
        let ring = Ring::new(
            0x0102030405060708,
            Consistency {
                n: 2,
                w: 2,
                r: 1,
                d: 2,
            },
            true,
            vec![member("b", "z", 7), member("a", "", 168)],
        )
        .unwrap();
        let bytes = ring.encode();
        assert_eq!(&bytes[0..4], b"LFRG");
        assert_eq!(&bytes[4..8], &[1, 0, 0, 0]);
        assert_eq!(&bytes[8..16], &0x0102030405060708u64.to_le_bytes());
        assert_eq!(&bytes[16..24], &[2, 2, 1, 2, 1, 0, 0, 0]);
        assert_eq!(&bytes[24..28], &2u32.to_le_bytes());
        // member "a" first (sorted by id)
        let mut exp = Vec::new();
        exp.extend_from_slice(&[1, 0, b'a', 13, 0]);
        exp.extend_from_slice(b"10.0.0.1:9000");
        exp.extend_from_slice(&[4, 0, 0, 0, 168, 0, 0, 0]);
        exp.extend_from_slice(&[1, 0, b'b', 13, 0]);
        exp.extend_from_slice(b"10.0.0.1:9000");
        exp.extend_from_slice(&[4, 0, 1, 0, b'z', 7, 0, 0, 0]);
        assert_eq!(&bytes[28..bytes.len() - 8], &exp[..]);
        let sum = xxh3_64(&bytes[..bytes.len() - 8]);
        assert_eq!(&bytes[bytes.len() - 8..], &sum.to_le_bytes());
        assert_eq!(ring.checksum(), sum);
        assert_eq!(ring.points(), 175);
        // 28 + sum(12 + I + A + Z) + 8, as docs/format.md says.
        assert_eq!(bytes.len(), 28 + (12 + 1 + 13) + (12 + 1 + 13 + 1) + 8);
    }

    #[test]
    fn points_are_set_in_stone() {
        // Spelled out independently of `point_hash`: changing the derivation moves data.
        let ring = Ring::new(1, cons(1), false, vec![member("storage-1", "", 3)]).unwrap();
        let mut expected: Vec<u64> = (0u8..3)
            .map(|i| xxh3_64(&[b"storage-1#".as_slice(), &[i, 0, 0, 0]].concat()))
            .collect();
        expected.sort_unstable();
        assert_eq!(ring.hashes, expected);
        assert_eq!(Ring::key_hash(b""), 0x2d06_8005_38d3_94c2);
    }

    #[test]
    fn empty_ring() {
        let ring = Ring::empty();
        assert_eq!(ring.version(), 0);
        assert_eq!(
            ring.consistency(),
            Consistency {
                n: 1,
                w: 1,
                r: 1,
                d: 1
            }
        );
        assert!(ring.members().is_empty());
        assert!(ring.preference_list(b"k").is_empty());
        assert!(ring.ownership().is_empty());
        let bytes = ring.encode();
        assert_eq!(bytes.len(), HEADER_LEN + TRAILER_LEN);
        assert_eq!(Ring::decode(&bytes).unwrap(), ring);
        assert!(Ring::new(0, cons(1), false, vec![]).is_err());
    }

    #[test]
    fn new_rejects_bad_input() {
        let ok = member("s1", "a", 168);
        let bad = |f: &dyn Fn(&mut Member)| {
            let mut m = ok.clone();
            f(&mut m);
            Ring::new(1, cons(1), false, vec![m]).unwrap_err()
        };
        assert!(bad(&|m| m.id.clear()).contains("length"));
        assert!(bad(&|m| m.id = "x".repeat(65)).contains("length"));
        assert!(bad(&|m| m.id = "a/b".into()).contains("allowed"));
        assert!(bad(&|m| m.zone = "a b".into()).contains("zone"));
        assert!(bad(&|m| m.shards = 0).contains("shards"));
        assert!(bad(&|m| m.shards = 1025).contains("shards"));
        assert!(bad(&|m| m.weight = 0).contains("weight"));
        assert!(bad(&|m| m.weight = 4097).contains("weight"));
        assert!(bad(&|m| m.rpc_addr = "host".into()).contains("rpc_addr"));
        assert!(bad(&|m| m.rpc_addr = ":80".into()).contains("rpc_addr"));
        assert!(bad(&|m| m.rpc_addr = "h:0".into()).contains("rpc_addr"));
        assert!(bad(&|m| m.rpc_addr = "h:+80".into()).contains("rpc_addr"));
        assert!(bad(&|m| m.rpc_addr = "h:65536".into()).contains("rpc_addr"));
        assert!(bad(&|m| m.rpc_addr = "h :80".into()).contains("rpc_addr"));
        assert!(bad(&|m| m.rpc_addr = "h:65534".into()).contains("65535"));
        // Boundaries that are fine.
        let mut m = ok.clone();
        m.rpc_addr = "[::1]:65532".into();
        m.weight = 4096;
        m.shards = 4;
        m.id = "A-z_0.9".into();
        m.zone = String::new();
        Ring::new(1, cons(1), false, vec![m]).unwrap();

        let dup = Ring::new(1, cons(1), false, vec![ok.clone(), ok.clone()]).unwrap_err();
        assert!(dup.contains("twice"), "{dup}");
        let two = vec![ok.clone(), member("s2", "b", 1)];
        let e = Ring::new(1, cons(3), false, two.clone()).unwrap_err();
        assert!(e.contains("n = 3") && e.contains("has 2"), "{e}");
        let e = Ring::new(
            1,
            Consistency {
                n: 2,
                w: 3,
                r: 1,
                d: 1,
            },
            false,
            two.clone(),
        )
        .unwrap_err();
        assert!(e.contains("w (write quorum) = 3 exceeds n = 2"), "{e}");
        let e = Ring::new(
            1,
            Consistency {
                n: 2,
                w: 1,
                r: 0,
                d: 1,
            },
            false,
            two.clone(),
        )
        .unwrap_err();
        assert!(e.contains("r (read quorum)"), "{e}");
        let e = Ring::new(
            1,
            Consistency {
                n: 0,
                w: 0,
                r: 0,
                d: 0,
            },
            false,
            two,
        )
        .unwrap_err();
        assert!(e.contains("n (replicas)"), "{e}");
        assert!(cons(1).validate(0).is_err());
    }

    #[test]
    fn shard_addr() {
        let m = member("s1", "", 1);
        assert_eq!(m.shard_addr(0).as_deref(), Some("10.0.0.1:9000"));
        assert_eq!(m.shard_addr(3).as_deref(), Some("10.0.0.1:9003"));
        assert_eq!(m.shard_addr(4), None);
    }

    #[test]
    fn lookup_by_id() {
        let ring = ring_of(2, &["storage-3", "storage-1", "storage-2"]);
        let ids: Vec<_> = ring.members().iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["storage-1", "storage-2", "storage-3"]);
        assert_eq!(ring.member("storage-2").unwrap().id, "storage-2");
        assert_eq!(ring.member_index("storage-3"), Some(2));
        assert!(ring.member("storage-4").is_none());
    }

    #[test]
    fn checksum_tracks_every_field_and_ignores_order() {
        let base = vec![
            member("s1", "a", 168),
            member("s2", "b", 168),
            member("s3", "c", 168),
        ];
        let make = |ms: Vec<Member>, c: Consistency, dz: bool| Ring::new(7, c, dz, ms).unwrap();
        let c = Consistency {
            n: 3,
            w: 2,
            r: 1,
            d: 2,
        };
        let ring = make(base.clone(), c, false);

        let mut rev = base.clone();
        rev.reverse();
        let same = make(rev, c, false);
        assert_eq!(same.checksum(), ring.checksum());
        assert_eq!(same.encode(), ring.encode());
        assert_eq!(same, ring);

        let mut variants: Vec<Ring> = Vec::new();
        let mut more = base.clone();
        more.push(member("s4", "a", 168));
        variants.push(make(more, c, false));
        let mut other = base.clone();
        other[1].id = "s2x".into();
        variants.push(make(other, c, false));
        for f in [
            |m: &mut Member| m.weight = 169,
            |m: &mut Member| m.zone = "d".into(),
            |m: &mut Member| m.shards = 5,
            |m: &mut Member| m.rpc_addr = "10.0.0.2:9000".into(),
        ] {
            let mut ms = base.clone();
            f(&mut ms[2]);
            variants.push(make(ms, c, false));
        }
        variants.push(make(base.clone(), Consistency { w: 3, ..c }, false));
        variants.push(make(base.clone(), Consistency { r: 2, ..c }, false));
        variants.push(make(base.clone(), Consistency { d: 1, ..c }, false));
        variants.push(make(
            base.clone(),
            Consistency {
                n: 2,
                w: 2,
                r: 1,
                d: 2,
            },
            false,
        ));
        variants.push(make(base.clone(), c, true));
        variants.push(Ring::new(8, c, false, base.clone()).unwrap());
        let mut sums: HashSet<u64> = variants.iter().map(|r| r.checksum()).collect();
        assert_eq!(sums.len(), variants.len(), "two variants share a checksum");
        assert!(
            sums.insert(ring.checksum()),
            "a variant has the base checksum"
        );
        for v in &variants {
            assert_ne!(v, &ring);
        }
    }

    #[test]
    fn preference_lists_are_distinct_and_deterministic() {
        for (n, count) in [(1u8, 1usize), (1, 5), (3, 3), (3, 5), (5, 5)] {
            let ids: Vec<String> = (0..count).map(|i| format!("storage-{i}")).collect();
            let id_refs: Vec<&str> = ids.iter().map(|s| s.as_str()).collect();
            let ring = ring_of(n, &id_refs);
            let again = ring_of(n, &id_refs);
            for key in keys(2000) {
                let list = ring.preference_list(&key);
                assert_eq!(list.len(), usize::from(n).min(count));
                let set: HashSet<_> = list.iter().collect();
                assert_eq!(set.len(), list.len(), "duplicate member in {list:?}");
                assert!(list.iter().all(|&m| m < count));
                assert_eq!(list, again.preference_list(&key));
                assert_eq!(list, ring.preference_list_hash(Ring::key_hash(&key)));
            }
        }
    }

    #[test]
    fn preference_list_matches_the_naive_walk() {
        let mut ms = vec![
            member("s1", "a", 40),
            member("s2", "a", 3),
            member("s3", "b", 17),
            member("s4", "c", 1),
            member("s5", "b", 60),
        ];
        for dz in [false, true] {
            for n in 1..=5 {
                let ring = Ring::new(1, cons(n), dz, ms.clone()).unwrap();
                let mut hashes: Vec<u64> = keys(3000).map(|k| Ring::key_hash(&k)).collect();
                // Exactly on points, just past them, and both ends of the space.
                hashes.extend(ring.hashes.iter().flat_map(|&h| [h, h.wrapping_add(1)]));
                hashes.extend([0, u64::MAX]);
                for h in hashes {
                    assert_eq!(
                        ring.preference_list_hash(h),
                        naive_preference(&ring, h),
                        "h={h:x} n={n} dz={dz}"
                    );
                }
            }
        }
        // A hash past the last point wraps to the first.
        ms.truncate(2);
        let ring = Ring::new(1, cons(1), false, ms).unwrap();
        let last = *ring.hashes.last().unwrap();
        let first_owner = usize::from(ring.owners[0]);
        if last < u64::MAX {
            assert_eq!(ring.preference_list_hash(last + 1), vec![first_owner]);
        }
        assert_eq!(ring.preference_list_hash(ring.hashes[0]), vec![first_owner]);
    }

    #[test]
    fn balance_three_members() {
        let ring = ring_of(3, &["storage-1", "storage-2", "storage-3"]);
        let total = 100_000;
        let mut primary = [0usize; 3];
        for key in keys(total) {
            let list = ring.preference_list(&key);
            primary[list[0]] += 1;
            let mut sorted = list.clone();
            sorted.sort();
            assert_eq!(sorted, [0, 1, 2]);
        }
        let own = ring.ownership();
        for (m, &c) in primary.iter().enumerate() {
            let frac = c as f64 / total as f64;
            assert!(
                (frac - 1.0 / 3.0).abs() <= 0.06,
                "member {m} is primary for {frac}"
            );
            // The measured share agrees with the computed arc lengths.
            assert!(
                (frac - own[m]).abs() <= 0.01,
                "member {m}: {frac} vs ownership {}",
                own[m]
            );
        }
    }

    #[test]
    fn balance_five_members_three_replicas() {
        let ring = ring_of(
            3,
            &[
                "storage-1",
                "storage-2",
                "storage-3",
                "storage-4",
                "storage-5",
            ],
        );
        let total = 100_000;
        let mut seen = [0usize; 5];
        let mut primary = [0usize; 5];
        for key in keys(total) {
            let list = ring.preference_list(&key);
            primary[list[0]] += 1;
            for m in list {
                seen[m] += 1;
            }
        }
        for m in 0..5 {
            let frac = seen[m] as f64 / total as f64;
            assert!(
                (frac - 0.6).abs() <= 0.08,
                "member {m} is in {frac} of the lists"
            );
            let p = primary[m] as f64 / total as f64;
            assert!((p - 0.2).abs() <= 0.06, "member {m} is primary for {p}");
        }
    }

    #[test]
    fn adding_a_member_moves_only_keys_it_takes() {
        let old = ring_of(1, &["storage-1", "storage-2", "storage-3"]);
        let new = ring_of(1, &["storage-1", "storage-2", "storage-3", "storage-4"]);
        let total = 100_000;
        let mut moved = 0;
        for key in keys(total) {
            let before = &old.members()[old.preference_list(&key)[0]].id;
            let after = &new.members()[new.preference_list(&key)[0]].id;
            if before != after {
                assert_eq!(after, "storage-4", "a key moved from {before} to {after}");
                moved += 1;
            }
        }
        let frac = moved as f64 / total as f64;
        assert!((frac - 0.25).abs() <= 0.07, "{frac} of the keys moved");
    }

    #[test]
    fn adding_a_member_keeps_old_replicas_in_order() {
        // With N = 3, a key's new list is its old list with the new member inserted
        // somewhere (and the last old member dropped when it is pushed out).
        let old = ring_of(3, &["storage-1", "storage-2", "storage-3", "storage-4"]);
        let new = ring_of(
            3,
            &[
                "storage-1",
                "storage-2",
                "storage-3",
                "storage-4",
                "storage-5",
            ],
        );
        for key in keys(20_000) {
            let ids = |r: &Ring| -> Vec<String> {
                r.preference_list(&key)
                    .iter()
                    .map(|&i| r.members()[i].id.clone())
                    .collect()
            };
            let (before, after) = (ids(&old), ids(&new));
            let kept: Vec<_> = after
                .iter()
                .filter(|id| *id != "storage-5")
                .cloned()
                .collect();
            assert_eq!(kept[..], before[..kept.len()], "{before:?} -> {after:?}");
        }
    }

    #[test]
    fn distinct_zones_spread_replicas() {
        let ms = vec![
            member("s1", "a", 168),
            member("s2", "a", 168),
            member("s3", "b", 168),
            member("s4", "c", 168),
        ];
        let ring = Ring::new(1, cons(3), true, ms.clone()).unwrap();
        let plain = Ring::new(1, cons(3), false, ms).unwrap();
        let mut plain_collisions = 0;
        for key in keys(20_000) {
            let list = ring.preference_list(&key);
            assert_eq!(list.len(), 3);
            let zones: HashSet<_> = list.iter().map(|&m| &ring.members()[m].zone).collect();
            assert_eq!(zones.len(), 3, "{list:?}");
            // The primary does not depend on zones.
            let pl = plain.preference_list(&key);
            assert_eq!(pl[0], list[0]);
            let pz: HashSet<_> = pl.iter().map(|&m| &plain.members()[m].zone).collect();
            plain_collisions += usize::from(pz.len() < 3);
        }
        // Without the option the walk does put two replicas in zone a (so the test above
        // exercises the zone rule).
        assert!(plain_collisions > 1000, "{plain_collisions}");
    }

    #[test]
    fn distinct_zones_with_fewer_zones_than_replicas() {
        let ms = vec![
            member("s1", "a", 168),
            member("s2", "a", 168),
            member("s3", "b", 168),
        ];
        let ring = Ring::new(1, cons(3), true, ms).unwrap();
        for key in keys(5000) {
            let list = ring.preference_list(&key);
            assert_eq!(list.len(), 3);
            let z = |i: usize| ring.members()[list[i]].zone.as_str();
            assert_ne!(
                z(0),
                z(1),
                "the first two replicas span both zones: {list:?}"
            );
        }
    }

    #[test]
    fn ownership_sums_to_one() {
        let rings = [
            ring_of(1, &["only"]),
            ring_of(2, &["a", "b"]),
            ring_of(
                3,
                &[
                    "storage-1",
                    "storage-2",
                    "storage-3",
                    "storage-4",
                    "storage-5",
                ],
            ),
            Ring::new(1, cons(1), false, vec![member("x", "", 1)]).unwrap(),
            Ring::new(
                1,
                cons(1),
                false,
                vec![member("x", "", 1), member("y", "", 4096)],
            )
            .unwrap(),
        ];
        for ring in rings {
            let own = ring.ownership();
            assert_eq!(own.len(), ring.members().len());
            let sum: f64 = own.iter().sum();
            assert!((sum - 1.0).abs() <= 1e-9, "sum {sum}");
            assert!(own.iter().all(|&f| (0.0..=1.0).contains(&f)));
        }
        assert_eq!(ring_of(1, &["only"]).ownership(), vec![1.0]);
    }

    #[test]
    fn decode_rejects_non_canonical_bodies() {
        // Re-checksummed edits that only canonicality and range checks can catch.
        let ring = Ring::new(
            1,
            cons(2),
            false,
            vec![member("a", "", 3), member("b", "", 3)],
        )
        .unwrap();
        let reseal = |mut body: Vec<u8>| {
            body.truncate(body.len() - 8);
            let sum = xxh3_64(&body);
            body.extend_from_slice(&sum.to_le_bytes());
            Ring::decode(&body)
        };
        let bytes = ring.encode();
        assert_eq!(reseal(bytes.clone()).unwrap(), ring);
        // Members swapped.
        // Member "a" is 2+1 + 2+13 + 2 + 2+0 + 4 = 26 bytes.
        let body = ring.encode_body();
        let (a, b) = (&body[28..54], &body[54..]);
        let mut swapped = body[..28].to_vec();
        swapped.extend_from_slice(b);
        swapped.extend_from_slice(a);
        swapped.extend_from_slice(&[0; 8]);
        assert!(reseal(swapped).unwrap_err().contains("strictly increasing"));
        let edit = |at: usize, v: u8| {
            let mut e = bytes.clone();
            e[at] = v;
            reseal(e).unwrap_err()
        };
        assert!(edit(6, 1).contains("reserved"));
        assert!(edit(20, 2).contains("distinct_zones"));
        assert!(edit(22, 1).contains("reserved"));
        assert!(edit(16, 3).contains("n = 3"));
        assert!(edit(17, 3).contains("exceeds n"));
        assert!(edit(24, 3).contains("past the end"));
        assert!(edit(24, 1).contains("unexpected bytes"));
        // Trailing garbage after a valid encoding.
        let mut long = bytes.clone();
        long.splice(long.len() - 8..long.len() - 8, [0u8]);
        assert!(reseal(long).unwrap_err().contains("unexpected"));
        // An empty ring with other quorums.
        let mut e = Ring::empty().encode();
        e[16] = 2;
        assert!(reseal(e).unwrap_err().contains("empty ring"));
        // Wrong magic and version.
        let mut e = bytes.clone();
        e[0] = b'X';
        assert!(Ring::decode(&e).unwrap_err().contains("magic"));
        let mut e = bytes.clone();
        e[4] = 2;
        assert!(Ring::decode(&e).unwrap_err().contains("format version 2"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn round_trip(ring in arb_ring()) {
            let bytes = ring.encode();
            let back = Ring::decode(&bytes).unwrap();
            prop_assert_eq!(&back, &ring);
            prop_assert_eq!(back.encode(), bytes.clone());
            prop_assert_eq!(back.checksum(), ring.checksum());
            prop_assert_eq!(&bytes[bytes.len() - 8..], &ring.checksum().to_le_bytes()[..]);
            prop_assert_eq!(back.hashes.clone(), ring.hashes.clone());
            prop_assert_eq!(back.owners.clone(), ring.owners.clone());
            // Members given in another order build the same ring.
            let mut ms = ring.members().to_vec();
            ms.reverse();
            let again = Ring::new(ring.version(), ring.consistency(), ring.distinct_zones(), ms).unwrap();
            prop_assert_eq!(again.encode(), bytes);
        }

        #[test]
        fn any_flipped_byte_fails(ring in arb_ring(), mask in 1u8..=255) {
            let bytes = ring.encode();
            for at in 0..bytes.len() {
                let mut bad = bytes.clone();
                bad[at] ^= mask;
                prop_assert!(Ring::decode(&bad).is_err(), "flip at {} accepted", at);
            }
        }

        #[test]
        fn truncation_fails(ring in arb_ring()) {
            let bytes = ring.encode();
            for len in 0..bytes.len() {
                prop_assert!(Ring::decode(&bytes[..len]).is_err(), "prefix of {} accepted", len);
            }
        }

        #[test]
        fn resealed_garbage_never_panics(ring in arb_ring(), at in any::<prop::sample::Index>(), v in any::<u8>()) {
            // A body edit with a valid checksum passes the checksum: only the parser's own
            // checks stand between it and a panic or a non-canonical ring.
            let mut body = ring.encode();
            body.truncate(body.len() - 8);
            let i = at.index(body.len());
            body[i] = v;
            let sum = xxh3_64(&body);
            body.extend_from_slice(&sum.to_le_bytes());
            if let Ok(r) = Ring::decode(&body) {
                prop_assert_eq!(r.encode(), body);
            }
        }

        #[test]
        fn decode_random_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Ring::decode(&bytes);
        }

        #[test]
        fn lists_match_naive_walk(ring in arb_ring(), hashes in proptest::collection::vec(any::<u64>(), 1..50)) {
            for h in hashes {
                prop_assert_eq!(ring.preference_list_hash(h), naive_preference(&ring, h));
            }
            let sum: f64 = ring.ownership().iter().sum();
            prop_assert!((sum - 1.0).abs() <= 1e-9);
        }
    }
}

//! The frame: a fixed 40-byte head, then `body_len` body bytes. Layout in
//! `docs/format.md`, "Inter-node RPC frames".

use std::fmt;

use xxhash_rust::xxh3::{xxh3_64, Xxh3};

/// Length of a frame head in bytes.
pub const HEAD_LEN: usize = 40;

/// The frame magic, bytes 0..4 of every head.
pub const MAGIC: [u8; 4] = *b"LFRP";

/// The frame format version this module reads and writes.
pub const VERSION: u8 = 1;

/// Bit 0 of the flags byte: the frame is a response.
const FLAG_RESPONSE: u8 = 0x01;

/// What a frame asks for (requests) or answers (responses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Op {
    /// Store an object, chunk or tombstone ([`WriteReq`](super::WriteReq)).
    Write = 1,
    /// Fetch an object or its metadata ([`ReadReq`](super::ReadReq)).
    Read = 2,
    /// List keys under a prefix ([`ListReq`](super::ListReq)).
    List = 3,
    /// Several small requests (writes, reads) in one frame ([`batch`](super::batch)):
    /// under load, one frame and one wake-up carry many requests between two shards.
    Batch = 4,
    /// Cluster control; the body is JSON owned by the control module.
    Control = 16,
}

impl Op {
    /// Every op, in code order.
    pub const ALL: [Op; 5] = [Op::Write, Op::Read, Op::List, Op::Batch, Op::Control];

    /// Lowercase name, for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Write => "write",
            Op::Read => "read",
            Op::List => "list",
            Op::Batch => "batch",
            Op::Control => "control",
        }
    }
}

impl TryFrom<u8> for Op {
    type Error = RpcError;

    fn try_from(b: u8) -> Result<Op, RpcError> {
        Op::ALL
            .into_iter()
            .find(|&op| op as u8 == b)
            .ok_or(RpcError::UnknownOp(b))
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome carried by a response. Requests carry [`Status::Ok`] (0). A response
/// with any other status has a UTF-8 message as its body (see
/// [`error_body`](super::error_body)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Status {
    /// Done; the body is the op's response message.
    Ok = 0,
    /// The key does not exist (or its newest version is a tombstone).
    NotFound = 1,
    /// A write's condition ([`Cond`](super::Cond)) did not hold.
    PreconditionFailed = 2,
    /// The write lost to a concurrent one.
    Conflict = 3,
    /// The request decoded but makes no sense (bad key, bad field).
    Invalid = 4,
    /// The node cannot serve it now (starting, stopping, replicas down); retry elsewhere.
    Unavailable = 5,
    /// The node's disks are full.
    NoSpace = 6,
    /// The body exceeds the receiver's limit.
    TooLarge = 7,
    /// A bug or an I/O error on the receiver.
    Internal = 8,
    /// The request frame was unreadable; the receiver closes the connection after
    /// answering.
    BadFrame = 9,
}

impl Status {
    /// Every status, in code order.
    pub const ALL: [Status; 10] = [
        Status::Ok,
        Status::NotFound,
        Status::PreconditionFailed,
        Status::Conflict,
        Status::Invalid,
        Status::Unavailable,
        Status::NoSpace,
        Status::TooLarge,
        Status::Internal,
        Status::BadFrame,
    ];

    /// snake_case name, for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::NotFound => "not_found",
            Status::PreconditionFailed => "precondition_failed",
            Status::Conflict => "conflict",
            Status::Invalid => "invalid",
            Status::Unavailable => "unavailable",
            Status::NoSpace => "no_space",
            Status::TooLarge => "too_large",
            Status::Internal => "internal",
            Status::BadFrame => "bad_frame",
        }
    }
}

impl TryFrom<u8> for Status {
    type Error = RpcError;

    fn try_from(b: u8) -> Result<Status, RpcError> {
        Status::ALL
            .get(usize::from(b))
            .copied()
            .ok_or(RpcError::UnknownStatus(b))
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a frame or a message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpcError {
    /// Bytes 0..4 are not `"LFRP"`: the peer does not speak this protocol.
    BadMagic,
    /// A format version this build does not read.
    BadVersion(u8),
    /// The head's checksum (bytes 32..40) does not match bytes 0..32.
    BadHeadChecksum,
    /// The body's checksum does not match the head's.
    BadBodyChecksum,
    /// An op code that is not an [`Op`].
    UnknownOp(u8),
    /// A status code that is not a [`Status`].
    UnknownStatus(u8),
    /// Flag bits other than bit 0 are set.
    BadFlags(u8),
    /// The body is longer than the reader accepts.
    TooLarge { len: u64, max: u64 },
    /// The input ends inside the named field.
    Truncated(&'static str),
    /// A field is out of range or inconsistent; the text says which.
    Invalid(String),
}

impl RpcError {
    /// The status to answer a request with when decoding it failed this way.
    pub fn status(&self) -> Status {
        match self {
            RpcError::TooLarge { .. } => Status::TooLarge,
            RpcError::Invalid(_) => Status::Invalid,
            _ => Status::BadFrame,
        }
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RpcError::BadMagic => f.write_str("bad frame magic (not an LFRP frame)"),
            RpcError::BadVersion(v) => write!(f, "unsupported frame version {v}"),
            RpcError::BadHeadChecksum => f.write_str("frame head checksum mismatch"),
            RpcError::BadBodyChecksum => f.write_str("frame body checksum mismatch"),
            RpcError::UnknownOp(b) => write!(f, "unknown op {b}"),
            RpcError::UnknownStatus(b) => write!(f, "unknown status {b}"),
            RpcError::BadFlags(b) => write!(f, "unknown frame flags {b:#04x}"),
            RpcError::TooLarge { len, max } => {
                write!(f, "frame body of {len} bytes exceeds the limit of {max}")
            }
            RpcError::Truncated(field) => write!(f, "input ends inside {field}"),
            RpcError::Invalid(why) => write!(f, "invalid message: {why}"),
        }
    }
}

impl std::error::Error for RpcError {}

/// A decoded frame head. The body follows it on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHead {
    pub op: Op,
    /// False for a request, true for a response.
    pub response: bool,
    /// [`Status::Ok`] in every request.
    pub status: Status,
    /// Chosen by the requester, unique among its requests in flight on a connection; a
    /// response echoes it.
    pub request_id: u64,
    pub body_len: u64,
    /// XXH3-64 of the body bytes.
    pub body_xxh3: u64,
}

impl FrameHead {
    /// The head of a frame whose body is `body`.
    pub fn new(op: Op, response: bool, status: Status, request_id: u64, body: &[u8]) -> FrameHead {
        FrameHead {
            op,
            response,
            status,
            request_id,
            body_len: body.len() as u64,
            body_xxh3: xxh3_64(body),
        }
    }

    /// The head of a frame whose body is the concatenation of `parts` (say, encoded
    /// fields then an object body), hashed in a stream without concatenating them.
    pub fn for_parts(
        op: Op,
        response: bool,
        status: Status,
        request_id: u64,
        parts: &[&[u8]],
    ) -> FrameHead {
        let mut hasher = Xxh3::new();
        let mut body_len = 0u64;
        for part in parts {
            hasher.update(part);
            body_len += part.len() as u64;
        }
        FrameHead {
            op,
            response,
            status,
            request_id,
            body_len,
            body_xxh3: hasher.digest(),
        }
    }

    /// The 40 bytes of this head, checksum included.
    pub fn encode(&self) -> [u8; HEAD_LEN] {
        let mut b = [0u8; HEAD_LEN];
        b[0..4].copy_from_slice(&MAGIC);
        b[4] = VERSION;
        b[5] = self.op as u8;
        b[6] = if self.response { FLAG_RESPONSE } else { 0 };
        b[7] = self.status as u8;
        b[8..16].copy_from_slice(&self.request_id.to_le_bytes());
        b[16..24].copy_from_slice(&self.body_len.to_le_bytes());
        b[24..32].copy_from_slice(&self.body_xxh3.to_le_bytes());
        let sum = xxh3_64(&b[0..32]);
        b[32..40].copy_from_slice(&sum.to_le_bytes());
        b
    }

    /// Decodes and checks a head. Checks, in order: magic, version, head checksum, flags,
    /// op, status (and that a request's is `Ok`), body length against `max_body`.
    ///
    /// Any error leaves the byte stream's framing unknown: the reader answers (if it can)
    /// and closes the connection.
    pub fn decode(b: &[u8; HEAD_LEN], max_body: u64) -> Result<FrameHead, RpcError> {
        if b[0..4] != MAGIC {
            return Err(RpcError::BadMagic);
        }
        if b[4] != VERSION {
            return Err(RpcError::BadVersion(b[4]));
        }
        if xxh3_64(&b[0..32]) != le_u64(b, 32) {
            return Err(RpcError::BadHeadChecksum);
        }
        let flags = b[6];
        if flags & !FLAG_RESPONSE != 0 {
            return Err(RpcError::BadFlags(flags));
        }
        let response = flags & FLAG_RESPONSE != 0;
        let op = Op::try_from(b[5])?;
        let status = Status::try_from(b[7])?;
        if !response && status != Status::Ok {
            return Err(RpcError::Invalid(format!(
                "request with status {}",
                status.as_str()
            )));
        }
        let body_len = le_u64(b, 16);
        if body_len > max_body {
            return Err(RpcError::TooLarge {
                len: body_len,
                max: max_body,
            });
        }
        Ok(FrameHead {
            op,
            response,
            status,
            request_id: le_u64(b, 8),
            body_len,
            body_xxh3: le_u64(b, 24),
        })
    }

    /// Checks that `body` is this frame's body: its length, then its checksum.
    pub fn check_body(&self, body: &[u8]) -> Result<(), RpcError> {
        if body.len() as u64 != self.body_len {
            return Err(RpcError::Invalid(format!(
                "body is {} bytes, the head says {}",
                body.len(),
                self.body_len
            )));
        }
        self.check_digest(xxh3_64(body))
    }

    /// Checks the XXH3-64 of a body the reader hashed itself (in pieces, with
    /// [`Xxh3`], as it arrived) against the head's.
    pub fn check_digest(&self, xxh3: u64) -> Result<(), RpcError> {
        if xxh3 == self.body_xxh3 {
            Ok(())
        } else {
            Err(RpcError::BadBodyChecksum)
        }
    }
}

/// A whole frame, head then `body`: for small messages, where copying the body is cheap.
pub fn frame(op: Op, response: bool, status: Status, request_id: u64, body: &[u8]) -> Vec<u8> {
    let head = FrameHead::new(op, response, status, request_id, body);
    let mut out = Vec::with_capacity(HEAD_LEN + body.len());
    out.extend_from_slice(&head.encode());
    out.extend_from_slice(body);
    out
}

/// A whole frame found by [`parse_frame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedFrame<'a> {
    pub head: FrameHead,
    /// The body, its length and checksum checked.
    pub body: &'a [u8],
    /// Bytes of the buffer the frame took (head and body).
    pub consumed: usize,
}

/// Reads one whole frame from the start of `buf`: `Ok(None)` if `buf` does not hold all
/// of it yet.
///
/// For readers that buffer whole frames (small messages); a reader that streams large
/// bodies decodes the head with [`FrameHead::decode`] and checks the body it read with
/// [`FrameHead::check_digest`].
pub fn parse_frame(buf: &[u8], max_body: u64) -> Result<Option<ParsedFrame<'_>>, RpcError> {
    let Some(head_bytes) = buf.first_chunk::<HEAD_LEN>() else {
        return Ok(None);
    };
    let head = FrameHead::decode(head_bytes, max_body)?;
    let rest = &buf[HEAD_LEN..];
    match usize::try_from(head.body_len) {
        Ok(len) if len <= rest.len() => {
            let body = &rest[..len];
            head.check_body(body)?;
            Ok(Some(ParsedFrame {
                head,
                body,
                consumed: HEAD_LEN + len,
            }))
        }
        _ => Ok(None),
    }
}

fn le_u64(b: &[u8; HEAD_LEN], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> FrameHead {
        FrameHead::new(
            Op::Read,
            true,
            Status::NotFound,
            0x0102_0304_0506_0708,
            b"no such key",
        )
    }

    #[test]
    fn head_layout_matches_the_documented_offsets() {
        let h = sample();
        let b = h.encode();
        assert_eq!(&b[0..4], b"LFRP");
        assert_eq!(b[4], 1);
        assert_eq!(b[5], 2);
        assert_eq!(b[6], 1);
        assert_eq!(b[7], 1);
        assert_eq!(b[8..16], 0x0102_0304_0506_0708u64.to_le_bytes());
        assert_eq!(b[16..24], 11u64.to_le_bytes());
        assert_eq!(b[24..32], xxh3_64(b"no such key").to_le_bytes());
        assert_eq!(b[32..40], xxh3_64(&b[0..32]).to_le_bytes());
    }

    #[test]
    fn codes_round_trip_and_unknown_codes_are_rejected() {
        for op in Op::ALL {
            assert_eq!(Op::try_from(op as u8), Ok(op));
            assert!(!op.to_string().is_empty());
        }
        for (i, s) in Status::ALL.into_iter().enumerate() {
            assert_eq!(s as u8 as usize, i);
            assert_eq!(Status::try_from(s as u8), Ok(s));
            assert_eq!(s.to_string(), s.as_str());
        }
        for b in 0..=255u8 {
            if !Op::ALL.iter().any(|&op| op as u8 == b) {
                assert_eq!(Op::try_from(b), Err(RpcError::UnknownOp(b)));
            }
        }
        assert_eq!(Status::try_from(10), Err(RpcError::UnknownStatus(10)));
        assert_eq!(Status::try_from(255), Err(RpcError::UnknownStatus(255)));
    }

    #[test]
    fn every_single_byte_corruption_of_a_head_is_rejected() {
        for h in [
            sample(),
            FrameHead::new(Op::Write, false, Status::Ok, 7, b""),
        ] {
            let good = h.encode();
            assert_eq!(FrameHead::decode(&good, u64::MAX), Ok(h));
            for i in 0..HEAD_LEN {
                for x in 1..=255u8 {
                    let mut bad = good;
                    bad[i] ^= x;
                    assert!(
                        FrameHead::decode(&bad, u64::MAX).is_err(),
                        "byte {i} ^ {x:#04x} accepted"
                    );
                }
            }
        }
    }

    /// Re-seals bytes 0..32 with a valid head checksum, to reach the checks behind it.
    fn sealed(mut b: [u8; HEAD_LEN]) -> [u8; HEAD_LEN] {
        let sum = xxh3_64(&b[0..32]);
        b[32..40].copy_from_slice(&sum.to_le_bytes());
        b
    }

    #[test]
    fn each_check_reports_its_own_error() {
        let good = sample().encode();
        let with = |i: usize, v: u8| {
            let mut b = good;
            b[i] = v;
            b
        };
        assert_eq!(
            FrameHead::decode(&with(0, b'X'), 99),
            Err(RpcError::BadMagic)
        );
        assert_eq!(
            FrameHead::decode(&with(4, 2), 99),
            Err(RpcError::BadVersion(2))
        );
        assert_eq!(
            FrameHead::decode(&with(5, 3), 99),
            Err(RpcError::BadHeadChecksum)
        );
        let d = |b| FrameHead::decode(&sealed(b), 99);
        assert_eq!(d(with(5, 9)), Err(RpcError::UnknownOp(9)));
        assert_eq!(d(with(6, 0x81)), Err(RpcError::BadFlags(0x81)));
        assert_eq!(d(with(6, 0x02)), Err(RpcError::BadFlags(0x02)));
        assert_eq!(d(with(7, 10)), Err(RpcError::UnknownStatus(10)));
        // A request (flags 0) must carry status Ok.
        assert!(matches!(d(with(6, 0)), Err(RpcError::Invalid(_))));
        assert_eq!(
            FrameHead::decode(&good, 10),
            Err(RpcError::TooLarge { len: 11, max: 10 })
        );
        assert_eq!(FrameHead::decode(&good, 11), Ok(sample()));
        assert_eq!(RpcError::BadMagic.status(), Status::BadFrame);
        assert_eq!(
            RpcError::TooLarge { len: 2, max: 1 }.status(),
            Status::TooLarge
        );
        assert_eq!(RpcError::Invalid("x".into()).status(), Status::Invalid);
    }

    #[test]
    fn body_length_and_checksum_are_checked() {
        let h = sample();
        assert_eq!(h.check_body(b"no such key"), Ok(()));
        assert_eq!(h.check_body(b"no such kez"), Err(RpcError::BadBodyChecksum));
        assert!(matches!(
            h.check_body(b"no such ke"),
            Err(RpcError::Invalid(_))
        ));
        assert_eq!(h.check_digest(xxh3_64(b"no such key")), Ok(()));
        assert_eq!(h.check_digest(0), Err(RpcError::BadBodyChecksum));
    }

    #[test]
    fn parse_frame_waits_for_whole_frames() {
        let mut buf = frame(Op::List, false, Status::Ok, 3, b"body");
        let second = frame(Op::Control, true, Status::Internal, 3, b"{}");
        buf.extend_from_slice(&second);
        let first_len = HEAD_LEN + 4;
        for end in 0..first_len {
            assert_eq!(parse_frame(&buf[..end], 1024), Ok(None), "prefix {end}");
        }
        let f = parse_frame(&buf, 1024).unwrap().unwrap();
        assert_eq!(
            f.head,
            FrameHead::new(Op::List, false, Status::Ok, 3, b"body")
        );
        assert_eq!((f.body, f.consumed), (&b"body"[..], first_len));
        let g = parse_frame(&buf[f.consumed..], 1024).unwrap().unwrap();
        assert_eq!((g.head.op, g.head.status), (Op::Control, Status::Internal));
        assert_eq!((g.body, g.consumed), (&b"{}"[..], second.len()));
        assert_eq!(
            parse_frame(&buf, 3),
            Err(RpcError::TooLarge { len: 4, max: 3 })
        );
        buf[HEAD_LEN] ^= 1;
        assert_eq!(parse_frame(&buf, 1024), Err(RpcError::BadBodyChecksum));
    }

    #[test]
    fn errors_display() {
        let all = [
            RpcError::BadMagic,
            RpcError::BadVersion(3),
            RpcError::BadHeadChecksum,
            RpcError::BadBodyChecksum,
            RpcError::UnknownOp(0),
            RpcError::UnknownStatus(77),
            RpcError::BadFlags(0x80),
            RpcError::TooLarge { len: 2, max: 1 },
            RpcError::Truncated("key"),
            RpcError::Invalid("why".into()),
        ];
        for e in all {
            let text = e.to_string();
            assert!(!text.is_empty());
            let _: &dyn std::error::Error = &e;
        }
    }

    fn any_op() -> impl Strategy<Value = Op> {
        proptest::sample::select(Op::ALL.to_vec())
    }

    fn any_status() -> impl Strategy<Value = Status> {
        proptest::sample::select(Status::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn head_round_trips(
            op in any_op(),
            response in any::<bool>(),
            status in any_status(),
            request_id in any::<u64>(),
            body in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let status = if response { status } else { Status::Ok };
            let h = FrameHead::new(op, response, status, request_id, &body);
            let b = h.encode();
            prop_assert_eq!(FrameHead::decode(&b, body.len() as u64), Ok(h));
            prop_assert_eq!(h.check_body(&body), Ok(()));
            let whole = frame(op, response, status, request_id, &body);
            prop_assert_eq!(&whole[..HEAD_LEN], &b[..]);
            prop_assert_eq!(&whole[HEAD_LEN..], &body[..]);
            if !body.is_empty() {
                prop_assert!(FrameHead::decode(&b, body.len() as u64 - 1).is_err());
            }
        }

        #[test]
        fn for_parts_equals_new_over_the_concatenation(
            parts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..6),
            request_id in any::<u64>(),
        ) {
            let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            let whole = parts.concat();
            prop_assert_eq!(
                FrameHead::for_parts(Op::Write, false, Status::Ok, request_id, &refs),
                FrameHead::new(Op::Write, false, Status::Ok, request_id, &whole)
            );
            // A reader hashing the body as it arrives, in other pieces, agrees.
            let h = FrameHead::new(Op::Write, false, Status::Ok, request_id, &whole);
            let mut hasher = Xxh3::new();
            for piece in whole.chunks(7) {
                hasher.update(piece);
            }
            prop_assert_eq!(h.check_digest(hasher.digest()), Ok(()));
        }

        #[test]
        fn any_head_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), HEAD_LEN)) {
            let b: [u8; HEAD_LEN] = bytes.try_into().unwrap();
            if let Ok(h) = FrameHead::decode(&b, u64::MAX) {
                prop_assert_eq!(h.encode(), b);
            }
            // With the right magic, version and checksum, the later checks run too.
            let mut b = b;
            b[0..4].copy_from_slice(&MAGIC);
            b[4] = VERSION;
            let b = sealed(b);
            if let Ok(h) = FrameHead::decode(&b, u64::MAX) {
                prop_assert_eq!(h.encode(), b);
            }
        }
    }
}

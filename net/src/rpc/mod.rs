//! Sans-I/O inter-node RPC: the wire format nodes use to write, read and list objects on
//! each other, and for cluster control. Layouts in `docs/format.md`, "Inter-node RPC
//! frames".
//!
//! Every message, request or response, is one frame: a 40-byte [`FrameHead`] (magic,
//! version, [`Op`], response flag, [`Status`], request id, body length, body checksum,
//! head checksum), then the body. A response echoes its request's id, so a connection can
//! carry several requests in flight.
//!
//! Bodies are the messages of [`msg`]: plain ones are decoded whole;
//! object-carrying ones ([`WriteReq`], [`ReadResp`]) put a u32 `fields_len` and their
//! fields first and the object bytes last, so a reader reads the fields, then the object
//! straight into its own buffer, hashing the pieces as they arrive:
//!
//! ```text
//! head = FrameHead::decode(&read(HEAD_LEN), max_body)?;
//! hasher = Xxh3::new();
//! prefix = read(4);                      hasher.update(prefix)
//! fields_len = split_fields_len(prefix); check_fields_len(fields_len, head.body_len)?;
//! fields = read(fields_len);             hasher.update(fields)
//! req = WriteReq::decode_fields(fields)?;
//! read body_len - 4 - fields_len bytes into the object's buffer, hasher.update(..);
//! head.check_digest(hasher.digest())?;   // only now is `req` trusted and acted on
//! ```
//!
//! Error responses (status other than `Ok`) carry a UTF-8 message ([`error_body`],
//! [`error_message`]). Any frame-level error ([`RpcError`] from [`FrameHead::decode`],
//! or a body checksum mismatch) leaves the stream's framing untrusted: the reader answers
//! [`Status::BadFrame`] if it can and closes the connection.
//!
//! Nothing here does I/O or panics on any input, which [`fuzz_rpc`] lets a fuzzer check.

pub mod batch;
mod frame;
pub mod msg;

pub use frame::{
    frame, parse_frame, FrameHead, Op, ParsedFrame, RpcError, Status, HEAD_LEN, MAGIC, VERSION,
};
pub use msg::{
    check_fields_len, error_body, error_message, split_body, split_fields_len, Cond, Dec, Enc,
    EntryInfo, ListReq, ListResp, ReadReq, ReadResp, Version, WriteKind, WriteReq, WriteResp,
    MAX_ERROR_LEN, MAX_ETAG_LEN, MAX_FIELDS_LEN, MAX_KEY_LEN, MAX_LIST_ENTRIES,
};

use std::fmt::Debug;

/// Largest body the fuzz target's head decode accepts.
const FUZZ_MAX_BODY: u64 = 1 << 20;

/// Decodes arbitrary bytes as a frame (a head, if there are 40 bytes, then a body) and
/// gives the body, or the whole input when it is shorter than a head, to every message
/// decoder. Anything that decodes must encode back to the same bytes and decode equal;
/// every frame-level check must agree with [`parse_frame`].
///
/// Meant for a fuzz target. Returns quietly on any decode error; panics only when an
/// invariant is broken, which is what a fuzzer should report.
pub fn fuzz_rpc(data: &[u8]) {
    let body = match data.first_chunk::<HEAD_LEN>() {
        Some(head_bytes) => {
            fuzz_head(head_bytes, data);
            &data[HEAD_LEN..]
        }
        None => data,
    };
    fuzz_messages(body);
}

/// The head checks, and [`parse_frame`] agreeing with them.
fn fuzz_head(head_bytes: &[u8; HEAD_LEN], data: &[u8]) {
    let rest = &data[HEAD_LEN..];
    let head = match FrameHead::decode(head_bytes, FUZZ_MAX_BODY) {
        Ok(head) => head,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            let _ = e.status();
            assert_eq!(parse_frame(data, FUZZ_MAX_BODY), Err(e));
            return;
        }
    };
    assert_eq!(
        &head.encode(),
        head_bytes,
        "{head:?} re-encodes differently"
    );
    assert!(head.response || head.status == Status::Ok);
    assert!(head.body_len <= FUZZ_MAX_BODY);
    let len = head.body_len as usize;
    match parse_frame(data, FUZZ_MAX_BODY) {
        Ok(None) => assert!(rest.len() < len, "whole frame not parsed"),
        Ok(Some(f)) => {
            assert_eq!(f.head, head);
            assert_eq!((f.body, f.consumed), (&rest[..len], HEAD_LEN + len));
            assert_eq!(head.check_body(f.body), Ok(()));
        }
        Err(e) => {
            assert_eq!(e, RpcError::BadBodyChecksum);
            assert_eq!(head.check_body(&rest[..len]), Err(e));
        }
    }
    if head.status != Status::Ok {
        let msg = error_message(rest);
        assert!(error_body(&msg).len() <= MAX_ERROR_LEN);
    }
}

/// Every message decoder over `body`.
fn fuzz_messages(body: &[u8]) {
    plain(body, WriteResp::decode, WriteResp::encode);
    plain(body, ReadReq::decode, ReadReq::encode);
    plain(body, ListReq::decode, ListReq::encode);
    plain(body, ListResp::decode, ListResp::encode);
    carrying(body, WriteReq::decode_fields, WriteReq::encode_fields);
    carrying(body, ReadResp::decode_fields, ReadResp::encode_fields);
    if let Ok((req, object)) = WriteReq::decode_body(body) {
        assert!(req.kind != WriteKind::Tombstone || object.is_empty());
    }
    if let Ok((_, object)) = ReadResp::decode_body(body) {
        assert!(body.ends_with(object));
    }
    if let Ok(items) = batch::decode_requests(body) {
        let again: Vec<u8> = batch::encode_requests(items.iter().map(|(op, i)| (*op, vec![i.to_vec()])).collect()).concat();
        assert_eq!(again, body, "a request batch re-encodes differently");
    }
    if let Ok(items) = batch::decode_responses(body) {
        let owned: Vec<(Status, Vec<u8>)> = items.iter().map(|(s, b)| (*s, b.to_vec())).collect();
        assert_eq!(batch::encode_responses(&owned), body, "a response batch re-encodes differently");
    }
    let msg = error_message(body);
    let cut = error_body(&msg);
    assert!(cut.len() <= MAX_ERROR_LEN && msg.as_bytes().starts_with(&cut));
}

/// A plain message: what decodes re-encodes to the same bytes and decodes equal.
fn plain<T: PartialEq + Debug>(
    body: &[u8],
    decode: fn(&[u8]) -> Result<T, RpcError>,
    encode: fn(&T, &mut Vec<u8>),
) {
    if let Ok(m) = decode(body) {
        let mut out = Vec::new();
        encode(&m, &mut out);
        assert_eq!(out, body, "{m:?} re-encodes differently");
        assert_eq!(decode(&out).as_ref(), Ok(&m));
    }
}

/// An object-carrying message, over the body split at its `fields_len` and over the body
/// taken as the fields alone.
fn carrying<T: PartialEq + Debug>(
    body: &[u8],
    decode_fields: fn(&[u8]) -> Result<T, RpcError>,
    encode_fields: fn(&T) -> Vec<u8>,
) {
    let fields = split_body(body).map(|(fields, _)| fields);
    for fields in fields.into_iter().chain([body]) {
        if let Ok(m) = decode_fields(fields) {
            let out = encode_fields(&m);
            assert_eq!(
                split_fields_len(out[..4].try_into().unwrap()) as usize,
                out.len() - 4
            );
            assert_eq!(&out[4..], fields, "{m:?} re-encodes differently");
            assert_eq!(decode_fields(&out[4..]).as_ref(), Ok(&m));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One valid frame of every message, as a fuzzer's seeds would be.
    fn frames() -> Vec<Vec<u8>> {
        let info = EntryInfo {
            version: Version {
                timestamp_us: 1_700_000_000_000_000,
                tiebreak: 2,
            },
            size: 5,
            md5: [7; 16],
            parts: 0,
            tombstone: false,
        };
        let write = WriteReq {
            kind: WriteKind::Object,
            coordinate: true,
            repair: false,
            cond: Cond::Absent,
            version: None,
            key: b"b/k".to_vec(),
            meta: vec![1, 0],
        };
        let fields = write.encode_fields();
        let w = FrameHead::for_parts(Op::Write, false, Status::Ok, 1, &[&fields, b"hello"]);
        let mut write_frame = w.encode().to_vec();
        write_frame.extend_from_slice(&fields);
        write_frame.extend_from_slice(b"hello");
        let mut read_resp = ReadResp {
            entry: info.clone(),
            meta: vec![1, 0],
        }
        .encode_fields();
        read_resp.extend_from_slice(b"hello");
        let mut out = vec![
            write_frame,
            frame(Op::Read, true, Status::Ok, 2, &read_resp),
            frame(
                Op::Read,
                true,
                Status::NotFound,
                3,
                &error_body("no such key"),
            ),
        ];
        let mut body = vec![];
        WriteResp {
            version: info.version,
            applied: true,
            existed: false,
            acks: 3,
        }
        .encode(&mut body);
        out.push(frame(Op::Write, true, Status::Ok, 1, &body));
        body.clear();
        ReadReq {
            key: b"b/k".to_vec(),
            meta_only: true,
        }
        .encode(&mut body);
        out.push(frame(Op::Read, false, Status::Ok, 2, &body));
        body.clear();
        ListReq {
            prefix: b"b/".to_vec(),
            start_after: vec![],
            limit: 1000,
            include_tombstones: false,
        }
        .encode(&mut body);
        out.push(frame(Op::List, false, Status::Ok, 4, &body));
        body.clear();
        ListResp {
            entries: vec![(b"b/k".to_vec(), info)],
        }
        .encode(&mut body);
        out.push(frame(Op::List, true, Status::Ok, 4, &body));
        out
    }

    #[test]
    fn valid_frames_parse_and_survive_the_fuzz_checks() {
        for f in frames() {
            let parsed = parse_frame(&f, 1 << 20).unwrap().unwrap();
            assert_eq!(parsed.consumed, f.len());
            assert_eq!(parsed.head.check_body(parsed.body), Ok(()));
            fuzz_rpc(&f);
            for end in 0..f.len() {
                fuzz_rpc(&f[..end]);
                fuzz_rpc(&f[end..]);
            }
        }
    }

    #[test]
    fn corrupted_frames_never_panic() {
        // Every single-byte change of every seed frame: reaches each decoder's checks past
        // a valid head and with a bad body checksum.
        for f in frames() {
            for i in 0..f.len() {
                for x in [0x01, 0x80, 0xff] {
                    let mut bad = f.clone();
                    bad[i] ^= x;
                    fuzz_rpc(&bad);
                }
            }
        }
    }
}

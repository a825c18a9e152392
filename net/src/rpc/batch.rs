//! `Batch` frames: several requests, and their outcomes, in one frame (docs/format.md
//! "Batch (op 4)").
//!
//! ```text
//! request body:   count u32 | count × ( op u8 | len u32 | the request body of len bytes )
//! response body:  count u32 | count × ( status u8 | len u32 | len bytes )
//! ```
//! Each request body is exactly what a single frame of that op (`Write` or `Read`) would
//! carry; each response is what its single response frame would carry (the op's reply when
//! the status is `Ok` or `NotFound`, else a UTF-8 message). A batch never nests a batch.
//! The frame's XXH3 covers the whole batch.

use super::frame::{Op, RpcError, Status};
use super::msg::{Dec, Enc};

/// Most requests in one batch.
pub const MAX_BATCH: usize = 1024;

/// The body of a batch of requests, as pieces to write in order: each request is given as
/// its own pieces (fields with their length prefix, then the object), so objects are not
/// copied into one buffer.
pub fn encode_requests(items: Vec<(Op, Vec<Vec<u8>>)>) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(1 + items.len() * 3);
    let mut count = Vec::new();
    Enc::new(&mut count).u32(items.len() as u32);
    out.push(count);
    for (op, parts) in items {
        let len: usize = parts.iter().map(Vec::len).sum();
        let mut l = Vec::with_capacity(5);
        let mut e = Enc::new(&mut l);
        e.u8(op as u8);
        e.u32(len as u32);
        out.push(l);
        out.extend(parts);
    }
    out
}

/// The requests of a batch: op and body.
pub fn decode_requests(body: &[u8]) -> Result<Vec<(Op, &[u8])>, RpcError> {
    let mut d = Dec::new(body);
    let n = d.u32("batch count")? as usize;
    if n > MAX_BATCH {
        return Err(RpcError::Invalid(format!("batch of {n} requests exceeds {MAX_BATCH}")));
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let op = Op::try_from(d.u8("batch op")?)?;
        if op == Op::Batch {
            return Err(RpcError::Invalid("a batch inside a batch".into()));
        }
        out.push((op, d.bytes32("batch item")?));
    }
    d.finish()?;
    Ok(out)
}

/// The body of a batch response.
pub fn encode_responses(items: &[(Status, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = Enc::new(&mut out);
    e.u32(items.len() as u32);
    for (status, body) in items {
        e.u8(*status as u8);
        e.bytes32(body);
    }
    out
}

/// The outcomes in a batch response.
pub fn decode_responses(body: &[u8]) -> Result<Vec<(Status, &[u8])>, RpcError> {
    let mut d = Dec::new(body);
    let n = d.u32("batch count")? as usize;
    if n > MAX_BATCH {
        return Err(RpcError::Invalid(format!("batch of {n} responses exceeds {MAX_BATCH}")));
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let status = Status::try_from(d.u8("batch status")?)?;
        out.push((status, d.bytes32("batch item")?));
    }
    d.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_without_joining_objects() {
        let items = vec![(Op::Write, vec![b"ab".to_vec(), b"cde".to_vec()]), (Op::Read, vec![Vec::new(), b"x".to_vec()]), (Op::Write, vec![])];
        let parts = encode_requests(items);
        let body: Vec<u8> = parts.concat();
        let back = decode_requests(&body).unwrap();
        assert_eq!(back, vec![(Op::Write, &b"abcde"[..]), (Op::Read, &b"x"[..]), (Op::Write, &b""[..])]);
        let nested = encode_requests(vec![(Op::Batch, vec![])]).concat();
        assert!(decode_requests(&nested).is_err());
        for cut in 0..body.len() {
            assert!(decode_requests(&body[..cut]).is_err());
        }
        let mut extra = body.clone();
        extra.push(0);
        assert!(decode_requests(&extra).is_err());
    }

    #[test]
    fn responses_round_trip_and_reject_bad_input() {
        let items = vec![(Status::Ok, b"resp".to_vec()), (Status::NoSpace, b"full".to_vec())];
        let body = encode_responses(&items);
        let back = decode_responses(&body).unwrap();
        assert_eq!(back, vec![(Status::Ok, &b"resp"[..]), (Status::NoSpace, &b"full"[..])]);
        for cut in 0..body.len() {
            assert!(decode_responses(&body[..cut]).is_err());
        }
        let mut bad = body.clone();
        bad[4] = 200;
        assert!(decode_responses(&bad).is_err());
        let mut huge = Vec::new();
        Enc::new(&mut huge).u32(MAX_BATCH as u32 + 1);
        assert!(decode_requests(&huge).is_err());
    }
}

//! Sans-I/O HTTP/1.1, server side.
//!
//! The connection loop (in the server crate) owns sockets and buffers; this module only
//! turns bytes into typed values and back:
//!
//! * [`parse_request`] reads a request head from the start of a buffer and derives its
//!   framing ([`BodyKind`], keep-alive, `Expect: 100-continue`) with anti-smuggling rules.
//! * [`ChunkedDecoder`] decodes a `chunked` body incrementally, zero-copy: it returns the
//!   ranges of the caller's buffer that hold body data.
//! * [`write_response_head`], [`write_chunk`] and [`write_last_chunk`] serialise responses.
//!
//! Every limit is in [`Limits`]; every rejection is an [`HttpError`] carrying the status
//! code to answer with, after which the connection is closed. Nothing here panics on any
//! input, which [`fuzz_request_bytes`] lets a fuzzer check.
//!
//! A connection loop looks like:
//!
//! ```text
//! loop {
//!     match parse_request(&buf, &limits)? {
//!         Parsed::Partial => read more into buf,
//!         Parsed::Complete(head, n) => {
//!             buf.drain(..n);
//!             if head.expect_continue { send CONTINUE_100 }
//!             match head.body { None => .., ContentLength(len) => read len bytes,
//!                               Chunked => feed buf to a ChunkedDecoder until done }
//!             handle, write_response_head(..), send;
//!             if !head.keep_alive { close }
//!         }
//!     }
//! }
//! ```

mod chunked;
mod error;
mod framing;
mod head;
mod limits;
mod request;
mod response;

pub use chunked::{ChunkedDecoder, Decoded};
pub use error::HttpError;
pub use head::{BodyKind, Headers, RequestHead};
pub use limits::Limits;
pub use request::{parse_request, Parsed};
pub use response::{
    reason_phrase, write_chunk, write_chunk_header, write_last_chunk, write_response_head,
    DateCache, ResponseBody, CHUNK_END, CONTINUE_100,
};

/// Requests parsed per fuzz input at most, so one input cannot run for long.
const FUZZ_MAX_REQUESTS: usize = 64;

/// Drives the whole request side over arbitrary bytes, the way a connection loop would:
/// parse a head, skip or decode its body, repeat for pipelined requests. Also serialises a
/// response echoing the parsed fields.
///
/// Meant for a fuzz target. Returns quietly on any error or incomplete input; panics only
/// when an internal invariant is broken (a consumed count past the input, a data range
/// outside it, or split input decoding differently from whole input), which is exactly
/// what a fuzzer should report.
pub fn fuzz_request_bytes(data: &[u8]) {
    let limits = Limits::default();
    let mut date = DateCache::new();
    let mut out = Vec::new();
    let mut rest = data;
    for _ in 0..FUZZ_MAX_REQUESTS {
        let (head, consumed) = match parse_request(rest, &limits) {
            Ok(Parsed::Complete(head, consumed)) => (head, consumed),
            Ok(Parsed::Partial) => return,
            Err(e) => {
                assert!(e.status() >= 400, "error status {}", e.status());
                assert!(!e.to_string().is_empty());
                return;
            }
        };
        assert!(
            consumed > 0 && consumed <= rest.len(),
            "consumed {consumed} of {}",
            rest.len()
        );
        let after = rest.get(consumed..).unwrap_or(&[]);
        exercise_head(&head, &mut out, &mut date);
        rest = match head.body {
            BodyKind::None => after,
            BodyKind::ContentLength(len) => {
                let len = usize::try_from(len).unwrap_or(usize::MAX).min(after.len());
                after.get(len..).unwrap_or(&[])
            }
            BodyKind::Chunked => {
                let whole = fuzz_decode(after, &[], &limits);
                let split = fuzz_decode(after, &[after.len() / 2, after.len() / 2 + 1], &limits);
                assert_eq!(whole, split, "split input decoded differently");
                match whole {
                    Ok((_, used, true)) => after.get(used..).unwrap_or(&[]),
                    _ => return,
                }
            }
        };
        if !head.keep_alive {
            return;
        }
    }
}

/// Reads every accessor of `head` and echoes its fields in a response head.
fn exercise_head(head: &RequestHead, out: &mut Vec<u8>, date: &mut DateCache) {
    let _ = (head.path(), head.query(), head.has_body());
    let mut echoed: Vec<(&str, &[u8])> = Vec::with_capacity(head.header_count());
    for (name, value) in head.headers() {
        assert_eq!(
            head.headers_all(name).next().is_some(),
            head.header(name).is_some()
        );
        let _ = head.header_str(name);
        echoed.push((name, value));
    }
    out.clear();
    let body = match head.body {
        BodyKind::None => ResponseBody::Empty,
        BodyKind::ContentLength(n) => ResponseBody::Length(n),
        BodyKind::Chunked => ResponseBody::Chunked,
    };
    write_response_head(out, 200, &echoed, body, !head.keep_alive, date);
    assert!(out.ends_with(b"\r\n\r\n"));
}

/// Decodes a chunked body fed in the pieces given by `cuts`; returns the body data, the
/// bytes used and whether the body ended.
fn fuzz_decode(
    input: &[u8],
    cuts: &[usize],
    limits: &Limits,
) -> Result<(Vec<u8>, usize, bool), HttpError> {
    let mut decoder = ChunkedDecoder::new(limits);
    let mut body = Vec::new();
    let mut used = 0;
    let mut ends: Vec<usize> = cuts.iter().copied().filter(|&c| c <= input.len()).collect();
    ends.push(input.len());
    for end in ends {
        while used < end {
            let piece = input.get(used..end).unwrap_or(&[]);
            let r = decoder.decode(piece)?;
            assert!(r.consumed <= piece.len(), "consumed past the input");
            if let Some(range) = r.data {
                assert!(
                    range.start < range.end && range.end <= r.consumed,
                    "bad data range"
                );
                body.extend_from_slice(piece.get(range).unwrap_or(&[]));
            }
            used += r.consumed;
            if r.done {
                assert!(decoder.is_done());
                return Ok((body, used, true));
            }
            // Only `done` or an error may stop short of the input; anything else would
            // make a connection loop spin.
            assert!(r.consumed > 0, "decoder made no progress");
        }
    }
    Ok((body, used, false))
}

#[cfg(test)]
#[path = "fuzz_tests.rs"]
mod fuzz_tests;

//! Request head parsing on top of `httparse`.
//!
//! [`parse_request`] is called with everything buffered so far. It either needs more bytes
//! ([`Parsed::Partial`]), or returns an owned [`RequestHead`] plus the exact number of bytes
//! the head used, so the body (or a pipelined request) starts right after it.

use std::mem::MaybeUninit;

use http::{Method, Version};

use super::framing::FramingScan;
use super::head::FieldEnd;
use super::{HttpError, Limits, RequestHead};

/// Outcome of [`parse_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// The head is not complete yet: read more bytes and call again with the whole buffer.
    Partial,
    /// A complete head and the number of bytes it occupied at the start of the buffer.
    Complete(RequestHead, usize),
}

/// Header slots kept on the stack; larger `max_headers` settings fall back to the heap.
const STACK_HEADER_SLOTS: usize = 128;

/// Parses a request head from the start of `buf`.
///
/// Leading empty lines are skipped (RFC 9112 §2.2) and count towards the consumed bytes.
/// Errors are final: answer with [`HttpError::status`] and close the connection.
pub fn parse_request(buf: &[u8], limits: &Limits) -> Result<Parsed, HttpError> {
    if limits.max_headers <= STACK_HEADER_SLOTS {
        let mut slots = [MaybeUninit::<httparse::Header<'_>>::uninit(); STACK_HEADER_SLOTS];
        let slots = slots.get_mut(..limits.max_headers).unwrap_or(&mut []);
        parse_with_slots(buf, limits, slots)
    } else {
        let mut slots = vec![MaybeUninit::<httparse::Header<'_>>::uninit(); limits.max_headers];
        parse_with_slots(buf, limits, &mut slots)
    }
}

fn parse_with_slots<'b>(
    buf: &'b [u8],
    limits: &Limits,
    slots: &mut [MaybeUninit<httparse::Header<'b>>],
) -> Result<Parsed, HttpError> {
    let mut req = httparse::Request::new(&mut []);
    let status = req
        .parse_with_uninit_headers(buf, slots)
        .map_err(map_httparse_error)?;
    let consumed = match status {
        httparse::Status::Partial => {
            // Report the most specific limit first: a huge target is a 414, not a 431.
            let target_so_far = match req.path {
                Some(path) => path.len(),
                None if req.method.is_some() => partial_target_len(buf),
                None => 0,
            };
            if target_so_far > limits.max_url_bytes {
                return Err(HttpError::UriTooLong);
            }
            if buf.len() > limits.max_head_bytes {
                return Err(HttpError::HeadTooLarge);
            }
            return Ok(Parsed::Partial);
        }
        httparse::Status::Complete(n) => n,
    };

    // httparse fills every field before returning Complete; a missing one would be a bug
    // there, answered as a bad request rather than a panic here.
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(HttpError::BadRequest("incomplete request line"));
    };
    if target.len() > limits.max_url_bytes {
        return Err(HttpError::UriTooLong);
    }
    if consumed > limits.max_head_bytes {
        return Err(HttpError::HeadTooLarge);
    }
    let method = parse_method(method)?;
    let version = match minor {
        0 => Version::HTTP_10,
        1 => Version::HTTP_11,
        _ => return Err(HttpError::BadRequest("invalid HTTP version")),
    };

    let mut scan = FramingScan::new(version);
    let (names_len, values_len) = req.headers.iter().fold((0usize, 0usize), |(n, v), h| {
        (
            n.saturating_add(h.name.len()),
            v.saturating_add(h.value.len()),
        )
    });
    let mut names = String::with_capacity(names_len);
    let mut values = Vec::with_capacity(values_len);
    let mut fields = Vec::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        scan.field(h.name, h.value)?;
        let start = names.len();
        names.push_str(h.name);
        if let Some(added) = names.get_mut(start..) {
            added.make_ascii_lowercase();
        }
        values.extend_from_slice(h.value);
        fields.push(FieldEnd {
            name: names.len(),
            value: values.len(),
        });
    }
    let framing = scan.finish()?;

    let head = RequestHead {
        method,
        version,
        target: target.to_owned(),
        body: framing.body,
        keep_alive: framing.keep_alive,
        expect_continue: framing.expect_continue,
        names,
        values,
        fields,
    };
    Ok(Parsed::Complete(head, consumed))
}

/// Maps the method token. Only what the S3 API uses is accepted; methods are
/// case-sensitive (RFC 9110 §9.1), so `get` is as unknown as `BREW`.
fn parse_method(token: &str) -> Result<Method, HttpError> {
    Ok(match token {
        "GET" => Method::GET,
        "HEAD" => Method::HEAD,
        "PUT" => Method::PUT,
        "POST" => Method::POST,
        "DELETE" => Method::DELETE,
        "OPTIONS" => Method::OPTIONS,
        _ => return Err(HttpError::UnsupportedMethod),
    })
}

/// Bytes of request target received so far when the request line is still incomplete:
/// everything after the first space that follows the method (leading empty lines skipped).
fn partial_target_len(buf: &[u8]) -> usize {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let line = buf.get(start..).unwrap_or(&[]);
    match line.iter().position(|&b| b == b' ') {
        Some(space) => line.len().saturating_sub(space.saturating_add(1)),
        None => 0,
    }
}

fn map_httparse_error(e: httparse::Error) -> HttpError {
    match e {
        httparse::Error::TooManyHeaders => HttpError::TooManyHeaders,
        httparse::Error::HeaderName => HttpError::BadRequest("invalid header name"),
        httparse::Error::HeaderValue => HttpError::BadRequest("invalid header value"),
        httparse::Error::NewLine => HttpError::BadRequest("invalid line ending"),
        httparse::Error::Version => HttpError::BadRequest("invalid HTTP version"),
        httparse::Error::Token | httparse::Error::Status => {
            HttpError::BadRequest("invalid request line")
        }
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;

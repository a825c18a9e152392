//! Response head and chunk serialisation.
//!
//! Everything appends to a caller-owned `Vec<u8>` so one buffer per connection is reused
//! for every response and small bodies can be appended behind the head for a single write.
//! This module owns the framing headers (`Content-Length`, `Transfer-Encoding`, `Date`,
//! `Connection: close`) so they can never disagree with how the body is actually sent.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The interim response to `Expect: 100-continue`, sent before reading the body.
pub const CONTINUE_100: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// The CRLF that closes each chunk's data; for callers that write a chunk's header with
/// [`write_chunk_header`] and send its data from their own buffer.
pub const CHUNK_END: &[u8] = b"\r\n";

/// How the response body will be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseBody {
    /// No body. Writes `Content-Length: 0`, except for 1xx, 204 and 304, which must not
    /// carry one (RFC 9110 §8.6).
    Empty,
    /// Exactly this many bytes follow. For a `HEAD` response pass the length the `GET`
    /// would have had and send no body.
    Length(u64),
    /// The body follows as chunks ([`write_chunk`], then [`write_last_chunk`]). Only for
    /// HTTP/1.1 clients.
    Chunked,
}

/// Per-thread cache of the `Date` header value (RFC 9110 §6.6.1), reformatted at most once
/// per second: formatting a date costs far more than comparing two integers.
#[derive(Debug, Clone)]
pub struct DateCache {
    /// The second (since the epoch) that `value` shows; `None` before first use.
    second: Option<u64>,
    /// `Sun, 06 Nov 1994 08:49:37 GMT` is always 29 bytes.
    value: [u8; 29],
}

impl Default for DateCache {
    fn default() -> Self {
        Self::new()
    }
}

impl DateCache {
    /// An empty cache; the first use formats the current time.
    pub fn new() -> Self {
        DateCache {
            second: None,
            value: [0; 29],
        }
    }

    /// The `Date` value for now.
    pub fn now(&mut self) -> &[u8] {
        self.at(SystemTime::now())
    }

    /// The `Date` value for `time` (for tests and for callers that already read the clock).
    pub fn at(&mut self, time: SystemTime) -> &[u8] {
        // httpdate panics outside 1970..=9999; a broken clock must not fail responses, so
        // clamp to that range.
        let second = time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .min(LAST_SECOND);
        if self.second != Some(second) {
            let formatted = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(second));
            // Always 29 bytes in 1970..=9999; anything else keeps the previous value.
            if let Ok(value) = <[u8; 29]>::try_from(formatted.as_bytes()) {
                self.value = value;
                self.second = Some(second);
            }
        }
        &self.value
    }
}

/// 9999-12-31T23:59:59Z, the last instant `httpdate` can format.
const LAST_SECOND: u64 = 253_402_300_799;

/// The reason phrase for `status`; an empty phrase is valid HTTP for codes we do not name.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Appends a response head: status line, `Date`, the caller's `headers`, the framing
/// header for `body`, `Connection: close` if `close`, and the blank line.
///
/// `headers` must not include the framing headers this function owns; any
/// `Content-Length`, `Transfer-Encoding` or `Date` there is dropped. As a last defence
/// against response splitting, a field with an invalid name is dropped and CR, LF and NUL
/// in values are written as spaces (both are logged: they are caller bugs).
/// A `status` outside 100..=999 is written as 500.
pub fn write_response_head(
    out: &mut Vec<u8>,
    status: u16,
    headers: &[(&str, &[u8])],
    body: ResponseBody,
    close: bool,
    date: &mut DateCache,
) {
    let status = if (100..=999).contains(&status) {
        status
    } else {
        log::warn!("invalid response status {status}, sending 500");
        500
    };
    let estimate = headers.iter().fold(128usize, |acc, (name, value)| {
        acc.saturating_add(name.len())
            .saturating_add(value.len())
            .saturating_add(4)
    });
    out.reserve(estimate);
    out.extend_from_slice(b"HTTP/1.1 ");
    push_decimal(out, u64::from(status));
    out.push(b' ');
    out.extend_from_slice(reason_phrase(status).as_bytes());
    out.extend_from_slice(b"\r\nDate: ");
    out.extend_from_slice(date.now());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        if name.is_empty() || !name.bytes().all(is_tchar) {
            log::warn!("dropping response header with invalid name {name:?}");
            continue;
        }
        if is_owned_header(name) {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        push_sanitized(out, value);
        out.extend_from_slice(b"\r\n");
    }
    match body {
        ResponseBody::Empty if status < 200 || status == 204 || status == 304 => {}
        ResponseBody::Empty => out.extend_from_slice(b"Content-Length: 0\r\n"),
        ResponseBody::Length(n) => {
            out.extend_from_slice(b"Content-Length: ");
            push_decimal(out, n);
            out.extend_from_slice(b"\r\n");
        }
        ResponseBody::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
    }
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends one chunk. An empty `data` writes nothing, because a zero-size chunk would end
/// the body; use [`write_last_chunk`] for that.
pub fn write_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    write_chunk_header(out, data.len() as u64);
    out.extend_from_slice(data);
    out.extend_from_slice(CHUNK_END);
}

/// Appends only a chunk's size line (`<hex>\r\n`) for `len` bytes of data that the caller
/// sends itself, followed by [`CHUNK_END`]. `len` must not be 0 (that is the last chunk).
pub fn write_chunk_header(out: &mut Vec<u8>, len: u64) {
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    let mut n = len;
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b"0123456789abcdef"
                .get((n & 0xf) as usize)
                .copied()
                .unwrap_or(b'0');
        }
        n >>= 4;
        if n == 0 || i == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(i..).unwrap_or(&[]));
    out.extend_from_slice(b"\r\n");
}

/// Appends the last chunk and an empty trailer section, ending a chunked body.
pub fn write_last_chunk(out: &mut Vec<u8>) {
    out.extend_from_slice(b"0\r\n\r\n");
}

fn is_owned_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("content-length")
        || name.eq_ignore_ascii_case("transfer-encoding")
        || name.eq_ignore_ascii_case("date")
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn push_sanitized(out: &mut Vec<u8>, value: &[u8]) {
    if !value.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)) {
        out.extend_from_slice(value);
        return;
    }
    log::warn!("response header value contains CR, LF or NUL; replaced with spaces");
    out.extend(value.iter().map(|&b| {
        if matches!(b, b'\r' | b'\n' | 0) {
            b' '
        } else {
            b
        }
    }));
}

fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(i..).unwrap_or(&[]));
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;

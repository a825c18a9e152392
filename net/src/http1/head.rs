//! The parsed request head: request line, header fields and the framing facts derived
//! from them.
//!
//! Header storage is flat on purpose: all lowercased names live in one `String` and all
//! raw values in one `Vec<u8>`, with a small table of end offsets. A request with 20 headers
//! then costs four allocations instead of forty, and lookups stay a linear scan over a
//! few hundred contiguous bytes, which beats hashing at these sizes.

use http::{Method, Version};

/// How the request body is delimited on the wire (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body: neither `Content-Length` nor `Transfer-Encoding` was sent. The next byte on
    /// the connection starts the next request.
    None,
    /// Exactly this many body bytes follow the head (may be 0).
    ContentLength(u64),
    /// A `chunked` body follows; decode it with [`ChunkedDecoder`](super::ChunkedDecoder).
    Chunked,
}

/// End offsets of one header field inside [`RequestHead`]'s flat buffers; the start is the
/// previous field's end, so this is all we need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FieldEnd {
    pub(crate) name: usize,
    pub(crate) value: usize,
}

/// A complete, validated request head. Owns its data so the read buffer can be reused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The request method; always one of GET, HEAD, PUT, POST, DELETE, OPTIONS.
    pub method: Method,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: Version,
    /// The request target exactly as sent (path plus optional `?query`), percent-encoding
    /// untouched. Usually origin-form (`/bucket/key?x=y`); may be absolute-form
    /// (`http://host/path`) or `*` for `OPTIONS`.
    pub target: String,
    /// How the body is framed.
    pub body: BodyKind,
    /// Whether the connection may carry another request after this one: HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
    pub keep_alive: bool,
    /// The client sent `Expect: 100-continue` (HTTP/1.1 only; RFC 9110 §10.1.1 says to
    /// ignore it in HTTP/1.0). Send [`CONTINUE_100`](super::CONTINUE_100) before reading the
    /// body, unless answering with a final status straight away.
    pub expect_continue: bool,
    /// Lowercased field names, concatenated.
    pub(crate) names: String,
    /// Raw field values (leading/trailing whitespace already trimmed by httparse), concatenated.
    pub(crate) values: Vec<u8>,
    /// One entry per field, in the order received.
    pub(crate) fields: Vec<FieldEnd>,
}

impl RequestHead {
    /// The path part of the target: everything before the first `?`.
    pub fn path(&self) -> &str {
        match self.target.split_once('?') {
            Some((path, _)) => path,
            None => &self.target,
        }
    }

    /// The query part of the target (after the first `?`, still percent-encoded), if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// The value of the first field named `name` (ASCII case-insensitive), raw bytes.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Like [`header`](Self::header), but only if the value is valid UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The values of every field named `name` (ASCII case-insensitive), in order received.
    pub fn headers_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Every field as `(lowercased name, raw value)`, in the order received.
    pub fn headers(&self) -> Headers<'_> {
        Headers {
            head: self,
            index: 0,
            name_start: 0,
            value_start: 0,
        }
    }

    /// The number of header fields.
    pub fn header_count(&self) -> usize {
        self.fields.len()
    }

    /// Whether the request carries a body that must be read (or discarded) before the next
    /// request on this connection can be parsed.
    pub fn has_body(&self) -> bool {
        match self.body {
            BodyKind::None | BodyKind::ContentLength(0) => false,
            BodyKind::ContentLength(_) | BodyKind::Chunked => true,
        }
    }
}

/// Iterator over a [`RequestHead`]'s fields; see [`RequestHead::headers`].
#[derive(Debug, Clone)]
pub struct Headers<'a> {
    head: &'a RequestHead,
    index: usize,
    name_start: usize,
    value_start: usize,
}

impl<'a> Iterator for Headers<'a> {
    type Item = (&'a str, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let end = *self.head.fields.get(self.index)?;
        self.index += 1;
        // The offsets were produced by the parser and are always in bounds and on ASCII
        // boundaries; `get` keeps that a non-panicking invariant rather than a promise.
        let name = self.head.names.get(self.name_start..end.name).unwrap_or("");
        let value = self
            .head
            .values
            .get(self.value_start..end.value)
            .unwrap_or(&[]);
        self.name_start = end.name;
        self.value_start = end.value;
        Some((name, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.head.fields.len().saturating_sub(self.index);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Headers<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(fields: &[(&str, &[u8])], target: &str) -> RequestHead {
        let mut h = RequestHead {
            method: Method::GET,
            version: Version::HTTP_11,
            target: target.to_string(),
            body: BodyKind::None,
            keep_alive: true,
            expect_continue: false,
            names: String::new(),
            values: Vec::new(),
            fields: Vec::new(),
        };
        for (n, v) in fields {
            h.names.push_str(n);
            h.values.extend_from_slice(v);
            h.fields.push(FieldEnd {
                name: h.names.len(),
                value: h.values.len(),
            });
        }
        h
    }

    #[test]
    fn lookups_are_case_insensitive_and_ordered() {
        let h = head(
            &[
                ("host", b"a"),
                ("x-amz-meta-k", b"1"),
                ("x-amz-meta-k", b"2"),
            ],
            "/",
        );
        assert_eq!(h.header("HOST"), Some(&b"a"[..]));
        assert_eq!(h.header_str("X-Amz-Meta-K"), Some("1"));
        let all: Vec<_> = h.headers_all("x-amz-meta-k").collect();
        assert_eq!(all, vec![&b"1"[..], &b"2"[..]]);
        assert_eq!(h.header("missing"), None);
        assert_eq!(h.header_count(), 3);
        assert_eq!(h.headers().len(), 3);
    }

    #[test]
    fn empty_values_and_non_utf8() {
        let h = head(&[("a", b""), ("b", b"\xff\xfe")], "/");
        assert_eq!(h.header("a"), Some(&b""[..]));
        assert_eq!(h.header("b"), Some(&b"\xff\xfe"[..]));
        assert_eq!(h.header_str("b"), None);
    }

    #[test]
    fn path_and_query() {
        let h = head(&[], "/b/k%20x?uploads&x=1?2");
        assert_eq!(h.path(), "/b/k%20x");
        assert_eq!(h.query(), Some("uploads&x=1?2"));
        let h = head(&[], "/b");
        assert_eq!(h.path(), "/b");
        assert_eq!(h.query(), None);
    }

    #[test]
    fn has_body() {
        let mut h = head(&[], "/");
        assert!(!h.has_body());
        h.body = BodyKind::ContentLength(0);
        assert!(!h.has_body());
        h.body = BodyKind::ContentLength(1);
        assert!(h.has_body());
        h.body = BodyKind::Chunked;
        assert!(h.has_body());
    }
}

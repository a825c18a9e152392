//! Client-side HTTP/1.1 response framing, sans-I/O: where the head ends, how long the body
//! is, whether the connection stays open. [`super::conn`] feeds it bytes from the socket.
//!
//! Chunked bodies are decoded with the server's own [`leofs_net::http1::ChunkedDecoder`]
//! (the transfer coding is the same in both directions).

/// Most header fields a response may carry.
const MAX_HEADERS: usize = 64;
/// Largest response head accepted: a server sending more is broken, not slow.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How the body of a response is delimited (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyLen {
    /// No body: HEAD, 1xx, 204, 304.
    None,
    /// `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Neither: the body runs until the server closes.
    UntilClose,
}

/// What the head of a response says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    /// Bytes of the head, the final blank line included: the body starts here.
    pub head_len: usize,
    pub body: BodyLen,
    /// The server will close the connection after this response.
    pub close: bool,
    /// Where the `ETag` header's value lies in the parsed buffer (start, end).
    pub etag: Option<(usize, usize)>,
}

/// Parses a response head at the start of `buf`. `Ok(None)`: incomplete, read more.
/// `head_request`: the request was HEAD, so a `Content-Length` describes no body.
pub fn parse_head(buf: &[u8], head_request: bool) -> Result<Option<ResponseHead>, String> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut r = httparse::Response::new(&mut headers);
    let head_len = match r.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD_BYTES => {
            return Err(format!("response head over {MAX_HEAD_BYTES} bytes"))
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("bad response head: {e}")),
    };
    let status = r.code.unwrap_or(0);
    let http10 = r.version == Some(0);
    let mut length: Option<u64> = None;
    let mut chunked = false;
    // HTTP/1.0 closes unless it says keep-alive; HTTP/1.1 stays open unless it says close.
    let mut close = http10;
    let mut etag = None;
    for h in r.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let v = std::str::from_utf8(h.value)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    format!("bad Content-Length {:?}", String::from_utf8_lossy(h.value))
                })?;
            if length.is_some_and(|l| l != v) {
                return Err("conflicting Content-Length headers".into());
            }
            length = Some(v);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            // Only the last coding frames the body.
            let last = h.value.rsplit(|&b| b == b',').next().unwrap_or(&[]);
            chunked = last.trim_ascii().eq_ignore_ascii_case(b"chunked");
        } else if h.name.eq_ignore_ascii_case("etag") {
            // httparse's values are slices of `buf`: keep the offsets, not a copy.
            let start = (h.value.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
            let end = start.wrapping_add(h.value.len());
            etag = (start <= end && end <= buf.len()).then_some((start, end));
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|&b| b == b',') {
                let t = token.trim_ascii();
                if t.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if t.eq_ignore_ascii_case(b"keep-alive") && http10 {
                    close = false;
                }
            }
        }
    }
    let body = if head_request || (100..200).contains(&status) || status == 204 || status == 304 {
        BodyLen::None
    } else if chunked {
        BodyLen::Chunked
    } else if let Some(n) = length {
        BodyLen::Length(n)
    } else {
        close = true;
        BodyLen::UntilClose
    };
    Ok(Some(ResponseHead {
        status,
        head_len,
        body,
        close,
        etag,
    }))
}

/// The text of the first `<Code>` element of an S3 error body, if any.
pub fn s3_error_code(body: &[u8]) -> Option<&str> {
    xml_element(body, "Code")
}

/// The raw text of the first `<name>…</name>` in `xml` (no nesting, no entities decoded):
/// enough for the flat elements of S3 responses.
pub fn xml_element<'a>(xml: &'a [u8], name: &str) -> Option<&'a str> {
    let text = std::str::from_utf8(xml).ok()?;
    let open = format!("<{name}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find("</")? + start;
    Some(&text[start..end])
}

/// Decodes the five predefined XML entities (S3 keys and tokens in listings may hold them).
pub fn xml_unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &str, head_request: bool) -> ResponseHead {
        parse_head(raw.as_bytes(), head_request).unwrap().unwrap()
    }

    #[test]
    fn content_length_and_keep_alive() {
        let raw = "HTTP/1.1 200 OK\r\nContent-Length: 4096\r\nETag: \"x\"\r\n\r\nbody";
        let h = head(raw, false);
        assert_eq!(h.status, 200);
        assert_eq!(h.body, BodyLen::Length(4096));
        assert_eq!(h.head_len, raw.len() - 4);
        assert!(!h.close);
        let (a, b) = h.etag.unwrap();
        assert_eq!(&raw[a..b], "\"x\"");
        // The same head for a HEAD request has no body.
        assert_eq!(head(raw, true).body, BodyLen::None);
    }

    #[test]
    fn partial_heads_ask_for_more() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n";
        for cut in 0..raw.len() {
            assert_eq!(parse_head(&raw[..cut], false).unwrap(), None, "cut {cut}");
        }
        assert!(parse_head(raw, false).unwrap().is_some());
        let huge = vec![b'a'; MAX_HEAD_BYTES + 1];
        let mut big = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        big.extend_from_slice(&huge);
        assert!(parse_head(&big, false).is_err());
    }

    #[test]
    fn chunked_close_and_bodyless_statuses() {
        let h = head(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            false,
        );
        assert_eq!(h.body, BodyLen::Chunked);
        let h = head(
            "HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n",
            false,
        );
        assert!(h.close);
        assert_eq!(h.body, BodyLen::Length(0));
        let h = head(
            "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
            false,
        );
        assert_eq!((h.body, h.etag), (BodyLen::None, None));
        let h = head("HTTP/1.1 200 OK\r\n\r\n", false);
        assert_eq!((h.body, h.close), (BodyLen::UntilClose, true));
        let h = head("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false);
        assert!(h.close);
        let h = head(
            "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\n",
            false,
        );
        assert!(!h.close);
    }

    #[test]
    fn malformed_heads_are_errors() {
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false).is_err());
        assert!(parse_head(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            false
        )
        .is_err());
        assert!(parse_head(b"HTTP/1.1 2000 OK\r\n\r\n", false).is_err());
        assert!(parse_head(b"garbage\r\n\r\n", false).is_err());
    }

    #[test]
    fn s3_error_bodies_and_elements() {
        let body =
            b"<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>m</Message></Error>";
        assert_eq!(s3_error_code(body), Some("NoSuchKey"));
        assert_eq!(s3_error_code(b"<html>nope</html>"), None);
        let list = b"<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>a&amp;b</NextContinuationToken></ListBucketResult>";
        assert_eq!(xml_element(list, "IsTruncated"), Some("true"));
        let token = xml_element(list, "NextContinuationToken").unwrap();
        assert_eq!(xml_unescape(token), "a&b");
        assert_eq!(xml_unescape("&amp;lt;"), "&lt;");
    }
}

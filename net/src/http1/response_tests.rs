//! Tests for response serialisation; kept apart so response.rs stays short.

use std::time::Duration;

use super::*;

/// Writes a head and returns it with the (time-dependent) Date value replaced by `<date>`.
fn head(status: u16, headers: &[(&str, &[u8])], body: ResponseBody, close: bool) -> String {
    let mut out = b"prefix|".to_vec();
    let mut date = DateCache::new();
    write_response_head(&mut out, status, headers, body, close, &mut date);
    let text = String::from_utf8(out).unwrap();
    let text = text
        .strip_prefix("prefix|")
        .expect("appends, never clears")
        .to_string();
    let start = text.find("\r\nDate: ").expect("Date header") + 8;
    let value = &text[start..start + 29];
    assert!(value.ends_with(" GMT"), "{value}");
    assert!(httpdate::parse_http_date(value).is_ok(), "{value}");
    format!("{}<date>{}", &text[..start], &text[start + 29..])
}

#[test]
fn ok_with_length() {
    let h = head(
        200,
        &[("ETag", b"\"abc\""), ("x-amz-request-id", b"42")],
        ResponseBody::Length(1234),
        false,
    );
    assert_eq!(
        h,
        "HTTP/1.1 200 OK\r\nDate: <date>\r\nETag: \"abc\"\r\nx-amz-request-id: 42\r\nContent-Length: 1234\r\n\r\n"
    );
}

#[test]
fn chunked_and_close() {
    let h = head(206, &[], ResponseBody::Chunked, true);
    assert_eq!(
        h,
        "HTTP/1.1 206 Partial Content\r\nDate: <date>\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
}

#[test]
fn empty_bodies() {
    assert_eq!(
        head(404, &[], ResponseBody::Empty, false),
        "HTTP/1.1 404 Not Found\r\nDate: <date>\r\nContent-Length: 0\r\n\r\n"
    );
    assert_eq!(
        head(204, &[], ResponseBody::Empty, false),
        "HTTP/1.1 204 No Content\r\nDate: <date>\r\n\r\n"
    );
    assert_eq!(
        head(304, &[], ResponseBody::Empty, false),
        "HTTP/1.1 304 Not Modified\r\nDate: <date>\r\n\r\n"
    );
    assert_eq!(
        head(100, &[], ResponseBody::Empty, false),
        "HTTP/1.1 100 Continue\r\nDate: <date>\r\n\r\n"
    );
    assert_eq!(
        head(200, &[], ResponseBody::Length(u64::MAX), false),
        "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Length: 18446744073709551615\r\n\r\n"
    );
    assert_eq!(
        head(200, &[], ResponseBody::Length(0), false),
        "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Length: 0\r\n\r\n"
    );
}

#[test]
fn owned_and_invalid_headers_are_dropped_or_sanitised() {
    let h = head(
        500,
        &[
            ("content-length", b"9"),
            ("Transfer-Encoding", b"gzip"),
            ("DATE", b"x"),
            ("Bad Name", b"x"),
            ("", b"x"),
            ("X-Split", b"a\r\nSet-Cookie: evil\0"),
            ("X-Utf8", "é".as_bytes()),
        ],
        ResponseBody::Empty,
        false,
    );
    assert_eq!(
        h,
        "HTTP/1.1 500 Internal Server Error\r\nDate: <date>\r\nX-Split: a  Set-Cookie: evil \r\nX-Utf8: é\r\nContent-Length: 0\r\n\r\n"
    );
}

#[test]
fn status_codes_and_reasons() {
    for code in [
        200, 204, 206, 304, 400, 403, 404, 405, 409, 411, 412, 413, 414, 416, 417, 431, 500, 501,
        503,
    ] {
        assert!(!reason_phrase(code).is_empty(), "{code}");
    }
    assert_eq!(reason_phrase(599), "");
    assert!(head(599, &[], ResponseBody::Empty, false).starts_with("HTTP/1.1 599 \r\n"));
    assert!(head(0, &[], ResponseBody::Empty, false)
        .starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
    assert!(head(1000, &[], ResponseBody::Empty, false).starts_with("HTTP/1.1 500 "));
    assert!(head(999, &[], ResponseBody::Empty, false).starts_with("HTTP/1.1 999 \r\n"));
}

#[test]
fn chunks() {
    let mut out = Vec::new();
    write_chunk(&mut out, b"hello");
    write_chunk(&mut out, b"");
    write_chunk(&mut out, &[b'x'; 26]);
    write_last_chunk(&mut out);
    let mut want = b"5\r\nhello\r\n1a\r\n".to_vec();
    want.extend_from_slice(&[b'x'; 26]);
    want.extend_from_slice(b"\r\n0\r\n\r\n");
    assert_eq!(out, want);
    // What we write, our decoder reads back.
    let mut d = crate::http1::ChunkedDecoder::new(&crate::http1::Limits::default());
    let r = d.decode(&out).unwrap();
    assert_eq!(r.data, Some(3..8));

    let mut out = Vec::new();
    write_chunk_header(&mut out, u64::MAX);
    write_chunk_header(&mut out, 1);
    write_chunk_header(&mut out, 0x10);
    assert_eq!(out, b"ffffffffffffffff\r\n1\r\n10\r\n");
    assert_eq!(CONTINUE_100, b"HTTP/1.1 100 Continue\r\n\r\n");
}

#[test]
fn date_cache() {
    let mut c = DateCache::default();
    let t = UNIX_EPOCH + Duration::from_secs(784_111_777);
    assert_eq!(c.at(t), b"Sun, 06 Nov 1994 08:49:37 GMT");
    // Same second: the cached value is reused.
    assert_eq!(
        c.at(t + Duration::from_millis(900)),
        b"Sun, 06 Nov 1994 08:49:37 GMT"
    );
    assert_eq!(
        c.at(t + Duration::from_secs(1)),
        b"Sun, 06 Nov 1994 08:49:38 GMT"
    );
    // Broken clocks are clamped, not panicked on.
    assert_eq!(
        c.at(UNIX_EPOCH - Duration::from_secs(5)),
        b"Thu, 01 Jan 1970 00:00:00 GMT"
    );
    assert_eq!(
        c.at(UNIX_EPOCH + Duration::from_secs(u64::MAX / 4)),
        b"Fri, 31 Dec 9999 23:59:59 GMT"
    );
    assert_eq!(c.now().len(), 29);
}

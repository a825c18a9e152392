//! Tests for [`parse_request`](super::parse_request); kept apart so request.rs stays short.

use super::*;
use crate::http1::BodyKind;

fn limits() -> Limits {
    Limits::default()
}

fn complete(buf: &[u8]) -> (RequestHead, usize) {
    match parse_request(buf, &limits()) {
        Ok(Parsed::Complete(h, n)) => (h, n),
        other => panic!(
            "expected Complete for {:?}, got {other:?}",
            String::from_utf8_lossy(buf)
        ),
    }
}

fn error(buf: &[u8]) -> HttpError {
    error_with(buf, &limits())
}

fn error_with(buf: &[u8], l: &Limits) -> HttpError {
    match parse_request(buf, l) {
        Err(e) => e,
        other => panic!(
            "expected an error for {:?}, got {other:?}",
            String::from_utf8_lossy(buf)
        ),
    }
}

#[test]
fn simple_get() {
    let buf = b"GET /bucket/key%20a?list-type=2&prefix=a%2Fb HTTP/1.1\r\nHost: s3.local\r\nUser-Agent: t\r\n\r\n";
    let (h, n) = complete(buf);
    assert_eq!(n, buf.len());
    assert_eq!(h.method, Method::GET);
    assert_eq!(h.version, Version::HTTP_11);
    assert_eq!(h.target, "/bucket/key%20a?list-type=2&prefix=a%2Fb");
    assert_eq!(h.path(), "/bucket/key%20a");
    assert_eq!(h.query(), Some("list-type=2&prefix=a%2Fb"));
    assert_eq!(h.body, BodyKind::None);
    assert!(h.keep_alive);
    assert!(!h.expect_continue);
    assert_eq!(h.header("host"), Some(&b"s3.local"[..]));
    let names: Vec<_> = h.headers().map(|(n, _)| n).collect();
    assert_eq!(names, ["host", "user-agent"]);
}

#[test]
fn all_supported_methods() {
    for (tok, m) in [
        ("GET", Method::GET),
        ("HEAD", Method::HEAD),
        ("PUT", Method::PUT),
        ("POST", Method::POST),
        ("DELETE", Method::DELETE),
        ("OPTIONS", Method::OPTIONS),
    ] {
        let buf = format!("{tok} / HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(complete(buf.as_bytes()).0.method, m);
    }
    for tok in ["get", "PATCH", "BREW", "CONNECT", "TRACE"] {
        let buf = format!("{tok} / HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(error(buf.as_bytes()), HttpError::UnsupportedMethod, "{tok}");
    }
    assert!(matches!(
        error(b"G\x01T / HTTP/1.1\r\n\r\n"),
        HttpError::BadRequest(_)
    ));
    assert!(matches!(
        error(b"\x16\x03\x01\x02\x00\x01\x00"),
        HttpError::BadRequest(_)
    ));
}

#[test]
fn put_with_body_and_expect() {
    let buf =
        b"PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello";
    let (h, n) = complete(buf);
    assert_eq!(h.body, BodyKind::ContentLength(5));
    assert!(h.expect_continue);
    assert_eq!(buf.get(n..), Some(&b"hello"[..]));
}

#[test]
fn chunked_request() {
    let buf = b"PUT /b/k HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    let (h, n) = complete(buf);
    assert_eq!(h.body, BodyKind::Chunked);
    assert!(buf.get(n..).is_some_and(|rest| rest.starts_with(b"5\r\n")));
}

#[test]
fn pipelined_requests() {
    let buf = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nDELETE /b HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\nHEAD /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /d";
    let mut rest = &buf[..];
    let mut seen = Vec::new();
    while let Parsed::Complete(h, n) = parse_request(rest, &limits()).unwrap() {
        seen.push((h.method.clone(), h.target.clone(), h.keep_alive));
        rest = &rest[n..];
    }
    assert_eq!(
        seen,
        [
            (Method::GET, "/a".to_string(), true),
            (Method::DELETE, "/b".to_string(), true),
            (Method::HEAD, "/c".to_string(), false),
        ]
    );
    assert_eq!(rest, b"GET /d");
}

#[test]
fn split_at_every_byte_boundary() {
    let buf = b"PUT /b/k?partNumber=1&uploadId=x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nx-amz-meta-a: \xc3\xa9t\xe9\r\n\r\nabc";
    let (whole, n) = complete(buf);
    for cut in 0..n {
        assert_eq!(
            parse_request(&buf[..cut], &limits()),
            Ok(Parsed::Partial),
            "cut at {cut}"
        );
    }
    for end in n..=buf.len() {
        assert_eq!(
            parse_request(&buf[..end], &limits()),
            Ok(Parsed::Complete(whole.clone(), n))
        );
    }
}

#[test]
fn raw_header_values_are_kept() {
    let buf =
        b"GET / HTTP/1.1\r\nHost: h\r\nX-Amz-Meta-Name:   caf\xc3\xa9 \xff  \r\nX-Empty:\r\n\r\n";
    let (h, _) = complete(buf);
    assert_eq!(h.header("x-amz-meta-name"), Some(&b"caf\xc3\xa9 \xff"[..]));
    assert_eq!(h.header_str("X-AMZ-META-NAME"), None);
    assert_eq!(h.header("x-empty"), Some(&b""[..]));
}

#[test]
fn repeated_headers_and_lookup() {
    let buf = b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\nX-B: 3\r\n\r\n";
    let (h, _) = complete(buf);
    assert_eq!(
        h.headers_all("X-A").collect::<Vec<_>>(),
        [&b"1"[..], &b"2"[..]]
    );
    assert_eq!(h.header_str("x-b"), Some("3"));
    assert_eq!(h.header_count(), 4);
}

#[test]
fn http10_and_leading_empty_lines() {
    let buf = b"\r\n\r\nGET / HTTP/1.0\r\n\r\n";
    let (h, n) = complete(buf);
    assert_eq!(n, buf.len());
    assert_eq!(h.version, Version::HTTP_10);
    assert!(!h.keep_alive);
    let (h, _) = complete(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert!(h.keep_alive);
}

#[test]
fn framing_errors_surface() {
    assert_eq!(
        error(
            b"PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
        ),
        HttpError::BadRequest("both Transfer-Encoding and Content-Length")
    );
    assert_eq!(
        error(b"PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n"),
        HttpError::UnsupportedTransferEncoding
    );
    assert_eq!(
        error(b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"),
        HttpError::BadRequest("conflicting Content-Length values")
    );
    assert_eq!(
        error(b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 3a\r\n\r\n"),
        HttpError::BadRequest("invalid Content-Length")
    );
    assert_eq!(
        error(b"PUT / HTTP/1.1\r\nHost: h\r\nExpect: 101-switch\r\n\r\n"),
        HttpError::ExpectationFailed
    );
    assert_eq!(
        error(b"GET / HTTP/1.1\r\n\r\n"),
        HttpError::BadRequest("missing Host header")
    );
}

#[test]
fn syntax_errors() {
    for buf in [
        &b"GET / HTTP/2.0\r\n\r\n"[..],
        b"GET / HTTP/1.2\r\n\r\n",
        b"GET / FTP/1.1\r\n\r\n",
        b"GET  / HTTP/1.1\r\n\r\n",
        b"GET /a b HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost : h\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad\x00Name: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
        b"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
        b"GET /\xff HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\r\n",
    ] {
        assert!(
            matches!(error(buf), HttpError::BadRequest(_)),
            "{:?}",
            String::from_utf8_lossy(buf)
        );
    }
}

#[test]
fn uri_too_long() {
    let l = Limits {
        max_url_bytes: 16,
        ..Limits::default()
    };
    let ok = b"GET /0123456789abcde HTTP/1.1\r\nHost: h\r\n\r\n";
    assert!(matches!(parse_request(ok, &l), Ok(Parsed::Complete(..))));
    let long = b"GET /0123456789abcdef HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_eq!(error_with(long, &l), HttpError::UriTooLong);
    // Still receiving the target: detected before the request line ends.
    assert_eq!(
        error_with(b"GET /0123456789abcdefgh", &l),
        HttpError::UriTooLong
    );
    assert_eq!(
        error_with(b"\r\nGET /0123456789abcdefgh", &l),
        HttpError::UriTooLong
    );
    assert_eq!(
        parse_request(b"GET /0123456789abcde", &l),
        Ok(Parsed::Partial)
    );
    // Target complete, rest of head still coming.
    assert_eq!(
        error_with(b"GET /0123456789abcdef HTTP/1.1\r\nHo", &l),
        HttpError::UriTooLong
    );
    // Default limits: a 9 KiB target is a 414 even though the head fits in 16 KiB.
    let big = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(9 * 1024));
    assert_eq!(error(big.as_bytes()), HttpError::UriTooLong);
}

#[test]
fn too_many_headers() {
    let l = Limits {
        max_headers: 3,
        ..Limits::default()
    };
    let ok = b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n";
    assert!(matches!(parse_request(ok, &l), Ok(Parsed::Complete(..))));
    let over = b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    assert_eq!(error_with(over, &l), HttpError::TooManyHeaders);
    let mut many = String::from("GET / HTTP/1.1\r\nHost: h\r\n");
    for i in 0..100 {
        many.push_str(&format!("x-{i}: v\r\n"));
    }
    many.push_str("\r\n");
    assert_eq!(error(many.as_bytes()), HttpError::TooManyHeaders);
    let none = Limits {
        max_headers: 0,
        ..Limits::default()
    };
    assert!(matches!(
        parse_request(b"GET / HTTP/1.0\r\n\r\n", &none),
        Ok(Parsed::Complete(..))
    ));
}

#[test]
fn heap_header_slots_for_large_limits() {
    let l = Limits {
        max_headers: 300,
        max_head_bytes: 64 * 1024,
        ..Limits::default()
    };
    let mut many = String::from("GET / HTTP/1.1\r\nHost: h\r\n");
    for i in 0..250 {
        many.push_str(&format!("x-{i}: v{i}\r\n"));
    }
    many.push_str("\r\n");
    match parse_request(many.as_bytes(), &l) {
        Ok(Parsed::Complete(h, n)) => {
            assert_eq!(n, many.len());
            assert_eq!(h.header_count(), 251);
            assert_eq!(h.header_str("x-249"), Some("v249"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn head_too_large() {
    let l = Limits {
        max_head_bytes: 64,
        ..Limits::default()
    };
    let mut buf = b"GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ".to_vec();
    buf.extend(std::iter::repeat_n(b'a', 40));
    // Partial and over the limit.
    assert_eq!(error_with(&buf, &l), HttpError::HeadTooLarge);
    // Complete but over the limit.
    buf.extend_from_slice(b"\r\n\r\n");
    assert_eq!(error_with(&buf, &l), HttpError::HeadTooLarge);
    // Endless empty lines are bounded too.
    assert_eq!(error_with(&[b'\n'; 65], &l), HttpError::HeadTooLarge);
    // A complete head within the limit followed by a large body is fine.
    let mut ok = b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n".to_vec();
    ok.extend(std::iter::repeat_n(b'x', 100));
    assert!(matches!(
        parse_request(&ok, &l),
        Ok(Parsed::Complete(_, 48))
    ));
}

#[test]
fn empty_and_tiny_buffers_are_partial() {
    for buf in [
        &b""[..],
        b"G",
        b"\r\n",
        b"GET",
        b"GET ",
        b"GET / HTTP/1.1\r\n",
    ] {
        assert_eq!(
            parse_request(buf, &limits()),
            Ok(Parsed::Partial),
            "{buf:?}"
        );
    }
}

//! Derives framing facts (body length, persistence, expectations) from the header fields
//! while they are copied, in a single pass.
//!
//! The rules follow RFC 9112 §6 and §9.3 and RFC 9110 §10.1.1, resolved towards strictness
//! wherever a lenient reading lets a front proxy and this server disagree on where a
//! request ends (request smuggling): both `Transfer-Encoding` and `Content-Length` is an
//! error, differing `Content-Length` values are an error, and only `chunked` is accepted.

use http::Version;

use super::{BodyKind, HttpError};

/// What the scan concluded once every field was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Framing {
    pub(crate) body: BodyKind,
    pub(crate) keep_alive: bool,
    pub(crate) expect_continue: bool,
}

/// Accumulates the framing-relevant fields of one head.
#[derive(Debug)]
pub(crate) struct FramingScan {
    version: Version,
    transfer_encoding: bool,
    chunked_count: u32,
    content_length: Option<u64>,
    close: bool,
    keep_alive: bool,
    expect_continue: bool,
    host_count: u32,
}

/// Splits a field value into list elements (RFC 9110 §5.6.1), trimming optional whitespace.
/// Empty elements are yielded too; callers decide whether they matter.
fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim_ows)
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Parses `1*DIGIT` into a u64, rejecting signs, whitespace, empty input and overflow.
fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

impl FramingScan {
    pub(crate) fn new(version: Version) -> Self {
        FramingScan {
            version,
            transfer_encoding: false,
            chunked_count: 0,
            content_length: None,
            close: false,
            keep_alive: false,
            expect_continue: false,
            host_count: 0,
        }
    }

    /// Looks at one field. `name` may be in any case.
    pub(crate) fn field(&mut self, name: &str, value: &[u8]) -> Result<(), HttpError> {
        // Cheap first-byte/length filter: most fields (x-amz-*, authorization, ...) are
        // not framing-related and should cost as little as possible.
        match name.len() {
            4 if name.eq_ignore_ascii_case("host") => {
                self.host_count = self.host_count.saturating_add(1);
            }
            6 if name.eq_ignore_ascii_case("expect") => self.expect(value)?,
            10 if name.eq_ignore_ascii_case("connection") => self.connection(value),
            14 if name.eq_ignore_ascii_case("content-length") => self.content_length(value)?,
            17 if name.eq_ignore_ascii_case("transfer-encoding") => {
                self.transfer_encoding(value)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn transfer_encoding(&mut self, value: &[u8]) -> Result<(), HttpError> {
        self.transfer_encoding = true;
        for coding in list_elements(value) {
            if coding.is_empty() {
                continue;
            }
            if coding.eq_ignore_ascii_case(b"chunked") {
                self.chunked_count = self.chunked_count.saturating_add(1);
            } else {
                // gzip, deflate, chunked with parameters, garbage: we cannot find the end
                // of such a body, so refuse it outright.
                return Err(HttpError::UnsupportedTransferEncoding);
            }
        }
        Ok(())
    }

    fn content_length(&mut self, value: &[u8]) -> Result<(), HttpError> {
        // `Content-Length: 42, 42` and repeated identical fields are tolerated (RFC 9110
        // §8.6 allows either that or rejection); anything that could mean two lengths is not.
        for element in list_elements(value) {
            let n =
                parse_decimal(element).ok_or(HttpError::BadRequest("invalid Content-Length"))?;
            match self.content_length {
                Some(prev) if prev != n => {
                    return Err(HttpError::BadRequest("conflicting Content-Length values"));
                }
                _ => self.content_length = Some(n),
            }
        }
        Ok(())
    }

    fn connection(&mut self, value: &[u8]) {
        for option in list_elements(value) {
            if option.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if option.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            }
        }
    }

    fn expect(&mut self, value: &[u8]) -> Result<(), HttpError> {
        if self.version == Version::HTTP_10 {
            // RFC 9110 §10.1.1: an HTTP/1.0 request's expectation MUST be ignored.
            return Ok(());
        }
        for expectation in list_elements(value) {
            if expectation.is_empty() {
                continue;
            }
            if expectation.eq_ignore_ascii_case(b"100-continue") {
                self.expect_continue = true;
            } else {
                return Err(HttpError::ExpectationFailed);
            }
        }
        Ok(())
    }

    /// Applies the cross-field rules once every field was seen.
    pub(crate) fn finish(self) -> Result<Framing, HttpError> {
        let http11 = self.version == Version::HTTP_11;
        if http11 && self.host_count == 0 {
            // RFC 9112 §3.2: MUST answer 400 to an HTTP/1.1 request without Host.
            return Err(HttpError::BadRequest("missing Host header"));
        }
        if self.host_count > 1 {
            return Err(HttpError::BadRequest("more than one Host header"));
        }
        let body = if self.transfer_encoding {
            if self.content_length.is_some() {
                return Err(HttpError::BadRequest(
                    "both Transfer-Encoding and Content-Length",
                ));
            }
            if !http11 {
                // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing.
                return Err(HttpError::BadRequest(
                    "Transfer-Encoding in an HTTP/1.0 request",
                ));
            }
            match self.chunked_count {
                0 => return Err(HttpError::BadRequest("empty Transfer-Encoding")),
                1 => BodyKind::Chunked,
                _ => return Err(HttpError::BadRequest("chunked applied more than once")),
            }
        } else {
            match self.content_length {
                Some(n) => BodyKind::ContentLength(n),
                None => BodyKind::None,
            }
        };
        let keep_alive = if http11 {
            !self.close
        } else {
            self.keep_alive && !self.close
        };
        Ok(Framing {
            body,
            keep_alive,
            expect_continue: self.expect_continue,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(version: Version, fields: &[(&str, &str)]) -> Result<Framing, HttpError> {
        let mut s = FramingScan::new(version);
        for (n, v) in fields {
            s.field(n, v.as_bytes())?;
        }
        s.finish()
    }

    fn scan11(fields: &[(&str, &str)]) -> Result<Framing, HttpError> {
        let mut all = vec![("Host", "h")];
        all.extend_from_slice(fields);
        scan(Version::HTTP_11, &all)
    }

    #[test]
    fn body_kinds() {
        assert_eq!(scan11(&[]).map(|f| f.body), Ok(BodyKind::None));
        assert_eq!(
            scan11(&[("content-length", "0")]).map(|f| f.body),
            Ok(BodyKind::ContentLength(0))
        );
        assert_eq!(
            scan11(&[("Content-Length", "18446744073709551615")]).map(|f| f.body),
            Ok(BodyKind::ContentLength(u64::MAX))
        );
        assert_eq!(
            scan11(&[("Transfer-Encoding", "Chunked")]).map(|f| f.body),
            Ok(BodyKind::Chunked)
        );
        assert_eq!(
            scan11(&[("transfer-encoding", " , chunked")]).map(|f| f.body),
            Ok(BodyKind::Chunked)
        );
    }

    #[test]
    fn content_length_rules() {
        let bad = HttpError::BadRequest("invalid Content-Length");
        for v in [
            "",
            "+1",
            "-1",
            "1 2",
            "0x10",
            "١",
            "18446744073709551616",
            "1,",
            " 1 ,",
        ] {
            assert_eq!(scan11(&[("content-length", v)]), Err(bad), "{v:?}");
        }
        let same = scan11(&[("content-length", "5, 5"), ("Content-Length", "5")]);
        assert_eq!(same.map(|f| f.body), Ok(BodyKind::ContentLength(5)));
        assert_eq!(
            scan11(&[("content-length", "5"), ("content-length", "6")]),
            Err(HttpError::BadRequest("conflicting Content-Length values"))
        );
        assert_eq!(
            scan11(&[("content-length", "5,6")]),
            Err(HttpError::BadRequest("conflicting Content-Length values"))
        );
    }

    #[test]
    fn transfer_encoding_rules() {
        let both = scan11(&[("transfer-encoding", "chunked"), ("content-length", "3")]);
        assert_eq!(
            both,
            Err(HttpError::BadRequest(
                "both Transfer-Encoding and Content-Length"
            ))
        );
        for v in [
            "gzip",
            "gzip, chunked",
            "chunked, gzip",
            "chunked;q=1",
            "identity",
        ] {
            let r = scan11(&[("transfer-encoding", v)]);
            assert_eq!(r, Err(HttpError::UnsupportedTransferEncoding), "{v}");
        }
        let twice = scan11(&[
            ("transfer-encoding", "chunked"),
            ("transfer-encoding", "chunked"),
        ]);
        assert_eq!(
            twice,
            Err(HttpError::BadRequest("chunked applied more than once"))
        );
        assert_eq!(
            scan11(&[("transfer-encoding", "")]),
            Err(HttpError::BadRequest("empty Transfer-Encoding"))
        );
        let old = scan(Version::HTTP_10, &[("transfer-encoding", "chunked")]);
        assert_eq!(
            old,
            Err(HttpError::BadRequest(
                "Transfer-Encoding in an HTTP/1.0 request"
            ))
        );
    }

    #[test]
    fn keep_alive_rules() {
        let ka = |v, f: &[(&str, &str)]| scan(v, f).map(|f| f.keep_alive);
        assert_eq!(ka(Version::HTTP_11, &[("host", "h")]), Ok(true));
        assert_eq!(
            ka(
                Version::HTTP_11,
                &[("host", "h"), ("connection", "Upgrade, CLOSE")]
            ),
            Ok(false)
        );
        assert_eq!(
            ka(
                Version::HTTP_11,
                &[("host", "h"), ("connection", "keep-alive")]
            ),
            Ok(true)
        );
        assert_eq!(ka(Version::HTTP_10, &[]), Ok(false));
        assert_eq!(
            ka(Version::HTTP_10, &[("Connection", "Keep-Alive")]),
            Ok(true)
        );
        assert_eq!(
            ka(
                Version::HTTP_10,
                &[("connection", "keep-alive"), ("connection", "close")]
            ),
            Ok(false)
        );
        assert_eq!(
            ka(Version::HTTP_11, &[("host", "h"), ("connection", "closed")]),
            Ok(true)
        );
    }

    #[test]
    fn expect_rules() {
        assert_eq!(
            scan11(&[("expect", "100-Continue")]).map(|f| f.expect_continue),
            Ok(true)
        );
        assert_eq!(scan11(&[]).map(|f| f.expect_continue), Ok(false));
        assert_eq!(
            scan11(&[("expect", "")]).map(|f| f.expect_continue),
            Ok(false)
        );
        assert_eq!(
            scan11(&[("expect", "200-ok")]),
            Err(HttpError::ExpectationFailed)
        );
        assert_eq!(
            scan11(&[("expect", "100-continue, x")]),
            Err(HttpError::ExpectationFailed)
        );
        let old = scan(
            Version::HTTP_10,
            &[("expect", "100-continue"), ("expect", "zzz")],
        );
        assert_eq!(old.map(|f| f.expect_continue), Ok(false));
    }

    #[test]
    fn host_rules() {
        assert_eq!(
            scan(Version::HTTP_11, &[]),
            Err(HttpError::BadRequest("missing Host header"))
        );
        assert!(scan(Version::HTTP_10, &[]).is_ok());
        let two = scan(Version::HTTP_11, &[("host", "a"), ("HOST", "a")]);
        assert_eq!(two, Err(HttpError::BadRequest("more than one Host header")));
    }

    #[test]
    fn helpers() {
        assert_eq!(trim_ows(b" \t a b\t "), b"a b");
        assert_eq!(trim_ows(b"   "), b"");
        assert_eq!(parse_decimal(b"007"), Some(7));
        assert_eq!(parse_decimal(b""), None);
    }
}

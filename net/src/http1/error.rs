//! The one error type of the HTTP/1.1 layer. Each variant maps to the status code the
//! connection loop answers with before closing the connection.

use std::fmt;

/// Why a request could not be parsed or framed.
///
/// After any of these the framing of the byte stream is unknown (or untrusted), so the
/// caller answers with [`HttpError::status`] and then closes the connection; it must not
/// try to parse a further request from the same stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpError {
    /// Malformed request line or header fields, or framing headers that contradict each
    /// other (400). The text says what was wrong.
    BadRequest(&'static str),
    /// Malformed chunked body: bad size line, missing CRLF, bad trailer (400).
    BadChunk(&'static str),
    /// The request method is not one this server implements (501).
    UnsupportedMethod,
    /// A transfer coding other than `chunked` (501): we cannot find the end of the body.
    UnsupportedTransferEncoding,
    /// An `Expect` value other than `100-continue` (417).
    ExpectationFailed,
    /// The request target is longer than [`Limits::max_url_bytes`](super::Limits) (414).
    UriTooLong,
    /// The head is longer than [`Limits::max_head_bytes`](super::Limits) (431).
    HeadTooLarge,
    /// More header fields than [`Limits::max_headers`](super::Limits) (431).
    TooManyHeaders,
    /// The chunked trailer section exceeds [`Limits::max_trailer_bytes`](super::Limits) or
    /// [`Limits::max_headers`](super::Limits) fields (431).
    TrailersTooLarge,
    /// The body is larger than the caller accepts (413). Never produced by the parsers in
    /// this module (they do not know the caller's policy); provided so the connection loop
    /// reports every HTTP-level rejection through one type.
    PayloadTooLarge,
}

impl HttpError {
    /// The status code to answer with.
    pub fn status(&self) -> u16 {
        match self {
            HttpError::BadRequest(_) | HttpError::BadChunk(_) => 400,
            HttpError::PayloadTooLarge => 413,
            HttpError::UriTooLong => 414,
            HttpError::ExpectationFailed => 417,
            HttpError::HeadTooLarge | HttpError::TooManyHeaders | HttpError::TrailersTooLarge => {
                431
            }
            HttpError::UnsupportedMethod | HttpError::UnsupportedTransferEncoding => 501,
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::BadRequest(why) => write!(f, "bad request: {why}"),
            HttpError::BadChunk(why) => write!(f, "bad chunked body: {why}"),
            HttpError::UnsupportedMethod => f.write_str("request method not implemented"),
            HttpError::UnsupportedTransferEncoding => {
                f.write_str("transfer coding other than chunked is not implemented")
            }
            HttpError::ExpectationFailed => f.write_str("only Expect: 100-continue is supported"),
            HttpError::UriTooLong => f.write_str("request target too long"),
            HttpError::HeadTooLarge => f.write_str("request head too large"),
            HttpError::TooManyHeaders => f.write_str("too many header fields"),
            HttpError::TrailersTooLarge => f.write_str("trailer section too large"),
            HttpError::PayloadTooLarge => f.write_str("request body too large"),
        }
    }
}

impl std::error::Error for HttpError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes() {
        assert_eq!(HttpError::BadRequest("x").status(), 400);
        assert_eq!(HttpError::BadChunk("x").status(), 400);
        assert_eq!(HttpError::PayloadTooLarge.status(), 413);
        assert_eq!(HttpError::UriTooLong.status(), 414);
        assert_eq!(HttpError::ExpectationFailed.status(), 417);
        assert_eq!(HttpError::HeadTooLarge.status(), 431);
        assert_eq!(HttpError::TooManyHeaders.status(), 431);
        assert_eq!(HttpError::TrailersTooLarge.status(), 431);
        assert_eq!(HttpError::UnsupportedMethod.status(), 501);
        assert_eq!(HttpError::UnsupportedTransferEncoding.status(), 501);
    }

    #[test]
    fn display_carries_the_reason() {
        let e = HttpError::BadRequest("both Transfer-Encoding and Content-Length");
        assert_eq!(
            e.to_string(),
            "bad request: both Transfer-Encoding and Content-Length"
        );
        assert!(HttpError::BadChunk("missing CRLF")
            .to_string()
            .contains("missing CRLF"));
    }
}

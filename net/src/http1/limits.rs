//! Size limits applied while parsing. Every buffer the parser grows is bounded by one of
//! these, so a hostile peer can make us spend at most a known amount of memory and CPU per
//! connection before we answer with an error and close.

/// Bounds on what one request may make the parser hold or scan.
///
/// The defaults follow common servers (nginx, hyper): a 16 KiB head is far more than any
/// S3 client sends, and a tighter bound keeps a slow-loris head cheap to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest request head (request line + header fields + blank line), in bytes.
    /// Exceeding it gives [`HttpError::HeadTooLarge`](super::HttpError::HeadTooLarge) (431).
    pub max_head_bytes: usize,
    /// Largest number of header fields in a head, and of trailer fields after a chunked body.
    /// Exceeding it gives [`HttpError::TooManyHeaders`](super::HttpError::TooManyHeaders) (431).
    pub max_headers: usize,
    /// Longest request target (path + query), in bytes.
    /// Exceeding it gives [`HttpError::UriTooLong`](super::HttpError::UriTooLong) (414).
    pub max_url_bytes: usize,
    /// Longest chunk-size line, extensions and CRLF included. Bounds what a peer can make us
    /// scan without delivering a single body byte.
    pub max_chunk_line_bytes: usize,
    /// Largest trailer section after the last chunk, in bytes.
    pub max_trailer_bytes: usize,
}

impl Limits {
    /// Default for [`Limits::max_head_bytes`]: 16 KiB.
    pub const DEFAULT_MAX_HEAD_BYTES: usize = 16 * 1024;
    /// Default for [`Limits::max_headers`].
    pub const DEFAULT_MAX_HEADERS: usize = 100;
    /// Default for [`Limits::max_url_bytes`]: 8 KiB.
    pub const DEFAULT_MAX_URL_BYTES: usize = 8 * 1024;
    /// Default for [`Limits::max_chunk_line_bytes`].
    pub const DEFAULT_MAX_CHUNK_LINE_BYTES: usize = 4096;
    /// Default for [`Limits::max_trailer_bytes`]: 16 KiB.
    pub const DEFAULT_MAX_TRAILER_BYTES: usize = 16 * 1024;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_bytes: Self::DEFAULT_MAX_HEAD_BYTES,
            max_headers: Self::DEFAULT_MAX_HEADERS,
            max_url_bytes: Self::DEFAULT_MAX_URL_BYTES,
            max_chunk_line_bytes: Self::DEFAULT_MAX_CHUNK_LINE_BYTES,
            max_trailer_bytes: Self::DEFAULT_MAX_TRAILER_BYTES,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_values() {
        let l = Limits::default();
        assert_eq!(l.max_head_bytes, 16 * 1024);
        assert_eq!(l.max_headers, 100);
        assert_eq!(l.max_url_bytes, 8 * 1024);
        assert_eq!(l.max_chunk_line_bytes, 4096);
        assert_eq!(l.max_trailer_bytes, 16 * 1024);
    }
}

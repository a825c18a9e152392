//! Framing-line parsers and limits of the aws-chunked format, kept apart from the
//! decoder's state machine.

use super::primitives::decode_hex32;
use super::AuthError;

/// Longest framing line accepted (size line with extensions, or one trailer line).
pub const MAX_LINE: usize = 4096;
/// Most trailer headers accepted.
pub const MAX_TRAILERS: usize = 16;
/// Largest single chunk accepted: 5 GiB, the S3 single-PUT limit.
pub const MAX_CHUNK_SIZE: u64 = 5 << 30;

pub(crate) fn malformed(msg: &'static str) -> AuthError {
    AuthError::MalformedChunk(msg)
}

/// Parses `<hex-size>[;ext…]`, returning the size and the `chunk-signature`, if any.
pub(crate) fn parse_size_line(line: &[u8]) -> Result<(u64, Option<[u8; 32]>), AuthError> {
    let mut parts = line.split(|&b| b == b';');
    let size_hex = parts.next().unwrap_or_default().trim_ascii();
    if size_hex.is_empty() || size_hex.len() > 16 {
        return Err(malformed("invalid chunk size"));
    }
    let mut size = 0u64;
    for &b in size_hex {
        let digit = char::from(b)
            .to_digit(16)
            .ok_or(malformed("invalid chunk size"))?;
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(u64::from(digit)))
            .ok_or(malformed("invalid chunk size"))?;
    }
    if size > MAX_CHUNK_SIZE {
        return Err(malformed("chunk size too large"));
    }
    let mut sig = None;
    for ext in parts {
        // Other extensions are legal in chunked framing; no S3 client sends any.
        if let Some(v) = ext.trim_ascii().strip_prefix(b"chunk-signature=") {
            let parsed = decode_hex32(v.trim_ascii())
                .ok_or(malformed("chunk-signature must be 64 hex digits"))?;
            if sig.replace(parsed).is_some() {
                return Err(malformed("repeated chunk-signature"));
            }
        }
    }
    Ok((size, sig))
}

/// Parses `x-amz-decoded-content-length`, which streaming uploads must send: missing →
/// `MissingContentLength` (411), not a decimal integer → `InvalidArgument`.
pub fn parse_decoded_content_length(value: Option<&[u8]>) -> Result<u64, AuthError> {
    let v = value.ok_or(AuthError::MissingContentLength)?.trim_ascii();
    const BAD: AuthError =
        AuthError::InvalidArgument("x-amz-decoded-content-length must be a non-negative integer");
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return Err(BAD);
    }
    v.iter()
        .try_fold(0u64, |acc, &b| {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        })
        .ok_or(BAD)
}

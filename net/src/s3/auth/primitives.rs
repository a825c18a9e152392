//! Small building blocks shared by every scheme: HMAC/SHA helpers over the RustCrypto
//! crates, fixed-size hex, and the two timestamp formats S3 uses.
//!
//! Times are plain `i64` Unix seconds throughout the module: callers pass `now` in, so
//! every function stays pure and testable with the 2013 AWS example dates.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc2822;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// HMAC-SHA256, the SigV4 primitive.
pub(crate) type HmacSha256 = Hmac<Sha256>;
/// HMAC-SHA1, the SigV2 primitive.
pub(crate) type HmacSha1 = Hmac<sha1::Sha1>;

/// Hex SHA-256 of the empty string; appears in every chunk string-to-sign.
pub const EMPTY_SHA256_HEX: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// A keyed HMAC-SHA256 instance.
pub(crate) fn hmac_sha256(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so the error arm is unreachable; falling back to
    // an all-zero key (instead of unwrapping) keeps the function panic-free regardless.
    match <HmacSha256 as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => HmacSha256::new(&Default::default()),
    }
}

/// A keyed HMAC-SHA1 instance (see [`hmac_sha256`] for the unreachable arm).
pub(crate) fn hmac_sha1(key: &[u8]) -> HmacSha1 {
    match <HmacSha1 as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => HmacSha1::new(&Default::default()),
    }
}

/// One-shot HMAC-SHA256.
pub(crate) fn hmac_sha256_once(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = hmac_sha256(key);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Lowercase hex of 32 bytes, without allocating.
pub(crate) fn hex32(bytes: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    // Cannot fail: the output is exactly twice the input length.
    let _ = hex::encode_to_slice(bytes, &mut out);
    out
}

/// `hex32` as `&str`-compatible bytes are always ASCII; this returns an owned `String`.
pub(crate) fn hex32_string(bytes: &[u8; 32]) -> String {
    hex::encode(bytes)
}

/// Decodes exactly 64 hex digits (either case) into 32 bytes.
pub(crate) fn decode_hex32(s: &[u8]) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// Parses ASCII digits in `s[range]` as a number; `None` on anything else.
fn digits(s: &[u8], from: usize, to: usize) -> Option<u32> {
    let d = s.get(from..to)?;
    d.iter().try_fold(0u32, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u32::from(b - b'0'))
        } else {
            None
        }
    })
}

/// Validates a credential-scope date `YYYYMMDD`.
pub(crate) fn is_scope_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 8 && calendar_date(b).is_some()
}

fn calendar_date(b: &[u8]) -> Option<Date> {
    let year = i32::try_from(digits(b, 0, 4)?).ok()?;
    let month = Month::try_from(u8::try_from(digits(b, 4, 6)?).ok()?).ok()?;
    let day = u8::try_from(digits(b, 6, 8)?).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

/// Parses the SigV4 timestamp `YYYYMMDD'T'HHMMSS'Z'` into Unix seconds.
pub fn parse_amz_date(s: &[u8]) -> Option<i64> {
    if s.len() != 16 || s.get(8) != Some(&b'T') || s.get(15) != Some(&b'Z') {
        return None;
    }
    let date = calendar_date(s)?;
    let h = u8::try_from(digits(s, 9, 11)?).ok()?;
    let m = u8::try_from(digits(s, 11, 13)?).ok()?;
    let sec = u8::try_from(digits(s, 13, 15)?).ok()?;
    let t = Time::from_hms(h, m, sec).ok()?;
    Some(
        PrimitiveDateTime::new(date, t)
            .assume_utc()
            .unix_timestamp(),
    )
}

/// Formats Unix seconds as the SigV4 timestamp `YYYYMMDD'T'HHMMSS'Z'`.
/// `None` outside years 0000..=9999, which the format cannot express.
pub fn format_amz_date(unix: i64) -> Option<String> {
    let t = OffsetDateTime::from_unix_timestamp(unix).ok()?;
    if !(0..=9999).contains(&t.year()) {
        return None;
    }
    Some(format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// Parses an HTTP `Date` value into Unix seconds. Accepts IMF-fixdate / RFC 850 / asctime
/// (via `httpdate`) and RFC 2822 with a numeric zone (`Tue, 27 Mar 2007 19:36:42 +0000`,
/// which SigV2 clients and the AWS examples use), and, as a last resort, the SigV4 form.
pub fn parse_http_date(s: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(s).ok()?.trim();
    if let Ok(t) = httpdate::parse_http_date(s) {
        let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
        return i64::try_from(secs).ok();
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc2822) {
        return Some(t.unix_timestamp());
    }
    parse_amz_date(s.as_bytes())
}

/// Checks that `request_time` lies within `max_skew_secs` of `now` (both Unix seconds).
///
/// AWS allows 15 minutes ([`super::MAX_SKEW_SECS`]); beyond it a captured request could be
/// replayed long after the fact, so the server answers `RequestTimeTooSkewed`.
pub fn check_skew(request_time: i64, now: i64, max_skew_secs: u64) -> Result<(), super::AuthError> {
    if request_time.abs_diff(now) > max_skew_secs {
        Err(super::AuthError::RequestTimeTooSkewed)
    } else {
        Ok(())
    }
}

/// Current wall-clock time as Unix seconds (0 if the clock is before 1970).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

//! S3 request authentication as pure functions (sans-I/O).
//!
//! Nothing here touches a socket, a clock or a key store: the caller describes the request
//! with a [`SignedRequest`] view, and passes the secret and the current time in.
//!
//! Server flow:
//!
//! 1. [`parse_auth`] recognises the scheme (SigV4 header, SigV4 presigned query, SigV2
//!    header, SigV2 presigned query, or anonymous) and extracts the access key id, without
//!    needing any secret. Malformed requests fail here, before a key lookup.
//! 2. The caller looks the secret up (unknown key → [`AuthError::InvalidAccessKeyId`]).
//! 3. [`verify`] recomputes the signature, compares it in constant time, and checks the
//!    clock skew / presign expiry against the `now` passed in.
//! 4. For a SigV4 request, [`VerifiedV4::payload_mode`] says how to read the body: compare
//!    its SHA-256 ([`PayloadMode::check_body_hash`]), or feed it through an
//!    [`AwsChunkedDecoder`] seeded by [`VerifiedV4::chunk_signer`].
//!
//! The client side (benchmark tool, tests) uses [`sign_v4_header`] / [`sign_v4`],
//! [`presign_v4`], [`sign_v2_header`], [`presign_v2`] and [`ChunkSigner`].

mod canonical;
mod chunk_frame;
mod chunk_signer;
mod chunked;
mod error;
mod payload;
mod presign;
mod primitives;
mod sign;
mod sigv2;
mod sigv4;

#[cfg(test)]
mod test_util;
#[cfg(test)]
mod tests_chunked;
#[cfg(test)]
mod tests_fuzz;
#[cfg(test)]
mod tests_presign;
#[cfg(test)]
mod tests_v2;
#[cfg(test)]
mod tests_v4;

pub use canonical::aws_encode;
pub use chunk_frame::{parse_decoded_content_length, MAX_CHUNK_SIZE, MAX_LINE, MAX_TRAILERS};
pub use chunk_signer::{
    canonical_trailers, encode_unsigned_chunk, encode_unsigned_final, ChunkSigner,
};
pub use chunked::{AwsChunkedDecoder, Decoded};
pub use error::AuthError;
pub use payload::{PayloadMode, SigningKey};
pub use presign::{presign_v4, MAX_PRESIGN_EXPIRES};
pub use primitives::{
    check_skew, format_amz_date, parse_amz_date, parse_http_date, unix_now, EMPTY_SHA256_HEX,
};
pub use sign::{sign_v4, sign_v4_header, V4Credentials, V4Signature};
pub use sigv2::{presign_v2, sign_v2_header, string_to_sign_v2, verify_v2, ParsedV2, VerifiedV2};
pub use sigv4::{canonical_request_v4, verify_v4, ParsedV4, VerifiedV4};

/// Largest accepted distance between the request time and the server clock (AWS: 15 min).
pub const MAX_SKEW_SECS: u64 = 15 * 60;

/// Read access to the request headers, whatever container the caller parsed them into.
///
/// Implemented for slices of `(name, value)` pairs (`[(String, Vec<u8>)]`,
/// `[(&str, &[u8])]`, `[(&str, &str)]`, …) and for [`http::HeaderMap`].
pub trait HeaderSource {
    /// Every header as `(name, value)`, in arrival order; names in any case.
    fn all(&self) -> impl Iterator<Item = (&str, &[u8])>;

    /// Every value of header `name` (given in lowercase), in arrival order.
    fn values<'s>(&'s self, name: &str) -> impl Iterator<Item = &'s [u8]> {
        self.all()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> HeaderSource for [(K, V)] {
    fn all(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> HeaderSource for Vec<(K, V)> {
    fn all(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.as_slice().all()
    }
}

impl HeaderSource for http::HeaderMap {
    fn all(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.iter().map(|(k, v)| (k.as_str(), v.as_bytes()))
    }

    fn values<'s>(&'s self, name: &str) -> impl Iterator<Item = &'s [u8]> {
        self.get_all(name).iter().map(|v| v.as_bytes())
    }
}

/// A read-only view of the parts of a request that signatures cover.
pub struct SignedRequest<'a, H: HeaderSource + ?Sized = [(String, Vec<u8>)]> {
    /// The method as sent (`GET`, `PUT`, …).
    pub method: &'a str,
    /// The path exactly as sent, still percent-encoded, without the query (`/b/k%20x`).
    pub raw_path: &'a str,
    /// The query exactly as sent, without the `?` (may be empty).
    pub raw_query: &'a str,
    /// The request headers.
    pub headers: &'a H,
    /// For virtual-hosted-style requests (`bucket.s3.example.com`), the bucket taken from
    /// the Host header. Only SigV2 needs it: its canonical resource starts with `/bucket`.
    pub bucket_from_host: Option<&'a str>,
}

impl<'a, H: HeaderSource + ?Sized> SignedRequest<'a, H> {
    /// A view of a path-style request (no bucket in the host name).
    pub fn new(method: &'a str, raw_path: &'a str, raw_query: &'a str, headers: &'a H) -> Self {
        SignedRequest {
            method,
            raw_path,
            raw_query,
            headers,
            bucket_from_host: None,
        }
    }

    /// Sets the virtual-host bucket (see [`SignedRequest::bucket_from_host`]).
    pub fn with_bucket_from_host(mut self, bucket: Option<&'a str>) -> Self {
        self.bucket_from_host = bucket;
        self
    }
}

// Manual impls: derives would require `H: Clone`/`H: Debug`, impossible for slices.
impl<H: HeaderSource + ?Sized> Clone for SignedRequest<'_, H> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<H: HeaderSource + ?Sized> Copy for SignedRequest<'_, H> {}

impl<H: HeaderSource + ?Sized> std::fmt::Debug for SignedRequest<'_, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedRequest")
            .field("method", &self.method)
            .field("raw_path", &self.raw_path)
            .field("raw_query", &self.raw_query)
            .field("bucket_from_host", &self.bucket_from_host)
            .finish_non_exhaustive()
    }
}

/// Splits a request-target `"/path?query"` into `(raw_path, raw_query)`.
pub fn split_target(target: &str) -> (&str, &str) {
    target.split_once('?').unwrap_or((target, ""))
}

/// The authentication a request claims, parsed but not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedAuth {
    /// No `Authorization` header and no signature parameters.
    Anonymous,
    /// SigV4, from the header or a presigned query ([`ParsedV4::presigned_expires`]).
    V4(ParsedV4),
    /// SigV2, from the header or a presigned query ([`ParsedV2::presigned_expires`]).
    V2(ParsedV2),
}

impl ParsedAuth {
    /// The access key id to look the secret up with; `None` for anonymous requests.
    pub fn access_key(&self) -> Option<&str> {
        match self {
            ParsedAuth::Anonymous => None,
            ParsedAuth::V4(p) => Some(&p.access_key),
            ParsedAuth::V2(p) => Some(&p.access_key),
        }
    }
}

/// A request whose signature checked out.
// Built once per request and matched right away; boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Verified {
    /// Anonymous: the caller applies its public-access policy.
    Anonymous,
    /// SigV4 (header or presigned).
    V4(VerifiedV4),
    /// SigV2 (header or presigned).
    V2(VerifiedV2),
}

/// Recognises the authentication scheme and parses its fields (no secret needed).
///
/// An `Authorization` header together with signature query parameters is refused, as AWS
/// does: only one mechanism may be used.
pub fn parse_auth<H: HeaderSource + ?Sized>(
    req: &SignedRequest<'_, H>,
) -> Result<ParsedAuth, AuthError> {
    let q = req.raw_query;
    let v4_query = canonical::has_param(q, "X-Amz-Algorithm")
        || canonical::has_param(q, "X-Amz-Credential")
        || canonical::has_param(q, "X-Amz-Signature");
    let v2_query =
        canonical::has_param(q, "AWSAccessKeyId") && canonical::has_param(q, "Signature");
    if let Some(value) = canonical::header(req.headers, "authorization") {
        if v4_query || v2_query {
            return Err(AuthError::InvalidArgument(
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, \
                 Signature query string parameter or the Authorization header should be specified",
            ));
        }
        let value = value.trim_ascii_start();
        if value.starts_with(b"AWS4-HMAC-SHA256") {
            return sigv4::parse_v4_header(req, value).map(ParsedAuth::V4);
        }
        if value.starts_with(b"AWS4-ECDSA-P256-SHA256") {
            return Err(AuthError::NotImplemented(
                "SigV4a (AWS4-ECDSA-P256-SHA256) is not supported",
            ));
        }
        if value.starts_with(b"AWS ") {
            return sigv2::parse_v2_header(req, value).map(ParsedAuth::V2);
        }
        return Err(AuthError::InvalidArgument("Unsupported Authorization Type"));
    }
    if v4_query {
        return presign::parse_presigned_v4(req).map(ParsedAuth::V4);
    }
    if v2_query {
        return sigv2::parse_presigned_v2(req).map(ParsedAuth::V2);
    }
    Ok(ParsedAuth::Anonymous)
}

/// Verifies a parsed request with the secret of its access key, at time `now` (Unix s).
pub fn verify<H: HeaderSource + ?Sized>(
    req: &SignedRequest<'_, H>,
    parsed: &ParsedAuth,
    secret: &str,
    now: i64,
) -> Result<Verified, AuthError> {
    match parsed {
        ParsedAuth::Anonymous => Ok(Verified::Anonymous),
        ParsedAuth::V4(p) => verify_v4(req, p, secret, now).map(Verified::V4),
        ParsedAuth::V2(p) => verify_v2(req, p, secret, now).map(Verified::V2),
    }
}

/// [`parse_auth`] + secret lookup + [`verify`] in one call. `lookup` maps an access key
/// id to its secret; `None` gives [`AuthError::InvalidAccessKeyId`]. Anonymous requests
/// never call it.
pub fn authenticate<H, F, S>(
    req: &SignedRequest<'_, H>,
    now: i64,
    lookup: F,
) -> Result<Verified, AuthError>
where
    H: HeaderSource + ?Sized,
    F: FnOnce(&str) -> Option<S>,
    S: AsRef<str>,
{
    let parsed = parse_auth(req)?;
    let Some(access_key) = parsed.access_key() else {
        return Ok(Verified::Anonymous);
    };
    let secret = lookup(access_key).ok_or(AuthError::InvalidAccessKeyId)?;
    verify(req, &parsed, secret.as_ref(), now)
}

/// Fuzz entry point: runs header/query parsing, verification and the chunk decoder over
/// arbitrary bytes. It must never panic; results are discarded.
///
/// Layout: the input is split on `\n` into an Authorization value, a request-target, a
/// Date-ish value, an `x-amz-content-sha256` value, and the rest is used as a body.
pub fn fuzz_auth(data: &[u8]) {
    let mut parts = data.splitn(5, |&b| b == b'\n');
    let auth = parts.next().unwrap_or(&[]);
    let target = String::from_utf8_lossy(parts.next().unwrap_or(&[])).into_owned();
    let date = parts.next().unwrap_or(&[]);
    let sha = parts.next().unwrap_or(&[]);
    let body = parts.next().unwrap_or(&[]);
    let (path, query) = split_target(&target);
    let headers: Vec<(&str, &[u8])> = vec![
        ("host", b"bucket.example.com"),
        ("authorization", auth),
        ("x-amz-date", date),
        ("date", date),
        ("x-amz-content-sha256", sha),
        ("content-md5", sha),
    ];
    for (hdrs, bucket) in [(&headers[..], None), (&headers[2..], Some("bucket"))] {
        let req = SignedRequest::new("PUT", path, query, hdrs).with_bucket_from_host(bucket);
        if let Ok(parsed) = parse_auth(&req) {
            let _ = parsed.access_key();
            let _ = verify(&req, &parsed, "secret", 1_369_353_600);
        }
    }
    let _ = PayloadMode::from_header(sha);
    let _ = parse_decoded_content_length(Some(date));
    // The first body byte picks the split size, so small and odd feeds are covered.
    let step = usize::from(body.first().copied().unwrap_or(1) % 17) + 1;
    for mode in [
        PayloadMode::StreamingSigned,
        PayloadMode::StreamingSignedTrailer,
        PayloadMode::StreamingUnsignedTrailer,
    ] {
        let signer = ChunkSigner::new(
            SigningKey::derive("secret", "20130524", "us-east-1", "s3"),
            "20130524T000000Z",
            "20130524/us-east-1/s3/aws4_request",
            [0u8; 32],
        );
        let signed = !matches!(mode, PayloadMode::StreamingUnsignedTrailer);
        let Ok(mut dec) = AwsChunkedDecoder::new(mode, signed.then_some(signer)) else {
            continue;
        };
        let mut dec_len = dec.clone().with_decoded_length(step as u64);
        let mut off = 0;
        while off < body.len() {
            let end = off.saturating_add(step).min(body.len());
            let Some(chunk) = body.get(off..end) else {
                break;
            };
            match dec.decode(chunk) {
                Ok(d) if d.consumed > 0 => off += d.consumed.min(chunk.len()),
                _ => break,
            }
        }
        let _ = dec.finish();
        let _ = dec.trailers();
        let _ = dec_len.decode(body);
        let _ = dec_len.finish();
    }
}

impl HeaderSource for crate::http1::RequestHead {
    fn all(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers()
    }
}

//! AWS Signature Version 2 (HMAC-SHA1), still what stock cosbench (aws-java-sdk v1 with
//! `S3SignerType`) and the s3-tests `*_aws2` cases send.
//!
//! ```text
//! StringToSign = Method \n Content-MD5 \n Content-Type \n Date-or-Expires \n
//!                CanonicalizedAmzHeaders CanonicalizedResource
//! ```
//!
//! Header form `Authorization: AWS AKID:base64(sig)`; query form `AWSAccessKeyId`,
//! `Expires` (Unix seconds, replacing the Date line) and `Signature`.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use hmac::Mac;

use super::canonical::{
    aws_encode, header, percent_only_decode, query_decode, query_param, raw_params,
};
use super::primitives::{hmac_sha1, parse_http_date};
use super::{check_skew, AuthError, HeaderSource, SignedRequest, MAX_SKEW_SECS};

/// Query parameters that are part of the SigV2 canonical resource (the union of the AWS
/// documentation list and what aws-java-sdk v1 / botocore sign); all others are ignored.
const SUB_RESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "delete",
    "inventory",
    "legal-hold",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "partNumber",
    "policy",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "retention",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// A SigV2 request whose fields parsed, not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedV2 {
    /// Access key id.
    pub access_key: String,
    /// The signature sent, base64-decoded (empty if it was not valid base64, so it can
    /// only fail verification).
    pub signature: Vec<u8>,
    /// Presigned: the `Expires` time (Unix seconds). `None` for header auth.
    pub presigned_expires: Option<i64>,
    /// Header auth: the request time from `x-amz-date` or `Date`.
    pub timestamp: Option<i64>,
    /// Presigned: `Expires` exactly as sent, the Date line of the string to sign.
    expires_raw: String,
}

/// A SigV2 request whose signature and time checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedV2 {
    /// Access key id.
    pub access_key: String,
    /// Whether it came from a presigned URL.
    pub presigned: bool,
}

fn decode_sig(s: &str) -> Vec<u8> {
    let s = s.trim();
    STANDARD
        .decode(s)
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .unwrap_or_default()
}

/// Request time for header auth: `x-amz-date` wins over `Date`, as in the string to sign.
fn header_time<H: HeaderSource + ?Sized>(headers: &H) -> Option<i64> {
    match header(headers, "x-amz-date") {
        Some(v) => parse_http_date(v),
        None => header(headers, "date").and_then(parse_http_date),
    }
}

/// Parses `Authorization: AWS AKID:signature`.
pub(crate) fn parse_v2_header<H: HeaderSource + ?Sized>(
    req: &SignedRequest<'_, H>,
    value: &[u8],
) -> Result<ParsedV2, AuthError> {
    const BAD: AuthError = AuthError::InvalidArgument(
        "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
    );
    let value = std::str::from_utf8(value).map_err(|_| BAD)?;
    let rest = value.strip_prefix("AWS ").ok_or(BAD)?.trim();
    let (akid, sig) = rest.rsplit_once(':').ok_or(BAD)?;
    let akid = akid.trim();
    if akid.is_empty() {
        return Err(BAD);
    }
    let timestamp = header_time(req.headers).ok_or(AuthError::MissingDate)?;
    Ok(ParsedV2 {
        access_key: akid.to_owned(),
        signature: decode_sig(sig),
        presigned_expires: None,
        timestamp: Some(timestamp),
        expires_raw: String::new(),
    })
}

/// Parses the `AWSAccessKeyId` / `Expires` / `Signature` query parameters.
pub(crate) fn parse_presigned_v2<H: HeaderSource + ?Sized>(
    req: &SignedRequest<'_, H>,
) -> Result<ParsedV2, AuthError> {
    const MISSING: AuthError = AuthError::AuthorizationQueryParametersError(
        "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
    );
    const REPEATED: AuthError = AuthError::AuthorizationQueryParametersError(
        "an authentication parameter is repeated or not UTF-8",
    );
    let q = req.raw_query;
    let akid = query_param(q, "AWSAccessKeyId", true)
        .map_err(|()| REPEATED)?
        .ok_or(MISSING)?;
    // `+` in a base64 signature is data, so it must not be read as a space.
    let sig = query_param(q, "Signature", false)
        .map_err(|()| REPEATED)?
        .ok_or(MISSING)?;
    let expires_raw = query_param(q, "Expires", true)
        .map_err(|()| REPEATED)?
        .ok_or(MISSING)?;
    let expires = if !expires_raw.is_empty()
        && expires_raw.len() <= 18
        && expires_raw.bytes().all(|b| b.is_ascii_digit())
    {
        expires_raw.parse::<i64>().map_err(|_| MISSING)?
    } else {
        return Err(AuthError::AuthorizationQueryParametersError(
            "Expires must be Unix seconds",
        ));
    };
    if akid.is_empty() {
        return Err(MISSING);
    }
    Ok(ParsedV2 {
        access_key: akid,
        signature: decode_sig(&sig),
        presigned_expires: Some(expires),
        timestamp: None,
        expires_raw,
    })
}

/// Builds the SigV2 string to sign for `req`, with `date_line` as the fourth line and
/// `resource_path` (the path part of the canonical resource, as sent or decoded).
pub fn string_to_sign_v2<H: HeaderSource + ?Sized>(
    req: &SignedRequest<'_, H>,
    date_line: &[u8],
    resource_path: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + resource_path.len());
    out.extend_from_slice(req.method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(
        header(req.headers, "content-md5")
            .unwrap_or_default()
            .trim_ascii(),
    );
    out.push(b'\n');
    out.extend_from_slice(
        header(req.headers, "content-type")
            .unwrap_or_default()
            .trim_ascii(),
    );
    out.push(b'\n');
    out.extend_from_slice(date_line);
    out.push(b'\n');

    // CanonicalizedAmzHeaders: x-amz-* lowercased, sorted by name, repeated names merged
    // with ',', values trimmed; one `name:value\n` each.
    let mut amz: Vec<(String, &[u8])> = req
        .headers
        .all()
        .filter(|(n, _)| {
            n.len() > 6 && n.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("x-amz-"))
        })
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim_ascii()))
        .collect();
    amz.sort_by(|a, b| a.0.cmp(&b.0)); // stable: keeps arrival order within a name
    for (i, (name, value)) in amz.iter().enumerate() {
        let same_as_prev = i > 0 && amz.get(i - 1).is_some_and(|p| p.0 == *name);
        if same_as_prev {
            out.pop(); // the previous '\n'
            out.push(b',');
        } else {
            out.extend_from_slice(name.as_bytes());
            out.push(b':');
        }
        out.extend_from_slice(value);
        out.push(b'\n');
    }

    // CanonicalizedResource: [/bucket] + path + sorted sub-resources with decoded values.
    if let Some(bucket) = req.bucket_from_host {
        out.push(b'/');
        out.extend_from_slice(bucket.as_bytes());
    }
    out.extend_from_slice(if resource_path.is_empty() {
        b"/"
    } else {
        resource_path
    });
    let mut subs: Vec<(&str, Option<Vec<u8>>)> = raw_params(req.raw_query)
        .filter_map(|p| {
            let name = query_decode(p.name);
            let known = SUB_RESOURCES.iter().find(|s| s.as_bytes() == &*name)?;
            Some((*known, p.value.map(|v| query_decode(v).into_owned())))
        })
        .collect();
    subs.sort_by(|a, b| a.0.cmp(b.0));
    for (i, (name, value)) in subs.iter().enumerate() {
        out.push(if i == 0 { b'?' } else { b'&' });
        out.extend_from_slice(name.as_bytes());
        if let Some(v) = value {
            out.push(b'=');
            out.extend_from_slice(v);
        }
    }
    out
}

/// The Date line for header auth: empty when `x-amz-date` is present (it is signed among
/// the amz headers instead), else the `Date` header as sent.
fn header_date_line<H: HeaderSource + ?Sized>(headers: &H) -> &[u8] {
    if header(headers, "x-amz-date").is_some() {
        &[]
    } else {
        header(headers, "date").unwrap_or_default().trim_ascii()
    }
}

fn sign_v2(secret: &str, sts: &[u8]) -> hmac::Hmac<sha1::Sha1> {
    let mut mac = hmac_sha1(secret.as_bytes());
    mac.update(sts);
    mac
}

/// Verifies a [`ParsedV2`] with `secret`, then the time: header auth within
/// [`MAX_SKEW_SECS`] of `now`, presigned not past `Expires`.
pub fn verify_v2<H: HeaderSource + ?Sized>(
    req: &SignedRequest<'_, H>,
    p: &ParsedV2,
    secret: &str,
    now: i64,
) -> Result<VerifiedV2, AuthError> {
    let date_line = match p.presigned_expires {
        Some(_) => p.expires_raw.as_bytes(),
        None => header_date_line(req.headers),
    };
    // AWS signs the path as sent; some clients sign the decoded key instead (MinIO accepts
    // both the same way), so the decoded form is tried on mismatch.
    let raw = req.raw_path.as_bytes();
    let decoded = percent_only_decode(req.raw_path);
    let alt = (*decoded != *raw).then_some(&*decoded);
    // For a bucket-level path-style request (`/bucket`), botocore and the Java v1 SDK
    // sign the resource as `/bucket/`.
    let trimmed = raw.strip_prefix(b"/").unwrap_or(raw);
    let with_slash = (req.bucket_from_host.is_none() && !trimmed.is_empty() && !trimmed.contains(&b'/')).then(|| {
        let mut v = raw.to_vec();
        v.push(b'/');
        v
    });
    let ok = std::iter::once(raw).chain(alt).chain(with_slash.as_deref()).any(|path| {
        sign_v2(secret, &string_to_sign_v2(req, date_line, path))
            .verify_slice(&p.signature)
            .is_ok()
    });
    if !ok {
        return Err(AuthError::SignatureDoesNotMatch);
    }
    match (p.presigned_expires, p.timestamp) {
        (Some(expires), _) if now > expires => return Err(AuthError::Expired),
        (Some(_), _) => {}
        (None, Some(ts)) => check_skew(ts, now, MAX_SKEW_SECS)?,
        (None, None) => return Err(AuthError::MissingDate),
    }
    Ok(VerifiedV2 {
        access_key: p.access_key.clone(),
        presigned: p.presigned_expires.is_some(),
    })
}

/// Client side: the `Authorization` value `AWS AKID:signature` for `req`, whose headers
/// must already hold `Date` (or `x-amz-date`), and any Content-MD5/Content-Type sent.
pub fn sign_v2_header<H: HeaderSource + ?Sized>(
    req: &SignedRequest<'_, H>,
    access_key: &str,
    secret: &str,
) -> String {
    let sts = string_to_sign_v2(req, header_date_line(req.headers), req.raw_path.as_bytes());
    let sig = sign_v2(secret, &sts).finalize().into_bytes();
    format!("AWS {access_key}:{}", STANDARD.encode(sig))
}

/// Client side: presigns `req` until `expires` (Unix seconds); returns the new raw query
/// (`req.raw_query` followed by `AWSAccessKeyId`, `Expires`, `Signature`).
pub fn presign_v2<H: HeaderSource + ?Sized>(
    req: &SignedRequest<'_, H>,
    access_key: &str,
    secret: &str,
    expires: i64,
) -> String {
    let expires = expires.to_string();
    let sts = string_to_sign_v2(req, expires.as_bytes(), req.raw_path.as_bytes());
    let sig = STANDARD.encode(sign_v2(secret, &sts).finalize().into_bytes());
    let mut q = req.raw_query.to_owned();
    if !q.is_empty() {
        q.push('&');
    }
    q.push_str(&format!(
        "AWSAccessKeyId={}&Expires={expires}&Signature={}",
        aws_encode(access_key.as_bytes()),
        aws_encode(sig.as_bytes())
    ));
    q
}

//! AWS Signature Version 4 with the `Authorization` header (S3 flavour), and the pieces
//! presigned URLs share with it: credential parsing, canonical request, string to sign.
//!
//! S3 differs from other services in two ways that matter here: the canonical URI is the
//! path as sent (no second encoding, no `.`/`..` normalisation), and the last line of the
//! canonical request is the `x-amz-content-sha256` header value, which may name a
//! streaming or unsigned payload instead of a hash.

use super::canonical::{self, header, push_trimmed};
use super::chunk_signer::ChunkSigner;
use super::payload::{PayloadMode, SigningKey};
use super::primitives::{
    decode_hex32, format_amz_date, hex32, hex32_string, is_scope_date, parse_amz_date,
    parse_http_date, sha256, EMPTY_SHA256_HEX,
};
use super::{check_skew, AuthError, HeaderSource, SignedRequest, MAX_SKEW_SECS};

/// A SigV4 request (header or presigned) whose fields parsed, not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedV4 {
    /// Access key id from the credential.
    pub access_key: String,
    /// Credential-scope date `YYYYMMDD`.
    pub scope_date: String,
    /// Credential-scope region.
    pub region: String,
    /// Credential-scope service (`s3` for S3 clients).
    pub service: String,
    /// The request timestamp in the `YYYYMMDD'T'HHMMSS'Z'` form used in the string to sign.
    pub amz_date: String,
    /// The same timestamp as Unix seconds.
    pub timestamp: i64,
    /// Signed header names, lowercase, in the order sent.
    pub signed_headers: Vec<String>,
    /// The signature sent.
    pub signature: [u8; 32],
    /// The hashed-payload line of the canonical request.
    pub content_sha256: String,
    /// The payload mode that line names.
    pub payload_mode: PayloadMode,
    /// For presigned URLs, `X-Amz-Expires` in seconds; `None` for header auth.
    pub presigned_expires: Option<u32>,
    /// `x-amz-security-token` (header or query), for the caller to check or reject.
    pub security_token: Option<String>,
}

impl ParsedV4 {
    /// `date/region/service/aws4_request`.
    pub fn scope(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.scope_date, self.region, self.service
        )
    }
}

/// A SigV4 request whose signature and time checked out.
#[derive(Debug, Clone)]
pub struct VerifiedV4 {
    /// Access key id.
    pub access_key: String,
    /// Request timestamp `YYYYMMDD'T'HHMMSS'Z'` (chunk signatures repeat it).
    pub amz_date: String,
    /// Request timestamp as Unix seconds.
    pub timestamp: i64,
    /// Credential-scope date.
    pub scope_date: String,
    /// Credential-scope region (the caller may insist it is its own).
    pub region: String,
    /// Credential-scope service.
    pub service: String,
    /// The verified request signature: the seed of the chunk-signature chain.
    pub signature: [u8; 32],
    /// How to read the body.
    pub payload_mode: PayloadMode,
    /// Whether it came from a presigned URL.
    pub presigned: bool,
    /// `x-amz-security-token`, if any.
    pub security_token: Option<String>,
    /// The derived signing key, kept to verify chunk signatures without the secret.
    pub signing_key: SigningKey,
}

impl VerifiedV4 {
    /// `date/region/service/aws4_request`.
    pub fn scope(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.scope_date, self.region, self.service
        )
    }

    /// The request signature as lowercase hex.
    pub fn signature_hex(&self) -> String {
        hex32_string(&self.signature)
    }

    /// A chunk-signature verifier seeded with this request's signature.
    pub fn chunk_signer(&self) -> ChunkSigner {
        ChunkSigner::new(
            self.signing_key.clone(),
            &self.amz_date,
            &self.scope(),
            self.signature,
        )
    }
}

/// The pieces of a `Credential=AKID/date/region/service/aws4_request` value.
pub(crate) struct Credential {
    pub access_key: String,
    pub scope_date: String,
    pub region: String,
    pub service: String,
}

/// Parses a credential; `err` wraps the message into the scheme's error variant.
pub(crate) fn parse_credential(
    s: &str,
    err: fn(&'static str) -> AuthError,
) -> Result<Credential, AuthError> {
    // Split from the right: the four scope parts never contain '/', the key id might.
    let mut it = s.rsplitn(5, '/');
    let (Some(term), Some(service), Some(region), Some(date), Some(akid)) =
        (it.next(), it.next(), it.next(), it.next(), it.next())
    else {
        return Err(err("the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"."));
    };
    if term != "aws4_request" {
        return Err(err("the Credential terminator must be aws4_request"));
    }
    if akid.is_empty() || region.is_empty() || service.is_empty() {
        return Err(err("the Credential has an empty component"));
    }
    if !is_scope_date(date) {
        return Err(err("the Credential date must be YYYYMMDD"));
    }
    Ok(Credential {
        access_key: akid.to_owned(),
        scope_date: date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
    })
}

/// Splits a `SignedHeaders` list, lowercasing; empty names are malformed.
pub(crate) fn parse_signed_headers(
    s: &str,
    err: fn(&'static str) -> AuthError,
) -> Result<Vec<String>, AuthError> {
    let names: Vec<String> = s
        .split(';')
        .map(|n| n.trim().to_ascii_lowercase())
        .collect();
    if names
        .iter()
        .any(|n| n.is_empty() || n.bytes().any(|b| b <= b' ' || b == b':'))
    {
        return Err(err("SignedHeaders contains an invalid header name"));
    }
    if !names.iter().any(|n| n == "host") {
        return Err(err("SignedHeaders must include host"));
    }
    Ok(names)
}

fn malformed(msg: &'static str) -> AuthError {
    AuthError::AuthorizationHeaderMalformed(msg)
}

/// Parses `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
/// Separators may be `,` and/or whitespace, in any order, as different SDKs emit.
pub(crate) fn parse_v4_header<H: HeaderSource + ?Sized>(
    req: &SignedRequest<'_, H>,
    value: &[u8],
) -> Result<ParsedV4, AuthError> {
    let value =
        std::str::from_utf8(value).map_err(|_| malformed("the header is not valid UTF-8"))?;
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256")
        .filter(|r| r.starts_with([' ', '\t']))
        .ok_or(malformed("expected AWS4-HMAC-SHA256 followed by a space"))?;
    let (mut cred, mut signed, mut sig) = (None, None, None);
    for token in rest.split([',', ' ', '\t']).filter(|t| !t.is_empty()) {
        let (k, v) = token
            .split_once('=')
            .ok_or(malformed("expected Key=Value components"))?;
        let slot = match k {
            "Credential" => &mut cred,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut sig,
            _ => continue, // unknown components are harmless; AWS SDKs send none
        };
        if slot.replace(v).is_some() {
            return Err(malformed("a component is repeated"));
        }
    }
    let cred = parse_credential(cred.ok_or(malformed("missing Credential"))?, malformed)?;
    let signed_headers =
        parse_signed_headers(signed.ok_or(malformed("missing SignedHeaders"))?, malformed)?;
    let signature = decode_hex32(sig.ok_or(malformed("missing Signature"))?.as_bytes())
        .ok_or(malformed("the Signature must be 64 hex digits"))?;

    let (amz_date, timestamp) = request_time(req.headers)?;
    if amz_date.get(..8) != Some(cred.scope_date.as_str()) {
        return Err(malformed(
            "Invalid credential date. Date is not the same as X-Amz-Date.",
        ));
    }
    // Without the header S3 clients always send, assume an empty body (MinIO does the
    // same): e.g. curl's --aws-sigv4 GETs hash the empty payload but omit the header.
    let content_sha256 = match header(req.headers, "x-amz-content-sha256") {
        Some(v) => String::from_utf8(v.trim_ascii().to_vec())
            .map_err(|_| AuthError::InvalidArgument("x-amz-content-sha256 is not valid UTF-8"))?,
        None => EMPTY_SHA256_HEX.to_owned(),
    };
    let payload_mode = PayloadMode::from_header(content_sha256.as_bytes())?;
    let security_token = header(req.headers, "x-amz-security-token")
        .map(|v| String::from_utf8_lossy(v).into_owned());
    Ok(ParsedV4 {
        access_key: cred.access_key,
        scope_date: cred.scope_date,
        region: cred.region,
        service: cred.service,
        amz_date,
        timestamp,
        signed_headers,
        signature,
        content_sha256,
        payload_mode,
        presigned_expires: None,
        security_token,
    })
}

/// The request time from `x-amz-date` (ISO 8601 basic) or else `Date` (HTTP date),
/// as (`YYYYMMDD'T'HHMMSS'Z'`, Unix seconds).
fn request_time<H: HeaderSource + ?Sized>(headers: &H) -> Result<(String, i64), AuthError> {
    if let Some(v) = header(headers, "x-amz-date") {
        let v = v.trim_ascii();
        let ts = parse_amz_date(v).ok_or(AuthError::MissingDate)?;
        return Ok((String::from_utf8_lossy(v).into_owned(), ts));
    }
    let ts = header(headers, "date")
        .and_then(parse_http_date)
        .ok_or(AuthError::MissingDate)?;
    Ok((format_amz_date(ts).ok_or(AuthError::MissingDate)?, ts))
}

/// Builds the SigV4 canonical request. Public so tools can show it when debugging a
/// `SignatureDoesNotMatch`.
pub fn canonical_request_v4<H: HeaderSource + ?Sized>(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    headers: &H,
    signed_headers: &[String],
    payload: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + canonical_uri.len() + canonical_query.len());
    out.extend_from_slice(method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_query.as_bytes());
    out.push(b'\n');
    for name in signed_headers {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        for (i, v) in headers.values(name).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_trimmed(v, &mut out);
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    for (i, name) in signed_headers.iter().enumerate() {
        if i > 0 {
            out.push(b';');
        }
        out.extend_from_slice(name.as_bytes());
    }
    out.push(b'\n');
    out.extend_from_slice(payload.as_bytes());
    out
}

/// `AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256(canonical request)>`.
pub(crate) fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &[u8]) -> Vec<u8> {
    let mut sts = Vec::with_capacity(32 + amz_date.len() + scope.len() + 64);
    sts.extend_from_slice(b"AWS4-HMAC-SHA256\n");
    sts.extend_from_slice(amz_date.as_bytes());
    sts.push(b'\n');
    sts.extend_from_slice(scope.as_bytes());
    sts.push(b'\n');
    sts.extend_from_slice(&hex32(&sha256(canonical_request)));
    sts
}

/// Verifies a [`ParsedV4`] (header or presigned) with `secret`, then checks time: header
/// auth must be within [`MAX_SKEW_SECS`] of `now`; a presigned URL must not be expired nor
/// dated in the future beyond the skew.
pub fn verify_v4<H: HeaderSource + ?Sized>(
    req: &SignedRequest<'_, H>,
    p: &ParsedV4,
    secret: &str,
    now: i64,
) -> Result<VerifiedV4, AuthError> {
    let key = SigningKey::derive(secret, &p.scope_date, &p.region, &p.service);
    let scope = p.scope();
    let skip = p.presigned_expires.map(|_| "X-Amz-Signature");
    let query = canonical::canonical_query(req.raw_query, skip);
    let raw_uri = if req.raw_path.is_empty() {
        "/"
    } else {
        req.raw_path
    };
    // The path as sent is what AWS signs; the re-encoded form rescues clients that escape
    // differently on the wire than in their canonical request (only tried on mismatch).
    let alt = canonical::normalized_path(raw_uri);
    let mut ok = false;
    for uri in std::iter::once(raw_uri).chain(alt.as_deref()) {
        let creq = canonical_request_v4(
            req.method,
            uri,
            &query,
            req.headers,
            &p.signed_headers,
            &p.content_sha256,
        );
        if key.verify(&string_to_sign(&p.amz_date, &scope, &creq), &p.signature) {
            ok = true;
            break;
        }
        log::debug!(
            "sigv4 mismatch; canonical request:\n{}",
            String::from_utf8_lossy(&creq)
        );
    }
    if !ok {
        return Err(AuthError::SignatureDoesNotMatch);
    }
    match p.presigned_expires {
        None => check_skew(p.timestamp, now, MAX_SKEW_SECS)?,
        Some(expires) => {
            if p.timestamp.saturating_sub(now) > MAX_SKEW_SECS as i64 {
                return Err(AuthError::NotYetValid);
            }
            if now > p.timestamp.saturating_add(i64::from(expires)) {
                return Err(AuthError::Expired);
            }
        }
    }
    Ok(VerifiedV4 {
        access_key: p.access_key.clone(),
        amz_date: p.amz_date.clone(),
        timestamp: p.timestamp,
        scope_date: p.scope_date.clone(),
        region: p.region.clone(),
        service: p.service.clone(),
        signature: p.signature,
        payload_mode: p.payload_mode,
        presigned: p.presigned_expires.is_some(),
        security_token: p.security_token.clone(),
        signing_key: key,
    })
}

//! SigV4 presigned URLs: the signature and its inputs travel in the query string
//! (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`,
//! `X-Amz-SignedHeaders`, `X-Amz-Signature`, optionally `X-Amz-Security-Token`).
//!
//! The canonical request is the header-auth one with two differences: `X-Amz-Signature`
//! is left out of the canonical query, and the payload line is `UNSIGNED-PAYLOAD` unless
//! the client pinned a hash with `X-Amz-Content-Sha256` (query or header).

use super::canonical::{self, aws_encode, header, query_param};
use super::payload::{PayloadMode, SigningKey};
use super::primitives::{decode_hex32, hex32_string, is_scope_date, parse_amz_date};
use super::sigv4::{
    canonical_request_v4, parse_credential, parse_signed_headers, string_to_sign, ParsedV4,
};
use super::{AuthError, HeaderSource, SignedRequest, V4Credentials};

/// Longest validity AWS allows for a presigned URL: 7 days.
pub const MAX_PRESIGN_EXPIRES: u32 = 604_800;

fn qerr(msg: &'static str) -> AuthError {
    AuthError::AuthorizationQueryParametersError(msg)
}

const MISSING: &str = "Query-string authentication version 4 requires the X-Amz-Algorithm, \
    X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.";

/// One required-or-optional auth parameter; a repeated one is an error.
fn param(query: &str, name: &str) -> Result<Option<String>, AuthError> {
    query_param(query, name, true)
        .map_err(|()| qerr("an authentication parameter is repeated or not UTF-8"))
}

fn required(query: &str, name: &str) -> Result<String, AuthError> {
    param(query, name)?.ok_or(qerr(MISSING))
}

/// Parses the presigned-URL parameters of `req`.
pub(crate) fn parse_presigned_v4<H: HeaderSource + ?Sized>(
    req: &SignedRequest<'_, H>,
) -> Result<ParsedV4, AuthError> {
    let q = req.raw_query;
    if required(q, "X-Amz-Algorithm")? != "AWS4-HMAC-SHA256" {
        return Err(qerr("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\""));
    }
    let cred = parse_credential(&required(q, "X-Amz-Credential")?, qerr)?;
    let amz_date = required(q, "X-Amz-Date")?;
    let timestamp = parse_amz_date(amz_date.as_bytes()).ok_or(qerr(
        "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
    ))?;
    if amz_date.get(..8) != Some(cred.scope_date.as_str()) {
        return Err(qerr(
            "Invalid credential date. Date is not the same as X-Amz-Date.",
        ));
    }
    let expires = required(q, "X-Amz-Expires")?;
    let expires: u32 = if !expires.is_empty()
        && expires.len() <= 10
        && expires.bytes().all(|b| b.is_ascii_digit())
    {
        expires
            .parse()
            .map_err(|_| qerr("X-Amz-Expires should be a number"))?
    } else {
        return Err(qerr("X-Amz-Expires should be a number"));
    };
    if !(1..=MAX_PRESIGN_EXPIRES).contains(&expires) {
        return Err(qerr(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800, and more than 0",
        ));
    }
    let signed_headers = parse_signed_headers(&required(q, "X-Amz-SignedHeaders")?, qerr)?;
    let signature = decode_hex32(required(q, "X-Amz-Signature")?.as_bytes())
        .ok_or(qerr("X-Amz-Signature must be 64 hex digits"))?;
    let content_sha256 = match param(q, "X-Amz-Content-Sha256")? {
        Some(v) => v,
        None => match header(req.headers, "x-amz-content-sha256") {
            Some(v) => String::from_utf8(v.trim_ascii().to_vec()).map_err(|_| {
                AuthError::InvalidArgument("x-amz-content-sha256 is not valid UTF-8")
            })?,
            None => "UNSIGNED-PAYLOAD".to_owned(),
        },
    };
    let payload_mode = PayloadMode::from_header(content_sha256.as_bytes())?;
    let security_token = match param(q, "X-Amz-Security-Token")? {
        Some(t) => Some(t),
        None => header(req.headers, "x-amz-security-token")
            .map(|v| String::from_utf8_lossy(v).into_owned()),
    };
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
        presigned_expires: Some(expires),
        security_token,
    })
}

/// Presigns `req` (client side) for `expires` seconds from `amz_date`, signing only the
/// `host` header (which `req.headers` must hold) and an unsigned payload.
///
/// Returns the complete new raw query: `req.raw_query` (if any) followed by the
/// `X-Amz-*` parameters, ending with `X-Amz-Signature`.
pub fn presign_v4<H: HeaderSource + ?Sized>(
    req: &SignedRequest<'_, H>,
    creds: &V4Credentials<'_>,
    amz_date: &str,
    expires: u32,
) -> Result<String, AuthError> {
    let scope_date = amz_date
        .get(..8)
        .filter(|d| is_scope_date(d) && parse_amz_date(amz_date.as_bytes()).is_some());
    let scope_date = scope_date.ok_or(AuthError::InvalidRequest(
        "amz_date must be YYYYMMDD'T'HHMMSS'Z'",
    ))?;
    if !(1..=MAX_PRESIGN_EXPIRES).contains(&expires) {
        return Err(qerr("X-Amz-Expires must be between 1 and 604800"));
    }
    let scope = format!(
        "{scope_date}/{}/{}/aws4_request",
        creds.region, creds.service
    );
    let mut query = String::with_capacity(req.raw_query.len() + 256);
    query.push_str(req.raw_query);
    if !query.is_empty() {
        query.push('&');
    }
    query.push_str("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=");
    query.push_str(&aws_encode(
        format!("{}/{scope}", creds.access_key).as_bytes(),
    ));
    query.push_str("&X-Amz-Date=");
    query.push_str(&aws_encode(amz_date.as_bytes()));
    query.push_str(&format!(
        "&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host"
    ));
    let key = SigningKey::derive(creds.secret_key, scope_date, creds.region, creds.service);
    let uri = if req.raw_path.is_empty() {
        "/"
    } else {
        req.raw_path
    };
    let creq = canonical_request_v4(
        req.method,
        uri,
        &canonical::canonical_query(&query, None),
        req.headers,
        &["host".to_owned()],
        "UNSIGNED-PAYLOAD",
    );
    let signature = key.sign(&string_to_sign(amz_date, &scope, &creq));
    query.push_str("&X-Amz-Signature=");
    query.push_str(&hex32_string(&signature));
    Ok(query)
}

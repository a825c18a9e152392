//! Client-side SigV4 header signing, used by the benchmark tool and the tests. It shares
//! the canonicalisation code with the verifier, so both sides cannot drift apart.

use super::canonical::{self, header};
use super::chunk_signer::ChunkSigner;
use super::payload::SigningKey;
use super::primitives::{hex32_string, is_scope_date, EMPTY_SHA256_HEX};
use super::sigv4::{canonical_request_v4, string_to_sign};
use super::{AuthError, HeaderSource, SignedRequest};

/// Credentials and scope for client-side signing.
#[derive(Debug, Clone, Copy)]
pub struct V4Credentials<'a> {
    /// Access key id.
    pub access_key: &'a str,
    /// Secret access key.
    pub secret_key: &'a str,
    /// Region, e.g. `us-east-1`.
    pub region: &'a str,
    /// Service, `s3`.
    pub service: &'a str,
}

/// The result of client-side SigV4 header signing.
#[derive(Debug, Clone)]
pub struct V4Signature {
    /// The `Authorization` header value.
    pub authorization: String,
    /// The request signature (seed for chunk signatures).
    pub signature: [u8; 32],
    /// Timestamp used, `YYYYMMDD'T'HHMMSS'Z'`.
    pub amz_date: String,
    /// `date/region/service/aws4_request`.
    pub scope: String,
    /// The derived key.
    pub signing_key: SigningKey,
}

impl V4Signature {
    /// A chunk signer seeded with this signature, for streaming uploads.
    pub fn chunk_signer(&self) -> ChunkSigner {
        ChunkSigner::new(
            self.signing_key.clone(),
            &self.amz_date,
            &self.scope,
            self.signature,
        )
    }
}

/// Signs a request for header auth. The request headers must already hold everything in
/// `signed_headers` (include `host`, `x-amz-date` = `amz_date`, and normally
/// `x-amz-content-sha256`, which is used as the payload line; absent, the empty-body hash
/// is used, matching the verifier). Names are lowercased and sorted here.
pub fn sign_v4<H: HeaderSource + ?Sized>(
    req: &SignedRequest<'_, H>,
    creds: &V4Credentials<'_>,
    amz_date: &str,
    signed_headers: &[&str],
) -> Result<V4Signature, AuthError> {
    let scope_date = amz_date.get(..8).filter(|d| is_scope_date(d));
    let scope_date = scope_date.ok_or(AuthError::InvalidRequest(
        "amz_date must be YYYYMMDD'T'HHMMSS'Z'",
    ))?;
    let mut names: Vec<String> = signed_headers
        .iter()
        .map(|n| n.to_ascii_lowercase())
        .collect();
    names.sort_unstable();
    names.dedup();
    let payload = header(req.headers, "x-amz-content-sha256")
        .map(|v| String::from_utf8_lossy(v.trim_ascii()).into_owned())
        .unwrap_or_else(|| EMPTY_SHA256_HEX.to_owned());
    let key = SigningKey::derive(creds.secret_key, scope_date, creds.region, creds.service);
    let scope = format!(
        "{scope_date}/{}/{}/aws4_request",
        creds.region, creds.service
    );
    let uri = if req.raw_path.is_empty() {
        "/"
    } else {
        req.raw_path
    };
    let query = canonical::canonical_query(req.raw_query, None);
    let creq = canonical_request_v4(req.method, uri, &query, req.headers, &names, &payload);
    let signature = key.sign(&string_to_sign(amz_date, &scope, &creq));
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={}, Signature={}",
        creds.access_key,
        names.join(";"),
        hex32_string(&signature)
    );
    Ok(V4Signature {
        authorization,
        signature,
        amz_date: amz_date.to_owned(),
        scope,
        signing_key: key,
    })
}

/// [`sign_v4`], returning only the `Authorization` header value.
pub fn sign_v4_header<H: HeaderSource + ?Sized>(
    req: &SignedRequest<'_, H>,
    creds: &V4Credentials<'_>,
    amz_date: &str,
    signed_headers: &[&str],
) -> Result<String, AuthError> {
    sign_v4(req, creds, amz_date, signed_headers).map(|s| s.authorization)
}

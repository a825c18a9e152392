//! The SigV4 payload modes (what `x-amz-content-sha256` announces) and the derived
//! signing key.

use hmac::Mac;

use super::primitives::{decode_hex32, hmac_sha256, hmac_sha256_once};
use super::AuthError;

/// How the body of a SigV4 request is protected, from `x-amz-content-sha256`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadMode {
    /// `UNSIGNED-PAYLOAD`: the body is not covered by the signature.
    Unsigned,
    /// A hex SHA-256: the body must hash to this ([`PayloadMode::check_body_hash`]).
    Sha256([u8; 32]),
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: aws-chunked with chunk signatures.
    StreamingSigned,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: signed chunks plus signed trailers.
    StreamingSignedTrailer,
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: aws-chunked without signatures, with trailers.
    StreamingUnsignedTrailer,
}

impl PayloadMode {
    /// Parses an `x-amz-content-sha256` value.
    pub fn from_header(value: &[u8]) -> Result<Self, AuthError> {
        Ok(match value {
            b"UNSIGNED-PAYLOAD" => PayloadMode::Unsigned,
            b"STREAMING-AWS4-HMAC-SHA256-PAYLOAD" => PayloadMode::StreamingSigned,
            b"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" => PayloadMode::StreamingSignedTrailer,
            b"STREAMING-UNSIGNED-PAYLOAD-TRAILER" => PayloadMode::StreamingUnsignedTrailer,
            v if v.starts_with(b"STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD") => {
                return Err(AuthError::NotImplemented(
                    "SigV4a (ECDSA) streaming payloads are not supported",
                ))
            }
            v => PayloadMode::Sha256(decode_hex32(v).ok_or(AuthError::InvalidArgument(
                "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, \
                 STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER \
                 or a valid sha256 value.",
            ))?),
        })
    }

    /// Whether the body is aws-chunked (needs an [`super::AwsChunkedDecoder`]).
    pub fn is_streaming(&self) -> bool {
        matches!(
            self,
            PayloadMode::StreamingSigned
                | PayloadMode::StreamingSignedTrailer
                | PayloadMode::StreamingUnsignedTrailer
        )
    }

    /// Whether the aws-chunked body carries per-chunk signatures.
    pub fn has_chunk_signatures(&self) -> bool {
        matches!(
            self,
            PayloadMode::StreamingSigned | PayloadMode::StreamingSignedTrailer
        )
    }

    /// Whether the aws-chunked body ends with trailer headers.
    pub fn has_trailer(&self) -> bool {
        matches!(
            self,
            PayloadMode::StreamingSignedTrailer | PayloadMode::StreamingUnsignedTrailer
        )
    }

    /// For [`PayloadMode::Sha256`], compares the SHA-256 the body reader computed; other
    /// modes accept anything (their integrity is checked elsewhere or not at all).
    pub fn check_body_hash(&self, computed: &[u8; 32]) -> Result<(), AuthError> {
        match self {
            PayloadMode::Sha256(expected) if expected != computed => {
                Err(AuthError::XAmzContentSha256Mismatch)
            }
            _ => Ok(()),
        }
    }
}

/// The SigV4 signing key `HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service),
/// "aws4_request")`. Derived once per request; `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(pub(crate) [u8; 32]);

impl SigningKey {
    /// Derives the key for a credential scope.
    pub fn derive(secret: &str, scope_date: &str, region: &str, service: &str) -> Self {
        let mut k_secret = Vec::with_capacity(secret.len() + 4);
        k_secret.extend_from_slice(b"AWS4");
        k_secret.extend_from_slice(secret.as_bytes());
        let k_date = hmac_sha256_once(&k_secret, scope_date.as_bytes());
        let k_region = hmac_sha256_once(&k_date, region.as_bytes());
        let k_service = hmac_sha256_once(&k_region, service.as_bytes());
        SigningKey(hmac_sha256_once(&k_service, b"aws4_request"))
    }

    /// HMAC-SHA256 of `data` under this key.
    pub(crate) fn sign(&self, data: &[u8]) -> [u8; 32] {
        hmac_sha256_once(&self.0, data)
    }

    /// Constant-time check that `signature` is the HMAC of `data` under this key.
    pub(crate) fn verify(&self, data: &[u8], signature: &[u8; 32]) -> bool {
        let mut mac = hmac_sha256(&self.0);
        mac.update(data);
        mac.verify_slice(signature).is_ok()
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

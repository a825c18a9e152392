//! Authentication failures, each with the S3 error code and HTTP status a client expects.
//!
//! The variants carry only `&'static str` details so the type is `Copy` and building an
//! error never allocates; nothing derived from the request (and certainly no secret or
//! expected signature) ends up in the message.

use std::fmt;

/// Why a request failed authentication. Map to a response with [`AuthError::code`],
/// [`AuthError::status`] and the `Display` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    /// Generic refusal (e.g. an access key the caller knows but has disabled).
    AccessDenied,
    /// A presigned URL whose `X-Amz-Expires` / `Expires` has passed.
    Expired,
    /// A presigned URL dated more than the allowed skew in the future.
    NotYetValid,
    /// Neither `x-amz-date` nor `Date` carried a usable timestamp.
    MissingDate,
    /// The computed signature differs from the one sent (or the sent one is not decodable).
    SignatureDoesNotMatch,
    /// The access key id is unknown. Returned by the caller after its key lookup.
    InvalidAccessKeyId,
    /// The request time is further than the allowed skew from the server clock.
    RequestTimeTooSkewed,
    /// The `Authorization` header could not be parsed.
    AuthorizationHeaderMalformed(&'static str),
    /// The presigned query parameters could not be parsed or are out of range.
    AuthorizationQueryParametersError(&'static str),
    /// The body hash differs from `x-amz-content-sha256`. Returned by the body reader.
    XAmzContentSha256Mismatch,
    /// A required security header is missing.
    MissingSecurityHeader,
    /// The body ended early, or its length disagrees with `x-amz-decoded-content-length`.
    IncompleteBody,
    /// The aws-chunked framing is invalid (bad size line, missing CRLF, oversized line...).
    MalformedChunk(&'static str),
    /// `x-amz-decoded-content-length` is missing on a streaming upload.
    MissingContentLength,
    /// A header or parameter has an unacceptable value.
    InvalidArgument(&'static str),
    /// The request is not acceptable for another reason.
    InvalidRequest(&'static str),
    /// A recognised but unsupported scheme (e.g. SigV4a / ECDSA).
    NotImplemented(&'static str),
}

impl AuthError {
    /// The S3 error code for the `<Code>` element of the error response.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::AccessDenied
            | AuthError::Expired
            | AuthError::NotYetValid
            | AuthError::MissingDate => "AccessDenied",
            AuthError::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            AuthError::InvalidAccessKeyId => "InvalidAccessKeyId",
            AuthError::RequestTimeTooSkewed => "RequestTimeTooSkewed",
            AuthError::AuthorizationHeaderMalformed(_) => "AuthorizationHeaderMalformed",
            AuthError::AuthorizationQueryParametersError(_) => "AuthorizationQueryParametersError",
            AuthError::XAmzContentSha256Mismatch => "XAmzContentSHA256Mismatch",
            AuthError::MissingSecurityHeader => "MissingSecurityHeader",
            AuthError::IncompleteBody => "IncompleteBody",
            // AWS has no dedicated code for broken aws-chunked framing; InvalidRequest is
            // what clients treat as "do not retry the same bytes".
            AuthError::MalformedChunk(_) => "InvalidRequest",
            AuthError::MissingContentLength => "MissingContentLength",
            AuthError::InvalidArgument(_) => "InvalidArgument",
            AuthError::InvalidRequest(_) => "InvalidRequest",
            AuthError::NotImplemented(_) => "NotImplemented",
        }
    }

    /// The HTTP status of the error response.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::AccessDenied
            | AuthError::Expired
            | AuthError::NotYetValid
            | AuthError::MissingDate
            | AuthError::SignatureDoesNotMatch
            | AuthError::InvalidAccessKeyId
            | AuthError::RequestTimeTooSkewed => 403,
            AuthError::MissingContentLength => 411,
            AuthError::NotImplemented(_) => 501,
            AuthError::AuthorizationHeaderMalformed(_)
            | AuthError::AuthorizationQueryParametersError(_)
            | AuthError::XAmzContentSha256Mismatch
            | AuthError::MissingSecurityHeader
            | AuthError::IncompleteBody
            | AuthError::MalformedChunk(_)
            | AuthError::InvalidArgument(_)
            | AuthError::InvalidRequest(_) => 400,
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Messages follow the wording AWS uses, so client logs read the same.
        match self {
            AuthError::AccessDenied => f.write_str("Access Denied"),
            AuthError::Expired => f.write_str("Request has expired"),
            AuthError::NotYetValid => f.write_str("Request is not valid yet"),
            AuthError::MissingDate => {
                f.write_str("AWS authentication requires a valid Date or x-amz-date header")
            }
            AuthError::SignatureDoesNotMatch => f.write_str(
                "The request signature we calculated does not match the signature you provided. \
                 Check your key and signing method.",
            ),
            AuthError::InvalidAccessKeyId => f.write_str(
                "The AWS Access Key Id you provided does not exist in our records.",
            ),
            AuthError::RequestTimeTooSkewed => f.write_str(
                "The difference between the request time and the current time is too large.",
            ),
            AuthError::AuthorizationHeaderMalformed(d) => {
                write!(f, "The authorization header is malformed; {d}")
            }
            AuthError::AuthorizationQueryParametersError(d) => f.write_str(d),
            AuthError::XAmzContentSha256Mismatch => f.write_str(
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            ),
            AuthError::MissingSecurityHeader => {
                f.write_str("Your request is missing a required header.")
            }
            AuthError::IncompleteBody => f.write_str(
                "You did not provide the number of bytes specified by the Content-Length HTTP header.",
            ),
            AuthError::MalformedChunk(d) => write!(f, "Malformed aws-chunked body: {d}"),
            AuthError::MissingContentLength => {
                f.write_str("You must provide the Content-Length HTTP header.")
            }
            AuthError::InvalidArgument(d)
            | AuthError::InvalidRequest(d)
            | AuthError::NotImplemented(d) => f.write_str(d),
        }
    }
}

impl std::error::Error for AuthError {}

//! The S3 error table: every error code the gateway can return, its HTTP status and its
//! default message, all in one `match` so the three can never drift apart.
//!
//! An [`S3Error`] renders itself as the `<Error>` document that S3 clients parse; the
//! message and resource are escaped, so user-controlled keys cannot break the XML.

use std::fmt;

use http::StatusCode;

use super::xml::XmlWriter;

/// Every S3 error code the gateway emits. The names are AWS's, so clients that switch on
/// the `<Code>` string (boto3's `ClientError.response["Error"]["Code"]`) keep working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms)]
pub enum S3ErrorCode {
    AccessDenied,
    AccountProblem,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    BadDigest,
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    ConditionalRequestConflict,
    EntityTooLarge,
    EntityTooSmall,
    ExpiredToken,
    IncompleteBody,
    InternalError,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidBucketName,
    InvalidChunkSizeError,
    InvalidDigest,
    InvalidObjectState,
    InvalidPart,
    InvalidPartNumber,
    InvalidPartOrder,
    InvalidRange,
    InvalidRequest,
    InvalidStorageClass,
    InvalidToken,
    InvalidURI,
    KeyTooLongError,
    MalformedACLError,
    MalformedXML,
    MaxMessageLengthExceeded,
    MetadataTooLarge,
    MethodNotAllowed,
    MissingContentLength,
    MissingRequestBodyError,
    MissingSecurityHeader,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    NoSuchVersion,
    NotImplemented,
    NotModified,
    OperationAborted,
    PreconditionFailed,
    RequestHeaderSectionTooLarge,
    RequestTimeTooSkewed,
    RequestTimeout,
    ServiceUnavailable,
    SignatureDoesNotMatch,
    SlowDown,
    TooManyBuckets,
    XAmzContentSHA256Mismatch,
}

impl S3ErrorCode {
    /// Every code, for exhaustive tests and for [`S3ErrorCode::parse`].
    #[rustfmt::skip]
    pub const ALL: [S3ErrorCode; 53] = {
        use S3ErrorCode::*;
        [
            AccessDenied, AccountProblem, AuthorizationHeaderMalformed,
            AuthorizationQueryParametersError, BadDigest,
            BucketAlreadyExists, BucketAlreadyOwnedByYou, BucketNotEmpty,
            ConditionalRequestConflict, EntityTooLarge,
            EntityTooSmall, ExpiredToken, IncompleteBody, InternalError, InvalidAccessKeyId,
            InvalidArgument, InvalidBucketName, InvalidChunkSizeError, InvalidDigest,
            InvalidObjectState, InvalidPart, InvalidPartNumber, InvalidPartOrder, InvalidRange,
            InvalidRequest, InvalidStorageClass, InvalidToken, InvalidURI, KeyTooLongError,
            MalformedACLError, MalformedXML, MaxMessageLengthExceeded, MetadataTooLarge,
            MethodNotAllowed, MissingContentLength, MissingRequestBodyError,
            MissingSecurityHeader, NoSuchBucket, NoSuchKey, NoSuchUpload, NoSuchVersion,
            NotImplemented, NotModified, OperationAborted, PreconditionFailed,
            RequestHeaderSectionTooLarge, RequestTimeTooSkewed, RequestTimeout,
            ServiceUnavailable, SignatureDoesNotMatch, SlowDown, TooManyBuckets,
            XAmzContentSHA256Mismatch,
        ]
    };

    /// The one table: (code string, HTTP status, AWS's default message).
    #[rustfmt::skip]
    fn entry(self) -> (&'static str, StatusCode, &'static str) {
        use S3ErrorCode as C;
        use StatusCode as S;
        match self {
            C::AccessDenied => ("AccessDenied", S::FORBIDDEN, "Access Denied"),
            C::AccountProblem => ("AccountProblem", S::FORBIDDEN,
                "There is a problem with your account that prevents the operation from completing successfully."),
            C::AuthorizationHeaderMalformed => ("AuthorizationHeaderMalformed", S::BAD_REQUEST,
                "The authorization header you provided is invalid."),
            C::AuthorizationQueryParametersError => ("AuthorizationQueryParametersError", S::BAD_REQUEST,
                "Error parsing the X-Amz-Credential parameter."),
            C::BadDigest => ("BadDigest", S::BAD_REQUEST,
                "The Content-MD5 you specified did not match what we received."),
            C::BucketAlreadyExists => ("BucketAlreadyExists", S::CONFLICT,
                "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."),
            C::BucketAlreadyOwnedByYou => ("BucketAlreadyOwnedByYou", S::CONFLICT,
                "Your previous request to create the named bucket succeeded and you already own it."),
            C::ConditionalRequestConflict => ("ConditionalRequestConflict", S::CONFLICT,
                "A conflicting operation occurred. If using PutObject you can retry the request."),
            C::BucketNotEmpty => ("BucketNotEmpty", S::CONFLICT,
                "The bucket you tried to delete is not empty"),
            C::EntityTooLarge => ("EntityTooLarge", S::BAD_REQUEST,
                "Your proposed upload exceeds the maximum allowed object size."),
            C::EntityTooSmall => ("EntityTooSmall", S::BAD_REQUEST,
                "Your proposed upload is smaller than the minimum allowed object size."),
            C::ExpiredToken => ("ExpiredToken", S::BAD_REQUEST,
                "The provided token has expired."),
            C::IncompleteBody => ("IncompleteBody", S::BAD_REQUEST,
                "You did not provide the number of bytes specified by the Content-Length HTTP header."),
            C::InternalError => ("InternalError", S::INTERNAL_SERVER_ERROR,
                "We encountered an internal error. Please try again."),
            C::InvalidAccessKeyId => ("InvalidAccessKeyId", S::FORBIDDEN,
                "The AWS Access Key Id you provided does not exist in our records."),
            C::InvalidArgument => ("InvalidArgument", S::BAD_REQUEST, "Invalid Argument"),
            C::InvalidBucketName => ("InvalidBucketName", S::BAD_REQUEST,
                "The specified bucket is not valid."),
            // AWS really answers 403 for a bad aws-chunked chunk size.
            C::InvalidChunkSizeError => ("InvalidChunkSizeError", S::FORBIDDEN,
                "Only the last chunk is allowed to have a size less than 8192 bytes"),
            C::InvalidDigest => ("InvalidDigest", S::BAD_REQUEST,
                "The Content-MD5 you specified is not valid."),
            C::InvalidObjectState => ("InvalidObjectState", S::FORBIDDEN,
                "The operation is not valid for the object's storage class."),
            C::InvalidPart => ("InvalidPart", S::BAD_REQUEST,
                "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."),
            C::InvalidPartNumber => ("InvalidPartNumber", S::RANGE_NOT_SATISFIABLE,
                "The requested partnumber is not satisfiable"),
            C::InvalidPartOrder => ("InvalidPartOrder", S::BAD_REQUEST,
                "The list of parts was not in ascending order. Parts must be ordered by part number."),
            C::InvalidRange => ("InvalidRange", S::RANGE_NOT_SATISFIABLE,
                "The requested range is not satisfiable"),
            C::InvalidRequest => ("InvalidRequest", S::BAD_REQUEST, "Invalid Request"),
            C::InvalidStorageClass => ("InvalidStorageClass", S::BAD_REQUEST,
                "The storage class you specified is not valid"),
            C::InvalidToken => ("InvalidToken", S::BAD_REQUEST,
                "The provided token is malformed or otherwise invalid."),
            C::InvalidURI => ("InvalidURI", S::BAD_REQUEST, "Couldn't parse the specified URI."),
            C::KeyTooLongError => ("KeyTooLongError", S::BAD_REQUEST, "Your key is too long"),
            C::MalformedACLError => ("MalformedACLError", S::BAD_REQUEST,
                "The XML you provided was not well-formed or did not validate against our published schema"),
            C::MalformedXML => ("MalformedXML", S::BAD_REQUEST,
                "The XML you provided was not well-formed or did not validate against our published schema"),
            C::MaxMessageLengthExceeded => ("MaxMessageLengthExceeded", S::BAD_REQUEST,
                "Your request was too big."),
            C::MetadataTooLarge => ("MetadataTooLarge", S::BAD_REQUEST,
                "Your metadata headers exceed the maximum allowed metadata size."),
            C::MethodNotAllowed => ("MethodNotAllowed", S::METHOD_NOT_ALLOWED,
                "The specified method is not allowed against this resource."),
            C::MissingContentLength => ("MissingContentLength", S::LENGTH_REQUIRED,
                "You must provide the Content-Length HTTP header."),
            C::MissingRequestBodyError => ("MissingRequestBodyError", S::BAD_REQUEST,
                "Request Body is empty"),
            C::MissingSecurityHeader => ("MissingSecurityHeader", S::BAD_REQUEST,
                "Your request is missing a required header."),
            C::NoSuchBucket => ("NoSuchBucket", S::NOT_FOUND, "The specified bucket does not exist"),
            C::NoSuchKey => ("NoSuchKey", S::NOT_FOUND, "The specified key does not exist."),
            C::NoSuchUpload => ("NoSuchUpload", S::NOT_FOUND,
                "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."),
            C::NoSuchVersion => ("NoSuchVersion", S::NOT_FOUND,
                "The specified version does not exist."),
            C::NotImplemented => ("NotImplemented", S::NOT_IMPLEMENTED,
                "A header or query you provided implies functionality that is not implemented."),
            C::NotModified => ("NotModified", S::NOT_MODIFIED, "Not Modified"),
            C::OperationAborted => ("OperationAborted", S::CONFLICT,
                "A conflicting conditional operation is currently in progress against this resource. Please try again."),
            C::PreconditionFailed => ("PreconditionFailed", S::PRECONDITION_FAILED,
                "At least one of the preconditions you specified did not hold."),
            C::RequestHeaderSectionTooLarge => ("RequestHeaderSectionTooLarge", S::BAD_REQUEST,
                "Your request header section exceeds the maximum allowed size."),
            C::RequestTimeTooSkewed => ("RequestTimeTooSkewed", S::FORBIDDEN,
                "The difference between the request time and the current time is too large."),
            C::RequestTimeout => ("RequestTimeout", S::BAD_REQUEST,
                "Your socket connection to the server was not read from or written to within the timeout period."),
            C::ServiceUnavailable => ("ServiceUnavailable", S::SERVICE_UNAVAILABLE,
                "Please reduce your request rate."),
            C::SignatureDoesNotMatch => ("SignatureDoesNotMatch", S::FORBIDDEN,
                "The request signature we calculated does not match the signature you provided. Check your key and signing method."),
            C::SlowDown => ("SlowDown", S::SERVICE_UNAVAILABLE, "Please reduce your request rate."),
            C::TooManyBuckets => ("TooManyBuckets", S::BAD_REQUEST,
                "You have attempted to create more buckets than allowed."),
            C::XAmzContentSHA256Mismatch => ("XAmzContentSHA256Mismatch", S::BAD_REQUEST,
                "The provided 'x-amz-content-sha256' header does not match what was computed."),
        }
    }

    /// The `<Code>` string, e.g. `"NoSuchKey"`.
    pub fn as_str(self) -> &'static str {
        self.entry().0
    }

    /// The HTTP status this code is sent with.
    pub fn status(self) -> StatusCode {
        self.entry().1
    }

    /// AWS's stock message for this code.
    pub fn default_message(self) -> &'static str {
        self.entry().2
    }

    /// Whether the response carries an `<Error>` body: 304 must not (RFC 9110 §15.4.5).
    pub fn has_body(self) -> bool {
        self != S3ErrorCode::NotModified
    }

    /// The code whose `<Code>` string is `s` (exact match), if any.
    pub fn parse(s: &str) -> Option<S3ErrorCode> {
        S3ErrorCode::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for S3ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An S3 error response: code, human message and the resource it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Error {
    pub code: S3ErrorCode,
    pub message: String,
    pub resource: Option<String>,
}

impl From<S3ErrorCode> for S3Error {
    fn from(code: S3ErrorCode) -> Self {
        S3Error::new(code)
    }
}

impl S3Error {
    /// An error with the code's default message and no resource.
    pub fn new(code: S3ErrorCode) -> Self {
        Self::with_message(code, code.default_message())
    }

    /// An error with a specific message.
    pub fn with_message(code: S3ErrorCode, message: impl Into<String>) -> Self {
        S3Error {
            code,
            message: message.into(),
            resource: None,
        }
    }

    /// Sets the `<Resource>` element (a key, a bucket or a path).
    pub fn with_resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// The HTTP status of the response.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// The full `<Error>` document, or nothing for codes that have no body (304).
    pub fn to_xml(&self, request_id: &str) -> Vec<u8> {
        if !self.code.has_body() {
            return Vec::new();
        }
        let mut w = XmlWriter::new();
        w.open("Error");
        w.elem("Code", self.code.as_str());
        w.elem("Message", &self.message);
        if let Some(resource) = &self.resource {
            // S3 names the element after what is missing or wrong; SDKs read these names.
            let element = match self.code {
                S3ErrorCode::NoSuchKey => "Key",
                S3ErrorCode::NoSuchBucket
                | S3ErrorCode::BucketNotEmpty
                | S3ErrorCode::BucketAlreadyExists
                | S3ErrorCode::BucketAlreadyOwnedByYou
                | S3ErrorCode::InvalidBucketName => "BucketName",
                S3ErrorCode::NoSuchUpload => "UploadId",
                _ => "Resource",
            };
            w.elem(element, resource);
        }
        w.elem("RequestId", request_id);
        w.close("Error");
        w.finish()
    }

    /// `what` names the unsupported feature, e.g. the sub-resource `"tagging"`.
    pub fn not_implemented(what: &str) -> Self {
        Self::new(S3ErrorCode::NotImplemented).with_resource(what)
    }
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::with_message(S3ErrorCode::InvalidArgument, message)
    }
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::with_message(S3ErrorCode::InvalidRequest, message)
    }
    /// An `x-amz-checksum-*` value that does not match the body: AWS also says BadDigest,
    /// naming the algorithm (`"CRC32"`).
    pub fn checksum_mismatch(algorithm: &str) -> Self {
        Self::with_message(
            S3ErrorCode::BadDigest,
            format!("The {algorithm} you specified did not match the calculated checksum."),
        )
    }
}

/// Shorthand constructors: `name => Code` gives `S3Error::name()` with the default
/// message; `name(resource) => Code` also sets the resource.
macro_rules! constructors {
    ($($name:ident $(($res:ident))? => $code:ident;)*) => {
        impl S3Error {
            $(
                #[doc = concat!("`", stringify!($code), "` with its default message.")]
                pub fn $name($($res: &str)?) -> Self {
                    let e = Self::new(S3ErrorCode::$code);
                    $(let e = e.with_resource($res);)?
                    e
                }
            )*
        }
    };
}

constructors! {
    access_denied => AccessDenied;
    no_such_bucket(bucket) => NoSuchBucket;
    no_such_key(key) => NoSuchKey;
    no_such_upload(upload_id) => NoSuchUpload;
    bucket_already_exists(bucket) => BucketAlreadyExists;
    bucket_already_owned_by_you(bucket) => BucketAlreadyOwnedByYou;
    bucket_not_empty(bucket) => BucketNotEmpty;
    invalid_bucket_name(bucket) => InvalidBucketName;
    invalid_uri(uri) => InvalidURI;
    key_too_long => KeyTooLongError;
    malformed_xml => MalformedXML;
    method_not_allowed => MethodNotAllowed;
    not_modified => NotModified;
    precondition_failed => PreconditionFailed;
    invalid_range => InvalidRange;
    // Content-MD5 that is not base64 of 16 bytes.
    invalid_digest => InvalidDigest;
    // Content-MD5 that does not match the body.
    bad_digest => BadDigest;
    content_sha256_mismatch => XAmzContentSHA256Mismatch;
    signature_does_not_match => SignatureDoesNotMatch;
    invalid_access_key_id => InvalidAccessKeyId;
    missing_content_length => MissingContentLength;
    incomplete_body => IncompleteBody;
    entity_too_large => EntityTooLarge;
    entity_too_small => EntityTooSmall;
    invalid_part => InvalidPart;
    invalid_part_order => InvalidPartOrder;
    // Internal details are logged by the caller, never sent to clients.
    internal => InternalError;
    slow_down => SlowDown;
    service_unavailable => ServiceUnavailable;
}

impl fmt::Display for S3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.code.as_str(),
            self.code.status().as_u16(),
            self.message
        )?;
        if let Some(r) = &self.resource {
            write!(f, " [{r}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for S3Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_statuses() {
        const EXPECT: &str = "AccessDenied 403 AccountProblem 403 BadDigest 400 \
            BucketAlreadyExists 409 BucketAlreadyOwnedByYou 409 BucketNotEmpty 409 \
            EntityTooLarge 400 EntityTooSmall 400 IncompleteBody 400 InternalError 500 \
            InvalidAccessKeyId 403 InvalidArgument 400 InvalidBucketName 400 InvalidDigest 400 \
            InvalidPart 400 InvalidPartOrder 400 InvalidRange 416 InvalidRequest 400 \
            InvalidURI 400 KeyTooLongError 400 MalformedXML 400 MetadataTooLarge 400 \
            MethodNotAllowed 405 MissingContentLength 411 NoSuchBucket 404 NoSuchKey 404 \
            NoSuchUpload 404 NotImplemented 501 PreconditionFailed 412 NotModified 304 \
            RequestTimeTooSkewed 403 RequestTimeout 400 ServiceUnavailable 503 SlowDown 503 \
            SignatureDoesNotMatch 403 XAmzContentSHA256Mismatch 400 InvalidStorageClass 400 \
            AuthorizationHeaderMalformed 400 ExpiredToken 400 RequestHeaderSectionTooLarge 400 \
            InvalidObjectState 403 TooManyBuckets 400 OperationAborted 409 NoSuchVersion 404";
        let words: Vec<&str> = EXPECT.split_ascii_whitespace().collect();
        assert_eq!(words.len(), 88);
        for pair in words.chunks(2) {
            let code = S3ErrorCode::parse(pair[0]).expect(pair[0]);
            assert_eq!(code.status().as_u16().to_string(), pair[1], "{code}");
        }
    }

    #[test]
    fn names_unique_and_parse_back() {
        for code in S3ErrorCode::ALL {
            assert_eq!(S3ErrorCode::parse(code.as_str()), Some(code));
            assert_eq!(
                format!("{code:?}"),
                code.as_str(),
                "variant name is the wire name"
            );
            assert!(!code.default_message().is_empty());
        }
        assert_eq!(S3ErrorCode::parse("nosuchkey"), None);
    }

    #[test]
    fn renders_error_document() {
        let e = S3Error::no_such_key("a<b>&\"c'");
        let xml = String::from_utf8(e.to_xml("req-1")).unwrap();
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>\
             <Message>The specified key does not exist.</Message>\
             <Key>a&lt;b&gt;&amp;&quot;c&apos;</Key><RequestId>req-1</RequestId></Error>"
        );
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn not_modified_has_no_body() {
        assert!(S3Error::not_modified().to_xml("x").is_empty());
    }

    #[test]
    fn checksum_mismatch_is_bad_digest() {
        let e = S3Error::checksum_mismatch("CRC32");
        assert_eq!(e.code, S3ErrorCode::BadDigest);
        assert_eq!(
            e.message,
            "The CRC32 you specified did not match the calculated checksum."
        );
        assert!(e.to_string().starts_with("BadDigest (400)"));
    }
}

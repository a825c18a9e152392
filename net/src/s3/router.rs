//! Maps an HTTP request line (method, path, query, Host) to one S3 [`Operation`].
//!
//! Both addressing styles are accepted: path-style `/bucket/key` and virtual-hosted
//! `bucket.<domain>/key` (the port in Host is ignored). The bucket and key come back
//! percent-decoded and UTF-8 validated, the query decoded into pairs. Sub-resources S3 has
//! but LeoFS does not implement give `NotImplemented`; a known resource with the wrong
//! method gives `MethodNotAllowed`. Unknown plain parameters are ignored, as S3 does.

use percent_encoding::percent_decode_str;

use crate::s3::error::{S3Error, S3ErrorCode};

/// Longest key S3 accepts, in UTF-8 bytes.
pub const MAX_KEY_LEN: usize = 1024;

/// What the router needs from a request; everything is borrowed from the parsed head.
#[derive(Debug, Clone, Copy, Default)]
pub struct RouteInput<'a> {
    pub method: &'a str,
    /// The path as sent, still percent-encoded, without the query.
    pub raw_path: &'a str,
    /// The query as sent (after `?`), still percent-encoded.
    pub raw_query: &'a str,
    /// The Host header.
    pub host: Option<&'a str>,
    /// E.g. `s3.example.com`: then Host `bucket.s3.example.com` is virtual-hosted style.
    pub virtual_host_domain: Option<&'a str>,
    /// Whether an `x-amz-copy-source` header is present.
    pub has_copy_source: bool,
}

/// Declares [`Operation`] with its AWS API names in one list.
macro_rules! operations {
    ($($op:ident => $name:literal,)*) => {
        /// Every S3 operation the gateway serves.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operation {
            $($op,)*
        }

        impl Operation {
            /// Every operation, e.g. to pre-register metric labels.
            pub const ALL: &'static [Operation] = &[$(Operation::$op,)*];

            /// The AWS API name, for logs and metric labels: `"GetObject"`.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Operation::$op => $name,)*
                }
            }
        }
    };
}

operations! {
    ListBuckets => "ListBuckets",
    CreateBucket => "CreateBucket",
    HeadBucket => "HeadBucket",
    DeleteBucket => "DeleteBucket",
    GetBucketLocation => "GetBucketLocation",
    GetBucketVersioning => "GetBucketVersioning",
    GetBucketAcl => "GetBucketAcl",
    PutBucketAcl => "PutBucketAcl",
    ListObjectsV1 => "ListObjects",
    ListObjectsV2 => "ListObjectsV2",
    ListMultipartUploads => "ListMultipartUploads",
    DeleteObjects => "DeleteObjects",
    PutObject => "PutObject",
    CopyObject => "CopyObject",
    GetObject => "GetObject",
    HeadObject => "HeadObject",
    DeleteObject => "DeleteObject",
    GetObjectAcl => "GetObjectAcl",
    PutObjectAcl => "PutObjectAcl",
    CreateMultipartUpload => "CreateMultipartUpload",
    UploadPart => "UploadPart",
    UploadPartCopy => "UploadPartCopy",
    CompleteMultipartUpload => "CompleteMultipartUpload",
    AbortMultipartUpload => "AbortMultipartUpload",
    ListParts => "ListParts",
}

/// A routed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub op: Operation,
    pub bucket: Option<String>,
    /// Percent-decoded; `None` for bucket- and service-level requests.
    pub key: Option<String>,
    /// Decoded query pairs in request order; a bare `?acl` has an empty value.
    pub query: Vec<(String, String)>,
}

impl Route {
    /// The first value of query parameter `name` (case-sensitive, as in S3).
    pub fn param(&self, name: &str) -> Option<&str> {
        param(&self.query, name)
    }
}

fn param<'q>(query: &'q [(String, String)], name: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Sub-resources S3 defines that LeoFS does not implement: always `NotImplemented`.
const UNSUPPORTED: &str =
    "accelerate analytics attributes cors encryption intelligent-tiering inventory \
    legal-hold lifecycle logging metadataConfiguration metrics notification \
    object-lock ownershipControls policy policyStatus publicAccessBlock replication \
    requestPayment restore retention select session tagging torrent versions website";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Head,
    Put,
    Post,
    Delete,
}

/// Bucket-level sub-resources and the operation each method selects.
const BUCKET_SUBS: &[(&str, &[(Method, Operation)])] = &[
    (
        "acl",
        &[
            (Method::Get, Operation::GetBucketAcl),
            (Method::Put, Operation::PutBucketAcl),
        ],
    ),
    ("location", &[(Method::Get, Operation::GetBucketLocation)]),
    (
        "versioning",
        &[(Method::Get, Operation::GetBucketVersioning)],
    ),
    ("uploads", &[(Method::Get, Operation::ListMultipartUploads)]),
    ("delete", &[(Method::Post, Operation::DeleteObjects)]),
];

/// Object-level sub-resources; `uploadId` + PUT is refined into UploadPart(Copy) later.
const OBJECT_SUBS: &[(&str, &[(Method, Operation)])] = &[
    (
        "uploadId",
        &[
            (Method::Get, Operation::ListParts),
            (Method::Put, Operation::UploadPart),
            (Method::Post, Operation::CompleteMultipartUpload),
            (Method::Delete, Operation::AbortMultipartUpload),
        ],
    ),
    (
        "uploads",
        &[(Method::Post, Operation::CreateMultipartUpload)],
    ),
    (
        "acl",
        &[
            (Method::Get, Operation::GetObjectAcl),
            (Method::Put, Operation::PutObjectAcl),
        ],
    ),
];

/// Routes a request to its operation, bucket and key.
pub fn route(req: &RouteInput<'_>) -> Result<Route, S3Error> {
    let method = match req.method {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "PUT" => Method::Put,
        "POST" => Method::Post,
        "DELETE" => Method::Delete,
        _ => return Err(S3Error::method_not_allowed()),
    };
    let query = parse_query(req.raw_query)?;
    let (bucket, key) = split_path(req)?;
    if let Some(b) = &bucket {
        validate_bucket_name(b)?;
    }
    let has = |name: &str| param(&query, name).is_some();
    if let Some(sub) = UNSUPPORTED.split_ascii_whitespace().find(|s| has(s)) {
        return Err(S3Error::not_implemented(sub));
    }
    let subs = if key.is_some() {
        OBJECT_SUBS
    } else {
        BUCKET_SUBS
    };
    let by_sub = subs.iter().find(|(name, _)| has(name)).map(|(name, ops)| {
        let op = ops.iter().find(|(m, _)| *m == method).map(|&(_, op)| op);
        (*name, op)
    });
    use Operation as O;
    let op = match (bucket.is_some(), key.is_some(), method, by_sub) {
        (false, _, Method::Get, _) => O::ListBuckets,
        (false, _, _, _) => return Err(S3Error::method_not_allowed()),
        // HEAD ignores sub-resources (rclone sends `HEAD ?versionId=null`).
        (true, false, Method::Head, _) => O::HeadBucket,
        (true, true, Method::Head, _) => O::HeadObject,
        (_, _, _, Some((_, Some(op)))) => op,
        (_, false, Method::Put, Some(("versioning", None))) => {
            return Err(S3Error::not_implemented("versioning"))
        }
        (_, _, _, Some((_, None))) => return Err(S3Error::method_not_allowed()),
        (_, false, Method::Get, None) => match param(&query, "list-type") {
            None => O::ListObjectsV1,
            Some("2") => O::ListObjectsV2,
            Some(_) => return Err(S3Error::invalid_argument("Invalid List Type")),
        },
        (_, false, Method::Put, None) => O::CreateBucket,
        (_, false, Method::Delete, None) => O::DeleteBucket,
        // Browser-form POST uploads (POST Object) are not supported.
        (_, false, Method::Post, None) => return Err(S3Error::not_implemented("POST Object")),
        (_, true, Method::Get, None) => O::GetObject,
        (_, true, Method::Put, None) if req.has_copy_source => O::CopyObject,
        (_, true, Method::Put, None) => O::PutObject,
        (_, true, Method::Delete, None) => O::DeleteObject,
        (_, true, Method::Post, None) => return Err(S3Error::method_not_allowed()),
    };
    let op = match op {
        O::UploadPart => {
            let n = param(&query, "partNumber").unwrap_or_default();
            parse_part_number(n)?;
            if req.has_copy_source {
                O::UploadPartCopy
            } else {
                O::UploadPart
            }
        }
        op => op,
    };
    Ok(Route {
        op,
        bucket,
        key,
        query,
    })
}

/// A `partNumber` value: an integer in 1..=10000, else InvalidArgument.
pub fn parse_part_number(value: &str) -> Result<u32, S3Error> {
    match value.parse::<u32>() {
        Ok(n) if (1..=10_000).contains(&n) => Ok(n),
        _ => Err(S3Error::invalid_argument(
            "Part number must be an integer between 1 and 10000, inclusive",
        )
        .with_resource(value)),
    }
}

/// Splits the path (and Host, for virtual-hosted style) into bucket and key.
fn split_path(req: &RouteInput<'_>) -> Result<(Option<String>, Option<String>), S3Error> {
    let path = req
        .raw_path
        .strip_prefix('/')
        .ok_or_else(|| S3Error::invalid_uri(req.raw_path))?;
    let vhost = match (req.host, req.virtual_host_domain) {
        (Some(host), Some(domain)) => virtual_host_bucket(host, domain),
        _ => None,
    };
    let (bucket, raw_key) = match vhost {
        Some(bucket) => (Some(bucket), path),
        None => {
            let (b, k) = path.split_once('/').unwrap_or((path, ""));
            if b.is_empty() && !k.is_empty() {
                return Err(S3Error::invalid_uri(req.raw_path));
            }
            (Some(decode(b, false)?).filter(|b| !b.is_empty()), k)
        }
    };
    let key = decode(raw_key, false)?;
    if key.len() > MAX_KEY_LEN {
        return Err(S3Error::key_too_long());
    }
    Ok((bucket, Some(key).filter(|k| !k.is_empty())))
}

/// The bucket named by a Host of the form `<bucket>.<domain>[:port]`, if it is one.
fn virtual_host_bucket(host: &str, domain: &str) -> Option<String> {
    let host = strip_port(host.trim())
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    if domain.is_empty() {
        return None;
    }
    let bucket = host.strip_suffix(domain.as_str())?.strip_suffix('.')?;
    Some(bucket.to_owned()).filter(|b| !b.is_empty())
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // An IPv6 literal: the port, if any, follows the `]`.
        return match host.find(']') {
            Some(i) => host.get(..=i).unwrap_or(host),
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// Decodes a query string into pairs. `+` means space there (form encoding, as S3
/// treats it); keys and values must decode to UTF-8, else InvalidURI.
pub fn parse_query(raw: &str) -> Result<Vec<(String, String)>, S3Error> {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(k, true)?, decode(v, true)?))
        })
        .collect()
}

/// Strict percent-decoding: a `%` must start a two-hex-digit escape and the result must be
/// UTF-8; anything else is InvalidURI rather than being guessed at.
fn decode(raw: &str, plus_is_space: bool) -> Result<String, S3Error> {
    let bytes = raw.as_bytes();
    for (i, _) in bytes.iter().enumerate().filter(|(_, &b)| b == b'%') {
        let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
        if !(hex(i + 1) && hex(i + 2)) {
            return Err(S3Error::invalid_uri(raw));
        }
    }
    let spaced;
    let raw = if plus_is_space && raw.contains('+') {
        spaced = raw.replace('+', " ");
        spaced.as_str()
    } else {
        raw
    };
    match percent_decode_str(raw).decode_utf8() {
        Ok(s) => Ok(s.into_owned()),
        Err(_) => Err(S3Error::invalid_uri(raw)),
    }
}

/// Checks an S3 bucket name: 3–63 characters of lowercase letters, digits, `.` and `-`,
/// starting and ending with a letter or digit, no `..`, and not shaped like an IPv4
/// address. Anything else is InvalidBucketName.
pub fn validate_bucket_name(name: &str) -> Result<(), S3Error> {
    let b = name.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let ok = (3..=63).contains(&b.len())
        && b.iter().all(|c| alnum(c) || *c == b'.' || *c == b'-')
        && b.first().is_some_and(alnum)
        && b.last().is_some_and(alnum)
        && !name.contains("..")
        && !name.contains(".-")
        && !name.contains("-.")
        && !looks_like_ipv4(name);
    if ok {
        Ok(())
    } else {
        Err(S3Error::with_message(
            S3ErrorCode::InvalidBucketName,
            "The specified bucket is not valid.",
        )
        .with_resource(name))
    }
}

fn looks_like_ipv4(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|c| c.is_ascii_digit()))
}

/// Fuzz entry point: splits `data` at newlines into method, path, query, host and domain
/// (the last byte's low bit is the copy-source flag) and routes it. Must never panic.
pub fn fuzz_route(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\n');
    let mut next = || parts.next().unwrap_or_default();
    let (method, raw_path, raw_query, host, domain) = (next(), next(), next(), next(), next());
    let input = RouteInput {
        method,
        raw_path,
        raw_query,
        host: Some(host).filter(|h| !h.is_empty()),
        virtual_host_domain: Some(domain).filter(|d| !d.is_empty()),
        has_copy_source: data.last().is_some_and(|b| b & 1 == 1),
    };
    if let Ok(r) = route(&input) {
        let _ = (r.op.name(), r.param("uploadId"));
    }
}

#[cfg(test)]
mod tests;

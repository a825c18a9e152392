//! The S3 gateway of one core: authenticates a request, routes it to an operation, and
//! answers with S3's XML errors. Object bytes go to the shard owning the key.

mod bucket;
mod chunked;
mod list;
mod manifest;
pub mod md5pool;
mod mp_list;
mod multipart;
mod object;

pub use manifest::PartStream;

pub use object::etag_hex;
mod payload;

use crate::conn::BodyIn;
use crate::backend::Backend;
use crate::shard::BodyStream;
use leofs_control::{Acl, Catalog};
use leofs_net::http1::RequestHead;
use leofs_net::s3::auth::{self, AuthError, PayloadMode, SignedRequest, Verified};
use leofs_net::s3::error::{S3Error, S3ErrorCode};
use leofs_net::s3::router::{self, Operation, Route, RouteInput};
use std::borrow::Cow;
use std::cell::Cell;

pub type Headers = Vec<(Cow<'static, str>, String)>;

#[allow(clippy::large_enum_variant)] // built once per response, never stored
pub enum RespBody {
    Empty,
    Bytes(Vec<u8>),
    Object { len: u64, stream: BodyStream },
}

pub struct Response {
    pub status: u16,
    pub headers: Headers,
    pub body: RespBody,
}

impl Response {
    pub fn empty(status: u16) -> Response {
        Response { status, headers: Vec::new(), body: RespBody::Empty }
    }
    pub fn xml(status: u16, body: Vec<u8>) -> Response {
        Response { status, headers: vec![("content-type".into(), "application/xml".into())], body: RespBody::Bytes(body) }
    }
    pub fn header(mut self, k: &'static str, v: impl Into<String>) -> Response {
        self.headers.push((Cow::Borrowed(k), v.into()));
        self
    }
}

/// Who sent the request.
#[derive(Clone, Debug)]
pub enum Who {
    Anonymous,
    User(String),
}

/// What the request is allowed to do to a bucket, decided once per request.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
    Owner,
}

pub struct Gateway {
    pub shards: Backend,
    pub catalog: Catalog,
    pub domain: Option<String>,
    pub region: String,
    /// Largest single record (a multipart part, a copy source, an object stored whole).
    pub max_object_bytes: u64,
    /// A single PUT larger than this is stored as chunks of this size (docs/format.md,
    /// "Chunked single PUT"); at most `max_object_bytes`.
    pub chunk_bytes: u64,
    /// Largest single PUT (EntityTooLarge above).
    pub max_put_bytes: u64,
    /// The manager's RPC address (cluster gateway): bucket changes go there.
    pub manager: Option<std::net::SocketAddr>,
    core: usize,
    counter: Cell<u64>,
    boot: u64,
}

/// A verified request: identity and how its payload is signed.
pub struct Ctx<'a> {
    pub head: &'a RequestHead,
    pub route: Route,
    pub who: Who,
    pub verified: Verified,
    pub request_id: String,
}

impl Ctx<'_> {
    pub fn payload_mode(&self) -> PayloadMode {
        match &self.verified {
            Verified::V4(v) => v.payload_mode,
            _ => PayloadMode::Unsigned,
        }
    }
    pub fn bucket(&self) -> &str {
        self.route.bucket.as_deref().unwrap_or("")
    }
    pub fn key(&self) -> &str {
        self.route.key.as_deref().unwrap_or("")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.header_str(name)
    }
}

/// The engine key of an object: bucket names cannot contain `/`, so `bucket/` is a
/// prefix no other bucket shares.
pub fn object_key(bucket: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(bucket.len() + 1 + key.len());
    k.extend_from_slice(bucket.as_bytes());
    k.push(b'/');
    k.extend_from_slice(key.as_bytes());
    k
}

pub fn auth_error(e: AuthError) -> S3Error {
    let code = S3ErrorCode::parse(e.code()).unwrap_or(S3ErrorCode::AccessDenied);
    S3Error::with_message(code, e.to_string())
}

pub fn engine_error(e: leofs_engine::Error) -> S3Error {
    use leofs_engine::Error as E;
    match e {
        E::NoSpace(_) | E::Poisoned(_) | E::Closed => {
            log::error!("storage unavailable: {e}");
            S3Error::with_message(S3ErrorCode::ServiceUnavailable, format!("storage is not accepting writes: {e}"))
        }
        E::Invalid(why) => S3Error::with_message(S3ErrorCode::InvalidArgument, why),
        E::Unavailable(why) => {
            log::warn!("storage unavailable: {why}");
            S3Error::with_message(S3ErrorCode::ServiceUnavailable, format!("the storage nodes holding this key did not answer enough: {why}"))
        }
        other => {
            log::error!("storage error: {other}");
            S3Error::with_message(S3ErrorCode::InternalError, "We encountered an internal error. Please try again.".to_string())
        }
    }
}

impl Gateway {
    pub fn new(shards: Backend, catalog: Catalog, domain: Option<String>, region: String, limits: crate::config::ObjectLimits, core: usize) -> Gateway {
        let boot = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let max_object_bytes = limits.max_object_bytes;
        let (chunk_bytes, max_put_bytes) = (limits.chunk_bytes.min(max_object_bytes), limits.max_put_bytes);
        Gateway { shards, catalog, domain, region, max_object_bytes, chunk_bytes, max_put_bytes, manager: None, core, counter: Cell::new(0), boot }
    }

    fn request_id(&self) -> String {
        let n = self.counter.get() + 1;
        self.counter.set(n);
        format!("{:08X}{:02X}{:010X}", self.boot as u32, self.core as u8, n)
    }

    /// An error answer for a request that could not even be parsed.
    pub fn http_error(&self, status: u16, msg: &str) -> Response {
        let code = match status {
            431 => S3ErrorCode::RequestHeaderSectionTooLarge,
            501 => S3ErrorCode::NotImplemented,
            413 => S3ErrorCode::EntityTooLarge,
            _ => S3ErrorCode::InvalidRequest,
        };
        let rid = self.request_id();
        let mut r = self.error_response(S3Error::with_message(code, msg.to_string()), &rid);
        r.status = status;
        crate::metrics::record_unparsed(status);
        r.header("x-amz-request-id", rid)
    }

    pub fn error_response(&self, e: S3Error, rid: &str) -> Response {
        let status = e.status().as_u16();
        if !e.code.has_body() {
            return Response::empty(status);
        }
        let mut r = Response::xml(status, e.to_xml(rid));
        if e.code == S3ErrorCode::InvalidRange {
            if let Some(len) = e.resource.as_ref().and_then(|r| r.strip_prefix("bytes */")) {
                r = r.header("content-range", format!("bytes */{len}"));
            }
        }
        r
    }

    pub async fn handle(&self, head: &RequestHead, body: &mut BodyIn<'_>) -> Response {
        let started = std::time::Instant::now();
        let rid = self.request_id();
        // Set once the request is routed; errors before that count as "Unknown".
        let mut op = crate::metrics::UNKNOWN_OP;
        let mut resp = match self.handle_inner(head, body, &rid, &mut op).await {
            Ok(r) => r,
            Err(e) => self.error_response(e, &rid),
        };
        resp.headers.push(("x-amz-request-id".into(), rid));
        resp.headers.push(("server".into(), "leofs".into()));
        crate::metrics::record_request(op, resp.status, started.elapsed());
        resp
    }

    async fn handle_inner(&self, head: &RequestHead, body: &mut BodyIn<'_>, rid: &str, op: &mut &'static str) -> Result<Response, S3Error> {
        let (raw_path, raw_query) = auth::split_target(&head.target);
        let host = head.header_str("host");
        let input = RouteInput {
            method: head.method.as_str(),
            raw_path,
            raw_query,
            host,
            virtual_host_domain: self.domain.as_deref(),
            has_copy_source: head.header("x-amz-copy-source").is_some(),
        };
        let route = router::route(&input)?;
        *op = route.op.name();
        let vhost_bucket = self.vhost_bucket(host);
        let req = SignedRequest::new(head.method.as_str(), raw_path, raw_query, head).with_bucket_from_host(vhost_bucket.as_deref());
        let mut who = Who::Anonymous;
        let verified = auth::authenticate(&req, auth::unix_now(), |ak| {
            self.catalog.lookup_key(ak).map(|(k, u)| {
                who = Who::User(u.id);
                k.secret
            })
        })
        .map_err(auth_error)?;
        if matches!(verified, Verified::Anonymous) {
            who = Who::Anonymous;
        }
        let ctx = Ctx { head, route, who, verified, request_id: rid.to_string() };
        self.dispatch(&ctx, body).await
    }

    fn vhost_bucket(&self, host: Option<&str>) -> Option<String> {
        let domain = self.domain.as_deref()?;
        let host = host?.split(':').next()?;
        let b = host.strip_suffix(domain)?.strip_suffix('.')?;
        (!b.is_empty()).then(|| b.to_string())
    }

    async fn dispatch(&self, ctx: &Ctx<'_>, body: &mut BodyIn<'_>) -> Result<Response, S3Error> {
        use Operation as Op;
        match ctx.route.op {
            Op::ListBuckets => self.list_buckets(ctx),
            Op::CreateBucket => self.create_bucket(ctx, body).await,
            _ => {
                let need = match ctx.route.op {
                    Op::DeleteBucket | Op::GetBucketAcl | Op::PutBucketAcl | Op::PutObjectAcl => Access::Owner,
                    Op::PutObject | Op::CopyObject | Op::DeleteObject | Op::DeleteObjects => Access::Write,
                    Op::CreateMultipartUpload | Op::UploadPart | Op::UploadPartCopy | Op::CompleteMultipartUpload | Op::AbortMultipartUpload => Access::Write,
                    _ => Access::Read,
                };
                let bucket = self.authorize(ctx, need)?;
                match ctx.route.op {
                    Op::HeadBucket => Ok(Response::empty(200).header("x-amz-bucket-region", bucket.location.clone())),
                    Op::DeleteBucket => self.delete_bucket(ctx).await,
                    // S3 reports us-east-1 as an empty LocationConstraint (SDKs read null).
                    Op::GetBucketLocation => Ok(Response::xml(200, leofs_net::s3::xml::location_constraint(Some(bucket.location.as_str()).filter(|l| *l != "us-east-1")))),
                    Op::GetBucketVersioning => Ok(Response::xml(200, leofs_net::s3::xml::versioning_configuration())),
                    Op::GetBucketAcl | Op::GetObjectAcl => self.get_acl(ctx, &bucket).await,
                    Op::PutBucketAcl => self.put_bucket_acl(ctx, body).await,
                    Op::ListObjectsV1 => self.list_objects(ctx, &bucket, false).await,
                    Op::ListObjectsV2 => self.list_objects(ctx, &bucket, true).await,
                    Op::PutObject => self.put_object(ctx, body).await,
                    Op::CopyObject => self.copy_object(ctx).await,
                    Op::GetObject | Op::HeadObject => self.get_object(ctx).await,
                    Op::DeleteObject => self.delete_object(ctx).await,
                    Op::DeleteObjects => self.delete_objects(ctx, body).await,
                    Op::CreateMultipartUpload => self.create_multipart(ctx).await,
                    Op::UploadPart => self.upload_part(ctx, body).await,
                    Op::UploadPartCopy => self.upload_part_copy(ctx).await,
                    Op::CompleteMultipartUpload => self.complete_multipart(ctx, body).await,
                    Op::AbortMultipartUpload => self.abort_multipart(ctx).await,
                    Op::ListParts => self.list_parts(ctx).await,
                    Op::ListMultipartUploads => self.list_uploads(ctx, &bucket).await,
                    op => Err(S3Error::not_implemented(op.name())),
                }
            }
        }
    }

    /// The bucket, if it exists and the requester may do `need` to it: the owner may do
    /// anything; others only what the bucket's canned ACL grants.
    fn authorize(&self, ctx: &Ctx<'_>, need: Access) -> Result<leofs_control::Bucket, S3Error> {
        let name = ctx.bucket();
        let Some(bucket) = self.catalog.bucket(name) else {
            // Do not tell anonymous callers which buckets exist.
            return Err(match ctx.who {
                Who::Anonymous => S3Error::access_denied(),
                Who::User(_) => S3Error::no_such_bucket(name),
            });
        };
        let owner = matches!(&ctx.who, Who::User(u) if *u == bucket.owner);
        let granted = owner
            || match need {
                Access::Read => matches!(bucket.acl, Acl::PublicRead | Acl::PublicReadWrite),
                Access::Write => bucket.acl == Acl::PublicReadWrite,
                Access::Owner => false,
            };
        if granted {
            Ok(bucket)
        } else {
            Err(S3Error::access_denied())
        }
    }

    fn user<'c>(&self, ctx: &'c Ctx<'_>) -> Result<&'c str, S3Error> {
        match &ctx.who {
            Who::User(u) => Ok(u),
            Who::Anonymous => Err(S3Error::access_denied()),
        }
    }
}

//! Bucket operations: ListBuckets, CreateBucket, DeleteBucket, ACLs.

use super::{object_key, payload, Ctx, Gateway, Response};
use crate::backend::Backend;
use crate::conn::BodyIn;
use leofs_control::cluster::{CatalogOp, ControlReq, ControlResp};
use leofs_control::{Acl, Bucket, CatalogError};
use leofs_net::s3::error::{S3Error, S3ErrorCode};
use leofs_net::s3::router::validate_bucket_name;
use leofs_net::s3::xml::{self, CannedAcl, Owner};

pub fn canned_to_acl(c: CannedAcl) -> Result<Acl, S3Error> {
    match c {
        CannedAcl::Private => Ok(Acl::Private),
        CannedAcl::PublicRead => Ok(Acl::PublicRead),
        CannedAcl::PublicReadWrite => Ok(Acl::PublicReadWrite),
        other => Err(S3Error::not_implemented(&format!("canned ACL {}", other.as_str()))),
    }
}

fn acl_to_canned(a: Acl) -> CannedAcl {
    match a {
        Acl::Private => CannedAcl::Private,
        Acl::PublicRead => CannedAcl::PublicRead,
        Acl::PublicReadWrite => CannedAcl::PublicReadWrite,
    }
}

fn catalog_error(e: CatalogError, bucket: &str) -> S3Error {
    match e {
        CatalogError::BucketAlreadyExists { .. } => S3Error::bucket_already_exists(bucket),
        CatalogError::BucketAlreadyOwnedByYou { .. } => S3Error::bucket_already_owned_by_you(bucket),
        CatalogError::NoSuchBucket { .. } => S3Error::no_such_bucket(bucket),
        CatalogError::InvalidBucketName { .. } => S3Error::invalid_bucket_name(bucket),
        CatalogError::Unavailable(why) => S3Error::with_message(S3ErrorCode::ServiceUnavailable, format!("bucket changes need the cluster's manager: {why}")),
        other => {
            log::error!("catalog: {other}");
            S3Error::with_message(S3ErrorCode::InternalError, format!("catalog update failed: {other}"))
        }
    }
}

fn header_acl(ctx: &Ctx<'_>) -> Result<Option<Acl>, S3Error> {
    match ctx.header("x-amz-acl") {
        None => Ok(None),
        Some(v) => canned_to_acl(CannedAcl::parse(v.trim())?).map(Some),
    }
}

impl Gateway {
    /// Applies a bucket change: to the local catalog (`leofs server`), or through the
    /// manager, whose new catalog is installed here before the request is answered (so the
    /// client's next request on this gateway sees it; others within a heartbeat).
    async fn catalog_change(&self, op: CatalogOp) -> Result<(), CatalogError> {
        let Some(mgr) = self.manager else {
            return match op {
                CatalogOp::CreateBucket { name, owner, acl, location } => self.catalog.create_bucket(&name, &owner, acl, Some(&location)).map(|_| ()),
                CatalogOp::DeleteBucket { name } => self.catalog.delete_bucket(&name).map(|_| ()),
                CatalogOp::SetAcl { name, acl } => self.catalog.set_acl(&name, acl).map(|_| ()),
            };
        };
        let bucket = match &op {
            CatalogOp::CreateBucket { name, .. } | CatalogOp::DeleteBucket { name } | CatalogOp::SetAcl { name, .. } => name.clone(),
        };
        let Backend::Cluster(client) = &self.shards else { return Err(CatalogError::Invalid("no cluster".into())) };
        let resp = client.control(mgr, &ControlReq::Catalog(op)).await.map_err(|e| CatalogError::Unavailable(format!("the manager is unreachable: {e}")))?;
        match serde_json::from_slice::<ControlResp>(&resp) {
            Ok(ControlResp::Catalog { snapshot }) => {
                let bytes = hex::decode(snapshot).map_err(|e| CatalogError::Invalid(e.to_string()))?;
                self.catalog.install(&bytes).map(|_| ())
            }
            Ok(ControlResp::Error { code, message }) => Err(match code.as_str() {
                "BucketAlreadyExists" => CatalogError::BucketAlreadyExists { bucket },
                "BucketAlreadyOwnedByYou" => CatalogError::BucketAlreadyOwnedByYou { bucket },
                "NoSuchBucket" => CatalogError::NoSuchBucket { bucket },
                "InvalidBucketName" => CatalogError::InvalidBucketName { bucket, why: message },
                _ => CatalogError::Invalid(message),
            }),
            Ok(other) => Err(CatalogError::Invalid(format!("unexpected reply from the manager: {other:?}"))),
            Err(e) => Err(CatalogError::Invalid(format!("bad reply from the manager: {e}"))),
        }
    }

    pub(super) fn owner_of(&self, user: &str) -> Owner {
        let name = self.catalog.users().into_iter().find(|u| u.id == user).map(|u| u.display_name).unwrap_or_else(|| user.to_string());
        Owner { id: user.to_string(), display_name: name }
    }

    pub(super) fn list_buckets(&self, ctx: &Ctx<'_>) -> Result<Response, S3Error> {
        let user = self.user(ctx)?;
        let buckets = self.catalog.buckets_of(user).into_iter().map(|b| xml::BucketEntry { name: b.name, creation_date_ms: b.created_ms }).collect();
        let r = xml::ListBucketsResult { owner: self.owner_of(user), buckets };
        Ok(Response::xml(200, r.to_xml()))
    }

    pub(super) async fn create_bucket(&self, ctx: &Ctx<'_>, body: &mut BodyIn<'_>) -> Result<Response, S3Error> {
        let user = self.user(ctx)?.to_string();
        let name = ctx.bucket();
        validate_bucket_name(name)?;
        let conf = payload::read_small(ctx, body, 64 << 10).await?;
        let location = xml::parse_create_bucket_configuration(&conf)?.unwrap_or_else(|| self.region.clone());
        if location != self.region && !(location == "US" && self.region == "us-east-1") {
            return Err(S3Error::with_message(S3ErrorCode::InvalidArgument, format!("this endpoint serves region {}; LocationConstraint {location} is not accepted", self.region)));
        }
        let acl = header_acl(ctx)?.unwrap_or(Acl::Private);
        self.catalog_change(CatalogOp::CreateBucket { name: name.to_string(), owner: user, acl, location: self.region.clone() }).await.map_err(|e| catalog_error(e, name))?;
        Ok(Response::empty(200).header("location", format!("/{name}")))
    }

    pub(super) async fn delete_bucket(&self, ctx: &Ctx<'_>) -> Result<Response, S3Error> {
        let name = ctx.bucket();
        let prefix = object_key(name, "");
        let any = self.shards.list(&prefix, b"", 1).await.map_err(super::engine_error)?;
        if !any.is_empty() {
            return Err(S3Error::bucket_not_empty(name));
        }
        self.catalog_change(CatalogOp::DeleteBucket { name: name.to_string() }).await.map_err(|e| catalog_error(e, name))?;
        Ok(Response::empty(204))
    }

    pub(super) async fn get_acl(&self, _ctx: &Ctx<'_>, bucket: &Bucket) -> Result<Response, S3Error> {
        let owner = self.owner_of(&bucket.owner);
        Ok(Response::xml(200, xml::access_control_policy(&owner, acl_to_canned(bucket.acl))))
    }

    pub(super) async fn put_bucket_acl(&self, ctx: &Ctx<'_>, body: &mut BodyIn<'_>) -> Result<Response, S3Error> {
        let body = payload::read_small(ctx, body, 64 << 10).await?;
        let Some(acl) = header_acl(ctx)? else {
            return Err(S3Error::not_implemented(if body.is_empty() { "PutBucketAcl without x-amz-acl" } else { "PutBucketAcl with an AccessControlPolicy document (use a canned x-amz-acl)" }));
        };
        self.catalog_change(CatalogOp::SetAcl { name: ctx.bucket().to_string(), acl }).await.map_err(|e| catalog_error(e, ctx.bucket()))?;
        Ok(Response::empty(200))
    }
}

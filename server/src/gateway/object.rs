//! Object operations: PutObject, GetObject/HeadObject (ranges, conditionals, response
//! overrides, checksum mode), DeleteObject, DeleteObjects, CopyObject.

use super::{engine_error, object_key, payload, Ctx, Gateway, RespBody, Response, Who};
use crate::conn::BodyIn;
use crate::shard::{PutCond, PutError};
use leofs_engine::{ChecksumAlgo as StoredAlgo, ObjectMeta};
use leofs_net::s3::checksum::ChecksumAlgo;
use leofs_net::s3::error::{S3Error, S3ErrorCode};
use leofs_net::s3::xml;

/// S3's limit on user metadata (names and values of x-amz-meta-*).
const MAX_USER_META: usize = 2048;
const STORED: [&str; 6] = ["content-type", "content-encoding", "content-disposition", "content-language", "cache-control", "expires"];

/// The ETag without quotes: hex MD5, with `-N` for an N-part multipart object.
pub fn etag_hex(md5: &[u8; 16], parts: u32) -> String {
    if parts > 0 {
        format!("{}-{parts}", hex::encode(md5))
    } else {
        hex::encode(md5)
    }
}

pub fn etag(md5: &[u8; 16], parts: u32) -> String {
    format!("\"{}\"", etag_hex(md5, parts))
}

pub(super) fn put_error(e: PutError) -> S3Error {
    match e {
        PutError::Failed => S3Error::precondition_failed(),
        PutError::Conflict => S3Error::new(S3ErrorCode::ConditionalRequestConflict),
        PutError::Engine(e) => engine_error(e),
    }
}

pub(super) fn to_stored(a: ChecksumAlgo) -> StoredAlgo {
    match a {
        ChecksumAlgo::Crc32 => StoredAlgo::Crc32,
        ChecksumAlgo::Crc32c => StoredAlgo::Crc32c,
        ChecksumAlgo::Crc64Nvme => StoredAlgo::Crc64Nvme,
        ChecksumAlgo::Sha1 => StoredAlgo::Sha1,
        ChecksumAlgo::Sha256 => StoredAlgo::Sha256,
    }
}

pub(super) fn from_stored(a: StoredAlgo) -> ChecksumAlgo {
    match a {
        StoredAlgo::Crc32 => ChecksumAlgo::Crc32,
        StoredAlgo::Crc32c => ChecksumAlgo::Crc32c,
        StoredAlgo::Crc64Nvme => ChecksumAlgo::Crc64Nvme,
        StoredAlgo::Sha1 => ChecksumAlgo::Sha1,
        StoredAlgo::Sha256 => ChecksumAlgo::Sha256,
    }
}

/// Stored headers and user metadata from the request, as S3 keeps them.
pub(super) fn meta_from_request(ctx: &Ctx<'_>) -> Result<ObjectMeta, S3Error> {
    let mut m = ObjectMeta::default();
    let mut user_bytes = 0usize;
    for (name, value) in ctx.head.headers() {
        let value = std::str::from_utf8(value).map_err(|_| S3Error::invalid_argument("header values must be UTF-8"))?;
        if name == "content-encoding" {
            // aws-chunked is transfer framing, not the object's encoding: S3 drops it.
            let rest: Vec<&str> = value.split(',').map(str::trim).filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("aws-chunked")).collect();
            if !rest.is_empty() {
                m.headers.push((name.to_string(), rest.join(",")));
            }
        } else if STORED.contains(&name) {
            m.headers.push((name.to_string(), value.to_string()));
        } else if let Some(n) = name.strip_prefix("x-amz-meta-") {
            user_bytes += n.len() + value.len();
            m.user.push((n.to_string(), value.to_string()));
        } else if name == "x-amz-website-redirect-location" {
            m.headers.push((name.to_string(), value.to_string()));
        }
    }
    if user_bytes > MAX_USER_META {
        return Err(S3Error::with_message(S3ErrorCode::MetadataTooLarge, format!("Your metadata headers exceed the maximum allowed metadata size ({MAX_USER_META} bytes)")));
    }
    if m.header("content-type").is_none() {
        m.headers.insert(0, ("content-type".into(), "binary/octet-stream".into()));
    }
    Ok(m)
}

fn object_headers(r: Response, meta: &ObjectMeta, mtime_ms: i64) -> Response {
    let mut r = r
        .header("etag", etag(&meta.md5, meta.parts))
        .header("last-modified", xml::http_date(mtime_ms))
        .header("accept-ranges", "bytes");
    for (k, v) in &meta.headers {
        r.headers.push((k.clone().into(), v.clone()));
    }
    for (k, v) in &meta.user {
        r.headers.push((format!("x-amz-meta-{k}").into(), v.clone()));
    }
    r
}

/// Parses a single `Range: bytes=...` against `len`. `Ok(None)`: serve the whole object
/// (no header, or a form S3 ignores such as several ranges).
pub(super) fn parse_range(h: Option<&str>, len: u64) -> Result<Option<(u64, u64)>, S3Error> {
    let Some(spec) = h.and_then(|h| h.trim().strip_prefix("bytes=")) else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None);
    }
    let (a, b) = spec.split_once('-').ok_or_else(S3Error::invalid_range)?;
    let (a, b) = (a.trim(), b.trim());
    let unsat = || S3Error::invalid_range().with_resource(format!("bytes */{len}"));
    let range = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| S3Error::invalid_range())?;
        if n == 0 || len == 0 {
            return Err(unsat());
        }
        (len.saturating_sub(n), len)
    } else {
        let s: u64 = a.parse().map_err(|_| S3Error::invalid_range())?;
        let e: u64 = if b.is_empty() { len.saturating_sub(1) } else { b.parse().map_err(|_| S3Error::invalid_range())? };
        if s >= len || e < s {
            return Err(unsat());
        }
        (s, e.min(len - 1) + 1)
    };
    Ok(Some(range))
}

fn etag_matches(list: &str, etag: &str) -> bool {
    list.split(',').map(|t| t.trim()).any(|t| t == "*" || t == etag || t.trim_matches('"') == etag.trim_matches('"'))
}

/// Evaluates If-Match / If-Unmodified-Since (412) and If-None-Match / If-Modified-Since
/// (304) the way S3 does: a present ETag condition decides over its date twin.
pub(super) fn check_conditions(ctx: &Ctx<'_>, prefix: &str, etag: &str, mtime_ms: i64, copy: bool) -> Result<(), S3Error> {
    let h = |n: &str| ctx.header(&format!("{prefix}{n}"));
    let mtime_s = mtime_ms.div_euclid(1000);
    let date = |v: &str| xml::parse_http_date(v).map(|ms| ms.div_euclid(1000));
    let failed = S3Error::precondition_failed();
    match h("if-match") {
        Some(v) if !etag_matches(v, etag) => return Err(failed),
        Some(_) => {}
        None => {
            if let Some(t) = h("if-unmodified-since").and_then(date) {
                if mtime_s > t {
                    return Err(failed);
                }
            }
        }
    }
    let not_modified = || if copy { S3Error::precondition_failed() } else { S3Error::not_modified() };
    match h("if-none-match") {
        Some(v) if etag_matches(v, etag) => return Err(not_modified()),
        Some(_) => {}
        None => {
            if let Some(t) = h("if-modified-since").and_then(date) {
                if mtime_s <= t {
                    return Err(not_modified());
                }
            }
        }
    }
    Ok(())
}

impl Gateway {
    pub(super) async fn put_object(&self, ctx: &Ctx<'_>, body: &mut BodyIn<'_>) -> Result<Response, S3Error> {
        if ctx.header("content-length").is_none() && ctx.header("transfer-encoding").is_none() {
            return Err(S3Error::missing_content_length());
        }
        let mut meta = meta_from_request(ctx)?;
        let cond = match (ctx.header("if-none-match"), ctx.header("if-match")) {
            (Some(_), Some(_)) => return Err(S3Error::not_implemented("If-Match together with If-None-Match")),
            (Some(v), None) if v.trim() == "*" => PutCond::Absent,
            (Some(_), None) => return Err(S3Error::not_implemented("If-None-Match other than *")),
            (None, Some(v)) => PutCond::Matches(v.trim().trim_matches('"').to_string()),
            (None, None) => PutCond::None,
        };
        let reader = payload::PayloadReader::begin(ctx, body, self.max_put_bytes)?;
        // Larger than one chunk, or of unknown length: streamed into chunks.
        if reader.declared().is_none_or(|n| n > self.chunk_bytes) {
            return self.put_large(ctx, reader, meta, cond).await;
        }
        let (data, p) = reader.read_to_end(self.chunk_bytes).await?;
        meta.size = data.len() as u64;
        meta.md5 = p.md5;
        meta.checksum = p.checksum.clone().map(|(a, v)| (to_stored(a), v));
        let key = object_key(ctx.bucket(), ctx.key());
        // The answer needs only the ETag: take it before the metadata moves to the shard.
        let tag = etag(&meta.md5, 0);
        let old = self.manifest_of(ctx.bucket(), ctx.key()).await?;
        self.shards.put(key, meta, data, cond).await.map_err(put_error)?;
        self.reclaim(ctx.bucket(), ctx.key(), old).await;
        let mut r = Response::empty(200).header("etag", tag);
        if let Some((a, v)) = &p.checksum {
            r = r.header(a.header_name(), base64_encode(v));
        }
        Ok(r)
    }

    pub(super) async fn get_object(&self, ctx: &Ctx<'_>) -> Result<Response, S3Error> {
        if matches!(ctx.who, Who::Anonymous) && ctx.route.query.iter().any(|(k, _)| k.starts_with("response-")) {
            return Err(S3Error::invalid_request("Request specific response headers cannot be used for anonymous GET requests."));
        }
        let part = ctx.route.param("partNumber").map(leofs_net::s3::router::parse_part_number).transpose()?;
        let key = object_key(ctx.bucket(), ctx.key());
        let Some(mut got) = self.shards.get(key).await.map_err(engine_error)? else {
            return Err(S3Error::no_such_key(ctx.key()));
        };
        let manifest = self.expand(ctx.bucket(), ctx.key(), &mut got).await?;
        let size = got.meta.size;
        let tag = etag(&got.meta.md5, got.meta.parts);
        let mtime = got.entry.mtime_ms();
        if let Err(e) = check_conditions(ctx, "", &tag, mtime, false) {
            if e.code == S3ErrorCode::NotModified {
                return Ok(Response::empty(304).header("etag", tag).header("last-modified", xml::http_date(mtime)));
            }
            return Err(e);
        }
        // `partNumber=N` reads one part (an object of one piece, or a single PUT stored in
        // chunks, is its own part 1).
        let multipart = manifest.as_ref().filter(|_| got.meta.parts > 0);
        let range = match (part, multipart) {
            (None, _) => parse_range(ctx.header("range"), size)?,
            (Some(n), Some(m)) => {
                let i = m.parts.len().min(n as usize) - 1;
                if n as usize > m.parts.len() {
                    return Err(S3Error::new(S3ErrorCode::InvalidPartNumber));
                }
                let start: u64 = m.parts[..i].iter().map(|p| p.size).sum();
                Some((start, start + m.parts[i].size)).filter(|(s, e)| s < e)
            }
            (Some(1), None) => None,
            (Some(_), None) => return Err(S3Error::new(S3ErrorCode::InvalidPartNumber)),
        };
        let (status, len) = match range {
            Some((s, e)) => (206, e - s),
            None => (200, size),
        };
        if let Some((s, e)) = range {
            got.body.set_range(s, e);
        }
        let mut r = Response { status, headers: Vec::new(), body: RespBody::Empty };
        r = object_headers(r, &got.meta, mtime);
        if let Some((s, e)) = range {
            r = r.header("content-range", format!("bytes {s}-{}/{size}", e - 1));
        }
        if let (Some(_), Some(m)) = (part, multipart) {
            r = r.header("x-amz-mp-parts-count", m.parts.len().to_string());
        }
        if ctx.header("x-amz-checksum-mode").is_some_and(|v| v.eq_ignore_ascii_case("enabled")) && range.is_none() {
            if let Some((a, v)) = &got.meta.checksum {
                // A multipart object's checksum is composite: S3 writes it `<base64>-N`.
                let v = match got.meta.parts {
                    0 => base64_encode(v),
                    n => format!("{}-{n}", base64_encode(v)),
                };
                r = r.header(from_stored(*a).header_name(), v);
            }
        }
        for (q, h) in [
            ("response-content-type", "content-type"),
            ("response-content-language", "content-language"),
            ("response-expires", "expires"),
            ("response-cache-control", "cache-control"),
            ("response-content-disposition", "content-disposition"),
            ("response-content-encoding", "content-encoding"),
        ] {
            if let Some(v) = ctx.route.param(q) {
                r.headers.retain(|(k, _)| k != h);
                r.headers.push((h.into(), v.to_string()));
            }
        }
        // For HEAD the connection writes the length and no body; dropping the stream
        // stops the read.
        r.body = RespBody::Object { len, stream: got.body };
        Ok(r)
    }

    pub(super) async fn delete_object(&self, ctx: &Ctx<'_>) -> Result<Response, S3Error> {
        let old = self.manifest_of(ctx.bucket(), ctx.key()).await?;
        self.shards.delete(object_key(ctx.bucket(), ctx.key())).await.map_err(engine_error)?;
        self.reclaim(ctx.bucket(), ctx.key(), old).await;
        Ok(Response::empty(204))
    }

    pub(super) async fn delete_objects(&self, ctx: &Ctx<'_>, body: &mut BodyIn<'_>) -> Result<Response, S3Error> {
        let xml_body = payload::read_small(ctx, body, 2 << 20).await?;
        let req = xml::parse_delete_objects(&xml_body)?;
        let mut result = xml::DeleteResult { quiet: req.quiet, deleted: Vec::new(), errors: Vec::new() };
        for (key, version) in req.objects {
            if key.is_empty() || key.len() > leofs_net::s3::router::MAX_KEY_LEN {
                result.errors.push(xml::DeleteError { key, version_id: version, error: S3Error::key_too_long() });
                continue;
            }
            let old = match self.manifest_of(ctx.bucket(), &key).await {
                Ok(m) => m,
                Err(error) => {
                    result.errors.push(xml::DeleteError { key, version_id: version, error });
                    continue;
                }
            };
            match self.shards.delete(object_key(ctx.bucket(), &key)).await {
                Ok(_) => {
                    self.reclaim(ctx.bucket(), &key, old).await;
                    result.deleted.push((key, version))
                }
                Err(e) => result.errors.push(xml::DeleteError { key, version_id: version, error: engine_error(e) }),
            }
        }
        Ok(Response::xml(200, result.to_xml()))
    }

    pub(super) async fn copy_object(&self, ctx: &Ctx<'_>) -> Result<Response, S3Error> {
        let (sb, sk) = self.copy_source(ctx)?;
        let (sb, sk) = (sb.as_str(), sk.as_str());
        let replace = match ctx.header("x-amz-metadata-directive") {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("COPY") => false,
            Some(v) if v.eq_ignore_ascii_case("REPLACE") => true,
            Some(_) => return Err(S3Error::invalid_argument("Unknown metadata directive.")),
        };
        if sb == ctx.bucket() && sk == ctx.key() && !replace {
            return Err(S3Error::invalid_request("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."));
        }
        let Some(mut got) = self.shards.get(object_key(sb, sk)).await.map_err(engine_error)? else {
            return Err(S3Error::no_such_key(sk));
        };
        let tag = etag(&got.meta.md5, got.meta.parts);
        check_conditions(ctx, "x-amz-copy-source-", &tag, got.entry.mtime_ms(), true)?;
        if got.meta.size > self.max_put_bytes {
            return Err(S3Error::invalid_request("The specified copy source is larger than the maximum allowable size for a copy source"));
        }
        // A multipart source becomes a new single-part object: its MD5 is computed.
        let multipart = self.expand(sb, sk, &mut got).await?.is_some() && got.meta.parts > 0;
        let mut meta = if replace { meta_from_request(ctx)? } else { got.meta.clone() };
        meta.size = got.meta.size;
        meta.md5 = got.meta.md5;
        meta.parts = got.meta.parts;
        meta.chunks = None;
        if replace {
            meta.checksum = got.meta.checksum.clone();
        }
        if multipart {
            (meta.parts, meta.checksum) = (0, None);
        }
        if got.meta.size > self.chunk_bytes {
            let (version, md5) = self.copy_into_chunks(ctx.bucket(), ctx.key(), &mut got.body, meta, multipart).await?;
            let result = xml::CopyResult { last_modified_ms: version.mtime_ms(), etag: etag(&md5, 0), checksums: Vec::new() };
            return Ok(Response::xml(200, result.to_copy_object_xml()));
        }
        let mut data = Vec::with_capacity(got.meta.size as usize);
        let mut md5 = multipart.then(leofs_net::s3::checksum::Md5::new);
        while let Some(c) = got.body.next().await.map_err(engine_error)? {
            let piece = &c.buf.as_slice()[c.start..c.end];
            if let Some(h) = &mut md5 {
                h.update(piece);
            }
            data.extend_from_slice(piece);
        }
        if let Some(h) = md5 {
            meta.md5 = h.finish();
        }
        let old = self.manifest_of(ctx.bucket(), ctx.key()).await?;
        let version = self.shards.put(object_key(ctx.bucket(), ctx.key()), meta.clone(), data, PutCond::None).await.map_err(put_error)?;
        self.reclaim(ctx.bucket(), ctx.key(), old).await;
        let result = xml::CopyResult { last_modified_ms: version.mtime_ms(), etag: etag(&meta.md5, meta.parts), checksums: Vec::new() };
        Ok(Response::xml(200, result.to_copy_object_xml()))
    }
}

pub fn base64_encode(v: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 10).unwrap(), None);
        assert_eq!(parse_range(Some("bytes=0-0"), 10).unwrap(), Some((0, 1)));
        assert_eq!(parse_range(Some("bytes=2-"), 10).unwrap(), Some((2, 10)));
        assert_eq!(parse_range(Some("bytes=-3"), 10).unwrap(), Some((7, 10)));
        assert_eq!(parse_range(Some("bytes=-30"), 10).unwrap(), Some((0, 10)));
        assert_eq!(parse_range(Some("bytes=5-100"), 10).unwrap(), Some((5, 10)));
        assert_eq!(parse_range(Some("bytes=0-1,3-4"), 10).unwrap(), None);
        assert_eq!(parse_range(Some("bytes=10-"), 10).unwrap_err().code, S3ErrorCode::InvalidRange);
        assert_eq!(parse_range(Some("bytes=0-"), 0).unwrap_err().code, S3ErrorCode::InvalidRange);
        assert_eq!(parse_range(Some("bytes=-0"), 10).unwrap_err().code, S3ErrorCode::InvalidRange);
        assert!(parse_range(Some("bytes=x-1"), 10).is_err());
    }

    #[test]
    fn etags() {
        assert_eq!(etag(&[0xab; 16], 0), format!("\"{}\"", "ab".repeat(16)));
        assert!(etag(&[0; 16], 3).ends_with("-3\""));
        assert!(etag_matches("\"abc\", \"def\"", "\"def\""));
        assert!(etag_matches("abc", "\"abc\""));
        assert!(etag_matches("*", "\"x\""));
        assert!(!etag_matches("\"abc\"", "\"abd\""));
    }
}

//! ListObjects (v1) and ListObjectsV2: a merge of every shard's ordered index, with
//! delimiter roll-up that skips a whole common prefix in one step.

use super::object::etag;
use super::{engine_error, object_key, Ctx, Gateway, Response};
use base64::Engine;
use leofs_control::Bucket;
use leofs_net::s3::error::S3Error;
use leofs_net::s3::xml::{self, ObjectEntry};

const MAX_KEYS: usize = 1000;
/// 0xFF never occurs in UTF-8: `p + [0xFF]` sorts after every key that starts with `p`.
const AFTER_ALL: u8 = 0xFF;

pub struct Listing {
    pub contents: Vec<ObjectEntry>,
    pub common_prefixes: Vec<String>,
    pub truncated: bool,
    /// The last key or common prefix returned (the next marker).
    pub last: Option<String>,
}

impl Gateway {
    /// Lists `bucket` under `prefix` after `marker`, rolling keys up at `delimiter`.
    pub async fn list_keys(&self, bucket: &Bucket, prefix: &str, delimiter: &str, marker: &str, max: usize, owner: bool) -> Result<Listing, S3Error> {
        let base = object_key(&bucket.name, "");
        let full_prefix = object_key(&bucket.name, prefix);
        let mut after = object_key(&bucket.name, marker);
        if !delimiter.is_empty() && marker.starts_with(prefix) && marker[prefix.len()..].ends_with(delimiter) && marker.len() > prefix.len() {
            // A marker that is a common prefix resumes after everything under it.
            after.push(AFTER_ALL);
        }
        let owner = owner.then(|| self.owner_of(&bucket.owner));
        let mut out = Listing { contents: Vec::new(), common_prefixes: Vec::new(), truncated: false, last: None };
        let mut count = 0usize;
        if max == 0 {
            return Ok(out);
        }
        'outer: loop {
            let want = (max - count + 1).min(MAX_KEYS + 1);
            let batch = self.shards.list(&full_prefix, &after, want).await.map_err(engine_error)?;
            let exhausted = batch.len() < want;
            for (k, e) in &batch {
                let rel = std::str::from_utf8(&k[full_prefix.len()..]).unwrap_or("");
                if !delimiter.is_empty() {
                    if let Some(p) = rel.find(delimiter) {
                        let cp = format!("{prefix}{}", &rel[..p + delimiter.len()]);
                        if count == max {
                            out.truncated = true;
                            break 'outer;
                        }
                        count += 1;
                        out.last = Some(cp.clone());
                        after = object_key(&bucket.name, &cp);
                        after.push(AFTER_ALL);
                        out.common_prefixes.push(cp);
                        // Skip the rest of this prefix with a fresh listing from past it.
                        continue 'outer;
                    }
                }
                if count == max {
                    out.truncated = true;
                    break 'outer;
                }
                count += 1;
                let key = String::from_utf8_lossy(&k[base.len()..]).into_owned();
                out.last = Some(key.clone());
                after = k.to_vec();
                out.contents.push(ObjectEntry { key, last_modified_ms: e.mtime_ms(), etag: etag(&e.md5, e.parts), size: e.size, owner: owner.clone() });
            }
            if exhausted {
                break;
            }
        }
        Ok(out)
    }

    pub(super) async fn list_objects(&self, ctx: &Ctx<'_>, bucket: &Bucket, v2: bool) -> Result<Response, S3Error> {
        let p = |n: &str| ctx.route.param(n).unwrap_or("").to_string();
        let prefix = p("prefix");
        let delimiter = p("delimiter");
        let max = match ctx.route.param("max-keys") {
            None => MAX_KEYS,
            Some(v) => v.parse::<i64>().map_err(|_| S3Error::invalid_argument("max-keys must be an integer"))?.clamp(0, MAX_KEYS as i64) as usize,
        };
        let encoding_url = match ctx.route.param("encoding-type") {
            None => false,
            Some("url") => true,
            Some(_) => return Err(S3Error::invalid_argument("Invalid Encoding Method specified in Request")),
        };
        let b64 = base64::engine::general_purpose::STANDARD;
        if v2 {
            let token = ctx.route.param("continuation-token");
            let start_after = p("start-after");
            let marker = match token {
                Some(t) => String::from_utf8(b64.decode(t).map_err(|_| S3Error::invalid_argument("The continuation token provided is incorrect"))?)
                    .map_err(|_| S3Error::invalid_argument("The continuation token provided is incorrect"))?,
                None => start_after.clone(),
            };
            let fetch_owner = ctx.route.param("fetch-owner") == Some("true");
            let l = self.list_keys(bucket, &prefix, &delimiter, &marker, max, fetch_owner).await?;
            let r = xml::ListObjectsV2Result {
                bucket: bucket.name.clone(),
                prefix,
                delimiter: (!delimiter.is_empty()).then_some(delimiter),
                max_keys: max as u32,
                encoding_url,
                is_truncated: l.truncated,
                start_after: (!start_after.is_empty()).then_some(start_after),
                continuation_token: token.map(|t| t.to_string()),
                next_continuation_token: if l.truncated { l.last.map(|k| b64.encode(k)) } else { None },
                contents: l.contents,
                common_prefixes: l.common_prefixes,
            };
            Ok(Response::xml(200, r.to_xml()))
        } else {
            let marker = p("marker");
            let l = self.list_keys(bucket, &prefix, &delimiter, &marker, max, true).await?;
            let r = xml::ListObjectsV1Result {
                bucket: bucket.name.clone(),
                prefix,
                marker,
                next_marker: if l.truncated && !delimiter.is_empty() { l.last } else { None },
                max_keys: max as u32,
                delimiter: (!delimiter.is_empty()).then_some(delimiter),
                encoding_url,
                is_truncated: l.truncated,
                contents: l.contents,
                common_prefixes: l.common_prefixes,
            };
            Ok(Response::xml(200, r.to_xml()))
        }
    }
}

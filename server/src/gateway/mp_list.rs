//! ListParts and ListMultipartUploads: walks of the reserved upload keys
//! (docs/format.md, "Multipart upload records"), merged from every shard in key order.

use super::manifest::{self, read_all, UploadState};
use super::multipart::{parse_parts, MAX_PARTS};
use super::object::{base64_encode, etag, from_stored};
use super::{engine_error, Ctx, Gateway, Response};
use leofs_control::Bucket;
use leofs_engine::Kind;
use leofs_net::s3::error::S3Error;
use leofs_net::s3::xml;

const MAX_LIST: usize = 1000;
/// 0xFF never occurs in UTF-8: `p + [0xFF]` sorts after every key that starts with `p`.
const AFTER_ALL: u8 = 0xFF;

fn limit(ctx: &Ctx<'_>, name: &str) -> Result<usize, S3Error> {
    match ctx.route.param(name) {
        None => Ok(MAX_LIST),
        Some(v) => {
            let n: i64 = v.parse().map_err(|_| S3Error::invalid_argument(format!("{name} must be an integer")))?;
            if n < 0 {
                return Err(S3Error::invalid_argument(format!("{name} must be non-negative")));
            }
            Ok((n as usize).min(MAX_LIST))
        }
    }
}

impl Gateway {
    pub(super) async fn list_parts(&self, ctx: &Ctx<'_>) -> Result<Response, S3Error> {
        let up = self.upload(ctx).await?;
        let (b, k) = (ctx.bucket(), ctx.key());
        let max = limit(ctx, "max-parts")?;
        let marker: u32 = match ctx.route.param("part-number-marker") {
            None => 0,
            Some(v) => v.parse().map_err(|_| S3Error::invalid_argument("part-number-marker must be an integer"))?,
        };
        let prefix = manifest::parts_prefix(b, k, &up.id);
        let after = if marker == 0 { Vec::new() } else { manifest::part_key(b, k, &up.id, marker.min(MAX_PARTS as u32)) };
        let listed = self.shards.list(&prefix, &after, max + 1).await.map_err(engine_error)?;
        let mut found = parse_parts(prefix.len(), listed);
        let truncated = found.len() > max;
        found.truncate(max);
        let mut parts = Vec::with_capacity(found.len());
        for (n, e) in &found {
            // Checksums live in the part's metadata, not the index: read them only when the
            // upload asked for one.
            let mut checksums = Vec::new();
            if up.state.algo.is_some() {
                if let Some(got) = self.shards.get(manifest::part_key(b, k, &up.id, *n)).await.map_err(engine_error)? {
                    checksums.extend(got.meta.checksum.map(|(a, v)| (from_stored(a), base64_encode(&v))));
                }
            }
            parts.push(xml::PartEntry { part_number: *n, last_modified_ms: e.mtime_ms(), etag: etag(&e.md5, 0), size: e.size, checksums });
        }
        let r = xml::ListPartsResult {
            bucket: b.to_string(),
            key: k.to_string(),
            upload_id: up.id.clone(),
            owner: self.owner_of(&up.state.initiator),
            part_number_marker: marker,
            next_part_number_marker: found.last().map(|(n, _)| *n),
            max_parts: max as u32,
            is_truncated: truncated,
            parts,
        };
        Ok(Response::xml(200, r.to_xml()))
    }

    pub(super) async fn list_uploads(&self, ctx: &Ctx<'_>, bucket: &Bucket) -> Result<Response, S3Error> {
        let p = |n: &str| ctx.route.param(n).unwrap_or("").to_string();
        let (prefix, delimiter, key_marker, id_marker) = (p("prefix"), p("delimiter"), p("key-marker"), p("upload-id-marker"));
        let max = limit(ctx, "max-uploads")?;
        let encoding_url = match ctx.route.param("encoding-type") {
            None => false,
            Some("url") => true,
            Some(_) => return Err(S3Error::invalid_argument("Invalid Encoding Method specified in Request")),
        };
        let base = manifest::uploads_prefix(&bucket.name);
        let mut full_prefix = base.clone();
        full_prefix.extend_from_slice(prefix.as_bytes());
        // Resume after the marker's upload, or after every upload of the marker's key.
        let mut after = Vec::new();
        if !key_marker.is_empty() {
            after = base.clone();
            after.extend_from_slice(key_marker.as_bytes());
            after.push(0);
            if manifest::valid_upload_id(&id_marker) {
                after.extend_from_slice(id_marker.as_bytes());
                after.push(0);
            }
            after.push(AFTER_ALL);
        }
        let mut r = xml::ListMultipartUploadsResult {
            bucket: bucket.name.clone(),
            key_marker,
            upload_id_marker: id_marker,
            prefix: prefix.clone(),
            delimiter: (!delimiter.is_empty()).then(|| delimiter.clone()),
            max_uploads: max as u32,
            encoding_url,
            ..Default::default()
        };
        let mut count = 0usize;
        'outer: loop {
            let batch = self.shards.list(&full_prefix, &after, MAX_LIST).await.map_err(engine_error)?;
            let exhausted = batch.len() < MAX_LIST;
            for (k, e) in &batch {
                after = k.to_vec();
                // Parts share the prefix; only the state records (objects) are uploads.
                if e.kind != Kind::Object {
                    continue;
                }
                let rel = &k[base.len()..];
                let Some(sep) = rel.iter().rposition(|&c| c == 0) else { continue };
                let (Ok(key), Ok(id)) = (std::str::from_utf8(&rel[..sep]), std::str::from_utf8(&rel[sep + 1..])) else { continue };
                if count == max {
                    r.is_truncated = true;
                    break 'outer;
                }
                if !delimiter.is_empty() {
                    if let Some(pos) = key[prefix.len()..].find(&delimiter) {
                        let cp = key[..prefix.len() + pos + delimiter.len()].to_string();
                        count += 1;
                        r.next_key_marker = Some(cp.clone());
                        r.next_upload_id_marker = None;
                        // Skip every upload under the common prefix in one step.
                        after = base.clone();
                        after.extend_from_slice(cp.as_bytes());
                        after.push(AFTER_ALL);
                        r.common_prefixes.push(cp);
                        continue 'outer;
                    }
                }
                count += 1;
                let (initiator, initiated_ms) = match self.shards.get(k.to_vec()).await.map_err(engine_error)? {
                    Some(mut got) => {
                        let body = read_all(&mut got.body).await.map_err(engine_error)?;
                        (UploadState::decode(&body).map_err(engine_error)?.initiator, got.entry.mtime_ms())
                    }
                    None => continue, // completed or aborted meanwhile
                };
                r.next_key_marker = Some(key.to_string());
                r.next_upload_id_marker = Some(id.to_string());
                r.uploads.push(xml::UploadEntry { key: key.to_string(), upload_id: id.to_string(), owner: self.owner_of(&initiator), initiated_ms });
            }
            if exhausted {
                break;
            }
        }
        if !r.is_truncated {
            r.next_key_marker = None;
            r.next_upload_id_marker = None;
        }
        Ok(Response::xml(200, r.to_xml()))
    }
}

//! Multipart upload: CreateMultipartUpload, UploadPart, UploadPartCopy,
//! CompleteMultipartUpload and AbortMultipartUpload (listings are in `mp_list.rs`).
//!
//! An upload is a state record under a reserved key; each part is a chunk record under a
//! key derived from it (docs/format.md, "Multipart upload records"), so parts spread over
//! every shard. Completing writes a manifest record under the object's key, then removes
//! the state: the manifest is durable first, so a crash in between leaves an upload that
//! can still be completed (again) or aborted without losing the object's parts.
//!
//! A part no larger than one chunk is one record. A larger one (up to S3's 5 GiB) is
//! streamed into part chunks and committed by a part manifest under the part's key
//! (docs/format.md, "Large parts"), so the gateway holds a few chunks of it at a time.

use super::chunked::{copy_into, read_into, ChunkWriter, MIN_CHUNK_BYTES};
use super::manifest::{self, read_all, Manifest, ManifestPart, UploadState};
use super::object::{base64_encode, check_conditions, etag, from_stored, meta_from_request, put_error, to_stored};
use super::{engine_error, object_key, payload, Access, Ctx, Gateway, Response, Who};
use crate::conn::BodyIn;
use crate::shard::{BodyStream, PutCond};
use leofs_engine::{Entry, ObjectMeta, Version};
use leofs_net::s3::checksum::{ChecksumAlgo, Md5};
use leofs_net::s3::error::{S3Error, S3ErrorCode};
use leofs_net::s3::router::parse_part_number;
use leofs_net::s3::xml;
use std::collections::{HashMap, HashSet};

/// S3's smallest part, except the last.
pub const MIN_PART: u64 = 5 << 20;
/// Most parts of one upload (S3's limit).
pub const MAX_PARTS: usize = 10_000;
/// S3's largest part (UploadPart, and the range of an UploadPartCopy).
pub const MAX_PART_BYTES: u64 = 5 << 30;
/// S3's largest object made by CompleteMultipartUpload.
pub const MAX_MULTIPART_BYTES: u64 = 5 << 40;
/// Keys listed (and deleted) per step when an upload's pieces are removed.
const LIST_PAGE: usize = 1000;
/// Part manifests read at once when a completed upload is tidied.
const READS_IN_FLIGHT: usize = 16;

/// An upload, as its state record holds it.
pub(super) struct Upload {
    pub id: String,
    /// Stored headers and user metadata from the create request.
    pub meta: ObjectMeta,
    pub state: UploadState,
}

pub(super) fn no_such_upload() -> S3Error {
    S3Error::new(S3ErrorCode::NoSuchUpload)
}

fn invalid_part() -> S3Error {
    S3Error::new(S3ErrorCode::InvalidPart)
}

/// A new upload id: the creation time first (uploads of one key list oldest first, as in
/// S3), then 64 random bits.
pub(super) fn new_upload_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0);
    // RandomState is seeded from the OS once per thread and bumped per instance.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(now);
    format!("{now:016x}{:016x}", h.finish())
}

/// `(part number, entry)` of every stored part of an upload, in part order.
pub(super) fn parse_parts(prefix_len: usize, listed: Vec<(Box<[u8]>, Entry)>) -> Vec<(u32, Entry)> {
    listed.into_iter().filter_map(|(k, e)| Some((std::str::from_utf8(&k[prefix_len..]).ok()?.parse().ok()?, e))).collect()
}

impl Gateway {
    /// The upload named by `?uploadId`, or NoSuchUpload.
    pub(super) async fn upload(&self, ctx: &Ctx<'_>) -> Result<Upload, S3Error> {
        let id = ctx.route.param("uploadId").unwrap_or("");
        if !manifest::valid_upload_id(id) {
            return Err(no_such_upload());
        }
        let Some(mut got) = self.shards.get(manifest::upload_key(ctx.bucket(), ctx.key(), id)).await.map_err(engine_error)? else {
            return Err(no_such_upload());
        };
        let body = read_all(&mut got.body).await.map_err(engine_error)?;
        let state = UploadState::decode(&body).map_err(engine_error)?;
        Ok(Upload { id: id.to_string(), meta: got.meta, state })
    }

    /// The manifest of the object at `bucket/key`, if it is a completed multipart object or
    /// a chunked single PUT.
    pub(super) async fn manifest_of(&self, bucket: &str, key: &str) -> Result<Option<Manifest>, S3Error> {
        let k = object_key(bucket, key);
        // The index entry tells most objects apart without a disk read: a multipart object
        // has parts; a chunked PUT is larger than the smallest chunk size, and on a local
        // shard its record (a manifest) is far shorter than the object it describes. Only a
        // cluster gateway (no record length in its entries) reads large objects' metadata.
        let Some(e) = self.shards.stat(k.clone()).await.map_err(engine_error)? else { return Ok(None) };
        let maybe_chunked = e.size > super::chunked::MIN_CHUNK_BYTES && (e.loc.len == 0 || u64::from(e.loc.len) < e.size);
        if e.parts == 0 && !maybe_chunked {
            return Ok(None);
        }
        let Some(mut got) = self.shards.get(k).await.map_err(engine_error)? else { return Ok(None) };
        if got.meta.chunks.is_none() {
            return Ok(None);
        }
        let body = read_all(&mut got.body).await.map_err(engine_error)?;
        Manifest::decode(&body).map(Some).map_err(engine_error)
    }

    /// Deletes the pieces (parts or chunks) of a replaced or deleted manifest object. Best
    /// effort and inline, a few deletes at a time: a failure leaves garbage records
    /// (logged), never a wrong object.
    pub(super) async fn reclaim(&self, bucket: &str, key: &str, old: Option<Manifest>) {
        let Some(m) = old else { return };
        if !m.chunked {
            // A multipart object: its parts and part chunks, with whatever a crash left there.
            if let Err(e) = self.delete_prefix(&manifest::upload_pieces_prefix(bucket, key, &m.upload_id)).await {
                log::warn!("leaving pieces of {bucket}/{key} upload {}: {e}", m.upload_id);
            }
            return;
        }
        let keys: Vec<(u32, Vec<u8>)> = m.parts.iter().map(|p| (p.number, m.piece_key(bucket, key, p.number))).collect();
        for (n, e) in super::chunked::delete_all(&self.shards, keys).await {
            log::warn!("leaving chunk {n} of {bucket}/{key} (put {}): {e}", m.upload_id);
        }
    }

    /// Replaces a manifest object's body with the stream of its parts.
    pub(super) async fn expand(&self, bucket: &str, key: &str, got: &mut crate::shard::Got) -> Result<Option<Manifest>, S3Error> {
        if got.meta.chunks.is_none() {
            return Ok(None);
        }
        let m = Manifest::decode(&read_all(&mut got.body).await.map_err(engine_error)?).map_err(engine_error)?;
        got.body = BodyStream::Parts(Box::new(manifest::PartStream::new(self.shards.clone(), bucket, key, &m)));
        Ok(Some(m))
    }

    pub(super) async fn create_multipart(&self, ctx: &Ctx<'_>) -> Result<Response, S3Error> {
        if ctx.key().contains('\0') {
            return Err(S3Error::invalid_argument("object keys for multipart uploads may not contain NUL"));
        }
        let mut meta = meta_from_request(ctx)?;
        let algo = ctx.header("x-amz-checksum-algorithm").map(ChecksumAlgo::parse).transpose()?;
        let initiator = match &ctx.who {
            Who::User(u) => u.clone(),
            Who::Anonymous => "anonymous".to_string(),
        };
        let id = new_upload_id();
        let body = UploadState { algo: algo.map(to_stored), initiator }.encode();
        meta.size = body.len() as u64;
        self.shards.put(manifest::upload_key(ctx.bucket(), ctx.key(), &id), meta, body, PutCond::None).await.map_err(put_error)?;
        let mut r = Response::xml(200, xml::initiate_multipart_upload_result(ctx.bucket(), ctx.key(), &id));
        if let Some(a) = algo {
            r = r.header("x-amz-checksum-algorithm", a.as_str());
        }
        Ok(r)
    }

    pub(super) async fn upload_part(&self, ctx: &Ctx<'_>, body: &mut BodyIn<'_>) -> Result<Response, S3Error> {
        let n = parse_part_number(ctx.route.param("partNumber").unwrap_or(""))?;
        let up = self.upload(ctx).await?;
        let (b, k) = (ctx.bucket(), ctx.key());
        let reader = payload::PayloadReader::begin(ctx, body, MAX_PART_BYTES)?;
        let mut w = ChunkWriter::for_part(self.shards.clone(), b, k, &up.id, n);
        // Up to one chunk: one record, as a small PUT. Larger, or of unknown length: chunks.
        let read = match reader.declared().is_some_and(|len| len <= self.chunk_bytes) {
            true => reader.read_to_end(self.chunk_bytes).await,
            false => read_into(reader, &mut w, self.chunk_bytes as usize).await,
        };
        let (data, d) = match read {
            Ok(r) => r,
            Err(e) => {
                w.abort().await;
                return Err(e);
            }
        };
        if let (Some(want), Some((got, _))) = (up.state.algo, &d.checksum) {
            if to_stored(*got) != want {
                w.abort().await;
                return Err(S3Error::invalid_request(format!("Checksum Type mismatch occurred, expected checksum Type: {}", from_stored(want).as_str().to_lowercase())));
            }
        }
        let meta = ObjectMeta { size: d.len, md5: d.md5, checksum: d.checksum.clone().map(|(a, v)| (to_stored(a), v)), ..ObjectMeta::default() };
        self.commit_part(b, k, &up.id, n, w, meta, data).await?;
        let mut r = Response::empty(200).header("etag", etag(&d.md5, 0));
        if let Some((a, v)) = &d.checksum {
            r = r.header(a.header_name(), base64_encode(v));
        }
        Ok(r)
    }

    /// The manifest of part `n` of an upload, if that part is a large one (chunks).
    async fn part_manifest(&self, b: &str, k: &str, id: &str, n: u32, e: Option<Entry>) -> Result<Option<Manifest>, S3Error> {
        let key = manifest::part_key(b, k, id, n);
        let e = match e {
            Some(e) => e,
            None => match self.shards.stat(key.clone()).await.map_err(engine_error)? {
                Some(e) => e,
                None => return Ok(None),
            },
        };
        // A part manifest is far shorter than its part; a cluster entry has no length.
        if e.size <= MIN_CHUNK_BYTES || (e.loc.len != 0 && u64::from(e.loc.len) >= e.size) {
            return Ok(None);
        }
        let Some(mut got) = self.shards.get(key).await.map_err(engine_error)? else { return Ok(None) };
        if got.meta.chunks.is_none() {
            return Ok(None);
        }
        let m = Manifest::decode(&read_all(&mut got.body).await.map_err(engine_error)?).map_err(engine_error)?;
        Ok(Some(m).filter(|m| m.part_of.as_deref() == Some(id)))
    }

    /// Writes part `n`: `data` as one record when `w` wrote no chunk, else the manifest of
    /// `w`'s chunks (the part's commit point). Then deletes the chunks of the part upload it
    /// replaced. `meta`: size, MD5 and checksum of the part.
    #[allow(clippy::too_many_arguments)]
    async fn commit_part(&self, b: &str, k: &str, id: &str, n: u32, mut w: ChunkWriter, mut meta: ObjectMeta, data: Vec<u8>) -> Result<Version, S3Error> {
        let old = match self.part_manifest(b, k, id, n, None).await {
            Ok(old) => old,
            Err(e) => {
                w.abort().await;
                return Err(e);
            }
        };
        let key = manifest::part_key(b, k, id, n);
        let v = if w.count() == 0 {
            w.commit();
            self.shards.put_chunk(key, meta, data).await.map_err(put_error)?
        } else {
            let m = match w.finish().await {
                Ok(m) => m,
                Err(e) => {
                    w.abort().await;
                    return Err(e);
                }
            };
            meta.chunks = Some((self.chunk_bytes as u32, m.parts.len() as u32));
            w.settle(self.shards.put_chunk(key, meta, m.encode()).await).await?
        };
        self.reclaim(b, k, old).await;
        Ok(v)
    }

    pub(super) async fn upload_part_copy(&self, ctx: &Ctx<'_>) -> Result<Response, S3Error> {
        let n = parse_part_number(ctx.route.param("partNumber").unwrap_or(""))?;
        let up = self.upload(ctx).await?;
        let (sb, sk) = self.copy_source(ctx)?;
        let Some(mut got) = self.shards.get(object_key(&sb, &sk)).await.map_err(engine_error)? else {
            return Err(S3Error::no_such_key(&sk));
        };
        check_conditions(ctx, "x-amz-copy-source-", &etag(&got.meta.md5, got.meta.parts), got.entry.mtime_ms(), true)?;
        let size = got.meta.size;
        let (s, e) = match ctx.header("x-amz-copy-source-range") {
            None => (0, size),
            Some(v) => {
                let bad = || S3Error::invalid_argument("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy");
                let spec = v.trim().strip_prefix("bytes=").ok_or_else(bad)?;
                let (a, b) = spec.split_once('-').ok_or_else(bad)?;
                let (a, b): (u64, u64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                if b < a || b >= size {
                    return Err(S3Error::invalid_argument(format!("Range specified is not valid for source object of size: {size}")));
                }
                (a, b + 1)
            }
        };
        if e - s > MAX_PART_BYTES {
            return Err(S3Error::invalid_request("The specified copy source is larger than the maximum allowable size for a copy source: 5368709120"));
        }
        self.expand(&sb, &sk, &mut got).await?;
        got.body.set_range(s, e);
        let mut md5 = Md5::new();
        let mut sum = up.state.algo.map(|a| from_stored(a).hasher());
        let mut seen = |piece: &[u8]| {
            md5.update(piece);
            if let Some(h) = &mut sum {
                h.update(piece);
            }
        };
        let mut w = ChunkWriter::for_part(self.shards.clone(), ctx.bucket(), ctx.key(), &up.id, n);
        let mut data = Vec::new();
        let copied = if e - s <= self.chunk_bytes {
            // Up to one chunk: one record.
            data.reserve_exact((e - s) as usize);
            async {
                while let Some(c) = got.body.next().await.map_err(engine_error)? {
                    let piece = &c.buf.as_slice()[c.start..c.end];
                    seen(piece);
                    data.extend_from_slice(piece);
                }
                Ok(())
            }
            .await
        } else {
            copy_into(&mut got.body, &mut w, self.chunk_bytes as usize, seen).await
        };
        if let Err(err) = copied {
            w.abort().await;
            return Err(err);
        }
        let md5 = md5.finish();
        let meta = ObjectMeta { size: e - s, md5, checksum: up.state.algo.zip(sum.map(|h| h.finish())), ..ObjectMeta::default() };
        let checksums = meta.checksum.iter().map(|(a, v)| (from_stored(*a), base64_encode(v))).collect();
        let v = self.commit_part(ctx.bucket(), ctx.key(), &up.id, n, w, meta, data).await?;
        let result = xml::CopyResult { last_modified_ms: v.mtime_ms(), etag: etag(&md5, 0), checksums };
        Ok(Response::xml(200, result.to_copy_part_xml()))
    }

    pub(super) async fn complete_multipart(&self, ctx: &Ctx<'_>, body: &mut BodyIn<'_>) -> Result<Response, S3Error> {
        let req = xml::parse_complete_multipart(&payload::read_small(ctx, body, 8 << 20).await?)?;
        let (b, k) = (ctx.bucket(), ctx.key());
        let location = format!("http://{}/{b}/{k}", ctx.header("host").unwrap_or("localhost"));
        let up = match self.upload(ctx).await {
            Ok(u) => u,
            Err(e) if e.code == S3ErrorCode::NoSuchUpload => {
                // A retry whose first attempt completed (response lost, or a crash after the
                // manifest was written): answer as the first attempt did.
                let id = ctx.route.param("uploadId").unwrap_or("");
                let Some(m) = self.manifest_of(b, k).await?.filter(|m| m.upload_id == id && !m.chunked) else { return Err(e) };
                let md5s: Vec<[u8; 16]> = m.parts.iter().map(|p| p.md5).collect();
                let etag = leofs_net::s3::checksum::multipart_etag(&md5s);
                return Ok(Response::xml(200, xml::CompleteMultipartUploadResult { location, bucket: b.into(), key: k.into(), etag, checksums: Vec::new() }.to_xml()));
            }
            Err(e) => return Err(e),
        };
        let prefix = manifest::parts_prefix(b, k, &up.id);
        let listed = self.shards.list(&prefix, b"", MAX_PARTS + 1).await.map_err(engine_error)?;
        let have: HashMap<u32, Entry> = parse_parts(prefix.len(), listed).into_iter().collect();
        let mut parts = Vec::with_capacity(req.len());
        let mut sums = Vec::new();
        for (i, cp) in req.iter().enumerate() {
            let e = have.get(&cp.part_number).ok_or_else(invalid_part)?;
            if super::etag_hex(&e.md5, 0) != cp.etag.to_ascii_lowercase() {
                return Err(invalid_part());
            }
            if i + 1 < req.len() && e.size < MIN_PART {
                return Err(S3Error::new(S3ErrorCode::EntityTooSmall));
            }
            if let Some(algo) = up.state.algo {
                let got = self.shards.get(manifest::part_key(b, k, &up.id, cp.part_number)).await.map_err(engine_error)?.ok_or_else(invalid_part)?;
                let stored = got.meta.checksum.filter(|(a, _)| *a == algo).map(|(_, v)| v);
                for (ca, cv) in &cp.checksums {
                    if to_stored(*ca) != algo || stored.as_ref().is_some_and(|v| base64_encode(v) != cv.trim()) {
                        return Err(invalid_part());
                    }
                }
                sums.push(stored);
            }
            parts.push(ManifestPart { number: cp.part_number, size: e.size, md5: e.md5 });
        }
        let m = Manifest { upload_id: up.id.clone(), parts, chunked: false, part_of: None };
        if m.total() > MAX_MULTIPART_BYTES {
            return Err(S3Error::entity_too_large());
        }
        let mut md5 = Md5::new();
        for p in &m.parts {
            md5.update(&p.md5);
        }
        let mut meta = up.meta.clone();
        meta.size = m.total();
        meta.md5 = md5.finish();
        meta.parts = m.parts.len() as u32;
        meta.chunks = Some((m.parts[0].size.min(u32::MAX as u64) as u32, m.parts.len() as u32));
        // The composite checksum (a checksum of the parts' checksums), when every part has one.
        meta.checksum = match (up.state.algo, sums.iter().all(Option::is_some)) {
            (Some(a), true) => {
                let mut h = from_stored(a).hasher();
                sums.iter().flatten().for_each(|v| h.update(v));
                Some((a, h.finish()))
            }
            _ => None,
        };
        let old = self.manifest_of(b, k).await?.filter(|o| o.upload_id != up.id);
        self.shards.put(object_key(b, k), meta.clone(), m.encode(), PutCond::None).await.map_err(put_error)?;
        self.reclaim(b, k, old).await;
        self.tidy_completed(b, k, &up.id, &m, &have).await;
        self.shards.delete(manifest::upload_key(b, k, &up.id)).await.map_err(engine_error)?;
        let checksums = meta.checksum.iter().map(|(a, v)| (from_stored(*a), format!("{}-{}", base64_encode(v), meta.parts))).collect();
        let etag = super::etag_hex(&meta.md5, meta.parts);
        Ok(Response::xml(200, xml::CompleteMultipartUploadResult { location, bucket: b.into(), key: k.into(), etag, checksums }.to_xml()))
    }

    pub(super) async fn abort_multipart(&self, ctx: &Ctx<'_>) -> Result<Response, S3Error> {
        let up = self.upload(ctx).await?;
        self.abort_upload(ctx.bucket(), ctx.key(), &up.id).await?;
        Ok(Response::empty(204))
    }

    /// Deletes upload `id` of `b/k`: its parts (unless a completed object uses them), then
    /// its state.
    pub(super) async fn abort_upload(&self, b: &str, k: &str, id: &str) -> Result<(), S3Error> {
        // After a crash mid-complete the object may already use these parts: keep them.
        match self.manifest_of(b, k).await?.filter(|m| m.upload_id == id && !m.chunked) {
            Some(m) => {
                let prefix = manifest::parts_prefix(b, k, id);
                let listed = self.shards.list(&prefix, b"", MAX_PARTS + 1).await.map_err(engine_error)?;
                let have = parse_parts(prefix.len(), listed).into_iter().collect();
                self.tidy_completed(b, k, id, &m, &have).await;
            }
            // Parts and part chunks, named or orphaned.
            None => self.delete_prefix(&manifest::upload_pieces_prefix(b, k, id)).await.map_err(engine_error)?,
        }
        // The state goes last: a crash before it leaves an upload that can be aborted again.
        self.shards.delete(manifest::upload_key(b, k, id)).await.map_err(engine_error)?;
        Ok(())
    }

    /// Deletes every key under `prefix`, a page at a time.
    pub(super) async fn delete_prefix(&self, prefix: &[u8]) -> Result<(), leofs_engine::Error> {
        self.delete_under(prefix, |_| true).await
    }

    /// Deletes the keys under `prefix` that `dead` picks, a page at a time; stops at the
    /// first failure.
    async fn delete_under(&self, prefix: &[u8], dead: impl Fn(&[u8]) -> bool) -> Result<(), leofs_engine::Error> {
        let mut after: Vec<u8> = Vec::new();
        loop {
            let batch = self.shards.list(prefix, &after, LIST_PAGE).await?;
            let Some((last, _)) = batch.last() else { return Ok(()) };
            after = last.to_vec();
            let full = batch.len() == LIST_PAGE;
            let keys = batch.into_iter().filter(|(k, _)| dead(k)).enumerate().map(|(i, (k, _))| (i as u32, k.into_vec())).collect();
            if let Some((_, e)) = super::chunked::delete_all(&self.shards, keys).await.into_iter().next() {
                return Err(e);
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// After upload `id` of `b/k` completed as `m`: deletes the parts `m` leaves out of
    /// `have` (the upload's parts) and every part chunk no part of `m` names (of replaced
    /// or crashed part uploads, of parts left out). Best effort: on any doubt (a part
    /// manifest unreadable) part chunks are kept, as garbage, never a missing piece.
    pub(super) async fn tidy_completed(&self, b: &str, k: &str, id: &str, m: &Manifest, have: &HashMap<u32, Entry>) {
        let used: HashSet<u32> = m.parts.iter().map(|p| p.number).collect();
        for n in have.keys().filter(|n| !used.contains(n)) {
            let _ = self.shards.delete(manifest::part_key(b, k, id, *n)).await;
        }
        let prefix = manifest::pchunks_prefix(b, k, id);
        if !matches!(self.shards.list(&prefix, b"", 1).await, Ok(l) if !l.is_empty()) {
            return;
        }
        // The part-put-ids in use: the manifests of the parts, a few read at a time.
        let mut live = HashSet::new();
        for batch in m.parts.chunks(READS_IN_FLIGHT) {
            let reads = batch.iter().map(|p| self.part_manifest(b, k, id, p.number, have.get(&p.number).copied())).collect();
            for (p, read) in batch.iter().zip(leofs_rt::task::join_all(reads).await) {
                match read {
                    Ok(Some(pm)) => {
                        live.insert(pm.upload_id);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        log::warn!("keeping the part chunks of {b}/{k} upload {id}: part {}: {}", p.number, e.code.as_str());
                        return;
                    }
                }
            }
        }
        // `part-put-id \0 NNNNN` after the prefix.
        let dead = |key: &[u8]| key.get(prefix.len()..prefix.len() + 32).and_then(|p| std::str::from_utf8(p).ok()).is_none_or(|p| !live.contains(p));
        if let Err(e) = self.delete_under(&prefix, dead).await {
            log::warn!("leaving part chunks of {b}/{k} upload {id}: {e}");
        }
    }

    /// Deletes chunks of chunked PUTs that no object's manifest names, once older than
    /// `max_age`: left by a crash or kill mid-PUT, a failed manifest write, or two overwrites
    /// racing. Live pieces are never touched: a chunk is deleted only if the object's current
    /// manifest has another put id (or there is no such object) and the chunk is older than
    /// any PUT could still be running. Returns how many were deleted.
    pub async fn reclaim_orphan_chunks(&self, max_age: std::time::Duration) -> usize {
        let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        let mut deleted = 0;
        for bucket in self.catalog.all_buckets() {
            let mut base = bucket.name.as_bytes().to_vec();
            base.extend_from_slice(b"\0chunk/");
            let mut after: Vec<u8> = Vec::new();
            // The last (key, put id) looked up, and whether its manifest names it.
            let mut known: Option<(Vec<u8>, bool)> = None;
            loop {
                let Ok(batch) = self.shards.list(&base, &after, 1000).await else { break };
                for (k, e) in &batch {
                    after = k.to_vec();
                    if now_ms - e.mtime_ms() < max_age.as_millis() as i64 {
                        continue;
                    }
                    // `key \0 put-id \0 NNNNN` after the prefix.
                    let rel = &k[base.len()..];
                    let Some(last) = rel.iter().rposition(|&c| c == 0) else { continue };
                    let Some(mid) = rel[..last].iter().rposition(|&c| c == 0) else { continue };
                    let (Ok(key), Ok(id)) = (std::str::from_utf8(&rel[..mid]), std::str::from_utf8(&rel[mid + 1..last])) else { continue };
                    let owner = rel[..last].to_vec();
                    let used = match &known {
                        Some((o, used)) if *o == owner => *used,
                        _ => {
                            let Ok(m) = self.manifest_of(&bucket.name, key).await else { continue };
                            let used = m.is_some_and(|m| m.chunked && m.upload_id == id);
                            known = Some((owner, used));
                            used
                        }
                    };
                    if !used && self.shards.delete(k.to_vec()).await.is_ok() {
                        deleted += 1;
                    }
                }
                if batch.len() < 1000 {
                    break;
                }
            }
        }
        if deleted > 0 {
            log::info!("reclaimed {deleted} chunks no object names");
        }
        deleted
    }

    /// Aborts every upload initiated more than `max_age` ago, in every bucket (S3's
    /// AbortIncompleteMultipartUpload, for all): returns how many.
    pub async fn abort_stale_uploads(&self, max_age: std::time::Duration) -> usize {
        let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        let mut aborted = 0;
        for bucket in self.catalog.all_buckets() {
            let base = manifest::uploads_prefix(&bucket.name);
            let mut after: Vec<u8> = Vec::new();
            loop {
                let Ok(batch) = self.shards.list(&base, &after, 1000).await else { break };
                for (k, e) in &batch {
                    after = k.to_vec();
                    // Parts share the prefix; only the state records are uploads.
                    if e.kind != leofs_engine::Kind::Object || now_ms - e.mtime_ms() < max_age.as_millis() as i64 {
                        continue;
                    }
                    let rel = &k[base.len()..];
                    let Some(sep) = rel.iter().rposition(|&c| c == 0) else { continue };
                    let (Ok(key), Ok(id)) = (std::str::from_utf8(&rel[..sep]), std::str::from_utf8(&rel[sep + 1..])) else { continue };
                    match self.abort_upload(&bucket.name, key, id).await {
                        Ok(()) => {
                            log::info!("aborted upload {id} of {}/{key}: older than {max_age:?}", bucket.name);
                            aborted += 1;
                        }
                        Err(e) => log::warn!("aborting stale upload {id} of {}/{key}: {}", bucket.name, e.code.as_str()),
                    }
                }
                if batch.len() < 1000 {
                    break;
                }
            }
        }
        aborted
    }

    /// `x-amz-copy-source` as (bucket, key), once the requester may read it.
    pub(super) fn copy_source(&self, ctx: &Ctx<'_>) -> Result<(String, String), S3Error> {
        let src = ctx.header("x-amz-copy-source").unwrap_or("");
        let src = src.split('?').next().unwrap_or("");
        let decoded = percent_encoding::percent_decode_str(src).decode_utf8().map_err(|_| S3Error::invalid_argument("x-amz-copy-source is not UTF-8"))?;
        let bad = || S3Error::invalid_argument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
        let (sb, sk) = decoded.trim_start_matches('/').split_once('/').ok_or_else(bad)?;
        if sk.is_empty() {
            return Err(bad());
        }
        let route = leofs_net::s3::router::Route { op: ctx.route.op, bucket: Some(sb.to_string()), key: Some(sk.to_string()), query: Vec::new() };
        let src_ctx = Ctx { head: ctx.head, route, who: ctx.who.clone(), verified: ctx.verified.clone(), request_id: ctx.request_id.clone() };
        self.authorize(&src_ctx, Access::Read)?;
        Ok((sb.to_string(), sk.to_string()))
    }
}

//! Large single PUTs (docs/format.md, "Chunked single PUT"): a body larger than the chunk
//! size is cut into chunks as it streams in, each chunk written as its own record under a
//! key derived from the bucket, the key and a fresh put id (so chunks spread over every
//! shard, and in a cluster over the RING), at most [`WRITES_IN_FLIGHT`] at a time. Once the
//! last byte is in and every digest verified, a manifest record under the object's key
//! commits the new version; the replaced object's pieces are deleted after it.
//!
//! A PUT that fails before its manifest is written (bad digest or signature, a client gone,
//! a failed write, a precondition) deletes the chunks it wrote and leaves the object as it
//! was. A crash in between leaves chunks no manifest names: garbage that only a reclaim
//! sweep of `bucket \0 chunk/` keys (not written yet) would find.
//!
//! The gateway holds at most one chunk being filled plus [`WRITES_IN_FLIGHT`] being
//! written per request, whatever the object's size.

use super::manifest::{self, Manifest, ManifestPart};
use super::object::{base64_encode, etag, put_error};
use super::payload::{Digests, PayloadReader};
use super::{engine_error, object_key, Ctx, Gateway, Response};
use crate::backend::Backend;
use crate::shard::{PutCond, PutError};
use leofs_engine::{Error, ObjectMeta, Version};
use leofs_net::s3::error::S3Error;
use std::collections::VecDeque;

/// The smallest chunk size a configuration can set (`chunk_mib = 1`): every chunked object
/// is larger than this, which lets an index entry rule most objects out without a read.
pub const MIN_CHUNK_BYTES: u64 = 1 << 20;
/// Chunk writes of one PUT in flight while the next chunk fills.
pub const WRITES_IN_FLIGHT: usize = 2;
/// Deletes issued at once when chunks or parts are reclaimed.
const DELETES_IN_FLIGHT: usize = 16;

/// Deletes `keys` (numbered pieces), a few at a time; returns the failures.
pub(super) async fn delete_all(shards: &Backend, keys: Vec<(u32, Vec<u8>)>) -> Vec<(u32, Error)> {
    let mut failed = Vec::new();
    let mut keys = keys.into_iter().peekable();
    while keys.peek().is_some() {
        let batch: Vec<_> = keys.by_ref().take(DELETES_IN_FLIGHT).collect();
        let futs: Vec<_> = batch
            .into_iter()
            .map(|(n, k)| {
                let shards = shards.clone();
                Box::pin(async move { (n, shards.delete(k).await) })
            })
            .collect();
        for (n, r) in leofs_rt::task::join_all(futs).await {
            if let Err(e) = r {
                failed.push((n, e));
            }
        }
    }
    failed
}

type ChunkWrite = leofs_rt::task::JoinHandle<Result<Version, PutError>>;

/// The chunks of one PUT (or of one upload of a large part) being written: numbered from 1
/// in body order, each write its own task so the body keeps streaming in while earlier
/// chunks reach the disk.
pub(super) struct ChunkWriter {
    shards: Backend,
    /// Chunk `n`'s key is this + `n` as 5 digits.
    prefix: Vec<u8>,
    /// What the chunks belong to, for logs.
    what: String,
    id: String,
    /// The upload id, when these are the chunks of a part.
    part_of: Option<String>,
    pieces: Vec<ManifestPart>,
    inflight: VecDeque<ChunkWrite>,
    /// Committed or aborted: nothing left to clean up on drop.
    settled: bool,
}

impl ChunkWriter {
    /// The chunks of a single PUT of `bucket/key`, under a fresh put id.
    pub fn new(shards: Backend, bucket: &str, key: &str) -> ChunkWriter {
        let id = super::multipart::new_upload_id();
        let prefix = manifest::chunks_prefix(bucket, key, &id);
        let what = format!("{bucket}/{key} put {id}");
        ChunkWriter { shards, prefix, what, id, part_of: None, pieces: Vec::new(), inflight: VecDeque::new(), settled: false }
    }

    /// The chunks of part `n` of upload `upload` of `bucket/key`, under a fresh part-put-id.
    pub fn for_part(shards: Backend, bucket: &str, key: &str, upload: &str, n: u32) -> ChunkWriter {
        let id = super::multipart::new_upload_id();
        let prefix = manifest::part_chunks_prefix(bucket, key, upload, &id);
        let what = format!("{bucket}/{key} upload {upload} part {n} ({id})");
        ChunkWriter { shards, prefix, what, id, part_of: Some(upload.to_string()), pieces: Vec::new(), inflight: VecDeque::new(), settled: false }
    }

    /// Chunks handed to [`write`](Self::write) so far.
    pub fn count(&self) -> usize {
        self.pieces.len()
    }

    /// Writes `data` as the next chunk, once fewer than [`WRITES_IN_FLIGHT`] writes are
    /// pending (the oldest is awaited first: its failure fails the PUT).
    pub async fn write(&mut self, data: Vec<u8>) -> Result<(), S3Error> {
        while self.inflight.len() >= WRITES_IN_FLIGHT {
            self.wait_oldest().await?;
        }
        let number = self.pieces.len() as u32 + 1;
        let size = data.len() as u64;
        self.pieces.push(ManifestPart { number, size, md5: [0; 16] });
        let key = self.key(number);
        let shards = self.shards.clone();
        let meta = ObjectMeta { size, ..ObjectMeta::default() };
        self.inflight.push_back(leofs_rt::task::spawn(async move { shards.put_chunk(key, meta, data).await }));
        Ok(())
    }

    async fn wait_oldest(&mut self) -> Result<(), S3Error> {
        if let Some(w) = self.inflight.pop_front() {
            w.await.map_err(put_error)?;
        }
        Ok(())
    }

    /// Waits until every chunk is durable; returns the manifest that names them.
    pub async fn finish(&mut self) -> Result<Manifest, S3Error> {
        while !self.inflight.is_empty() {
            self.wait_oldest().await?;
        }
        Ok(Manifest { upload_id: self.id.clone(), parts: self.pieces.clone(), chunked: true, part_of: self.part_of.clone() })
    }

    /// The manifest is durable: the chunks belong to the object now.
    pub fn commit(mut self) {
        self.settled = true;
    }

    /// Settles the chunks by the outcome of writing their manifest: kept once it is
    /// durable; deleted when the write was refused (nothing written); kept too when the
    /// write failed, since it may still surface after a restart (garbage at worst, never a
    /// manifest of missing chunks; a sweep, a completion or an abort deletes them).
    pub async fn settle(self, written: Result<Version, PutError>) -> Result<Version, S3Error> {
        match written {
            Err(e @ (PutError::Failed | PutError::Conflict)) => {
                self.abort().await;
                Err(put_error(e))
            }
            r => {
                self.commit();
                r.map_err(put_error)
            }
        }
    }

    /// The PUT failed: waits for the writes in flight, then deletes every chunk (best
    /// effort; a failure leaves garbage records, logged).
    pub async fn abort(mut self) {
        self.settled = true;
        let writes = std::mem::take(&mut self.inflight);
        let keys = self.keys();
        cleanup(self.shards.clone(), writes, keys, self.what.clone()).await;
    }

    fn key(&self, n: u32) -> Vec<u8> {
        let mut k = self.prefix.clone();
        k.extend_from_slice(format!("{n:05}").as_bytes());
        k
    }

    fn keys(&self) -> Vec<(u32, Vec<u8>)> {
        self.pieces.iter().map(|p| (p.number, self.key(p.number))).collect()
    }
}

async fn cleanup(shards: Backend, writes: VecDeque<ChunkWrite>, keys: Vec<(u32, Vec<u8>)>, what: String) {
    for w in writes {
        let _ = w.await;
    }
    for (n, e) in delete_all(&shards, keys).await {
        log::warn!("leaving chunk {n} of {what}: {e}");
    }
}

impl Drop for ChunkWriter {
    /// A PUT dropped mid-way (its request cancelled): clean up in the background.
    fn drop(&mut self) {
        if !self.settled && !self.pieces.is_empty() {
            let writes = std::mem::take(&mut self.inflight);
            let keys = self.keys();
            leofs_rt::task::spawn(cleanup(self.shards.clone(), writes, keys, self.what.clone()));
        }
    }
}

/// Reads a payload to its end into chunks of `w`. Returns the verified digests and, when
/// the whole body fits in one chunk (nothing was written), its bytes; otherwise an empty
/// Vec. Every digest is checked before the last chunk is written, and so before any
/// manifest. On an error the caller aborts `w`.
pub(super) async fn read_into(mut reader: PayloadReader<'_, '_>, w: &mut ChunkWriter, chunk: usize) -> Result<(Vec<u8>, Digests), S3Error> {
    let mut buf = Vec::with_capacity(chunk);
    loop {
        let room = chunk - buf.len();
        if reader.read(&mut buf, room).await? == 0 {
            break;
        }
        if buf.len() == chunk {
            w.write(std::mem::take(&mut buf)).await?;
            buf.reserve_exact(chunk);
        }
    }
    let digests = reader.finish()?;
    if w.count() > 0 && !buf.is_empty() {
        w.write(std::mem::take(&mut buf)).await?;
    }
    Ok((buf, digests))
}

/// Copies a body stream into chunks of `w`, handing every piece to `seen` (hashers) on the
/// way. On an error the caller aborts `w`.
pub(super) async fn copy_into(body: &mut crate::shard::BodyStream, w: &mut ChunkWriter, chunk: usize, mut seen: impl FnMut(&[u8])) -> Result<(), S3Error> {
    let mut buf = Vec::with_capacity(chunk);
    while let Some(c) = body.next().await.map_err(engine_error)? {
        let mut piece = &c.buf.as_slice()[c.start..c.end];
        seen(piece);
        while !piece.is_empty() {
            let n = piece.len().min(chunk - buf.len());
            buf.extend_from_slice(&piece[..n]);
            piece = &piece[n..];
            if buf.len() == chunk {
                w.write(std::mem::take(&mut buf)).await?;
                buf.reserve_exact(chunk);
            }
        }
    }
    if !buf.is_empty() {
        w.write(buf).await?;
    }
    Ok(())
}

impl Gateway {
    /// Fails a conditional PUT before its body is read, when the condition already does
    /// not hold (it is decided again, atomically, when the object's record is written).
    async fn precheck(&self, key: Vec<u8>, cond: &PutCond) -> Result<(), S3Error> {
        if !matches!(cond, PutCond::Absent | PutCond::Matches(_)) {
            return Ok(());
        }
        let cur = self.shards.stat(key).await.map_err(engine_error)?;
        let holds = match cond {
            PutCond::Absent => cur.is_none(),
            PutCond::Matches(tag) => cur.is_some_and(|e| super::etag_hex(&e.md5, e.parts) == *tag),
            _ => true,
        };
        if holds {
            Ok(())
        } else {
            Err(S3Error::precondition_failed())
        }
    }

    /// Writes the manifest of `w`'s chunks under `bucket/key` with `meta` (size, MD5,
    /// checksum and headers set by the caller): the commit point. Then deletes what the
    /// new version replaced. On failure the chunks are deleted, unless the manifest write
    /// itself failed in a way that may still surface after a restart.
    pub(super) async fn commit_chunks(&self, b: &str, k: &str, mut w: ChunkWriter, mut meta: ObjectMeta, cond: PutCond) -> Result<Version, S3Error> {
        let prepared = async {
            let m = w.finish().await?;
            let old = self.manifest_of(b, k).await?;
            Ok::<_, S3Error>((m, old))
        };
        let (m, old) = match prepared.await {
            Ok(r) => r,
            Err(e) => {
                w.abort().await;
                return Err(e);
            }
        };
        meta.parts = 0;
        meta.chunks = Some((self.chunk_bytes as u32, m.parts.len() as u32));
        // The commit point: the new version exists once this record is durable.
        let version = w.settle(self.shards.put(object_key(b, k), meta, m.encode(), cond).await).await?;
        self.reclaim(b, k, old.filter(|o| o.upload_id != m.upload_id)).await;
        Ok(version)
    }

    /// Copies a source object (its body stream) larger than one chunk into chunks of
    /// `bucket/key`: CopyObject up to the single-PUT limit. `md5`: hash the bytes (the
    /// source's MD5 is not the object's, e.g. a multipart source). Returns the new version
    /// and the MD5 computed, if asked.
    pub(super) async fn copy_into_chunks(&self, b: &str, k: &str, body: &mut crate::shard::BodyStream, mut meta: ObjectMeta, md5: bool) -> Result<(Version, [u8; 16]), S3Error> {
        if k.contains('\0') {
            return Err(S3Error::invalid_argument("object keys of large objects may not contain NUL"));
        }
        let mut w = ChunkWriter::new(self.shards.clone(), b, k);
        let mut hasher = md5.then(leofs_net::s3::checksum::Md5::new);
        let copied = copy_into(body, &mut w, self.chunk_bytes as usize, |piece| {
            if let Some(h) = &mut hasher {
                h.update(piece);
            }
        });
        if let Err(e) = copied.await {
            w.abort().await;
            return Err(e);
        }
        let sum = hasher.map(|h| h.finish()).unwrap_or(meta.md5);
        meta.md5 = sum;
        let v = self.commit_chunks(b, k, w, meta, PutCond::None).await?;
        Ok((v, sum))
    }

    /// A PUT whose body is larger than the chunk size, or of unknown length: streamed into
    /// chunks, committed by its manifest. A body of unknown length that turns out no larger
    /// than one chunk is stored whole, like any small object.
    pub(super) async fn put_large(&self, ctx: &Ctx<'_>, reader: PayloadReader<'_, '_>, mut meta: ObjectMeta, cond: PutCond) -> Result<Response, S3Error> {
        let (b, k) = (ctx.bucket(), ctx.key());
        if k.contains('\0') {
            return Err(S3Error::invalid_argument("object keys of large objects may not contain NUL"));
        }
        self.precheck(object_key(b, k), &cond).await?;
        let mut w = ChunkWriter::new(self.shards.clone(), b, k);
        let (buf, d) = match read_into(reader, &mut w, self.chunk_bytes as usize).await {
            Ok(r) => r,
            Err(e) => {
                w.abort().await;
                return Err(e);
            }
        };
        meta.size = d.len;
        meta.md5 = d.md5;
        meta.checksum = d.checksum.clone().map(|(a, v)| (super::object::to_stored(a), v));
        let tag = etag(&meta.md5, 0);
        if w.count() == 0 {
            // Short after all: one record, as a small PUT.
            w.commit();
            let old = self.manifest_of(b, k).await?;
            self.shards.put(object_key(b, k), meta, buf, cond).await.map_err(put_error)?;
            self.reclaim(b, k, old).await;
        } else {
            self.commit_chunks(b, k, w, meta, cond).await?;
        }
        let mut r = Response::empty(200).header("etag", tag);
        if let Some((a, v)) = &d.checksum {
            r = r.header(a.header_name(), base64_encode(v));
        }
        Ok(r)
    }
}

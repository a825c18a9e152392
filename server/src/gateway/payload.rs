//! Reading a request payload: plain or aws-chunked (signed chunks, unsigned with trailer),
//! hashed while it streams in (MD5 for the ETag, SHA-256 when the payload hash is signed,
//! and the x-amz-checksum-* algorithm the client asked for). Never a second pass.

use super::{auth_error, Ctx};
use crate::conn::{BodyError, BodyIn};
use leofs_net::s3::auth::{AwsChunkedDecoder, PayloadMode, Verified};
use super::md5pool;
use leofs_net::s3::checksum::{self, ChecksumAlgo, Hasher};
use leofs_net::s3::md5lanes::Md5Stream;
use leofs_net::s3::error::{S3Error, S3ErrorCode};

const READ_MAX: usize = 256 << 10;

fn body_error(e: BodyError) -> S3Error {
    match e {
        BodyError::Timeout => S3Error::with_message(S3ErrorCode::RequestTimeout, "Your socket connection to the server was not read from or written to within the timeout period.".to_string()),
        BodyError::Closed | BodyError::Io(_) => S3Error::incomplete_body(),
        BodyError::Framing(e) => S3Error::invalid_request(e.to_string()),
    }
}

/// The checksum algorithm of a request: a value header, or one promised in a trailer.
fn requested_algo(ctx: &Ctx<'_>) -> Result<Option<(ChecksumAlgo, Option<String>)>, S3Error> {
    for &algo in ChecksumAlgo::ALL.iter() {
        if let Some(v) = ctx.header(algo.header_name()) {
            return Ok(Some((algo, Some(v.trim().to_string()))));
        }
    }
    if let Some(t) = ctx.header("x-amz-trailer") {
        let t = t.trim().to_ascii_lowercase();
        if let Some(algo) = ChecksumAlgo::from_header_name(&t) {
            return Ok(Some((algo, None)));
        }
        return Err(S3Error::invalid_argument(format!("unsupported trailer {t}")));
    }
    match ctx.header("x-amz-sdk-checksum-algorithm") {
        Some(a) => Ok(Some((ChecksumAlgo::parse(a)?, None))),
        None => Ok(None),
    }
}

/// The digests of a payload read to its end and verified.
pub struct Digests {
    pub len: u64,
    pub md5: [u8; 16],
    /// The verified checksum, if the client sent one (header or trailer).
    pub checksum: Option<(ChecksumAlgo, Vec<u8>)>,
}

/// A payload being read: decoded (plain or aws-chunked) and hashed as it streams in, handed
/// out in pieces of the caller's choosing, verified once its last byte is in. Nothing read
/// from it is trustworthy before [`PayloadReader::finish`] returns `Ok`.
pub struct PayloadReader<'r, 'b> {
    body: &'r mut BodyIn<'b>,
    mode: PayloadMode,
    declared: Option<u64>,
    max: u64,
    content_md5: Option<[u8; 16]>,
    algo: Option<(ChecksumAlgo, Option<String>)>,
    trailer_promised: bool,
    /// Hashed on the core's shared multi-buffer hasher (`md5pool`).
    md5: Md5Stream,
    sum: Option<Hasher>,
    sha: Option<Hasher>,
    /// aws-chunked framing: the decoder, raw bytes read and how far they are decoded, and
    /// whether the decoder asked for more input before decoding on.
    dec: Option<AwsChunkedDecoder>,
    raw: Vec<u8>,
    pos: usize,
    refill: bool,
    /// Payload bytes read but not handed out yet (a read returned more than asked).
    carry: Vec<u8>,
    carry_pos: usize,
    total: u64,
    done: bool,
    trailer_value: Option<String>,
}

impl<'r, 'b> PayloadReader<'r, 'b> {
    /// Checks what can be checked before the first byte: the declared length against `max`
    /// (EntityTooLarge), framing, the digests the request promises.
    pub fn begin(ctx: &Ctx<'_>, body: &'r mut BodyIn<'b>, max: u64) -> Result<Self, S3Error> {
        let mode = ctx.payload_mode();
        let streaming = mode.is_streaming();
        let declared = if streaming {
            let v = ctx.head.header("x-amz-decoded-content-length");
            Some(leofs_net::s3::auth::parse_decoded_content_length(v).map_err(auth_error)?)
        } else {
            body.declared_len
        };
        if declared.is_some_and(|n| n > max) {
            return Err(S3Error::entity_too_large());
        }
        if body.declared_len.is_none() && !streaming && ctx.head.header("content-length").is_none() && ctx.head.header("transfer-encoding").is_none() {
            return Err(S3Error::missing_content_length());
        }
        let content_md5 = match ctx.header("content-md5") {
            Some(v) => Some(checksum::parse_content_md5(v)?),
            None => None,
        };
        let algo = requested_algo(ctx)?;
        let sum = algo.as_ref().map(|(a, _)| Hasher::new(*a));
        let sha = matches!(mode, PayloadMode::Sha256(_)).then(|| Hasher::new(ChecksumAlgo::Sha256));
        let trailer_promised = ctx.header("x-amz-trailer").is_some();
        let dec = if streaming {
            let signer = match &ctx.verified {
                Verified::V4(v) if mode.has_chunk_signatures() => Some(v.chunk_signer()),
                _ => None,
            };
            let mut dec = AwsChunkedDecoder::new(mode, signer).map_err(auth_error)?.with_trailer_expected(trailer_promised);
            if let Some(n) = declared {
                dec = dec.with_decoded_length(n);
            }
            Some(dec)
        } else {
            None
        };
        let raw = if streaming { Vec::with_capacity(READ_MAX) } else { Vec::new() };
        Ok(PayloadReader {
            body,
            mode,
            declared,
            max,
            content_md5,
            algo,
            trailer_promised,
            md5: Md5Stream::new(),
            sum,
            sha,
            dec,
            raw,
            pos: 0,
            refill: false,
            carry: Vec::new(),
            carry_pos: 0,
            total: 0,
            done: false,
            trailer_value: None,
        })
    }

    /// The payload length the request declares (Content-Length, or the decoded length of
    /// an aws-chunked body), if it does.
    pub fn declared(&self) -> Option<u64> {
        self.declared
    }

    /// Reads the whole payload (at most `max` bytes, EntityTooLarge beyond) into one Vec and
    /// verifies every digest it carries.
    pub async fn read_to_end(mut self, max: u64) -> Result<(Vec<u8>, Digests), S3Error> {
        self.cap(max);
        let mut data = Vec::with_capacity(self.declared.unwrap_or(0).min(self.max) as usize);
        while self.read(&mut data, usize::MAX).await? > 0 {}
        let d = self.finish()?;
        Ok((data, d))
    }

    /// Lowers the most bytes the payload may have (EntityTooLarge beyond).
    pub fn cap(&mut self, max: u64) {
        self.max = self.max.min(max);
    }

    /// Hashes a piece of payload as it arrives and enforces `max`.
    fn take(&mut self, piece_len: usize) -> Result<(), S3Error> {
        self.total += piece_len as u64;
        if self.total > self.max {
            return Err(S3Error::entity_too_large());
        }
        Ok(())
    }

    /// Feeds a piece to the checksums hashed in line (MD5 goes to [`Self::hash_md5`]).
    fn hash(sum: &mut Option<Hasher>, sha: &mut Option<Hasher>, piece: &[u8]) {
        if let Some(h) = sum {
            h.update(piece);
        }
        if let Some(h) = sha {
            h.update(piece);
        }
    }

    /// MD5s `out[from..]` together with the other bodies arriving on this core.
    async fn hash_md5(&mut self, out: &mut Vec<u8>, from: usize) -> Result<(), S3Error> {
        let buf = std::mem::take(out);
        *out = md5pool::update(&mut self.md5, buf, from).await.map_err(|_| S3Error::internal())?;
        Ok(())
    }

    /// Appends at most `room` (> 0) payload bytes to `out`: how many, 0 at the end of the
    /// payload. A plain body is read straight into `out`.
    pub async fn read(&mut self, out: &mut Vec<u8>, room: usize) -> Result<usize, S3Error> {
        debug_assert!(room > 0);
        if self.carry_pos < self.carry.len() {
            let n = room.min(self.carry.len() - self.carry_pos);
            out.extend_from_slice(&self.carry[self.carry_pos..self.carry_pos + n]);
            self.carry_pos += n;
            if self.carry_pos == self.carry.len() {
                self.carry.clear();
                self.carry_pos = 0;
            }
            return Ok(n);
        }
        if self.done {
            return Ok(0);
        }
        let before = out.len();
        let n = if self.dec.is_some() { self.read_chunked(out).await? } else { self.read_plain(out, room).await? };
        if n > room {
            // Keep what does not fit for the next call.
            self.carry.extend_from_slice(&out[before + room..]);
            out.truncate(before + room);
            return Ok(room);
        }
        Ok(n)
    }

    async fn read_plain(&mut self, out: &mut Vec<u8>, room: usize) -> Result<usize, S3Error> {
        let before = out.len();
        let n = self.body.read(out, room.min(READ_MAX)).await.map_err(body_error)?;
        if n == 0 {
            if !self.body.is_done() {
                return Err(S3Error::incomplete_body());
            }
            self.done = true;
            return Ok(0);
        }
        self.take(n)?;
        Self::hash(&mut self.sum, &mut self.sha, &out[before..]);
        self.hash_md5(out, before).await?;
        Ok(n)
    }

    /// The next run of decoded aws-chunked data, appended whole to `out`.
    async fn read_chunked(&mut self, out: &mut Vec<u8>) -> Result<usize, S3Error> {
        let Some(dec) = &mut self.dec else { return Ok(0) };
        loop {
            if !self.refill {
                while self.pos < self.raw.len() {
                    let d = dec.decode(&self.raw[self.pos..]).map_err(auth_error)?;
                    let at = self.pos;
                    self.pos += d.consumed;
                    let stop = d.done || d.consumed == 0;
                    self.refill = stop;
                    if let Some(r) = d.data.filter(|r| !r.is_empty()) {
                        let piece = &self.raw[at + r.start..at + r.end];
                        self.total += piece.len() as u64;
                        if self.total > self.max {
                            return Err(S3Error::entity_too_large());
                        }
                        Self::hash(&mut self.sum, &mut None, piece);
                        let before = out.len();
                        out.extend_from_slice(piece);
                        self.hash_md5(out, before).await?;
                        return Ok(out.len() - before);
                    }
                    if stop {
                        break;
                    }
                }
            }
            self.refill = false;
            if dec.is_done() {
                break;
            }
            self.raw.drain(..self.pos);
            self.pos = 0;
            let n = self.body.read(&mut self.raw, READ_MAX).await.map_err(body_error)?;
            if n == 0 {
                break;
            }
        }
        dec.finish().map_err(auth_error)?;
        if let Some((a, _)) = &self.algo {
            self.trailer_value = dec.trailer(a.header_name()).map(|v| v.trim().to_string());
        }
        self.done = true;
        Ok(0)
    }

    /// Verifies every digest of a payload read to its end (`read` returned 0): the length
    /// it declared, Content-MD5, the signed SHA-256, the requested checksum.
    pub fn finish(self) -> Result<Digests, S3Error> {
        if !self.done || self.carry_pos < self.carry.len() {
            return Err(S3Error::internal());
        }
        if self.declared.is_some_and(|n| n != self.total) {
            return Err(S3Error::incomplete_body());
        }
        let md5 = self.md5.finish();
        if let Some(want) = self.content_md5 {
            checksum::verify_content_md5(&want, &md5)?;
        }
        if let (Some(h), PayloadMode::Sha256(_)) = (self.sha, self.mode) {
            let got: [u8; 32] = h.finish().try_into().map_err(|_| S3Error::internal())?;
            self.mode.check_body_hash(&got).map_err(auth_error)?;
        }
        let checksum = match (self.algo, self.sum) {
            (Some((a, header_value)), Some(h)) => {
                let computed = h.finish();
                match header_value.or(self.trailer_value) {
                    Some(expected) => a.verify(&expected, &computed)?,
                    None if self.trailer_promised => return Err(S3Error::with_message(S3ErrorCode::InvalidRequest, "the promised checksum trailer is missing")),
                    None => {}
                }
                Some((a, computed))
            }
            _ => None,
        };
        Ok(Digests { len: self.total, md5, checksum })
    }
}

/// Reads the whole payload (at most `max` bytes) and verifies every digest it carries.
async fn read(ctx: &Ctx<'_>, body: &mut BodyIn<'_>, max: u64) -> Result<Vec<u8>, S3Error> {
    Ok(PayloadReader::begin(ctx, body, max)?.read_to_end(max).await?.0)
}

/// Reads a small XML request body (at most `max` bytes).
pub async fn read_small(ctx: &Ctx<'_>, body: &mut BodyIn<'_>, max: u64) -> Result<Vec<u8>, S3Error> {
    read(ctx, body, max).await.map_err(|e| if e.code == S3ErrorCode::EntityTooLarge { S3Error::malformed_xml() } else { e })
}

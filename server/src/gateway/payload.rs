//! Reading a request payload: plain or aws-chunked (signed chunks, unsigned with trailer),
//! hashed while it streams in (MD5 for the ETag, SHA-256 when the payload hash is signed,
//! and the x-amz-checksum-* algorithm the client asked for). Never a second pass.

use super::{auth_error, Ctx};
use crate::conn::{BodyError, BodyIn};
use leofs_net::s3::auth::{AwsChunkedDecoder, PayloadMode, Verified};
use leofs_net::s3::checksum::{self, ChecksumAlgo, Hasher, Md5};
use leofs_net::s3::error::{S3Error, S3ErrorCode};

/// A fully read and verified payload.
pub struct Payload {
    pub data: Vec<u8>,
    pub md5: [u8; 16],
    /// The verified checksum, if the client sent one (header or trailer).
    pub checksum: Option<(ChecksumAlgo, Vec<u8>)>,
}

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

/// Reads the whole payload (at most `max` bytes) and verifies every digest it carries.
pub async fn read(ctx: &Ctx<'_>, body: &mut BodyIn<'_>, max: u64) -> Result<Payload, S3Error> {
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
    let mut md5 = Md5::new();
    let mut sum = algo.as_ref().map(|(a, _)| Hasher::new(*a));
    let mut sha = matches!(mode, PayloadMode::Sha256(_)).then(|| Hasher::new(ChecksumAlgo::Sha256));
    let mut data = Vec::with_capacity(declared.unwrap_or(0).min(max) as usize);
    let mut trailer_value = None;
    if streaming {
        let signer = match &ctx.verified {
            Verified::V4(v) if mode.has_chunk_signatures() => Some(v.chunk_signer()),
            _ => None,
        };
        let mut dec = AwsChunkedDecoder::new(mode, signer)
            .map_err(auth_error)?
            .with_trailer_expected(ctx.header("x-amz-trailer").is_some());
        if let Some(n) = declared {
            dec = dec.with_decoded_length(n);
        }
        let mut raw = Vec::with_capacity(READ_MAX);
        let mut pos = 0usize;
        loop {
            while pos < raw.len() {
                let d = dec.decode(&raw[pos..]).map_err(auth_error)?;
                if let Some(r) = d.data {
                    let piece = &raw[pos + r.start..pos + r.end];
                    if data.len() as u64 + piece.len() as u64 > max {
                        return Err(S3Error::entity_too_large());
                    }
                    md5.update(piece);
                    if let Some(h) = &mut sum {
                        h.update(piece);
                    }
                    data.extend_from_slice(piece);
                }
                pos += d.consumed;
                if d.done || d.consumed == 0 {
                    break;
                }
            }
            if dec.is_done() {
                break;
            }
            raw.drain(..pos);
            pos = 0;
            let n = body.read(&mut raw, READ_MAX).await.map_err(body_error)?;
            if n == 0 {
                break;
            }
        }
        dec.finish().map_err(auth_error)?;
        if let Some((a, _)) = &algo {
            trailer_value = dec.trailer(a.header_name()).map(|v| v.trim().to_string());
        }
    } else {
        loop {
            let before = data.len();
            let n = body.read(&mut data, READ_MAX).await.map_err(body_error)?;
            if n == 0 {
                break;
            }
            if data.len() as u64 > max {
                return Err(S3Error::entity_too_large());
            }
            let piece = &data[before..];
            md5.update(piece);
            if let Some(h) = &mut sum {
                h.update(piece);
            }
            if let Some(h) = &mut sha {
                h.update(piece);
            }
        }
        if !body.is_done() {
            return Err(S3Error::incomplete_body());
        }
    }
    if declared.is_some_and(|n| n != data.len() as u64) {
        return Err(S3Error::incomplete_body());
    }
    let md5 = md5.finish();
    if let Some(want) = content_md5 {
        checksum::verify_content_md5(&want, &md5)?;
    }
    if let (Some(h), PayloadMode::Sha256(_)) = (sha, mode) {
        let got: [u8; 32] = h.finish().try_into().map_err(|_| S3Error::internal())?;
        mode.check_body_hash(&got).map_err(auth_error)?;
    }
    let checksum = match (algo, sum) {
        (Some((a, header_value)), Some(h)) => {
            let computed = h.finish();
            match header_value.or(trailer_value) {
                Some(expected) => a.verify(&expected, &computed)?,
                None if ctx.header("x-amz-trailer").is_some() => {
                    return Err(S3Error::with_message(S3ErrorCode::InvalidRequest, "the promised checksum trailer is missing"))
                }
                None => {}
            }
            Some((a, computed))
        }
        _ => None,
    };
    Ok(Payload { data, md5, checksum })
}

/// Reads a small XML request body (at most `max` bytes).
pub async fn read_small(ctx: &Ctx<'_>, body: &mut BodyIn<'_>, max: u64) -> Result<Vec<u8>, S3Error> {
    let p = read(ctx, body, max).await.map_err(|e| if e.code == S3ErrorCode::EntityTooLarge { S3Error::malformed_xml() } else { e })?;
    Ok(p.data)
}

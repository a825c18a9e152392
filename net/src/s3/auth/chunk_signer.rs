//! The chunk-signature chain of `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]` uploads,
//! for both sides: the decoder verifies with it, clients (bench tool, tests) encode with it.
//!
//! Each chunk signature signs the previous one, starting from the request signature, so
//! chunks cannot be reordered, dropped or spliced between uploads:
//!
//! ```text
//! AWS4-HMAC-SHA256-PAYLOAD \n <amz-date> \n <scope> \n <previous-sig> \n
//!     <sha256("")> \n <sha256(chunk-data)>
//! AWS4-HMAC-SHA256-TRAILER \n <amz-date> \n <scope> \n <previous-sig> \n
//!     <sha256("name:value\n" for each trailer)>
//! ```

use super::payload::SigningKey;
use super::primitives::{decode_hex32, hex32, sha256, EMPTY_SHA256_HEX};
use super::AuthError;

/// Signs or verifies the chunk-signature chain of one streaming upload.
#[derive(Debug, Clone)]
pub struct ChunkSigner {
    key: SigningKey,
    amz_date: String,
    scope: String,
    prev: [u8; 32],
}

impl ChunkSigner {
    /// A chain for the request signed at `amz_date` with `scope`, seeded with the request
    /// signature `seed`.
    pub fn new(key: SigningKey, amz_date: &str, scope: &str, seed: [u8; 32]) -> Self {
        ChunkSigner {
            key,
            amz_date: amz_date.to_owned(),
            scope: scope.to_owned(),
            prev: seed,
        }
    }

    /// [`ChunkSigner::new`] with the seed as 64 hex digits.
    pub fn from_seed_hex(
        key: SigningKey,
        amz_date: &str,
        scope: &str,
        seed: &str,
    ) -> Result<Self, AuthError> {
        let seed = decode_hex32(seed.as_bytes()).ok_or(AuthError::SignatureDoesNotMatch)?;
        Ok(Self::new(key, amz_date, scope, seed))
    }

    /// The last signature in the chain (the seed before any chunk).
    pub fn previous_signature(&self) -> [u8; 32] {
        self.prev
    }

    fn string_to_sign(&self, kind: &str, tail: &[&[u8]]) -> Vec<u8> {
        let mut sts = Vec::with_capacity(32 + self.amz_date.len() + self.scope.len() + 64 * 3);
        sts.extend_from_slice(kind.as_bytes());
        sts.push(b'\n');
        sts.extend_from_slice(self.amz_date.as_bytes());
        sts.push(b'\n');
        sts.extend_from_slice(self.scope.as_bytes());
        sts.push(b'\n');
        sts.extend_from_slice(&hex32(&self.prev));
        for part in tail {
            sts.push(b'\n');
            sts.extend_from_slice(part);
        }
        sts
    }

    fn chunk_sts(&self, data_hash: &[u8; 32]) -> Vec<u8> {
        self.string_to_sign(
            "AWS4-HMAC-SHA256-PAYLOAD",
            &[EMPTY_SHA256_HEX.as_bytes(), &hex32(data_hash)],
        )
    }

    fn trailer_sts(&self, canonical_trailers: &[u8]) -> Vec<u8> {
        self.string_to_sign(
            "AWS4-HMAC-SHA256-TRAILER",
            &[&hex32(&sha256(canonical_trailers))],
        )
    }

    /// Signature of the next chunk, whose data hashes to `data_hash`; advances the chain.
    pub fn sign_chunk(&mut self, data_hash: &[u8; 32]) -> [u8; 32] {
        self.prev = self.key.sign(&self.chunk_sts(data_hash));
        self.prev
    }

    /// Checks the next chunk's signature in constant time; advances only on success.
    pub fn verify_chunk(&mut self, data_hash: &[u8; 32], sent: &[u8; 32]) -> Result<(), AuthError> {
        if self.key.verify(&self.chunk_sts(data_hash), sent) {
            self.prev = *sent;
            Ok(())
        } else {
            Err(AuthError::SignatureDoesNotMatch)
        }
    }

    /// Signature of the trailer block (see [`canonical_trailers`]); advances the chain.
    pub fn sign_trailer(&mut self, canonical_trailers: &[u8]) -> [u8; 32] {
        self.prev = self.key.sign(&self.trailer_sts(canonical_trailers));
        self.prev
    }

    /// Checks the trailer signature in constant time; advances only on success.
    pub fn verify_trailer(
        &mut self,
        canonical_trailers: &[u8],
        sent: &[u8; 32],
    ) -> Result<(), AuthError> {
        if self.key.verify(&self.trailer_sts(canonical_trailers), sent) {
            self.prev = *sent;
            Ok(())
        } else {
            Err(AuthError::SignatureDoesNotMatch)
        }
    }

    /// Client side: appends `<hex-size>;chunk-signature=<sig>\r\n<data>\r\n` to `out`.
    /// Empty `data` appends nothing: a zero-size chunk would end the body, which only
    /// [`ChunkSigner::encode_final`] may do.
    pub fn encode_chunk(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if data.is_empty() {
            return;
        }
        let sig = self.sign_chunk(&sha256(data));
        out.extend_from_slice(format!("{:x};chunk-signature=", data.len()).as_bytes());
        out.extend_from_slice(&hex32(&sig));
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }

    /// Client side: appends the final zero-size chunk. With `trailers: None`
    /// (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`) that is `0;chunk-signature=<sig>\r\n\r\n`; with
    /// `Some` (`…-PAYLOAD-TRAILER`) the trailer lines, `x-amz-trailer-signature:<sig>\r\n`
    /// and the closing `\r\n` follow the final chunk line instead.
    pub fn encode_final(&mut self, trailers: Option<&[(&str, &str)]>, out: &mut Vec<u8>) {
        let sig = self.sign_chunk(&sha256(b""));
        out.extend_from_slice(b"0;chunk-signature=");
        out.extend_from_slice(&hex32(&sig));
        out.extend_from_slice(b"\r\n");
        let Some(trailers) = trailers else {
            out.extend_from_slice(b"\r\n");
            return;
        };
        let canonical = canonical_trailers(trailers.iter().copied());
        for (name, value) in trailers {
            out.extend_from_slice(
                format!("{}:{}\r\n", name.to_ascii_lowercase(), value.trim()).as_bytes(),
            );
        }
        let tsig = self.sign_trailer(&canonical);
        out.extend_from_slice(b"x-amz-trailer-signature:");
        out.extend_from_slice(&hex32(&tsig));
        out.extend_from_slice(b"\r\n\r\n");
    }
}

/// The bytes the trailer signature covers: `name:value\n` per trailer, names lowercased,
/// values trimmed, in the order sent (what the AWS SDKs and minio-go hash).
pub fn canonical_trailers<'a>(trailers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in trailers {
        out.extend_from_slice(name.to_ascii_lowercase().as_bytes());
        out.push(b':');
        out.extend_from_slice(value.trim().as_bytes());
        out.push(b'\n');
    }
    out
}

/// Client side, `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: appends `<hex-size>\r\n<data>\r\n`
/// (nothing for empty `data`, which would end the body early).
pub fn encode_unsigned_chunk(data: &[u8], out: &mut Vec<u8>) {
    if data.is_empty() {
        return;
    }
    out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Client side, `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: appends `0\r\n`, the trailer lines
/// and the closing `\r\n` (the layout boto3 sends).
pub fn encode_unsigned_final(trailers: &[(&str, &str)], out: &mut Vec<u8>) {
    out.extend_from_slice(b"0\r\n");
    for (name, value) in trailers {
        out.extend_from_slice(
            format!("{}:{}\r\n", name.to_ascii_lowercase(), value.trim()).as_bytes(),
        );
    }
    out.extend_from_slice(b"\r\n");
}

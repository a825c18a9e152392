//! Streaming checksums for request bodies: the five `x-amz-checksum-*` algorithms and the
//! MD5 behind ETags and `Content-MD5`.
//!
//! Hashers are fed as the body streams in, so nothing is buffered here. Values are compared
//! and returned in AWS's form: base64 of the big-endian digest (`x-amz-checksum-crc32:
//! /8xC1Q==`), hex for MD5 ETags.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use crc_fast::{CrcAlgorithm, Digest as CrcDigest};
use md5::Digest as _;

use crate::s3::error::S3Error;

/// The flexible-checksum algorithms S3 defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumAlgo {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

impl ChecksumAlgo {
    /// All algorithms, in AWS's documentation order.
    pub const ALL: [ChecksumAlgo; 5] = [
        ChecksumAlgo::Crc32,
        ChecksumAlgo::Crc32c,
        ChecksumAlgo::Crc64Nvme,
        ChecksumAlgo::Sha1,
        ChecksumAlgo::Sha256,
    ];

    /// The name used in `x-amz-checksum-algorithm` and `<ChecksumAlgorithm>`: `"CRC32"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumAlgo::Crc32 => "CRC32",
            ChecksumAlgo::Crc32c => "CRC32C",
            ChecksumAlgo::Crc64Nvme => "CRC64NVME",
            ChecksumAlgo::Sha1 => "SHA1",
            ChecksumAlgo::Sha256 => "SHA256",
        }
    }

    /// The header (or aws-chunked trailer) carrying the value: `"x-amz-checksum-crc32"`.
    pub fn header_name(self) -> &'static str {
        match self {
            ChecksumAlgo::Crc32 => "x-amz-checksum-crc32",
            ChecksumAlgo::Crc32c => "x-amz-checksum-crc32c",
            ChecksumAlgo::Crc64Nvme => "x-amz-checksum-crc64nvme",
            ChecksumAlgo::Sha1 => "x-amz-checksum-sha1",
            ChecksumAlgo::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// The XML element in multipart documents: `"ChecksumCRC32"`.
    pub fn xml_element(self) -> &'static str {
        match self {
            ChecksumAlgo::Crc32 => "ChecksumCRC32",
            ChecksumAlgo::Crc32c => "ChecksumCRC32C",
            ChecksumAlgo::Crc64Nvme => "ChecksumCRC64NVME",
            ChecksumAlgo::Sha1 => "ChecksumSHA1",
            ChecksumAlgo::Sha256 => "ChecksumSHA256",
        }
    }

    /// Raw digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            ChecksumAlgo::Crc32 | ChecksumAlgo::Crc32c => 4,
            ChecksumAlgo::Crc64Nvme => 8,
            ChecksumAlgo::Sha1 => 20,
            ChecksumAlgo::Sha256 => 32,
        }
    }

    /// Parses an `x-amz-checksum-algorithm` / `x-amz-sdk-checksum-algorithm` value,
    /// case-insensitively. Unknown names are InvalidRequest, with AWS's message.
    pub fn parse(value: &str) -> Result<ChecksumAlgo, S3Error> {
        let v = value.trim();
        ChecksumAlgo::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(v))
            .ok_or_else(|| {
                S3Error::invalid_request(
                    "Checksum algorithm provided is unsupported. Please try again with any of the \
                 valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]",
                )
            })
    }

    /// The algorithm whose header (or trailer) is `name`, case-insensitively.
    pub fn from_header_name(name: &str) -> Option<ChecksumAlgo> {
        ChecksumAlgo::ALL
            .into_iter()
            .find(|a| a.header_name().eq_ignore_ascii_case(name.trim()))
    }

    /// The algorithm whose XML element is `name` (exact, XML is case-sensitive).
    pub fn from_xml_element(name: &str) -> Option<ChecksumAlgo> {
        ChecksumAlgo::ALL
            .into_iter()
            .find(|a| a.xml_element() == name)
    }

    /// A fresh streaming hasher.
    pub fn hasher(self) -> Hasher {
        Hasher::new(self)
    }

    /// Decodes a base64 checksum value as sent by the client. A value that is not base64
    /// of the right length is InvalidRequest, as AWS answers.
    pub fn decode_value(self, value: &str) -> Result<Vec<u8>, S3Error> {
        match B64.decode(value.trim()) {
            Ok(raw) if raw.len() == self.digest_len() => Ok(raw),
            _ => Err(S3Error::invalid_request(format!(
                "Value for {} header is invalid.",
                self.header_name()
            ))),
        }
    }

    /// Checks a client-sent base64 value against the computed raw digest: InvalidRequest
    /// if the value is malformed, BadDigest if it differs.
    pub fn verify(self, expected_b64: &str, computed: &[u8]) -> Result<(), S3Error> {
        if self.decode_value(expected_b64)? == computed {
            Ok(())
        } else {
            Err(S3Error::checksum_mismatch(self.as_str()))
        }
    }
}

#[derive(Debug, Clone)]
enum Inner {
    Crc(CrcDigest),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

/// A streaming checksum: `update` with each body chunk, then `finish`.
#[derive(Debug, Clone)]
pub struct Hasher {
    algo: ChecksumAlgo,
    inner: Inner,
}

impl Hasher {
    pub fn new(algo: ChecksumAlgo) -> Self {
        let inner = match algo {
            ChecksumAlgo::Crc32 => Inner::Crc(CrcDigest::new(CrcAlgorithm::Crc32IsoHdlc)),
            ChecksumAlgo::Crc32c => Inner::Crc(CrcDigest::new(CrcAlgorithm::Crc32Iscsi)),
            ChecksumAlgo::Crc64Nvme => Inner::Crc(CrcDigest::new(CrcAlgorithm::Crc64Nvme)),
            ChecksumAlgo::Sha1 => Inner::Sha1(sha1::Sha1::new()),
            ChecksumAlgo::Sha256 => Inner::Sha256(sha2::Sha256::new()),
        };
        Hasher { algo, inner }
    }

    pub fn algo(&self) -> ChecksumAlgo {
        self.algo
    }

    pub fn update(&mut self, data: &[u8]) {
        match &mut self.inner {
            Inner::Crc(d) => d.update(data),
            Inner::Sha1(h) => h.update(data),
            Inner::Sha256(h) => h.update(data),
        }
    }

    /// The raw digest, big-endian for the CRCs (the byte order AWS base64-encodes).
    pub fn finish(self) -> Vec<u8> {
        match self.inner {
            Inner::Crc(d) => {
                let v = d.finalize().to_be_bytes();
                // CRC32 values live in the low 4 bytes of the u64.
                let skip = v.len().saturating_sub(self.algo.digest_len());
                v.get(skip..).unwrap_or_default().to_vec()
            }
            Inner::Sha1(h) => h.finalize().to_vec(),
            Inner::Sha256(h) => h.finalize().to_vec(),
        }
    }

    /// The digest as AWS puts it in headers and XML: base64.
    pub fn finish_base64(self) -> String {
        B64.encode(self.finish())
    }
}

/// Streaming MD5, for ETags and `Content-MD5` checks.
#[derive(Debug, Clone, Default)]
pub struct Md5 {
    inner: md5::Md5,
}

impl Md5 {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    pub fn finish(self) -> [u8; 16] {
        self.inner.finalize().into()
    }

    /// The ETag of a single-part object: lowercase hex, unquoted.
    pub fn finish_hex(self) -> String {
        hex::encode(self.finish())
    }
}

/// Parses a `Content-MD5` header: base64 of exactly 16 bytes, else InvalidDigest.
pub fn parse_content_md5(header: &str) -> Result<[u8; 16], S3Error> {
    let raw = B64
        .decode(header.trim())
        .map_err(|_| S3Error::invalid_digest())?;
    <[u8; 16]>::try_from(raw.as_slice()).map_err(|_| S3Error::invalid_digest())
}

/// Checks a body's MD5 against its `Content-MD5`: BadDigest on mismatch.
pub fn verify_content_md5(expected: &[u8; 16], computed: &[u8; 16]) -> Result<(), S3Error> {
    if expected == computed {
        Ok(())
    } else {
        Err(S3Error::bad_digest())
    }
}

/// AWS's multipart ETag: hex MD5 of the concatenated binary part MD5s, then `-N`.
pub fn multipart_etag(part_md5s: &[[u8; 16]]) -> String {
    let mut md5 = Md5::new();
    for p in part_md5s {
        md5.update(p);
    }
    format!("{}-{}", md5.finish_hex(), part_md5s.len())
}

/// AWS's composite multipart checksum: the checksum of the concatenated raw part
/// checksums, base64, then `-N`.
pub fn composite_checksum(algo: ChecksumAlgo, part_checksums: &[Vec<u8>]) -> String {
    let mut h = algo.hasher();
    for p in part_checksums {
        h.update(p);
    }
    format!("{}-{}", h.finish_base64(), part_checksums.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::error::S3ErrorCode;

    const CHECK: &[u8] = b"123456789";

    fn vectors() -> [(ChecksumAlgo, &'static str); 5] {
        [
            (ChecksumAlgo::Crc32, "cbf43926"),
            (ChecksumAlgo::Crc32c, "e3069283"),
            (ChecksumAlgo::Crc64Nvme, "ae8b14860a799888"),
            (
                ChecksumAlgo::Sha1,
                "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
            ),
            (
                ChecksumAlgo::Sha256,
                "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225",
            ),
        ]
    }

    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn known_vectors_in_random_splits() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for (algo, want) in vectors() {
            for _ in 0..200 {
                let mut h = algo.hasher();
                let mut rest = CHECK;
                while !rest.is_empty() {
                    let n = (xorshift(&mut state) as usize % (rest.len() + 1)).max(1);
                    let (chunk, tail) = rest.split_at(n);
                    h.update(chunk);
                    h.update(&[]);
                    rest = tail;
                }
                assert_eq!(hex::encode(h.finish()), want, "{algo:?}");
            }
            assert_eq!(algo.digest_len() * 2, want.len());
        }
    }

    #[test]
    fn base64_as_aws_returns_it() {
        let b64 = |algo: ChecksumAlgo, data: &[u8]| {
            let mut h = algo.hasher();
            h.update(data);
            h.finish_base64()
        };
        assert_eq!(b64(ChecksumAlgo::Crc32, CHECK), "y/Q5Jg==");
        assert_eq!(b64(ChecksumAlgo::Crc32c, CHECK), "4waSgw==");
        assert_eq!(b64(ChecksumAlgo::Crc64Nvme, CHECK), "rosUhgp5mIg=");
        assert_eq!(b64(ChecksumAlgo::Crc32, b""), "AAAAAA==");
        assert_eq!(
            b64(ChecksumAlgo::Sha256, b""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn names_and_parsing() {
        for algo in ChecksumAlgo::ALL {
            assert_eq!(
                ChecksumAlgo::parse(&algo.as_str().to_lowercase()).unwrap(),
                algo
            );
            assert_eq!(
                ChecksumAlgo::from_header_name(&algo.header_name().to_uppercase()),
                Some(algo)
            );
            assert_eq!(
                ChecksumAlgo::from_xml_element(algo.xml_element()),
                Some(algo)
            );
        }
        assert_eq!(
            ChecksumAlgo::parse(" crc64nvme ").unwrap(),
            ChecksumAlgo::Crc64Nvme
        );
        assert_eq!(
            ChecksumAlgo::parse("MD5").unwrap_err().code,
            S3ErrorCode::InvalidRequest
        );
        assert_eq!(ChecksumAlgo::from_header_name("x-amz-checksum-md5"), None);
    }

    #[test]
    fn verify_values() {
        let algo = ChecksumAlgo::Crc32;
        let mut h = algo.hasher();
        h.update(CHECK);
        let raw = h.finish();
        assert!(algo.verify("y/Q5Jg==", &raw).is_ok());
        let e = algo.verify("AAAAAA==", &raw).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::BadDigest);
        assert_eq!(
            e.message,
            "The CRC32 you specified did not match the calculated checksum."
        );
        for bad in ["", "!!!", "AAAAAAAA", "y/Q5Jg"] {
            assert_eq!(
                algo.verify(bad, &raw).unwrap_err().code,
                S3ErrorCode::InvalidRequest
            );
        }
    }

    #[test]
    fn md5_etag_and_content_md5() {
        let mut m = Md5::new();
        m.update(b"12345");
        m.update(b"6789");
        assert_eq!(m.clone().finish_hex(), "25f9e794323b453885f5181f1b624d0b");
        let digest = m.finish();
        assert_eq!(
            parse_content_md5(" JfnnlDI7RTiF9RgfG2JNCw== ").unwrap(),
            digest
        );
        assert!(verify_content_md5(&digest, &digest).is_ok());
        assert_eq!(
            verify_content_md5(&[0; 16], &digest).unwrap_err().code,
            S3ErrorCode::BadDigest
        );
        for bad in ["", "not base64!", "AAAA", "JfnnlDI7RTiF9RgfG2JNCwAA"] {
            assert_eq!(
                parse_content_md5(bad).unwrap_err().code,
                S3ErrorCode::InvalidDigest
            );
        }
        let empty = Md5::new().finish();
        assert_eq!(hex::encode(empty), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            multipart_etag(&[digest, digest])
                .rsplit_once('-')
                .map(|(_, n)| n),
            Some("2")
        );
    }

    #[test]
    fn composite() {
        let parts = vec![vec![0xcb, 0xf4, 0x39, 0x26]];
        let mut h = ChecksumAlgo::Crc32.hasher();
        h.update(&parts[0]);
        assert_eq!(
            composite_checksum(ChecksumAlgo::Crc32, &parts),
            format!("{}-1", h.finish_base64())
        );
    }
}

//! Helpers shared by the test modules.

/// Owned header list in the shape the server hands over.
pub(super) fn hdrs(pairs: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect()
}

/// The AWS documentation example credentials.
pub(super) const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
pub(super) const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// Signing parameters of the SigV4 examples.
pub(super) const CREDS: super::V4Credentials<'static> = super::V4Credentials {
    access_key: AKID,
    secret_key: SECRET,
    region: "us-east-1",
    service: "s3",
};
/// 2013-05-24T00:00:00Z, the time of the SigV4 examples.
pub(super) const T2013: i64 = 1_369_353_600;

/// Deterministic xorshift64* generator for the randomised tests.
pub(super) struct XorShift(pub u64);

impl XorShift {
    pub(super) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `0..n` (n > 0).
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Feeds `body` to the decoder in pieces of random length (1..=max), returning the
/// payload bytes and whether `done` was reported, or the first error.
pub(super) fn feed_random(
    dec: &mut super::AwsChunkedDecoder,
    body: &[u8],
    rng: &mut XorShift,
    max: usize,
) -> Result<(Vec<u8>, bool), super::AuthError> {
    let mut out = Vec::new();
    let mut done = false;
    let mut off = 0;
    while off < body.len() {
        let end = (off + 1 + rng.below(max)).min(body.len());
        let piece = &body[off..end];
        let mut p = 0;
        while p < piece.len() {
            let d = dec.decode(&piece[p..])?;
            assert!(d.consumed > 0, "no progress");
            if let Some(r) = d.data {
                out.extend_from_slice(&piece[p..][r]);
            }
            done |= d.done;
            p += d.consumed;
        }
        off = end;
    }
    Ok((out, done))
}

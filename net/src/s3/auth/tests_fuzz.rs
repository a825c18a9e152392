//! Seeded pseudo-random robustness tests: parsers and the chunk decoder must return
//! errors, never panic, on arbitrary and mutated input.

use super::test_util::{hdrs, XorShift, SECRET};
use super::*;

/// Fragments that steer random inputs into the interesting parser branches.
const TOKENS: &[&str] = &[
    "AWS4-HMAC-SHA256 ",
    "AWS ",
    "Credential=",
    "SignedHeaders=",
    "Signature=",
    "/",
    ",",
    " ",
    ";",
    "=",
    ":",
    "\r\n",
    "\n",
    "host",
    "x-amz-date",
    "aws4_request",
    "20130524",
    "20130524T000000Z",
    "us-east-1",
    "s3",
    "AKID",
    "0;chunk-signature=",
    "chunk-signature=",
    "x-amz-trailer-signature:",
    "x-amz-checksum-crc32:",
    "ffffffff",
    "10000",
    "%",
    "%2F",
    "+",
    "&",
    "?",
    "X-Amz-Algorithm=",
    "X-Amz-Expires=",
    "X-Amz-Credential=",
    "X-Amz-Signature=",
    "AWSAccessKeyId=",
    "Expires=",
    "UNSIGNED-PAYLOAD",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "\u{e9}",
    "\0",
    "\u{7f}",
];

fn random_input(rng: &mut XorShift) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.below(40) {
        if rng.below(3) == 0 {
            for _ in 0..rng.below(8) {
                out.push(rng.next() as u8);
            }
        } else {
            out.extend_from_slice(TOKENS[rng.below(TOKENS.len())].as_bytes());
        }
        if rng.below(64) == 0 {
            out.extend_from_slice(&"0123456789abcdef".repeat(4).into_bytes());
        }
    }
    out
}

#[test]
fn fuzz_auth_never_panics() {
    let mut rng = XorShift(0x1234_5678_9abc_def1);
    for _ in 0..4000 {
        fuzz_auth(&random_input(&mut rng));
    }
    fuzz_auth(b"");
    fuzz_auth(&[0xff; 300]);
}

#[test]
fn random_authorization_headers_never_panic() {
    let mut rng = XorShift(42);
    for i in 0..4000 {
        let authz = random_input(&mut rng);
        let query = String::from_utf8_lossy(&random_input(&mut rng)).into_owned();
        let mut h = hdrs(&[("host", "h"), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD")]);
        h.push(("authorization".into(), authz));
        if i % 2 == 0 {
            h.push(("x-amz-date".into(), random_input(&mut rng)));
        } else {
            h.push(("date".into(), b"Tue, 27 Mar 2007 19:36:42 +0000".to_vec()));
        }
        let path = if i % 3 == 0 { "" } else { "/b/k%zz%2" };
        let req = SignedRequest::new("GET", path, &query, &h[..]).with_bucket_from_host(Some("b"));
        if let Ok(p) = parse_auth(&req) {
            let _ = verify(&req, &p, SECRET, rng.next() as i64);
        }
        // The query alone (presigned paths).
        let req = SignedRequest::new("GET", path, &query, &h[..1]);
        if let Ok(p) = parse_auth(&req) {
            let _ = verify(&req, &p, SECRET, rng.next() as i64);
        }
    }
}

fn valid_signed_body(rng: &mut XorShift) -> Vec<u8> {
    let key = SigningKey::derive(SECRET, "20130524", "us-east-1", "s3");
    let mut s = ChunkSigner::new(
        key,
        "20130524T000000Z",
        "20130524/us-east-1/s3/aws4_request",
        [7; 32],
    );
    let mut body = Vec::new();
    for _ in 0..rng.below(4) {
        let data: Vec<u8> = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
        s.encode_chunk(&data, &mut body);
    }
    s.encode_final(Some(&[("x-amz-checksum-crc32", "AAAAAA==")]), &mut body);
    body
}

#[test]
fn mutated_chunked_bodies_never_panic() {
    let mut rng = XorShift(0xfeed);
    let key = SigningKey::derive(SECRET, "20130524", "us-east-1", "s3");
    let signer = ChunkSigner::new(
        key,
        "20130524T000000Z",
        "20130524/us-east-1/s3/aws4_request",
        [7; 32],
    );
    let mut accepted_intact = 0;
    for i in 0..3000 {
        let mut body = valid_signed_body(&mut rng);
        let mutate = i % 4 != 0;
        if mutate {
            for _ in 0..1 + rng.below(4) {
                match rng.below(4) {
                    0 if !body.is_empty() => {
                        let p = rng.below(body.len());
                        body[p] = rng.next() as u8;
                    }
                    1 if !body.is_empty() => {
                        body.truncate(rng.below(body.len()));
                    }
                    2 => {
                        let p = rng.below(body.len() + 1);
                        body.insert(p, TOKENS[rng.below(TOKENS.len())].as_bytes()[0]);
                    }
                    _ => body.extend_from_slice(&random_input(&mut rng)),
                }
            }
        }
        for mode in [
            PayloadMode::StreamingSignedTrailer,
            PayloadMode::StreamingSigned,
            PayloadMode::StreamingUnsignedTrailer,
        ] {
            let mut dec = AwsChunkedDecoder::new(mode, Some(signer.clone())).unwrap();
            let mut off = 0;
            let mut failed = false;
            let mut why = None;
            while off < body.len() {
                let end = (off + 1 + rng.below(64)).min(body.len());
                match dec.decode(&body[off..end]) {
                    Ok(d) => {
                        assert!(d.consumed > 0 && d.consumed <= end - off);
                        if let Some(r) = d.data {
                            assert!(r.end <= end - off && r.start <= r.end);
                        }
                        off += d.consumed;
                    }
                    Err(e) => {
                        why = Some(e);
                        failed = true;
                        break;
                    }
                }
            }
            let finished = !failed && dec.finish().is_ok();
            if !mutate && mode == PayloadMode::StreamingSignedTrailer {
                assert!(
                    finished,
                    "an intact body must decode: {why:?} {:?} {:?}",
                    dec,
                    String::from_utf8_lossy(&body)
                );
                accepted_intact += 1;
            }
        }
    }
    assert!(accepted_intact > 500);
}

//! aws-chunked decoder tests: the S3 API reference streaming examples (plain and with
//! trailer), fed in random splits, plus the wire layouts of real clients and the
//! malformed/tampered cases.

use super::test_util::{feed_random, XorShift, SECRET};
use super::*;

const SCOPE: &str = "20130524/us-east-1/s3/aws4_request";
const DATE: &str = "20130524T000000Z";

fn signer(seed: &str) -> ChunkSigner {
    let key = SigningKey::derive(SECRET, "20130524", "us-east-1", "s3");
    ChunkSigner::from_seed_hex(key, DATE, SCOPE, seed).unwrap()
}

const SEED: &str = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
const SIGS: [&str; 3] = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
];

/// The body of the "PUT Object with chunked upload" example: 64 KiB + 1 KiB of 'a'.
fn example_body() -> Vec<u8> {
    let mut b = format!("10000;chunk-signature={}\r\n", SIGS[0]).into_bytes();
    b.extend(std::iter::repeat_n(b'a', 65536));
    b.extend(format!("\r\n400;chunk-signature={}\r\n", SIGS[1]).bytes());
    b.extend(std::iter::repeat_n(b'a', 1024));
    b.extend(format!("\r\n0;chunk-signature={}\r\n\r\n", SIGS[2]).bytes());
    b
}

fn signed_decoder(seed: &str) -> AwsChunkedDecoder {
    AwsChunkedDecoder::new(PayloadMode::StreamingSigned, Some(signer(seed))).unwrap()
}

#[test]
fn aws_example_chunk_signatures() {
    let mut s = signer(SEED);
    let data = vec![b'a'; 65536];
    let mut out = Vec::new();
    s.encode_chunk(&data, &mut out);
    s.encode_chunk(&data[..1024], &mut out);
    s.encode_final(None, &mut out);
    assert_eq!(out, example_body());
    assert_eq!(out.len(), 66824); // the example's Content-Length
}

#[test]
fn aws_example_decoded_in_random_splits() {
    let body = example_body();
    let mut rng = XorShift(0x5eed_1234_abcd_0001);
    for round in 0..40 {
        let max = [1, 2, 7, 100, 5000, 70000][round % 6];
        let mut dec = signed_decoder(SEED).with_decoded_length(66560);
        let (data, done) = feed_random(&mut dec, &body, &mut rng, max).unwrap();
        assert!(done && dec.is_done(), "round {round}");
        assert_eq!(data.len(), 66560);
        assert!(data.iter().all(|&b| b == b'a'));
        dec.finish().unwrap();
        assert_eq!(dec.decoded_len(), 66560);
    }
}

#[test]
fn tampered_chunks_are_rejected() {
    let body = example_body();
    let mut rng = XorShift(7);
    // One flipped payload byte in each chunk, a flipped signature digit, a wrong seed.
    for pos in [100, 65536 + 88 + 2 + 86 + 10] {
        let mut t = body.clone();
        t[pos] = b'b';
        let err = feed_random(&mut signed_decoder(SEED), &t, &mut rng, 3000).unwrap_err();
        assert_eq!(err, AuthError::SignatureDoesNotMatch);
    }
    let mut t = body.clone();
    t[30] = if t[30] == b'0' { b'1' } else { b'0' };
    assert_eq!(
        feed_random(&mut signed_decoder(SEED), &t, &mut rng, 50).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
    let other_seed = SIGS[0];
    assert_eq!(
        feed_random(&mut signed_decoder(other_seed), &body, &mut rng, 9).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
    // Dropping the middle chunk breaks the chain even though each chunk is well-formed.
    let first_end = 88 + 65536 + 2;
    let second_end = first_end + 86 + 1024 + 2;
    let mut t = body[..first_end].to_vec();
    t.extend_from_slice(&body[second_end..]);
    assert_eq!(
        feed_random(&mut signed_decoder(SEED), &t, &mut rng, 9).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
    // Wrong decoded length.
    let err = feed_random(
        &mut signed_decoder(SEED).with_decoded_length(66559),
        &body,
        &mut rng,
        9,
    )
    .unwrap_err();
    assert_eq!(err, AuthError::IncompleteBody);
}

const TRAILER_SEED: &str = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";

/// The "signed payload with trailer" example of the S3 API reference.
fn trailer_example_body() -> Vec<u8> {
    let mut b = b"10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n".to_vec();
    b.extend(std::iter::repeat_n(b'a', 65536));
    b.extend_from_slice(b"\r\n400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n");
    b.extend(std::iter::repeat_n(b'a', 1024));
    b.extend_from_slice(b"\r\n0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n");
    b.extend_from_slice(b"x-amz-checksum-crc32c:sOO8/Q==\r\n");
    b.extend_from_slice(format!("x-amz-trailer-signature:{TRAILER_SIG}\r\n\r\n").as_bytes());
    b
}

/// The trailer signature as the SDKs compute it (aws-sdk-java-v2, minio-go, MinIO all
/// use the `AWS4-HMAC-SHA256-TRAILER` algorithm line). The reference page prints
/// `63bddb24…`, which is what the `AWS4-HMAC-SHA256-PAYLOAD` line gives instead: a
/// documentation slip, pinned by `documented_trailer_signature_uses_payload_label`.
const TRAILER_SIG: &str = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435";

#[test]
fn documented_trailer_signature_uses_payload_label() {
    let key = SigningKey::derive(SECRET, "20130524", "us-east-1", "s3");
    let trailer_hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        b"x-amz-checksum-crc32c:sOO8/Q==\n",
    ));
    let sts = |label: &str| {
        format!("{label}\n{DATE}\n{SCOPE}\n2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\n{trailer_hash}")
    };
    assert_eq!(
        hex::encode(key.sign(sts("AWS4-HMAC-SHA256-PAYLOAD").as_bytes())),
        "63bddb248ad2590c92712055f51b8e78ab024eead08276b24f010b0efd74843f"
    );
    assert_eq!(
        hex::encode(key.sign(sts("AWS4-HMAC-SHA256-TRAILER").as_bytes())),
        TRAILER_SIG
    );
}

#[test]
fn aws_example_signed_trailer() {
    let mut s = signer(TRAILER_SEED);
    let data = vec![b'a'; 65536];
    let mut out = Vec::new();
    s.encode_chunk(&data, &mut out);
    s.encode_chunk(&data[..1024], &mut out);
    s.encode_final(Some(&[("x-amz-checksum-crc32c", "sOO8/Q==")]), &mut out);
    assert_eq!(
        String::from_utf8_lossy(&out[66000..]),
        String::from_utf8_lossy(&trailer_example_body()[66000..])
    );

    let mut rng = XorShift(99);
    for max in [1, 3, 64, 1 << 20] {
        let mut dec = AwsChunkedDecoder::new(
            PayloadMode::StreamingSignedTrailer,
            Some(signer(TRAILER_SEED)),
        )
        .unwrap();
        let (data, done) = feed_random(&mut dec, &trailer_example_body(), &mut rng, max).unwrap();
        assert!(done);
        assert_eq!(data.len(), 66560);
        assert_eq!(dec.trailer("x-amz-checksum-crc32c"), Some("sOO8/Q=="));
        assert_eq!(dec.trailers().len(), 1);
    }
    // A changed trailer value fails the trailer signature.
    let t = trailer_example_body();
    let t = String::from_utf8(t)
        .unwrap()
        .replace("sOO8/Q==", "sOO8/Q=A")
        .into_bytes();
    let mut dec = AwsChunkedDecoder::new(
        PayloadMode::StreamingSignedTrailer,
        Some(signer(TRAILER_SEED)),
    )
    .unwrap();
    assert_eq!(
        feed_random(&mut dec, &t, &mut rng, 1000).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
}

#[test]
fn signed_trailer_layout_variants() {
    let body = trailer_example_body();
    let base = String::from_utf8(body).unwrap();
    let final_line =
        "0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n";
    let variants = [
        // Blank line between the final chunk and the trailers (empty chunk's CRLF).
        base.replace(final_line, &format!("{final_line}\r\n")),
        // Bare LF line ends in the trailer section, no closing blank line.
        base.replace("sOO8/Q==\r\n", "sOO8/Q==\n")
            .trim_end_matches("\r\n")
            .to_string()
            + "\n",
        // Body ends right after the trailer signature value (no newline at all).
        base.trim_end().to_string(),
        // Extra CRLFs after the end.
        base.clone() + "\r\n\r\n",
    ];
    let mut rng = XorShift(3);
    for (i, v) in variants.iter().enumerate() {
        let mut dec = AwsChunkedDecoder::new(
            PayloadMode::StreamingSignedTrailer,
            Some(signer(TRAILER_SEED)),
        )
        .unwrap();
        let (data, _) = feed_random(&mut dec, v.as_bytes(), &mut rng, 777)
            .unwrap_or_else(|e| panic!("{i}: {e}"));
        dec.finish().unwrap_or_else(|e| panic!("{i}: {e}"));
        assert_eq!(data.len(), 66560, "{i}");
        assert_eq!(
            dec.trailer("x-amz-checksum-crc32c"),
            Some("sOO8/Q=="),
            "{i}"
        );
    }
    // Trailers without a signature in signed mode are refused.
    let unsigned = base.replace(&format!("x-amz-trailer-signature:{TRAILER_SIG}\r\n"), "");
    let mut dec = AwsChunkedDecoder::new(
        PayloadMode::StreamingSignedTrailer,
        Some(signer(TRAILER_SEED)),
    )
    .unwrap();
    assert_eq!(
        feed_random(&mut dec, unsigned.as_bytes(), &mut rng, 777).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
}

/// The boto3/aws-cli layout over HTTPS, as captured (after HTTP chunked is undone).
#[test]
fn unsigned_trailer_as_boto3_sends_it() {
    let payload: Vec<u8> = (0..1400u32).map(|i| (i % 251) as u8).collect();
    let mut body = b"578\r\n".to_vec();
    body.extend_from_slice(&payload);
    body.extend_from_slice(b"\r\n0\r\nx-amz-checksum-crc32:/8xC1Q==\r\n\r\n");
    let mut rng = XorShift(11);
    for max in [1, 5, 2000] {
        let mut dec = AwsChunkedDecoder::new(PayloadMode::StreamingUnsignedTrailer, None)
            .unwrap()
            .with_decoded_length(1400)
            .with_trailer_expected(true);
        let (data, done) = feed_random(&mut dec, &body, &mut rng, max).unwrap();
        assert!(done);
        assert_eq!(data, payload);
        assert_eq!(dec.trailer("x-amz-checksum-crc32"), Some("/8xC1Q=="));
    }
    // The helper encoders produce the same bytes.
    let mut out = Vec::new();
    encode_unsigned_chunk(&payload, &mut out);
    encode_unsigned_final(&[("x-amz-checksum-crc32", "/8xC1Q==")], &mut out);
    assert_eq!(out, body);
    // No trailers at all, and chunk extensions on an unsigned chunk, are fine.
    let mut dec = AwsChunkedDecoder::new(PayloadMode::StreamingUnsignedTrailer, None).unwrap();
    let (data, done) =
        feed_random(&mut dec, b"3;foo=bar\r\nabc\r\n0\r\n\r\n", &mut rng, 4).unwrap();
    assert!(done && data == b"abc" && dec.trailers().is_empty());
}

#[test]
fn truncated_and_malformed_bodies() {
    let body = example_body();
    // Every strict prefix is incomplete; the one missing only the final CRLF is accepted.
    for cut in [0, 1, 50, 88, 1000, 65626, body.len() - 3] {
        let mut dec = signed_decoder(SEED);
        let _ = feed_random(&mut dec, &body[..cut], &mut XorShift(5), 999).unwrap();
        assert_eq!(
            dec.finish().unwrap_err(),
            AuthError::IncompleteBody,
            "cut {cut}"
        );
    }
    let mut dec = signed_decoder(SEED);
    feed_random(&mut dec, &body[..body.len() - 2], &mut XorShift(5), 999).unwrap();
    dec.finish().unwrap();

    let unsigned = |b: &[u8]| {
        let mut dec = AwsChunkedDecoder::new(PayloadMode::StreamingUnsignedTrailer, None).unwrap();
        feed_random(&mut dec, b, &mut XorShift(1), 3).and_then(|_| dec.finish())
    };
    for bad in [
        &b"zz\r\n"[..],
        b"+5\r\nabcde\r\n",
        b"\r\n",
        b"11111111111111111\r\n",
        b"ffffffffffffffff\r\n",
        b"3\r\nabcX\r\n",
        b"0\r\nno-colon-here\r\n\r\n",
        b"0\r\nx-amz-trailer-signature:00\r\n\r\n",
        b"0\r\n\r\nextra",
    ] {
        assert!(
            matches!(unsigned(bad), Err(AuthError::MalformedChunk(_))),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    let long_line = vec![b'1'; MAX_LINE + 1];
    assert!(matches!(
        unsigned(&long_line),
        Err(AuthError::MalformedChunk(_))
    ));
    let many: String = (0..=MAX_TRAILERS)
        .map(|i| format!("x-t{i}:v\r\n"))
        .collect();
    assert!(matches!(
        unsigned(format!("0\r\n{many}\r\n").as_bytes()),
        Err(AuthError::MalformedChunk(_))
    ));
    // Signed mode needs a signature on every chunk, and a signer.
    let mut dec = signed_decoder(SEED);
    assert!(matches!(
        dec.decode(b"3\r\nabc\r\n"),
        Err(AuthError::MalformedChunk(_))
    ));
    assert!(AwsChunkedDecoder::new(PayloadMode::StreamingSigned, None).is_err());
    assert!(AwsChunkedDecoder::new(PayloadMode::Unsigned, None).is_err());
}

#[test]
fn decoded_content_length_header() {
    assert_eq!(parse_decoded_content_length(Some(b"66560")), Ok(66560));
    assert_eq!(parse_decoded_content_length(Some(b" 0 ")), Ok(0));
    assert_eq!(
        parse_decoded_content_length(None),
        Err(AuthError::MissingContentLength)
    );
    for bad in [&b""[..], b"-1", b"1e3", b"99999999999999999999", b"+1"] {
        assert_eq!(
            parse_decoded_content_length(Some(bad)).unwrap_err().code(),
            "InvalidArgument"
        );
    }
}

#[test]
fn random_round_trips() {
    let mut rng = XorShift(0xdead_beef);
    for round in 0..60 {
        let len = rng.below(5000);
        let payload: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let chunk = 1 + rng.below(1500);
        let trailer = [
            ("x-amz-checksum-sha256", "abc="),
            ("x-amz-checksum-crc32", "def="),
        ];
        let mode = [
            PayloadMode::StreamingSigned,
            PayloadMode::StreamingSignedTrailer,
            PayloadMode::StreamingUnsignedTrailer,
        ][round % 3];
        let mut s = signer(SEED);
        let mut body = Vec::new();
        for piece in payload.chunks(chunk) {
            match mode {
                PayloadMode::StreamingUnsignedTrailer => encode_unsigned_chunk(piece, &mut body),
                _ => s.encode_chunk(piece, &mut body),
            }
        }
        match mode {
            PayloadMode::StreamingSigned => s.encode_final(None, &mut body),
            PayloadMode::StreamingSignedTrailer => s.encode_final(Some(&trailer), &mut body),
            _ => encode_unsigned_final(&trailer, &mut body),
        }
        let mut dec = AwsChunkedDecoder::new(mode, Some(signer(SEED)))
            .unwrap()
            .with_decoded_length(len as u64);
        let max = 1 + rng.below(3000);
        let (data, done) = feed_random(&mut dec, &body, &mut rng, max).unwrap();
        assert!(done, "round {round}");
        assert_eq!(data, payload);
        if mode.has_trailer() {
            assert_eq!(dec.trailers().len(), 2);
            assert_eq!(dec.trailer("x-amz-checksum-crc32"), Some("def="));
        }
    }
}

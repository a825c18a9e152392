//! SigV4 header and presigned tests, against the examples of the S3 API reference
//! ("Signature Calculations for the Authorization Header" and "Query Parameters").

use super::test_util::{hdrs, AKID, CREDS, SECRET, T2013};
use super::*;

const EMPTY: &str = EMPTY_SHA256_HEX;

fn auth(signed: &str, sig: &str) -> String {
    format!("AWS4-HMAC-SHA256 Credential={AKID}/20130524/us-east-1/s3/aws4_request,SignedHeaders={signed},Signature={sig}")
}

/// Signs `headers` with the helper, checks the signature, then parses and verifies the
/// request carrying the documented Authorization value.
fn check_vector(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    signed: &str,
    sig: &str,
) -> VerifiedV4 {
    let (path, query) = split_target(target);
    let h = hdrs(headers);
    let req = SignedRequest::new(method, path, query, &h[..]);
    let names: Vec<&str> = signed.split(';').collect();
    let produced = sign_v4_header(&req, &CREDS, "20130524T000000Z", &names).unwrap();
    assert!(
        produced.ends_with(&format!("Signature={sig}")),
        "{produced}"
    );

    let mut with_auth = h.clone();
    with_auth.push(("authorization".into(), auth(signed, sig).into_bytes()));
    let req = SignedRequest::new(method, path, query, &with_auth[..]);
    let parsed = parse_auth(&req).unwrap();
    assert_eq!(parsed.access_key(), Some(AKID));
    match verify(&req, &parsed, SECRET, T2013 + 60).unwrap() {
        Verified::V4(v) => v,
        other => panic!("{other:?}"),
    }
}

const GET_OBJECT: &[(&str, &str)] = &[
    ("Host", "examplebucket.s3.amazonaws.com"),
    ("Range", "bytes=0-9"),
    ("x-amz-content-sha256", EMPTY),
    ("x-amz-date", "20130524T000000Z"),
];
const GET_OBJECT_SIG: &str = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
const GET_OBJECT_SIGNED: &str = "host;range;x-amz-content-sha256;x-amz-date";

#[test]
fn aws_example_get_object() {
    let v = check_vector(
        "GET",
        "/test.txt",
        GET_OBJECT,
        GET_OBJECT_SIGNED,
        GET_OBJECT_SIG,
    );
    assert_eq!(v.payload_mode, PayloadMode::Sha256(decode_hex(EMPTY)));
    assert_eq!(v.scope(), "20130524/us-east-1/s3/aws4_request");
    assert_eq!(v.signature_hex(), GET_OBJECT_SIG);
    assert_eq!(v.timestamp, T2013);
    assert!(!v.presigned);
}

fn decode_hex(s: &str) -> [u8; 32] {
    let mut out = [0; 32];
    hex::decode_to_slice(s, &mut out).unwrap();
    out
}

#[test]
fn aws_example_put_object() {
    let v = check_vector(
        "PUT",
        "/test%24file.text",
        &[
            ("Host", "examplebucket.s3.amazonaws.com"),
            ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            (
                "x-amz-content-sha256",
                "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
            ),
        ],
        "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
        "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
    );
    let body_hash: [u8; 32] = sha2::Sha256::digest(b"Welcome to Amazon S3.").into();
    v.payload_mode.check_body_hash(&body_hash).unwrap();
    assert_eq!(
        v.payload_mode.check_body_hash(&[0; 32]),
        Err(AuthError::XAmzContentSha256Mismatch)
    );
}
use sha2::Digest;

#[test]
fn aws_example_get_bucket_lifecycle() {
    check_vector(
        "GET",
        "/?lifecycle",
        &[
            ("Host", "examplebucket.s3.amazonaws.com"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-content-sha256", EMPTY),
        ],
        "host;x-amz-content-sha256;x-amz-date",
        "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
    );
}

#[test]
fn aws_example_list_objects() {
    check_vector(
        "GET",
        "/?max-keys=2&prefix=J",
        &[
            ("Host", "examplebucket.s3.amazonaws.com"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-content-sha256", EMPTY),
        ],
        "host;x-amz-content-sha256;x-amz-date",
        "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
    );
}

#[test]
fn aws_example_streaming_seed_signature() {
    let v = check_vector(
        "PUT",
        "/examplebucket/chunkObject.txt",
        &[
            ("Host", "s3.amazonaws.com"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
            ("Content-Encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "66560"),
            ("Content-Length", "66824"),
        ],
        "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
        "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
    );
    assert_eq!(v.payload_mode, PayloadMode::StreamingSigned);
    assert!(v.payload_mode.is_streaming() && v.payload_mode.has_chunk_signatures());
}

fn get_object_request(extra: &[(&str, &str)], authz: &str) -> Vec<(String, Vec<u8>)> {
    let mut h = hdrs(GET_OBJECT);
    h.extend(hdrs(extra));
    h.push(("authorization".into(), authz.as_bytes().to_vec()));
    h
}

fn verify_get(h: &[(String, Vec<u8>)], path: &str, now: i64) -> Result<Verified, AuthError> {
    let req = SignedRequest::new("GET", path, "", h);
    let parsed = parse_auth(&req)?;
    verify(&req, &parsed, SECRET, now)
}

#[test]
fn header_variants_clients_send() {
    let base = format!(
        "Credential={AKID}/20130524/us-east-1/s3/aws4_request{{0}}SignedHeaders={GET_OBJECT_SIGNED}{{0}}Signature={GET_OBJECT_SIG}"
    );
    for sep in [",", ", ", " ", " ,  "] {
        let a = format!("AWS4-HMAC-SHA256  {}", base.replace("{0}", sep));
        verify_get(&get_object_request(&[], &a), "/test.txt", T2013)
            .unwrap_or_else(|e| panic!("{sep:?}: {e}"));
    }
    // Components in another order, uppercase signature hex, extra header value spaces.
    let a = format!(
        "AWS4-HMAC-SHA256 Signature={}, SignedHeaders={GET_OBJECT_SIGNED}, Credential={AKID}/20130524/us-east-1/s3/aws4_request",
        GET_OBJECT_SIG.to_uppercase()
    );
    let mut h = get_object_request(&[], &a);
    h[1].1 = b"  bytes=0-9 ".to_vec();
    verify_get(&h, "/test.txt", T2013).unwrap();
}

#[test]
fn negative_header_auth() {
    let good = auth(GET_OBJECT_SIGNED, GET_OBJECT_SIG);
    let h = get_object_request(&[], &good);
    // Wrong secret.
    let req = SignedRequest::new("GET", "/test.txt", "", &h[..]);
    let p = parse_auth(&req).unwrap();
    assert_eq!(
        verify(&req, &p, "not-the-secret", T2013).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
    // Tampered signed header, path, method, query.
    let mut t = h.clone();
    t[1].1 = b"bytes=0-99".to_vec();
    assert_eq!(
        verify_get(&t, "/test.txt", T2013).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
    assert_eq!(
        verify_get(&h, "/test2.txt", T2013).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
    let req = SignedRequest::new("GET", "/test.txt", "acl", &h[..]);
    assert_eq!(
        verify(&req, &p, SECRET, T2013).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
    let req = SignedRequest::new("HEAD", "/test.txt", "", &h[..]);
    assert_eq!(
        verify(&req, &p, SECRET, T2013).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
    // Skew: 15 minutes is fine, 16 is not, in both directions.
    verify_get(&h, "/test.txt", T2013 + 900).unwrap();
    assert_eq!(
        verify_get(&h, "/test.txt", T2013 + 961).unwrap_err(),
        AuthError::RequestTimeTooSkewed
    );
    assert_eq!(
        verify_get(&h, "/test.txt", T2013 - 961).unwrap_err(),
        AuthError::RequestTimeTooSkewed
    );
    assert_eq!(AuthError::RequestTimeTooSkewed.status(), 403);
}

#[test]
fn malformed_authorization_headers() {
    let cred = format!("Credential={AKID}/20130524/us-east-1/s3/aws4_request");
    let sh = format!("SignedHeaders={GET_OBJECT_SIGNED}");
    let sig = format!("Signature={GET_OBJECT_SIG}");
    let cases = [
        format!("AWS4-HMAC-SHA256{cred},{sh},{sig}"),
        format!("AWS4-HMAC-SHA256 {sh},{sig}"),
        format!("AWS4-HMAC-SHA256 {cred},{sig}"),
        format!("AWS4-HMAC-SHA256 {cred},{sh}"),
        format!("AWS4-HMAC-SHA256 {cred},{sh},{sig},{sig}"),
        format!("AWS4-HMAC-SHA256 {cred},{sh},Signature=abc"),
        format!("AWS4-HMAC-SHA256 {cred},SignedHeaders=range;x-amz-date,{sig}"),
        format!("AWS4-HMAC-SHA256 {cred},SignedHeaders=host;;range,{sig}"),
        format!("AWS4-HMAC-SHA256 Credential={AKID}/20130524/us-east-1/s3,{sh},{sig}"),
        format!("AWS4-HMAC-SHA256 Credential={AKID}/20130524/us-east-1/s3/aws5_request,{sh},{sig}"),
        format!("AWS4-HMAC-SHA256 Credential={AKID}/2013052x/us-east-1/s3/aws4_request,{sh},{sig}"),
        format!("AWS4-HMAC-SHA256 Credential=/20130524/us-east-1/s3/aws4_request,{sh},{sig}"),
        format!("AWS4-HMAC-SHA256 Credential={AKID}/20130525/us-east-1/s3/aws4_request,{sh},{sig}"),
        format!("AWS4-HMAC-SHA256 {cred} {sh} {sig} junk"),
    ];
    for a in &cases {
        let err = verify_get(&get_object_request(&[], a), "/test.txt", T2013).unwrap_err();
        assert!(
            matches!(err, AuthError::AuthorizationHeaderMalformed(_)),
            "{a}: {err:?}"
        );
        assert_eq!(err.status(), 400);
        assert_eq!(err.code(), "AuthorizationHeaderMalformed");
    }
    for (a, code) in [
        ("Bearer xyz", "InvalidArgument"),
        ("AWS4-ECDSA-P256-SHA256 Credential=x", "NotImplemented"),
        ("", "InvalidArgument"),
    ] {
        let err = verify_get(&get_object_request(&[], a), "/test.txt", T2013).unwrap_err();
        assert_eq!(err.code(), code, "{a}");
    }
    // Bad x-amz-content-sha256, missing date.
    let good = auth(GET_OBJECT_SIGNED, GET_OBJECT_SIG);
    let mut h = get_object_request(&[], &good);
    h[2].1 = b"not-a-hash".to_vec();
    assert_eq!(
        verify_get(&h, "/t", T2013).unwrap_err().code(),
        "InvalidArgument"
    );
    let mut h = get_object_request(&[], &good);
    h.remove(3);
    assert_eq!(
        verify_get(&h, "/t", T2013).unwrap_err(),
        AuthError::MissingDate
    );
    // Header and query auth together.
    let h = get_object_request(&[], &good);
    let req = SignedRequest::new(
        "GET",
        "/test.txt",
        "X-Amz-Algorithm=AWS4-HMAC-SHA256",
        &h[..],
    );
    assert_eq!(parse_auth(&req).unwrap_err().code(), "InvalidArgument");
}

#[test]
fn anonymous_and_date_header_fallback() {
    let h = hdrs(&[("host", "h")]);
    let req = SignedRequest::new("GET", "/b/k", "list-type=2", &h[..]);
    assert_eq!(parse_auth(&req).unwrap(), ParsedAuth::Anonymous);
    assert!(matches!(
        verify(&req, &ParsedAuth::Anonymous, "", 0).unwrap(),
        Verified::Anonymous
    ));
    // Only a Date header: the timestamp is converted to the ISO form for the string to sign,
    // and a missing x-amz-content-sha256 means the empty body (curl --aws-sigv4).
    let h = hdrs(&[("host", "h"), ("date", "Fri, 24 May 2013 00:00:00 GMT")]);
    let req = SignedRequest::new("GET", "/b/k", "", &h[..]);
    let authz = sign_v4_header(&req, &CREDS, "20130524T000000Z", &["host", "date"]).unwrap();
    let mut h2 = h.clone();
    h2.push(("authorization".into(), authz.into_bytes()));
    let req = SignedRequest::new("GET", "/b/k", "", &h2[..]);
    let p = parse_auth(&req).unwrap();
    let Verified::V4(v) = verify(&req, &p, SECRET, T2013).unwrap() else {
        panic!()
    };
    assert_eq!(v.amz_date, "20130524T000000Z");
    assert_eq!(v.payload_mode, PayloadMode::Sha256(decode_hex(EMPTY)));
}

#[test]
fn canonical_query_and_path_rules() {
    use super::canonical::{canonical_query, normalized_path};
    assert_eq!(canonical_query("b=2&a=1&a=0&c", None), "a=0&a=1&b=2&c=");
    assert_eq!(
        canonical_query("prefix=a+b%2fc~%7E&&x=%zz", None),
        "prefix=a%20b%2Fc~~&x=%25zz"
    );
    assert_eq!(
        canonical_query("X-Amz-Signature=1&k=%C3%A9", Some("X-Amz-Signature")),
        "k=%C3%A9"
    );
    assert_eq!(canonical_query("", None), "");
    assert_eq!(
        normalized_path("/a(b)/c%2fd"),
        Some("/a%28b%29/c%2Fd".into())
    );
    assert_eq!(normalized_path("/plain/key.txt"), None);
    // A client that signs the AWS-escaped path but sends '(' raw is still accepted.
    let h = hdrs(&[
        ("host", "h"),
        ("x-amz-date", "20130524T000000Z"),
        ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
    ]);
    let signed_req = SignedRequest::new("GET", "/b/a%28b%29", "", &h[..]);
    let authz = sign_v4_header(
        &signed_req,
        &CREDS,
        "20130524T000000Z",
        &["host", "x-amz-date", "x-amz-content-sha256"],
    )
    .unwrap();
    let mut h2 = h.clone();
    h2.push(("authorization".into(), authz.into_bytes()));
    let sent = SignedRequest::new("GET", "/b/a(b)", "", &h2[..]);
    let p = parse_auth(&sent).unwrap();
    let Verified::V4(v) = verify(&sent, &p, SECRET, T2013).unwrap() else {
        panic!()
    };
    assert_eq!(v.payload_mode, PayloadMode::Unsigned);
}

#[test]
fn time_helpers() {
    assert_eq!(parse_amz_date(b"20130524T000000Z"), Some(T2013));
    assert_eq!(format_amz_date(T2013).as_deref(), Some("20130524T000000Z"));
    assert_eq!(
        parse_http_date(b"Fri, 24 May 2013 00:00:00 GMT"),
        Some(T2013)
    );
    assert_eq!(
        parse_http_date(b"Tue, 27 Mar 2007 19:36:42 +0000"),
        Some(1_175_024_202)
    );
    for bad in [
        &b"20130532T000000Z"[..],
        b"20130524T250000Z",
        b"2013-05-24T00:00:00Z",
        b"",
        b"20130524T00000Z",
    ] {
        assert_eq!(parse_amz_date(bad), None);
    }
    assert!(check_skew(100, 100 + 900, MAX_SKEW_SECS).is_ok());
    assert_eq!(
        check_skew(i64::MIN, i64::MAX, MAX_SKEW_SECS),
        Err(AuthError::RequestTimeTooSkewed)
    );
    assert_eq!(format_amz_date(i64::MAX), None);
}

#[test]
fn error_table() {
    assert_eq!(AuthError::Expired.code(), "AccessDenied");
    assert_eq!(AuthError::Expired.to_string(), "Request has expired");
    assert_eq!(
        AuthError::XAmzContentSha256Mismatch.code(),
        "XAmzContentSHA256Mismatch"
    );
    assert_eq!(AuthError::MissingContentLength.status(), 411);
    assert_eq!(AuthError::InvalidAccessKeyId.status(), 403);
    assert_eq!(AuthError::IncompleteBody.status(), 400);
}

#[test]
fn http_headermap_source() {
    let mut map = http::HeaderMap::new();
    for (k, v) in GET_OBJECT {
        map.append(
            http::HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    map.append(
        "authorization",
        auth(GET_OBJECT_SIGNED, GET_OBJECT_SIG).parse().unwrap(),
    );
    let req = SignedRequest::new("GET", "/test.txt", "", &map);
    let p = parse_auth(&req).unwrap();
    verify(&req, &p, SECRET, T2013).unwrap();
}

#[test]
fn authenticate_in_one_call() {
    let h = get_object_request(&[], &auth(GET_OBJECT_SIGNED, GET_OBJECT_SIG));
    let req = SignedRequest::new("GET", "/test.txt", "", &h);
    let lookup = |ak: &str| (ak == AKID).then_some(SECRET);
    assert!(matches!(
        authenticate(&req, T2013, lookup),
        Ok(Verified::V4(_))
    ));
    let none = |_: &str| None::<String>;
    assert_eq!(
        authenticate(&req, T2013, none).unwrap_err(),
        AuthError::InvalidAccessKeyId
    );
    let anon = hdrs(&[("host", "h")]);
    let req = SignedRequest::new("GET", "/b", "", &anon);
    assert!(matches!(
        authenticate(&req, 0, none),
        Ok(Verified::Anonymous)
    ));
}

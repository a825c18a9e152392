//! SigV4 presigned-URL tests, against the example of the S3 API reference
//! ("Authenticating Requests: Using Query Parameters").

use super::test_util::{hdrs, CREDS, SECRET, T2013};
use super::*;

#[test]
fn aws_example_presigned_url() {
    let h = hdrs(&[("host", "examplebucket.s3.amazonaws.com")]);
    let req = SignedRequest::new("GET", "/test.txt", "", &h[..]);
    let query = presign_v4(&req, &CREDS, "20130524T000000Z", 86400).unwrap();
    assert_eq!(
        query,
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
         &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
         &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    );
    let req = SignedRequest::new("GET", "/test.txt", &query, &h[..]);
    let parsed = parse_auth(&req).unwrap();
    let ParsedAuth::V4(p) = &parsed else {
        panic!("{parsed:?}")
    };
    assert_eq!(p.presigned_expires, Some(86400));
    assert_eq!(p.payload_mode, PayloadMode::Unsigned);
    let v = verify_v4(&req, p, SECRET, T2013 + 86_000).unwrap();
    assert!(v.presigned);
    assert_eq!(
        verify_v4(&req, p, SECRET, T2013 + 86_401).unwrap_err(),
        AuthError::Expired
    );
    assert_eq!(
        verify_v4(&req, p, SECRET, T2013 - 3600).unwrap_err(),
        AuthError::NotYetValid
    );
    assert_eq!(
        verify_v4(&req, p, "wrong", T2013).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
    // Any other parameter is covered by the signature.
    let tampered = format!("{query}&x-id=GetObject");
    let req2 = SignedRequest::new("GET", "/test.txt", &tampered, &h[..]);
    let p2 = parse_auth(&req2).unwrap();
    assert_eq!(
        verify(&req2, &p2, SECRET, T2013).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
}

#[test]
fn presigned_parameter_errors() {
    let h = hdrs(&[("host", "h")]);
    let base = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
                &X-Amz-Date=20130524T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=";
    let sig = "0".repeat(64);
    for (query, what) in [
        (format!("{base}{sig}&X-Amz-Expires=604801"), "too long"),
        (format!("{base}{sig}&X-Amz-Expires=0"), "zero"),
        (format!("{base}{sig}&X-Amz-Expires=-5"), "negative"),
        (format!("{base}{sig}"), "missing expires"),
        (
            format!("{base}{sig}&X-Amz-Expires=10&X-Amz-Expires=10"),
            "repeated",
        ),
        (format!("{base}abc&X-Amz-Expires=10"), "short signature"),
        (
            format!("{base}{sig}&X-Amz-Expires=10").replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"),
            "algorithm",
        ),
        (
            format!("{base}{sig}&X-Amz-Expires=10").replace("20130524T", "20130525T"),
            "date mismatch",
        ),
    ] {
        let req = SignedRequest::new("GET", "/k", &query, &h[..]);
        let err = parse_auth(&req).unwrap_err();
        assert!(
            matches!(err, AuthError::AuthorizationQueryParametersError(_)),
            "{what}: {err:?}"
        );
        assert_eq!(err.status(), 400);
    }
    let ok = format!("{base}{sig}&X-Amz-Expires=604800");
    assert!(parse_auth(&SignedRequest::new("GET", "/k", &ok, &h[..])).is_ok());
}

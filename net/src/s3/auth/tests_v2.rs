//! SigV2 tests against the examples of the S3 developer guide ("Signing and
//! Authenticating REST Requests"), same example credentials as SigV4.

use super::test_util::{hdrs, AKID, SECRET};
use super::*;

/// Tue, 27 Mar 2007 19:36:42 +0000.
const T2007: i64 = 1_175_024_202;

/// Verifies the documented signature with the verifier and reproduces it with the signer.
fn check(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    bucket: Option<&str>,
    sig: &str,
    now: i64,
) {
    let (path, query) = split_target(target);
    let h = hdrs(headers);
    let req = SignedRequest::new(method, path, query, &h[..]).with_bucket_from_host(bucket);
    assert_eq!(
        sign_v2_header(&req, AKID, SECRET),
        format!("AWS {AKID}:{sig}")
    );
    let mut with_auth = h.clone();
    with_auth.push((
        "Authorization".into(),
        format!("AWS {AKID}:{sig}").into_bytes(),
    ));
    let req = SignedRequest::new(method, path, query, &with_auth[..]).with_bucket_from_host(bucket);
    let parsed = parse_auth(&req).unwrap();
    assert_eq!(parsed.access_key(), Some(AKID));
    let Verified::V2(v) = verify(&req, &parsed, SECRET, now).unwrap() else {
        panic!()
    };
    assert!(!v.presigned);
    assert_eq!(
        verify(&req, &parsed, "other", now).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
}

#[test]
fn aws_example_object_get() {
    let h = [
        ("Host", "johnsmith.s3.amazonaws.com"),
        ("Date", "Tue, 27 Mar 2007 19:36:42 +0000"),
    ];
    check(
        "GET",
        "/photos/puppy.jpg",
        &h,
        Some("johnsmith"),
        "bWq2s1WEIj+Ydj0vQ697zp+IXMU=",
        T2007,
    );
}

#[test]
fn aws_example_object_put() {
    let h = [
        ("Content-Type", "image/jpeg"),
        ("Content-Length", "94328"),
        ("Host", "johnsmith.s3.amazonaws.com"),
        ("Date", "Tue, 27 Mar 2007 21:15:45 +0000"),
    ];
    check(
        "PUT",
        "/photos/puppy.jpg",
        &h,
        Some("johnsmith"),
        "MyyxeRY7whkBe+bq8fHCL/2kKUg=",
        T2007 + 5943,
    );
}

#[test]
fn aws_example_list_and_acl() {
    // Non-sub-resource parameters are not signed; `acl` is.
    let h = [
        ("Host", "johnsmith.s3.amazonaws.com"),
        ("Date", "Tue, 27 Mar 2007 19:42:41 +0000"),
    ];
    check(
        "GET",
        "/?prefix=photos&max-keys=50&marker=puppy",
        &h,
        Some("johnsmith"),
        "htDYFYduRNen8P9ZfE/s9SuKy0U=",
        T2007,
    );
    let h = [
        ("Host", "johnsmith.s3.amazonaws.com"),
        ("Date", "Tue, 27 Mar 2007 19:44:46 +0000"),
    ];
    check(
        "GET",
        "/?acl",
        &h,
        Some("johnsmith"),
        "c2WLPFtWHVgbEmeEG93a4cG37dM=",
        T2007,
    );
}

#[test]
fn aws_example_upload_with_amz_headers() {
    // CNAME-style virtual host; repeated x-amz-meta-reviewedby merged with ','.
    let h = [
        ("Host", "static.johnsmith.net:8080"),
        ("Date", "Tue, 27 Mar 2007 21:06:08 +0000"),
        ("x-amz-acl", "public-read"),
        ("content-type", "application/x-download"),
        ("Content-MD5", "4gJE4saaMU4BqNR0kLY+lw=="),
        ("X-Amz-Meta-ReviewedBy", "joe@johnsmith.net"),
        ("X-Amz-Meta-ReviewedBy", "jane@johnsmith.net"),
        ("X-Amz-Meta-FileChecksum", "0x02661779"),
        ("X-Amz-Meta-ChecksumAlgorithm", "crc32"),
        ("Content-Disposition", "attachment; filename=database.dat"),
        ("Content-Encoding", "gzip"),
        ("Content-Length", "5913339"),
    ];
    check(
        "PUT",
        "/db-backup.dat.gz",
        &h,
        Some("static.johnsmith.net"),
        "ilyl83RwaSoYIEdixDQcA4OnAnc=",
        T2007 + 5366,
    );
}

#[test]
fn x_amz_date_replaces_the_date_line() {
    // The guide's DELETE example prints the x-amz-date value on the Date line, which no
    // SDK does; this is the string real clients sign (botocore HmacV1Auth, Java v1):
    // "DELETE\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\n/johnsmith/photos/puppy.jpg".
    let h = [
        ("Host", "s3.amazonaws.com"),
        ("Date", "Tue, 27 Mar 2007 21:20:27 +0000"),
        ("x-amz-date", "Tue, 27 Mar 2007 21:20:26 +0000"),
    ];
    check(
        "DELETE",
        "/johnsmith/photos/puppy.jpg",
        &h,
        None,
        "R4dJ53KECjStyBO5iTBJZ4XVOaI=",
        T2007 + 6224,
    );
}

#[test]
fn aws_example_presigned_v2() {
    let h = hdrs(&[("Host", "johnsmith.s3.amazonaws.com")]);
    let query = "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620";
    let req = SignedRequest::new("GET", "/photos/puppy.jpg", query, &h[..])
        .with_bucket_from_host(Some("johnsmith"));
    let parsed = parse_auth(&req).unwrap();
    let ParsedAuth::V2(p) = &parsed else {
        panic!("{parsed:?}")
    };
    assert_eq!(p.presigned_expires, Some(1_175_139_620));
    assert!(verify_v2(&req, p, SECRET, 1_175_139_000).unwrap().presigned);
    assert_eq!(
        verify_v2(&req, p, SECRET, 1_175_139_621).unwrap_err(),
        AuthError::Expired
    );
    // The signer produces the same URL parameters.
    let bare = SignedRequest::new("GET", "/photos/puppy.jpg", "", &h[..])
        .with_bucket_from_host(Some("johnsmith"));
    assert_eq!(
        presign_v2(&bare, AKID, SECRET, 1_175_139_620),
        "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D"
    );
    // A raw '+' in the signature (client did not escape it) still verifies.
    let raw_plus = query.replace("%2B", "+");
    let req = SignedRequest::new("GET", "/photos/puppy.jpg", &raw_plus, &h[..])
        .with_bucket_from_host(Some("johnsmith"));
    let p = parse_auth(&req).unwrap();
    verify(&req, &p, SECRET, 1_175_139_000).unwrap();
}

#[test]
fn sub_resources_are_sorted_and_decoded() {
    let h = hdrs(&[("host", "s3"), ("date", "Tue, 27 Mar 2007 19:36:42 +0000")]);
    let req = SignedRequest::new(
        "PUT",
        "/b/k",
        "uploadId=a%2Bb&partNumber=2&foo=bar&versionId=",
        &h[..],
    );
    let sts = string_to_sign_v2(&req, b"D", b"/b/k");
    assert_eq!(
        sts,
        b"PUT\n\n\nD\n/b/k?partNumber=2&uploadId=a+b&versionId=".to_vec()
    );
    let req = SignedRequest::new("GET", "", "acl&response-content-type=text%2Fplain", &h[..])
        .with_bucket_from_host(Some("b"));
    assert_eq!(
        string_to_sign_v2(&req, b"", b""),
        b"GET\n\n\n\n/b/?acl&response-content-type=text/plain".to_vec()
    );
}

#[test]
fn v2_negative_cases() {
    let h = hdrs(&[("host", "s3"), ("date", "Tue, 27 Mar 2007 19:36:42 +0000")]);
    let req = SignedRequest::new("GET", "/b/k", "", &h[..]);
    let good = sign_v2_header(&req, AKID, SECRET);
    let with = |authz: &str, extra: &[(&str, &str)]| {
        let mut v = h.clone();
        v.extend(hdrs(extra));
        v.push(("authorization".into(), authz.as_bytes().to_vec()));
        v
    };
    let run = |h: &[(String, Vec<u8>)], path: &str, now: i64| {
        let req = SignedRequest::new("GET", path, "", h);
        let p = parse_auth(&req)?;
        verify(&req, &p, SECRET, now)
    };
    run(&with(&good, &[]), "/b/k", T2007 + 10).unwrap();
    assert_eq!(
        run(&with(&good, &[]), "/b/other", T2007).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
    assert_eq!(
        run(&with(&good, &[("x-amz-meta-a", "1")]), "/b/k", T2007).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
    assert_eq!(
        run(&with(&good, &[]), "/b/k", T2007 + 3600).unwrap_err(),
        AuthError::RequestTimeTooSkewed
    );
    let tampered = good.replace(':', ":x");
    assert_eq!(
        run(&with(&tampered, &[]), "/b/k", T2007).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
    for bad in ["AWS", "AWS nocolon", "AWS :sig"] {
        assert_eq!(
            run(&with(bad, &[]), "/b/k", T2007).unwrap_err().code(),
            "InvalidArgument",
            "{bad}"
        );
    }
    // No usable date at all.
    let nodate = vec![("authorization".to_string(), good.clone().into_bytes())];
    assert_eq!(
        run(&nodate, "/b/k", T2007).unwrap_err(),
        AuthError::MissingDate
    );
    // Presigned without Expires, or with a non-numeric one.
    for q in [
        "AWSAccessKeyId=A&Signature=x",
        "AWSAccessKeyId=A&Signature=x&Expires=soon",
    ] {
        let req = SignedRequest::new("GET", "/b/k", q, &h[..]);
        assert!(
            matches!(
                parse_auth(&req).unwrap_err(),
                AuthError::AuthorizationQueryParametersError(_)
            ),
            "{q}"
        );
    }
}

#[test]
fn decoded_path_fallback() {
    // Some clients sign the decoded key while sending it escaped.
    let h = hdrs(&[("host", "s3"), ("date", "Tue, 27 Mar 2007 19:36:42 +0000")]);
    let signed_as = SignedRequest::new("GET", "/b/my key", "", &h[..]);
    let authz = sign_v2_header(&signed_as, AKID, SECRET);
    let mut h2 = h.clone();
    h2.push(("authorization".into(), authz.into_bytes()));
    let sent = SignedRequest::new("GET", "/b/my%20key", "", &h2[..]);
    let p = parse_auth(&sent).unwrap();
    verify(&sent, &p, SECRET, T2007).unwrap();
}

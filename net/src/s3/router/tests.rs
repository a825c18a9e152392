//! Router tests: every operation in both addressing styles, the error paths, and a
//! seeded mutation fuzz of [`fuzz_route`].

use super::*;
use Operation as O;

fn req<'a>(method: &'a str, target: &'a str) -> RouteInput<'a> {
    let (raw_path, raw_query) = target.split_once('?').unwrap_or((target, ""));
    RouteInput {
        method,
        raw_path,
        raw_query,
        ..Default::default()
    }
}

fn op(method: &str, target: &str, copy: bool) -> Result<Operation, S3ErrorCode> {
    let r = RouteInput {
        has_copy_source: copy,
        ..req(method, target)
    };
    route(&r).map(|r| r.op).map_err(|e| e.code)
}

#[test]
fn every_operation_path_style() {
    let cases: &[(&str, &str, bool, Operation)] = &[
        ("GET", "/", false, O::ListBuckets),
        ("PUT", "/bkt", false, O::CreateBucket),
        ("HEAD", "/bkt", false, O::HeadBucket),
        ("DELETE", "/bkt/", false, O::DeleteBucket),
        ("GET", "/bkt?location", false, O::GetBucketLocation),
        ("GET", "/bkt?versioning", false, O::GetBucketVersioning),
        ("GET", "/bkt?acl", false, O::GetBucketAcl),
        ("PUT", "/bkt?acl", false, O::PutBucketAcl),
        ("GET", "/bkt?prefix=a&max-keys=3", false, O::ListObjectsV1),
        (
            "GET",
            "/bkt?list-type=2&x-id=ListObjectsV2",
            false,
            O::ListObjectsV2,
        ),
        ("GET", "/bkt?uploads", false, O::ListMultipartUploads),
        ("POST", "/bkt?delete", false, O::DeleteObjects),
        ("PUT", "/bkt/k", false, O::PutObject),
        ("PUT", "/bkt/k", true, O::CopyObject),
        ("GET", "/bkt/k?partNumber=1", false, O::GetObject),
        ("HEAD", "/bkt/k?versionId=null", false, O::HeadObject),
        ("DELETE", "/bkt/k", false, O::DeleteObject),
        ("GET", "/bkt/k?acl", false, O::GetObjectAcl),
        ("PUT", "/bkt/k?acl", true, O::PutObjectAcl),
        ("POST", "/bkt/k?uploads=", false, O::CreateMultipartUpload),
        (
            "PUT",
            "/bkt/k?partNumber=3&uploadId=u",
            false,
            O::UploadPart,
        ),
        (
            "PUT",
            "/bkt/k?uploadId=u&partNumber=10000",
            true,
            O::UploadPartCopy,
        ),
        (
            "POST",
            "/bkt/k?uploadId=u",
            false,
            O::CompleteMultipartUpload,
        ),
        (
            "DELETE",
            "/bkt/k?uploadId=u",
            false,
            O::AbortMultipartUpload,
        ),
        ("GET", "/bkt/k?uploadId=u&max-parts=2", false, O::ListParts),
    ];
    for &(m, t, copy, want) in cases {
        assert_eq!(op(m, t, copy), Ok(want), "{m} {t}");
    }
    assert_eq!(Operation::ALL.len(), 25);
    assert_eq!(O::ListObjectsV1.name(), "ListObjects");
    assert_eq!(O::GetObject.name(), "GetObject");
}

#[test]
fn errors() {
    use S3ErrorCode as C;
    let cases: &[(&str, &str, S3ErrorCode)] = &[
        ("PATCH", "/bkt/k", C::MethodNotAllowed),
        ("get", "/bkt/k", C::MethodNotAllowed),
        ("PUT", "/", C::MethodNotAllowed),
        ("POST", "/bkt/k", C::MethodNotAllowed),
        ("DELETE", "/bkt?acl", C::MethodNotAllowed),
        ("PUT", "/bkt?location", C::MethodNotAllowed),
        ("GET", "/bkt?delete", C::MethodNotAllowed),
        ("GET", "/bkt/k?uploads", C::MethodNotAllowed),
        ("GET", "/bkt?tagging", C::NotImplemented),
        ("PUT", "/bkt/k?tagging", C::NotImplemented),
        ("GET", "/bkt?versions", C::NotImplemented),
        ("PUT", "/bkt?versioning", C::NotImplemented),
        ("DELETE", "/bkt?cors", C::NotImplemented),
        ("POST", "/bkt", C::NotImplemented),
        ("GET", "/bkt?list-type=3", C::InvalidArgument),
        ("PUT", "/bkt/k?uploadId=u", C::InvalidArgument),
        ("PUT", "/bkt/k?uploadId=u&partNumber=0", C::InvalidArgument),
        (
            "PUT",
            "/bkt/k?uploadId=u&partNumber=10001",
            C::InvalidArgument,
        ),
        ("GET", "/Bkt/k", C::InvalidBucketName),
        ("GET", "/bkt/%zz", C::InvalidURI),
        ("GET", "/bkt/a%", C::InvalidURI),
        ("GET", "/bkt/%ff%fe", C::InvalidURI),
        ("GET", "/bkt?prefix=%c3", C::InvalidURI),
        ("GET", "bkt/k", C::InvalidURI),
        ("GET", "//k", C::InvalidURI),
    ];
    for &(m, t, want) in cases {
        assert_eq!(op(m, t, false), Err(want), "{m} {t}");
    }
    let long = format!("/bkt/{}", "k".repeat(MAX_KEY_LEN + 1));
    assert_eq!(op("GET", &long, false), Err(C::KeyTooLongError));
    assert_eq!(op("GET", &long[..long.len() - 1], false), Ok(O::GetObject));
}

#[test]
fn decoding() {
    let r = route(&req(
        "GET",
        "/bkt/a%20b+c/%E2%9C%93//x?prefix=a+b%2Bc&acl&k=v=w",
    ))
    .unwrap();
    assert_eq!(r.bucket.as_deref(), Some("bkt"));
    assert_eq!(r.key.as_deref(), Some("a b+c/✓//x"));
    assert_eq!(r.param("prefix"), Some("a b+c"));
    assert_eq!(r.param("acl"), Some(""));
    assert_eq!(r.param("k"), Some("v=w"));
    assert_eq!(r.op, O::GetObjectAcl);
    let r = route(&req("GET", "/bkt?")).unwrap();
    assert_eq!((r.key, r.query.len()), (None, 0));
}

#[test]
fn virtual_hosted() {
    let v = |method: &'static str, host: &'static str, target: &'static str| {
        let r = RouteInput {
            host: Some(host),
            virtual_host_domain: Some("s3.example.com"),
            ..req(method, target)
        };
        route(&r)
            .map(|r| (r.op, r.bucket, r.key))
            .map_err(|e| e.code)
    };
    let s = |x: &str| Some(x.to_owned());
    assert_eq!(
        v("GET", "bkt.s3.example.com", "/a/b"),
        Ok((O::GetObject, s("bkt"), s("a/b")))
    );
    assert_eq!(
        v("GET", "My.Bkt.S3.example.com:8080", "/"),
        Ok((O::ListObjectsV1, s("my.bkt"), None))
    );
    assert_eq!(
        v("PUT", "bkt.s3.example.com.", "/"),
        Ok((O::CreateBucket, s("bkt"), None))
    );
    assert_eq!(
        v("GET", "bkt.s3.example.com", "//k"),
        Ok((O::GetObject, s("bkt"), s("/k")))
    );
    // The bare domain, another host or an IP: path-style.
    assert_eq!(
        v("GET", "s3.example.com:80", "/"),
        Ok((O::ListBuckets, None, None))
    );
    assert_eq!(
        v("GET", "other.com", "/bk1/k"),
        Ok((O::GetObject, s("bk1"), s("k")))
    );
    assert_eq!(
        v("GET", "[::1]:9000", "/bk1"),
        Ok((O::ListObjectsV1, s("bk1"), None))
    );
    assert_eq!(
        v("GET", "x_y.s3.example.com", "/"),
        Err(S3ErrorCode::InvalidBucketName)
    );
    assert_eq!(strip_port("[::1]"), "[::1]");
    assert_eq!(strip_port("[::1"), "[::1");
    assert_eq!(strip_port("h:x"), "h:x");
}

#[test]
fn bucket_names() {
    for ok in [
        "abc",
        "my-bucket.v2",
        "a1b",
        "1.2.3",
        "0000",
        &"a".repeat(63),
    ] {
        assert!(validate_bucket_name(ok).is_ok(), "{ok}");
    }
    let bad = [
        "ab",
        "Abc",
        "a_b",
        "-ab",
        "ab-",
        ".ab",
        "ab.",
        "a..b",
        "a.-b",
        "a-.b",
        "192.168.0.1",
        "a b",
        "ü12",
        "",
    ];
    for name in bad.iter().copied().chain([&*"a".repeat(64)]) {
        assert_eq!(
            validate_bucket_name(name).unwrap_err().code,
            S3ErrorCode::InvalidBucketName
        );
    }
}

#[test]
fn fuzz_route_never_panics() {
    let seeds: [&[u8]; 4] = [
        b"GET\n/bkt/k%20ey\nuploadId=x&partNumber=2\nbkt.s3.local:80\ns3.local",
        b"PUT\n/b/k\nacl&tagging\n[::1]:1\n\x01",
        b"POST\n/\ndelete\n\n",
        b"DELETE\n//%e2%9c\n%\n.\n.",
    ];
    let alphabet = b"/?&=%+.:[]\n0123456789abcdefABCDEF\xc3\xa9\xff ";
    let mut state = 0x853C_49E6_748F_EA9Bu64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for i in 0..5000 {
        let mut data = seeds[i % seeds.len()].to_vec();
        for _ in 0..next() % 8 {
            let r = next();
            let pos = (r >> 8) as usize % (data.len() + 1);
            let byte = alphabet[(r % alphabet.len() as u64) as usize];
            match r % 3 {
                0 => data.insert(pos, byte),
                1 if pos < data.len() => data[pos] = byte,
                _ => data.truncate(pos),
            }
        }
        fuzz_route(&data);
    }
}

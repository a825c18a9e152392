//! Writes the seed corpora under `fuzz/corpus/<target>/` and the libFuzzer dictionaries
//! under `fuzz/libfuzzer/dict/`. The files are committed; rerun this only to change them:
//!
//! ```text
//! cargo test -p leofs-fuzz --test gen_corpus -- --ignored
//! ```
//!
//! It only adds or overwrites the files it names, so inputs added by hand (a minimised
//! crash, say) stay. `LEOFS_FUZZ_GEN=rpc,xml` limits it to the named targets (their seeds
//! and dictionaries). The SigV4/SigV2 seeds are signed here with the real signer, in the
//! exact request shape `fuzz_auth` rebuilds, so they verify and the fuzzer starts past the
//! signature check.

use std::path::Path;

use leofs_fuzz::mutate::{libfuzzer_dict, Rng};
use leofs_fuzz::{corpus_dir, TARGETS};
use leofs_net::rpc::{
    error_body, frame, Cond, EntryInfo, FrameHead, ListReq, ListResp, Op, ReadReq, ReadResp,
    Status, Version, WriteKind, WriteReq, WriteResp,
};
use leofs_net::s3::auth::{
    encode_unsigned_chunk, encode_unsigned_final, presign_v2, presign_v4, sign_v2_header, sign_v4,
    ChunkSigner, SignedRequest, SigningKey, V4Credentials, EMPTY_SHA256_HEX,
};

/// Largest seed file: small inputs mutate faster and keep the replay test quick.
const MAX_SEED: usize = 4096;

fn write(target: &str, name: &str, data: &[u8]) {
    assert!(
        data.len() < MAX_SEED,
        "{target}/{name} is {} bytes",
        data.len()
    );
    let dir = corpus_dir(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), data).unwrap();
}

#[test]
#[ignore = "writes the committed corpus; run by hand"]
fn regenerate_corpus() {
    let seeds: [(&str, fn()); 6] = [
        ("engine", engine_seeds),
        ("http_request", http_seeds),
        ("auth", auth_seeds),
        ("router", router_seeds),
        ("xml", xml_seeds),
        ("rpc", rpc_seeds),
    ];
    for (name, make) in seeds {
        if wanted(name) {
            make();
        }
    }
    let dict_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("libfuzzer/dict");
    std::fs::create_dir_all(&dict_dir).unwrap();
    for (name, _) in TARGETS {
        if wanted(name) {
            std::fs::write(dict_dir.join(format!("{name}.dict")), libfuzzer_dict(name)).unwrap();
        }
    }
}

/// Whether `LEOFS_FUZZ_GEN` (a comma-separated list of targets; unset: all) names
/// `target`.
fn wanted(target: &str) -> bool {
    match std::env::var("LEOFS_FUZZ_GEN") {
        Ok(list) => list.split(',').any(|t| t.trim() == target),
        Err(_) => true,
    }
}

// ---------------------------------------------------------------------------------------
// engine: 3-byte operations (op % 16, key % 24, size byte).

const PUT: u8 = 0; // value of size*5 bytes (ops 0..=5)
const PUT_BIG: u8 = 6; // value of size*97 bytes (up to ~24 KiB: past one 16 KiB batch)
const DEL: u8 = 7;
const GET: u8 = 9;
const LIST: u8 = 11; // list 5 keys after key `size % 24`
const COMPACT: u8 = 12;
const CHECKPOINT: u8 = 13;
const RESTART: u8 = 14;

fn ops(list: &[(u8, u8, u8)]) -> Vec<u8> {
    list.iter().flat_map(|&(o, k, n)| [o, k, n]).collect()
}

fn engine_seeds() {
    // Every operation once, on two keys.
    write(
        "engine",
        "basic",
        &ops(&[
            (PUT, 1, 10),
            (GET, 1, 0),
            (PUT, 2, 0),
            (LIST, 0, 0),
            (DEL, 1, 0),
            (GET, 1, 0),
            (DEL, 1, 0),
            (GET, 2, 0),
            (CHECKPOINT, 0, 0),
            (COMPACT, 0, 0),
            (RESTART, 0, 0),
            (GET, 2, 0),
            (LIST, 0, 0),
        ]),
    );
    // Overwrites of big values fill 64 KiB segments: rollovers, then compaction of the
    // dead versions, then recovery.
    let mut v = Vec::new();
    for i in 0..12u8 {
        v.push((PUT_BIG, i % 3, 200 + i * 4));
    }
    v.extend([
        (COMPACT, 0, 0),
        (GET, 0, 0),
        (GET, 1, 0),
        (GET, 2, 0),
        (RESTART, 0, 0),
    ]);
    v.extend([(COMPACT, 0, 0), (RESTART, 0, 0), (LIST, 0, 0)]);
    write("engine", "rollover_compact", &ops(&v));
    // Checkpoints between writes and deletes, restarts replaying the log after them.
    let mut v = Vec::new();
    for k in 0..8u8 {
        v.push((PUT, k, 50 + k));
    }
    v.push((CHECKPOINT, 0, 0));
    for k in 0..8u8 {
        v.push(if k % 2 == 0 {
            (DEL, k, 0)
        } else {
            (PUT_BIG, k, 60)
        });
    }
    v.extend([
        (RESTART, 0, 0),
        (LIST, 0, 0),
        (CHECKPOINT, 0, 0),
        (PUT, 20, 3),
    ]);
    v.extend([(RESTART, 0, 0), (GET, 20, 0), (GET, 3, 0)]);
    write("engine", "checkpoint_restart", &ops(&v));
    // Fill many keys, delete most, compact: segments that are mostly dead.
    let mut v = Vec::new();
    for k in 0..24u8 {
        v.push((PUT_BIG, k, 30));
    }
    for k in 0..22u8 {
        v.push((DEL, k, 0));
    }
    v.extend([
        (COMPACT, 0, 0),
        (LIST, 0, 0),
        (LIST, 0, 22),
        (RESTART, 0, 0),
    ]);
    v.extend([(COMPACT, 0, 0), (GET, 22, 0), (GET, 23, 0), (GET, 0, 0)]);
    write("engine", "delete_compact", &ops(&v));
    // Empty values, deletes of absent keys, listing around the edges of the key space.
    write(
        "engine",
        "edges",
        &ops(&[
            (PUT, 0, 0),
            (PUT, 23, 0),
            (DEL, 5, 0),
            (GET, 5, 0),
            (LIST, 0, 23),
            (LIST, 0, 0),
            (LIST, 0, 255),
            (PUT, 0, 255),
            (PUT_BIG, 23, 255),
            (RESTART, 0, 0),
            (RESTART, 0, 0),
            (DEL, 0, 0),
            (DEL, 23, 0),
            (LIST, 0, 0),
            (RESTART, 0, 0),
        ]),
    );
    // Page through 24 keys with listings after each one.
    let mut v: Vec<(u8, u8, u8)> = (0..24u8).map(|k| (PUT, k, k)).collect();
    v.extend((0..24u8).map(|k| (LIST, 0, k)));
    write("engine", "list_pages", &ops(&v));
    // Restarts between every step, with compaction and checkpoints mixed in.
    write(
        "engine",
        "restarts",
        &ops(&[
            (PUT_BIG, 1, 255),
            (RESTART, 0, 0),
            (PUT_BIG, 1, 254),
            (CHECKPOINT, 0, 0),
            (RESTART, 0, 0),
            (DEL, 1, 0),
            (RESTART, 0, 0),
            (COMPACT, 0, 0),
            (RESTART, 0, 0),
            (PUT, 1, 1),
            (COMPACT, 0, 0),
            (CHECKPOINT, 0, 0),
            (RESTART, 0, 0),
            (GET, 1, 0),
        ]),
    );
    // A trailing partial operation (1 and 2 bytes): the decoder pads with zeros.
    write("engine", "partial_op", &[PUT, 4, 9, GET, 4]);
    write("engine", "single_byte", &[RESTART]);
    // A long deterministic random mix (every byte value is a valid op).
    let mut rng = Rng(0x5eed_e9e1);
    let mix: Vec<u8> = (0..900).map(|_| rng.next_u64() as u8).collect();
    write("engine", "random_mix", &mix);
}

// ---------------------------------------------------------------------------------------
// http_request: raw bytes as read from a connection.

fn http_seeds() {
    write(
        "http_request",
        "get_headers",
        b"GET /bucket/photos/2006/Jan/sample.jpg?versionId=null HTTP/1.1\r\n\
          Host: s3.example.com:9000\r\n\
          User-Agent: aws-cli/2.15.0 Python/3.11\r\n\
          Accept: */*\r\n\
          Accept-Encoding: identity\r\n\
          Range: bytes=0-9\r\n\
          If-None-Match: \"abc\"\r\n\
          x-amz-date: 20130524T000000Z\r\n\
          x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\r\n\
          Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd\r\n\
          \r\n",
    );
    write(
        "http_request",
        "put_content_length",
        b"PUT /bucket/key HTTP/1.1\r\n\
          Host: bucket.s3.example.com\r\n\
          Content-Length: 11\r\n\
          Content-Type: text/plain\r\n\
          Content-MD5: XrY7u+Ae7tCTyyK7j1rNww==\r\n\
          Expect: 100-continue\r\n\
          x-amz-meta-color: blue\r\n\
          \r\n\
          hello world",
    );
    write(
        "http_request",
        "put_chunked_trailers",
        b"PUT /bucket/key HTTP/1.1\r\n\
          Host: s3.example.com\r\n\
          Transfer-Encoding: chunked\r\n\
          Trailer: x-amz-checksum-crc32\r\n\
          \r\n\
          5\r\nhello\r\n\
          6;name=value\r\n world\r\n\
          A\r\n0123456789\r\n\
          0\r\n\
          x-amz-checksum-crc32: DUoRhQ==\r\n\
          x-amz-meta-after: 1\r\n\
          \r\n",
    );
    write(
        "http_request",
        "pipelined",
        b"GET /bucket?list-type=2&prefix=a%2Fb HTTP/1.1\r\nHost: s3.example.com\r\n\r\n\
          HEAD /bucket/key HTTP/1.1\r\nHost: s3.example.com\r\n\r\n\
          PUT /bucket/k2 HTTP/1.1\r\nHost: s3.example.com\r\nContent-Length: 3\r\n\r\nabc\
          DELETE /bucket/k2 HTTP/1.1\r\nHost: s3.example.com\r\nConnection: keep-alive\r\n\r\n\
          GET / HTTP/1.1\r\nHost: s3.example.com\r\nConnection: close\r\n\r\n\
          GET /never-read HTTP/1.1\r\nHost: s3.example.com\r\n\r\n",
    );
    write(
        "http_request",
        "pipelined_chunked",
        b"PUT /bucket/a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
          3\r\nabc\r\n0\r\n\r\n\
          PUT /bucket/b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
          1;a=b;c\r\nx\r\n0;last\r\nx-amz-checksum-sha256: abc=\r\n\r\n\
          GET /bucket/b HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    write(
        "http_request",
        "http10",
        b"GET /bucket/key HTTP/1.0\r\nConnection: keep-alive\r\nExpect: 100-continue\r\n\r\n\
          PUT /bucket/key HTTP/1.0\r\nContent-Length: 2\r\n\r\nok\
          GET /bucket/key HTTP/1.0\r\n\r\n",
    );
    let body = "5;chunk-signature=0000000000000000000000000000000000000000000000000000000000000000\r\n\
                hello\r\n\
                0;chunk-signature=0000000000000000000000000000000000000000000000000000000000000000\r\n\
                \r\n";
    write(
        "http_request",
        "aws_chunked_upload",
        format!(
            "PUT /bucket/chunked HTTP/1.1\r\n\
             Host: s3.example.com\r\n\
             Content-Encoding: aws-chunked\r\n\
             x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD\r\n\
             x-amz-decoded-content-length: 5\r\n\
             Content-Length: {}\r\n\
             \r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    let body = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>\
                <ETag>\"a54357aff0632cce46d942af68356b38\"</ETag></Part>\
                <Part><PartNumber>2</PartNumber><ETag>\"x\"</ETag></Part></CompleteMultipartUpload>";
    write(
        "http_request",
        "complete_multipart",
        format!(
            "POST /bucket/big?uploadId=VXBsb2FkSWQ HTTP/1.1\r\n\
             Host: s3.example.com\r\n\
             Content-Type: application/xml\r\n\
             Content-Length: {}\r\n\
             \r\n{body}\
             DELETE /bucket/big?uploadId=VXBsb2FkSWQ HTTP/1.1\r\nHost: s3.example.com\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    write(
        "http_request",
        "odd_targets",
        b"GET http://bucket.s3.example.com/key?a=1&b HTTP/1.1\r\nHost: bucket.s3.example.com\r\n\r\n\
          OPTIONS * HTTP/1.1\r\nHost: s3.example.com\r\n\r\n\
          GET /%E2%82%AC/%2F?prefix=%zz HTTP/1.1\r\nHost: [::1]:9000\r\n\r\n",
    );
    write(
        "http_request",
        "repeated_headers",
        b"PUT /bucket/key HTTP/1.1\r\n\
          Host: s3.example.com\r\n\
          x-amz-meta-a: 1\r\n\
          X-Amz-Meta-A: 2\r\n\
          Content-Length: 3, 3\r\n\
          Content-Length: 3\r\n\
          Connection: keep-alive, Upgrade\r\n\
          Empty:\r\n\
          Tabs:\t v \t\r\n\
          \r\n\
          abc\
          GET / HTTP/1.1\r\nHost: s3.example.com\r\n\r\n",
    );
    write(
        "http_request",
        "chunked_big_sizes",
        b"PUT /b/k HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
          00000001\r\na\r\nF\r\n0123456789abcde\r\n1F\r\n0123456789abcdef0123456789abcde\r\n0\r\n\r\n",
    );
    write(
        "http_request",
        "bare_lf",
        b"GET /bucket HTTP/1.1\nHost: s3.example.com\n\nGET /bucket HTTP/1.1\r\nHost: s3.example.com\r\n\r\n",
    );
    write(
        "http_request",
        "partial_body",
        b"PUT /bucket/key HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n400\r\nonly a few bytes of a 1 KiB chunk",
    );
}

// ---------------------------------------------------------------------------------------
// auth: `authorization \n target \n date \n x-amz-content-sha256 \n body`, verified by
// `fuzz_auth` as a PUT to host `bucket.example.com` with secret "secret" at
// 2013-05-24T00:00:00Z.

const AMZ_DATE: &str = "20130524T000000Z";
const HTTP_DATE: &str = "Fri, 24 May 2013 00:00:00 GMT";
const NOW: i64 = 1_369_353_600;
const CREDS: V4Credentials<'static> = V4Credentials {
    access_key: "AKIDEXAMPLE",
    secret_key: "secret",
    region: "us-east-1",
    service: "s3",
};

/// The headers `fuzz_auth` builds, in its order.
fn auth_headers<'a>(
    authz: &'a [u8],
    date: &'a [u8],
    sha: &'a [u8],
) -> Vec<(&'static str, &'a [u8])> {
    vec![
        ("host", b"bucket.example.com"),
        ("authorization", authz),
        ("x-amz-date", date),
        ("date", date),
        ("x-amz-content-sha256", sha),
        ("content-md5", sha),
    ]
}

fn auth_input(authz: &str, target: &str, date: &str, sha: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!("{authz}\n{target}\n{date}\n{sha}\n").into_bytes();
    out.extend_from_slice(body);
    out
}

/// A SigV4 header-auth seed that verifies.
fn v4_seed(target: &str, sha: &str, body: &[u8]) -> Vec<u8> {
    let headers = auth_headers(b"", AMZ_DATE.as_bytes(), sha.as_bytes());
    let signing: Vec<(&str, &[u8])> = headers
        .iter()
        .filter(|(n, _)| *n != "authorization")
        .copied()
        .collect();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let req = SignedRequest::new("PUT", path, query, &signing[..]);
    let sig = sign_v4(
        &req,
        &CREDS,
        AMZ_DATE,
        &["host", "x-amz-content-sha256", "x-amz-date", "content-md5"],
    )
    .unwrap();
    auth_input(&sig.authorization, target, AMZ_DATE, sha, body)
}

/// The chunk signer `fuzz_auth` checks bodies with (seed of 32 zero bytes).
fn chunk_signer() -> ChunkSigner {
    ChunkSigner::new(
        SigningKey::derive("secret", "20130524", "us-east-1", "s3"),
        AMZ_DATE,
        "20130524/us-east-1/s3/aws4_request",
        [0u8; 32],
    )
}

fn auth_seeds() {
    write(
        "auth",
        "v4_unsigned_payload",
        &v4_seed("/bucket/key", "UNSIGNED-PAYLOAD", b""),
    );
    write(
        "auth",
        "v4_sha256_query",
        &v4_seed(
            "/bucket/my%20key/%E2%82%AC?acl&versionId=3&prefix=a%2Fb+c",
            EMPTY_SHA256_HEX,
            b"",
        ),
    );
    write(
        "auth",
        "v4_list_query",
        &v4_seed(
            "/bucket?list-type=2&prefix=photos%2F2006&max-keys=50&delimiter=%2F",
            "UNSIGNED-PAYLOAD",
            b"",
        ),
    );
    let mut s = chunk_signer();
    let mut body = Vec::new();
    s.encode_chunk(b"hello, world: the first chunk", &mut body);
    s.encode_chunk(b"2nd", &mut body);
    s.encode_final(None, &mut body);
    write(
        "auth",
        "v4_streaming_signed",
        &v4_seed(
            "/bucket/stream",
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            &body,
        ),
    );
    let mut s = chunk_signer();
    let mut body = Vec::new();
    s.encode_chunk(b"payload with a signed trailer", &mut body);
    s.encode_final(Some(&[("x-amz-checksum-crc32", "sOO8/Q==")]), &mut body);
    write(
        "auth",
        "v4_streaming_signed_trailer",
        &v4_seed(
            "/bucket/stream",
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
            &body,
        ),
    );
    let mut body = Vec::new();
    encode_unsigned_chunk(b"unsigned chunk one", &mut body);
    encode_unsigned_chunk(b"two", &mut body);
    encode_unsigned_final(
        &[
            ("x-amz-checksum-crc32c", "sOO8/Q=="),
            ("x-amz-checksum-sha256", "abc="),
        ],
        &mut body,
    );
    write(
        "auth",
        "v4_streaming_unsigned_trailer",
        &v4_seed(
            "/bucket/stream",
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            &body,
        ),
    );
    // An empty streaming body: only the final chunk.
    let mut body = Vec::new();
    chunk_signer().encode_final(None, &mut body);
    write(
        "auth",
        "v4_streaming_empty",
        &v4_seed("/bucket/empty", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", &body),
    );

    // SigV2 header auth: the Date line is empty since x-amz-date is present (and signed
    // among the amz headers).
    let sha = "XrY7u+Ae7tCTyyK7j1rNww==";
    let headers = auth_headers(b"", HTTP_DATE.as_bytes(), sha.as_bytes());
    let signing: Vec<(&str, &[u8])> = headers
        .iter()
        .filter(|(n, _)| *n != "authorization")
        .copied()
        .collect();
    let req = SignedRequest::new("PUT", "/bucket/key", "acl", &signing[..]);
    let authz = sign_v2_header(&req, "AKIDEXAMPLE", "secret");
    write(
        "auth",
        "v2_header",
        &auth_input(&authz, "/bucket/key?acl", HTTP_DATE, sha, b""),
    );

    // Presigned URLs: `fuzz_auth`'s second pass drops the host and authorization headers
    // and sets the virtual-host bucket, which is where query auth can verify.
    let presign_headers = &headers[2..];
    let req = SignedRequest::new("PUT", "/key", "uploads", presign_headers)
        .with_bucket_from_host(Some("bucket"));
    let query = presign_v2(&req, "AKIDEXAMPLE", "secret", NOW + 3600);
    write(
        "auth",
        "v2_presigned",
        &auth_input("", &format!("/key?{query}"), HTTP_DATE, sha, b""),
    );
    let headers = auth_headers(b"", AMZ_DATE.as_bytes(), b"UNSIGNED-PAYLOAD");
    let req = SignedRequest::new(
        "PUT",
        "/bucket/key",
        "partNumber=1&uploadId=abc",
        &headers[2..],
    );
    let query = presign_v4(&req, &CREDS, AMZ_DATE, 3600).unwrap();
    write(
        "auth",
        "v4_presigned",
        &auth_input(
            "",
            &format!("/bucket/key?{query}"),
            AMZ_DATE,
            "UNSIGNED-PAYLOAD",
            b"",
        ),
    );

    // Refused early, but each on its own path.
    write(
        "auth",
        "v4a_header",
        &auth_input(
            "AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/20130524/s3/aws4_request, SignedHeaders=host, Signature=00",
            "/bucket/key",
            AMZ_DATE,
            "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
            b"",
        ),
    );
    write(
        "auth",
        "v4_header_and_query",
        &auth_input(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=0000000000000000000000000000000000000000000000000000000000000000",
            "/bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00",
            AMZ_DATE,
            "UNSIGNED-PAYLOAD",
            b"",
        ),
    );
}

// ---------------------------------------------------------------------------------------
// router: `method \n path \n query \n host \n domain`; an odd last byte means
// `x-amz-copy-source` is present. Every seed not meant as a copy ends with `\n` (even).

fn router_seeds() {
    let seeds: &[(&str, &str)] = &[
        ("list_buckets", "GET\n/\n\n\n\n"),
        ("create_bucket", "PUT\n/bucket\n\n\n\n"),
        ("head_bucket", "HEAD\n/bucket/\n\n\n\n"),
        ("delete_bucket", "DELETE\n/bucket\n\n\n\n"),
        ("get_bucket_location", "GET\n/bucket\nlocation\n\n\n"),
        ("get_bucket_versioning", "GET\n/bucket\nversioning\n\n\n"),
        ("get_bucket_acl", "GET\n/bucket\nacl\n\n\n"),
        ("put_bucket_acl", "PUT\n/\nacl=\nmy.bucket.s3.example.com\ns3.example.com\n"),
        ("list_objects_v1", "GET\n/bucket\nprefix=a%2Fb&delimiter=%2F&marker=x+y&max-keys=10&encoding-type=url\n\n\n"),
        (
            "list_objects_v2",
            "GET\n/\nlist-type=2&prefix=photos/&continuation-token=abc%3D&start-after=x&fetch-owner=true\nBucket.S3.Example.com.:9000\ns3.example.com.\n",
        ),
        ("list_multipart_uploads", "GET\n/bucket\nuploads&prefix=a&key-marker=k&upload-id-marker=u\n\n\n"),
        ("delete_objects", "POST\n/bucket\ndelete\n\n\n"),
        ("put_object", "PUT\n/bucket/photos/2006/Jan/sample%20one.jpg\n\n\n\n"),
        ("copy_object", "PUT\n/bucket/dst-key\n\n\n\n1"),
        ("get_object", "GET\n/bucket/key%E2%82%AC/x\nresponse-content-type=text%2Fplain&partNumber=1\n\n\n"),
        ("head_object", "HEAD\n/dir/key\nversionId=null\nbucket-1.s3.example.com\ns3.example.com\n"),
        ("delete_object", "DELETE\n/bucket/a/b//c/\n\n\n\n"),
        ("get_object_acl", "GET\n/bucket/key\nacl\n\n\n"),
        ("put_object_acl", "PUT\n/bucket/key\nacl\n\n\n"),
        ("create_multipart_upload", "POST\n/bucket/key\nuploads=\n\n\n"),
        ("upload_part", "PUT\n/bucket/key\npartNumber=1&uploadId=VXBsb2Fk\n\n\n"),
        ("upload_part_copy", "PUT\n/bucket/key\npartNumber=10000&uploadId=abc\n\n\n1"),
        ("complete_multipart_upload", "POST\n/bucket/key\nuploadId=abc\n\n\n"),
        ("abort_multipart_upload", "DELETE\n/bucket/key\nuploadId=abc\n\n\n"),
        ("list_parts", "GET\n/bucket/key\nuploadId=abc&max-parts=2&part-number-marker=1\n\n\n"),
        // Refusals: unsupported sub-resource, wrong method, bad name, bad escape.
        ("not_implemented", "PUT\n/bucket\ntagging&versioning\n\n\n"),
        ("errors", "PATCH\n/192.168.1.1/k%zz\npartNumber=0&uploadId=\n[::1]:80\n\n"),
    ];
    for (name, text) in seeds {
        write("router", name, text.as_bytes());
    }
}

// ---------------------------------------------------------------------------------------
// xml: bodies for the three readers (the first 8 bytes double as a timestamp).

fn xml_seeds() {
    let seeds: &[(&str, &[u8])] = &[
        (
            "delete_objects",
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
              <Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n\
              <Quiet>true</Quiet>\n\
              <Object><Key>photos/2006/a.jpg</Key></Object>\n\
              <Object><Key>b&amp;c &lt;d&gt; &#x41;&#66;</Key><VersionId> null </VersionId></Object>\n\
              </Delete>",
        ),
        (
            "delete_prefixed_cdata",
            b"<!-- leading comment --><s3:Delete xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
              <s3:Quiet> FALSE </s3:Quiet><s3:Object><s3:Key><![CDATA[ a<b>&c ]]></s3:Key></s3:Object>\
              <?pi data?><s3:Object><s3:Key>  spaced  </s3:Key></s3:Object></s3:Delete>\n",
        ),
        (
            "create_bucket",
            b"<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
              <LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>",
        ),
        ("create_bucket_empty", b"<CreateBucketConfiguration><LocationConstraint/></CreateBucketConfiguration>"),
        (
            "complete_multipart",
            b"<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
              <Part><PartNumber>1</PartNumber><ETag>\"a54357aff0632cce46d942af68356b38\"</ETag></Part>\
              <Part><PartNumber>2</PartNumber><ETag>&quot;0c78aef83f66abc1fa1e8477f296d394&quot;</ETag></Part>\
              <Part><ETag>acbd18db4cc2f85cedef654fccc4a4d8</ETag><PartNumber> 10000 </PartNumber></Part>\
              </CompleteMultipartUpload>",
        ),
        (
            "complete_multipart_checksums",
            b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"e1\"</ETag>\
              <ChecksumCRC32>DUoRhQ==</ChecksumCRC32><ChecksumCRC32C>sOO8/Q==</ChecksumCRC32C>\
              <ChecksumCRC64NVME>AAAAAAAAAAA=</ChecksumCRC64NVME><ChecksumSHA1>2jmj7l5rSw0yVb/vlWAYkK/YBwk=</ChecksumSHA1>\
              <ChecksumSHA256>47DEQpj8HBSa+/TbV5Aa5NrnQaCsuVuWNxWVUNAUlAI=</ChecksumSHA256></Part></CompleteMultipartUpload>",
        ),
        (
            "complete_out_of_order",
            b"<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>x</ETag></Part>\
              <Part><PartNumber>1</PartNumber><ETag>y</ETag></Part></CompleteMultipartUpload>",
        ),
        (
            "deep_nesting",
            b"<Delete><a><b><c><d><e><f><g><h><i><j><k><l><m><n><o>x</o></n></m></l></k></j></i></h></g></f></e></d></c></b></a></Delete>",
        ),
        ("doctype", b"<!DOCTYPE d [<!ENTITY e \"x\">]><Delete><Object><Key>&e;</Key></Object></Delete>"),
        ("http_date", b"Sun, 06 Nov 1994 08:49:37 GMT"),
    ];
    for (name, data) in seeds {
        write("xml", name, data);
    }
    // 2009-10-12T17:50:30.123Z as little-endian milliseconds, then a document.
    let mut data = 1_255_369_830_123i64.to_le_bytes().to_vec();
    data.extend_from_slice(b"<Delete><Object><Key>k</Key></Object></Delete>");
    write("xml", "timestamp_prefix", &data);
}

// ---------------------------------------------------------------------------------------
// rpc: one frame each (head, then body), every message and status kind; the object-carrying
// ones with a short object body. One bare body shorter than a head.

const V1: Version = Version {
    timestamp_us: 1_700_000_000_123_456,
    tiebreak: 3,
};

/// Object metadata as the engine stores it (format.md): version 1, MD5, Content-Type, a
/// user metadata field.
fn rpc_meta() -> Vec<u8> {
    let mut m = vec![1, 0];
    m.extend_from_slice(&[2, 16, 0]);
    m.extend_from_slice(&[0x5e; 16]);
    m.extend_from_slice(&[4, 10, 0]);
    m.extend_from_slice(b"text/plain");
    m.extend_from_slice(&[10, 7, 0, 5]);
    m.extend_from_slice(b"colorb");
    m
}

fn rpc_entry(size: u64, tombstone: bool) -> EntryInfo {
    EntryInfo {
        version: V1,
        size,
        md5: *b"\x5e\xb6\x3b\xbb\xe0\x1e\xee\xd0\x93\xcb\x22\xbb\x8f\x5a\xcd\xc3",
        parts: 0,
        tombstone,
    }
}

/// A frame of an object-carrying message: head, `fields` (prefix included), `object`.
fn carrying_frame(op: Op, response: bool, id: u64, fields: &[u8], object: &[u8]) -> Vec<u8> {
    let head = FrameHead::for_parts(op, response, Status::Ok, id, &[fields, object]);
    let mut out = head.encode().to_vec();
    out.extend_from_slice(fields);
    out.extend_from_slice(object);
    out
}

fn plain_frame(op: Op, response: bool, id: u64, encode: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut body = Vec::new();
    encode(&mut body);
    frame(op, response, Status::Ok, id, &body)
}

fn rpc_seeds() {
    let put = WriteReq {
        kind: WriteKind::Object,
        coordinate: true,
        repair: false,
        cond: Cond::None,
        version: None,
        key: b"bucket/photos/2006/Jan/sample.jpg".to_vec(),
        meta: rpc_meta(),
    };
    write(
        "rpc",
        "write_object",
        &carrying_frame(Op::Write, false, 1, &put.encode_fields(), b"hello world"),
    );
    let replica = WriteReq {
        kind: WriteKind::Chunk,
        coordinate: false,
        repair: false,
        cond: Cond::Matches("\"5eb63bbbe01eeed093cb22bb8f5acdc3\"".into()),
        version: Some(V1),
        // A multipart part key: bucket \0 "mpu/" key \0 upload-id \0 "part" \0 number.
        key: [
            &b"bucket\0mpu/key\0"[..],
            b"0000018bcfe56800a1b2c3d4e5f60718",
            b"\0part\x0000001",
        ]
        .concat(),
        meta: vec![1, 0, 1, 8, 0, 5, 0, 0, 0, 0, 0, 0, 0],
    };
    write(
        "rpc",
        "write_replica_chunk",
        &carrying_frame(Op::Write, false, 2, &replica.encode_fields(), b"part1"),
    );
    let tombstone = WriteReq {
        kind: WriteKind::Tombstone,
        coordinate: true,
        repair: false,
        cond: Cond::Absent,
        version: None,
        key: b"bucket/k".to_vec(),
        meta: Vec::new(),
    };
    write(
        "rpc",
        "write_tombstone",
        &carrying_frame(Op::Write, false, 3, &tombstone.encode_fields(), b""),
    );
    write(
        "rpc",
        "write_resp",
        &plain_frame(Op::Write, true, 1, |b| {
            WriteResp {
                version: V1,
                applied: true,
                existed: true,
                acks: 3,
            }
            .encode(b)
        }),
    );
    write(
        "rpc",
        "read_req",
        &plain_frame(Op::Read, false, 4, |b| {
            ReadReq {
                key: b"bucket/photos/2006/Jan/sample.jpg".to_vec(),
                meta_only: false,
            }
            .encode(b)
        }),
    );
    let found = ReadResp {
        entry: rpc_entry(11, false),
        meta: rpc_meta(),
    };
    write(
        "rpc",
        "read_resp",
        &carrying_frame(Op::Read, true, 4, &found.encode_fields(), b"hello world"),
    );
    write(
        "rpc",
        "read_resp_meta_only",
        &carrying_frame(Op::Read, true, 5, &found.encode_fields(), b""),
    );
    write(
        "rpc",
        "read_not_found",
        &frame(
            Op::Read,
            true,
            Status::NotFound,
            6,
            &error_body("no such key: bucket/x"),
        ),
    );
    write(
        "rpc",
        "list_req",
        &plain_frame(Op::List, false, 7, |b| {
            ListReq {
                prefix: b"bucket/photos/".to_vec(),
                start_after: b"bucket/photos/2006/".to_vec(),
                limit: 1000,
                include_tombstones: true,
            }
            .encode(b)
        }),
    );
    write(
        "rpc",
        "list_resp",
        &plain_frame(Op::List, true, 7, |b| {
            ListResp {
                entries: vec![
                    (
                        b"bucket/photos/2006/Feb/a.jpg".to_vec(),
                        rpc_entry(11, false),
                    ),
                    (b"bucket/photos/2006/Feb/b.jpg".to_vec(), rpc_entry(0, true)),
                    (
                        b"bucket/photos/2007/c.jpg".to_vec(),
                        EntryInfo {
                            parts: 3,
                            ..rpc_entry(1 << 30, false)
                        },
                    ),
                ],
            }
            .encode(b)
        }),
    );
    write(
        "rpc",
        "control",
        &frame(
            Op::Control,
            false,
            Status::Ok,
            8,
            br#"{"op":"ring","epoch":1}"#,
        ),
    );
    write(
        "rpc",
        "bad_frame",
        &frame(
            Op::Control,
            true,
            Status::BadFrame,
            0,
            &error_body("frame head checksum mismatch"),
        ),
    );
    // A body alone (shorter than a head): the decoders see the whole input.
    let mut bare = Vec::new();
    ReadReq {
        key: b"b/k".to_vec(),
        meta_only: true,
    }
    .encode(&mut bare);
    write("rpc", "bare_read_req", &bare);
}

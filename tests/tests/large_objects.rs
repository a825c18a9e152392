//! Large single PUTs stored as chunks (docs/format.md, "Chunked single PUT"): round trips,
//! Range reads across chunk boundaries, reclaim on overwrite and delete, bad digests and
//! dropped clients leaving the previous object, the single-PUT limit, a SIGKILL mid-PUT,
//! and a big object streamed through the server with bounded memory.

use leofs_net::s3::auth::{encode_unsigned_chunk, encode_unsigned_final, format_amz_date, sign_v4, unix_now, SignedRequest, V4Credentials};
use leofs_net::s3::checksum::{ChecksumAlgo, Hasher, Md5};
use leofs_tests::http::{parse_response, Response};
use leofs_tests::{Server, ROOT_ACCESS_KEY, ROOT_SECRET_KEY};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;

// --- data: a deterministic stream, generated piece by piece -------------------------------

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Bytes `[off, off + out.len())` of the stream `seed`.
fn fill(seed: u64, off: u64, out: &mut [u8]) {
    let mut i = 0usize;
    while i < out.len() {
        let pos = off + i as u64;
        let word = splitmix(seed.wrapping_mul(0x1000_0000_01B3) ^ (pos / 8)).to_le_bytes();
        let from = (pos % 8) as usize;
        let n = (8 - from).min(out.len() - i);
        out[i..i + n].copy_from_slice(&word[from..from + n]);
        i += n;
    }
}

fn data(seed: u64, len: u64) -> Vec<u8> {
    let mut v = vec![0u8; len as usize];
    fill(seed, 0, &mut v);
    v
}

fn md5_hex(b: &[u8]) -> String {
    let mut h = Md5::new();
    h.update(b);
    hex(&h.finish())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A small deterministic generator for test choices.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = splitmix(self.0);
        self.0 % n.max(1)
    }
}

// --- requests -----------------------------------------------------------------------------

/// Signed request head fields: host, date, payload hash, `extra`, authorization.
fn signed(server: &Server, method: &str, path: &str, query: &str, extra: &[(&str, &str)], payload: &str) -> (Vec<(String, String)>, leofs_net::s3::auth::ChunkSigner) {
    let date = format_amz_date(unix_now()).unwrap();
    let mut h: Vec<(String, String)> = vec![("host".into(), server.s3_addr.to_string()), ("x-amz-date".into(), date.clone()), ("x-amz-content-sha256".into(), payload.into())];
    h.extend(extra.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())));
    let names: Vec<&str> = h.iter().map(|(k, _)| k.as_str()).collect();
    let creds = V4Credentials { access_key: ROOT_ACCESS_KEY, secret_key: ROOT_SECRET_KEY, region: "us-east-1", service: "s3" };
    let sig = sign_v4(&SignedRequest::new(method, path, query, &h), &creds, &date, &names).unwrap();
    let signer = sig.chunk_signer();
    h.push(("authorization".into(), sig.authorization));
    (h, signer)
}

fn head_bytes(method: &str, target: &str, headers: &[(String, String)], more: &str) -> Vec<u8> {
    let mut s = format!("{method} {target} HTTP/1.1\r\n");
    for (k, v) in headers {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str(more);
    s.push_str("\r\n");
    s.into_bytes()
}

fn connect(server: &Server) -> TcpStream {
    let s = TcpStream::connect(server.s3_addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(120))).unwrap();
    s
}

fn read_all(mut s: TcpStream) -> Response {
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    parse_response(&out).unwrap()
}

/// PUT with a body of `len` bytes of stream `seed`, sent in 1 MiB pieces as generated
/// (UNSIGNED-PAYLOAD): the test never holds the object. Returns the response and the MD5
/// of what was sent.
fn put_stream(server: &Server, path: &str, seed: u64, len: u64, extra: &[(&str, &str)]) -> (Response, String) {
    put_stream_q(server, path, "", seed, len, extra)
}

/// [`put_stream`] with a query (e.g. an UploadPart's `partNumber=N&uploadId=ID`).
fn put_stream_q(server: &Server, path: &str, query: &str, seed: u64, len: u64, extra: &[(&str, &str)]) -> (Response, String) {
    let (h, _) = signed(server, "PUT", path, query, extra, "UNSIGNED-PAYLOAD");
    let mut s = connect(server);
    let target = if query.is_empty() { path.to_string() } else { format!("{path}?{query}") };
    s.write_all(&head_bytes("PUT", &target, &h, &format!("content-length: {len}\r\nconnection: close\r\n"))).unwrap();
    let mut md5 = Md5::new();
    let mut buf = vec![0u8; MIB as usize];
    let mut off = 0u64;
    while off < len {
        let n = (len - off).min(MIB) as usize;
        fill(seed, off, &mut buf[..n]);
        md5.update(&buf[..n]);
        s.write_all(&buf[..n]).unwrap();
        off += n as u64;
    }
    (read_all(s), hex(&md5.finish()))
}

/// PUT of `body` in one signed request (UNSIGNED-PAYLOAD).
fn put(server: &Server, path: &str, body: &[u8], extra: &[(&str, &str)]) -> Response {
    server.s3_root("PUT", path, "", extra, body)
}

fn get(server: &Server, path: &str, query: &str, extra: &[(&str, &str)]) -> Response {
    server.s3_root("GET", path, query, extra, b"")
}

/// GET streamed: the body is compared piece by piece with stream `seed` (and MD5-hashed)
/// as it arrives. Returns the status, the ETag and the MD5 of the body.
fn get_stream_check(server: &Server, path: &str, seed: u64, len: u64) -> (u16, String, String) {
    let (h, _) = signed(server, "GET", path, "", &[], leofs_net::s3::auth::EMPTY_SHA256_HEX);
    let mut s = connect(server);
    s.write_all(&head_bytes("GET", path, &h, "connection: close\r\n")).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut byte).unwrap(), 1, "connection closed inside the response head");
        head.push(byte[0]);
    }
    let r = parse_head(&head);
    let etag = r.header("etag").unwrap_or_default().trim_matches('"').to_string();
    let cl: u64 = r.header("content-length").unwrap().parse().unwrap();
    assert_eq!(cl, len, "Content-Length");
    let mut md5 = Md5::new();
    let mut got = vec![0u8; MIB as usize];
    let mut want = vec![0u8; MIB as usize];
    let mut off = 0u64;
    while off < len {
        let n = s.read(&mut got[..(len - off).min(MIB) as usize]).unwrap();
        assert!(n > 0, "body ended after {off} of {len} bytes");
        fill(seed, off, &mut want[..n]);
        assert!(got[..n] == want[..n], "body differs in [{off}, {})", off + n as u64);
        md5.update(&got[..n]);
        off += n as u64;
    }
    (r.status, etag, hex(&md5.finish()))
}

/// HEAD: status and headers (the harness's reader wants a body of Content-Length bytes).
fn head(server: &Server, path: &str) -> Response {
    let (h, _) = signed(server, "HEAD", path, "", &[], leofs_net::s3::auth::EMPTY_SHA256_HEX);
    let mut s = connect(server);
    s.write_all(&head_bytes("HEAD", path, &h, "connection: close\r\n")).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    parse_head(&out)
}

/// Status and headers of a response head (no body).
fn parse_head(raw: &[u8]) -> Response {
    let text = String::from_utf8_lossy(raw).into_owned();
    let mut lines = text.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).unwrap();
    let headers = lines.take_while(|l| !l.is_empty()).filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_string(), v.trim().to_string())).collect();
    Response { status, headers, body: Vec::new() }
}

/// PUT with `Expect: 100-continue`: the body goes only after the server's go-ahead, as
/// S3 clients send large bodies.
fn put_expect(server: &Server, path: &str, body: &[u8], extra: &[(&str, &str)]) -> Response {
    let (h, _) = signed(server, "PUT", path, "", extra, "UNSIGNED-PAYLOAD");
    let mut s = connect(server);
    s.write_all(&head_bytes("PUT", path, &h, &format!("content-length: {}\r\nexpect: 100-continue\r\nconnection: close\r\n", body.len()))).unwrap();
    let mut first = Vec::new();
    let mut byte = [0u8; 1];
    while !first.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).unwrap() == 0 {
            break;
        }
        first.push(byte[0]);
    }
    if first.starts_with(b"HTTP/1.1 100") {
        s.write_all(body).unwrap();
        return read_all(s);
    }
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    first.extend_from_slice(&rest);
    parse_response(&first).unwrap()
}

fn make_bucket(server: &Server, name: &str) {
    let r = server.s3_root("PUT", &format!("/{name}"), "", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
}

fn code(r: &Response) -> String {
    let t = r.text();
    t.split("<Code>").nth(1).and_then(|x| x.split("</Code>").next()).unwrap_or_default().to_string()
}

/// Per-shard values of an engine gauge from the admin `/metrics`, e.g. `leofs_engine_live_bytes`.
fn gauge(server: &Server, name: &str) -> Vec<u64> {
    let r = server.admin("GET", "/metrics", None);
    assert_eq!(r.status, 200);
    r.text().lines().filter(|l| l.starts_with(&format!("{name}{{"))).map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap() as u64).collect()
}

fn live(server: &Server) -> u64 {
    gauge(server, "leofs_engine_live_bytes").iter().sum()
}

/// A config file in the server's directory with `text`.
fn config_file(text: &str) -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("leofs-large-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("leofs.toml");
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// A server whose chunks are 1 MiB (objects above 1 MiB are chunked).
fn small_chunk_server(extra_config: &str) -> Server {
    let cfg = config_file(&format!("chunk_mib = 1\n{extra_config}"));
    Server::start_with(&["--config", &cfg, "--segment-mib", "32"], &[])
}

// --- tests --------------------------------------------------------------------------------

#[test]
fn chunked_put_get_head_ranges_and_part_numbers() {
    let server = small_chunk_server("");
    make_bucket(&server, "big");
    // Around the threshold: one record up to the chunk size, chunks above it.
    for (i, len) in [MIB - 1, MIB, MIB + 1, 2 * MIB, 3 * MIB + 12345].into_iter().enumerate() {
        let body = data(i as u64, len);
        let path = format!("/big/size-{len}");
        let r = put(&server, &path, &body, &[]);
        assert_eq!(r.status, 200, "{}", r.text());
        let tag = format!("\"{}\"", md5_hex(&body));
        assert_eq!(r.header("etag"), Some(tag.as_str()), "a single PUT's ETag is the body's MD5");
        let g = get(&server, &path, "", &[]);
        assert_eq!(g.status, 200);
        assert!(g.body == body, "round trip of {len} bytes");
        assert_eq!(g.header("etag"), Some(tag.as_str()));
        let h = head(&server, &path);
        assert_eq!((h.status, h.header("content-length"), h.header("etag")), (200, Some(len.to_string().as_str()), Some(tag.as_str())));
    }

    // 7.5 chunks, with a checksum: spread over both shards.
    let len = 7 * MIB + MIB / 2;
    let body = data(42, len);
    let crc = {
        let mut h = Hasher::new(ChecksumAlgo::Crc32);
        h.update(&body);
        h.finish_base64()
    };
    let r = put(&server, "/big/obj", &body, &[("x-amz-checksum-crc32", &crc), ("x-amz-meta-color", "blue"), ("content-type", "image/png")]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-amz-checksum-crc32"), Some(crc.as_str()));
    let per_shard = gauge(&server, "leofs_engine_live_bytes");
    assert!(per_shard.len() == 2 && per_shard.iter().all(|b| *b > MIB), "chunks on every shard: {per_shard:?}");
    let g = get(&server, "/big/obj", "", &[("x-amz-checksum-mode", "ENABLED")]);
    assert!(g.body == body);
    assert_eq!(g.header("x-amz-checksum-crc32"), Some(crc.as_str()), "a full-object checksum, no -N");
    assert_eq!(g.header("x-amz-meta-color"), Some("blue"));
    assert_eq!(g.header("content-type"), Some("image/png"));
    // Listed with its size and plain ETag.
    let l = get(&server, "/big", "list-type=2&prefix=obj", &[]);
    assert!(l.text().contains(&format!("<Size>{len}</Size>")), "{}", l.text());
    assert!(l.text().contains(&md5_hex(&body)), "{}", l.text());

    // Ranges: random offsets, chunk boundaries, suffixes, open ends.
    let mut rng = Rng(7);
    let mut ranges: Vec<(u64, u64)> = (0..40)
        .map(|_| {
            let s = rng.below(len);
            (s, s + rng.below((3 * MIB).min(len - s)))
        })
        .collect();
    ranges.extend([(MIB - 1, MIB), (MIB - 10, MIB + 10), (MIB, 2 * MIB - 1), (0, len - 1), (len - 1, len - 1), (3 * MIB - 5, 6 * MIB + 5)]);
    for (s, e) in ranges {
        let r = get(&server, "/big/obj", "", &[("range", &format!("bytes={s}-{e}"))]);
        assert_eq!(r.status, 206, "bytes={s}-{e}: {}", r.text());
        assert_eq!(r.header("content-range"), Some(format!("bytes {s}-{e}/{len}").as_str()));
        assert!(r.body == body[s as usize..=e as usize], "bytes={s}-{e}");
    }
    let r = get(&server, "/big/obj", "", &[("range", "bytes=-1000")]);
    assert!(r.status == 206 && r.body == body[(len - 1000) as usize..]);
    let r = get(&server, "/big/obj", "", &[("range", &format!("bytes={}-", 5 * MIB + 3))]);
    assert!(r.status == 206 && r.body == body[(5 * MIB + 3) as usize..]);
    let r = get(&server, "/big/obj", "", &[("range", &format!("bytes={len}-"))]);
    assert_eq!((r.status, code(&r)), (416, "InvalidRange".to_string()));

    // partNumber: a single PUT is its own part 1, whatever it is stored as.
    let r = get(&server, "/big/obj", "partNumber=1", &[]);
    assert_eq!(r.status, 200);
    assert!(r.body == body);
    assert_eq!(r.header("x-amz-mp-parts-count"), None);
    let r = get(&server, "/big/obj", "partNumber=2", &[]);
    assert_eq!((r.status, code(&r)), (416, "InvalidPartNumber".to_string()));

    // Copy of a chunked source: the same bytes and ETag, the checksum kept.
    let r = server.s3_root("PUT", "/big/copy", "", &[("x-amz-copy-source", "/big/obj")], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let g = get(&server, "/big/copy", "", &[("x-amz-checksum-mode", "ENABLED")]);
    assert!(g.body == body);
    assert_eq!(g.header("etag"), Some(format!("\"{}\"", md5_hex(&body)).as_str()));
    assert_eq!(g.header("x-amz-checksum-crc32"), Some(crc.as_str()));
}

#[test]
fn streaming_framings_of_large_bodies() {
    let server = small_chunk_server("");
    make_bucket(&server, "str");
    let len = 3 * MIB + 777;
    let body = data(9, len);

    // HTTP chunked, no length known up front: chunked above one chunk, whole below.
    for (key, b) in [("te-big", &body[..]), ("te-small", &body[..1000])] {
        let (h, _) = signed(&server, "PUT", &format!("/str/{key}"), "", &[], "UNSIGNED-PAYLOAD");
        let mut req = head_bytes("PUT", &format!("/str/{key}"), &h, "transfer-encoding: chunked\r\nconnection: close\r\n");
        for c in b.chunks(300_001) {
            req.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
            req.extend_from_slice(c);
            req.extend_from_slice(b"\r\n");
        }
        req.extend_from_slice(b"0\r\n\r\n");
        let r = leofs_tests::http::raw(server.s3_addr, &req).unwrap();
        assert_eq!(r.status, 200, "{key}: {}", r.text());
        let g = get(&server, &format!("/str/{key}"), "", &[]);
        assert!(g.body == b, "{key}");
        assert_eq!(g.header("etag"), Some(format!("\"{}\"", md5_hex(b)).as_str()));
    }

    // aws-chunked with chunk signatures; a tampered byte fails the signature and leaves the
    // previous object.
    let send_signed = |tamper: bool| {
        let (h, mut signer) =
            signed(&server, "PUT", "/str/signed", "", &[("content-encoding", "aws-chunked"), ("x-amz-decoded-content-length", &len.to_string())], "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
        let mut enc = Vec::new();
        for c in body.chunks(64 << 10) {
            signer.encode_chunk(c, &mut enc);
        }
        signer.encode_final(None, &mut enc);
        if tamper {
            let i = enc.len() - 1000;
            enc[i] ^= 1;
        }
        let mut req = head_bytes("PUT", "/str/signed", &h, &format!("content-length: {}\r\nconnection: close\r\n", enc.len()));
        req.extend_from_slice(&enc);
        leofs_tests::http::raw(server.s3_addr, &req).unwrap()
    };
    let r = send_signed(false);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(get(&server, "/str/signed", "", &[]).body == body);
    let before = live(&server);
    let r = send_signed(true);
    assert_eq!((r.status, code(&r)), (403, "SignatureDoesNotMatch".to_string()), "{}", r.text());
    assert!(get(&server, "/str/signed", "", &[]).body == body);
    let after = live(&server);
    assert!(after < before + 64 * 1024, "the failed PUT's chunks are deleted: live {before} -> {after}");

    // aws-chunked unsigned with a trailing checksum (boto3, aws cli): a wrong one is
    // BadDigest and leaves nothing.
    let crc = {
        let mut h = Hasher::new(ChecksumAlgo::Crc32);
        h.update(&body);
        h.finish_base64()
    };
    let put_trailer = |value: &str| {
        let (h, _) = signed(
            &server,
            "PUT",
            "/str/trailer",
            "",
            &[("content-encoding", "aws-chunked"), ("x-amz-decoded-content-length", &len.to_string()), ("x-amz-trailer", "x-amz-checksum-crc32")],
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        );
        let mut enc = Vec::new();
        for c in body.chunks(100_000) {
            encode_unsigned_chunk(c, &mut enc);
        }
        encode_unsigned_final(&[("x-amz-checksum-crc32", value)], &mut enc);
        let mut req = head_bytes("PUT", "/str/trailer", &h, &format!("content-length: {}\r\nconnection: close\r\n", enc.len()));
        req.extend_from_slice(&enc);
        leofs_tests::http::raw(server.s3_addr, &req).unwrap()
    };
    let r = put_trailer("AAAAAA==");
    assert_eq!((r.status, code(&r)), (400, "BadDigest".to_string()), "{}", r.text());
    assert_eq!(get(&server, "/str/trailer", "", &[]).status, 404);
    let r = put_trailer(&crc);
    assert_eq!(r.status, 200, "{}", r.text());
    let g = get(&server, "/str/trailer", "", &[("x-amz-checksum-mode", "ENABLED")]);
    assert!(g.body == body);
    assert_eq!(g.header("x-amz-checksum-crc32"), Some(crc.as_str()));
}

#[test]
fn overwrite_and_delete_reclaim_chunks() {
    let server = small_chunk_server("");
    make_bucket(&server, "rec");
    let base = live(&server);
    let len = 6 * MIB + 100;
    let v1 = data(1, len);
    assert_eq!(put(&server, "/rec/k", &v1, &[]).status, 200);
    let l1 = live(&server);
    assert!(l1 >= base + len, "live {base} -> {l1}");
    // Overwrite with another chunked version: the old chunks become garbage.
    let v2 = data(2, len);
    assert_eq!(put(&server, "/rec/k", &v2, &[]).status, 200);
    let l2 = live(&server);
    assert!(l2 < l1 + MIB / 2, "old chunks are deleted on overwrite: live {l1} -> {l2}");
    let garbage: u64 = gauge(&server, "leofs_engine_garbage_bytes").iter().sum();
    assert!(garbage >= len, "garbage {garbage}");
    assert!(get(&server, "/rec/k", "", &[]).body == v2);
    // Overwrite with a small object: the chunks go too.
    assert_eq!(put(&server, "/rec/k", b"tiny", &[]).status, 200);
    let l3 = live(&server);
    assert!(l3 < base + MIB / 2, "chunks deleted when a small object replaces them: live {base} -> {l3}");
    assert_eq!(get(&server, "/rec/k", "", &[]).body, b"tiny");
    // Chunked again, then DELETE.
    assert_eq!(put(&server, "/rec/k", &v1, &[]).status, 200);
    assert!(live(&server) >= base + len);
    assert_eq!(server.s3_root("DELETE", "/rec/k", "", &[], b"").status, 204);
    let l4 = live(&server);
    assert!(l4 < base + MIB / 2, "chunks deleted with their object: live {base} -> {l4}");
    assert_eq!(get(&server, "/rec/k", "", &[]).status, 404);
    // DeleteObjects too.
    assert_eq!(put(&server, "/rec/m", &v1, &[]).status, 200);
    let xml = "<Delete><Object><Key>m</Key></Object></Delete>";
    let md5 = {
        let mut h = Md5::new();
        h.update(xml.as_bytes());
        base64(&h.finish())
    };
    let r = server.s3_root("POST", "/rec", "delete=", &[("content-md5", &md5)], xml.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(live(&server) < base + MIB / 2);
    // Concurrent PUTs of one key: the object is one of them, whole.
    let (a, b) = (data(10, 3 * MIB + 1), data(11, 3 * MIB + 2));
    std::thread::scope(|s| {
        s.spawn(|| assert_eq!(put(&server, "/rec/race", &a, &[]).status, 200));
        s.spawn(|| assert_eq!(put(&server, "/rec/race", &b, &[]).status, 200));
    });
    let g = get(&server, "/rec/race", "", &[]);
    assert!(g.body == a || g.body == b, "one PUT wins whole");
}

fn base64(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn bad_digests_and_dropped_clients_leave_the_previous_object() {
    let server = small_chunk_server("");
    make_bucket(&server, "bad");
    let v1 = data(1, 2 * MIB + 5);
    assert_eq!(put(&server, "/bad/k", &v1, &[]).status, 200);
    let l1 = live(&server);
    let v2 = data(2, 5 * MIB + 5);
    // Content-MD5 of other bytes: BadDigest once the whole body is in, after its chunks
    // were written; they are deleted and v1 stays.
    let wrong = base64(&[7u8; 16]);
    let r = put(&server, "/bad/k", &v2, &[("content-md5", &wrong)]);
    assert_eq!((r.status, code(&r)), (400, "BadDigest".to_string()), "{}", r.text());
    assert!(get(&server, "/bad/k", "", &[]).body == v1);
    let l2 = live(&server);
    assert!(l2 < l1 + 64 * 1024, "the failed PUT's chunks are deleted: live {l1} -> {l2}");
    // A wrong x-amz-checksum-crc32 likewise.
    let r = put(&server, "/bad/k", &v2, &[("x-amz-checksum-crc32", "AAAAAA==")]);
    assert_eq!((r.status, code(&r)), (400, "BadDigest".to_string()), "{}", r.text());
    assert!(get(&server, "/bad/k", "", &[]).body == v1);
    // A client that goes away mid-body.
    let (h, _) = signed(&server, "PUT", "/bad/k", "", &[], "UNSIGNED-PAYLOAD");
    let mut s = connect(&server);
    s.write_all(&head_bytes("PUT", "/bad/k", &h, &format!("content-length: {}\r\n", v2.len()))).unwrap();
    s.write_all(&v2[..(3 * MIB + 17) as usize]).unwrap();
    s.shutdown(Shutdown::Both).unwrap();
    drop(s);
    let t = Instant::now();
    loop {
        let l = live(&server);
        if l < l1 + 64 * 1024 {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "chunks of a dropped PUT are deleted: live {l1} -> {l}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(get(&server, "/bad/k", "", &[]).body == v1);
    // A matching Content-MD5 works.
    let right = {
        let mut h = Md5::new();
        h.update(&v2);
        base64(&h.finish())
    };
    assert_eq!(put(&server, "/bad/k", &v2, &[("content-md5", &right)]).status, 200);
    assert!(get(&server, "/bad/k", "", &[]).body == v2);
    // Conditional: If-None-Match: * on an existing key fails before the body is read.
    let r = put_expect(&server, "/bad/k", &v1, &[("if-none-match", "*")]);
    assert_eq!((r.status, code(&r)), (412, "PreconditionFailed".to_string()));
    let r = put_expect(&server, "/bad/fresh", &v2, &[("if-none-match", "*")]);
    assert_eq!(r.status, 200, "{}", r.text());
    let tag = md5_hex(&v2);
    let r = put(&server, "/bad/fresh", &v1, &[("if-match", &format!("\"{tag}\""))]);
    assert_eq!(r.status, 200, "{}", r.text());
    let r = put_expect(&server, "/bad/fresh", &v2, &[("if-match", &format!("\"{tag}\""))]);
    assert_eq!(r.status, 412);
    assert!(get(&server, "/bad/fresh", "", &[]).body == v1);
}

#[test]
fn single_put_limit_is_entity_too_large() {
    let server = small_chunk_server("max_put_mib = 3\n");
    make_bucket(&server, "lim");
    let base = live(&server);
    // Refused from Content-Length, before the body: no 100 Continue, no bytes read.
    let (h, _) = signed(&server, "PUT", "/lim/k", "", &[], "UNSIGNED-PAYLOAD");
    let mut s = connect(&server);
    s.write_all(&head_bytes("PUT", "/lim/k", &h, &format!("content-length: {}\r\nexpect: 100-continue\r\nconnection: close\r\n", 3 * MIB + 1))).unwrap();
    let r = read_all(s);
    assert_eq!((r.status, code(&r)), (400, "EntityTooLarge".to_string()), "{}", r.text());
    // At the limit: fine.
    assert_eq!(put(&server, "/lim/k", &data(1, 3 * MIB), &[]).status, 200);
    let at_limit = live(&server);
    // No length up front (HTTP chunked): refused once the limit is passed, chunks deleted.
    let body = data(2, 3 * MIB + MIB / 2);
    let (h, _) = signed(&server, "PUT", "/lim/te", "", &[], "UNSIGNED-PAYLOAD");
    let mut req = head_bytes("PUT", "/lim/te", &h, "transfer-encoding: chunked\r\nconnection: close\r\n");
    for c in body.chunks(1 << 16) {
        req.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        req.extend_from_slice(c);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let mut s = connect(&server);
    // The server may answer and close before taking the whole body.
    let _ = s.write_all(&req);
    let r = read_all(s);
    assert_eq!((r.status, code(&r)), (400, "EntityTooLarge".to_string()), "{}", r.text());
    assert_eq!(get(&server, "/lim/te", "", &[]).status, 404);
    let l = live(&server);
    assert!(l < at_limit + 64 * 1024, "no chunks left behind: live {at_limit} -> {l} (base {base})");
    // aws-chunked: the decoded length decides.
    let (h, _) = signed(&server, "PUT", "/lim/aws", "", &[("content-encoding", "aws-chunked"), ("x-amz-decoded-content-length", &(3 * MIB + 1).to_string())], "STREAMING-UNSIGNED-PAYLOAD-TRAILER");
    let mut s = connect(&server);
    let mut req = head_bytes("PUT", "/lim/aws", &h, "content-length: 10\r\nconnection: close\r\n");
    req.extend_from_slice(b"0123456789");
    s.write_all(&req).unwrap();
    let r = read_all(s);
    assert_eq!((r.status, code(&r)), (400, "EntityTooLarge".to_string()), "{}", r.text());
}

#[test]
fn sigkill_mid_put_leaves_the_old_object_or_none() {
    let mut server = small_chunk_server("");
    make_bucket(&server, "kill");
    let v1 = data(1, 3 * MIB + 3);
    assert_eq!(put(&server, "/kill/k", &v1, &[]).status, 200);
    // Two PUTs cut off mid-body: an overwrite and a new key. Several chunks of each reach
    // the disk before the kill.
    let mut conns = Vec::new();
    for key in ["k", "fresh"] {
        let path = format!("/kill/{key}");
        let (h, _) = signed(&server, "PUT", &path, "", &[], "UNSIGNED-PAYLOAD");
        let mut s = connect(&server);
        s.write_all(&head_bytes("PUT", &path, &h, &format!("content-length: {}\r\n", 12 * MIB))).unwrap();
        let mut buf = vec![0u8; (7 * MIB + 5) as usize];
        fill(2, 0, &mut buf);
        s.write_all(&buf).unwrap();
        conns.push(s);
    }
    let before = live(&server);
    let t = Instant::now();
    while live(&server) < before + 10 * MIB && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    server.kill9();
    drop(conns);
    server.restart();
    let g = get(&server, "/kill/k", "", &[]);
    assert_eq!(g.status, 200);
    assert!(g.body == v1, "the old version, whole");
    assert_eq!(get(&server, "/kill/fresh", "", &[]).status, 404, "no partial object");
    let l = get(&server, "/kill", "list-type=2", &[]);
    assert!(l.text().contains(&format!("<Size>{}</Size>", v1.len())) && !l.text().contains("fresh"), "{}", l.text());
    // The key takes new versions afterwards.
    let v3 = data(3, 4 * MIB);
    assert_eq!(put(&server, "/kill/k", &v3, &[]).status, 200);
    assert!(get(&server, "/kill/k", "", &[]).body == v3);
}

/// VmRSS of process `pid` in bytes.
fn rss(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()).unwrap_or(0) * 1024
}

/// The pid of the `leofs` process serving `data_dir`.
fn pid_of(data_dir: &Path) -> u32 {
    let want = data_dir.display().to_string();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let args: Vec<String> = cmd.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if args.iter().any(|a| a == "server") && args.contains(&want) {
            return pid;
        }
    }
    panic!("no leofs process for {want}");
}

/// Samples the RSS of `pid` every 20 ms while `f` runs; returns f's result and the peak.
fn peak_rss<T>(pid: u32, f: impl FnOnce() -> T) -> (T, u64) {
    /// Stops the sampler however `f` ends (a panic too, or the scope would wait forever).
    struct Stop<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let sampler = s.spawn(|| {
            let mut peak = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r = rss(pid);
                peak = peak.max(r);
                std::thread::sleep(Duration::from_millis(20));
            }
            peak.max(rss(pid))
        });
        let out = {
            let _stop = Stop(&stop);
            f()
        };
        (out, sampler.join().unwrap())
    })
}

/// A big object streamed through `leofs server` (default chunks, 5 MiB): the server's RSS
/// rises by less than 64 MiB over the PUT and the GET, and the bytes come back exactly. So
/// does a multipart part of 192 MiB (above the 64 MiB largest record, so it is chunks).
/// Size: `LEOFS_BIG_MIB` MiB less 4321 bytes (not a whole number of chunks), 1024 MiB by
/// default; 5120 is S3's (and the default) single-PUT limit.
#[test]
fn big_object_streams_with_bounded_memory() {
    let mib: u64 = std::env::var("LEOFS_BIG_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let len = mib * MIB - 4321;
    let server = Server::start_with(&["--segment-mib", "512"], &[]);
    make_bucket(&server, "huge");
    let pid = pid_of(&server.data_dir);
    // Warm up the paths once (allocator arenas, buffers) with a small chunked object.
    let (r, _) = put_stream(&server, "/huge/warm", 5, 12 * MIB, &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    get_stream_check(&server, "/huge/warm", 5, 12 * MIB);
    let base = rss(pid);

    let t = Instant::now();
    let ((r, sent_md5), put_peak) = peak_rss(pid, || put_stream(&server, "/huge/obj", 77, len, &[]));
    let put_s = t.elapsed().as_secs_f64();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("etag"), Some(format!("\"{sent_md5}\"").as_str()));
    let h = head(&server, "/huge/obj");
    assert_eq!(h.header("content-length"), Some(len.to_string().as_str()));

    let t = Instant::now();
    let ((status, etag, got_md5), get_peak) = peak_rss(pid, || get_stream_check(&server, "/huge/obj", 77, len));
    let get_s = t.elapsed().as_secs_f64();
    assert_eq!(status, 200);
    assert_eq!((etag.as_str(), got_md5.as_str()), (sent_md5.as_str(), sent_md5.as_str()));

    // DELETE reclaims every chunk (inline, a few deletes at a time).
    let live_before = live(&server);
    let t = Instant::now();
    assert_eq!(server.s3_root("DELETE", "/huge/obj", "", &[], b"").status, 204);
    let del_s = t.elapsed().as_secs_f64();
    let live_after = live(&server);
    assert!(live_after + len <= live_before + MIB, "chunks reclaimed: live {live_before} -> {live_after}");

    let (pr, gr) = (put_peak.saturating_sub(base), get_peak.saturating_sub(base));
    eprintln!(
        "big object: {len} bytes; PUT {put_s:.1} s ({:.0} MiB/s), GET {get_s:.1} s ({:.0} MiB/s), DELETE {del_s:.2} s; RSS base {} MiB, PUT peak +{} MiB, GET peak +{} MiB",
        len as f64 / MIB as f64 / put_s,
        len as f64 / MIB as f64 / get_s,
        base / MIB,
        pr / MIB,
        gr / MIB
    );
    assert!(pr < 64 * MIB && gr < 64 * MIB, "RSS rose by {} MiB (PUT) / {} MiB (GET)", pr / MIB, gr / MIB);

    // One part of 192 MiB, streamed in: the part is never held whole.
    let part_len = 192 * MIB + 11;
    let r = server.s3_root("POST", "/huge/mp", "uploads=", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let id = elem(&r.text(), "UploadId");
    let base = rss(pid);
    let ((r, part_md5), part_peak) = peak_rss(pid, || put_stream_q(&server, "/huge/mp", &format!("partNumber=1&uploadId={id}"), 78, part_len, &[]));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("etag"), Some(format!("\"{part_md5}\"").as_str()));
    let xml = complete_xml(&[(1, &format!("\"{part_md5}\""))]);
    let r = server.s3_root("POST", "/huge/mp", &format!("uploadId={id}"), &[], xml.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    let (status, _, got_md5) = get_stream_check(&server, "/huge/mp", 78, part_len);
    assert_eq!((status, got_md5.as_str()), (200, part_md5.as_str()));
    let grew = part_peak.saturating_sub(base);
    eprintln!("a {part_len}-byte part: RSS peak +{} MiB", grew / MIB);
    assert!(grew < 64 * MIB, "RSS rose by {} MiB over one part", grew / MIB);
}

/// Through a cluster gateway: the chunks go to storage nodes over the RING (the gateway's
/// default 5 MiB chunks), and every path works as on one node.
#[test]
fn cluster_gateway_stores_chunks_over_the_ring() {
    // No background scrub: it holds its stats lock across an await, and this test scrapes
    // the storage nodes' /metrics (which takes that lock on the same core).
    let c = leofs_tests::cluster::Cluster::start_opts(3, 1, &["--scrub-mib-per-sec", "0"]);
    let creds = c.creds();
    let s3 = |method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]| leofs_tests::http::s3(c.s3_addr, Some(&creds), method, path, "", headers, body).unwrap();
    assert_eq!(s3("PUT", "/ring", &[], b"").status, 200);
    let len = 40 * MIB + 11;
    let body = data(5, len);
    let r = s3("PUT", "/ring/big", &[], &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("etag"), Some(format!("\"{}\"", md5_hex(&body)).as_str()));
    let g = s3("GET", "/ring/big", &[], b"");
    assert!(g.status == 200 && g.body == body, "round trip through the cluster");
    let (s, e) = (5 * MIB - 3, 15 * MIB + 3);
    let g = s3("GET", "/ring/big", &[("range", &format!("bytes={s}-{e}"))], b"");
    assert!(g.status == 206 && g.body == body[s as usize..=e as usize]);
    // Chunks on more than one storage node.
    let live_of = |p: &leofs_tests::cluster::Proc| -> u64 {
        let r = leofs_tests::http::send(p.admin, "GET", "/metrics", &[], b"").unwrap();
        r.text().lines().filter(|l| l.starts_with("leofs_engine_live_bytes{")).map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap() as u64).sum()
    };
    let holding = c.storage.iter().filter(|p| live_of(p) > 5 * MIB).count();
    assert!(holding >= 2, "chunks spread over the storage nodes ({holding} hold some)");
    // Overwrite and delete reclaim the chunks on the nodes.
    let before: u64 = c.storage.iter().map(live_of).sum();
    assert_eq!(s3("PUT", "/ring/big", &[], b"small now").status, 200);
    assert_eq!(s3("GET", "/ring/big", &[], b"").body, b"small now");
    let after: u64 = c.storage.iter().map(live_of).sum();
    assert!(after + len <= before + MIB, "chunks deleted on overwrite: {before} -> {after}");
    assert_eq!(s3("DELETE", "/ring/big", &[], b"").status, 204);
    assert_eq!(s3("GET", "/ring/big", &[], b"").status, 404);

    // A multipart part larger than a chunk: its chunks spread over the RING too, and an
    // abort or a delete takes them all off every node.
    let s3q = |method: &str, path: &str, query: &str, body: &[u8]| leofs_tests::http::s3(c.s3_addr, Some(&creds), method, path, query, &[], body).unwrap();
    let total_live = || -> u64 { c.storage.iter().map(live_of).sum() };
    // The base once the deletes above have reached every copy (unchanged for 300 ms).
    let base = {
        let t = Instant::now();
        let mut last = total_live();
        loop {
            std::thread::sleep(Duration::from_millis(300));
            let now = total_live();
            if now == last || t.elapsed() > Duration::from_secs(10) {
                break now;
            }
            last = now;
        }
    };
    let (p1, p2) = (data(6, 12 * MIB + 5), data(7, MIB));
    let id = elem(&s3q("POST", "/ring/mp", "uploads=", b"").text(), "UploadId");
    let e1 = s3q("PUT", "/ring/mp", &format!("partNumber=1&uploadId={id}"), &p1).header("etag").unwrap().to_string();
    let e2 = s3q("PUT", "/ring/mp", &format!("partNumber=2&uploadId={id}"), &p2).header("etag").unwrap().to_string();
    let r = s3q("POST", "/ring/mp", &format!("uploadId={id}"), complete_xml(&[(1, &e1), (2, &e2)]).as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    let whole = [p1.as_slice(), &p2].concat();
    assert!(s3("GET", "/ring/mp", &[], b"").body == whole, "a multipart object with a chunked part, through the cluster");
    let (s, e) = (12 * MIB - 2, 12 * MIB + 9);
    let g = s3("GET", "/ring/mp", &[("range", &format!("bytes={s}-{e}"))], b"");
    assert!(g.status == 206 && g.body == whole[s as usize..=e as usize]);
    let gone = elem(&s3q("POST", "/ring/gone", "uploads=", b"").text(), "UploadId");
    assert_eq!(s3q("PUT", "/ring/gone", &format!("partNumber=1&uploadId={gone}"), &p1).status, 200);
    assert_eq!(s3q("DELETE", "/ring/gone", &format!("uploadId={gone}"), b"").status, 204);
    // A write is acknowledged by W (a delete by D) of the N = 3 copies: the last may land a
    // moment later, so the totals are polled, for a bounded time.
    let settled = |what: &str, ok: &dyn Fn(u64) -> bool| {
        let t = Instant::now();
        loop {
            let live = total_live();
            if ok(live) {
                return;
            }
            assert!(t.elapsed() < Duration::from_secs(10), "{what}: {base} -> {live} live bytes");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let copies = 3 * whole.len() as u64;
    settled("N copies of the object and nothing of the aborted upload", &|l| l >= base + copies && l < base + copies + MIB);
    assert_eq!(s3("DELETE", "/ring/mp", &[], b"").status, 204);
    settled("the parts and their chunks deleted on every node", &|l| l < base + MIB);
}

// --- multipart parts larger than a chunk (docs/format.md, "Large parts") -----------------

/// The text of the first `<tag>` element of an XML body.
fn elem(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let s = xml.find(&open).unwrap_or_else(|| panic!("no <{tag}> in {xml}")) + open.len();
    let e = xml[s..].find(&format!("</{tag}>")).expect("closing tag") + s;
    xml[s..e].to_string()
}

fn upload_part(server: &Server, path: &str, id: &str, n: u32, body: &[u8], extra: &[(&str, &str)]) -> Response {
    server.s3_root("PUT", path, &format!("partNumber={n}&uploadId={id}"), extra, body)
}

fn complete_xml(parts: &[(u32, &str)]) -> String {
    let parts: String = parts.iter().map(|(n, e)| format!("<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>")).collect();
    format!("<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>")
}

/// Parts larger than a chunk are streamed into chunks, so a part may exceed the largest
/// record (here 16 MiB: half of a 32 MiB segment), up to S3's 5 GiB. Replaced, left-out,
/// failed and aborted part uploads leave no live bytes; the object reads back whole, by
/// range across part and chunk boundaries, and by part number.
#[test]
fn large_parts_are_chunked_and_reclaimed() {
    let server = small_chunk_server("");
    make_bucket(&server, "mpl");
    let src = data(50, 6 * MIB + 77);
    assert_eq!(put(&server, "/mpl/src", &src, &[]).status, 200);
    let base = live(&server);

    let r = server.s3_root("POST", "/mpl/obj", "uploads=", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let id = elem(&r.text(), "UploadId");
    // Part 1: above the 16 MiB record limit that used to bound a part.
    let p1 = data(51, 17 * MIB + 5);
    let r = upload_part(&server, "/mpl/obj", &id, 1, &p1, &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    let e1 = r.header("etag").unwrap().to_string();
    assert_eq!(e1, format!("\"{}\"", md5_hex(&p1)), "a part's ETag is its MD5");
    // Part 2: first a chunked upload, then replaced by a copy of a source range (chunked).
    let p2a = data(52, 2 * MIB + MIB / 2);
    assert_eq!(upload_part(&server, "/mpl/obj", &id, 2, &p2a, &[]).status, 200);
    let (s, e) = (100u64, 5 * MIB + 106);
    let r = server.s3_root("PUT", "/mpl/obj", &format!("partNumber=2&uploadId={id}"), &[("x-amz-copy-source", "/mpl/src"), ("x-amz-copy-source-range", &format!("bytes={s}-{e}"))], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let p2 = src[s as usize..=e as usize].to_vec();
    let e2 = elem(&r.text(), "ETag").replace("&quot;", "\"");
    assert_eq!(e2, format!("\"{}\"", md5_hex(&p2)));
    // A part whose Content-MD5 is wrong is refused, and its chunks go.
    let wrong = base64(&[0u8; 16]);
    let r = upload_part(&server, "/mpl/obj", &id, 4, &data(53, 3 * MIB), &[("content-md5", &wrong)]);
    assert_eq!((r.status, code(&r)), (400, "BadDigest".to_string()), "{}", r.text());
    // Part 5 is uploaded but left out of the object.
    assert_eq!(upload_part(&server, "/mpl/obj", &id, 5, &data(54, 2 * MIB), &[]).status, 200);
    // Part 3, the last: one record.
    let p3 = data(55, 700 * 1024);
    let e3 = upload_part(&server, "/mpl/obj", &id, 3, &p3, &[]).header("etag").unwrap().to_string();
    let parts = server.s3_root("GET", "/mpl/obj", &format!("uploadId={id}"), &[], b"").text();
    for (n, len) in [(1, p1.len()), (2, p2.len()), (3, p3.len()), (5, 2 * MIB as usize)] {
        assert!(parts.contains(&format!("<PartNumber>{n}</PartNumber>")) && parts.contains(&format!("<Size>{len}</Size>")), "part {n}: {parts}");
    }
    assert!(!parts.contains("<PartNumber>4</PartNumber>"), "{parts}");

    let xml = complete_xml(&[(1, &e1), (2, &e2), (3, &e3)]);
    let r = server.s3_root("POST", "/mpl/obj", &format!("uploadId={id}"), &[], xml.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    let want_etag = {
        let mut h = Md5::new();
        for p in [&p1, &p2, &p3] {
            let mut m = Md5::new();
            m.update(p);
            h.update(&m.finish());
        }
        format!("\"{}-3\"", hex(&h.finish()))
    };
    let body: Vec<u8> = [p1.as_slice(), &p2, &p3].concat();
    let len = body.len() as u64;
    let g = get(&server, "/mpl/obj", "", &[]);
    assert_eq!(g.status, 200);
    assert!(g.body == body, "the object reads back whole");
    assert_eq!(g.header("etag"), Some(want_etag.as_str()));
    // Only the object's bytes stay live: the replaced part 2, part 4's chunks, part 5 and
    // the upload state are gone (record heads and manifests are small).
    let grew = live(&server) - base;
    assert!(grew >= len && grew < len + MIB / 4, "live bytes grew by {grew} for a {len}-byte object");

    let mut rng = Rng(11);
    let mut ranges: Vec<(u64, u64)> = (0..30)
        .map(|_| {
            let s = rng.below(len);
            (s, s + rng.below((4 * MIB).min(len - s)))
        })
        .collect();
    let b1 = p1.len() as u64;
    let b2 = b1 + p2.len() as u64;
    ranges.extend([(b1 - 3, b1 + 3), (b2 - 1, b2), (MIB - 1, MIB + 1), (b1 + MIB - 2, b1 + MIB + 2), (0, len - 1), (b1 - MIB, b2 + 10)]);
    for (s, e) in ranges {
        let r = get(&server, "/mpl/obj", "", &[("range", &format!("bytes={s}-{e}"))]);
        assert_eq!(r.status, 206, "bytes={s}-{e}: {}", r.text());
        assert!(r.body == body[s as usize..=e as usize], "bytes={s}-{e}");
    }
    for (n, p) in [(1, &p1), (2, &p2), (3, &p3)] {
        let r = get(&server, "/mpl/obj", &format!("partNumber={n}"), &[]);
        assert_eq!(r.status, 206, "part {n}: {}", r.text());
        assert_eq!(r.header("x-amz-mp-parts-count"), Some("3"));
        assert!(r.body == **p, "part {n}");
    }
    // A chunked copy of the multipart object reads back the same.
    let r = server.s3_root("PUT", "/mpl/copy", "", &[("x-amz-copy-source", "/mpl/obj")], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(get(&server, "/mpl/copy", "", &[]).body == body);
    assert_eq!(server.s3_root("DELETE", "/mpl/copy", "", &[], b"").status, 204);

    // An aborted upload of a large part leaves nothing.
    let r = server.s3_root("POST", "/mpl/gone", "uploads=", &[], b"");
    let id2 = elem(&r.text(), "UploadId");
    assert_eq!(upload_part(&server, "/mpl/gone", &id2, 1, &data(56, 3 * MIB + 1), &[]).status, 200);
    assert!(live(&server) - base >= len + 3 * MIB);
    assert_eq!(server.s3_root("DELETE", "/mpl/gone", &format!("uploadId={id2}"), &[], b"").status, 204);
    let grew = live(&server) - base;
    assert!(grew < len + MIB / 4, "abort left {grew} live bytes");
    // Deleting the object deletes its parts and their chunks.
    assert_eq!(server.s3_root("DELETE", "/mpl/obj", "", &[], b"").status, 204);
    let after = live(&server);
    assert!(after < base + MIB / 4, "live {base} -> {after} after the delete");
    assert!(get(&server, "/mpl/src", "", &[]).body == src);
}

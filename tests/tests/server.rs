//! End-to-end behaviour of `leofs server` over real sockets: HTTP/1.1 framing (keep-alive,
//! pipelining, 100-continue, chunked), every S3 payload mode (signed chunks, unsigned
//! trailer), limits and timeouts, startup errors, graceful shutdown and durability
//! across SIGKILL.

use leofs_net::s3::auth::{encode_unsigned_chunk, encode_unsigned_final, format_amz_date, sign_v4, unix_now, SignedRequest, V4Credentials};
use leofs_tests::http::{parse_response, Response};
use leofs_tests::{bin_path, Server, ROOT_ACCESS_KEY, ROOT_SECRET_KEY};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Reads exactly one response (head + Content-Length body) from a keep-alive stream.
fn read_one(s: &mut TcpStream, buf: &mut Vec<u8>) -> Response {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head.lines().find_map(|l| l.strip_prefix("content-length:")).map_or(0, |v| v.trim().parse().unwrap());
            let total = end + 4 + len;
            if buf.len() >= total {
                let r = parse_response(&buf[..total]).unwrap();
                buf.drain(..total);
                return r;
            }
        }
        let mut tmp = [0u8; 65536];
        let n = s.read(&mut tmp).unwrap();
        assert!(n > 0, "server closed the connection early");
        buf.extend_from_slice(&tmp[..n]);
    }
}

/// Signs a request's headers for SigV4 and returns the header lines to send.
fn signed_headers(addr: SocketAddr, method: &str, path: &str, extra: &[(&str, &str)], payload: &str) -> (Vec<(String, String)>, leofs_net::s3::auth::ChunkSigner) {
    let date = format_amz_date(unix_now()).unwrap();
    let mut h: Vec<(String, String)> = vec![("host".into(), addr.to_string()), ("x-amz-date".into(), date.clone()), ("x-amz-content-sha256".into(), payload.into())];
    h.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let names: Vec<&str> = h.iter().map(|(k, _)| k.as_str()).collect();
    let creds = V4Credentials { access_key: ROOT_ACCESS_KEY, secret_key: ROOT_SECRET_KEY, region: "us-east-1", service: "s3" };
    let sig = sign_v4(&SignedRequest::new(method, path, "", &h), &creds, &date, &names).unwrap();
    let signer = sig.chunk_signer();
    h.push(("authorization".into(), sig.authorization));
    (h, signer)
}

fn head_bytes(method: &str, path: &str, headers: &[(String, String)], more: &str) -> Vec<u8> {
    let mut s = format!("{method} {path} HTTP/1.1\r\n");
    for (k, v) in headers {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str(more);
    s.push_str("\r\n");
    s.into_bytes()
}

fn make_bucket(server: &Server, name: &str) {
    let r = server.s3_root("PUT", &format!("/{name}"), "", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn keep_alive_pipelining_and_100_continue() {
    let server = Server::start();
    make_bucket(&server, "pipe");
    for i in 0..3 {
        let r = server.s3_root("PUT", &format!("/pipe/k{i}"), "", &[], format!("value-{i}").as_bytes());
        assert_eq!(r.status, 200);
    }
    // Three pipelined GETs in one write: three responses, in order, on one connection.
    let mut s = connect(server.s3_addr);
    let mut all = Vec::new();
    for i in 0..3 {
        let (h, _) = signed_headers(server.s3_addr, "GET", &format!("/pipe/k{i}"), &[], leofs_net::s3::auth::EMPTY_SHA256_HEX);
        all.extend(head_bytes("GET", &format!("/pipe/k{i}"), &h, ""));
    }
    s.write_all(&all).unwrap();
    let mut buf = Vec::new();
    for i in 0..3 {
        let r = read_one(&mut s, &mut buf);
        assert_eq!(r.status, 200);
        assert_eq!(r.body, format!("value-{i}").as_bytes());
    }
    // Expect: 100-continue: the server says go before the body is sent.
    let body = vec![7u8; 100_000];
    let (h, _) = signed_headers(server.s3_addr, "PUT", "/pipe/big", &[], "UNSIGNED-PAYLOAD");
    s.write_all(&head_bytes("PUT", "/pipe/big", &h, &format!("content-length: {}\r\nexpect: 100-continue\r\n", body.len()))).unwrap();
    let mut cont = [0u8; 25];
    s.read_exact(&mut cont).unwrap();
    assert_eq!(&cont, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(&body).unwrap();
    let r = read_one(&mut s, &mut buf);
    assert_eq!(r.status, 200, "{}", r.text());
    // A refused request with Expect gets its error without a 100 (the body is never sent).
    s.write_all(b"PUT /pipe/nope HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\n\r\n").unwrap();
    let r = read_one(&mut s, &mut buf);
    assert_eq!(r.status, 403);
    assert!(r.text().contains("<Code>AccessDenied</Code>"));
}

#[test]
fn streaming_payload_modes() {
    let server = Server::start();
    make_bucket(&server, "stream");
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    // STREAMING-AWS4-HMAC-SHA256-PAYLOAD: 64 KiB signed chunks (minio-go, warp).
    let send_signed = |tamper: bool| {
        let (h, mut signer) = signed_headers(
            server.s3_addr,
            "PUT",
            "/stream/signed",
            &[("content-encoding", "aws-chunked"), ("x-amz-decoded-content-length", &data.len().to_string())],
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        );
        let mut body = Vec::new();
        for c in data.chunks(65536) {
            signer.encode_chunk(c, &mut body);
        }
        signer.encode_final(None, &mut body);
        if tamper {
            let i = body.len() / 2;
            body[i] ^= 1;
        }
        let mut req = head_bytes("PUT", "/stream/signed", &h, &format!("content-length: {}\r\nconnection: close\r\n", body.len()));
        req.extend_from_slice(&body);
        leofs_tests::http::raw(server.s3_addr, &req).unwrap()
    };
    let r = send_signed(false);
    assert_eq!(r.status, 200, "{}", r.text());
    let r = server.s3_root("GET", "/stream/signed", "", &[], b"");
    assert_eq!(r.body, data);
    let r = send_signed(true);
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("SignatureDoesNotMatch"), "{}", r.text());

    // STREAMING-UNSIGNED-PAYLOAD-TRAILER inside HTTP chunked (boto3 / aws cli over HTTPS).
    let crc = {
        let mut h = leofs_net::s3::checksum::Hasher::new(leofs_net::s3::checksum::ChecksumAlgo::Crc32);
        h.update(&data);
        h.finish_base64()
    };
    let put_trailer = |value: &str| {
        let (h, _) = signed_headers(
            server.s3_addr,
            "PUT",
            "/stream/trailer",
            &[("content-encoding", "aws-chunked"), ("x-amz-decoded-content-length", &data.len().to_string()), ("x-amz-trailer", "x-amz-checksum-crc32"), ("x-amz-sdk-checksum-algorithm", "CRC32")],
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        );
        let mut inner = Vec::new();
        for c in data.chunks(50_000) {
            encode_unsigned_chunk(c, &mut inner);
        }
        encode_unsigned_final(&[("x-amz-checksum-crc32", value)], &mut inner);
        // The outer HTTP chunked framing, in uneven pieces.
        let mut outer = Vec::new();
        for c in inner.chunks(7777) {
            outer.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
            outer.extend_from_slice(c);
            outer.extend_from_slice(b"\r\n");
        }
        outer.extend_from_slice(b"0\r\n\r\n");
        let mut req = head_bytes("PUT", "/stream/trailer", &h, "transfer-encoding: chunked\r\nconnection: close\r\n");
        req.extend_from_slice(&outer);
        leofs_tests::http::raw(server.s3_addr, &req).unwrap()
    };
    let r = put_trailer(&crc);
    assert_eq!(r.status, 200, "{}", r.text());
    let r = server.s3_root("GET", "/stream/trailer", "", &[("x-amz-checksum-mode", "ENABLED")], b"");
    assert_eq!(r.body, data);
    assert_eq!(r.header("x-amz-checksum-crc32"), Some(crc.as_str()));
    let r = put_trailer("AAAAAA==");
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("BadDigest"), "{}", r.text());
}

#[test]
fn limits_bad_input_and_timeouts() {
    let server = Server::start_with(&["--read-timeout-ms", "400", "--idle-timeout-ms", "600"], &[]);
    // Oversized head -> 431; overlong URL -> 414; garbage -> 400; chunked framing errors -> 400.
    let big = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(20_000));
    assert_eq!(leofs_tests::http::raw(server.s3_addr, big.as_bytes()).unwrap().status, 431);
    let long = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(9000));
    assert_eq!(leofs_tests::http::raw(server.s3_addr, long.as_bytes()).unwrap().status, 414);
    assert_eq!(leofs_tests::http::raw(server.s3_addr, b"\x16\x03\x01garbage\r\n\r\n").unwrap().status, 400);
    let r = leofs_tests::http::raw(server.s3_addr, b"PUT /b/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc").unwrap();
    assert_eq!(r.status, 400);
    // Every error carries a request id and S3 XML.
    assert!(r.header("x-amz-request-id").is_some());
    // A slow client that stops mid-head is cut off after the read timeout.
    let mut s = connect(server.s3_addr);
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let t = Instant::now();
    let mut b = [0u8; 16];
    let n = s.read(&mut b).unwrap_or(0);
    assert_eq!(n, 0, "connection closed");
    assert!(t.elapsed() < Duration::from_secs(5));
    // An idle keep-alive connection is closed after the idle timeout.
    let mut s = connect(server.s3_addr);
    let t = Instant::now();
    assert_eq!(s.read(&mut b).unwrap_or(0), 0);
    assert!(t.elapsed() >= Duration::from_millis(500) && t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // And the server still serves.
    assert_eq!(server.s3_root("GET", "/", "", &[], b"").status, 200);
}

fn leofs(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(bin_path("leofs"));
    c.args(args).env_remove("LEOFS_CONFIG");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn startup_errors_are_clear() {
    let server = Server::start();
    // Port in use: a second server must fail, not share the port.
    let dir = server.data_dir.parent().unwrap().join("second");
    let out = leofs(&["server", "--listen", &server.s3_addr.to_string(), "--admin-listen", "127.0.0.1:0", "--data-dir", dir.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("address already in use"), "{err}");
    // Bad config: the field and line are named.
    let cfg = dir.parent().unwrap().join("bad.toml");
    std::fs::write(&cfg, "listen = \"127.0.0.1:0\"\nshardz = 4\n").unwrap();
    let out = leofs(&["server", "--config", cfg.to_str().unwrap()], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("shardz") && err.contains("line 2"), "{err}");
    // A data directory on tmpfs is refused (O_DIRECT would not reach a disk).
    if std::path::Path::new("/dev/shm").is_dir() {
        let shm = format!("/dev/shm/leofs-test-{}", std::process::id());
        let out = leofs(&["server", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", &shm], &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        let _ = std::fs::remove_dir_all(&shm);
        assert!(!out.status.success() && err.contains("tmpfs") && err.contains("--allow-buffered-io"), "{err}");
    }
    // A data directory created with 2 shards refuses to start with 3.
    let out = leofs(&["server", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", server.data_dir.to_str().unwrap(), "--shards", "3"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("--shards 2"), "{err}");
}

#[test]
fn acknowledged_writes_survive_sigkill_and_sigterm_is_graceful() {
    let mut server = Server::start();
    make_bucket(&server, "durable");
    let mut expect = Vec::new();
    for i in 0..200 {
        let body = format!("object {i} ").repeat(i % 50 + 1).into_bytes();
        let r = server.s3_root("PUT", &format!("/durable/o{i:04}"), "", &[], &body);
        assert_eq!(r.status, 200);
        expect.push(body);
    }
    for i in (0..200).step_by(7) {
        assert_eq!(server.s3_root("DELETE", &format!("/durable/o{i:04}"), "", &[], b"").status, 204);
    }
    server.kill9();
    server.restart();
    for (i, body) in expect.iter().enumerate() {
        let r = server.s3_root("GET", &format!("/durable/o{i:04}"), "", &[], b"");
        if i % 7 == 0 {
            assert_eq!(r.status, 404, "deleted o{i:04} came back");
        } else {
            assert_eq!(r.status, 200, "o{i:04} lost after SIGKILL");
            assert_eq!(&r.body, body);
        }
    }
    let status = server.stop_sigterm();
    assert!(status.success(), "SIGTERM exit: {status:?}\n{}", server.log());
    assert!(server.log().contains("stopped cleanly"));
    server.restart();
    assert_eq!(server.s3_root("GET", "/durable/o0001", "", &[], b"").body, expect[1]);
}

#[test]
fn virtual_hosted_style_requests() {
    let server = Server::start_with(&["--domain", "s3.test"], &[]);
    make_bucket(&server, "vhost");
    // The same object, path-style and virtual-hosted (bucket in the Host header).
    assert_eq!(server.s3_root("PUT", "/vhost/a/b.txt", "", &[], b"hello vhost").status, 200);
    let host = format!("vhost.s3.test:{}", server.s3_addr.port());
    let date = format_amz_date(unix_now()).unwrap();
    let h: Vec<(String, String)> = vec![
        ("host".into(), host.clone()),
        ("x-amz-date".into(), date.clone()),
        ("x-amz-content-sha256".into(), leofs_net::s3::auth::EMPTY_SHA256_HEX.into()),
    ];
    let names: Vec<&str> = h.iter().map(|(k, _)| k.as_str()).collect();
    let creds = V4Credentials { access_key: ROOT_ACCESS_KEY, secret_key: ROOT_SECRET_KEY, region: "us-east-1", service: "s3" };
    let sig = sign_v4(&SignedRequest::new("GET", "/a/b.txt", "", &h), &creds, &date, &names).unwrap();
    let mut req = String::from("GET /a/b.txt HTTP/1.1\r\n");
    for (k, v) in &h {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("authorization: {}\r\nconnection: close\r\n\r\n", sig.authorization));
    let r = leofs_tests::http::raw(server.s3_addr, req.as_bytes()).unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, b"hello vhost");
}

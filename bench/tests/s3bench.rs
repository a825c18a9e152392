//! `leofs-bench` end to end: every workload against a real `leofs server` (the test
//! harness of leofs-tests), a couple of hundred operations each (a few uploads for
//! `multipart`), checked for zero errors, a sane JSON report and a clean bucket afterwards.
//! Also `--plain-http` against a tiny static server that answers with Content-Length and
//! chunked bodies, and `multipart`'s aborts against a fake S3 server that fails on purpose.

use leofs_tests::{Server, ROOT_ACCESS_KEY, ROOT_SECRET_KEY};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_leofs-bench");

/// Runs leofs-bench with `args` and returns its JSON report; panics with its stderr.
fn bench(endpoint: &str, args: &[&str]) -> Value {
    let out = Command::new(BIN)
        .args([
            "--endpoint",
            endpoint,
            "--access-key",
            ROOT_ACCESS_KEY,
            "--secret-key",
            ROOT_SECRET_KEY,
        ])
        .args([
            "--concurrency",
            "8",
            "--threads",
            "2",
            "--json",
            "--seed",
            "7",
        ])
        .args(args)
        .output()
        .expect("run leofs-bench");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "leofs-bench {args:?} failed ({}): {stderr}",
        out.status
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// The checks every report passes: no errors, `ops` operations, ordered percentiles.
fn check(r: &Value, ops: u64, names: &[&str]) {
    let total = &r["total"];
    assert_eq!(total["errors"], 0, "errors: {r:#}");
    assert_eq!(total["count"], ops, "{r:#}");
    let got: Vec<&str> = r["ops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["op"].as_str().unwrap())
        .collect();
    assert_eq!(got, names, "{r:#}");
    for o in r["ops"].as_array().unwrap() {
        let l = &o["latency_us"];
        let f = |k: &str| l[k].as_f64().unwrap();
        assert!(
            f("p50") > 0.0 && f("p50") <= f("p90") && f("p90") <= f("p99"),
            "{l}"
        );
        assert!(f("p99") <= f("p999") && f("p999") <= f("max"), "{l}");
        assert!(o["ops_per_sec"].as_f64().unwrap() > 0.0);
    }
    assert!(r["seconds"].as_f64().unwrap() > 0.0);
    let cpu = &r["client_cpu"];
    assert!(cpu["cpu_seconds"].as_f64().unwrap() >= 0.0, "{cpu}");
    assert!(r["server_cpu"]["per_1000_ops"].as_f64().is_some(), "{r:#}");
}

#[test]
fn every_workload_against_leofs() {
    let server = Server::start();
    let ep = format!("http://{}", server.s3_addr);
    // Any live pid exercises the --server-pid path; the harness does not expose the server's.
    let pid = std::process::id().to_string();
    let common = [
        "--bucket",
        "bench",
        "--ops",
        "200",
        "--objects",
        "100",
        "--server-pid",
        &pid,
    ];
    let run = |workload: &str, extra: &[&str]| {
        let prefix = format!("t-{workload}-{}/", extra.len());
        let mut a: Vec<&str> = vec![workload];
        a.extend_from_slice(&common);
        a.extend_from_slice(extra);
        a.extend_from_slice(&["--prefix", &prefix]);
        bench(&ep, &a)
    };

    let r = run("put", &[]);
    check(&r, 200, &["PUT"]);
    assert_eq!(r["total"]["bytes"], 200 * 4096);
    assert_eq!(r["connects"], 8, "keep-alive reuses the connections");
    assert_eq!(r["cleanup"]["deleted"], 200);
    assert_eq!(r["cleanup"]["left"], 0);

    let r = run(
        "put",
        &[
            "--keep-alive",
            "false",
            "--signed-payload",
            "--size",
            "100KiB",
        ],
    );
    check(&r, 200, &["PUT"]);
    assert!(
        r["connects"].as_u64().unwrap() >= 200,
        "one connection per request: {}",
        r["connects"]
    );
    assert_eq!(r["total"]["bytes"], 200 * 100 * 1024);

    let r = run("get", &["--size", "300KiB"]);
    check(&r, 200, &["GET"]);
    assert_eq!(r["prepared"], 100);
    assert_eq!(r["total"]["bytes"], 200 * 300 * 1024, "whole bodies read");
    assert_eq!(r["cleanup"]["deleted"], 100);

    let r = run("stat", &[]);
    check(&r, 200, &["STAT"]);

    let r = run("mixed", &["--size", "dist:1KiB-64KiB"]);
    check(&r, 200, &["GET", "PUT", "DELETE", "STAT"]);
    assert_eq!(r["cleanup"]["left"], 0);

    let r = run("delete", &[]);
    check(&r, 200, &["DELETE"]);
    assert_eq!(r["prepared"], 200, "delete prepares one object per --ops");

    let r = run("list", &["--list-max-keys", "30"]);
    check(&r, 200, &["LIST"]);
    // 100 objects in pages of 30: 30, 30, 30, 10, again and again.
    let listed = r["listed_objects"].as_u64().unwrap();
    assert!(
        (200 * 10..=200 * 30).contains(&listed) && listed % 10 == 0,
        "{listed}"
    );

    // Every run cleaned up after itself.
    let l = server.s3_root("GET", "/bench", "list-type=2", &[], b"");
    assert_eq!(l.status, 200);
    assert!(l.text().contains("<KeyCount>0</KeyCount>"), "{}", l.text());
}

#[test]
fn bad_credentials_and_bad_arguments_fail_cleanly() {
    let server = Server::start();
    let ep = format!("http://{}", server.s3_addr);
    let out = Command::new(BIN)
        .args([
            "--endpoint",
            &ep,
            "--access-key",
            ROOT_ACCESS_KEY,
            "--secret-key",
            "wrong",
            "get",
            "--ops",
            "5",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("403") && err.contains("SignatureDoesNotMatch"),
        "{err}"
    );
    // Parts under S3's 5 MiB minimum (but the last) are refused before anything is sent.
    let out = Command::new(BIN)
        .args(["--endpoint", &ep, "--access-key", "K", "--secret-key", "S"])
        .args(["multipart", "--size", "11MiB", "--part-size", "1MiB"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--part-size"));
}

const MIB: u64 = 1 << 20;

/// The rows of a report by name.
fn row<'a>(r: &'a Value, op: &str) -> &'a Value {
    r["ops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["op"] == op)
        .unwrap_or_else(|| panic!("no {op} row: {r:#}"))
}

#[test]
fn multipart_uploads_against_leofs() {
    // A part is one engine record, at most half a segment: 16 MiB segments take 5 MiB parts
    // (the harness's default 8 MiB would refuse them).
    let server = Server::start_with(&["--segment-mib", "16"], &[]);
    let ep = format!("http://{}", server.s3_addr);
    let pid = std::process::id().to_string();
    let bounded = [
        "--bucket",
        "mpu",
        "--duration",
        "120s",
        "--server-pid",
        &pid,
    ];

    // 3 uploads of 11 MiB: parts of 5, 5 and 1 MiB, all three at once (on --concurrency
    // 8 that is 2 uploads in flight over 6 connections).
    let mut a = vec!["multipart", "--ops", "3", "--size", "11MiB"];
    a.extend_from_slice(&["--part-size", "5MiB", "--part-concurrency", "3"]);
    a.extend_from_slice(&bounded);
    a.extend_from_slice(&["--prefix", "t-mp-1/"]);
    let r = bench(&ep, &a);
    check(&r, 3, &["MULTIPART", "CREATE", "UPLOAD-PART", "COMPLETE"]);
    assert_eq!(r["workload"], "multipart");
    assert_eq!(r["total"]["bytes"], 3 * 11 * MIB, "object bytes");
    let mp = row(&r, "MULTIPART");
    assert_eq!(
        (mp["count"].as_u64(), mp["errors"].as_u64()),
        (Some(3), Some(0))
    );
    assert_eq!(mp["bytes"], 3 * 11 * MIB);
    assert!(mp.get("phase_of").is_none(), "{mp}");
    let parts = row(&r, "UPLOAD-PART");
    assert_eq!(parts["count"], 9);
    assert_eq!(parts["bytes"], 3 * 11 * MIB);
    assert_eq!(parts["phase_of"], "MULTIPART");
    for phase in ["CREATE", "COMPLETE"] {
        let p = row(&r, phase);
        assert_eq!(
            (p["count"].as_u64(), p["bytes"].as_u64()),
            (Some(3), Some(0)),
            "{p}"
        );
    }
    // An upload takes at least as long as its slowest part.
    let max = |o: &Value| o["latency_us"]["max"].as_f64().unwrap();
    assert!(max(mp) >= max(parts), "{r:#}");
    assert_eq!(r["multipart"]["parts"], 3);
    assert_eq!(r["multipart"]["part_concurrency"], 3);
    assert_eq!(r["multipart"]["uploads_in_flight"], 2);
    assert_eq!(r["concurrency"], 6);
    assert_eq!(r["connects"], 6, "keep-alive reuses the connections");
    assert_eq!(r["prepared"], 0);
    assert_eq!(r["cleanup"]["deleted"], 3);
    assert_eq!(r["cleanup"]["left"], 0);

    // Parts one after the other, an exact multiple of the part size, kept: the objects
    // are there, whole, with a multipart ETag.
    let mut a = vec!["multipart", "--ops", "2", "--size", "10MiB", "--no-cleanup"];
    a.extend_from_slice(&["--part-concurrency", "1", "--prefix", "t-mp-2/"]);
    a.extend_from_slice(&bounded);
    let r = bench(&ep, &a);
    check(&r, 2, &["MULTIPART", "CREATE", "UPLOAD-PART", "COMPLETE"]);
    assert_eq!(row(&r, "UPLOAD-PART")["count"], 4);
    assert_eq!(r["total"]["bytes"], 2 * 10 * MIB);
    assert!(r["cleanup"].is_null());
    let l = server.s3_root("GET", "/mpu", "list-type=2&prefix=t-mp-2%2F", &[], b"");
    let text = l.text();
    assert!(text.contains("<KeyCount>2</KeyCount>"), "{text}");
    for key in text
        .split("<Key>")
        .skip(1)
        .filter_map(|s| s.split("</Key>").next())
    {
        let g = server.s3_root("GET", &format!("/mpu/{key}"), "", &[], b"");
        assert_eq!(g.status, 200);
        assert!(
            g.header("etag").unwrap().ends_with("-2\""),
            "{:?}",
            g.header("etag")
        );
        // Both parts are the first 5 MiB of the run's random buffer.
        assert_eq!(g.body.len() as u64, 10 * MIB);
        let (a, b) = g.body.split_at(5 * MIB as usize);
        assert!(a == b && a[..64] != [0; 64][..]);
        assert_eq!(
            server
                .s3_root("DELETE", &format!("/mpu/{key}"), "", &[], b"")
                .status,
            204
        );
    }

    // One part, signed payload, a new connection per request.
    let mut a = vec![
        "multipart",
        "--ops",
        "2",
        "--size",
        "100KiB",
        "--signed-payload",
    ];
    a.extend_from_slice(&["--keep-alive", "false", "--prefix", "t-mp-3/"]);
    a.extend_from_slice(&bounded);
    let r = bench(&ep, &a);
    check(&r, 2, &["MULTIPART", "CREATE", "UPLOAD-PART", "COMPLETE"]);
    assert_eq!(r["total"]["bytes"], 2 * 100 * 1024);
    assert_eq!(r["multipart"]["part_concurrency"], 1);
    // 8 connections opened up front, then 2 more per upload (create, part, complete).
    assert!(r["connects"].as_u64().unwrap() >= 12, "{}", r["connects"]);

    // Nothing left behind: no object, no upload in progress.
    let l = server.s3_root("GET", "/mpu", "list-type=2", &[], b"");
    assert!(l.text().contains("<KeyCount>0</KeyCount>"), "{}", l.text());
    let u = server.s3_root("GET", "/mpu", "uploads", &[], b"");
    assert_eq!(u.status, 200);
    assert!(!u.text().contains("<Upload>"), "{}", u.text());
}

/// How the fake S3 server of [`fake_s3`] misbehaves.
#[derive(Clone, Copy)]
enum Fail {
    /// UploadPart of part 2 answers 500 InternalError.
    Part2,
    /// CompleteMultipartUpload answers 200 with an error document (as S3 may).
    CompleteIn200,
}

/// A fake S3 server on std threads for the multipart workload (no authentication): the
/// bucket exists, uploads are created, parts accepted but for `fail`. Counts aborts.
fn fake_s3(fail: Fail) -> (String, Arc<AtomicU64>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let aborts = Arc::new(AtomicU64::new(0));
    let counter = aborts.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(s) = s else { return };
            let aborts = counter.clone();
            std::thread::spawn(move || {
                let mut w = s.try_clone().unwrap();
                let mut r = BufReader::new(s);
                loop {
                    let mut head = Vec::new();
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        head.push(line.trim_end().to_string());
                    }
                    let len: usize = head
                        .iter()
                        .filter_map(|h| h.split_once(':'))
                        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                        .map_or(0, |(_, v)| v.trim().parse().unwrap());
                    let mut body = vec![0; len];
                    r.read_exact(&mut body).unwrap();
                    let mut req = head[0].split(' ');
                    let (method, target) = (req.next().unwrap(), req.next().unwrap());
                    let query = target.split_once('?').map_or("", |(_, q)| q);
                    let (status, extra, xml) = match method {
                        "HEAD" => ("200 OK", "", String::new()),
                        "POST" if query == "uploads" => (
                            "200 OK",
                            "",
                            "<InitiateMultipartUploadResult><UploadId>up&amp;1</UploadId>\
                             </InitiateMultipartUploadResult>"
                                .to_string(),
                        ),
                        "PUT" if query == "partNumber=2&uploadId=up%261" => {
                            if matches!(fail, Fail::Part2) {
                                let e = "<Error><Code>InternalError</Code></Error>";
                                ("500 Internal Server Error", "", e.to_string())
                            } else {
                                ("200 OK", "ETag: \"p2\"\r\n", String::new())
                            }
                        }
                        "PUT" if query.ends_with("&uploadId=up%261") => {
                            ("200 OK", "ETag: \"p\"\r\n", String::new())
                        }
                        "POST" if query == "uploadId=up%261" => {
                            let e = "<Error><Code>InternalError</Code></Error>";
                            ("200 OK", "", e.to_string())
                        }
                        "DELETE" if query == "uploadId=up%261" => {
                            aborts.fetch_add(1, Ordering::Relaxed);
                            ("204 No Content", "", String::new())
                        }
                        _ => ("404 Not Found", "", String::new()),
                    };
                    let resp = format!(
                        "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\n\r\n{xml}",
                        xml.len()
                    );
                    if w.write_all(resp.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), aborts)
}

#[test]
fn multipart_failures_abort_the_upload() {
    for (fail, phase, parts) in [
        (Fail::Part2, "UPLOAD-PART 500 InternalError", 1),
        (Fail::CompleteIn200, "COMPLETE 200 InternalError", 3),
    ] {
        let (ep, aborts) = fake_s3(fail);
        let out = Command::new(BIN)
            .args(["--endpoint", &ep, "--access-key", "K", "--secret-key", "S"])
            .args([
                "--threads",
                "1",
                "--concurrency",
                "1",
                "--json",
                "multipart",
            ])
            .args(["--ops", "2", "--size", "11MiB", "--part-concurrency", "1"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(aborts.load(Ordering::Relaxed), 2, "{r:#}");
        let mp = row(&r, "MULTIPART");
        assert_eq!(
            (mp["count"].as_u64(), mp["errors"].as_u64()),
            (Some(0), Some(2))
        );
        assert_eq!(mp["error_kinds"][phase], 2, "{r:#}");
        assert_eq!(r["total"]["errors"], 2, "an upload counts once");
        assert_eq!(row(&r, "ABORT")["count"], 2);
        assert_eq!(row(&r, "ABORT")["phase_of"], "MULTIPART");
        assert_eq!(row(&r, "UPLOAD-PART")["count"], 2 * parts);
        // Failed uploads made no object: nothing to clean up.
        assert_eq!(r["cleanup"]["deleted"], 0);
    }
}

/// A static HTTP/1.1 server on a std thread: answers every GET on a connection with a
/// 5000-byte body, alternating Content-Length and chunked framing, keep-alive.
fn static_server() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(s) = s else { return };
            std::thread::spawn(move || {
                let mut w = s.try_clone().unwrap();
                let mut r = BufReader::new(s);
                let body = vec![b'x'; 5000];
                for n in 0u64.. {
                    let mut line = String::new();
                    // Skip the request head.
                    loop {
                        line.clear();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut resp = Vec::new();
                    if n % 2 == 0 {
                        resp.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n");
                        resp.extend_from_slice(&body);
                    } else {
                        resp.extend_from_slice(
                            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                        );
                        for part in body.chunks(3000) {
                            resp.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
                            resp.extend_from_slice(part);
                            resp.extend_from_slice(b"\r\n");
                        }
                        resp.extend_from_slice(b"0\r\n\r\n");
                    }
                    if w.write_all(&resp).is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

#[test]
fn plain_http_reads_length_and_chunked_bodies() {
    let ep = static_server();
    let out = Command::new(BIN)
        .args([
            "--endpoint",
            &ep,
            "--plain-http",
            "/file",
            "get",
            "--ops",
            "300",
            "--concurrency",
            "4",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    check_plain(&r);
}

fn check_plain(r: &Value) {
    assert_eq!(r["total"]["errors"], 0, "{r:#}");
    assert_eq!(r["total"]["count"], 300);
    assert_eq!(r["total"]["bytes"], 300 * 5000);
    assert_eq!(r["connects"], 4);
    assert_eq!(r["prepared"], 0);
    assert!(r["cleanup"].is_null());
}

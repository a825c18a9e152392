//! `leofs-bench` end to end: every workload against a real `leofs server` (the test
//! harness of leofs-tests), a couple of hundred operations each, checked for zero errors,
//! a sane JSON report and a clean bucket afterwards. Also `--plain-http` against a tiny
//! static server that answers with Content-Length and chunked bodies.

use leofs_tests::{Server, ROOT_ACCESS_KEY, ROOT_SECRET_KEY};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;

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
    let out = Command::new(BIN)
        .args(["--endpoint", &ep, "multipart"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("multipart"));
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

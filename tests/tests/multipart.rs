//! Multipart uploads survive a SIGKILL: an upload interrupted mid-way (parts acknowledged,
//! one large part half sent) can be completed after restart, and another can be aborted;
//! neither leaves live bytes beyond the completed object.

use leofs_tests::Server;
use std::io::Write;
use std::net::TcpStream;

const MIB: usize = 1 << 20;

/// The text of the first `<tag>` element of an XML body.
fn elem(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let s = xml.find(&open).unwrap_or_else(|| panic!("no <{tag}> in {xml}")) + open.len();
    let e = xml[s..].find(&format!("</{tag}>")).expect("closing tag") + s;
    xml[s..e].to_string()
}

fn pattern(seed: u8, n: usize) -> Vec<u8> {
    (0..n).map(|i| (i as u32).wrapping_mul(2654435761).wrapping_add(seed as u32).to_be_bytes()[0]).collect()
}

fn create(server: &Server, key: &str) -> String {
    let r = server.s3_root("POST", &format!("/mpt/{key}"), "uploads=", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    elem(&r.text(), "UploadId")
}

fn part(server: &Server, key: &str, id: &str, n: u32, body: &[u8]) -> String {
    let r = server.s3_root("PUT", &format!("/mpt/{key}"), &format!("partNumber={n}&uploadId={id}"), &[], body);
    assert_eq!(r.status, 200, "{}", r.text());
    r.header("etag").expect("part etag").to_string()
}

#[test]
fn interrupted_upload_completes_or_aborts_after_sigkill() {
    // Parts of 5 MiB need records larger than the harness's default 8 MiB segments allow.
    let mut server = Server::start_with(&["--segment-mib", "64"], &[]);
    // Writable by anyone, so the raw request below needs no signature.
    assert_eq!(server.s3_root("PUT", "/mpt", "", &[("x-amz-acl", "public-read-write")], b"").status, 200);
    let parts = [pattern(1, 5 * MIB), pattern(2, 5 * MIB + 3), pattern(3, 1000)];
    let a = create(&server, "done");
    let e1 = part(&server, "done", &a, 1, &parts[0]);
    let e2 = part(&server, "done", &a, 2, &parts[1]);
    let b = create(&server, "dropped");
    part(&server, "dropped", &b, 1, &parts[0]);
    // A large part (chunks of 5 MiB) whose body is half sent when the server dies: its
    // first chunks are durable, its part record never written.
    let mut s = TcpStream::connect(server.s3_addr).unwrap();
    let head = format!("PUT /mpt/done?partNumber=3&uploadId={a} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", 16 * MIB);
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&pattern(4, 11 * MIB)).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    let before_kill = live_bytes(&server);
    server.kill9();
    drop(s);
    server.restart();

    // The acknowledged parts are there; the half-sent one is not.
    let r = server.s3_root("GET", "/mpt/done", &format!("uploadId={a}"), &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text().matches("<Part>").count(), 2, "{}", r.text());
    let uploads = server.s3_root("GET", "/mpt", "uploads=", &[], b"").text();
    assert!(uploads.contains(&a) && uploads.contains(&b), "{uploads}");
    let acked = (parts[0].len() * 2 + parts[1].len()) as u64;
    assert!(before_kill >= acked + 5 * MIB as u64, "the cut part wrote no chunk ({before_kill} live bytes)");

    let e3 = part(&server, "done", &a, 3, &parts[2]);
    let body = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{e1}</ETag></Part><Part><PartNumber>2</PartNumber><ETag>{e2}</ETag></Part><Part><PartNumber>3</PartNumber><ETag>{e3}</ETag></Part></CompleteMultipartUpload>"
    );
    let r = server.s3_root("POST", "/mpt/done", &format!("uploadId={a}"), &[], body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(elem(&r.text(), "ETag").ends_with("-3&quot;") || elem(&r.text(), "ETag").ends_with("-3\""), "{}", r.text());
    assert_eq!(server.s3_root("DELETE", "/mpt/dropped", &format!("uploadId={b}"), &[], b"").status, 204);

    // Both outcomes are durable across another SIGKILL.
    server.kill9();
    server.restart();
    let r = server.s3_root("GET", "/mpt/done", "", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, parts.concat());
    let r = server.s3_root("GET", "/mpt/done", "", &[("range", &format!("bytes={}-{}", 5 * MIB - 2, 5 * MIB + 1))], b"");
    assert_eq!(r.status, 206);
    assert_eq!(r.body, parts.concat()[5 * MIB - 2..5 * MIB + 2]);
    let uploads = server.s3_root("GET", "/mpt", "uploads=", &[], b"").text();
    assert!(!uploads.contains("<Upload>"), "{uploads}");
    assert_eq!(server.s3_root("GET", "/mpt/dropped", &format!("uploadId={b}"), &[], b"").status, 404);
    let list = server.s3_root("GET", "/mpt", "list-type=2", &[], b"").text();
    assert_eq!(list.matches("<Key>").count(), 1, "{list}");
    // The cut part's chunks went with the completion, the dropped upload's part with the
    // abort: only the object is live.
    let object = parts.iter().map(|p| p.len() as u64).sum::<u64>();
    let live = live_bytes(&server);
    assert!(live >= object && live < object + MIB as u64 / 4, "{live} live bytes for a {object}-byte object");
}

/// Uploads never completed are aborted once `multipart_expiry_secs` has passed (S3's
/// AbortIncompleteMultipartUpload, for every bucket): their parts go, the state goes, and
/// completed objects stay.
#[test]
fn stale_uploads_are_aborted_automatically() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("expiry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("leofs.toml");
    std::fs::write(&config, "multipart_expiry_secs = 2\n").unwrap();
    let server = Server::start_with(&["--config", config.to_str().unwrap()], &[]);
    assert_eq!(server.s3_root("PUT", "/mpt", "", &[], b"").status, 200);
    let stale = create(&server, "stale");
    part(&server, "stale", &stale, 1, b"part one");
    assert_eq!(server.s3_root("PUT", "/mpt/kept", "", &[], b"a plain object").status, 200);
    let t = std::time::Instant::now();
    loop {
        let uploads = server.s3_root("GET", "/mpt", "uploads=", &[], b"").text();
        if !uploads.contains(&stale) {
            break;
        }
        assert!(t.elapsed() < std::time::Duration::from_secs(15), "the upload was not aborted: {uploads}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let r = server.s3_root("GET", "/mpt/stale", &format!("uploadId={stale}"), &[], b"");
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(r.text().contains("NoSuchUpload"), "{}", r.text());
    assert_eq!(server.s3_root("GET", "/mpt/kept", "", &[], b"").body, b"a plain object");
    // A fresh upload is left alone until it is old enough.
    let fresh = create(&server, "fresh");
    assert!(server.s3_root("GET", "/mpt", "uploads=", &[], b"").text().contains(&fresh));
    let _ = std::fs::remove_dir_all(&dir);
}

fn live_bytes(server: &Server) -> u64 {
    let text = server.admin("GET", "/metrics", None).text();
    text.lines().filter(|l| l.starts_with("leofs_engine_live_bytes{")).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum::<f64>() as u64
}

/// The chunks a killed server had written for a PUT it never committed are reclaimed by the
/// background sweep once older than `multipart_expiry_secs`, without any queue: the keys
/// say which PUT they belong to, and no manifest names that one.
#[test]
fn chunks_of_a_put_cut_by_a_crash_are_reclaimed() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("orphans-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("leofs.toml");
    std::fs::write(&config, "multipart_expiry_secs = 2\n").unwrap();
    let mut server = Server::start_with(&["--config", config.to_str().unwrap(), "--segment-mib", "64"], &[]);
    // Writable by anyone, so the raw request below needs no signature.
    assert_eq!(server.s3_root("PUT", "/mpt", "", &[("x-amz-acl", "public-read-write")], b"").status, 200);
    let mut s = TcpStream::connect(server.s3_addr).unwrap();
    let head = format!("PUT /mpt/cut HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", 40 * MIB);
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&pattern(9, 24 * MIB)).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    server.kill9();
    drop(s);
    server.restart();
    let orphaned = live_bytes(&server);
    assert!(orphaned >= 8 * MIB as u64, "the cut PUT left no chunks to reclaim ({orphaned} live bytes)");
    assert_eq!(server.s3_root("GET", "/mpt/cut", "", &[], b"").status, 404);
    let t = std::time::Instant::now();
    loop {
        let live = live_bytes(&server);
        if live < MIB as u64 {
            break;
        }
        assert!(t.elapsed() < std::time::Duration::from_secs(20), "{live} live bytes remain of {orphaned}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

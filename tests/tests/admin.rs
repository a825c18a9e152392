//! `leofs-adm` and the admin API against a real `leofs server`: every command, what it does
//! to the S3 side, persistence across a restart, and JSON errors for bad input.

use leofs_tests::http::{self, Creds};
use leofs_tests::{bin_path, free_addr, Server, ROOT_ACCESS_KEY};
use std::process::Command;

/// The data rows of a `leofs-adm` table, cells trimmed (header and rule skipped).
fn rows(table: &str) -> Vec<Vec<String>> {
    table.lines().skip(2).map(|l| l.split(" | ").map(|c| c.trim().to_owned()).collect()).collect()
}

/// The key pair `create-user` printed.
fn created_keys(out: &str) -> Creds {
    let field = |name: &str| {
        let line = out.lines().find_map(|l| l.trim().strip_prefix(name));
        line.unwrap_or_else(|| panic!("no {name} in {out:?}")).trim().to_owned()
    };
    Creds::new(&field("access-key-id:"), &field("secret-access-key:"))
}

/// Runs `leofs-adm`, expecting it to fail with exit code 1; returns stderr.
fn adm_fails(server: &Server, args: &[&str]) -> String {
    let out = server.adm(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "leofs-adm {args:?} should fail; stdout: {}, stderr: {stderr}", String::from_utf8_lossy(&out.stdout));
    stderr
}

fn list_buckets_names(server: &Server, creds: &Creds) -> String {
    let r = server.s3(Some(creds), "GET", "/", "", &[], b"");
    assert_eq!(r.status, 200, "ListBuckets: {}", r.text());
    r.text()
}

#[test]
fn every_command_and_its_effect_on_s3() {
    let server = Server::start();

    let status = rows(&server.adm_ok(&["status"]).lines().skip(1).collect::<Vec<_>>().join("\n"));
    let item = |k: &str| status.iter().find(|r| r[0] == k).map(|r| r[1].clone());
    assert_eq!(item("node").as_deref(), Some("single"));
    assert_eq!(item("shards").as_deref(), Some("2"));
    assert_eq!(item("version").as_deref(), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(item("s3_listen"), Some(server.s3_addr.to_string()));

    let users = server.adm_ok(&["get-users"]);
    assert!(users.starts_with("user_id | role_id | access_key_id"), "{users}");
    assert!(rows(&users).iter().any(|r| r[..3] == ["root", "9", ROOT_ACCESS_KEY]), "{users}");

    // A new user gets a key pair that signs S3 requests at once.
    let alice = created_keys(&server.adm_ok(&["create-user", "alice"]));
    assert!(alice.access_key.starts_with("LEO") && alice.access_key.len() == 20, "{alice:?}");
    assert_eq!(alice.secret_key.len(), 40);
    let users = server.adm_ok(&["get-users"]);
    assert!(rows(&users).iter().any(|r| r[..3] == ["alice", "1", alice.access_key.as_str()]), "{users}");
    assert!(!users.contains(&alice.secret_key), "get-users must never show secrets");
    assert!(!list_buckets_names(&server, &alice).contains("<Name>"));

    // add-bucket takes the owner's access key, like LeoFS.
    assert_eq!(server.adm_ok(&["add-bucket", "photos", &alice.access_key]), "OK\n");
    let buckets = server.adm_ok(&["get-buckets"]);
    assert!(buckets.starts_with("bucket | owner | permissions"), "{buckets}");
    let row = rows(&buckets).into_iter().find(|r| r[0] == "photos").expect("photos listed");
    assert_eq!(row[1..3], ["alice", "Me(full_control)"]);
    assert!(row[3].ends_with(" +0000"), "{row:?}");
    assert!(list_buckets_names(&server, &alice).contains("<Name>photos</Name>"));
    assert_eq!(server.s3(Some(&alice), "PUT", "/photos/a.txt", "", &[], b"hello").status, 200);
    assert_eq!(server.s3(None, "GET", "/photos/a.txt", "", &[], b"").status, 403);

    // update-acl: public-read opens reads to anonymous callers, private closes them again.
    assert_eq!(server.adm_ok(&["update-acl", "photos", &alice.access_key, "public-read"]), "OK\n");
    let buckets = server.adm_ok(&["get-buckets"]);
    assert!(buckets.contains("| alice | Me(full_control), Everyone(read) |"), "{buckets}");
    let r = server.s3(None, "GET", "/photos/a.txt", "", &[], b"");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
    assert_eq!(server.s3(None, "PUT", "/photos/b.txt", "", &[], b"x").status, 403);
    assert_eq!(server.adm_ok(&["update-acl", "photos", &alice.access_key, "private"]), "OK\n");
    assert_eq!(server.s3(None, "GET", "/photos/a.txt", "", &[], b"").status, 403);

    // Refusals: clear message, exit code 1.
    let e = adm_fails(&server, &["update-acl", "photos", ROOT_ACCESS_KEY, "public-read"]);
    assert!(e.contains("owned by user 'alice'"), "{e}");
    let e = adm_fails(&server, &["add-bucket", "other", "NOSUCHKEY"]);
    assert!(e.contains("no such access key"), "{e}");
    let e = adm_fails(&server, &["add-bucket", "photos", ROOT_ACCESS_KEY]);
    assert!(e.contains("already exists"), "{e}");
    let e = adm_fails(&server, &["add-bucket", "Bad_Name", &alice.access_key]);
    assert!(e.contains("invalid bucket name"), "{e}");
    let e = adm_fails(&server, &["delete-user", "alice"]);
    assert!(e.contains("still owns 1 bucket(s): photos"), "{e}");
    let e = adm_fails(&server, &["create-user", "alice"]);
    assert!(e.contains("already exists"), "{e}");
    let e = adm_fails(&server, &["delete-user", "nobody"]);
    assert!(e.contains("no such user 'nobody'"), "{e}");
    let e = adm_fails(&server, &["update-acl", "photos", &alice.access_key, "everyone"]);
    assert!(e.contains("invalid value 'everyone'"), "{e}");

    // A deleted user's key stops working at once. LeoFS's password argument is accepted.
    let out = server.adm(&["create-user", "bob@example.com", "secret-password"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("password is ignored"));
    let bob = created_keys(&String::from_utf8_lossy(&out.stdout));
    list_buckets_names(&server, &bob);
    assert_eq!(server.adm_ok(&["delete-user", "bob@example.com"]), "OK\n");
    let r = server.s3(Some(&bob), "GET", "/", "", &[], b"");
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("InvalidAccessKeyId"), "{}", r.text());
    assert!(!server.adm_ok(&["get-users"]).contains("bob@example.com"));
}

#[test]
fn admin_changes_survive_a_restart() {
    let mut server = Server::start();
    let carol = created_keys(&server.adm_ok(&["create-user", "carol"]));
    server.adm_ok(&["add-bucket", "carol-data", &carol.access_key]);
    server.adm_ok(&["update-acl", "carol-data", &carol.access_key, "public-read-write"]);
    let (s3_addr, admin_addr) = (server.s3_addr, server.admin_addr);

    let status = server.stop_sigterm();
    assert!(status.success(), "SIGTERM exit: {status}\n{}", server.log());
    assert!(!server.is_running());
    server.restart();
    assert_eq!((server.s3_addr, server.admin_addr), (s3_addr, admin_addr));
    assert!(list_buckets_names(&server, &carol).contains("<Name>carol-data</Name>"));
    assert!(server.adm_ok(&["get-buckets"]).contains("Everyone(read,write)"));

    // A crash loses nothing acknowledged: catalog changes are durable when the API answers.
    server.adm_ok(&["create-user", "dave"]);
    server.kill9();
    server.restart();
    assert!(server.adm_ok(&["get-users"]).contains("dave"));
}

#[test]
fn leofs_adm_explains_an_unreachable_server() {
    let addr = free_addr();
    let out = Command::new(bin_path("leofs-adm")).args(["--endpoint", &format!("http://{addr}"), "get-users"]).output().expect("run leofs-adm");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("cannot reach leofs admin API at http://{addr}: is `leofs server` running?")), "{stderr}");
    // The same with the endpoint from the environment, without a scheme.
    let out = Command::new(bin_path("leofs-adm")).env("LEOFS_ADMIN_ENDPOINT", addr.to_string()).arg("status").output().expect("run leofs-adm");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach leofs admin API"));
}

/// An error reply: status and the JSON `code`.
fn error_of(r: &http::Response) -> (u16, String) {
    let j = r.json();
    assert!(j["error"].as_str().is_some_and(|m| !m.is_empty()), "error message missing: {j}");
    (r.status, j["code"].as_str().unwrap_or_default().to_owned())
}

#[test]
fn the_admin_api_answers_bad_input_with_json_errors() {
    let server = Server::start();
    let a = server.admin_addr;
    let err = |r: http::Response| error_of(&r);

    assert_eq!(err(http::raw(a, b"GARBAGE\r\n\r\n").unwrap()), (400, "BadRequest".into()));
    assert_eq!(err(server.admin("POST", "/v1/users", Some("not json"))), (400, "MalformedJSON".into()));
    assert_eq!(err(server.admin("POST", "/v1/users", Some(""))), (400, "MissingBody".into()));
    assert_eq!(err(server.admin("POST", "/v1/users", Some(r#"{"user_id":"x","bogus":1}"#))), (400, "MalformedJSON".into()));
    assert_eq!(err(server.admin("POST", "/v1/users", Some(r#"{"user_id":"a/b"}"#))), (400, "InvalidArgument".into()));
    assert_eq!(err(server.admin("POST", "/v1/buckets", Some(r#"{"bucket":"abc"}"#))), (400, "InvalidArgument".into()));
    assert_eq!(err(server.admin("POST", "/v1/buckets", Some(r#"{"bucket":"abc","owner":"ghost"}"#))), (404, "NoSuchUser".into()));
    assert_eq!(err(server.admin("PUT", "/v1/buckets/nope/acl", Some(r#"{"acl":"private"}"#))), (404, "NoSuchBucket".into()));
    assert_eq!(err(server.admin("PUT", "/v1/buckets/nope/acl", Some(r#"{"acl":"everyone"}"#))), (400, "InvalidArgument".into()));
    assert_eq!(err(server.admin("GET", "/v1/nope", None)), (404, "NotFound".into()));
    assert_eq!(err(server.admin("GET", "/v1/keys/NOSUCHKEY", None)), (404, "NoSuchAccessKey".into()));
    assert_eq!(err(server.admin("DELETE", "/v1/status", None)), (405, "MethodNotAllowed".into()));
    assert_eq!(err(server.admin("DELETE", "/v1/users/ghost", None)), (404, "NoSuchUser".into()));
    assert_eq!(err(server.admin("DELETE", "/v1/users/root", None)), (409, "LastAdmin".into()));
    let big = http::raw(a, b"POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n").unwrap();
    assert_eq!(err(big), (413, "EntityTooLarge".into()));
    let chunked = http::raw(a, b"POST /v1/users HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n").unwrap();
    assert_eq!(err(chunked), (411, "LengthRequired".into()));

    // Create, then look the key up; the secret appears in the create reply only.
    let created = server.admin("POST", "/v1/users", Some(r#"{"user_id":"erin","display_name":"Erin E."}"#));
    assert_eq!(created.status, 201, "{}", created.text());
    let (key, secret) = (created.json()["access_key_id"].as_str().unwrap().to_owned(), created.json()["secret_access_key"].as_str().unwrap().to_owned());
    let found = server.admin("GET", &format!("/v1/keys/{key}"), None);
    assert_eq!((found.status, found.json()["user_id"].as_str()), (200, Some("erin")));
    let users = server.admin("GET", "/v1/users", None);
    assert_eq!(users.header("Content-Type"), Some("application/json"));
    assert!(users.text().contains("Erin E.") && !users.text().contains(&secret));
    let b = server.admin("POST", "/v1/buckets", Some(&format!(r#"{{"bucket":"erin-b","access_key_id":"{key}","acl":"public-read"}}"#)));
    assert_eq!((b.status, b.json()["owner"].as_str(), b.json()["acl"].as_str()), (201, Some("erin"), Some("public-read")));

    // Keep-alive: pipelined requests on one connection, and Expect: 100-continue.
    let body = r#"{"user_id":"frank"}"#;
    let two = format!(
        "GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\nPOST /v1/users HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut raw = Vec::new();
    let mut s = std::net::TcpStream::connect(a).unwrap();
    std::io::Write::write_all(&mut s, two.as_bytes()).unwrap();
    std::io::Read::read_to_end(&mut s, &mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    let statuses: Vec<&str> = text.lines().filter(|l| l.starts_with("HTTP/1.1 ")).collect();
    assert_eq!(statuses, ["HTTP/1.1 200 OK", "HTTP/1.1 100 Continue", "HTTP/1.1 201 Created"], "{text}");

    // After all that the API still serves.
    let status = server.admin("GET", "/v1/status", None);
    assert_eq!((status.status, status.json()["node"].as_str()), (200, Some("single")));
    assert_eq!(status.json()["users"], 3);
}

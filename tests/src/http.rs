//! A minimal blocking HTTP/1.1 client over `std::net::TcpStream`, for end-to-end tests:
//! one request per connection (`Connection: close`), whole response read into memory. Also
//! SigV4-signed S3 requests, signed with the server's own signing code from `leofs-net`.
//!
//! Raw on purpose: tests must be able to send what a well-behaved client library never
//! would (malformed heads, wrong framing, bad signatures).

use leofs_net::s3::auth::{format_amz_date, sign_v4_header, unix_now, SignedRequest, V4Credentials, EMPTY_SHA256_HEX};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long a test waits on a silent server before failing instead of hanging.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header fields in arrival order, names as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("HTTP {} body is not JSON ({e}): {}", self.status, self.text()))
    }
}

/// Parses a whole response (head and body as read until the server closed).
pub fn parse_response(raw: &[u8]) -> io::Result<Response> {
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{why}: {:?}", String::from_utf8_lossy(&raw[..raw.len().min(200)])));
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| bad("no end of response head"))?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| bad("response head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| bad("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let len = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("content-length")).and_then(|(_, v)| v.parse::<usize>().ok());
    if let Some(len) = len {
        if body.len() < len {
            return Err(bad("response body shorter than its Content-Length"));
        }
        body.truncate(len);
    }
    Ok(Response { status, headers, body })
}

/// Sends `request` as is and reads the response until the server closes the connection:
/// the request must say `Connection: close` (or be one the server refuses and closes on).
pub fn raw(addr: SocketAddr, request: &[u8]) -> io::Result<Response> {
    let mut s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    s.write_all(request)?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    parse_response(&out)
}

/// Sends one request with `Host`, `Content-Length` (when there is a body, or for PUT and
/// POST) and `Connection: close` added to `headers`.
pub fn send(addr: SocketAddr, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> io::Result<Response> {
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    if !body.is_empty() || method == "PUT" || method == "POST" {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("Connection: close\r\n\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    raw(addr, &bytes)
}

/// S3 credentials and the region to sign for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creds {
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
}

impl Creds {
    /// Credentials for the default region, `us-east-1`.
    pub fn new(access_key: &str, secret_key: &str) -> Creds {
        Creds { access_key: access_key.to_owned(), secret_key: secret_key.to_owned(), region: "us-east-1".to_owned() }
    }
}

/// Sends an S3 request, SigV4-signed in the `Authorization` header when `creds` is given,
/// anonymous otherwise. `path` is percent-encoded already; `query` has no `?` and may be
/// empty. A body is sent as `UNSIGNED-PAYLOAD`. Every header in `headers` is signed.
pub fn s3(addr: SocketAddr, creds: Option<&Creds>, method: &str, path: &str, query: &str, headers: &[(&str, &str)], body: &[u8]) -> io::Result<Response> {
    let target = if query.is_empty() { path.to_owned() } else { format!("{path}?{query}") };
    let Some(creds) = creds else {
        return send(addr, method, &target, headers, body);
    };
    let amz_date = format_amz_date(unix_now()).ok_or_else(|| io::Error::other("the clock is outside years 0..9999"))?;
    let payload = if body.is_empty() { EMPTY_SHA256_HEX } else { "UNSIGNED-PAYLOAD" };
    let mut signed: Vec<(String, String)> = vec![
        ("host".to_owned(), addr.to_string()),
        ("x-amz-date".to_owned(), amz_date.clone()),
        ("x-amz-content-sha256".to_owned(), payload.to_owned()),
    ];
    signed.extend(headers.iter().map(|(n, v)| (n.to_ascii_lowercase(), (*v).to_owned())));
    let names: Vec<&str> = signed.iter().map(|(n, _)| n.as_str()).collect();
    let v4 = V4Credentials { access_key: &creds.access_key, secret_key: &creds.secret_key, region: &creds.region, service: "s3" };
    let auth = sign_v4_header(&SignedRequest::new(method, path, query, &signed), &v4, &amz_date, &names)
        .map_err(|e| io::Error::other(format!("signing failed: {e:?}")))?;
    // `send` adds Host itself: pass the others plus the signature.
    let mut all: Vec<(&str, &str)> = signed.iter().skip(1).map(|(n, v)| (n.as_str(), v.as_str())).collect();
    all.push(("Authorization", &auth));
    send(addr, method, &target, &all, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_parse() {
        let r = parse_response(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nX-A: b\r\n\r\n{}extra").unwrap();
        assert_eq!(r.status, 404);
        assert_eq!(r.header("x-a"), Some("b"));
        assert_eq!(r.body, b"{}");
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab").is_err());
        assert!(parse_response(b"garbage").is_err());
    }
}

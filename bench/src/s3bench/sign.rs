//! Request heads: SigV4-signed S3 requests (path-style, header auth) and plain unsigned
//! GETs, written into a reused buffer.
//!
//! A load generator signs every request, so signing must cost little next to the server's
//! work: the signing key is derived once per day (not per request as `sign_v4` does), the
//! `x-amz-date` is formatted once per second, and the canonical request and string to sign
//! are built in buffers kept across requests. The result is checked byte for byte against
//! [`leofs_net::s3::auth::sign_v4_header`] in the tests, so the two cannot drift apart.

use hmac::{Hmac, Mac};
use leofs_net::s3::auth::{format_amz_date, unix_now};
use sha2::{Digest, Sha256};
use std::io::Write;

type HmacSha256 = Hmac<Sha256>;

/// Headers covered by every signature, sorted as SigV4 wants them.
const SIGNED_HEADERS: &str = "host;x-amz-content-sha256;x-amz-date";

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length: this cannot fail.
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    m.update(data);
    m.finalize().into_bytes().into()
}

/// Lowercase hex of 32 bytes, on the stack.
pub fn hex32(bytes: &[u8; 32]) -> [u8; 64] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 15)];
    }
    out
}

/// Hex SHA-256 of a body, for `--signed-payload`.
pub fn sha256_hex(body: &[u8]) -> String {
    let d: [u8; 32] = Sha256::digest(body).into();
    String::from_utf8_lossy(&hex32(&d)).into_owned()
}

/// One request to write: the path and query must already be URI-encoded, and the query's
/// parameters sorted by name (then it is its own canonical form, but for a parameter
/// without a value, such as `uploads`, which is sent as is and signed as `uploads=`).
#[derive(Clone, Copy, Debug)]
pub struct Req<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// `x-amz-content-sha256`: `UNSIGNED-PAYLOAD` or the body's hex SHA-256.
    pub payload: &'a str,
    /// `Content-Length` to send (PUT), or none.
    pub content_length: Option<u64>,
    /// Ask the server to close the connection after the response.
    pub close: bool,
}

/// Signs requests for one set of credentials; one per connection task (not shared, so no
/// locking and no cache contention).
#[derive(Clone)]
pub struct Signer {
    access_key: String,
    secret_key: String,
    region: String,
    host: String,
    key: [u8; 32],
    /// `YYYYMMDD` the key was derived for.
    key_date: String,
    scope: String,
    amz_date: String,
    /// The Unix second `amz_date` shows.
    amz_second: i64,
    creq: Vec<u8>,
    sts: Vec<u8>,
}

impl Signer {
    /// `host` is the `Host` header value (`127.0.0.1:8080`).
    pub fn new(access_key: &str, secret_key: &str, region: &str, host: &str) -> Signer {
        Signer {
            access_key: access_key.to_string(),
            secret_key: secret_key.to_string(),
            region: region.to_string(),
            host: host.to_string(),
            key: [0; 32],
            key_date: String::new(),
            scope: String::new(),
            amz_date: String::new(),
            amz_second: i64::MIN,
            creq: Vec::with_capacity(512),
            sts: Vec::with_capacity(256),
        }
    }

    /// Brings the date and, on a new day, the signing key up to `now`.
    fn at(&mut self, now: i64) {
        if now == self.amz_second {
            return;
        }
        self.amz_second = now;
        self.amz_date = format_amz_date(now).unwrap_or_else(|| "19700101T000000Z".into());
        let day = &self.amz_date[..8];
        if day != self.key_date {
            let mut k = b"AWS4".to_vec();
            k.extend_from_slice(self.secret_key.as_bytes());
            let k = hmac(&k, day.as_bytes());
            let k = hmac(&k, self.region.as_bytes());
            let k = hmac(&k, b"s3");
            self.key = hmac(&k, b"aws4_request");
            self.key_date = day.to_string();
            self.scope = format!("{day}/{}/s3/aws4_request", self.region);
        }
    }

    /// Appends the signed head of `r`, dated now, to `out`.
    pub fn write_head(&mut self, out: &mut Vec<u8>, r: &Req<'_>) {
        self.write_head_at(unix_now(), out, r)
    }

    /// [`Signer::write_head`] at a given time (tests).
    pub fn write_head_at(&mut self, now: i64, out: &mut Vec<u8>, r: &Req<'_>) {
        self.at(now);
        let c = &mut self.creq;
        c.clear();
        // Writes into a Vec cannot fail.
        let _ = write!(c, "{}\n{}\n", r.method, r.path);
        for (i, p) in r.query.split('&').filter(|p| !p.is_empty()).enumerate() {
            if i > 0 {
                c.push(b'&');
            }
            c.extend_from_slice(p.as_bytes());
            if !p.contains('=') {
                c.push(b'=');
            }
        }
        let _ = write!(
            c,
            "\nhost:{}\nx-amz-content-sha256:{}\nx-amz-date:{}\n\n{SIGNED_HEADERS}\n{}",
            self.host, r.payload, self.amz_date, r.payload
        );
        let creq_hash: [u8; 32] = Sha256::digest(&*c).into();
        let s = &mut self.sts;
        s.clear();
        s.extend_from_slice(b"AWS4-HMAC-SHA256\n");
        s.extend_from_slice(self.amz_date.as_bytes());
        s.push(b'\n');
        s.extend_from_slice(self.scope.as_bytes());
        s.push(b'\n');
        s.extend_from_slice(&hex32(&creq_hash));
        let sig = hex32(&hmac(&self.key, s));
        let sig = std::str::from_utf8(&sig).unwrap_or_default();

        let sep = if r.query.is_empty() { "" } else { "?" };
        let _ = write!(
            out,
            "{} {}{sep}{} HTTP/1.1\r\nHost: {}\r\nx-amz-date: {}\r\nx-amz-content-sha256: {}\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={SIGNED_HEADERS}, Signature={sig}\r\n",
            r.method, r.path, r.query, self.host, self.amz_date, r.payload, self.access_key, self.scope
        );
        finish_head(out, r.content_length, r.close);
    }
}

/// Appends an unsigned `GET path` head (the `--plain-http` mode, for static file servers).
pub fn write_plain_get(out: &mut Vec<u8>, host: &str, path: &str, close: bool) {
    let _ = write!(out, "GET {path} HTTP/1.1\r\nHost: {host}\r\n");
    finish_head(out, None, close);
}

fn finish_head(out: &mut Vec<u8>, content_length: Option<u64>, close: bool) {
    if let Some(n) = content_length {
        let _ = write!(out, "Content-Length: {n}\r\n");
    }
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// URI-encodes an object key for a path: every byte but `A-Za-z0-9-_.~/` as `%XX`.
pub fn encode_key(key: &str) -> String {
    key.split('/')
        .map(|seg| leofs_net::s3::auth::aws_encode(seg.as_bytes()))
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use leofs_net::s3::auth::{sign_v4_header, SignedRequest, V4Credentials};

    /// 2013-05-24T00:00:00Z, the date of AWS's examples.
    const NOW: i64 = 1_369_353_600;

    fn reference(r: &Req<'_>, host: &str) -> String {
        let date = format_amz_date(NOW).unwrap();
        let headers = vec![
            ("host".to_string(), host.to_string()),
            ("x-amz-date".to_string(), date.clone()),
            ("x-amz-content-sha256".to_string(), r.payload.to_string()),
        ];
        let creds = V4Credentials {
            access_key: "AKIAIOSFODNN7EXAMPLE",
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            region: "us-east-1",
            service: "s3",
        };
        let names = ["host", "x-amz-date", "x-amz-content-sha256"];
        let req = SignedRequest::new(r.method, r.path, r.query, &headers);
        sign_v4_header(&req, &creds, &date, &names).unwrap()
    }

    fn ours(r: &Req<'_>, host: &str) -> String {
        let mut s = Signer::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "us-east-1",
            host,
        );
        let mut out = Vec::new();
        s.write_head_at(NOW, &mut out, r);
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with("\r\n\r\n"));
        text.lines()
            .find_map(|l| l.strip_prefix("Authorization: "))
            .unwrap()
            .to_string()
    }

    #[test]
    fn signatures_match_the_servers_signer() {
        let body_hash = sha256_hex(b"hello");
        let cases = [
            Req {
                method: "PUT",
                path: "/b/k/obj-1",
                query: "",
                payload: "UNSIGNED-PAYLOAD",
                content_length: Some(4096),
                close: false,
            },
            Req {
                method: "PUT",
                path: "/b/x",
                query: "",
                payload: &body_hash,
                content_length: Some(5),
                close: true,
            },
            Req {
                method: "GET",
                path: "/b",
                query: "continuation-token=YQ%3D%3D&list-type=2&max-keys=100&prefix=p%2F",
                payload: "UNSIGNED-PAYLOAD",
                content_length: None,
                close: false,
            },
            Req {
                method: "POST",
                path: "/b/k/obj-2",
                query: "uploads",
                payload: "UNSIGNED-PAYLOAD",
                content_length: Some(0),
                close: false,
            },
            Req {
                method: "PUT",
                path: "/b/k/obj-2",
                query: "partNumber=12&uploadId=0000abcd%2Bef",
                payload: "UNSIGNED-PAYLOAD",
                content_length: Some(5 << 20),
                close: false,
            },
            Req {
                method: "HEAD",
                path: "/b/a%20b",
                query: "",
                payload: "UNSIGNED-PAYLOAD",
                content_length: None,
                close: false,
            },
        ];
        for r in &cases {
            assert_eq!(
                ours(r, "127.0.0.1:8080"),
                reference(r, "127.0.0.1:8080"),
                "{r:?}"
            );
        }
    }

    #[test]
    fn heads_are_complete_and_reuse_the_key() {
        let mut s = Signer::new("AK", "SK", "eu-west-1", "h:1");
        let r = Req {
            method: "PUT",
            path: "/b/k",
            query: "",
            payload: "UNSIGNED-PAYLOAD",
            content_length: Some(3),
            close: true,
        };
        let mut out = Vec::new();
        s.write_head_at(NOW, &mut out, &r);
        let first = String::from_utf8(out.clone()).unwrap();
        assert!(
            first.starts_with("PUT /b/k HTTP/1.1\r\nHost: h:1\r\n"),
            "{first}"
        );
        assert!(first.contains("Content-Length: 3\r\n") && first.contains("Connection: close\r\n"));
        assert!(first.contains("Credential=AK/20130524/eu-west-1/s3/aws4_request"));
        // The next day derives a new key: a different scope and signature.
        out.clear();
        s.write_head_at(NOW + 86_400, &mut out, &r);
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("Credential=AK/20130525/"));
        let mut plain = Vec::new();
        write_plain_get(&mut plain, "h:1", "/4k.bin", false);
        assert_eq!(plain, b"GET /4k.bin HTTP/1.1\r\nHost: h:1\r\n\r\n");
        assert_eq!(hex32(&[0xab; 32])[..4], *b"abab");
        assert_eq!(encode_key("a b/c+d/é"), "a%20b/c%2Bd/%C3%A9");
    }
}

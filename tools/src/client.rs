//! The admin API client: JSON requests to a running `leofs server`'s admin listener, with
//! errors worded for an operator (what failed, and what to check).

use crate::Error;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

/// Where `leofs server` listens for the admin API unless told otherwise.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:8081";

/// Turns what the operator typed into a base URL: `host:port` gets `http://`, a trailing
/// `/` is dropped. HTTPS is refused up front: the admin API speaks plain HTTP.
pub fn normalize_endpoint(endpoint: &str) -> Result<String, Error> {
    let e = endpoint.trim().trim_end_matches('/');
    if e.is_empty() {
        return Err(Error::new("the admin endpoint is empty; pass --endpoint http://HOST:PORT"));
    }
    if e.starts_with("https://") {
        return Err(Error::new(format!("{e}: the admin API speaks plain HTTP; use http://")));
    }
    if e.starts_with("http://") {
        return Ok(e.to_owned());
    }
    if e.contains("://") {
        return Err(Error::new(format!("{e}: the admin endpoint must be an http:// URL")));
    }
    Ok(format!("http://{e}"))
}

/// Percent-encodes one path segment: everything but RFC 3986's unreserved characters.
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A connection to one admin API endpoint.
pub struct Api {
    base: String,
    agent: ureq::Agent,
    json: bool,
    /// `Authorization` header value (HTTP Basic) when credentials are given.
    auth: Option<String>,
}

impl Api {
    /// A client for `endpoint` (see [`normalize_endpoint`]). Connects lazily.
    pub fn new(endpoint: &str) -> Result<Api, Error> {
        let base = normalize_endpoint(endpoint)?;
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(5))
            // Catalog changes are synced to disk before the reply; allow for a slow disk.
            .timeout(Duration::from_secs(60))
            .build();
        Ok(Api { base, agent, json: false, auth: None })
    }

    /// The same client, sending an admin user's credentials (HTTP Basic) with every
    /// request. Both or neither must be given.
    pub fn with_credentials(mut self, access_key: Option<&str>, secret_key: Option<&str>) -> Result<Api, Error> {
        use base64::Engine;
        self.auth = match (access_key.filter(|s| !s.is_empty()), secret_key.filter(|s| !s.is_empty())) {
            (Some(k), Some(s)) => Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{k}:{s}")))),
            (None, None) => None,
            _ => return Err(Error::new("give both --access-key and --secret-key (or LEOFS_ADMIN_ACCESS_KEY and LEOFS_ADMIN_SECRET_KEY), or neither")),
        };
        Ok(self)
    }

    /// The same client, told whether commands print the raw JSON replies (`--json`).
    pub fn with_json_output(mut self, json: bool) -> Api {
        self.json = json;
        self
    }

    /// Whether commands print the raw JSON replies instead of tables (`--json`).
    pub fn json_output(&self) -> bool {
        self.json
    }

    /// The base URL requests go to.
    pub fn endpoint(&self) -> &str {
        &self.base
    }

    /// Decodes a reply already fetched as JSON into `T`.
    pub fn decode<T: DeserializeOwned>(&self, reply: Value) -> Result<T, Error> {
        serde_json::from_value(reply).map_err(|e| self.unexpected(&format!("the reply is not what leofs-adm expects ({e})")))
    }

    /// `GET path`, decoded as `T`.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        self.call("GET", path, None)
    }

    /// `method path` with `body` as JSON (if any), decoded as `T`.
    pub fn call<T: DeserializeOwned>(&self, method: &str, path: &str, body: Option<&Value>) -> Result<T, Error> {
        let url = format!("{}{path}", self.base);
        let mut req = self.agent.request(method, &url);
        if let Some(a) = &self.auth {
            req = req.set("Authorization", a);
        }
        let result = match body {
            Some(b) => req.set("Content-Type", "application/json").send_string(&b.to_string()),
            None => req.call(),
        };
        let text = match result {
            Ok(resp) => resp.into_string().map_err(|e| self.unexpected(&format!("reading the reply failed: {e}")))?,
            Err(ureq::Error::Status(status, resp)) => {
                let text = resp.into_string().unwrap_or_default();
                return Err(self.api_error(status, &text));
            }
            Err(ureq::Error::Transport(t)) => return Err(self.transport_error(&t)),
        };
        serde_json::from_str(&text).map_err(|e| self.unexpected(&format!("the reply is not what leofs-adm expects ({e})")))
    }

    /// The API's own error message when the reply is its JSON error (`{"error", "code"}`,
    /// or `{"message", "code"}`), else a hint that the endpoint may not be the admin API at
    /// all (an S3 port answers XML, for one).
    fn api_error(&self, status: u16, text: &str) -> Error {
        let parsed: Option<Value> = serde_json::from_str(text).ok();
        let field = |name: &str| parsed.as_ref().and_then(|v| v.get(name)).and_then(Value::as_str).map(str::to_owned);
        match field("error").or_else(|| field("message")) {
            Some(msg) => Error::api(status, field("code").unwrap_or_default(), msg),
            None => self.unexpected(&format!("HTTP {status}")),
        }
    }

    fn unexpected(&self, what: &str) -> Error {
        Error::new(format!(
            "unexpected reply from {}: {what}; is this the admin API address (--admin-listen of `leofs server`)?",
            self.base
        ))
    }

    fn transport_error(&self, t: &ureq::Transport) -> Error {
        match t.kind() {
            ureq::ErrorKind::ConnectionFailed | ureq::ErrorKind::Dns => Error::new(format!(
                "cannot reach leofs admin API at {}: is `leofs server` running? ({t})",
                self.base
            )),
            ureq::ErrorKind::InvalidUrl | ureq::ErrorKind::UnknownScheme => {
                Error::new(format!("bad admin endpoint {}: {t}", self.base))
            }
            _ => Error::new(format!("request to leofs admin API at {} failed: {t}", self.base)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_normalized() {
        assert_eq!(normalize_endpoint("127.0.0.1:9000").unwrap(), "http://127.0.0.1:9000");
        assert_eq!(normalize_endpoint(" http://h:1/ ").unwrap(), "http://h:1");
        assert!(normalize_endpoint("https://h:1").is_err());
        assert!(normalize_endpoint("ftp://h").is_err());
        assert!(normalize_endpoint("").is_err());
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("alice@example.com"), "alice%40example.com");
        assert_eq!(encode_segment("a b/c"), "a%20b%2Fc");
        assert_eq!(encode_segment("A-z_0.9~"), "A-z_0.9~");
    }

    #[test]
    fn api_errors_keep_status_and_code() {
        let api = Api::new("127.0.0.1:1").unwrap();
        let e = api.api_error(404, r#"{"error":"no such endpoint: GET /v1/cluster","code":"NotFound"}"#);
        assert_eq!(e.to_string(), "no such endpoint: GET /v1/cluster");
        assert!(e.is_missing_endpoint());
        let e = api.api_error(409, r#"{"code":"Refused","message":"the cluster is already started"}"#);
        assert_eq!((e.to_string().as_str(), e.status(), e.code()), ("the cluster is already started", Some(409), Some("Refused")));
        assert!(!e.is_missing_endpoint());
        let e = api.api_error(404, r#"{"error":"no such bucket 'x'","code":"NoSuchBucket"}"#);
        assert!(!e.is_missing_endpoint(), "a missing bucket is not a missing endpoint");
        let e = api.api_error(502, "<html>bad gateway</html>");
        assert!(e.to_string().contains("unexpected reply from http://127.0.0.1:1: HTTP 502"), "{e}");
        assert_eq!(e.status(), None);
    }

    #[test]
    fn a_closed_port_reads_as_server_not_running() {
        // Bind then drop: the port is (almost certainly) closed right after.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let api = Api::new(&format!("127.0.0.1:{port}")).unwrap();
        let err = api.get::<Value>("/v1/status").unwrap_err().to_string();
        assert!(err.contains("cannot reach leofs admin API at http://127.0.0.1:"), "{err}");
        assert!(err.contains("is `leofs server` running?"), "{err}");
    }
}

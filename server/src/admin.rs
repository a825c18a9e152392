//! The admin API on its own listener (`--admin-listen`), used by `leofs-adm`: a small
//! HTTP/1.1 JSON API over users, access keys and buckets, plus the node's status. What each
//! endpoint does is in `admin/api.rs`; this file is the transport. It also answers
//! `GET /metrics` (Prometheus; see `metrics.rs`), which is text rather than JSON and awaits
//! every core's snapshot.
//!
//! Core 0 serves it beside its S3 work. Admin requests are rare and small, so the loop is
//! deliberately simple: keep-alive, one task per connection, bodies framed by
//! Content-Length only and at most [`MAX_BODY`] bytes. A catalog change writes and syncs the
//! catalog file on core 0's thread; that briefly stalls core 0's S3 requests, which is
//! acceptable for operations an operator runs by hand.

pub mod api;

use crate::config::ServerConfig;
use crate::metrics::{self, Cores, Format};
use api::{Admin, Reply};
use leofs_control::Catalog;
use leofs_net::http1::{self, BodyKind, DateCache, HttpError, Limits, Parsed, RequestHead, ResponseBody};
use leofs_rt::net::{Listener, Stream};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Largest request body accepted; admin requests are a few hundred bytes of JSON.
const MAX_BODY: u64 = 64 << 10;
/// Bytes read from the socket per call.
const READ_CHUNK: usize = 16 << 10;
/// A started request head or body must keep arriving at this pace.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// A keep-alive connection idle this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How often an idle connection looks at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(200);

/// What `GET /metrics` reads: every core's snapshot, and the catalog's counts.
struct MetricsSource {
    cores: Cores,
    catalog: Catalog,
}

/// Accepts admin connections until `stop` is set. `cfg` is the server's configuration,
/// reported by `GET /v1/status`; its region is the location of buckets created here.
/// `metrics` reaches every core for `GET /metrics`.
pub async fn serve(listener: Listener, catalog: Catalog, stop: Arc<AtomicBool>, cfg: ServerConfig, metrics: Cores) {
    serve_with(listener, catalog, stop, cfg, metrics, None).await
}

/// More endpoints, asked before the built-in ones (the manager's cluster commands).
pub trait AdminExt {
    /// The reply, or `None` when the path is not this extension's.
    fn handle<'a>(&'a self, method: &'a str, target: &'a str, body: &'a [u8]) -> Pin<Box<dyn Future<Output = Option<Reply>> + 'a>>;

    /// The cluster gauges for `GET /metrics`.
    fn cluster_gauges(&self) -> Option<metrics::ClusterGauges> {
        None
    }

    /// Whether a request (other than `GET /metrics`) may proceed, given its
    /// `Authorization` header; the error reply otherwise.
    fn check_auth(&self, _authorization: Option<&str>) -> Result<(), Reply> {
        Ok(())
    }
}

/// Admin credentials: HTTP Basic with an access key id and secret of a user whose role is
/// admin. Returns the error reply (401 without or with wrong credentials, 403 for a user
/// who is not an admin).
pub fn check_admin_basic(catalog: &Catalog, authorization: Option<&str>) -> Result<(), Reply> {
    use base64::Engine;
    let unauthorized = |why: &str| Reply::error(401, "Unauthorized", &format!("{why}: the admin API needs an admin user's access key and secret (leofs-adm --access-key/--secret-key or LEOFS_ADMIN_ACCESS_KEY/LEOFS_ADMIN_SECRET_KEY)"));
    let Some(value) = authorization else { return Err(unauthorized("no credentials")) };
    let Some(b64) = value.strip_prefix("Basic ").map(str::trim) else { return Err(unauthorized("not Basic credentials")) };
    let decoded = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| unauthorized("credentials are not base64"))?;
    let text = String::from_utf8(decoded).map_err(|_| unauthorized("credentials are not UTF-8"))?;
    let Some((key_id, secret)) = text.split_once(':') else { return Err(unauthorized("credentials are not key:secret")) };
    let Some((key, user)) = catalog.lookup_key(key_id) else { return Err(unauthorized("unknown access key or wrong secret")) };
    // Compared without an early exit, so the time taken says nothing about the secret.
    let (a, b) = (key.secret.as_bytes(), secret.as_bytes());
    let mut diff = a.len() ^ b.len();
    for (x, y) in a.iter().zip(b) {
        diff |= usize::from(x ^ y);
    }
    if diff != 0 {
        return Err(unauthorized("unknown access key or wrong secret"));
    }
    if user.role != leofs_control::Role::Admin {
        return Err(Reply::error(403, "AccessDenied", &format!("user '{}' is not an admin", user.id)));
    }
    Ok(())
}

/// [`serve`] with an extension.
pub async fn serve_with(listener: Listener, catalog: Catalog, stop: Arc<AtomicBool>, cfg: ServerConfig, metrics: Cores, ext: Option<Rc<dyn AdminExt>>) {
    let source = Rc::new(MetricsSource { cores: metrics, catalog: catalog.clone() });
    let admin = Rc::new((Admin::new(catalog, cfg), ext));
    while !stop.load(Ordering::Relaxed) {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // Out of descriptors and the like: back off instead of spinning, and keep
                // the API up once the pressure is gone.
                log::warn!("admin API: accept failed: {e}");
                leofs_rt::task::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        // Shutdown wakes this loop with a connection of its own: do not serve it.
        if stop.load(Ordering::Relaxed) {
            break;
        }
        leofs_rt::task::spawn(serve_conn(stream, admin.clone(), source.clone(), stop.clone()));
    }
}

/// Why no request could be taken from the connection.
enum ReadError {
    /// The peer closed, went idle or quiet for too long, or the server is stopping: close
    /// without a word.
    Gone,
    /// The request is unacceptable: answer with this, then close.
    Reject(Reply),
}

/// A connection: the socket and the bytes read but not yet consumed.
struct Conn {
    stream: Stream,
    buf: Vec<u8>,
}

impl Conn {
    /// Reads once into `buf` within [`READ_TIMEOUT`].
    async fn fill(&mut self) -> Result<(), ReadError> {
        let buf = std::mem::take(&mut self.buf);
        let Some((r, buf)) = leofs_rt::task::timeout(READ_TIMEOUT, self.stream.read_append(buf, READ_CHUNK)).await else {
            return Err(ReadError::Gone);
        };
        self.buf = buf;
        match r {
            Ok(n) if n > 0 => Ok(()),
            _ => Err(ReadError::Gone),
        }
    }

    /// Waits for the first byte of the next request, giving up when idle too long or when
    /// the server stops. Cancelling `readable` loses no data, unlike cancelling a read.
    async fn wait_for_request(&self, stop: &AtomicBool) -> Result<(), ReadError> {
        let start = Instant::now();
        loop {
            if stop.load(Ordering::Relaxed) {
                return Err(ReadError::Gone);
            }
            match leofs_rt::task::timeout(STOP_POLL, self.stream.readable()).await {
                Some(Ok(())) => return Ok(()),
                Some(Err(_)) => return Err(ReadError::Gone),
                None if start.elapsed() >= IDLE_TIMEOUT => return Err(ReadError::Gone),
                None => {}
            }
        }
    }

    /// Reads the next request head.
    async fn read_head(&mut self, limits: &Limits, stop: &AtomicBool) -> Result<RequestHead, ReadError> {
        loop {
            match http1::parse_request(&self.buf, limits) {
                Ok(Parsed::Complete(head, n)) => {
                    self.buf.drain(..n);
                    return Ok(head);
                }
                Ok(Parsed::Partial) => {
                    if self.buf.is_empty() {
                        self.wait_for_request(stop).await?;
                    }
                    self.fill().await?;
                }
                Err(e) => return Err(ReadError::Reject(http_error(e))),
            }
        }
    }

    /// Reads the whole body of `head`; bytes after it (a pipelined request) stay buffered.
    async fn read_body(&mut self, head: &RequestHead) -> Result<Vec<u8>, ReadError> {
        let len = match head.body {
            BodyKind::None => return Ok(Vec::new()),
            BodyKind::Chunked => {
                return Err(ReadError::Reject(Reply::error(411, "LengthRequired", "send the request body with a Content-Length header; chunked bodies are not accepted")));
            }
            BodyKind::ContentLength(n) if n > MAX_BODY => {
                // Answered before the body is read, so a client waiting on 100-continue
                // never sends it; the connection is closed after the reply either way.
                return Err(ReadError::Reject(Reply::error(413, "EntityTooLarge", &format!("request body of {n} bytes is over the admin API's limit of {MAX_BODY}"))));
            }
            BodyKind::ContentLength(n) => n as usize,
        };
        if head.expect_continue && len > 0 {
            let (r, _) = self.stream.write_all(http1::CONTINUE_100.to_vec()).await;
            r.map_err(|_| ReadError::Gone)?;
        }
        while self.buf.len() < len {
            self.fill().await?;
        }
        Ok(self.buf.drain(..len).collect())
    }

    /// Writes `reply` as one response; no body for HEAD requests.
    async fn write(&mut self, reply: &Reply, close: bool, is_head: bool, date: &mut DateCache) -> std::io::Result<()> {
        self.write_body(reply.status, "application/json", &reply.body_bytes(), close, is_head, date).await
    }

    /// Writes one response with a body of `content_type`; no body for HEAD requests.
    async fn write_body(&mut self, status: u16, content_type: &str, body: &[u8], close: bool, is_head: bool, date: &mut DateCache) -> std::io::Result<()> {
        // `no-store`: a reply may carry a freshly created secret.
        let headers: [(&str, &[u8]); 2] = [("Content-Type", content_type.as_bytes()), ("Cache-Control", b"no-store")];
        let mut out = Vec::with_capacity(256 + body.len());
        http1::write_response_head(&mut out, status, &headers, ResponseBody::Length(body.len() as u64), close, date);
        if !is_head {
            out.extend_from_slice(body);
        }
        let (r, _) = self.stream.write_all(out).await;
        r
    }
}

/// The JSON error for a request the HTTP layer refused.
fn http_error(e: HttpError) -> Reply {
    let code = match e.status() {
        413 => "EntityTooLarge",
        414 => "UriTooLong",
        431 => "HeaderTooLarge",
        501 => "NotImplemented",
        _ => "BadRequest",
    };
    Reply::error(e.status(), code, &e.to_string())
}

/// Serves one connection: requests in order until the peer closes, a request says
/// `Connection: close`, or the server stops.
async fn serve_conn(stream: Stream, admin: Rc<(Admin, Option<Rc<dyn AdminExt>>)>, metrics: Rc<MetricsSource>, stop: Arc<AtomicBool>) {
    let _ = stream.set_nodelay();
    let mut conn = Conn { stream, buf: Vec::with_capacity(READ_CHUNK) };
    let mut date = DateCache::new();
    let limits = Limits::default();
    loop {
        let request = match conn.read_head(&limits, &stop).await {
            Ok(head) => conn.read_body(&head).await.map(|body| (head, body)),
            Err(e) => Err(e),
        };
        let (head, body) = match request {
            Ok(r) => r,
            Err(ReadError::Gone) => return,
            Err(ReadError::Reject(reply)) => {
                // The framing of what follows is unknown: answer and close.
                let _ = conn.write(&reply, true, false, &mut date).await;
                return;
            }
        };
        let keep = head.keep_alive && !stop.load(Ordering::Relaxed);
        let is_head = head.method == http::Method::HEAD;
        let written = if is_metrics_path(&head.target) {
            let gauges = admin.1.as_ref().and_then(|e| e.cluster_gauges());
            write_metrics(&mut conn, &head, &metrics, gauges, !keep, is_head, &mut date).await
        } else {
            let ext = match &admin.1 {
                Some(ext) => match ext.check_auth(head.header_str("authorization")) {
                    Ok(()) => ext.handle(head.method.as_str(), &head.target, &body).await,
                    Err(denied) => Some(denied),
                },
                None => None,
            };
            let reply = ext.unwrap_or_else(|| admin.0.handle(head.method.as_str(), &head.target, &body));
            conn.write(&reply, !keep, is_head, &mut date).await
        };
        if written.is_err() || !keep {
            return;
        }
    }
}

fn is_metrics_path(target: &str) -> bool {
    target.split_once('?').map_or(target, |(p, _)| p) == "/metrics"
}

/// Answers `GET /metrics`: every core's snapshot, in the format the client's `Accept` asks
/// for (Prometheus asks for OpenMetrics; anything else gets the 0.0.4 text format).
async fn write_metrics(conn: &mut Conn, head: &RequestHead, src: &MetricsSource, cluster: Option<metrics::ClusterGauges>, close: bool, is_head: bool, date: &mut DateCache) -> std::io::Result<()> {
    if head.method != http::Method::GET && !is_head {
        let reply = Reply::error(405, "MethodNotAllowed", &format!("{} is not allowed on /metrics; allowed: GET", head.method));
        return conn.write(&reply, close, is_head, date).await;
    }
    let format = Format::negotiate(head.header_str("accept"));
    let cores = src.cores.collect().await;
    match metrics::encode_with(cores, src.catalog.all_buckets().len(), src.catalog.users().len(), cluster, format) {
        Ok(text) => conn.write_body(200, format.content_type(), text.as_bytes(), close, is_head, date).await,
        Err(e) => {
            log::error!("metrics: cannot encode a scrape: {e}");
            conn.write(&Reply::error(500, "InternalError", "cannot encode the metrics"), close, is_head, date).await
        }
    }
}

//! The HTTP/1.1 connection loop: keep-alive and pipelining, `Expect: 100-continue`,
//! Content-Length and chunked bodies, idle and slow-client timeouts, one write per small
//! response (head and body together; TCP_NODELAY is on).

use crate::gateway::{Gateway, RespBody, Response};
use leofs_net::http1::{self, BodyKind, ChunkedDecoder, DateCache, Limits, Parsed, ResponseBody};
use leofs_rt::net::Stream;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// Bytes read from the socket per call while waiting for a request head.
const READ_CHUNK: usize = 16 << 10;
/// A body left unread by a handler is drained up to this size to keep the connection.
const MAX_DRAIN: u64 = 1 << 20;

pub struct ConnCtx {
    pub gateway: Rc<Gateway>,
    pub limits: Limits,
    pub idle_timeout: Duration,
    pub read_timeout: Duration,
    pub date: RefCell<DateCache>,
    pub shutting_down: Rc<std::cell::Cell<bool>>,
    pub tls: Option<leofs_rt::net::TlsAcceptor>,
}

/// Why a request body could not be read.
#[derive(Debug)]
pub enum BodyError {
    Closed,
    Timeout,
    Io(std::io::Error),
    Framing(http1::HttpError),
}

/// A connection: the socket and bytes read but not yet consumed.
pub struct Conn {
    stream: Stream,
    buf: Vec<u8>,
}

impl Conn {
    async fn fill(&mut self, max: usize, timeout: Duration) -> Result<usize, BodyError> {
        let buf = std::mem::take(&mut self.buf);
        match leofs_rt::task::timeout(timeout, self.stream.read_append(buf, max)).await {
            None => Err(BodyError::Timeout),
            Some((r, buf)) => {
                self.buf = buf;
                match r {
                    Ok(0) => Err(BodyError::Closed),
                    Ok(n) => Ok(n),
                    Err(e) => Err(BodyError::Io(e)),
                }
            }
        }
    }

    async fn write(&mut self, out: Vec<u8>) -> std::io::Result<Vec<u8>> {
        let (r, out) = self.stream.write_all(out).await;
        r.map(|_| out)
    }
}

/// A request body being read: framing from the head, bytes from the connection.
pub struct BodyIn<'a> {
    conn: &'a mut Conn,
    remaining: u64,
    chunked: Option<ChunkedDecoder>,
    continue_pending: bool,
    timeout: Duration,
    pub declared_len: Option<u64>,
}

impl BodyIn<'_> {
    pub fn is_done(&self) -> bool {
        match &self.chunked {
            Some(d) => d.is_done(),
            None => self.remaining == 0,
        }
    }

    /// Appends up to `max` raw body bytes to `out`; 0 at the end of the body. The first
    /// call answers `Expect: 100-continue`, so a request refused before its body is read
    /// never has the body sent.
    pub async fn read(&mut self, out: &mut Vec<u8>, max: usize) -> Result<usize, BodyError> {
        let n = self.read_raw(out, max).await?;
        crate::metrics::add_bytes_received(n);
        Ok(n)
    }

    async fn read_raw(&mut self, out: &mut Vec<u8>, max: usize) -> Result<usize, BodyError> {
        if self.is_done() {
            return Ok(0);
        }
        if self.continue_pending {
            self.continue_pending = false;
            self.conn.write(http1::CONTINUE_100.to_vec()).await.map_err(BodyError::Io)?;
        }
        loop {
            if let Some(dec) = &mut self.chunked {
                // A data run never exceeds what was read into `buf` (16 KiB at a time), so
                // it is copied whole even if that is a little over `max`.
                if !self.conn.buf.is_empty() {
                    let d = dec.decode(&self.conn.buf).map_err(BodyError::Framing)?;
                    let n = d.data.as_ref().map_or(0, |r| r.len());
                    if let Some(r) = d.data {
                        out.extend_from_slice(&self.conn.buf[r]);
                    }
                    self.conn.buf.drain(..d.consumed);
                    if n > 0 || d.done {
                        return Ok(n);
                    }
                    if d.consumed > 0 {
                        continue;
                    }
                }
                self.conn.fill(READ_CHUNK, self.timeout).await?;
                continue;
            }
            let want = (self.remaining.min(max as u64)) as usize;
            if !self.conn.buf.is_empty() {
                let n = want.min(self.conn.buf.len());
                out.extend_from_slice(&self.conn.buf[..n]);
                self.conn.buf.drain(..n);
                self.remaining -= n as u64;
                return Ok(n);
            }
            // Read straight into the caller's buffer: no intermediate copy.
            let buf = std::mem::take(out);
            let r = leofs_rt::task::timeout(self.timeout, self.conn.stream.read_append(buf, want)).await;
            let Some((r, buf)) = r else { return Err(BodyError::Timeout) };
            *out = buf;
            return match r {
                Ok(0) => Err(BodyError::Closed),
                Ok(n) => {
                    self.remaining -= n as u64;
                    Ok(n)
                }
                Err(e) => Err(BodyError::Io(e)),
            };
        }
    }

    /// Reads and discards what is left, up to `limit` bytes. True when the body ended.
    async fn drain(&mut self, limit: u64) -> bool {
        if self.continue_pending {
            // The client waits for our go-ahead: skip the body instead of draining it.
            return false;
        }
        let mut seen = 0u64;
        let mut sink = Vec::with_capacity(READ_CHUNK);
        while !self.is_done() {
            sink.clear();
            match self.read(&mut sink, READ_CHUNK).await {
                Ok(0) => return self.is_done(),
                Ok(n) => seen += n as u64,
                Err(_) => return false,
            }
            if seen > limit {
                return false;
            }
        }
        true
    }
}

pub async fn serve(stream: Stream, ctx: Rc<ConnCtx>) {
    let _open = crate::metrics::OpenConnection::open();
    let _ = stream.set_nodelay();
    let stream = match &ctx.tls {
        None => stream,
        Some(acceptor) => match leofs_rt::task::timeout(ctx.read_timeout, acceptor.accept(stream)).await {
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                log::debug!("{e}");
                return;
            }
            None => return,
        },
    };
    let mut conn = Conn { stream, buf: Vec::with_capacity(READ_CHUNK) };
    loop {
        // Read a complete request head.
        let head = loop {
            match http1::parse_request(&conn.buf, &ctx.limits) {
                Ok(Parsed::Complete(head, n)) => {
                    conn.buf.drain(..n);
                    break head;
                }
                Ok(Parsed::Partial) => {
                    if conn.buf.is_empty() && !wait_for_request(&conn, &ctx).await {
                        return;
                    }
                    // TLS cannot wait for readability without reading (see Stream::readable):
                    // its first read of a request waits the idle timeout instead.
                    let tls_idle = conn.buf.is_empty() && conn.stream.is_tls();
                    let timeout = if tls_idle { ctx.idle_timeout } else { ctx.read_timeout };
                    if conn.fill(READ_CHUNK, timeout).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let resp = ctx.gateway.http_error(e.status(), &e.to_string());
                    let _ = write_response(&mut conn, &ctx, resp, false, false, false).await;
                    return;
                }
            }
        };
        let (remaining, chunked, declared) = match head.body {
            BodyKind::None => (0, None, Some(0)),
            BodyKind::ContentLength(n) => (n, None, Some(n)),
            BodyKind::Chunked => (0, Some(ChunkedDecoder::new(&ctx.limits)), None),
        };
        let expect = head.expect_continue && head.has_body();
        let mut body = BodyIn { conn: &mut conn, remaining, chunked, continue_pending: expect, timeout: ctx.read_timeout, declared_len: declared };
        let resp = ctx.gateway.handle(&head, &mut body).await;
        let body_done = body.is_done() || body.drain(MAX_DRAIN).await;
        let keep = head.keep_alive && body_done && !ctx.shutting_down.get();
        let is_head = head.method == http::Method::HEAD;
        // botocore sends `Expect: 100-continue` even on empty PUTs and, when the final
        // response comes where it waits for the interim one, parses the next response on
        // that kept-alive connection against a stale status line and stalls until its read
        // timeout (boto/botocore#3755). An interim 100 first keeps it in step; RFC 9110
        // allows it (omitting it is only a MAY).
        let interim = head.expect_continue && !head.has_body();
        if write_response(&mut conn, &ctx, resp, keep, is_head, interim).await.is_err() || !keep {
            return;
        }
    }
}

/// Waits for the first byte of a next request on an idle keep-alive connection, checking
/// for shutdown every 200 ms. False: idle too long, or shutting down.
async fn wait_for_request(conn: &Conn, ctx: &ConnCtx) -> bool {
    let slice = Duration::from_millis(200);
    let start = std::time::Instant::now();
    loop {
        if ctx.shutting_down.get() {
            return false;
        }
        match leofs_rt::task::timeout(slice, conn.stream.readable()).await {
            Some(Ok(())) => return true,
            Some(Err(_)) => return false,
            None if start.elapsed() >= ctx.idle_timeout => return false,
            None => {}
        }
    }
}

async fn write_response(conn: &mut Conn, ctx: &ConnCtx, resp: Response, keep: bool, is_head: bool, interim_continue: bool) -> std::io::Result<()> {
    let Response { status, headers, body } = resp;
    let hdrs: Vec<(&str, &[u8])> = headers.iter().map(|(k, v)| (k.as_ref(), v.as_bytes())).collect();
    let mut out = Vec::with_capacity(512);
    if interim_continue {
        out.extend_from_slice(http1::CONTINUE_100);
    }
    let len = match &body {
        RespBody::Empty => None,
        RespBody::Bytes(b) => Some(b.len() as u64),
        RespBody::Object { len, .. } => Some(*len),
    };
    let rb = match len {
        Some(n) => ResponseBody::Length(n),
        None => ResponseBody::Empty,
    };
    http1::write_response_head(&mut out, status, &hdrs, rb, !keep, &mut ctx.date.borrow_mut());
    match body {
        RespBody::Empty => {
            conn.write(out).await?;
        }
        RespBody::Bytes(b) => {
            if !is_head {
                out.extend_from_slice(&b);
            }
            conn.write(out).await?;
            if !is_head {
                crate::metrics::add_bytes_sent(b.len() as u64);
            }
        }
        RespBody::Object { mut stream, len } => {
            if is_head {
                conn.write(out).await?;
                return Ok(());
            }
            let mut sent = 0u64;
            let mut pending_head = Some(out);
            loop {
                match stream.next().await {
                    Ok(Some(c)) => {
                        let n = (c.end - c.start) as u64;
                        if let Some(mut h) = pending_head.take() {
                            if n <= 64 << 10 {
                                // Small body: head and body in one write.
                                h.extend_from_slice(&c.buf.as_slice()[c.start..c.end]);
                                conn.write(h).await?;
                                sent += n;
                                crate::metrics::add_bytes_sent(n);
                                continue;
                            }
                            conn.write(h).await?;
                        }
                        let (r, _) = conn.stream.write_aligned(c.buf, c.start, c.end).await;
                        r?;
                        sent += n;
                        crate::metrics::add_bytes_sent(n);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        // The status line is gone already: cut the connection so the client
                        // sees a short body, never silently wrong data.
                        log::error!("aborting response body after {sent} bytes: {e}");
                        return Err(std::io::Error::other(e.to_string()));
                    }
                }
            }
            if let Some(h) = pending_head.take() {
                conn.write(h).await?;
            }
            if sent != len {
                log::error!("response body ended after {sent} of {len} bytes");
                return Err(std::io::Error::other("short body"));
            }
        }
    }
    Ok(())
}

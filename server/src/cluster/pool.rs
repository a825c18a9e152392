//! Per-core connection pools to other nodes' shards, and the request/response call.

use super::frame_io::{within, FrameConn, FrameError};
use leofs_net::rpc::{FrameHead, Op, Status};
use leofs_rt::net::Stream;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Connecting to a peer that does not answer this fast counts as a failure.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);
/// Idle connections kept per peer shard.
const MAX_IDLE: usize = 64;
/// After a failed connect, calls to that address fail fast for this long.
const SUSPECT_FOR: Duration = Duration::from_millis(1000);

#[derive(Default)]
pub struct Pool {
    idle: RefCell<HashMap<SocketAddr, Vec<FrameConn>>>,
    suspect: RefCell<HashMap<SocketAddr, Instant>>,
    next_id: Cell<u64>,
}

impl Pool {
    pub fn new() -> Pool {
        Pool::default()
    }

    /// Whether `addr` failed recently.
    pub fn is_suspect(&self, addr: SocketAddr) -> bool {
        self.suspect.borrow().get(&addr).is_some_and(|t| t.elapsed() < SUSPECT_FOR)
    }

    async fn connect(&self, addr: SocketAddr, fail_fast: bool) -> Result<FrameConn, FrameError> {
        if fail_fast && self.is_suspect(addr) {
            return Err(FrameError::Io(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, format!("{addr} failed recently"))));
        }
        match leofs_rt::task::timeout(CONNECT_TIMEOUT, Stream::connect(addr)).await {
            Some(Ok(s)) => {
                self.suspect.borrow_mut().remove(&addr);
                Ok(FrameConn::new(s))
            }
            Some(Err(e)) => {
                self.suspect.borrow_mut().insert(addr, Instant::now());
                Err(FrameError::Io(e))
            }
            None => {
                self.suspect.borrow_mut().insert(addr, Instant::now());
                Err(FrameError::Timeout)
            }
        }
    }

    /// Sends one request frame with body `parts` and returns the response's head and body.
    /// Error statuses other than `NotFound` come back as [`FrameError::Remote`]. A pooled
    /// connection the peer has closed meanwhile is retried once on a fresh one.
    pub async fn call(&self, addr: SocketAddr, op: Op, parts: Vec<Vec<u8>>, timeout: Duration) -> Result<(FrameHead, Vec<u8>), FrameError> {
        self.call_with(addr, op, parts, timeout, true).await
    }

    /// [`Pool::call`] that tries to connect even to an address that failed recently (for
    /// rare requests with a single destination, like those to the manager).
    pub async fn call_always(&self, addr: SocketAddr, op: Op, parts: Vec<Vec<u8>>, timeout: Duration) -> Result<(FrameHead, Vec<u8>), FrameError> {
        self.call_with(addr, op, parts, timeout, false).await
    }

    async fn call_with(&self, addr: SocketAddr, op: Op, parts: Vec<Vec<u8>>, timeout: Duration, fail_fast: bool) -> Result<(FrameHead, Vec<u8>), FrameError> {
        let pooled = self.idle.borrow_mut().get_mut(&addr).and_then(Vec::pop);
        let fresh = pooled.is_none();
        let conn = match pooled {
            Some(c) => c,
            None => self.connect(addr, fail_fast).await?,
        };
        // Retrying needs a copy of the request: only worth it for small ones (a large body
        // is not copied; its caller sees the error and falls back like for any failure).
        let small = parts.iter().map(Vec::len).sum::<usize>() <= 64 << 10;
        let retry_parts = if fresh || !small { None } else { Some(parts.clone()) };
        match self.exchange(conn, addr, op, parts, timeout).await {
            Err(FrameError::Closed | FrameError::Io(_)) if retry_parts.is_some() => {
                let conn = self.connect(addr, fail_fast).await?;
                self.exchange(conn, addr, op, retry_parts.expect("checked"), timeout).await
            }
            other => other,
        }
    }

    async fn exchange(&self, mut conn: FrameConn, addr: SocketAddr, op: Op, parts: Vec<Vec<u8>>, timeout: Duration) -> Result<(FrameHead, Vec<u8>), FrameError> {
        let id = self.next_id.get().wrapping_add(1);
        self.next_id.set(id);
        let (head, body) = within(timeout, async {
            conn.write_frame(op, false, Status::Ok, id, parts).await?;
            conn.read_frame().await
        })
        .await?;
        if head.request_id != id || !head.response || head.op != op {
            return Err(FrameError::Frame(leofs_net::rpc::RpcError::Invalid(format!("response does not match request {id}"))));
        }
        let mut idle = self.idle.borrow_mut();
        let v = idle.entry(addr).or_default();
        if v.len() < MAX_IDLE {
            v.push(conn);
        }
        drop(idle);
        match head.status {
            Status::Ok | Status::NotFound => Ok((head, body)),
            s => Err(FrameError::Remote(s, leofs_net::rpc::error_message(&body))),
        }
    }
}

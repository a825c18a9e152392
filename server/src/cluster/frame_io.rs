//! RPC frames over a socket: the I/O half of `leofs_net::rpc` (which only parses bytes).
//! Exchanges are strictly request then response on a connection, so reads never run past
//! the end of a frame and no bytes are left over between frames.

use leofs_net::rpc::{FrameHead, Op, RpcError, Status, HEAD_LEN};
use leofs_rt::net::Stream;
use std::fmt;
use std::time::Duration;

/// Largest frame body accepted: the largest record plus its fields.
pub const MAX_BODY: u64 = 80 << 20;
/// Concatenate head, fields and body into one write below this size (one packet, no
/// Nagle-style stalls); above it, write the body buffer as it is rather than copying it.
const COALESCE_BYTES: usize = 64 << 10;

#[derive(Debug)]
pub enum FrameError {
    Io(std::io::Error),
    /// The peer closed the connection.
    Closed,
    Timeout,
    Frame(RpcError),
    /// The peer answered with an error status.
    Remote(Status, String),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Io(e) => write!(f, "I/O error: {e}"),
            FrameError::Closed => f.write_str("connection closed by peer"),
            FrameError::Timeout => f.write_str("timed out"),
            FrameError::Frame(e) => write!(f, "bad frame: {e}"),
            FrameError::Remote(s, m) => write!(f, "{}: {m}", s.as_str()),
        }
    }
}

impl From<RpcError> for FrameError {
    fn from(e: RpcError) -> Self {
        FrameError::Frame(e)
    }
}

/// A connection carrying frames, with the bytes read but not yet consumed.
pub struct FrameConn {
    pub stream: Stream,
    buf: Vec<u8>,
}

/// One read asks for this much: a small frame (head and body) arrives in one read.
const READ_BYTES: usize = 64 << 10;

impl FrameConn {
    pub fn new(stream: Stream) -> FrameConn {
        let _ = stream.set_nodelay();
        FrameConn { stream, buf: Vec::new() }
    }

    /// Reads once, appending at most `max` bytes to `buf`.
    async fn fill_into(&mut self, buf: Vec<u8>, max: usize) -> Result<Vec<u8>, FrameError> {
        let (r, buf) = self.stream.read_append(buf, max).await;
        match r {
            Ok(0) => Err(FrameError::Closed),
            Ok(_) => Ok(buf),
            Err(e) => Err(FrameError::Io(e)),
        }
    }

    async fn fill(&mut self) -> Result<(), FrameError> {
        let buf = std::mem::take(&mut self.buf);
        self.buf = self.fill_into(buf, READ_BYTES).await?;
        Ok(())
    }

    /// Reads a whole frame and verifies it. A small frame costs one read; a large body is
    /// read straight into its own buffer.
    pub async fn read_frame(&mut self) -> Result<(FrameHead, Vec<u8>), FrameError> {
        while self.buf.len() < HEAD_LEN {
            self.fill().await?;
        }
        let head_bytes: [u8; HEAD_LEN] = self.buf[..HEAD_LEN].try_into().expect("HEAD_LEN bytes");
        let head = FrameHead::decode(&head_bytes, MAX_BODY)?;
        let len = head.body_len as usize;
        let end = HEAD_LEN + len;
        let body = if end <= READ_BYTES {
            while self.buf.len() < end {
                self.fill().await?;
            }
            let body = self.buf[HEAD_LEN..end].to_vec();
            self.buf.drain(..end);
            body
        } else {
            let have = (self.buf.len() - HEAD_LEN).min(len);
            let mut body = Vec::with_capacity(len);
            body.extend_from_slice(&self.buf[HEAD_LEN..HEAD_LEN + have]);
            self.buf.drain(..HEAD_LEN + have);
            while body.len() < len {
                let rest = len - body.len();
                body = self.fill_into(body, rest.min(4 << 20)).await?;
            }
            body
        };
        head.check_body(&body)?;
        Ok((head, body))
    }

    /// Writes a frame whose body is `parts` in order (fields, then an object body, say).
    pub async fn write_frame(&mut self, op: Op, response: bool, status: Status, request_id: u64, parts: Vec<Vec<u8>>) -> Result<(), FrameError> {
        let refs: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
        let head = FrameHead::for_parts(op, response, status, request_id, &refs);
        let total: usize = parts.iter().map(Vec::len).sum();
        let mut first = Vec::with_capacity(HEAD_LEN + total.min(COALESCE_BYTES));
        first.extend_from_slice(&head.encode());
        let mut rest = Vec::new();
        for p in parts {
            if first.len() + p.len() <= COALESCE_BYTES && rest.is_empty() {
                first.extend_from_slice(&p);
            } else {
                rest.push(p);
            }
        }
        self.write(first).await?;
        for p in rest {
            self.write(p).await?;
        }
        Ok(())
    }

    async fn write(&mut self, buf: Vec<u8>) -> Result<(), FrameError> {
        if buf.is_empty() {
            return Ok(());
        }
        let (r, _) = self.stream.write_all(buf).await;
        r.map_err(FrameError::Io)
    }

    /// Sends an error response.
    pub async fn write_error(&mut self, op: Op, request_id: u64, status: Status, msg: &str) -> Result<(), FrameError> {
        self.write_frame(op, true, status, request_id, vec![leofs_net::rpc::error_body(msg)]).await
    }
}

/// Runs `fut` with a deadline.
pub async fn within<T>(d: Duration, fut: impl std::future::Future<Output = Result<T, FrameError>>) -> Result<T, FrameError> {
    leofs_rt::task::timeout(d, fut).await.unwrap_or(Err(FrameError::Timeout))
}

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

/// A connection carrying frames.
pub struct FrameConn {
    pub stream: Stream,
}

impl FrameConn {
    pub fn new(stream: Stream) -> FrameConn {
        let _ = stream.set_nodelay();
        FrameConn { stream }
    }

    /// Reads exactly `n` more bytes onto `buf`.
    async fn read_into(&mut self, mut buf: Vec<u8>, n: usize) -> Result<Vec<u8>, FrameError> {
        let want = buf.len() + n;
        buf.reserve_exact(n);
        while buf.len() < want {
            let rest = want - buf.len();
            let (r, b) = self.stream.read_append(buf, rest.min(4 << 20)).await;
            buf = b;
            match r {
                Ok(0) => return Err(FrameError::Closed),
                Ok(_) => {}
                Err(e) => return Err(FrameError::Io(e)),
            }
        }
        Ok(buf)
    }

    /// Reads one frame's head, waiting at most `idle` for its first byte... and then the
    /// rest of the frame within `within`. `None` idle waits forever.
    pub async fn read_head(&mut self) -> Result<FrameHead, FrameError> {
        let b = self.read_into(Vec::with_capacity(HEAD_LEN), HEAD_LEN).await?;
        let head: [u8; HEAD_LEN] = b[..].try_into().expect("read exactly HEAD_LEN");
        Ok(FrameHead::decode(&head, MAX_BODY)?)
    }

    /// Reads a frame body of `head.body_len` bytes and verifies its checksum.
    pub async fn read_body(&mut self, head: &FrameHead) -> Result<Vec<u8>, FrameError> {
        let body = self.read_into(Vec::new(), head.body_len as usize).await?;
        head.check_body(&body)?;
        Ok(body)
    }

    /// Reads a whole frame.
    pub async fn read_frame(&mut self) -> Result<(FrameHead, Vec<u8>), FrameError> {
        let head = self.read_head().await?;
        let body = self.read_body(&head).await?;
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

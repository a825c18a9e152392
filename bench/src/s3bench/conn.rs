//! One client connection: writes a request, reads the response head and its body (length,
//! chunked or until close), keeps the connection open when the server allows.
//!
//! Buffers live in the connection and are reused for every request: the request head is
//! written into [`Conn::req`], a large PUT body goes out from a per-connection copy made
//! once (not per request; two sizes are kept, so that the parts of a multipart upload, all
//! of one size but the last, are not copied again and again), and response bodies are
//! read into one read buffer that is cleared, never reallocated, as it fills.

use super::http::{parse_head, BodyLen};
use leofs_net::http1::{ChunkedDecoder, Limits};
use leofs_rt::net::Stream;
use std::io;
use std::net::SocketAddr;

/// Most bytes asked of one socket read.
const READ_CHUNK: usize = 256 * 1024;
/// Bodies up to this size are copied behind the head and sent in the same write; larger
/// ones are sent from the connection's own copy as a second write.
pub const INLINE_BODY_MAX: usize = 64 * 1024;
/// Bytes of an error response body kept to find its S3 error code.
const ERROR_KEEP: usize = 16 * 1024;

/// What came back.
#[derive(Clone, Copy, Debug)]
pub struct Reply {
    pub status: u16,
    /// Body bytes received.
    pub body_bytes: u64,
}

/// A connection to one server address, opened on first use and again after the server
/// closed it.
pub struct Conn {
    addr: SocketAddr,
    stream: Option<Stream>,
    /// The request head to send (and the body, when inline): the caller fills it.
    pub req: Vec<u8>,
    /// This connection's copy of a large PUT body.
    body: Vec<u8>,
    /// The copy of the body of the other size used last.
    body_alt: Vec<u8>,
    buf: Vec<u8>,
    /// Response body bytes kept for the caller: up to `keep` bytes of a successful
    /// response, or the start of an error response (for its `<Code>`).
    pub kept: Vec<u8>,
    /// The `ETag` header of the last response (empty: none).
    pub etag: String,
    limits: Limits,
    /// TCP connections opened so far.
    pub connects: u64,
}

impl Conn {
    pub fn new(addr: SocketAddr) -> Conn {
        Conn {
            addr,
            stream: None,
            req: Vec::with_capacity(1024 + INLINE_BODY_MAX),
            body: Vec::new(),
            body_alt: Vec::new(),
            buf: Vec::with_capacity(READ_CHUNK),
            kept: Vec::new(),
            etag: String::new(),
            limits: Limits::default(),
            connects: 0,
        }
    }

    /// Opens the connection now (done before a measured phase starts, so that its first
    /// requests do not include a TCP handshake).
    pub async fn connect(&mut self) -> io::Result<()> {
        if self.stream.is_none() {
            let s = Stream::connect(self.addr).await?;
            s.set_nodelay()?;
            self.stream = Some(s);
            self.connects += 1;
        }
        Ok(())
    }

    /// Forgets the connection and any unread bytes: after an error or a timeout (a
    /// dropped exchange may also have taken buffers with it; they are recreated).
    pub fn reset(&mut self) {
        self.stream = None;
        self.buf.clear();
        if self.buf.capacity() == 0 {
            self.buf = Vec::with_capacity(READ_CHUNK);
        }
    }

    /// Sends [`Conn::req`], then `body` as a separate write when given (see
    /// [`INLINE_BODY_MAX`]), and reads the whole response. A separate `body` must be a
    /// prefix of the one random buffer of the run: the connection's copy is reused
    /// whenever the length matches, whatever the bytes. `head_request`: the response
    /// has no body whatever its headers say. `keep`: how much of a successful body to keep
    /// in [`Conn::kept`].
    pub async fn exchange(
        &mut self,
        body: Option<&[u8]>,
        head_request: bool,
        keep: usize,
    ) -> io::Result<Reply> {
        let r = self.exchange_inner(body, head_request, keep).await;
        if r.is_err() {
            self.reset();
        }
        r
    }

    async fn exchange_inner(
        &mut self,
        body: Option<&[u8]>,
        head_request: bool,
        keep: usize,
    ) -> io::Result<Reply> {
        self.connect().await?;
        if let Some(b) = body {
            // Copied once per connection for a fixed size; again only when the size changes
            // to one other than the last two.
            let stale = |v: &Vec<u8>| v.len() != b.len() || v.capacity() == 0;
            if stale(&self.body) {
                std::mem::swap(&mut self.body, &mut self.body_alt);
                if stale(&self.body) {
                    self.body.clear();
                    self.body.extend_from_slice(b);
                }
            }
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(io::Error::other("not connected"));
        };
        let (r, req) = stream.write_all(std::mem::take(&mut self.req)).await;
        self.req = req;
        r?;
        if body.is_some() {
            let (r, b) = stream.write_all(std::mem::take(&mut self.body)).await;
            self.body = b;
            r?;
        }
        self.kept.clear();

        // The head.
        let head = loop {
            match parse_head(&self.buf, head_request).map_err(io::Error::other)? {
                // 100 Continue and friends: skip, the real response follows.
                Some(h) if (100..200).contains(&h.status) && h.status != 101 => {
                    self.buf.drain(..h.head_len);
                }
                Some(h) => break h,
                None => {
                    if read_more(stream, &mut self.buf, READ_CHUNK).await? == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "connection closed before a response",
                        ));
                    }
                }
            }
        };
        self.etag.clear();
        if let Some((a, b)) = head.etag {
            self.etag
                .push_str(std::str::from_utf8(&self.buf[a..b]).unwrap_or("").trim());
        }
        let keep = if head.status >= 300 { ERROR_KEEP } else { keep };
        let mut pos = head.head_len;
        let mut got: u64 = 0;

        // The body, consumed in place: `buf[pos..]` is unread.
        match head.body {
            BodyLen::None => {}
            BodyLen::Length(len) => {
                let mut remaining = len;
                loop {
                    let take = (self.buf.len() - pos)
                        .min(usize::try_from(remaining).unwrap_or(usize::MAX));
                    keep_bytes(&mut self.kept, &self.buf[pos..pos + take], keep);
                    pos += take;
                    remaining -= take as u64;
                    got += take as u64;
                    if remaining == 0 {
                        break;
                    }
                    self.buf.clear();
                    pos = 0;
                    // Never past the body: bytes after it would belong to the next response.
                    let want = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(READ_CHUNK);
                    if read_more(stream, &mut self.buf, want).await? == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "connection closed inside a response body",
                        ));
                    }
                }
            }
            BodyLen::Chunked => {
                let mut dec = ChunkedDecoder::new(&self.limits);
                'body: loop {
                    // The decoder stops after each chunk's data: call it until the input
                    // is used up or the body ends.
                    while pos < self.buf.len() {
                        let d = dec
                            .decode(&self.buf[pos..])
                            .map_err(|e| io::Error::other(format!("chunked body: {e}")))?;
                        if let Some(range) = d.data {
                            let data = &self.buf[pos + range.start..pos + range.end];
                            keep_bytes(&mut self.kept, data, keep);
                            got += data.len() as u64;
                        }
                        pos += d.consumed;
                        if d.done {
                            break 'body;
                        }
                        if d.consumed == 0 {
                            return Err(io::Error::other(
                                "chunked body: the decoder made no progress",
                            ));
                        }
                    }
                    self.buf.clear();
                    pos = 0;
                    if read_more(stream, &mut self.buf, READ_CHUNK).await? == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "connection closed inside a chunked body",
                        ));
                    }
                }
            }
            BodyLen::UntilClose => loop {
                keep_bytes(&mut self.kept, &self.buf[pos..], keep);
                got += (self.buf.len() - pos) as u64;
                self.buf.clear();
                pos = 0;
                if read_more(stream, &mut self.buf, READ_CHUNK).await? == 0 {
                    break;
                }
            },
        }
        if pos >= self.buf.len() {
            self.buf.clear();
        } else {
            self.buf.drain(..pos);
        }
        if head.close {
            self.stream = None;
        }
        Ok(Reply {
            status: head.status,
            body_bytes: got,
        })
    }
}

/// One read appending at most `max` bytes to `buf`; the count read (0: closed).
async fn read_more(stream: &mut Stream, buf: &mut Vec<u8>, max: usize) -> io::Result<usize> {
    let (r, b) = stream.read_append(std::mem::take(buf), max).await;
    *buf = b;
    r
}

fn keep_bytes(kept: &mut Vec<u8>, data: &[u8], keep: usize) {
    let room = keep.saturating_sub(kept.len());
    if room > 0 {
        kept.extend_from_slice(&data[..data.len().min(room)]);
    }
}

//! TCP for the connection loop: one listening socket shared by every core (each core
//! accepts on a duplicate of it), owned-buffer reads and writes.

use crate::buf::AlignedBuf;
use monoio::buf::{IoBuf, IoBufMut};
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use std::io;
use std::net::SocketAddr;

/// Binds a listening socket. No SO_REUSEPORT: a second server on the same port fails with
/// "address in use" instead of silently sharing the port.
pub fn bind(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let l = std::net::TcpListener::bind(addr)?;
    l.set_nonblocking(true)?;
    Ok(l)
}

pub struct Listener(monoio::net::TcpListener);

impl Listener {
    /// Takes a duplicate of a bound socket for this core's runtime.
    pub fn from_std(l: &std::net::TcpListener) -> io::Result<Listener> {
        let dup = l.try_clone()?;
        dup.set_nonblocking(true)?;
        Ok(Listener(monoio::net::TcpListener::from_std(dup)?))
    }

    pub async fn accept(&self) -> io::Result<(Stream, SocketAddr)> {
        let (s, a) = self.0.accept().await?;
        Ok((Stream(s), a))
    }
}

pub struct Stream(monoio::net::TcpStream);

impl Stream {
    pub async fn connect(addr: SocketAddr) -> io::Result<Stream> {
        Ok(Stream(monoio::net::TcpStream::connect(addr).await?))
    }

    /// Waits until the socket has data (or is closed) without reading it: safe to cancel
    /// with a timeout, unlike a read whose bytes would be lost.
    pub async fn readable(&self) -> io::Result<()> {
        self.0.readable(false).await
    }

    /// Disables Nagle: a response's last segment must not wait for an ACK.
    pub fn set_nodelay(&self) -> io::Result<()> {
        self.0.set_nodelay(true)
    }

    /// Reads once, appending at most `max` bytes to `buf`. Returns the count read; 0 means
    /// the peer closed. Never reads past `max`, so a pipelined next request stays unread.
    pub async fn read_append(&mut self, mut buf: Vec<u8>, max: usize) -> (io::Result<usize>, Vec<u8>) {
        if buf.capacity() - buf.len() < max {
            buf.reserve(max);
        }
        let len = buf.len();
        let (r, slice) = self.0.read(buf.slice_mut(len..len + max)).await;
        (r, slice.into_inner())
    }

    pub async fn write_all(&mut self, buf: Vec<u8>) -> (io::Result<()>, Vec<u8>) {
        let (r, b) = self.0.write_all(buf).await;
        (r.map(|_| ()), b)
    }

    /// Writes `buf[start..end]` of an aligned read buffer straight to the socket (no copy).
    pub async fn write_aligned(&mut self, buf: AlignedBuf, start: usize, end: usize) -> (io::Result<()>, AlignedBuf) {
        let (r, s) = self.0.write_all(buf.slice(start..end)).await;
        (r.map(|_| ()), s.into_inner())
    }
}

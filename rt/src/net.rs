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
        Ok((Stream(Inner::Plain(s)), a))
    }
}

/// An accepted plain TCP connection detached from the core that accepted it, on its way to
/// another core's runtime (to spread connections evenly over the cores).
pub struct Handoff(std::net::TcpStream);

impl Handoff {
    /// Attaches the connection to the current core's runtime.
    pub fn into_stream(self) -> io::Result<Stream> {
        Ok(Stream(Inner::Plain(monoio::net::TcpStream::from_std(self.0)?)))
    }
}

type TlsStream = monoio_rustls::ServerTlsStream<monoio::net::TcpStream>;

enum Inner {
    Plain(monoio::net::TcpStream),
    Tls(Box<TlsStream>),
}

/// A connection, plain TCP or TLS.
pub struct Stream(Inner);

/// Calls the same method on whichever stream type this is.
macro_rules! on_stream {
    ($self:expr, $s:ident => $body:expr) => {
        match &mut $self.0 {
            Inner::Plain($s) => $body,
            Inner::Tls($s) => $body,
        }
    };
}

impl Stream {
    pub async fn connect(addr: SocketAddr) -> io::Result<Stream> {
        Ok(Stream(Inner::Plain(monoio::net::TcpStream::connect(addr).await?)))
    }

    /// Detaches a plain connection that has no operation in flight, for another core; a TLS
    /// one is handed back as it is.
    pub fn into_handoff(self) -> Result<Handoff, Stream> {
        match self.0 {
            Inner::Plain(s) => {
                use std::os::fd::{FromRawFd, IntoRawFd};
                let fd = s.into_raw_fd();
                // SAFETY: `into_raw_fd` gave up the runtime's only reference to this open
                // socket (it panics otherwise), so the new `TcpStream` is its sole owner.
                #[allow(unsafe_code)]
                let std = unsafe { std::net::TcpStream::from_raw_fd(fd) };
                Ok(Handoff(std))
            }
            tls => Err(Stream(tls)),
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(self.0, Inner::Tls(_))
    }

    /// Waits until the socket has data (or is closed) without reading it: safe to cancel
    /// with a timeout, unlike a read whose bytes would be lost. Plain TCP only (a TLS
    /// session may hold decrypted bytes the socket no longer shows): TLS returns at once.
    pub async fn readable(&self) -> io::Result<()> {
        match &self.0 {
            Inner::Plain(s) => s.readable(false).await,
            Inner::Tls(_) => Ok(()),
        }
    }

    /// Disables Nagle: a response's last segment must not wait for an ACK.
    pub fn set_nodelay(&self) -> io::Result<()> {
        match &self.0 {
            Inner::Plain(s) => s.set_nodelay(true),
            // Set on the TCP socket before the handshake (see TlsAcceptor::accept).
            Inner::Tls(_) => Ok(()),
        }
    }

    /// Reads once, appending at most `max` bytes to `buf`. Returns the count read; 0 means
    /// the peer closed. Never reads past `max`, so a pipelined next request stays unread.
    pub async fn read_append(&mut self, mut buf: Vec<u8>, max: usize) -> (io::Result<usize>, Vec<u8>) {
        if buf.capacity() - buf.len() < max {
            buf.reserve(max);
        }
        let len = buf.len();
        let (r, slice) = on_stream!(self, s => s.read(buf.slice_mut(len..len + max)).await);
        (r, slice.into_inner())
    }

    pub async fn write_all(&mut self, buf: Vec<u8>) -> (io::Result<()>, Vec<u8>) {
        let (r, b) = on_stream!(self, s => s.write_all(buf).await);
        let r = match r {
            Ok(_) => self.flush().await,
            Err(e) => Err(e),
        };
        (r, b)
    }

    /// Writes `buf[start..end]` of an aligned read buffer straight to the socket (no copy).
    pub async fn write_aligned(&mut self, buf: AlignedBuf, start: usize, end: usize) -> (io::Result<()>, AlignedBuf) {
        let (r, s) = on_stream!(self, st => st.write_all(buf.slice(start..end)).await);
        let r = match r {
            Ok(_) => self.flush().await,
            Err(e) => Err(e),
        };
        (r, s.into_inner())
    }

    /// TLS buffers records: push them out. A no-op on plain TCP.
    async fn flush(&mut self) -> io::Result<()> {
        match &mut self.0 {
            Inner::Plain(_) => Ok(()),
            Inner::Tls(s) => monoio::io::AsyncWriteRent::flush(&mut **s).await,
        }
    }
}

/// Terminates TLS for incoming connections (`--tls-cert`, `--tls-key`).
#[derive(Clone)]
pub struct TlsAcceptor(monoio_rustls::TlsAcceptor);

impl TlsAcceptor {
    /// Loads a PEM certificate chain and private key.
    pub fn from_pem_files(cert: &std::path::Path, key: &std::path::Path) -> Result<TlsAcceptor, String> {
        let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
        let cert_pem = read(cert)?;
        let key_pem = read(key)?;
        let certs: Vec<_> = rustls_pemfile::certs(&mut &cert_pem[..])
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{}: not a PEM certificate: {e}", cert.display()))?;
        if certs.is_empty() {
            return Err(format!("{}: no certificate found", cert.display()));
        }
        let key_der = rustls_pemfile::private_key(&mut &key_pem[..])
            .map_err(|e| format!("{}: not a PEM private key: {e}", key.display()))?
            .ok_or_else(|| format!("{}: no private key found", key.display()))?;
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS configuration: {e}"))?
            .with_no_client_auth()
            .with_single_cert(certs, key_der)
            .map_err(|e| format!("TLS certificate/key: {e}"))?;
        Ok(TlsAcceptor(monoio_rustls::TlsAcceptor::from(config)))
    }

    /// Runs the TLS handshake on an accepted plain connection.
    pub async fn accept(&self, s: Stream) -> io::Result<Stream> {
        match s.0 {
            Inner::Plain(tcp) => {
                tcp.set_nodelay(true)?;
                let tls = self.0.accept(tcp).await.map_err(|e| io::Error::other(format!("TLS handshake: {e}")))?;
                Ok(Stream(Inner::Tls(Box::new(tls))))
            }
            Inner::Tls(_) => Err(io::Error::other("already TLS")),
        }
    }
}

//! Engine errors. Each says what failed and why, in words an operator can act on.

use std::fmt;
use std::io;

#[derive(Debug)]
pub enum Error {
    /// An I/O call failed (reads; writes poison the shard instead).
    Io { op: &'static str, source: io::Error },
    /// The shard refused a write because an earlier write or fsync failed; reads still work.
    Poisoned(String),
    /// The disk is full: nothing was written; space comes back after compaction or deletes.
    NoSpace(String),
    /// Stored bytes failed verification (checksum, magic, key mismatch).
    Corrupt(String),
    /// The request is out of the engine's limits (key, metadata or record too large).
    Invalid(String),
    /// The shard is closed.
    Closed,
    /// Whoever holds the data cannot be reached now (a cluster's storage nodes); retry.
    Unavailable(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn io(op: &'static str, source: io::Error) -> Error {
        Error::Io { op, source }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { op, source } => write!(f, "I/O error during {op}: {source}"),
            Error::Poisoned(why) => write!(f, "shard is read-only after a failed write: {why}"),
            Error::NoSpace(why) => write!(f, "no space left on device: {why}"),
            Error::Corrupt(why) => write!(f, "stored data is corrupt: {why}"),
            Error::Invalid(why) => write!(f, "invalid request: {why}"),
            Error::Closed => write!(f, "shard is closed"),
            Error::Unavailable(why) => write!(f, "unavailable: {why}"),
        }
    }
}

impl std::error::Error for Error {}

/// True for errors that mean "the device is full".
pub fn is_enospc(e: &io::Error) -> bool {
    e.raw_os_error() == Some(28) || e.kind() == io::ErrorKind::StorageFull
}

impl Clone for Error {
    fn clone(&self) -> Error {
        match self {
            Error::Io { op, source } => Error::Io { op, source: io::Error::new(source.kind(), source.to_string()) },
            Error::Poisoned(s) => Error::Poisoned(s.clone()),
            Error::NoSpace(s) => Error::NoSpace(s.clone()),
            Error::Corrupt(s) => Error::Corrupt(s.clone()),
            Error::Invalid(s) => Error::Invalid(s.clone()),
            Error::Closed => Error::Closed,
            Error::Unavailable(s) => Error::Unavailable(s.clone()),
        }
    }
}

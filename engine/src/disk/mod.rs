//! The disk seam. The store is generic over [`Disk`]: the real directory of O_DIRECT files
//! ([`DirDisk`]) and a simulated disk ([`SimDisk`]) that loses unsynced writes and tears
//! them on a simulated crash, and can inject EIO/ENOSPC.
//!
//! Buffers go to the disk by value and come back with the result (completion-based I/O).
//! Offsets and lengths of reads and writes must be multiples of `leofs_rt::ALIGN`.

mod dir;
mod sim;

pub use dir::DirDisk;
pub use sim::{Fault, FaultOp, SimDisk, SplitMix64};

use leofs_rt::AlignedBuf;
use std::io;

/// A flat directory of files.
pub trait Disk: 'static {
    type File: DiskFile;
    fn open(&self, name: &str, create: bool) -> io::Result<Self::File>;
    /// File names in the directory.
    fn list(&self) -> io::Result<Vec<String>>;
    fn remove(&self, name: &str) -> io::Result<()>;
    /// Atomically replaces `to` with `from`.
    fn rename(&self, from: &str, to: &str) -> io::Result<()>;
    /// Makes creations, renames and removals durable.
    fn sync_dir(&self) -> io::Result<()>;
}

#[allow(async_fn_in_trait, clippy::len_without_is_empty)]
pub trait DiskFile: 'static {
    /// Reads up to `len` bytes at `off` into `buf`; short only at end of file.
    async fn read_at(&self, buf: AlignedBuf, off: u64, len: usize) -> (io::Result<usize>, AlignedBuf);
    /// Writes `buf[..buf.len()]` at `off`.
    async fn write_at(&self, buf: AlignedBuf, off: u64) -> (io::Result<()>, AlignedBuf);
    /// fdatasync.
    async fn sync(&self) -> io::Result<()>;
    /// Preallocates `[off, off+len)`, growing the file.
    fn allocate(&self, off: u64, len: u64) -> io::Result<()>;
    /// Makes `[off, off+len)` read as zeros.
    fn zero_range(&self, off: u64, len: u64) -> io::Result<()>;
    fn len(&self) -> io::Result<u64>;
}

//! Positional file I/O for the storage engine: O_DIRECT (or buffered, when the operator
//! asks for it) files driven by the runtime's io_uring or epoll driver, plus the few
//! blocking metadata calls (fallocate, directory sync) the engine needs.

use crate::buf::{AlignedBuf, ALIGN};
use crate::submit::eager;
use monoio::buf::{IoBuf, IoBufMut};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// How a file's data reaches the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoMode {
    /// O_DIRECT: bypasses the page cache; offsets, lengths and buffers must be aligned.
    Direct,
    /// Through the page cache: for filesystems without O_DIRECT, when explicitly allowed.
    Buffered,
}

/// A file opened for positional reads and writes.
pub struct File {
    inner: monoio::fs::File,
    std: std::fs::File,
    mode: IoMode,
    path: PathBuf,
}

impl File {
    /// Opens (and with `create`, creates) `path` for read and write.
    pub fn open(path: &Path, create: bool, mode: IoMode) -> io::Result<File> {
        let mut opts = std::fs::OpenOptions::new();
        opts.read(true).write(true).create(create);
        if mode == IoMode::Direct {
            opts.custom_flags(libc::O_DIRECT);
        }
        let std = opts.open(path)?;
        let inner = monoio::fs::File::from_std(std.try_clone()?)?;
        Ok(File { inner, std, mode, path: path.to_path_buf() })
    }

    pub fn mode(&self) -> IoMode {
        self.mode
    }
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn check_aligned(&self, off: u64, len: usize) -> io::Result<()> {
        if self.mode == IoMode::Direct && (!off.is_multiple_of(ALIGN as u64) || !len.is_multiple_of(ALIGN)) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unaligned direct I/O: offset {off} length {len}"),
            ));
        }
        Ok(())
    }

    /// Reads up to `len` bytes at `off` into `buf` (whose length becomes the count read).
    /// Returns fewer bytes only at end of file.
    pub async fn read_at(&self, mut buf: AlignedBuf, off: u64, len: usize) -> (io::Result<usize>, AlignedBuf) {
        if let Err(e) = self.check_aligned(off, len) {
            return (Err(e), buf);
        }
        assert!(len <= buf.capacity(), "read_at: len {len} > capacity {}", buf.capacity());
        let mut done = 0usize;
        while done < len {
            let slice = buf.slice_mut(done..len);
            let (res, slice) = eager(self.inner.read_at(slice, off + done as u64)).await;
            buf = slice.into_inner();
            match res {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return (Err(e), buf),
            }
        }
        buf.set_len(done);
        (Ok(done), buf)
    }

    /// Writes all of `buf` (its length) at `off`.
    pub async fn write_at(&self, buf: AlignedBuf, off: u64) -> (io::Result<()>, AlignedBuf) {
        if let Err(e) = self.check_aligned(off, buf.len()) {
            return (Err(e), buf);
        }
        let len = buf.bytes_init();
        let mut buf = buf;
        let mut done = 0usize;
        while done < len {
            let slice = buf.slice(done..len);
            let (res, slice) = eager(self.inner.write_at(slice, off + done as u64)).await;
            buf = slice.into_inner();
            match res {
                Ok(0) => return (Err(io::Error::new(io::ErrorKind::WriteZero, "write returned 0")), buf),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return (Err(e), buf),
            }
        }
        (Ok(()), buf)
    }

    /// fdatasync: data and the metadata needed to read it back are durable.
    pub async fn sync_data(&self) -> io::Result<()> {
        eager(self.inner.sync_data()).await
    }

    /// Preallocates `[off, off+len)` so later writes need no block allocation (and cannot
    /// fail with ENOSPC).
    pub fn allocate(&self, off: u64, len: u64) -> io::Result<()> {
        fallocate(&self.std, 0, off, len)
    }

    /// Makes `[off, off+len)` read as zeros, cheaply (no data written), keeping it allocated.
    pub fn zero_range(&self, off: u64, len: u64) -> io::Result<()> {
        match fallocate(&self.std, libc::FALLOC_FL_ZERO_RANGE, off, len) {
            Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {
                fallocate(&self.std, libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE, off, len)?;
                fallocate(&self.std, 0, off, len)
            }
            other => other,
        }
    }

    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> io::Result<u64> {
        Ok(self.std.metadata()?.len())
    }
}

fn fallocate(file: &std::fs::File, mode: i32, off: u64, len: u64) -> io::Result<()> {
    let (Ok(off), Ok(len)) = (i64::try_from(off), i64::try_from(len)) else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "fallocate range overflows"));
    };
    loop {
        // SAFETY: fallocate only reads its integer arguments; the fd is owned by `file`,
        // which outlives the call.
        #[allow(unsafe_code)]
        let rc = unsafe { libc::fallocate(file.as_raw_fd(), mode, off, len) };
        if rc == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// fsync on a directory: makes creations, renames and removals in it durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// What the data directory's filesystem supports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DirectIoSupport {
    Supported,
    /// The reason, e.g. "tmpfs keeps data in memory" or the open error.
    Unsupported(String),
}

const TMPFS_MAGIC: i64 = 0x0102_1994;

/// Checks that `dir` is on a filesystem where O_DIRECT writes reach a disk: refuses tmpfs
/// (memory only) and filesystems that reject O_DIRECT.
pub fn probe_direct_io(dir: &Path) -> io::Result<DirectIoSupport> {
    if statfs_type(dir)? == TMPFS_MAGIC {
        return Ok(DirectIoSupport::Unsupported(format!(
            "{} is on tmpfs: data would live in memory only",
            dir.display()
        )));
    }
    let probe = dir.join(".leofs-direct-io-probe");
    let res = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_DIRECT)
        .open(&probe);
    let out = match res {
        Ok(f) => {
            use std::os::unix::fs::FileExt;
            let buf = AlignedBuf::with_capacity(ALIGN);
            let mut b = buf;
            b.set_len(ALIGN);
            match f.write_at(b.as_slice(), 0) {
                Ok(_) => DirectIoSupport::Supported,
                Err(e) => DirectIoSupport::Unsupported(format!("O_DIRECT write failed: {e}")),
            }
        }
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            DirectIoSupport::Unsupported(format!("{} does not support O_DIRECT", dir.display()))
        }
        Err(e) => return Err(e),
    };
    let _ = std::fs::remove_file(&probe);
    Ok(out)
}

fn statfs_type(dir: &Path) -> io::Result<i64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))?;
    // SAFETY: statfs is plain old data; zeroed is a valid initial value.
    #[allow(unsafe_code)]
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is a valid NUL-terminated path and st a valid out-pointer for the call.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    #[allow(clippy::unnecessary_cast)]
    Ok(st.f_type as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;

    /// A read's submission reaches the kernel at its first poll, not when the thread parks.
    #[test]
    fn a_queued_read_is_submitted_before_the_thread_parks() {
        let dir = std::env::temp_dir().join(format!("leofs-rt-eager-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        std::fs::write(&path, vec![7u8; 2 * ALIGN]).unwrap();
        crate::block_on(async {
            if crate::runtime::current_driver() != Some(crate::Driver::IoUring) {
                return; // epoll: nothing is queued
            }
            assert!(crate::submit::ring_fd().is_some(), "the runtime's ring was found");
            let f = File::open(&path, false, IoMode::Buffered).unwrap();
            let mut read = std::pin::pin!(f.read_at(AlignedBuf::with_capacity(ALIGN), 0, ALIGN));
            let first = std::future::poll_fn(|cx| std::task::Poll::Ready(read.as_mut().poll(cx).is_pending())).await;
            let (head, tail) = crate::submit::sq_head_tail().expect("fdinfo of the ring");
            if first {
                assert_eq!(head, tail, "nothing left queued after the first poll");
            }
            let (r, b) = read.await;
            assert_eq!(r.unwrap(), ALIGN);
            assert!(b.as_slice().iter().all(|&x| x == 7));
        });
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

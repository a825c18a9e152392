//! The real disk: a directory of files opened with O_DIRECT (or buffered, when allowed),
//! read and written through the runtime seam (io_uring, or epoll's blocking fallback).

use super::{Disk, DiskFile};
use leofs_rt::fs::{self, File, IoMode};
use leofs_rt::AlignedBuf;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct DirDisk {
    dir: PathBuf,
    mode: IoMode,
}

impl DirDisk {
    /// Creates the directory if needed. With `IoMode::Direct` the caller should first have
    /// checked `leofs_rt::fs::probe_direct_io`.
    pub fn new(dir: &Path, mode: IoMode) -> io::Result<DirDisk> {
        std::fs::create_dir_all(dir)?;
        Ok(DirDisk { dir: dir.to_path_buf(), mode })
    }
    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Disk for DirDisk {
    type File = File;
    fn open(&self, name: &str, create: bool) -> io::Result<File> {
        File::open(&self.dir.join(name), create, self.mode)
    }
    fn list(&self) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.dir)? {
            if let Some(n) = e?.file_name().to_str() {
                out.push(n.to_string());
            }
        }
        Ok(out)
    }
    fn remove(&self, name: &str) -> io::Result<()> {
        std::fs::remove_file(self.dir.join(name))
    }
    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        std::fs::rename(self.dir.join(from), self.dir.join(to))
    }
    fn sync_dir(&self) -> io::Result<()> {
        fs::sync_dir(&self.dir)
    }
}

impl DiskFile for File {
    async fn read_at(&self, buf: AlignedBuf, off: u64, len: usize) -> (io::Result<usize>, AlignedBuf) {
        File::read_at(self, buf, off, len).await
    }
    async fn write_at(&self, buf: AlignedBuf, off: u64) -> (io::Result<()>, AlignedBuf) {
        File::write_at(self, buf, off).await
    }
    async fn sync(&self) -> io::Result<()> {
        self.sync_data().await
    }
    fn allocate(&self, off: u64, len: u64) -> io::Result<()> {
        File::allocate(self, off, len)
    }
    fn zero_range(&self, off: u64, len: u64) -> io::Result<()> {
        File::zero_range(self, off, len)
    }
    fn len(&self) -> io::Result<u64> {
        File::len(self)
    }
}

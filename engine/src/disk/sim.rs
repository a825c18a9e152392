//! A simulated disk for deterministic crash and fault testing.
//!
//! Every file has a *current* image (what reads return) and a *durable* image (what
//! survives a crash), plus the list of writes issued since the last sync. `crash_image`
//! builds the disk a restart would find: the durable image with each unsynced write
//! independently dropped, applied, or torn at a random byte (writes may be reordered by the
//! device, and a torn write leaves each byte either old or new).
//!
//! Simplification, stated: file creation, preallocation, rename and removal are durable as
//! soon as they return (the real disk syncs the directory after each of them anyway).
//! Faults: an operation of a chosen kind fails with a chosen errno after N successes, and a
//! crash point makes every operation after the Nth fail, as a power cut would.

use super::{Disk, DiskFile};
use leofs_rt::{AlignedBuf, ALIGN};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::rc::Rc;

/// A small deterministic PRNG for tests and simulations (SplitMix64).
#[derive(Clone, Debug)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultOp {
    Write,
    Sync,
    Allocate,
    Read,
}

/// Fail the `after`-th next operation of kind `op` (0 = the very next) with `errno`;
/// with `sticky`, every later one too.
#[derive(Clone, Copy, Debug)]
pub struct Fault {
    pub op: FaultOp,
    pub after: u64,
    pub errno: i32,
    pub sticky: bool,
}

#[derive(Default)]
struct FileData {
    cur: Vec<u8>,
    durable: Vec<u8>,
    pending: Vec<(u64, Vec<u8>)>,
}

#[derive(Default)]
struct State {
    files: BTreeMap<String, Rc<RefCell<FileData>>>,
    fault: Option<(Fault, u64)>,
    crash_after_ops: Option<u64>,
    ops: u64,
    fault_fired: bool,
}

impl State {
    /// Counts an operation; returns the error it must fail with, if any.
    fn op(&mut self, kind: FaultOp) -> io::Result<()> {
        self.ops += 1;
        if let Some(limit) = self.crash_after_ops {
            if self.ops > limit {
                return Err(io::Error::other("simulated power loss"));
            }
        }
        if let Some((f, seen)) = &mut self.fault {
            if f.op == kind {
                if *seen >= f.after {
                    let err = io::Error::from_raw_os_error(f.errno);
                    self.fault_fired = true;
                    if !f.sticky {
                        self.fault = None;
                    }
                    return Err(err);
                }
                *seen += 1;
            }
        }
        Ok(())
    }
}

/// A handle to a simulated directory; clones share it.
#[derive(Clone, Default)]
pub struct SimDisk {
    st: Rc<RefCell<State>>,
}

pub struct SimFile {
    data: Rc<RefCell<FileData>>,
    disk: Rc<RefCell<State>>,
}

impl SimDisk {
    pub fn new() -> SimDisk {
        SimDisk::default()
    }

    pub fn set_fault(&self, fault: Option<Fault>) {
        self.st.borrow_mut().fault = fault.map(|f| (f, 0));
        self.st.borrow_mut().fault_fired = false;
    }
    pub fn fault_fired(&self) -> bool {
        self.st.borrow().fault_fired
    }

    /// After `n` more operations, every operation fails (the power is cut).
    pub fn crash_after(&self, n: u64) {
        let mut st = self.st.borrow_mut();
        st.crash_after_ops = Some(st.ops + n);
    }
    pub fn crashed(&self) -> bool {
        let st = self.st.borrow();
        matches!(st.crash_after_ops, Some(l) if st.ops > l)
    }

    /// The disk a restart after a crash now would see (a new, independent disk).
    pub fn crash_image(&self, rng: &mut SplitMix64) -> SimDisk {
        let st = self.st.borrow();
        let mut files = BTreeMap::new();
        for (name, f) in &st.files {
            let f = f.borrow();
            let mut img = f.durable.clone();
            for (off, data) in &f.pending {
                let n = match rng.below(4) {
                    0 => 0,
                    1 => rng.below(data.len() as u64 + 1) as usize, // torn
                    _ => data.len(),
                };
                let off = *off as usize;
                let end = (off + n).min(img.len());
                if off < end {
                    img[off..end].copy_from_slice(&data[..end - off]);
                }
            }
            let fd = FileData { cur: img.clone(), durable: img, pending: Vec::new() };
            files.insert(name.clone(), Rc::new(RefCell::new(fd)));
        }
        SimDisk { st: Rc::new(RefCell::new(State { files, ..Default::default() })) }
    }

    /// A copy of a file's current bytes (what reads return), for invariant checks.
    pub fn file_bytes(&self, name: &str) -> Option<Vec<u8>> {
        self.st.borrow().files.get(name).map(|f| f.borrow().cur.clone())
    }

    /// Flips one byte of a file's current and durable images (bit rot), for scrub tests.
    pub fn corrupt(&self, name: &str, off: u64) {
        if let Some(f) = self.st.borrow().files.get(name) {
            let mut f = f.borrow_mut();
            let o = off as usize;
            if o < f.cur.len() {
                f.cur[o] ^= 0x5A;
            }
            if o < f.durable.len() {
                f.durable[o] ^= 0x5A;
            }
        }
    }
}

fn not_found(name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("no such file: {name}"))
}

fn check_aligned(off: u64, len: usize) -> io::Result<()> {
    // The simulated disk is as strict as O_DIRECT, so alignment bugs show up in tests.
    if !off.is_multiple_of(ALIGN as u64) || !len.is_multiple_of(ALIGN) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("unaligned I/O at {off} len {len}")));
    }
    Ok(())
}

impl Disk for SimDisk {
    type File = SimFile;
    fn open(&self, name: &str, create: bool) -> io::Result<SimFile> {
        let mut st = self.st.borrow_mut();
        st.op(FaultOp::Allocate)?;
        let data = match st.files.get(name) {
            Some(d) => d.clone(),
            None if create => {
                let d = Rc::new(RefCell::new(FileData::default()));
                st.files.insert(name.to_string(), d.clone());
                d
            }
            None => return Err(not_found(name)),
        };
        Ok(SimFile { data, disk: self.st.clone() })
    }
    fn list(&self) -> io::Result<Vec<String>> {
        Ok(self.st.borrow().files.keys().cloned().collect())
    }
    fn remove(&self, name: &str) -> io::Result<()> {
        let mut st = self.st.borrow_mut();
        st.op(FaultOp::Allocate)?;
        st.files.remove(name).map(|_| ()).ok_or_else(|| not_found(name))
    }
    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let mut st = self.st.borrow_mut();
        st.op(FaultOp::Allocate)?;
        let f = st.files.remove(from).ok_or_else(|| not_found(from))?;
        st.files.insert(to.to_string(), f);
        Ok(())
    }
    fn sync_dir(&self) -> io::Result<()> {
        self.st.borrow_mut().op(FaultOp::Sync)
    }
}

impl DiskFile for SimFile {
    async fn read_at(&self, mut buf: AlignedBuf, off: u64, len: usize) -> (io::Result<usize>, AlignedBuf) {
        if let Err(e) = check_aligned(off, len).and_then(|_| self.disk.borrow_mut().op(FaultOp::Read)) {
            return (Err(e), buf);
        }
        assert!(len <= buf.capacity());
        let d = self.data.borrow();
        let start = (off as usize).min(d.cur.len());
        let end = (start + len).min(d.cur.len());
        let n = end - start;
        buf.full_mut()[..n].copy_from_slice(&d.cur[start..end]);
        buf.set_len(n);
        (Ok(n), buf)
    }

    async fn write_at(&self, buf: AlignedBuf, off: u64) -> (io::Result<()>, AlignedBuf) {
        if let Err(e) = check_aligned(off, buf.len()).and_then(|_| self.disk.borrow_mut().op(FaultOp::Write)) {
            return (Err(e), buf);
        }
        let mut d = self.data.borrow_mut();
        let end = off as usize + buf.len();
        if d.cur.len() < end {
            d.cur.resize(end, 0);
            d.durable.resize(end, 0);
        }
        d.cur[off as usize..end].copy_from_slice(buf.as_slice());
        d.pending.push((off, buf.as_slice().to_vec()));
        (Ok(()), buf)
    }

    async fn sync(&self) -> io::Result<()> {
        self.disk.borrow_mut().op(FaultOp::Sync)?;
        let mut d = self.data.borrow_mut();
        let pending = std::mem::take(&mut d.pending);
        for (off, data) in pending {
            let off = off as usize;
            d.durable[off..off + data.len()].copy_from_slice(&data);
        }
        Ok(())
    }

    fn allocate(&self, off: u64, len: u64) -> io::Result<()> {
        self.disk.borrow_mut().op(FaultOp::Allocate)?;
        let mut d = self.data.borrow_mut();
        let end = (off + len) as usize;
        if d.cur.len() < end {
            d.cur.resize(end, 0);
            d.durable.resize(end, 0);
        }
        Ok(())
    }

    fn zero_range(&self, off: u64, len: u64) -> io::Result<()> {
        self.disk.borrow_mut().op(FaultOp::Write)?;
        let mut d = self.data.borrow_mut();
        let start = (off as usize).min(d.cur.len());
        let end = ((off + len) as usize).min(d.cur.len());
        d.cur[start..end].fill(0);
        // Zeroing is not durable until the next sync, like any write.
        d.pending.push((start as u64, vec![0; end - start]));
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.data.borrow().cur.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsynced_writes_may_vanish_synced_ones_never() {
        leofs_rt::block_on(async {
            let disk = SimDisk::new();
            let f = disk.open("a", true).unwrap();
            f.allocate(0, 8192).unwrap();
            let mut b = AlignedBuf::with_capacity(4096);
            b.full_mut().fill(1);
            b.set_len(4096);
            let (r, mut b) = f.write_at(b, 0).await;
            r.unwrap();
            f.sync().await.unwrap();
            b.full_mut().fill(2);
            let (r, _) = f.write_at(b, 4096).await;
            r.unwrap();
            let mut seen_lost = false;
            let mut seen_kept = false;
            for seed in 0..64 {
                let img = disk.crash_image(&mut SplitMix64(seed));
                let d = img.st.borrow().files["a"].clone();
                let d = d.borrow();
                assert!(d.durable[..4096].iter().all(|&x| x == 1));
                seen_lost |= d.durable[4096] == 0;
                seen_kept |= d.durable[4096] == 2;
            }
            assert!(seen_lost && seen_kept);
        });
    }

    #[test]
    fn faults_fire_once_unless_sticky() {
        leofs_rt::block_on(async {
            let disk = SimDisk::new();
            let f = disk.open("a", true).unwrap();
            disk.set_fault(Some(Fault { op: FaultOp::Sync, after: 1, errno: 5, sticky: false }));
            assert!(f.sync().await.is_ok());
            assert_eq!(f.sync().await.unwrap_err().raw_os_error(), Some(5));
            assert!(f.sync().await.is_ok());
            assert!(disk.fault_fired());
        });
    }
}

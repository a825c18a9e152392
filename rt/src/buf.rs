//! `AlignedBuf`: an owned, heap buffer whose address and capacity are multiples of
//! [`ALIGN`], so it can be handed by value to the kernel for O_DIRECT I/O.
//!
//! Alignment is a property of the type: code that holds an `AlignedBuf` cannot forget it.
//! The *offset* and *length* alignment of a direct I/O are checked by `fs::File`.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::cell::RefCell;
use std::ptr::NonNull;

/// Alignment of every direct I/O buffer, offset and length: 4 KiB covers 512e and 4Kn disks.
pub const ALIGN: usize = 4096;

/// Rounds `n` up to the next multiple of [`ALIGN`].
pub const fn align_up(n: usize) -> usize {
    (n + ALIGN - 1) & !(ALIGN - 1)
}

/// Rounds `n` down to a multiple of [`ALIGN`].
pub const fn align_down_u64(n: u64) -> u64 {
    n & !(ALIGN as u64 - 1)
}

/// A zero-initialised, `ALIGN`-aligned byte buffer with a fixed capacity and a length.
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    cap: usize,
    len: usize,
    /// The pool of the thread that allocated it ([`pool_id`]): only that thread recycles it.
    home: usize,
}

// SAFETY: AlignedBuf owns its allocation exclusively (like Vec<u8>); moving it to another
// thread moves that ownership.
#[allow(unsafe_code)]
unsafe impl Send for AlignedBuf {}

/// Buffers up to this size are recycled through a per-thread pool, by power-of-two size
/// class: a read or a group-commit batch then costs neither an allocation nor a memset.
const POOL_MAX_BUF: usize = 8 << 20;
const POOL_CLASSES: usize = 12; // 4 KiB ..= 8 MiB
/// Bytes a thread keeps pooled at most.
const POOL_MAX_BYTES: usize = 64 << 20;

#[derive(Default)]
struct Pool {
    free: [Vec<NonNull<u8>>; POOL_CLASSES],
    bytes: usize,
}

fn class_of(cap: usize) -> usize {
    (cap.trailing_zeros() - ALIGN.trailing_zeros()) as usize
}

impl Pool {
    fn take(&mut self, cap: usize) -> Option<NonNull<u8>> {
        let p = self.free[class_of(cap)].pop()?;
        self.bytes -= cap;
        Some(p)
    }
    fn put(&mut self, p: NonNull<u8>, cap: usize) -> bool {
        if self.bytes + cap > POOL_MAX_BYTES {
            return false;
        }
        self.bytes += cap;
        self.free[class_of(cap)].push(p);
        true
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        for (class, list) in self.free.iter_mut().enumerate() {
            let layout = Layout::from_size_align(ALIGN << class, ALIGN).expect("aligned layout");
            for p in list.drain(..) {
                // SAFETY: pooled pointers were allocated with exactly this layout (their
                // class's size) and are owned by the pool alone.
                #[allow(unsafe_code)]
                unsafe {
                    dealloc(p.as_ptr(), layout)
                }
            }
        }
    }
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool::default());
}

/// This thread's pool, as an address (0 once the thread's locals are gone). A buffer goes
/// back only to the pool of the thread that allocated it: one read on a shard's core and
/// dropped on another core (a GET served across cores) is freed, not pooled, or the
/// dropping core's pool would fill with buffers its own reads never take back while the
/// reading core keeps allocating fresh ones.
fn pool_id() -> usize {
    POOL.try_with(|p| p as *const RefCell<Pool> as usize).unwrap_or(0)
}

impl AlignedBuf {
    /// A buffer of at least `cap` bytes (rounded up to `ALIGN`; pooled sizes to a power of
    /// two), with length 0. Its bytes are initialised but their values are unspecified (a
    /// recycled buffer keeps old contents): use [`AlignedBuf::zeroed`] when zeros matter.
    pub fn with_capacity(cap: usize) -> AlignedBuf {
        let mut cap = align_up(cap.max(1));
        if cap <= POOL_MAX_BUF {
            cap = cap.next_power_of_two();
            let pooled = POOL.try_with(|p| p.borrow_mut().take(cap)).ok().flatten();
            if let Some(ptr) = pooled {
                return AlignedBuf { ptr, cap, len: 0, home: pool_id() };
            }
        }
        let layout = Layout::from_size_align(cap, ALIGN).expect("aligned layout");
        // SAFETY: layout has non-zero size; alloc_zeroed returns either null or a valid
        // allocation of `cap` zeroed bytes aligned to ALIGN.
        #[allow(unsafe_code)]
        let raw = unsafe { alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(raw) else { std::alloc::handle_alloc_error(layout) };
        AlignedBuf { ptr, cap, len: 0, home: pool_id() }
    }

    /// Like [`AlignedBuf::with_capacity`], with every byte zero.
    pub fn zeroed(cap: usize) -> AlignedBuf {
        let mut b = AlignedBuf::with_capacity(cap);
        b.full_mut().fill(0);
        b
    }

    pub fn capacity(&self) -> usize {
        self.cap
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sets the length; the bytes up to `cap` are always initialised (zeroed at allocation).
    pub fn set_len(&mut self, len: usize) {
        assert!(len <= self.cap, "AlignedBuf::set_len {len} > capacity {}", self.cap);
        self.len = len;
    }

    /// Appends `data`; panics if it does not fit (callers size the buffer first).
    pub fn extend_from_slice(&mut self, data: &[u8]) {
        let end = self.len + data.len();
        assert!(end <= self.cap, "AlignedBuf overflow: {end} > {}", self.cap);
        let start = self.len;
        self.full_mut()[start..end].copy_from_slice(data);
        self.len = end;
    }

    /// Pads the length with zeros up to the next `ALIGN` boundary.
    pub fn pad_to_align(&mut self) {
        let end = align_up(self.len);
        let start = self.len;
        self.full_mut()[start..end].fill(0);
        self.len = end;
    }

    /// The whole capacity, for filling in place.
    pub fn full_mut(&mut self) -> &mut [u8] {
        // SAFETY: ptr is valid for cap initialised bytes and uniquely borrowed through &mut.
        #[allow(unsafe_code)]
        unsafe {
            std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.cap)
        }
    }

    /// The whole capacity, read-only.
    pub fn full_ref(&self) -> &[u8] {
        // SAFETY: ptr is valid for cap initialised bytes, shared-borrowed through &self.
        #[allow(unsafe_code)]
        unsafe {
            std::slice::from_raw_parts(self.ptr.as_ptr(), self.cap)
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: ptr is valid for cap >= len initialised bytes, shared-borrowed through &self.
        #[allow(unsafe_code)]
        unsafe {
            std::slice::from_raw_parts(self.ptr.as_ptr(), self.len)
        }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        let len = self.len;
        &mut self.full_mut()[..len]
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        if self.cap <= POOL_MAX_BUF && self.cap.is_power_of_two() && self.home != 0 && self.home == pool_id() {
            let (ptr, cap) = (self.ptr, self.cap);
            if POOL.try_with(|p| p.borrow_mut().put(ptr, cap)).unwrap_or(false) {
                return;
            }
        }
        let layout = Layout::from_size_align(self.cap, ALIGN).expect("aligned layout");
        // SAFETY: ptr was allocated in with_capacity with exactly this layout.
        #[allow(unsafe_code)]
        unsafe {
            dealloc(self.ptr.as_ptr(), layout)
        }
    }
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AlignedBuf(len={}, cap={})", self.len, self.cap)
    }
}

// SAFETY: read_ptr points to `len` initialised bytes that stay valid and unmoved while the
// buffer is owned by the runtime (the heap allocation does not move when the struct moves).
#[allow(unsafe_code)]
unsafe impl monoio::buf::IoBuf for AlignedBuf {
    fn read_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len
    }
}

// SAFETY: write_ptr points to `cap` writable bytes (all initialised); set_init only ever
// records a length the kernel reported as written, which is <= bytes_total.
#[allow(unsafe_code)]
unsafe impl monoio::buf::IoBufMut for AlignedBuf {
    fn write_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }
    fn bytes_total(&mut self) -> usize {
        self.cap
    }
    // SAFETY: the caller (the runtime) reports bytes it initialised; clamped to capacity.
    unsafe fn set_init(&mut self, pos: usize) {
        self.len = pos.min(self.cap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycled_buffers_keep_their_class_and_zeroed_is_zero() {
        let mut a = AlignedBuf::with_capacity(3 * ALIGN);
        assert_eq!(a.capacity(), 4 * ALIGN);
        a.full_mut().fill(0xEE);
        let p = a.as_slice().as_ptr();
        drop(a);
        let b = AlignedBuf::with_capacity(4 * ALIGN);
        assert_eq!(b.as_slice().as_ptr(), p, "reused from the pool");
        drop(b);
        let z = AlignedBuf::zeroed(4 * ALIGN);
        assert!(z.capacity() == 4 * ALIGN && z.full_ref().iter().all(|&x| x == 0));
        let big = AlignedBuf::with_capacity(POOL_MAX_BUF + 1);
        assert_eq!(big.capacity(), POOL_MAX_BUF + ALIGN);
    }

    #[test]
    fn buffers_dropped_on_another_thread_are_freed_not_pooled() {
        let a = AlignedBuf::with_capacity(64 * ALIGN);
        std::thread::spawn(move || {
            drop(a);
            POOL.with(|p| assert_eq!(p.borrow().bytes, 0, "a foreign buffer is not pooled"));
        })
        .join()
        .unwrap();
    }

    #[test]
    fn alignment_and_padding() {
        let mut b = AlignedBuf::with_capacity(5000);
        assert_eq!(b.capacity(), 8192);
        assert_eq!(b.as_slice().as_ptr() as usize % ALIGN, 0);
        b.extend_from_slice(b"hello");
        b.pad_to_align();
        assert_eq!(b.len(), 4096);
        assert_eq!(&b.as_slice()[..6], b"hello\0");
    }

    #[test]
    #[should_panic]
    fn overflow_panics() {
        let mut b = AlignedBuf::with_capacity(4096);
        b.extend_from_slice(&[0u8; 4097]);
    }
}

//! `AlignedBuf`: an owned, heap buffer whose address and capacity are multiples of
//! [`ALIGN`], so it can be handed by value to the kernel for O_DIRECT I/O.
//!
//! Alignment is a property of the type: code that holds an `AlignedBuf` cannot forget it.
//! The *offset* and *length* alignment of a direct I/O are checked by `fs::File`.

use std::alloc::{alloc_zeroed, dealloc, Layout};
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
}

// SAFETY: AlignedBuf owns its allocation exclusively (like Vec<u8>); moving it to another
// thread moves that ownership.
#[allow(unsafe_code)]
unsafe impl Send for AlignedBuf {}

impl AlignedBuf {
    /// A buffer of at least `cap` bytes (rounded up to `ALIGN`, minimum `ALIGN`), all zero,
    /// with length 0.
    pub fn with_capacity(cap: usize) -> AlignedBuf {
        let cap = align_up(cap.max(1));
        let layout = Layout::from_size_align(cap, ALIGN).expect("aligned layout");
        // SAFETY: layout has non-zero size; alloc_zeroed returns either null or a valid
        // allocation of `cap` zeroed bytes aligned to ALIGN.
        #[allow(unsafe_code)]
        let raw = unsafe { alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(raw) else { std::alloc::handle_alloc_error(layout) };
        AlignedBuf { ptr, cap, len: 0 }
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

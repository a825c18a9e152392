//! A counting global allocator for measurements (index RAM per object, gateway RSS):
//! `#[global_allocator] static A: leofs_rt::alloc::Counting = leofs_rt::alloc::Counting;`
//! then `leofs_rt::alloc::live_bytes()`. Counts requested sizes, not allocator overhead.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

static LIVE: AtomicIsize = AtomicIsize::new(0);

pub struct Counting;

/// Bytes currently allocated through [`Counting`].
pub fn live_bytes() -> isize {
    LIVE.load(Ordering::Relaxed)
}

// SAFETY: every method delegates to `System` with the caller's arguments unchanged; the
// counter is only bookkeeping.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    // SAFETY: same contract as System::alloc; the layout is passed through.
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller upholds GlobalAlloc::alloc's contract for `l`.
        unsafe { System.alloc(l) }
    }
    // SAFETY: same contract as System::dealloc.
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: `p` was allocated by this allocator (i.e. System) with layout `l`.
        unsafe { System.dealloc(p, l) }
    }
    // SAFETY: same contract as System::realloc.
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: `p` was allocated by this allocator with layout `l`; `new` is non-zero.
        unsafe { System.realloc(p, l, new) }
    }
}

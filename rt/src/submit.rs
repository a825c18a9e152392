//! Eager submission: a file operation reaches the kernel as soon as it is queued.
//!
//! monoio pushes each operation onto io_uring's submission queue and calls `io_uring_enter`
//! only when the thread runs out of tasks and parks. With 32 GETs in flight on a shard,
//! completions arrive in bunches; every woken task then does its CPU work (index lookup,
//! checksum, response) and queues its next read, and none of those reads reaches the disk
//! before the last task of the bunch has run. Each read waits for the CPU work of the
//! others. Measured with `engine-bench --only get4k` (2026-12-08): 4 KiB GETs rose from
//! 63-84k/s to 93-112k/s with eager submission, and the runtime's bare 8 KiB reads from
//! 0.7x to 0.9-1.0x of fio at the same depth (fio enters the kernel once per I/O too).
//!
//! monoio keeps its ring private, so [`Ring::learn`] finds the ring's file descriptor by
//! comparing this process's io_uring descriptors before and after the runtime is built
//! (builds are serialised by a lock). Submitting from outside monoio is sound: the kernel
//! takes the entries between its own head and the tail monoio published, exactly what
//! monoio's next `io_uring_enter` would have taken; monoio reads the kernel's head each
//! time it counts what is left to submit.
//!
//! `LEOFS_IO_SUBMIT=lazy` turns it off (monoio's own behaviour), for A/B measurements.

use std::cell::Cell;
use std::future::Future;

thread_local! {
    static RING_FD: Cell<Option<i32>> = const { Cell::new(None) };
}

/// Whether eager submission is enabled for this process (read once).
fn enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("LEOFS_IO_SUBMIT").map(|v| v != "lazy").unwrap_or(true))
}

/// The io_uring descriptors this process has open now.
fn uring_fds() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else { return Vec::new() };
    let mut out = Vec::new();
    for e in dir.flatten() {
        let is_ring = std::fs::read_link(e.path()).is_ok_and(|t| t.as_os_str() == "anon_inode:[io_uring]");
        if let (true, Some(fd)) = (is_ring, e.file_name().to_str().and_then(|n| n.parse().ok())) {
            out.push(fd);
        }
    }
    out
}

/// This thread's ring, while its runtime runs; the previous value comes back on drop.
pub(crate) struct Ring {
    prev: Option<i32>,
}

impl Ring {
    /// Builds a runtime with `build` and remembers the io_uring it created, if exactly one.
    pub(crate) fn learn<R>(build: impl FnOnce() -> R) -> (R, Ring) {
        static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
        let before = if enabled() { uring_fds() } else { Vec::new() };
        let rt = build();
        let new: Vec<i32> = if enabled() { uring_fds().into_iter().filter(|fd| !before.contains(fd)).collect() } else { Vec::new() };
        let fd = (new.len() == 1).then(|| new[0]);
        drop(guard);
        let prev = RING_FD.with(|r| r.replace(fd));
        (rt, Ring { prev })
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        RING_FD.with(|r| r.set(self.prev));
    }
}

/// The descriptor of this thread's ring, when eager submission is on.
pub fn ring_fd() -> Option<i32> {
    RING_FD.with(|r| r.get())
}

/// Hands every queued submission of this thread's ring to the kernel now.
fn submit_now() {
    if let Some(fd) = ring_fd() {
        // Entries the kernel may take: it takes min(this, what is queued).
        const ANY: libc::c_uint = 1 << 16;
        // A failure (not a ring, EAGAIN) is ignored: monoio's own submission at park remains.
        #[allow(unsafe_code)]
        // SAFETY: no flags, no argument pointer: the kernel only consumes the entries monoio
        // published, whose buffers monoio keeps alive until completion, as for its own submit.
        unsafe {
            libc::syscall(libc::SYS_io_uring_enter, fd, ANY, 0 as libc::c_uint, 0 as libc::c_uint, std::ptr::null::<u8>(), 0usize);
        }
    }
}

/// Awaits `f`; when its first poll leaves an operation queued, submits it at once.
pub(crate) async fn eager<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut first = true;
    std::future::poll_fn(|cx| {
        let r = f.as_mut().poll(cx);
        if r.is_pending() && std::mem::take(&mut first) {
            submit_now();
        }
        r
    })
    .await
}

/// `(SqHead, SqTail)` of this thread's ring, from the kernel's fdinfo (tests only).
#[cfg(test)]
pub(crate) fn sq_head_tail() -> Option<(u64, u64)> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", ring_fd()?)).ok()?;
    let field = |name: &str| {
        info.lines().find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
    };
    Some((field("SqHead:")?, field("SqTail:")?))
}

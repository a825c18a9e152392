//! Single-core async primitives (no atomics, no locks: a shard's tasks share one thread).

pub use local_sync::mpsc::unbounded as mpsc;
pub use local_sync::oneshot;
pub use local_sync::semaphore::Semaphore;

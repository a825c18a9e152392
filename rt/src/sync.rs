//! Async primitives.
//!
//! Within one core (no atomics, no locks: a shard's tasks share one thread): `oneshot`,
//! `mpsc`, `Semaphore`. Between cores: `cross`, multi-producer channels whose receivers
//! and senders can be awaited from any core's runtime.

pub use local_sync::mpsc::unbounded as mpsc;
pub use local_sync::oneshot;
pub use local_sync::semaphore::Semaphore;

/// Cross-core channels (requests handed to the shard that owns a key, and replies).
pub mod cross {
    pub use flume::{bounded, unbounded, Receiver, RecvError, SendError, Sender};
}

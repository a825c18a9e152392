//! leofs-engine: one shard's storage engine.
//!
//! Append-only, preallocated log segments written with aligned direct I/O; group commit
//! (one write + one fdatasync per batch); an in-memory ordered index with checkpoints;
//! crash recovery that truncates torn tails; compaction that never drops a record the
//! index still points at; poisoning after a failed write. The engine stores opaque keys and
//! object metadata: it never sees S3, buckets' ACLs or the ring.
//!
//! Byte layouts are in docs/format.md.

pub mod checkpoint;
pub mod disk;
pub mod error;
pub mod index;
pub mod meta;
pub mod record;
pub mod segment;
pub mod store;
pub mod testing;
pub mod version;

pub use disk::{DirDisk, Disk, DiskFile, SimDisk};
pub use error::{Error, Result};
pub use index::{Entry, Loc};
pub use meta::{ChecksumAlgo, ObjectMeta};
pub use record::Kind;
pub use store::{Config, Durability, Object, SharedCache, Store};
pub use version::Version;

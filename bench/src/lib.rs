//! leofs-bench: benchmarks measured side by side with a reference (fio, nginx) in one run,
//! each figure printed as a ratio to its reference.
//!
//! * [`engine_bench`]: one shard of the storage engine against `fio` on the same directory
//!   (binary `engine-bench`; results and method in docs/BENCHMARKS.md).
//! * [`s3bench`]: a warp-like S3 load generator for any endpoint (binary `leofs-bench`),
//!   driven side by side with nginx, fio and the cores' MD5 speed by `bench/compare`.

pub mod compaction_bench;
pub mod engine_bench;
pub mod fio;
pub mod s3bench;
pub mod sysinfo;

//! leofs-bench: benchmarks measured side by side with a reference (fio, nginx) in one run,
//! each figure printed as a ratio to its reference.
//!
//! * [`engine_bench`]: one shard of the storage engine against `fio` on the same directory
//!   (binary `engine-bench`; results and method in docs/BENCHMARKS.md).

pub mod engine_bench;
pub mod fio;
pub mod sysinfo;

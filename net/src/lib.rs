//! leofs-net: the HTTP/1.1, S3 and inter-node RPC protocol layer.
//!
//! Everything here is sans-I/O: parsers take bytes and return typed values, so they are
//! unit-tested and fuzzed without sockets or disks. The connection loop that feeds them
//! lives in the server crate, on top of the runtime seam (leofs-rt).

pub mod http1;
pub mod rpc;
pub mod s3;

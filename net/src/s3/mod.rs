//! The S3 protocol: one enum of operations (router), one error table (error), pure
//! signature functions (auth), XML readers/writers (xml) and streaming checksums (checksum).

pub mod auth;
pub mod checksum;
pub mod md5lanes;
pub mod error;
pub mod router;
pub mod xml;

//! leofs-control: the control plane's durable catalog of users, access keys and buckets.
//!
//! The catalog is small (thousands of entries), changes rarely and is read on every S3
//! request, so it lives in memory behind a read-write lock and is persisted as one
//! checksummed snapshot file, `catalog.db`, atomically replaced on every change (layout in
//! docs/format.md, section "Catalog"). Every mutation is durable when it returns; a
//! corrupt file stops the catalog from opening instead of starting it empty.
//!
//! ```no_run
//! # fn main() -> Result<(), leofs_control::CatalogError> {
//! use leofs_control::{Acl, Catalog};
//! let catalog = Catalog::open(std::path::Path::new("/var/lib/leofs/catalog"))?;
//! let (root_key, created) = catalog.ensure_root(None, None)?;
//! if created {
//!     println!("root access key: {}", root_key.access_key_id);
//! }
//! catalog.create_bucket("photos", "root", Acl::Private, None)?;
//! assert!(catalog.lookup_key(&root_key.access_key_id).is_some());
//! # Ok(()) }
//! ```

mod accounts;
pub mod catalog;
pub mod cluster;
pub mod error;
pub mod model;
pub mod ring;
mod state;
pub mod store;

pub use catalog::Catalog;
pub use error::CatalogError;
pub use model::{
    validate_bucket_name, AccessKey, Acl, Bucket, Role, User, DEFAULT_LOCATION, ROOT_USER,
};
pub use ring::{Consistency, Member, NodeState, Ring};

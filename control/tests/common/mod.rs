//! Shared helpers for the catalog's integration tests.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use leofs_control::{AccessKey, Bucket, Catalog, User};

/// A fresh, empty directory under the target's temp dir, unique per call.
pub fn temp_dir(name: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("catalog-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Everything a catalog holds, for comparing two catalogs.
#[derive(Debug, PartialEq, Eq)]
pub struct Dump {
    pub generation: u64,
    pub users: Vec<User>,
    pub keys: Vec<AccessKey>,
    pub buckets: Vec<Bucket>,
}

pub fn dump(catalog: &Catalog) -> Dump {
    let users = catalog.users();
    let keys = users
        .iter()
        .flat_map(|u| catalog.keys_of(&u.id).unwrap())
        .collect();
    Dump {
        generation: catalog.generation(),
        users,
        keys,
        buckets: catalog.all_buckets(),
    }
}

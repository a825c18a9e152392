//! [`Catalog`]: the shared, durable handle to users, access keys and buckets.
//!
//! Reads take a read lock and clone what they return, so S3 request threads never wait on
//! each other. Writers are serialised by a separate mutex (so file writes happen in
//! generation order) and build the next state as a copy: the copy is persisted first and
//! published second, so readers never see a change that is not durable, and a failed write
//! leaves memory as it was.
//!
//! User and key operations live in `accounts.rs`.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};

use crate::error::CatalogError;
use crate::model::{self, AccessKey, Acl, Bucket, User, DEFAULT_LOCATION};
use crate::state::State;
use crate::store;

/// The catalog. Cheap to clone; clones share the same state and file.
#[derive(Clone)]
pub struct Catalog {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    path: PathBuf,
    state: RwLock<State>,
    /// Held for a whole mutation (copy, persist, publish): one writer at a time.
    writer: Mutex<()>,
}

impl fmt::Debug for Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Catalog")
            .field("path", &self.inner.path)
            .field("generation", &self.generation())
            .finish_non_exhaustive()
    }
}

/// Unix milliseconds now; a clock before 1970 reads as 0 rather than failing.
pub(crate) fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) fn invalid(why: String) -> CatalogError {
    CatalogError::Invalid(why)
}

impl Catalog {
    /// Opens the catalog in `dir` (created if missing). A missing `catalog.db` gives an
    /// empty catalog; a leftover `catalog.db.tmp` is removed; a `catalog.db` that fails any
    /// check is [`CatalogError::Corrupt`], never silently replaced by an empty catalog.
    pub fn open(dir: &Path) -> Result<Catalog, CatalogError> {
        fs::create_dir_all(dir).map_err(CatalogError::io("create directory", dir))?;
        store::remove_leftover(dir);
        let path = dir.join(store::FILE_NAME);
        let state = match store::read(dir)? {
            None => State::default(),
            Some((generation, body)) => {
                State::from_json(generation, &body).map_err(|why| CatalogError::Corrupt {
                    path: path.clone(),
                    why,
                })?
            }
        };
        let inner = Inner {
            dir: dir.to_owned(),
            path,
            state: RwLock::new(state),
            writer: Mutex::new(()),
        };
        Ok(Catalog {
            inner: Arc::new(inner),
        })
    }

    /// The catalog file's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The generation of the current state: 0 for a catalog never written, then +1 for
    /// every persisted change.
    pub fn generation(&self) -> u64 {
        self.inner.state.read().generation
    }

    /// The current state as the bytes of a `catalog.db` file (framed and checksummed):
    /// what the manager sends to gateways, which [`Catalog::install`] them.
    pub fn snapshot(&self) -> Result<(u64, Vec<u8>), CatalogError> {
        let state = self.inner.state.read();
        let body = state.to_json()?;
        Ok((state.generation, store::encode(state.generation, &body)?))
    }

    /// Replaces this catalog with a snapshot from the manager, if it is newer than what is
    /// held: checked (framing, checksums, invariants), persisted, then published. Returns
    /// whether it was installed. A gateway keeps the last snapshot on disk, so it serves
    /// with it after a restart while the manager is down.
    pub fn install(&self, file_bytes: &[u8]) -> Result<bool, CatalogError> {
        let (generation, body) =
            store::decode(file_bytes).map_err(|why| invalid(format!("catalog snapshot: {why}")))?;
        let next = State::from_json(generation, body)
            .map_err(|why| invalid(format!("catalog snapshot: {why}")))?;
        let _writer = self.inner.writer.lock();
        if generation <= self.inner.state.read().generation {
            return Ok(false);
        }
        store::write(&self.inner.dir, generation, body)?;
        *self.inner.state.write() = next;
        Ok(true)
    }

    /// Runs `change` on a copy of the state; if it reports a change, persists the copy and
    /// publishes it. Returns `change`'s value once durable.
    pub(crate) fn mutate<T>(
        &self,
        change: impl FnOnce(&mut State) -> Result<(T, bool), CatalogError>,
    ) -> Result<T, CatalogError> {
        let _writer = self.inner.writer.lock();
        let mut next = self.inner.state.read().clone();
        let (out, changed) = change(&mut next)?;
        if !changed {
            return Ok(out);
        }
        // A bug in a mutation must not reach the disk, where it would be read back as
        // corruption: check the same invariants as loading does.
        next.check()
            .map_err(|why| invalid(format!("catalog change rejected: {why}")))?;
        next.generation = next
            .generation
            .checked_add(1)
            .ok_or_else(|| invalid("catalog generation counter exhausted".into()))?;
        let body = next.to_json()?;
        store::write(&self.inner.dir, next.generation, &body)?;
        *self.inner.state.write() = next;
        Ok(out)
    }

    /// The user `id`, if any.
    pub fn user(&self, id: &str) -> Option<User> {
        self.inner.state.read().users.get(id).cloned()
    }

    /// All users, sorted by id.
    pub fn users(&self) -> Vec<User> {
        self.inner.state.read().users.values().cloned().collect()
    }

    /// The access keys of `user_id`, oldest first.
    pub fn keys_of(&self, user_id: &str) -> Result<Vec<AccessKey>, CatalogError> {
        let state = self.inner.state.read();
        state.user(user_id)?;
        Ok(state.keys_of(user_id).into_iter().cloned().collect())
    }

    /// The key and its user, for request authentication. The hot path: a read lock and two
    /// clones.
    pub fn lookup_key(&self, access_key_id: &str) -> Option<(AccessKey, User)> {
        let state = self.inner.state.read();
        let key = state.keys.get(access_key_id)?;
        let user = state.users.get(&key.user_id)?;
        Some((key.clone(), user.clone()))
    }

    /// Creates bucket `name` owned by `owner`. `location` `None` or empty means
    /// [`DEFAULT_LOCATION`].
    pub fn create_bucket(
        &self,
        name: &str,
        owner: &str,
        acl: Acl,
        location: Option<&str>,
    ) -> Result<Bucket, CatalogError> {
        let location = location
            .filter(|l| !l.is_empty())
            .unwrap_or(DEFAULT_LOCATION);
        model::validate_location(location).map_err(invalid)?;
        model::validate_bucket_name(name).map_err(|why| CatalogError::InvalidBucketName {
            bucket: name.to_owned(),
            why,
        })?;
        self.mutate(|state| {
            state.user(owner)?;
            if let Some(existing) = state.buckets.get(name) {
                let bucket = name.to_owned();
                return Err(if existing.owner == owner {
                    CatalogError::BucketAlreadyOwnedByYou { bucket }
                } else {
                    CatalogError::BucketAlreadyExists { bucket }
                });
            }
            let bucket = Bucket {
                name: name.to_owned(),
                owner: owner.to_owned(),
                acl,
                created_ms: now_ms(),
                location: location.to_owned(),
            };
            state.buckets.insert(name.to_owned(), bucket.clone());
            Ok((bucket, true))
        })
    }

    /// Deletes bucket `name` from the catalog and returns it. Whether the bucket is empty
    /// is the caller's business: the catalog does not see objects.
    pub fn delete_bucket(&self, name: &str) -> Result<Bucket, CatalogError> {
        self.mutate(|state| {
            let bucket = state.buckets.remove(name);
            let bucket = bucket.ok_or_else(|| CatalogError::NoSuchBucket {
                bucket: name.to_owned(),
            })?;
            Ok((bucket, true))
        })
    }

    /// Bucket `name`, if any.
    pub fn bucket(&self, name: &str) -> Option<Bucket> {
        self.inner.state.read().buckets.get(name).cloned()
    }

    /// The buckets `owner` owns, sorted by name.
    pub fn buckets_of(&self, owner: &str) -> Vec<Bucket> {
        let state = self.inner.state.read();
        state
            .buckets
            .values()
            .filter(|b| b.owner == owner)
            .cloned()
            .collect()
    }

    /// All buckets, sorted by name.
    pub fn all_buckets(&self) -> Vec<Bucket> {
        self.inner.state.read().buckets.values().cloned().collect()
    }

    /// Sets bucket `name`'s ACL and returns the bucket. Setting the current ACL writes
    /// nothing.
    pub fn set_acl(&self, name: &str, acl: Acl) -> Result<Bucket, CatalogError> {
        self.mutate(|state| {
            let bucket = state.buckets.get_mut(name);
            let bucket = bucket.ok_or_else(|| CatalogError::NoSuchBucket {
                bucket: name.to_owned(),
            })?;
            let changed = bucket.acl != acl;
            bucket.acl = acl;
            Ok((bucket.clone(), changed))
        })
    }

    /// Gives bucket `name` to user `new_owner` (LeoFS's `chown-bucket`) and returns the
    /// bucket. The ACL is kept. Giving a bucket to its current owner writes nothing.
    pub fn chown_bucket(&self, name: &str, new_owner: &str) -> Result<Bucket, CatalogError> {
        self.mutate(|state| {
            state.user(new_owner)?;
            let bucket = state.buckets.get_mut(name);
            let bucket = bucket.ok_or_else(|| CatalogError::NoSuchBucket {
                bucket: name.to_owned(),
            })?;
            let changed = bucket.owner != new_owner;
            new_owner.clone_into(&mut bucket.owner);
            Ok((bucket.clone(), changed))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A catalog in a fresh directory, removed again when the guard drops.
    struct Temp(PathBuf);

    impl Drop for Temp {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn temp_catalog(name: &str) -> (Temp, Catalog) {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("leofs-catalog-{name}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let catalog = Catalog::open(&dir).unwrap();
        catalog.ensure_root(None, None).unwrap();
        (Temp(dir), catalog)
    }

    #[test]
    fn chown_bucket_moves_ownership_durably() {
        let (dir, catalog) = temp_catalog("chown");
        catalog.create_user("alice", "").unwrap();
        catalog.create_user("bob", "").unwrap();
        catalog
            .create_bucket("photos", "alice", Acl::PublicRead, None)
            .unwrap();
        let generation = catalog.generation();
        let b = catalog.chown_bucket("photos", "bob").unwrap();
        assert_eq!((b.owner.as_str(), b.acl), ("bob", Acl::PublicRead));
        assert_eq!(catalog.generation(), generation + 1);
        assert!(catalog.buckets_of("alice").is_empty());
        assert_eq!(catalog.buckets_of("bob"), vec![b.clone()]);
        // The old owner no longer blocks their own deletion; the new one does.
        catalog.delete_user("alice").unwrap();
        assert!(matches!(
            catalog.delete_user("bob"),
            Err(CatalogError::UserOwnsBuckets { .. })
        ));
        let reopened = Catalog::open(&dir.0).unwrap();
        assert_eq!(reopened.bucket("photos").unwrap().owner, "bob");
    }

    #[test]
    fn chown_bucket_refusals_and_no_ops_write_nothing() {
        let (_dir, catalog) = temp_catalog("chown-bad");
        catalog.create_user("alice", "").unwrap();
        catalog
            .create_bucket("photos", "alice", Acl::Private, None)
            .unwrap();
        let generation = catalog.generation();
        assert_eq!(
            catalog.chown_bucket("photos", "alice").unwrap().owner,
            "alice"
        );
        assert!(matches!(
            catalog.chown_bucket("photos", "nobody"),
            Err(CatalogError::NoSuchUser { .. })
        ));
        assert!(matches!(
            catalog.chown_bucket("nope", "alice"),
            Err(CatalogError::NoSuchBucket { .. })
        ));
        assert_eq!(catalog.generation(), generation);
        assert_eq!(catalog.bucket("photos").unwrap().owner, "alice");
    }
}

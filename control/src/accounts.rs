//! User, access-key and root-bootstrap operations of [`Catalog`] (the bucket operations and
//! reads are in `catalog.rs`). Each runs through `Catalog::mutate`: computed on a copy,
//! persisted, then published.

use crate::catalog::{invalid, now_ms, Catalog};
use crate::error::CatalogError;
use crate::model::{self, AccessKey, Role, User, ROOT_USER};
use crate::state::State;

/// A fresh key for `user_id` whose id is not yet in `state`.
fn fresh_key(state: &State, user_id: &str) -> Result<AccessKey, CatalogError> {
    // 36^17 ids make a collision all but impossible; the loop only guards against a broken
    // random source handing out repeats.
    for _ in 0..8 {
        let access_key_id = model::generate_access_key_id().map_err(CatalogError::Random)?;
        if !state.keys.contains_key(&access_key_id) {
            let secret = model::generate_secret().map_err(CatalogError::Random)?;
            let created_ms = now_ms();
            return Ok(AccessKey {
                access_key_id,
                secret,
                user_id: user_id.to_owned(),
                created_ms,
            });
        }
    }
    Err(CatalogError::Random(
        "generated access key ids keep colliding".into(),
    ))
}

/// Adds `key` to `state`, refusing a duplicate id.
fn insert_key(state: &mut State, key: AccessKey) -> Result<(), CatalogError> {
    if state.keys.contains_key(&key.access_key_id) {
        let access_key_id = key.access_key_id;
        return Err(CatalogError::AccessKeyAlreadyExists { access_key_id });
    }
    state.keys.insert(key.access_key_id.clone(), key);
    Ok(())
}

impl Catalog {
    /// Makes sure the root admin exists and has an access key; returns that key, plus
    /// whether this call created it (the moment to show it to the operator).
    ///
    /// With explicit credentials (both or neither must be given): on first start root gets
    /// exactly those; later they must match a stored root key, else
    /// [`CatalogError::RootKeyMismatch`]. Without: root gets a fresh key on first start,
    /// and later its oldest key is returned.
    pub fn ensure_root(
        &self,
        access_key: Option<&str>,
        secret: Option<&str>,
    ) -> Result<(AccessKey, bool), CatalogError> {
        let given = match (access_key, secret) {
            (Some(id), Some(secret)) => {
                model::validate_access_key_id(id).map_err(invalid)?;
                model::validate_secret(secret).map_err(invalid)?;
                Some((id, secret))
            }
            (None, None) => None,
            (Some(_), None) => {
                return Err(invalid(
                    "root credentials: an access key id was given without a secret".into(),
                ))
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "root credentials: a secret was given without an access key id".into(),
                ))
            }
        };
        self.mutate(|state| {
            if !state.users.contains_key(ROOT_USER) {
                let user = User {
                    id: ROOT_USER.to_owned(),
                    display_name: ROOT_USER.to_owned(),
                    created_ms: now_ms(),
                    role: Role::Admin,
                };
                state.users.insert(ROOT_USER.to_owned(), user);
            }
            let keys = state.keys_of(ROOT_USER);
            if let Some(oldest) = keys.first() {
                let found = match given {
                    None => (*oldest).clone(),
                    Some((id, secret)) => match keys.iter().find(|k| k.access_key_id == id) {
                        Some(key) if key.secret == secret => (*key).clone(),
                        found => {
                            // Name the key whose secret differs, else the one a restart
                            // without configured credentials would use.
                            let stored = found.unwrap_or(oldest).access_key_id.clone();
                            return Err(CatalogError::RootKeyMismatch {
                                stored,
                                given: id.to_owned(),
                            });
                        }
                    },
                };
                return Ok(((found, false), false));
            }
            // No root key yet: first start, or root's keys were all removed.
            let key = match given {
                Some((id, secret)) => AccessKey {
                    access_key_id: id.to_owned(),
                    secret: secret.to_owned(),
                    user_id: ROOT_USER.to_owned(),
                    created_ms: now_ms(),
                },
                None => fresh_key(state, ROOT_USER)?,
            };
            insert_key(state, key.clone())?;
            Ok(((key, true), true))
        })
    }

    /// Creates a normal user with one fresh access key, which is returned.
    pub fn create_user(&self, id: &str, display_name: &str) -> Result<AccessKey, CatalogError> {
        self.create_user_with_role(id, display_name, Role::Normal)
    }

    /// Creates a user of `role` with one fresh access key, which is returned. An empty
    /// display name defaults to the id.
    pub fn create_user_with_role(
        &self,
        id: &str,
        display_name: &str,
        role: Role,
    ) -> Result<AccessKey, CatalogError> {
        model::validate_user_id(id).map_err(invalid)?;
        model::validate_display_name(display_name).map_err(invalid)?;
        let display_name = if display_name.is_empty() {
            id
        } else {
            display_name
        };
        self.mutate(|state| {
            if state.users.contains_key(id) {
                return Err(CatalogError::UserAlreadyExists {
                    user: id.to_owned(),
                });
            }
            let user = User {
                id: id.to_owned(),
                display_name: display_name.to_owned(),
                created_ms: now_ms(),
                role,
            };
            state.users.insert(id.to_owned(), user);
            let key = fresh_key(state, id)?;
            insert_key(state, key.clone())?;
            Ok((key, true))
        })
    }

    /// Deletes a user and all their keys. Refused while they own buckets, or if they are
    /// the last admin able to sign in.
    pub fn delete_user(&self, id: &str) -> Result<(), CatalogError> {
        self.mutate(|state| {
            let before = state.clone();
            state.user(id)?;
            let buckets = state.bucket_names_of(id);
            if !buckets.is_empty() {
                return Err(CatalogError::UserOwnsBuckets {
                    user: id.to_owned(),
                    buckets,
                });
            }
            state.users.remove(id);
            state.keys.retain(|_, key| key.user_id != id);
            before.check_admin_kept(state, id)?;
            Ok(((), true))
        })
    }

    /// Changes a user's role; demoting the last admin able to sign in is refused.
    pub fn set_role(&self, id: &str, role: Role) -> Result<User, CatalogError> {
        self.mutate(|state| {
            let before = state.clone();
            let user = state.users.get_mut(id);
            let user = user.ok_or_else(|| CatalogError::NoSuchUser {
                user: id.to_owned(),
            })?;
            let changed = user.role != role;
            user.role = role;
            let user = user.clone();
            before.check_admin_kept(state, id)?;
            Ok((user, changed))
        })
    }
    /// Adds a fresh access key to `user_id` and returns it.
    pub fn create_key(&self, user_id: &str) -> Result<AccessKey, CatalogError> {
        self.mutate(|state| {
            state.user(user_id)?;
            let key = fresh_key(state, user_id)?;
            insert_key(state, key.clone())?;
            Ok((key, true))
        })
    }

    /// Removes an access key; removing the last key of the last admin is refused.
    pub fn delete_key(&self, access_key_id: &str) -> Result<(), CatalogError> {
        self.mutate(|state| {
            let before = state.clone();
            let key =
                state
                    .keys
                    .remove(access_key_id)
                    .ok_or_else(|| CatalogError::NoSuchAccessKey {
                        access_key_id: access_key_id.to_owned(),
                    })?;
            before.check_admin_kept(state, &key.user_id)?;
            Ok(((), true))
        })
    }

    /// Creates a normal user holding exactly the given access key pair (LeoFS's
    /// `import-user`: moving users and their S3 credentials over from another system).
    /// The key id must be new to the catalog (of any user) and the user id unused. Returns
    /// the key.
    pub fn import_user(
        &self,
        id: &str,
        access_key_id: &str,
        secret: &str,
    ) -> Result<AccessKey, CatalogError> {
        model::validate_user_id(id).map_err(invalid)?;
        model::validate_access_key_id(access_key_id).map_err(invalid)?;
        model::validate_secret(secret).map_err(invalid)?;
        self.mutate(|state| {
            if state.users.contains_key(id) {
                return Err(CatalogError::UserAlreadyExists {
                    user: id.to_owned(),
                });
            }
            let created_ms = now_ms();
            let user = User {
                id: id.to_owned(),
                display_name: id.to_owned(),
                created_ms,
                role: Role::Normal,
            };
            state.users.insert(id.to_owned(), user);
            let key = AccessKey {
                access_key_id: access_key_id.to_owned(),
                secret: secret.to_owned(),
                user_id: id.to_owned(),
                created_ms,
            };
            insert_key(state, key.clone())?;
            Ok((key, true))
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::catalog::Catalog;
    use crate::error::CatalogError;
    use crate::model::{Acl, Role};
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A catalog in a fresh directory, removed again when the guard drops.
    struct Temp(PathBuf);

    impl Drop for Temp {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn temp_catalog(name: &str) -> (Temp, Catalog) {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("leofs-accounts-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let catalog = Catalog::open(&dir).unwrap();
        catalog.ensure_root(None, None).unwrap();
        (Temp(dir), catalog)
    }

    #[test]
    fn import_user_keeps_the_given_key_pair_durably() {
        let (dir, catalog) = temp_catalog("import");
        let generation = catalog.generation();
        let key = catalog
            .import_user("carol", "AKIDCAROL", "carol-secret-123")
            .unwrap();
        assert_eq!(
            (
                key.user_id.as_str(),
                key.access_key_id.as_str(),
                key.secret.as_str()
            ),
            ("carol", "AKIDCAROL", "carol-secret-123")
        );
        assert_eq!(catalog.generation(), generation + 1);
        let (found, user) = catalog.lookup_key("AKIDCAROL").unwrap();
        assert_eq!(
            (found, user.role, user.display_name.as_str()),
            (key.clone(), Role::Normal, "carol")
        );
        // Durable: a reopened catalog holds it.
        let reopened = Catalog::open(&dir.0).unwrap();
        assert_eq!(
            reopened.lookup_key("AKIDCAROL").unwrap().0.secret,
            "carol-secret-123"
        );
    }

    #[test]
    fn import_user_refuses_taken_ids_and_bad_credentials() {
        let (_dir, catalog) = temp_catalog("import-bad");
        let alice = catalog.create_user("alice", "").unwrap();
        let generation = catalog.generation();
        let err = catalog
            .import_user("alice", "AKIDNEW", "secret-secret")
            .unwrap_err();
        assert!(
            matches!(err, CatalogError::UserAlreadyExists { .. }),
            "{err}"
        );
        // A key id held by another user: refused, and the user is not half-created.
        let err = catalog
            .import_user("dave", &alice.access_key_id, "secret-secret")
            .unwrap_err();
        assert!(
            matches!(err, CatalogError::AccessKeyAlreadyExists { .. }),
            "{err}"
        );
        assert!(catalog.user("dave").is_none());
        for (id, key, secret) in [
            ("a/b", "AKIDOK", "secret-secret"),
            ("dave", "AK", "secret-secret"),
            ("dave", "AKID/X", "secret-secret"),
            ("dave", "AKIDOK", "short"),
        ] {
            let err = catalog.import_user(id, key, secret).unwrap_err();
            assert!(matches!(err, CatalogError::Invalid(_)), "{id} {key}: {err}");
            assert!(
                !err.to_string().contains("secret-secret"),
                "secrets are not echoed: {err}"
            );
        }
        assert_eq!(catalog.generation(), generation, "refusals write nothing");
    }

    #[test]
    fn an_imported_user_can_be_promoted_and_own_buckets() {
        let (_dir, catalog) = temp_catalog("import-role");
        catalog
            .import_user("erin", "AKIDERIN", "erin-secret-1")
            .unwrap();
        assert_eq!(
            catalog.set_role("erin", Role::Admin).unwrap().role,
            Role::Admin
        );
        catalog
            .create_bucket("erin-data", "erin", Acl::Private, None)
            .unwrap();
        assert_eq!(catalog.buckets_of("erin").len(), 1);
    }
}

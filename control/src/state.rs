//! The catalog's in-memory state, its JSON body and the invariants every state (loaded or
//! about to be written) must hold.
//!
//! Mutations are plain functions on a `State` value: the catalog applies them to a copy,
//! persists the copy and only then publishes it, so a failed write changes nothing.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::CatalogError;
use crate::model::{AccessKey, Bucket, Role, User};

/// Users, keys and buckets, each keyed (and therefore iterated) by id / name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct State {
    /// Bumped by every persisted change; stored in the file header, not in the body.
    pub generation: u64,
    pub users: BTreeMap<String, User>,
    pub keys: BTreeMap<String, AccessKey>,
    pub buckets: BTreeMap<String, Bucket>,
}

/// The body's JSON shape when read: `{"users":[..],"keys":[..],"buckets":[..]}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Snapshot {
    users: Vec<User>,
    keys: Vec<AccessKey>,
    buckets: Vec<Bucket>,
}

/// The same shape when written, borrowing from the state instead of cloning it.
#[derive(Serialize)]
struct SnapshotRef<'a> {
    users: Vec<&'a User>,
    keys: Vec<&'a AccessKey>,
    buckets: Vec<&'a Bucket>,
}

impl State {
    /// The JSON body of this state. Arrays come out sorted by id / name (map order), so the
    /// same state always produces the same bytes.
    pub fn to_json(&self) -> Result<Vec<u8>, CatalogError> {
        let snapshot = SnapshotRef {
            users: self.users.values().collect(),
            keys: self.keys.values().collect(),
            buckets: self.buckets.values().collect(),
        };
        serde_json::to_vec(&snapshot)
            .map_err(|e| CatalogError::Invalid(format!("cannot encode the catalog: {e}")))
    }

    /// Parses a JSON body and checks its invariants. The error says what is wrong; the
    /// caller wraps it into [`CatalogError::Corrupt`] with the file name.
    pub fn from_json(generation: u64, body: &[u8]) -> Result<State, String> {
        let snapshot: Snapshot =
            serde_json::from_slice(body).map_err(|e| format!("body is not catalog JSON: {e}"))?;
        let mut state = State {
            generation,
            ..State::default()
        };
        for user in snapshot.users {
            match state.users.entry(user.id.clone()) {
                Entry::Occupied(_) => return Err(format!("user '{}' listed twice", user.id)),
                Entry::Vacant(slot) => slot.insert(user),
            };
        }
        for key in snapshot.keys {
            match state.keys.entry(key.access_key_id.clone()) {
                Entry::Occupied(_) => {
                    return Err(format!("access key '{}' listed twice", key.access_key_id))
                }
                Entry::Vacant(slot) => slot.insert(key),
            };
        }
        for bucket in snapshot.buckets {
            match state.buckets.entry(bucket.name.clone()) {
                Entry::Occupied(_) => return Err(format!("bucket '{}' listed twice", bucket.name)),
                Entry::Vacant(slot) => slot.insert(bucket),
            };
        }
        state.check()?;
        Ok(state)
    }

    /// Referential integrity: every map entry sits under its own id, every key belongs to an
    /// existing user, every bucket to an existing owner. Names are deliberately not
    /// re-validated, so that tightening a naming rule never makes an old catalog unreadable.
    pub fn check(&self) -> Result<(), String> {
        for (id, user) in &self.users {
            if *id != user.id {
                return Err(format!("user entry '{id}' holds user '{}'", user.id));
            }
        }
        for (id, key) in &self.keys {
            if *id != key.access_key_id {
                return Err(format!(
                    "key entry '{id}' holds key '{}'",
                    key.access_key_id
                ));
            }
            if !self.users.contains_key(&key.user_id) {
                return Err(format!(
                    "access key '{id}' belongs to unknown user '{}'",
                    key.user_id
                ));
            }
        }
        for (name, bucket) in &self.buckets {
            if *name != bucket.name {
                return Err(format!(
                    "bucket entry '{name}' holds bucket '{}'",
                    bucket.name
                ));
            }
            if !self.users.contains_key(&bucket.owner) {
                return Err(format!(
                    "bucket '{name}' is owned by unknown user '{}'",
                    bucket.owner
                ));
            }
        }
        Ok(())
    }

    /// The user or [`CatalogError::NoSuchUser`].
    pub fn user(&self, id: &str) -> Result<&User, CatalogError> {
        self.users.get(id).ok_or_else(|| CatalogError::NoSuchUser {
            user: id.to_owned(),
        })
    }

    /// The keys of `user_id`, oldest first.
    pub fn keys_of(&self, user_id: &str) -> Vec<&AccessKey> {
        let mut keys: Vec<&AccessKey> = self
            .keys
            .values()
            .filter(|k| k.user_id == user_id)
            .collect();
        keys.sort_by(|a, b| {
            (a.created_ms, &a.access_key_id).cmp(&(b.created_ms, &b.access_key_id))
        });
        keys
    }

    /// The names of the buckets `owner` owns, sorted.
    pub fn bucket_names_of(&self, owner: &str) -> Vec<String> {
        self.buckets
            .values()
            .filter(|b| b.owner == owner)
            .map(|b| b.name.clone())
            .collect()
    }

    /// Admins that hold at least one access key, i.e. that can actually sign in.
    fn usable_admins(&self) -> usize {
        let has_key = |id: &str| self.keys.values().any(|k| k.user_id == id);
        self.users
            .values()
            .filter(|u| u.role == Role::Admin && has_key(&u.id))
            .count()
    }

    /// Refuses a change from `self` to `next` that loses the last admin able to sign in
    /// (`user` is the one the change is about, for the message). A catalog that had no such
    /// admin before (e.g. before the root user exists) is not held to the rule.
    pub fn check_admin_kept(&self, next: &State, user: &str) -> Result<(), CatalogError> {
        if self.usable_admins() > 0 && next.usable_admins() == 0 {
            return Err(CatalogError::LastAdmin {
                user: user.to_owned(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> State {
        let mut state = State {
            generation: 4,
            ..State::default()
        };
        let user = User {
            id: "u".into(),
            display_name: "U".into(),
            created_ms: 1,
            role: Role::Admin,
        };
        state.users.insert("u".into(), user);
        let key = AccessKey {
            access_key_id: "LEOK".into(),
            secret: "secretsecret".into(),
            user_id: "u".into(),
            created_ms: 2,
        };
        state.keys.insert("LEOK".into(), key);
        let bucket = Bucket {
            name: "b".into(),
            owner: "u".into(),
            acl: crate::model::Acl::PublicRead,
            created_ms: 3,
            location: "us-east-1".into(),
        };
        state.buckets.insert("b".into(), bucket);
        state
    }

    #[test]
    fn json_round_trip() {
        let state = sample();
        let json = state.to_json().unwrap();
        assert_eq!(State::from_json(4, &json).unwrap(), state);
    }

    #[test]
    fn broken_references_and_duplicates_are_rejected() {
        let ok = String::from_utf8(sample().to_json().unwrap()).unwrap();
        let cases = [
            (ok.replace("\"user_id\":\"u\"", "\"user_id\":\"ghost\""), "unknown user"),
            (ok.replace("\"owner\":\"u\"", "\"owner\":\"ghost\""), "unknown user"),
            (ok.replace("\"keys\":[", "\"keys\":[{\"access_key_id\":\"LEOK\",\"secret\":\"x\",\"user_id\":\"u\",\"created_ms\":0},"), "twice"),
            (ok.replace("\"role\":\"admin\"", "\"role\":\"emperor\""), "not catalog JSON"),
            (ok.replace("\"created_ms\":1,", "\"created_ms\":1,\"extra\":1,"), "not catalog JSON"),
            ("[]".to_owned(), "not catalog JSON"),
        ];
        for (json, want) in cases {
            let err = State::from_json(0, json.as_bytes()).unwrap_err();
            assert!(err.contains(want), "{json}: {err}");
        }
    }
}

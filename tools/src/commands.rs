//! The `leofs-adm` commands: one struct per command (its flags and arguments) and its
//! `run`, which calls the admin API and prints the result the way LeoFS's `leofs-adm` does.

use crate::client::{encode_segment, Api};
use crate::table::{leofs_time, permissions, render, role_id};
use crate::Error;
use clap::{Args, ValueEnum};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::io::Write;

/// A user as `GET /v1/users` lists it. Fields the tool does not know are ignored, so a
/// newer server still works with this tool.
#[derive(Debug, Deserialize)]
struct UserInfo {
    user_id: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    access_key_ids: Vec<String>,
    #[serde(default)]
    created_at: String,
}

#[derive(Debug, Deserialize)]
struct UserList {
    users: Vec<UserInfo>,
}

/// A bucket as `GET /v1/buckets` lists it.
#[derive(Debug, Deserialize)]
struct BucketInfo {
    name: String,
    owner: String,
    acl: String,
    #[serde(default)]
    created_at: String,
}

#[derive(Debug, Deserialize)]
struct BucketList {
    buckets: Vec<BucketInfo>,
}

/// The reply to `POST /v1/users`.
#[derive(Debug, Deserialize)]
struct NewKey {
    access_key_id: String,
    secret_access_key: String,
}

/// Create a user with a fresh S3 access key pair, and print the pair (the only time the
/// secret is shown).
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct CreateUser {
    /// User id: 1 to 64 characters of A-Z a-z 0-9 . _ - @
    pub user_id: String,
    /// Accepted for compatibility with LeoFS scripts and ignored: S3 access uses only the
    /// key pair printed.
    pub password: Option<String>,
}

impl CreateUser {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        if self.password.is_some() {
            eprintln!("leofs-adm: note: the password is ignored; leofs users sign S3 requests with the key pair below");
        }
        let key: NewKey = api.call("POST", "/v1/users", Some(&json!({ "user_id": self.user_id })))?;
        writeln!(out, "  access-key-id: {}", key.access_key_id)?;
        writeln!(out, "  secret-access-key: {}", key.secret_access_key)?;
        Ok(())
    }
}

/// List users and their access key ids (role_id 9 = admin, 1 = general user).
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct GetUsers {}

impl GetUsers {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let list: UserList = api.get("/v1/users")?;
        write!(out, "{}", users_table(&list.users))?;
        Ok(())
    }
}

/// One row per access key; a user without keys gets one row with an empty key.
fn users_table(users: &[UserInfo]) -> String {
    let mut rows = Vec::new();
    for u in users {
        let keys: Vec<&str> = if u.access_key_ids.is_empty() { vec![""] } else { u.access_key_ids.iter().map(String::as_str).collect() };
        for key in keys {
            rows.push(vec![u.user_id.clone(), role_id(&u.role), key.to_owned(), leofs_time(&u.created_at)]);
        }
    }
    render(&["user_id", "role_id", "access_key_id", "created_at"], &rows)
}

/// Delete a user and all their access keys (refused while they own buckets).
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct DeleteUser {
    /// The user to delete.
    pub user_id: String,
}

impl DeleteUser {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let _: Value = api.call("DELETE", &format!("/v1/users/{}", encode_segment(&self.user_id)), None)?;
        writeln!(out, "OK")?;
        Ok(())
    }
}

/// Create a bucket owned by the user holding the given access key (ACL: private).
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct AddBucket {
    /// Bucket name (S3 rules: 3 to 63 of a-z 0-9 . -).
    pub bucket: String,
    /// An access key id of the bucket's owner.
    pub access_key_id: String,
}

impl AddBucket {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let body = json!({ "bucket": self.bucket, "access_key_id": self.access_key_id });
        let _: Value = api.call("POST", "/v1/buckets", Some(&body))?;
        writeln!(out, "OK")?;
        Ok(())
    }
}

/// List all buckets with their owners and permissions.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct GetBuckets {}

impl GetBuckets {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let list: BucketList = api.get("/v1/buckets")?;
        write!(out, "{}", buckets_table(&list.buckets))?;
        Ok(())
    }
}

fn buckets_table(buckets: &[BucketInfo]) -> String {
    let rows: Vec<Vec<String>> =
        buckets.iter().map(|b| vec![b.name.clone(), b.owner.clone(), permissions(&b.acl), leofs_time(&b.created_at)]).collect();
    render(&["bucket", "owner", "permissions", "created at"], &rows)
}

/// A bucket's canned ACL.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CannedAcl {
    /// Only the owner reads and writes.
    Private,
    /// Anyone reads; only the owner writes.
    PublicRead,
    /// Anyone reads and writes.
    PublicReadWrite,
}

impl CannedAcl {
    /// The S3 name, as the API takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            CannedAcl::Private => "private",
            CannedAcl::PublicRead => "public-read",
            CannedAcl::PublicReadWrite => "public-read-write",
        }
    }
}

/// Set a bucket's canned ACL; the access key must belong to the bucket's owner.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct UpdateAcl {
    /// Bucket name.
    pub bucket: String,
    /// An access key id of the bucket's owner.
    pub access_key_id: String,
    /// The new ACL.
    #[arg(value_enum)]
    pub acl: CannedAcl,
}

impl UpdateAcl {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let body = json!({ "acl": self.acl.as_str(), "access_key_id": self.access_key_id });
        let _: Value = api.call("PUT", &format!("/v1/buckets/{}/acl", encode_segment(&self.bucket)), Some(&body))?;
        writeln!(out, "OK")?;
        Ok(())
    }
}

/// Show the node's configuration and state.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct Status {}

/// The order `status` shows the API's fields in; fields not listed follow, by name.
const STATUS_ORDER: &[&str] =
    &["version", "node", "shards", "s3_listen", "admin_listen", "data_dir", "durability", "region", "uptime_s", "users", "buckets", "catalog_generation"];

impl Status {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let status: Map<String, Value> = api.get("/v1/status")?;
        writeln!(out, " [System Configuration]")?;
        write!(out, "{}", status_table(&status))?;
        Ok(())
    }
}

fn status_table(status: &Map<String, Value>) -> String {
    let known = STATUS_ORDER.iter().filter_map(|k| status.get_key_value(*k));
    let rest = status.iter().filter(|(k, _)| !STATUS_ORDER.contains(&k.as_str()));
    let show = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let rows: Vec<Vec<String>> = known.chain(rest).map(|(k, v)| vec![k.clone(), show(v)]).collect();
    render(&["item", "value"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_table_has_a_row_per_key() {
        let users: UserList = serde_json::from_value(json!({"users": [
            {"user_id": "alice", "role": "normal", "access_key_ids": ["K1", "K2"], "created_at": "2024-01-02T03:04:05.000Z", "extra": 1},
            {"user_id": "nokey", "role": "admin", "access_key_ids": [], "created_at": "2024-01-02T03:04:05.000Z"},
        ]}))
        .unwrap();
        let t = users_table(&users.users);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "user_id | role_id | access_key_id | created_at");
        assert_eq!(lines[2], "alice   | 1       | K1            | 2024-01-02 03:04:05 +0000");
        assert_eq!(lines[3], "alice   | 1       | K2            | 2024-01-02 03:04:05 +0000");
        assert_eq!(lines[4], "nokey   | 9       |               | 2024-01-02 03:04:05 +0000");
    }

    #[test]
    fn buckets_table_shows_permissions() {
        let list: BucketList = serde_json::from_value(json!({"buckets": [
            {"name": "photos", "owner": "alice", "acl": "public-read", "location": "us-east-1", "created_at": "2024-01-02T03:04:05.000Z"},
        ]}))
        .unwrap();
        let t = buckets_table(&list.buckets);
        assert!(t.starts_with("bucket | owner | permissions                      | created at\n"), "{t}");
        assert!(t.contains("photos | alice | Me(full_control), Everyone(read) | 2024-01-02 03:04:05 +0000"), "{t}");
    }

    #[test]
    fn status_lists_known_fields_first() {
        let status: Map<String, Value> =
            serde_json::from_value(json!({"zeta": true, "shards": 4, "version": "1.2.3", "node": "single"})).unwrap();
        let t = status_table(&status);
        let items: Vec<&str> = t.lines().skip(2).map(|l| l.split(" | ").next().unwrap().trim()).collect();
        assert_eq!(items, ["version", "node", "shards", "zeta"]);
        assert!(t.contains("version | 1.2.3"), "{t}");
    }
}

//! The `leofs-adm` user and bucket commands: one struct per command (its flags and
//! arguments) and its `run`, which calls the admin API and prints the result the way
//! LeoFS's `leofs-adm` does (or, with `--json`, the API's reply). The cluster commands are in
//! `cluster_cmds.rs`.

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

/// The reply to `GET /v1/keys/{id}`.
#[derive(Debug, Deserialize)]
struct KeyInfo {
    user_id: String,
}

/// With `--json`, prints `reply` (pretty-printed) and returns `true`: the command then
/// prints nothing else.
pub(crate) fn json_out(api: &Api, out: &mut dyn Write, reply: &Value) -> Result<bool, Error> {
    if !api.json_output() {
        return Ok(false);
    }
    let text = serde_json::to_string_pretty(reply).unwrap_or_else(|_| reply.to_string());
    writeln!(out, "{text}")?;
    Ok(true)
}

/// Prints `OK` as LeoFS does after a change (with `--json`, the reply).
pub(crate) fn ok_out(api: &Api, out: &mut dyn Write, reply: &Value) -> Result<(), Error> {
    if !json_out(api, out, reply)? {
        writeln!(out, "OK")?;
    }
    Ok(())
}

/// For endpoints added after the first release: "no such endpoint" means the server is
/// older than this tool.
pub(crate) fn newer_endpoint<'a>(api: &'a Api, command: &'static str) -> impl FnOnce(Error) -> Error + 'a {
    move |e| {
        if e.is_missing_endpoint() {
            Error::new(format!("the server at {} does not know `{command}` (no such endpoint): it is older than this leofs-adm; upgrade it", api.endpoint()))
        } else {
            e
        }
    }
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
        let reply: Value = api.call("POST", "/v1/users", Some(&json!({ "user_id": self.user_id })))?;
        if json_out(api, out, &reply)? {
            return Ok(());
        }
        let key: NewKey = api.decode(reply)?;
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
        let reply: Value = api.get("/v1/users")?;
        if json_out(api, out, &reply)? {
            return Ok(());
        }
        let list: UserList = api.decode(reply)?;
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
        let reply: Value = api.call("DELETE", &format!("/v1/users/{}", encode_segment(&self.user_id)), None)?;
        ok_out(api, out, &reply)
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
        let reply: Value = api.call("POST", "/v1/buckets", Some(&body))?;
        ok_out(api, out, &reply)
    }
}

/// List all buckets with their owners and permissions.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct GetBuckets {}

impl GetBuckets {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let reply: Value = api.get("/v1/buckets")?;
        if json_out(api, out, &reply)? {
            return Ok(());
        }
        let list: BucketList = api.decode(reply)?;
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
        let reply: Value = api.call("PUT", &format!("/v1/buckets/{}/acl", encode_segment(&self.bucket)), Some(&body))?;
        ok_out(api, out, &reply)
    }
}

/// Show one bucket (by name), or, as LeoFS's `get-bucket <access-key-id>` does, the
/// buckets of the user holding that access key.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct GetBucket {
    /// A bucket name, or an access key id of the owner whose buckets to list.
    pub bucket_or_access_key_id: String,
}

impl GetBucket {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let reply: Value = api.get("/v1/buckets")?;
        let all: Vec<Value> = reply.get("buckets").and_then(Value::as_array).cloned().unwrap_or_default();
        let wanted = &self.bucket_or_access_key_id;
        let name_of = |b: &Value| b.get("name").and_then(Value::as_str).map(str::to_owned);
        let mut found: Vec<Value> = all.iter().filter(|b| name_of(b).as_deref() == Some(wanted.as_str())).cloned().collect();
        if found.is_empty() {
            let owner = match api.get::<Value>(&format!("/v1/keys/{}", encode_segment(wanted))) {
                Ok(key) => api.decode::<KeyInfo>(key)?.user_id,
                Err(e) if e.code() == Some("NoSuchAccessKey") => {
                    return Err(Error::new(format!("no bucket and no access key named '{wanted}'")));
                }
                Err(e) => return Err(e),
            };
            found = all.into_iter().filter(|b| b.get("owner").and_then(Value::as_str) == Some(owner.as_str())).collect();
        }
        let filtered = json!({ "buckets": found });
        if json_out(api, out, &filtered)? {
            return Ok(());
        }
        let list: BucketList = api.decode(filtered)?;
        write!(out, "{}", buckets_table(&list.buckets))?;
        Ok(())
    }
}

/// Delete a bucket (LeoFS's `delete-bucket <bucket> <access-key-id>`); the key must belong
/// to the bucket's owner.
///
/// The admin API removes the bucket from the catalog without seeing its objects: delete
/// only an empty bucket this way. Objects left in it stay on disk, unreachable, and
/// reappear if a bucket of that name is created again. S3 `DeleteBucket` refuses a
/// non-empty bucket.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct DeleteBucket {
    /// The bucket to delete.
    pub bucket: String,
    /// An access key id of the bucket's owner.
    pub access_key_id: String,
}

impl DeleteBucket {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let body = json!({ "access_key_id": self.access_key_id });
        let path = format!("/v1/buckets/{}", encode_segment(&self.bucket));
        let reply: Value = api.call("DELETE", &path, Some(&body)).map_err(newer_endpoint(api, "delete-bucket"))?;
        ok_out(api, out, &reply)
    }
}

/// Give a bucket to another user, named by one of their access key ids (the ACL is kept).
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct ChownBucket {
    /// The bucket.
    pub bucket: String,
    /// An access key id of the new owner.
    pub new_owner_access_key_id: String,
}

impl ChownBucket {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let body = json!({ "access_key_id": self.new_owner_access_key_id });
        let path = format!("/v1/buckets/{}/owner", encode_segment(&self.bucket));
        let reply: Value = api.call("PUT", &path, Some(&body)).map_err(newer_endpoint(api, "chown-bucket"))?;
        ok_out(api, out, &reply)
    }
}

/// Create a user holding a given S3 key pair, e.g. one moved over from another system
/// (the access key id must not exist yet).
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct ImportUser {
    /// User id: 1 to 64 characters of A-Z a-z 0-9 . _ - @
    pub user_id: String,
    /// Access key id: 3 to 128 characters of A-Z a-z 0-9 . _ -
    pub access_key_id: String,
    /// Secret access key: 8 to 128 printable ASCII characters, no blanks.
    pub secret_access_key: String,
}

impl ImportUser {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let body = json!({ "user_id": self.user_id, "access_key_id": self.access_key_id, "secret_access_key": self.secret_access_key });
        let reply: Value = api.call("POST", "/v1/users/import", Some(&body)).map_err(newer_endpoint(api, "import-user"))?;
        ok_out(api, out, &reply)
    }
}

/// A role as `update-user-role` takes it: LeoFS's role id, or its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleId {
    /// Role id 1: manages only their own buckets.
    User,
    /// Role id 9: manages users, keys and every bucket.
    Admin,
}

impl RoleId {
    /// Parses `1`, `9`, `user`, `normal` or `admin`.
    pub fn parse(s: &str) -> Result<RoleId, String> {
        match s {
            "1" | "user" | "normal" => Ok(RoleId::User),
            "9" | "admin" => Ok(RoleId::Admin),
            _ => Err(format!("'{s}' is not a role: use 1 (user) or 9 (admin)")),
        }
    }

    /// The catalog's name for the role, as the API takes it.
    pub fn as_api(self) -> &'static str {
        match self {
            RoleId::User => "normal",
            RoleId::Admin => "admin",
        }
    }
}

/// Change a user's role: 1 = general user, 9 = admin (demoting the last admin who can
/// sign in is refused).
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct UpdateUserRole {
    /// The user.
    pub user_id: String,
    /// 1 (user) or 9 (admin); `user` and `admin` are accepted too.
    #[arg(value_parser = RoleId::parse)]
    pub role_id: RoleId,
}

impl UpdateUserRole {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let path = format!("/v1/users/{}/role", encode_segment(&self.user_id));
        let reply: Value = api.call("PUT", &path, Some(&json!({ "role": self.role_id.as_api() }))).map_err(newer_endpoint(api, "update-user-role"))?;
        ok_out(api, out, &reply)
    }
}

/// The order `status` shows a single-node server's fields in; fields not listed follow,
/// by name.
const STATUS_ORDER: &[&str] =
    &["version", "node", "shards", "s3_listen", "admin_listen", "data_dir", "durability", "region", "uptime_s", "users", "buckets", "catalog_generation"];

/// `status` of a single-node `leofs server` (`GET /v1/status`) as an item/value table.
pub(crate) fn status_table(status: &Map<String, Value>) -> String {
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

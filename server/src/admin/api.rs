//! The admin API's endpoints: JSON in, JSON out, over the [`Catalog`].
//!
//! | Method and path               | Body                                               | Reply |
//! |-------------------------------|----------------------------------------------------|-------|
//! | `GET /v1/status`              |                                                    | version, node, shards, addresses, counts |
//! | `GET /v1/users`               |                                                    | `{"users":[{user_id, display_name, role, created_at, created_ms, access_key_ids}]}` |
//! | `POST /v1/users`              | `{"user_id", "display_name"?, "role"?}`            | 201 `{user_id, access_key_id, secret_access_key}`: the only time the secret is shown |
//! | `POST /v1/users/import`       | `{"user_id", "access_key_id", "secret_access_key"}` | 201 `{user_id, access_key_id}`: a normal user holding exactly that key pair (LeoFS `import-user`) |
//! | `DELETE /v1/users/{id}`       |                                                    | `{user_id, deleted}` |
//! | `PUT /v1/users/{id}/role`     | `{"role": "admin" or "normal"}` (also `"user"`, and LeoFS's `"9"`, `"1"`) | the user |
//! | `GET /v1/keys/{access_key_id}`|                                                    | `{access_key_id, user_id, created_at}` |
//! | `GET /v1/buckets`             |                                                    | `{"buckets":[{name, owner, acl, location, created_at, created_ms}]}` |
//! | `POST /v1/buckets`            | `{"bucket", "owner"? or "access_key_id"?, "acl"?, "location"?}` | 201 the bucket |
//! | `PUT /v1/buckets/{name}/acl`  | `{"acl", "owner"? or "access_key_id"?}`            | the bucket |
//! | `PUT /v1/buckets/{name}/owner`| `{"owner"? or "access_key_id"?}`: the new owner    | the bucket (LeoFS `chown-bucket`) |
//! | `DELETE /v1/buckets/{name}`   | none, or `{"owner"? or "access_key_id"?}`          | `{bucket, deleted}`: removes the catalog entry only (see below) |
//! | `GET /metrics`                |                                                    | Prometheus text, answered by the transport (`admin.rs`, `metrics.rs`) |
//!
//! An owner can be named by user id or, as LeoFS's `leofs-adm` does, by one of their access
//! key ids; on `PUT .../acl` and `DELETE /v1/buckets/{name}` a named owner must own the
//! bucket. A user named `import` stays reachable: `POST /v1/users/import` is the only
//! method that path has besides `DELETE`.
//!
//! `DELETE /v1/buckets/{name}` (LeoFS `delete-bucket`) cannot check that the bucket is
//! empty: this API sees the catalog, not the objects. Objects left in a deleted bucket
//! are not removed; they stay on disk, unreachable, and reappear if a bucket of the same
//! name is created again (by any user). Empty a bucket first, or delete it with S3
//! `DeleteBucket`, which refuses a non-empty bucket (`BucketNotEmpty`). Errors are
//! `{"error": "<message>", "code": "<Code>"}` with status 400, 403, 404, 405, 409 or 500.
//! Secrets are never listed.

use crate::config::ServerConfig;
use leofs_control::{AccessKey, Acl, Bucket, Catalog, CatalogError, Role, User};
use leofs_net::s3::xml::iso8601_ms;
use percent_encoding::percent_decode_str;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Instant;

/// A reply: status and JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    pub fn ok(status: u16, body: Value) -> Reply {
        Reply { status, body }
    }

    /// An error reply: `{"error": message, "code": code}`.
    pub fn error(status: u16, code: &str, message: &str) -> Reply {
        Reply { status, body: json!({ "error": message, "code": code }) }
    }

    /// The body as sent: compact JSON and a newline (friendlier to `curl`).
    pub fn body_bytes(&self) -> Vec<u8> {
        // Serialising a `Value` cannot fail (its map keys are strings); stay total anyway.
        let mut out = serde_json::to_vec(&self.body).unwrap_or_else(|_| b"{}".to_vec());
        out.push(b'\n');
        out
    }
}

/// The status and code for a catalog error.
fn catalog_error(e: &CatalogError) -> Reply {
    let (status, code) = match e {
        CatalogError::NoSuchUser { .. } => (404, "NoSuchUser"),
        CatalogError::NoSuchAccessKey { .. } => (404, "NoSuchAccessKey"),
        CatalogError::NoSuchBucket { .. } => (404, "NoSuchBucket"),
        CatalogError::UserAlreadyExists { .. } => (409, "UserAlreadyExists"),
        CatalogError::AccessKeyAlreadyExists { .. } => (409, "AccessKeyAlreadyExists"),
        CatalogError::BucketAlreadyExists { .. } => (409, "BucketAlreadyExists"),
        CatalogError::BucketAlreadyOwnedByYou { .. } => (409, "BucketAlreadyOwnedByYou"),
        CatalogError::UserOwnsBuckets { .. } => (409, "UserOwnsBuckets"),
        CatalogError::LastAdmin { .. } => (409, "LastAdmin"),
        CatalogError::RootKeyMismatch { .. } => (409, "RootKeyMismatch"),
        CatalogError::InvalidBucketName { .. } => (400, "InvalidBucketName"),
        CatalogError::Invalid(_) => (400, "InvalidArgument"),
        CatalogError::Unavailable(_) => (503, "ServiceUnavailable"),
        CatalogError::Io { .. } | CatalogError::Corrupt { .. } | CatalogError::Random(_) => {
            log::error!("admin API: {e}");
            (500, "InternalError")
        }
    };
    Reply::error(status, code, &e.to_string())
}

fn bad_request(code: &str, message: &str) -> Reply {
    Reply::error(400, code, message)
}

/// Parses a JSON request body into `T`; unknown fields are refused, so a misspelt field
/// is an error rather than silently ignored.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Reply> {
    if body.is_empty() {
        return Err(bad_request("MissingBody", "this request needs a JSON object body"));
    }
    serde_json::from_slice(body).map_err(|e| bad_request("MalformedJSON", &format!("invalid JSON body: {e}")))
}

fn parse_acl(name: &str) -> Result<Acl, Reply> {
    Acl::from_canned(name).ok_or_else(|| bad_request("InvalidArgument", &format!("unknown ACL '{name}': use private, public-read or public-read-write")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    user_id: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: Option<Role>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewBucket {
    #[serde(alias = "name")]
    bucket: String,
    owner: Option<String>,
    access_key_id: Option<String>,
    acl: Option<String>,
    location: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AclChange {
    acl: String,
    owner: Option<String>,
    access_key_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportUser {
    user_id: String,
    access_key_id: String,
    secret_access_key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleChange {
    role: String,
}

/// A user, named by id or by one of their access key ids (the new owner of a bucket; the
/// owner a bucket deletion must match).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct OwnerRef {
    owner: Option<String>,
    access_key_id: Option<String>,
}

/// A role by name: the catalog's (`admin`, `normal`), LeoFS's role ids (`9`, `1`), or
/// `user` for normal.
fn parse_role(name: &str) -> Result<Role, Reply> {
    match name {
        "admin" | "9" => Ok(Role::Admin),
        "normal" | "user" | "1" => Ok(Role::Normal),
        _ => Err(bad_request("InvalidArgument", &format!("unknown role '{name}': use admin (9) or normal (1)"))),
    }
}

/// The paths the API knows, with their parameters percent-decoded.
enum Route {
    Status,
    Users,
    /// `/v1/users/{id}`; also `POST /v1/users/import` when the id is `import`.
    User(String),
    UserRole(String),
    Key(String),
    Buckets,
    Bucket(String),
    BucketAcl(String),
    BucketOwner(String),
}

impl Route {
    /// The route for a request target; `None` for unknown paths. Invalid percent-encoding
    /// is an error.
    fn of(target: &str) -> Result<Option<Route>, Reply> {
        let path = target.split_once('?').map_or(target, |(p, _)| p);
        let path = path.strip_suffix('/').unwrap_or(path);
        let mut segs = Vec::new();
        for raw in path.split('/').skip(1) {
            let seg = percent_decode_str(raw).decode_utf8().map_err(|_| bad_request("BadRequest", "the path is not valid UTF-8 once percent-decoded"))?;
            segs.push(seg.into_owned());
        }
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        // `GET /metrics` (Prometheus) never gets here: the transport answers it, since it
        // awaits every core and its body is not JSON.
        Ok(match segs.as_slice() {
            ["v1", "status"] => Some(Route::Status),
            ["v1", "users"] => Some(Route::Users),
            ["v1", "users", id] => Some(Route::User((*id).to_owned())),
            ["v1", "users", id, "role"] => Some(Route::UserRole((*id).to_owned())),
            ["v1", "keys", key] => Some(Route::Key((*key).to_owned())),
            ["v1", "buckets"] => Some(Route::Buckets),
            ["v1", "buckets", name] => Some(Route::Bucket((*name).to_owned())),
            ["v1", "buckets", name, "acl"] => Some(Route::BucketAcl((*name).to_owned())),
            ["v1", "buckets", name, "owner"] => Some(Route::BucketOwner((*name).to_owned())),
            _ => None,
        })
    }

    fn allowed(&self) -> &'static str {
        match self {
            Route::Status | Route::Key(_) => "GET",
            Route::Users | Route::Buckets => "GET, POST",
            Route::User(id) if id == "import" => "POST, DELETE",
            Route::User(_) | Route::Bucket(_) => "DELETE",
            Route::UserRole(_) | Route::BucketAcl(_) | Route::BucketOwner(_) => "PUT",
        }
    }
}

/// The API's state: the catalog and what `GET /v1/status` reports.
pub struct Admin {
    catalog: Catalog,
    cfg: ServerConfig,
    started: Instant,
}

impl Admin {
    pub fn new(catalog: Catalog, cfg: ServerConfig) -> Admin {
        Admin { catalog, cfg, started: Instant::now() }
    }

    /// Answers one request. `target` is the request target as sent; HEAD is answered as
    /// GET (the transport drops the body).
    pub fn handle(&self, method: &str, target: &str, body: &[u8]) -> Reply {
        let route = match Route::of(target) {
            Ok(Some(r)) => r,
            Ok(None) => return Reply::error(404, "NotFound", &format!("no such endpoint: {method} {target}")),
            Err(reply) => return reply,
        };
        let method = if method == "HEAD" { "GET" } else { method };
        let result = match (method, &route) {
            ("GET", Route::Status) => Ok(self.status()),
            ("GET", Route::Users) => Ok(self.list_users()),
            ("POST", Route::Users) => parse(body).and_then(|req| self.create_user(req)),
            ("POST", Route::User(id)) if id == "import" => parse(body).and_then(|req| self.import_user(req)),
            ("DELETE", Route::User(id)) => self.delete_user(id),
            ("PUT", Route::UserRole(id)) => parse(body).and_then(|req| self.set_role(id, req)),
            ("GET", Route::Key(key)) => self.key(key),
            ("GET", Route::Buckets) => Ok(self.list_buckets()),
            ("POST", Route::Buckets) => parse(body).and_then(|req| self.create_bucket(req)),
            ("PUT", Route::BucketAcl(name)) => parse(body).and_then(|req| self.set_acl(name, req)),
            ("PUT", Route::BucketOwner(name)) => parse(body).and_then(|req| self.chown_bucket(name, req)),
            // The body is optional here: `DELETE` without one names no owner to check.
            ("DELETE", Route::Bucket(name)) => {
                let req = if body.is_empty() { Ok(OwnerRef::default()) } else { parse(body) };
                req.and_then(|req| self.delete_bucket(name, req))
            }
            _ => Err(Reply::error(405, "MethodNotAllowed", &format!("{method} is not allowed on {target}; allowed: {}", route.allowed()))),
        };
        result.unwrap_or_else(|reply| reply)
    }

    fn status(&self) -> Reply {
        let durability = format!("{:?}", self.cfg.durability).to_ascii_lowercase();
        Reply::ok(
            200,
            json!({
                "version": env!("CARGO_PKG_VERSION"),
                "node": "single",
                "shards": self.cfg.shards,
                "s3_listen": self.cfg.listen.to_string(),
                "admin_listen": self.cfg.admin_listen.to_string(),
                "data_dir": self.cfg.data_dir.display().to_string(),
                "durability": durability,
                "region": self.cfg.region,
                "uptime_s": self.started.elapsed().as_secs(),
                "users": self.catalog.users().len(),
                "buckets": self.catalog.all_buckets().len(),
                "catalog_generation": self.catalog.generation(),
            }),
        )
    }

    fn list_users(&self) -> Reply {
        let users: Vec<Value> = self
            .catalog
            .users()
            .into_iter()
            .map(|u| {
                // A user deleted since `users()` simply shows no keys.
                let keys = self.catalog.keys_of(&u.id).unwrap_or_default();
                user_json(&u, &keys)
            })
            .collect();
        Reply::ok(200, json!({ "users": users }))
    }

    fn create_user(&self, req: NewUser) -> Result<Reply, Reply> {
        let role = req.role.unwrap_or(Role::Normal);
        let key = self.catalog.create_user_with_role(&req.user_id, &req.display_name, role).map_err(|e| catalog_error(&e))?;
        log::info!("admin API: created user '{}' ({role}) with access key {}", req.user_id, key.access_key_id);
        Ok(Reply::ok(
            201,
            json!({ "user_id": key.user_id, "access_key_id": key.access_key_id, "secret_access_key": key.secret }),
        ))
    }

    fn import_user(&self, req: ImportUser) -> Result<Reply, Reply> {
        let key = self.catalog.import_user(&req.user_id, &req.access_key_id, &req.secret_access_key).map_err(|e| catalog_error(&e))?;
        log::info!("admin API: imported user '{}' with access key {}", key.user_id, key.access_key_id);
        Ok(Reply::ok(201, json!({ "user_id": key.user_id, "access_key_id": key.access_key_id })))
    }

    fn set_role(&self, id: &str, req: RoleChange) -> Result<Reply, Reply> {
        let role = parse_role(&req.role)?;
        let user = self.catalog.set_role(id, role).map_err(|e| catalog_error(&e))?;
        log::info!("admin API: user '{id}' is now {role}");
        let keys = self.catalog.keys_of(id).unwrap_or_default();
        Ok(Reply::ok(200, user_json(&user, &keys)))
    }

    fn delete_user(&self, id: &str) -> Result<Reply, Reply> {
        self.catalog.delete_user(id).map_err(|e| catalog_error(&e))?;
        log::info!("admin API: deleted user '{id}'");
        Ok(Reply::ok(200, json!({ "user_id": id, "deleted": true })))
    }

    fn key(&self, access_key_id: &str) -> Result<Reply, Reply> {
        let (key, user) = self.lookup_key(access_key_id)?;
        Ok(Reply::ok(
            200,
            json!({ "access_key_id": key.access_key_id, "user_id": user.id, "created_at": iso8601_ms(key.created_ms) }),
        ))
    }

    fn lookup_key(&self, access_key_id: &str) -> Result<(AccessKey, User), Reply> {
        self.catalog.lookup_key(access_key_id).ok_or_else(|| {
            let access_key_id = access_key_id.to_owned();
            catalog_error(&CatalogError::NoSuchAccessKey { access_key_id })
        })
    }

    /// The user named by `owner` and/or `access_key_id`; both given must agree.
    fn resolve_owner(&self, owner: Option<String>, access_key_id: Option<String>) -> Result<Option<String>, Reply> {
        let Some(key_id) = access_key_id else { return Ok(owner) };
        let (_, user) = self.lookup_key(&key_id)?;
        match owner {
            Some(o) if o != user.id => {
                Err(bad_request("InvalidArgument", &format!("access key '{key_id}' belongs to user '{}', not to '{o}'", user.id)))
            }
            _ => Ok(Some(user.id)),
        }
    }

    fn list_buckets(&self) -> Reply {
        let buckets: Vec<Value> = self.catalog.all_buckets().iter().map(bucket_json).collect();
        Reply::ok(200, json!({ "buckets": buckets }))
    }

    fn create_bucket(&self, req: NewBucket) -> Result<Reply, Reply> {
        let owner = self.resolve_owner(req.owner, req.access_key_id)?;
        let owner = owner.ok_or_else(|| bad_request("InvalidArgument", "name the bucket's owner with \"owner\" (a user id) or \"access_key_id\""))?;
        let acl = req.acl.as_deref().map(parse_acl).transpose()?.unwrap_or_default();
        // Like S3 CreateBucket on this node: the node's region unless another is asked for.
        let location = req.location.as_deref().unwrap_or(&self.cfg.region);
        let bucket = self.catalog.create_bucket(&req.bucket, &owner, acl, Some(location)).map_err(|e| catalog_error(&e))?;
        log::info!("admin API: created bucket '{}' for user '{owner}' ({acl})", bucket.name);
        Ok(Reply::ok(201, bucket_json(&bucket)))
    }

    fn set_acl(&self, name: &str, req: AclChange) -> Result<Reply, Reply> {
        let acl = parse_acl(&req.acl)?;
        if let Some(owner) = self.resolve_owner(req.owner, req.access_key_id)? {
            let bucket = self.catalog.bucket(name).ok_or_else(|| catalog_error(&CatalogError::NoSuchBucket { bucket: name.to_owned() }))?;
            if bucket.owner != owner {
                return Err(Reply::error(403, "AccessDenied", &format!("bucket '{name}' is owned by user '{}', not by '{owner}'", bucket.owner)));
            }
        }
        let bucket = self.catalog.set_acl(name, acl).map_err(|e| catalog_error(&e))?;
        log::info!("admin API: bucket '{name}' ACL is now {acl}");
        Ok(Reply::ok(200, bucket_json(&bucket)))
    }

    fn chown_bucket(&self, name: &str, req: OwnerRef) -> Result<Reply, Reply> {
        let owner = self.resolve_owner(req.owner, req.access_key_id)?;
        let owner = owner.ok_or_else(|| bad_request("InvalidArgument", "name the new owner with \"owner\" (a user id) or \"access_key_id\""))?;
        let bucket = self.catalog.chown_bucket(name, &owner).map_err(|e| catalog_error(&e))?;
        log::info!("admin API: bucket '{name}' is now owned by user '{owner}'");
        Ok(Reply::ok(200, bucket_json(&bucket)))
    }

    /// Removes the bucket from the catalog, without looking at its objects (see the module
    /// documentation).
    fn delete_bucket(&self, name: &str, req: OwnerRef) -> Result<Reply, Reply> {
        if let Some(owner) = self.resolve_owner(req.owner, req.access_key_id)? {
            let bucket = self.catalog.bucket(name).ok_or_else(|| catalog_error(&CatalogError::NoSuchBucket { bucket: name.to_owned() }))?;
            if bucket.owner != owner {
                return Err(Reply::error(403, "AccessDenied", &format!("bucket '{name}' is owned by user '{}', not by '{owner}'", bucket.owner)));
            }
        }
        let bucket = self.catalog.delete_bucket(name).map_err(|e| catalog_error(&e))?;
        log::info!("admin API: deleted bucket '{name}' of user '{}' from the catalog", bucket.owner);
        Ok(Reply::ok(200, json!({ "bucket": bucket.name, "deleted": true })))
    }
}

fn user_json(u: &User, keys: &[AccessKey]) -> Value {
    let key_ids: Vec<&str> = keys.iter().map(|k| k.access_key_id.as_str()).collect();
    json!({
        "user_id": u.id,
        "display_name": u.display_name,
        "role": u.role,
        "created_at": iso8601_ms(u.created_ms),
        "created_ms": u.created_ms,
        "access_key_ids": key_ids,
    })
}

fn bucket_json(b: &Bucket) -> Value {
    json!({
        "name": b.name,
        "owner": b.owner,
        "acl": b.acl,
        "location": b.location,
        "created_at": iso8601_ms(b.created_ms),
        "created_ms": b.created_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(target: &str) -> Option<Route> {
        Route::of(target).unwrap_or_else(|r| panic!("{target}: {:?}", r.body))
    }

    #[test]
    fn routes_decode_their_parameters() {
        assert!(matches!(route("/v1/users/alice%40example.com"), Some(Route::User(id)) if id == "alice@example.com"));
        assert!(matches!(route("/v1/buckets/photos/acl?x=1"), Some(Route::BucketAcl(b)) if b == "photos"));
        assert!(matches!(route("/v1/users/"), Some(Route::Users)));
        assert!(route("/v1/users/a/b").is_none());
        assert!(matches!(route("/v1/users/import"), Some(Route::User(id)) if id == "import"));
        assert!(matches!(route("/v1/users/bob%2Bops/role"), Some(Route::UserRole(id)) if id == "bob+ops"));
        assert!(matches!(route("/v1/buckets/photos"), Some(Route::Bucket(b)) if b == "photos"));
        assert!(matches!(route("/v1/buckets/photos/"), Some(Route::Bucket(b)) if b == "photos"));
        assert!(matches!(route("/v1/buckets/photos/owner"), Some(Route::BucketOwner(b)) if b == "photos"));
        assert!(route("/v1/buckets/photos/tags").is_none());
        assert!(route("/metrics").is_none());
        assert!(route("/").is_none());
        assert!(Route::of("/v1/users/%FF").is_err());
    }

    /// An admin API over a fresh catalog (root plus `alice`, who owns `photos`), removed
    /// when the guard drops.
    struct Fixture {
        admin: Admin,
        dir: std::path::PathBuf,
        alice_key: String,
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn fixture(name: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("leofs-admin-api-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let catalog = Catalog::open(&dir).unwrap();
        catalog.ensure_root(None, None).unwrap();
        let alice_key = catalog.create_user("alice", "").unwrap().access_key_id;
        catalog.create_bucket("photos", "alice", Acl::Private, None).unwrap();
        let cfg = ServerConfig::resolve(&crate::cli::ServerArgs::default()).unwrap();
        Fixture { admin: Admin::new(catalog, cfg), dir, alice_key }
    }

    fn call(f: &Fixture, method: &str, target: &str, body: Value) -> Reply {
        let body = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
        f.admin.handle(method, target, &body)
    }

    #[test]
    fn import_user_takes_the_given_key_pair() {
        let f = fixture("import");
        let r = call(&f, "POST", "/v1/users/import", json!({"user_id": "carol", "access_key_id": "AKIDCAROL", "secret_access_key": "carol-secret-1"}));
        assert_eq!(r.status, 201, "{:?}", r.body);
        assert_eq!(r.body, json!({"user_id": "carol", "access_key_id": "AKIDCAROL"}), "the secret is not echoed");
        assert_eq!(f.admin.catalog.lookup_key("AKIDCAROL").unwrap().0.secret, "carol-secret-1");
        let again = call(&f, "POST", "/v1/users/import", json!({"user_id": "carol", "access_key_id": "AKIDOTHER", "secret_access_key": "carol-secret-1"}));
        assert_eq!((again.status, again.body["code"].as_str()), (409, Some("UserAlreadyExists")));
        let bad = call(&f, "POST", "/v1/users/import", json!({"user_id": "dave", "access_key_id": "AKIDDAVE"}));
        assert_eq!((bad.status, bad.body["code"].as_str()), (400, Some("MalformedJSON")));
        // `/v1/users/import` is still a user's path for DELETE.
        let gone = call(&f, "DELETE", "/v1/users/import", Value::Null);
        assert_eq!((gone.status, gone.body["code"].as_str()), (404, Some("NoSuchUser")));
        let r = call(&f, "PUT", "/v1/users/import", Value::Null);
        assert_eq!(r.status, 405);
        assert!(r.body["error"].as_str().unwrap().contains("allowed: POST, DELETE"), "{:?}", r.body);
    }

    #[test]
    fn roles_change_by_name_or_leofs_role_id() {
        let f = fixture("role");
        let r = call(&f, "PUT", "/v1/users/alice/role", json!({"role": "admin"}));
        assert_eq!((r.status, r.body["role"].as_str()), (200, Some("admin")), "{:?}", r.body);
        assert_eq!(r.body["access_key_ids"], json!([f.alice_key]));
        let r = call(&f, "PUT", "/v1/users/alice/role", json!({"role": "user"}));
        assert_eq!(r.body["role"].as_str(), Some("normal"));
        let r = call(&f, "PUT", "/v1/users/alice/role", json!({"role": "9"}));
        assert_eq!(r.body["role"].as_str(), Some("admin"));
        let r = call(&f, "PUT", "/v1/users/alice/role", json!({"role": "emperor"}));
        assert_eq!((r.status, r.body["code"].as_str()), (400, Some("InvalidArgument")));
        let r = call(&f, "PUT", "/v1/users/nobody/role", json!({"role": "admin"}));
        assert_eq!((r.status, r.body["code"].as_str()), (404, Some("NoSuchUser")));
        // alice is an admin now, so root may step down; then alice may not.
        assert_eq!(call(&f, "PUT", "/v1/users/root/role", json!({"role": "normal"})).status, 200);
        let r = call(&f, "PUT", "/v1/users/alice/role", json!({"role": "normal"}));
        assert_eq!((r.status, r.body["code"].as_str()), (409, Some("LastAdmin")));
    }

    #[test]
    fn chown_bucket_names_the_new_owner_by_key_or_id() {
        let f = fixture("chown");
        let root_key = f.admin.catalog.keys_of("root").unwrap()[0].access_key_id.clone();
        let r = call(&f, "PUT", "/v1/buckets/photos/owner", json!({"access_key_id": root_key}));
        assert_eq!((r.status, r.body["owner"].as_str()), (200, Some("root")), "{:?}", r.body);
        let r = call(&f, "PUT", "/v1/buckets/photos/owner", json!({"owner": "alice"}));
        assert_eq!(r.body["owner"].as_str(), Some("alice"));
        let r = call(&f, "PUT", "/v1/buckets/photos/owner", json!({}));
        assert_eq!((r.status, r.body["code"].as_str()), (400, Some("InvalidArgument")));
        let r = call(&f, "PUT", "/v1/buckets/photos/owner", json!({"access_key_id": "LEONOSUCHKEY"}));
        assert_eq!((r.status, r.body["code"].as_str()), (404, Some("NoSuchAccessKey")));
        let r = call(&f, "PUT", "/v1/buckets/nope/owner", json!({"owner": "alice"}));
        assert_eq!((r.status, r.body["code"].as_str()), (404, Some("NoSuchBucket")));
    }

    #[test]
    fn delete_bucket_checks_the_named_owner() {
        let f = fixture("delete-bucket");
        let root_key = f.admin.catalog.keys_of("root").unwrap()[0].access_key_id.clone();
        let r = call(&f, "DELETE", "/v1/buckets/photos", json!({"access_key_id": root_key}));
        assert_eq!((r.status, r.body["code"].as_str()), (403, Some("AccessDenied")));
        assert!(f.admin.catalog.bucket("photos").is_some());
        let r = call(&f, "DELETE", "/v1/buckets/photos", json!({"access_key_id": f.alice_key}));
        assert_eq!((r.status, &r.body), (200, &json!({"bucket": "photos", "deleted": true})));
        assert!(f.admin.catalog.bucket("photos").is_none());
        let r = call(&f, "DELETE", "/v1/buckets/photos", Value::Null);
        assert_eq!((r.status, r.body["code"].as_str()), (404, Some("NoSuchBucket")));
        f.admin.catalog.create_bucket("logs", "alice", Acl::Private, None).unwrap();
        assert_eq!(call(&f, "DELETE", "/v1/buckets/logs", Value::Null).status, 200, "no body: no owner check");
        assert_eq!(call(&f, "GET", "/v1/buckets/logs", Value::Null).status, 405);
    }

    #[test]
    fn error_replies_carry_message_and_code() {
        let r = catalog_error(&CatalogError::NoSuchUser { user: "bob".into() });
        assert_eq!((r.status, r.body["code"].as_str()), (404, Some("NoSuchUser")));
        assert_eq!(String::from_utf8(r.body_bytes()).unwrap(), "{\"code\":\"NoSuchUser\",\"error\":\"no such user 'bob'\"}\n");
    }
}

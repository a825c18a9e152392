//! The catalog's error type. Every message names what failed and, where there is one, what
//! the operator can do about it: these strings end up in server logs and admin tool output.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Everything a catalog operation can fail with.
#[derive(Debug)]
pub enum CatalogError {
    /// The named user does not exist.
    NoSuchUser { user: String },
    /// A user with this id already exists.
    UserAlreadyExists { user: String },
    /// The named access key does not exist.
    NoSuchAccessKey { access_key_id: String },
    /// An access key with this id already exists (possibly of another user).
    AccessKeyAlreadyExists { access_key_id: String },
    /// The named bucket does not exist.
    NoSuchBucket { bucket: String },
    /// The bucket name is taken by another user.
    BucketAlreadyExists { bucket: String },
    /// The caller already owns a bucket of this name.
    BucketAlreadyOwnedByYou { bucket: String },
    /// The bucket name breaks the S3 naming rules.
    InvalidBucketName { bucket: String, why: String },
    /// The user cannot be deleted while they own buckets (names sorted, all of them).
    UserOwnsBuckets { user: String, buckets: Vec<String> },
    /// The change would leave no admin able to sign in.
    LastAdmin { user: String },
    /// Configured root credentials differ from the ones the catalog already holds.
    RootKeyMismatch { stored: String, given: String },
    /// A file system operation failed; `op` says which, `path` on what.
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// The catalog file exists but fails a check; `why` names the check.
    Corrupt { path: PathBuf, why: String },
    /// The system random source failed while generating credentials.
    Random(String),
    /// An argument is malformed (a bad user id, secret, ...).
    Invalid(String),
    /// The catalog lives elsewhere (a cluster's manager) and cannot be reached now.
    Unavailable(String),
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogError::NoSuchUser { user } => write!(f, "no such user '{user}'"),
            CatalogError::UserAlreadyExists { user } => {
                write!(f, "user '{user}' already exists")
            }
            CatalogError::NoSuchAccessKey { access_key_id } => {
                write!(f, "no such access key '{access_key_id}'")
            }
            CatalogError::AccessKeyAlreadyExists { access_key_id } => {
                write!(f, "access key '{access_key_id}' already exists")
            }
            CatalogError::NoSuchBucket { bucket } => write!(f, "no such bucket '{bucket}'"),
            CatalogError::BucketAlreadyExists { bucket } => write!(
                f,
                "bucket '{bucket}' already exists and is owned by another user; choose another name"
            ),
            CatalogError::BucketAlreadyOwnedByYou { bucket } => {
                write!(f, "bucket '{bucket}' already exists and you already own it")
            }
            CatalogError::InvalidBucketName { bucket, why } => {
                write!(f, "invalid bucket name '{bucket}': {why}")
            }
            CatalogError::UserOwnsBuckets { user, buckets } => {
                const SHOWN: usize = 5;
                let list = buckets
                    .iter()
                    .take(SHOWN)
                    .map(String::as_str)
                    .collect::<Vec<_>>();
                let more = buckets.len().saturating_sub(SHOWN);
                write!(
                    f,
                    "user '{user}' still owns {} bucket(s): {}{}; delete them first",
                    buckets.len(),
                    list.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                )
            }
            CatalogError::LastAdmin { user } => write!(
                f,
                "refusing: this would leave no admin able to sign in ('{user}' is the last \
                 admin with an access key); create or promote another admin first"
            ),
            CatalogError::RootKeyMismatch { stored, given } if stored == given => write!(
                f,
                "the configured root secret for access key '{given}' differs from the one \
                 the catalog holds; the catalog is authoritative: configure the stored \
                 credentials or none at all"
            ),
            CatalogError::RootKeyMismatch { stored, given } => write!(
                f,
                "the catalog already holds root access key '{stored}', which differs from the \
                 configured root credentials (access key '{given}'); the catalog is \
                 authoritative: configure the stored credentials or none at all"
            ),
            CatalogError::Io { op, path, source } => {
                write!(f, "catalog: {op} failed for {}: {source}", path.display())
            }
            CatalogError::Corrupt { path, why } => write!(
                f,
                "catalog file {} is corrupt: {why}; refusing to continue with an empty or \
                 partial catalog (restore the file from a backup, or move it aside to start \
                 with an empty catalog)",
                path.display()
            ),
            CatalogError::Random(why) => write!(
                f,
                "cannot generate credentials: the system random source failed: {why}"
            ),
            CatalogError::Invalid(why) => write!(f, "invalid argument: {why}"),
            CatalogError::Unavailable(why) => write!(f, "catalog unavailable: {why}"),
        }
    }
}

impl std::error::Error for CatalogError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CatalogError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl CatalogError {
    /// Builds the [`CatalogError::Io`] mapper for `op` on `path`, for use with `map_err`.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| CatalogError::Io { op, path, source }
    }
}

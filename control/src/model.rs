//! The catalog's data model (users, access keys, buckets) and the rules their names obey.
//!
//! These types are what `catalog.db` stores as JSON (see docs/format.md): renaming a field or
//! a variant changes the file format. Unknown fields are rejected rather than dropped, so an
//! older build never silently loses what a newer one wrote.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The id of the user created on first start.
pub const ROOT_USER: &str = "root";
/// The region a bucket gets when none is given (S3's default for an absent LocationConstraint).
pub const DEFAULT_LOCATION: &str = "us-east-1";
/// Prefix of every generated access key id.
pub const KEY_ID_PREFIX: &str = "LEO";
/// Length of a generated access key id.
pub const KEY_ID_LEN: usize = 20;
/// Length of a generated secret.
pub const SECRET_LEN: usize = 40;

/// What a user may do beyond their own buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// May manage users, keys and every bucket.
    Admin,
    /// May manage only their own buckets.
    Normal,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Admin => "admin",
            Role::Normal => "normal",
        })
    }
}

/// A bucket's canned ACL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Acl {
    /// Only the owner reads and writes.
    #[default]
    Private,
    /// Anyone reads, only the owner writes.
    PublicRead,
    /// Anyone reads and writes.
    PublicReadWrite,
}

impl Acl {
    /// The S3 canned-ACL name (`x-amz-acl` value).
    pub fn as_canned(self) -> &'static str {
        match self {
            Acl::Private => "private",
            Acl::PublicRead => "public-read",
            Acl::PublicReadWrite => "public-read-write",
        }
    }

    /// Parses an S3 canned-ACL name; `None` for names the catalog does not model.
    pub fn from_canned(name: &str) -> Option<Acl> {
        match name {
            "private" => Some(Acl::Private),
            "public-read" => Some(Acl::PublicRead),
            "public-read-write" => Some(Acl::PublicReadWrite),
            _ => None,
        }
    }
}

impl fmt::Display for Acl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_canned())
    }
}

/// A user: owns buckets and access keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub id: String,
    pub display_name: String,
    /// Creation time, unix milliseconds.
    pub created_ms: i64,
    pub role: Role,
}

/// An S3 access key pair belonging to one user.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret: String,
    pub user_id: String,
    /// Creation time, unix milliseconds.
    pub created_ms: i64,
}

// Hand-written so that logging a key (or a test failure printing one) never leaks the secret.
impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKey")
            .field("access_key_id", &self.access_key_id)
            .field("secret", &"<redacted>")
            .field("user_id", &self.user_id)
            .field("created_ms", &self.created_ms)
            .finish()
    }
}

/// A bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bucket {
    pub name: String,
    /// The owning user's id.
    pub owner: String,
    pub acl: Acl,
    /// Creation time, unix milliseconds.
    pub created_ms: i64,
    /// Region, [`DEFAULT_LOCATION`] unless the creator asked for another.
    pub location: String,
}

/// Checks a user id: 1 to 64 characters of `A-Z a-z 0-9 . _ - @`.
pub fn validate_user_id(id: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
    if id.is_empty() || id.len() > 64 {
        return Err(format!("user id '{id}' must be 1 to 64 characters long"));
    }
    if !id.chars().all(ok_char) {
        return Err(format!(
            "user id '{id}' may contain only A-Z a-z 0-9 . _ - @"
        ));
    }
    Ok(())
}

/// Checks a display name: at most 256 characters, no control characters.
pub fn validate_display_name(name: &str) -> Result<(), String> {
    if name.chars().count() > 256 {
        return Err("display name must be at most 256 characters long".into());
    }
    if name.chars().any(char::is_control) {
        return Err("display name must not contain control characters".into());
    }
    Ok(())
}

/// Checks an operator-supplied access key id: 3 to 128 characters of `A-Z a-z 0-9 . _ -`.
///
/// Looser than the generated form (`LEO` + 17 of `A-Z 0-9`) so that existing client setups
/// can keep their ids; the excluded characters (`/ : , =` and blanks) would break the
/// parsing of SigV4 `Credential=` and SigV2 `AWS id:sig` headers.
pub fn validate_access_key_id(id: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if id.len() < 3 || id.len() > 128 || !id.chars().all(ok_char) {
        return Err(format!(
            "access key id '{id}' must be 3 to 128 characters of A-Z a-z 0-9 . _ -"
        ));
    }
    Ok(())
}

/// Checks an operator-supplied secret: 8 to 128 printable ASCII characters, no blanks.
pub fn validate_secret(secret: &str) -> Result<(), String> {
    let len = secret.len();
    if !(8..=128).contains(&len) || !secret.bytes().all(|b| b.is_ascii_graphic()) {
        // The secret itself is deliberately not echoed.
        return Err(format!(
            "the secret must be 8 to 128 printable ASCII characters without blanks (got {len} bytes)"
        ));
    }
    Ok(())
}

/// Checks a region name: 1 to 64 characters of `A-Z a-z 0-9 . _ -`.
pub fn validate_location(location: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if location.is_empty() || location.len() > 64 || !location.chars().all(ok_char) {
        return Err(format!(
            "location '{location}' must be 1 to 64 characters of A-Z a-z 0-9 . _ -"
        ));
    }
    Ok(())
}

/// Checks a bucket name against the S3 rules for new buckets (3-63 characters of lowercase
/// letters, digits, `.` and `-`; starts and ends with a letter or digit; no `..`, `.-`, `-.`;
/// not an IPv4 address; none of S3's reserved prefixes or suffixes).
pub fn validate_bucket_name(name: &str) -> Result<(), String> {
    if name.len() < 3 || name.len() > 63 {
        return Err("must be 3 to 63 characters long".into());
    }
    let ok_char = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-';
    if !name.bytes().all(ok_char) {
        return Err("may contain only lowercase letters, digits, '.' and '-'".into());
    }
    let alnum = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    if !alnum(name.as_bytes().first()) || !alnum(name.as_bytes().last()) {
        return Err("must start and end with a letter or digit".into());
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return Err("must not contain '..', '.-' or '-.'".into());
    }
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() == 4 && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())) {
        return Err("must not be formatted as an IP address".into());
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if name.starts_with(prefix) {
            return Err(format!(
                "must not start with the reserved prefix '{prefix}'"
            ));
        }
    }
    for suffix in ["-s3alias", "--ol-s3", "--x-s3", ".mrap"] {
        if name.ends_with(suffix) {
            return Err(format!("must not end with the reserved suffix '{suffix}'"));
        }
    }
    Ok(())
}

/// Generates an access key id: [`KEY_ID_PREFIX`] then 17 uniformly random `A-Z 0-9`.
pub fn generate_access_key_id() -> Result<String, String> {
    const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut id = String::with_capacity(KEY_ID_LEN);
    id.push_str(KEY_ID_PREFIX);
    let mut buf = [0u8; 32];
    while id.len() < KEY_ID_LEN {
        getrandom::getrandom(&mut buf).map_err(|e| e.to_string())?;
        // Rejection sampling: 252 = 7 * 36, so accepted bytes map uniformly onto the alphabet.
        for &b in buf.iter().filter(|&&b| b < 252) {
            if id.len() == KEY_ID_LEN {
                break;
            }
            id.push(char::from(ALPHABET[usize::from(b % 36)]));
        }
    }
    Ok(id)
}

/// Generates a secret: [`SECRET_LEN`] uniformly random characters of `A-Z a-z 0-9 + /`
/// (240 bits of entropy).
pub fn generate_secret() -> Result<String, String> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut buf = [0u8; SECRET_LEN];
    getrandom::getrandom(&mut buf).map_err(|e| e.to_string())?;
    // 64 divides 256, so masking the low 6 bits is uniform.
    Ok(buf
        .iter()
        .map(|&b| char::from(ALPHABET[usize::from(b & 63)]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_credentials_have_the_documented_shape() {
        for _ in 0..100 {
            let id = generate_access_key_id().unwrap();
            assert_eq!(id.len(), KEY_ID_LEN);
            assert!(id.starts_with(KEY_ID_PREFIX));
            assert!(id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
            validate_access_key_id(&id).unwrap();
            let secret = generate_secret().unwrap();
            assert_eq!(secret.len(), SECRET_LEN);
            assert!(secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/'));
            validate_secret(&secret).unwrap();
        }
        assert_ne!(generate_secret().unwrap(), generate_secret().unwrap());
    }

    #[test]
    fn bucket_names() {
        for ok in ["abc", "my-bucket.logs", "a1b", "123", &"a".repeat(63)] {
            assert!(validate_bucket_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "ABC",
            "a_b",
            "-ab",
            "ab-",
            ".ab",
            "a..b",
            "a.-b",
            "a-.b",
            "192.168.1.1",
            "xn--abc",
            "abc-s3alias",
            &"a".repeat(64),
            "ab c",
            "abc\u{e9}",
        ] {
            assert!(validate_bucket_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn acl_and_role_names() {
        for acl in [Acl::Private, Acl::PublicRead, Acl::PublicReadWrite] {
            assert_eq!(Acl::from_canned(acl.as_canned()), Some(acl));
            let json = serde_json::to_string(&acl).unwrap();
            assert_eq!(json, format!("\"{}\"", acl.as_canned()));
        }
        assert_eq!(Acl::from_canned("authenticated-read"), None);
        assert_eq!(serde_json::to_string(&Role::Admin).unwrap(), "\"admin\"");
    }

    #[test]
    fn debug_redacts_the_secret() {
        let key = AccessKey {
            access_key_id: "LEOAAAAAAAAAAAAAAAAA".into(),
            secret: "s3cr3t-s3cr3t".into(),
            user_id: "u".into(),
            created_ms: 0,
        };
        assert!(!format!("{key:?}").contains("s3cr3t"));
    }

    #[test]
    fn argument_validators() {
        assert!(validate_user_id("alice@example.com").is_ok());
        assert!(validate_user_id("").is_err());
        assert!(validate_user_id("a/b").is_err());
        assert!(validate_access_key_id("AKIA/x").is_err());
        assert!(validate_access_key_id("minioadmin").is_ok());
        assert!(validate_secret("short").is_err());
        assert!(validate_secret("has a blank").is_err());
        assert!(validate_display_name("Alice \u{e9}").is_ok());
        assert!(validate_display_name("a\nb").is_err());
        assert!(validate_location("eu-west-1").is_ok());
        assert!(validate_location("").is_err());
    }
}

//! The `catalog.db` file: framing, checksums and atomic replacement (layout in
//! docs/format.md, section "Catalog").
//!
//! ```text
//! 0        8       10      12        16              24             32
//! | magic  | ver   | rsv   | body len | generation    | header xxh3  | body ... | body xxh3 |
//! ```
//!
//! The body is opaque here (the catalog's JSON); this module only guarantees that what
//! [`read`] returns is byte for byte what [`write`] wrote.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::xxh3_64;

use crate::error::CatalogError;

/// The catalog file's name inside the catalog directory.
pub const FILE_NAME: &str = "catalog.db";
/// The name a new snapshot is written under before it is renamed over [`FILE_NAME`].
pub const TMP_NAME: &str = "catalog.db.tmp";
/// Bytes 0..8 of the file.
pub const MAGIC: &[u8; 8] = b"LEOFSCAT";
/// The format version this build writes and reads.
pub const VERSION: u16 = 1;
/// Header length in bytes (the header checksum covers bytes 0..24).
pub const HEADER_LEN: usize = 32;
/// Length of the body checksum that follows the body.
pub const TRAILER_LEN: usize = 8;

/// Frames `body` as a complete catalog file of generation `generation`.
pub fn encode(generation: u64, body: &[u8]) -> Result<Vec<u8>, CatalogError> {
    let body_len = u32::try_from(body.len()).map_err(|_| {
        CatalogError::Invalid(format!(
            "catalog body of {} bytes exceeds 4 GiB",
            body.len()
        ))
    })?;
    let mut out = Vec::with_capacity(HEADER_LEN + body.len() + TRAILER_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&body_len.to_le_bytes());
    out.extend_from_slice(&generation.to_le_bytes());
    let head_sum = xxh3_64(&out[..24]);
    out.extend_from_slice(&head_sum.to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&xxh3_64(body).to_le_bytes());
    Ok(out)
}

/// Reads a little-endian integer of `N` bytes at `at`; the caller has checked the length.
fn le<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[at..at + N]);
    out
}

/// Checks a complete catalog file and returns its generation and body. The error string
/// names the first failed check.
pub fn decode(bytes: &[u8]) -> Result<(u64, &[u8]), String> {
    if bytes.len() < HEADER_LEN {
        return Err(format!(
            "truncated: {} bytes, shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        ));
    }
    if &bytes[..8] != MAGIC {
        return Err("bad magic: not a leofs catalog file".into());
    }
    let version = u16::from_le_bytes(le(bytes, 8));
    if version != VERSION {
        return Err(format!(
            "unsupported format version {version} (this build reads {VERSION})"
        ));
    }
    let stored_head = u64::from_le_bytes(le(bytes, 24));
    if xxh3_64(&bytes[..24]) != stored_head {
        return Err("header checksum mismatch".into());
    }
    if u16::from_le_bytes(le(bytes, 10)) != 0 {
        return Err("reserved header bytes 10..12 are not zero".into());
    }
    let body_len = u32::from_le_bytes(le(bytes, 12));
    let generation = u64::from_le_bytes(le(bytes, 16));
    // In u64 so that a huge announced length cannot overflow on any target.
    let want = (HEADER_LEN + TRAILER_LEN) as u64 + u64::from(body_len);
    let have = bytes.len() as u64;
    if have < want {
        return Err(format!(
            "truncated: {} bytes, the header announces {want} (body of {body_len} bytes)",
            bytes.len()
        ));
    }
    if have > want {
        return Err(format!(
            "{} unexpected bytes after the end of the catalog ({want} bytes)",
            have - want
        ));
    }
    // Fits: the whole file, which is in memory, is exactly HEADER_LEN + body + TRAILER_LEN.
    let body_len = bytes.len() - HEADER_LEN - TRAILER_LEN;
    let body = &bytes[HEADER_LEN..HEADER_LEN + body_len];
    let stored_body = u64::from_le_bytes(le(bytes, HEADER_LEN + body_len));
    if xxh3_64(body) != stored_body {
        return Err("body checksum mismatch".into());
    }
    Ok((generation, body))
}

/// Reads and checks `dir/catalog.db`: `None` if it does not exist.
pub fn read(dir: &Path) -> Result<Option<(u64, Vec<u8>)>, CatalogError> {
    read_named(dir, FILE_NAME)
}

/// Reads and checks `dir/name`, a file in the catalog framing (the manager's `cluster.db`
/// uses it too): `None` if it does not exist.
pub fn read_named(dir: &Path, name: &str) -> Result<Option<(u64, Vec<u8>)>, CatalogError> {
    let path = dir.join(name);
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CatalogError::io("open", &path)(e)),
    };
    let len = file
        .metadata()
        .map_err(CatalogError::io("stat", &path))?
        .len();
    // Refuse before allocating: no valid catalog is larger than this.
    let max = (HEADER_LEN + TRAILER_LEN) as u64 + u64::from(u32::MAX);
    if len > max {
        let why = format!("{len} bytes, larger than any catalog file can be");
        return Err(CatalogError::Corrupt { path, why });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.read_to_end(&mut bytes)
        .map_err(CatalogError::io("read", &path))?;
    match decode(&bytes) {
        Ok((generation, body)) => Ok(Some((generation, body.to_vec()))),
        Err(why) => Err(CatalogError::Corrupt { path, why }),
    }
}

/// Removes a leftover `catalog.db.tmp`: a write that crashed before its rename, which by
/// construction never became the catalog. Failure only costs a warning, because the next
/// write truncates the file anyway.
pub fn remove_leftover(dir: &Path) {
    let tmp = dir.join(TMP_NAME);
    match fs::remove_file(&tmp) {
        Ok(()) => log::warn!(
            "removed {}, left over by an interrupted catalog write",
            tmp.display()
        ),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => log::warn!("cannot remove leftover {}: {e}", tmp.display()),
    }
}

/// Atomically replaces `dir/catalog.db` with generation `generation` of `body`: write the tmp
/// file, fsync it, rename it over the catalog, fsync the directory. On success the new
/// catalog is durable. On error the old catalog is still in place unless only the final
/// directory fsync failed, in which case either version may survive a crash.
pub fn write(dir: &Path, generation: u64, body: &[u8]) -> Result<(), CatalogError> {
    write_named(dir, FILE_NAME, generation, body)
}

/// [`write`] for another file in the same framing: `dir/name`, through `dir/name.tmp`.
pub fn write_named(
    dir: &Path,
    name: &str,
    generation: u64,
    body: &[u8],
) -> Result<(), CatalogError> {
    let bytes = encode(generation, body)?;
    let tmp = dir.join(format!("{name}.tmp"));
    let path = dir.join(name);
    let replaced = write_synced(&tmp, &bytes)
        .and_then(|()| fs::rename(&tmp, &path).map_err(CatalogError::io(if name == FILE_NAME { "rename over catalog.db" } else { "rename over cluster.db" }, &tmp)));
    if let Err(e) = replaced {
        // Best effort: a stale tmp is harmless (ignored at open, truncated by the next write).
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(dir)
}

fn write_synced(path: &PathBuf, bytes: &[u8]) -> Result<(), CatalogError> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    // The catalog holds secrets in clear: readable by the server's user only.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(CatalogError::io("create", path))?;
    file.write_all(bytes)
        .map_err(CatalogError::io("write", path))?;
    file.sync_all().map_err(CatalogError::io("fsync", path))
}

/// Fsyncs a directory so that a rename (or creation) inside it is durable.
pub fn sync_dir(dir: &Path) -> Result<(), CatalogError> {
    let handle = File::open(dir).map_err(CatalogError::io("open directory", dir))?;
    handle
        .sync_all()
        .map_err(CatalogError::io("fsync directory", dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encode_decode_round_trip() {
        let bytes = encode(7, b"{\"users\":[]}").unwrap();
        assert_eq!(bytes.len(), HEADER_LEN + 12 + TRAILER_LEN);
        assert_eq!(&bytes[..8], b"LEOFSCAT");
        assert_eq!(decode(&bytes).unwrap(), (7, &b"{\"users\":[]}"[..]));
        assert_eq!(decode(&encode(0, b"").unwrap()).unwrap(), (0, &b""[..]));
    }

    #[test]
    fn every_single_byte_flip_and_truncation_is_detected() {
        let bytes = encode(3, b"{\"users\":[],\"keys\":[],\"buckets\":[]}").unwrap();
        for i in 0..bytes.len() {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut bad = bytes.clone();
                bad[i] ^= mask;
                assert!(
                    decode(&bad).is_err(),
                    "flip {mask:#x} at byte {i} undetected"
                );
            }
        }
        for len in 0..bytes.len() {
            assert!(
                decode(&bytes[..len]).is_err(),
                "truncation to {len} undetected"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).unwrap_err().contains("unexpected bytes"));
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn decode_never_panics_on_a_valid_header(len in any::<u32>(), tail in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut bytes = encode(1, b"").unwrap();
            bytes[12..16].copy_from_slice(&len.to_le_bytes());
            let sum = xxh3_64(&bytes[..24]);
            bytes[24..32].copy_from_slice(&sum.to_le_bytes());
            bytes.truncate(HEADER_LEN);
            bytes.extend_from_slice(&tail);
            let _ = decode(&bytes);
        }
    }
}

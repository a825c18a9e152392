//! `node.meta` in the data directory (docs/format.md, "Node manifest"): the shard count a
//! data directory was created with. Keys are spread over shards by it, so a restart with a
//! different count would look for objects on the wrong shard: refused with a clear error.

use std::path::Path;
use xxhash_rust::xxh3::xxh3_64;

const MAGIC: &[u8; 8] = b"LEOFSNOD";
const VERSION: u16 = 1;
pub const FILE: &str = "node.meta";

fn encode(shards: u16, created_ms: u64) -> [u8; 32] {
    let mut b = [0u8; 32];
    b[0..8].copy_from_slice(MAGIC);
    b[8..10].copy_from_slice(&VERSION.to_le_bytes());
    b[10..12].copy_from_slice(&shards.to_le_bytes());
    b[16..24].copy_from_slice(&created_ms.to_le_bytes());
    let sum = xxh3_64(&b[0..24]);
    b[24..32].copy_from_slice(&sum.to_le_bytes());
    b
}

fn decode(b: &[u8]) -> Result<u16, String> {
    if b.len() != 32 || &b[0..8] != MAGIC {
        return Err("not a leofs node manifest".into());
    }
    if b[8..10] != VERSION.to_le_bytes() {
        return Err("unknown node manifest version".into());
    }
    let sum = u64::from_le_bytes(b[24..32].try_into().map_err(|_| "short")?);
    if xxh3_64(&b[0..24]) != sum {
        return Err("node manifest checksum mismatch".into());
    }
    Ok(u16::from_le_bytes([b[10], b[11]]))
}

/// Creates the manifest on first start; afterwards checks the shard count matches.
pub fn check_or_create(dir: &Path, shards: usize) -> Result<(), String> {
    let path = dir.join(FILE);
    match std::fs::read(&path) {
        Ok(b) => {
            let have = decode(&b).map_err(|e| format!("{}: {e}", path.display()))?;
            if have as usize != shards {
                return Err(format!(
                    "data directory {} was created with {have} shards; restart with --shards {have} (changing the shard count of existing data is not supported)",
                    dir.display()
                ));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
            let tmp = dir.join("node.meta.tmp");
            let io = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
            std::fs::write(&tmp, encode(shards as u16, now)).map_err(io)?;
            std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(io)?;
            std::fs::rename(&tmp, &path).map_err(io)?;
            leofs_rt::fs::sync_dir(dir).map_err(io)
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn roundtrip_and_corruption() {
        let b = encode(7, 123);
        assert_eq!(decode(&b), Ok(7));
        for i in 0..32 {
            let mut c = b;
            c[i] ^= 1;
            assert!(decode(&c).is_err(), "byte {i}");
        }
    }
}

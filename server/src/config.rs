//! Resolved server configuration: flags and `LEOFS_*` variables, then the TOML file, then
//! defaults. Errors name the file, line and field.

use crate::cli::ServerArgs;
use leofs_engine::Durability;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The TOML file: every key optional, unknown keys rejected (a typo must not be ignored).
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub shards: Option<usize>,
    pub durability: Option<String>,
    pub segment_mib: Option<u64>,
    /// Read cache of small objects, MiB for all shards together.
    pub cache_mib: Option<u64>,
    pub domain: Option<String>,
    pub region: Option<String>,
    pub allow_buffered_io: Option<bool>,
    pub idle_timeout_ms: Option<u64>,
    pub max_object_mib: Option<u64>,
    /// Objects larger than this are stored as chunks of this size (MiB).
    pub chunk_mib: Option<u64>,
    /// Largest single PUT (MiB); larger bodies are refused with EntityTooLarge.
    pub max_put_mib: Option<u64>,
    pub multipart_expiry_secs: Option<u64>,
    pub admin_listen: Option<String>,
    pub read_timeout_ms: Option<u64>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Cluster roles: this node's id, the manager's RPC address, the RPC listener
    /// (storage), zone and weight (storage).
    pub node_id: Option<String>,
    pub manager: Option<String>,
    pub rpc_listen: Option<String>,
    pub zone: Option<String>,
    pub weight: Option<u32>,
    pub scrub_mib_per_sec: Option<u64>,
    pub scrub_pause_ms: Option<u64>,
    pub repair_mib_per_sec: Option<u64>,
    pub rebalance_mib_per_sec: Option<u64>,
    pub tombstone_grace_secs: Option<u64>,
}

/// Repair and rebuild traffic one core sends per second by default: a rebuild is urgent
/// (a replica is missing) and the disk takes far more than two cores can send
/// (docs/BENCHMARKS.md, issue 7).
pub const DEFAULT_REPAIR_MIB_PER_SEC: u64 = 1024;
/// A rebalance's hand-over is not urgent: clients' latency comes first (8 MiB/s per core
/// keeps 4 KiB GET p99 within 2.4x of its value at rest; docs/BENCHMARKS.md).
pub const DEFAULT_REBALANCE_MIB_PER_SEC: u64 = 8;

/// A storage node keeps tombstones a week: a replica down for less than that learns of
/// the deletes it missed (repair queues, anti-entropy); one down longer is rebuilt with
/// `recover-node` after a wipe, or deleted objects may come back.
pub const DEFAULT_TOMBSTONE_GRACE_SECS: u64 = 7 * 24 * 3600;

/// What a storage node or gateway needs to join a cluster.
#[derive(Clone, Debug)]
pub struct ClusterCfg {
    pub node_id: String,
    pub manager: SocketAddr,
    /// Shard 0's RPC listener; shard `s` listens on its port + `s`.
    pub rpc_listen: SocketAddr,
    pub zone: String,
    pub weight: u32,
    /// Background scrub's read rate (0: off), and the pause between passes.
    pub scrub_bytes_per_sec: u64,
    pub scrub_pause_ms: u64,
    /// What one core's repair queue may send per second: repairs and rebuilds
    /// (`recover-node`), and the hand-over of a rebalance (0: unbounded).
    pub repair_bytes_per_sec: u64,
    pub rebalance_bytes_per_sec: u64,
    /// How long compaction keeps a tombstone (engine `tombstone_grace_secs`).
    pub tombstone_grace_secs: u64,
}

#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    pub data_dir: PathBuf,
    pub shards: usize,
    pub durability: Durability,
    pub segment_size: u64,
    /// Read cache of small objects, bytes for all shards together (0: off).
    pub cache_bytes: u64,
    pub domain: Option<String>,
    pub region: String,
    pub allow_buffered_io: bool,
    pub idle_timeout_ms: u64,
    /// Slow-client limit: a request head or body must keep arriving at this pace.
    pub read_timeout_ms: u64,
    /// Largest single record: a multipart part, a copy source, an object stored whole.
    pub max_object_bytes: u64,
    /// Chunk size of large objects: a single PUT above it is split into chunks of this size
    /// (LeoFS's 5 MiB by default; never above `max_object_bytes`).
    pub chunk_bytes: u64,
    /// Largest single PUT (S3's 5 GiB by default).
    pub max_put_bytes: u64,
    /// Multipart uploads not completed this long after they began are aborted (0: never).
    pub multipart_expiry_secs: u64,
    /// (certificate, key) PEM files when serving HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub root_access_key: Option<String>,
    pub root_secret_key: Option<String>,
    pub cluster: Option<ClusterCfg>,
}

/// The read cache of small objects, MiB for all shards together.
pub const DEFAULT_CACHE_MIB: u64 = 256;
/// Default chunk size of large objects, as LeoFS (`large_object.chunked_obj_len`).
pub const DEFAULT_CHUNK_MIB: u64 = 5;
/// S3's single-PUT limit, 5 GiB: the default and the most `max_put_mib` allows.
pub const MAX_PUT_MIB: u64 = 5 << 10;

/// What the S3 gateway needs of the object-size settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectLimits {
    pub max_object_bytes: u64,
    pub chunk_bytes: u64,
    pub max_put_bytes: u64,
}

impl ObjectLimits {
    /// The defaults for a record limit of `max_object_bytes`.
    pub fn defaults(max_object_bytes: u64) -> ObjectLimits {
        ObjectLimits { max_object_bytes, chunk_bytes: (DEFAULT_CHUNK_MIB << 20).min(max_object_bytes), max_put_bytes: MAX_PUT_MIB << 20 }
    }
}

pub fn load_file(path: &Path) -> Result<FileConfig, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
    parse_file(&text).map_err(|e| format!("bad config file {}: {e}", path.display()))
}

pub fn parse_file(text: &str) -> Result<FileConfig, String> {
    toml::from_str(text).map_err(|e| e.to_string())
}

impl ServerConfig {
    pub fn resolve(args: &ServerArgs) -> Result<ServerConfig, String> {
        Self::resolve_as(args, None, "127.0.0.1:8080", "127.0.0.1:8081", "./leofs-data")
    }

    /// Resolves a cluster role's configuration: `node` carries its cluster flags (none for
    /// the manager), the defaults are the role's.
    pub fn resolve_as(args: &ServerArgs, node: Option<&crate::cli::NodeArgs>, listen_default: &str, admin_default: &str, dir_default: &str) -> Result<ServerConfig, String> {
        let file = match &args.config {
            Some(p) => load_file(p)?,
            None => FileConfig::default(),
        };
        let cluster = match node {
            None => None,
            Some(n) => {
                let node_id = n.node_id.clone().or(file.node_id.clone()).ok_or("a cluster node needs --node-id (or node_id in its config file)")?;
                let manager_s = n.manager.clone().or(file.manager.clone()).unwrap_or_else(|| "127.0.0.1:13075".into());
                let manager = manager_s.parse().map_err(|e| format!("manager address {manager_s:?}: {e}"))?;
                let rpc_s = n.rpc_listen.clone().or(file.rpc_listen.clone()).unwrap_or_else(|| "127.0.0.1:13077".into());
                let rpc_listen = rpc_s.parse().map_err(|e| format!("RPC listen address {rpc_s:?}: {e}"))?;
                let weight = n.weight.or(file.weight).unwrap_or(leofs_control::cluster::DEFAULT_WEIGHT);
                if !(1..=4096).contains(&weight) {
                    return Err(format!("weight must be between 1 and 4096, not {weight}"));
                }
                let scrub_bytes_per_sec = n.scrub_mib_per_sec.or(file.scrub_mib_per_sec).unwrap_or(8) << 20;
                let scrub_pause_ms = n.scrub_pause_ms.or(file.scrub_pause_ms).unwrap_or(3_600_000);
                let repair_bytes_per_sec = n.repair_mib_per_sec.or(file.repair_mib_per_sec).unwrap_or(DEFAULT_REPAIR_MIB_PER_SEC) << 20;
                let rebalance_bytes_per_sec = n.rebalance_mib_per_sec.or(file.rebalance_mib_per_sec).unwrap_or(DEFAULT_REBALANCE_MIB_PER_SEC) << 20;
                let zone = n.zone.clone().or(file.zone.clone()).unwrap_or_default();
                let tombstone_grace_secs = n.tombstone_grace_secs.or(file.tombstone_grace_secs).unwrap_or(DEFAULT_TOMBSTONE_GRACE_SECS);
                Some(ClusterCfg { node_id, manager, rpc_listen, zone, weight, scrub_bytes_per_sec, scrub_pause_ms, repair_bytes_per_sec, rebalance_bytes_per_sec, tombstone_grace_secs })
            }
        };
        let listen_s = args.listen.clone().or(file.listen).unwrap_or_else(|| listen_default.into());
        let listen = listen_s.parse().map_err(|e| format!("listen address {listen_s:?}: {e}"))?;
        let admin_s = args.admin_listen.clone().or(file.admin_listen).unwrap_or_else(|| admin_default.into());
        let admin_listen = admin_s.parse().map_err(|e| format!("admin listen address {admin_s:?}: {e}"))?;
        let durability = match args.durability.clone().or(file.durability).as_deref() {
            None | Some("fsync") => Durability::Fsync,
            Some("none") => Durability::None,
            Some(other) => return Err(format!("durability must be `fsync` or `none`, not {other:?}")),
        };
        let shards = args.shards.or(file.shards).unwrap_or_else(leofs_rt::runtime::available_cores);
        if shards == 0 || shards > 256 {
            return Err(format!("shards must be between 1 and 256, not {shards}"));
        }
        let segment_mib = args.segment_mib.or(file.segment_mib).unwrap_or(1024);
        if !(4..=4095).contains(&segment_mib) {
            return Err(format!("segment_mib must be between 4 and 4095, not {segment_mib}"));
        }
        let cache_mib = args.cache_mib.or(file.cache_mib).unwrap_or(DEFAULT_CACHE_MIB);
        if cache_mib > 1 << 20 {
            return Err(format!("cache_mib must be at most {} (1 TiB), not {cache_mib}", 1u64 << 20));
        }
        let max_object_mib = file.max_object_mib.unwrap_or(64).min(segment_mib / 2).max(1);
        let chunk_mib = file.chunk_mib.unwrap_or(DEFAULT_CHUNK_MIB);
        if chunk_mib == 0 {
            return Err("chunk_mib must be at least 1".into());
        }
        // A chunk is one record: like the largest object, it must fit a segment.
        let chunk_mib = chunk_mib.min(max_object_mib);
        let max_put_mib = file.max_put_mib.unwrap_or(MAX_PUT_MIB);
        if !(1..=MAX_PUT_MIB).contains(&max_put_mib) {
            return Err(format!("max_put_mib must be between 1 and {MAX_PUT_MIB} (S3's 5 GiB), not {max_put_mib}"));
        }
        let tls = match (args.tls_cert.clone().or(file.tls_cert), args.tls_key.clone().or(file.tls_key)) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => return Err("--tls-cert and --tls-key go together".into()),
        };
        let cfg = ServerConfig {
            tls,
            listen,
            admin_listen,
            data_dir: args.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from(dir_default)),
            shards,
            durability,
            segment_size: segment_mib << 20,
            cache_bytes: cache_mib << 20,
            domain: args.domain.clone().or(file.domain),
            region: args.region.clone().or(file.region).unwrap_or_else(|| "us-east-1".into()),
            allow_buffered_io: args.allow_buffered_io || file.allow_buffered_io.unwrap_or(false),
            idle_timeout_ms: args.idle_timeout_ms.or(file.idle_timeout_ms).unwrap_or(60_000),
            read_timeout_ms: args.read_timeout_ms.or(file.read_timeout_ms).unwrap_or(30_000),
            max_object_bytes: max_object_mib << 20,
            chunk_bytes: chunk_mib << 20,
            max_put_bytes: max_put_mib << 20,
            multipart_expiry_secs: file.multipart_expiry_secs.unwrap_or(7 * 24 * 3600),
            root_access_key: std::env::var("LEOFS_ROOT_ACCESS_KEY").ok().filter(|s| !s.is_empty()),
            root_secret_key: std::env::var("LEOFS_ROOT_SECRET_KEY").ok().filter(|s| !s.is_empty()),
            cluster,
        };
        Ok(cfg)
    }

    pub fn object_limits(&self) -> ObjectLimits {
        ObjectLimits { max_object_bytes: self.max_object_bytes, chunk_bytes: self.chunk_bytes, max_put_bytes: self.max_put_bytes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_field_is_named_with_its_line() {
        let e = parse_file("listen = \"127.0.0.1:9000\"\nshardz = 3\n").unwrap_err();
        assert!(e.contains("shardz") && e.contains("line 2"), "{e}");
    }

    #[test]
    fn wrong_type_is_named() {
        let e = parse_file("shards = \"many\"\n").unwrap_err();
        assert!(e.contains("shards"), "{e}");
    }

    #[test]
    fn flags_beat_file_and_defaults_apply() {
        let args = ServerArgs { shards: Some(3), durability: Some("none".into()), ..Default::default() };
        let c = ServerConfig::resolve(&args).unwrap();
        assert_eq!(c.shards, 3);
        assert_eq!(c.durability, Durability::None);
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        let bad = ServerArgs { durability: Some("sometimes".into()), ..Default::default() };
        assert!(ServerConfig::resolve(&bad).unwrap_err().contains("durability"));
    }

    #[test]
    fn object_size_limits() {
        let c = ServerConfig::resolve(&ServerArgs::default()).unwrap();
        assert_eq!((c.max_object_bytes, c.chunk_bytes, c.max_put_bytes), (64 << 20, 5 << 20, 5 << 30));
        let dir = std::env::temp_dir().join(format!("leofs-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let with = |text: &str, segment_mib: Option<u64>| {
            let p = dir.join("c.toml");
            std::fs::write(&p, text).unwrap();
            ServerConfig::resolve(&ServerArgs { config: Some(p), segment_mib, ..Default::default() })
        };
        let c = with("chunk_mib = 2\nmax_put_mib = 100\n", None).unwrap();
        assert_eq!((c.chunk_bytes, c.max_put_bytes), (2 << 20, 100 << 20));
        // A chunk is a record: never larger than the record limit (half a segment here).
        let c = with("chunk_mib = 16\n", Some(8)).unwrap();
        assert_eq!((c.max_object_bytes, c.chunk_bytes), (4 << 20, 4 << 20));
        assert!(with("chunk_mib = 0\n", None).unwrap_err().contains("chunk_mib"));
        assert!(with("max_put_mib = 6000\n", None).unwrap_err().contains("max_put_mib"));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(ObjectLimits::defaults(4 << 20).chunk_bytes, 4 << 20);
    }

    #[test]
    fn repair_and_rebalance_rates() {
        let node = |repair, rebalance| crate::cli::NodeArgs { node_id: Some("s1".into()), repair_mib_per_sec: repair, rebalance_mib_per_sec: rebalance, ..Default::default() };
        let rates = |n: &crate::cli::NodeArgs| {
            let c = ServerConfig::resolve_as(&n.server, Some(n), "127.0.0.1:0", "127.0.0.1:0", "./d").unwrap().cluster.unwrap();
            (c.repair_bytes_per_sec, c.rebalance_bytes_per_sec)
        };
        assert_eq!(rates(&node(None, None)), (DEFAULT_REPAIR_MIB_PER_SEC << 20, DEFAULT_REBALANCE_MIB_PER_SEC << 20));
        assert_eq!(rates(&node(Some(0), Some(32))), (0, 32 << 20));
        assert!(parse_file("repair_mib_per_sec = 100\nrebalance_mib_per_sec = 4\ntombstone_grace_secs = 60\n").is_ok());
        let c = ServerConfig::resolve_as(&ServerArgs::default(), Some(&node(None, None)), "127.0.0.1:0", "127.0.0.1:0", "./d").unwrap();
        assert_eq!(c.cluster.unwrap().tombstone_grace_secs, DEFAULT_TOMBSTONE_GRACE_SECS);
    }
}

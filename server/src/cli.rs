//! Command-line flags. Each subcommand is one struct; every flag also reads a `LEOFS_*`
//! environment variable, and `--config FILE` (TOML) fills what neither sets.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "leofs", version, about = "leofs: an S3-compatible object store (LeoFS rebuilt in Rust)")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run gateway + storage + catalog in one process (the embedded single-node default).
    Server(ServerArgs),
    /// Run a cluster's manager: members, RING, node health, users and buckets
    /// (--listen is where nodes join [default: 127.0.0.1:13075]; admin API [default:
    /// 127.0.0.1:13076]; data [default: ./leofs-manager]).
    Manager(ServerArgs),
    /// Run a storage node of a cluster: one shard per core, serving other nodes over RPC.
    Storage(NodeArgs),
    /// Run an S3 gateway of a cluster: routes requests to storage nodes over the RING.
    Gateway(NodeArgs),
}

/// Flags of `leofs storage` and `leofs gateway`: the server's, plus how to join.
#[derive(Args, Debug, Default, Clone)]
pub struct NodeArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// This node's id in the cluster (1-64 of [A-Za-z0-9._-]), stable across restarts.
    #[arg(long, env = "LEOFS_NODE_ID")]
    pub node_id: Option<String>,
    /// The manager's RPC address [default: 127.0.0.1:13075].
    #[arg(long, env = "LEOFS_MANAGER")]
    pub manager: Option<String>,
    /// Storage: shard 0's RPC listener; shard s listens on port + s [default: 127.0.0.1:13077].
    #[arg(long, env = "LEOFS_RPC_LISTEN")]
    pub rpc_listen: Option<String>,
    /// Storage: zone or rack, for placing replicas in distinct zones.
    #[arg(long, env = "LEOFS_ZONE")]
    pub zone: Option<String>,
    /// Storage: virtual nodes on the RING (capacity weight) [default: 168].
    #[arg(long, env = "LEOFS_WEIGHT")]
    pub weight: Option<u32>,
    /// Storage: background scrub's read rate in MiB/s, 0 to turn it off [default: 8].
    #[arg(long, env = "LEOFS_SCRUB_MIB_PER_SEC")]
    pub scrub_mib_per_sec: Option<u64>,
    /// Storage: pause between two scrub passes, in ms [default: 3600000].
    #[arg(long, env = "LEOFS_SCRUB_PAUSE_MS")]
    pub scrub_pause_ms: Option<u64>,
    /// Storage: what one core may send per second to repair or rebuild replicas
    /// (`recover-node`), in MiB/s, 0 for no bound [default: 1024].
    #[arg(long, env = "LEOFS_REPAIR_MIB_PER_SEC")]
    pub repair_mib_per_sec: Option<u64>,
    /// Storage: what one core may send per second to new owners during a rebalance, in
    /// MiB/s, 0 for no bound [default: 8].
    #[arg(long, env = "LEOFS_REBALANCE_MIB_PER_SEC")]
    pub rebalance_mib_per_sec: Option<u64>,
    /// Storage: how long compaction keeps a tombstone, in seconds, so that a replica that
    /// missed a delete learns it [default: 604800, a week].
    #[arg(long, env = "LEOFS_TOMBSTONE_GRACE_SECS")]
    pub tombstone_grace_secs: Option<u64>,
}

/// Flags of `leofs server`. Unset flags fall back to the config file, then to defaults.
#[derive(Args, Debug, Default, Clone)]
pub struct ServerArgs {
    /// TOML configuration file (see README "Configuration").
    #[arg(long, env = "LEOFS_CONFIG")]
    pub config: Option<PathBuf>,
    /// S3 listen address [default: 127.0.0.1:8080].
    #[arg(long, env = "LEOFS_LISTEN")]
    pub listen: Option<String>,
    /// Data directory [default: ./leofs-data].
    #[arg(long, env = "LEOFS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Number of shards, one per core [default: number of CPUs].
    #[arg(long, env = "LEOFS_SHARDS")]
    pub shards: Option<usize>,
    /// When a PUT is acknowledged: `fsync` (durable, default) or `none`.
    #[arg(long, env = "LEOFS_DURABILITY")]
    pub durability: Option<String>,
    /// Size of each preallocated log segment in MiB [default: 1024].
    #[arg(long, env = "LEOFS_SEGMENT_MIB")]
    pub segment_mib: Option<u64>,
    /// RAM for the read cache of small objects (bodies up to 64 KiB), in MiB, shared by
    /// the shards; 0 turns it off [default: 256].
    #[arg(long, env = "LEOFS_CACHE_MIB")]
    pub cache_mib: Option<u64>,
    /// Domain for virtual-hosted-style requests (`bucket.<domain>`).
    #[arg(long, env = "LEOFS_DOMAIN")]
    pub domain: Option<String>,
    /// Region reported by GetBucketLocation and accepted in signatures [default: us-east-1].
    #[arg(long, env = "LEOFS_REGION")]
    pub region: Option<String>,
    /// Allow buffered I/O where the data dir's filesystem lacks O_DIRECT (e.g. tmpfs).
    #[arg(long, env = "LEOFS_ALLOW_BUFFERED_IO")]
    pub allow_buffered_io: bool,
    /// Admin listener (leofs-adm API; loopback only unless you firewall it) [default: 127.0.0.1:8081].
    #[arg(long, env = "LEOFS_ADMIN_LISTEN")]
    pub admin_listen: Option<String>,
    /// Close a keep-alive connection idle this long [default: 60000].
    #[arg(long, env = "LEOFS_IDLE_TIMEOUT_MS")]
    pub idle_timeout_ms: Option<u64>,
    /// PEM certificate chain: serve S3 over HTTPS (needs --tls-key).
    #[arg(long, env = "LEOFS_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "LEOFS_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Slow-client limit: each read of a request head or body must arrive within this
    /// [default: 30000].
    #[arg(long, env = "LEOFS_READ_TIMEOUT_MS")]
    pub read_timeout_ms: Option<u64>,
}

//! The `leofs` binary's library: flags, configuration, and the single-process server
//! (`leofs server`): per-core shards, the HTTP/1.1 connection loop and the S3 gateway.

pub mod admin;
pub mod backend;
pub mod balance;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod conn;
pub mod gateway;
pub mod manifest;
pub mod metrics;
pub mod node;
pub mod shard;

use cli::{Cli, Command};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), String> {
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).try_init();
    match cli.command {
        Command::Server(args) => node::run(config::ServerConfig::resolve(&args)?, node::Role::Server),
        Command::Manager(args) => cluster::manager::run(config::ServerConfig::resolve_as(&args, None, "127.0.0.1:13075", "127.0.0.1:13076", "./leofs-manager")?),
        Command::Storage(n) => node::run(config::ServerConfig::resolve_as(&n.server, Some(&n), "127.0.0.1:0", "127.0.0.1:13078", "./leofs-storage")?, node::Role::Storage),
        Command::Gateway(n) => node::run(config::ServerConfig::resolve_as(&n.server, Some(&n), "127.0.0.1:8080", "127.0.0.1:8081", "./leofs-gateway")?, node::Role::Gateway),
    }
}

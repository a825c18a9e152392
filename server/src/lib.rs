//! The `leofs` binary's library: flags, configuration, and the single-process server
//! (`leofs server`): per-core shards, the HTTP/1.1 connection loop and the S3 gateway.

pub mod admin;
pub mod cli;
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
        Command::Server(args) => node::run(config::ServerConfig::resolve(&args)?),
    }
}

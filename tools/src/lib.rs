//! leofs operator tools. `leofs-adm` manages users, access keys and buckets of a running
//! `leofs server` through its admin API (`--admin-listen`, default `127.0.0.1:8081`), with
//! LeoFS's `leofs-adm` command names and output style.
//!
//! The binary only parses the command line and calls [`run`]; everything else lives here
//! so it can be unit-tested.

pub mod client;
pub mod commands;
pub mod table;

use clap::{Parser, Subcommand};
use client::{Api, DEFAULT_ENDPOINT};
use commands::{AddBucket, CreateUser, DeleteUser, GetBuckets, GetUsers, Status, UpdateAcl};
use std::fmt;
use std::io::Write;

/// `leofs-adm` command line.
#[derive(Parser, Debug)]
#[command(
    name = "leofs-adm",
    version,
    about = "Manage users, access keys and buckets of a running leofs server",
    after_help = "The admin API is served by `leofs server` on --admin-listen (loopback by default)."
)]
pub struct Cli {
    /// Admin API of the leofs server (its --admin-listen address).
    #[arg(long, short = 'e', env = "LEOFS_ADMIN_ENDPOINT", default_value = DEFAULT_ENDPOINT, global = true)]
    pub endpoint: String,
    #[command(subcommand)]
    pub command: Command,
}

/// The commands, named as in LeoFS's `leofs-adm`.
#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum Command {
    CreateUser(CreateUser),
    GetUsers(GetUsers),
    DeleteUser(DeleteUser),
    AddBucket(AddBucket),
    GetBuckets(GetBuckets),
    UpdateAcl(UpdateAcl),
    Status(Status),
}

/// A failed command, worded for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    pub fn new(message: impl Into<String>) -> Error {
        Error(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error(format!("cannot write the output: {e}"))
    }
}

/// Runs a parsed command line, printing the result to `out`.
pub fn run(cli: &Cli, out: &mut dyn Write) -> Result<(), Error> {
    let api = Api::new(&cli.endpoint)?;
    match &cli.command {
        Command::CreateUser(c) => c.run(&api, out),
        Command::GetUsers(c) => c.run(&api, out),
        Command::DeleteUser(c) => c.run(&api, out),
        Command::AddBucket(c) => c.run(&api, out),
        Command::GetBuckets(c) => c.run(&api, out),
        Command::UpdateAcl(c) => c.run(&api, out),
        Command::Status(c) => c.run(&api, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commands::CannedAcl;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("leofs-adm").chain(args.iter().copied()))
    }

    #[test]
    fn commands_parse_like_leofs_adm() {
        let cli = parse(&["create-user", "alice", "pw"]).unwrap();
        assert_eq!(cli.command, Command::CreateUser(CreateUser { user_id: "alice".into(), password: Some("pw".into()) }));
        let cli = parse(&["update-acl", "photos", "KEY", "public-read"]).unwrap();
        let expected = UpdateAcl { bucket: "photos".into(), access_key_id: "KEY".into(), acl: CannedAcl::PublicRead };
        assert_eq!(cli.command, Command::UpdateAcl(expected));
        let cli = parse(&["add-bucket", "photos", "KEY", "--endpoint", "10.0.0.1:9"]).unwrap();
        assert_eq!(cli.endpoint, "10.0.0.1:9");
        assert_eq!(cli.command, Command::AddBucket(AddBucket { bucket: "photos".into(), access_key_id: "KEY".into() }));
        for cmd in ["get-users", "get-buckets", "status"] {
            assert!(parse(&[cmd]).is_ok(), "{cmd}");
        }
    }

    #[test]
    fn bad_command_lines_are_refused() {
        assert!(parse(&["update-acl", "photos", "KEY", "authenticated-read"]).is_err());
        assert!(parse(&["add-bucket", "photos"]).is_err());
        assert!(parse(&["delete-user"]).is_err());
        assert!(parse(&["no-such-command"]).is_err());
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn the_endpoint_defaults_to_the_local_admin_port() {
        // Skip when the environment chooses another endpoint: clap reads it.
        if std::env::var_os("LEOFS_ADMIN_ENDPOINT").is_none() {
            assert_eq!(parse(&["status"]).unwrap().endpoint, DEFAULT_ENDPOINT);
        }
    }
}

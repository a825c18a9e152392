//! leofs operator tools. `leofs-adm` manages users, access keys and buckets of a running
//! `leofs server` through its admin API (`--admin-listen`, default `127.0.0.1:8081`), and a
//! cluster through its manager's admin API (`leofs manager`, default `127.0.0.1:13076`), with
//! LeoFS's `leofs-adm` command names and output style. `--json` prints the API's replies.
//!
//! The binary only parses the command line and calls [`run`]; everything else lives here
//! so it can be unit-tested.

pub mod client;
pub mod cluster_cmds;
pub mod commands;
pub mod ops_cmds;
pub mod table;

use clap::{Parser, Subcommand};
use client::{Api, DEFAULT_ENDPOINT};
use cluster_cmds::{DumpRing, MqStats, Resume, Start, Status, Suspend, UpdateConsistencyLevel, UpdateLogLevel, Version, WhereIs};
use commands::{AddBucket, ChownBucket, CreateUser, DeleteBucket, DeleteUser, GetBucket, GetBuckets, GetUsers, ImportUser, UpdateAcl, UpdateUserRole};
use std::fmt;
use std::io::Write;

/// `leofs-adm` command line.
#[derive(Parser, Debug)]
#[command(
    name = "leofs-adm",
    version,
    about = "Manage users, access keys, buckets and the cluster of a running leofs",
    after_help = "The admin API is served by `leofs server` on --admin-listen (loopback by default), and for a \
                  cluster by `leofs manager` (default 127.0.0.1:13076). Cluster commands need the manager's."
)]
pub struct Cli {
    /// Admin API of the leofs server or cluster manager (its --admin-listen address).
    #[arg(long, short = 'e', env = "LEOFS_ADMIN_ENDPOINT", default_value = DEFAULT_ENDPOINT, global = true)]
    pub endpoint: String,
    /// Print the admin API's JSON reply instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// An admin user's access key id (the cluster manager's admin API requires one).
    #[arg(long, env = "LEOFS_ADMIN_ACCESS_KEY", global = true)]
    pub access_key: Option<String>,
    /// That access key's secret.
    #[arg(long, env = "LEOFS_ADMIN_SECRET_KEY", global = true, hide_env_values = true)]
    pub secret_key: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// The commands, named as in LeoFS's `leofs-adm`.
#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum Command {
    CreateUser(CreateUser),
    ImportUser(ImportUser),
    GetUsers(GetUsers),
    DeleteUser(DeleteUser),
    UpdateUserRole(UpdateUserRole),
    AddBucket(AddBucket),
    GetBucket(GetBucket),
    GetBuckets(GetBuckets),
    DeleteBucket(DeleteBucket),
    ChownBucket(ChownBucket),
    UpdateAcl(UpdateAcl),
    Status(Status),
    Version(Version),
    #[command(name = "whereis")]
    WhereIs(WhereIs),
    Start(Start),
    Suspend(Suspend),
    Resume(Resume),
    DumpRing(DumpRing),
    UpdateConsistencyLevel(UpdateConsistencyLevel),
    MqStats(MqStats),
    UpdateLogLevel(UpdateLogLevel),
    /// Rebuild a storage node from its peers (after its disks were replaced or wiped): it
    /// compares digests with every peer and fetches what it lacks; progress in `du <node>`.
    RecoverNode(ops_cmds::NodeArg),
    /// Compare a storage node's replicas with its peers' and repair what differs, both ways.
    RecoverConsistency(ops_cmds::NodeArg),
    /// Repair one object: the replica with the newest version sends it to the others.
    RecoverFile(ops_cmds::RecoverFile),
    /// Send the current RING to a node again.
    RecoverRing(ops_cmds::NodeArg),
    /// Stop delivering a storage node's queued repairs.
    MqSuspend(ops_cmds::NodeArg),
    /// Deliver a storage node's queued repairs again.
    MqResume(ops_cmds::NodeArg),
    /// Compact a storage node now: every segment with garbage.
    CompactStart(ops_cmds::Compact),
    /// Pause a storage node's compaction (automatic passes included).
    CompactSuspend(ops_cmds::NodeArg),
    /// Let a storage node's compaction run again.
    CompactResume(ops_cmds::NodeArg),
    /// A storage node's compaction state and space per shard.
    CompactStatus(ops_cmds::NodeArg),
    /// Space use of a storage node per shard: `du [detail] <node>`.
    Du(ops_cmds::Du),
    /// Mark a storage node to leave the RING at the next rebalance.
    Detach(ops_cmds::NodeArg),
    /// Undo a detach whose rebalance has not begun.
    Rollback(ops_cmds::NodeArg),
    /// Move data to the next RING (attached nodes in, detached ones out), with a progress bar.
    Rebalance(ops_cmds::Rebalance),
    /// Replace a node by one that joined as attached: `takeover <old> <new>`.
    Takeover(ops_cmds::Takeover),
    /// Verify every record of a storage node now (a scrub pass); findings in `du`.
    DiagnoseStart(ops_cmds::NodeArg),
    /// Progress of background bucket deletions (cluster `delete-bucket`).
    DeleteBucketStats(ops_cmds::DeleteBucketStats),
}

/// A failed command, worded for the operator. An error the admin API answered also keeps
/// its HTTP status and error code, so a command can tell "no such endpoint" (a server
/// without the cluster endpoints) from its other failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
    reply: Option<(u16, String)>,
    broken_pipe: bool,
}

impl Error {
    pub fn new(message: impl Into<String>) -> Error {
        Error { message: message.into(), reply: None, broken_pipe: false }
    }

    /// An error reply of the admin API: HTTP `status`, error `code` and message.
    pub fn api(status: u16, code: impl Into<String>, message: impl Into<String>) -> Error {
        Error { message: message.into(), reply: Some((status, code.into())), broken_pipe: false }
    }

    /// Whether the output's reader went away (`leofs-adm ... | head`): nothing to report.
    pub fn is_broken_pipe(&self) -> bool {
        self.broken_pipe
    }

    /// The HTTP status, when the admin API answered with an error.
    pub fn status(&self) -> Option<u16> {
        self.reply.as_ref().map(|(s, _)| *s)
    }

    /// The API's error code (`NoSuchUser`, `Refused`, ...), when it answered with one.
    pub fn code(&self) -> Option<&str> {
        self.reply.as_ref().map(|(_, c)| c.as_str())
    }

    /// Whether the endpoint does not exist on that server (`404 NotFound`, as opposed to a
    /// missing user or bucket): a single-node server asked for a cluster command, or an
    /// older server.
    pub fn is_missing_endpoint(&self) -> bool {
        self.status() == Some(404) && self.code() == Some("NotFound")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        let broken_pipe = e.kind() == std::io::ErrorKind::BrokenPipe;
        Error { broken_pipe, ..Error::new(format!("cannot write the output: {e}")) }
    }
}

/// Runs a parsed command line, printing the result to `out`.
pub fn run(cli: &Cli, out: &mut dyn Write) -> Result<(), Error> {
    let api = Api::new(&cli.endpoint)?.with_json_output(cli.json).with_credentials(cli.access_key.as_deref(), cli.secret_key.as_deref())?;
    match &cli.command {
        Command::CreateUser(c) => c.run(&api, out),
        Command::ImportUser(c) => c.run(&api, out),
        Command::GetUsers(c) => c.run(&api, out),
        Command::DeleteUser(c) => c.run(&api, out),
        Command::UpdateUserRole(c) => c.run(&api, out),
        Command::AddBucket(c) => c.run(&api, out),
        Command::GetBucket(c) => c.run(&api, out),
        Command::GetBuckets(c) => c.run(&api, out),
        Command::DeleteBucket(c) => c.run(&api, out),
        Command::ChownBucket(c) => c.run(&api, out),
        Command::UpdateAcl(c) => c.run(&api, out),
        Command::Status(c) => c.run(&api, out),
        Command::Version(c) => c.run(&api, out),
        Command::WhereIs(c) => c.run(&api, out),
        Command::Start(c) => c.run(&api, out),
        Command::Suspend(c) => c.run(&api, out),
        Command::Resume(c) => c.run(&api, out),
        Command::DumpRing(c) => c.run(&api, out),
        Command::UpdateConsistencyLevel(c) => c.run(&api, out),
        Command::MqStats(c) => c.run(&api, out),
        Command::UpdateLogLevel(c) => c.run(&api, out),
        Command::RecoverNode(c) => ops_cmds::recover_node(c, &api, out),
        Command::RecoverConsistency(c) => ops_cmds::recover_consistency(c, &api, out),
        Command::RecoverFile(c) => c.run(&api, out),
        Command::RecoverRing(c) => ops_cmds::recover_ring(c, &api, out),
        Command::MqSuspend(c) => ops_cmds::mq_suspend(c, &api, out),
        Command::MqResume(c) => ops_cmds::mq_resume(c, &api, out),
        Command::CompactStart(c) => ops_cmds::compact(c, "start", &api, out),
        Command::CompactSuspend(c) => ops_cmds::compact(&ops_cmds::Compact { node: c.node.clone(), count: None }, "suspend", &api, out),
        Command::CompactResume(c) => ops_cmds::compact(&ops_cmds::Compact { node: c.node.clone(), count: None }, "resume", &api, out),
        Command::CompactStatus(c) => ops_cmds::compact(&ops_cmds::Compact { node: c.node.clone(), count: None }, "status", &api, out),
        Command::Du(c) => c.run(&api, out),
        Command::Detach(c) => ops_cmds::detach(c, &api, out),
        Command::Rollback(c) => ops_cmds::rollback(c, &api, out),
        Command::Rebalance(c) => c.run(&api, out),
        Command::Takeover(c) => c.run(&api, out),
        Command::DeleteBucketStats(c) => c.run(&api, out),
        Command::DiagnoseStart(c) => ops_cmds::diagnose(c, &api, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commands::{CannedAcl, RoleId};

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
        for cmd in ["get-users", "get-buckets", "status", "version", "start", "dump-ring", "mq-stats"] {
            assert!(parse(&[cmd]).is_ok(), "{cmd}");
        }
        assert_eq!(parse(&["recover-node", "storage-2"]).unwrap().command, Command::RecoverNode(ops_cmds::NodeArg { node: "storage-2".into() }));
        assert_eq!(parse(&["recover-file", "photos/cat.jpg"]).unwrap().command, Command::RecoverFile(ops_cmds::RecoverFile { path: "photos/cat.jpg".into() }));
        assert_eq!(parse(&["compact-start", "storage-1", "all"]).unwrap().command, Command::CompactStart(ops_cmds::Compact { node: "storage-1".into(), count: Some("all".into()) }));
        assert_eq!(parse(&["du", "detail", "storage-1"]).unwrap().command, Command::Du(ops_cmds::Du { args: vec!["detail".into(), "storage-1".into()] }));
        assert!(parse(&["du"]).is_err());
        assert_eq!(parse(&["rebalance"]).unwrap().command, Command::Rebalance(ops_cmds::Rebalance { no_wait: false }));
        assert_eq!(parse(&["takeover", "s1", "s4"]).unwrap().command, Command::Takeover(ops_cmds::Takeover { from: "s1".into(), to: "s4".into(), no_wait: false }));
        assert_eq!(parse(&["detach", "s2"]).unwrap().command, Command::Detach(ops_cmds::NodeArg { node: "s2".into() }));
        assert_eq!(parse(&["mq-suspend", "storage-3"]).unwrap().command, Command::MqSuspend(ops_cmds::NodeArg { node: "storage-3".into() }));
    }

    #[test]
    fn cluster_commands_parse_like_leofs_adm() {
        assert_eq!(parse(&["status"]).unwrap().command, Command::Status(Status { node: None }));
        assert_eq!(parse(&["status", "storage-1"]).unwrap().command, Command::Status(Status { node: Some("storage-1".into()) }));
        assert_eq!(parse(&["whereis", "photos/a/b.jpg"]).unwrap().command, Command::WhereIs(WhereIs { path: "photos/a/b.jpg".into() }));
        assert_eq!(parse(&["start"]).unwrap().command, Command::Start(Start {}));
        assert_eq!(parse(&["suspend", "storage-1"]).unwrap().command, Command::Suspend(Suspend { node: "storage-1".into() }));
        assert_eq!(parse(&["resume", "storage-1"]).unwrap().command, Command::Resume(Resume { node: "storage-1".into() }));
        assert_eq!(parse(&["dump-ring"]).unwrap().command, Command::DumpRing(DumpRing { node: None }));
        assert_eq!(parse(&["dump-ring", "manager_0@127.0.0.1"]).unwrap().command, Command::DumpRing(DumpRing { node: Some("manager_0@127.0.0.1".into()) }));
        assert_eq!(parse(&["version"]).unwrap().command, Command::Version(Version {}));
        let expected = UpdateConsistencyLevel { write_quorum: 2, read_quorum: 1, delete_quorum: 2 };
        assert_eq!(parse(&["update-consistency-level", "2", "1", "2"]).unwrap().command, Command::UpdateConsistencyLevel(expected));
        assert_eq!(parse(&["mq-stats"]).unwrap().command, Command::MqStats(MqStats { node: None }));
        assert_eq!(parse(&["mq-stats", "storage-1"]).unwrap().command, Command::MqStats(MqStats { node: Some("storage-1".into()) }));
        assert_eq!(parse(&["update-log-level", "debug"]).unwrap().command, Command::UpdateLogLevel(UpdateLogLevel { first: "debug".into(), level: None }));
        let with_node = UpdateLogLevel { first: "storage-1".into(), level: Some("warn".into()) };
        assert_eq!(parse(&["update-log-level", "storage-1", "warn"]).unwrap().command, Command::UpdateLogLevel(with_node));
        let cli = parse(&["status", "--json", "-e", "127.0.0.1:13076"]).unwrap();
        assert!(cli.json);
        assert_eq!(cli.endpoint, "127.0.0.1:13076");
        assert!(!parse(&["status"]).unwrap().json);
        assert!(parse(&["--json", "mq-stats"]).unwrap().json);
    }

    #[test]
    fn catalog_commands_parse_like_leofs_adm() {
        let expected = ImportUser { user_id: "carol".into(), access_key_id: "AKIDCAROL".into(), secret_access_key: "s3cr3t-key".into() };
        assert_eq!(parse(&["import-user", "carol", "AKIDCAROL", "s3cr3t-key"]).unwrap().command, Command::ImportUser(expected));
        for (arg, role) in [("1", RoleId::User), ("9", RoleId::Admin), ("admin", RoleId::Admin), ("user", RoleId::User)] {
            let expected = UpdateUserRole { user_id: "carol".into(), role_id: role };
            assert_eq!(parse(&["update-user-role", "carol", arg]).unwrap().command, Command::UpdateUserRole(expected), "{arg}");
        }
        let expected = DeleteBucket { bucket: "photos".into(), access_key_id: "KEY".into() };
        assert_eq!(parse(&["delete-bucket", "photos", "KEY"]).unwrap().command, Command::DeleteBucket(expected));
        let expected = ChownBucket { bucket: "photos".into(), new_owner_access_key_id: "KEY2".into() };
        assert_eq!(parse(&["chown-bucket", "photos", "KEY2"]).unwrap().command, Command::ChownBucket(expected));
        let expected = GetBucket { bucket_or_access_key_id: "photos".into() };
        assert_eq!(parse(&["get-bucket", "photos"]).unwrap().command, Command::GetBucket(expected));
        assert_eq!((RoleId::Admin.as_api(), RoleId::User.as_api()), ("admin", "normal"));
    }

    #[test]
    fn bad_command_lines_are_refused() {
        assert!(parse(&["update-acl", "photos", "KEY", "authenticated-read"]).is_err());
        assert!(parse(&["add-bucket", "photos"]).is_err());
        assert!(parse(&["delete-user"]).is_err());
        assert!(parse(&["no-such-command"]).is_err());
        assert!(parse(&[]).is_err());
        assert!(parse(&["update-user-role", "carol", "5"]).is_err());
        assert!(parse(&["update-user-role", "carol"]).is_err());
        assert!(parse(&["import-user", "carol", "AKID"]).is_err());
        assert!(parse(&["update-consistency-level", "2", "1"]).is_err());
        assert!(parse(&["update-consistency-level", "0", "1", "1"]).is_err());
        assert!(parse(&["update-consistency-level", "2", "x", "1"]).is_err());
        assert!(parse(&["suspend"]).is_err());
        assert!(parse(&["whereis"]).is_err());
        assert!(parse(&["update-log-level"]).is_err());
        assert!(parse(&["update-log-level", "a", "b", "c"]).is_err());
        assert!(parse(&["delete-bucket", "photos"]).is_err());
        assert!(parse(&["chown-bucket", "photos"]).is_err());
        assert!(parse(&["get-bucket"]).is_err());
    }

    /// A stand-in admin API on a loopback port: answers each request with `route(method,
    /// target, body)` (status, JSON body) and records the requests. One connection per
    /// request (`Connection: close`).
    struct FakeApi {
        endpoint: String,
        seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    }

    fn fake_api(route: fn(&str, &str, &str) -> (u16, serde_json::Value)) -> FakeApi {
        use std::io::{BufRead, BufReader, Read};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let (method, target) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
                let mut len = 0;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                }
                let mut body = vec![0; len];
                let _ = reader.read_exact(&mut body);
                let body = String::from_utf8_lossy(&body).into_owned();
                log.lock().unwrap().push(format!("{method} {target} {body}").trim_end().to_owned());
                let (status, reply) = route(&method, &target, &body);
                let reply = reply.to_string();
                let head = format!("HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", reply.len());
                let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(reply.as_bytes()));
            }
        });
        FakeApi { endpoint, seen }
    }

    /// Runs a command line against `api`: its output, or its error message.
    fn run_against(api: &FakeApi, args: &[&str]) -> Result<String, String> {
        let mut argv = vec!["--endpoint", api.endpoint.as_str()];
        argv.extend_from_slice(args);
        let cli = parse(&argv).unwrap();
        let mut out = Vec::new();
        run(&cli, &mut out).map_err(|e| e.to_string())?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn no_such_endpoint(method: &str, target: &str) -> (u16, serde_json::Value) {
        (404, serde_json::json!({"error": format!("no such endpoint: {method} {target}"), "code": "NotFound"}))
    }

    /// A single-node `leofs server`: `/v1/status`, users and buckets; no cluster endpoints.
    fn single_node(method: &str, target: &str, _body: &str) -> (u16, serde_json::Value) {
        match (method, target) {
            ("GET", "/v1/status") => (200, serde_json::json!({"version": "9.9.9", "node": "single", "shards": 2})),
            ("GET", "/v1/buckets") => (200, serde_json::json!({"buckets": [
                {"name": "photos", "owner": "alice", "acl": "private", "created_at": "2024-01-02T03:04:05.000Z"},
                {"name": "logs", "owner": "bob", "acl": "public-read", "created_at": "2024-01-02T03:04:05.000Z"},
                {"name": "more", "owner": "alice", "acl": "private", "created_at": "2024-01-02T03:04:05.000Z"},
            ]})),
            ("GET", "/v1/keys/KEYALICE") => (200, serde_json::json!({"access_key_id": "KEYALICE", "user_id": "alice"})),
            ("GET", t) if t.starts_with("/v1/keys/") => (404, serde_json::json!({"error": "no such access key", "code": "NoSuchAccessKey"})),
            ("DELETE", "/v1/buckets/photos") => (200, serde_json::json!({"bucket": "photos", "deleted": true})),
            ("PUT", "/v1/users/carol/role") => (200, serde_json::json!({"user_id": "carol", "role": "admin"})),
            _ => no_such_endpoint(method, target),
        }
    }

    /// A cluster manager: the cluster endpoints plus the catalog ones.
    fn manager(method: &str, target: &str, _body: &str) -> (u16, serde_json::Value) {
        match (method, target) {
            ("GET", "/v1/cluster") => (200, serde_json::json!({
                "version": "9.9.9", "started": true, "ring_version": 1, "ring_checksum": "433fe365a0b1c2d3", "previous_ring_checksum": null,
                "consistency": {"n": 3, "w": 2, "r": 1, "d": 2}, "stale_nodes": [],
                "nodes": [{"id": "s1", "role": "storage", "state": "running", "ring_checksum": "433fe365a0b1c2d3", "ring_ok": true}]
            })),
            ("PUT", "/v1/consistency") => (200, serde_json::json!({"n": 3, "w": 3, "r": 1, "d": 2})),
            ("POST", "/v1/cluster/start") => (409, serde_json::json!({"error": "the cluster is already started", "code": "Refused"})),
            ("GET", t) if t.starts_with("/v1/whereis?key=") => (200, serde_json::json!({"key": "b/k", "replicas": [{"node": "s1", "state": "running", "present": false}]})),
            _ => no_such_endpoint(method, target),
        }
    }

    #[test]
    fn status_falls_back_to_a_single_node_server() {
        let api = fake_api(single_node);
        let out = run_against(&api, &["status"]).unwrap();
        assert!(out.starts_with(" [System Configuration]\nitem    | value\n"), "{out}");
        assert!(out.contains("version | 9.9.9\n"), "{out}");
        assert_eq!(*api.seen.lock().unwrap(), ["GET /v1/cluster", "GET /v1/status"]);
        let json = run_against(&api, &["status", "--json"]).unwrap();
        assert_eq!(serde_json::from_str::<serde_json::Value>(&json).unwrap()["node"], "single");
        let out = run_against(&api, &["version"]).unwrap();
        assert!(out.contains("\nserver (http://127.0.0.1:"), "{out}");
        assert!(out.ends_with("| 9.9.9\n"), "{out}");
    }

    #[test]
    fn cluster_commands_on_a_single_node_server_say_so() {
        let api = fake_api(single_node);
        for args in [&["whereis", "b/k"][..], &["start"], &["suspend", "s1"], &["resume", "s1"], &["dump-ring"], &["mq-stats"],
                     &["update-log-level", "info"], &["update-consistency-level", "2", "1", "2"], &["status", "s1"]] {
            let err = run_against(&api, args).unwrap_err();
            assert!(err.contains("is a single-node leofs server"), "{args:?}: {err}");
            assert!(err.contains(&format!("`{}", args[0])) && err.contains("needs the admin API of `leofs manager`"), "{args:?}: {err}");
        }
    }

    #[test]
    fn commands_against_a_manager() {
        let api = fake_api(manager);
        let out = run_against(&api, &["status"]).unwrap();
        assert!(out.contains("S    | s1   | running | -    | 433fe365"), "{out}");
        assert_eq!(run_against(&api, &["update-consistency-level", "3", "1", "2"]).unwrap(), "OK\n");
        let put = api.seen.lock().unwrap().iter().find_map(|r| r.strip_prefix("PUT /v1/consistency ").map(str::to_owned)).unwrap();
        let put: serde_json::Value = serde_json::from_str(&put).unwrap();
        assert_eq!(put, serde_json::json!({"n": 3, "w": 3, "r": 1, "d": 2}), "N is kept, W R D in LeoFS order");
        assert_eq!(run_against(&api, &["start"]).unwrap_err(), "the cluster is already started");
        let out = run_against(&api, &["whereis", "b/dir/k 1"]).unwrap();
        assert!(out.contains("| s1   | running |"), "{out}");
        assert!(api.seen.lock().unwrap().iter().any(|r| r == "GET /v1/whereis?key=b%2Fdir%2Fk%201"), "{:?}", api.seen.lock().unwrap());
        assert!(run_against(&api, &["whereis", "just-a-bucket"]).unwrap_err().contains("whereis takes <bucket>/<key>"));
        let err = run_against(&api, &["status", "nope"]).unwrap_err();
        assert_eq!(err, "no node 'nope' in the cluster (nodes: s1)");
        let err = run_against(&api, &["import-user", "carol", "AKIDCAROL", "secret-secret"]).unwrap_err();
        assert!(err.contains("does not know `import-user`"), "{err}");
    }

    #[test]
    fn catalog_commands_against_a_server() {
        let api = fake_api(single_node);
        let out = run_against(&api, &["get-bucket", "logs"]).unwrap();
        assert_eq!(out.lines().skip(2).collect::<Vec<_>>(), ["logs   | bob   | Me(full_control), Everyone(read) | 2024-01-02 03:04:05 +0000"]);
        let out = run_against(&api, &["get-bucket", "KEYALICE"]).unwrap();
        let names: Vec<&str> = out.lines().skip(2).map(|l| l.split(' ').next().unwrap()).collect();
        assert_eq!(names, ["photos", "more"]);
        assert_eq!(run_against(&api, &["get-bucket", "nothing"]).unwrap_err(), "no bucket and no access key named 'nothing'");
        assert_eq!(run_against(&api, &["delete-bucket", "photos", "KEYALICE"]).unwrap(), "OK\n");
        assert_eq!(run_against(&api, &["update-user-role", "carol", "9"]).unwrap(), "OK\n");
        let json = run_against(&api, &["--json", "update-user-role", "carol", "9"]).unwrap();
        assert_eq!(serde_json::from_str::<serde_json::Value>(&json).unwrap()["role"], "admin");
        let seen = api.seen.lock().unwrap();
        assert!(seen.contains(&r#"DELETE /v1/buckets/photos {"access_key_id":"KEYALICE"}"#.to_owned()), "{seen:?}");
        assert!(seen.contains(&r#"PUT /v1/users/carol/role {"role":"admin"}"#.to_owned()), "{seen:?}");
    }

    #[test]
    fn the_endpoint_defaults_to_the_local_admin_port() {
        // Skip when the environment chooses another endpoint: clap reads it.
        if std::env::var_os("LEOFS_ADMIN_ENDPOINT").is_none() {
            assert_eq!(parse(&["status"]).unwrap().endpoint, DEFAULT_ENDPOINT);
        }
    }
}

//! The cluster commands of `leofs-adm`, served by a cluster manager's admin API
//! (`leofs manager`, `/v1/cluster`, `/v1/ring`, ...): `status`, `whereis`, `start`,
//! `suspend`, `resume`, `dump-ring`, `version`, `update-consistency-level`, `mq-stats` and
//! `update-log-level`. A single-node `leofs server` has none of these endpoints: the
//! commands then say so in one line, except `status` and `version`, which fall back to its
//! `GET /v1/status`.

use crate::client::{encode_segment, Api};
use crate::commands::{json_out, ok_out, status_table};
use crate::table::{render, short_checksum, utc_time_us};
use crate::Error;
use clap::Args;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::io::Write;

/// Where `leofs manager` serves its admin API unless told otherwise.
const MANAGER_ENDPOINT: &str = "http://127.0.0.1:13076";

/// The error for a cluster command sent to a server without the cluster endpoints.
fn not_a_manager(api: &Api, command: &str) -> Error {
    Error::new(format!(
        "{} is a single-node leofs server (or a storage or gateway node), not a cluster manager: \
         `{command}` needs the admin API of `leofs manager` (pass --endpoint, e.g. {MANAGER_ENDPOINT})",
        api.endpoint()
    ))
}

/// `method path` on the manager; "no such endpoint" becomes [`not_a_manager`].
pub(crate) fn manager_call<T: DeserializeOwned>(api: &Api, command: &str, method: &str, path: &str, body: Option<&Value>) -> Result<T, Error> {
    api.call(method, path, body).map_err(|e| if e.is_missing_endpoint() { not_a_manager(api, command) } else { e })
}

/// A value for a table cell: `-` when empty.
fn cell(s: &str) -> String {
    if s.is_empty() {
        "-".to_owned()
    } else {
        s.to_owned()
    }
}

/// Consistency levels as `GET /v1/cluster` reports them.
#[derive(Debug, Deserialize, Default, Clone, Copy)]
struct Levels {
    n: u64,
    w: u64,
    r: u64,
    d: u64,
}

/// One member as `GET /v1/cluster` lists it. Fields the tool does not know are ignored and
/// missing ones default, so a newer or older manager still works with this tool.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct NodeStatus {
    id: String,
    role: String,
    state: String,
    rpc_addr: String,
    s3_addr: String,
    admin_addr: String,
    shards: u64,
    zone: String,
    weight: u64,
    ring_checksum: String,
    #[serde(default = "yes")]
    ring_ok: bool,
    repairs_held: u64,
    repairs_pending_for: u64,
}

fn yes() -> bool {
    true
}

/// `GET /v1/cluster`.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ClusterStatus {
    version: String,
    started: bool,
    ring_version: u64,
    ring_checksum: String,
    previous_ring_checksum: Option<String>,
    consistency: Levels,
    stale_nodes: Vec<String>,
    nodes: Vec<NodeStatus>,
    /// A running rebalance: nodes done of those taking part, copies still to move.
    #[serde(default)]
    rebalance: Option<RebalanceStatus>,
}

#[derive(Debug, Deserialize, Default, Clone, Copy)]
#[serde(default)]
struct RebalanceStatus {
    nodes_done: u64,
    nodes: u64,
    copies_pending: u64,
}

/// LeoFS's one-letter node type.
fn node_type(role: &str) -> String {
    match role {
        "storage" => "S".to_owned(),
        "gateway" => "G".to_owned(),
        "manager" => "M".to_owned(),
        other => other.to_owned(),
    }
}

/// Show the cluster: system configuration (consistency levels, RING hashes) and the state
/// of every node; or one node's details. Against a single-node `leofs server`, its
/// configuration and counts.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// A node id: show that node's details only.
    pub node: Option<String>,
}

impl Status {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let reply: Value = match api.get("/v1/cluster") {
            Ok(v) => v,
            Err(e) if e.is_missing_endpoint() => return self.run_single(api, out),
            Err(e) => return Err(e),
        };
        if self.node.is_none() && json_out(api, out, &reply)? {
            return Ok(());
        }
        let status: ClusterStatus = api.decode(reply.clone())?;
        let Some(id) = &self.node else {
            write!(out, "{}", cluster_text(&status))?;
            return Ok(());
        };
        let Some(i) = status.nodes.iter().position(|n| &n.id == id) else {
            let known: Vec<&str> = status.nodes.iter().map(|n| n.id.as_str()).collect();
            let known = if known.is_empty() { "none yet".to_owned() } else { known.join(", ") };
            return Err(Error::new(format!("no node '{id}' in the cluster (nodes: {known})")));
        };
        let raw = reply.get("nodes").and_then(|n| n.get(i)).cloned().unwrap_or(Value::Null);
        if json_out(api, out, &raw)? {
            return Ok(());
        }
        write!(out, "{}", node_text(&status.nodes[i], &status.ring_checksum))?;
        Ok(())
    }

    /// `status` of a single-node `leofs server`.
    fn run_single(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        if self.node.is_some() {
            return Err(not_a_manager(api, "status <node>"));
        }
        let reply: Value = api.get("/v1/status")?;
        if json_out(api, out, &reply)? {
            return Ok(());
        }
        let status: Map<String, Value> = api.decode(reply)?;
        writeln!(out, " [System Configuration]")?;
        write!(out, "{}", status_table(&status))?;
        Ok(())
    }
}

/// The cluster summary, as LeoFS's `status` lays it out.
fn cluster_text(s: &ClusterStatus) -> String {
    let c = s.consistency;
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
    let stale = if s.stale_nodes.is_empty() { "-".to_owned() } else { s.stale_nodes.join(", ") };
    let config = vec![
        vec!["system version".to_owned(), cell(&s.version)],
        vec!["cluster started".to_owned(), yes_no(s.started)],
        vec!["ring version".to_owned(), s.ring_version.to_string()],
        vec!["total replicas (N)".to_owned(), c.n.to_string()],
        vec!["number of successes of R".to_owned(), c.r.to_string()],
        vec!["number of successes of W".to_owned(), c.w.to_string()],
        vec!["number of successes of D".to_owned(), c.d.to_string()],
        vec!["current ring-hash".to_owned(), cell(if s.started { &s.ring_checksum } else { "" })],
        vec!["previous ring-hash".to_owned(), cell(s.previous_ring_checksum.as_deref().unwrap_or(""))],
        vec!["nodes with a stale RING".to_owned(), stale],
        vec![
            "rebalance".to_owned(),
            match s.rebalance {
                Some(r) => format!("running: {}/{} nodes handed over, {} copies pending", r.nodes_done, r.nodes, r.copies_pending),
                None => "-".to_owned(),
            },
        ],
    ];
    let nodes: Vec<Vec<String>> = s
        .nodes
        .iter()
        .map(|n| {
            let mut ring = short_checksum(&n.ring_checksum);
            if !n.ring_ok {
                ring.push_str(" (stale)");
            }
            vec![node_type(&n.role), n.id.clone(), n.state.clone(), cell(&n.zone), ring, n.repairs_held.to_string(), n.repairs_pending_for.to_string()]
        })
        .collect();
    let mut text = String::from(" [System Configuration]\n");
    text.push_str(&render(&["item", "value"], &config));
    text.push_str("\n [State of Node(s)]\n");
    text.push_str(&render(&["type", "node", "state", "zone", "current ring", "repairs held", "repairs pending"], &nodes));
    if !s.started {
        text.push_str("\nThe cluster is not started: once the storage nodes are attached, run `leofs-adm start`.\n");
    }
    text
}

/// One node's details (`status <node>`).
fn node_text(n: &NodeStatus, manager_checksum: &str) -> String {
    let role = if n.role.is_empty() { "-".to_owned() } else { format!("{} ({})", n.role, node_type(&n.role)) };
    let ring = if n.ring_ok { "yes".to_owned() } else { format!("no: the manager's is {}", cell(manager_checksum)) };
    let rows = vec![
        vec!["node".to_owned(), n.id.clone()],
        vec!["type".to_owned(), role],
        vec!["state".to_owned(), cell(&n.state)],
        vec!["rpc address".to_owned(), cell(&n.rpc_addr)],
        vec!["s3 address".to_owned(), cell(&n.s3_addr)],
        vec!["admin address".to_owned(), cell(&n.admin_addr)],
        vec!["shards".to_owned(), n.shards.to_string()],
        vec!["zone".to_owned(), cell(&n.zone)],
        vec!["weight (vnodes)".to_owned(), n.weight.to_string()],
        vec!["current ring-hash".to_owned(), cell(&n.ring_checksum)],
        vec!["ring matches the manager's".to_owned(), ring],
        vec!["repairs held for other nodes".to_owned(), n.repairs_held.to_string()],
        vec!["repairs pending for this node".to_owned(), n.repairs_pending_for.to_string()],
    ];
    format!(" [Node: {}]\n{}", n.id, render(&["item", "value"], &rows))
}

/// One replica in a `whereis` reply: what the node holds, or why it could not be asked.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct Replica {
    node: String,
    state: Option<String>,
    present: Option<bool>,
    deleted: Option<bool>,
    size: Option<u64>,
    etag: Option<String>,
    version_us: Option<i64>,
    error: Option<String>,
}

/// `GET /v1/whereis`.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct Whereis {
    key: String,
    replicas: Vec<Replica>,
    error: Option<String>,
}

/// Show where an object's replicas live and what each node holds (size, checksum, clock).
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct WhereIs {
    /// `<bucket>/<key>`
    pub path: String,
}

impl WhereIs {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let path = self.path.strip_prefix('/').unwrap_or(&self.path);
        match path.split_once('/') {
            Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => {}
            _ => return Err(Error::new(format!("whereis takes <bucket>/<key>, not '{}'", self.path))),
        }
        let reply: Value = manager_call(api, "whereis", "GET", &format!("/v1/whereis?key={}", encode_segment(path)), None)?;
        if json_out(api, out, &reply)? {
            return Ok(());
        }
        let w: Whereis = api.decode(reply)?;
        if let Some(e) = w.error {
            return Err(Error::new(e));
        }
        write!(out, "{}", whereis_table(&w.replicas))?;
        Ok(())
    }
}

/// LeoFS's `whereis` table: `del?` is `*` for a tombstone; the note says why a replica
/// shows no data.
fn whereis_table(replicas: &[Replica]) -> String {
    let rows: Vec<Vec<String>> = replicas
        .iter()
        .map(|r| {
            let state = r.state.clone().unwrap_or_else(|| "-".to_owned());
            if let Some(e) = &r.error {
                return vec![String::new(), r.node.clone(), state, String::new(), String::new(), String::new(), String::new(), format!("error: {e}")];
            }
            let deleted = r.deleted == Some(true);
            if r.present != Some(true) && !deleted {
                return vec![String::new(), r.node.clone(), state, String::new(), String::new(), String::new(), String::new(), "not found".to_owned()];
            }
            vec![
                if deleted { "*".to_owned() } else { String::new() },
                r.node.clone(),
                state,
                r.size.map_or_else(String::new, |s| s.to_string()),
                r.etag.clone().unwrap_or_default(),
                r.version_us.map_or_else(String::new, |v| v.to_string()),
                r.version_us.map_or_else(String::new, utc_time_us),
                String::new(),
            ]
        })
        .collect();
    render(&["del?", "node", "state", "size", "checksum", "clock", "when", "note"], &rows)
}

/// First launch of the cluster: build the RING over the attached storage nodes and
/// distribute it (later joins need rebalance).
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct Start {}

impl Start {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let reply: Value = manager_call(api, "start", "POST", "/v1/cluster/start", None)?;
        if json_out(api, out, &reply)? {
            return Ok(());
        }
        let version = reply.get("ring_version").and_then(Value::as_u64).unwrap_or(0);
        let members = reply.get("members").and_then(Value::as_u64).unwrap_or(0);
        writeln!(out, "Generated RING version {version} over {members} storage node(s)")?;
        writeln!(out, "OK")?;
        Ok(())
    }
}

/// Take a running storage node out of service without detaching it.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct Suspend {
    /// The node id.
    pub node: String,
}

impl Suspend {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let path = format!("/v1/nodes/{}/suspend", encode_segment(&self.node));
        let reply: Value = manager_call(api, "suspend", "POST", &path, None)?;
        ok_out(api, out, &reply)
    }
}

/// Bring a suspended node back (it is `restarted` until the repairs queued for it drain).
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    /// The node id.
    pub node: String,
}

impl Resume {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let path = format!("/v1/nodes/{}/resume", encode_segment(&self.node));
        let reply: Value = manager_call(api, "resume", "POST", &path, None)?;
        ok_out(api, out, &reply)
    }
}

/// A RING member as `GET /v1/ring` lists it.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct RingMember {
    id: String,
    rpc_addr: String,
    shards: u64,
    zone: String,
    weight: u64,
    ownership: f64,
}

/// `GET /v1/ring`.
#[derive(Debug, Deserialize)]
struct RingDump {
    #[serde(default = "yes")]
    started: bool,
    #[serde(default)]
    version: u64,
    #[serde(default)]
    checksum: String,
    #[serde(default)]
    members: Vec<RingMember>,
}

/// Print the manager's RING: its version and checksum, and each member with the share of
/// the hash space it is primary for. Writes nothing to disk (LeoFS's `dump-ring` wrote
/// files on the node); `--json` also gives the RING's encoding in hex.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct DumpRing {
    /// Accepted for LeoFS scripts (`dump-ring <node>`) and ignored: every node holds the
    /// manager's RING once its checksum matches (see `status`).
    pub node: Option<String>,
}

impl DumpRing {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let reply: Value = manager_call(api, "dump-ring", "GET", "/v1/ring", None)?;
        if json_out(api, out, &reply)? {
            return Ok(());
        }
        let ring: RingDump = api.decode(reply)?;
        if !ring.started {
            return Err(Error::new("the cluster is not started, so there is no RING yet: run `leofs-adm start` once the storage nodes are attached"));
        }
        write!(out, "{}", ring_text(&ring))?;
        Ok(())
    }
}

fn ring_text(ring: &RingDump) -> String {
    let rows: Vec<Vec<String>> = ring
        .members
        .iter()
        .map(|m| vec![m.id.clone(), cell(&m.rpc_addr), cell(&m.zone), m.weight.to_string(), m.shards.to_string(), format!("{:.2}%", m.ownership * 100.0)])
        .collect();
    format!(
        " [RING] version {}, checksum {}, {} member(s)\n{}",
        ring.version,
        cell(&ring.checksum),
        ring.members.len(),
        render(&["node", "rpc address", "zone", "weight", "shards", "ownership"], &rows)
    )
}

/// Show this tool's version and the server's (the manager's, or a single-node server's).
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct Version {}

impl Version {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let (kind, reply): (&str, Value) = match api.get("/v1/cluster") {
            Ok(v) => ("manager", v),
            Err(e) if e.is_missing_endpoint() => ("server", api.get("/v1/status")?),
            Err(e) => return Err(e),
        };
        let server = reply.get("version").and_then(Value::as_str).unwrap_or("unknown").to_owned();
        let tool = env!("CARGO_PKG_VERSION");
        let versions = Map::from_iter([("leofs-adm".to_owned(), json!(tool)), (kind.to_owned(), json!(server))]);
        if json_out(api, out, &Value::Object(versions))? {
            return Ok(());
        }
        let rows = vec![vec!["leofs-adm".to_owned(), tool.to_owned()], vec![format!("{kind} ({})", api.endpoint()), server]];
        write!(out, "{}", render(&["component", "version"], &rows))?;
        Ok(())
    }
}

/// Change the write, read and delete quorums (LeoFS order: W R D). N, the number of
/// replicas, is kept: it is read from the cluster's current status.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct UpdateConsistencyLevel {
    /// Write quorum: replicas that must store a write (1..=N).
    #[arg(value_parser = clap::value_parser!(u8).range(1..))]
    pub write_quorum: u8,
    /// Read quorum (1..=N).
    #[arg(value_parser = clap::value_parser!(u8).range(1..))]
    pub read_quorum: u8,
    /// Delete quorum (1..=N).
    #[arg(value_parser = clap::value_parser!(u8).range(1..))]
    pub delete_quorum: u8,
}

impl UpdateConsistencyLevel {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let status: ClusterStatus = manager_call(api, "update-consistency-level", "GET", "/v1/cluster", None)?;
        let n = status.consistency.n;
        let body = json!({ "n": n, "w": self.write_quorum, "r": self.read_quorum, "d": self.delete_quorum });
        let reply: Value = manager_call(api, "update-consistency-level", "PUT", "/v1/consistency", Some(&body))?;
        ok_out(api, out, &reply)
    }
}

/// Show the repair queues: for each node, how many repairs it holds for each target node
/// (objects to re-send once the target is back).
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct MqStats {
    /// Only the queues held by this node.
    pub node: Option<String>,
}

impl MqStats {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let reply: Value = manager_call(api, "mq-stats", "GET", "/v1/mq", None)?;
        let mut held: Map<String, Value> = reply.get("held_by").and_then(Value::as_object).cloned().unwrap_or_default();
        if let Some(node) = &self.node {
            let Some(queues) = held.remove(node) else {
                let known: Vec<&str> = held.keys().map(String::as_str).collect();
                let known = if known.is_empty() { "none yet".to_owned() } else { known.join(", ") };
                return Err(Error::new(format!("no node '{node}' in the cluster (nodes: {known})")));
            };
            held = Map::from_iter([(node.clone(), queues)]);
        }
        let held = json!({ "held_by": held });
        if json_out(api, out, &held)? {
            return Ok(());
        }
        write!(out, "{}", mq_table(&held))?;
        Ok(())
    }
}

/// One row per (holder, target); a node holding nothing gets one row with 0.
fn mq_table(reply: &Value) -> String {
    let mut rows = Vec::new();
    if let Some(held) = reply.get("held_by").and_then(Value::as_object) {
        let mut holders: Vec<(&String, &Value)> = held.iter().collect();
        holders.sort_by(|a, b| a.0.cmp(b.0));
        for (holder, queues) in holders {
            let mut targets: Vec<(&String, u64)> =
                queues.as_object().map(|q| q.iter().map(|(t, n)| (t, n.as_u64().unwrap_or(0))).collect()).unwrap_or_default();
            targets.sort();
            if targets.is_empty() {
                rows.push(vec![holder.clone(), "-".to_owned(), "0".to_owned()]);
            }
            for (target, n) in targets {
                rows.push(vec![holder.clone(), target.clone(), n.to_string()]);
            }
        }
    }
    render(&["node", "target node", "queued repairs"], &rows)
}

/// The levels `update-log-level` takes (LeoFS's, plus trace).
const LOG_LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace"];

/// Change the log level of every node of the cluster at runtime.
/// `update-log-level <level>`; LeoFS's `update-log-level <node> <level>` is accepted, but
/// the level applies cluster-wide.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct UpdateLogLevel {
    /// error, warn, info, debug or trace (or a node id, followed by the level).
    pub first: String,
    /// The level, when a node id came first.
    pub level: Option<String>,
}

impl UpdateLogLevel {
    /// The level asked for, lower-cased and checked.
    pub fn level(&self) -> Result<String, Error> {
        let level = self.level.as_deref().unwrap_or(&self.first).to_ascii_lowercase();
        if LOG_LEVELS.contains(&level.as_str()) {
            Ok(level)
        } else {
            Err(Error::new(format!("'{level}' is not a log level: use {}", LOG_LEVELS.join(", "))))
        }
    }

    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let level = self.level()?;
        if self.level.is_some() {
            eprintln!("leofs-adm: note: the log level applies to every node of the cluster, not only to '{}'", self.first);
        }
        let reply: Value = manager_call(api, "update-log-level", "PUT", "/v1/log-level", Some(&json!({ "level": level })))?;
        ok_out(api, out, &reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_cluster() -> Value {
        json!({
            "version": "0.1.0", "started": true, "ring_version": 2,
            "ring_checksum": "433fe365a0b1c2d3", "previous_ring_checksum": "0badc0de12345678",
            "consistency": {"n": 3, "w": 2, "r": 1, "d": 2},
            "stale_nodes": ["storage-2"],
            "nodes": [
                {"id": "gateway-0", "role": "gateway", "state": "running", "rpc_addr": "", "s3_addr": "10.0.0.9:8080", "admin_addr": "10.0.0.9:8081",
                 "shards": 2, "zone": "", "weight": 0, "ring_checksum": "433fe365a0b1c2d3", "ring_ok": true, "repairs_held": 0, "repairs_pending_for": 0},
                {"id": "storage-1", "role": "storage", "state": "running", "rpc_addr": "10.0.0.1:13077", "s3_addr": "", "admin_addr": "10.0.0.1:8081",
                 "shards": 4, "zone": "rack-a", "weight": 168, "ring_checksum": "433fe365a0b1c2d3", "ring_ok": true, "repairs_held": 12, "repairs_pending_for": 0},
                {"id": "storage-2", "role": "storage", "state": "restarted", "rpc_addr": "10.0.0.2:13077", "s3_addr": "", "admin_addr": "10.0.0.2:8081",
                 "shards": 4, "zone": "rack-b", "weight": 168, "ring_checksum": "0badc0de12345678", "ring_ok": false, "repairs_held": 0, "repairs_pending_for": 12, "future": 1}
            ]
        })
    }

    #[test]
    fn cluster_status_renders_like_leofs() {
        let status: ClusterStatus = serde_json::from_value(sample_cluster()).unwrap();
        let expected = "\
\x20[System Configuration]
item                     | value
-------------------------+-----------------
system version           | 0.1.0
cluster started          | yes
ring version             | 2
total replicas (N)       | 3
number of successes of R | 1
number of successes of W | 2
number of successes of D | 2
current ring-hash        | 433fe365a0b1c2d3
previous ring-hash       | 0badc0de12345678
nodes with a stale RING  | storage-2
rebalance                | -

 [State of Node(s)]
type | node      | state     | zone   | current ring     | repairs held | repairs pending
-----+-----------+-----------+--------+------------------+--------------+----------------
G    | gateway-0 | running   | -      | 433fe365         | 0            | 0
S    | storage-1 | running   | rack-a | 433fe365         | 12           | 0
S    | storage-2 | restarted | rack-b | 0badc0de (stale) | 0            | 12
";
        assert_eq!(cluster_text(&status), expected);
        let running = ClusterStatus { rebalance: Some(RebalanceStatus { nodes_done: 2, nodes: 4, copies_pending: 37 }), ..status };
        assert!(cluster_text(&running).contains("rebalance                | running: 2/4 nodes handed over, 37 copies pending\n"));
    }

    #[test]
    fn a_cluster_not_started_says_what_to_do() {
        let status: ClusterStatus = serde_json::from_value(json!({
            "version": "0.1.0", "started": false, "ring_version": 0, "ring_checksum": "0000000000000000", "previous_ring_checksum": null,
            "consistency": {"n": 1, "w": 1, "r": 1, "d": 1}, "stale_nodes": [],
            "nodes": [{"id": "s1", "role": "storage", "state": "attached", "ring_checksum": "0000000000000000", "ring_ok": true}]
        }))
        .unwrap();
        let t = cluster_text(&status);
        assert!(t.contains("cluster started          | no\n"), "{t}");
        assert!(t.contains("current ring-hash        | -\n"), "{t}");
        assert!(t.contains("previous ring-hash       | -\n"), "{t}");
        assert!(t.contains("S    | s1   | attached | -    | -            | 0            | 0\n"), "{t}");
        assert!(t.ends_with("run `leofs-adm start`.\n"), "{t}");
    }

    #[test]
    fn node_details() {
        let status: ClusterStatus = serde_json::from_value(sample_cluster()).unwrap();
        let t = node_text(&status.nodes[2], &status.ring_checksum);
        assert!(t.starts_with(" [Node: storage-2]\nitem "), "{t}");
        assert!(t.contains("\ntype                          | storage (S)\n"), "{t}");
        assert!(t.contains("\nrpc address                   | 10.0.0.2:13077\n"), "{t}");
        assert!(t.contains("\ns3 address                    | -\n"), "{t}");
        assert!(t.contains("\nring matches the manager's    | no: the manager's is 433fe365a0b1c2d3\n"), "{t}");
        assert!(t.contains("\nrepairs pending for this node | 12\n"), "{t}");
    }

    #[test]
    fn whereis_renders_each_replica() {
        let w: Whereis = serde_json::from_value(json!({"key": "photos/cat.jpg", "replicas": [
            {"node": "storage-1", "state": "running", "present": true, "deleted": false, "size": 1024,
             "etag": "d41d8cd98f00b204e9800998ecf8427e", "version_us": 1_717_243_200_123_456_i64, "tiebreak": 7},
            {"node": "storage-2", "state": "running", "present": false, "deleted": true, "size": 0,
             "etag": "d41d8cd98f00b204e9800998ecf8427e", "version_us": 1_717_243_260_000_000_i64, "tiebreak": 1},
            {"node": "storage-3", "state": "running", "present": false},
            {"node": "storage-4", "state": "stop", "error": "connection refused"},
        ]}))
        .unwrap();
        let expected = "\
del? | node      | state   | size | checksum                         | clock            | when                      | note
-----+-----------+---------+------+----------------------------------+------------------+---------------------------+--------------------------
     | storage-1 | running | 1024 | d41d8cd98f00b204e9800998ecf8427e | 1717243200123456 | 2024-06-01 12:00:00 +0000 |
*    | storage-2 | running | 0    | d41d8cd98f00b204e9800998ecf8427e | 1717243260000000 | 2024-06-01 12:01:00 +0000 |
     | storage-3 | running |      |                                  |                  |                           | not found
     | storage-4 | stop    |      |                                  |                  |                           | error: connection refused
";
        assert_eq!(whereis_table(&w.replicas), expected);
        assert_eq!(w.key, "photos/cat.jpg");
    }

    #[test]
    fn ring_dump_shows_ownership() {
        let ring: RingDump = serde_json::from_value(json!({"version": 3, "checksum": "433fe365a0b1c2d3", "encoding_hex": "00", "members": [
            {"id": "storage-1", "rpc_addr": "10.0.0.1:13077", "shards": 4, "zone": "rack-a", "weight": 168, "ownership": 0.3341},
            {"id": "storage-2", "rpc_addr": "10.0.0.2:13077", "shards": 4, "zone": "", "weight": 168, "ownership": 0.6659},
        ]}))
        .unwrap();
        let expected = "\
\x20[RING] version 3, checksum 433fe365a0b1c2d3, 2 member(s)
node      | rpc address    | zone   | weight | shards | ownership
----------+----------------+--------+--------+--------+----------
storage-1 | 10.0.0.1:13077 | rack-a | 168    | 4      | 33.41%
storage-2 | 10.0.0.2:13077 | -      | 168    | 4      | 66.59%
";
        assert_eq!(ring_text(&ring), expected);
        let not_started: RingDump = serde_json::from_value(json!({"started": false})).unwrap();
        assert!(!not_started.started);
    }

    #[test]
    fn mq_stats_rows() {
        let reply = json!({"held_by": {"storage-2": {}, "storage-1": {"storage-3": 5, "storage-2": 12}}});
        let expected = "\
node      | target node | queued repairs
----------+-------------+---------------
storage-1 | storage-2   | 12
storage-1 | storage-3   | 5
storage-2 | -           | 0
";
        assert_eq!(mq_table(&reply), expected);
    }

    #[test]
    fn log_levels_are_checked() {
        let cmd = |first: &str, level: Option<&str>| UpdateLogLevel { first: first.into(), level: level.map(Into::into) };
        assert_eq!(cmd("DEBUG", None).level().unwrap(), "debug");
        assert_eq!(cmd("storage-1", Some("warn")).level().unwrap(), "warn");
        assert!(cmd("storage-1", None).level().unwrap_err().to_string().contains("use error, warn, info, debug, trace"));
    }
}

//! `leofs-adm` commands for recovery and space, sent to the cluster manager, which relays
//! them to the storage node: `recover-node`, `recover-consistency`, `recover-file`,
//! `recover-ring`, `mq-suspend`, `mq-resume`, `compact-start`, `compact-suspend`,
//! `compact-resume`, `compact-status` and `du`.

use crate::client::{encode_segment, Api};
use crate::cluster_cmds::manager_call;
use crate::commands::{json_out, ok_out};
use crate::table::render;
use crate::Error;
use clap::Args;
use serde_json::Value;
use std::io::Write;

/// One storage node id.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct NodeArg {
    /// The storage node id.
    pub node: String,
}

fn node_post(api: &Api, out: &mut dyn Write, command: &str, node: &str, action: &str) -> Result<(), Error> {
    let path = format!("/v1/nodes/{}/{action}", encode_segment(node));
    let reply: Value = manager_call(api, command, "POST", &path, None)?;
    ok_out(api, out, &reply)
}

pub fn recover_node(c: &NodeArg, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
    node_post(api, out, "recover-node", &c.node, "recover")
}

pub fn recover_consistency(c: &NodeArg, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
    node_post(api, out, "recover-consistency", &c.node, "recover")
}

pub fn recover_ring(c: &NodeArg, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
    node_post(api, out, "recover-ring", &c.node, "recover-ring")
}

pub fn mq_suspend(c: &NodeArg, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
    node_post(api, out, "mq-suspend", &c.node, "mq-suspend")
}

pub fn diagnose(c: &NodeArg, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
    let path = format!("/v1/nodes/{}/diagnose", encode_segment(&c.node));
    let reply: Value = manager_call(api, "diagnose-start", "POST", &path, None)?;
    if json_out(api, out, &reply)? {
        return Ok(());
    }
    writeln!(out, "scrub pass started on {}; `leofs-adm du {}` shows what it verified and found", c.node, c.node)?;
    Ok(())
}

pub fn mq_resume(c: &NodeArg, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
    node_post(api, out, "mq-resume", &c.node, "mq-resume")
}

/// Repair one object: the replica with the newest version sends it to the others.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct RecoverFile {
    /// `<bucket>/<key>`
    pub path: String,
}

impl RecoverFile {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let path = format!("/v1/recover-file?key={}", encode_segment(&self.path));
        let reply: Value = manager_call(api, "recover-file", "POST", &path, None)?;
        if json_out(api, out, &reply)? {
            return Ok(());
        }
        match reply.get("repaired").and_then(Value::as_array) {
            Some(r) if r.is_empty() => writeln!(out, "every replica already holds the newest version")?,
            Some(r) => {
                let names: Vec<&str> = r.iter().filter_map(Value::as_str).collect();
                writeln!(out, "queued from {} for: {}", reply["source"].as_str().unwrap_or("?"), names.join(", "))?;
            }
            None => {}
        }
        writeln!(out, "OK")?;
        Ok(())
    }
}

/// Compaction of a storage node: start a pass now over every segment with garbage, suspend
/// or resume automatic compaction, or show where it stands.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct Compact {
    /// The storage node id.
    pub node: String,
    /// LeoFS's `all` or a number of segments: accepted for its scripts; a pass covers
    /// every segment with garbage.
    pub count: Option<String>,
}

pub fn compact(c: &Compact, action: &str, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
    let path = format!("/v1/nodes/{}/compact/{action}", encode_segment(&c.node));
    let reply: Value = manager_call(api, &format!("compact-{action}"), "POST", &path, None)?;
    if json_out(api, out, &reply)? {
        return Ok(());
    }
    if action == "status" {
        return du_text(&reply, out);
    }
    writeln!(out, "OK")?;
    Ok(())
}

/// Space use of a storage node, per shard (`detail`), with its compaction and recovery
/// state.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct Du {
    /// `detail` (LeoFS syntax; the per-shard table is always printed), then the node id.
    #[arg(num_args = 1..=2, required = true)]
    pub args: Vec<String>,
}

impl Du {
    pub fn node(&self) -> &str {
        self.args.last().map_or("", String::as_str)
    }

    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let path = format!("/v1/nodes/{}/du", encode_segment(self.node()));
        let reply: Value = manager_call(api, "du", "GET", &path, None)?;
        if json_out(api, out, &reply)? {
            return Ok(());
        }
        du_text(&reply, out)
    }
}

fn du_text(reply: &Value, out: &mut dyn Write) -> Result<(), Error> {
    let n = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    let rows: Vec<Vec<String>> = reply
        .get("shards")
        .and_then(Value::as_array)
        .map(|shards| {
            shards
                .iter()
                .map(|s| {
                    let used = n(s, "used_bytes");
                    let ratio = if used == 0 { 0.0 } else { n(s, "garbage_bytes") as f64 * 100.0 / used as f64 };
                    vec![n(s, "shard").to_string(), n(s, "objects").to_string(), n(s, "segments").to_string(), n(s, "used_bytes").to_string(), n(s, "live_bytes").to_string(), format!("{ratio:.1}%"), n(s, "compacted_segments").to_string()]
                })
                .collect()
        })
        .unwrap_or_default();
    writeln!(out, "node: {}", reply.get("node").and_then(Value::as_str).unwrap_or("?"))?;
    writeln!(out, "compaction: {}", reply.get("compaction").and_then(Value::as_str).unwrap_or("?"))?;
    if let Some(s) = reply.get("scrub") {
        writeln!(out, "scrub: {} passes, {} records and {} bytes verified, {} corrupt found", n(s, "passes"), n(s, "records"), n(s, "bytes"), n(s, "corrupt"))?;
    }
    if let Some(r) = reply.get("recovery") {
        writeln!(
            out,
            "recovery: {} (peers {}/{}, ranges differing {}, keys requested {}, offered {})",
            if r["running"] == true { "running" } else { "idle" },
            n(r, "peers_done"),
            n(r, "peers"),
            n(r, "ranges_differing"),
            n(r, "keys_requested"),
            n(r, "keys_offered")
        )?;
    }
    write!(out, "{}", render(&["shard", "objects", "segments", "used bytes", "live bytes", "garbage", "compacted segments"], &rows))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn du_prints_a_row_per_shard_with_the_garbage_ratio() {
        let reply = serde_json::json!({"node": "s1", "compaction": "enabled", "recovery": {"running": false, "peers_done": 2, "peers": 2, "ranges_differing": 3, "keys_requested": 10, "keys_offered": 0},
            "shards": [{"shard": 0, "objects": 5, "segments": 1, "used_bytes": 1000, "live_bytes": 750, "garbage_bytes": 250, "compacted_segments": 0}]});
        let mut out = Vec::new();
        du_text(&reply, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("node: s1"), "{text}");
        assert!(text.contains("recovery: idle (peers 2/2, ranges differing 3, keys requested 10, offered 0)"), "{text}");
        assert!(text.contains("25.0%"), "{text}");
    }
}

pub fn detach(c: &NodeArg, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
    node_post(api, out, "detach", &c.node, "detach")
}

pub fn rollback(c: &NodeArg, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
    node_post(api, out, "rollback", &c.node, "rollback")
}

/// Start a rebalance (attached nodes in, detached ones out) and show its progress until it
/// completes (`--no-wait` returns at once).
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct Rebalance {
    /// Return once the rebalance has started instead of following it.
    #[arg(long)]
    pub no_wait: bool,
}

/// Replace a node (typically a dead one) by a new one that joined as attached: the new node
/// takes its place in the next RING and is filled from its peers; the old one leaves the
/// cluster when the rebalance completes (a dead one is not waited for). Unless `--no-wait`,
/// the command returns once the new node has also compared itself with every peer and
/// fetched what it lacked.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct Takeover {
    /// The node to replace.
    pub from: String,
    /// The attached node taking its place.
    pub to: String,
    #[arg(long)]
    pub no_wait: bool,
}

/// A progress bar of `done` out of `all`, 30 characters wide.
pub fn bar(done: usize, all: usize) -> String {
    let width = 30;
    let filled = (done * width).checked_div(all).unwrap_or(width).min(width);
    format!("[{}{}] {done}/{all} nodes", "#".repeat(filled), ".".repeat(width - filled))
}

/// Follows a rebalance until it completes: `Ok(true)` then, `Ok(false)` when not waiting.
fn follow(api: &Api, out: &mut dyn Write, started: &Value, no_wait: bool) -> Result<bool, Error> {
    if json_out(api, out, started)? {
        return Ok(false);
    }
    writeln!(out, "rebalancing to RING version {}", started.get("ring_version").and_then(Value::as_u64).unwrap_or(0))?;
    if no_wait {
        writeln!(out, "OK (follow it with `leofs-adm status`)")?;
        return Ok(false);
    }
    let start = std::time::Instant::now();
    loop {
        let s: Value = manager_call(api, "rebalance", "GET", "/v1/cluster", None)?;
        match s.get("rebalance") {
            Some(Value::Object(r)) => {
                let n = |k: &str| r.get(k).and_then(Value::as_u64).unwrap_or(0);
                writeln!(out, "{} copies pending: {} ({:.0} s)", bar(n("nodes_done") as usize, n("nodes") as usize), n("copies_pending"), start.elapsed().as_secs_f64())?;
            }
            _ => {
                writeln!(out, "rebalance complete")?;
                return Ok(true);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(1000));
    }
}

impl Rebalance {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let started: Value = manager_call(api, "rebalance", "POST", "/v1/rebalance", None)?;
        if follow(api, out, &started, self.no_wait)? {
            writeln!(out, "OK")?;
        }
        Ok(())
    }
}

impl Takeover {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let path = format!("/v1/takeover/{}/{}", encode_segment(&self.from), encode_segment(&self.to));
        let started: Value = manager_call(api, "takeover", "POST", &path, None)?;
        if !follow(api, out, &started, self.no_wait)? {
            return Ok(());
        }
        // After the hand-over the new node compares itself with every peer and fetches
        // what it still lacks: the takeover is done when that pass, under the new RING, is.
        let ring = started.get("ring_version").and_then(Value::as_u64).unwrap_or(0);
        let du = format!("/v1/nodes/{}/du", encode_segment(&self.to));
        let start = std::time::Instant::now();
        loop {
            let r: Value = manager_call(api, "takeover", "GET", &du, None)?;
            let rec = r.get("recovery").cloned().unwrap_or(Value::Null);
            let n = |k: &str| rec.get(k).and_then(Value::as_u64).unwrap_or(0);
            let done = rec.get("running") == Some(&Value::Bool(false)) && rec.get("during_rebalance") == Some(&Value::Bool(false)) && n("ring_version") >= ring && n("peers_done") == n("peers");
            if done {
                let errors: Vec<String> = rec.get("errors").and_then(Value::as_array).map(|e| e.iter().map(|v| v.to_string()).collect()).unwrap_or_default();
                if !errors.is_empty() {
                    return Err(Error::new(format!("{} compared with its peers, with errors: {}", self.to, errors.join("; "))));
                }
                writeln!(out, "{} holds every key it owns (compared with {} peers)", self.to, n("peers"))?;
                writeln!(out, "OK")?;
                return Ok(());
            }
            writeln!(out, "filling {} from its peers: {}/{} peers compared ({:.0} s)", self.to, n("peers_done"), n("peers"), start.elapsed().as_secs_f64())?;
            std::thread::sleep(std::time::Duration::from_millis(1000));
        }
    }
}

#[cfg(test)]
mod bar_tests {
    #[test]
    fn the_bar_fills_with_progress() {
        assert_eq!(super::bar(0, 4), format!("[{}] 0/4 nodes", ".".repeat(30)));
        assert_eq!(super::bar(2, 4), format!("[{}{}] 2/4 nodes", "#".repeat(15), ".".repeat(15)));
        assert_eq!(super::bar(4, 4), format!("[{}] 4/4 nodes", "#".repeat(30)));
    }
}

/// Progress of `delete-bucket` jobs: objects each storage node has deleted so far.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct DeleteBucketStats {}

impl DeleteBucketStats {
    pub fn run(&self, api: &Api, out: &mut dyn Write) -> Result<(), Error> {
        let reply: Value = manager_call(api, "delete-bucket-stats", "GET", "/v1/buckets-deleting", None)?;
        if json_out(api, out, &reply)? {
            return Ok(());
        }
        let mut rows = Vec::new();
        if let Some(jobs) = reply.get("deleting").and_then(Value::as_object) {
            for (bucket, nodes) in jobs {
                for (node, p) in nodes.as_object().into_iter().flatten() {
                    let done = p.get("done") == Some(&Value::Bool(true));
                    rows.push(vec![bucket.clone(), node.clone(), p.get("deleted").and_then(Value::as_u64).unwrap_or(0).to_string(), if done { "done" } else { "deleting" }.to_owned()]);
                }
            }
        }
        if rows.is_empty() {
            writeln!(out, "no bucket is being deleted")?;
            return Ok(());
        }
        write!(out, "{}", render(&["bucket", "node", "objects deleted", "state"], &rows))?;
        Ok(())
    }
}

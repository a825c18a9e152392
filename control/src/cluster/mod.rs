//! The cluster's control plane as data: the messages nodes exchange with the manager (the
//! JSON bodies of RPC `Control` frames, docs/format.md "Control messages") and the
//! manager's members table with the rules for node states. Everything here is pure: the
//! manager process feeds it heartbeats and the clock, tests feed it a fake clock.
//!
//! Node states follow LeoFS: a storage node that announces itself is `attached`; `start`
//! builds the first RING from the attached nodes and makes them `running`; a node whose
//! heartbeats stop for [`DOWN_AFTER_MS`] is `stop` (routed around); when it comes back it is
//! `restarted` until no peer holds repairs for it any more, and then `running` again by
//! itself (no manual resume, unlike LeoFS #252). `suspend`/`resume` are the operator's.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::Acl;
use crate::ring::{Consistency, Member, NodeState, Ring};

/// How often every node reports to the manager.
pub const HEARTBEAT_MS: u64 = 500;
/// A node silent this long is marked `stop`.
pub const DOWN_AFTER_MS: i64 = 3_000;
/// Virtual nodes of a storage node that names no weight (LeoFS's default).
pub const DEFAULT_WEIGHT: u32 = 168;
/// The consistency a new cluster starts with: three copies, and reads that see every
/// acknowledged write (R + W > N). LeoFS defaulted to one copy; we do not.
pub const DEFAULT_CONSISTENCY: Consistency = Consistency {
    n: 3,
    w: 2,
    r: 2,
    d: 2,
};

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum NodeRole {
    Storage,
    Gateway,
}

/// What a node says about itself in every heartbeat.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    pub id: String,
    pub role: NodeRole,
    /// Storage: shard 0's RPC listener (shard `s` listens on port + `s`). Gateway: empty.
    pub rpc_addr: String,
    pub shards: u16,
    pub zone: String,
    pub weight: u32,
    /// Gateway: its S3 endpoint. Storage: empty.
    pub s3_addr: String,
    /// The node's admin listener (`/metrics`, status).
    pub admin_addr: String,
    pub version: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    pub node: NodeInfo,
    /// Checksum of the RING the node routes with (0: none yet).
    pub ring_checksum: u64,
    pub catalog_generation: u64,
    /// Repairs this node holds, by the node they are for.
    #[serde(default)]
    pub mq: BTreeMap<String, u64>,
    #[serde(default)]
    pub objects: u64,
    /// Storage: the RING version for which this node has handed over every copy it must
    /// (rebalance), with all of them confirmed by their new owners.
    #[serde(default)]
    pub rebalanced: u64,
    /// Storage: copies it still has to hand over.
    #[serde(default)]
    pub rebalance_pending: u64,
    /// Storage: per bucket being deleted, the objects this node has deleted so far and
    /// whether it is done.
    #[serde(default)]
    pub bucket_deletes: BTreeMap<String, (u64, bool)>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct HeartbeatReply {
    /// The current RING's canonical encoding (hex), sent only when the node's checksum
    /// differs from it.
    pub ring: Option<String>,
    pub ring_checksum: u64,
    /// Every known node's state.
    pub states: BTreeMap<String, NodeState>,
    /// A `catalog.db` snapshot (hex), sent only to a gateway whose generation is behind.
    pub catalog: Option<String>,
    pub log_level: String,
    /// During a rebalance: the RING before it (hex), which reads also consult, sent with
    /// the current RING.
    #[serde(default)]
    pub previous: Option<String>,
    #[serde(default)]
    pub rebalancing: bool,
    /// Buckets whose objects every storage node deletes in the background: the bucket,
    /// and the time (µs) before which its objects go (a bucket created again afterwards
    /// keeps its new objects).
    #[serde(default)]
    pub delete_buckets: Vec<(String, u64)>,
}

/// A bucket change an S3 request asked a gateway for; the manager applies it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum CatalogOp {
    CreateBucket {
        name: String,
        owner: String,
        acl: Acl,
        location: String,
    },
    DeleteBucket {
        name: String,
    },
    SetAcl {
        name: String,
        acl: Acl,
    },
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ControlReq {
    Heartbeat(Heartbeat),
    Catalog(CatalogOp),
    /// To a storage node holding the newest copy of `key` (hex): queue it for `targets`,
    /// replicas that answered a read with an older version or none (read-repair).
    Repair { key: String, targets: Vec<String> },
    /// To a storage node: queue the current copy of each key (hex) for `target`.
    RepairMany { keys: Vec<String>, target: String },
    /// Anti-entropy, step 1: per hash range (the top 12 bits of the key's RING hash), a
    /// digest of the keys both the receiver and `peer` should hold (see [`KeyDigest`]).
    Digests { peer: String },
    /// Anti-entropy, step 2: the keys both should hold in these ranges, with versions.
    Keys { peer: String, ranges: Vec<u16> },
    /// To a storage node: compare with every peer and repair what differs, both ways, in
    /// the background (`recover-node`, `recover-consistency`).
    Recover,
    /// To a storage node: stop or restart delivering queued repairs (`mq-suspend`,
    /// `mq-resume`).
    MqSuspend { suspended: bool },
    /// To a storage node: compact every shard now (`compact-start`), or pause/resume it.
    Compact { action: String },
    /// To a storage node: space use per shard (`du`).
    Du,
    /// To a storage node: start a scrub pass now (`diagnose-start`); its findings are in
    /// `du` and the scrub metrics.
    Diagnose,
}

/// A key and its version as anti-entropy compares them.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct KeyVersion {
    /// Hex of the engine key.
    pub key: String,
    pub ts: u64,
    pub tb: u32,
    /// A tombstone.
    pub dead: bool,
}

/// One hash range's digest: XOR of XXH3-64 over (key, version, tombstone) of every key in
/// it, and how many there are.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyDigest {
    pub range: u16,
    pub xor: u64,
    pub count: u32,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ControlResp {
    Heartbeat(HeartbeatReply),
    /// The catalog after the change (hex of a `catalog.db` snapshot).
    Catalog {
        snapshot: String,
    },
    /// `code` is the catalog error's kind (e.g. `BucketAlreadyExists`), for the gateway to
    /// map onto its S3 error.
    Error {
        code: String,
        message: String,
    },
    Ok,
    Digests { ranges: Vec<KeyDigest> },
    Keys { entries: Vec<KeyVersion> },
    /// Free-form JSON (du, compaction status).
    Info { info: serde_json::Value },
}

/// One row of the members table.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MemberRec {
    pub info: NodeInfo,
    pub state: NodeState,
    /// Not persisted: the manager's clock when it last heard from the node.
    #[serde(skip)]
    pub last_seen_ms: i64,
    #[serde(skip)]
    pub ring_checksum: u64,
    #[serde(skip)]
    pub mq: BTreeMap<String, u64>,
    #[serde(skip)]
    pub objects: u64,
    #[serde(skip)]
    pub rebalanced: u64,
    #[serde(skip)]
    pub rebalance_pending: u64,
    #[serde(skip)]
    pub bucket_deletes: BTreeMap<String, (u64, bool)>,
}

/// The manager's durable state: `cluster.db` holds it as JSON in the catalog's framing.
#[derive(Clone, Debug)]
pub struct Cluster {
    pub members: BTreeMap<String, MemberRec>,
    pub ring: Option<Ring>,
    pub previous: Option<Ring>,
    pub consistency: Consistency,
    pub distinct_zones: bool,
    pub log_level: String,
    /// A rebalance is moving data from `previous`'s owners to `ring`'s.
    pub rebalancing: bool,
    /// `delete-bucket` jobs: bucket → objects older than this (µs) are deleted.
    pub deleting: BTreeMap<String, u64>,
    /// Nodes replaced by `takeover`: out of the RING being rebalanced to, waited for only
    /// while they are alive, and dropped from `members` when the rebalance completes if
    /// they are down then.
    pub retiring: BTreeSet<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterFile {
    members: Vec<MemberRec>,
    ring: Option<String>,
    previous: Option<String>,
    consistency: Consistency,
    distinct_zones: bool,
    log_level: String,
    #[serde(default)]
    rebalancing: bool,
    #[serde(default)]
    deleting: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    retiring: BTreeSet<String>,
}

impl Default for Cluster {
    fn default() -> Self {
        Cluster {
            members: BTreeMap::new(),
            ring: None,
            previous: None,
            consistency: DEFAULT_CONSISTENCY,
            distinct_zones: false,
            log_level: "info".into(),
            rebalancing: false,
            deleting: BTreeMap::new(),
            retiring: BTreeSet::new(),
        }
    }
}

/// Why an operator's command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn refuse<T>(why: impl Into<String>) -> Result<T, Refused> {
    Err(Refused(why.into()))
}

impl Cluster {
    pub fn to_json(&self) -> Vec<u8> {
        let file = ClusterFile {
            members: self.members.values().cloned().collect(),
            ring: self.ring.as_ref().map(|r| hex::encode(r.encode())),
            previous: self.previous.as_ref().map(|r| hex::encode(r.encode())),
            consistency: self.consistency,
            distinct_zones: self.distinct_zones,
            log_level: self.log_level.clone(),
            rebalancing: self.rebalancing,
            deleting: self.deleting.clone(),
            retiring: self.retiring.clone(),
        };
        serde_json::to_vec(&file).expect("cluster state serialises")
    }

    /// Loads a state written by [`Cluster::to_json`]; `now_ms` counts as every node's last
    /// heartbeat, so a restarted manager gives nodes a full grace period to report.
    pub fn from_json(body: &[u8], now_ms: i64) -> Result<Cluster, String> {
        let f: ClusterFile =
            serde_json::from_slice(body).map_err(|e| format!("not cluster JSON: {e}"))?;
        let ring = |h: &Option<String>| -> Result<Option<Ring>, String> {
            h.as_ref()
                .map(|h| {
                    hex::decode(h)
                        .map_err(|e| format!("ring hex: {e}"))
                        .and_then(|b| Ring::decode(&b))
                })
                .transpose()
        };
        let mut members = BTreeMap::new();
        for mut m in f.members {
            m.last_seen_ms = now_ms;
            members.insert(m.info.id.clone(), m);
        }
        Ok(Cluster {
            members,
            ring: ring(&f.ring)?,
            previous: ring(&f.previous)?,
            consistency: f.consistency,
            distinct_zones: f.distinct_zones,
            log_level: f.log_level,
            rebalancing: f.rebalancing,
            deleting: f.deleting,
            retiring: f.retiring,
        })
    }

    pub fn ring_checksum(&self) -> u64 {
        self.ring.as_ref().map_or(0, Ring::checksum)
    }

    pub fn states(&self) -> BTreeMap<String, NodeState> {
        self.members
            .iter()
            .map(|(id, m)| (id.clone(), m.state))
            .collect()
    }

    /// Repairs held anywhere for `id`.
    pub fn pending_for(&self, id: &str) -> u64 {
        self.members.values().filter_map(|m| m.mq.get(id)).sum()
    }

    /// Takes a heartbeat. Returns the reply (without the catalog, which the caller adds)
    /// and whether the durable state changed.
    pub fn heartbeat(&mut self, hb: Heartbeat, now_ms: i64) -> (HeartbeatReply, bool) {
        let mut changed = false;
        let id = hb.node.id.clone();
        let rec = self.members.entry(id.clone()).or_insert_with(|| {
            changed = true;
            let state = match hb.node.role {
                NodeRole::Storage => NodeState::Attached,
                NodeRole::Gateway => NodeState::Running,
            };
            MemberRec {
                info: hb.node.clone(),
                state,
                last_seen_ms: now_ms,
                ring_checksum: 0,
                mq: BTreeMap::new(),
                objects: 0,
                rebalanced: 0,
                rebalance_pending: 0,
                bucket_deletes: BTreeMap::new(),
            }
        });
        if rec.info != hb.node {
            rec.info = hb.node.clone();
            changed = true;
        }
        rec.last_seen_ms = now_ms;
        rec.ring_checksum = hb.ring_checksum;
        rec.mq = hb.mq;
        rec.objects = hb.objects;
        rec.rebalanced = hb.rebalanced;
        rec.rebalance_pending = hb.rebalance_pending;
        rec.bucket_deletes = hb.bucket_deletes;
        if rec.state == NodeState::Stop {
            rec.state = if hb.node.role == NodeRole::Gateway {
                NodeState::Running
            } else {
                NodeState::Restarted
            };
            changed = true;
        }
        if self.members[&id].state == NodeState::Restarted
            && self.pending_for(&id) == 0
            && hb.ring_checksum == self.ring_checksum()
        {
            self.members.get_mut(&id).expect("present").state = NodeState::Running;
            changed = true;
        }
        let checksum = self.ring_checksum();
        let ring = match &self.ring {
            Some(r) if hb.ring_checksum != checksum => Some(hex::encode(r.encode())),
            _ => None,
        };
        let reply = HeartbeatReply {
            ring,
            ring_checksum: checksum,
            states: self.states(),
            catalog: None,
            log_level: self.log_level.clone(),
            previous: match (&self.previous, self.rebalancing) {
                (Some(p), true) => Some(hex::encode(p.encode())),
                _ => None,
            },
            rebalancing: self.rebalancing,
            delete_buckets: self.deleting.iter().map(|(b, t)| (b.clone(), *t)).collect(),
        };
        let completed = self.try_complete_rebalance();
        let deleted = self.try_complete_bucket_deletes();
        (reply, changed || completed || deleted)
    }

    /// Marks nodes silent for too long as `stop`. Returns whether anything changed.
    pub fn tick(&mut self, now_ms: i64) -> bool {
        let mut changed = false;
        for m in self.members.values_mut() {
            // A node being taken over is given up for dead once silent, even detached: the
            // rebalance then no longer waits for it.
            let retiring = self.retiring.contains(&m.info.id) && m.state == NodeState::Detached;
            let live = retiring
                || matches!(
                    m.state,
                    NodeState::Running | NodeState::Restarted | NodeState::Attached
                );
            if live && now_ms - m.last_seen_ms > DOWN_AFTER_MS {
                log::warn!(
                    "node {} missed heartbeats for {} ms: marked stop",
                    m.info.id,
                    now_ms - m.last_seen_ms
                );
                m.state = NodeState::Stop;
                changed = true;
            }
        }
        changed
    }

    /// Ids of ring members whose reported RING differs from the manager's (stale nodes).
    pub fn stale_nodes(&self) -> Vec<String> {
        let sum = self.ring_checksum();
        self.members
            .values()
            .filter(|m| m.state.serves() && m.ring_checksum != sum)
            .map(|m| m.info.id.clone())
            .collect()
    }

    fn require_agreement(&self) -> Result<(), Refused> {
        let stale = self.stale_nodes();
        if stale.is_empty() {
            Ok(())
        } else {
            refuse(format!("RING checksums disagree (stale: {}); wait for the manager to re-push the RING and retry", stale.join(", ")))
        }
    }

    /// `leofs-adm start`: the first RING, over every attached storage node.
    pub fn start(&mut self) -> Result<&Ring, Refused> {
        if self.ring.is_some() {
            return refuse("the cluster is already started (new nodes join with rebalance)");
        }
        let attached: Vec<Member> = self
            .members
            .values()
            .filter(|m| m.info.role == NodeRole::Storage && m.state == NodeState::Attached)
            .map(|m| member_of(&m.info))
            .collect();
        if attached.len() < self.consistency.n as usize {
            return refuse(format!(
                "{} storage node(s) attached, the consistency level needs N = {}",
                attached.len(),
                self.consistency.n
            ));
        }
        let ring =
            Ring::new(1, self.consistency, self.distinct_zones, attached).map_err(Refused)?;
        for m in ring.members() {
            self.members.get_mut(&m.id).expect("attached member").state = NodeState::Running;
        }
        self.ring = Some(ring);
        Ok(self.ring.as_ref().expect("just set"))
    }

    /// `detach`: take a node out of the next RING (it keeps serving until the rebalance that
    /// moves its data off completes). While a rebalance runs, only a node that is down can
    /// be detached, and it is then given up (see [`Cluster::give_up`]): returns whether it
    /// was.
    pub fn detach(&mut self, id: &str, now_ms: i64) -> Result<bool, Refused> {
        if self.rebalancing {
            return self.give_up(id, now_ms).map(|()| true);
        }
        let n = self.consistency.n as usize;
        let Some(ring) = &self.ring else { return refuse("the cluster is not started") };
        if ring.member(id).is_none() {
            return refuse(format!("'{id}' is not in the RING"));
        }
        let joining = self.members.values().filter(|m| m.info.role == NodeRole::Storage && m.state == NodeState::Attached).count();
        let staying = joining + ring.members().iter().filter(|m| m.id != id && self.members.get(&m.id).is_some_and(|r| r.state != NodeState::Detached)).count();
        if staying < n {
            return refuse(format!("detaching '{id}' would leave {staying} storage node(s), fewer than N = {n}"));
        }
        self.members.get_mut(id).expect("ring member has a row").state = NodeState::Detached;
        Ok(false)
    }

    /// `detach` of a node that died while a rebalance runs (`stop`, or a detached node
    /// silent for [`DOWN_AFTER_MS`], which `tick` leaves detached): the operator gives it up
    /// for dead, as `takeover` does with the node it replaces. Without this a rebalance
    /// would wait for it forever. The RING being rebalanced to loses it (a new version:
    /// every node redoes its hand-over, now to the owners that replace it, and the first
    /// serving old owner of each key sends in its place); the rebalance no longer waits for
    /// it; when the rebalance completes, it leaves the members table with the repairs queued
    /// for it. A node given up that comes back before that serves and hands over like a
    /// detached one, and stays detached.
    fn give_up(&mut self, id: &str, now_ms: i64) -> Result<(), Refused> {
        let n = self.consistency.n as usize;
        let (Some(cur), Some(prev)) = (&self.ring, &self.previous) else { return refuse("the rebalance has no previous RING") };
        let Some(rec) = self.members.get(id) else { return refuse(format!("no such node '{id}'")) };
        if cur.member(id).is_none() && prev.member(id).is_none() {
            return refuse(format!("'{id}' is not in the RING"));
        }
        let silent_detached = rec.state == NodeState::Detached && now_ms - rec.last_seen_ms > DOWN_AFTER_MS;
        if rec.state != NodeState::Stop && !silent_detached {
            return refuse(format!("a rebalance is running: '{id}' is {}; only a node that is down (stop) can be detached now, and it is then given up for dead; otherwise wait for the rebalance to complete", rec.state.as_str()));
        }
        if cur.member(id).is_some() {
            let members: Vec<Member> = cur.members().iter().filter(|m| m.id != id).cloned().collect();
            if members.len() < n {
                return refuse(format!("giving '{id}' up would leave {} storage node(s) in the RING, fewer than N = {n}", members.len()));
            }
            let next = Ring::new(cur.version() + 1, cur.consistency(), cur.distinct_zones(), members).map_err(Refused)?;
            self.ring = Some(next);
        }
        // Down: no longer waited for (see `rebalance_nodes`).
        self.members.get_mut(id).expect("checked above").state = NodeState::Stop;
        log::warn!("node {id} is down and given up during the rebalance to RING version {}", self.ring.as_ref().map_or(0, Ring::version));
        self.retiring.insert(id.to_owned());
        Ok(())
    }

    /// `rollback`: undo a `detach` not yet rebalanced.
    pub fn rollback(&mut self, id: &str) -> Result<(), Refused> {
        let in_ring = self.ring.as_ref().is_some_and(|r| r.member(id).is_some());
        match self.members.get_mut(id) {
            Some(m) if m.state == NodeState::Detached && in_ring && !self.rebalancing => {
                m.state = NodeState::Running;
                Ok(())
            }
            Some(m) => refuse(format!("'{id}' is {}; only a detached node whose rebalance has not begun can be rolled back", m.state.as_str())),
            None => refuse(format!("no such node '{id}'")),
        }
    }

    /// `rebalance`: the next RING (attached nodes in, detached ones out); data moves from the
    /// old owners to the new while reads consult both RINGs.
    pub fn rebalance(&mut self) -> Result<&Ring, Refused> {
        self.require_agreement()?;
        if self.rebalancing {
            return refuse("a rebalance is already running");
        }
        let Some(cur) = &self.ring else { return refuse("the cluster is not started") };
        let mut members: Vec<Member> = cur.members().iter().filter(|m| self.members.get(&m.id).is_none_or(|r| r.state != NodeState::Detached)).cloned().collect();
        let joining: Vec<Member> = self.members.values().filter(|m| m.info.role == NodeRole::Storage && m.state == NodeState::Attached).map(|m| member_of(&m.info)).collect();
        members.extend(joining.iter().cloned());
        if members.len() == cur.members().len() && joining.is_empty() {
            return refuse("nothing to rebalance: no node attached or detached");
        }
        let next = Ring::new(cur.version() + 1, cur.consistency(), cur.distinct_zones(), members).map_err(Refused)?;
        for m in &joining {
            self.members.get_mut(&m.id).expect("attached row").state = NodeState::Running;
        }
        self.previous = self.ring.replace(next);
        self.rebalancing = true;
        Ok(self.ring.as_ref().expect("just set"))
    }

    /// `takeover`: `to`, a storage node that joined as attached, replaces `from` in the next
    /// RING, every other member staying as it is, and the rebalance fills `to` from the
    /// owners of `from`'s keys. A `from` that is down (`stop`, or `suspend`) stays so: it
    /// serves nothing, its peers hand its keys over in its place, and the rebalance does not
    /// wait for it (the operator has given it up, with the repairs it held). A live `from`
    /// is detached: it serves and hands over until the rebalance completes, unless it falls
    /// silent meanwhile. When the rebalance completes, a `from` that is `stop` leaves the
    /// members table; one still alive stays, detached, and drops its copies.
    pub fn takeover(&mut self, from: &str, to: &str) -> Result<&Ring, Refused> {
        self.require_agreement()?;
        if self.rebalancing {
            return refuse("a rebalance is already running");
        }
        let Some(cur) = &self.ring else { return refuse("the cluster is not started") };
        if cur.member(from).is_none() {
            return refuse(format!("'{from}' is not in the RING"));
        }
        let to_info = match self.members.get(to) {
            Some(m) if m.info.role == NodeRole::Storage && m.state == NodeState::Attached => m.info.clone(),
            _ => return refuse(format!("'{to}' must be a storage node that has joined as attached")),
        };
        let mut members: Vec<Member> = cur.members().iter().filter(|m| m.id != from).cloned().collect();
        members.push(member_of(&to_info));
        let next = Ring::new(cur.version() + 1, cur.consistency(), cur.distinct_zones(), members).map_err(Refused)?;
        self.members.get_mut(to).expect("attached row").state = NodeState::Running;
        let old = self.members.get_mut(from).expect("ring member has a row");
        if old.state.serves() {
            old.state = NodeState::Detached;
        }
        self.retiring.insert(from.to_owned());
        self.previous = self.ring.replace(next);
        self.rebalancing = true;
        Ok(self.ring.as_ref().expect("just set"))
    }

    /// Nodes that take part in the running rebalance: members of either RING. A stopped
    /// node still counts (it may hold the only queued hand-over of some keys, and resumes
    /// when it restarts), so a rebalance waits for it; except a node being taken over,
    /// which counts only while it is alive.
    fn rebalance_nodes(&self) -> Vec<&MemberRec> {
        let (Some(cur), Some(prev)) = (&self.ring, &self.previous) else { return Vec::new() };
        let ids: BTreeSet<&str> = cur.members().iter().chain(prev.members()).map(|m| m.id.as_str()).collect();
        let given_up = |m: &MemberRec| self.retiring.contains(&m.info.id) && !(m.state.serves() || m.state == NodeState::Detached);
        ids.into_iter().filter_map(|id| self.members.get(id)).filter(|m| !given_up(m)).collect()
    }

    /// `(nodes done, nodes taking part, copies pending)` of the running rebalance.
    pub fn rebalance_progress(&self) -> Option<(usize, usize, u64)> {
        if !self.rebalancing {
            return None;
        }
        let version = self.ring.as_ref().map_or(0, Ring::version);
        let nodes = self.rebalance_nodes();
        let done = nodes.iter().filter(|m| m.rebalanced >= version).count();
        Some((done, nodes.len(), nodes.iter().map(|m| m.rebalance_pending).sum()))
    }

    /// Ends the rebalance once every node taking part has handed over its copies (each
    /// confirmed by its new owner): the previous RING goes, and nodes drop what they no
    /// longer own. Returns whether it ended.
    fn try_complete_rebalance(&mut self) -> bool {
        match self.rebalance_progress() {
            Some((done, all, _)) if done == all && all > 0 => {
                log::info!("rebalance to RING version {} complete", self.ring.as_ref().map_or(0, Ring::version));
                self.rebalancing = false;
                self.previous = None;
                // A node taken over or given up leaves the members table if it is down; a
                // live one stays detached, as after a detach, and drops its copies.
                for id in std::mem::take(&mut self.retiring) {
                    match self.members.get_mut(&id) {
                        Some(m) if m.state == NodeState::Stop => {
                            log::info!("node {id} was taken over or given up: removed from the cluster");
                            self.members.remove(&id);
                        }
                        Some(m) => m.state = NodeState::Detached,
                        None => {}
                    }
                }
                true
            }
            _ => false,
        }
    }

    /// `delete-bucket` of a bucket the catalog no longer has: every storage node deletes its
    /// objects older than `before_us` in the background, restart-safe (the job is in
    /// `cluster.db` until every node reports it done).
    pub fn delete_bucket_objects(&mut self, bucket: &str, before_us: u64) {
        self.deleting.insert(bucket.to_owned(), before_us);
    }

    /// `delete-bucket-stats`: per bucket being deleted, per storage node, (objects deleted,
    /// done).
    pub fn bucket_delete_progress(&self) -> BTreeMap<String, BTreeMap<String, (u64, bool)>> {
        self.deleting
            .keys()
            .map(|b| {
                let per_node = self.storage_nodes().map(|m| (m.info.id.clone(), m.bucket_deletes.get(b).copied().unwrap_or((0, false)))).collect();
                (b.clone(), per_node)
            })
            .collect()
    }

    /// Storage nodes that hold data: members of the RING (and of the previous one).
    fn storage_nodes(&self) -> impl Iterator<Item = &MemberRec> {
        let ids: std::collections::BTreeSet<&str> = self.ring.iter().chain(self.previous.iter()).flat_map(|r| r.members()).map(|m| m.id.as_str()).collect();
        self.members.values().filter(move |m| ids.contains(m.info.id.as_str()))
    }

    fn try_complete_bucket_deletes(&mut self) -> bool {
        let done: Vec<String> = self.deleting.keys().filter(|b| self.storage_nodes().all(|m| m.bucket_deletes.get(*b).is_some_and(|d| d.1))).cloned().collect();
        for b in &done {
            log::info!("bucket {b}: every node deleted its objects");
            self.deleting.remove(b);
        }
        !done.is_empty()
    }

    pub fn suspend(&mut self, id: &str) -> Result<(), Refused> {
        let Some(m) = self.members.get_mut(id) else {
            return refuse(format!("no such node '{id}'"));
        };
        match m.state {
            NodeState::Running | NodeState::Restarted => {
                m.state = NodeState::Suspend;
                Ok(())
            }
            s => refuse(format!(
                "node '{id}' is {}; only a running node can be suspended",
                s.as_str()
            )),
        }
    }

    pub fn resume(&mut self, id: &str) -> Result<(), Refused> {
        let Some(m) = self.members.get_mut(id) else {
            return refuse(format!("no such node '{id}'"));
        };
        match m.state {
            NodeState::Suspend => {
                // It may have missed writes while suspended: restarted until repairs drain.
                m.state = NodeState::Restarted;
                Ok(())
            }
            s => refuse(format!(
                "node '{id}' is {}; only a suspended node can be resumed",
                s.as_str()
            )),
        }
    }

    /// `update-consistency-level`: a new RING version with the same members.
    pub fn set_consistency(&mut self, c: Consistency) -> Result<(), Refused> {
        self.require_agreement()?;
        match &self.ring {
            None => {
                c.validate(c.n as usize).map_err(Refused)?;
                self.consistency = c;
                Ok(())
            }
            Some(r) => {
                if c.n != r.consistency().n {
                    return refuse(
                        "N cannot change on a running cluster (it would move data); W, R and D can",
                    );
                }
                let next = Ring::new(r.version() + 1, c, r.distinct_zones(), r.members().to_vec())
                    .map_err(Refused)?;
                self.previous = self.ring.replace(next);
                self.consistency = c;
                Ok(())
            }
        }
    }
}

/// The RING's view of a storage node.
pub fn member_of(info: &NodeInfo) -> Member {
    Member {
        id: info.id.clone(),
        rpc_addr: info.rpc_addr.clone(),
        shards: info.shards,
        zone: info.zone.clone(),
        weight: info.weight,
    }
}

#[cfg(test)]
mod tests;

//! The cluster roles: storage nodes serving RPC and replicating, gateways routing S3
//! requests over the RING, the manager tracking members, and the messages between them.
//!
//! Every node holds a [`View`] of the cluster (RING + node states) that its heartbeat task
//! refreshes from the manager; cores read it through a [`LocalView`], which touches shared
//! memory only when the view changed. The manager is never in the data path.

pub mod batch;
pub mod client;
pub mod frame_io;
pub mod heartbeat;
pub mod manager;
pub mod node_admin;
pub mod pool;
pub mod rebalance;
pub mod scrub;
pub mod storage;
pub mod sync;

use leofs_control::ring::{NodeState, Ring};
use parking_lot::RwLock;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The cluster as one node sees it.
pub struct View {
    pub ring: Ring,
    /// Per RING member (same index): its state, and shard 0's RPC address.
    pub states: Vec<NodeState>,
    pub addrs: Vec<Option<SocketAddr>>,
    pub all_states: BTreeMap<String, NodeState>,
    /// During a rebalance, the RING before it: reads consult its owners too.
    pub previous: Option<Box<View>>,
}

impl View {
    pub fn new(ring: Ring, all_states: BTreeMap<String, NodeState>) -> View {
        let states = ring.members().iter().map(|m| all_states.get(&m.id).copied().unwrap_or(NodeState::Running)).collect();
        let addrs = ring.members().iter().map(|m| m.rpc_addr.parse().ok()).collect();
        View { ring, states, addrs, all_states, previous: None }
    }

    /// This view with `previous` (the RING before a running rebalance).
    pub fn with_previous(mut self, previous: Option<Ring>) -> View {
        self.previous = previous.map(|p| Box::new(View::new(p, self.all_states.clone())));
        self
    }

    pub fn empty() -> View {
        View::new(Ring::empty(), BTreeMap::new())
    }

    /// The RPC address of member `m`'s shard that owns `key`.
    pub fn shard_addr(&self, m: usize, key: &[u8]) -> Option<SocketAddr> {
        let shards = self.ring.members()[m].shards.max(1) as usize;
        self.addrs[m].map(|a| port_plus(a, crate::shard::shard_of(key, shards)))
    }

    /// Whether member `m` takes requests: running or restarted, or detached but still in
    /// this RING (it serves until the rebalance that moves its data off completes).
    pub fn serving(&self, m: usize) -> bool {
        self.states[m].serves() || self.states[m] == NodeState::Detached
    }

    pub fn id(&self, m: usize) -> &str {
        &self.ring.members()[m].id
    }

    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.ring.members().iter().position(|m| m.id == id)
    }
}

pub fn port_plus(a: SocketAddr, shard: usize) -> SocketAddr {
    let mut a = a;
    a.set_port(a.port().wrapping_add(shard as u16));
    a
}

/// The view shared by a node's cores; replaced whole by the heartbeat task.
pub struct Shared {
    view: RwLock<Arc<View>>,
    epoch: AtomicU64,
    /// Repairs this node holds, by target node: one map per core, summed by heartbeats.
    pub mq: Vec<parking_lot::Mutex<BTreeMap<String, u64>>>,
    pub node_id: String,
    /// `mq-suspend`: queued repairs wait until `mq-resume`.
    pub mq_suspended: std::sync::atomic::AtomicBool,
    /// The latest anti-entropy run (`recover-node`, `recover-consistency`).
    pub recovery: parking_lot::Mutex<sync::RecoveryStatus>,
    /// `compact-start` bumps it (every shard compacts now); `compact-suspend` sets the flag.
    pub compact_requests: AtomicU64,
    pub compact_suspended: std::sync::atomic::AtomicBool,
    /// The RING version this node has handed its copies over for (rebalance), the copies
    /// still to hand over, and the version it has dropped non-owned copies for.
    pub rebalanced: AtomicU64,
    pub rebalance_pending: AtomicU64,
    pub purged: AtomicU64,
    /// Set once the manager has answered since this process started: until then the RING
    /// may be an old cached one, and nothing is dropped on its word.
    pub manager_synced: std::sync::atomic::AtomicBool,
    /// `delete-bucket` jobs the manager lists (bucket, objects older than µs), and this
    /// node's progress on each (objects deleted, done).
    pub delete_jobs: parking_lot::Mutex<Vec<(String, u64)>>,
    pub bucket_deletes: parking_lot::Mutex<BTreeMap<String, (u64, bool)>>,
    /// `diagnose-start` bumps it: scrub starts its next pass now.
    pub scrub_requests: AtomicU64,
    /// Scrub's counters, one per core.
    pub scrub: Vec<parking_lot::Mutex<scrub::ScrubStats>>,
}

impl Shared {
    pub fn new(node_id: String, cores: usize, view: View) -> Arc<Shared> {
        Arc::new(Shared {
            view: RwLock::new(Arc::new(view)),
            epoch: AtomicU64::new(1),
            mq: (0..cores).map(|_| Default::default()).collect(),
            node_id,
            mq_suspended: Default::default(),
            recovery: Default::default(),
            compact_requests: AtomicU64::new(0),
            compact_suspended: Default::default(),
            rebalanced: AtomicU64::new(0),
            rebalance_pending: AtomicU64::new(0),
            purged: AtomicU64::new(0),
            manager_synced: Default::default(),
            delete_jobs: Default::default(),
            bucket_deletes: Default::default(),
            scrub_requests: AtomicU64::new(0),
            scrub: (0..cores).map(|_| Default::default()).collect(),
        })
    }

    pub fn get(&self) -> Arc<View> {
        self.view.read().clone()
    }

    pub fn set(&self, v: View) {
        *self.view.write() = Arc::new(v);
        self.epoch.fetch_add(1, Ordering::Release);
    }

    pub fn scrub_total(&self) -> scrub::ScrubStats {
        let mut t = scrub::ScrubStats::default();
        for s in &self.scrub {
            let s = s.lock();
            t.passes += s.passes;
            t.records += s.records;
            t.bytes += s.bytes;
            t.corrupt += s.corrupt;
            t.repairs_requested += s.repairs_requested;
        }
        t
    }

    pub fn mq_total(&self) -> BTreeMap<String, u64> {
        let mut all = BTreeMap::new();
        for m in &self.mq {
            for (k, v) in m.lock().iter() {
                *all.entry(k.clone()).or_insert(0) += v;
            }
        }
        all.retain(|_, v| *v > 0);
        all
    }
}

/// A core's handle on the shared view: a cached `Arc`, refreshed when the epoch moves.
pub struct LocalView {
    shared: Arc<Shared>,
    cached: RefCell<(u64, Arc<View>)>,
}

impl LocalView {
    pub fn new(shared: Arc<Shared>) -> LocalView {
        let v = shared.get();
        LocalView { cached: RefCell::new((0, v)), shared }
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub fn get(&self) -> Arc<View> {
        let epoch = self.shared.epoch.load(Ordering::Acquire);
        let mut c = self.cached.borrow_mut();
        if c.0 != epoch {
            *c = (epoch, self.shared.get());
        }
        c.1.clone()
    }
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

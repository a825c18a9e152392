//! Anti-entropy: two replicas compare compact digests of the keys they should both hold,
//! then only the hash ranges whose digests differ key by key, and queue repairs both ways
//! for what differs. `recover-node` (a wiped node: every range differs) and
//! `recover-consistency` (a few ranges differ) are the same procedure; the transfer itself is
//! the repair queue's (durable, retried, batched).
//!
//! A key's range is the top 12 bits of its RING hash, so the 4096 ranges split the work
//! evenly whatever the key names look like.

use super::client::CALL_TIMEOUT;
use super::storage::{enqueue, StorageCore, MQ_PREFIX};
use super::View;
use leofs_control::cluster::{ControlReq, ControlResp, KeyDigest, KeyVersion};
use leofs_control::ring::Ring;
use leofs_engine::Entry;
use leofs_net::rpc::Op;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;
use xxhash_rust::xxh3::Xxh3;

pub const RANGES: usize = 4096;
/// Keys read from the index per step (between steps other work runs).
const STEP: usize = 4096;
/// Ranges asked for key by key in one request.
const RANGES_PER_REQUEST: usize = 64;

pub fn range_of(key: &[u8]) -> u16 {
    (Ring::key_hash(key) >> 52) as u16
}

fn entry_hash(key: &[u8], e: &Entry) -> u64 {
    let mut h = Xxh3::new();
    h.update(key);
    h.update(&e.version.timestamp_us.to_le_bytes());
    h.update(&e.version.tiebreak.to_le_bytes());
    h.update(&[u8::from(!e.is_live())]);
    h.digest()
}

/// Calls `f` for every key (tombstones included, repair-queue records excluded) that both
/// this node and `peer` should hold and whose range passes `want`, in key order.
async fn for_shared_keys(sc: &StorageCore, view: &View, peer: &str, want: impl Fn(u16) -> bool, mut f: impl FnMut(&[u8], &Entry, u16)) -> Result<(), String> {
    let me = &sc.view.shared().node_id;
    let mut after: Vec<u8> = Vec::new();
    loop {
        let batch = sc.shards.list_with(b"", &after, STEP, true).await.map_err(|e| e.to_string())?;
        let done = batch.len() < STEP;
        for (k, e) in &batch {
            if k.starts_with(MQ_PREFIX) {
                continue;
            }
            let r = range_of(k);
            if !want(r) {
                continue;
            }
            let pref = view.ring.preference_list(k);
            let names = |m: &usize| view.ring.members()[*m].id.as_str();
            if pref.iter().any(|m| names(m) == me) && pref.iter().any(|m| names(m) == peer) {
                f(k, e, r);
            }
        }
        match batch.last() {
            Some((k, _)) if !done => after = k.to_vec(),
            _ => return Ok(()),
        }
        leofs_rt::task::yield_now().await;
    }
}

/// This node's digests of the keys it shares with `peer`.
pub async fn digests(sc: &StorageCore, peer: &str) -> Result<Vec<KeyDigest>, String> {
    let view = sc.view.get();
    let mut d: BTreeMap<u16, (u64, u32)> = BTreeMap::new();
    for_shared_keys(sc, &view, peer, |_| true, |k, e, r| {
        let slot = d.entry(r).or_insert((0, 0));
        slot.0 ^= entry_hash(k, e);
        slot.1 += 1;
    })
    .await?;
    Ok(d.into_iter().map(|(range, (xor, count))| KeyDigest { range, xor, count }).collect())
}

/// This node's keys shared with `peer` in `ranges`.
pub async fn keys(sc: &StorageCore, peer: &str, ranges: &[u16]) -> Result<Vec<KeyVersion>, String> {
    let view = sc.view.get();
    let want: HashSet<u16> = ranges.iter().copied().collect();
    let mut out = Vec::new();
    for_shared_keys(sc, &view, peer, |r| want.contains(&r), |k, e, _| {
        out.push(KeyVersion { key: hex::encode(k), ts: e.version.timestamp_us, tb: e.version.tiebreak, dead: !e.is_live() });
    })
    .await?;
    Ok(out)
}

/// Progress of the latest recovery on this node, for `/v1/status`.
#[derive(Default, Clone, Debug, serde::Serialize)]
pub struct RecoveryStatus {
    pub running: bool,
    /// The RING version the latest run compared under, and whether a rebalance was running
    /// then (its hand-over still under way).
    pub ring_version: u64,
    pub during_rebalance: bool,
    pub peers_done: usize,
    pub peers: usize,
    pub ranges_differing: usize,
    /// Keys asked from peers, and keys queued here for peers.
    pub keys_requested: usize,
    pub keys_offered: usize,
    pub errors: Vec<String>,
}

async fn ask(sc: &StorageCore, view: &View, peer: usize, req: &ControlReq) -> Result<ControlResp, String> {
    let addr = view.addrs[peer].ok_or("no address")?;
    let body = serde_json::to_vec(req).expect("serialises");
    let (_, resp) = sc.pool.call_always(addr, Op::Control, vec![body], CALL_TIMEOUT * 3).await.map_err(|e| e.to_string())?;
    match serde_json::from_slice::<ControlResp>(&resp).map_err(|e| e.to_string())? {
        ControlResp::Error { code, message } => Err(format!("{code}: {message}")),
        other => Ok(other),
    }
}

/// Compares with every peer and queues repairs both ways for what differs.
pub async fn recover(sc: Rc<StorageCore>) {
    let shared = sc.view.shared().clone();
    let view = sc.view.get();
    let me = shared.node_id.clone();
    // Not a node on its way out: it is about to drop what it holds.
    let leaving = |m: usize| view.states[m] == leofs_control::ring::NodeState::Detached;
    let peers: Vec<usize> = (0..view.ring.members().len()).filter(|&m| view.ring.members()[m].id != me && !leaving(m)).collect();
    let set = |f: &dyn Fn(&mut RecoveryStatus)| f(&mut shared.recovery.lock());
    let (ring_version, during_rebalance) = (view.ring.version(), view.previous.is_some());
    set(&|s| *s = RecoveryStatus { running: true, peers: peers.len(), ring_version, during_rebalance, ..Default::default() });
    // Keys asked for so far, with the version asked for: a later peer holding a newer one
    // is asked too.
    let mut requested: HashMap<Vec<u8>, (u64, u32)> = HashMap::new();
    for m in peers {
        let peer = view.ring.members()[m].id.clone();
        if let Err(e) = recover_with(&sc, &view, m, &peer, &mut requested).await {
            log::warn!("recovery with {peer}: {e}");
            set(&|s| s.errors.push(format!("{peer}: {e}")));
        }
        set(&|s| s.peers_done += 1);
    }
    set(&|s| s.running = false);
    log::info!("recovery finished: {:?}", shared.recovery.lock());
}

async fn recover_with(sc: &StorageCore, view: &View, m: usize, peer: &str, requested: &mut HashMap<Vec<u8>, (u64, u32)>) -> Result<(), String> {
    let me = sc.view.shared().node_id.clone();
    let mine: BTreeMap<u16, KeyDigest> = digests(sc, peer).await?.into_iter().map(|d| (d.range, d)).collect();
    let theirs: BTreeMap<u16, KeyDigest> = match ask(sc, view, m, &ControlReq::Digests { peer: me.clone() }).await? {
        ControlResp::Digests { ranges } => ranges.into_iter().map(|d| (d.range, d)).collect(),
        other => return Err(format!("unexpected reply {other:?}")),
    };
    let differ: Vec<u16> = mine.keys().chain(theirs.keys()).copied().collect::<std::collections::BTreeSet<u16>>().into_iter().filter(|r| mine.get(r) != theirs.get(r)).collect();
    let shared = sc.view.shared().clone();
    shared.recovery.lock().ranges_differing += differ.len();
    for ranges in differ.chunks(RANGES_PER_REQUEST) {
        let their_keys = match ask(sc, view, m, &ControlReq::Keys { peer: me.clone(), ranges: ranges.to_vec() }).await? {
            ControlResp::Keys { entries } => entries,
            other => return Err(format!("unexpected reply {other:?}")),
        };
        let my_keys = keys(sc, peer, ranges).await?;
        let mine: BTreeMap<String, (u64, u32)> = my_keys.into_iter().map(|k| (k.key, (k.ts, k.tb))).collect();
        let theirs: BTreeMap<String, (u64, u32)> = their_keys.into_iter().map(|k| (k.key, (k.ts, k.tb))).collect();
        let mut want = Vec::new();
        for (k, v) in &theirs {
            if mine.get(k).is_none_or(|mv| mv < v) {
                let raw = hex::decode(k).map_err(|e| e.to_string())?;
                if requested.get(&raw).is_none_or(|asked| asked < v) {
                    requested.insert(raw, *v);
                    want.push(k.clone());
                }
            }
        }
        let mut offered = 0;
        for (k, v) in &mine {
            if theirs.get(k).is_none_or(|tv| tv < v) {
                enqueue(&sc.shards, peer, &hex::decode(k).map_err(|e| e.to_string())?).await;
                offered += 1;
            }
        }
        let n = want.len();
        if !want.is_empty() {
            ask(sc, view, m, &ControlReq::RepairMany { keys: want, target: me.clone() }).await?;
        }
        let mut s = shared.recovery.lock();
        s.keys_requested += n;
        s.keys_offered += offered;
    }
    Ok(())
}

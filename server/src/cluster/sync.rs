//! Anti-entropy: two replicas compare compact digests of the keys they should both hold,
//! then only the hash ranges whose digests differ key by key, and queue repairs both ways
//! for what differs. `recover-node` (a wiped node: every range differs) and
//! `recover-consistency` (a few ranges differ) are the same procedure; the transfer itself is
//! the repair queue's (durable, retried, batched).
//!
//! A key's range is the top 12 bits of its RING hash, so the 4096 ranges split the work
//! evenly whatever the key names look like.

use super::client::CALL_TIMEOUT;
use super::storage::{enqueue_many, StorageCore, MQ_PREFIX};
use super::View;
use leofs_control::cluster::{ControlReq, ControlResp, KeyDigest, KeyVersion};
use leofs_control::ring::Ring;
use leofs_engine::Entry;
use leofs_net::rpc::Op;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::rc::Rc;
use xxhash_rust::xxh3::Xxh3;

pub const RANGES: usize = 4096;
/// Keys read from the index per step (between steps other work runs).
const STEP: usize = 4096;
/// Ranges asked for key by key in one request.
const RANGES_PER_REQUEST: usize = 64;

/// A record's version as compared between replicas: (timestamp µs, tiebreak).
type KeyVer = (u64, u32);

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
    let mut out = Vec::new();
    each_key(sc, peer, ranges, |k, e| {
        out.push(KeyVersion { key: hex::encode(k), ts: e.version.timestamp_us, tb: e.version.tiebreak, dead: !e.is_live() });
    })
    .await?;
    Ok(out)
}

/// Calls `f` with each key (and its entry) in `ranges` that this node shares with `peer`.
async fn each_key(sc: &StorageCore, peer: &str, ranges: &[u16], mut f: impl FnMut(&[u8], &Entry)) -> Result<(), String> {
    let view = sc.view.get();
    let want: HashSet<u16> = ranges.iter().copied().collect();
    for_shared_keys(sc, &view, peer, |r| want.contains(&r), |k, e, _| f(k, e)).await
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

/// Compares with every peer at once and queues repairs both ways for what differs. A key
/// this node lacks is asked from one of the peers holding its newest version, picked by the
/// key's hash, so a wiped node is refilled by all its peers in parallel rather than by the
/// first one compared.
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
    let failed = |peer: &str, e: &str| {
        log::warn!("recovery with {peer}: {e}");
        set(&|s| s.errors.push(format!("{peer}: {e}")));
    };
    let name = |m: usize| view.ring.members()[m].id.clone();
    // 1. Digests, every peer at once: which ranges differ with whom.
    let compared = leofs_rt::task::join_all(peers.iter().map(|&m| differing_ranges(&sc, &view, m)).collect()).await;
    let mut differ: Vec<(usize, BTreeSet<u16>)> = Vec::new();
    for (&m, r) in peers.iter().zip(compared) {
        match r {
            Ok(ranges) => differ.push((m, ranges)),
            Err(e) => failed(&name(m), &e),
        }
    }
    let all: Vec<u16> = differ.iter().flat_map(|(_, r)| r.iter().copied()).collect::<BTreeSet<u16>>().into_iter().collect();
    set(&|s| s.ranges_differing = all.len());
    // 2. Key by key, a few ranges at a time (bounded memory), every peer at once.
    for ranges in all.chunks(RANGES_PER_REQUEST) {
        let asks: Vec<(usize, Vec<u16>)> = differ
            .iter()
            .map(|(m, d)| (*m, ranges.iter().copied().filter(|r| d.contains(r)).collect::<Vec<u16>>()))
            .filter(|(_, r)| !r.is_empty())
            .collect();
        let listed = leofs_rt::task::join_all(asks.iter().map(|(m, r)| compare_keys(&sc, &view, *m, r)).collect()).await;
        // The newest version of each key on any peer, with the peers holding it.
        let mut newest: BTreeMap<Vec<u8>, (KeyVer, Vec<usize>)> = BTreeMap::new();
        let mut offered = 0;
        for ((m, _), r) in asks.iter().zip(listed) {
            let (theirs, offers) = match r {
                Ok(v) => v,
                Err(e) => {
                    failed(&name(*m), &e);
                    differ.retain(|(p, _)| p != m);
                    continue;
                }
            };
            offered += offers.len();
            enqueue_many(&sc.shards, &name(*m), offers).await;
            for (k, v) in theirs {
                let slot = newest.entry(k).or_insert((v, Vec::new()));
                if v > slot.0 {
                    *slot = (v, Vec::new());
                }
                if v == slot.0 {
                    slot.1.push(*m);
                }
            }
        }
        let mut want: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        let mut n = 0;
        for (k, (_, holders)) in newest {
            let m = holders[(Ring::key_hash(&k) % holders.len() as u64) as usize];
            want.entry(m).or_default().push(hex::encode(&k));
            n += 1;
        }
        let (sc, view, me) = (&sc, &view, &me);
        let sent = leofs_rt::task::join_all(want.into_iter().map(|(m, keys)| async move { (m, ask(sc, view, m, &ControlReq::RepairMany { keys, target: me.clone() }).await) }).collect()).await;
        for (m, r) in sent {
            if let Err(e) = r {
                failed(&name(m), &e);
                differ.retain(|(p, _)| *p != m);
            }
        }
        set(&|s| {
            s.keys_requested += n;
            s.keys_offered += offered;
        });
    }
    set(&|s| {
        s.peers_done = s.peers;
        s.running = false;
    });
    log::info!("recovery finished: {:?}", shared.recovery.lock());
}

/// The ranges whose digests differ between this node and member `m`.
async fn differing_ranges(sc: &StorageCore, view: &View, m: usize) -> Result<BTreeSet<u16>, String> {
    let me = sc.view.shared().node_id.clone();
    let peer = &view.ring.members()[m].id;
    let mine: BTreeMap<u16, KeyDigest> = digests(sc, peer).await?.into_iter().map(|d| (d.range, d)).collect();
    let theirs: BTreeMap<u16, KeyDigest> = match ask(sc, view, m, &ControlReq::Digests { peer: me }).await? {
        ControlResp::Digests { ranges } => ranges.into_iter().map(|d| (d.range, d)).collect(),
        other => return Err(format!("unexpected reply {other:?}")),
    };
    Ok(mine.keys().chain(theirs.keys()).copied().filter(|r| mine.get(r) != theirs.get(r)).collect())
}

/// Member `m`'s keys in `ranges` that are newer there than here (with their versions), and
/// this node's keys that are newer here than there (to offer).
async fn compare_keys(sc: &StorageCore, view: &View, m: usize, ranges: &[u16]) -> Result<(Vec<(Vec<u8>, KeyVer)>, Vec<Vec<u8>>), String> {
    let me = sc.view.shared().node_id.clone();
    let peer = &view.ring.members()[m].id;
    let their_keys = match ask(sc, view, m, &ControlReq::Keys { peer: me, ranges: ranges.to_vec() }).await? {
        ControlResp::Keys { entries } => entries,
        other => return Err(format!("unexpected reply {other:?}")),
    };
    let decode = |k: KeyVersion| hex::decode(&k.key).map(|raw| (raw, (k.ts, k.tb))).map_err(|e| e.to_string());
    let mut mine: BTreeMap<Vec<u8>, KeyVer> = BTreeMap::new();
    each_key(sc, peer, ranges, |k, e| {
        mine.insert(k.to_vec(), (e.version.timestamp_us, e.version.tiebreak));
    })
    .await?;
    let theirs: BTreeMap<Vec<u8>, KeyVer> = their_keys.into_iter().map(decode).collect::<Result<_, _>>()?;
    let newer_there = theirs.iter().filter(|(k, v)| mine.get(*k).is_none_or(|mv| mv < *v)).map(|(k, v)| (k.clone(), *v)).collect();
    let newer_here = mine.iter().filter(|(k, v)| theirs.get(*k).is_none_or(|tv| tv < *v)).map(|(k, _)| k.clone()).collect();
    Ok((newer_there, newer_here))
}

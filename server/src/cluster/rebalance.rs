//! A storage node's part in a rebalance. While the manager's RING has a `previous` one,
//! each key's first serving owner under the previous RING queues the key for every owner
//! the new RING adds (the repair queue delivers, durably and with backoff); once all of
//! those are confirmed by their receivers, the node reports the new version as handed
//! over. When every node has, the manager ends the rebalance, and each node drops the
//! copies it no longer owns. Reads consult both RINGs meanwhile (see `client.rs`).
//!
//! A crash anywhere just repeats a step: queueing a key twice delivers it twice, which
//! last-writer-wins makes harmless, and a dropped copy that comes back after a crash is
//! dropped again.

use super::storage::{enqueue, StorageCore, MQ_PREFIX};
use super::View;
use leofs_control::ring::NodeState;
use leofs_engine::Entry;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const STEP: usize = 4096;

/// Runs on core 0 of a storage node until `stop`.
pub async fn run(sc: Rc<StorageCore>, stop: Arc<AtomicBool>) {
    let shared = sc.view.shared().clone();
    // The RING version this node joined the RING with (it was not in the previous one), and
    // the last version it compared itself with its peers for after joining.
    let (mut joined, mut compared) = (0u64, 0u64);
    let started_us = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64);
    while !stop.load(Ordering::Relaxed) {
        leofs_rt::task::sleep(Duration::from_millis(500)).await;
        if !shared.manager_synced.load(Ordering::Relaxed) {
            continue;
        }
        delete_buckets(&sc).await;
        let view = sc.view.get();
        let version = view.ring.version();
        if view.ring.members().is_empty() {
            continue;
        }
        match &view.previous {
            Some(prev) if shared.rebalanced.load(Ordering::Relaxed) < version => {
                if prev.index_of(&shared.node_id).is_none() && view.index_of(&shared.node_id).is_some() {
                    joined = version;
                }
                match hand_over(&sc, &view, prev, &stop).await {
                    Ok(()) => {
                        shared.rebalanced.store(version, Ordering::Relaxed);
                        shared.rebalance_pending.store(0, Ordering::Relaxed);
                        log::info!("rebalance to RING version {version}: every copy this node owed is delivered");
                    }
                    Err(e) => log::warn!("rebalance hand-over: {e}; retrying"),
                }
            }
            // Copies are dropped only once this node's repair queue is empty: a queued
            // hand-over or repair reads the local copy when it is delivered. A node that has
            // joined but is not in the RING yet (attached) keeps the copies written since it
            // started: peers routing with a RING that names it already (a rebalance it has
            // not heard of) send it its own keys.
            None if shared.purged.load(Ordering::Relaxed) < version && shared.mq_total().is_empty() => match purge(&sc, &view, (view.all_states.get(&shared.node_id) == Some(&NodeState::Attached)).then_some(started_us)).await {
                Ok(n) => {
                    shared.purged.store(version, Ordering::Relaxed);
                    // A node that never took part in a rebalance still counts as handed over.
                    shared.rebalanced.fetch_max(version, Ordering::Relaxed);
                    if n > 0 {
                        log::info!("RING version {version}: dropped {n} copies this node no longer owns");
                    }
                }
                Err(e) => log::warn!("dropping copies no longer owned: {e}"),
            },
            _ => {}
        }
        // Once the rebalance it joined in is over, a new owner compares itself with every
        // peer (anti-entropy, as recover-node) and fetches what the hand-over missed: a key
        // whose sender lacked it or held an older version, a write coordinated with the
        // previous RING after the sender's scan.
        if view.previous.is_none() && joined == version && compared < version && !shared.recovery.lock().running {
            compared = version;
            shared.recovery.lock().running = true;
            log::info!("RING version {version}: joined; comparing with every peer for what the hand-over missed");
            leofs_rt::task::spawn(super::sync::recover(sc.clone()));
        }
    }
}

/// Every key this node holds, with its entry, in key order, repair-queue records excluded.
async fn each_key(sc: &StorageCore, mut f: impl AsyncKeyFn) -> Result<(), String> {
    let mut after: Vec<u8> = Vec::new();
    loop {
        let batch = sc.shards.list_with(b"", &after, STEP, true).await.map_err(|e| e.to_string())?;
        let done = batch.len() < STEP;
        for (k, e) in &batch {
            if !k.starts_with(MQ_PREFIX) {
                f.call(k, e).await;
            }
        }
        match batch.last() {
            Some((k, _)) if !done => after = k.to_vec(),
            _ => return Ok(()),
        }
        leofs_rt::task::yield_now().await;
    }
}

/// An async callback over keys (a closure returning a future borrowing nothing).
trait AsyncKeyFn {
    async fn call(&mut self, key: &[u8], entry: &Entry);
}

struct Queue<'a> {
    sc: &'a StorageCore,
    view: &'a View,
    prev: &'a View,
    me: String,
    targets: BTreeSet<String>,
    queued: u64,
}

impl AsyncKeyFn for &mut Queue<'_> {
    async fn call(&mut self, key: &[u8], _: &Entry) {
        let old: Vec<usize> = self.prev.ring.preference_list(key);
        // The first serving old owner sends, so a key travels once per new owner.
        let Some(&sender) = old.iter().find(|&&m| self.prev.serving(m)) else { return };
        if self.prev.id(sender) != self.me {
            return;
        }
        let old_ids: BTreeSet<&str> = old.iter().map(|&m| self.prev.id(m)).collect();
        for m in self.view.ring.preference_list(key) {
            let id = self.view.id(m);
            if !old_ids.contains(id) {
                enqueue(&self.sc.shards, id, key).await;
                self.targets.insert(id.to_owned());
                self.queued += 1;
            }
        }
    }
}

/// Queues this node's share of the copies, then waits until the receivers confirmed them.
async fn hand_over(sc: &StorageCore, view: &View, prev: &View, stop: &AtomicBool) -> Result<(), String> {
    let shared = sc.view.shared().clone();
    let mut q = Queue { sc, view, prev, me: shared.node_id.clone(), targets: BTreeSet::new(), queued: 0 };
    each_key(sc, &mut q).await?;
    log::info!("rebalance to RING version {}: {} copies queued for {:?}", view.ring.version(), q.queued, q.targets);
    shared.rebalance_pending.store(q.queued, Ordering::Relaxed);
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err("stopping".into());
        }
        // The repair workers refresh the depth every pass; give them one first.
        leofs_rt::task::sleep(Duration::from_millis(500)).await;
        let mq = shared.mq_total();
        let pending: u64 = q.targets.iter().filter_map(|t| mq.get(t)).sum();
        shared.rebalance_pending.store(pending, Ordering::Relaxed);
        if pending == 0 {
            return Ok(());
        }
        if sc.view.get().ring.version() != view.ring.version() {
            return Err("the RING changed during the hand-over".into());
        }
    }
}

struct Purge<'a> {
    sc: &'a StorageCore,
    view: &'a View,
    me: String,
    dropped: u64,
    changed: bool,
    keep_since_us: Option<u64>,
}

impl AsyncKeyFn for &mut Purge<'_> {
    async fn call(&mut self, key: &[u8], entry: &Entry) {
        // A new RING (a rebalance begun meanwhile) may give this node the key: stop; the
        // next purge is under that RING.
        if self.changed || self.sc.view.get().ring.checksum() != self.view.ring.checksum() {
            self.changed = true;
            return;
        }
        if self.keep_since_us.is_some_and(|t| entry.version.timestamp_us >= t) {
            return;
        }
        let owns = self.view.ring.preference_list(key).into_iter().any(|m| self.view.id(m) == self.me);
        if !owns && self.sc.shards.forget(key.to_vec()).await.unwrap_or(false) {
            self.dropped += 1;
        }
    }
}

/// Drops the copies this node does not own under the current RING, except those whose
/// version is `keep_since_us` or later.
async fn purge(sc: &StorageCore, view: &View, keep_since_us: Option<u64>) -> Result<u64, String> {
    let mut p = Purge { sc, view, me: sc.view.shared().node_id.clone(), dropped: 0, changed: false, keep_since_us };
    each_key(sc, &mut p).await?;
    if p.changed {
        return Err(format!("the RING changed after {} copies were dropped; the next RING decides", p.dropped));
    }
    Ok(p.dropped)
}

/// Runs the `delete-bucket` jobs this node has not finished: every object of the bucket
/// older than the job (multipart uploads and parts included) gets a tombstone here. Each
/// replica deletes its own copies, so nothing travels between nodes; a node down meanwhile
/// does its part when it is back, since the manager keeps the job until every node is done.
async fn delete_buckets(sc: &StorageCore) {
    let shared = sc.view.shared().clone();
    let jobs = shared.delete_jobs.lock().clone();
    for (bucket, before_us) in jobs {
        if shared.bucket_deletes.lock().get(&bucket).is_some_and(|d| d.1) {
            continue;
        }
        let mut deleted = 0u64;
        let mut failed = false;
        // `bucket/key` objects, and multipart records (`bucket \0 ...`).
        for prefix in [format!("{bucket}/"), format!("{bucket}\0")] {
            let mut after: Vec<u8> = Vec::new();
            loop {
                let batch = match sc.shards.list_with(prefix.as_bytes(), &after, STEP, false).await {
                    Ok(b) => b,
                    Err(e) => {
                        log::warn!("delete-bucket {bucket}: {e}");
                        failed = true;
                        break;
                    }
                };
                for (k, e) in &batch {
                    if e.version.timestamp_us < before_us && sc.shards.delete(k.to_vec()).await.is_ok() {
                        deleted += 1;
                    }
                }
                shared.bucket_deletes.lock().entry(bucket.clone()).or_insert((0, false)).0 += deleted;
                deleted = 0;
                match batch.last() {
                    Some((k, _)) if batch.len() == STEP => after = k.to_vec(),
                    _ => break,
                }
                leofs_rt::task::yield_now().await;
            }
        }
        if !failed {
            let mut d = shared.bucket_deletes.lock();
            let entry = d.entry(bucket.clone()).or_insert((0, false));
            entry.1 = true;
            log::info!("delete-bucket {bucket}: {} objects deleted on this node", entry.0);
        }
    }
}

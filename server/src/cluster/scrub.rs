//! Background scrub, on by default at a low rate: each core reads every live record of its
//! shard and verifies its checksums; a record found corrupt is repaired from another replica
//! (a repair write replaces the equal version). After each full pass, core 0 also compares
//! digests with every peer (anti-entropy), which finds and repairs replicas that are
//! missing records altogether. Reads of a corrupt record fail on this node (the checksum is
//! verified before any byte is sent), so clients get the bytes from another replica meanwhile.

use super::client::CALL_TIMEOUT;
use super::storage::{StorageCore, MQ_PREFIX};
use leofs_control::cluster::ControlReq;
use leofs_engine::Error;
use leofs_net::rpc::Op;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Keys taken from the index per step.
const STEP: usize = 128;

/// What scrub did on one core, summed into the metrics.
#[derive(Default, Clone, Copy, Debug, serde::Serialize)]
pub struct ScrubStats {
    pub passes: u64,
    pub records: u64,
    pub bytes: u64,
    pub corrupt: u64,
    /// Repairs asked of other replicas for corrupt records.
    pub repairs_requested: u64,
}

/// Scrubs this core's shard at `bytes_per_sec`, pausing `pause` between passes. With a
/// rate of 0 scrub is off, and only `diagnose-start` runs a pass (at 64 MiB/s).
pub async fn run(sc: Rc<StorageCore>, stop: Arc<AtomicBool>, bytes_per_sec: u64, pause: Duration) {
    let off = bytes_per_sec == 0;
    let bytes_per_sec = if off { 64 << 20 } else { bytes_per_sec };
    let shared = sc.view.shared().clone();
    // Let the node join and settle before the first pass.
    let mut wait = pause.min(Duration::from_secs(5));
    let mut asked = shared.scrub_requests.load(Ordering::Relaxed);
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        while (off || t.elapsed() < wait) && !stop.load(Ordering::Relaxed) && shared.scrub_requests.load(Ordering::Relaxed) == asked {
            leofs_rt::task::sleep(Duration::from_millis(200)).await;
        }
        asked = shared.scrub_requests.load(Ordering::Relaxed);
        wait = pause;
        if stop.load(Ordering::Relaxed) {
            return;
        }
        pass(&sc, &stop, bytes_per_sec).await;
        shared.scrub[sc.core].lock().passes += 1;
        if sc.core == 0 && !sc.view.get().ring.members().is_empty() && !shared.recovery.lock().running {
            shared.recovery.lock().running = true;
            super::sync::recover(sc.clone()).await;
        }
    }
}

async fn pass(sc: &Rc<StorageCore>, stop: &AtomicBool, bytes_per_sec: u64) {
    let store = &sc.shards.local.store;
    let start = Instant::now();
    let mut done_bytes = 0u64;
    let mut after: Vec<u8> = Vec::new();
    loop {
        let batch = store.list(b"", &after, STEP);
        let last = batch.len() < STEP;
        for (key, entry) in &batch {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            if key.starts_with(MQ_PREFIX) {
                continue;
            }
            let r = verify(sc, key).await;
            {
                // Never held across an await: a scrape on this core takes the same lock.
                let mut s = sc.view.shared().scrub[sc.core].lock();
                s.records += 1;
                s.bytes += entry.size;
                if matches!(r, Err(Error::Corrupt(_))) {
                    s.corrupt += 1;
                }
            }
            match r {
                Ok(()) => {}
                Err(Error::Corrupt(why)) => {
                    log::error!("scrub: {} is corrupt on this node ({why}); asking another replica for it", String::from_utf8_lossy(key));
                    if request_repair(sc, key).await {
                        sc.view.shared().scrub[sc.core].lock().repairs_requested += 1;
                    }
                }
                Err(e) => log::warn!("scrub: reading {}: {e}", String::from_utf8_lossy(key)),
            }
            done_bytes += entry.size.max(4096);
            // Throttle: never ahead of the byte budget since the pass began.
            let due = Duration::from_secs_f64(done_bytes as f64 / bytes_per_sec as f64);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                leofs_rt::task::sleep(wait).await;
            }
        }
        match batch.last() {
            Some((k, _)) if !last => after = k.to_vec(),
            _ => return,
        }
    }
}

/// Reads the whole record from the disk (not the read cache), which verifies its checksums.
async fn verify(sc: &StorageCore, key: &[u8]) -> Result<(), Error> {
    let Some(mut got) = sc.shards.local.get_from_disk(key).await? else { return Ok(()) };
    while got.body.next().await?.is_some() {}
    Ok(())
}

/// Asks the first other serving replica of `key` to queue its copy for this node.
async fn request_repair(sc: &StorageCore, key: &[u8]) -> bool {
    let view = sc.view.get();
    let me = &sc.view.shared().node_id;
    let others = view.ring.preference_list(key).into_iter().filter(|&m| view.ring.members()[m].id != *me && view.serving(m));
    for m in others {
        let Some(addr) = view.addrs[m] else { continue };
        let body = serde_json::to_vec(&ControlReq::RepairMany { keys: vec![hex::encode(key)], target: me.clone() }).expect("serialises");
        match sc.pool.call_always(addr, Op::Control, vec![body], CALL_TIMEOUT).await {
            Ok(_) => return true,
            Err(e) => log::warn!("scrub: repair request to {}: {e}", view.ring.members()[m].id),
        }
    }
    false
}

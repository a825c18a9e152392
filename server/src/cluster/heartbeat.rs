//! Every node's link to the manager: a heartbeat every [`HEARTBEAT_MS`] carrying the
//! node's RING checksum, catalog generation and repair-queue depth; the reply brings a new
//! RING when the checksum differs, every node's state, and (gateways) the catalog when it
//! is behind. While the manager is unreachable the node keeps serving with what it has;
//! the last RING is also kept on disk (`ring.cache`) so a restart does not need the manager.

use super::frame_io::FrameError;
use super::pool::Pool;
use super::{Shared, View};
use leofs_control::cluster::{ControlReq, ControlResp, Heartbeat, NodeInfo, HEARTBEAT_MS};
use leofs_control::ring::Ring;
use leofs_control::Catalog;
use leofs_net::rpc::Op;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub struct Link {
    pub manager: SocketAddr,
    pub info: NodeInfo,
    /// Where the last RING is kept (storage nodes and gateways both keep one).
    pub ring_cache: PathBuf,
    /// A gateway's catalog replica.
    pub catalog: Option<Catalog>,
}

/// Loads the cached RING, if any (a damaged cache is ignored: the manager sends a new one).
pub fn load_cached_ring(path: &std::path::Path) -> Option<Ring> {
    let bytes = std::fs::read(path).ok()?;
    match Ring::decode(&bytes) {
        Ok(r) => Some(r),
        Err(e) => {
            log::warn!("ignoring {}: {e}", path.display());
            None
        }
    }
}

fn save_ring(path: &std::path::Path, ring: &Ring) {
    let tmp = path.with_extension("tmp");
    let r = std::fs::write(&tmp, ring.encode())
        .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = r {
        log::warn!("cannot save the RING to {}: {e}", path.display());
    }
}

fn checksum_of(v: &View) -> u64 {
    if v.ring.members().is_empty() {
        0
    } else {
        v.ring.checksum()
    }
}

/// Sends one heartbeat and applies the reply.
pub async fn beat(link: &Link, shared: &Shared, pool: &Pool) -> Result<(), FrameError> {
    let view = shared.get();
    let hb = Heartbeat {
        node: link.info.clone(),
        ring_checksum: checksum_of(&view),
        catalog_generation: link.catalog.as_ref().map_or(0, Catalog::generation),
        mq: shared.mq_total(),
        objects: 0,
        rebalanced: shared.rebalanced.load(Ordering::Relaxed),
        rebalance_pending: shared.rebalance_pending.load(Ordering::Relaxed),
        bucket_deletes: shared.bucket_deletes.lock().clone(),
    };
    let body = serde_json::to_vec(&ControlReq::Heartbeat(hb)).expect("serialises");
    let (_, resp) = pool.call_always(link.manager, Op::Control, vec![body], Duration::from_secs(2)).await?;
    let reply = match serde_json::from_slice::<ControlResp>(&resp) {
        Ok(ControlResp::Heartbeat(r)) => r,
        Ok(other) => return Err(FrameError::Frame(leofs_net::rpc::RpcError::Invalid(format!("unexpected reply {other:?}")))),
        Err(e) => return Err(FrameError::Frame(leofs_net::rpc::RpcError::Invalid(e.to_string()))),
    };
    let decode = |h: &String| hex::decode(h).map_err(|e| e.to_string()).and_then(|b| Ring::decode(&b));
    let ring = match &reply.ring {
        Some(h) => match decode(h) {
            Ok(ring) => {
                log::info!("RING version {} (checksum {:016x}) from the manager", ring.version(), ring.checksum());
                save_ring(&link.ring_cache, &ring);
                Some(ring)
            }
            Err(e) => {
                log::error!("the manager sent a RING that does not decode: {e}");
                None
            }
        },
        None => None,
    };
    let previous = match (&reply.previous, reply.rebalancing) {
        (Some(h), true) => match decode(h) {
            Ok(p) => Some(p),
            Err(e) => {
                log::error!("the manager sent a previous RING that does not decode: {e}");
                view.previous.as_ref().map(|p| p.ring.clone())
            }
        },
        _ => None,
    };
    let prev_sum = |p: &Option<Ring>| p.as_ref().map(Ring::checksum);
    let had_prev = prev_sum(&view.previous.as_ref().map(|p| p.ring.clone()));
    if ring.is_some() || view.all_states != reply.states || had_prev != prev_sum(&previous) {
        let ring = ring.unwrap_or_else(|| view.ring.clone());
        shared.set(View::new(ring, reply.states.clone()).with_previous(previous));
    }
    *shared.delete_jobs.lock() = reply.delete_buckets.clone();
    shared.bucket_deletes.lock().retain(|b, _| reply.delete_buckets.iter().any(|(j, _)| j == b));
    shared.manager_synced.store(true, Ordering::Relaxed);
    if let (Some(cat), Some(snap)) = (&link.catalog, &reply.catalog) {
        match hex::decode(snap).map_err(|e| e.to_string()).and_then(|b| cat.install(&b).map_err(|e| e.to_string())) {
            Ok(true) => log::info!("catalog generation {} from the manager", cat.generation()),
            Ok(false) => {}
            Err(e) => log::error!("catalog snapshot from the manager: {e}"),
        }
    }
    if let Ok(level) = reply.log_level.parse::<log::LevelFilter>() {
        if log::max_level() != level {
            log::set_max_level(level);
        }
    }
    Ok(())
}

/// Heartbeats until `stop`; logs when the manager becomes unreachable and when it is back.
pub async fn run(link: Link, shared: Arc<Shared>, stop: Arc<AtomicBool>) {
    let pool = Pool::new();
    let mut down = false;
    while !stop.load(Ordering::Relaxed) {
        match beat(&link, &shared, &pool).await {
            Ok(()) if down => {
                log::info!("manager {} reachable again", link.manager);
                down = false;
            }
            Ok(()) => {}
            Err(e) if !down => {
                log::warn!("manager {} unreachable ({e}); serving with the cached RING", link.manager);
                down = true;
            }
            Err(_) => {}
        }
        leofs_rt::task::sleep(Duration::from_millis(HEARTBEAT_MS)).await;
    }
}

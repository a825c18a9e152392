//! The admin API of a storage node or gateway: `/metrics` and `/v1/status` as on every
//! process, but no catalog changes — users and buckets belong to the manager, and a
//! change made on a node's local copy would be overwritten (or, worse, block newer
//! snapshots from the manager).

use super::Shared;
use crate::admin::api::Reply;
use crate::admin::AdminExt;
use serde_json::json;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

pub struct NodeAdmin {
    pub role: &'static str,
    pub shared: Arc<Shared>,
    pub manager: SocketAddr,
}

impl AdminExt for NodeAdmin {
    fn handle<'a>(&'a self, method: &'a str, target: &'a str, _body: &'a [u8]) -> Pin<Box<dyn Future<Output = Option<Reply>> + 'a>> {
        Box::pin(async move {
            let path = target.split_once('?').map_or(target, |(p, _)| p).trim_end_matches('/');
            if path == "/v1/status" && (method == "GET" || method == "HEAD") {
                let v = self.shared.get();
                let ring = if v.ring.members().is_empty() { None } else { Some(format!("{:016x}", v.ring.checksum())) };
                return Some(Reply::ok(
                    200,
                    json!({
                        "version": env!("CARGO_PKG_VERSION"),
                        "node": self.shared.node_id,
                        "role": self.role,
                        "manager": self.manager.to_string(),
                        "ring_version": v.ring.version(),
                        "ring_checksum": ring,
                        "states": v.all_states,
                        "repairs_held": self.shared.mq_total(),
                        "scrub": self.shared.scrub_total(),
                        "recovery": self.shared.recovery.lock().clone(),
                    }),
                ));
            }
            if path.starts_with("/v1/") {
                return Some(Reply::error(
                    409,
                    "ManagedByManager",
                    &format!("{} is a cluster {}: users, keys and buckets are managed on the manager (its admin API, not {})", self.shared.node_id, self.role, self.manager),
                ));
            }
            None
        })
    }

    fn cluster_gauges(&self) -> Option<crate::metrics::ClusterGauges> {
        let v = self.shared.get();
        let has_ring = !v.ring.members().is_empty();
        Some(crate::metrics::ClusterGauges {
            ring_version: v.ring.version(),
            ring_checksum: if has_ring { format!("{:016x}", v.ring.checksum()) } else { String::new() },
            states: v.all_states.iter().map(|(n, s)| (n.clone(), s.as_str().to_owned())).collect(),
            repairs: self.shared.mq_total().into_iter().collect(),
            stale_nodes: None,
            scrub: (self.role == "storage").then(|| {
                let s = self.shared.scrub_total();
                [s.passes, s.records, s.bytes, s.corrupt]
            }),
        })
    }
}

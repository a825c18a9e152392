//! `leofs manager`: the members table, the RING, node health and the catalog, on one
//! thread. Nodes reach it with heartbeats over RPC `Control` frames; operators through the
//! admin API (`leofs-adm`). It is never in the data path: nodes keep serving with their
//! cached RING and catalog while it is down, and a restarted manager loads `cluster.db`
//! and `catalog/catalog.db` and carries on.

use super::client::CALL_TIMEOUT;
use super::frame_io::{FrameConn, FrameError};
use super::pool::Pool;
use super::{now_ms, View};
use crate::admin::api::Reply;
use crate::config::ServerConfig;
use leofs_control::cluster::{CatalogOp, Cluster, ControlReq, ControlResp, NodeRole, HEARTBEAT_MS};
use leofs_control::ring::Consistency;
use leofs_control::{Catalog, CatalogError};
use leofs_net::rpc::{Op, ReadReq, ReadResp, Status};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const FILE: &str = "cluster.db";

pub struct Manager {
    pub cluster: RefCell<Cluster>,
    /// Nodes to be sent the RING with their next heartbeat whatever they report
    /// (`recover-ring`).
    force_ring: RefCell<std::collections::HashSet<String>>,
    pub catalog: Catalog,
    dir: PathBuf,
    generation: std::cell::Cell<u64>,
    pool: Pool,
}

impl Manager {
    /// Loads `cluster.db` from `dir` (an empty cluster if there is none).
    pub fn load(dir: &std::path::Path) -> Result<(u64, Cluster), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        match leofs_control::store::read_named(dir, FILE).map_err(|e| e.to_string())? {
            None => Ok((0, Cluster::default())),
            Some((g, body)) => Ok((g, Cluster::from_json(&body, now_ms()).map_err(|e| format!("{}: {e}", dir.join(FILE).display()))?)),
        }
    }

    pub fn new(dir: &std::path::Path, loaded: (u64, Cluster), catalog: Catalog) -> Manager {
        let (generation, cluster) = loaded;
        Manager { cluster: RefCell::new(cluster), force_ring: Default::default(), catalog, dir: dir.to_owned(), generation: std::cell::Cell::new(generation), pool: Pool::new() }
    }

    /// Writes the cluster state durably (atomic replace).
    fn persist(&self) -> Result<(), String> {
        let g = self.generation.get() + 1;
        let body = self.cluster.borrow().to_json();
        leofs_control::store::write_named(&self.dir, FILE, g, &body).map_err(|e| e.to_string())?;
        self.generation.set(g);
        Ok(())
    }

    fn persist_logged(&self) {
        if let Err(e) = self.persist() {
            log::error!("cannot persist the cluster state: {e}");
        }
    }

    fn control(&self, req: ControlReq) -> ControlResp {
        match req {
            ControlReq::Heartbeat(hb) => {
                let behind = hb.node.role == NodeRole::Gateway && hb.catalog_generation < self.catalog.generation();
                let id = hb.node.id.clone();
                let (mut reply, changed) = self.cluster.borrow_mut().heartbeat(hb, now_ms());
                if self.force_ring.borrow_mut().remove(&id) {
                    reply.ring = self.cluster.borrow().ring.as_ref().map(|r| hex::encode(r.encode()));
                }
                if changed {
                    self.persist_logged();
                }
                if behind {
                    match self.catalog.snapshot() {
                        Ok((_, bytes)) => reply.catalog = Some(hex::encode(bytes)),
                        Err(e) => log::error!("catalog snapshot: {e}"),
                    }
                }
                ControlResp::Heartbeat(reply)
            }
            ControlReq::Catalog(op) => match self.apply(op) {
                Ok(()) => match self.catalog.snapshot() {
                    Ok((_, bytes)) => ControlResp::Catalog { snapshot: hex::encode(bytes) },
                    Err(e) => ControlResp::Error { code: "Internal".into(), message: e.to_string() },
                },
                Err(e) => ControlResp::Error { code: error_code(&e).into(), message: e.to_string() },
            },
            _ => ControlResp::Error { code: "Invalid".into(), message: "the manager takes heartbeats and catalog changes only".into() },
        }
    }

    fn apply(&self, op: CatalogOp) -> Result<(), CatalogError> {
        match op {
            CatalogOp::CreateBucket { name, owner, acl, location } => self.catalog.create_bucket(&name, &owner, acl, Some(&location)).map(|_| ()),
            CatalogOp::DeleteBucket { name } => self.catalog.delete_bucket(&name).map(|_| ()),
            CatalogOp::SetAcl { name, acl } => self.catalog.set_acl(&name, acl).map(|_| ()),
        }
    }

    /// `GET /v1/cluster`: members, states, RING checksums (LeoFS's `status`).
    fn status_json(&self) -> Value {
        let c = self.cluster.borrow();
        let sum = c.ring_checksum();
        let nodes: Vec<Value> = c
            .members
            .values()
            .map(|m| {
                json!({
                    "id": m.info.id, "role": m.info.role, "state": m.state.as_str(), "rpc_addr": m.info.rpc_addr,
                    "s3_addr": m.info.s3_addr, "admin_addr": m.info.admin_addr, "shards": m.info.shards, "zone": m.info.zone,
                    "weight": m.info.weight, "ring_checksum": format!("{:016x}", m.ring_checksum),
                    "ring_ok": m.ring_checksum == sum, "rebalance_pending": m.rebalance_pending, "repairs_held": m.mq.values().sum::<u64>(), "repairs_pending_for": c.pending_for(&m.info.id),
                })
            })
            .collect();
        let cons = c.ring.as_ref().map_or(c.consistency, |r| r.consistency());
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "started": c.ring.is_some(),
            "ring_version": c.ring.as_ref().map_or(0, |r| r.version()),
            "ring_checksum": format!("{sum:016x}"),
            "previous_ring_checksum": c.previous.as_ref().map(|r| format!("{:016x}", r.checksum())),
            "consistency": {"n": cons.n, "w": cons.w, "r": cons.r, "d": cons.d},
            "stale_nodes": c.stale_nodes(),
            "rebalance": c.rebalance_progress().map(|(done, all, pending)| json!({"nodes_done": done, "nodes": all, "copies_pending": pending, "taken_over": c.retiring})),
            "nodes": nodes,
        })
    }

    fn ring_json(&self) -> Value {
        let c = self.cluster.borrow();
        let Some(r) = &c.ring else { return json!({"started": false}) };
        let own = r.ownership();
        let members: Vec<Value> = r.members().iter().zip(own).map(|(m, o)| json!({"id": m.id, "rpc_addr": m.rpc_addr, "shards": m.shards, "zone": m.zone, "weight": m.weight, "ownership": o})).collect();
        json!({"version": r.version(), "checksum": format!("{:016x}", r.checksum()), "encoding_hex": hex::encode(r.encode()), "members": members})
    }

    /// `whereis`: the key's replicas and what each holds.
    async fn whereis(&self, key: &[u8]) -> Value {
        let (view, list) = {
            let c = self.cluster.borrow();
            let Some(r) = &c.ring else { return json!({"error": "the cluster is not started"}) };
            let view = View::new(r.clone(), c.states());
            let list = r.preference_list(key);
            (view, list)
        };
        let mut out = Vec::new();
        for m in list {
            let id = view.ring.members()[m].id.clone();
            let mut body = Vec::new();
            ReadReq { key: key.to_vec(), meta_only: true }.encode(&mut body);
            let r = match view.shard_addr(m, key) {
                Some(addr) => self.pool.call(addr, Op::Read, vec![body], CALL_TIMEOUT).await,
                None => Err(FrameError::Remote(Status::Unavailable, "no address".into())),
            };
            out.push(match r {
                Ok((h, _)) if h.status == Status::NotFound => json!({"node": id, "state": view.states[m].as_str(), "present": false}),
                Ok((_, b)) => match ReadResp::decode_body(&b) {
                    Ok((resp, _)) => {
                        let e = resp.entry;
                        json!({"node": id, "state": view.states[m].as_str(), "present": !e.tombstone, "deleted": e.tombstone, "size": e.size,
                               "etag": hex::encode(e.md5), "version_us": e.version.timestamp_us, "tiebreak": e.version.tiebreak})
                    }
                    Err(err) => json!({"node": id, "error": err.to_string()}),
                },
                Err(e) => json!({"node": id, "state": view.states[m].as_str(), "error": e.to_string()}),
            });
        }
        json!({"key": String::from_utf8_lossy(key), "replicas": out})
    }

    /// The cluster endpoints of the admin API; `None` for paths that are not theirs.
    pub fn handle<'a>(&'a self, method: &'a str, target: &'a str, body: &'a [u8]) -> Pin<Box<dyn Future<Output = Option<Reply>> + 'a>> {
        Box::pin(async move {
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
            let reply = match (method, segs.as_slice()) {
                ("GET", ["v1", "cluster"]) => Reply::ok(200, self.status_json()),
                ("GET", ["v1", "ring"]) => Reply::ok(200, self.ring_json()),
                ("POST", ["v1", "cluster", "start"]) => self.command(|c| c.start().map(|r| json!({"ring_version": r.version(), "members": r.members().len()}))),
                ("POST", ["v1", "nodes", id, "suspend"]) => self.command(|c| c.suspend(id).map(|()| json!({"node": id, "state": "suspend"}))),
                ("POST", ["v1", "nodes", id, "resume"]) => self.command(|c| c.resume(id).map(|()| json!({"node": id, "state": "restarted"}))),
                ("PUT", ["v1", "consistency"]) => match serde_json::from_slice::<Consistency>(body) {
                    Ok(cons) => self.command(|c| c.set_consistency(cons).map(|()| json!({"n": cons.n, "w": cons.w, "r": cons.r, "d": cons.d}))),
                    Err(e) => Reply::error(400, "BadRequest", &format!("expected {{\"n\":..,\"w\":..,\"r\":..,\"d\":..}}: {e}")),
                },
                ("PUT", ["v1", "log-level"]) => match serde_json::from_slice::<Value>(body).ok().and_then(|v| v["level"].as_str().map(str::to_owned)) {
                    Some(l) if l.parse::<log::LevelFilter>().is_ok() => self.command(|c| {
                        c.log_level = l.to_ascii_lowercase();
                        Ok(json!({"level": c.log_level}))
                    }),
                    _ => Reply::error(400, "BadRequest", "expected {\"level\": \"error|warn|info|debug|trace\"}"),
                },
                ("GET", ["v1", "whereis"]) => {
                    let key = query.split('&').find_map(|kv| kv.strip_prefix("key=")).unwrap_or("");
                    let key = percent_encoding::percent_decode_str(key).collect::<Vec<u8>>();
                    if key.is_empty() {
                        Reply::error(400, "BadRequest", "whereis needs ?key=<bucket>/<key>")
                    } else {
                        Reply::ok(200, self.whereis(&key).await)
                    }
                }
                ("POST", ["v1", "nodes", id, "detach"]) => self.command(|c| {
                    c.detach(id, now_ms()).map(|given_up| match given_up {
                        false => json!({"node": id, "state": "detached", "next": "run rebalance to move its data off"}),
                        true => json!({"node": id, "state": "given up", "next": "the running rebalance no longer waits for it; it leaves the cluster when the rebalance completes"}),
                    })
                }),
                ("POST", ["v1", "nodes", id, "rollback"]) => self.command(|c| c.rollback(id).map(|()| json!({"node": id, "state": "running"}))),
                ("POST", ["v1", "rebalance"]) => self.command(|c| c.rebalance().map(|r| json!({"ring_version": r.version(), "members": r.members().len()}))),
                ("POST", ["v1", "takeover", from, to]) => self.command(|c| c.takeover(from, to).map(|r| json!({"from": from, "to": to, "ring_version": r.version()}))),
                ("DELETE", ["v1", "buckets", name]) => self.delete_bucket(name, body),
                ("GET", ["v1", "buckets-deleting"]) => {
                    let progress = self.cluster.borrow().bucket_delete_progress();
                    let v: serde_json::Map<String, Value> = progress
                        .into_iter()
                        .map(|(b, nodes)| {
                            let per: serde_json::Map<String, Value> = nodes.into_iter().map(|(n, (count, done))| (n, json!({"deleted": count, "done": done}))).collect();
                            (b, Value::Object(per))
                        })
                        .collect();
                    Reply::ok(200, json!({"deleting": v}))
                }
                ("POST", ["v1", "nodes", id, "recover"]) => self.to_node(id, &ControlReq::Recover).await,
                ("POST", ["v1", "nodes", id, "mq-suspend"]) => self.to_node(id, &ControlReq::MqSuspend { suspended: true }).await,
                ("POST", ["v1", "nodes", id, "mq-resume"]) => self.to_node(id, &ControlReq::MqSuspend { suspended: false }).await,
                ("POST", ["v1", "nodes", id, "compact", action]) => self.to_node(id, &ControlReq::Compact { action: (*action).to_owned() }).await,
                ("GET", ["v1", "nodes", id, "du"]) => self.to_node(id, &ControlReq::Du).await,
                ("POST", ["v1", "nodes", id, "diagnose"]) => self.to_node(id, &ControlReq::Diagnose).await,
                ("POST", ["v1", "nodes", id, "recover-ring"]) => {
                    if !self.cluster.borrow().members.contains_key(*id) {
                        Reply::error(404, "NoSuchNode", &format!("no such node '{id}'"))
                    } else {
                        self.force_ring.borrow_mut().insert((*id).to_owned());
                        Reply::ok(200, json!({"node": id, "ring": "sent with its next heartbeat"}))
                    }
                }
                ("POST", ["v1", "recover-file"]) => {
                    let key = query.split('&').find_map(|kv| kv.strip_prefix("key=")).unwrap_or("");
                    let key = percent_encoding::percent_decode_str(key).collect::<Vec<u8>>();
                    if key.is_empty() {
                        Reply::error(400, "BadRequest", "recover-file needs ?key=<bucket>/<key>")
                    } else {
                        self.recover_file(&key).await
                    }
                }
                ("GET", ["v1", "mq"]) => {
                    let c = self.cluster.borrow();
                    let held: Value = c.members.values().map(|m| (m.info.id.clone(), json!(m.mq))).collect::<serde_json::Map<_, _>>().into();
                    Reply::ok(200, json!({"held_by": held}))
                }
                _ => return None,
            };
            Some(reply)
        })
    }

    /// Sends a control message to storage node `id` (its shard 0) and relays the answer.
    async fn to_node(&self, id: &str, req: &ControlReq) -> Reply {
        let addr = {
            let c = self.cluster.borrow();
            match c.members.get(id) {
                Some(m) if m.info.role == NodeRole::Storage => m.info.rpc_addr.parse::<std::net::SocketAddr>().ok(),
                Some(_) => return Reply::error(400, "NotStorage", &format!("'{id}' is not a storage node")),
                None => return Reply::error(404, "NoSuchNode", &format!("no such node '{id}'")),
            }
        };
        let Some(addr) = addr else { return Reply::error(500, "InternalError", "the node's RPC address does not parse") };
        let body = serde_json::to_vec(req).expect("serialises");
        match self.pool.call_always(addr, Op::Control, vec![body], CALL_TIMEOUT).await {
            Ok((_, resp)) => match serde_json::from_slice::<ControlResp>(&resp) {
                Ok(ControlResp::Ok) => Reply::ok(200, json!({"node": id, "ok": true})),
                Ok(ControlResp::Info { info }) => Reply::ok(200, info),
                Ok(ControlResp::Error { code, message }) => Reply::error(409, &code, &message),
                Ok(other) => Reply::error(502, "BadGateway", &format!("unexpected reply from {id}: {other:?}")),
                Err(e) => Reply::error(502, "BadGateway", &format!("bad reply from {id}: {e}")),
            },
            Err(FrameError::Remote(status, msg)) => Reply::error(409, status.as_str(), &msg),
            Err(e) => Reply::error(503, "NodeUnreachable", &format!("{id}: {e}")),
        }
    }

    /// `delete-bucket`: the bucket leaves the catalog now (S3 clients see NoSuchBucket), and
    /// every storage node deletes its objects in the background, restart-safe; progress at
    /// `GET /v1/buckets-deleting`. A body `{"access_key_id"}` or `{"owner"}` must name the
    /// owner (LeoFS's `delete-bucket <bucket> <access-key-id>`).
    fn delete_bucket(&self, name: &str, body: &[u8]) -> Reply {
        let who: Value = if body.is_empty() { json!({}) } else { serde_json::from_slice(body).unwrap_or(json!({})) };
        let Some(bucket) = self.catalog.bucket(name) else { return Reply::error(404, "NoSuchBucket", &format!("no such bucket '{name}'")) };
        let owner = match (who["owner"].as_str(), who["access_key_id"].as_str()) {
            (Some(o), _) => Some(o.to_owned()),
            (None, Some(k)) => match self.catalog.lookup_key(k) {
                Some((_, u)) => Some(u.id),
                None => return Reply::error(404, "NoSuchAccessKey", &format!("no such access key '{k}'")),
            },
            (None, None) => None,
        };
        if owner.as_ref().is_some_and(|o| *o != bucket.owner) {
            return Reply::error(403, "AccessDenied", &format!("bucket '{name}' is owned by user '{}'", bucket.owner));
        }
        if let Err(e) = self.catalog.delete_bucket(name) {
            return Reply::error(409, "CatalogError", &e.to_string());
        }
        let now_us = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0);
        self.command(|c| {
            c.delete_bucket_objects(name, now_us);
            Ok(json!({"bucket": name, "deleted": true, "objects": "being deleted in the background (delete-bucket-stats)"}))
        })
    }

    /// `recover-file`: the replica holding the newest version queues it for the others.
    async fn recover_file(&self, key: &[u8]) -> Reply {
        let w = self.whereis(key).await;
        let Some(reps) = w["replicas"].as_array() else { return Reply::ok(409, w) };
        let version = |r: &Value| (r["version_us"].as_u64(), r["tiebreak"].as_u64());
        let newest = reps.iter().filter(|r| r["version_us"].is_u64()).max_by_key(|r| version(r));
        let Some(newest) = newest else { return Reply::error(404, "NoSuchKey", "no replica holds this key") };
        let holder = newest["node"].as_str().unwrap_or_default().to_owned();
        let stale: Vec<String> = reps.iter().filter(|r| version(r) != version(newest)).filter_map(|r| r["node"].as_str().map(str::to_owned)).collect();
        if stale.is_empty() {
            return Reply::ok(200, json!({"key": String::from_utf8_lossy(key), "repaired": [], "note": "every replica holds the newest version"}));
        }
        let r = self.to_node(&holder, &ControlReq::Repair { key: hex::encode(key), targets: stale.clone() }).await;
        if r.status != 200 {
            return r;
        }
        Reply::ok(200, json!({"key": String::from_utf8_lossy(key), "source": holder, "repaired": stale}))
    }

    fn command(&self, f: impl FnOnce(&mut Cluster) -> Result<Value, leofs_control::cluster::Refused>) -> Reply {
        let r = f(&mut self.cluster.borrow_mut());
        match r {
            Ok(v) => {
                if let Err(e) = self.persist() {
                    return Reply::error(500, "InternalError", &format!("cannot persist the cluster state: {e}"));
                }
                Reply::ok(200, v)
            }
            Err(e) => Reply::error(409, "Refused", &e.0),
        }
    }
}

fn error_code(e: &CatalogError) -> &'static str {
    match e {
        CatalogError::BucketAlreadyExists { .. } => "BucketAlreadyExists",
        CatalogError::BucketAlreadyOwnedByYou { .. } => "BucketAlreadyOwnedByYou",
        CatalogError::NoSuchBucket { .. } => "NoSuchBucket",
        CatalogError::InvalidBucketName { .. } => "InvalidBucketName",
        CatalogError::NoSuchUser { .. } => "NoSuchUser",
        _ => "Internal",
    }
}

/// Serves nodes' control frames on one connection.
async fn serve_conn(mut conn: FrameConn, mgr: Rc<Manager>) {
    loop {
        let (head, body) = match conn.read_frame().await {
            Ok(f) => f,
            Err(_) => return,
        };
        if head.op != Op::Control || head.response {
            let _ = conn.write_error(head.op, head.request_id, Status::Invalid, "the manager takes only control frames").await;
            return;
        }
        let resp = match serde_json::from_slice::<ControlReq>(&body) {
            Ok(req) => mgr.control(req),
            Err(e) => ControlResp::Error { code: "Invalid".into(), message: format!("bad control message: {e}") },
        };
        let bytes = serde_json::to_vec(&resp).expect("serialises");
        if conn.write_frame(Op::Control, true, Status::Ok, head.request_id, vec![bytes]).await.is_err() {
            return;
        }
    }
}

/// Runs the manager until SIGTERM/SIGINT.
pub fn run(cfg: ServerConfig) -> Result<(), String> {
    let catalog = Catalog::open(&cfg.data_dir.join("catalog")).map_err(|e| format!("catalog: {e}"))?;
    let (root, created) = catalog.ensure_root(cfg.root_access_key.as_deref(), cfg.root_secret_key.as_deref()).map_err(|e| format!("root credentials: {e}"))?;
    let loaded = Manager::load(&cfg.data_dir)?;
    let rpc = crate::node::bind_retrying(cfg.listen).map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
    let admin = crate::node::bind_retrying(cfg.admin_listen).map_err(|e| format!("cannot listen on admin address {}: {e}", cfg.admin_listen))?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone()).map_err(|e| format!("cannot install signal handler: {e}"))?;
    }
    println!("leofs manager: nodes join at {}", cfg.listen);
    println!("  admin API (leofs-adm): http://{}", cfg.admin_listen);
    println!("  data directory: {}", cfg.data_dir.display());
    println!("  access key: {}", root.access_key_id);
    if created {
        println!("  secret key: {}", root.secret);
    }
    let (mtx, mrx) = leofs_rt::sync::cross::unbounded::<crate::metrics::Ask>();
    let cores = crate::metrics::Cores(Arc::new(vec![mtx]));
    let listen = cfg.listen;
    let admin_addr = cfg.admin_listen;
    let stop2 = stop.clone();
    let thread = std::thread::Builder::new()
        .name("leofs-manager".into())
        .spawn(move || {
            leofs_rt::block_on(async move {
                let mgr = Rc::new(Manager::new(&cfg.data_dir, loaded, catalog.clone()));
                let rpc = leofs_rt::net::Listener::from_std(&rpc).expect("listener");
                let admin_l = leofs_rt::net::Listener::from_std(&admin).expect("listener");
                leofs_rt::task::spawn(crate::metrics::serve(0, None, mrx));
                let ext: Rc<dyn crate::admin::AdminExt> = mgr.clone();
                leofs_rt::task::spawn(crate::admin::serve_with(admin_l, catalog, stop2.clone(), cfg, cores, Some(ext)));
                let m = mgr.clone();
                let s = stop2.clone();
                leofs_rt::task::spawn(async move {
                    while !s.load(Ordering::Relaxed) {
                        leofs_rt::task::sleep(Duration::from_millis(HEARTBEAT_MS)).await;
                        let changed = m.cluster.borrow_mut().tick(now_ms());
                        if changed {
                            m.persist_logged();
                        }
                    }
                });
                while !stop2.load(Ordering::Relaxed) {
                    match rpc.accept().await {
                        Ok((s, _)) => {
                            leofs_rt::task::spawn(serve_conn(FrameConn::new(s), mgr.clone()));
                        }
                        Err(e) => {
                            log::warn!("manager: accept failed: {e}");
                            leofs_rt::task::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
            })
        })
        .map_err(|e| format!("cannot start the manager thread: {e}"))?;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = std::net::TcpStream::connect_timeout(&listen, Duration::from_millis(200));
    let _ = std::net::TcpStream::connect_timeout(&admin_addr, Duration::from_millis(200));
    let _ = thread.join();
    log::info!("manager stopped");
    Ok(())
}

impl crate::admin::AdminExt for Manager {
    fn handle<'a>(&'a self, method: &'a str, target: &'a str, body: &'a [u8]) -> Pin<Box<dyn Future<Output = Option<Reply>> + 'a>> {
        Manager::handle(self, method, target, body)
    }

    fn check_auth(&self, authorization: Option<&str>) -> Result<(), Reply> {
        crate::admin::check_admin_basic(&self.catalog, authorization)
    }

    fn cluster_gauges(&self) -> Option<crate::metrics::ClusterGauges> {
        let c = self.cluster.borrow();
        let mut repairs: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
        for m in c.members.values() {
            for (t, n) in &m.mq {
                *repairs.entry(t.clone()).or_insert(0) += n;
            }
        }
        Some(crate::metrics::ClusterGauges {
            ring_version: c.ring.as_ref().map_or(0, |r| r.version()),
            ring_checksum: c.ring.as_ref().map_or(String::new(), |r| format!("{:016x}", r.checksum())),
            states: c.members.values().map(|m| (m.info.id.clone(), m.state.as_str().to_owned())).collect(),
            repairs: repairs.into_iter().collect(),
            stale_nodes: Some(c.stale_nodes().len() as u64),
            scrub: None,
        })
    }
}


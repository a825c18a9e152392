//! `leofs server`: one process, one shard per core. Each core runs its own runtime with
//! its engine shard, accepts connections on the shared listening socket, and serves S3.

use crate::config::ServerConfig;
use crate::conn::{self, ConnCtx};
use crate::gateway::Gateway;
use crate::manifest;
use crate::metrics;
use crate::backend::Backend;
use crate::shard::{self, Local, Req, Shards};
use leofs_control::Catalog;
use leofs_engine::{Config as EngineConfig, DirDisk, Store};
use leofs_net::http1::{DateCache, Limits};
use leofs_rt::fs::{probe_direct_io, DirectIoSupport, IoMode};
use leofs_rt::sync::cross::{unbounded, Receiver, Sender};
use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often each shard looks for segments worth compacting, and how hard it may push.
const COMPACT_EVERY: Duration = Duration::from_secs(60);
const COMPACT_RATIO: f64 = 0.5;
/// `compact-start`: every segment with any garbage.
const COMPACT_ON_REQUEST_RATIO: f64 = 0.000_001;
/// 16 MiB/s keeps 4 KiB PUT p99 within 5% of its no-compaction value (docs/BENCHMARKS.md).
const COMPACT_BYTES_PER_SEC: u64 = 16 << 20;
/// Longest wait for in-flight requests at shutdown.
const DRAIN_LIMIT: Duration = Duration::from_secs(30);

fn prepare_data_dir(cfg: &ServerConfig) -> Result<IoMode, String> {
    let dir = &cfg.data_dir;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create data directory {}: {e}", dir.display()))?;
    let probe = dir.join(".leofs-write-probe");
    std::fs::write(&probe, b"ok").map_err(|e| format!("data directory {} is not writable: {e}", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    match probe_direct_io(dir).map_err(|e| format!("cannot probe {}: {e}", dir.display()))? {
        DirectIoSupport::Supported => Ok(IoMode::Direct),
        DirectIoSupport::Unsupported(why) if cfg.allow_buffered_io => {
            log::warn!("{why}; using buffered I/O as --allow-buffered-io asks (data is not written directly to disk)");
            Ok(IoMode::Buffered)
        }
        DirectIoSupport::Unsupported(why) => Err(format!(
            "unsupported data directory: {why}. leofs writes with O_DIRECT to a disk; use a directory on a disk-backed filesystem (ext4, xfs), or pass --allow-buffered-io to run anyway"
        )),
    }
}

/// Which parts of leofs this process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Gateway + storage + catalog in one process.
    Server,
    /// A cluster's storage node: shards and their RPC listeners, no S3.
    Storage,
    /// A cluster's S3 gateway: no shards, objects over the RING.
    Gateway,
}

impl Role {
    fn has_shards(self) -> bool {
        self != Role::Gateway
    }
    fn has_s3(self) -> bool {
        self != Role::Storage
    }
}

struct CoreArgs {
    core: usize,
    role: Role,
    /// Storage: this core's RPC listener. Cluster roles: the shared cluster view.
    rpc: Option<std::net::TcpListener>,
    shared: Option<Arc<crate::cluster::Shared>>,
    /// Core 0 of a cluster node: its link to the manager.
    link: Option<crate::cluster::heartbeat::Link>,
    cfg: ServerConfig,
    mode: IoMode,
    listener: Option<Arc<std::net::TcpListener>>,
    /// S3 connections spread over the cores, and this core's inbox of those handed to it.
    balance: Arc<crate::balance::Balance>,
    handoffs: Receiver<leofs_rt::net::Handoff>,
    rx: Receiver<Req>,
    senders: Arc<Vec<Sender<Req>>>,
    /// Every shard's read cache, set by its core once its store is open.
    caches: Arc<Vec<std::sync::OnceLock<leofs_engine::SharedCache>>>,
    catalog: Catalog,
    stop: Arc<AtomicBool>,
    ready: std::sync::mpsc::Sender<(usize, Result<&'static str, String>)>,
    tls: Option<leofs_rt::net::TlsAcceptor>,
    /// The admin listening socket, on core 0 only.
    admin: Option<std::net::TcpListener>,
    /// This core's metrics snapshot requests, and every core's senders (for core 0's scrape).
    metrics_rx: Receiver<metrics::Ask>,
    metrics: metrics::Cores,
}

pub fn run(cfg: ServerConfig, role: Role) -> Result<(), String> {
    let mode = if role.has_shards() {
        prepare_data_dir(&cfg)?
    } else {
        std::fs::create_dir_all(&cfg.data_dir).map_err(|e| format!("cannot create data directory {}: {e}", cfg.data_dir.display()))?;
        IoMode::Buffered
    };
    let tls = match &cfg.tls {
        Some((cert, key)) => Some(leofs_rt::net::TlsAcceptor::from_pem_files(cert, key)?),
        None => None,
    };
    if role.has_shards() {
        manifest::check_or_create(&cfg.data_dir, cfg.shards)?;
    }
    let catalog = Catalog::open(&cfg.data_dir.join("catalog")).map_err(|e| format!("catalog: {e}"))?;
    // Cluster nodes get users and buckets from the manager; only `leofs server` owns them.
    let root = if role == Role::Server {
        Some(catalog.ensure_root(cfg.root_access_key.as_deref(), cfg.root_secret_key.as_deref()).map_err(|e| format!("root credentials: {e}"))?)
    } else {
        None
    };
    let listener = if role.has_s3() {
        let l = bind_retrying(cfg.listen).map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => format!("cannot listen on {}: address already in use (another leofs or another server holds it)", cfg.listen),
            _ => format!("cannot listen on {}: {e}", cfg.listen),
        })?;
        Some(Arc::new(l))
    } else {
        None
    };
    let mut rpc_listeners: Vec<Option<std::net::TcpListener>> = (0..cfg.shards).map(|_| None).collect();
    if role == Role::Storage {
        let c = cfg.cluster.as_ref().ok_or("a storage node needs its cluster settings")?;
        for (core, slot) in rpc_listeners.iter_mut().enumerate() {
            let addr = crate::cluster::port_plus(c.rpc_listen, core);
            *slot = Some(bind_retrying(addr).map_err(|e| format!("cannot listen for RPC on {addr} (shard {core}): {e}"))?);
        }
    }
    let shared = cfg.cluster.as_ref().map(|c| {
        let ring_cache = cfg.data_dir.join("ring.cache");
        let view = match crate::cluster::heartbeat::load_cached_ring(&ring_cache) {
            Some(r) => {
                log::info!("RING version {} from {} (until the manager answers)", r.version(), ring_cache.display());
                crate::cluster::View::new(r, Default::default())
            }
            None => crate::cluster::View::empty(),
        };
        crate::cluster::Shared::new(c.node_id.clone(), cfg.shards, view)
    });
    let mut link = cfg.cluster.as_ref().map(|c| crate::cluster::heartbeat::Link {
        manager: c.manager,
        info: leofs_control::cluster::NodeInfo {
            id: c.node_id.clone(),
            role: if role == Role::Storage { leofs_control::cluster::NodeRole::Storage } else { leofs_control::cluster::NodeRole::Gateway },
            rpc_addr: if role == Role::Storage { c.rpc_listen.to_string() } else { String::new() },
            shards: if role == Role::Storage { cfg.shards as u16 } else { 0 },
            zone: c.zone.clone(),
            weight: c.weight,
            s3_addr: if role == Role::Gateway { cfg.listen.to_string() } else { String::new() },
            admin_addr: cfg.admin_listen.to_string(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        ring_cache: cfg.data_dir.join("ring.cache"),
        catalog: (role == Role::Gateway).then(|| catalog.clone()),
    });
    let admin = bind_retrying(cfg.admin_listen).map_err(|e| format!("cannot listen on admin address {}: {e}", cfg.admin_listen))?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone()).map_err(|e| format!("cannot install signal handler: {e}"))?;
    }
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..cfg.shards).map(|_| unbounded::<Req>()).unzip();
    let senders = Arc::new(senders);
    let caches = Arc::new((0..cfg.shards).map(|_| std::sync::OnceLock::new()).collect::<Vec<_>>());
    let (metrics_txs, metrics_rxs): (Vec<_>, Vec<_>) = (0..cfg.shards).map(|_| unbounded::<metrics::Ask>()).unzip();
    let metrics = metrics::Cores(Arc::new(metrics_txs));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let mut threads = Vec::new();
    let (balance, handoffs) = crate::balance::Balance::new(cfg.shards);
    for (core, ((rx, metrics_rx), handoffs)) in receivers.into_iter().zip(metrics_rxs).zip(handoffs).enumerate() {
        let args = CoreArgs {
            core,
            role,
            rpc: rpc_listeners[core].take(),
            shared: shared.clone(),
            link: if core == 0 { link.take() } else { None },
            cfg: cfg.clone(),
            mode,
            listener: listener.clone(),
            balance: balance.clone(),
            handoffs,
            rx,
            senders: senders.clone(),
            caches: caches.clone(),
            catalog: catalog.clone(),
            stop: stop.clone(),
            ready: ready_tx.clone(),
            tls: tls.clone(),
            admin: if core == 0 { admin.try_clone().ok() } else { None },
            metrics_rx,
            metrics: metrics.clone(),
        };
        let t = std::thread::Builder::new().name(format!("leofs-core-{core}")).spawn(move || core_main(args)).map_err(|e| format!("cannot start core thread: {e}"))?;
        threads.push(t);
    }
    let mut failed = None;
    for _ in 0..cfg.shards {
        match ready_rx.recv() {
            Ok((core, Ok(driver))) => log::info!("core {core}: shard open, io driver {driver}"),
            Ok((core, Err(e))) => {
                failed.get_or_insert(format!("shard {core}: {e}"));
            }
            Err(_) => {
                failed.get_or_insert("a core thread exited during startup".into());
                break;
            }
        }
    }
    if failed.is_none() && role != Role::Server {
        let c = cfg.cluster.as_ref().expect("cluster roles have cluster settings");
        match role {
            Role::Storage => println!("leofs storage node {} serving RPC at {} (+shard), manager {}", c.node_id, c.rpc_listen, c.manager),
            _ => println!("leofs gateway {} serving S3 at http://{}, manager {}", c.node_id, cfg.listen, c.manager),
        }
        println!("  admin API (metrics): http://{}", cfg.admin_listen);
    }
    if let (None, Some((root, created))) = (&failed, &root) {
        let scheme = if cfg.tls.is_some() { "https" } else { "http" };
        println!("leofs is serving S3 at {scheme}://{}", cfg.listen);
        println!("  data directory: {} ({} shards, durability {:?})", cfg.data_dir.display(), cfg.shards, cfg.durability);
        println!("  admin API (leofs-adm): http://{}", cfg.admin_listen);
        println!("  access key: {}", root.access_key_id);
        if *created {
            println!("  secret key: {}", root.secret);
        } else {
            println!("  secret key: (as created on first start; `leofs-adm get-users` lists keys)");
        }
    }
    while failed.is_none() && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    log::info!("shutting down: finishing in-flight requests");
    // Wake every core blocked in accept(): each sees `stop` after its next accept.
    if role.has_s3() {
        for _ in 0..cfg.shards * 2 {
            let _ = std::net::TcpStream::connect_timeout(&cfg.listen, Duration::from_millis(200));
        }
    }
    if let Some(c) = cfg.cluster.as_ref().filter(|_| role == Role::Storage) {
        for core in 0..cfg.shards {
            let _ = std::net::TcpStream::connect_timeout(&crate::cluster::port_plus(c.rpc_listen, core), Duration::from_millis(200));
        }
    }
    let _ = std::net::TcpStream::connect_timeout(&cfg.admin_listen, Duration::from_millis(200));
    for t in threads {
        let _ = t.join();
    }
    match failed {
        Some(e) => Err(e),
        None => {
            log::info!("stopped cleanly");
            Ok(())
        }
    }
}

/// Binds, retrying "address in use" for up to 3 s: after a crash the kernel may release a
/// killed process's sockets a moment late (its io_uring is torn down asynchronously).
/// A port that stays taken is still an error.
pub fn bind_retrying(addr: std::net::SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let start = Instant::now();
    loop {
        match leofs_rt::net::bind(addr) {
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && start.elapsed() < Duration::from_secs(3) => {
                std::thread::sleep(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

fn shard_dir(data: &Path, core: usize) -> PathBuf {
    data.join(format!("shard-{core:03}"))
}

fn core_main(a: CoreArgs) {
    // Pin only a process that has one core thread per CPU: several leofs processes on one
    // machine (a local cluster) would otherwise all pin their first core to CPU 0.
    let cpus = leofs_rt::runtime::available_cores();
    if a.cfg.shards == cpus {
        leofs_rt::runtime::pin_to_core(a.core % cpus);
    }
    leofs_rt::block_on(async move {
        let driver = leofs_rt::runtime::current_driver().map_or("unknown", |d| d.as_str());
        let store = if a.role.has_shards() {
            match open_shard(&a).await {
                Ok(s) => Some(s),
                Err(e) => {
                    let _ = a.ready.send((a.core, Err(e)));
                    return;
                }
            }
        } else {
            None
        };
        let local = store.as_ref().map(|s| Local::new(a.core, s.clone()));
        if let (Some(local), Some(store)) = (&local, &store) {
            leofs_rt::task::spawn(shard::serve(local.clone(), a.rx.clone()));
            leofs_rt::task::spawn(auto_compact(store.clone(), a.stop.clone(), a.shared.clone()));
        }
        leofs_rt::task::spawn(metrics::serve(a.core, store.clone(), a.metrics_rx.clone()));
        if let Some(store) = &store {
            let _ = a.caches[a.core].set(store.shared_cache());
        }
        let shards = local.map(|local| Shards { local, senders: a.senders.clone(), caches: a.caches.clone() });
        if let (Some(shared), Some(shards), Some(rpc)) = (&a.shared, &shards, &a.rpc) {
            let pool = Rc::new(crate::cluster::pool::Pool::new());
            let sc = Rc::new(crate::cluster::storage::StorageCore {
                core: a.core,
                shards: shards.clone(),
                view: crate::cluster::LocalView::new(shared.clone()),
                pool: pool.clone(),
                batcher: crate::cluster::batch::Batcher::new(pool),
                metrics: a.metrics.clone(),
            });
            match leofs_rt::net::Listener::from_std(rpc) {
                Ok(l) => {
                    leofs_rt::task::spawn(crate::cluster::storage::serve(l, sc.clone(), a.stop.clone()));
                }
                Err(e) => {
                    let _ = a.ready.send((a.core, Err(format!("cannot accept on the RPC socket: {e}"))));
                    return;
                }
            }
            let c = a.cfg.cluster.as_ref().expect("a storage node has cluster settings");
            leofs_rt::task::spawn(crate::cluster::scrub::run(sc.clone(), a.stop.clone(), c.scrub_bytes_per_sec, Duration::from_millis(c.scrub_pause_ms)));
            if a.core == 0 {
                leofs_rt::task::spawn(crate::cluster::rebalance::run(sc.clone(), a.stop.clone()));
            }
            let rates = crate::cluster::storage::Rates { repair_bytes_per_sec: c.repair_bytes_per_sec, rebalance_bytes_per_sec: c.rebalance_bytes_per_sec };
            leofs_rt::task::spawn(crate::cluster::storage::repair_worker(sc, a.stop.clone(), rates));
        }
        if let (Some(link), Some(shared)) = (a.link, &a.shared) {
            leofs_rt::task::spawn(crate::cluster::heartbeat::run(link, shared.clone(), a.stop.clone()));
        }
        if let Some(admin) = &a.admin {
            match leofs_rt::net::Listener::from_std(admin) {
                Ok(l) => {
                    let ext: Option<Rc<dyn crate::admin::AdminExt>> = match (&a.shared, &a.cfg.cluster) {
                        (Some(shared), Some(c)) => Some(Rc::new(crate::cluster::node_admin::NodeAdmin {
                            role: if a.role == Role::Storage { "storage" } else { "gateway" },
                            shared: shared.clone(),
                            manager: c.manager,
                        })),
                        _ => None,
                    };
                    leofs_rt::task::spawn(crate::admin::serve_with(l, a.catalog.clone(), a.stop.clone(), a.cfg.clone(), a.metrics.clone(), ext));
                }
                Err(e) => {
                    let _ = a.ready.send((a.core, Err(format!("cannot accept on the admin socket: {e}"))));
                    return;
                }
            }
        }
        let Some(listener) = &a.listener else {
            // A storage node: RPC only. Wait for shutdown, then let peers' requests drain.
            let _ = a.ready.send((a.core, Ok(driver)));
            while !a.stop.load(Ordering::Relaxed) {
                leofs_rt::task::sleep(Duration::from_millis(100)).await;
            }
            leofs_rt::task::sleep(Duration::from_millis(200)).await;
            if let Some(store) = &store {
                if let Err(e) = store.close().await {
                    log::error!("core {}: closing shard: {e}", a.core);
                }
            }
            return;
        };
        let backend = match (shards, &a.shared) {
            (Some(shards), None) => Backend::Local(shards),
            (_, Some(shared)) => Backend::Cluster(Rc::new(crate::cluster::client::ClusterClient::new(crate::cluster::LocalView::new(shared.clone())))),
            (None, None) => unreachable!("a gateway without shards is a cluster gateway"),
        };
        let mut gateway = Gateway::new(backend, a.catalog.clone(), a.cfg.domain.clone(), a.cfg.region.clone(), a.cfg.object_limits(), a.core);
        gateway.manager = a.cfg.cluster.as_ref().map(|c| c.manager);
        let gateway = Rc::new(gateway);
        if a.core == 0 && a.cfg.multipart_expiry_secs > 0 {
            leofs_rt::task::spawn(expire_uploads(gateway.clone(), Duration::from_secs(a.cfg.multipart_expiry_secs), a.stop.clone()));
        }
        let shutting_down = Rc::new(Cell::new(false));
        let ctx = Rc::new(ConnCtx {
            gateway,
            limits: Limits::default(),
            idle_timeout: Duration::from_millis(a.cfg.idle_timeout_ms),
            read_timeout: Duration::from_millis(a.cfg.read_timeout_ms),
            date: RefCell::new(DateCache::new()),
            shutting_down: shutting_down.clone(),
            tls: a.tls.clone(),
        });
        let listener = match leofs_rt::net::Listener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                let _ = a.ready.send((a.core, Err(format!("cannot accept on the listening socket: {e}"))));
                return;
            }
        };
        let _ = a.ready.send((a.core, Ok(driver)));
        let open = Rc::new(Cell::new(0usize));
        let serve = {
            let (ctx, open, balance, core) = (ctx.clone(), open.clone(), a.balance.clone(), a.core);
            move |stream: leofs_rt::net::Stream| {
                let (ctx, open, balance) = (ctx.clone(), open.clone(), balance.clone());
                open.set(open.get() + 1);
                leofs_rt::task::spawn(async move {
                    conn::serve(stream, ctx).await;
                    open.set(open.get() - 1);
                    balance.closed(core);
                });
            }
        };
        {
            let (handoffs, serve, balance, core) = (a.handoffs.clone(), serve.clone(), a.balance.clone(), a.core);
            leofs_rt::task::spawn(async move {
                while let Ok(h) = handoffs.recv_async().await {
                    match h.into_stream() {
                        Ok(s) => serve(s),
                        Err(e) => {
                            balance.closed(core);
                            log::warn!("cannot take over a connection from another core: {e}");
                        }
                    }
                }
            });
        }
        while !a.stop.load(Ordering::Relaxed) {
            let stream = match listener.accept().await {
                Ok((s, _)) => s,
                Err(e) => {
                    log::warn!("core {}: accept failed: {e}", a.core);
                    leofs_rt::task::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            };
            if a.stop.load(Ordering::Relaxed) {
                break;
            }
            if let Some(stream) = a.balance.assign(a.core, stream) {
                serve(stream);
            }
        }
        shutting_down.set(true);
        let t = Instant::now();
        while open.get() > 0 && t.elapsed() < DRAIN_LIMIT {
            leofs_rt::task::sleep(Duration::from_millis(20)).await;
        }
        // Other cores may still hand requests to this shard while they drain.
        leofs_rt::task::sleep(Duration::from_millis(200)).await;
        if let Some(store) = &store {
            if let Err(e) = store.close().await {
                log::error!("core {}: closing shard: {e}", a.core);
            }
        }
    });
}

async fn open_shard(a: &CoreArgs) -> Result<Store<DirDisk>, String> {
    let ecfg = EngineConfig {
        shard_id: a.core as u32,
        // Versions order writes across the cluster: the tiebreak names node and core, so two
        // coordinators never issue equal versions for different data.
        tiebreak: match &a.cfg.cluster {
            Some(c) => (xxhash_rust::xxh3::xxh3_64(c.node_id.as_bytes()) as u32 & !0x3ff) | a.core as u32,
            None => a.core as u32,
        },
        segment_size: a.cfg.segment_size,
        durability: a.cfg.durability,
        max_record_bytes: a.cfg.max_object_bytes + (64 << 10) + 65536 + 4096,
        read_cache_bytes: (a.cfg.cache_bytes / a.cfg.shards as u64) as usize,
        // A single node drops a tombstone as soon as nothing older survives; replicas keep
        // it for the grace period.
        tombstone_grace_secs: a.cfg.cluster.as_ref().map_or(0, |c| c.tombstone_grace_secs),
        ..EngineConfig::default()
    };
    let disk = DirDisk::new(&shard_dir(&a.cfg.data_dir, a.core), a.mode).map_err(|e| format!("cannot create shard directory: {e}"))?;
    Store::open(disk, ecfg).await.map_err(|e| e.to_string())
}

/// Aborts multipart uploads older than `max_age`, and deletes chunks older than that no
/// object names (a PUT interrupted mid-way), checking four times per `max_age` (at least
/// every 10 minutes, at most every second). What a crash leaves is reclaimed without a
/// queue: the keys themselves say what is orphaned.
async fn expire_uploads(gateway: Rc<Gateway>, max_age: Duration, stop: Arc<AtomicBool>) {
    let every = (max_age / 4).clamp(Duration::from_secs(1), Duration::from_secs(600));
    let mut waited = Duration::ZERO;
    while !stop.load(Ordering::Relaxed) {
        leofs_rt::task::sleep(Duration::from_millis(500)).await;
        waited += Duration::from_millis(500);
        if waited >= every {
            waited = Duration::ZERO;
            gateway.abort_stale_uploads(max_age).await;
            gateway.reclaim_orphan_chunks(max_age).await;
        }
    }
}

/// Compacts this shard every [`COMPACT_EVERY`] by garbage ratio; a cluster node's operator
/// can also start a pass now (`compact-start`: any segment with garbage) or suspend it.
async fn auto_compact(store: Store<DirDisk>, stop: Arc<AtomicBool>, shared: Option<Arc<crate::cluster::Shared>>) {
    let mut waited = Duration::ZERO;
    let mut seen_requests = 0;
    while !stop.load(Ordering::Relaxed) {
        leofs_rt::task::sleep(Duration::from_secs(1)).await;
        waited += Duration::from_secs(1);
        let requested = shared.as_ref().map_or(0, |s| s.compact_requests.load(Ordering::Relaxed));
        let suspended = shared.as_ref().is_some_and(|s| s.compact_suspended.load(Ordering::Relaxed));
        let now = requested != seen_requests;
        seen_requests = requested;
        if suspended || (!now && waited < COMPACT_EVERY) {
            continue;
        }
        waited = Duration::ZERO;
        let ratio = if now { COMPACT_ON_REQUEST_RATIO } else { COMPACT_RATIO };
        match store.compact(ratio, COMPACT_BYTES_PER_SEC).await {
            Ok(s) if s.segments_removed > 0 => log::info!("compaction: {s:?}"),
            Ok(_) => {}
            Err(e) => log::warn!("compaction: {e}"),
        }
    }
}

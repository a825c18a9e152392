//! A multi-process leofs cluster on loopback for end-to-end tests: one `leofs manager`,
//! K `leofs storage` nodes and one `leofs gateway`, each a child process with its own
//! directory under `target/tmp/leofs-tests/`, killed on drop.

use crate::http::{self, Creds, Response};
use crate::{bin_path, profile_dir, ROOT_ACCESS_KEY, ROOT_SECRET_KEY};
use std::fs::{self, OpenOptions};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const START_LIMIT: Duration = Duration::from_secs(60);

/// One child process of the cluster.
pub struct Proc {
    pub name: String,
    args: Vec<String>,
    child: Option<Child>,
    pub log_path: PathBuf,
    ready_line: String,
    /// Ports the process listens on (checked free before a restart).
    ports: Vec<SocketAddr>,
    /// Its admin listener (`/metrics`, `/v1/status`).
    pub admin: SocketAddr,
    /// A command the process runs under (`ip netns exec NS`), if any; its ports are then
    /// in another network namespace and not checked from here.
    prefix: Vec<String>,
}

impl Proc {
    fn spawn(&mut self) -> Result<(), String> {
        for p in self.ports.iter().filter(|_| self.prefix.is_empty()) {
            let start = Instant::now();
            while TcpListener::bind(p).is_err() && start.elapsed() < Duration::from_secs(20) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let log = OpenOptions::new().create(true).append(true).open(&self.log_path).expect("open log");
        let from = log.metadata().map(|m| m.len()).unwrap_or(0) as usize;
        let mut cmd = match self.prefix.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(bin_path("leofs"));
                c
            }
            None => Command::new(bin_path("leofs")),
        };
        cmd.args(&self.args).stdin(Stdio::null()).stdout(log.try_clone().expect("clone log")).stderr(log);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("LEOFS_") {
                cmd.env_remove(&k);
            }
        }
        cmd.env("LEOFS_ROOT_ACCESS_KEY", ROOT_ACCESS_KEY).env("LEOFS_ROOT_SECRET_KEY", ROOT_SECRET_KEY);
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "info");
        }
        self.child = Some(cmd.spawn().expect("spawn leofs"));
        let start = Instant::now();
        loop {
            let text = fs::read(&self.log_path).unwrap_or_default();
            let new = String::from_utf8_lossy(text.get(from..).unwrap_or_default()).into_owned();
            if new.contains(&self.ready_line) && self.ports.first().is_none_or(|p| TcpStream::connect_timeout(p, Duration::from_secs(1)).is_ok()) {
                return Ok(());
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                self.child = None;
                return Err(format!("{} exited with {status}:\n{new}", self.name));
            }
            if start.elapsed() > START_LIMIT {
                self.kill9();
                return Err(format!("{} did not start:\n{new}", self.name));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait; returns whether it exited cleanly.
    pub fn stop(&mut self) -> bool {
        let Some(mut c) = self.child.take() else { return true };
        crate::sigterm_and_wait(&mut c, Duration::from_secs(60)).is_some_and(|s| s.success())
    }

    pub fn start(&mut self) {
        if let Err(log) = self.spawn() {
            panic!("{log}");
        }
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

/// A base port with `n` consecutive free ports (storage nodes listen on port + shard).
/// A free port on `ip` (one of this namespace's addresses).
pub fn free_addr_on(ip: std::net::IpAddr) -> SocketAddr {
    TcpListener::bind((ip, 0)).and_then(|l| l.local_addr()).expect("bind an ephemeral port")
}

/// Where a cluster's processes listen: loopback by default; a partition test uses an address
/// of a veth pair it made and puts one storage node in a network namespace of its own.
#[derive(Clone, Debug)]
pub struct Placement {
    pub host: std::net::IpAddr,
    /// (storage node number, 1-based; namespace; its address there).
    pub isolated: Option<(usize, String, std::net::IpAddr)>,
}

impl Default for Placement {
    fn default() -> Self {
        Placement { host: std::net::Ipv4Addr::LOCALHOST.into(), isolated: None }
    }
}

fn free_run_on(ip: std::net::IpAddr, n: usize) -> SocketAddr {
    loop {
        let base = free_addr_on(ip);
        if base.port() as usize + n >= 65535 {
            continue;
        }
        let all = (0..n).all(|i| TcpListener::bind(SocketAddr::new(base.ip(), base.port() + i as u16)).is_ok());
        if all {
            return base;
        }
    }
}

pub struct Cluster {
    pub dir: PathBuf,
    pub manager: Proc,
    pub storage: Vec<Proc>,
    pub gateway: Proc,
    pub manager_rpc: SocketAddr,
    pub manager_admin: SocketAddr,
    pub s3_addr: SocketAddr,
    pub shards: usize,
}

impl Cluster {
    /// Starts 1 manager, `k` storage nodes with `shards` shards each and 1 gateway, then
    /// `start`s the RING and waits until every node routes with it.
    pub fn start(k: usize, shards: usize) -> Cluster {
        Cluster::start_opts(k, shards, &[])
    }

    /// [`Cluster::start`] with extra flags for every storage node.
    pub fn start_opts(k: usize, shards: usize, storage_extra: &[&str]) -> Cluster {
        Cluster::start_placed(k, shards, storage_extra, Placement::default())
    }

    /// [`Cluster::start_opts`] listening where `placement` says.
    pub fn start_placed(k: usize, shards: usize, storage_extra: &[&str], placement: Placement) -> Cluster {
        let free_addr = || free_addr_on(placement.host);
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = profile_dir().parent().unwrap_or(std::path::Path::new(".")).join("tmp").join("leofs-tests").join(format!("cluster-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create cluster dir");
        let manager_rpc = free_addr();
        let manager_admin = free_addr();
        let mut manager = Proc {
            name: "manager".into(),
            args: vec!["manager".into(), "--data-dir".into(), dir.join("manager").display().to_string(), "--listen".into(), manager_rpc.to_string(), "--admin-listen".into(), manager_admin.to_string()],
            child: None,
            log_path: dir.join("manager.log"),
            ready_line: "leofs manager: nodes join at".into(),
            ports: vec![manager_admin, manager_rpc],
            admin: manager_admin,
            prefix: Vec::new(),
        };
        manager.start();
        let mut storage = Vec::new();
        for i in 1..=k {
            let at = match &placement.isolated {
                Some((n, ns, ip)) if *n == i => (*ip, vec!["ip".to_string(), "netns".into(), "exec".into(), ns.clone()]),
                _ => (placement.host, Vec::new()),
            };
            storage.push(Self::storage_proc_at(&dir, i, shards, manager_rpc, storage_extra, at));
        }
        let s3_addr = free_addr();

        let gw_admin = free_addr();
        let mut gateway = Proc {
            name: "gateway".into(),
            args: [
                "gateway", "--node-id", "gateway-1", "--manager", &manager_rpc.to_string(), "--listen", &s3_addr.to_string(),
                "--admin-listen", &gw_admin.to_string(), "--data-dir", &dir.join("gateway").display().to_string(), "--shards", &shards.to_string(),
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            child: None,
            log_path: dir.join("gateway.log"),
            ready_line: "leofs gateway".into(),
            ports: vec![s3_addr, gw_admin],
            admin: gw_admin,
            prefix: Vec::new(),
        };
        gateway.start();
        let c = Cluster { dir, manager, storage, gateway, manager_rpc, manager_admin, s3_addr, shards };
        c.wait_for("storage nodes attached", Duration::from_secs(20), |s| s["nodes"].as_array().is_some_and(|n| n.iter().filter(|x| x["role"] == "storage").count() == k));
        let r = c.admin("POST", "/v1/cluster/start", None);
        assert_eq!(r.status, 200, "start: {}", r.text());
        c.wait_converged(Duration::from_secs(20));
        c
    }

    /// A request to the manager's admin API, with root's credentials (HTTP Basic).
    pub fn admin(&self, method: &str, path: &str, json: Option<&str>) -> Response {
        self.admin_as(Some((ROOT_ACCESS_KEY, ROOT_SECRET_KEY)), method, path, json)
    }

    /// A request to the manager's admin API with `creds` (or none).
    pub fn admin_as(&self, creds: Option<(&str, &str)>, method: &str, path: &str, json: Option<&str>) -> Response {
        let auth = creds.map(|(k, s)| {
            use base64::Engine;
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{k}:{s}")))
        });
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(a) = &auth {
            headers.push(("Authorization", a));
        }
        if json.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        http::send(self.manager_admin, method, path, &headers, json.unwrap_or("").as_bytes()).unwrap_or_else(|e| panic!("manager admin {method} {path}: {e}"))
    }

    pub fn status(&self) -> serde_json::Value {
        self.admin("GET", "/v1/cluster", None).json()
    }

    /// Polls the manager's status until `ok` holds; panics with the status after `limit`.
    pub fn wait_for(&self, what: &str, limit: Duration, ok: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let start = Instant::now();
        loop {
            let s = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.admin("GET", "/v1/cluster", None))).ok().filter(|r| r.status == 200).map(|r| r.json());
            if let Some(s) = s {
                if ok(&s) {
                    return s;
                }
                if start.elapsed() > limit {
                    panic!("{what}: not after {limit:?}; status: {s:#}");
                }
            } else if start.elapsed() > limit {
                panic!("{what}: manager not answering after {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until every node runs with the current RING and no repairs are queued.
    pub fn wait_converged(&self, limit: Duration) -> serde_json::Value {
        self.wait_for("cluster converged (all running, RING agreed, repair queues empty, no rebalance)", limit, |s| {
            s["stale_nodes"].as_array().is_some_and(Vec::is_empty)
                && s["rebalance"].is_null()
                && s["nodes"].as_array().is_some_and(|n| n.iter().all(|x| (x["state"] == "running" || x["state"] == "detached") && x["ring_ok"] == true && x["repairs_held"] == 0))
        })
    }

    pub fn creds(&self) -> Creds {
        Creds::new(ROOT_ACCESS_KEY, ROOT_SECRET_KEY)
    }

    /// An S3 request through the gateway, signed by root; `Err` on I/O errors.
    pub fn s3(&self, method: &str, path: &str, query: &str, body: &[u8]) -> std::io::Result<Response> {
        http::s3(self.s3_addr, Some(&self.creds()), method, path, query, &[], body)
    }

    /// A `leofs-adm` command aimed at the manager's admin API with root's credentials, its
    /// arguments `args` (to run, or to spawn and follow).
    pub fn adm(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin_path("leofs-adm"));
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("LEOFS_") {
                cmd.env_remove(&k);
            }
        }
        cmd.arg("--endpoint").arg(format!("http://{}", self.manager_admin)).args(["--access-key", ROOT_ACCESS_KEY, "--secret-key", ROOT_SECRET_KEY]).args(args).stdin(Stdio::null());
        cmd
    }

    /// `whereis`: the manager's view of where `key` (`bucket/key`) is stored.
    pub fn whereis(&self, key: &str) -> serde_json::Value {
        self.admin("GET", &format!("/v1/whereis?key={}", key.replace('%', "%25").replace(' ', "%20")), None).json()
    }

    /// Starts storage node `i` (1-based) joining `manager_rpc`.
    fn storage_proc(dir: &std::path::Path, i: usize, shards: usize, manager_rpc: SocketAddr, storage_extra: &[&str]) -> Proc {
        Self::storage_proc_at(dir, i, shards, manager_rpc, storage_extra, (std::net::Ipv4Addr::LOCALHOST.into(), Vec::new()))
    }

    /// [`Cluster::storage_proc`] on address `at.0`, run under the command prefix `at.1`
    /// (another network namespace: its ports are picked at random, all being free there).
    fn storage_proc_at(dir: &std::path::Path, i: usize, shards: usize, manager_rpc: SocketAddr, storage_extra: &[&str], at: (std::net::IpAddr, Vec<String>)) -> Proc {
        let (ip, prefix) = at;
        let (rpc, admin) = if prefix.is_empty() {
            (free_run_on(ip, shards), free_addr_on(ip))
        } else {
            let base = 20000 + (std::process::id() as u16 % 20000);
            (SocketAddr::new(ip, base), SocketAddr::new(ip, base + 1000))
        };
        let mut ports = vec![admin];
        ports.extend((0..shards).map(|s| SocketAddr::new(rpc.ip(), rpc.port() + s as u16)));
        let mut p = Proc {
            name: format!("storage-{i}"),
            args: [
                "storage", "--node-id", &format!("storage-{i}"), "--manager", &manager_rpc.to_string(), "--rpc-listen", &rpc.to_string(),
                "--admin-listen", &admin.to_string(), "--data-dir", &dir.join(format!("storage-{i}")).display().to_string(),
                "--shards", &shards.to_string(), "--segment-mib", "16", "--allow-buffered-io",
            ]
            .iter()
            .chain(storage_extra)
            .map(|s| s.to_string())
            .collect(),
            child: None,
            log_path: dir.join(format!("storage-{i}.log")),
            ready_line: "leofs storage node".into(),
            ports,
            admin,
            prefix,
        };
        p.start();
        p
    }

    /// Starts one more storage node; it joins as `attached` (in the RING after a rebalance).
    pub fn add_storage(&mut self) -> usize {
        let i = self.storage.len() + 1;
        let p = Self::storage_proc(&self.dir, i, self.shards, self.manager_rpc, &[]);
        self.storage.push(p);
        let id = format!("storage-{i}");
        self.wait_for("the new node attached", Duration::from_secs(20), |s| s["nodes"].as_array().is_some_and(|n| n.iter().any(|x| x["id"] == id.as_str() && x["state"] == "attached")));
        i - 1
    }

    /// Storage node `i`'s data directory (0-based).
    pub fn storage_dir(&self, i: usize) -> PathBuf {
        self.dir.join(format!("storage-{}", i + 1))
    }

    /// Every process's log, for a failing test's message.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for p in std::iter::once(&self.manager).chain(&self.storage).chain(std::iter::once(&self.gateway)) {
            let log = p.log();
            let tail: String = log.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
            out.push_str(&format!("==== {} ====\n{tail}\n", p.name));
        }
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.gateway.kill9();
        for s in &mut self.storage {
            s.kill9();
        }
        self.manager.kill9();
        if std::thread::panicking() {
            eprintln!("leofs test cluster kept for inspection: {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}


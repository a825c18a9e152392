//! End-to-end test support: run the real `leofs` binary on loopback and talk to it.
//!
//! [`Server`] starts `leofs server` on free loopback ports with a fresh data directory under
//! `target/tmp/leofs-tests/` (disk-backed, so O_DIRECT works), known root credentials
//! ([`ROOT_ACCESS_KEY`], [`ROOT_SECRET_KEY`]) and small segments, waits until it serves, and
//! kills it when dropped. [`http`] sends raw and SigV4-signed requests.
//!
//! ```no_run
//! let mut server = leofs_tests::Server::start();
//! let r = server.s3_root("GET", "/", "", &[], b"");
//! assert_eq!(r.status, 200);
//! server.restart(); // same ports, same data
//! ```
//!
//! The binaries are built on first use (`cargo build -p leofs -p leofs-tools`, a no-op when
//! fresh) so `cargo test -p leofs-tests` never runs a stale server; set
//! `LEOFS_TEST_NO_BUILD=1` to skip that.

pub mod checker;
pub mod cluster;
pub mod http;

use http::{Creds, Response};
use std::fs::{self, OpenOptions};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The root user's access key id every test server starts with.
pub const ROOT_ACCESS_KEY: &str = "LEOTESTROOTACCESSKEY";
/// The root user's secret every test server starts with.
pub const ROOT_SECRET_KEY: &str = "leofs-test-root-secret-0123456789abcdef";
/// What `leofs server` prints once every shard is open and it accepts requests.
const READY_LINE: &str = "leofs is serving S3 at";
/// Longest wait for a server to start or to stop.
const START_LIMIT: Duration = Duration::from_secs(60);
const STOP_LIMIT: Duration = Duration::from_secs(60);

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// The profile directory the running test binary was built into (`target/debug`): the
/// test binary lives in its `deps/`, whatever `CARGO_TARGET_DIR` says.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("path of the test binary");
    match exe.parent().filter(|d| d.ends_with("deps")).and_then(Path::parent) {
        Some(dir) => dir.to_path_buf(),
        None => workspace_root().join("target").join("debug"),
    }
}

/// Path of a workspace binary (`leofs`, `leofs-adm`) next to the test binary; built first.
pub fn bin_path(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let dir = profile_dir();
    BUILT.get_or_init(|| {
        if std::env::var_os("LEOFS_TEST_NO_BUILD").is_some() {
            return;
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(workspace_root()).args(["build", "-p", "leofs", "-p", "leofs-tools"]);
        if dir.ends_with("release") {
            cmd.arg("--release");
        }
        let out = cmd.output().expect("run cargo build");
        assert!(out.status.success(), "cargo build -p leofs -p leofs-tools failed:\n{}", String::from_utf8_lossy(&out.stderr));
    });
    let path = dir.join(name);
    assert!(path.exists(), "{} is missing: build it with `cargo build -p leofs -p leofs-tools`", path.display());
    path
}

/// A loopback address with a port that was free a moment ago.
pub fn free_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local address")
}

/// The value of `--flag VALUE` or `--flag=VALUE` in `args`.
fn flag_value(args: &[String], flag: &str) -> Option<String> {
    let eq = format!("{flag}=");
    args.iter().enumerate().find_map(|(i, a)| match a.strip_prefix(&eq) {
        Some(v) => Some(v.to_owned()),
        None if a == flag => args.get(i + 1).cloned(),
        None => None,
    })
}

/// Sends SIGTERM to `child` and waits up to `limit` for it to exit; kills it (SIGKILL) and
/// returns `None` if it does not.
pub fn sigterm_and_wait(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid fits i32"));
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running `leofs server` child process, killed (SIGKILL) on drop. Its directory is
/// removed on drop too, unless the test is panicking: then it stays for a post-mortem.
pub struct Server {
    child: Option<Child>,
    /// The S3 listener.
    pub s3_addr: SocketAddr,
    /// The admin API listener.
    pub admin_addr: SocketAddr,
    /// The data directory (`<dir>/data`); kept across [`Server::restart`].
    pub data_dir: PathBuf,
    /// The server's stdout and stderr, appended to across restarts.
    pub log_path: PathBuf,
    /// Holds `data_dir` and `log_path`.
    dir: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Server {
    /// Starts a server with the defaults: 2 shards, 8 MiB segments, buffered I/O allowed
    /// where the filesystem lacks O_DIRECT, root credentials [`ROOT_ACCESS_KEY`] /
    /// [`ROOT_SECRET_KEY`].
    pub fn start() -> Server {
        Server::start_with(&[], &[])
    }

    /// Starts a server with extra `leofs server` flags (a flag given here replaces the
    /// default one, including `--listen`, `--admin-listen` and `--data-dir`) and extra
    /// environment variables (`LEOFS_*` variables of the test's own environment are not
    /// passed on). Panics, with the server's log, if it does not come up.
    pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> Server {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = profile_dir().parent().unwrap_or(Path::new(".")).join("tmp").join("leofs-tests").join(format!("server-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the test server directory");
        let data_dir = flag_value(&args, "--data-dir").map_or_else(|| dir.join("data"), PathBuf::from);
        let mut server = Server { child: None, s3_addr: free_addr(), admin_addr: free_addr(), data_dir, log_path: dir.join("server.log"), dir, args, env };
        // A port picked free can be taken before the server binds it: pick again.
        let mut attempt = 0;
        loop {
            attempt += 1;
            server.s3_addr = flag_value(&server.args, "--listen").map_or_else(free_addr, |a| a.parse().expect("--listen address"));
            server.admin_addr = flag_value(&server.args, "--admin-listen").map_or_else(free_addr, |a| a.parse().expect("--admin-listen address"));
            match server.spawn() {
                Ok(()) => return server,
                Err(log) if attempt < 3 && log.contains("already in use") => continue,
                Err(log) => panic!("leofs server did not start:\n{log}"),
            }
        }
    }

    /// The command line: defaults, minus those the caller's flags replace, then theirs.
    fn command_args(&self) -> Vec<String> {
        let (s3, admin, data) = (self.s3_addr.to_string(), self.admin_addr.to_string(), self.data_dir.display().to_string());
        let defaults: [(&str, Option<&str>); 5] = [
            ("--listen", Some(&s3)),
            ("--admin-listen", Some(&admin)),
            ("--data-dir", Some(&data)),
            ("--shards", Some("2")),
            ("--segment-mib", Some("8")),
        ];
        let given = |flag: &str| self.args.iter().any(|a| a == flag || a.starts_with(&format!("{flag}=")));
        let mut out = vec!["server".to_owned()];
        for (flag, value) in defaults.iter().filter(|(f, _)| !given(f)) {
            out.push((*flag).to_owned());
            out.extend(value.map(str::to_owned));
        }
        if !given("--allow-buffered-io") {
            out.push("--allow-buffered-io".to_owned());
        }
        out.extend(self.args.iter().cloned());
        out
    }

    /// Spawns the child and waits until it serves; `Err` holds its log when it exited or
    /// did not come up in time.
    fn spawn(&mut self) -> Result<(), String> {
        let log = OpenOptions::new().create(true).append(true).open(&self.log_path).expect("open the server log");
        let from = log.metadata().map(|m| m.len()).unwrap_or(0) as usize;
        let mut cmd = Command::new(bin_path("leofs"));
        cmd.args(self.command_args()).stdin(Stdio::null());
        cmd.stdout(log.try_clone().expect("clone the log handle")).stderr(log);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("LEOFS_") {
                cmd.env_remove(&k);
            }
        }
        cmd.env("LEOFS_ROOT_ACCESS_KEY", ROOT_ACCESS_KEY).env("LEOFS_ROOT_SECRET_KEY", ROOT_SECRET_KEY);
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "info");
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        self.child = Some(cmd.spawn().expect("spawn leofs"));
        let start = Instant::now();
        loop {
            let text = fs::read(&self.log_path).unwrap_or_default();
            let new = String::from_utf8_lossy(text.get(from..).unwrap_or_default());
            // The line comes after every shard opened; the connect proves the port is ours.
            if new.contains(READY_LINE) && TcpStream::connect_timeout(&self.s3_addr, Duration::from_secs(1)).is_ok() {
                return Ok(());
            }
            let exited = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                self.child = None;
                return Err(format!("exited with {status}; log {}:\n{new}", self.log_path.display()));
            }
            if start.elapsed() > START_LIMIT {
                self.kill9();
                return Err(format!("not serving after {START_LIMIT:?}; log {}:\n{new}", self.log_path.display()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server (SIGTERM) if it runs, and starts it again on the same ports and
    /// data directory. After [`kill9`](Self::kill9) this is crash recovery.
    pub fn restart(&mut self) {
        if self.is_running() {
            let status = self.stop_sigterm();
            assert!(status.success(), "leofs server exited with {status} on SIGTERM; log:\n{}", self.log());
        }
        self.wait_ports_free();
        if let Err(log) = self.spawn() {
            panic!("leofs server did not restart:\n{log}");
        }
    }

    /// Waits until the server's ports can be bound again. A killed process's io_uring is
    /// torn down asynchronously by the kernel, so its listening sockets can outlive it for
    /// a moment.
    fn wait_ports_free(&self) {
        let start = Instant::now();
        while start.elapsed() < STOP_LIMIT {
            if TcpListener::bind(self.s3_addr).is_ok() && TcpListener::bind(self.admin_addr).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("ports {} and {} still busy {STOP_LIMIT:?} after the server stopped", self.s3_addr, self.admin_addr);
    }

    /// Sends SIGTERM and waits for the exit (a clean shutdown exits 0). Panics if the
    /// server is not running or takes longer than a minute.
    pub fn stop_sigterm(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("stop_sigterm: the server is not running");
        match sigterm_and_wait(&mut child, STOP_LIMIT) {
            Some(status) => status,
            None => panic!("leofs server still running {STOP_LIMIT:?} after SIGTERM (killed); log:\n{}", self.log()),
        }
    }

    /// Kills the server with SIGKILL (a crash: nothing is flushed) and reaps it. Does
    /// nothing when it is not running.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the child is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(_) => {
                self.child = None;
                false
            }
            None => false,
        }
    }

    /// Everything the server printed so far (all runs).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The root user's S3 credentials.
    pub fn root_creds(&self) -> Creds {
        Creds::new(ROOT_ACCESS_KEY, ROOT_SECRET_KEY)
    }

    /// An S3 request, signed by `creds` or anonymous (see [`http::s3`]). Panics on I/O
    /// errors.
    pub fn s3(&self, creds: Option<&Creds>, method: &str, path: &str, query: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        http::s3(self.s3_addr, creds, method, path, query, headers, body).unwrap_or_else(|e| panic!("S3 {method} {path}: {e}"))
    }

    /// An S3 request signed by root.
    pub fn s3_root(&self, method: &str, path: &str, query: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        self.s3(Some(&self.root_creds()), method, path, query, headers, body)
    }

    /// An admin API request with an optional JSON body. Panics on I/O errors.
    pub fn admin(&self, method: &str, path: &str, json: Option<&str>) -> Response {
        let (headers, body): (&[(&str, &str)], &[u8]) = match json {
            Some(j) => (&[("Content-Type", "application/json")], j.as_bytes()),
            None => (&[], b""),
        };
        http::send(self.admin_addr, method, path, headers, body).unwrap_or_else(|e| panic!("admin {method} {path}: {e}"))
    }

    /// Runs `leofs-adm --endpoint <this server> ARGS` and returns its output.
    pub fn adm(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(bin_path("leofs-adm"));
        cmd.env_remove("LEOFS_ADMIN_ENDPOINT").arg("--endpoint").arg(format!("http://{}", self.admin_addr)).args(args);
        cmd.stdin(Stdio::null()).output().expect("run leofs-adm")
    }

    /// Like [`adm`](Self::adm), asserting success; returns stdout.
    pub fn adm_ok(&self, args: &[&str]) -> String {
        let out = self.adm(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "leofs-adm {args:?} failed ({}):\nstdout: {stdout}\nstderr: {stderr}", out.status);
        stdout
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() {
            eprintln!("leofs test server kept for inspection: {} (log: {})", self.dir.display(), self.log_path.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}


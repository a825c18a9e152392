//! `GET /metrics` on the admin listener against a real `leofs server`: the counters move by
//! what the S3 traffic did, every shard reports, `promtool` accepts the output, and a real
//! Prometheus scrapes it. The last two are skipped, with the reason printed, where the
//! Prometheus binaries are not installed (Debian: `apt-get install prometheus`).

use leofs_tests::http::{self, Response};
use leofs_tests::Server;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest wait for Prometheus to come up and scrape, and again for a scrape to see traffic.
const PROMETHEUS_LIMIT: Duration = Duration::from_secs(30);

fn scrape(server: &Server, accept: Option<&str>) -> Response {
    let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
    let r = http::send(server.admin_addr, "GET", "/metrics", &headers, b"").expect("GET /metrics");
    assert_eq!(r.status, 200, "GET /metrics: {}", r.text());
    r
}

/// The value of the sample whose name and labels are exactly `series`; 0 when absent (a
/// counter never incremented is not exported).
fn value(text: &str, series: &str) -> f64 {
    let line = text.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')));
    line.map_or(0.0, |v| v.trim().parse().unwrap_or_else(|e| panic!("{series}: bad value {v:?}: {e}")))
}

/// The sum of every sample of `name` whose labels contain all of `labels`.
fn sum(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(series, _)| series.split('{').next() == Some(name) && labels.iter().all(|want| series.contains(want)))
        .map(|(_, v)| v.parse::<f64>().expect("sample value"))
        .sum()
}

fn make_bucket(server: &Server, name: &str) {
    let r = server.s3_root("PUT", &format!("/{name}"), "", &[], b"");
    assert_eq!(r.status, 200, "CreateBucket {name}: {}", r.text());
}

/// Whether `program` can be run (`--version` answers).
fn installed(program: &str) -> bool {
    Command::new(program).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

#[test]
fn scrape_counts_s3_traffic_and_reports_every_shard() {
    let server = Server::start();
    let before = scrape(&server, None).text();
    let put = |n: &str| value(n, "leofs_s3_requests_total{op=\"PutObject\",status=\"200\"}");
    assert_eq!(put(&before), 0.0, "{before}");

    make_bucket(&server, "metered");
    let mut sent = 0;
    for i in 0..5 {
        let body = vec![b'x'; 1000 + i];
        sent += body.len();
        assert_eq!(server.s3_root("PUT", &format!("/metered/obj-{i}"), "", &[], &body).status, 200);
    }
    assert_eq!(server.s3_root("GET", "/metered/obj-0", "", &[], b"").status, 200);
    assert_eq!(server.s3_root("GET", "/metered/missing", "", &[], b"").status, 404);
    // Unparseable: counted under op="Unknown".
    let r = http::raw(server.s3_addr, b"NOT AN HTTP REQUEST\r\n\r\n").expect("garbage request");
    assert_eq!(r.status, 400);
    // On the S3 port `/metrics` is a bucket, not the scrape.
    assert_eq!(server.s3_root("GET", "/metrics", "", &[], b"").status, 404);

    let r = scrape(&server, None);
    assert_eq!(r.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    let after = r.text();
    let moved = |series: &str| value(&after, series) - value(&before, series);
    assert_eq!(moved("leofs_s3_requests_total{op=\"PutObject\",status=\"200\"}"), 5.0, "{after}");
    assert_eq!(moved("leofs_s3_requests_total{op=\"CreateBucket\",status=\"200\"}"), 1.0, "{after}");
    assert_eq!(moved("leofs_s3_requests_total{op=\"GetObject\",status=\"200\"}"), 1.0, "{after}");
    assert_eq!(moved("leofs_s3_requests_total{op=\"GetObject\",status=\"404\"}"), 1.0, "{after}");
    assert_eq!(moved("leofs_s3_requests_total{op=\"ListObjectsV2\",status=\"404\"}") + moved("leofs_s3_requests_total{op=\"ListObjects\",status=\"404\"}"), 1.0, "{after}");
    assert_eq!(sum(&after, "leofs_s3_requests_total", &["op=\"Unknown\""]), 1.0, "{after}");
    assert_eq!(moved("leofs_s3_request_duration_seconds_count{op=\"PutObject\"}"), 5.0, "{after}");
    assert_eq!(moved("leofs_s3_request_duration_seconds_bucket{op=\"PutObject\",le=\"+Inf\"}"), 5.0, "{after}");
    assert!(value(&after, "leofs_s3_request_duration_seconds_sum{op=\"PutObject\"}") > 0.0, "{after}");
    assert_eq!(moved("leofs_s3_bytes_received_total"), sent as f64, "{after}");
    assert!(moved("leofs_s3_bytes_sent_total") >= 1000.0, "{after}");

    // Both shards report; between them they hold the 5 objects.
    for shard in ["0", "1"] {
        for name in ["leofs_engine_segments", "leofs_engine_live_bytes", "leofs_engine_garbage_bytes", "leofs_engine_index_entries", "leofs_engine_poisoned", "leofs_engine_records_written_total", "leofs_engine_fdatasync_total", "leofs_engine_fdatasync_seconds_total", "leofs_engine_group_commit_batches_total", "leofs_engine_compacted_segments_total"] {
            let series = format!("{name}{{shard=\"{shard}\"}} ");
            assert!(after.contains(&series), "no {series} in:\n{after}");
        }
        assert_eq!(value(&after, &format!("leofs_engine_poisoned{{shard=\"{shard}\"}}")), 0.0);
        assert!(after.contains(&format!("leofs_io_driver{{core=\"{shard}\",driver=\"")), "{after}");
        assert!(after.contains(&format!("leofs_open_connections{{core=\"{shard}\"}} ")), "{after}");
    }
    assert_eq!(sum(&after, "leofs_engine_index_entries", &[]), 5.0, "{after}");
    assert!(sum(&after, "leofs_engine_records_written_total", &[]) >= 5.0, "{after}");
    assert!(sum(&after, "leofs_engine_live_bytes", &[]) >= sent as f64, "{after}");
    assert_eq!(value(&after, "leofs_catalog_buckets"), 1.0, "{after}");
    assert_eq!(value(&after, "leofs_catalog_users"), 1.0, "{after}");
    assert!(after.contains(&format!("leofs_build_info{{version=\"{}\"}} 1\n", env!("CARGO_PKG_VERSION"))), "{after}");

    // What Prometheus asks for: OpenMetrics.
    let om = scrape(&server, Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"));
    assert_eq!(om.header("content-type"), Some("application/openmetrics-text; version=1.0.0; charset=utf-8"));
    assert!(om.text().ends_with("# EOF\n"), "{}", om.text());
    assert!(om.text().contains("# TYPE leofs_s3_requests counter\n"), "{}", om.text());

    let r = http::send(server.admin_addr, "POST", "/metrics", &[], b"").expect("POST /metrics");
    assert_eq!(r.status, 405, "{}", r.text());

    // The shipped dashboard only names metrics the server exports.
    for expr in dashboard_exprs() {
        for name in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| w.starts_with("leofs_")) {
            assert!(after.contains(&format!("\n{name}")), "the dashboard queries {name}, which /metrics does not export");
        }
    }

    if !installed("promtool") {
        eprintln!("skipping promtool check: promtool is not installed (Debian package `prometheus`)");
        return;
    }
    // promtool reads the 0.0.4 text format only; the OpenMetrics output is checked by the
    // real Prometheus below, which asks for it.
    let mut child = Command::new("promtool").args(["check", "metrics"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run promtool");
    child.stdin.take().expect("promtool stdin").write_all(after.as_bytes()).expect("feed promtool");
    let out = child.wait_with_output().expect("wait for promtool");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "promtool check metrics failed ({}):\n{said}\non:\n{after}", out.status);
    let config = leofs_tests::workspace_root().join("deploy").join("prometheus.yml");
    let out = Command::new("promtool").arg("check").arg("config").arg(&config).output().expect("run promtool");
    assert!(out.status.success(), "promtool check config {}: {}{}", config.display(), String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

/// A `prometheus` server process, killed and its directory removed on drop.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Prometheus {
    /// Starts Prometheus on a free loopback port, scraping `target` every second.
    fn start(target: SocketAddr) -> Prometheus {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("leofs-tests").join(format!("prometheus-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the Prometheus directory");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: leofs\n    static_configs:\n      - targets: ['{target}']\n"
        );
        std::fs::write(dir.join("prometheus.yml"), config).expect("write prometheus.yml");
        let addr = leofs_tests::free_addr();
        let log = std::fs::File::create(dir.join("prometheus.log")).expect("create the Prometheus log");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn prometheus");
        Prometheus { child, addr, dir }
    }

    /// The API's answer to an instant query; `None` while Prometheus does not answer.
    fn api(&self, promql: &str) -> Option<serde_json::Value> {
        TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).ok()?;
        let encoded: String = promql.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect();
        let r = http::send(self.addr, "GET", &format!("/api/v1/query?query={encoded}"), &[], b"").ok()?;
        // Go may frame the body in chunks: the JSON document lies within them whole.
        let text = r.text();
        serde_json::from_str(&text[text.find('{')?..=text.rfind('}')?]).ok()
    }

    /// The value of the first series an instant query returns; `None` when there is none
    /// yet or Prometheus does not answer yet.
    fn query(&self, promql: &str) -> Option<f64> {
        self.api(promql)?["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    }

    /// Polls `promql` until `ok` accepts its value, for at most [`PROMETHEUS_LIMIT`].
    fn wait_for(&self, promql: &str, ok: impl Fn(f64) -> bool) -> f64 {
        let start = Instant::now();
        loop {
            let v = self.query(promql);
            if let Some(v) = v.filter(|v| ok(*v)) {
                return v;
            }
            assert!(start.elapsed() < PROMETHEUS_LIMIT, "Prometheus: {promql} is {v:?} after {PROMETHEUS_LIMIT:?}; its log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[test]
fn a_real_prometheus_scrapes_the_admin_listener() {
    if !installed("prometheus") {
        eprintln!("skipping: the prometheus binary is not installed (Debian package `prometheus`)");
        return;
    }
    let server = Server::start();
    make_bucket(&server, "scraped");
    let prometheus = Prometheus::start(server.admin_addr);
    prometheus.wait_for("up{job=\"leofs\"}", |v| v == 1.0);
    let puts = "sum(leofs_s3_requests_total{job=\"leofs\",op=\"PutObject\",status=\"200\"}) or vector(0)";
    let before = prometheus.wait_for(puts, |_| true);
    for i in 0..3 {
        assert_eq!(server.s3_root("PUT", &format!("/scraped/k{i}"), "", &[], b"scrape me").status, 200);
    }
    prometheus.wait_for(puts, |v| v >= before + 3.0);
    assert_eq!(prometheus.wait_for("count(leofs_engine_index_entries{job=\"leofs\"})", |_| true), 2.0);
    // Every query of the shipped dashboard is valid PromQL.
    for expr in dashboard_exprs() {
        let promql = expr.replace("$__rate_interval", "10s").replace("$instance", ".+");
        let answer = prometheus.api(&promql).unwrap_or_else(|| panic!("Prometheus did not answer {promql}"));
        assert_eq!(answer["status"], "success", "dashboard query {promql}: {answer}");
    }
}

/// The PromQL of every panel of `deploy/grafana-leofs.json`.
fn dashboard_exprs() -> Vec<String> {
    let path = leofs_tests::workspace_root().join("deploy").join("grafana-leofs.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
    let panels = dashboard["panels"].as_array().expect("dashboard panels");
    let exprs: Vec<String> = panels.iter().flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default()).filter_map(|t| t["expr"].as_str().map(str::to_owned)).collect();
    assert!(exprs.len() >= 8, "too few dashboard queries: {exprs:?}");
    exprs
}

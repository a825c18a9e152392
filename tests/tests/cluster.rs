//! The cluster end to end: 1 manager + 3 storage nodes + 1 gateway, N=3 W=2 R=2, as
//! separate processes on loopback.
//!
//! The checker records every acknowledged write. A write that failed may or may not have
//! landed, so until the key is acknowledged again both its values are allowed; an
//! acknowledged one must read back exactly (R + W > N promises read-after-write).

use leofs_tests::checker::{load_through_rebalance, Checker, Rng, BUCKET};
use leofs_tests::cluster::Cluster;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn fault_run(seed: u64) {
    let mut c = Cluster::start(3, 2);
    let r = c.s3("PUT", &format!("/{BUCKET}"), "", b"").expect("create bucket");
    assert_eq!(r.status, 200, "{}", r.text());
    let keys: Vec<String> = (0..120).map(|i| format!("k{seed}-{i:03}")).collect();
    let mut ck = Checker { rng: Rng(seed), keys, model: BTreeMap::new(), counter: 0 };
    let before = ck.run(&c, Duration::from_secs(2), 3000);
    assert_eq!(before.failed, 0, "failures with every node up: {:?}\n{}", before.errors, c.logs());
    let victim = (seed % 3) as usize;
    c.storage[victim].kill9();
    let during = ck.run(&c, Duration::from_secs(4), 6000);
    // With a node down, a listing still shows every key whose last acknowledged write
    // created it (each has a live replica), in pages.
    ck.verify_listing(&c);
    c.storage[victim].start();
    let total = during.ok + during.failed;
    eprintln!("seed {seed}: killed storage-{}; before {} ok; during {} ok / {} failed {:?}", victim + 1, before.ok, during.ok, during.failed, during.errors);
    assert!(total > 50, "too few requests during the fault to judge: {total}");
    assert!(during.ok * 100 >= total * 99, "only {}/{total} requests succeeded during the fault: {:?}", during.ok, during.errors);
    c.wait_converged(Duration::from_secs(30));
    ck.verify_placement(&c);
    ck.verify_reads(&c);
    let after = ck.run(&c, Duration::from_secs(1), 2000);
    assert_eq!(after.failed, 0, "failures after recovery: {:?}", after.errors);
}

#[test]
fn acknowledged_writes_survive_a_storage_node_crash() {
    let seeds: Vec<u64> = match std::env::var("LEOFS_CLUSTER_SEEDS") {
        Ok(s) => s.split(',').filter_map(|x| x.trim().parse().ok()).collect(),
        Err(_) => vec![1, 2],
    };
    for seed in seeds {
        fault_run(seed);
    }
}

#[test]
fn manager_down_leaves_s3_serving_and_a_restarted_manager_has_the_same_state() {
    let mut c = Cluster::start(3, 1);
    assert_eq!(c.s3("PUT", "/mgr-test", "", b"").unwrap().status, 200);
    // A user created on the manager can sign requests on the gateway within 2 s.
    let r = c.admin("POST", "/v1/users", Some(r#"{"user_id":"alice"}"#));
    assert_eq!(r.status, 201, "{}", r.text());
    let key = r.json();
    let alice = leofs_tests::http::Creds::new(key["access_key_id"].as_str().unwrap(), key["secret_access_key"].as_str().unwrap());
    // The manager's admin API wants an admin's credentials: none is 401, a wrong secret
    // 401, a user who is not an admin 403.
    assert_eq!(c.admin_as(None, "GET", "/v1/cluster", None).status, 401);
    assert_eq!(c.admin_as(Some((leofs_tests::ROOT_ACCESS_KEY, "wrong")), "GET", "/v1/users", None).status, 401);
    let r = c.admin_as(Some((&alice.access_key, &alice.secret_key)), "POST", "/v1/cluster/start", None);
    assert_eq!(r.status, 403, "{}", r.text());
    let t = Instant::now();
    loop {
        let r = leofs_tests::http::s3(c.s3_addr, Some(&alice), "GET", "/", "", &[], b"").unwrap();
        if r.status == 200 {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(2), "the gateway did not learn alice's key within 2 s: {} {}", r.status, r.text());
        std::thread::sleep(Duration::from_millis(50));
    }
    let before = c.status();
    c.manager.kill9();
    for i in 0..40 {
        let path = format!("/mgr-test/o{i}");
        assert_eq!(c.s3("PUT", &path, "", format!("v{i}").as_bytes()).unwrap().status, 200);
        let r = c.s3("GET", &path, "", b"").unwrap();
        assert_eq!((r.status, r.body), (200, format!("v{i}").into_bytes()));
    }
    let r = c.s3("GET", "/mgr-test", "list-type=2", b"").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.text().matches("<Key>").count(), 40);
    // Bucket changes need the manager: a clear 5xx, not a hang.
    let r = c.s3("PUT", "/another-bucket", "", b"").unwrap();
    assert!(r.status >= 500, "{} {}", r.status, r.text());
    c.manager.start();
    let after = c.wait_converged(Duration::from_secs(20));
    assert_eq!(before["ring_checksum"], after["ring_checksum"]);
    assert_eq!(before["consistency"], after["consistency"]);
    let ids = |s: &serde_json::Value| s["nodes"].as_array().unwrap().iter().map(|n| (n["id"].clone(), n["role"].clone())).collect::<Vec<_>>();
    assert_eq!(ids(&before), ids(&after));
    let users = c.admin("GET", "/v1/users", None).text();
    assert!(users.contains("alice"), "{users}");
    let r = c.s3("PUT", "/another-bucket", "", b"").unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn a_node_with_a_stale_ring_is_detected_by_checksum_and_repaired() {
    let mut c = Cluster::start(3, 1);
    let old = c.status()["ring_checksum"].clone();
    assert!(c.storage[2].stop(), "storage-3 did not stop cleanly");
    c.wait_for("storage-3 marked stop", Duration::from_secs(10), |s| s["nodes"].as_array().unwrap().iter().any(|n| n["id"] == "storage-3" && n["state"] == "stop"));
    let r = c.admin("PUT", "/v1/consistency", Some(r#"{"n":3,"w":1,"r":1,"d":1}"#));
    assert_eq!(r.status, 200, "{}", r.text());
    let new = c.status()["ring_checksum"].clone();
    assert_ne!(old, new);
    // storage-3 comes back with the old RING from its cache, reports its checksum, and is
    // sent the current one.
    c.storage[2].start();
    c.wait_converged(Duration::from_secs(20));
    let log = c.storage[2].log();
    let cached = log.find("from ").and_then(|_| log.rfind("RING version 1 from")).expect("storage-3 started with its cached RING version 1");
    let pushed = log.rfind("RING version 2").expect("the manager pushed RING version 2");
    assert!(pushed > cached, "{log}");
    // With W=1 now, a write is acknowledged by one copy and still reaches all three.
    assert_eq!(c.s3("PUT", "/stale-ring", "", b"").unwrap().status, 200);
    assert_eq!(c.s3("PUT", "/stale-ring/k", "", b"v").unwrap().status, 200);
    c.wait_converged(Duration::from_secs(20));
    // The two copies the write did not wait for may still be on their way (nothing is queued).
    let t = Instant::now();
    loop {
        let w = c.whereis("stale-ring/k");
        if w["replicas"].as_array().unwrap().iter().all(|r| r["present"] == true) {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(5), "{w}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every process of a cluster serves Prometheus metrics with the cluster's gauges, and
/// `promtool check metrics` accepts each (skipped, with the reason, without promtool).
#[test]
fn every_cluster_process_serves_metrics_with_cluster_gauges() {
    let mut c = Cluster::start(3, 1);
    assert_eq!(c.s3("PUT", "/metrics-test", "", b"").unwrap().status, 200);
    assert_eq!(c.s3("PUT", "/metrics-test/k", "", b"v").unwrap().status, 200);
    // A node down: writes queue repairs for it, which the metrics show.
    c.storage[1].kill9();
    for i in 0..20 {
        assert_eq!(c.s3("PUT", &format!("/metrics-test/k{i}"), "", b"v").unwrap().status, 200);
    }
    let procs: Vec<(&str, std::net::SocketAddr)> = vec![("manager", c.manager.admin), ("storage-1", c.storage[0].admin), ("gateway", c.gateway.admin)];
    for (name, addr) in &procs {
        // The repair-queue gauge is refreshed by each pass of the repair worker (every
        // 200 ms), so it may trail the last PUT by one pass.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let text = loop {
            let r = leofs_tests::http::send(*addr, "GET", "/metrics", &[], b"").expect("GET /metrics");
            assert_eq!(r.status, 200, "{name}: {}", r.text());
            let text = r.text();
            if *name != "storage-1" || text.contains("leofs_repair_queue_depth{target=\"storage-2\"}") || std::time::Instant::now() > deadline {
                break text;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        assert!(text.contains("leofs_ring_version 1\n"), "{name}:\n{text}");
        assert!(text.contains("leofs_node_state{node=\"storage-3\",state=\"running\"} 1"), "{name}:\n{text}");
        if *name == "storage-1" {
            assert!(text.contains("leofs_repair_queue_depth{target=\"storage-2\"}"), "{name}:\n{text}");
        }
        if *name == "gateway" {
            assert!(text.contains("leofs_s3_requests_total{op=\"PutObject\",status=\"200\"}"), "{name}:\n{text}");
        }
        let status = if *name == "manager" { c.admin("GET", "/v1/status", None) } else { leofs_tests::http::send(*addr, "GET", "/v1/status", &[], b"").unwrap() };
        assert_eq!(status.status, 200, "{name}: {}", status.text());
        if *name != "manager" {
            // Users and buckets are the manager's: a node refuses to change them.
            let r = leofs_tests::http::send(*addr, "POST", "/v1/users", &[("Content-Type", "application/json")], br#"{"user_id":"bob"}"#).unwrap();
            assert_eq!(r.status, 409, "{name}: {}", r.text());
        }
        if std::process::Command::new("promtool").arg("--version").output().is_err() {
            eprintln!("skipping promtool check: promtool is not installed (Debian package `prometheus`)");
            continue;
        }
        use std::io::Write;
        let mut child = std::process::Command::new("promtool").args(["check", "metrics"]).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().expect("run promtool");
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "promtool on {name}: {}{}\n{text}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
}

/// recover-node: a storage node whose data directory was wiped gets every object (and
/// every deletion) it should hold back from its peers.
#[test]
fn recover_node_rebuilds_a_wiped_node() {
    let mut c = Cluster::start(3, 2);
    assert_eq!(c.s3("PUT", "/rebuild", "", b"").unwrap().status, 200);
    let mut expect = BTreeMap::new();
    for i in 0..240 {
        let body: Vec<u8> = if i == 7 { vec![b'z'; 200 << 10] } else { format!("object {i}").repeat(i % 50 + 1).into_bytes() };
        assert_eq!(c.s3("PUT", &format!("/rebuild/o{i:03}"), "", &body).unwrap().status, 200);
        expect.insert(format!("o{i:03}"), Some(body));
    }
    for i in (0..240).step_by(12) {
        assert_eq!(c.s3("DELETE", &format!("/rebuild/o{i:03}"), "", b"").unwrap().status, 204);
        expect.insert(format!("o{i:03}"), None);
    }
    c.wait_converged(Duration::from_secs(20));
    assert!(c.storage[1].stop());
    std::fs::remove_dir_all(c.storage_dir(1)).expect("wipe storage-2");
    c.storage[1].start();
    c.wait_converged(Duration::from_secs(20));
    let before = c.whereis("rebuild/o001");
    assert!(before["replicas"].as_array().unwrap().iter().any(|r| r["node"] == "storage-2" && r["present"] == false), "{before}");
    let r = c.admin("POST", "/v1/nodes/storage-2/recover", None);
    assert_eq!(r.status, 200, "{}", r.text());
    let t = Instant::now();
    loop {
        let du = c.admin("GET", "/v1/nodes/storage-2/du", None).json();
        if du["recovery"]["running"] == false && du["recovery"]["peers_done"] == 2 {
            assert!(du["recovery"]["errors"].as_array().unwrap().is_empty(), "{du}");
            assert!(du["recovery"]["keys_requested"].as_u64().unwrap() >= 240, "{du}");
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "recovery did not finish: {du}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The peers deliver what storage-2 asked for from their repair queues.
    let t = Instant::now();
    for (k, v) in &expect {
        loop {
            let w = c.whereis(&format!("rebuild/{k}"));
            let reps = w["replicas"].as_array().unwrap();
            let on2 = reps.iter().find(|r| r["node"] == "storage-2").expect("storage-2 is a replica with N=3 on 3 nodes");
            let versions: Vec<&serde_json::Value> = reps.iter().map(|r| &r["version_us"]).collect();
            if versions.windows(2).all(|x| x[0] == x[1]) && (on2["present"] == true) == v.is_some() {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(60), "{k} not rebuilt on storage-2: {w}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    c.wait_converged(Duration::from_secs(60));
    // Reads served by storage-2 alone (R=1, the others suspended from routing) see it all.
    for other in ["storage-1", "storage-3"] {
        assert_eq!(c.admin("POST", &format!("/v1/nodes/{other}/suspend"), None).status, 200);
    }
    let r = c.admin("PUT", "/v1/consistency", Some(r#"{"n":3,"w":1,"r":1,"d":1}"#));
    assert_eq!(r.status, 200, "{}", r.text());
    c.wait_for("RING v2 everywhere", Duration::from_secs(10), |s| s["stale_nodes"].as_array().is_some_and(Vec::is_empty) && s["ring_version"] == 2);
    std::thread::sleep(Duration::from_millis(1200));
    for (k, v) in &expect {
        let r = c.s3("GET", &format!("/rebuild/{k}"), "", b"").unwrap();
        match v {
            Some(body) => assert_eq!((r.status, &r.body), (200, body), "{k}"),
            None => assert_eq!(r.status, 404, "{k}"),
        }
    }
}

/// Copies a directory tree (a node's data directory, as a backup).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Flips one byte of the first occurrence of `marker` in any file under `dir`; returns
/// whether it found one.
fn flip_byte_of(dir: &std::path::Path, marker: &[u8]) -> bool {
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            if flip_byte_of(&path, marker) {
                return true;
            }
            continue;
        }
        let mut bytes = std::fs::read(&path).unwrap();
        if let Some(at) = bytes.windows(marker.len()).position(|w| w == marker) {
            bytes[at + 3] ^= 0x20;
            use std::io::{Seek, SeekFrom, Write};
            let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.seek(SeekFrom::Start((at + 3) as u64)).unwrap();
            f.write_all(&bytes[at + 3..at + 4]).unwrap();
            f.sync_all().unwrap();
            return true;
        }
    }
    false
}

fn scrub_stats(c: &Cluster, i: usize) -> serde_json::Value {
    leofs_tests::http::send(c.storage[i].admin, "GET", "/v1/status", &[], b"").unwrap().json()["scrub"].clone()
}

/// Scrub, with no operator command: a record whose bytes rot on one node is found and
/// replaced from another replica (GET never returns the rotten bytes meanwhile), and a node
/// restored from an old backup gets back the records it misses (anti-entropy).
#[test]
fn scrub_repairs_a_corrupt_record_and_a_missing_one() {
    let mut c = Cluster::start_opts(3, 1, &["--scrub-pause-ms", "500", "--scrub-mib-per-sec", "64"]);
    assert_eq!(c.s3("PUT", "/scrub", "", b"").unwrap().status, 200);
    let body: Vec<u8> = b"SCRUB-MARKER-0123456789-".iter().copied().cycle().take(8192).collect();
    assert_eq!(c.s3("PUT", "/scrub/victim", "", &body).unwrap().status, 200);
    for i in 0..20 {
        assert_eq!(c.s3("PUT", &format!("/scrub/filler{i}"), "", b"filler").unwrap().status, 200);
    }
    // Storage-3's backup, taken before the last writes.
    assert!(c.storage[2].stop());
    let backup = c.dir.join("storage-3-backup");
    copy_dir(&c.storage_dir(2), &backup);
    c.storage[2].start();
    c.wait_converged(Duration::from_secs(20));
    for i in 0..30 {
        assert_eq!(c.s3("PUT", &format!("/scrub/late{i}"), "", format!("late {i}").as_bytes()).unwrap().status, 200);
    }
    c.wait_converged(Duration::from_secs(20));

    // Rot on storage-1.
    assert!(flip_byte_of(&c.storage_dir(0), b"SCRUB-MARKER-0123456789-"), "the object's bytes are not in storage-1's segments");
    let before = scrub_stats(&c, 0)["corrupt"].as_u64().unwrap();
    let t = Instant::now();
    loop {
        let r = c.s3("GET", "/scrub/victim", "", b"").unwrap();
        assert_eq!((r.status, r.body == body), (200, true), "GET returned other bytes or failed: {}", r.status);
        let s = scrub_stats(&c, 0);
        if s["corrupt"].as_u64().unwrap() > before && s["repairs_requested"].as_u64().unwrap() > 0 {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "scrub did not find the rotten record: {s}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Repaired: two more passes find nothing new.
    let found = scrub_stats(&c, 0);
    let t = Instant::now();
    loop {
        let s = scrub_stats(&c, 0);
        if s["passes"].as_u64().unwrap() >= found["passes"].as_u64().unwrap() + 2 {
            assert_eq!(s["corrupt"], found["corrupt"], "the record is still corrupt after repair: {s}");
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "scrub stalled: {s}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Storage-3 back from its old backup: it misses the late writes until anti-entropy.
    assert!(c.storage[2].stop());
    std::fs::remove_dir_all(c.storage_dir(2)).unwrap();
    copy_dir(&backup, &c.storage_dir(2));
    c.storage[2].start();
    let w = c.whereis("scrub/late0");
    assert!(w["replicas"].as_array().unwrap().iter().any(|r| r["node"] == "storage-3" && r["present"] == false), "{w}");
    let t = Instant::now();
    'wait: loop {
        let mut missing = 0;
        for i in 0..30 {
            let w = c.whereis(&format!("scrub/late{i}"));
            missing += w["replicas"].as_array().unwrap().iter().filter(|r| r["present"] != true).count();
        }
        if missing == 0 {
            break 'wait;
        }
        assert!(t.elapsed() < Duration::from_secs(45), "{missing} replicas still missing after anti-entropy had time to run\n{}", c.logs());
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// 3 → 4 nodes and 4 → 3 nodes under a checker's load: no request fails at any point, and
/// afterwards placement matches the RING and the departed node holds nothing.
#[test]
fn rebalance_to_four_nodes_and_back_under_load() {
    let mut c = Cluster::start(3, 1);
    assert_eq!(c.s3("PUT", &format!("/{BUCKET}"), "", b"").unwrap().status, 200);
    let keys: Vec<String> = (0..150).map(|i| format!("rb-{i:03}")).collect();
    let mut ck = Checker { rng: Rng(99), keys, model: BTreeMap::new(), counter: 0 };
    let warm = ck.run(&c, Duration::from_secs(2), 3000);
    assert_eq!(warm.failed, 0, "{:?}", warm.errors);

    let four = c.add_storage();
    let r = c.admin("POST", "/v1/rebalance", None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["ring_version"], 2);
    let grow = load_through_rebalance(&c, &mut ck, Duration::from_secs(60));
    eprintln!("3 -> 4: {} ok, {} failed {:?}", grow.ok, grow.failed, grow.errors);
    assert_eq!(grow.failed, 0, "requests failed during the rebalance: {:?}", grow.errors);
    c.wait_converged(Duration::from_secs(30));
    ck.verify_placement(&c);
    ck.verify_reads(&c);
    let du = c.admin("GET", &format!("/v1/nodes/storage-{}/du", four + 1), None).json();
    assert!(du["shards"][0]["objects"].as_u64().unwrap() > 0, "the new node holds nothing: {du}");

    let r = c.admin("POST", "/v1/nodes/storage-1/detach", None);
    assert_eq!(r.status, 200, "{}", r.text());
    let r = c.admin("POST", "/v1/rebalance", None);
    assert_eq!(r.status, 200, "{}", r.text());
    let shrink = load_through_rebalance(&c, &mut ck, Duration::from_secs(60));
    eprintln!("4 -> 3: {} ok, {} failed {:?}", shrink.ok, shrink.failed, shrink.errors);
    assert_eq!(shrink.failed, 0, "requests failed during the rebalance: {:?}", shrink.errors);
    c.wait_converged(Duration::from_secs(30));
    ck.verify_placement(&c);
    ck.verify_reads(&c);
    // The departed node dropped its copies once the rebalance completed.
    let t = Instant::now();
    loop {
        let du = c.admin("GET", "/v1/nodes/storage-1/du", None).json();
        if du["shards"][0]["objects"] == 0 {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "storage-1 still holds copies: {du}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A node killed in the middle of a rebalance and restarted: the rebalance completes and
/// every acknowledged write reads back, on the RING's replicas.
#[test]
fn rebalance_survives_a_node_crash_in_the_middle() {
    let mut c = Cluster::start(3, 1);
    assert_eq!(c.s3("PUT", &format!("/{BUCKET}"), "", b"").unwrap().status, 200);
    let keys: Vec<String> = (0..200).map(|i| format!("rk-{i:03}")).collect();
    let mut ck = Checker { rng: Rng(7), keys, model: BTreeMap::new(), counter: 0 };
    let warm = ck.run(&c, Duration::from_secs(2), 3000);
    assert_eq!(warm.failed, 0, "{:?}", warm.errors);
    c.add_storage();
    assert_eq!(c.admin("POST", "/v1/rebalance", None).status, 200);
    c.storage[1].kill9();
    let during = ck.run(&c, Duration::from_secs(2), 3000);
    eprintln!("while storage-2 is down mid-rebalance: {} ok, {} failed {:?}", during.ok, during.failed, during.errors);
    assert!(!c.status()["rebalance"].is_null(), "the rebalance must wait for the stopped node");
    c.storage[1].start();
    let rest = load_through_rebalance(&c, &mut ck, Duration::from_secs(60));
    assert_eq!(rest.failed, 0, "{:?}", rest.errors);
    c.wait_converged(Duration::from_secs(30));
    ck.verify_placement(&c);
    ck.verify_reads(&c);
}

/// delete-bucket of a bucket full of objects: it leaves the catalog at once, every node
/// deletes the objects in the background across a crash and restart of one of them, and a
/// bucket of the same name created afterwards starts empty.
#[test]
fn delete_bucket_of_a_full_bucket_completes_across_a_restart() {
    let mut c = Cluster::start(3, 1);
    assert_eq!(c.s3("PUT", "/full-bucket", "", b"").unwrap().status, 200);
    let objects = 4000;
    std::thread::scope(|s| {
        for t in 0..4 {
            let c = &c;
            s.spawn(move || {
                for i in (t..objects).step_by(4) {
                    let r = c.s3("PUT", &format!("/full-bucket/o{i:05}"), "", b"payload").unwrap();
                    assert_eq!(r.status, 200, "{}", r.text());
                }
            });
        }
    });
    let r = c.admin("DELETE", "/v1/buckets/full-bucket", Some(&format!(r#"{{"access_key_id":"{}"}}"#, leofs_tests::ROOT_ACCESS_KEY)));
    assert_eq!(r.status, 200, "{}", r.text());
    // Gone for S3 clients as soon as the gateway has the new catalog (within 2 s).
    let t = Instant::now();
    loop {
        let r = c.s3("GET", "/full-bucket/o00001", "", b"").unwrap();
        if r.status == 404 {
            assert!(r.text().contains("NoSuchBucket"), "{}", r.text());
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(2), "the bucket is still served: {} {}", r.status, r.text());
        std::thread::sleep(Duration::from_millis(50));
    }
    c.storage[1].kill9();
    std::thread::sleep(Duration::from_millis(300));
    c.storage[1].start();
    let t = Instant::now();
    loop {
        let d = c.admin("GET", "/v1/buckets-deleting", None).json();
        if d["deleting"].as_object().is_some_and(|m| m.is_empty()) {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(90), "delete-bucket did not finish: {d}");
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(c.s3("PUT", "/full-bucket", "", b"").unwrap().status, 200);
    assert_eq!(c.s3("PUT", "/full-bucket/new", "", b"new").unwrap().status, 200);
    let list = c.s3("GET", "/full-bucket", "list-type=2", b"").unwrap().text();
    assert_eq!(list.matches("<Key>").count(), 1, "old objects came back: {list}");
    for i in [0, 1, 1999, 3999] {
        let w = c.whereis(&format!("full-bucket/o{i:05}"));
        assert!(w["replicas"].as_array().unwrap().iter().all(|r| r["present"] != true), "{w}");
    }
}

/// A veth pair between this namespace and a network namespace of the test's own, removed
/// on drop. `None` (with the reason printed) where namespaces cannot be made.
struct NetNs {
    name: String,
    host_if: String,
}

impl NetNs {
    fn create(tag: u32) -> Option<(NetNs, std::net::IpAddr, std::net::IpAddr)> {
        let name = format!("leofs-pt-{tag}");
        let (host_if, ns_if) = (format!("lpt{tag}a"), format!("lpt{tag}b"));
        let net = format!("10.231.{}", tag % 250 + 1);
        let ip = |args: &[&str]| std::process::Command::new("ip").args(args).output().map(|o| o.status.success()).unwrap_or(false);
        if !ip(&["netns", "add", &name]) {
            eprintln!("skipping the partition test: cannot create a network namespace (needs root and `ip`)");
            return None;
        }
        let ns = NetNs { name: name.clone(), host_if: host_if.clone() };
        let ok = ip(&["link", "add", &host_if, "type", "veth", "peer", "name", &ns_if])
            && ip(&["link", "set", &ns_if, "netns", &name])
            && ip(&["addr", "add", &format!("{net}.1/24"), "dev", &host_if])
            && ip(&["link", "set", &host_if, "up"])
            && ip(&["netns", "exec", &name, "ip", "addr", "add", &format!("{net}.2/24"), "dev", &ns_if])
            && ip(&["netns", "exec", &name, "ip", "link", "set", &ns_if, "up"])
            && ip(&["netns", "exec", &name, "ip", "link", "set", "lo", "up"]);
        if !ok {
            eprintln!("skipping the partition test: cannot set up a veth pair");
            return None;
        }
        Some((ns, format!("{net}.1").parse().unwrap(), format!("{net}.2").parse().unwrap()))
    }

    /// Cuts (or restores) the link: packets are dropped, connections hang as in a real
    /// partition, nothing is refused.
    fn link(&self, up: bool) {
        let st = std::process::Command::new("ip").args(["link", "set", &self.host_if, if up { "up" } else { "down" }]).status().unwrap();
        assert!(st.success());
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip").args(["link", "del", &self.host_if]).status();
        let _ = std::process::Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

/// A partition cuts one storage node off (its own network namespace, link down): requests
/// keep succeeding through the other replicas, and once the link is back the node catches up
/// and every key is on its N replicas again.
#[test]
fn a_partitioned_storage_node_is_routed_around_and_catches_up() {
    let Some((ns, host, inside)) = NetNs::create(std::process::id() % 200) else { return };
    let placement = leofs_tests::cluster::Placement { host, isolated: Some((3, ns.name.clone(), inside)) };
    let c = Cluster::start_placed(3, 1, &[], placement);
    assert_eq!(c.s3("PUT", &format!("/{BUCKET}"), "", b"").unwrap().status, 200);
    let keys: Vec<String> = (0..80).map(|i| format!("pt-{i:03}")).collect();
    let mut ck = Checker { rng: Rng(5), keys, model: BTreeMap::new(), counter: 0 };
    let before = ck.run(&c, Duration::from_secs(2), 2000);
    assert_eq!(before.failed, 0, "{:?}", before.errors);
    ns.link(false);
    let during = ck.run(&c, Duration::from_secs(8), 4000);
    let total = during.ok + during.failed;
    eprintln!("partitioned: {} ok, {} failed {:?}", during.ok, during.failed, during.errors);
    assert!(total > 20 && during.ok * 100 >= total * 99, "{}/{total} succeeded: {:?}", during.ok, during.errors);
    c.wait_for("storage-3 marked stop", Duration::from_secs(10), |s| s["nodes"].as_array().unwrap().iter().any(|n| n["id"] == "storage-3" && n["state"] == "stop"));
    ns.link(true);
    c.wait_converged(Duration::from_secs(60));
    ck.verify_placement(&c);
    ck.verify_reads(&c);
}

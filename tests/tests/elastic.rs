//! Elastic cluster operations end to end (issue 7), each process on loopback: `takeover` of
//! a dead storage node by a fresh one under a checker's load, and `delete-bucket` of a bucket
//! of many objects across a storage node's restart.
//!
//! The delete-bucket test fills its bucket with 20,000 objects by default (~30 s). The
//! issue's 100,000 are behind an environment variable, since they take 110-130 s on a
//! 2-core machine with the debug build (filling ~57 s, deleting 37-57 s):
//!
//! ```text
//! LEOFS_DELETE_BUCKET_OBJECTS=100000 cargo test -p leofs-tests --test elastic delete_bucket
//! ```
//!
//! Any count of at least 10,000 works (nodes report their deletions 4096 at a time, and the
//! restart must fall in the middle).

use leofs_tests::checker::{load_through_rebalance, Checker, Tally, BUCKET};
use leofs_tests::cluster::Cluster;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Runs the checker until `done` holds (checked every 300 ms), at most `limit`; panics,
/// saying `what`, when that runs out.
fn load_until(c: &Cluster, ck: &mut Checker, what: &str, limit: Duration, mut done: impl FnMut(&Cluster) -> bool) -> Tally {
    let t = Instant::now();
    let mut all = Tally::default();
    loop {
        all.add(ck.run(c, Duration::from_millis(300), 1000));
        if done(c) {
            return all;
        }
        assert!(t.elapsed() < limit, "{what}: not after {limit:?}; status {:#}\n{}", c.status(), c.logs());
    }
}

fn node_ids(status: &serde_json::Value) -> BTreeSet<String> {
    status["nodes"].as_array().expect("nodes").iter().filter_map(|n| n["id"].as_str().map(str::to_owned)).collect()
}

/// A bulk object's body: a few bytes to ~10 KiB, and one of 1 MiB.
fn body(i: usize) -> Vec<u8> {
    if i == 7 {
        vec![b'z'; 1 << 20]
    } else {
        format!("object {i};").repeat(i % 97 * 7 + 1).into_bytes()
    }
}

/// `takeover`: storage-3 dies for good (SIGKILL, data directory gone); a fresh storage-4
/// joins and `leofs-adm takeover storage-3 storage-4` replaces it. The replacement is filled
/// from its peers while a checker's load runs without a single failed request; afterwards
/// every acknowledged write reads back, storage-4 holds the current version of every key
/// storage-3 held (and serves them alone), and storage-3 is gone from the cluster.
#[test]
fn takeover_fills_a_replacement_of_a_dead_node_from_its_peers_under_load() {
    let mut c = Cluster::start(3, 2);
    const OBJECTS: &str = "takeover";
    for b in [BUCKET, OBJECTS] {
        let r = c.s3("PUT", &format!("/{b}"), "", b"").unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let mut ck = Checker::new(31, (0..120).map(|i| format!("tk-{i:03}")).collect());

    // A few hundred objects written, some deleted, while the checker's load runs.
    let mut expect: BTreeMap<String, Option<Vec<u8>>> = BTreeMap::new();
    let stop = AtomicBool::new(false);
    let (warm, bad) = std::thread::scope(|s| {
        let load = s.spawn(|| ck.run_until(&c, &stop, Duration::from_secs(120), 50_000));
        let mut bad = Vec::new();
        for i in 0..300 {
            let (k, v) = (format!("o{i:03}"), body(i));
            match c.s3("PUT", &format!("/{OBJECTS}/{k}"), "", &v) {
                Ok(r) if r.status == 200 => {
                    expect.insert(k, Some(v));
                }
                other => bad.push(format!("PUT {k}: {other:?}")),
            }
        }
        for i in (0..300).step_by(15) {
            let k = format!("o{i:03}");
            match c.s3("DELETE", &format!("/{OBJECTS}/{k}"), "", b"") {
                Ok(r) if r.status == 204 => {
                    expect.insert(k, None);
                }
                other => bad.push(format!("DELETE {k}: {other:?}")),
            }
        }
        stop.store(true, Ordering::Relaxed);
        (load.join().expect("load thread"), bad)
    });
    assert!(bad.is_empty(), "writes failed with every node up: {bad:?}");
    assert_eq!(warm.failed, 0, "the load failed with every node up: {:?}", warm.errors);
    assert!(warm.ok > 50, "too little load to judge: {} requests", warm.ok);

    // What storage-3 holds: with N = 3 on 3 nodes, every key (checked, not assumed).
    let all_keys: Vec<String> = expect.keys().map(|k| format!("{OBJECTS}/{k}")).chain(ck.model.keys().map(|k| format!("{BUCKET}/{k}"))).collect();
    let owned: Vec<String> = all_keys.iter().filter(|k| c.whereis(k)["replicas"].as_array().unwrap().iter().any(|r| r["node"] == "storage-3")).cloned().collect();
    assert_eq!(owned.len(), all_keys.len(), "with N = 3 on 3 nodes storage-3 holds every key");

    // storage-3 dies for good.
    c.storage[2].kill9();
    std::fs::remove_dir_all(c.storage_dir(2)).expect("remove storage-3's data");
    let down = load_until(&c, &mut ck, "storage-3 marked stop", Duration::from_secs(15), |c| {
        c.status()["nodes"].as_array().unwrap().iter().any(|n| n["id"] == "storage-3" && n["state"] == "stop")
    });
    let total = down.ok + down.failed;
    eprintln!("storage-3 down: {} ok, {} failed {:?}", down.ok, down.failed, down.errors);
    assert!(total > 20 && down.ok * 100 >= total * 99, "only {}/{total} requests succeeded with storage-3 down: {:?}", down.ok, down.errors);

    // A fresh node takes its place.
    let new = c.add_storage();
    assert_eq!(new, 3);
    let refused = c.adm(&["takeover", "storage-3", "storage-9"]).output().unwrap();
    assert!(!refused.status.success(), "a takeover by a node that never joined must be refused");
    let started = Instant::now();
    let mut adm = c.adm(&["takeover", "storage-3", "storage-4"]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().expect("run leofs-adm takeover");
    let mut exited = None;
    let during = load_until(&c, &mut ck, "leofs-adm takeover following the rebalance", Duration::from_secs(120), |_| {
        exited = adm.try_wait().expect("leofs-adm");
        exited.is_some()
    });
    let out = adm.wait_with_output().expect("leofs-adm output");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("takeover: {:?}; {} ok, {} failed {:?}\n{stdout}", started.elapsed(), during.ok, during.failed, during.errors);
    assert!(out.status.success() && stdout.contains("rebalance complete"), "leofs-adm takeover: {:?}\n{stdout}\n{stderr}", exited);
    // The command waits for the replacement's comparison with its peers, not only the
    // hand-over: when it says OK, the rebuild is over.
    assert!(stdout.contains("storage-4 holds every key it owns"), "leofs-adm takeover returned before the rebuild: {stdout}");
    let r = c.admin("GET", "/v1/nodes/storage-4/du", None).json()["recovery"].clone();
    assert!(r["running"] == false && r["during_rebalance"] == false && r["ring_version"] == 2, "leofs-adm takeover said OK with the rebuild unfinished: {r}");
    assert!(during.ok > 20, "too little load during the takeover to judge: {}", during.ok);
    assert_eq!(during.failed_of("GET"), 0, "reads failed during the takeover: {:?}", during.errors);
    assert_eq!(during.failed, 0, "requests failed during the takeover: {:?}", during.errors);

    // The rebuild's end: storage-4 compared itself with both peers, and every queued copy
    // is delivered (no node holds repairs, every node runs the new RING).
    let after = load_until(&c, &mut ck, "storage-4's anti-entropy with its peers", Duration::from_secs(60), |c| {
        let r = c.admin("GET", "/v1/nodes/storage-4/du", None).json()["recovery"].clone();
        r["ring_version"] == 2 && r["during_rebalance"] == false && r["running"] == false && r["peers"] == 2 && r["peers_done"] == 2
    });
    assert_eq!(after.failed, 0, "requests failed after the takeover: {:?}", after.errors);
    let du = c.admin("GET", "/v1/nodes/storage-4/du", None).json();
    eprintln!("storage-4 after the takeover: {du}");
    assert!(du["recovery"]["errors"].as_array().is_some_and(Vec::is_empty), "{du}");
    let s = c.wait_converged(Duration::from_secs(60));

    // storage-3 is gone: from the members, the RING and `leofs-adm status`.
    assert_eq!(node_ids(&s), ["gateway-1", "storage-1", "storage-2", "storage-4"].map(String::from).into(), "{s:#}");
    assert_eq!(s["ring_version"], 2, "{s:#}");
    let ring: Vec<String> = c.admin("GET", "/v1/ring", None).json()["members"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ring, ["storage-1", "storage-2", "storage-4"]);
    let status = c.adm(&["status"]).output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success() && text.contains("storage-4") && !text.contains("storage-3"), "{text}");

    // Every acknowledged write reads back.
    for (k, v) in &expect {
        let r = c.s3("GET", &format!("/{OBJECTS}/{k}"), "", b"").unwrap();
        match v {
            Some(body) => assert!(r.status == 200 && r.body == *body, "{k}: {} ({} bytes)", r.status, r.body.len()),
            None => assert_eq!(r.status, 404, "{k} was deleted"),
        }
    }
    ck.verify_reads(&c);

    // storage-4 holds the current version of every key storage-3 held (deletions too).
    for key in &owned {
        let w = c.whereis(key);
        let reps = w["replicas"].as_array().unwrap();
        let nodes: BTreeSet<&str> = reps.iter().filter_map(|r| r["node"].as_str()).collect();
        assert_eq!(nodes, ["storage-1", "storage-2", "storage-4"].into(), "{w}");
        let version = |r: &serde_json::Value| (r["version_us"].as_u64(), r["tiebreak"].as_u64());
        let newest = reps.iter().map(version).max().unwrap();
        let on4 = reps.iter().find(|r| r["node"] == "storage-4").unwrap();
        if newest.0.is_none() {
            // No replica holds a record: a key the checker only ever read (404), or whose
            // tombstone compaction dropped on every replica. Either way it must be absent.
            let absent = match key.strip_prefix(&format!("{OBJECTS}/")) {
                Some(k) => expect[k].is_none(),
                None => key.strip_prefix(&format!("{BUCKET}/")).is_some_and(|k| ck.model[k].acked == Some(None) && ck.model[k].maybe.iter().all(Option::is_none)),
            };
            assert!(absent, "{key}: no replica holds the acknowledged value: {w}");
            continue;
        }
        assert!(version(on4) == newest, "{key}: storage-4 does not hold the current version: {w}");
        if let Some(k) = key.strip_prefix(&format!("{OBJECTS}/")) {
            assert_eq!(on4["present"] == true, expect[k].is_some(), "{w}");
        }
    }

    // And serves them alone: the others suspended, R = W = 1.
    for other in ["storage-1", "storage-2"] {
        let r = c.admin("POST", &format!("/v1/nodes/{other}/suspend"), None);
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = c.admin("PUT", "/v1/consistency", Some(r#"{"n":3,"w":1,"r":1,"d":1}"#));
    assert_eq!(r.status, 200, "{}", r.text());
    c.wait_for("RING v3 everywhere", Duration::from_secs(10), |s| s["stale_nodes"].as_array().is_some_and(Vec::is_empty) && s["ring_version"] == 3);
    std::thread::sleep(Duration::from_millis(1200));
    for (k, v) in &expect {
        let r = c.s3("GET", &format!("/{OBJECTS}/{k}"), "", b"").unwrap();
        match v {
            Some(body) => assert!(r.status == 200 && r.body == *body, "storage-4 alone, {k}: {} ({} bytes)", r.status, r.body.len()),
            None => assert_eq!(r.status, 404, "storage-4 alone, {k} was deleted"),
        }
    }
    ck.verify_reads(&c);
}

/// Objects in the delete-bucket test: 20,000, or `LEOFS_DELETE_BUCKET_OBJECTS` (100000 for
/// the issue's number; see the top of this file).
fn delete_bucket_objects() -> usize {
    let n = std::env::var("LEOFS_DELETE_BUCKET_OBJECTS").ok().map(|v| v.parse().expect("LEOFS_DELETE_BUCKET_OBJECTS: a number")).unwrap_or(20_000);
    assert!(n >= 10_000, "LEOFS_DELETE_BUCKET_OBJECTS={n}: at least 10,000, so that the restart falls in the middle");
    n
}

/// PUTs `count` tiny objects `o{i:06}` into `bucket` from `threads` concurrent clients, each
/// PUT on its own connection; panics on the first failed PUT, or when `limit` has passed.
fn fill(c: &Cluster, bucket: &str, count: usize, threads: usize, limit: Duration) {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failed: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count || failed.lock().unwrap().is_some() {
                    return;
                }
                if start.elapsed() > limit {
                    *failed.lock().unwrap() = Some(format!("{i} of {count} objects written in {limit:?}"));
                    return;
                }
                match c.s3("PUT", &format!("/{bucket}/o{i:06}"), "", format!("v{i}").as_bytes()) {
                    Ok(r) if r.status == 200 => {}
                    Ok(r) => *failed.lock().unwrap() = Some(format!("PUT o{i:06}: {} {}", r.status, r.text())),
                    Err(e) => *failed.lock().unwrap() = Some(format!("PUT o{i:06}: {e}")),
                }
            });
        }
    });
    if let Some(why) = failed.into_inner().unwrap() {
        panic!("filling {bucket}: {why}\n{}", c.logs());
    }
}

/// delete-bucket of a bucket of 20,000 objects (100,000 with `LEOFS_DELETE_BUCKET_OBJECTS`;
/// see the top of this file): it leaves the catalog at once, every node
/// deletes the objects in the background, a node killed (SIGKILL) and restarted in the
/// middle of it resumes, the job completes, and no object of the old bucket remains, even
/// in a bucket of the same name created afterwards.
#[test]
fn delete_bucket_of_a_full_bucket_of_many_objects_completes_across_a_restart() {
    let objects = delete_bucket_objects();
    let mut c = Cluster::start(3, 1);
    assert_eq!(c.s3("PUT", "/big-bucket", "", b"").unwrap().status, 200);
    let t = Instant::now();
    // Many clients at once: the servers' group commits and batches carry many PUTs each.
    fill(&c, "big-bucket", objects, 128, Duration::from_secs(600));
    let filled = t.elapsed();
    // Every object is there: the listing counts them.
    let mut listed = 0;
    let mut after = String::new();
    for _ in 0..objects / 1000 + 2 {
        let q = if after.is_empty() { "list-type=2&max-keys=1000".to_string() } else { format!("list-type=2&max-keys=1000&start-after={after}") };
        let text = c.s3("GET", "/big-bucket", &q, b"").unwrap().text();
        let keys: Vec<&str> = text.split("<Key>").skip(1).filter_map(|p| p.split("</Key>").next()).collect();
        listed += keys.len();
        match keys.last() {
            Some(k) if text.contains("<IsTruncated>true") => after = (*k).to_owned(),
            _ => break,
        }
    }
    assert_eq!(listed, objects, "the bucket does not hold every object written");
    let counted = t.elapsed() - filled;

    let r = c.admin("DELETE", "/v1/buckets/big-bucket", Some(&format!(r#"{{"access_key_id":"{}"}}"#, leofs_tests::ROOT_ACCESS_KEY)));
    assert_eq!(r.status, 200, "{}", r.text());
    let deleting = Instant::now();
    // Gone for S3 clients as soon as the gateway has the new catalog (within 2 s). Until
    // then the gateway may still know the bucket while the storage nodes have already begun
    // deleting its objects: NoSuchKey is the honest answer in that window.
    loop {
        let r = c.s3("GET", "/big-bucket/o000001", "", b"").unwrap();
        if r.status == 404 && r.text().contains("NoSuchBucket") {
            break;
        }
        assert!(r.status == 200 || (r.status == 404 && r.text().contains("NoSuchKey")), "{} {}", r.status, r.text());
        assert!(deleting.elapsed() < Duration::from_secs(2), "the bucket is still served: {} {}", r.status, r.text());
        std::thread::sleep(Duration::from_millis(50));
    }
    // storage-2 dies in the middle of its deletions, and comes back.
    let progress = |c: &Cluster| c.admin("GET", "/v1/buckets-deleting", None).json()["deleting"]["big-bucket"]["storage-2"].clone();
    loop {
        let p = progress(&c);
        assert!(p["done"] != true, "storage-2 finished before it could be killed in the middle: {p}");
        if p["deleted"].as_u64().is_some_and(|n| n >= objects as u64 / 20) {
            break;
        }
        assert!(deleting.elapsed() < Duration::from_secs(120), "storage-2 did not start deleting: {p}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed_at = progress(&c);
    c.storage[1].kill9();
    std::thread::sleep(Duration::from_millis(300));
    c.storage[1].start();
    loop {
        let d = c.admin("GET", "/v1/buckets-deleting", None).json();
        if d["deleting"].as_object().is_some_and(|m| m.is_empty()) {
            break;
        }
        assert!(deleting.elapsed() < Duration::from_secs(600), "delete-bucket did not finish: {d}");
        std::thread::sleep(Duration::from_millis(300));
    }
    eprintln!("{objects} objects: filled in {filled:?}, listed in {counted:?}; deleted in {:?} (storage-2 killed at {killed_at})", deleting.elapsed());
    let log = c.storage[1].log();
    let restarted = log.rfind("leofs storage node").filter(|_| log.matches("leofs storage node").count() == 2).map(|at| &log[at..]);
    assert!(restarted.is_some_and(|l| l.contains("delete-bucket big-bucket:")), "storage-2 did not finish the job after its restart:\n{log}");

    // A bucket of the same name starts empty: no old object is listed or readable, and no
    // replica of a sample of them holds a live copy.
    assert_eq!(c.s3("PUT", "/big-bucket", "", b"").unwrap().status, 200);
    assert_eq!(c.s3("PUT", "/big-bucket/new", "", b"new").unwrap().status, 200);
    let list = c.s3("GET", "/big-bucket", "list-type=2", b"").unwrap().text();
    assert_eq!(list.matches("<Key>").count(), 1, "old objects came back: {}", &list[..list.len().min(2000)]);
    for i in (0..objects).step_by((objects / 200).max(1)).chain([objects - 1]) {
        let k = format!("o{i:06}");
        assert_eq!(c.s3("GET", &format!("/big-bucket/{k}"), "", b"").unwrap().status, 404, "{k}");
        let w = c.whereis(&format!("big-bucket/{k}"));
        assert!(w["replicas"].as_array().unwrap().iter().all(|r| r["present"] == false), "{w}");
    }
}

/// A storage node that dies for good while a rebalance (3 → 4 nodes) waits for it is given
/// up with `leofs-adm detach`: the rebalance stops waiting and completes, the node leaves the
/// cluster, and every key is on the three nodes left, at one version, with no request
/// failing once the node is given up. Without `detach` the rebalance would wait forever.
#[test]
fn a_node_dead_during_a_rebalance_is_given_up_with_detach() {
    let mut c = Cluster::start(3, 1);
    let r = c.s3("PUT", &format!("/{BUCKET}"), "", b"").unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let mut ck = Checker::new(47, (0..150).map(|i| format!("gu-{i:03}")).collect());
    let warm = ck.run(&c, Duration::from_secs(3), 5_000);
    assert_eq!(warm.failed, 0, "the load failed with every node up: {:?}", warm.errors);

    // storage-4 joins and the rebalance starts; storage-2 dies for good right after.
    c.add_storage();
    let r = c.admin("POST", "/v1/rebalance", None);
    assert_eq!(r.status, 200, "{}", r.text());
    c.storage[1].kill9();
    std::fs::remove_dir_all(c.storage_dir(1)).expect("remove storage-2's data");
    let down = load_until(&c, &mut ck, "storage-2 marked stop", Duration::from_secs(15), |c| {
        c.status()["nodes"].as_array().unwrap().iter().any(|n| n["id"] == "storage-2" && n["state"] == "stop")
    });
    let waiting = ck.run(&c, Duration::from_secs(4), 20_000);
    let s = c.status();
    assert!(!s["rebalance"].is_null(), "the rebalance completed without storage-2: {s:#}");
    let (ok, failed) = (down.ok + waiting.ok, down.failed + waiting.failed);
    assert!(ok > 20 && ok * 100 >= (ok + failed) * 99, "only {ok}/{} requests succeeded with storage-2 down: {:?} {:?}", ok + failed, down.errors, waiting.errors);

    // A live node cannot be detached now; the dead one is given up.
    let refused = c.adm(&["detach", "storage-1"]).output().unwrap();
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && why.contains("only a node that is down"), "{why}");
    let out = c.adm(&["--json", "detach", "storage-2"]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && said.contains("given up"), "{said} {}", String::from_utf8_lossy(&out.stderr));
    let during = load_through_rebalance(&c, &mut ck, Duration::from_secs(90));
    assert_eq!(during.failed, 0, "requests failed while the rebalance finished: {:?}", during.errors);

    // storage-4 compares itself with its peers once the rebalance is over.
    let after = load_until(&c, &mut ck, "storage-4's anti-entropy with its peers", Duration::from_secs(60), |c| {
        let r = c.admin("GET", "/v1/nodes/storage-4/du", None).json()["recovery"].clone();
        r["ring_version"] == 3 && r["during_rebalance"] == false && r["running"] == false && r["peers"] == 2 && r["peers_done"] == 2
    });
    assert_eq!(after.failed, 0, "requests failed after the rebalance: {:?}", after.errors);
    let s = c.wait_converged(Duration::from_secs(60));
    assert_eq!(node_ids(&s), ["gateway-1", "storage-1", "storage-3", "storage-4"].map(String::from).into(), "{s:#}");
    assert_eq!(s["ring_version"], 3, "{s:#}");
    let ring: Vec<String> = c.admin("GET", "/v1/ring", None).json()["members"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ring, ["storage-1", "storage-3", "storage-4"]);
    ck.verify_reads(&c);
    ck.verify_placement(&c);
    for key in ck.model.keys() {
        let w = c.whereis(&format!("{BUCKET}/{key}"));
        let nodes: BTreeSet<&str> = w["replicas"].as_array().unwrap().iter().filter_map(|r| r["node"].as_str()).collect();
        assert_eq!(nodes, ["storage-1", "storage-3", "storage-4"].into(), "{w}");
    }
}

//! A checker of acknowledged writes for the multi-process cluster tests: a seeded random
//! load of PUT, DELETE and GET over a set of keys, through the gateway, with a model of
//! what each key may hold.
//!
//! A write that failed may or may not have landed, so until the key is acknowledged again
//! both its values are allowed; an acknowledged one must read back exactly (R + W > N
//! promises read-after-write). A read pins what it saw.

use crate::cluster::Cluster;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The bucket the checker's keys live in.
pub const BUCKET: &str = "checker";

/// SplitMix64: the seeded choices of one run.
pub struct Rng(pub u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What a key may hold: `None` = absent.
#[derive(Default, Clone)]
pub struct KeyModel {
    /// The last acknowledged value, and values of failed writes since (any may be there).
    pub acked: Option<Option<Vec<u8>>>,
    pub maybe: Vec<Option<Vec<u8>>>,
}

impl KeyModel {
    pub fn allows(&self, v: &Option<Vec<u8>>) -> bool {
        self.acked.as_ref().map_or(v.is_none(), |a| a == v) || self.maybe.contains(v)
    }
}

#[derive(Default)]
pub struct Tally {
    pub ok: u64,
    pub failed: u64,
    /// Failures by operation, status and message (`"GET 503 ..."`, `"PUT io: ..."`).
    pub errors: BTreeMap<String, u64>,
}

impl Tally {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: Tally) {
        self.ok += other.ok;
        self.failed += other.failed;
        for (k, v) in other.errors {
            *self.errors.entry(k).or_insert(0) += v;
        }
    }

    /// Failed requests of operation `op` (`"GET"`, `"PUT"`, `"DELETE"`).
    pub fn failed_of(&self, op: &str) -> u64 {
        self.errors.iter().filter(|(k, _)| k.split(' ').next() == Some(op)).map(|(_, n)| n).sum()
    }
}

pub struct Checker {
    pub rng: Rng,
    pub keys: Vec<String>,
    pub model: BTreeMap<String, KeyModel>,
    pub counter: u64,
}

impl Checker {
    pub fn path(k: &str) -> String {
        format!("/{BUCKET}/{k}")
    }

    /// One random operation; returns whether the request succeeded.
    pub fn step(&mut self, c: &Cluster, tally: &mut Tally) {
        let key = self.keys[self.rng.below(self.keys.len() as u64) as usize].clone();
        let roll = self.rng.below(100);
        let ok = if roll < 50 {
            self.counter += 1;
            let value = format!("{key}={}:{}", self.counter, "x".repeat(self.rng.below(3000) as usize)).into_bytes();
            match c.s3("PUT", &Self::path(&key), "", &value) {
                Ok(r) if r.status == 200 => {
                    self.model.insert(key, KeyModel { acked: Some(Some(value)), maybe: Vec::new() });
                    true
                }
                other => {
                    self.model.entry(key).or_default().maybe.push(Some(value));
                    Self::record_err(tally, "PUT", other);
                    false
                }
            }
        } else if roll < 60 {
            match c.s3("DELETE", &Self::path(&key), "", b"") {
                Ok(r) if r.status == 204 => {
                    self.model.insert(key, KeyModel { acked: Some(None), maybe: Vec::new() });
                    true
                }
                other => {
                    self.model.entry(key).or_default().maybe.push(None);
                    Self::record_err(tally, "DELETE", other);
                    false
                }
            }
        } else {
            match c.s3("GET", &Self::path(&key), "", b"") {
                Ok(r) if r.status == 200 || r.status == 404 => {
                    let got = (r.status == 200).then_some(r.body);
                    let m = self.model.get(&key).cloned().unwrap_or_default();
                    assert!(m.allows(&got), "key {key}: read {:?}, but the last acknowledged value is {:?} (maybe {:?})\n{}", got.as_ref().map(|g| String::from_utf8_lossy(&g[..g.len().min(40)]).into_owned()), m.acked.as_ref().map(|a| a.as_ref().map(|v| String::from_utf8_lossy(&v[..v.len().min(40)]).into_owned())), m.maybe.len(), c.logs());
                    // A read pins what is there: the write it saw is now the one that counts.
                    if m.acked.as_ref() != Some(&got) {
                        self.model.insert(key, KeyModel { acked: Some(got), maybe: Vec::new() });
                    }
                    true
                }
                other => {
                    Self::record_err(tally, "GET", other);
                    false
                }
            }
        };
        if ok {
            tally.ok += 1;
        } else {
            tally.failed += 1;
        }
    }

    fn record_err(tally: &mut Tally, op: &str, r: std::io::Result<crate::http::Response>) {
        let what = match r {
            Ok(r) => format!("{op} {} {}", r.status, r.text().chars().take(160).collect::<String>()),
            Err(e) => format!("{op} io: {e}"),
        };
        *tally.errors.entry(what).or_insert(0) += 1;
    }

    /// A checker of `keys` in [`BUCKET`], its choices seeded by `seed`.
    pub fn new(seed: u64, keys: Vec<String>) -> Checker {
        Checker { rng: Rng(seed), keys, model: BTreeMap::new(), counter: 0 }
    }

    /// Runs until `stop` is set (checked between operations), at most `limit` and
    /// `max_ops` operations: a load alongside another thread's work.
    pub fn run_until(&mut self, c: &Cluster, stop: &std::sync::atomic::AtomicBool, limit: Duration, max_ops: u64) -> Tally {
        let mut t = Tally::default();
        let start = Instant::now();
        while !stop.load(std::sync::atomic::Ordering::Relaxed) && start.elapsed() < limit && t.ok + t.failed < max_ops {
            self.step(c, &mut t);
        }
        t
    }

    pub fn run(&mut self, c: &Cluster, d: Duration, max_ops: u64) -> Tally {
        let mut t = Tally::default();
        let start = Instant::now();
        while start.elapsed() < d && t.ok + t.failed < max_ops {
            self.step(c, &mut t);
        }
        t
    }

    /// After the fault, before any read could repair a replica: every replica the RING
    /// names holds the same version of every key (hinted hand-off delivered everything).
    pub fn verify_placement(&self, c: &Cluster) {
        for key in self.model.keys() {
            let w = c.whereis(&format!("{BUCKET}/{key}"));
            let reps = w["replicas"].as_array().expect("replicas");
            assert_eq!(reps.len(), 3, "{w}");
            let live: Vec<bool> = reps.iter().map(|x| x["present"] == true).collect();
            let versions: Vec<&serde_json::Value> = reps.iter().map(|x| &x["version_us"]).collect();
            assert!(live.iter().all(|p| *p == live[0]), "key {key}: replicas disagree on whether it exists: {w}");
            assert!(versions.windows(2).all(|v| v[0] == v[1]), "key {key}: replicas hold different versions: {w}");
        }
    }

    /// A paged ListObjectsV2 of the bucket holds every key the model says exists (and,
    /// for keys whose state is certain, no key the model says is gone).
    pub fn verify_listing(&self, c: &Cluster) {
        let mut listed = std::collections::BTreeSet::new();
        let mut token: Option<String> = None;
        loop {
            let q = match &token {
                Some(t) => format!("list-type=2&max-keys=37&continuation-token={}", t.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D")),
                None => "list-type=2&max-keys=37".to_string(),
            };
            let r = c.s3("GET", &format!("/{BUCKET}"), &q, b"").expect("LIST");
            assert_eq!(r.status, 200, "{}", r.text());
            let text = r.text();
            for part in text.split("<Key>").skip(1) {
                listed.insert(part.split("</Key>").next().unwrap().to_string());
            }
            token = text.split("<NextContinuationToken>").nth(1).map(|t| t.split('<').next().unwrap().to_string());
            if token.is_none() {
                break;
            }
        }
        for (k, m) in &self.model {
            let exists = matches!(m.acked, Some(Some(_)));
            let certain = m.maybe.is_empty();
            if certain && exists {
                assert!(listed.contains(k), "{k} is missing from the listing");
            }
            if certain && m.acked == Some(None) {
                assert!(!listed.contains(k), "{k} was deleted but is listed");
            }
        }
    }

    /// Every key reads back as the model allows.
    pub fn verify_reads(&self, c: &Cluster) {
        for (key, m) in &self.model {
            let r = c.s3("GET", &Self::path(key), "", b"").expect("GET");
            let got = (r.status == 200).then_some(r.body);
            assert!(m.allows(&got), "after recovery, key {key} reads {:?}\n{}", got.map(|g| String::from_utf8_lossy(&g).into_owned()), c.logs());
        }
    }
}

/// Runs the checker until the rebalance the manager reports is over (bounded), and returns
/// what it did meanwhile.
pub fn load_through_rebalance(c: &Cluster, ck: &mut Checker, limit: Duration) -> Tally {
    let t = Instant::now();
    let mut all = Tally::default();
    loop {
        all.add(ck.run(c, Duration::from_millis(300), 1000));
        let s = c.status();
        if s["rebalance"].is_null() {
            return all;
        }
        assert!(t.elapsed() < limit, "rebalance did not finish in {limit:?}: {s:#}\n{}", c.logs());
    }
}

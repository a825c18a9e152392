//! Basic behaviour: metadata round trip, ranges, large bodies streamed, listing, restart,
//! compaction reclaiming space, and the 1 KiB space-overhead goal.

use leofs_engine::testing::{body_for, small_config};
use leofs_engine::{Config, ObjectMeta, SimDisk, Store};

fn meta(b: &[u8]) -> ObjectMeta {
    ObjectMeta {
        size: b.len() as u64,
        md5: [9; 16],
        headers: vec![("content-type".into(), "application/octet-stream".into())],
        user: vec![("owner".into(), "ünïcode".into())],
        ..Default::default()
    }
}

#[test]
fn large_body_streams_in_chunks_and_ranges_clip() {
    leofs_rt::block_on(async {
        let cfg = Config { segment_size: 16 << 20, max_record_bytes: 8 << 20, ..Config::default() };
        let store = Store::open(SimDisk::new(), cfg).await.unwrap();
        let body = body_for(5, 5, 5 << 20);
        store.put(b"b/big", &meta(&body), body.clone()).await.unwrap();
        let mut obj = store.get(b"b/big").await.unwrap().unwrap();
        assert_eq!(obj.meta, meta(&body));
        let mut chunks = 0;
        let mut got = Vec::new();
        while let Some(c) = obj.body.next().await.unwrap() {
            assert!(c.len() <= 1 << 20, "streamed in bounded chunks");
            got.extend_from_slice(c.as_slice());
            chunks += 1;
        }
        assert!(chunks >= 5);
        assert_eq!(got, body);
        for (s, e) in [(0u64, 1u64), (1_000_000, 3_500_000), ((5 << 20) - 10, 5 << 20), (17, 17)] {
            let mut obj = store.get(b"b/big").await.unwrap().unwrap();
            obj.body.set_range(s, e);
            let mut got = Vec::new();
            while let Some(c) = obj.body.next().await.unwrap() {
                got.extend_from_slice(c.as_slice());
            }
            assert_eq!(got, &body[s as usize..e as usize], "range {s}..{e}");
        }
    });
}

#[test]
fn compaction_reclaims_overwritten_space_and_survives_restart() {
    leofs_rt::block_on(async {
        let disk = SimDisk::new();
        let cfg = small_config();
        let store = Store::open(disk.clone(), cfg.clone()).await.unwrap();
        for round in 0..6u64 {
            for k in 0..20u64 {
                let body = body_for(k, round, 1500);
                store.put(format!("b/{k}").as_bytes(), &meta(&body), body).await.unwrap();
            }
        }
        let before: u64 = store.segments().iter().map(|s| s.used).sum();
        let stats = store.compact(0.5, 0).await.unwrap();
        let after: u64 = store.segments().iter().map(|s| s.used).sum();
        assert!(stats.segments_removed > 0, "{stats:?}");
        assert!(after < before / 2, "space reclaimed: {before} -> {after}");
        store.close().await.unwrap();
        let store = Store::open(disk, cfg).await.unwrap();
        for k in 0..20u64 {
            let (_, b) = store.get_all(format!("b/{k}").as_bytes()).await.unwrap().unwrap();
            assert_eq!(b, body_for(k, 5, 1500));
        }
    });
}

#[test]
fn one_kib_objects_cost_at_most_15_percent_extra() {
    leofs_rt::block_on(async {
        let cfg = Config { segment_size: 64 << 20, ..Config::default() };
        let store = Store::open(SimDisk::new(), cfg).await.unwrap();
        let n = 2000u64;
        for i in 0..n {
            let body = body_for(i, 0, 1024);
            let m = ObjectMeta {
                size: 1024,
                md5: [1; 16],
                headers: vec![("content-type".into(), "application/octet-stream".into())],
                ..Default::default()
            };
            store.put(format!("bucket/obj-{i:08}").as_bytes(), &m, body).await.unwrap();
        }
        let used: u64 = store.segments().iter().map(|s| s.used).sum();
        let overhead = used as f64 / (n * 1024) as f64 - 1.0;
        assert!(overhead <= 0.15, "space overhead {:.1}%", overhead * 100.0);
    });
}

#[test]
fn versioned_puts_last_writer_wins() {
    leofs_rt::block_on(async {
        let store = Store::open(SimDisk::new(), small_config()).await.unwrap();
        let v = leofs_engine::Version { timestamp_us: 5_000, tiebreak: 1 };
        let old = leofs_engine::Version { timestamp_us: 4_000, tiebreak: 9 };
        assert!(store.put_versioned(leofs_engine::Kind::Object, b"b/k", &meta(b"new"), b"new".to_vec(), v).await.unwrap());
        assert!(!store.put_versioned(leofs_engine::Kind::Object, b"b/k", &meta(b"old"), b"old".to_vec(), old).await.unwrap());
        assert_eq!(store.get_all(b"b/k").await.unwrap().unwrap().1, b"new");
        // A local write after observing a future version still wins.
        store.put(b"b/k", &meta(b"local"), b"local".to_vec()).await.unwrap();
        assert!(store.entry(b"b/k").unwrap().version > v);
    });
}

/// A tombstone outlives compaction for `tombstone_grace_secs` (what a cluster needs, so a
/// replica that missed the delete learns it), survives a restart there, and is dropped once
/// the grace is 0 (a single node).
#[test]
fn compaction_keeps_tombstones_for_their_grace_period() {
    leofs_rt::block_on(async {
        let disk = SimDisk::new();
        let fill = |store: &Store<SimDisk>, round: u64| {
            let store = store.clone();
            async move {
                for k in 0..20u64 {
                    let body = body_for(k, round, 1500);
                    store.put(format!("b/fill{k}").as_bytes(), &meta(&body), body).await.unwrap();
                }
            }
        };
        let cfg = Config { tombstone_grace_secs: 3600, ..small_config() };
        let store = Store::open(disk.clone(), cfg.clone()).await.unwrap();
        let body = body_for(1, 1, 1500);
        store.put(b"b/gone", &meta(&body), body).await.unwrap();
        assert!(store.delete(b"b/gone").await.unwrap());
        for round in 0..6 {
            fill(&store, round).await;
        }
        let stats = store.compact(0.0, 0).await.unwrap();
        assert!(stats.segments_removed > 0, "{stats:?}");
        assert_eq!(stats.tombstones_dropped, 0, "{stats:?}");
        let e = store.entry(b"b/gone").expect("the tombstone is still indexed");
        assert!(!e.is_live());
        store.close().await.unwrap();

        // After a restart the tombstone is still there; with no grace it goes.
        let store = Store::open(disk.clone(), Config { tombstone_grace_secs: 0, ..cfg }).await.unwrap();
        assert!(store.entry(b"b/gone").is_some_and(|e| !e.is_live()));
        for round in 6..12 {
            fill(&store, round).await;
        }
        let stats = store.compact(0.0, 0).await.unwrap();
        assert_eq!(stats.tombstones_dropped, 1, "{stats:?}");
        assert!(store.entry(b"b/gone").is_none());
        assert!(store.get_all(b"b/gone").await.unwrap().is_none());
    });
}

/// The read cache, which other cores read without the index, holds only the version the
/// index names: after overwrites racing with reads, deletes and forgets, every cached copy is
/// the current one.
#[test]
fn the_shared_read_cache_holds_only_current_versions() {
    leofs_rt::block_on(async {
        let cfg = Config { read_cache_bytes: 1 << 20, ..small_config() };
        let store = std::rc::Rc::new(Store::open(SimDisk::new(), cfg).await.unwrap());
        let cache = store.shared_cache();
        let check = |key: &[u8]| {
            if let Some((e, m, b)) = cache.get_current(key) {
                let cur = store.stat(key).expect("a cached key is live");
                assert_eq!(e.version, cur.version, "cached copy of {} is stale", String::from_utf8_lossy(key));
                assert_eq!(b.as_slice().len() as u64, m.size);
            }
        };
        let mut hits = 0;
        for round in 0..40u64 {
            let key = format!("b/k{}", round % 4);
            let body = body_for(round, 1, 300 + round as usize);
            store.put(key.as_bytes(), &meta(&body), body).await.unwrap();
            // A read and an overwrite of the same key in flight together.
            let (s1, s2, k1, k2) = (store.clone(), store.clone(), key.clone(), key.clone());
            let next = body_for(round, 2, 500);
            // (On this simulated disk the read completes before the writer installs the
            // write; on a real disk either may come first.)
            let write = leofs_rt::task::spawn(async move { s2.put(k2.as_bytes(), &meta(&next), next.clone()).await.unwrap() });
            let read = leofs_rt::task::spawn(async move {
                let mut o = s1.get(k1.as_bytes()).await.unwrap().unwrap();
                while o.body.next().await.unwrap().is_some() {}
            });
            read.await;
            write.await;
            check(key.as_bytes());
            // A quiet read caches the current version; then it is served to other cores.
            let mut o = store.get(key.as_bytes()).await.unwrap().unwrap();
            while o.body.next().await.unwrap().is_some() {}
            if let Some((e, _, b)) = cache.get_current(key.as_bytes()) {
                assert_eq!(b.as_slice(), body_for(round, 2, 500));
                assert_eq!(Some(e.version), store.stat(key.as_bytes()).map(|c| c.version));
                hits += 1;
            }
            match round % 3 {
                0 => assert!(store.delete(key.as_bytes()).await.unwrap()),
                1 => assert!(store.forget(key.as_bytes())),
                _ => {}
            }
            check(key.as_bytes());
            if round % 3 != 2 {
                assert!(cache.get_current(key.as_bytes()).is_none(), "gone from the cache with the key");
            }
        }
        assert!(hits >= 30, "quiet reads were cached ({hits} of 40)");
    });
}

//! Deterministic test drivers shared by the engine's tests and the fuzz targets: a model
//! test (random operations against a `BTreeMap`) and a crash test (random concurrent
//! writes, a simulated power cut, recovery, and a check that every acknowledged write
//! survived and nothing reads back corrupted).

use crate::disk::{Disk, SimDisk, SplitMix64};
use crate::error::Error;
use crate::meta::ObjectMeta;
use crate::store::{Config, Durability, Store};
use std::collections::BTreeMap;

pub use leofs_rt::task::join_all;

/// A small configuration that makes rollovers, checkpoints and compaction frequent.
pub fn small_config() -> Config {
    Config {
        segment_size: 64 << 10,
        max_batch_bytes: 16 << 10,
        // Two blocks: most batches are written in parts, with records across part ends.
        write_part_bytes: 8 << 10,
        max_record_bytes: 32 << 10,
        checkpoint_interval_bytes: 48 << 10,
        durability: Durability::Fsync,
        ..Config::default()
    }
}

/// Deterministic body for (key, generation): any mix-up between versions shows.
pub fn body_for(key: u64, gen: u64, len: usize) -> Vec<u8> {
    let mut r = SplitMix64(key.wrapping_mul(0x1000_0001) ^ gen);
    (0..len).map(|_| r.next_u64() as u8).collect()
}

fn meta_for(body: &[u8]) -> ObjectMeta {
    ObjectMeta {
        size: body.len() as u64,
        md5: [body.len() as u8; 16],
        headers: vec![("content-type".into(), "application/octet-stream".into())],
        ..Default::default()
    }
}

fn key_name(k: u64) -> Vec<u8> {
    format!("bucket/key-{k:03}").into_bytes()
}

/// Checks the store holds exactly the model (reads, stats and a full listing).
pub async fn check_model<D: Disk>(store: &Store<D>, model: &BTreeMap<Vec<u8>, Vec<u8>>) -> Result<(), String> {
    for (k, v) in model {
        match store.get_all(k).await {
            Ok(Some((m, b))) if &b == v && m.size == v.len() as u64 => {}
            Ok(Some((_, b))) => return Err(format!("{}: got {} bytes, want {}", String::from_utf8_lossy(k), b.len(), v.len())),
            Ok(None) => return Err(format!("{}: missing", String::from_utf8_lossy(k))),
            Err(e) => return Err(format!("{}: {e}", String::from_utf8_lossy(k))),
        }
    }
    let listed: Vec<Vec<u8>> = store.list(b"", b"", usize::MAX).into_iter().map(|(k, _)| k.to_vec()).collect();
    let want: Vec<Vec<u8>> = model.keys().cloned().collect();
    if listed != want {
        return Err(format!("listing has {} keys, model {}", listed.len(), want.len()));
    }
    Ok(())
}

/// Runs operations decoded from `data` against a store on `disk` and a `BTreeMap` model,
/// with clean restarts, checkpoints and compactions; panics on any divergence.
pub async fn run_model<D: Disk + Clone>(disk: D, cfg: Config, data: &[u8]) {
    let mut store = Store::open(disk.clone(), cfg.clone()).await.expect("open");
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut gen = 0u64;
    for chunk in data.chunks(3) {
        let (op, k, n) = (chunk[0] % 16, *chunk.get(1).unwrap_or(&0) as u64 % 24, *chunk.get(2).unwrap_or(&0) as usize);
        let key = key_name(k);
        gen += 1;
        match op {
            0..=6 => {
                let len = if op == 6 { n * 97 } else { n * 5 };
                let body = body_for(k, gen, len);
                store.put(&key, &meta_for(&body), body.clone()).await.expect("put");
                model.insert(key, body);
            }
            7..=8 => {
                let existed = store.delete(&key).await.expect("delete");
                assert_eq!(existed, model.remove(&key).is_some(), "delete result");
            }
            9..=10 => {
                let got = store.get_all(&key).await.expect("get").map(|(_, b)| b);
                assert_eq!(got.as_ref(), model.get(&key), "get {}", String::from_utf8_lossy(&key));
            }
            11 => {
                let after = key_name(n as u64 % 24);
                let got: Vec<Vec<u8>> = store.list(b"bucket/", &after, 5).into_iter().map(|(k, _)| k.to_vec()).collect();
                let want: Vec<Vec<u8>> = model.range(after.clone()..).filter(|(k, _)| **k != after).take(5).map(|(k, _)| k.clone()).collect();
                assert_eq!(got, want, "list after {}", String::from_utf8_lossy(&after));
            }
            12 => {
                store.compact(0.3, 0).await.expect("compact");
            }
            13 => store.checkpoint().await.expect("checkpoint"),
            _ => {
                store.close().await.expect("close");
                drop(store);
                store = Store::open(disk.clone(), cfg.clone()).await.expect("reopen");
                check_model(&store, &model).await.expect("model after reopen");
            }
        }
    }
    check_model(&store, &model).await.expect("final model");
    store.close().await.expect("close");
}

/// What a key may read back after a crash: the last acknowledged value and any value
/// issued after it (an unacknowledged write may or may not have become durable).
#[derive(Default, Clone)]
struct KeyHistory {
    /// (value or None for delete, acknowledged)
    ops: Vec<(Option<Vec<u8>>, bool)>,
}

impl KeyHistory {
    fn allowed(&self) -> Vec<Option<Vec<u8>>> {
        let last_acked = self.ops.iter().rposition(|(_, a)| *a);
        let mut out = Vec::new();
        match last_acked {
            Some(i) => out.extend(self.ops[i..].iter().map(|(v, _)| v.clone())),
            None => {
                out.push(None);
                out.extend(self.ops.iter().map(|(v, _)| v.clone()));
            }
        }
        out
    }
}

/// One crash-test seed: concurrent writes, a power cut after a random number of disk
/// operations, recovery, verification; then more writes and a clean restart.
pub async fn crash_seed(seed: u64) -> Result<(), String> {
    let mut rng = SplitMix64(seed);
    let mut cfg = small_config();
    if rng.below(4) == 0 {
        cfg.durability = Durability::None;
    }
    let fsync = cfg.durability == Durability::Fsync;
    let disk = SimDisk::new();
    let store = Store::open(disk.clone(), cfg.clone()).await.map_err(|e| format!("open: {e}"))?;
    disk.crash_after(1 + rng.below(600));
    let mut hist: BTreeMap<u64, KeyHistory> = BTreeMap::new();
    let mut gen = 0u64;
    'run: for _wave in 0..200 {
        let n = 1 + rng.below(8) as usize;
        let mut plan = Vec::new();
        for _ in 0..n {
            gen += 1;
            let k = rng.below(12);
            let del = rng.below(6) == 0;
            let len = match rng.below(8) {
                0 => 0,
                1 => 4000 + rng.below(20000) as usize,
                _ => rng.below(1500) as usize,
            };
            plan.push((k, if del { None } else { Some(body_for(k, gen, len)) }));
        }
        let futs: Vec<_> = plan
            .iter()
            .map(|(k, v)| {
                let store = store.clone();
                let key = key_name(*k);
                let v = v.clone();
                async move {
                    match v {
                        Some(body) => store.put(&key, &meta_for(&body), body).await.map(|_| ()),
                        None => store.delete(&key).await.map(|_| ()),
                    }
                }
            })
            .collect();
        let results = join_all(futs).await;
        let mut failed = false;
        for ((k, v), r) in plan.into_iter().zip(results) {
            let acked = r.is_ok() && fsync;
            failed |= r.is_err();
            hist.entry(k).or_default().ops.push((v, acked));
        }
        if rng.below(10) == 0 && !failed {
            if let Err(e) = store.compact(0.3, 0).await {
                if !disk.crashed() {
                    return Err(format!("compaction failed before the crash: {e}"));
                }
            }
        }
        if failed || disk.crashed() {
            break 'run;
        }
    }
    drop(store);
    let image = disk.crash_image(&mut rng);
    let store = Store::open(image.clone(), cfg.clone()).await.map_err(|e| format!("recovery open: {e}"))?;
    check_zero_tail(&store, &image)?;
    let mut model = BTreeMap::new();
    for (k, h) in &hist {
        let key = key_name(*k);
        let got = match store.get_all(&key).await {
            Ok(v) => v.map(|(_, b)| b),
            Err(e) => return Err(format!("key {k}: read after recovery failed: {e}")),
        };
        if fsync && !h.allowed().contains(&got) {
            return Err(format!("key {k}: read {:?} bytes after recovery; allowed lengths {:?}", got.as_ref().map(|b| b.len()), h.allowed().iter().map(|v| v.as_ref().map(|b| b.len())).collect::<Vec<_>>()));
        }
        if !fsync && got.is_some() && !h.ops.iter().any(|(v, _)| v == &got) {
            return Err(format!("key {k}: durability=none recovered a value never written"));
        }
        if let Some(b) = got {
            model.insert(key, b);
        }
    }
    check_model(&store, &model).await.map_err(|e| format!("after recovery: {e}"))?;
    // Keep writing on the recovered store, then restart cleanly: bytes of the lost batch
    // must not resurface behind the new records.
    for i in 0..20u64 {
        let k = rng.below(12);
        let body = body_for(k, 1_000_000 + i, rng.below(1200) as usize);
        store.put(&key_name(k), &meta_for(&body), body.clone()).await.map_err(|e| format!("put after recovery: {e}"))?;
        model.insert(key_name(k), body);
    }
    store.close().await.map_err(|e| format!("close: {e}"))?;
    drop(store);
    let store = Store::open(image, cfg).await.map_err(|e| format!("second open: {e}"))?;
    check_model(&store, &model).await.map_err(|e| format!("after second restart: {e}"))?;
    Ok(())
}

/// After recovery the newest segment holds nothing but zeros past its valid end, so bytes
/// of a lost batch can never be read back as records written later.
pub fn check_zero_tail(store: &Store<SimDisk>, disk: &SimDisk) -> Result<(), String> {
    let segs = store.segments();
    let last = segs.last().ok_or("no segments")?;
    let bytes = disk.file_bytes(&crate::segment::file_name(last.id)).ok_or("newest segment file missing")?;
    let end = (crate::segment::DATA_START + last.used) as usize;
    match bytes[end..].iter().position(|&b| b != 0) {
        None => Ok(()),
        Some(p) => Err(format!("segment {} has non-zero bytes at {} past its end {end}", last.id, end + p)),
    }
}

/// Classifies an error for fault tests.
pub fn is_poisoned(e: &Error) -> bool {
    matches!(e, Error::Poisoned(_))
}

/// Fuzz entry: the model test on a simulated disk, driven by arbitrary bytes.
pub fn fuzz_engine(data: &[u8]) {
    leofs_rt::block_on(run_model(SimDisk::new(), small_config(), data));
}

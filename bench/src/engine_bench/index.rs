//! Index RAM and restart measurements.

use super::*;
use leofs_engine::Durability;
use leofs_rt::fs::IoMode;
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// Index-RAM and restart measurements (workload 4).
#[derive(Clone, Debug, Default, Serialize)]
pub struct IndexResult {
    pub objects: u64,
    pub key_order: String,
    pub avg_key_bytes: f64,
    pub insert_secs: f64,
    pub inserts_per_sec: f64,
    pub log_bytes: u64,
    /// Live heap bytes the store gained over the inserts (counting allocator), per object.
    pub heap_per_object: Option<f64>,
    /// The same, minus the average key length (the goal's measure).
    pub heap_per_object_minus_key: Option<f64>,
    /// Live heap per object (minus key) of the index loaded from the checkpoint at open.
    pub reloaded_heap_per_object_minus_key: Option<f64>,
    pub close_checkpoint_secs: f64,
    pub checkpoint_bytes: u64,
    pub open_with_checkpoint_secs: Vec<f64>,
    pub open_without_checkpoint_secs: Vec<f64>,
    /// The engine logged that it could not use its checkpoint during the opens "with
    /// checkpoint" (they then replayed the whole log).
    pub checkpoint_rejected: bool,
}

pub(crate) fn index_key(i: u64) -> String {
    format!("bucket/obj-{i:07}")
}

pub(crate) fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Workload 4 on a fresh store in `dir` (removed afterwards): inserts `n` small objects
/// (durability none), measures the heap the index holds, closes (checkpoint), then times
/// `restarts` opens with the checkpoint and `restarts` without it.
pub async fn index_phase(
    dir: &Path,
    mode: IoMode,
    n: u64,
    random_order: bool,
    restarts: usize,
    live: Option<LiveBytes>,
) -> Result<IndexResult, String> {
    let _ = std::fs::remove_dir_all(dir);
    let heap = || live.map(|f| f() as i64);
    let mut r = IndexResult {
        objects: n,
        key_order: if random_order { "random" } else { "ascending" }.into(),
        ..Default::default()
    };
    r.avg_key_bytes =
        (0..n).map(|i| index_key(i).len() as u64).sum::<u64>() as f64 / n.max(1) as f64;
    // Key i of the insert order: ascending, or a fixed permutation i -> (i * p + c) mod n.
    let mut p = 1_000_003u64;
    while gcd(p, n.max(1)) != 1 {
        p += 2;
    }
    let perm = move |i: u64| {
        if random_order {
            (i.wrapping_mul(p) + 12_345) % n
        } else {
            i
        }
    };

    let store = open_store(dir, mode, Durability::None).await?;
    let h1 = heap();
    let t = Instant::now();
    {
        let s = store.clone();
        let lim = Limits {
            seconds: 1e9,
            max_ops: n,
            concurrency: 256,
        };
        drive(lim, move |i| {
            let s = s.clone();
            let key = index_key(perm(i));
            let len = 16 + (i % 85) as usize;
            async move {
                let body = vec![(i & 0xff) as u8; len];
                s.put(key.as_bytes(), &meta(len), body)
                    .await
                    .map_err(|e| format!("put {key}: {e}"))?;
                Ok(len as u64)
            }
        })
        .await?;
    }
    r.insert_secs = t.elapsed().as_secs_f64();
    r.inserts_per_sec = n as f64 / r.insert_secs;
    if store.index_len() as u64 != n {
        return Err(format!(
            "index holds {} entries after {n} inserts",
            store.index_len()
        ));
    }
    let h2 = heap();
    if let (Some(a), Some(b)) = (h1, h2) {
        let per = (b - a) as f64 / n as f64;
        r.heap_per_object = Some(per);
        r.heap_per_object_minus_key = Some(per - r.avg_key_bytes);
    }
    r.log_bytes = store.stats().bytes_written;
    let t = Instant::now();
    store.close().await.map_err(|e| format!("close: {e}"))?;
    r.close_checkpoint_secs = t.elapsed().as_secs_f64();
    drop(store);
    r.checkpoint_bytes = std::fs::metadata(dir.join("index.ckpt"))
        .map(|m| m.len())
        .unwrap_or(0);

    // An empty store's own heap, to subtract from the heap an open with the index holds.
    let empty_dir = dir.with_extension("empty");
    let _ = std::fs::remove_dir_all(&empty_dir);
    let e0 = heap();
    let empty = open_store(&empty_dir, mode, Durability::None).await?;
    let e1 = heap();
    drop(empty);
    let _ = std::fs::remove_dir_all(&empty_dir);

    let rejections = checkpoint_rejections();
    for _ in 0..restarts.max(1) {
        let h0 = heap();
        let t = Instant::now();
        let s = open_store(dir, mode, Durability::None).await?;
        r.open_with_checkpoint_secs.push(t.elapsed().as_secs_f64());
        if s.index_len() as u64 != n {
            return Err(format!(
                "reopened index holds {} entries, want {n}",
                s.index_len()
            ));
        }
        if let (Some(a), Some(b), Some(x), Some(y)) = (h0, heap(), e0, e1) {
            r.reloaded_heap_per_object_minus_key =
                Some(((b - a) - (y - x)) as f64 / n as f64 - r.avg_key_bytes);
        }
        // Dropped without close: nothing was written, the checkpoint stays current.
        drop(s);
    }
    r.checkpoint_rejected = checkpoint_rejections() > rejections;
    std::fs::remove_file(dir.join("index.ckpt")).map_err(|e| format!("remove index.ckpt: {e}"))?;
    for _ in 0..restarts.max(1) {
        let t = Instant::now();
        let s = open_store(dir, mode, Durability::None).await?;
        r.open_without_checkpoint_secs
            .push(t.elapsed().as_secs_f64());
        if s.index_len() as u64 != n {
            return Err(format!(
                "replayed index holds {} entries, want {n}",
                s.index_len()
            ));
        }
        drop(s);
    }
    let _ = std::fs::remove_dir_all(dir);
    Ok(r)
}


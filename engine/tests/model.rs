//! Model-based tests: random put/get/delete/list/compact/checkpoint/restart sequences
//! against a BTreeMap, on the simulated disk and on the real O_DIRECT disk (in a
//! disk-backed temp dir under target/, never tmpfs).

use leofs_engine::disk::SplitMix64;
use leofs_engine::testing::{run_model, small_config};
use leofs_engine::{DirDisk, SimDisk};
use leofs_rt::fs::{probe_direct_io, DirectIoSupport, IoMode};
use std::path::PathBuf;

/// Odd seeds run with a read cache small enough to evict constantly: it must never serve
/// an overwritten, deleted or compacted-away version.
fn config(seed: u64) -> leofs_engine::Config {
    let mut cfg = small_config();
    if seed % 2 == 1 {
        cfg.read_cache_bytes = 6 << 10;
    }
    cfg
}

fn ops(seed: u64, n: usize) -> Vec<u8> {
    let mut r = SplitMix64(seed);
    (0..n).map(|_| r.next_u64() as u8).collect()
}

#[test]
fn model_on_simulated_disk() {
    leofs_rt::block_on(async {
        for seed in 0..300 {
            run_model(SimDisk::new(), config(seed), &ops(seed, 600)).await;
        }
    });
}

fn real_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    match probe_direct_io(&dir).unwrap() {
        DirectIoSupport::Supported => dir,
        DirectIoSupport::Unsupported(why) => panic!("the real-disk test needs O_DIRECT: {why}"),
    }
}

#[test]
fn model_on_real_direct_io_disk() {
    leofs_rt::block_on(async {
        for seed in 0..12 {
            let dir = real_dir(&format!("model-{seed}"));
            let disk = DirDisk::new(&dir, IoMode::Direct).unwrap();
            run_model(disk, config(seed), &ops(1000 + seed, 900)).await;
            std::fs::remove_dir_all(&dir).unwrap();
        }
    });
}

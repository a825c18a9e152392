//! Smoke test: the engine side of every engine-bench workload, a few hundred ops each on a
//! temporary directory (no fio needed), plus the whole orchestration with fio off.

use leofs_bench::engine_bench::{
    self, get_phase, index_phase, open_store, prefill, put_phase, raw_read_phase, Limits, Options,
};
use leofs_engine::Durability;
use leofs_rt::fs::{probe_direct_io, DirectIoSupport, IoMode};
use std::path::{Path, PathBuf};

#[global_allocator]
static ALLOC: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// The heap measurement counts every thread's allocations: the tests take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn live_bytes() -> usize {
    ALLOC.allocated()
}

fn scratch(name: &str) -> (PathBuf, IoMode) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // CI may put the target directory on a filesystem without O_DIRECT: the smoke test
    // checks the code, not the numbers.
    let mode = match probe_direct_io(&dir) {
        Ok(DirectIoSupport::Supported) => IoMode::Direct,
        _ => IoMode::Buffered,
    };
    (dir, mode)
}

fn lim(max_ops: u64, concurrency: usize) -> Limits {
    Limits {
        seconds: 120.0,
        max_ops,
        concurrency,
    }
}

#[test]
fn engine_side_of_each_workload() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (base, mode) = scratch("engine-bench-phases");
    leofs_rt::block_on(async {
        // 1. 4 KiB durable puts, group committed.
        let p = engine_bench::engine_put4k(&base.join("put"), mode, lim(300, 32))
            .await
            .unwrap();
        assert_eq!(p.ops, 300);
        assert_eq!(p.bytes, 300 * 4096);
        assert!(p.batches >= 1 && p.batches <= 300, "{} batches", p.batches);
        assert!(p.fsyncs >= p.batches);
        assert!(p.ops_per_sec > 0.0 && p.lat_p99_us >= p.lat_p50_us);

        // 2. 4 KiB random gets, and the runtime's raw reads of the same segment.
        let store = open_store(&base.join("get"), mode, Durability::None)
            .await
            .unwrap();
        prefill(&store, "bench/get-", 200, 4096).await.unwrap();
        let g = get_phase(&store, "bench/get-", 200, 4096, false, lim(300, 32))
            .await
            .unwrap();
        assert_eq!((g.ops, g.bytes), (300, 300 * 4096));
        let used = store.segments()[0].used;
        let seg = base.join("get").join("seg-0000000000000001.log");
        let r = raw_read_phase(&seg, mode, 4096, used, 8192, lim(300, 32))
            .await
            .unwrap();
        assert_eq!((r.ops, r.bytes), (300, 300 * 8192));
        assert!(get_phase(&store, "bench/nope-", 10, 4096, false, lim(1, 1))
            .await
            .is_err());
        store.close().await.unwrap();

        // 3. 1 MiB durable puts, then sequential 1 MiB gets of them.
        let store = open_store(&base.join("big"), mode, Durability::Fsync)
            .await
            .unwrap();
        let w = put_phase(&store, "bench/big-", 1 << 20, lim(12, 4))
            .await
            .unwrap();
        assert_eq!((w.ops, w.bytes), (12, 12 << 20));
        let r = get_phase(&store, "bench/big-", 12, 1 << 20, true, lim(30, 4))
            .await
            .unwrap();
        assert_eq!((r.ops, r.bytes), (30, 30 << 20));
        store.close().await.unwrap();

        // 4. Index RAM and restarts, ascending and shuffled keys.
        for random in [false, true] {
            let ix = index_phase(&base.join("index"), mode, 500, random, 2, Some(live_bytes))
                .await
                .unwrap();
            assert_eq!(ix.objects, 500);
            assert_eq!(ix.avg_key_bytes, 18.0);
            let per = ix.heap_per_object.unwrap();
            // At least the key and the 56-byte entry; far less than a kilobyte.
            assert!(per > 18.0 + 56.0 && per < 1024.0, "{per} B/object");
            assert!(ix.reloaded_heap_per_object_minus_key.is_some());
            assert_eq!(ix.open_with_checkpoint_secs.len(), 2);
            assert_eq!(ix.open_without_checkpoint_secs.len(), 2);
            assert!(ix.checkpoint_bytes > 0);
            assert!(!base.join("index").exists(), "the index workload cleans up");
        }
    });
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn whole_run_without_fio() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (dir, mode) = scratch("engine-bench-run");
    let opts = Options {
        dir: dir.clone(),
        runs: 1,
        seconds: 1,
        fio: false,
        read_set_mib: 1,
        large_set_mib: 4,
        index_objects: 300,
        max_ops: 40,
        io_mode: mode,
        ..Options::default()
    };
    let report = engine_bench::run(&opts).unwrap();
    assert!(
        report.rows.iter().all(|r| r.ratio.is_none()),
        "no fio, no ratios"
    );
    assert!(report
        .rows
        .iter()
        .any(|r| r.workload.contains("4 KiB durable PUT") && r.leofs > 0.0));
    assert!(report
        .rows
        .iter()
        .any(|r| r.workload.starts_with("restart (open) with checkpoint")));
    assert!(!report.machine.io_driver.is_empty());
    let table = engine_bench::table(&report);
    assert!(
        table.contains("workload") && table.contains("1 MiB GET"),
        "{table}"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert!(json["rows"].as_array().unwrap().len() >= 6);
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(left.is_empty(), "bench files removed: {left:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

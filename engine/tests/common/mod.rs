//! Shared by the index RAM tests: index RAM per object at 1M objects, counted by the runtime seam's counting allocator
//! (exact requested heap bytes, deterministic; not a timing). Goal: <= 128 B + key bytes.
//! The requested-bytes figure misses malloc's per-allocation overhead, so the test also
//! checks the growth of the resident set, which includes it.

fn rss_bytes() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    pages * 4096.0
}

use leofs_engine::index::{Entry, Index, Loc};
use leofs_engine::{Kind, Version};



/// Inserts 1M keys in the order `order(i)` and checks the cost per object.
pub fn measure(order: impl Fn(u64) -> u64) {
    let n = 1_000_000u64;
    let keys: Vec<Vec<u8>> = (0..n).map(|i| format!("bucket/obj-{:07}", order(i) % n).into_bytes()).collect();
    let key_bytes: usize = keys.iter().map(|k| k.len()).sum();
    let before = leofs_rt::alloc::live_bytes();
    let rss_before = rss_bytes();
    let mut ix = Index::default();
    for (i, k) in keys.iter().enumerate() {
        let e = Entry {
            loc: Loc { seg: 1, off: i as u32, len: 1100 },
            kind: Kind::Object,
            size: 1024,
            md5: [0; 16],
            parts: 0,
            version: Version { timestamp_us: i as u64, tiebreak: 0 },
        };
        ix.insert(k.clone().into_boxed_slice(), e);
    }
    let used = (leofs_rt::alloc::live_bytes() - before) as f64;
    let per = used / n as f64;
    let key_avg = key_bytes as f64 / n as f64;
    let rss_per = (rss_bytes() - rss_before) / n as f64;
    println!("index: {per:.1} B/object requested ({:.1} B + key), {rss_per:.1} B/object resident ({:.1} B + key), key {key_avg:.1} B", per - key_avg, rss_per - key_avg);
    assert!(rss_per - key_avg <= 128.0, "resident index memory {:.1} B + key per object", rss_per - key_avg);
    assert_eq!(ix.len(), n as usize);
    assert!(per - key_avg <= 128.0, "index costs {:.1} B + key per object", per - key_avg);
    // What the `leofs_engine_index_bytes` gauge reports agrees with the allocator.
    let reported = ix.mem_bytes() as f64;
    assert!((reported - used).abs() <= used * 0.15, "the index reports {reported} bytes, the allocator counted {used}");
}

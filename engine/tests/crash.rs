//! Crash consistency on the simulated disk: thousands of seeds per run. Every seed runs
//! concurrent writes, cuts the power after a random number of disk operations, recovers
//! from a crash image (unsynced writes dropped, applied or torn), and checks that every
//! acknowledged write reads back intact and nothing reads back corrupted.
//!
//! `LEOFS_CRASH_SEEDS` sets the count (default 2000); `LEOFS_CRASH_SEED` runs one seed.

use leofs_engine::testing::crash_seed;

#[test]
fn crash_recovery_keeps_every_acknowledged_write() {
    if let Ok(one) = std::env::var("LEOFS_CRASH_SEED") {
        let seed: u64 = one.parse().expect("LEOFS_CRASH_SEED is a number");
        leofs_rt::block_on(crash_seed(seed)).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        return;
    }
    let seeds: u64 = std::env::var("LEOFS_CRASH_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(2000);
    let base: u64 = std::env::var("LEOFS_CRASH_BASE").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut failures = Vec::new();
    leofs_rt::block_on(async {
        for seed in base..base + seeds {
            if let Err(e) = crash_seed(seed).await {
                failures.push(format!("seed {seed}: {e}"));
            }
        }
    });
    assert!(failures.is_empty(), "{} of {seeds} seeds failed (rerun one with LEOFS_CRASH_SEED=N):\n{}", failures.len(), failures.join("\n"));
}

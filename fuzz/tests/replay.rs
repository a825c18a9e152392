//! Stable-Rust fuzzing: for every target, replay its committed corpus, then run a
//! deterministic batch of mutations of it (see `leofs_fuzz::mutate`). Any panic fails the
//! test with the target, the seed and the input in hex.
//!
//! Environment:
//!
//! * `LEOFS_FUZZ_ITERS=N`: mutations per target (default 2000); the engine target, whose
//!   every input runs a real store, gets N/10 (default 200).
//! * `LEOFS_FUZZ_SEED=S`: base seed (decimal or `0x` hex) to explore other mutations
//!   than the default fixed ones.
//! * `LEOFS_FUZZ_REPRO=<target>:<hex>` or `<target>:<file>`: the `reproduce` test runs
//!   the target on just that input, without catching the panic, so the backtrace is the
//!   target's own. `<target>:<directory>` replays every file in it (a libFuzzer corpus or
//!   its artifacts) and names the first that panics. Use it with `--nocapture`.

use leofs_fuzz::mutate::{dictionary, mutate};
use leofs_fuzz::{corpus_dir, hex, read_inputs, replay_dir, run_catching, target, unhex};

/// Default base seed; every (target, iteration) derives its own seed from it.
const DEFAULT_SEED: u64 = 0x1e0f_5f22_d15c_0001;

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    let parsed = match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => v.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={v:?} is not a number")))
}

/// FNV-1a of the target name, so targets get unrelated seed streams.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Replays the corpus of `name`, then `iters` mutants of it of at most `max_len` bytes.
fn fuzz(name: &str, iters: usize, max_len: usize) {
    let f = target(name).expect("target");
    let replayed = replay_dir(name, corpus_dir(name)).unwrap_or_else(|e| panic!("{e}"));
    assert!(replayed > 0, "empty corpus for `{name}`");

    let corpus: Vec<Vec<u8>> = read_inputs(&corpus_dir(name))
        .expect("corpus")
        .into_iter()
        .map(|(_, data)| data)
        .collect();
    let dict = dictionary(name);
    let base = env_u64("LEOFS_FUZZ_SEED").unwrap_or(DEFAULT_SEED) ^ name_hash(name);
    for i in 0..iters as u64 {
        let seed = base.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let input = mutate(seed, &corpus, dict, max_len);
        if let Err(message) = run_catching(f, &input) {
            // Also saved as a file, handy for `cargo fuzz run <target> <file>` and as a
            // new corpus entry once fixed.
            let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("fuzz-{name}-{seed:016x}"));
            let saved = match std::fs::write(&file, &input) {
                Ok(()) => format!("saved to {}", file.display()),
                Err(e) => format!("not saved: {e}"),
            };
            panic!(
                "fuzz target `{name}` panicked on mutation #{i} (seed {seed:#018x}): {message}\n\
                 input ({} bytes, {saved}), hex: {}\n\
                 reproduce: LEOFS_FUZZ_REPRO={name}:<hex or file> \
                 cargo test -p leofs-fuzz --test replay reproduce -- --nocapture",
                input.len(),
                hex(&input),
            );
        }
    }
}

/// Mutations per target: `LEOFS_FUZZ_ITERS`, else `default`; `divisor` scales it down
/// for expensive targets.
fn iters(default: usize, divisor: usize) -> usize {
    match env_u64("LEOFS_FUZZ_ITERS") {
        Some(n) => (n as usize / divisor).max(1),
        None => default,
    }
}

#[test]
fn engine() {
    // Each input opens a store and replays up to 400 operations with restarts.
    fuzz("engine", iters(200, 10), 1200);
}

#[test]
fn http_request() {
    fuzz("http_request", iters(2000, 1), 8192);
}

#[test]
fn auth() {
    fuzz("auth", iters(2000, 1), 4096);
}

#[test]
fn router() {
    fuzz("router", iters(2000, 1), 4096);
}

#[test]
fn xml() {
    fuzz("xml", iters(2000, 1), 4096);
}

#[test]
fn rpc() {
    fuzz("rpc", iters(2000, 1), 4096);
}

/// Runs `LEOFS_FUZZ_REPRO=<target>:<hex|path>` without catching its panic; does nothing
/// when the variable is unset.
#[test]
fn reproduce() {
    let Ok(spec) = std::env::var("LEOFS_FUZZ_REPRO") else {
        return;
    };
    let (name, what) = spec
        .split_once(':')
        .expect("LEOFS_FUZZ_REPRO must be <target>:<hex> or <target>:<path>");
    let f = target(name).unwrap_or_else(|| panic!("no fuzz target named {name:?}"));
    let path = std::path::Path::new(what);
    if path.is_dir() {
        let n = replay_dir(name, path).unwrap_or_else(|e| panic!("{e}"));
        eprintln!("{name}: {n} inputs of {} ran cleanly", path.display());
    } else if path.is_file() {
        f(&std::fs::read(path).expect("read file"));
    } else {
        let data = unhex(what).expect("neither hex nor an existing path");
        f(&data);
    }
}

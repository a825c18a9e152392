//! The fuzz targets of LeoFS as plain functions, and the stable-Rust machinery that replays
//! them.
//!
//! Every target is a `fn(&[u8])` that must return (never panic) on any input; a panic is a
//! bug, either in the code under test or, for `engine`, a divergence between the store and
//! its model. The same functions are driven three ways:
//!
//! * `cargo test -p leofs-fuzz` (stable): `tests/replay.rs` replays the committed seed
//!   corpora under `fuzz/corpus/<target>/` and a deterministic batch of mutations of them
//!   (see [`mutate`]); `tests/corpus.rs` checks the seeds still reach deep code.
//! * `fuzz/libfuzzer/` (nightly, cargo-fuzz): one libFuzzer binary per target, seeded from
//!   the same corpora. See `fuzz/README.md`.
//! * Anything else: [`replay_dir`] runs a target over a directory of inputs, e.g. the
//!   crash artifacts a libFuzzer run left behind.

#![forbid(unsafe_code)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

pub mod mutate;

/// A fuzz target: must return normally on every input.
pub type Target = fn(&[u8]);

/// Every target, by the name used for its corpus directory and its libFuzzer binary.
pub const TARGETS: &[(&str, Target)] = &[
    ("engine", engine),
    ("http_request", http_request),
    ("auth", auth),
    ("router", router),
    ("xml", xml),
    ("rpc", rpc),
];

/// The storage engine as a state machine against a `BTreeMap` model on a simulated disk.
/// The input is decoded three bytes at a time: op (mod 16: 0–6 put, 7–8 delete, 9–10 get,
/// 11 list, 12 compact, 13 checkpoint, 14–15 clean restart), key (mod 24), size.
pub fn engine(data: &[u8]) {
    leofs_engine::testing::fuzz_engine(data);
}

/// Raw bytes off a connection: request heads, bodies (chunked or sized), pipelining.
pub fn http_request(data: &[u8]) {
    leofs_net::http1::fuzz_request_bytes(data);
}

/// `authorization \n request-target \n date \n x-amz-content-sha256 \n body`: SigV4 and
/// SigV2 (header and presigned) parsing and verification, and the aws-chunked decoder
/// over the body in all three streaming modes.
pub fn auth(data: &[u8]) {
    leofs_net::s3::auth::fuzz_auth(data);
}

/// `method \n path \n query \n host \n virtual-host domain`; the last byte's low bit is
/// the `x-amz-copy-source` flag.
pub fn router(data: &[u8]) {
    leofs_net::s3::router::fuzz_route(data);
}

/// An XML body given to every reader (DeleteObjects, CreateBucketConfiguration,
/// CompleteMultipartUpload), plus the escapers and date helpers.
pub fn xml(data: &[u8]) {
    leofs_net::s3::xml::fuzz_xml(data);
}

/// An inter-node RPC frame: a 40-byte head (when the input is that long), then a body
/// given to every message decoder; what decodes must re-encode to the same bytes.
pub fn rpc(data: &[u8]) {
    leofs_net::rpc::fuzz_rpc(data);
}

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
}

/// `fuzz/corpus/<name>`, the committed seed corpus of a target.
pub fn corpus_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(name)
}

/// The regular files of `dir` (not recursive, hidden files skipped), sorted by name so
/// anything derived from them is deterministic, with their contents.
pub fn read_inputs(dir: &Path) -> std::io::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden || !entry.file_type()?.is_file() {
            continue;
        }
        let path = entry.path();
        let data = std::fs::read(&path)?;
        out.push((path, data));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Lowercase hex of `data`, for reproducers in failure messages.
pub fn hex(data: &[u8]) -> String {
    use std::fmt::Write;
    data.iter()
        .fold(String::with_capacity(data.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Parses [`hex`] output back (whitespace ignored); `None` if it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() & 1 == 1 {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(s, 16).ok()
        })
        .collect()
}

/// The text of a panic payload (`panic!` with a literal or a formatted message).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_owned()
    }
}

/// Runs `f` on `data`; on a panic, returns its message.
pub fn run_catching(f: Target, data: &[u8]) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| f(data))).map_err(|p| panic_message(&*p))
}

/// Why [`replay_dir`] failed.
#[derive(Debug)]
pub enum ReplayError {
    /// No target has this name.
    UnknownTarget(String),
    /// The directory could not be read.
    Io(PathBuf, std::io::Error),
    /// The target panicked on this file.
    Panicked {
        target: String,
        file: PathBuf,
        input: Vec<u8>,
        message: String,
    },
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayError::UnknownTarget(t) => write!(f, "no fuzz target named {t:?}"),
            ReplayError::Io(dir, e) => write!(f, "cannot read {}: {e}", dir.display()),
            ReplayError::Panicked {
                target,
                file,
                input,
                message,
            } => write!(
                f,
                "fuzz target `{target}` panicked on {}: {message}\ninput ({} bytes, hex): {}",
                file.display(),
                input.len(),
                hex(input)
            ),
        }
    }
}

impl std::error::Error for ReplayError {}

/// Runs target `target` on every file of `dir` (see [`read_inputs`]), in name order.
/// Returns how many files were run, or the first file the target panicked on.
pub fn replay_dir(target: &str, dir: impl AsRef<Path>) -> Result<usize, ReplayError> {
    let dir = dir.as_ref();
    let f = self::target(target).ok_or_else(|| ReplayError::UnknownTarget(target.to_owned()))?;
    let inputs = read_inputs(dir).map_err(|e| ReplayError::Io(dir.to_owned(), e))?;
    for (file, input) in &inputs {
        if let Err(message) = run_catching(f, input) {
            return Err(ReplayError::Panicked {
                target: target.to_owned(),
                file: file.clone(),
                input: input.clone(),
                message,
            });
        }
    }
    Ok(inputs.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let data = [0u8, 1, 0x7f, 0x80, 0xff, b'a'];
        assert_eq!(hex(&data), "00017f80ff61");
        assert_eq!(unhex(&hex(&data)).as_deref(), Some(&data[..]));
        assert_eq!(unhex("0 0\nff").as_deref(), Some(&[0u8, 0xff][..]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }

    #[test]
    fn targets_are_named_uniquely() {
        for (i, (name, _)) in TARGETS.iter().enumerate() {
            assert!(TARGETS[..i].iter().all(|(n, _)| n != name), "{name} twice");
            assert!(target(name).is_some());
        }
        assert!(target("nope").is_none());
    }

    #[test]
    fn replay_dir_reports_unknown_targets_and_missing_dirs() {
        assert!(matches!(
            replay_dir("nope", corpus_dir("xml")),
            Err(ReplayError::UnknownTarget(_))
        ));
        assert!(matches!(
            replay_dir("xml", corpus_dir("does-not-exist")),
            Err(ReplayError::Io(..))
        ));
    }
}

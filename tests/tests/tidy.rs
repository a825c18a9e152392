//! Tidy: the architecture's invariants, checked on every test run (see ARCHITECTURE.md).
//! Each rule is an absence: a dependency edge, a call or a construct that must not appear.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&p, out);
            }
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

/// Crate directory -> the leofs crates (and monoio) it depends on (normal dependencies).
fn leofs_edges() -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for dir in ["rt", "engine", "net", "control", "server", "bench", "fuzz", "tests", "tools"] {
        let text = std::fs::read_to_string(root().join(dir).join("Cargo.toml")).expect("member manifest");
        let mut deps = BTreeSet::new();
        let mut section = String::new();
        for line in text.lines() {
            let l = line.trim();
            if l.starts_with('[') {
                section = l.to_string();
                continue;
            }
            if section == "[dependencies]" {
                if let Some(name) = l.split(['=', '.']).next().map(str::trim) {
                    if name.starts_with("leofs") || name == "monoio" {
                        deps.insert(name.to_string());
                    }
                }
            }
        }
        out.insert(dir.to_string(), deps);
    }
    out
}

#[test]
fn crate_dependencies_point_one_way() {
    // What each crate may depend on. Anything else is a layering violation.
    let allowed: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("rt", &["monoio"][..]),
        ("engine", &["leofs-rt"][..]),
        ("net", &[][..]),
        ("control", &[][..]),
        ("server", &["leofs-rt", "leofs-engine", "leofs-net", "leofs-control"][..]),
        ("bench", &["leofs-rt", "leofs-engine", "leofs-net"][..]),
        ("fuzz", &["leofs-rt", "leofs-engine", "leofs-net"][..]),
        ("tests", &["leofs-net"][..]),
        ("tools", &[][..]),
    ]);
    let mut bad = Vec::new();
    for (krate, deps) in leofs_edges() {
        let ok = allowed.get(krate.as_str()).copied().unwrap_or(&[]);
        for d in deps {
            if !ok.contains(&d.as_str()) {
                bad.push(format!("{krate} -> {d}"));
            }
        }
    }
    assert!(bad.is_empty(), "forbidden crate edges: {bad:?}");
}

#[test]
fn unsafe_and_runtime_calls_live_only_in_the_runtime_seam() {
    let mut files = Vec::new();
    rust_files(&root(), &mut files);
    let mut bad = Vec::new();
    for f in files {
        let rel = f.strip_prefix(root()).unwrap_or(&f).to_string_lossy().replace('\\', "/");
        if rel.starts_with("rt/") || rel.starts_with("fuzz/libfuzzer/") || rel == "tests/tests/tidy.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("unsafe ") || code.contains("unsafe{") {
                bad.push(format!("{rel}:{}: unsafe outside rt/", i + 1));
            }
            if code.contains("monoio::") {
                bad.push(format!("{rel}:{}: runtime call outside rt/ (use leofs_rt)", i + 1));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn every_unsafe_site_in_the_seam_says_why() {
    let mut files = Vec::new();
    rust_files(&root().join("rt"), &mut files);
    let mut bad = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("unsafe ") || code.contains("unsafe{") {
                let window = &lines[i.saturating_sub(4)..i];
                if !window.iter().any(|l| l.contains("// SAFETY:")) {
                    bad.push(format!("{}:{}", f.display(), i + 1));
                }
            }
        }
    }
    assert!(bad.is_empty(), "unsafe without a `// SAFETY:` comment just above: {bad:?}");
}

#[test]
fn the_engine_never_sees_s3_and_the_protocol_layer_never_does_io() {
    let mut bad = Vec::new();
    let mut check = |dir: &str, words: &[&str]| {
        let mut files = Vec::new();
        rust_files(&root().join(dir).join("src"), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            for w in words {
                if text.contains(w) {
                    bad.push(format!("{}: mentions {w}", f.display()));
                }
            }
        }
    };
    // The engine stores opaque keys: no HTTP, no S3 types, no ACLs, no ring.
    check("engine", &["leofs_net", "leofs_control", "http::", "S3Error", "Acl"]);
    // The protocol layer is sans-I/O: no sockets, files or runtime.
    check("net", &["std::net::", "std::fs::", "leofs_rt", "TcpStream"]);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn no_stubs_in_shipped_code() {
    let mut files = Vec::new();
    for dir in ["rt", "engine", "net", "control", "server", "tools"] {
        rust_files(&root().join(dir).join("src"), &mut files);
    }
    let bad: Vec<String> = files
        .iter()
        .filter(|f| {
            let t = std::fs::read_to_string(f).unwrap_or_default();
            t.contains(concat!("todo", "!(")) || t.contains(concat!("unimplemented", "!("))
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(bad.is_empty(), "stubs: {bad:?}");
}

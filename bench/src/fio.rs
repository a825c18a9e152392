//! Running `fio` as the reference: one job at a time, JSON output parsed with serde_json.

use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The message shown when fio is missing.
pub const INSTALL_HINT: &str = "fio is not installed: install it (e.g. `apt-get install fio`) or pass --no-fio to run the engine side only";

/// fio's version string, or an error telling how to install it.
pub fn version() -> Result<String, String> {
    match Command::new("fio").arg("--version").output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).trim().to_string()),
        Ok(o) => Err(format!(
            "`fio --version` failed: {}\n{INSTALL_HINT}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(_) => Err(INSTALL_HINT.to_string()),
    }
}

/// One fio job on one file.
#[derive(Clone, Debug)]
pub struct Job {
    pub file: PathBuf,
    /// `write`, `read`, `randread`, ...
    pub rw: &'static str,
    pub bs: &'static str,
    pub iodepth: u32,
    /// File size in bytes (`--size`).
    pub size: u64,
    pub runtime_s: u64,
    /// Further options, e.g. `--fdatasync=1`.
    pub extra: Vec<String>,
}

/// What the reference measured.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Measured {
    pub iops: f64,
    pub bw_bytes: f64,
    /// Completion latency percentiles of the data I/Os, microseconds.
    pub clat_p50_us: f64,
    pub clat_p99_us: f64,
}

impl Job {
    fn args(&self, output: &Path) -> Vec<String> {
        let mut a = vec![
            "--name=ref".to_string(),
            format!("--filename={}", self.file.display()),
            format!("--rw={}", self.rw),
            format!("--bs={}", self.bs),
            "--ioengine=io_uring".to_string(),
            "--direct=1".to_string(),
            format!("--iodepth={}", self.iodepth),
            format!("--size={}", self.size),
            "--time_based".to_string(),
            format!("--runtime={}", self.runtime_s),
            "--numjobs=1".to_string(),
        ];
        a.extend(self.extra.iter().cloned());
        a.push("--output-format=json".to_string());
        a.push(format!("--output={}", output.display()));
        a
    }

    /// The command line, for the report (without the output file).
    pub fn command_line(&self) -> String {
        let args = self.args(Path::new("X"));
        let shown: Vec<&str> = args
            .iter()
            .map(|s| s.as_str())
            .filter(|s| !s.starts_with("--output="))
            .collect();
        format!("fio {}", shown.join(" "))
    }

    /// Runs the job; `scratch` receives the JSON output file.
    pub fn run(&self, scratch: &Path) -> Result<Measured, String> {
        let out = scratch.join("fio-out.json");
        let _ = std::fs::remove_file(&out);
        let o = Command::new("fio")
            .args(self.args(&out))
            .output()
            .map_err(|e| format!("cannot run fio: {e}\n{INSTALL_HINT}"))?;
        if !o.status.success() {
            return Err(format!(
                "`{}` failed ({}): {}{}",
                self.command_line(),
                o.status,
                String::from_utf8_lossy(&o.stderr).trim(),
                String::from_utf8_lossy(&o.stdout).trim()
            ));
        }
        let text = std::fs::read_to_string(&out)
            .map_err(|e| format!("fio output {}: {e}", out.display()))?;
        let _ = std::fs::remove_file(&out);
        let dir = if self.rw.contains("read") {
            "read"
        } else {
            "write"
        };
        parse(&text, dir).map_err(|e| format!("`{}`: {e}", self.command_line()))
    }
}

/// Lays out `file` with `size` bytes of (pseudo-random) data, written and synced, so that
/// reads hit real blocks. (fio's own `--create_only` only preallocates a file for a write
/// job, and direct reads of unwritten extents return zeros without touching the disk.)
pub fn layout(file: &Path, size: u64) -> Result<(), String> {
    use std::io::Write;
    let err = |e: std::io::Error| format!("laying out {}: {e}", file.display());
    if std::fs::metadata(file)
        .map(|m| m.len() == size)
        .unwrap_or(false)
    {
        return Ok(());
    }
    let mut f = std::fs::File::create(file).map_err(err)?;
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ size;
    let mut chunk = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for w in chunk.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            w.copy_from_slice(&x.to_le_bytes()[..w.len()]);
        }
        let n = left.min(chunk.len() as u64) as usize;
        f.write_all(&chunk[..n]).map_err(err)?;
        left -= n as u64;
    }
    f.sync_all().map_err(err)
}

/// Parses fio's JSON (`jobs[0].<dir>`). fio may print notices before the JSON object.
pub fn parse(text: &str, dir: &str) -> Result<Measured, String> {
    let start = text.find('{').ok_or("no JSON object in fio output")?;
    let v: serde_json::Value =
        serde_json::from_str(&text[start..]).map_err(|e| format!("fio JSON: {e}"))?;
    let d = &v["jobs"][0][dir];
    let num = |x: &serde_json::Value| x.as_f64();
    let iops = num(&d["iops"]).ok_or_else(|| format!("fio JSON lacks jobs[0].{dir}.iops"))?;
    let bw = num(&d["bw_bytes"]).ok_or_else(|| format!("fio JSON lacks jobs[0].{dir}.bw_bytes"))?;
    let pct = |p: &str| {
        num(&d["clat_ns"]["percentile"][p])
            .map(|ns| ns / 1000.0)
            .unwrap_or(0.0)
    };
    Ok(Measured {
        iops,
        bw_bytes: bw,
        clat_p50_us: pct("50.000000"),
        clat_p99_us: pct("99.000000"),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_fio_json() {
        let text = r#"note: something
{"fio version":"fio-3.33","jobs":[{"jobname":"ref","read":{"iops":1000.5,"bw_bytes":4098048,
 "clat_ns":{"percentile":{"50.000000":120000,"99.000000":450000}}},"write":{"iops":0,"bw_bytes":0}}]}"#;
        let m = super::parse(text, "read").unwrap();
        assert_eq!(m.iops, 1000.5);
        assert_eq!(m.bw_bytes, 4098048.0);
        assert_eq!(m.clat_p50_us, 120.0);
        assert_eq!(m.clat_p99_us, 450.0);
        assert!(super::parse(text, "trim").is_err());
    }
}

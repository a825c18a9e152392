//! CPU time of processes and threads from `/proc` (`stat(5)`): the client's own, and the
//! server's with `--server-pid`, to show which side is the bottleneck and how evenly a
//! thread-per-core server spreads its load.

use serde::Serialize;
use std::collections::BTreeMap;

/// User + system CPU seconds of a process (all its threads) from `/proc/PID/stat`;
/// `None` for this process. `None` back when it cannot be read (no such process).
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    parse_stat(&std::fs::read_to_string(path).ok()?).map(|(_, secs)| secs)
}

/// The name and user + system CPU seconds in a `stat` file (stat(5)).
fn parse_stat(text: &str) -> Option<(String, f64)> {
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_string();
    let f: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // Fields 14 and 15, utime and stime; the slice starts at field 3.
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some((name, ticks as f64 / clock_ticks() as f64))
}

/// CPU seconds of each thread of `pid`, by thread id (`/proc/PID/task/TID/stat`).
pub fn thread_cpu(pid: u32) -> BTreeMap<u32, (String, f64)> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for e in dir.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|t| t.parse::<u32>().ok()) else {
            continue;
        };
        if let Some(v) = std::fs::read_to_string(e.path().join("stat"))
            .ok()
            .as_deref()
            .and_then(parse_stat)
        {
            out.insert(tid, v);
        }
    }
    out
}

/// Per-thread CPU between two [`thread_cpu`] samples, busiest first; threads that used
/// less than 10 ms are left out. Shows how evenly a thread-per-core server spreads load.
pub fn thread_cpu_delta(
    before: &BTreeMap<u32, (String, f64)>,
    after: &BTreeMap<u32, (String, f64)>,
) -> Vec<ThreadCpu> {
    let mut v: Vec<ThreadCpu> = after
        .iter()
        .map(|(tid, (name, secs))| ThreadCpu {
            tid: *tid,
            name: name.clone(),
            cpu_seconds: secs - before.get(tid).map_or(0.0, |b| b.1),
        })
        .filter(|t| t.cpu_seconds >= 0.01)
        .collect();
    v.sort_by(|a, b| b.cpu_seconds.total_cmp(&a.cpu_seconds));
    v
}

/// One thread's CPU during the measured phase.
#[derive(Clone, Debug, Serialize)]
pub struct ThreadCpu {
    pub tid: u32,
    pub name: String,
    pub cpu_seconds: f64,
}

/// `sysconf(_SC_CLK_TCK)`, asked of `getconf` (no `unsafe` here); 100 where that fails,
/// which is what Linux uses on every common architecture.
fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .filter(|&t| t > 0)
            .unwrap_or(100)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_of_this_process_grows() {
        let a = cpu_seconds(None).unwrap();
        let mut x = 0u64;
        let t = std::time::Instant::now();
        while t.elapsed().as_millis() < 50 {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        let b = cpu_seconds(Some(std::process::id())).unwrap();
        assert!(b >= a, "{a} -> {b}");
        assert!(cpu_seconds(Some(u32::MAX)).is_none());
        let me = std::process::id();
        let t0 = thread_cpu(me);
        assert!(!t0.is_empty());
        let mut x = 1u64;
        let t = std::time::Instant::now();
        while t.elapsed().as_millis() < 60 {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        let d = thread_cpu_delta(&t0, &thread_cpu(me));
        assert!(d.iter().all(|t| t.cpu_seconds >= 0.01), "{d:?}");
        assert_eq!(
            parse_stat("1 (a b) c) S 1 2 3 4 5 6 7 8 9 10 100 50 0")
                .unwrap()
                .0,
            "a b) c"
        );
    }
}

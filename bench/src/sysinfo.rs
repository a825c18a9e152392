//! What machine a benchmark ran on.

use serde::Serialize;
use std::path::Path;
use std::process::Command;

#[derive(Clone, Debug, Default, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu_model: String,
    pub mem_total_gib: f64,
    pub kernel: String,
    /// Of the benchmark directory, from `df -PT`.
    pub filesystem: String,
    pub device: String,
    pub dir: String,
    /// The runtime's I/O driver on the benchmark thread (`io_uring` or `epoll`).
    pub io_driver: String,
    pub fio_version: Option<String>,
}

impl Machine {
    pub fn probe(dir: &Path) -> Machine {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let cpu_model = read("/proc/cpuinfo")
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        let mem_kib: f64 = read("/proc/meminfo")
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        let (device, filesystem) = Command::new("df")
            .arg("-PT")
            .arg(dir)
            .output()
            .ok()
            .and_then(|o| {
                let text = String::from_utf8_lossy(&o.stdout).to_string();
                let line = text.lines().nth(1)?.to_string();
                let mut f = line.split_whitespace();
                Some((f.next()?.to_string(), f.next()?.to_string()))
            })
            .unwrap_or_default();
        Machine {
            nproc: leofs_rt::runtime::available_cores(),
            cpu_model,
            mem_total_gib: mem_kib / (1024.0 * 1024.0),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            filesystem,
            device,
            dir: std::fs::canonicalize(dir)
                .unwrap_or_else(|_| dir.to_path_buf())
                .display()
                .to_string(),
            io_driver: String::new(),
            fio_version: None,
        }
    }
}

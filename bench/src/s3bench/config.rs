//! What a run is asked to do: the workloads, object sizes, durations, the endpoint, and
//! the [`Config`] that carries them from the command line to the workers.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// Longest measured phase when only `--ops` bounds it.
pub const MAX_RUN: Duration = Duration::from_secs(600);

/// What the measured phase does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// PUT new objects.
    Put,
    /// GET random objects of the prepared pool.
    Get,
    /// warp's mix: 45% GET, 15% PUT, 10% DELETE, 30% STAT.
    Mixed,
    /// DELETE prepared objects until none is left.
    Delete,
    /// HEAD random objects of the prepared pool.
    Stat,
    /// ListObjectsV2 pages over the prepared pool, from the first page again at the end.
    List,
    /// Whole multipart uploads of new objects: CreateMultipartUpload, UploadPart for each
    /// part of `part_size` (`part_concurrency` at a time), CompleteMultipartUpload.
    Multipart,
}

impl Workload {
    pub fn parse(s: &str) -> Result<Workload, String> {
        Ok(match s {
            "put" => Workload::Put,
            "get" => Workload::Get,
            "mixed" => Workload::Mixed,
            "delete" => Workload::Delete,
            "stat" => Workload::Stat,
            "list" => Workload::List,
            "multipart" => Workload::Multipart,
            _ => {
                return Err(format!(
                    "unknown workload {s:?}: put, get, mixed, delete, stat, list or multipart"
                ))
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Workload::Put => "put",
            Workload::Get => "get",
            Workload::Mixed => "mixed",
            Workload::Delete => "delete",
            Workload::Stat => "stat",
            Workload::List => "list",
            Workload::Multipart => "multipart",
        }
    }

    /// Whether the workload needs objects written before it starts.
    pub fn needs_objects(self) -> bool {
        !matches!(self, Workload::Put | Workload::Multipart)
    }
}

/// Object sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeSpec {
    Fixed(usize),
    /// Log-uniform between the bounds (as many objects of 1-2 KiB as of 512 KiB-1 MiB).
    LogUniform {
        min: usize,
        max: usize,
    },
}

impl SizeSpec {
    /// `4KiB`, `1MiB`, `4096`, `dist` (1 KiB to 1 MiB) or `dist:MIN-MAX`.
    pub fn parse(s: &str) -> Result<SizeSpec, String> {
        if s == "dist" {
            return Ok(SizeSpec::LogUniform {
                min: 1024,
                max: 1 << 20,
            });
        }
        if let Some(range) = s.strip_prefix("dist:") {
            let (a, b) = range
                .split_once('-')
                .ok_or_else(|| format!("size {s:?}: dist:MIN-MAX"))?;
            let (min, max) = (parse_bytes(a)? as usize, parse_bytes(b)? as usize);
            if min == 0 || min > max {
                return Err(format!("size {s:?}: need 0 < MIN <= MAX"));
            }
            return Ok(SizeSpec::LogUniform { min, max });
        }
        Ok(SizeSpec::Fixed(parse_bytes(s)? as usize))
    }

    pub fn max(self) -> usize {
        match self {
            SizeSpec::Fixed(n) => n,
            SizeSpec::LogUniform { max, .. } => max,
        }
    }

    /// A size for random bits `r`.
    pub fn pick(self, r: u64) -> usize {
        match self {
            SizeSpec::Fixed(n) => n,
            SizeSpec::LogUniform { min, max } => {
                let u = (r >> 11) as f64 / (1u64 << 53) as f64;
                let (a, b) = ((min as f64).ln(), (max as f64).ln());
                ((a + u * (b - a)).exp() as usize).clamp(min, max)
            }
        }
    }

    pub fn describe(self) -> String {
        match self {
            SizeSpec::Fixed(n) => human_bytes(n as u64),
            SizeSpec::LogUniform { min, max } => format!(
                "dist:{}-{}",
                human_bytes(min as u64),
                human_bytes(max as u64)
            ),
        }
    }
}

/// `4096`, `4k`, `4KiB`, `4KB` (all 4096: object sizes are binary), `1m`, `1MiB`, `1g`.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n: u64 = t[..digits].parse().map_err(|_| format!("bad size {s:?}"))?;
    let mult = match t[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("bad size {s:?}: use B, KiB, MiB or GiB")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size {s:?} too large"))
}

pub(super) fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{}MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{}KiB", n >> 10),
        n => format!("{n}B"),
    }
}

/// `10s`, `500ms`, `2m`, `1h`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let digits = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let n: f64 = t[..digits]
        .parse()
        .map_err(|_| format!("bad duration {s:?}"))?;
    let secs = match &t[digits..] {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("bad duration {s:?}: use ms, s, m or h")),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("bad duration {s:?}"))
}

/// `http://host:port[/]` to the `Host` header value and a socket address.
pub fn parse_endpoint(s: &str) -> Result<(String, SocketAddr), String> {
    if s.starts_with("https://") {
        return Err("https endpoints are not supported: leofs-bench speaks plain HTTP".into());
    }
    let hostport = s.strip_prefix("http://").unwrap_or(s).trim_end_matches('/');
    if hostport.is_empty() || hostport.contains('/') {
        return Err(format!("endpoint {s:?}: expected http://HOST:PORT"));
    }
    let with_port = if hostport
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    let addr = with_port
        .to_socket_addrs()
        .map_err(|e| format!("endpoint {s:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("endpoint {s:?}: no address"))?;
    Ok((hostport.to_string(), addr))
}

/// Everything a run needs.
#[derive(Clone, Debug)]
pub struct Config {
    pub endpoint: String,
    /// `Host` header value.
    pub host: String,
    pub addr: SocketAddr,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
    pub bucket: String,
    /// Key prefix of every object (e.g. `leofs-bench-1a2b3c4d/`).
    pub prefix: String,
    pub workload: Workload,
    pub size: SizeSpec,
    pub concurrency: usize,
    pub threads: usize,
    /// Measured phase length; `None`: 10 s, or [`MAX_RUN`] when `ops` is given.
    pub duration: Option<Duration>,
    /// Operations of the measured phase in all.
    pub ops: Option<u64>,
    pub keep_alive: bool,
    pub signed_payload: bool,
    /// Objects prepared for the workloads that read or delete.
    pub objects: u64,
    pub list_max_keys: u32,
    /// `multipart`: bytes of every part but the last.
    pub part_size: usize,
    /// `multipart`: connections per upload, each with one part in flight.
    pub part_concurrency: usize,
    pub cleanup: bool,
    pub cleanup_timeout: Duration,
    pub prepare_timeout: Duration,
    pub op_timeout: Duration,
    pub server_pid: Option<u32>,
    /// `--plain-http PATH`: unsigned GETs of this path, no bucket, no keys.
    pub plain_http: Option<String>,
    pub seed: u64,
    // Derived by `run`:
    /// `/bucket`, URI-encoded.
    pub bucket_path: String,
    /// The prefix URI-encoded for a path (`/` kept).
    pub key_prefix_encoded: String,
    /// The prefix URI-encoded for a query value (`/` encoded too).
    pub prefix_query: String,
}

impl Config {
    /// Connection tasks of the measured phase, and connections per task: one each, but a
    /// multipart upload spreads its parts over `part_concurrency` connections.
    pub fn run_tasks(&self) -> (usize, usize) {
        if self.workload == Workload::Multipart {
            let per = self.part_concurrency.clamp(1, self.concurrency.max(1));
            ((self.concurrency / per).max(1), per)
        } else {
            (self.concurrency, 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_durations_endpoints() {
        assert_eq!(parse_bytes("4KiB").unwrap(), 4096);
        assert_eq!(parse_bytes("1m").unwrap(), 1 << 20);
        assert_eq!(parse_bytes("123").unwrap(), 123);
        assert!(parse_bytes("4 parsecs").is_err());
        assert_eq!(SizeSpec::parse("1MiB").unwrap(), SizeSpec::Fixed(1 << 20));
        let d = SizeSpec::parse("dist").unwrap();
        for r in [0, 1, u64::MAX, 0x8000_0000_0000_0000] {
            let s = d.pick(r);
            assert!((1024..=1 << 20).contains(&s), "{s}");
        }
        assert_eq!(
            SizeSpec::parse("dist:4KiB-8KiB").unwrap().describe(),
            "dist:4KiB-8KiB"
        );
        assert!(SizeSpec::parse("dist:8KiB-4KiB").is_err());
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("soon").is_err());
        let (host, addr) = parse_endpoint("http://127.0.0.1:8080/").unwrap();
        assert_eq!((host.as_str(), addr.port()), ("127.0.0.1:8080", 8080));
        assert_eq!(parse_endpoint("127.0.0.1").unwrap().1.port(), 80);
        assert!(parse_endpoint("https://127.0.0.1:8443").is_err());
        assert_eq!(Workload::parse("multipart").unwrap(), Workload::Multipart);
        assert!(!Workload::Multipart.needs_objects());
        assert!(Workload::parse("multi").unwrap_err().contains("multipart"));
        assert_eq!(Workload::parse("mixed").unwrap(), Workload::Mixed);
    }
}

//! `leofs-bench`: a warp-like S3 load generator for any S3 endpoint (and, with
//! `--plain-http`, for a static HTTP server, so that the same client drives a reference
//! such as nginx).
//!
//! * [`sign`]: SigV4 request heads (path-style, header auth, `UNSIGNED-PAYLOAD` by default).
//! * [`http`] and [`conn`]: a small HTTP/1.1 client over `leofs_rt::net::Stream`.
//! * [`worker`] and `task`: threads × connection tasks, the workloads, the key pools.
//! * [`multipart`]: the `multipart` workload (whole uploads, parts in parallel).
//! * [`config`]: workloads, sizes, durations, endpoint, [`Config`].
//! * [`hist`], [`cpu`] and [`report`]: latency histograms, CPU time, counters, the report.
//!
//! A run creates the bucket if missing, writes the key pool the workload needs (not
//! measured), runs the workload for `--duration` or `--ops`, then deletes the pool
//! (bounded by `--cleanup-timeout`). Results and method in docs/BENCHMARKS.md.

pub mod config;
pub mod conn;
pub mod cpu;
pub mod hist;
pub mod http;
pub mod multipart;
pub mod report;
pub mod sign;
mod task;
pub mod worker;

use report::{Cleanup, CpuUse, MultipartShape, OpKind, OpReport, OpStats, Report};
use std::sync::Arc;
use std::time::{Duration, Instant};
use worker::{run_phase, Phase};

pub use config::{
    parse_bytes, parse_duration, parse_endpoint, Config, SizeSpec, Workload, MAX_RUN,
};

/// Runs the whole benchmark: bucket, preparation, measured phase, cleanup.
pub fn run(mut cfg: Config) -> Result<Report, String> {
    cfg.concurrency = cfg.concurrency.max(1);
    let multipart = cfg.workload == Workload::Multipart;
    let max_parts = multipart::part_count(cfg.size.max(), cfg.part_size);
    if multipart {
        if cfg.part_size == 0 || cfg.part_size > multipart::MAX_PART {
            return Err("--part-size must be between 1 B and 5 GiB".into());
        }
        if max_parts > multipart::MAX_PARTS {
            return Err(format!(
                "--size {} in parts of {} makes {max_parts} parts: S3 allows {}",
                cfg.size.describe(),
                config::human_bytes(cfg.part_size as u64),
                multipart::MAX_PARTS
            ));
        }
        // No more connections per upload than it has parts, nor than there are in all.
        cfg.part_concurrency = cfg
            .part_concurrency
            .clamp(1, max_parts.min(cfg.concurrency));
        // Whole uploads only: the connections in all, a multiple of the per-upload ones.
        cfg.concurrency -= cfg.concurrency % cfg.part_concurrency;
    }
    // Every thread gets at least one task.
    let threads = cfg.threads.clamp(1, cfg.run_tasks().0);
    cfg.bucket_path = format!("/{}", sign::encode_key(&cfg.bucket));
    cfg.key_prefix_encoded = sign::encode_key(&cfg.prefix);
    cfg.prefix_query = leofs_net::s3::auth::aws_encode(cfg.prefix.as_bytes());
    if cfg.workload == Workload::Delete {
        // Each DELETE removes one prepared object: prepare enough for --ops.
        cfg.objects = cfg.objects.max(cfg.ops.unwrap_or(0));
    }
    let s3 = cfg.plain_http.is_none();
    if !s3 && cfg.workload != Workload::Get {
        return Err("--plain-http runs the get workload only".into());
    }
    if s3 && cfg.workload.needs_objects() && cfg.objects == 0 {
        return Err(format!("{} needs --objects > 0", cfg.workload.name()));
    }
    // Parts are prefixes of the body, like whole objects.
    let body_len = if multipart {
        cfg.size.max().min(cfg.part_size)
    } else {
        cfg.size.max()
    };
    let body = random_body(body_len, cfg.seed);
    let cfg = Arc::new(cfg);
    if s3 {
        ensure_bucket(&cfg)?;
    }

    let mut pools: Vec<Vec<u64>> = vec![Vec::new(); threads];
    if s3 && cfg.workload.needs_objects() {
        for id in (0..cfg.objects).rev() {
            pools[(id % threads as u64) as usize].push(id);
        }
        let out = run_phase(
            &cfg,
            &body,
            Phase::Prepare,
            pools,
            cfg.prepare_timeout,
            None,
        );
        let st = out.stats();
        pools = out.pools();
        let written: u64 = pools.iter().map(|p| p.len() as u64).sum();
        if written < cfg.objects {
            let errors: Vec<String> = st.ops[OpKind::Put as usize]
                .errors
                .iter()
                .map(|(k, n)| format!("{k} ×{n}"))
                .collect();
            cleanup(&cfg, &body, pools);
            return Err(format!(
                "preparing {} objects: only {written} written in {:?} (errors: {})",
                cfg.objects,
                cfg.prepare_timeout,
                if errors.is_empty() {
                    "none, out of time".into()
                } else {
                    errors.join(", ")
                }
            ));
        }
    }

    let limit = cfg.duration.unwrap_or(if cfg.ops.is_some() {
        MAX_RUN
    } else {
        Duration::from_secs(10)
    });
    let cpu0 = cpu::cpu_seconds(None);
    let srv0 = cfg.server_pid.and_then(|p| cpu::cpu_seconds(Some(p)));
    let threads0 = cfg.server_pid.map(cpu::thread_cpu).unwrap_or_default();
    let out = run_phase(&cfg, &body, Phase::Run, pools, limit, cfg.ops);
    let cpu1 = cpu::cpu_seconds(None);
    let srv1 = cfg.server_pid.and_then(|p| cpu::cpu_seconds(Some(p)));
    let threads1 = cfg.server_pid.map(cpu::thread_cpu).unwrap_or_default();
    let secs = out.elapsed.as_secs_f64();
    let stats = out.stats();
    let connects = out.threads.iter().map(|t| t.connects).sum();
    let pools = out.pools();

    let cleanup = (s3 && cfg.cleanup).then(|| cleanup(&cfg, &body, pools));
    let ok = stats.ok_count();
    let mut total = OpStats::default();
    let mut ops = Vec::new();
    for k in OpKind::ALL {
        let o = &stats.ops[k as usize];
        if o.hist.count() + o.error_count() > 0 {
            let mut r = OpReport::new(k.name(), o, secs);
            r.phase_of = k.phase_of().map(|p| p.name().to_string());
            ops.push(r);
        }
        // A phase's requests are already inside its operation.
        if k.phase_of().is_some() {
            continue;
        }
        total.hist.merge(&o.hist);
        total.bytes += o.bytes;
        for (e, n) in &o.errors {
            *total.errors.entry(e.clone()).or_default() += n;
        }
    }
    let cpu = |a: Option<f64>, b: Option<f64>, pid| Some(CpuUse::new(pid, b? - a?, secs, ok));
    Ok(Report {
        workload: cfg.workload.name().to_string(),
        endpoint: cfg.endpoint.clone(),
        target: cfg.plain_http.clone().unwrap_or_else(|| cfg.bucket.clone()),
        size: if s3 {
            cfg.size.describe()
        } else {
            "(served file)".into()
        },
        concurrency: cfg.concurrency,
        threads,
        keep_alive: cfg.keep_alive,
        signed_payload: cfg.signed_payload,
        prepared: if s3 && cfg.workload.needs_objects() {
            cfg.objects
        } else {
            0
        },
        seconds: secs,
        ops,
        total: OpReport::new("total", &total, secs),
        listed_objects: stats.listed,
        connects,
        client_cpu: cpu(cpu0, cpu1, None),
        server_cpu: cfg
            .server_pid
            .and_then(|p| cpu(srv0, srv1, Some(p)))
            .map(|mut c| {
                c.threads = cpu::thread_cpu_delta(&threads0, &threads1);
                c
            }),
        cleanup,
        multipart: multipart.then(|| MultipartShape {
            part_size: cfg.part_size as u64,
            parts: max_parts as u64,
            part_concurrency: cfg.part_concurrency,
            uploads_in_flight: cfg.run_tasks().0,
        }),
    })
}

/// Deletes the keys of `pools`, bounded by `--cleanup-timeout`.
fn cleanup(cfg: &Arc<Config>, body: &Arc<[u8]>, pools: Vec<Vec<u64>>) -> Cleanup {
    let start = Instant::now();
    let total: u64 = pools.iter().map(|p| p.len() as u64).sum();
    if total == 0 {
        return Cleanup::default();
    }
    let out = run_phase(cfg, body, Phase::Cleanup, pools, cfg.cleanup_timeout, None);
    let left: u64 = out.threads.iter().map(|t| t.pool.len() as u64).sum();
    Cleanup {
        deleted: total - left,
        left,
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// Creates the bucket unless it exists (and is ours); errors carry the S3 error code.
fn ensure_bucket(cfg: &Config) -> Result<(), String> {
    leofs_rt::block_on(async {
        let mut conn = conn::Conn::new(cfg.addr);
        let mut signer =
            sign::Signer::new(&cfg.access_key, &cfg.secret_key, &cfg.region, &cfg.host);
        let empty = leofs_net::s3::auth::EMPTY_SHA256_HEX;
        for method in ["HEAD", "PUT"] {
            conn.req.clear();
            let content_length = (method == "PUT").then_some(0);
            let r = sign::Req {
                method,
                path: &cfg.bucket_path,
                query: "",
                payload: empty,
                content_length,
                close: false,
            };
            signer.write_head(&mut conn.req, &r);
            let fut = conn.exchange(None, method == "HEAD", 0);
            let rep = leofs_rt::task::timeout(cfg.op_timeout, fut)
                .await
                .ok_or_else(|| format!("{method} bucket {}: timed out", cfg.bucket))?
                .map_err(|e| format!("{} ({}): {e}", cfg.endpoint, cfg.addr))?;
            let code = http::s3_error_code(&conn.kept).unwrap_or("").to_string();
            match (method, rep.status) {
                ("HEAD", 200) => return Ok(()),
                // Not there, or not ours to see: the PUT's error body says which.
                ("HEAD", _) => continue,
                ("PUT", 200) => return Ok(()),
                ("PUT", 409) if code == "BucketAlreadyOwnedByYou" => return Ok(()),
                (m, s) => return Err(format!("{m} bucket {}: HTTP {s} {code}", cfg.bucket)),
            }
        }
        Ok(())
    })
}

/// Pseudo-random bytes (incompressible, unlike zeros), shared by every connection.
fn random_body(len: usize, seed: u64) -> Arc<[u8]> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v.into()
}

//! Multi-buffer MD5 against one stream at a time, in one run: MB/s of `leofs_net`'s
//! `md5lanes` hashing N equal streams together (N = 1..16, the lane widths the gateway uses)
//! next to the `md-5` crate hashing the same bytes one stream after another, and next to
//! `openssl speed md5` (one core) when openssl is installed.
//!
//!     cargo run --release -p leofs-bench --bin md5-lanes [-- --mib 8]

use leofs_engine::disk::SplitMix64;
use leofs_net::s3::md5lanes::{self, Md5Stream};
use leofs_rt::cpu::{self, Simd};
use md5::Digest as _;
use std::time::Instant;

fn main() {
    let mib: usize = std::env::args().skip_while(|a| a != "--mib").nth(1).and_then(|v| v.parse().ok()).unwrap_or(4);
    let size = mib << 20;
    let piece = 256 << 10;
    let level = cpu::simd();
    let wide_from = match level {
        Simd::Avx512 => md5lanes::WIDE_FROM_AVX512,
        Simd::Avx2 => md5lanes::WIDE_FROM_AVX2,
        Simd::Baseline => md5lanes::WIDE_FROM_BASELINE,
    };
    let data: Vec<Vec<u8>> = (0..16u64)
        .map(|l| {
            let mut r = SplitMix64(l + 1);
            (0..size / 8).flat_map(|_| r.next_u64().to_le_bytes()).collect()
        })
        .collect();
    let t = Instant::now();
    for d in &data {
        std::hint::black_box(md5::Md5::digest(d));
    }
    let one = (16 * size) as f64 / t.elapsed().as_secs_f64() / 1e6;
    println!("simd level: {}", level.as_str());
    println!("md-5 crate, one stream at a time: {one:.0} MB/s");
    if let Some(o) = openssl_md5() {
        println!("openssl speed md5 (one core, 1 MiB blocks): {o:.0} MB/s");
    }
    println!("{:>8} {:>10} {:>8}", "streams", "MB/s", "vs md-5");
    // (streams, the least streams that use the 4-lane kernel): 2 streams both together and
    // one after the other through the assembly, the choice the gateway measures at start.
    for (n, narrow_from) in [(1usize, 2usize), (2, 2), (2, 3), (4, 2), (6, 2), (8, 2), (12, 2), (16, 2)] {
        let mut streams: Vec<Md5Stream> = (0..n).map(|_| Md5Stream::new()).collect();
        let t = Instant::now();
        for at in (0..size).step_by(piece) {
            let mut jobs: Vec<(&mut Md5Stream, &[u8])> = streams.iter_mut().zip(&data).map(|(s, d)| (s, &d[at..(at + piece).min(size)])).collect();
            cpu::with_best_simd(
                #[inline(always)]
                || md5lanes::update_many(&mut jobs, narrow_from, wide_from),
            );
        }
        let rate = (n * size) as f64 / t.elapsed().as_secs_f64() / 1e6;
        for (s, d) in streams.into_iter().zip(&data) {
            assert_eq!(s.finish(), <[u8; 16]>::from(md5::Md5::digest(d)), "multi-buffer MD5 disagrees with md-5");
        }
        let how = if n < narrow_from { " (one after the other)" } else { "" };
        println!("{n:>8} {rate:>10.0} {:>7.2}x{how}", rate / one);
    }
}

/// OpenSSL's MD5 on one core, MB/s, parsed from `openssl speed -mr`.
fn openssl_md5() -> Option<f64> {
    let out = std::process::Command::new("openssl").args(["speed", "-mr", "-bytes", "1048576", "-seconds", "1", "md5"]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // `+F:<n>:md5:<bytes/s for each block size>`
    let line = text.lines().find(|l| l.starts_with("+F:"))?;
    line.rsplit(':').next()?.trim().parse::<f64>().ok().map(|b| b / 1e6)
}

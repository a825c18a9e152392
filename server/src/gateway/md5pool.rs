//! Multi-buffer MD5 on a core. MD5 is serial within a body, so one stream runs at about one
//! byte per 1.5 ns however wide the core's vector units are; but a core receiving PUTs holds
//! many bodies at once. Pieces that arrive on this core at about the same time are hashed
//! together, one body per SIMD lane (`leofs_net::s3::md5lanes`): up to 16 with AVX-512,
//! ~8× one stream's speed. The wait is one turn of this core's task queue: a piece waits only
//! for the requests that are ready to run anyway.

use leofs_net::s3::md5lanes::{self, Md5Stream};
use leofs_rt::cpu::Simd;
use leofs_rt::sync::oneshot;
use std::cell::{Cell, RefCell};

/// Smaller pieces are hashed at once: batching costs two task switches (~1 µs), worth it
/// only for a piece that takes longer than that to hash alone.
const BATCH_MIN_BYTES: usize = 8 << 10;

struct Job {
    stream: Md5Stream,
    buf: Vec<u8>,
    from: usize,
    done: oneshot::Sender<(Md5Stream, Vec<u8>)>,
}

thread_local! {
    static PENDING: RefCell<Vec<Job>> = const { RefCell::new(Vec::new()) };
    static STATS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// The hashing task went away before answering (the core's runtime is shutting down).
#[derive(Debug)]
pub struct Gone;

/// Hashes `buf[from..]` into `stream` alongside the other pieces this core hashes at about
/// the same time. `buf` is lent to the hashing task meanwhile and handed back.
pub async fn update(stream: &mut Md5Stream, buf: Vec<u8>, from: usize) -> Result<Vec<u8>, Gone> {
    if buf.len() - from < BATCH_MIN_BYTES || leofs_rt::runtime::current_driver().is_none() {
        stream.update(&buf[from..]);
        return Ok(buf);
    }
    let (done, answer) = oneshot::channel();
    let first = PENDING.with(|p| {
        let mut p = p.borrow_mut();
        p.push(Job { stream: stream.clone(), buf, from, done });
        p.len() == 1
    });
    if first {
        leofs_rt::task::spawn(async {
            // Every task already ready on this core runs (and may add its piece) first.
            leofs_rt::task::yield_now().await;
            flush();
        });
    }
    let (s, buf) = answer.await.map_err(|_| Gone)?;
    *stream = s;
    Ok(buf)
}

/// Hashes every pending piece, several streams per vector instruction, and answers each.
fn flush() {
    let mut jobs = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
    STATS.with(|s| {
        let (batches, pieces) = s.get();
        s.set((batches + 1, pieces + jobs.len() as u64));
    });
    let (narrow_from, wide_from) = (narrow_from(), wide_from());
    {
        let mut work: Vec<(&mut Md5Stream, &[u8])> = jobs.iter_mut().map(|Job { stream, buf, from, .. }| (stream, &buf[*from..])).collect();
        leofs_rt::cpu::with_best_simd(
            #[inline(always)]
            || md5lanes::update_many(&mut work, narrow_from, wide_from),
        );
    }
    for j in jobs {
        // A request that went away meanwhile no longer wants its piece.
        let _ = j.done.send((j.stream, j.buf));
    }
}

fn wide_from() -> Option<usize> {
    match leofs_rt::cpu::simd() {
        Simd::Avx512 => md5lanes::WIDE_FROM_AVX512,
        Simd::Avx2 => md5lanes::WIDE_FROM_AVX2,
        Simd::Baseline => md5lanes::WIDE_FROM_BASELINE,
    }
}

/// From how many streams the 4-lane kernel is used: 2 where a pair hashes faster in it than
/// one stream after the other through the assembly, else 3. It depends on the CPU (one
/// AVX-512 machine ran a pair 1.34x faster together, another 0.6x as fast), so it is
/// measured once per process: 2 × 64 KiB each way, the best of 3 tries (~2 ms).
fn narrow_from() -> usize {
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *N.get_or_init(|| {
        let data = vec![0x5au8; 64 << 10];
        let wide_from = wide_from();
        let time = |narrow_from: usize| {
            (0..3)
                .map(|_| {
                    let (mut a, mut b) = (Md5Stream::new(), Md5Stream::new());
                    let mut jobs: Vec<(&mut Md5Stream, &[u8])> = vec![(&mut a, &data), (&mut b, &data)];
                    let t = std::time::Instant::now();
                    leofs_rt::cpu::with_best_simd(
                        #[inline(always)]
                        || md5lanes::update_many(&mut jobs, narrow_from, wide_from),
                    );
                    t.elapsed()
                })
                .min()
                .expect("three tries")
        };
        let n = if time(2) < time(3) { 2 } else { 3 };
        log::info!("multi-buffer MD5: 4 lanes from {n} streams on this CPU");
        n
    })
}

/// Batches hashed on this core and the pieces in them, since start.
pub fn stats() -> (u64, u64) {
    STATS.with(|s| s.get())
}

#[cfg(test)]
mod tests {
    use super::*;
    use leofs_net::s3::checksum::Md5;

    /// Concurrent streams on one core, fed in interleaved pieces of uneven sizes, get the
    /// same digests as hashing each alone; the pieces were really hashed in shared batches.
    #[test]
    fn concurrent_streams_batch_and_agree() {
        leofs_rt::block_on(async {
            let bodies: Vec<Vec<u8>> = (0..12u32).map(|i| (0..(300_000 + i * 7919)).map(|j| (j.wrapping_mul(2654435761) >> (i % 7)) as u8).collect()).collect();
            let tasks: Vec<_> = bodies
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, body)| {
                    leofs_rt::task::spawn(async move {
                        let mut s = Md5Stream::new();
                        let mut at = 0;
                        let mut n = 0;
                        while at < body.len() {
                            let step = (10_000 + (i * 3001 + n * 17) % 60_000).min(body.len() - at);
                            let buf = body[at..at + step].to_vec();
                            let back = update(&mut s, buf, 0).await.expect("hashed");
                            assert_eq!(back.len(), step, "the buffer comes back whole");
                            at += step;
                            n += 1;
                        }
                        s.finish()
                    })
                })
                .collect();
            let before = stats();
            for (t, body) in tasks.into_iter().zip(&bodies) {
                let mut want = Md5::new();
                want.update(body);
                assert_eq!(t.await, want.finish());
            }
            let (batches, pieces) = (stats().0 - before.0, stats().1 - before.1);
            assert!(pieces > batches * 2, "{pieces} pieces in {batches} batches: not batched");
        });
    }
}

//! Multi-buffer MD5: many independent streams hashed together, one stream per SIMD lane.
//!
//! MD5 is a serial chain inside one stream, so a core hashes one stream at ~650 MB/s however
//! wide its vector units are. A PUT-heavy core, though, holds many streams at once (one per
//! request), and their blocks are independent: [`update_many`] runs the same MD5 step on 4 or
//! 16 streams with one vector instruction. Plain `u32` loops over lanes, written so the
//! compiler vectorises them; the caller picks the instruction set by wrapping the call in
//! the runtime seam's `cpu::with_best_simd` (everything here is `#[inline(always)]` for that reason).
//! Results are bit-identical to RFC 1321 (tested against the `md-5` crate).

/// One MD5 stream: chaining value, bytes so far, and the partial block not hashed yet.
#[derive(Clone, Debug)]
pub struct Md5Stream {
    h: [u32; 4],
    len: u64,
    tail: [u8; 64],
    tail_len: usize,
}

impl Default for Md5Stream {
    fn default() -> Self {
        Self::new()
    }
}

const INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

impl Md5Stream {
    pub fn new() -> Self {
        Md5Stream { h: INIT, len: 0, tail: [0; 64], tail_len: 0 }
    }

    /// Bytes hashed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Hashes `data` on this stream alone: one lane, no allocation (small bodies take this
    /// path on every PUT).
    pub fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if self.tail_len > 0 {
            let n = (64 - self.tail_len).min(data.len());
            self.tail[self.tail_len..self.tail_len + n].copy_from_slice(&data[..n]);
            self.tail_len += n;
            data = &data[n..];
            if self.tail_len < 64 {
                return;
            }
            let block = self.tail;
            compress_run(&mut self.h, &block);
            self.tail_len = 0;
        }
        let whole = data.len() / 64 * 64;
        compress_run(&mut self.h, &data[..whole]);
        let rest = &data[whole..];
        self.tail[..rest.len()].copy_from_slice(rest);
        self.tail_len = rest.len();
    }

    /// The digest: pads per RFC 1321 and hashes the last one or two blocks.
    pub fn finish(mut self) -> [u8; 16] {
        let bits = self.len.wrapping_mul(8);
        let mut last = [0u8; 128];
        last[..self.tail_len].copy_from_slice(&self.tail[..self.tail_len]);
        last[self.tail_len] = 0x80;
        let n = if self.tail_len < 56 { 64 } else { 128 };
        last[n - 8..n].copy_from_slice(&bits.to_le_bytes());
        compress_run(&mut self.h, &last[..n]);
        let mut out = [0u8; 16];
        for (o, h) in out.chunks_exact_mut(4).zip(self.h) {
            o.copy_from_slice(&h.to_le_bytes());
        }
        out
    }
}

/// (The compiler builds the 4-lane width as four interleaved scalar streams, which hides MD5's
/// latency chain; it vectorises the 16-lane one.)
/// When the 16-lane kernel pays: measured with the `md5-lanes` benchmark on AVX-512 (a 16-lane step
/// costs ~190 ns, a 4-lane one ~150 ns, a one-lane one ~90 ns: from 6 streams), on AVX2 (from
/// 8 streams) and on baseline x86-64 (never: 16 lanes of SSE2 spill registers and lose to 4).
pub const WIDE_FROM_AVX512: Option<usize> = Some(6);
pub const WIDE_FROM_AVX2: Option<usize> = Some(8);
pub const WIDE_FROM_BASELINE: Option<usize> = None;

/// Whole blocks of one stream: OpenSSL-speed assembly (`md5-asm`) on x86 and x86-64, where
/// the plain loop of [`compress`] on one lane runs at ~0.8x of it; that loop elsewhere.
fn compress_run(h: &mut [u32; 4], blocks: &[u8]) {
    let (blocks, rest) = blocks.as_chunks::<64>();
    assert!(rest.is_empty(), "whole blocks only");
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    md5_asm::compress(h, blocks);
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    for b in blocks {
        let mut st = h.map(|v| [v]);
        compress::<1>(&mut st, &[b]);
        *h = st.map(|s| s[0]);
    }
}

/// Hashes each `(stream, data)` pair as if by `stream.update(data)`, several streams per
/// vector instruction: 4 lanes from `narrow_from` streams (2 or more; below it streams are
/// hashed one after another by [`compress_run`]), 16 from `wide_from` streams.
#[inline(always)]
pub fn update_many(jobs: &mut [(&mut Md5Stream, &[u8])], narrow_from: usize, wide_from: Option<usize>) {
    // Per job: a head block completing the stream's partial block, then whole blocks of
    // `data`, then the rest goes to the stream's tail.
    let mut work: Vec<Work> = Vec::with_capacity(jobs.len());
    for (i, (s, data)) in jobs.iter_mut().enumerate() {
        let mut used = 0;
        let mut head = None;
        if s.tail_len > 0 {
            used = (64 - s.tail_len).min(data.len());
            s.tail[s.tail_len..s.tail_len + used].copy_from_slice(&data[..used]);
            s.tail_len += used;
            if s.tail_len == 64 {
                head = Some(s.tail);
                s.tail_len = 0;
            }
        }
        let whole = (data.len() - used) / 64 * 64;
        let blocks = head.is_some() as usize + whole / 64;
        if blocks > 0 {
            work.push(Work { job: i, head, body: used..used + whole, blocks, done: 0 });
        }
        let rest = &data[used + whole..];
        if !rest.is_empty() {
            debug_assert_eq!(s.tail_len, 0);
            s.tail[..rest.len()].copy_from_slice(rest);
            s.tail_len = rest.len();
        }
        s.len += data.len() as u64;
    }
    let mut next = 0;
    let mut lanes: Vec<usize> = Vec::with_capacity(16);
    loop {
        lanes.retain(|&w| work[w].done < work[w].blocks);
        let waiting = work.len() - next;
        // A stream keeps its lane until it runs out, so the width never drops below the
        // lanes in use.
        let width = match lanes.len() + waiting {
            0 => break,
            n if n < narrow_from.max(2) && lanes.len() <= 1 => 1,
            n if wide_from.is_none_or(|w| n < w) && lanes.len() <= 4 => 4,
            _ => 16,
        };
        while lanes.len() < width && next < work.len() {
            lanes.push(next);
            next += 1;
        }
        match width {
            1 => alone(jobs, &mut work[lanes[0]]),
            4 => segment::<4>(jobs, &mut work, &lanes),
            _ => segment::<16>(jobs, &mut work, &lanes),
        }
    }
}

struct Work {
    job: usize,
    head: Option<[u8; 64]>,
    body: std::ops::Range<usize>,
    blocks: usize,
    done: usize,
}

const ZERO_BLOCK: [u8; 64] = [0; 64];

/// Runs one stream to the end of its blocks on its own.
fn alone(jobs: &mut [(&mut Md5Stream, &[u8])], w: &mut Work) {
    let (stream, data) = &mut jobs[w.job];
    if let Some(head) = w.head.filter(|_| w.done == 0) {
        compress_run(&mut stream.h, &head);
        w.done = 1;
    }
    let first = w.done - w.head.is_some() as usize;
    compress_run(&mut stream.h, &data[w.body.start + first * 64..w.body.end]);
    w.done = w.blocks;
}

/// Runs the streams in `lanes` (at most `L`) until the first of them runs out of blocks.
#[inline(always)]
fn segment<const L: usize>(jobs: &mut [(&mut Md5Stream, &[u8])], work: &mut [Work], lanes: &[usize]) {
    debug_assert!(!lanes.is_empty() && lanes.len() <= L);
    let steps = lanes.iter().map(|&w| work[w].blocks - work[w].done).min().expect("a lane");
    let mut st = [[0u32; L]; 4];
    for (l, &w) in lanes.iter().enumerate() {
        for (s, h) in st.iter_mut().zip(jobs[work[w].job].0.h) {
            s[l] = h;
        }
    }
    let mut left = steps;
    if lanes.iter().any(|&w| work[w].head.is_some() && work[w].done == 0) {
        // A stream's first block completes its partial block: one step from the lanes'
        // current blocks wherever they are.
        let blocks: [&[u8; 64]; L] = std::array::from_fn(|l| match lanes.get(l) {
            Some(&w) => block_of(&work[w], jobs[work[w].job].1),
            None => &ZERO_BLOCK,
        });
        compress::<L>(&mut st, &blocks);
        for &w in lanes {
            work[w].done += 1;
        }
        left -= 1;
    }
    // Every lane now reads whole blocks straight from its data; an idle lane rereads a
    // block of zeros.
    let mut runs: [&[u8]; L] = [&ZERO_BLOCK[..]; L];
    let mut stride = [0usize; L];
    for (l, &w) in lanes.iter().enumerate() {
        let first = work[w].done - work[w].head.is_some() as usize;
        let at = work[w].body.start + first * 64;
        runs[l] = &jobs[work[w].job].1[at..at + left * 64];
        stride[l] = 64;
    }
    for i in 0..left {
        let blocks: [&[u8; 64]; L] = std::array::from_fn(|l| {
            let at = i * stride[l];
            runs[l][at..at + 64].try_into().expect("64 bytes")
        });
        compress::<L>(&mut st, &blocks);
    }
    for &w in lanes {
        work[w].done += left;
    }
    for (l, &w) in lanes.iter().enumerate() {
        let h = &mut jobs[work[w].job].0.h;
        for (h, s) in h.iter_mut().zip(&st) {
            *h = s[l];
        }
    }
}

#[inline(always)]
fn block_of<'a>(w: &'a Work, data: &'a [u8]) -> &'a [u8; 64] {
    let mut i = w.done;
    if let Some(head) = &w.head {
        if i == 0 {
            return head;
        }
        i -= 1;
    }
    let at = w.body.start + i * 64;
    data[at..at + 64].try_into().expect("64 bytes")
}

const S: [u32; 64] = [
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6,
    10, 15, 21, 6, 10, 15, 21,
];

/// `floor(|sin(i + 1)| * 2^32)`, RFC 1321's table T.
const K: [u32; 64] = [
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
];

/// MD5 step `I` (0..64) on every lane: `a = b + rotl(a + f(b, c, d) + m[g] + K[I], S[I])`,
/// with the round's `f` and message order `g`. `I` is a constant so that the rotation and the
/// message word are too (a variable rotate costs the vector code most of its speed).
#[inline(always)]
fn step<const L: usize, const I: usize>(a: &mut [u32; L], b: &[u32; L], c: &[u32; L], d: &[u32; L], m: &[[u32; L]; 16]) {
    let g = match I / 16 {
        0 => I,
        1 => 5 * I + 1,
        2 => 3 * I + 5,
        _ => 7 * I,
    } % 16;
    let (k, s, m) = (K[I], S[I], &m[g]);
    for l in 0..L {
        let (bb, cc, dd) = (b[l], c[l], d[l]);
        let f = match I / 16 {
            0 => (bb & cc) | (!bb & dd),
            1 => (bb & dd) | (cc & !dd),
            2 => bb ^ cc ^ dd,
            _ => cc ^ (bb | !dd),
        };
        a[l] = bb.wrapping_add(a[l].wrapping_add(f).wrapping_add(k).wrapping_add(m[l]).rotate_left(s));
    }
}

/// The MD5 compression function on `L` lanes: lane `l` hashes `blocks[l]` into `st[..][l]`.
#[inline(always)]
fn compress<const L: usize>(st: &mut [[u32; L]; 4], blocks: &[&[u8; 64]; L]) {
    let mut m = [[0u32; L]; 16];
    for l in 0..L {
        for j in 0..16 {
            m[j][l] = u32::from_le_bytes([blocks[l][4 * j], blocks[l][4 * j + 1], blocks[l][4 * j + 2], blocks[l][4 * j + 3]]);
        }
    }
    let [mut a, mut b, mut c, mut d] = *st;
    macro_rules! four {
        ($($q:literal)*) => { $(
            step::<L, { 4 * $q }>(&mut a, &b, &c, &d, &m);
            step::<L, { 4 * $q + 1 }>(&mut d, &a, &b, &c, &m);
            step::<L, { 4 * $q + 2 }>(&mut c, &d, &a, &b, &m);
            step::<L, { 4 * $q + 3 }>(&mut b, &c, &d, &a, &m);
        )* };
    }
    four!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);
    for (s, v) in st.iter_mut().zip([a, b, c, d]) {
        for l in 0..L {
            s[l] = s[l].wrapping_add(v[l]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::Digest as _;
    use proptest::prelude::*;

    fn reference(data: &[u8]) -> [u8; 16] {
        md5::Md5::digest(data).into()
    }

    #[test]
    fn rfc_1321_test_suite() {
        let cases: [(&str, &str); 7] = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
            ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
            ("12345678901234567890123456789012345678901234567890123456789012345678901234567890", "57edf4a22be3c955ac49da2e2107b67a"),
        ];
        for (input, want) in cases {
            let mut s = Md5Stream::new();
            s.update(input.as_bytes());
            assert_eq!(hex::encode(s.finish()), want, "{input:?}");
        }
    }

    fn data(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]
        /// Any number of streams (1 to 40: every kernel width, lanes refilled as streams
        /// end), each fed in pieces of random sizes, agree with the reference.
        #[test]
        fn many_streams_in_random_pieces(lens in proptest::collection::vec(0usize..5000, 1..40), cuts in proptest::collection::vec(0usize..700, 1..8)) {
            let inputs: Vec<Vec<u8>> = lens.iter().enumerate().map(|(i, &n)| data(i as u64 + 1, n)).collect();
            let mut streams: Vec<Md5Stream> = inputs.iter().map(|_| Md5Stream::new()).collect();
            let mut pos = vec![0usize; inputs.len()];
            let mut round = 0;
            while pos.iter().zip(&inputs).any(|(p, d)| *p < d.len()) {
                let cut = cuts[round % cuts.len()] + round;
                round += 1;
                let mut jobs: Vec<(&mut Md5Stream, &[u8])> = Vec::new();
                for (i, s) in streams.iter_mut().enumerate() {
                    let end = (pos[i] + cut + i * 17).min(inputs[i].len());
                    jobs.push((s, &inputs[i][pos[i]..end]));
                    pos[i] = end;
                }
                leofs_test_simd(&mut jobs);
            }
            for (s, d) in streams.into_iter().zip(&inputs) {
                prop_assert_eq!(s.finish(), reference(d));
            }
        }
    }

    /// These tests run the baseline build of the lanes; the compiled-for-AVX copies are
    /// checked against `md-5` by the server's `md5pool` test (through `with_best_simd`) and by
    /// the `md5-lanes` benchmark at every width.
    fn leofs_test_simd(jobs: &mut [(&mut Md5Stream, &[u8])]) {
        // Both settings of the pair threshold: pairs in 4 lanes, or one stream at a time.
        let narrow_from = 2 + jobs.len() % 2;
        update_many(jobs, narrow_from, WIDE_FROM_AVX512);
    }

    #[test]
    fn lengths_around_block_boundaries() {
        for len in [55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000] {
            let d = data(len as u64, len);
            let mut s = Md5Stream::new();
            s.update(&d[..len / 3]);
            s.update(&d[len / 3..]);
            assert_eq!(s.len(), len as u64);
            assert_eq!(s.finish(), reference(&d), "len {len}");
        }
    }
}

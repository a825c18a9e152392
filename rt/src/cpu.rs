//! The CPU's vector units. Data-parallel code (multi-buffer hashing) is written once as plain
//! loops over lanes; [`with_best_simd`] compiles it again for the widest vector extension the
//! CPU has and picks that copy at run time, so one binary runs everywhere and still uses
//! AVX-512 where it exists. Calling code compiled for an extension is `unsafe` unless the
//! CPU has it, which is why the dispatch lives in this crate.

use std::sync::OnceLock;

/// The widest vector extension code may be compiled for on this CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Simd {
    /// AVX-512 F and VL: 16 × u32 lanes, rotates and three-input logic in one instruction.
    Avx512,
    /// AVX2: 8 × u32 lanes.
    Avx2,
    /// What the target guarantees (SSE2 on x86-64).
    Baseline,
}

impl Simd {
    pub fn as_str(self) -> &'static str {
        match self {
            Simd::Avx512 => "avx512",
            Simd::Avx2 => "avx2",
            Simd::Baseline => "baseline",
        }
    }
}

/// Detected once per process. `LEOFS_SIMD=baseline|avx2` lowers it (for tests and to compare).
pub fn simd() -> Simd {
    static LEVEL: OnceLock<Simd> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        let detected = detect();
        match std::env::var("LEOFS_SIMD").ok().as_deref() {
            Some("baseline") => Simd::Baseline,
            Some("avx2") if detected != Simd::Baseline => Simd::Avx2,
            _ => detected,
        }
    })
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Simd {
    if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512vl") {
        Simd::Avx512
    } else if std::arch::is_x86_feature_detected!("avx2") {
        Simd::Avx2
    } else {
        Simd::Baseline
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Simd {
    Simd::Baseline
}

/// Runs `f` compiled for the widest extension of [`simd`]. `f` and what it calls must be
/// `#[inline(always)]` for them to be compiled into that copy (a function that is not inlined
/// keeps the baseline code).
#[inline(always)]
pub fn with_best_simd<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        match simd() {
            // SAFETY: `simd()` returned Avx512 only after the CPU reported avx512f and
            // avx512vl (and avx2, which AVX-512 CPUs have), the features `avx512` enables.
            #[allow(unsafe_code)]
            Simd::Avx512 => unsafe { avx512(f) },
            // SAFETY: `simd()` returned Avx2 only after the CPU reported avx2.
            #[allow(unsafe_code)]
            Simd::Avx2 => unsafe { avx2(f) },
            Simd::Baseline => f(),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2")]
#[inline]
fn avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_runs_the_closure() {
        let lanes: [u32; 16] = std::array::from_fn(|i| i as u32);
        let out = with_best_simd(|| lanes.map(|x| x.rotate_left(7) ^ 3));
        assert_eq!(out, lanes.map(|x| x.rotate_left(7) ^ 3));
        assert!(["avx512", "avx2", "baseline"].contains(&simd().as_str()));
    }
}

//! The valid range of every run setting that sizes the work, in one place: command-line
//! flags, `config.toml`, policy tables and the view's live keys all check against these.

use std::fmt::Display;
use std::ops::RangeInclusive;

/// Samples per problem (the budget N).
pub const N: RangeInclusive<usize> = 1..=1024;
/// Beam width M.
pub const WIDTH: RangeInclusive<usize> = 1..=64;
/// Most steps per solution in tree search.
pub const DEPTH: RangeInclusive<u32> = 1..=200;
/// Requests in flight at once per server.
pub const CONCURRENCY: RangeInclusive<usize> = 1..=256;
/// Samples of one prompt in one request (`n`) on OpenAI-compatible servers.
pub const N_PER_REQUEST: RangeInclusive<usize> = 1..=128;
/// Parallel revision chains (each takes at least one sample of the budget N).
pub const CHAINS: RangeInclusive<usize> = 1..=1024;
/// Attempts per revision chain.
pub const REVISIONS: RangeInclusive<usize> = 1..=1024;
/// Greedy rollout steps before scoring (0 = plain beam search); never more than a depth.
pub const LOOKAHEAD: RangeInclusive<u32> = 0..=200;
/// Sampling temperature.
pub const TEMPERATURE: RangeInclusive<f32> = 0.0..=2.0;
/// Most tokens per candidate.
pub const MAX_TOKENS: RangeInclusive<u32> = 1..=131_072;
/// Tokens per group of the `confidence` verifier (DeepConf's sliding window).
pub const CONFIDENCE_WINDOW: RangeInclusive<u32> = 1..=4096;
/// The online cut-off of the `confidence` verifier: a mapped score in `[0, 1]`.
pub const CONFIDENCE_CUTOFF: RangeInclusive<f64> = 0.0..=1.0;
/// Adaptive-consistency's confidence: stop once P(majority stays) reaches it.
pub const CONFIDENCE: RangeInclusive<f64> = 0.5..=0.9999;
/// Adaptive-consistency's samples per batch (the statistic is checked after each batch).
pub const BATCH: RangeInclusive<usize> = 1..=64;
/// Particle filtering's weight temperature T (softmax of log weights / T).
pub const PARTICLE_TEMP: RangeInclusive<f64> = 0.05..=20.0;
/// Particle filtering's ESS threshold as a fraction of N (0 = never resample, 1 = every step).
pub const ESS_THRESHOLD: RangeInclusive<f64> = 0.0..=1.0;
/// Longest stall timeout in seconds (a day); it must also be more than 0.
pub const STALL_TIMEOUT_MAX_SECS: f64 = 86_400.0;

/// Whether `secs` is a usable stall timeout: finite, more than 0, at most a day.
pub fn stall_timeout_ok(secs: f64) -> bool {
    secs.is_finite() && secs > 0.0 && secs <= STALL_TIMEOUT_MAX_SECS
}

/// `Ok` when `value` lies in `range`, else `"KEY = VALUE is out of range (valid: A..=B)"`.
///
/// NaN is never in range.
pub fn check<T: PartialOrd + Display>(key: &str, value: T, range: &RangeInclusive<T>) -> Result<(), String> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(format!("{key} = {value} is out of range (valid: {}..={})", range.start(), range.end()))
    }
}

//! The arithmetic of particle filtering, pure and seeded: log weights from verifier scores,
//! normalised weights, the effective sample size, and systematic or multinomial resampling.
//!
//! - **Log weight** = logit of the score, ln(s / (1 − s)), with s clamped to
//!   [[`CLAMP`], 1 − [`CLAMP`]] so a score of exactly 0 or 1 stays finite (the reference code
//!   of Puri et al. 2025, its_hub `particle_gibbs.py` `_inv_sigmoid`, clips at 1e-7; we clip
//!   at 1e-6). A missing score is [`NEUTRAL`] (0.5), whose logit is 0.
//! - **Weights** = softmax(log weights / T), computed with the maximum subtracted first, so
//!   huge log weights never overflow. T = 1 is the paper's softmax; a small T sharpens the
//!   weights towards the best particle, a large one flattens them towards uniform.
//! - **ESS** = 1 / Σ w² over normalised weights: N for even weights, 1 when one particle
//!   holds all the weight.
//! - **Systematic resampling** draws one uniform u in [0, 1/N) and takes the N points
//!   u + j/N through the cumulative weights: low variance, and a particle with weight
//!   w gets ⌊N·w⌋ or ⌈N·w⌉ copies (so every particle with w ≥ 1/N survives).
//! - **Multinomial resampling** draws N independent indices by the weights (what the
//!   reference code does with `random.choices`).
//!
//! Randomness comes from [`Rng`], a splitmix64 stream seeded from the run's seed and the
//! round, so the same seed resamples the same way on every machine.

use crate::hash::{mix64, GOLDEN};

/// Scores are clamped to [CLAMP, 1 − CLAMP] before the logit.
pub const CLAMP: f64 = 1e-6;

/// The score of a particle with no scored step: no evidence for or against it.
pub const NEUTRAL: f64 = 0.5;

/// How resampling draws the new population.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Systematic,
    Multinomial,
}

/// A small deterministic random stream (splitmix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// The stream for `round` of a run with `seed`.
    pub fn for_round(seed: u64, round: u32) -> Self {
        Rng(mix64(seed ^ mix64(u64::from(round).wrapping_add(GOLDEN))))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix64(self.0)
    }

    /// A uniform number in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The log weight of a particle whose (aggregated) score is `score`: the logit of the clamped
/// score, 0 when there is no score. NaN counts as no score.
pub fn log_weight(score: Option<f64>) -> f64 {
    let s = score.filter(|s| !s.is_nan()).unwrap_or(NEUTRAL).clamp(CLAMP, 1.0 - CLAMP);
    (s / (1.0 - s)).ln()
}

/// softmax(log_weights / temperature): non-negative weights that sum to 1. An empty input
/// gives an empty output; a temperature that is not a positive finite number counts as 1.
pub fn normalise(log_weights: &[f64], temperature: f64) -> Vec<f64> {
    if log_weights.is_empty() {
        return Vec::new();
    }
    let t = if temperature.is_finite() && temperature > 0.0 { temperature } else { 1.0 };
    let scaled: Vec<f64> = log_weights.iter().map(|l| if l.is_finite() { l / t } else { 0.0 }).collect();
    let max = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = scaled.iter().map(|l| (l - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}

/// The effective sample size 1 / Σ w² of normalised weights (0 for none).
pub fn ess(weights: &[f64]) -> f64 {
    let sq: f64 = weights.iter().map(|w| w * w).sum();
    if sq > 0.0 {
        1.0 / sq
    } else {
        0.0
    }
}

/// Whether a round resamples: always at `threshold` ≥ 1, never at 0 or below, else when the
/// ESS falls below `threshold` × N.
pub fn should_resample(ess: f64, n: usize, threshold: f64) -> bool {
    if threshold >= 1.0 {
        true
    } else if threshold <= 0.0 {
        false
    } else {
        ess < threshold * n as f64
    }
}

/// Draw `n` ancestor indices by `weights` (normalised), in ascending order.
pub fn resample(weights: &[f64], n: usize, scheme: Scheme, rng: &mut Rng) -> Vec<usize> {
    if weights.is_empty() || n == 0 {
        return Vec::new();
    }
    let mut cum = Vec::with_capacity(weights.len());
    let mut acc = 0.0;
    for w in weights {
        acc += w.max(0.0);
        cum.push(acc);
    }
    let total = acc;
    if total <= 0.0 || !total.is_finite() {
        // No usable weight: keep the particles in turn.
        let mut kept: Vec<usize> = (0..n).map(|j| j % weights.len()).collect();
        kept.sort_unstable();
        return kept;
    }
    let last = weights.len() - 1;
    // The index whose cumulative interval holds `x` (x in [0, total)).
    let find = |x: f64| cum.partition_point(|c| *c <= x).min(last);
    let mut out: Vec<usize> = match scheme {
        Scheme::Systematic => {
            let step = total / n as f64;
            let u = rng.next_f64() * step;
            (0..n).map(|j| find(u + j as f64 * step)).collect()
        }
        Scheme::Multinomial => (0..n).map(|_| find(rng.next_f64() * total)).collect(),
    };
    out.sort_unstable();
    out
}

/// How many times each of `len` particles was drawn.
pub fn counts(indices: &[usize], len: usize) -> Vec<usize> {
    let mut c = vec![0; len];
    for &i in indices {
        if i < len {
            c[i] += 1;
        }
    }
    c
}

/// Where the new population comes from, slot by slot, for a population of `len` particles
/// resampled to `n`: a particle drawn at least once keeps its own slot; the slots of particles
/// not drawn take the extra copies, in slot order (so "slot 3 now holds a copy of particle 1"
/// reads as a strong particle copied over a weak one); copies beyond `len` slots are appended.
/// Returns `ancestor[slot]` for the `n` new slots (`n` ≥ 1), or fewer when `len` is 0.
pub fn assign(indices: &[usize], len: usize, n: usize) -> Vec<usize> {
    let c = counts(indices, len);
    let mut extra: Vec<usize> = Vec::new();
    for (i, k) in c.iter().enumerate() {
        extra.extend(std::iter::repeat_n(i, k.saturating_sub(1)));
    }
    let mut extra = extra.into_iter();
    let mut out = Vec::with_capacity(n);
    for (i, k) in c.iter().enumerate() {
        if out.len() == n {
            break;
        }
        if *k > 0 {
            out.push(i);
        } else if let Some(a) = extra.next() {
            out.push(a);
        }
    }
    // A population that grew (fewer particles than N): the rest of the copies are new slots.
    out.extend(extra.take(n.saturating_sub(out.len())));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{any, prop_assert, prop_assert_eq, proptest, Strategy};

    #[test]
    fn logit_is_clamped_and_neutral_without_a_score() {
        assert_eq!(log_weight(None), 0.0);
        assert_eq!(log_weight(Some(0.5)), 0.0);
        assert!((log_weight(Some(0.75)) - 3f64.ln()).abs() < 1e-12);
        let top = log_weight(Some(1.0));
        assert!(top.is_finite() && (top - ((1.0 - CLAMP) / CLAMP).ln()).abs() < 1e-6);
        assert!((log_weight(Some(0.0)) + top).abs() < 1e-6);
        assert_eq!(log_weight(Some(f64::NAN)), 0.0);
    }

    #[test]
    fn temperature_sharpens_and_flattens() {
        let l = [log_weight(Some(0.9)), log_weight(Some(0.5))];
        let one = normalise(&l, 1.0);
        // T = 1: the odds 9 : 1.
        assert!((one[0] - 0.9).abs() < 1e-12, "{one:?}");
        let sharp = normalise(&l, 0.1);
        let flat = normalise(&l, 20.0);
        assert!(sharp[0] > one[0] && flat[0] < one[0] && flat[0] > 0.5);
        assert_eq!(normalise(&[], 1.0), Vec::<f64>::new());
    }

    #[test]
    fn ess_of_even_and_degenerate_weights() {
        assert!((ess(&[0.25; 4]) - 4.0).abs() < 1e-12);
        assert!((ess(&[1.0, 0.0, 0.0]) - 1.0).abs() < 1e-12);
        assert!(should_resample(4.0, 4, 1.0), "threshold 1 resamples even at full ESS");
        assert!(!should_resample(4.0, 4, 0.5));
        assert!(should_resample(1.5, 4, 0.5));
        assert!(!should_resample(1.0, 4, 0.0), "threshold 0 never resamples");
    }

    #[test]
    fn systematic_with_a_fixed_seed_is_exact() {
        let w = [0.7, 0.1, 0.1, 0.1];
        let mut rng = Rng::for_round(7, 1);
        let a = resample(&w, 4, Scheme::Systematic, &mut rng);
        let mut rng = Rng::for_round(7, 1);
        assert_eq!(resample(&w, 4, Scheme::Systematic, &mut rng), a, "the same seed, the same draw");
        // 0.7·4 = 2.8: particle 0 gets 2 or 3 copies, whatever u is.
        let zeros = a.iter().filter(|i| **i == 0).count();
        assert!((2..=3).contains(&zeros), "{a:?}");
    }

    #[test]
    fn assign_copies_strong_over_weak() {
        // Particle 0 drawn three times, 2 once; 1 and 3 dropped.
        assert_eq!(assign(&[0, 0, 0, 2], 4, 4), vec![0, 0, 2, 0]);
        // A population of 2 resampled to 4 grows by copies.
        assert_eq!(assign(&[0, 0, 1, 1], 2, 4), vec![0, 1, 0, 1]);
        assert_eq!(assign(&[], 0, 4), Vec::<usize>::new());
    }

    fn weights_strategy() -> impl Strategy<Value = Vec<f64>> {
        proptest::collection::vec(0.0f64..=1.0, 1..40)
            .prop_map(|s| normalise(&s.iter().map(|x| log_weight(Some(*x))).collect::<Vec<_>>(), 1.0))
    }

    proptest! {
        #[test]
        fn weights_sum_to_one(scores in proptest::collection::vec(proptest::option::of(0.0f64..=1.0), 1..50),
                              t in 0.05f64..=20.0) {
            let l: Vec<f64> = scores.iter().map(|s| log_weight(*s)).collect();
            let w = normalise(&l, t);
            prop_assert_eq!(w.len(), l.len());
            prop_assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            prop_assert!(w.iter().all(|x| *x >= 0.0 && x.is_finite()));
            let e = ess(&w);
            prop_assert!(e >= 1.0 - 1e-9 && e <= w.len() as f64 + 1e-9);
        }

        #[test]
        fn resampling_draws_n_valid_indices(w in weights_strategy(), n in 1usize..64, seed in any::<u64>(),
                                            multi in any::<bool>()) {
            let scheme = if multi { Scheme::Multinomial } else { Scheme::Systematic };
            let a = resample(&w, n, scheme, &mut Rng::for_round(seed, 3));
            prop_assert_eq!(a.len(), n);
            prop_assert!(a.iter().all(|i| *i < w.len()));
            prop_assert!(a.windows(2).all(|p| p[0] <= p[1]));
            let slots = assign(&a, w.len(), n);
            prop_assert_eq!(slots.len(), n);
            prop_assert_eq!(counts(&slots, w.len()), counts(&a, w.len()));
        }

        #[test]
        fn systematic_keeps_every_heavy_particle(w in weights_strategy(), seed in any::<u64>()) {
            let n = w.len();
            let a = resample(&w, n, Scheme::Systematic, &mut Rng::for_round(seed, 0));
            let c = counts(&a, n);
            for (i, wi) in w.iter().enumerate() {
                let expect = wi * n as f64;
                // Floor or ceiling of N·w (a hair of slack for rounding at the boundaries).
                prop_assert!((c[i] as f64) >= (expect - 1e-9).floor() && (c[i] as f64) <= (expect + 1e-9).ceil(),
                    "particle {} weight {} copies {}", i, wi, c[i]);
                if *wi >= 1.0 / n as f64 + 1e-12 {
                    prop_assert!(c[i] >= 1);
                }
            }
        }

        #[test]
        fn a_particle_that_keeps_its_slot_was_drawn(w in weights_strategy(), seed in any::<u64>()) {
            let n = w.len();
            let a = resample(&w, n, Scheme::Multinomial, &mut Rng::for_round(seed, 9));
            let c = counts(&a, n);
            let slots = assign(&a, n, n);
            for (slot, anc) in slots.iter().enumerate() {
                // A drawn particle stays in its own slot; a dropped slot holds another's copy.
                if c[slot] > 0 { prop_assert_eq!(*anc, slot); } else { prop_assert!(c[*anc] > 1); }
            }
        }
    }
}

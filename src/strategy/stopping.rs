//! The stopping statistic of adaptive-consistency (Aggarwal et al. 2023, "Let's Sample Step
//! by Step: Adaptive-Consistency"): pure arithmetic, no model, no events.
//!
//! With `v1` and `v2` the votes of the most frequent and the second most frequent answer,
//! the paper's default ("Beta") criterion is the posterior probability that the leading
//! answer is really more likely than the runner-up, when the two answers' share is modelled
//! as X ~ Beta(v1 + 1, v2 + 1) (a uniform prior):
//!
//! ```text
//! P(p1 > p2) = P(X > 1/2) = ∫_{1/2}^{1} x^v1 (1−x)^v2 dx / ∫_0^1 x^v1 (1−x)^v2 dx
//! ```
//!
//! The authors' reference code (`adaptive_consistency/stopping_criterias.py`,
//! `BetaStoppingCriteria.should_stop`, default threshold 0.95) computes exactly this ratio
//! with `scipy.integrate.quad` over `x**a * (1-x)**b`, where `a, b` are the counts of
//! `Counter(answers).most_common(2)` (`b = 0` when only one answer was seen), and stops when
//! it is `>= conf_thresh`. Here the integral is computed exactly instead: for whole
//! numbers the regularised incomplete Beta function is a binomial tail,
//!
//! ```text
//! P(X > 1/2) = P(Binomial(v1 + v2 + 1, 1/2) ≤ v1),
//! ```
//!
//! summed in log space (so counts in the thousands neither overflow nor lose precision),
//! always over the smaller tail and complemented when needed, so values near 1 keep their
//! digits and `P(v1, v2) + P(v2, v1) = 1`.

use serde::{Deserialize, Serialize};

/// `P(X > 1/2)` for `X ~ Beta(v1 + 1, v2 + 1)`: the probability that the answer with `v1`
/// votes is more likely than the one with `v2`. In \[0, 1\]; 1/2 on a tie; increasing in
/// `v1`, decreasing in `v2`.
pub fn beta_majority_prob(v1: u64, v2: u64) -> f64 {
    use std::cmp::Ordering;
    match v1.cmp(&v2) {
        Ordering::Equal => 0.5,
        // The smaller tail is P(Bin ≤ v1) itself.
        Ordering::Less => binomial_half_lower_tail(v1 + v2 + 1, v1),
        // P(Bin ≤ v1) = 1 − P(Bin ≥ v1 + 1) = 1 − P(Bin ≤ v2) by the symmetry of p = 1/2.
        Ordering::Greater => 1.0 - binomial_half_lower_tail(v1 + v2 + 1, v2),
    }
}

/// `P(Binomial(n, 1/2) ≤ k)` for `k < n / 2` (the terms grow with `i` up to `k`), in log space:
/// `ln C(n, i)` is built up term by term and the sum is taken relative to its largest term.
fn binomial_half_lower_tail(n: u64, k: u64) -> f64 {
    debug_assert!(2 * k < n, "the lower tail below the middle");
    let n_f = n as f64;
    // ln C(n, i) for i = 0..=k.
    let mut log_c = 0.0f64;
    let mut logs = Vec::with_capacity(k as usize + 1);
    logs.push(0.0);
    for i in 0..k {
        log_c += ((n - i) as f64).ln() - ((i + 1) as f64).ln();
        logs.push(log_c);
    }
    // The largest term is the last one (i = k ≤ n/2).
    let top = *logs.last().unwrap_or(&0.0);
    let sum: f64 = logs.iter().map(|l| (l - top).exp()).sum();
    let log_p = top + sum.ln() - n_f * std::f64::consts::LN_2;
    log_p.exp().clamp(0.0, 1.0)
}

/// The stopping decision after some samples: the statistic and whether it says stop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// `P(p1 > p2)` ([`beta_majority_prob`]).
    pub stat: f64,
    /// The statistic reached the confidence, with a strict leader.
    pub stop: bool,
}

/// Whether to stop with `v1` votes for the leading answer and `v2` for the runner-up, at
/// `confidence`: the statistic must reach it (`>=`, as the reference code compares), and
/// there must be a strict leader with at least one vote — a tie (the statistic is then 1/2)
/// never stops, whatever the confidence, and neither does a draw with no answer at all.
pub fn verdict(v1: u64, v2: u64, confidence: f64) -> Verdict {
    let stat = beta_majority_prob(v1, v2);
    Verdict { stat, stop: v1 > v2 && stat >= confidence }
}

/// The fewest samples, all agreeing, after which `confidence` stops sampling: the least `k`
/// with `1 − 2^−(k+1) ≥ confidence` (4 at 0.95, 6 at 0.99); for the header and the docs.
pub fn fewest_to_stop(confidence: f64) -> u64 {
    (1..=64u64).find(|&k| verdict(k, 0, confidence).stop).unwrap_or(64)
}

/// The confidences the view's live keys step through, within [`crate::spec::limits::CONFIDENCE`].
pub const CONFIDENCE_STEPS: [f64; 9] = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999];

/// The next confidence up (or down) the ladder from `c`; the ends stay where they are.
pub fn step_confidence(c: f64, up: bool) -> f64 {
    let steps = CONFIDENCE_STEPS;
    if up {
        steps.iter().copied().find(|s| *s > c + 1e-12).unwrap_or(steps[steps.len() - 1])
    } else {
        steps.iter().rev().copied().find(|s| *s < c - 1e-12).unwrap_or(steps[0])
    }
}

/// What the stopping checks of a run showed, folded from its `Stopping` events (the run
/// tree keeps one; `ttc run --json` prints it as `stopping`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoppingView {
    /// The sample count at which the statistic reached the confidence; `null` while sampling
    /// and when N was reached first.
    pub stopped_at: Option<u32>,
    /// Samples drawn at the last check.
    pub samples: u32,
    /// The most samples the run may draw (N in force at the last check).
    pub max: u32,
    /// The statistic at the last check.
    pub stat: f64,
    /// The confidence in force at the last check.
    pub confidence: f64,
    /// The answers with their votes at the last check, the leader first.
    pub votes: Vec<(String, u32)>,
    /// `(samples, statistic)` at every check, in order.
    pub history: Vec<(u32, f64)>,
}

impl StoppingView {
    /// Fold one check in.
    pub fn fold(
        &mut self,
        samples: u32,
        max: u32,
        votes: &[(String, u32)],
        stat: f64,
        confidence: f64,
        stopped: bool,
    ) {
        self.samples = samples;
        self.max = max;
        self.stat = stat;
        self.confidence = confidence;
        self.votes = votes.to_vec();
        self.history.push((samples, stat));
        if stopped {
            self.stopped_at = Some(samples);
        }
    }
}

impl StoppingView {
    /// Where sampling stands, in words: "stopped at 7 of 64, P=0.965 ≥ 0.95",
    /// "sampling 5 of 64, P=0.81 < 0.95", or, once over, "reached N = 16, P=0.60 < 0.95".
    pub fn status(&self, finished: bool) -> String {
        let p = format!("P={:.3}", self.stat);
        match self.stopped_at {
            Some(at) => format!("stopped at {at} of {}, {p} ≥ {}", self.max, self.confidence),
            None if finished => format!("reached N = {}, {p} < {}", self.samples, self.confidence),
            None => format!("sampling {} of {}, {p} < {}", self.samples, self.max, self.confidence),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `sum(comb(n, i) for i in range(a + 1)) / 2**n` with n = a + b + 1, computed exactly in
    /// Python with `fractions.Fraction` and `math.comb`; three of them were checked again by a
    /// midpoint-rule integral of `x**a * (1-x)**b` (agreeing to 1e-10).
    const REFERENCE: [(u64, u64, f64); 15] = [
        (0, 0, 0.5),
        (1, 0, 0.75),
        (2, 0, 0.875),
        (3, 0, 0.9375),
        (4, 0, 0.96875),
        (2, 1, 0.6875),
        (3, 1, 0.8125),
        (5, 2, 0.85546875),
        (4, 3, 0.63671875),
        (10, 7, 0.7596588134765625),
        (30, 20, 0.9196101990940058),
        (100, 80, 0.9315474693285972),
        (400, 350, 0.9659993258948585),
        (0, 5, 0.015625),
        (1, 3, 0.1875),
    ];

    #[test]
    fn matches_exact_values_computed_independently() {
        for (a, b, want) in REFERENCE {
            let got = beta_majority_prob(a, b);
            assert!((got - want).abs() < 1e-12, "P({a}, {b}) = {got}, want {want}");
        }
    }

    #[test]
    fn the_reference_thresholds() {
        // k agreeing answers: 1 − 2^−(k+1); the paper's 0.95 needs 4.
        assert_eq!(fewest_to_stop(0.95), 4);
        assert_eq!(fewest_to_stop(0.99), 6);
        assert_eq!(fewest_to_stop(0.5), 1);
        assert!(!verdict(3, 0, 0.95).stop && verdict(4, 0, 0.95).stop);
        // A tie never stops, not even at the lowest confidence.
        assert!(!verdict(0, 0, 0.5).stop && !verdict(7, 7, 0.5).stop);
        assert_eq!(verdict(7, 7, 0.5).stat, 0.5);
    }

    #[test]
    fn large_counts_stay_finite_and_sharp() {
        let p = beta_majority_prob(60_000, 59_000);
        assert!(p.is_finite() && p > 0.99 && p < 1.0, "{p}");
        assert_eq!(beta_majority_prob(100_000, 0), 1.0);
        assert_eq!(beta_majority_prob(0, 100_000), 0.0);
        let q = beta_majority_prob(50_000, 50_001);
        assert!(q > 0.49 && q < 0.5, "{q}");
    }

    #[test]
    fn the_live_ladder_stays_in_range() {
        assert_eq!(step_confidence(0.95, true), 0.99);
        assert_eq!(step_confidence(0.95, false), 0.9);
        assert_eq!(step_confidence(0.9999, true), 0.9999);
        assert_eq!(step_confidence(0.5, false), 0.5);
        assert_eq!(step_confidence(0.93, true), 0.95, "off the ladder: the next step");
        let r = crate::spec::limits::CONFIDENCE;
        assert!(CONFIDENCE_STEPS.iter().all(|c| r.contains(c)));
        assert_eq!((CONFIDENCE_STEPS[0], CONFIDENCE_STEPS[8]), (*r.start(), *r.end()));
    }

    proptest! {
        #[test]
        fn in_unit_interval_and_symmetric(a in 0u64..3000, b in 0u64..3000) {
            let p = beta_majority_prob(a, b);
            prop_assert!((0.0..=1.0).contains(&p));
            prop_assert!((p + beta_majority_prob(b, a) - 1.0).abs() < 1e-12);
            prop_assert_eq!(p > 0.5, a > b);
        }

        #[test]
        fn monotone_in_the_leaders_votes(a in 0u64..2000, b in 0u64..2000) {
            prop_assert!(beta_majority_prob(a + 1, b) >= beta_majority_prob(a, b));
            prop_assert!(beta_majority_prob(a, b + 1) <= beta_majority_prob(a, b));
        }

        #[test]
        fn stopping_needs_a_strict_leader(a in 0u64..200, b in 0u64..200, c in 0.5f64..0.9999) {
            let v = verdict(a, b, c);
            prop_assert!(!v.stop || (a > b && v.stat >= c));
        }
    }
}

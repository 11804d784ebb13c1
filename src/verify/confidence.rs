//! The `confidence` verifier: DeepConf (Fu et al. 2025, "Deep Think with Confidence",
//! arXiv 2508.15260), scored from the policy's own token log-probabilities, with no extra
//! model call.
//!
//! - **Token confidence** `C_i = −(1/k) Σ_{j=1..k} log P_i(j)` over the top-k alternatives
//!   the server returned for token `i` (facebookresearch/deepconf `helper.py`,
//!   `compute_confidence`: the mean of the alternatives' log-probabilities, negated). A high
//!   value means the model put its mass on one token and the rest far below it.
//! - **Group confidence**: the mean of `C_i` over a sliding window of `window` tokens
//!   (`compute_least_grouped`: every full window; a trace shorter than the window is one
//!   group, the mean of all its tokens). DeepConf uses 2048 tokens for reasoning traces of
//!   10–30 thousand tokens (about a tenth of a trace); ttc's solutions are a few hundred
//!   tokens in steps of 10–80, so the default is [`DEFAULT_WINDOW`] = 32 tokens: about a
//!   step, long enough to smooth one unsure token, short enough that one bad step shows.
//!   `--confidence-window` sets it.
//! - **A step's score** is its lowest group: the lowest mean over the windows that *end* in
//!   the step (they may reach back into earlier steps, so a short step still has a whole
//!   window). Every window of a solution ends in exactly one step, so the `min` aggregation
//!   of the step scores is DeepConf's **lowest group confidence** of the solution, which is
//!   why `min` is this verifier's default aggregation. One difference: while the solution so
//!   far is shorter than the window, the step's group is the mean over everything so far
//!   (DeepConf's one group for a short trace), and that early group stays among the
//!   solution's groups after it grows past the window.
//!
//! **Mapping to `[0, 1]`.** With k alternatives whose probabilities sum to at most 1, the
//! sum of their log-probabilities is largest when all k are equal (`1/k` each), so
//! `C ≥ ln k`, with equality when the model cannot tell its top k tokens apart. The score is
//! `1 − ln k / C`: 0 at that floor (a coin toss among k), rising towards 1 as the model
//! grows certain (C → ∞), and strictly increasing in C, so the lowest group keeps its place.
//! Typical values with k = 10: a token taken at p ≈ 0.99 scores about 0.8, one at p ≈ 0.5
//! about 0.3. `k` is the number of alternatives asked for ([`TOP_K`]); a token that came
//! with fewer can fall below `ln k`, which clamps to 0.
//!
//! **Hostile values.** A log-probability that is NaN is dropped; one above 0 (a probability
//! above 1, or rounding) counts as 0; −∞ and anything below [`LOGPROB_FLOOR`] count as the
//! floor, so one impossible alternative cannot make a window infinitely confident. A token
//! with no usable alternative has no confidence and is left out of every window.

use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::{ScoreRequest, StepDetail, StepScore, Usage, Verifier, VerifyError};
use crate::model::{TokenLogprob, TopLogprob};

/// Alternatives asked for each generated token (Ollama allows up to 20; DeepConf's own runs
/// ask vLLM for 20). Ten keeps memory at a few hundred bytes a token and leaves `ln k`
/// (2.30) well clear of 0, so the mapping to `[0, 1]` spreads.
pub const TOP_K: u8 = 10;
/// Tokens per group by default (see the module comment).
pub const DEFAULT_WINDOW: u32 = crate::spec::DEFAULT_CONFIDENCE_WINDOW;
/// The lowest log-probability counted: −∞ or a huge negative value from a server counts as this.
pub const LOGPROB_FLOOR: f64 = -100.0;
/// Why every step is unscored when the policy's stream carried no log-probabilities.
pub const NO_LOGPROBS: &str = "no token log-probabilities from this server (Ollama ≥ 0.12.11 has them)";

/// One step's tokens with their log-probabilities, shared without copying.
pub type StepLogprobs = Arc<[TokenLogprob]>;

/// What a verifier needs of a token: its log-probability and its alternatives' ones, with the
/// token texts dropped (they are not read, and they would cost an allocation each).
pub fn compact(t: TokenLogprob) -> TokenLogprob {
    TokenLogprob {
        token: String::new(),
        logprob: t.logprob,
        top_logprobs: t
            .top_logprobs
            .into_iter()
            .map(|a| TopLogprob { token: String::new(), logprob: a.logprob })
            .collect(),
    }
}

/// A log-probability as counted: NaN → `None`, above 0 → 0, below the floor (−∞) → the floor.
fn clean(lp: f64) -> Option<f64> {
    if lp.is_nan() {
        None
    } else {
        Some(lp.clamp(LOGPROB_FLOOR, 0.0))
    }
}

/// `C_i`: minus the mean log-probability of the token's top alternatives; `None` when it has
/// no usable alternative.
pub fn token_confidence(t: &TokenLogprob) -> Option<f64> {
    let (sum, n) = t
        .top_logprobs
        .iter()
        .filter_map(|a| clean(a.logprob))
        .fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| -sum / n as f64)
}

/// Every group confidence of a token stream: the mean of each full window of `window`
/// tokens, or the mean of all of them when there are fewer (empty for no tokens).
pub fn group_confidences(confs: &[f64], window: usize) -> Vec<f64> {
    let w = window.max(1);
    if confs.is_empty() {
        return Vec::new();
    }
    if confs.len() < w {
        return vec![confs.iter().sum::<f64>() / confs.len() as f64];
    }
    confs.windows(w).map(|g| g.iter().sum::<f64>() / w as f64).collect()
}

/// The lowest group confidence of a token stream (DeepConf's trace score), `None` for no tokens.
pub fn lowest_group(confs: &[f64], window: usize) -> Option<f64> {
    group_confidences(confs, window).into_iter().reduce(f64::min)
}

/// A confidence as a score in `[0, 1]`: `1 − ln k / C` (see the module comment); increasing in `C`.
pub fn to_score(confidence: f64, k: usize) -> f64 {
    let floor = (k.max(2) as f64).ln();
    if confidence.is_nan() || confidence <= floor {
        return 0.0;
    }
    (1.0 - floor / confidence).clamp(0.0, 1.0)
}

/// The confidences of every step's tokens, step by step (tokens with no usable alternative left out).
fn step_confidences(steps: &[StepLogprobs]) -> Vec<Vec<f64>> {
    steps.iter().map(|s| s.iter().filter_map(token_confidence).collect()).collect()
}

/// One step's lowest group: the groups of windows ending in step `j` of `per_step`
/// (see the module comment); `None` when step `j` has no token with a confidence.
pub fn step_lowest_group(per_step: &[Vec<f64>], j: usize, window: usize) -> Option<f64> {
    let w = window.max(1);
    let own = per_step.get(j)?;
    if own.is_empty() {
        return None;
    }
    let before: usize = per_step[..j].iter().map(Vec::len).sum();
    let upto: Vec<f64> = per_step[..=j].iter().flatten().copied().collect();
    if upto.len() < w {
        return Some(upto.iter().sum::<f64>() / upto.len() as f64);
    }
    // Prefix sums: the window ending at token `e` is `upto[e + 1 - w ..= e]`.
    let mut prefix = Vec::with_capacity(upto.len() + 1);
    prefix.push(0.0);
    for c in &upto {
        prefix.push(prefix.last().copied().unwrap_or(0.0) + c);
    }
    (before.max(w - 1)..upto.len()).map(|e| (prefix[e + 1] - prefix[e + 1 - w]) / w as f64).reduce(f64::min)
}

/// Watches a candidate's token confidences as they stream: DeepConf's online mode, which stops a
/// trace once the group of its last `window` tokens falls below a threshold.
#[derive(Debug, Clone)]
pub struct OnlineCutoff {
    window: usize,
    k: usize,
    /// The lowest mapped score a full window may have.
    pub cutoff: f64,
    recent: std::collections::VecDeque<f64>,
    sum: f64,
}

impl OnlineCutoff {
    /// A watch over windows of `window` tokens with `k` alternatives each.
    pub fn new(window: usize, k: usize, cutoff: f64) -> Self {
        Self { window: window.max(1), k, cutoff, recent: Default::default(), sum: 0.0 }
    }

    /// Add one token; returns the window's mapped score when a full window falls below the cutoff.
    pub fn push(&mut self, t: &TokenLogprob) -> Option<f64> {
        let c = token_confidence(t)?;
        self.recent.push_back(c);
        self.sum += c;
        if self.recent.len() > self.window {
            self.sum -= self.recent.pop_front().unwrap_or(0.0);
        }
        if self.recent.len() < self.window {
            return None;
        }
        // Summed afresh: a running sum drifts over thousands of tokens.
        let mean = self.recent.iter().sum::<f64>() / self.window as f64;
        let score = to_score(mean, self.k);
        (score < self.cutoff).then_some(score)
    }
}

/// The reason a cut-off candidate shows: "cut off: confidence 0.21 < 0.30".
pub fn cutoff_reason(score: f64, cutoff: f64) -> String {
    format!("cut off: confidence {score:.2} < {cutoff:.2}")
}

/// The `confidence` verifier (see the module comment).
pub struct ConfidenceVerifier {
    window: usize,
    k: usize,
    /// Whether the policy's backend can send log-probabilities at all (for the name only).
    backend_has_logprobs: bool,
}

impl ConfidenceVerifier {
    /// A verifier over windows of `window` tokens, asking for [`TOP_K`] alternatives.
    pub fn new(window: u32, backend_has_logprobs: bool) -> Self {
        Self { window: window.max(1) as usize, k: TOP_K as usize, backend_has_logprobs }
    }

    /// Score steps `start..` of `steps` from their tokens.
    pub fn score_steps(&self, steps: &[StepLogprobs], n_steps: usize, start: usize) -> Vec<StepScore> {
        let steps = &steps[..steps.len().min(n_steps)];
        let per_step = step_confidences(steps);
        let any_token = steps.iter().any(|s| !s.is_empty());
        (start.min(n_steps)..n_steps)
            .map(|j| {
                let tokens = steps.get(j).map_or(0, |s| s.len());
                if !any_token {
                    return StepScore::unscored(NO_LOGPROBS, StepDetail::None, Usage::default());
                }
                match step_lowest_group(&per_step, j, self.window) {
                    Some(lowest) => {
                        let own = &per_step[j];
                        let mean = own.iter().sum::<f64>() / own.len() as f64;
                        let detail = StepDetail::Confidence {
                            tokens: tokens as u32,
                            lowest_group: lowest,
                            mean,
                            window: self.window as u32,
                            k: self.k as u32,
                        };
                        StepScore::scored(to_score(lowest, self.k), detail, Usage::default())
                    }
                    None if tokens == 0 => StepScore::unscored(
                        "no tokens of this step carry log-probabilities",
                        StepDetail::None,
                        Usage::default(),
                    ),
                    None => StepScore::unscored(
                        "no usable log-probability among this step's tokens (NaN from the server)",
                        StepDetail::None,
                        Usage::default(),
                    ),
                }
            })
            .collect()
    }
}

#[async_trait]
impl Verifier for ConfidenceVerifier {
    fn name(&self) -> String {
        if self.backend_has_logprobs {
            format!("confidence (lowest group of {} tokens, top-{})", self.window, self.k)
        } else {
            format!("confidence: {NO_LOGPROBS}; majority vote")
        }
    }

    /// No model call: the scores come from what generation already returned.
    fn counts_calls(&self) -> bool {
        false
    }

    fn top_logprobs(&self) -> u8 {
        self.k as u8
    }

    async fn score(
        &self,
        req: ScoreRequest<'_>,
        _cancel: CancellationToken,
    ) -> Result<Vec<StepScore>, VerifyError> {
        let empty: &[StepLogprobs] = &[];
        Ok(self.score_steps(req.logprobs.unwrap_or(empty), req.steps.len(), req.start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::Problem;
    use proptest::prelude::*;

    /// A token whose alternatives have these log-probabilities.
    fn tok(alts: &[f64]) -> TokenLogprob {
        TokenLogprob {
            token: "t".into(),
            logprob: alts.first().copied().unwrap_or(0.0),
            top_logprobs: alts.iter().map(|&l| TopLogprob { token: "a".into(), logprob: l }).collect(),
        }
    }

    /// A step of tokens with these exact confidences (one alternative at −C each).
    fn step(confs: &[f64]) -> StepLogprobs {
        confs.iter().map(|c| tok(&[-c])).collect::<Vec<_>>().into()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn token_confidence_is_minus_the_mean_of_the_alternatives() {
        assert!(close(token_confidence(&tok(&[-0.1, -2.0, -3.0])).unwrap(), 5.1 / 3.0));
        assert_eq!(token_confidence(&tok(&[])), None);
        // Uniform over k: the floor ln k, which scores 0.
        let k = 10;
        let uniform = tok(&vec![-(k as f64).ln(); k]);
        assert!(close(token_confidence(&uniform).unwrap(), (k as f64).ln()));
        assert!(to_score(token_confidence(&uniform).unwrap(), k) < 1e-12);
    }

    #[test]
    fn groups_are_full_windows_or_one_short_trace() {
        let c = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(group_confidences(&c, 2), vec![1.5, 2.5, 3.5]);
        assert_eq!(group_confidences(&c, 4), vec![2.5]);
        assert_eq!(group_confidences(&c, 5), vec![2.5]);
        assert_eq!(group_confidences(&c, 1), c.to_vec());
        assert_eq!(group_confidences(&c, 0), c.to_vec(), "a window of 0 counts as 1");
        assert!(group_confidences(&[], 3).is_empty());
        assert_eq!(lowest_group(&[5.0, 1.0, 9.0, 9.0], 2), Some(3.0));
        assert_eq!(lowest_group(&[], 2), None);
    }

    #[test]
    fn a_step_scores_its_lowest_window_reaching_back_into_earlier_steps() {
        let steps = [step(&[4.0, 4.0]), step(&[1.0, 7.0])];
        let per = step_confidences(&steps);
        // Window 2: step 0 has the window (4, 4); step 1 the windows (4, 1) and (1, 7).
        assert_eq!(step_lowest_group(&per, 0, 2), Some(4.0));
        assert_eq!(step_lowest_group(&per, 1, 2), Some(2.5));
        // Window 3: step 0 is shorter than a window, so its group is everything so far.
        assert_eq!(step_lowest_group(&per, 0, 3), Some(4.0));
        assert_eq!(step_lowest_group(&per, 1, 3), Some(3.0));
        // Window 9: the whole solution is one group, as DeepConf takes a short trace.
        assert_eq!(step_lowest_group(&per, 1, 9), Some(4.0));
        let v = ConfidenceVerifier::new(2, true);
        let out = v.score_steps(&steps, 2, 0);
        assert!(close(out[0].score.unwrap(), 1.0 - 10f64.ln() / 4.0));
        assert!(close(out[1].score.unwrap(), 1.0 - 10f64.ln() / 2.5));
        match &out[1].detail {
            StepDetail::Confidence { tokens, lowest_group, mean, window, k } => {
                assert_eq!((*tokens, *window, *k), (2, 2, 10));
                assert!(close(*lowest_group, 2.5) && close(*mean, 4.0));
            }
            d => panic!("{d:?}"),
        }
        // Scoring from step 1 gives step 1 alone, the same verdict.
        assert_eq!(v.score_steps(&steps, 2, 1), vec![out[1].clone()]);
    }

    #[tokio::test]
    async fn without_log_probabilities_every_step_is_unscored_with_the_reason() {
        let v = ConfidenceVerifier::new(4, false);
        assert!(v.name().contains(NO_LOGPROBS), "{}", v.name());
        let problem = Problem::inline("1+1", None);
        let steps = vec!["a".to_string(), "b".to_string()];
        for logprobs in [None, Some(&[step(&[]), step(&[])][..])] {
            let req = ScoreRequest { problem: &problem, steps: &steps, start: 0, finished: true, logprobs };
            let out = v.score(req, CancellationToken::new()).await.unwrap();
            assert_eq!(out.len(), 2);
            assert!(out.iter().all(|s| s.score.is_none() && s.unscored.as_deref() == Some(NO_LOGPROBS)));
        }
    }

    #[test]
    fn an_empty_step_is_unscored_and_the_others_are_not() {
        let v = ConfidenceVerifier::new(2, true);
        // Fewer token lists than steps (a verifier handed a short slice) reads as empty steps.
        let out = v.score_steps(&[step(&[3.0]), step(&[])], 3, 0);
        assert_eq!(out.len(), 3);
        assert!(out[0].score.is_some());
        assert_eq!(out[1].unscored.as_deref(), Some("no tokens of this step carry log-probabilities"));
        assert!(out[2].score.is_none());
        assert!(v.score_steps(&[], 0, 0).is_empty());
        assert!(v.score_steps(&[step(&[1.0])], 1, 5).is_empty(), "a start past the end scores nothing");
    }

    #[test]
    fn hostile_log_probabilities_never_escape_the_unit_interval() {
        // NaN is dropped; −∞ counts as the floor; a positive value counts as 0.
        assert!(close(token_confidence(&tok(&[f64::NAN, -1.0])).unwrap(), 1.0));
        assert!(close(token_confidence(&tok(&[f64::NEG_INFINITY, -1.0])).unwrap(), 50.5));
        assert_eq!(token_confidence(&tok(&[3.0, f64::INFINITY])), Some(0.0));
        assert_eq!(token_confidence(&tok(&[f64::NAN])), None);
        let v = ConfidenceVerifier::new(2, true);
        let steps: Vec<StepLogprobs> = vec![
            vec![tok(&[f64::NAN]), tok(&[f64::NAN, f64::NAN])].into(),
            vec![tok(&[f64::NEG_INFINITY; 10]), tok(&[f64::INFINITY]), tok(&[-1e308, -f64::MAX])].into(),
        ];
        let out = v.score_steps(&steps, 2, 0);
        assert_eq!(
            out[0].unscored.as_deref(),
            Some("no usable log-probability among this step's tokens (NaN from the server)")
        );
        let s = out[1].score.unwrap();
        assert!((0.0..=1.0).contains(&s) && s.is_finite(), "{s}");
        for c in [f64::NAN, f64::NEG_INFINITY, f64::INFINITY, -1.0, 0.0] {
            let s = to_score(c, 10);
            assert!((0.0..=1.0).contains(&s), "{c} → {s}");
        }
    }

    #[test]
    fn the_online_cutoff_fires_on_the_first_full_window_below_it() {
        let mut w = OnlineCutoff::new(2, 10, 0.5);
        let hi = tok(&[-20.0]);
        let lo = tok(&[-1.0]);
        // A window is not judged before it is full.
        assert_eq!(w.push(&lo), None);
        assert_eq!(w.push(&hi), None, "(1 + 20) / 2 = 10.5 scores 0.78");
        assert_eq!(w.push(&hi), None);
        assert_eq!(w.push(&tok(&[f64::NAN])), None, "a token with no confidence is skipped");
        assert_eq!(w.push(&lo), None, "(20 + 1) / 2 again");
        let cut = w.push(&lo).expect("(1 + 1) / 2 is below the floor ln 10");
        assert_eq!(cut, 0.0);
        assert_eq!(cutoff_reason(0.2149, 0.3), "cut off: confidence 0.21 < 0.30");
    }

    proptest! {
        #[test]
        fn the_mapping_is_monotone_and_in_the_unit_interval(a in -10.0f64..200.0, b in -10.0f64..200.0, k in 1usize..40) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let (s_lo, s_hi) = (to_score(lo, k), to_score(hi, k));
            prop_assert!((0.0..=1.0).contains(&s_lo) && (0.0..=1.0).contains(&s_hi));
            prop_assert!(s_lo <= s_hi, "{lo} → {s_lo}, {hi} → {s_hi}");
            if lo > (k.max(2) as f64).ln() && lo < hi {
                prop_assert!(s_lo < s_hi, "strictly increasing above the floor");
            }
        }

        #[test]
        fn min_over_steps_is_the_lowest_group_of_the_solution(
            confs in proptest::collection::vec(0.0f64..30.0, 1..60),
            cuts in proptest::collection::vec(0usize..60, 0..6),
            window in 1usize..12,
        ) {
            // Steps cut anywhere, the first one holding at least a window (else its prefix
            // group is one more, as the module comment says).
            let first = window.min(confs.len());
            let mut bounds: Vec<usize> = cuts.into_iter().map(|c| first + c % (confs.len() - first + 1)).collect();
            bounds.extend([first, confs.len()]);
            bounds.sort_unstable();
            bounds.dedup();
            let mut steps = vec![step(&confs[..first])];
            for w in bounds.windows(2) {
                steps.push(step(&confs[w[0]..w[1]]));
            }
            let per = step_confidences(&steps);
            let min_steps = (0..steps.len()).filter_map(|j| step_lowest_group(&per, j, window)).reduce(f64::min);
            let whole = lowest_group(&confs, window).unwrap();
            prop_assert!((min_steps.unwrap() - whole).abs() < 1e-9, "{min_steps:?} vs {whole}");
        }
    }
}

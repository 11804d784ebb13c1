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

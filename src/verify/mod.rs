//! Verifiers: score the steps of a (partial) solution.

pub mod arith;
pub mod confidence;
pub mod http;
pub mod judge;
pub mod oracle;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::model::TopLogprob;
use crate::problem::Problem;

pub use crate::spec::Aggregation;
pub use arith::ArithVerifier;
pub use confidence::{ConfidenceVerifier, StepLogprobs};
pub use http::HttpVerifier;
pub use judge::{JudgeTemplate, JudgeVerifier};
pub use oracle::OracleVerifier;

/// Compute a verifier spent on one step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub requests: u64,
    pub prompt_tokens: u64,
    pub generated_tokens: u64,
}

/// How a judge step score was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JudgeMethod {
    /// p(Yes)/(p(Yes)+p(No)) from next-token log-probabilities.
    Logprobs,
    /// Fraction of sampled verdicts that said Yes: the server gives no
    /// log-probabilities, or neither verdict token is among the alternatives.
    Sampled,
    /// The server sent the verdict token it chose but no alternatives: a
    /// one-token 0/1 score (1 for the yes token, 0 for the no token), not a probability.
    Token,
}

/// One `a op b = c` claim found in a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArithClaim {
    /// The claim as written.
    pub text: String,
    /// The value the left side really has, when it could be computed.
    pub actual: Option<String>,
    pub ok: bool,
}

/// What a verifier looked at and saw for one step: shown by the step inspector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepDetail {
    Judge {
        method: JudgeMethod,
        /// The user prompt sent to the judge model.
        prompt: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        p_yes: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        p_no: Option<f64>,
        /// The alternatives the server returned for the verdict token.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        top_logprobs: Vec<TopLogprob>,
        /// Sampled verdicts (fallback without logprobs).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        verdicts: Vec<String>,
    },
    Arith {
        claims: Vec<ArithClaim>,
    },
    Oracle {
        #[serde(skip_serializing_if = "Option::is_none")]
        answer: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        gold: Option<String>,
    },
    /// No verifier (or nothing to inspect).
    None,
    /// The step's token confidences (the `confidence` verifier; see [`confidence`]).
    Confidence {
        /// Tokens of the step that carried log-probabilities.
        tokens: u32,
        /// The lowest group confidence among the windows ending in the step.
        lowest_group: f64,
        /// The mean token confidence of the step's own tokens.
        mean: f64,
        /// Tokens per group.
        window: u32,
        /// Alternatives per token the mapping to `[0, 1]` assumes.
        k: u32,
    },
}

/// The verdict on one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepScore {
    /// Probability-like score in `[0, 1]`; `None` when the step could not be scored.
    pub score: Option<f64>,
    /// Why the step has no score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unscored: Option<String>,
    pub detail: StepDetail,
    #[serde(default)]
    pub usage: Usage,
}

impl StepScore {
    /// A scored step.
    pub fn scored(score: f64, detail: StepDetail, usage: Usage) -> Self {
        Self { score: Some(score.clamp(0.0, 1.0)), unscored: None, detail, usage }
    }
    /// A step that could not be scored, with the reason.
    pub fn unscored(reason: impl Into<String>, detail: StepDetail, usage: Usage) -> Self {
        Self { score: None, unscored: Some(reason.into()), detail, usage }
    }
}

/// What to score: the steps `steps[start..]` of a (partial) solution.
#[derive(Debug, Clone, Copy)]
pub struct ScoreRequest<'a> {
    pub problem: &'a Problem,
    pub steps: &'a [String],
    pub start: usize,
    /// Whether the solution is complete (its last step is the final one).
    pub finished: bool,
    /// The policy's token log-probabilities of each step, aligned with `steps` (a step may have
    /// none: a forked prefix, a server without them), when the verifier asks for them
    /// ([`Verifier::top_logprobs`]); `None` otherwise.
    pub logprobs: Option<&'a [StepLogprobs]>,
}

/// Why scoring failed as a whole (individual steps fail as unscored instead).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VerifyError {
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Setup(String),
}

/// Scores the steps of a solution (a process reward model, or an outcome check).
#[async_trait]
pub trait Verifier: Send + Sync {
    /// Short name shown in the header and in events.
    fn name(&self) -> String;

    /// One [`StepScore`] for each step in `req.steps[req.start..]`.
    async fn score(
        &self,
        req: ScoreRequest<'_>,
        cancel: CancellationToken,
    ) -> Result<Vec<StepScore>, VerifyError>;

    /// True for verifiers that judge only the final answer: the engine then
    /// re-scores the last step once a solution is known to be finished.
    fn final_only(&self) -> bool {
        false
    }

    /// Whether scoring a step is a verifier call the budget counts. False only for
    /// the `none` verifier, which looks at nothing.
    fn counts_calls(&self) -> bool {
        true
    }

    /// How many alternatives per token the verifier needs from the policy's own generation
    /// (0: it reads none). Non-zero makes the strategies ask for `top_logprobs` and hand each
    /// step's tokens over in [`ScoreRequest::logprobs`].
    fn top_logprobs(&self) -> u8 {
        0
    }
}

/// The "none" verifier: every step unscored, so selection falls back to voting.
pub struct NoVerifier;

#[async_trait]
impl Verifier for NoVerifier {
    fn name(&self) -> String {
        "none".into()
    }
    fn counts_calls(&self) -> bool {
        false
    }
    async fn score(
        &self,
        req: ScoreRequest<'_>,
        _cancel: CancellationToken,
    ) -> Result<Vec<StepScore>, VerifyError> {
        Ok(req.steps[req.start.min(req.steps.len())..]
            .iter()
            .map(|_| StepScore::unscored("no verifier", StepDetail::None, Usage::default()))
            .collect())
    }
}

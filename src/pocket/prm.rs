//! `PocketPrm`: the pocket process reward model behind the [`Verifier`] trait.

use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::generator::compact_problem;
use super::{prm_scores, Pocket};
use crate::verify::{ScoreRequest, StepDetail, StepScore, Usage, Verifier, VerifyError};

/// The pocket PRM: P(step correct) for every step, from one pass over the solution.
pub struct PocketPrm {
    pocket: Arc<Pocket>,
}

impl PocketPrm {
    /// A verifier over loaded pocket weights.
    pub fn new(pocket: Arc<Pocket>) -> Self {
        Self { pocket }
    }

    /// Scores for every step of a solution to `problem` (blocking; a few milliseconds).
    pub fn score_steps(&self, problem: &str, steps: &[String]) -> Vec<Option<f64>> {
        let (_, compact) = compact_problem(problem);
        prm_scores(&self.pocket.prm, &compact, steps)
    }
}

#[async_trait]
impl Verifier for PocketPrm {
    fn name(&self) -> String {
        "pocket-prm".into()
    }

    async fn score(
        &self,
        req: ScoreRequest<'_>,
        cancel: CancellationToken,
    ) -> Result<Vec<StepScore>, VerifyError> {
        let start = req.start.min(req.steps.len());
        let pocket = self.pocket.clone();
        let text = req.problem.text.clone();
        let steps: Vec<String> = req.steps.to_vec();
        let work = tokio::task::spawn_blocking(move || {
            let (_, compact) = compact_problem(&text);
            prm_scores(&pocket.prm, &compact, &steps)
        });
        let scores = tokio::select! {
            _ = cancel.cancelled() => return Err(VerifyError::Cancelled),
            r = work => r.map_err(|e| VerifyError::Setup(format!("pocket PRM failed: {e}")))?,
        };
        let prompt_tokens = req.problem.text.len() as u64 / 4 + 1;
        Ok(scores[start..]
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let usage = if i == 0 {
                    Usage { requests: 1, prompt_tokens, generated_tokens: 0 }
                } else {
                    Usage::default()
                };
                match s {
                    Some(p) => StepScore::scored(*p, StepDetail::None, usage),
                    None => StepScore::unscored("past the pocket PRM's context", StepDetail::None, usage),
                }
            })
            .collect())
    }
}

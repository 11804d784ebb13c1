//! The oracle: compares the final answer with the gold answer (an upper bound, for experiments).

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::{ScoreRequest, StepDetail, StepScore, Usage, Verifier, VerifyError};
use crate::grade::{answers_equal, extract_answer};

/// Scores the final step 1 when the solution's answer equals the gold answer, else 0.
/// Earlier steps, and every step of a solution not yet finished, stay unscored: the oracle
/// knows nothing about them, and it gives them no fake signal (no 0 for "no answer yet").
///
/// What step-wise search does with that: an unscored step is neutral, so every open prefix
/// ranks the same and beam search, lookahead and DVTS keep open paths by the run's seed
/// (a seeded random choice, not the first parent's children). Only finished solutions are
/// scored: when a path ends with no new step, the engine asks again with `finished` set
/// ([`Verifier::final_only`]), and weighted selection over the pool then favours answers
/// that equal the gold one. It is an upper bound for experiments, not a guide for search.
pub struct OracleVerifier;

#[async_trait]
impl Verifier for OracleVerifier {
    fn name(&self) -> String {
        "oracle".into()
    }

    async fn score(
        &self,
        req: ScoreRequest<'_>,
        _cancel: CancellationToken,
    ) -> Result<Vec<StepScore>, VerifyError> {
        let gold = req.problem.gold.clone();
        let last = req.steps.len().saturating_sub(1);
        Ok((req.start.min(req.steps.len())..req.steps.len())
            .map(|k| {
                let detail = |answer| StepDetail::Oracle { answer, gold: gold.clone() };
                if k != last || !req.finished {
                    return StepScore::unscored(
                        "the oracle scores only the final step of a finished solution",
                        detail(None),
                        Usage::default(),
                    );
                }
                let Some(g) = gold.as_deref() else {
                    return StepScore::unscored(
                        "no gold answer is known for this problem",
                        detail(None),
                        Usage::default(),
                    );
                };
                let answer = extract_answer(&req.steps.join("\n\n"));
                match answer {
                    None => StepScore::scored(0.0, detail(None), Usage::default()),
                    Some(a) => {
                        let ok = answers_equal(&a, g);
                        StepScore::scored(if ok { 1.0 } else { 0.0 }, detail(Some(a)), Usage::default())
                    }
                }
            })
            .collect())
    }

    fn final_only(&self) -> bool {
        true
    }
}

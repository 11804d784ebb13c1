//! The oracle: compares the final answer with the gold answer (an upper bound, for experiments).

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::{ScoreRequest, StepDetail, StepScore, Usage, Verifier, VerifyError};
use crate::grade::{answers_equal, extract_answer};

/// Scores the final step 1 when the solution's answer equals the gold answer, else 0.
/// Earlier steps stay unscored: the oracle knows nothing about them.
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

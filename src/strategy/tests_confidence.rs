//! The `confidence` verifier inside runs: each step's tokens reach the verifier aligned with
//! the steps, the fallback without log-probabilities, and DeepConf's online cut-off.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::event::Event;
use crate::problem::Problem;
use crate::run::{start, SolvePrompt};
use crate::scripted::{ScriptInput, ScriptedGenerator};
use crate::strategy::{RunConfig, StrategyKind, VerifierKind};
use crate::tree::{NodeStatus, RunTree};
use crate::verify::confidence::{ConfidenceVerifier, NO_LOGPROBS, TOP_K};
use crate::verify::{ScoreRequest, StepDetail, StepScore, Verifier, VerifyError};

async fn run_to_end(
    cfg: RunConfig,
    gen: Arc<ScriptedGenerator>,
    ver: Arc<dyn Verifier>,
) -> (Vec<Event>, RunTree) {
    let mut h = start(Problem::inline("Count.", Some("1".into())), cfg, gen, ver, SolvePrompt::bundled());
    let mut events = Vec::new();
    let mut tree = RunTree::new();
    while let Some(e) = h.events.recv().await {
        tree.apply(&e);
        events.push(e);
    }
    (events, tree)
}

fn cfg(strategy: StrategyKind, n: usize) -> RunConfig {
    let mut c = RunConfig { strategy, n, max_depth: 10, confidence_window: 2, ..RunConfig::default() };
    c.set_verifier(VerifierKind::Confidence);
    c
}

/// A confident token: its own log-probability near 0, the other alternatives far below.
fn sure(_: &ScriptInput, _: &str) -> Vec<f64> {
    let mut v = vec![-0.001];
    v.extend((1..TOP_K).map(|j| -20.0 - j as f64));
    v
}

/// The confidence verifier, recording how many token lists and tokens each request carried.
struct Recording {
    inner: ConfidenceVerifier,
    seen: Mutex<Vec<(usize, Option<Vec<usize>>)>>,
}

#[async_trait]
impl Verifier for Recording {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn top_logprobs(&self) -> u8 {
        self.inner.top_logprobs()
    }
    fn counts_calls(&self) -> bool {
        self.inner.counts_calls()
    }
    async fn score(
        &self,
        req: ScoreRequest<'_>,
        cancel: CancellationToken,
    ) -> Result<Vec<StepScore>, VerifyError> {
        let lens = req.logprobs.map(|l| l.iter().map(|s| s.len()).collect());
        self.seen.lock().unwrap().push((req.steps.len(), lens));
        self.inner.score(req, cancel).await
    }
}

#[tokio::test]
async fn best_of_n_hands_each_steps_tokens_to_the_verifier_aligned_with_the_steps() {
    // Tokens are pieces of 4 characters: "abcd" | "\n\nef" | "gh\n\n" | "The " | "answ" | …
    // "\n\nef" straddles the first boundary and counts for the step it closes.
    let text = "abcd\n\nefgh\n\nThe answer is \\boxed{1}.";
    let gen = Arc::new(ScriptedGenerator::new(move |_| text.to_string()).with_logprobs(sure));
    let ver = Arc::new(Recording { inner: ConfidenceVerifier::new(2, true), seen: Mutex::new(Vec::new()) });
    let (events, tree) = run_to_end(cfg(StrategyKind::BestOfN, 1), gen.clone(), ver.clone()).await;
    assert_eq!(gen.top_logprobs_asked(), TOP_K as u64);
    let seen = ver.seen.lock().unwrap().clone();
    let last_pieces = "The answer is \\boxed{1}.".chars().count().div_ceil(4);
    assert_eq!(seen, vec![(1, Some(vec![2])), (2, Some(vec![2, 1])), (3, Some(vec![2, 1, last_pieces]))]);
    let scored: Vec<&StepScore> = events
        .iter()
        .filter_map(|e| match e {
            Event::StepScored { score, .. } => Some(score),
            _ => None,
        })
        .collect();
    assert_eq!(scored.len(), 3);
    for s in &scored {
        assert!(matches!(s.detail, StepDetail::Confidence { .. }), "{s:?}");
        assert!(s.score.unwrap() > 0.8, "confident tokens score high: {s:?}");
    }
    assert_eq!(tree.selected.as_deref(), Some("1"));
    // No verifier call is counted: the scores come from the generation itself.
    assert_eq!((tree.budget.verifier_requests, tree.budget.verifier_calls), (0, 0));
}

#[tokio::test]
async fn a_verifier_that_reads_no_tokens_asks_for_none() {
    let gen = Arc::new(ScriptedGenerator::new(|_| "1 + 1 = 2\n\n\\boxed{2}".into()).with_logprobs(sure));
    let mut c = cfg(StrategyKind::BestOfN, 2);
    c.set_verifier(VerifierKind::None);
    run_to_end(c, gen.clone(), Arc::new(crate::verify::NoVerifier)).await;
    assert_eq!(gen.top_logprobs_asked(), 0);
}

#[tokio::test]
async fn without_log_probabilities_steps_are_unscored_and_selection_is_a_majority_vote() {
    // Seeds 0 and 2 answer 7, seed 1 answers 5: the majority is 7.
    let gen = Arc::new(ScriptedGenerator::new(|i: &ScriptInput| {
        format!("We add.\n\nThe answer is \\boxed{{{}}}.", if i.seed == 1 { 5 } else { 7 })
    }));
    let ver = Arc::new(ConfidenceVerifier::new(2, false));
    let (events, tree) = run_to_end(cfg(StrategyKind::BestOfN, 3), gen.clone(), ver).await;
    assert_eq!(gen.top_logprobs_asked(), TOP_K as u64, "asked; the server just sends none");
    let verdicts: Vec<&StepScore> = events
        .iter()
        .filter_map(|e| match e {
            Event::StepScored { score, .. } => Some(score),
            _ => None,
        })
        .collect();
    assert_eq!(verdicts.len(), 6);
    assert!(verdicts.iter().all(|s| s.score.is_none() && s.unscored.as_deref() == Some(NO_LOGPROBS)));
    let sel = tree.selection.clone().unwrap();
    assert_eq!(sel.selected.as_deref(), Some("7"));
    assert!(sel.note.unwrap_or_default().contains("fell back to majority"));
}

#[tokio::test]
async fn the_online_cutoff_stops_exactly_the_unsure_candidate() {
    // Seed 2 is unsure of every token (its top 10 equally likely: the floor, score 0) and would
    // answer 9; the others are sure and answer 1.
    let gen = Arc::new(
        ScriptedGenerator::new(|i: &ScriptInput| {
            format!("We count.\n\nThe answer is \\boxed{{{}}}.", if i.seed == 2 { 9 } else { 1 })
        })
        .with_logprobs(|i: &ScriptInput, t: &str| {
            if i.seed == 2 {
                vec![-(TOP_K as f64).ln(); TOP_K as usize]
            } else {
                sure(i, t)
            }
        }),
    );
    let mut c = cfg(StrategyKind::BestOfN, 4);
    c.confidence_cutoff = Some(0.3);
    let ver = Arc::new(ConfidenceVerifier::new(2, true));
    let (events, tree) = run_to_end(c, gen, ver).await;
    let cut: Vec<(u32, f64, f64)> = events
        .iter()
        .filter_map(|e| match e {
            Event::NodeCutOff { node, confidence, cutoff } => Some((*node, *confidence, *cutoff)),
            _ => None,
        })
        .collect();
    assert_eq!(cut.len(), 1, "{cut:?}");
    assert_eq!(cut[0].0, 2);
    assert!(cut[0].1 < 1e-9 && cut[0].2 == 0.3);
    let n2 = &tree.nodes[2];
    assert_eq!(n2.status, NodeStatus::Cancelled);
    assert_eq!(n2.cut_off.as_deref(), Some("cut off: confidence 0.00 < 0.30"));
    assert_eq!(n2.answer, None, "its partial text does not vote");
    // Cut at the first full window: two tokens of four characters.
    assert_eq!(n2.text, "We count");
    for i in [0, 1, 3] {
        assert_eq!(tree.nodes[i].status, NodeStatus::Done, "node {i}");
        assert!(tree.nodes[i].cut_off.is_none());
    }
    let sel = tree.selection.clone().unwrap();
    assert_eq!(sel.selected.as_deref(), Some("1"));
    assert_eq!(sel.answers.iter().map(|t| t.votes).sum::<u32>(), 3);
    assert_eq!(tree.budget.cancelled, 1);
}

#[tokio::test]
async fn beam_search_ranks_children_by_the_confidence_of_their_own_tokens() {
    // Children with odd seeds are sure of their tokens, the others are not (every alternative
    // at −3: confidence 3, score 0.23).
    let gen =
        Arc::new(
            ScriptedGenerator::new(|i: &ScriptInput| {
                if i.prefix.len() >= 2 {
                    "The answer is \\boxed{1}.".into()
                } else {
                    format!("s{} d{}\n\nmore", i.seed, i.prefix.len())
                }
            })
            .with_logprobs(|i: &ScriptInput, t: &str| {
                if i.seed % 2 == 1 {
                    sure(i, t)
                } else {
                    vec![-3.0; TOP_K as usize]
                }
            }),
        );
    let mut c = cfg(StrategyKind::Beam, 4);
    c.width = 2;
    let (events, tree) = run_to_end(c, gen.clone(), Arc::new(ConfidenceVerifier::new(2, true))).await;
    assert_eq!(gen.top_logprobs_asked(), TOP_K as u64);
    let first_round: Vec<(u32, bool)> = events
        .iter()
        .filter_map(|e| match e {
            Event::NodeKept { node, .. } if *node < 4 => Some((*node, true)),
            Event::NodePruned { node, .. } if *node < 4 => Some((*node, false)),
            _ => None,
        })
        .collect();
    let kept: Vec<u32> = first_round.iter().filter(|(_, k)| *k).map(|(n, _)| *n).collect();
    assert_eq!(kept.len(), 2, "{first_round:?}");
    assert!(kept.iter().all(|n| n % 2 == 1), "the sure children (odd seeds) are kept: {first_round:?}");
    let unsure = &tree.nodes[0].steps[0].verdict.as_ref().unwrap();
    assert!((unsure.score.unwrap() - (1.0 - 10f64.ln() / 3.0)).abs() < 1e-9, "{unsure:?}");
    assert_eq!(tree.selected.as_deref(), Some("1"));
}

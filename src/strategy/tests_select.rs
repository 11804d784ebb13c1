//! Scripted-model tests of selection and its counters: revisions select
//! hierarchically (or by one flat vote), a failed attempt stays out of the next
//! attempt's history, ties go to the verifier's score and then to the run's
//! seed, malformed answers do not vote, the judge falls back to sampled
//! verdicts, the default aggregation follows the verifier, and the budget counts
//! what was really spent.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::model::{
    Chunk, ChunkStream, GenError, GenRequest, GenStats, Generator, GeneratorInfo, TokenLogprob, TopLogprob,
};
use crate::problem::Problem;
use crate::run::{start, SolvePrompt};
use crate::scripted::{ScriptInput, ScriptedGenerator, ScriptedVerifier};
use crate::strategy::select::{malformed, select_seeded};
use crate::strategy::{Candidate, RevisionSelection, RunConfig, SelectionRule, StrategyKind};
use crate::tree::{NodeStatus, RunTree};
use crate::verify::{
    Aggregation, JudgeMethod, JudgeTemplate, JudgeVerifier, NoVerifier, ScoreRequest, StepDetail, Verifier,
};

async fn run_to_end(cfg: RunConfig, gen: Arc<dyn Generator>, ver: Arc<dyn Verifier>) -> RunTree {
    let mut h = start(Problem::inline("Count.", Some("42".into())), cfg, gen, ver, SolvePrompt::bundled());
    let mut tree = RunTree::new();
    while let Some(e) = h.events.recv().await {
        tree.apply(&e);
    }
    tree
}

/// Reads the score a step carries as "score NN" (NN/100); no such word, no score.
fn carried_score() -> ScriptedVerifier {
    ScriptedVerifier::new(|path: &[String]| {
        let last = path.last()?;
        let i = last.find("score ")?;
        let n: String = last[i + 6..].chars().take_while(char::is_ascii_digit).collect();
        Some(n.parse::<f64>().ok()? / 100.0)
    })
}

fn revise_cfg(chains: usize, revisions: usize, how: RevisionSelection) -> RunConfig {
    RunConfig {
        strategy: StrategyKind::Revise,
        chains,
        revisions,
        revision_selection: how,
        ..RunConfig::default()
    }
}

/// Attempt `(chain, revision)` of a revisions run with seed 0: nodes are numbered
/// round by round, so node = revision × chains + chain, and the seed is the node.
fn attempt_of(seed: i64, chains: i64) -> (usize, usize) {
    ((seed % chains) as usize, (seed / chains) as usize)
}

#[tokio::test]
async fn revisions_select_weighted_within_each_chain_then_across_chains() {
    // Chain 0: 42 (0.9), then revised into 41 twice (0.3 each): weighted keeps 42 (0.9 > 0.6).
    // Chain 1: 40, 40 (0.35 each), then 42 (0.6): weighted picks 40 (0.7 > 0.6), although
    // its single best attempt is 42. Across chains (weighted): 42 at 0.9 beats 40 at 0.35.
    let table = [[("42", 90), ("41", 30), ("41", 30)], [("40", 35), ("40", 35), ("42", 60)]];
    let gen = Arc::new(ScriptedGenerator::new(move |i: &ScriptInput| {
        let (c, r) = attempt_of(i.seed, 2);
        let (ans, s) = table[c][r];
        format!("Work.\n\nThe answer is \\boxed{{{ans}}}. score {s}")
    }));
    let cfg =
        RunConfig { selection: SelectionRule::Weighted, ..revise_cfg(2, 3, RevisionSelection::Hierarchical) };
    let tree = run_to_end(cfg.clone(), gen, Arc::new(carried_score())).await;
    let sel = tree.selection.clone().unwrap();
    assert_eq!(sel.selected.as_deref(), Some("42"));
    assert_eq!(sel.selected_node, Some(0), "chain 0's first attempt stands for 42");
    // The view's re-selection (no regeneration) follows the same rule as the run.
    let again = tree.reselect(cfg.selection, cfg.aggregation);
    assert_eq!((again.selected.as_deref(), again.selected_node), (Some("42"), Some(0)));
    assert_eq!(again.answers.len(), 2, "one pick per chain, not a flat vote over six attempts");
    let votes: Vec<(&str, u32)> = sel.answers.iter().map(|t| (t.answer.as_str(), t.votes)).collect();
    assert_eq!(votes, vec![("42", 1), ("40", 1)], "one pick per chain; chain 1 picked 40 by weight");
    assert!((sel.answers[1].weight - 0.35).abs() < 1e-9, "a chain's pick carries its best attempt's score");

    // Across chains by majority instead: a 1–1 tie goes to the verifier's score (42 at 0.9).
    let gen = Arc::new(ScriptedGenerator::new(move |i: &ScriptInput| {
        let (c, r) = attempt_of(i.seed, 2);
        let (ans, s) = table[c][r];
        format!("Work.\n\nThe answer is \\boxed{{{ans}}}. score {s}")
    }));
    let cfg =
        RunConfig { selection: SelectionRule::Majority, ..revise_cfg(2, 3, RevisionSelection::Hierarchical) };
    let tree = run_to_end(cfg, gen, Arc::new(carried_score())).await;
    assert_eq!(tree.selected.as_deref(), Some("42"));
}

#[tokio::test]
async fn revisions_without_scores_take_one_flat_vote_over_every_attempt() {
    // Three chains × two revisions. Last revisions say 8, 8, 5 (a vote over them picks 8);
    // every attempt together says 5 four times and 8 twice.
    let table = [["5", "8"], ["5", "8"], ["5", "5"]];
    for how in [RevisionSelection::Hierarchical, RevisionSelection::Majority] {
        let gen = Arc::new(ScriptedGenerator::new(move |i: &ScriptInput| {
            let (c, r) = attempt_of(i.seed, 3);
            format!("Work.\n\nThe answer is \\boxed{{{}}}.", table[c][r])
        }));
        let tree = run_to_end(revise_cfg(3, 2, how), gen, Arc::new(NoVerifier)).await;
        let sel = tree.selection.clone().unwrap();
        assert_eq!(sel.selected.as_deref(), Some("5"), "{how:?}");
        assert_eq!(sel.answers.iter().map(|t| t.votes).sum::<u32>(), 6, "{how:?}: every attempt votes");
        if how == RevisionSelection::Hierarchical {
            let note = sel.note.unwrap_or_default();
            assert!(note.contains("one majority vote over every attempt"), "{note}");
        }
        assert_eq!(tree.budget.verifier_calls, 0, "{how:?}: the none verifier makes no calls");
    }
}

/// A scripted generator whose requests with a seed in `bad` fail mid-stream after one piece.
struct FailingAt {
    inner: ScriptedGenerator,
    bad: Vec<i64>,
}

#[async_trait]
impl Generator for FailingAt {
    fn info(&self) -> GeneratorInfo {
        self.inner.info()
    }

    async fn generate(&self, req: GenRequest, cancel: CancellationToken) -> Result<ChunkStream, GenError> {
        let seed = req.options.seed.unwrap_or(0);
        let stream = self.inner.generate(req, cancel).await?;
        if !self.bad.contains(&seed) {
            return Ok(stream);
        }
        let items: Vec<Result<Chunk, GenError>> = vec![
            Ok(Chunk::Delta { text: "Let me".into(), logprobs: None }),
            Err(GenError::Stream("out of memory".into())),
        ];
        Ok(Box::pin(futures::stream::iter(items)))
    }
}

#[tokio::test]
async fn a_failed_attempt_is_left_out_of_the_next_attempts_history() {
    // One chain of three; the second attempt (seed 1) fails mid-stream.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let inner = ScriptedGenerator::new(move |i: &ScriptInput| {
        s2.lock().unwrap().push((i.seed, i.user.clone()));
        format!("Work {}.\n\nThe answer is \\boxed{{{}}}.", i.seed, 40 + i.seed)
    });
    let gen = Arc::new(FailingAt { inner, bad: vec![1] });
    let tree = run_to_end(revise_cfg(1, 3, RevisionSelection::Majority), gen, Arc::new(NoVerifier)).await;
    let statuses: Vec<(u32, NodeStatus)> =
        tree.nodes.iter().map(|n| (n.revision.unwrap(), n.status)).collect();
    assert_eq!(statuses, vec![(0, NodeStatus::Done), (1, NodeStatus::Failed), (2, NodeStatus::Done)]);
    let seen = seen.lock().unwrap().clone();
    let (_, third) = seen.iter().find(|(s, _)| *s == 2).unwrap();
    assert_eq!(third.matches("Attempt ").count(), 1, "only the finished attempt is shown: {third}");
    assert!(third.contains("Work 0."), "{third}");
    assert!(!third.contains("Attempt 2"), "no empty attempt: {third}");
    // The failed attempt's request is counted with the others.
    assert_eq!(tree.budget.policy_requests, 3);
    assert_eq!((tree.budget.finished, tree.budget.failed), (2, 1));
}

#[tokio::test]
async fn request_counters_stay_right_when_a_candidate_fails() {
    // Mid-stream failure.
    let inner = ScriptedGenerator::new(|i: &ScriptInput| {
        format!("2 + 2 = 4\n\nThe answer is \\boxed{{{}}}.", i.seed)
    });
    let gen = Arc::new(FailingAt { inner, bad: vec![1, 2] });
    let cfg = RunConfig { n: 4, ..RunConfig::default() };
    let tree = run_to_end(cfg.clone(), gen.clone(), Arc::new(crate::verify::ArithVerifier)).await;
    assert_eq!(tree.budget.policy_requests, gen.inner.requests());
    assert_eq!(tree.budget.policy_requests, 4);
    assert_eq!((tree.budget.finished, tree.budget.failed), (2, 2));
    // A generator that panics while taking the request: the request was still made.
    let gen = Arc::new(ScriptedGenerator::new(|i: &ScriptInput| {
        if i.seed == 3 {
            panic!("the generator broke");
        }
        "2 + 2 = 4\n\nThe answer is \\boxed{4}.".to_string()
    }));
    let tree = run_to_end(cfg, gen.clone(), Arc::new(crate::verify::ArithVerifier)).await;
    assert_eq!(tree.budget.failed, 1);
    assert_eq!(tree.budget.policy_requests, gen.requests(), "{:?}", tree.budget);
}

#[tokio::test]
async fn a_candidate_whose_verifier_fails_still_counts_its_whole_request() {
    let gen = || {
        Arc::new(ScriptedGenerator::new(|_i: &ScriptInput| "2 + 2 = 4\n\nThe answer is \\boxed{4}.".into()))
    };
    let cfg = RunConfig { n: 2, ..RunConfig::default() };
    let healthy =
        run_to_end(cfg.clone(), gen(), Arc::new(ScriptedVerifier::new(|_p: &[String]| Some(0.5)))).await;
    // The verifier panics on the first step it sees: that candidate fails.
    let calls = std::sync::atomic::AtomicU32::new(0);
    let broken = ScriptedVerifier::new(move |_p: &[String]| {
        if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            panic!("the verifier broke");
        }
        Some(0.5)
    });
    let failed = run_to_end(cfg, gen(), Arc::new(broken)).await;
    assert_eq!(failed.budget.failed, 1, "{:?}", failed.budget);
    let (h, f) = (&healthy.budget, &failed.budget);
    assert_eq!(
        (f.policy_requests, f.policy_prompt_tokens, f.policy_generated_tokens),
        (h.policy_requests, h.policy_prompt_tokens, h.policy_generated_tokens)
    );
}

#[tokio::test]
async fn the_none_verifier_counts_no_calls() {
    let gen =
        Arc::new(ScriptedGenerator::new(|_i: &ScriptInput| "1 + 1 = 2\n\nThe answer is \\boxed{2}.".into()));
    let cfg = RunConfig { n: 3, verifier: crate::strategy::VerifierKind::None, ..RunConfig::default() };
    let tree = run_to_end(cfg.clone(), gen.clone(), Arc::new(NoVerifier)).await;
    assert_eq!((tree.budget.verifier_calls, tree.budget.verifier_requests), (0, 0));
    assert!(tree
        .nodes
        .iter()
        .all(|n| n.steps.iter().all(|s| s.verdict.as_ref().is_some_and(|v| v.score.is_none()))));
    // A real verifier's calls are counted, one per step.
    let tree = run_to_end(cfg.clone(), gen.clone(), Arc::new(crate::verify::ArithVerifier)).await;
    assert_eq!(tree.budget.verifier_calls, 6);
    // Tree search scores through the step engine: the same rule holds there.
    for strategy in [crate::strategy::StrategyKind::Beam, crate::strategy::StrategyKind::Dvts] {
        let cfg = RunConfig { strategy, n: 4, width: 2, max_depth: 3, ..cfg.clone() };
        let tree = run_to_end(cfg, gen.clone(), Arc::new(NoVerifier)).await;
        assert_eq!((tree.budget.verifier_calls, tree.budget.verifier_requests), (0, 0), "{strategy:?}");
    }
}

fn cand(node: u32, answer: &str, score: Option<f64>) -> Candidate {
    Candidate { node, answer: Some(answer.into()), score }
}

#[test]
fn majority_ties_go_to_the_verifiers_score_in_any_order() {
    let a = vec![
        cand(0, "4", Some(0.2)),
        cand(1, "5", Some(0.9)),
        cand(2, "4", Some(0.3)),
        cand(3, "5", Some(0.1)),
    ];
    let mut b = a.clone();
    b.reverse();
    for seed in 0..8 {
        for cands in [&a, &b] {
            let s = select_seeded(cands, SelectionRule::Majority, Aggregation::Last, None, seed);
            // 2–2 in votes; 5 holds 1.0 of score, 4 holds 0.5.
            assert_eq!(s.selected.as_deref(), Some("5"), "seed {seed}");
            assert_eq!(s.selected_node, Some(1));
        }
    }
    // An answer with a score ranks above a tied one without.
    let c = vec![cand(0, "4", None), cand(1, "5", Some(0.0))];
    assert_eq!(
        select_seeded(&c, SelectionRule::Majority, Aggregation::Last, None, 0).selected.as_deref(),
        Some("5")
    );
}

#[test]
fn unscored_ties_go_to_the_runs_seed_not_the_first_candidate() {
    let four = ["12", "7", "\\frac{1}{2}", "x + 1"];
    let picks: Vec<String> = (0..64)
        .map(|seed| {
            let forward: Vec<Candidate> =
                four.iter().enumerate().map(|(i, a)| cand(i as u32, a, None)).collect();
            let mut backward = forward.clone();
            backward.reverse();
            let f = select_seeded(&forward, SelectionRule::Majority, Aggregation::Last, None, seed);
            let b = select_seeded(&backward, SelectionRule::Majority, Aggregation::Last, None, seed);
            assert_eq!(f.selected, b.selected, "seed {seed}: the order of candidates does not matter");
            let again = select_seeded(&forward, SelectionRule::Majority, Aggregation::Last, None, seed);
            assert_eq!(f.selected, again.selected, "seed {seed}: the same seed picks the same answer");
            f.selected.unwrap()
        })
        .collect();
    for a in four {
        assert!(picks.iter().any(|p| p == a), "some seed picks {a}: {picks:?}");
    }
}

#[tokio::test]
async fn a_best_of_n_tie_is_broken_by_the_runs_seed() {
    // Two candidates, two answers, no verifier: the seed decides, whichever finishes first.
    let mut picked = std::collections::BTreeSet::new();
    for seed in 0..16u64 {
        let gen = Arc::new(ScriptedGenerator::new(|i: &ScriptInput| {
            format!("Work.\n\nThe answer is \\boxed{{{}}}.", if i.seed % 2 == 0 { "10" } else { "20" })
        }));
        let cfg = RunConfig { n: 2, seed, ..RunConfig::default() };
        let tree = run_to_end(cfg, gen, Arc::new(NoVerifier)).await;
        let cands: Vec<Candidate> = tree
            .nodes
            .iter()
            .map(|n| Candidate { node: n.node, answer: n.answer.clone(), score: None })
            .collect();
        let want = select_seeded(&cands, SelectionRule::Majority, Aggregation::Last, None, seed).selected;
        assert_eq!(tree.selected, want, "seed {seed}");
        picked.insert(tree.selected.unwrap());
    }
    assert_eq!(picked.len(), 2, "both answers win under some seed: {picked:?}");
}

#[tokio::test]
async fn a_candidate_cut_off_mid_answer_has_no_vote() {
    // Four different answers; candidate 0 is cut off by the token limit inside "\(\".
    let gen = Arc::new(ScriptedGenerator::new(|i: &ScriptInput| match i.seed {
        0 => "Work.\n\nThe answer is \\(\\".to_string() + &"x".repeat(400),
        s => format!("\\boxed{{{}}}", s * 10),
    }));
    let cfg = RunConfig { n: 4, max_tokens: 6, ..RunConfig::default() };
    let tree = run_to_end(cfg, gen, Arc::new(NoVerifier)).await;
    let cut = &tree.nodes[0];
    assert_eq!(cut.done_reason.as_deref(), Some("length"));
    let sel = tree.selection.clone().unwrap();
    assert!(sel.answers.iter().all(|t| !t.nodes.contains(&0)), "{sel:?}");
    assert!(sel.selected.as_deref().is_some_and(|s| !malformed(s)), "{sel:?}");
    // Extraction already refuses "\(\" (an open delimiter is no answer); selection would
    // refuse it too, as the direct check below shows.
    assert_eq!(cut.answer, None, "no answer from a cut-off delimiter");
    assert_eq!(sel.answers.len(), 3, "the three whole answers, one vote each");
    assert!(tree.nodes[1..].iter().all(|n| n.done_reason.as_deref() == Some("stop")));
    // The same rule on the answer from the real run.
    let s = select_seeded(
        &[cand(0, "\\(\\", None), cand(1, "10", None), cand(2, "20", None), cand(3, "30", None)],
        SelectionRule::Majority,
        Aggregation::Last,
        None,
        0,
    );
    assert_eq!(s.answers.len(), 3);
    assert_ne!(s.selected.as_deref(), Some("\\(\\"));
}

/// How the judge double answers the one-token log-probability request.
#[derive(Clone, Copy)]
enum Reply {
    /// Alternatives without either verdict token.
    NoVerdictAmongAlternatives,
    /// The chosen token only, no alternatives.
    BareToken(&'static str),
}

/// A judge model: the log-probability request gets `reply`; sampled verdicts say "Yes".
struct JudgeDouble {
    reply: Reply,
    requests: std::sync::atomic::AtomicU64,
}

#[async_trait]
impl Generator for JudgeDouble {
    fn info(&self) -> GeneratorInfo {
        GeneratorInfo {
            backend: "scripted".into(),
            model: "judge".into(),
            location: "here".into(),
            logprobs: true,
        }
    }

    async fn generate(&self, req: GenRequest, _cancel: CancellationToken) -> Result<ChunkStream, GenError> {
        self.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (text, logprobs) = if req.top_logprobs > 0 {
            match self.reply {
                Reply::NoVerdictAmongAlternatives => {
                    let top = ["Step", " The", "1"]
                        .iter()
                        .map(|t| TopLogprob { token: (*t).into(), logprob: 0.3f64.ln() })
                        .collect();
                    (
                        "Step".to_string(),
                        Some(vec![TokenLogprob {
                            token: "Step".into(),
                            logprob: 0.3f64.ln(),
                            top_logprobs: top,
                        }]),
                    )
                }
                Reply::BareToken(t) => (
                    t.to_string(),
                    Some(vec![TokenLogprob { token: t.into(), logprob: 0.0, top_logprobs: vec![] }]),
                ),
            }
        } else {
            ("Yes".to_string(), None)
        };
        let items: Vec<Result<Chunk, GenError>> = vec![
            Ok(Chunk::Delta { text, logprobs }),
            Ok(Chunk::Done(GenStats {
                prompt_tokens: 10,
                generated_tokens: 1,
                done_reason: "stop".into(),
                ..GenStats::default()
            })),
        ];
        Ok(Box::pin(futures::stream::iter(items)))
    }
}

async fn judge_one(reply: Reply) -> (crate::verify::StepScore, u64) {
    let gen = Arc::new(JudgeDouble { reply, requests: 0.into() });
    let judge = JudgeVerifier::new(gen.clone(), JudgeTemplate::bundled());
    let problem = Problem::inline("What is 2 + 2?", None);
    let steps = vec!["2 + 2 = 4".to_string()];
    let req = ScoreRequest { problem: &problem, steps: &steps, start: 0, finished: false, logprobs: None };
    let mut out = judge.score(req, CancellationToken::new()).await.unwrap();
    (out.pop().unwrap(), gen.requests.load(std::sync::atomic::Ordering::Relaxed))
}

#[tokio::test]
async fn the_judge_samples_verdicts_when_neither_token_is_among_the_alternatives() {
    let (s, requests) = judge_one(Reply::NoVerdictAmongAlternatives).await;
    assert_eq!(s.score, Some(1.0), "five sampled verdicts, all Yes: {s:?}");
    let StepDetail::Judge { method, verdicts, top_logprobs, .. } = &s.detail else { panic!("{s:?}") };
    assert_eq!(*method, JudgeMethod::Sampled);
    assert_eq!(verdicts.len(), 5);
    assert_eq!(top_logprobs.len(), 3, "the alternatives that did not decide are kept for the inspector");
    assert_eq!((requests, s.usage.requests), (6, 6), "one log-probability request, then five samples");
}

#[tokio::test]
async fn a_reply_without_alternatives_is_a_one_token_score() {
    for (token, want) in [("Yes", 1.0), ("No", 0.0)] {
        let (s, requests) = judge_one(Reply::BareToken(token)).await;
        assert_eq!(s.score, Some(want));
        let StepDetail::Judge { method, p_yes, .. } = &s.detail else { panic!("{s:?}") };
        assert_eq!(*method, JudgeMethod::Token, "not a log-probability score");
        assert_eq!(*p_yes, None);
        assert_eq!(requests, 1);
    }
    // A bare token that is no verdict: sampled verdicts decide.
    let (s, requests) = judge_one(Reply::BareToken("Hmm")).await;
    let StepDetail::Judge { method, .. } = &s.detail else { panic!("{s:?}") };
    assert_eq!((*method, s.score, requests), (JudgeMethod::Sampled, Some(1.0), 6));
}

#[test]
fn a_run_that_selects_again_keeps_its_tie_break() {
    // The run's own selection and a new selection with the same seed agree.
    let c = vec![cand(0, "3", Some(0.5)), cand(1, "4", Some(0.5))];
    for seed in 0..8 {
        let a = select_seeded(&c, SelectionRule::Weighted, Aggregation::Last, None, seed);
        let b = select_seeded(
            &[c[1].clone(), c[0].clone()],
            SelectionRule::Weighted,
            Aggregation::Last,
            None,
            seed,
        );
        assert_eq!(a.selected, b.selected);
        assert_eq!(a.answers.len(), 2);
    }
}

//! Tree search rules pinned with a scripted generator and verifier: the pool of at most N
//! finished solutions, ranking by the aggregation of the whole prefix, ties broken with the
//! run's seed, neutral unscored steps, completion at max depth, DVTS shares and live N, N < M.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::tests_harness::{commanding_verifier, gen, run_with, value, value_verifier};
use crate::event::{Event, NodeId};
use crate::problem::Problem;
use crate::scripted::ScriptedGenerator;
use crate::strategy::engine::is_final_step;
use crate::strategy::{Command, RunConfig, StrategyKind};
use crate::tree::{NodeStatus, RunTree};
use crate::verify::{Aggregation, OracleVerifier, ScoreRequest, Verifier};

const SEARCH: [StrategyKind; 3] = [StrategyKind::Beam, StrategyKind::Lookahead, StrategyKind::Dvts];

fn cfg(strategy: StrategyKind, n: usize, width: usize) -> RunConfig {
    RunConfig { strategy, n, width, max_depth: 10, lookahead: 1, ..RunConfig::default() }
}

async fn run_to_end(
    cfg: RunConfig,
    gen: Arc<ScriptedGenerator>,
    ver: Arc<dyn Verifier>,
) -> (Vec<Event>, RunTree) {
    run_with(cfg, gen, ver, None).await
}

fn kept_pruned(events: &[Event]) -> Vec<(NodeId, u32, bool)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::NodeKept { node, rank, .. } => Some((*node, *rank, true)),
            Event::NodePruned { node, rank, .. } => Some((*node, *rank, false)),
            _ => None,
        })
        .collect()
}

fn kept(events: &[Event]) -> Vec<NodeId> {
    kept_pruned(events).into_iter().filter(|m| m.2).map(|m| m.0).collect()
}

fn finished(events: &[Event]) -> usize {
    events.iter().filter(|e| matches!(e, Event::NodeFinished { .. })).count()
}

fn at_depth(tree: &RunTree, d: u32) -> usize {
    tree.nodes.iter().filter(|n| n.depth == d).count()
}

fn applied(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Applied { change } => Some(change.clone()),
            _ => None,
        })
        .collect()
}

/// Paths that end early by seed and depth, at most 5 steps long.
fn ragged() -> Arc<ScriptedGenerator> {
    gen(|seed, prefix| {
        let d = prefix.len() as i64;
        if (seed + d) % 3 == 0 || d >= 4 {
            format!("The answer is \\boxed{{{}}}. v{}", seed % 2, (seed * 13) % 100)
        } else {
            format!("s{seed} d{d} v{}", (seed * 37 + d * 11) % 100)
        }
    })
}

#[tokio::test]
async fn the_pool_of_finished_solutions_is_at_most_n() {
    for kind in SEARCH {
        for (n, m) in [(4, 2), (8, 2), (6, 4), (16, 4), (5, 1), (3, 4)] {
            for (seed, max_depth) in [(0, 10), (1, 10), (2, 3), (5, 2)] {
                let c = RunConfig { seed, max_depth, ..cfg(kind, n, m) };
                let (events, tree) = run_to_end(c, ragged(), value_verifier()).await;
                let what = format!("{kind} N={n} M={m} seed={seed} depth={max_depth}");
                assert!(finished(&events) <= n, "{what}: {} finished", finished(&events));
                assert!(finished(&events) > 0, "{what}");
                // No round starts more children than N minus the solutions already finished.
                let mut done_before = 0usize;
                let mut started = 0usize;
                for e in &events {
                    match e {
                        Event::NodeStarted { .. } => started += 1,
                        Event::RoundFinished { finished, .. } => {
                            assert!(started <= n - done_before, "{what}: {started} started");
                            assert!(*finished as usize <= n, "{what}");
                            done_before = *finished as usize;
                            started = 0;
                        }
                        _ => {}
                    }
                }
                assert!(tree.nodes.iter().filter(|x| x.status == NodeStatus::Done).count() <= n, "{what}");
                assert!(matches!(events.last(), Some(Event::RunFinished { .. })));
            }
        }
    }
}

#[tokio::test]
async fn beam_search_fills_but_never_exceeds_the_pool() {
    // Seeds 0 and 2 finish at depth 0 (pool 2); the two open beams leave room for one beam
    // of M = 2 children a round, which finish at depth 1: the pool is exactly N = 4.
    let g = gen(|seed, prefix| match (prefix.len(), seed % 2) {
        (0, 0) => format!("The answer is \\boxed{{{seed}}}. v90"),
        (0, _) => format!("s{seed} d0 v50"),
        _ => format!("The answer is \\boxed{{{seed}}}. v80"),
    });
    let (events, tree) = run_to_end(cfg(StrategyKind::Beam, 4, 2), g, value_verifier()).await;
    assert_eq!(finished(&events), 4);
    assert_eq!(at_depth(&tree, 0), 4);
    assert_eq!(at_depth(&tree, 1), 2, "N − finished = 2 children, not N");
    assert_eq!(kept_pruned(&events).iter().filter(|m| m.2).count(), 1, "⌈2/M⌉ = 1 beam kept");
}

/// Depth 0: seeds 0..3 score 90, 30, 10, 20. Depth 1: below the 90 the steps score 60,
/// below the 30 they score 80. Depth 2 answers.
fn prefix_script() -> Arc<ScriptedGenerator> {
    gen(|seed, prefix| match prefix.len() {
        0 => format!("s{seed} d0 v{}", [90, 30, 10, 20][seed as usize % 4]),
        1 => {
            let v = match value(&prefix[0]) {
                Some(x) if x > 0.8 => 60,
                Some(x) if x > 0.25 => 80,
                _ => 50,
            };
            format!("s{seed} d1 v{v}")
        }
        _ => "The answer is \\boxed{1}.".to_string(),
    })
}

#[tokio::test]
async fn children_rank_by_the_aggregation_of_the_whole_prefix() {
    // Round 0 keeps node 0 (0.9) and node 1 (0.3). Round 1: nodes 4, 5 under node 0 score
    // 0.6; nodes 6, 7 under node 1 score 0.8. The new step alone would keep 6 and 7.
    for (agg, want, key) in [
        (Aggregation::Min, [4, 5], 0.6),
        (Aggregation::Mean, [4, 5], 0.75),
        (Aggregation::Prod, [4, 5], 0.54),
        (Aggregation::Last, [6, 7], 0.8),
    ] {
        let c = RunConfig { aggregation: agg, ..cfg(StrategyKind::Beam, 4, 2) };
        let (events, _) = run_to_end(c, prefix_script(), value_verifier()).await;
        let round1: BTreeSet<NodeId> = kept(&events).into_iter().filter(|n| *n >= 4).collect();
        assert_eq!(round1, want.into_iter().collect(), "{agg}");
        // The reported score is the prefix's, the one that ranked it.
        let score = events.iter().find_map(|e| match e {
            Event::NodeKept { node, score, .. } if *node == want[0] => *score,
            _ => None,
        });
        assert!((score.unwrap() - key).abs() < 1e-9, "{agg}: {score:?}");
    }
}

/// Every step scores 1 (a 0/1 verifier that likes everything): all ties.
fn flat_script() -> Arc<ScriptedGenerator> {
    gen(|seed, prefix| {
        if prefix.len() >= 2 {
            format!("The answer is \\boxed{{{}}}.", seed % 3)
        } else {
            format!("s{seed} d{} v100", prefix.len())
        }
    })
}

#[tokio::test]
async fn ties_are_broken_with_the_runs_seed() {
    for kind in [StrategyKind::Beam, StrategyKind::Lookahead] {
        ties_for(kind).await;
    }
}

async fn ties_for(kind: StrategyKind) {
    let mut round0 = BTreeSet::new();
    let mut spread = false;
    for seed in 0..16u64 {
        let c = RunConfig { seed, ..cfg(kind, 4, 2) };
        let (a, ta) = run_to_end(c.clone(), flat_script(), value_verifier()).await;
        let (b, tb) = run_to_end(c, flat_script(), value_verifier()).await;
        assert_eq!(kept_pruned(&a), kept_pruned(&b), "{kind} seed {seed}: same seed, same search");
        assert_eq!(ta.selected, tb.selected);
        let k: Vec<NodeId> = kept(&a);
        round0.insert(k.iter().filter(|n| **n < 4).copied().collect::<Vec<_>>());
        // Round 1 keeps two of nodes 4..8 (4, 5 under one parent, 6, 7 under the other).
        let parents: BTreeSet<Option<NodeId>> =
            k.iter().filter(|n| (4..8).contains(*n)).map(|n| ta.nodes[*n as usize].parent).collect();
        spread |= parents.len() == 2;
    }
    assert!(round0.len() > 1, "{kind}: different seeds keep different beams: {round0:?}");
    assert!(spread, "{kind}: ties do not always go to one parent's children");
}

#[tokio::test]
async fn an_unscored_step_is_neutral() {
    // Depth 0: 0.6, 0.4, 0.2, 0.1. Below the 0.6 the verifier leaves steps unscored ("u");
    // below the 0.4 they score 0.5. Unscored, the children keep their parent's 0.6 and win.
    let g = gen(|seed, prefix| match prefix.len() {
        0 => format!("s{seed} d0 v{}", [60, 40, 20, 10][seed as usize % 4]),
        1 if prefix[0].contains("v60") => format!("s{seed} d1 u"),
        1 => format!("s{seed} d1 v50"),
        _ => "The answer is \\boxed{1}.".to_string(),
    });
    for agg in [Aggregation::Last, Aggregation::Min, Aggregation::Mean, Aggregation::Prod] {
        let c = RunConfig { aggregation: agg, ..cfg(StrategyKind::Beam, 4, 2) };
        let (events, tree) = run_to_end(c, g.clone(), value_verifier()).await;
        let round1: Vec<NodeId> = kept(&events).into_iter().filter(|n| *n >= 4).collect();
        assert_eq!(round1.len(), 2, "{agg}");
        for n in round1 {
            assert_eq!(tree.nodes[n as usize].parent, Some(0), "{agg}: unscored children are not pruned");
        }
    }
    // With no score anywhere in the prefix a step ranks as neutral (0.5): above 0.4, below 0.7.
    let g = gen(|seed, prefix| match prefix.len() {
        0 => ["s0 u", "s1 v40", "s2 u", "s3 v70"][seed as usize % 4].to_string(),
        _ => "The answer is \\boxed{1}.".to_string(),
    });
    let (events, _) = run_to_end(cfg(StrategyKind::Beam, 4, 2), g, value_verifier()).await;
    let marks = kept_pruned(&events);
    assert_eq!(marks[0], (3, 0, true));
    assert_eq!(marks[3], (1, 3, false));
    let middle: BTreeSet<NodeId> = marks[1..3].iter().map(|m| m.0).collect();
    assert_eq!(middle, [0, 2].into_iter().collect());
}

#[tokio::test]
async fn open_beams_are_completed_at_max_depth() {
    // A step request stops at the blank line, so steps never answer; only a request with no
    // stop (the completion) reaches the answer.
    let g = gen(|seed, prefix| format!("s{seed} d{} v50\n\nThe answer is \\boxed{{7}}.", prefix.len()));
    for kind in SEARCH {
        let c = RunConfig { max_depth: 2, ..cfg(kind, 4, 2) };
        let (events, tree) = run_to_end(c, g.clone(), value_verifier()).await;
        let done: Vec<_> = tree.nodes.iter().filter(|n| n.status == NodeStatus::Done).collect();
        assert_eq!(done.len(), 4, "{kind}: the pool is N");
        for n in &done {
            assert_eq!(n.done_reason.as_deref(), Some("max_depth"), "{kind}");
            assert_eq!(n.answer.as_deref(), Some("7"), "{kind}");
            assert_eq!(n.depth, 2, "{kind}");
            let texts: Vec<&str> = n.steps.iter().map(|s| s.text.as_str()).collect();
            assert_eq!(texts.len(), 4, "{kind}: {texts:?}");
            assert!(texts[2].contains("d2 v50") && texts[3].contains("boxed{7}"), "{kind}: {texts:?}");
            assert_eq!(n.steps[2].verdict.as_ref().and_then(|v| v.score), Some(0.5), "{kind}: scored");
        }
        assert_eq!(tree.selected.as_deref(), Some("7"), "{kind}");
        assert!(matches!(events.last(), Some(Event::RunFinished { error: None, .. })), "{kind}");
    }
}

#[tokio::test]
async fn dvts_subtrees_share_n() {
    // N = 6, M = 4: a subtree of 4 and one of 2. Depth 1 answers: the pool is exactly 6.
    let g = gen(|seed, prefix| match prefix.len() {
        0 => format!("s{seed} d0 v{}", (seed * 17) % 100),
        _ => format!("The answer is \\boxed{{{}}}.", seed % 2),
    });
    let (events, tree) = run_to_end(cfg(StrategyKind::Dvts, 6, 4), g, value_verifier()).await;
    assert_eq!(at_depth(&tree, 0), 6);
    assert_eq!(at_depth(&tree, 1), 6);
    assert_eq!(finished(&events), 6);
    let parents: BTreeSet<Option<NodeId>> =
        tree.nodes.iter().filter(|n| n.depth == 1).map(|n| n.parent).collect();
    assert_eq!(parents.len(), 2, "one kept path per subtree");
}

#[tokio::test]
async fn a_dvts_subtree_whose_best_child_finished_completes_its_siblings() {
    // Depth 1: seed 4 answers with 0.9; the others write a 0.3 step. Depth 2 answers.
    let g = gen(|seed, prefix| match prefix.len() {
        0 => format!("s{seed} d0 v50"),
        1 if seed == 4 => "The answer is \\boxed{1}. v90".to_string(),
        1 => format!("s{seed} d1 v30"),
        _ => "The answer is \\boxed{2}.".to_string(),
    });
    let (events, tree) = run_to_end(cfg(StrategyKind::Dvts, 4, 2), g, value_verifier()).await;
    assert_eq!(finished(&events), 4, "the pool is N");
    let completed: Vec<_> =
        tree.nodes.iter().filter(|n| n.done_reason.as_deref() == Some("completed")).collect();
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0].parent, Some(5), "node 4's sibling is completed");
    assert_eq!(tree.nodes[5].status, NodeStatus::Kept);
}

fn two_step_script() -> Arc<ScriptedGenerator> {
    gen(|seed, prefix| match prefix.len() {
        0 => format!("s{seed} d0 v50"),
        _ => format!("The answer is \\boxed{{{}}}.", seed % 2),
    })
}

#[tokio::test]
async fn raising_n_in_dvts_adds_subtrees() {
    let (ver, holder) = commanding_verifier(vec![Command::SetN(8)]);
    let (events, tree) = run_with(cfg(StrategyKind::Dvts, 4, 2), two_step_script(), ver, Some(holder)).await;
    assert_eq!(applied(&events), vec!["N = 8: 2 subtrees added (4 in all) from depth 2"]);
    assert_eq!(at_depth(&tree, 0), 8, "the new subtrees start from the root");
    assert_eq!(finished(&events), 8);
}

#[tokio::test]
async fn lowering_n_in_dvts_removes_subtrees() {
    let (ver, holder) = commanding_verifier(vec![Command::SetN(4)]);
    let (events, tree) = run_with(cfg(StrategyKind::Dvts, 8, 2), two_step_script(), ver, Some(holder)).await;
    assert_eq!(applied(&events), vec!["N = 4: 2 subtrees removed from depth 2"]);
    assert_eq!(finished(&events), 4);
    let cancelled = tree.nodes.iter().filter(|n| n.status == NodeStatus::Cancelled).count();
    assert_eq!(cancelled, 2, "the removed subtrees' kept paths");
}

#[tokio::test]
async fn a_dvts_n_change_that_cannot_apply_is_refused() {
    // Every subtree finishes a solution in round 0 (even seeds answer), so none can go.
    let g = gen(|seed, prefix| match (prefix.len(), seed % 2) {
        (0, 0) => "The answer is \\boxed{1}. v10".to_string(),
        (0, _) => format!("s{seed} d0 v90"),
        _ => "The answer is \\boxed{1}.".to_string(),
    });
    let (ver, holder) = commanding_verifier(vec![Command::SetN(2)]);
    let (events, _) = run_with(cfg(StrategyKind::Dvts, 4, 2), g, ver, Some(holder)).await;
    let a = applied(&events);
    assert_eq!(a.len(), 1);
    assert!(a[0].starts_with("N = 2 refused") && a[0].contains("N stays 4"), "{a:?}");
    assert_eq!(finished(&events), 4, "the search went on with N = 4");
}

#[tokio::test]
async fn lowering_n_in_beam_search_stops_at_what_has_finished() {
    // Seeds 0 and 2 finish at depth 0; N = 1 cannot undo that.
    let g = gen(|seed, prefix| match (prefix.len(), seed % 2) {
        (0, 0) => "The answer is \\boxed{1}. v10".to_string(),
        (0, _) => format!("s{seed} d0 v90"),
        _ => "The answer is \\boxed{1}.".to_string(),
    });
    let (ver, holder) = commanding_verifier(vec![Command::SetN(1)]);
    let (events, tree) = run_with(cfg(StrategyKind::Beam, 4, 2), g, ver, Some(holder)).await;
    assert_eq!(applied(&events), vec!["N = 2 (not 1: 2 solutions have finished already) from depth 2"]);
    assert_eq!(finished(&events), 2);
    assert_eq!(tree.nodes.iter().filter(|n| n.status == NodeStatus::Cancelled).count(), 1);
}

#[tokio::test]
async fn n_below_m_keeps_one_path_and_n_children() {
    let g = gen(|seed, prefix| match prefix.len() {
        0 | 1 => format!("s{seed} d{} v{}", prefix.len(), (seed * 29) % 100),
        _ => "The answer is \\boxed{1}.".to_string(),
    });
    for kind in SEARCH {
        let (events, tree) = run_to_end(cfg(kind, 2, 4), g.clone(), value_verifier()).await;
        assert_eq!((at_depth(&tree, 0), at_depth(&tree, 1), at_depth(&tree, 2)), (2, 2, 2), "{kind}");
        assert_eq!(finished(&events), 2, "{kind}");
        assert_eq!(tree.selected.as_deref(), Some("1"), "{kind}");
    }
}

#[test]
fn only_a_stated_final_answer_ends_a_path() {
    for step in [
        "The answer is \\boxed{42}.",
        "So \\boxed{x=3}",
        "The answer is 42.",
        "Therefore, the final answer is $\\frac{1}{2}$.",
        "Thus the answer is: 17",
        "The answer is (B).",
        "We add them.\nThe answer is 3 × 4 = 12.",
        "Final Answer: The final answer is $5$. I hope it is correct.",
    ] {
        assert!(is_final_step(step), "{step:?} ends the path");
    }
    for step in [
        "Let's check whether the answer is reasonable.",
        "The answer is not 7, because 7 is odd.",
        "To see what the answer is, we first add 3 and 4.",
        "The answer is $x$ where $x$ solves the equation.",
        "If the answer is 5, then the sum is 10.",
        "The answer is 5. Let me double-check that.",
        "Is the answer is 5?",
        "We need the answer is positive.",
        "answer is",
        "The answer is ×× 中文 🙂 without a number",
        "",
    ] {
        assert!(!is_final_step(step), "{step:?} does not end the path");
    }
}

#[tokio::test]
async fn the_oracle_gives_partial_steps_no_signal() {
    let problem = Problem::inline("Count.", Some("1".into()));
    let steps = vec!["We have 1 apple.".to_string(), "The answer is \\boxed{2}.".to_string()];
    let cancel = tokio_util::sync::CancellationToken::new();
    let partial =
        ScoreRequest { problem: &problem, steps: &steps, start: 0, finished: false, logprobs: None };
    let out = OracleVerifier.score(partial, cancel.clone()).await.unwrap();
    assert!(out.iter().all(|s| s.score.is_none()), "no score before the solution is finished");
    let done = ScoreRequest { problem: &problem, steps: &steps, start: 0, finished: true, logprobs: None };
    let out = OracleVerifier.score(done, cancel).await.unwrap();
    assert_eq!(out.iter().map(|s| s.score).collect::<Vec<_>>(), vec![None, Some(0.0)]);

    // In beam search the open prefixes carry no score (they rank as neutral, by the seed);
    // a path that ends with no new step is scored again as finished.
    let g = gen(|seed, prefix| match prefix.len() {
        0 => format!("We count {} then 1.", seed + 3),
        _ => String::new(),
    });
    let (events, tree) = run_to_end(cfg(StrategyKind::Beam, 4, 2), g, Arc::new(OracleVerifier)).await;
    for e in &events {
        if let Event::NodeKept { score, .. } | Event::NodePruned { score, .. } = e {
            assert_eq!(*score, None);
        }
    }
    let done: Vec<_> = tree.nodes.iter().filter(|n| n.status == NodeStatus::Done).collect();
    assert_eq!(done.len(), 4, "the kept paths' children end");
    assert!(done.iter().all(|n| n.score == Some(1.0)), "{done:?}");
    assert_eq!(tree.selected.as_deref(), Some("1"));
}

#[tokio::test]
async fn beam_search_spreads_n_children_over_its_kept_beams() {
    // N = 6: M = 4 keeps one beam, M = 2 keeps three; either way a round writes 6 children.
    let g = gen(|seed, prefix| match prefix.len() {
        0 | 1 => format!("s{seed} d{} v{}", prefix.len(), (seed * 29) % 100),
        _ => "The answer is \\boxed{1}.".to_string(),
    });
    for (m, parents) in [(4, 1), (2, 3)] {
        let (events, tree) = run_to_end(cfg(StrategyKind::Beam, 6, m), g.clone(), value_verifier()).await;
        assert_eq!((at_depth(&tree, 0), at_depth(&tree, 1), at_depth(&tree, 2)), (6, 6, 6), "M = {m}");
        let p: BTreeSet<Option<NodeId>> =
            tree.nodes.iter().filter(|n| n.depth == 1).map(|n| n.parent).collect();
        assert_eq!(p.len(), parents, "M = {m}");
        assert_eq!(finished(&events), 6, "M = {m}: the pool is N");
    }
}

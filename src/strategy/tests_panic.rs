//! A candidate whose work panics fails alone; every strategy still ends its run.

use std::sync::Arc;

use crate::event::Event;
use crate::problem::Problem;
use crate::run::{start, SolvePrompt};
use crate::scripted::{ScriptInput, ScriptedGenerator, ScriptedVerifier};
use crate::strategy::{RunConfig, StrategyKind};
use crate::tree::{NodeStatus, RunTree};
use crate::verify::Verifier;

/// What a panic quotes: the model's own hostile text.
const HOSTILE: &str = "\x1b[2J\x1b]0;pwned\x07 raw model text";

async fn run_to_end(
    cfg: RunConfig,
    gen: Arc<ScriptedGenerator>,
    ver: Arc<dyn Verifier>,
) -> (Vec<Event>, RunTree) {
    let mut h = start(Problem::inline("Count.", Some("4".into())), cfg, gen, ver, SolvePrompt::bundled());
    let mut events = Vec::new();
    let mut tree = RunTree::new();
    while let Some(e) = h.events.recv().await {
        tree.apply(&e);
        events.push(e);
    }
    (events, tree)
}

/// Writes "2 + 2 = 4" then the answer; the request with seed `bad` panics.
fn gen_panicking_at(bad: i64) -> Arc<ScriptedGenerator> {
    Arc::new(ScriptedGenerator::new(move |i: &ScriptInput| {
        if i.seed == bad {
            panic!("{HOSTILE}");
        }
        if i.prefix.is_empty() {
            "2 + 2 = 4\n\nThe answer is \\boxed{4}.".to_string()
        } else {
            "The answer is \\boxed{4}.".to_string()
        }
    }))
}

fn every_strategy() -> Vec<RunConfig> {
    StrategyKind::ALL
        .iter()
        .map(|&strategy| RunConfig {
            strategy,
            n: 4,
            width: 2,
            chains: 2,
            revisions: 2,
            max_depth: 4,
            ..RunConfig::default()
        })
        .collect()
}

fn assert_failed_safely(tree: &RunTree, what: &str) {
    let failed: Vec<_> = tree.nodes.iter().filter(|n| n.status == NodeStatus::Failed).collect();
    assert!(!failed.is_empty(), "{what}: a node is marked failed");
    for n in failed {
        let e = n.error.as_deref().unwrap_or("");
        assert!(e.starts_with("internal error (a bug in ttc)"), "{what}: {e}");
        assert!(!e.contains('\x1b') && !e.contains('\x07'), "{what}: no raw model text: {e:?}");
    }
    assert!(tree.budget.failed >= 1, "{what}: the failure is counted");
}

#[tokio::test]
async fn a_panicking_candidate_fails_alone_in_every_strategy() {
    for cfg in every_strategy() {
        let what = cfg.strategy.to_string();
        let (events, tree) =
            run_to_end(cfg, gen_panicking_at(1), Arc::new(crate::verify::ArithVerifier)).await;
        assert!(
            matches!(events.last(), Some(Event::RunFinished { error: None, .. })),
            "{what}: the run ends with a selection: {:?}",
            events.last()
        );
        assert!(tree.finished, "{what}");
        assert_eq!(tree.selected.as_deref(), Some("4"), "{what}");
        assert!(
            tree.nodes.iter().all(|n| n.status != NodeStatus::Streaming),
            "{what}: nothing left streaming"
        );
        assert!(tree.budget.policy_requests > 0 && tree.budget.finished > 0, "{what}: {:?}", tree.budget);
        assert_failed_safely(&tree, &what);
    }
}

#[tokio::test]
async fn a_panicking_verifier_fails_that_candidate_alone() {
    for cfg in every_strategy() {
        let what = cfg.strategy.to_string();
        let calls = std::sync::atomic::AtomicU32::new(0);
        // The second scoring call panics: one candidate loses its score, the rest go on.
        let ver = ScriptedVerifier::new(move |_p: &[String]| {
            if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 1 {
                panic!("{HOSTILE}");
            }
            Some(0.5)
        });
        let (events, tree) = run_to_end(cfg, gen_panicking_at(-1), Arc::new(ver)).await;
        assert!(
            matches!(events.last(), Some(Event::RunFinished { error: None, .. })),
            "{what}: {:?}",
            events.last()
        );
        assert_eq!(tree.selected.as_deref(), Some("4"), "{what}");
        assert!(tree.nodes.iter().all(|n| n.status != NodeStatus::Streaming), "{what}");
        let e = tree.nodes.iter().find_map(|n| n.error.as_deref()).expect("one node failed");
        assert!(e.contains("internal error (a bug in ttc)") && !e.contains('\x1b'), "{what}: {e:?}");
        assert!(!e.contains("the model reported"), "{what}: the verifier failed, not the model: {e}");
    }
}

#[tokio::test]
async fn when_every_candidate_panics_the_run_says_so() {
    for cfg in every_strategy() {
        let what = cfg.strategy.to_string();
        let gen = Arc::new(ScriptedGenerator::new(|_i: &ScriptInput| -> String { panic!("{HOSTILE}") }));
        let (events, tree) = run_to_end(cfg, gen, Arc::new(crate::verify::ArithVerifier)).await;
        let Some(Event::RunFinished { selected: None, error: Some(e), budget, .. }) = events.last() else {
            panic!("{what}: {:?}", events.last())
        };
        assert!(e.contains("candidates failed") && e.contains("internal error"), "{what}: {e}");
        assert!(!e.contains('\x1b'), "{what}: {e:?}");
        assert!(budget.failed >= 1, "{what}: {budget:?}");
        assert_failed_safely(&tree, &what);
    }
}

#[tokio::test]
async fn a_model_that_writes_nothing_ends_every_strategy_cleanly() {
    for cfg in every_strategy() {
        for dedup in [false, true] {
            let what = format!("{} dedup={dedup}", cfg.strategy);
            let gen = Arc::new(ScriptedGenerator::new(|_i: &ScriptInput| String::new()));
            let cfg = RunConfig { dedup, ..cfg.clone() };
            let (events, tree) = run_to_end(cfg, gen, Arc::new(crate::verify::ArithVerifier)).await;
            let Some(Event::RunFinished { selected: None, error: Some(e), .. }) = events.last() else {
                panic!("{what}: {:?}", events.last())
            };
            assert!(e.starts_with("no candidate wrote an answer"), "{what}: {e}");
            assert!(
                tree.nodes.iter().all(|n| n.steps.iter().all(|s| !s.text.is_empty())),
                "{what}: no empty step"
            );
        }
    }
}

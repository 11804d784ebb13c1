//! Adaptive-consistency on constructed answer streams: sample i (seed i) answers
//! `stream(i)`, so where the run stops follows from the Beta criterion alone.

use std::sync::Arc;

use crate::event::Event;
use crate::problem::Problem;
use crate::run::{start, SolvePrompt};
use crate::scripted::{ScriptInput, ScriptedGenerator, ScriptedVerifier};
use crate::strategy::stopping::{beta_majority_prob, verdict};
use crate::strategy::{Command, RunConfig, SelectionRule, StrategyKind, VerifierKind};
use crate::tree::{NodeStatus, RunTree};
use crate::verify::Verifier;

/// A generator whose sample with seed i answers `stream(i)` (`None`: no answer at all).
fn streamed(stream: impl Fn(i64) -> Option<&'static str> + Send + Sync + 'static) -> Arc<ScriptedGenerator> {
    Arc::new(ScriptedGenerator::new(move |i: &ScriptInput| match stream(i.seed) {
        Some(a) => format!("We work it out.\n\nThe answer is \\boxed{{{a}}}."),
        None => "We work it out.\n\nI am not sure.".to_string(),
    }))
}

fn cfg(n: usize, confidence: f64, batch: usize) -> RunConfig {
    RunConfig {
        strategy: StrategyKind::Consistency,
        n,
        confidence,
        batch,
        selection: SelectionRule::Majority,
        verifier: VerifierKind::None,
        ..RunConfig::default()
    }
}

async fn run_to_end(
    cfg: RunConfig,
    gen: Arc<ScriptedGenerator>,
    ver: Arc<dyn Verifier>,
    commands: Vec<Command>,
) -> (Vec<Event>, RunTree) {
    let mut h = start(Problem::inline("Count.", Some("7".into())), cfg, gen, ver, SolvePrompt::bundled());
    for c in commands {
        h.commands.send(c).unwrap();
    }
    let mut events = Vec::new();
    let mut tree = RunTree::new();
    while let Some(e) = h.events.recv().await {
        tree.apply(&e);
        events.push(e);
    }
    (events, tree)
}

fn no_verifier() -> Arc<dyn Verifier> {
    Arc::new(ScriptedVerifier::new(|_| None))
}

/// `(samples, stat, stopped)` of every check.
fn checks(events: &[Event]) -> Vec<(u32, f64, bool)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Stopping { samples, stat, stopped, .. } => Some((*samples, *stat, *stopped)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn identical_answers_stop_where_the_formula_says() {
    // k agreeing votes: P = 1 − 2^−(k+1); 0.95 first at k = 4, 0.99 first at k = 6.
    for (confidence, k) in [(0.95, 4u32), (0.99, 6), (0.75, 1), (0.9999, 13)] {
        let gen = streamed(|_| Some("7"));
        let (events, tree) = run_to_end(cfg(64, confidence, 1), gen.clone(), no_verifier(), vec![]).await;
        let c = checks(&events);
        assert_eq!(c.len(), k as usize, "one check per sample at {confidence}");
        for (i, (samples, stat, stopped)) in c.iter().enumerate() {
            let v = i as u32 + 1;
            assert_eq!(*samples, v);
            assert!((stat - (1.0 - 0.5f64.powi(v as i32 + 1))).abs() < 1e-12, "{v}: {stat}");
            assert_eq!(*stopped, v == k);
        }
        let s = tree.stopping.as_ref().unwrap();
        assert_eq!((s.stopped_at, s.samples, s.max), (Some(k), k, 64));
        assert_eq!(gen.requests(), k as u64, "nothing beyond the stop is drawn");
        assert_eq!(tree.nodes.len(), k as usize);
        assert_eq!((tree.selected.as_deref(), tree.correct), (Some("7"), Some(true)));
        assert_eq!(tree.budget.finished, k as u64);
    }
}

#[tokio::test]
async fn one_dissent_stops_at_sample_7() {
    // 7, 3, then 7s: after k ≥ 2 samples the votes are (k−1, 1), and
    // P = 1 − (v1 + 3)/2^(v1 + 2): v1 = 5 gives 0.9375, v1 = 6 gives 0.96484375.
    let gen = streamed(|s| Some(if s == 1 { "3" } else { "7" }));
    let (events, tree) = run_to_end(cfg(64, 0.95, 1), gen, no_verifier(), vec![]).await;
    let c = checks(&events);
    assert_eq!(c.last().map(|c| (c.0, c.2)), Some((7, true)));
    assert!((c[5].1 - 0.9375).abs() < 1e-12 && (c[6].1 - 0.96484375).abs() < 1e-12);
    assert_eq!(tree.stopping.as_ref().unwrap().stopped_at, Some(7));
    let Some(Event::Stopping { votes, .. }) =
        events.iter().rev().find(|e| matches!(e, Event::Stopping { .. }))
    else {
        panic!("no check")
    };
    assert_eq!(votes, &vec![("7".to_string(), 6), ("3".to_string(), 1)]);
}

#[tokio::test]
async fn an_alternating_stream_runs_to_n() {
    let gen = streamed(|s| Some(if s % 2 == 0 { "1" } else { "2" }));
    let (events, tree) = run_to_end(cfg(16, 0.95, 1), gen.clone(), no_verifier(), vec![]).await;
    let c = checks(&events);
    assert_eq!(c.len(), 16);
    assert!(c.iter().all(|c| !c.2 && c.1 < 0.95));
    let s = tree.stopping.as_ref().unwrap();
    assert_eq!((s.stopped_at, s.samples, s.max), (None, 16, 16));
    assert_eq!(gen.requests(), 16);
    // Ties never stop, not even at the lowest confidence: 8 against 8 at the end.
    let (_, tree) =
        run_to_end(cfg(16, 0.5, 2), streamed(|s| Some(["1", "2"][s as usize % 2])), no_verifier(), vec![])
            .await;
    assert_eq!(tree.stopping.unwrap().stopped_at, None);
}

#[tokio::test]
async fn n_reached_before_the_statistic_is() {
    let gen = streamed(|_| Some("7"));
    let (_, tree) = run_to_end(cfg(3, 0.95, 1), gen, no_verifier(), vec![]).await;
    let s = tree.stopping.unwrap();
    assert_eq!((s.stopped_at, s.samples), (None, 3));
    assert!((s.stat - 0.9375).abs() < 1e-12);
    assert_eq!(tree.selected.as_deref(), Some("7"));
}

#[tokio::test]
async fn unanswered_samples_are_drawn_but_do_not_vote() {
    // Even seeds write no answer: after k samples 7 has ⌊k/2⌋ votes, 4 votes come at k = 8.
    let gen = streamed(|s| (s % 2 == 1).then_some("7"));
    let (events, tree) = run_to_end(cfg(64, 0.95, 1), gen, no_verifier(), vec![]).await;
    let c = checks(&events);
    assert_eq!(c.last().map(|c| (c.0, c.2)), Some((8, true)));
    assert_eq!(c[0].1, 0.5, "no vote yet: no leader");
    assert_eq!(tree.stopping.unwrap().stopped_at, Some(8));
    assert_eq!(tree.nodes.iter().filter(|n| n.status == NodeStatus::Done).count(), 8);
}

#[tokio::test]
async fn batches_are_checked_whole() {
    // Batches of 3, all agreeing: 3 votes (0.9375) go on, 6 votes stop.
    let gen = streamed(|_| Some("7"));
    let (events, tree) = run_to_end(cfg(64, 0.95, 3), gen.clone(), no_verifier(), vec![]).await;
    let c = checks(&events);
    assert_eq!(c.iter().map(|c| (c.0, c.2)).collect::<Vec<_>>(), vec![(3, false), (6, true)]);
    assert_eq!(gen.requests(), 6);
    assert_eq!(tree.stopping.unwrap().stopped_at, Some(6));
    // The last batch is cut to N.
    let (events, _) = run_to_end(cfg(5, 0.9999, 3), streamed(|_| Some("7")), no_verifier(), vec![]).await;
    assert_eq!(checks(&events).iter().map(|c| c.0).collect::<Vec<_>>(), vec![3, 5]);
}

#[tokio::test]
async fn a_panicking_sample_fails_alone() {
    let gen = Arc::new(ScriptedGenerator::new(|i: &ScriptInput| {
        if i.seed == 2 {
            panic!("the script broke on 生成 \u{1b}[2J");
        }
        "ok\n\nThe answer is \\boxed{7}.".to_string()
    }));
    let (events, tree) = run_to_end(cfg(64, 0.95, 1), gen, no_verifier(), vec![]).await;
    // Sample 2 failed and does not vote: 4 votes for 7 come at sample 5.
    assert_eq!(tree.nodes[2].status, NodeStatus::Failed);
    assert_eq!(tree.stopping.as_ref().unwrap().stopped_at, Some(5));
    assert_eq!(checks(&events).len(), 5);
    assert_eq!((tree.selected.as_deref(), tree.error.as_deref()), (Some("7"), None));
    assert_eq!((tree.budget.finished, tree.budget.failed), (4, 1));
}

#[tokio::test]
async fn a_named_rule_picks_among_the_drawn_samples_and_says_so() {
    // 3 first, then 7s; the verifier loves 3. Sampling stops on the majority 7 (sample 5:
    // votes 4 to 1 give 1 − 7/64 ≈ 0.89 at 0.85), weighted selection picks 3.
    let gen = streamed(|s| Some(if s == 0 { "3" } else { "7" }));
    let ver: Arc<dyn Verifier> = Arc::new(ScriptedVerifier::new(|p: &[String]| {
        Some(if p.join(" ").contains("{3}") { 1.0 } else { 0.1 })
    }));
    let c =
        RunConfig { selection: SelectionRule::Weighted, verifier: VerifierKind::Arith, ..cfg(64, 0.85, 1) };
    let (_, tree) = run_to_end(c, gen, ver, vec![]).await;
    assert!((beta_majority_prob(4, 1) - (1.0 - 7.0 / 64.0)).abs() < 1e-12);
    assert_eq!(tree.stopping.as_ref().unwrap().stopped_at, Some(5));
    assert_eq!(tree.selected.as_deref(), Some("3"));
    let note = tree.selection.unwrap().note.unwrap();
    assert!(note.contains("majority answer 7") && note.contains("weighted"), "{note}");
}

#[tokio::test]
async fn a_live_confidence_applies_at_the_next_check() {
    // At 0.5 one vote stops; the change lands before the first check or the second.
    let gen = streamed(|_| Some("7"));
    let (events, tree) =
        run_to_end(cfg(64, 0.95, 1), gen, no_verifier(), vec![Command::SetConfidence(0.5)]).await;
    let at = tree.stopping.unwrap().stopped_at.unwrap();
    assert!(at == 1 || at == 2, "{at}");
    assert!(events.iter().any(|e| matches!(e, Event::Applied { change } if change.contains("confidence"))));
    // Out-of-range values are held to the limits.
    assert!(!verdict(1, 0, 0.9999).stop);
}

#[tokio::test]
async fn adaptive_can_choose_consistency_and_its_probes_vote() {
    use crate::spec::{PolicyTable, HEURISTIC_POLICY};
    let mut text = HEURISTIC_POLICY.to_string();
    for s in ["\"revise\"", "\"beam\"", "\"dvts\""] {
        text = text.replace(&format!("strategy = {s}"), "strategy = \"consistency\"");
    }
    let table = PolicyTable::parse(&text, "p.toml").unwrap();
    let c = RunConfig { strategy: StrategyKind::Adaptive, policy: Some(table), ..cfg(16, 0.95, 1) };
    let gen = streamed(|_| Some("7"));
    let (events, tree) = run_to_end(c, gen.clone(), no_verifier(), vec![]).await;
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Difficulty { strategy: StrategyKind::Consistency, .. })));
    // The 4 probes agree: the first check, before any new sample, already stops.
    let s = tree.stopping.unwrap();
    assert_eq!((s.stopped_at, s.samples, s.max), (Some(4), 4, 16));
    assert_eq!(gen.requests(), 4);
    assert_eq!(tree.selected.as_deref(), Some("7"));
}

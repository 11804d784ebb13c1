//! The view stays live where a person expects it: N moves on a finished best-of-N run
//! (re-selection with no request, or more candidates in the same run), the clock moves
//! while a run works, and a busy server is said to be busy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::action::Action;
use super::app::{App, Effect, PARALLEL_HINT};
use super::effects::{more_candidates, Batch, Msg, Prepared};
use super::fixture::{beam_events, best_of_n_events, Stage};
use super::tests::{app, render, screen};
use crate::event::Event;
use crate::problem::Problem;
use crate::run::SolvePrompt;
use crate::scripted::{ScriptInput, ScriptedGenerator, ScriptedVerifier};
use crate::strategy::{RunConfig, SelectionRule};
use crate::tree::NodeStatus;

/// Candidate `node` answers 5, 7, 7, 5, 5, … (seed = node with seed 0): the majority
/// over the first 1, 3 and 5 candidates is 5, 7 and 5.
fn answer_of(node: i64) -> u32 {
    if node == 1 || node == 2 {
        7
    } else {
        5
    }
}

fn scripted() -> (Arc<ScriptedGenerator>, Arc<ScriptedVerifier>) {
    let gen = ScriptedGenerator::new(|i: &ScriptInput| {
        format!("Think.\n\nThe answer is \\boxed{{{}}}.", answer_of(i.seed))
    });
    (Arc::new(gen), Arc::new(ScriptedVerifier::new(|_| Some(0.5))))
}

fn config(n: usize) -> RunConfig {
    RunConfig { n, selection: SelectionRule::Majority, ..RunConfig::default() }
}

fn selected(a: &App) -> Option<String> {
    a.run().unwrap().selection.as_ref().and_then(|s| s.selected.clone())
}

fn votes(a: &App) -> usize {
    a.run().unwrap().selection.as_ref().map_or(0, |s| s.answers.iter().map(|t| t.votes as usize).sum())
}

/// Fold `run`'s events into the app until it finishes.
async fn drain(a: &mut App, rx: &mut mpsc::UnboundedReceiver<Msg>) {
    loop {
        let Some(Msg::Run(run, e)) = rx.recv().await else { panic!("the run ended without finishing") };
        let end = matches!(e, Event::RunFinished { .. });
        a.on_event(run, &e);
        if end {
            return;
        }
    }
}

/// Carry out a `MoreCandidates` effect as the runtime does.
fn carry_out(fx: Vec<Effect>, p: &Prepared, tx: &mpsc::UnboundedSender<Msg>) {
    let [Effect::MoreCandidates { run, extra, first_node, budget, finished_tokens }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    let batch = Batch {
        run: *run,
        extra: *extra,
        first_node: *first_node,
        budget: crate::tree::tracker_for(budget, finished_tokens),
    };
    let _commands = more_candidates(p.again(), batch, Default::default(), tx.clone(), None);
}

#[tokio::test]
async fn n_down_and_up_on_a_finished_best_of_n_run_reselects_and_samples_more_in_the_same_run() {
    let (gen, ver) = scripted();
    let problem = Problem::inline("What is 2 + 3?", Some("5".into()));
    let mut a = app();
    a.knobs.config = config(3);
    a.problem = Some(problem.clone());
    let fx = a.update(Action::Rerun);
    assert!(matches!(fx.as_slice(), [Effect::StartRun { .. }]));
    let p = Prepared {
        problem: problem.clone(),
        config: config(3),
        generator: gen.clone(),
        verifier: ver.clone(),
        prompt: SolvePrompt::bundled(),
    };
    let mut h =
        crate::run::start(p.problem.clone(), p.config.clone(), gen.clone(), ver.clone(), p.prompt.clone());
    while let Some(e) = h.events.recv().await {
        a.on_event(0, &e);
    }
    assert!(a.run().unwrap().tree.finished);
    assert_eq!((gen.requests(), votes(&a), selected(&a).as_deref()), (3, 3, Some("7")));

    // Down to N = 1: re-selected over the first candidate, no request, the rest beyond N.
    assert!(a.update(Action::NDown).is_empty());
    assert!(a.update(Action::NDown).is_empty());
    assert_eq!((gen.requests(), votes(&a), selected(&a).as_deref()), (3, 1, Some("5")));
    assert_eq!(a.run().unwrap().tree.selected.as_deref(), Some("5"), "the run's answer follows N");
    let s = screen(&render(&a, 160, 30));
    assert!(s.contains("beyond N"), "{s}");
    assert!(s.contains("first 1 of 3"), "{s}");
    // Up again: the hidden candidates come back first, with no request.
    assert!(a.update(Action::NUp).is_empty());
    assert!(a.update(Action::NUp).is_empty());
    assert_eq!((gen.requests(), votes(&a), selected(&a).as_deref()), (3, 3, Some("7")));
    assert!(!screen(&render(&a, 160, 30)).contains("beyond N"));

    // Past the candidates the run has: one more candidate, sampled in the same run.
    let (tx, mut rx) = mpsc::unbounded_channel();
    for (n, want) in [(4, None), (5, Some("5"))] {
        let fx = a.update(Action::NUp);
        assert!(!a.run().unwrap().tree.finished, "the run reopens");
        carry_out(fx, &p, &tx);
        drain(&mut a, &mut rx).await;
        let r = a.run().unwrap();
        assert_eq!(r.tree.nodes.len(), n, "a pane per candidate");
        assert_eq!(gen.requests(), n as u64);
        assert_eq!(votes(&a), n, "a vote per candidate");
        assert_eq!(r.tree.budget.policy_requests, n as u64, "the budget carries on");
        assert_eq!(r.tree.budget.finished, n as u64);
        assert!(r.tree.nodes.iter().all(|x| x.status == NodeStatus::Done));
        assert!(r.tree.finished && r.tree.error.is_none());
        if let Some(w) = want {
            assert_eq!(selected(&a).as_deref(), Some(w));
            assert_eq!(r.tree.selected.as_deref(), Some(w));
        }
    }
    // And down again, still without a request.
    assert!(a.update(Action::NDown).is_empty());
    assert_eq!((gen.requests(), votes(&a)), (5, 4));
}

#[test]
fn n_on_a_finished_search_run_says_why_it_waits_for_the_next_run() {
    let mut a = app();
    a.problem = Some(Problem::inline("What is 12 + 30?", Some("42".into())));
    a.update(Action::Rerun);
    for e in beam_events(4, 2, 3) {
        a.on_event(0, &e);
    }
    assert!(a.run().unwrap().tree.finished);
    assert!(a.update(Action::NUp).is_empty());
    let m = a.message.clone().unwrap();
    assert!(m.contains("next run") && m.contains("pruned"), "{m}");
}

#[test]
fn the_clock_moves_while_a_run_works_and_stops_with_it() {
    let mut a = app();
    a.problem = Some(Problem::inline("What is 12 + 30?", Some("42".into())));
    a.update(Action::Rerun);
    for e in best_of_n_events(4, 40, Stage::Streaming, false) {
        a.on_event(0, &e);
    }
    let r = &mut a.runs[0];
    r.started = Some(Instant::now() - Duration::from_secs(10));
    let now = Some(Instant::now());
    assert!(r.elapsed_secs(now) >= 10.0, "{}", r.elapsed_secs(now));
    a.live_clock = true;
    let s = screen(&render(&a, 160, 30));
    assert!(s.contains(" 10.0 s") || s.contains(" 10.1 s"), "{s}");
    assert!(s.contains(" 16 tok/s"), "tokens over the live clock: {s}");
    // Finished: the run's own time, and nothing running any more.
    a.on_event(0, &Event::Load { running: 1, queued: 2, limit: 4 });
    a.on_event(
        0,
        &Event::RunFinished {
            selected: None,
            correct: None,
            budget: crate::budget::Budget { elapsed_ms: 2500, ..Default::default() },
            error: None,
        },
    );
    a.on_event(0, &Event::Load { running: 1, queued: 0, limit: 4 });
    let r = &a.runs[0];
    assert_eq!(r.elapsed_secs(Some(Instant::now())), 2.5);
    assert_eq!((r.tree.load.running, r.tree.load.queued), (0, 0));
    let s = screen(&render(&a, 160, 30));
    assert!(s.contains("0 running / 0 queued"), "{s}");
}

#[test]
fn a_candidate_the_server_has_not_started_waits_for_it_and_the_view_says_how_to_run_side_by_side() {
    let mut a = app();
    a.problem = Some(Problem::inline("What is 12 + 30?", Some("42".into())));
    a.update(Action::Rerun);
    a.on_event(0, &best_of_n_events(4, 0, Stage::Streaming, false)[0]);
    for node in 0..4 {
        let e = Event::NodeStarted {
            node,
            parent: None,
            seed: Some(node as i64),
            depth: 0,
            chain: None,
            revision: None,
        };
        a.on_event(0, &e);
    }
    // Node 0 streams; 1 has its headers and no token; 2 is sent (the client runs 3) with no
    // answer; 3 waits for a client slot.
    a.on_event(0, &Event::Load { running: 3, queued: 1, limit: 3 });
    a.on_event(0, &Event::NodeStreaming { node: 0 });
    a.on_event(0, &Event::NodeStreaming { node: 1 });
    a.on_event(0, &Event::TextDelta { node: 0, text: "12 + 30 = 42.\n\n".into() });
    a.on_event(0, &Event::StepCompleted { node: 0, step: 0, text: "12 + 30 = 42.".into() });
    let tree = &a.run().unwrap().tree;
    let waiting: Vec<bool> = (0..4).map(|id| super::layout::waits_for_server(tree, id)).collect();
    assert_eq!(waiting, [false, true, true, false]);
    let s = screen(&render(&a, 200, 30));
    assert_eq!(s.matches("waiting for the server").count(), 2, "{s}");
    assert!(!s.contains("streaming 0t"), "{s}");
    assert!(s.contains("waiting for a free slot"), "{s}");
    assert!(s.contains("queued for scoring"), "a step waits for the verifier: {s}");
    a.on_event(
        0,
        &Event::NodeFinished {
            node: 0,
            answer: Some("42".into()),
            correct: Some(true),
            score: None,
            tokens: 1,
            done_reason: "stop".into(),
        },
    );
    assert_eq!(a.message.as_deref(), Some(PARALLEL_HINT));
    assert!(PARALLEL_HINT.contains("OLLAMA_NUM_PARALLEL"));
    // Said once.
    a.message = None;
    a.on_event(
        0,
        &Event::NodeFinished {
            node: 1,
            answer: None,
            correct: None,
            score: None,
            tokens: 0,
            done_reason: "stop".into(),
        },
    );
    assert_eq!(a.message, None);
}

#[test]
fn candidates_that_stream_side_by_side_give_no_hint() {
    let mut a = app();
    a.problem = Some(Problem::inline("What is 12 + 30?", Some("42".into())));
    a.update(Action::Rerun);
    for e in best_of_n_events(4, 40, Stage::Finished, false) {
        a.on_event(0, &e);
    }
    assert!(a.message.is_none(), "{:?}", a.message);
}

#[test]
fn a_key_toggles_the_embedded_models_pace_and_full_speed() {
    let mut a = app();
    assert!(a.update(Action::TogglePace).is_empty(), "a server is not paced");
    assert!(a.message.as_deref().unwrap().contains("embedded model"));
    a.backend = "pocket (embedded, no server)".into();
    (a.pace, a.paced) = (20, 20);
    assert!(screen(&render(&a, 200, 30)).contains("F full speed"), "the footer offers full speed");
    assert_eq!(a.update(Action::TogglePace), vec![Effect::SetPace(0)]);
    assert_eq!(a.message.as_deref(), Some("full speed"));
    assert!(screen(&render(&a, 200, 30)).contains("F paced"));
    assert_eq!(a.update(Action::TogglePace), vec![Effect::SetPace(20)]);
    assert!(a.message.as_deref().unwrap().contains("20 tokens per second"));
    assert_eq!(super::keymap::Keymap::default().key_for(Action::TogglePace), "F");
}

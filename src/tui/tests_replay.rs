//! Headless tests of replay as a mode of the view: a trace opened beside the live runs
//! (from the trace browser) plays, seeks and steps with its own keys, goes back with q/Esc,
//! forks a live run from a replayed node, and a finished run is re-scored beside the original.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;
use super::app::rescore::rescored;
use super::app::{App, Effect, Mode};
use super::fixture::{beam_events, best_of_n_events, Stage};
use super::tests::{app, render};
use super::trace_list::Browser;
use crate::event::Event;
use crate::strategy::VerifierKind;
use crate::trace::{Header, Record, Trace, FORMAT_VERSION};
use crate::verify::{StepDetail, StepScore, Usage};

/// A trace of `events`, one every 10 ms of recorded time.
fn trace_of(events: Vec<Event>, name: &str) -> Trace {
    let Some(Event::RunStarted(info)) = events.first().cloned() else { panic!("no run_started") };
    let records = events
        .into_iter()
        .enumerate()
        .map(|(i, event)| Record { t: i as u64 * 10, event, deltas: 1 })
        .collect();
    Trace {
        path: PathBuf::from(format!("/traces/{name}")),
        header: Header {
            ttc_trace: FORMAT_VERSION,
            ttc_version: "0.1.0".into(),
            started: crate::trace::rfc3339(0),
            started_ms: 0,
            run: info,
        },
        records,
        notes: vec![],
    }
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn ch(c: char) -> KeyEvent {
    key(KeyCode::Char(c))
}

/// A live view with one finished run on screen.
fn live() -> App {
    let mut a = app();
    a.problem = Some(crate::problem::Problem::inline("What is 12 + 30?", Some("42".into())));
    a.update(Action::Rerun);
    for e in best_of_n_events(4, 40, Stage::Finished, false) {
        a.on_event(0, &e);
    }
    a
}

fn text(a: &App) -> String {
    let term = render(a, 140, 36);
    let buf = term.backend().buffer();
    (0..buf.area.height)
        .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn b_lists_the_traces_and_enter_replays_the_chosen_one_beside_the_live_run() {
    let mut a = live();
    assert_eq!(a.update(Action::BrowseTraces), vec![Effect::ListTraces]);
    let rows =
        vec![(PathBuf::from("/t/new.jsonl"), "new".into()), (PathBuf::from("/t/old.jsonl"), "old".into())];
    a.on_traces(Ok(Browser { rows, selected: 0, note: None }));
    assert!(matches!(a.mode, Mode::TraceBrowser { .. }));
    assert!(text(&a).contains("recorded traces"), "{}", text(&a));
    assert!(a.on_browser_key(KeyCode::Down).is_empty());
    assert_eq!(a.on_browser_key(KeyCode::Enter), vec![Effect::OpenTrace(PathBuf::from("/t/old.jsonl"))]);
    // A trace that cannot be read is said in the browser, which stays.
    assert!(a.on_trace(Err("cannot read the trace /t/old.jsonl".into())).is_empty());
    assert!(
        matches!(&a.mode, Mode::TraceBrowser { browser } if browser.note.as_deref().is_some_and(|n| n.contains("cannot replay it")))
    );
    let trace = trace_of(best_of_n_events(3, 30, Stage::Finished, false), "old.jsonl");
    assert_eq!(a.on_trace(Ok(trace.clone())), vec![Effect::Watch]);
    assert_eq!(a.mode, Mode::Normal);
    assert_eq!((a.runs.len(), a.current), (2, 1));
    assert!(text(&a).contains("replay of old.jsonl"), "{}", text(&a));
    assert!(text(&a).contains("Space play/pause") && text(&a).contains("f fork"), "{}", text(&a));
    // It plays to the recorded end: the same final state as the trace folded at once.
    assert!(a.tick_replays(Duration::from_millis(5)));
    assert!(!a.tick_replays(Duration::from_secs(60)), "ended: nothing plays");
    assert_eq!(a.runs[1].tree, trace.tree());
    assert!(a.replay_status().unwrap().contains("replay ended"));
    // q goes back to the live run; nothing quits.
    assert_eq!(a.replay_key(&ch('q')), Some(vec![]));
    assert!(!a.quit);
    assert_eq!(a.current, 0);
    assert!(a.replay_status().is_none());
    // Esc closes the browser.
    a.on_traces(Ok(Browser { rows: vec![(PathBuf::from("/t/x"), "x".into())], selected: 0, note: None }));
    assert!(a.on_browser_key(KeyCode::Esc).is_empty());
    assert_eq!(a.mode, Mode::Normal);
    a.on_traces(Err("no traces yet in /d: every run records one".into()));
    assert_eq!(a.mode, Mode::Normal);
    assert!(a.message.as_deref().is_some_and(|m| m.contains("no traces yet")));
}

#[test]
fn the_replay_keys_seek_step_present_and_refuse_what_would_ask_a_model() {
    let mut a = app();
    let trace = trace_of(beam_events(4, 2, 3), "beam.jsonl");
    let len = trace.events().count();
    a.open_replay(&trace, false);
    assert_eq!(a.replay_key(&ch('.')), Some(vec![]));
    assert_eq!(a.runs[0].replay.as_ref().unwrap().next, 1);
    assert!(a.replay_status().unwrap().contains("replay paused"));
    a.replay_key(&key(KeyCode::End));
    assert_eq!(a.runs[0].tree, trace.tree());
    a.replay_key(&ch(','));
    assert_eq!(a.runs[0].replay.as_ref().unwrap().next, len - 1);
    a.replay_key(&key(KeyCode::Home));
    assert!(a.runs[0].tree.nodes.is_empty(), "back at the start");
    // `>` goes just past the first round; presenter mode stops playing at the next one.
    a.replay_key(&ch('>'));
    let first = a.runs[0].replay.as_ref().unwrap().next;
    assert!(first > 1 && matches!(trace.events().nth(first - 1), Some((_, Event::RoundFinished { .. }))));
    a.replay_key(&ch('P'));
    a.replay_key(&ch(' '));
    a.tick_replays(Duration::from_secs(600));
    let r = a.runs[0].replay.as_ref().unwrap();
    assert!(r.clock.paused && r.next > first && r.next < len, "{} of {len}", r.next);
    assert!(matches!(trace.events().nth(r.next - 1), Some((_, Event::RoundFinished { .. }))));
    assert!(a.replay_status().unwrap().contains("(presenter)"));
    // Speed moves within its bounds; `r` would ask a model.
    for _ in 0..20 {
        a.replay_key(&ch('+'));
    }
    assert!(a.replay_status().unwrap().contains("at 100×"));
    assert_eq!(a.replay_key(&ch('r')), Some(vec![]));
    assert!(a.message.as_deref().is_some_and(|m| m.contains("only watches")));
    // Panes and the tree still move; `ttc replay FILE`'s q quits.
    assert_eq!(a.replay_key(&key(KeyCode::Right)), None);
    assert_eq!(a.replay_key(&ch('q')), None);
    assert_eq!(a.update(Action::Quit), vec![Effect::Quit]);
}

#[test]
fn f_on_a_replayed_node_forks_a_live_run_with_the_trace_s_problem_and_config() {
    let mut a = app();
    a.knobs.config.n = 2;
    let trace = trace_of(best_of_n_events(3, 30, Stage::Finished, false), "t.jsonl");
    a.open_replay(&trace, false);
    a.replay_key(&key(KeyCode::End));
    let node = &a.runs[0].tree.nodes[0];
    let steps: Vec<String> = node.steps.iter().map(|s| s.text.clone()).collect();
    assert!(!steps.is_empty());
    let fx = a.update(Action::Fork);
    let info = &trace.header.run;
    assert_eq!(
        fx,
        vec![Effect::Fork {
            problem: info.problem.clone(),
            config: info.config.clone(),
            model: info.generator.model.clone(),
            prefix: steps
        }]
    );
    assert_eq!((a.runs.len(), a.current), (2, 1));
    assert!(a.runs[1].replay.is_none(), "the fork is a live run");
    assert!(a.message.as_deref().is_some_and(|m| m.starts_with("fork of #0")));
}

/// Verdicts that score node `best` high and every other low.
fn verdicts(a: &App, best: u32) -> HashMap<u32, Vec<StepScore>> {
    a.runs[a.current]
        .tree
        .nodes
        .iter()
        .map(|n| {
            let s = if n.node == best { 0.95 } else { 0.05 };
            let v =
                n.steps.iter().map(|_| StepScore::scored(s, StepDetail::None, Usage::default())).collect();
            (n.node, v)
        })
        .collect()
}

#[test]
fn r_rescores_a_finished_run_beside_the_original_cycles_and_esc_clears() {
    let mut a = live();
    let own = a.runs[0].tree.clone();
    // The fixture's run: arith; the view has a server, the problem a gold answer.
    assert_eq!(a.rescore_kinds(), vec![VerifierKind::Judge, VerifierKind::None, VerifierKind::Oracle]);
    let fx = a.update(Action::Rescore);
    let [Effect::Rescore { run: 0, kind: VerifierKind::Judge, tree, .. }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(**tree, own);
    assert!(a.message.as_deref().is_some_and(|m| m.contains("re-scoring")));
    // Pressing again moves on; the answer for the verifier no longer asked for is dropped.
    let fx = a.update(Action::Rescore);
    assert!(matches!(fx.as_slice(), [Effect::Rescore { kind: VerifierKind::None, .. }]));
    let wrong = a.runs[0].tree.nodes.iter().find(|n| n.correct == Some(false)).unwrap().node;
    let view = rescored(&own, VerifierKind::None, "none".into(), &verdicts(&a, wrong));
    a.on_rescored(0, VerifierKind::Judge, Ok(view.clone()));
    assert!(a.runs[0].rescore.is_none(), "a stale answer is dropped");
    a.on_rescored(0, VerifierKind::None, Ok(view));
    let r = a.runs[0].rescore.as_deref().unwrap();
    assert!(r.comparison.answer_changed, "{:?}", r.comparison.selected);
    assert_eq!(a.runs[0].tree, own, "the run itself is as it was");
    assert!(a
        .message
        .as_deref()
        .is_some_and(|m| m.contains("re-scored with none") && m.contains("answer changed")));
    let screen = text(&a);
    assert!(screen.contains("re-scored none") && screen.contains("the answer changed"), "{screen}");
    assert!(screen.contains("→0.95") || screen.contains("→0.05"), "{screen}");
    // A failure is said; Esc clears the re-scoring first, then nothing else changes.
    a.update(Action::Rescore);
    a.on_rescored(0, VerifierKind::Oracle, Err("boom".into()));
    assert!(a.message.as_deref().is_some_and(|m| m.contains("re-score with oracle failed: boom")));
    assert!(a.update(Action::Back).is_empty());
    assert!(a.runs[0].rescore.is_none() && a.runs[0].rescore_pending.is_none());
    assert!(!text(&a).contains("re-scored"));
}

#[test]
fn r_waits_for_the_run_to_finish_and_offers_the_prm_only_on_pocket_chains() {
    let mut a = app();
    a.problem = Some(crate::problem::Problem::inline("What is 12 + 30?", Some("42".into())));
    a.update(Action::Rerun);
    for e in best_of_n_events(4, 40, Stage::Streaming, false) {
        a.on_event(0, &e);
    }
    assert!(a.update(Action::Rescore).is_empty());
    assert!(a.message.as_deref().is_some_and(|m| m.contains("not finished")));
    let mut events = best_of_n_events(2, 20, Stage::Finished, false);
    if let Some(Event::RunStarted(info)) = events.first_mut() {
        info.problem = crate::problem::Problem::inline("Start at 3. Add 4.", None);
    }
    let mut b = app();
    b.backend = "pocket (embedded, no server)".into();
    b.open_replay(&trace_of(events, "p.jsonl"), false);
    b.replay_key(&key(KeyCode::End));
    assert_eq!(b.rescore_kinds(), vec![VerifierKind::Prm, VerifierKind::None]);
}

#[test]
fn rescoring_selects_again_among_the_same_candidates() {
    let a = live();
    let own = &a.runs[0].tree;
    let right = own.nodes.iter().find(|n| n.correct == Some(true)).unwrap().node;
    let view = rescored(own, VerifierKind::Oracle, "oracle".into(), &verdicts(&a, right));
    assert_eq!(view.nodes.get(&right), Some(&Some(0.95)));
    assert_eq!(view.step(right, 0), Some(Some(0.95)));
    assert_eq!(view.comparison.verifier.after, "oracle");
    assert_eq!(view.selection.selected.as_deref(), own.nodes[right as usize].answer.as_deref());
}

#[test]
fn the_tree_and_revision_views_show_re_scored_values_after_the_original() {
    use super::fixture::revise_events;
    for (name, events) in [("beam", beam_events(4, 2, 3)), ("revise", revise_events(2, 2))] {
        let mut a = app();
        a.open_replay(&trace_of(events, "x.jsonl"), false);
        a.replay_key(&key(KeyCode::End));
        let before = text(&a);
        assert!(!before.contains("→0.95"), "{name}: {before}");
        let best = a.focused_node().unwrap();
        let view = rescored(&a.runs[0].tree, VerifierKind::None, "none".into(), &verdicts(&a, best));
        a.runs[0].rescore = Some(Box::new(view));
        let after = text(&a);
        assert!(after.contains("→0.95"), "{name}: {after}");
    }
}

#[test]
fn a_replay_opened_before_any_run_goes_back_to_the_problem_picker() {
    let mut a = app();
    a.open_replay(&trace_of(best_of_n_events(2, 20, Stage::Finished, false), "t.jsonl"), true);
    assert_eq!(a.replay_key(&key(KeyCode::Esc)), Some(vec![]));
    assert!(matches!(a.mode, Mode::ProblemPicker { .. }));
    assert!(!a.quit);
}

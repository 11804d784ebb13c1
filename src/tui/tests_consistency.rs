//! The adaptive-consistency panel and its live knob, headless.

use super::action::Action;
use super::app::{App, Effect};
use super::fixture::{best_of_n_events, Stage};
use super::tests::{app, render};
use crate::event::Event;
use crate::problem::Problem;
use crate::strategy::{Command, StrategyKind};

/// A best-of-N fixture made a consistency run: its candidates, then `checks` stopping checks
/// (the last one stops when `stop`), before its selection.
fn consistency_events(n: usize, checks: u32, stop: bool, stage: Stage) -> Vec<Event> {
    let mut ev = best_of_n_events(n, 40, stage, false);
    if let Some(Event::RunStarted(info)) = ev.first_mut() {
        info.config.strategy = StrategyKind::Consistency;
        info.config.n = 64;
    }
    let at = ev.iter().position(|e| matches!(e, Event::Selection(_))).unwrap_or(ev.len());
    let checks = (1..=checks).map(|k| Event::Stopping {
        samples: k,
        max: 64,
        // A hostile answer must not break the panel.
        votes: vec![("18".into(), k.saturating_sub(1)), ("\u{1b}[2J答案 ".repeat(20), 1)],
        stat: crate::strategy::stopping::beta_majority_prob(k.saturating_sub(1) as u64, 1),
        confidence: 0.95,
        stopped: stop && k == checks,
    });
    ev.splice(at..at, checks);
    ev
}

fn app_with(events: &[Event]) -> App {
    let mut a = app();
    a.knobs.config.strategy = StrategyKind::Consistency;
    a.problem = Some(Problem::inline("What is 12 + 30?", Some("42".into())));
    let fx = a.update(Action::Rerun);
    assert!(matches!(fx.as_slice(), [Effect::StartRun { .. }]));
    for e in events {
        a.on_event(0, e);
    }
    a
}

fn screen(a: &App, w: u16, h: u16) -> String {
    let term = render(a, w, h);
    let buf = term.backend().buffer();
    (0..buf.area.height)
        .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>() + "\n")
        .collect()
}

#[test]
fn the_header_says_where_sampling_stopped_and_the_panel_shows_the_votes() {
    let a = app_with(&consistency_events(8, 7, true, Stage::Finished));
    let s = screen(&a, 140, 40);
    assert!(s.contains("stopped at 7 of 64"), "{s}");
    assert!(s.contains("consistency · conf 0.95"), "{s}");
    assert!(s.contains("▶ 18"), "{s}");
    assert!(s.contains("conf 0.95"), "{s}");
    assert!(!s.contains('\u{1b}'), "no escape reaches the screen");
    // One level per check: P = 0.25 and 0.5 are the floor, 0.965 (the stop) the top.
    assert!(s.contains("P ▁▁▄▅▆▇█"), "{s}");
    assert!(s.contains("P=0.965 ≥ 0.95"), "{s}");
}

#[test]
fn while_sampling_the_header_shows_the_statistic() {
    let a = app_with(&consistency_events(8, 5, false, Stage::Streaming));
    let s = screen(&a, 140, 40);
    assert!(s.contains("sampling 5 of 64, P=0.891 < 0.95"), "{s}");
    // Narrow and short: the panel still draws, without panicking.
    let _ = screen(&a, 60, 16);
    let _ = screen(&a, 100, 24);
}

#[test]
fn confidence_keys_step_the_ladder_and_reach_a_running_run() {
    let mut a = app_with(&consistency_events(8, 3, false, Stage::Streaming));
    assert_eq!(
        a.update(Action::ConfidenceUp),
        vec![Effect::Command { run: 0, command: Command::SetConfidence(0.99) }]
    );
    assert!(a.message.as_deref().unwrap().contains("next stopping check"));
    assert_eq!(
        a.update(Action::ConfidenceDown),
        vec![Effect::Command { run: 0, command: Command::SetConfidence(0.95) }]
    );
    // The keys are bound and in the footer.
    assert_eq!(a.keymap.key_for(Action::ConfidenceUp), "i");
    assert_eq!(a.keymap.key_for(Action::ConfidenceDown), "I");
    assert!(screen(&a, 200, 40).contains("i/I confidence"));
    // A finished run keeps the change for the next one.
    let mut a = app_with(&consistency_events(8, 7, true, Stage::Finished));
    assert!(a.update(Action::ConfidenceUp).is_empty());
    assert_eq!(a.knobs.config.confidence, 0.99);
}

#[test]
fn strategy_cycling_reaches_consistency() {
    let mut a = app();
    a.knobs.config.strategy = StrategyKind::Adaptive;
    let _ = a.update(Action::CycleStrategy);
    assert_eq!(a.knobs.config.strategy, StrategyKind::Consistency);
    let _ = a.update(Action::CycleStrategy);
    assert_eq!(a.knobs.config.strategy, StrategyKind::Particles);
    let _ = a.update(Action::CycleStrategy);
    assert_eq!(a.knobs.config.strategy, StrategyKind::BestOfN);
}

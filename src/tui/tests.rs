//! Headless tests of the interactive view: state changes from actions and
//! events, and snapshots of what is drawn.

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::action::Action;
use super::app::{App, Effect, Mode, TextKey};
use super::fixture::{best_of_n_events, Stage};
use super::keymap::Keymap;
use super::theme;
use super::view::{draw, ViewCache};
use crate::problem::Problem;
use crate::strategy::{Command, RunConfig, SelectionRule};
use crate::verify::Aggregation;

fn app() -> App {
    let mut app = App::new(
        theme::bundled("dark").unwrap(),
        Keymap::default(),
        "ollama http://127.0.0.1:11434".into(),
        RunConfig { n: 8, ..RunConfig::default() },
    );
    app.model = Some("qwen2.5:1.5b".into());
    app.models = vec!["qwen2.5:1.5b".into(), "llama3.2:3b".into()];
    app.problems = vec![("gsm8k".into(), crate::problem::bundled("gsm8k").unwrap())];
    app
}

/// An app showing one run fed with `events`.
fn app_with(events: &[crate::event::Event]) -> App {
    let mut a = app();
    a.problem = Some(Problem::inline("What is 12 + 30?", Some("42".into())));
    let fx = a.update(Action::Rerun);
    assert!(matches!(fx.as_slice(), [Effect::StartRun { .. }]));
    for e in events {
        a.on_event(0, e);
    }
    a
}

fn render(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    let mut cache = ViewCache::new();
    term.draw(|f| {
        draw(f, app, &mut cache);
    })
    .unwrap();
    term
}

#[test]
fn raising_n_while_running_starts_candidates_at_once() {
    let mut a = app_with(&best_of_n_events(8, 120, Stage::Streaming, false));
    assert_eq!(a.update(Action::NUp), vec![Effect::Command { run: 0, command: Command::SetN(9) }]);
    assert_eq!(a.update(Action::NDown), vec![Effect::Command { run: 0, command: Command::SetN(8) }]);
    assert_eq!(a.update(Action::NDown), vec![Effect::Command { run: 0, command: Command::SetN(7) }]);
    assert_eq!(a.knobs.config.n, 7);
}

#[test]
fn changing_n_after_a_run_waits_for_the_next_run() {
    let mut a = app_with(&best_of_n_events(8, 120, Stage::Finished, false));
    assert!(a.update(Action::NUp).is_empty());
    assert!(a.message.as_deref().unwrap().contains("next run"));
    match a.update(Action::Rerun).as_slice() {
        [Effect::StartRun { config, .. }] => assert_eq!(config.n, 9),
        fx => panic!("{fx:?}"),
    }
}

#[test]
fn aggregation_and_selection_rerank_without_regenerating() {
    let mut a = app_with(&best_of_n_events(8, 120, Stage::Finished, false));
    let before = a.run().unwrap().selection.clone().unwrap();
    assert_eq!(before.aggregation, Aggregation::Last);
    assert!(a.update(Action::CycleAggregation).is_empty(), "no effect: nothing is regenerated");
    let after = a.run().unwrap().selection.clone().unwrap();
    assert_eq!(after.aggregation, Aggregation::Min);
    assert!(a.update(Action::CycleSelection).is_empty());
    let s = a.run().unwrap().selection.clone().unwrap();
    assert_eq!(s.rule, SelectionRule::Majority);
    assert_eq!(s.selected.as_deref(), Some("18"));
    assert_eq!(a.runs.len(), 1);
}

#[test]
fn strategy_or_verifier_changes_start_a_new_run_and_keep_the_old_one() {
    let mut a = app_with(&best_of_n_events(4, 120, Stage::Finished, false));
    let fx = a.update(Action::CycleVerifier);
    match fx.as_slice() {
        [Effect::StartRun { config, .. }] => assert_eq!(config.verifier.to_string(), "oracle"),
        fx => panic!("{fx:?}"),
    }
    assert_eq!(a.runs.len(), 2);
    assert_eq!(a.current, 1);
    // Events still reach the first run while the second is on screen.
    for e in best_of_n_events(2, 60, Stage::Streaming, false) {
        a.on_event(1, &e);
    }
    a.update(Action::RunPrev);
    assert_eq!(a.current, 0);
    assert_eq!(a.run().unwrap().tree.nodes.len(), 4);
    a.update(Action::RunNext);
    assert_eq!(a.run().unwrap().tree.nodes.len(), 2);
}

#[test]
fn pause_and_cancel_go_to_the_running_run() {
    let mut a = app_with(&best_of_n_events(4, 120, Stage::Streaming, false));
    assert_eq!(
        a.update(Action::PauseResume),
        vec![Effect::Command { run: 0, command: Command::Pause(true) }]
    );
    assert!(a.run().unwrap().paused);
    assert_eq!(
        a.update(Action::PauseResume),
        vec![Effect::Command { run: 0, command: Command::Pause(false) }]
    );
    assert_eq!(a.update(Action::Cancel), vec![Effect::Cancel { run: 0 }]);
}

#[test]
fn picking_a_problem_starts_a_run() {
    let mut a = app();
    a.update(Action::PickProblem);
    for c in "ducks".chars() {
        a.on_text_key(TextKey::Char(c));
    }
    a.on_text_key(TextKey::Down);
    let fx = a.on_text_key(TextKey::Enter);
    match fx.as_slice() {
        [Effect::StartRun { problem, .. }] => assert!(problem.text.contains("ducks"), "{problem:?}"),
        fx => panic!("{fx:?}"),
    }
    assert_eq!(a.mode, Mode::Normal);
}

#[test]
fn writing_your_own_problem() {
    let mut a = app();
    a.update(Action::PickProblem);
    a.on_text_key(TextKey::Enter); // the first entry opens the editor
    assert!(matches!(a.mode, Mode::Editor { .. }));
    for c in "What is 2 + 2?".chars() {
        a.on_text_key(TextKey::Char(c));
    }
    a.on_text_key(TextKey::Enter); // a new line, not a submit
    let fx = a.on_text_key(TextKey::Submit);
    match fx.as_slice() {
        [Effect::StartRun { problem, .. }] => assert_eq!(problem.text, "What is 2 + 2?"),
        fx => panic!("{fx:?}"),
    }
}

#[test]
fn the_inspector_opens_on_a_step() {
    let mut a = app_with(&best_of_n_events(4, 120, Stage::Finished, false));
    a.update(Action::Inspect);
    assert_eq!(a.mode, Mode::Inspector);
    assert!(a.step.is_some());
    a.update(Action::Back);
    assert_eq!(a.mode, Mode::Normal);
}

#[test]
fn snapshot_mid_stream() {
    let a = app_with(&best_of_n_events(6, 90, Stage::Streaming, false));
    insta::assert_snapshot!(render(&a, 140, 30).backend());
}

#[test]
fn snapshot_finished_with_answers_and_scores() {
    let a = app_with(&best_of_n_events(4, 90, Stage::Finished, false));
    insta::assert_snapshot!(render(&a, 140, 30).backend());
}

#[test]
fn snapshot_failed_pane_and_narrow_layout() {
    let a = app_with(&best_of_n_events(3, 60, Stage::Finished, true));
    insta::assert_snapshot!(render(&a, 100, 28).backend());
}

#[test]
fn snapshot_help_overlay() {
    let mut a = app_with(&best_of_n_events(4, 60, Stage::Finished, false));
    a.update(Action::Help);
    insta::assert_snapshot!(render(&a, 120, 30).backend());
}

#[test]
fn snapshot_step_inspector() {
    let mut a = app_with(&best_of_n_events(4, 60, Stage::Finished, false));
    a.update(Action::FocusNext);
    a.update(Action::FocusNext);
    a.update(Action::FocusNext); // candidate 3 writes the wrong claim
    a.update(Action::StepUp);
    a.update(Action::StepUp);
    a.update(Action::Inspect);
    insta::assert_snapshot!(render(&a, 120, 30).backend());
}

#[test]
fn snapshot_too_small() {
    let a = app_with(&best_of_n_events(4, 60, Stage::Finished, false));
    insta::assert_snapshot!(render(&a, 50, 10).backend());
}

#[test]
fn snapshot_no_server() {
    let mut a = app();
    a.mode = Mode::NoServer {
        message:
            "cannot reach the Ollama server at http://127.0.0.1:11434: Connection refused (os error 111)"
                .into(),
    };
    insta::assert_snapshot!(render(&a, 100, 20).backend());
}

#[test]
fn snapshot_each_theme() {
    for name in theme::bundled_names() {
        let mut a = app_with(&best_of_n_events(2, 40, Stage::Finished, false));
        a.theme = theme::bundled(name).unwrap();
        let term = render(&a, 80, 20);
        // Colours matter here, so the snapshot holds the styled buffer.
        insta::assert_debug_snapshot!(format!("theme_{name}"), term.backend().buffer());
    }
}

#[test]
fn model_output_cannot_reach_the_terminal_raw() {
    let mut events = best_of_n_events(2, 30, Stage::Streaming, false);
    events.push(crate::event::Event::TextDelta {
        node: 1,
        text: "\u{1b}[2J\u{1b}]0;pwned\u{7}evil\u{202e}".into(),
    });
    let a = app_with(&events);
    let term = render(&a, 100, 24);
    let shown: String = term.backend().buffer().content().iter().map(|c| c.symbol()).collect();
    assert!(!shown.contains('\u{1b}') && !shown.contains('\u{7}') && !shown.contains('\u{202e}'));
    assert!(shown.contains('␛'), "escape shown as a visible placeholder");
}

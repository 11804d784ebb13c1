//! Headless tests of the interactive view: state changes from actions and
//! events, and snapshots of what is drawn.

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::action::Action;
use super::app::{App, Effect, Mode, TextKey};
use super::fixture::{
    adaptive_events, beam_events, beam_events_until, best_of_n_events, revise_events, Stage,
};
use super::keymap::Keymap;
use super::theme;
use super::view::{draw, ViewCache};
use crate::problem::Problem;
use crate::strategy::{Command, RunConfig, SelectionRule, VerifierKind};
use crate::verify::Aggregation;

pub(super) fn app() -> App {
    let mut app = App::new(
        theme::bundled("dark").unwrap(),
        Keymap::default(),
        "ollama http://127.0.0.1:11434".into(),
        RunConfig { n: 8, ..RunConfig::default() },
    );
    app.model = Some("qwen2.5:1.5b".into());
    app.models = vec!["qwen2.5:1.5b".into(), "llama3.2:3b".into()];
    app.problems = vec![("gsm8k".into(), crate::problem::bundled("gsm8k").unwrap())];
    // Screens are compared: the wall clock stays out of them.
    app.live_clock = false;
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

pub(super) fn render(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
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
fn raising_n_after_a_best_of_n_run_samples_more_in_it_and_the_next_run_keeps_n() {
    let mut a = app_with(&best_of_n_events(8, 120, Stage::Finished, false));
    assert!(matches!(
        a.update(Action::NUp).as_slice(),
        [Effect::MoreCandidates { run: 0, extra: 1, first_node: 8, .. }]
    ));
    assert!(a.message.as_deref().unwrap().contains("1 more candidate"));
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
fn the_aggregation_follows_the_verifier_until_the_user_picks_one() {
    let mut a = app_with(&best_of_n_events(4, 120, Stage::Finished, false));
    a.knobs.config.verifier = VerifierKind::None;
    a.knobs.config.aggregation = Aggregation::Last;
    // none → judge: a step-local judge takes `min`.
    match a.update(Action::CycleVerifier).as_slice() {
        [Effect::StartRun { config, .. }] => {
            assert_eq!((config.verifier, config.aggregation), (VerifierKind::Judge, Aggregation::Min))
        }
        fx => panic!("{fx:?}"),
    }
    // judge → arith → oracle → prm: the reward-to-go PRM takes `last`.
    for _ in 0..3 {
        a.update(Action::CycleVerifier);
    }
    assert_eq!((a.knobs.config.verifier, a.knobs.config.aggregation), (VerifierKind::Prm, Aggregation::Last));
    // Once the user picks an aggregation, a verifier change keeps it.
    a.update(Action::CycleAggregation);
    let picked = a.knobs.config.aggregation;
    // prm → confidence → none → judge.
    a.update(Action::CycleVerifier);
    assert_eq!(a.knobs.config.verifier, VerifierKind::Confidence);
    a.update(Action::CycleVerifier);
    a.update(Action::CycleVerifier);
    assert_eq!((a.knobs.config.verifier, a.knobs.config.aggregation), (VerifierKind::Judge, picked));
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

/// The whole screen as text, one line per row.
pub(super) fn screen(term: &Terminal<TestBackend>) -> String {
    let buf = term.backend().buffer();
    let w = buf.area.width as usize;
    let cells: Vec<&str> = buf.content().iter().map(|c| c.symbol()).collect();
    cells.chunks(w).map(|row| row.concat()).collect::<Vec<_>>().join("\n")
}

#[test]
fn snapshot_tree_mid_search() {
    let a = app_with(&beam_events_until(8, 2, 6, 3));
    insta::assert_snapshot!(render(&a, 140, 30).backend());
}

#[test]
fn snapshot_tree_finished() {
    let a = app_with(&beam_events(8, 2, 6));
    insta::assert_snapshot!(render(&a, 140, 30).backend());
}

#[test]
fn snapshot_tree_picked_pruned_node() {
    let mut a = app_with(&beam_events(8, 2, 6));
    a.update(Action::TreeUp);
    a.update(Action::TreeUp);
    for _ in 0..4 {
        a.update(Action::FocusNext); // to a pruned first step
    }
    let id = a.focused_node().unwrap();
    assert_eq!(a.run().unwrap().tree.nodes[id as usize].status, crate::tree::NodeStatus::Pruned);
    assert_eq!(a.pane_nodes()[0], id, "the picked node's path opens in the first pane");
    insta::assert_snapshot!(render(&a, 120, 32).backend());
}

#[test]
fn snapshot_revisions_right_then_wrong() {
    let a = app_with(&revise_events(3, 3));
    insta::assert_snapshot!(render(&a, 140, 30).backend());
}

#[test]
fn snapshot_adaptive_header() {
    let a = app_with(&adaptive_events(8, 2, 6, 2));
    insta::assert_snapshot!(render(&a, 140, 30).backend());
}

#[test]
fn the_tree_shows_one_row_per_depth_and_the_surviving_beams_below() {
    let a = app_with(&beam_events(8, 2, 6));
    let run = a.run().unwrap();
    let rows = super::layout::tree_rows(&run.tree);
    assert_eq!(rows.len(), 6);
    assert_eq!(rows[0].len(), 8, "N first steps");
    // Every child sits after the children of nodes placed before its parent.
    for d in 1..rows.len() {
        let place = |id: u32| rows[d - 1].iter().position(|&p| p == id).unwrap();
        let parents: Vec<usize> =
            rows[d].iter().map(|&c| place(run.tree.nodes[c as usize].parent.unwrap())).collect();
        assert!(parents.windows(2).all(|w| w[0] <= w[1]), "depth {d}: {parents:?}");
    }
    let panes = a.pane_nodes();
    assert!(!panes.is_empty());
    assert!(panes.iter().all(|&id| run.tree.nodes[id as usize].status == crate::tree::NodeStatus::Done));
    let text = screen(&render(&a, 140, 30));
    assert!(text.contains("search tree"), "{text}");
    assert!(text.contains("round 6/6"), "{text}");
}

#[test]
fn mid_search_panes_show_the_live_frontier_not_pruned_nodes() {
    use crate::tree::NodeStatus;
    let a = app_with(&beam_events_until(8, 2, 6, 3));
    let run = a.run().unwrap();
    let deepest = run.tree.nodes.iter().map(|n| n.depth).max().unwrap();
    for id in a.pane_nodes() {
        let n = &run.tree.nodes[id as usize];
        assert!(
            n.status == NodeStatus::Done || n.depth == deepest,
            "#{id} at depth {} is {:?}",
            n.depth,
            n.status
        );
        assert_ne!(n.status, NodeStatus::Pruned);
    }
}

#[test]
fn tree_keys_move_along_rows_and_between_parent_and_child() {
    let mut a = app_with(&beam_events(8, 2, 6));
    let start = a.focused_node().unwrap();
    let depth_of = |a: &App, id: u32| a.run().unwrap().tree.nodes[id as usize].depth;
    let parent_of = |a: &App, id: u32| a.run().unwrap().tree.nodes[id as usize].parent;
    a.update(Action::TreeUp);
    let up = a.focused_node().unwrap();
    assert_eq!(Some(up), parent_of(&a, start));
    assert_eq!(a.cursor, Some(up));
    a.update(Action::TreeDown);
    let down = a.focused_node().unwrap();
    assert_eq!(parent_of(&a, down), Some(up), "down goes to a child");
    assert_eq!(depth_of(&a, down), depth_of(&a, up) + 1);
    // Left/right stay on the row.
    a.update(Action::FocusNext);
    let right = a.focused_node().unwrap();
    assert_ne!(right, down);
    assert_eq!(depth_of(&a, right), depth_of(&a, down));
    a.update(Action::FocusPrev);
    assert_eq!(a.focused_node(), Some(down));
    // The picked node's path opens in the focused pane and the inspector.
    assert_eq!(a.pane_nodes()[a.focus_index(&a.pane_nodes())], down);
    a.update(Action::Inspect);
    assert_eq!(a.mode, Mode::Inspector);
    a.update(Action::Back);
    // Esc with nothing open drops the pick and follows the run again.
    a.update(Action::Back);
    assert_eq!(a.cursor, None);
    // With the tree hidden, left/right go through the panes.
    a.update(Action::ToggleTree);
    assert!(!a.show_tree);
    let panes = a.pane_nodes();
    a.update(Action::FocusNext);
    assert_eq!(a.focused_node(), panes.get(1).copied());
    a.update(Action::ToggleTree);
    assert!(a.show_tree);
}

#[test]
fn fork_starts_a_run_from_the_focused_nodes_steps() {
    let mut a = app_with(&beam_events(8, 2, 6));
    a.update(Action::TreeUp);
    let id = a.focused_node().unwrap();
    let steps: Vec<String> =
        a.run().unwrap().tree.nodes[id as usize].steps.iter().map(|s| s.text.clone()).collect();
    match a.update(Action::Fork).as_slice() {
        [Effect::Fork { problem, config, prefix, model }] => {
            assert_eq!(prefix, &steps);
            assert!(problem.text.contains("ducks"));
            assert_eq!(config.strategy, crate::strategy::StrategyKind::Beam);
            assert_eq!(model, "qwen2.5:1.5b");
        }
        fx => panic!("{fx:?}"),
    }
    assert_eq!(a.runs.len(), 2);
    assert_eq!(a.current, 1);
    assert_eq!(a.cursor, None);
}

#[test]
fn fork_needs_a_finished_step() {
    let mut a = app_with(&beam_events_until(8, 2, 6, 0));
    // The focused pane is a node that has not finished its first step.
    while a.focused_node().is_some_and(|id| !a.run().unwrap().tree.nodes[id as usize].steps.is_empty()) {
        a.update(Action::FocusNext);
    }
    assert!(a.update(Action::Fork).is_empty());
    assert!(a.message.as_deref().unwrap().contains("no finished step"), "{:?}", a.message);
    assert_eq!(a.runs.len(), 1);
}

#[test]
fn revision_keys_move_between_chains_and_revisions() {
    let mut a = app_with(&revise_events(3, 3));
    let at = |a: &App| {
        let n = &a.run().unwrap().tree.nodes[a.focused_node().unwrap() as usize];
        (n.chain.unwrap(), n.revision.unwrap())
    };
    assert_eq!(at(&a), (0, 2), "the latest revision of the first chain");
    a.update(Action::TreeUp);
    assert_eq!(at(&a), (0, 1));
    a.update(Action::FocusNext);
    assert_eq!(at(&a), (1, 1));
    a.update(Action::FocusNext);
    a.update(Action::FocusNext);
    assert_eq!(at(&a), (2, 1), "stops at the last chain");
    a.update(Action::TreeDown);
    a.update(Action::TreeDown);
    assert_eq!(at(&a), (2, 2));
    a.update(Action::Inspect);
    assert_eq!(a.mode, Mode::Inspector);
}

#[test]
fn the_answer_strip_shows_a_right_answer_revised_into_a_wrong_one() {
    let a = app_with(&revise_events(2, 3));
    let text = screen(&render(&a, 140, 30));
    assert!(text.contains("18✓ → 18✓ → 20✗"), "{text}");
    assert!(text.contains("20✗ → 18✓ → 18✓"), "{text}");
    // The ✓→✗ arrow is drawn in the warning colour.
    let term = render(&a, 140, 30);
    let buf = term.backend().buffer();
    let warn = a.theme.warn;
    assert!(buf.content().iter().any(|c| c.symbol() == "→" && c.fg == warn));
}

#[test]
fn the_tree_toggle_gives_the_panes_the_room() {
    let mut a = app_with(&beam_events(8, 2, 6));
    a.update(Action::ToggleTree);
    let text = screen(&render(&a, 140, 30));
    assert!(!text.contains("search tree"), "{text}");
}

#[test]
fn a_deep_wide_tree_renders() {
    // Depth 40, N = 64, width 4: 2,560 nodes (the speed goal is in a benchmark).
    let events = beam_events(64, 4, 40);
    let mut a = app_with(&events);
    let run = a.run().unwrap();
    assert_eq!(super::layout::tree_rows(&run.tree).len(), 40);
    assert_eq!(run.tree.nodes.len(), 64 * 40);
    let text = screen(&render(&a, 240, 60));
    assert!(text.contains("search tree"));
    for _ in 0..45 {
        a.update(Action::TreeUp);
    }
    for _ in 0..70 {
        a.update(Action::FocusNext);
    }
    render(&a, 240, 60);
    render(&a, 60, 16);
    let mid = app_with(&beam_events_until(64, 4, 40, 39));
    render(&mid, 240, 60);
}

#[test]
fn tree_and_fork_keys_have_defaults() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let km = Keymap::default();
    let press = |c: char| km.action(&KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    assert_eq!(press('K'), Some(Action::TreeUp));
    assert_eq!(press('J'), Some(Action::TreeDown));
    assert_eq!(press('g'), Some(Action::ToggleTree));
    assert_eq!(press('f'), Some(Action::Fork));
}

fn view_args(flags: &[&str]) -> crate::launch::Launch {
    use clap::Parser;
    let mut argv = vec!["ttc"];
    argv.extend_from_slice(flags);
    let f = crate::launch::RunFlags::parse_from(argv);
    crate::launch::Launch::new(&f.global, &f.run)
}

#[test]
fn falling_back_to_the_embedded_model_says_why_on_screen() {
    let mut a = app();
    a.model = None;
    let reason = "no Ollama at http://127.0.0.1:1: running the embedded pocket model".to_string();
    let (pocket, fx) = super::apply_setup(
        &mut a,
        super::Setup::Pocket { reason: Some(reason.clone()) },
        &view_args(&[]),
        false,
    );
    assert!(pocket);
    assert!(matches!(fx.as_slice(), [Effect::StartRun { model, .. }] if model == "pocket"), "{fx:?}");
    assert_eq!(a.message.as_deref(), Some(reason.as_str()), "starting the run keeps the reason");
    let text = screen(&render(&a, 140, 36));
    assert!(text.contains("no Ollama at http://127.0.0.1:1"), "{text}");
    assert!(text.contains("pocket (embedded"), "{text}");
}

#[test]
fn a_server_that_cannot_list_models_opens_the_no_server_screen() {
    let mut a = app();
    let (pocket, fx) =
        super::apply_setup(&mut a, super::Setup::Failed("timed out after 5 s".into()), &view_args(&[]), true);
    assert!(!pocket && fx.is_empty());
    assert_eq!(a.mode, Mode::NoServer { message: "timed out after 5 s".into() });
}

#[test]
fn the_header_and_footer_never_show_credentials_or_escapes() {
    let mut a = app();
    a.backend = "ollama http://me:secret@10.0.0.2:11434".into();
    a.model = Some("evil\x1b[2J:latest".into());
    a.message = Some("server said \x1b]0;TITLE\x07 at http://me:secret@10.0.0.2:11434".into());
    let term = render(&a, 140, 36);
    let text = screen(&term);
    assert!(!text.contains("secret"), "{text}");
    assert!(text.contains("http://***@10.0.0.2:11434"), "{text}");
    assert!(!text.contains('\x1b') && text.contains("␛]0;TITLE"), "{text}");
    assert!(text.contains("evil␛[2J:latest"), "{text}");
    a.mode = Mode::NoServer { message: "cannot reach http://me:secret@10.0.0.2:11434/api/tags".into() };
    let text = screen(&render(&a, 140, 36));
    assert!(!text.contains("secret") && text.contains("http://***@10.0.0.2"), "{text}");
}

#[test]
fn the_view_warns_about_an_exposed_host_and_never_shows_its_credentials() {
    let launch = view_args(&["--backend", "ollama", "--host", "http://me:secret@10.0.0.2:11434"]);
    let (a, _client, warnings) = super::build_app(&launch, Some("dark"));
    assert!(!a.backend.contains("secret") && a.backend.contains("***@10.0.0.2"), "{}", a.backend);
    let w = super::startup_message(&warnings).unwrap();
    assert!(w.contains("carries credentials") && w.contains("unencrypted") && !w.contains("secret"), "{w}");
}

#[test]
fn a_cut_off_candidate_says_why_in_its_pane_title_and_a_missing_logprob_server_in_the_header() {
    use crate::event::Event;
    use crate::verify::confidence::NO_LOGPROBS;
    let mut events = best_of_n_events(2, 30, Stage::Streaming, false);
    if let Some(Event::RunStarted(info)) = events.first_mut() {
        info.config.set_verifier(VerifierKind::Confidence);
        info.verifier = format!("confidence: {NO_LOGPROBS}; majority vote");
    }
    events.push(Event::NodeCutOff { node: 1, confidence: 0.2149, cutoff: 0.3 });
    events.push(Event::NodeCancelled { node: 1 });
    let a = app_with(&events);
    let shown = screen(&render(&a, 140, 24));
    assert!(shown.contains("cut off: confidence 0.21 < 0.30"), "{shown}");
    assert_eq!(shown.matches("cut off").count(), 1, "only the cut-off pane: {shown}");
    assert!(shown.contains("verifier confidence (no log-probabilities: majority vote)"), "{shown}");
}

#[test]
fn the_no_models_hint_fits_the_kind_of_server() {
    let setup = || super::Setup::Ollama { models: Ok(Vec::new()), remembered: None };
    let mut a = app();
    a.model = None;
    a.backend = "openai http://127.0.0.1:8000".into();
    super::apply_setup(&mut a, setup(), &view_args(&["--backend", "openai"]), false);
    let note = a.message.clone().unwrap_or_default();
    assert!(
        note.contains("openai http://127.0.0.1:8000 lists none") && note.contains("vllm serve"),
        "{note}"
    );
    assert!(!note.contains("ollama pull"), "{note}");
    let mut a = app();
    a.model = None;
    a.backend = "ollama http://127.0.0.1:11434".into();
    super::apply_setup(&mut a, setup(), &view_args(&["--backend", "ollama"]), false);
    let note = a.message.clone().unwrap_or_default();
    assert!(note.contains("no models on http://127.0.0.1:11434") && note.contains("ollama pull"), "{note}");
}

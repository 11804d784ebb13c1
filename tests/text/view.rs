//! The view's text paths over hostile model text: LaTeX as Unicode, highlighting, one-line
//! labels, and every pane drawn from real runs of that text.

use std::sync::Arc;

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use ttc::problem::Problem;
use ttc::strategy::StrategyKind;
use ttc::tui::action::Action;
use ttc::tui::app::{one_line, App, Effect};
use ttc::tui::keymap::Keymap;
use ttc::tui::text::{latex_to_unicode, sanitize, Highlighter};
use ttc::tui::theme;
use ttc::tui::view::{draw, ViewCache};
use ttc::verify::ArithVerifier;

use crate::chunked::Chunked;
use crate::paths::{config, enormous, hostile, run};

fn is_hostile(c: char) -> bool {
    (c.is_control() && c != '\n') || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[test]
fn latex_highlighting_and_labels_keep_every_character() {
    let h = Highlighter::new();
    let t = theme::bundled("dark").unwrap();
    let mut all = hostile();
    all.extend(enormous());
    for (name, text) in all {
        let clean = sanitize(&text);
        let shown = latex_to_unicode(&clean);
        for input in [clean.as_ref(), shown.as_str()] {
            let lines = h.highlight(input, &t);
            let drawn: Vec<String> =
                lines.iter().map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect()).collect();
            let want: Vec<&str> = input.lines().collect();
            assert_eq!(drawn, want, "{name}: highlighting keeps exactly the input's characters");
            assert!(!drawn.concat().contains(is_hostile), "{name}");
        }
        let label = one_line(&clean, 12);
        assert!(label.chars().count() <= 13, "{name}: {label}");
    }
}

#[test]
fn latex_of_long_lines_of_unclosed_openers_is_linear() {
    // Each unclosed `$` or `\sqrt[` searched to the end of the line: 40 KB took seconds,
    // a 1 MB line hours, on every frame that drew it. Linear work grows 4× when the line
    // grows 4×, quadratic work 16×: compare the two (best of five, so a busy machine
    // slows both alike; under 5 ms counts as 5 ms, so scheduler noise on a fast pass cannot
    // fail it, while the quadratic pass took seconds) instead of asserting a wall-clock bound.
    fn best(s: &str) -> f64 {
        (0..5)
            .map(|_| {
                let t0 = std::time::Instant::now();
                let _ = latex_to_unicode(s);
                t0.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    }
    for pat in ["$ ", "$a ", "\\sqrt[", "$$", "x^ ", "``` a", "\\frac{"] {
        let small = pat.repeat(10_000 / pat.len());
        let large = pat.repeat(40_000 / pat.len());
        let (a, b) = (best(&small), best(&large));
        eprintln!("{pat:?}: 10 KB {a:.4} s, 40 KB {b:.4} s, ratio {:.1}", b / a);
        assert!(b < 9.0 * a.max(5e-3), "{pat:?}: 10 KB took {a:.4} s, 40 KB {b:.4} s");
    }
}

#[test]
fn an_applied_change_from_a_replayed_trace_is_shown_safely() {
    let mut app = App::new(
        theme::bundled("dark").unwrap(),
        Keymap::default(),
        "test".into(),
        config(StrategyKind::Beam),
    );
    app.model = Some("test".into());
    app.problem = Some(Problem::inline("Solve it.", None));
    let _ = app.update(Action::Rerun);
    let change = format!("\x1b]0;T\x07\x1b[2J{}", "x".repeat(5000));
    app.on_event(0, &ttc::event::Event::Applied { change });
    let m = app.message.clone().unwrap();
    assert!(!m.contains(is_hostile) && m.chars().count() < 300, "{m:?}");
}

fn render(app: &App, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    let mut cache = ViewCache::new();
    term.draw(|f| {
        draw(f, app, &mut cache);
    })
    .unwrap();
    term.backend().buffer().content().iter().map(|c| c.symbol()).collect()
}

#[tokio::test]
async fn every_pane_draws_hostile_runs() {
    let mut all = hostile();
    all.extend(enormous());
    for (name, text) in all {
        for strategy in [StrategyKind::BestOfN, StrategyKind::Beam, StrategyKind::Revise] {
            let gen = Arc::new(Chunked::solution(1, 4093, &text));
            let (events, _) = run(config(strategy), gen, Arc::new(ArithVerifier)).await;
            let mut app =
                App::new(theme::bundled("dark").unwrap(), Keymap::default(), "test".into(), config(strategy));
            app.model = Some("test".into());
            app.problem = Some(Problem::inline("Solve \u{202E}it\x1b[2J.", None));
            assert!(matches!(app.update(Action::Rerun).as_slice(), [Effect::StartRun { .. }]));
            for e in &events {
                app.on_event(0, e);
            }
            let actions = [
                Action::FocusNext,
                Action::StepDown,
                Action::ToggleLatex,
                Action::ToggleTree,
                Action::TreeDown,
                Action::Inspect,
                Action::Zoom,
            ];
            for (i, a) in actions.into_iter().enumerate() {
                let _ = app.update(a);
                for (w, h) in [(80, 24), (200, 60), (12, 4)] {
                    let screen = render(&app, w, h);
                    assert!(!screen.contains(is_hostile), "{name} / {strategy} / after {i} actions, {w}x{h}");
                }
            }
        }
    }
}

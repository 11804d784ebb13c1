//! The key help (`?`) at every size: sections, columns, scrolling and its keys, headless.

use std::collections::{HashMap, HashSet};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::action::Action;
use super::action_section::Section;
use super::app::{App, Effect, Mode};
use super::fixture::{best_of_n_events, Stage};
use super::keymap::Keymap;
use super::tests::{app, screen};
use super::view::{draw, ViewCache};
use crate::problem::Problem;

/// A finished best-of-N run with the help open.
fn helped() -> App {
    let mut a = app();
    a.problem = Some(Problem::inline("What is 12 + 30?", Some("42".into())));
    a.update(Action::Rerun);
    for e in &best_of_n_events(4, 60, Stage::Finished, false) {
        a.on_event(0, e);
    }
    a.update(Action::Help);
    a
}

/// Draw as the runtime does: the view says how far the help can scroll.
fn frame(app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    let mut cache = ViewCache::new();
    let mut drawn = Default::default();
    term.draw(|f| drawn = draw(f, app, &mut cache)).unwrap();
    if let Some((max, page)) = drawn.help {
        app.help_fit(max, page);
    }
    term
}

/// A key as the runtime routes it with the help open: the help's scroll keys, else the keymap.
fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    let k = KeyEvent::new(code, KeyModifiers::NONE);
    match app.help_key(&k) {
        Some(fx) => fx,
        None => app.keymap.action(&k).map(|a| app.update(a)).unwrap_or_default(),
    }
}

#[test]
fn snapshot_help_80x24() {
    let mut a = helped();
    insta::assert_snapshot!(frame(&mut a, 80, 24).backend());
}

#[test]
fn snapshot_help_80x24_at_the_end() {
    let mut a = helped();
    frame(&mut a, 80, 24);
    press(&mut a, KeyCode::End);
    insta::assert_snapshot!(frame(&mut a, 80, 24).backend());
}

#[test]
fn snapshot_help_200x50() {
    let mut a = helped();
    insta::assert_snapshot!(frame(&mut a, 200, 50).backend());
}

#[test]
fn snapshot_help_160x24_runs_sections_on_in_three_columns() {
    let mut a = helped();
    insta::assert_snapshot!(frame(&mut a, 160, 24).backend());
}

#[test]
fn scrolled_to_the_end_at_80x24_the_last_action_shows() {
    let mut a = helped();
    let first = screen(&frame(&mut a, 80, 24));
    let in_last: Vec<Action> = Section::ALL[Section::ALL.len() - 1].actions().collect();
    let last = in_last[in_last.len() - 1].describe();
    assert!(!first.contains(last), "80×24 cannot show it all at once");
    assert!(first.contains("↓ more (j/k, PgDn)"));
    assert!(!first.contains("↑ more"));
    assert_eq!(press(&mut a, KeyCode::End), vec![]);
    let end = screen(&frame(&mut a, 80, 24));
    assert!(end.contains(last), "{end}");
    assert!(end.contains("? or Esc closes"));
    assert!(end.contains("↑ more (k, PgUp)") && !end.contains("↓ more"), "{end}");
    // Home goes back to the top.
    press(&mut a, KeyCode::Home);
    assert_eq!(screen(&frame(&mut a, 80, 24)), first);
}

#[test]
fn every_action_appears_at_some_scroll_offset_at_80x24() {
    let mut a = helped();
    let mut seen = screen(&frame(&mut a, 80, 24));
    let mut offsets = vec![a.help.offset];
    loop {
        press(&mut a, KeyCode::Char('j'));
        if Some(&a.help.offset) == offsets.last() {
            break;
        }
        offsets.push(a.help.offset);
        seen.push_str(&screen(&frame(&mut a, 80, 24)));
    }
    assert!(offsets.len() > 1, "it scrolls");
    assert_eq!(offsets, (0..offsets.len()).collect::<Vec<_>>(), "one row a key");
    for x in Action::ALL {
        assert!(seen.contains(x.describe()), "{x:?} never shown");
    }
    for s in Section::ALL {
        assert!(seen.contains(s.title()), "{s:?} heading never shown");
    }
}

#[test]
fn at_120x30_everything_fits_without_scrolling() {
    let mut a = helped();
    let s = screen(&frame(&mut a, 120, 30));
    assert_eq!(a.help.max, 0);
    assert!(!s.contains("↓ more") && !s.contains("↑ more"));
    for x in Action::ALL {
        assert!(s.contains(x.describe()), "{x:?}");
    }
}

#[test]
fn pages_move_by_a_screen_and_stop_at_the_ends() {
    let mut a = helped();
    frame(&mut a, 80, 24);
    let (max, page) = (a.help.max, a.help.page);
    assert!(max > 0 && page > 1);
    press(&mut a, KeyCode::PageDown);
    assert_eq!(a.help.offset, page - 1, "a page keeps one row in view");
    press(&mut a, KeyCode::Char(' '));
    assert_eq!(a.help.offset, (2 * (page - 1)).min(max));
    for _ in 0..10 {
        press(&mut a, KeyCode::PageDown);
    }
    assert_eq!(a.help.offset, max);
    press(&mut a, KeyCode::Down);
    assert_eq!(a.help.offset, max, "no further than the end");
    press(&mut a, KeyCode::Up);
    press(&mut a, KeyCode::Char('k'));
    assert_eq!(a.help.offset, max - 2);
    press(&mut a, KeyCode::PageUp);
    press(&mut a, KeyCode::PageUp);
    press(&mut a, KeyCode::PageUp);
    press(&mut a, KeyCode::PageUp);
    assert_eq!(a.help.offset, 0);
}

#[test]
fn scroll_keys_do_nothing_else_while_the_help_is_open() {
    let mut a = helped();
    frame(&mut a, 80, 24);
    let (focus, step, config, paused) = (a.focus, a.step, a.knobs.config.clone(), a.runs[0].paused);
    for code in [
        KeyCode::Char('j'),
        KeyCode::Down,
        KeyCode::Char(' '),
        KeyCode::PageDown,
        KeyCode::End,
        KeyCode::Char('k'),
        KeyCode::Up,
        KeyCode::PageUp,
        KeyCode::Home,
        // Not scroll keys: the help swallows them as before.
        KeyCode::Char('+'),
        KeyCode::Tab,
        KeyCode::Enter,
    ] {
        assert_eq!(press(&mut a, code), vec![], "{code:?}");
        assert_eq!(a.mode, Mode::Help, "{code:?}");
    }
    assert_eq!((a.focus, a.step, &a.knobs.config, a.runs[0].paused), (focus, step, &config, paused));
    assert_eq!(a.runs.len(), 1);
}

#[test]
fn esc_question_mark_and_f1_close_it_and_it_reopens_at_the_top() {
    let mut a = helped();
    frame(&mut a, 80, 24);
    for close in [KeyCode::Esc, KeyCode::Char('?'), KeyCode::F(1)] {
        press(&mut a, KeyCode::End);
        assert!(a.help.offset > 0);
        press(&mut a, close);
        assert_eq!(a.mode, Mode::Normal, "{close:?}");
        // Closed, j moves the step again instead of scrolling.
        assert_eq!(a.help_key(&KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE)), None);
        press(&mut a, KeyCode::Char('?'));
        assert_eq!((a.mode.clone(), a.help.offset), (Mode::Help, 0), "{close:?}");
    }
}

#[test]
fn q_still_quits_from_the_help() {
    let mut a = helped();
    frame(&mut a, 80, 24);
    assert_eq!(press(&mut a, KeyCode::Char('q')), vec![Effect::Quit]);
    assert!(a.quit);
    let mut a = helped();
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(a.help_key(&ctrl_c), None, "Ctrl-C goes to the keymap");
}

#[test]
fn long_and_wide_bindings_are_cut_at_every_size_and_nothing_is_lost() {
    let mut o = HashMap::new();
    o.insert("n_up".to_string(), ["+", "=", "u", "ctrl-pagedown", "alt-pageup"].map(String::from).to_vec());
    o.insert("zoom".to_string(), vec!["中".to_string()]);
    let (km, problems) = Keymap::with_overrides(&o);
    assert!(problems.is_empty(), "{problems:?}");
    for w in (60..=220).step_by(16) {
        for h in (16..=60).step_by(11) {
            let mut a = helped();
            a.keymap = km.clone();
            let mut shown = HashSet::new();
            loop {
                let s = screen(&frame(&mut a, w, h));
                let top = s.lines().find(|l| l.contains("? or Esc closes")).expect("the title shows");
                // The box is drawn whole: its right edge is not pushed off by a long row.
                let after = top.split("? or Esc closes").nth(1).unwrap_or_default();
                assert!(after.contains('┐'), "{w}×{h}: {top}");
                shown.extend(s.lines().map(str::to_string));
                if a.help.offset == a.help.max {
                    break;
                }
                press(&mut a, KeyCode::PageDown);
            }
            let all = shown.into_iter().collect::<Vec<_>>().join("\n");
            assert!(all.contains('中'), "{w}×{h}");
            // Every action's description is there, whole or cut with its start shown.
            for x in Action::ALL {
                let start: String = x.describe().chars().take(8).collect();
                assert!(all.contains(&start), "{w}×{h}: {x:?}");
            }
            if w <= 76 {
                assert!(all.contains('…'), "{w}×{h}: a narrow help cuts long rows");
            }
        }
    }
}

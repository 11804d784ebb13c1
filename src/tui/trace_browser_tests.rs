//! The browser drawn into a `TestBackend` from a temp folder of two traces, and its keys.

use std::path::{Path, PathBuf};

use crossterm::event::KeyCode;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::*;
use crate::event::RunInfo;
use crate::model::GeneratorInfo;
use crate::problem::Problem;
use crate::spec::RunConfig;
use crate::trace::{Header, FORMAT_VERSION};

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ttc-browser-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A trace of only its header: `problem` started at `started_ms`.
fn write_trace(dir: &Path, name: &str, problem: &str, started_ms: u64) -> PathBuf {
    let header = Header {
        ttc_trace: FORMAT_VERSION,
        ttc_version: "0.1.0".into(),
        started: crate::trace::rfc3339(started_ms),
        started_ms,
        run: RunInfo {
            problem: Problem::inline(problem, None),
            config: RunConfig::default(),
            generator: GeneratorInfo {
                backend: "pocket".into(),
                model: "tiny".into(),
                location: String::new(),
                logprobs: false,
            },
            verifier: "arith".into(),
        },
    };
    let path = dir.join(name);
    std::fs::write(&path, format!("{}\n", serde_json::to_string(&header).unwrap())).unwrap();
    path
}

/// Two traces: an older plain one, a newer one with escapes in its problem.
fn two(tag: &str) -> (Browser, PathBuf, PathBuf) {
    let dir = temp_dir(tag);
    let old = write_trace(&dir, "a.jsonl", "What is 12 + 30?", 1_700_000_000_000);
    let new = write_trace(&dir, "b.jsonl", "Hostile\x1b[2J\x1b]0;pwned\x07 problem", 1_800_000_000_000);
    (Browser::open(&dir).unwrap(), old, new)
}

fn screen(browser: &Browser, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| render(f, browser)).unwrap();
    let buf = term.backend().buffer();
    let cells: Vec<&str> = buf.content().iter().map(|c| c.symbol()).collect();
    cells.chunks(buf.area.width as usize).map(|row| row.concat()).collect::<Vec<_>>().join("\n")
}

#[test]
fn the_traces_show_newest_first_with_no_escape_on_screen() {
    let (browser, old, new) = two("render");
    assert_eq!(browser.rows.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(), vec![new, old]);
    for (w, h) in [(140, 8), (40, 4), (200, 30)] {
        let text = screen(&browser, w, h);
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text}");
        if w == 140 {
            let lines: Vec<&str> = text.lines().collect();
            assert!(lines[0].contains("2 traces"), "{text}");
            assert!(lines[1].starts_with("> 2027-01-15") && lines[1].contains("Hostile"), "{text}");
            assert!(lines[2].contains("2023-11-14") && lines[2].contains("What is 12 + 30?"), "{text}");
            assert!(lines[1].contains("tiny") && lines[1].contains("(unfinished)"), "{text}");
            assert!(lines[7].contains("Enter replay") && lines[7].contains("q/Esc quit"), "{text}");
        }
    }
}

#[test]
fn keys_move_within_bounds_open_the_chosen_trace_and_quit() {
    let (mut browser, old, new) = two("keys");
    assert_eq!(browser.on_key(KeyCode::Up), Flow::Stay);
    assert_eq!(browser.selected, 0);
    assert_eq!(browser.on_key(KeyCode::Enter), Flow::Open(new.clone()));
    browser.on_key(KeyCode::Char('j'));
    browser.on_key(KeyCode::Down);
    browser.on_key(KeyCode::Down);
    assert_eq!(browser.selected, 1, "stops at the last trace");
    assert!(screen(&browser, 140, 8).lines().nth(2).unwrap().starts_with("> "));
    assert_eq!(browser.on_key(KeyCode::Enter), Flow::Open(old));
    browser.on_key(KeyCode::Char('k'));
    assert_eq!(browser.selected, 0);
    assert_eq!(browser.on_key(KeyCode::Char('x')), Flow::Stay);
    assert_eq!(browser.on_key(KeyCode::Char('q')), Flow::Quit);
    assert_eq!(browser.on_key(KeyCode::Esc), Flow::Quit);
    let mut empty = Browser { rows: Vec::new(), selected: 0, note: None };
    empty.on_key(KeyCode::Down);
    assert_eq!((empty.selected, empty.on_key(KeyCode::Enter)), (0, Flow::Stay));
}

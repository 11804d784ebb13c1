//! The view drawn into a `TestBackend` from small eval directories written to disk.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::json;

use super::detail::{wrap, HUMAN, PREDICTED};
use super::render::fit;
use super::state::{Flow, State};
use super::{open, render};
use crate::lab::dir::Identity;

/// A fresh directory under the system's temp dir.
fn fresh(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ttc-verifier-view-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// (id, label, scores, problem, steps) of the items of [`write_dir`].
type Item = (&'static str, i64, Vec<Option<f64>>, &'static str, Vec<&'static str>);

/// Five items. At τ 0.50: a ✓ (pred 1), b ✓ (−1), c ✗ (pred 1, label 0), d ✓ (−1), u unscored.
fn items() -> Vec<Item> {
    vec![
        (
            "item-a",
            1,
            vec![Some(0.9), Some(0.4), Some(0.8)],
            "Add 2 and 3.",
            vec!["2+3=5", "5*2=11", "so 11"],
        ),
        ("item-b", -1, vec![Some(0.9), Some(0.6), Some(0.7)], "Double 4.", vec!["4*2=8", "check", "8"]),
        ("item-c", 0, vec![Some(0.7), Some(0.2)], "Halve 10.", vec!["10/2=4", "so 4"]),
        ("item-d", -1, vec![Some(0.55), Some(0.95)], "Add 1.", vec!["1+1=2", "2"]),
        ("item-u", 2, vec![None, None, None], "Prose.", vec!["one", "two", "three"]),
    ]
}

/// An eval directory for `items`: items.jsonl, run.json naming a ProcessBench file (in a
/// sibling directory) with the items' text, and metrics.json at τ 0.5.
fn write_dir(name: &str, items: &[Item]) -> (PathBuf, PathBuf) {
    let base = fresh(name);
    let dir = base.join("out");
    std::fs::create_dir_all(&dir).unwrap();
    let bench: Vec<_> = items
        .iter()
        .map(|(id, label, _, problem, steps)| json!({"id": id, "problem": problem, "steps": steps, "label": label}))
        .collect();
    let file = base.join("processbench.json");
    let bytes = serde_json::to_vec(&bench).unwrap();
    std::fs::write(&file, &bytes).unwrap();
    let identity = Identity::new("arith", &file, &bytes);
    std::fs::write(dir.join("run.json"), serde_json::to_string(&identity).unwrap()).unwrap();
    let mut lines = String::new();
    for (id, label, scores, _, _) in items {
        lines += &json!({"id": id, "predicted": null, "label": label, "scores": scores}).to_string();
        lines.push('\n');
    }
    std::fs::write(dir.join("items.jsonl"), lines).unwrap();
    std::fs::write(dir.join("metrics.json"), json!({"threshold": 0.5}).to_string()).unwrap();
    (dir, file)
}

fn draw(state: &State, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| render::render(f, state)).unwrap();
    term
}

/// The screen as text, one line per row.
fn screen(state: &State, w: u16, h: u16) -> String {
    let term = draw(state, w, h);
    let buf = term.backend().buffer();
    let cells: Vec<&str> = buf.content().iter().map(|c| c.symbol()).collect();
    cells.chunks(buf.area.width as usize).map(|row| row.concat()).collect::<Vec<_>>().join("\n")
}

fn key(state: &mut State, code: KeyCode) -> Flow {
    state.on_key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn press(state: &mut State, keys: &str) {
    for c in keys.chars() {
        key(state, KeyCode::Char(c));
    }
}

/// The row of the screen holding `what`.
fn row_with<'a>(text: &'a str, what: &str) -> &'a str {
    text.lines().find(|l| l.contains(what)).unwrap_or_else(|| panic!("no row with {what:?}:\n{text}"))
}

/// The list's part of the row holding `id` (between the pane's borders).
fn list_row(text: &str, id: &str) -> String {
    text.lines()
        .filter_map(|l| l.split('│').nth(1))
        .find(|r| r.contains(id))
        .unwrap_or_else(|| panic!("no list row for {id:?}:\n{text}"))
        .trim_end()
        .to_string()
}

fn ids(state: &State) -> Vec<&str> {
    state.visible().iter().map(|&i| state.data.records[i].id.as_str()).collect()
}

#[test]
fn the_header_shows_the_metrics_at_tau_and_they_change_when_tau_moves() {
    let (dir, _) = write_dir("metrics", &items());
    let mut s = open(&dir).unwrap();
    let text = screen(&s, 140, 30);
    let m = row_with(&text, "error acc");
    assert!(m.contains("τ 0.50"), "{m}");
    assert!(m.contains("error acc 50.0% (1/2) · correct acc 100.0% (2/2) · F1 66.7% · 1 unscored"), "{m}");
    // The sweep's best and AUROC, as the lab computes them.
    let best = crate::lab::metrics::best(&crate::lab::metrics::sweep(&s.data.scored)).unwrap();
    assert!(m.contains(&format!("best τ {:.2}", best.threshold)), "{m}");
    assert!(m.contains("step AUROC"), "{m}");
    assert!(text.contains("ttc verifier view") && text.contains("5 items · verifier arith"), "{text}");
    press(&mut s, "]]");
    let m = screen(&s, 140, 30);
    let m = row_with(&m, "error acc");
    assert!(m.contains("τ 0.60") && m.contains("correct acc 50.0% (1/2) · F1 50.0%"), "{m}");
    key(&mut s, KeyCode::Right);
    key(&mut s, KeyCode::Right);
    key(&mut s, KeyCode::Right);
    let m = screen(&s, 140, 30);
    let m = row_with(&m, "error acc");
    assert!(
        m.contains("τ 0.75") && m.contains("error acc 100.0% (2/2) · correct acc 0.0% (0/2) · F1 0.0%"),
        "{m}"
    );
    // Fine steps, and the ends of the range.
    press(&mut s, "}}{");
    assert_eq!(s.tau_cents, 76);
    for _ in 0..30 {
        key(&mut s, KeyCode::Left);
    }
    assert_eq!(s.tau_cents, 0);
    press(&mut s, "]]]]]]]]]]]]]]]]]]]]]]]]]");
    assert_eq!(s.tau_cents, 100);
    assert!(screen(&s, 140, 30).contains("τ 1.00"));
}

#[test]
fn the_predicted_marker_moves_with_tau_and_the_human_label_stays() {
    let (dir, _) = write_dir("marker", &items());
    let mut s = open(&dir).unwrap();
    press(&mut s, "jj");
    assert_eq!(s.focused().unwrap().id, "item-c");
    let text = screen(&s, 140, 30);
    assert!(row_with(&text, PREDICTED).contains("#1 "), "{text}");
    assert!(row_with(&text, HUMAN).contains("#0 "), "{text}");
    assert!(row_with(&text, "human: first wrong step #0").contains("predicted at τ 0.50: #1 ✗"), "{text}");
    assert!(text.contains("Problem: Halve 10.") && text.contains("10/2=4"), "{text}");
    press(&mut s, "]]]]]");
    let text = screen(&s, 140, 30);
    let both = row_with(&text, PREDICTED);
    assert!(both.contains("#0 ") && both.contains(HUMAN), "{text}");
    assert!(text.contains("predicted at τ 0.75: #0 ✓"), "{text}");
    // The list's row for the item follows: ✗ then ✓, with the prediction.
    let row = list_row(&text, "item-c ");
    assert!(row.starts_with("✓ item-c") && row.ends_with("0     0"), "{row}");
}

#[test]
fn the_disagreement_filter_lists_exactly_the_disagreeing_ids() {
    let (dir, _) = write_dir("disagree", &items());
    let mut s = open(&dir).unwrap();
    assert_eq!(ids(&s), ["item-a", "item-b", "item-c", "item-d", "item-u"]);
    key(&mut s, KeyCode::Char('d'));
    assert_eq!(ids(&s), ["item-c"]);
    assert_eq!(s.focused().unwrap().id, "item-c", "the focus moves to a listed item");
    let text = screen(&s, 140, 30);
    assert!(text.contains("disagreements 1/5"), "{text}");
    for other in ["item-a", "item-b", "item-d", "item-u"] {
        assert!(!text.contains(other), "{other} is not listed\n{text}");
    }
    press(&mut s, "]]");
    assert_eq!(ids(&s), ["item-c", "item-d"]);
    press(&mut s, "c");
    assert_eq!(ids(&s), ["item-d"], "all-correct and disagreeing");
    press(&mut s, "e");
    assert_eq!(ids(&s), ["item-c"], "erroneous and disagreeing");
    press(&mut s, "d");
    assert_eq!(ids(&s), ["item-a", "item-c", "item-u"]);
    press(&mut s, "e");
    assert_eq!(ids(&s).len(), 5);
    // The metrics stay over every item, whatever the filter.
    press(&mut s, "d");
    assert!(screen(&s, 140, 30).contains("correct acc 50.0% (1/2)"));
    press(&mut s, "[[c");
    assert!(ids(&s).is_empty(), "at τ 0.50 every all-correct item agrees");
    assert!(screen(&s, 140, 30).contains("no item matches the filter"));
}

#[test]
fn moving_along_the_list_stops_at_its_ends_and_pages() {
    let (dir, _) = write_dir("move", &items());
    let mut s = open(&dir).unwrap();
    key(&mut s, KeyCode::Up);
    assert_eq!(s.focus, 0);
    key(&mut s, KeyCode::Down);
    assert_eq!(s.focus, 1);
    s.page = 3;
    key(&mut s, KeyCode::PageDown);
    assert_eq!(s.focus, 4);
    key(&mut s, KeyCode::PageDown);
    assert_eq!(s.focus, 4);
    key(&mut s, KeyCode::PageUp);
    assert_eq!(s.focus, 1);
    key(&mut s, KeyCode::End);
    assert_eq!(s.focus, 4);
    key(&mut s, KeyCode::Home);
    assert_eq!(s.focus, 0);
    let text = screen(&s, 140, 30);
    assert!(list_row(&text, "item-u").starts_with("? item-u"), "an unscored item is marked ?\n{text}");
    press(&mut s, "jjjj");
    assert!(screen(&s, 140, 30).contains("predicted at τ 0.50: no step scored"));
}

#[test]
fn without_the_original_file_the_steps_are_scores_only_and_the_pane_says_why() {
    let (dir, file) = write_dir("nofile", &items());
    std::fs::write(&file, b"[]").unwrap();
    let s = open(&dir).unwrap();
    let text = screen(&s, 300, 30);
    assert!(text.contains("steps not available") && text.contains("has changed since the eval"), "{text}");
    std::fs::remove_file(&file).unwrap();
    let s = open(&dir).unwrap();
    let text = screen(&s, 300, 30);
    assert!(text.contains("steps not available") && text.contains("is not there"), "{text}");
    assert!(row_with(&text, HUMAN).contains("#1 "), "the steps are still listed by number\n{text}");
    assert!(!text.contains("5*2=11"), "{text}");
    std::fs::remove_file(dir.join("run.json")).unwrap();
    let text = screen(&open(&dir).unwrap(), 300, 30);
    assert!(text.contains("steps not available") && text.contains("run.json cannot be read"), "{text}");
}

#[test]
fn hostile_text_never_puts_escapes_on_screen_at_any_size() {
    let evil: Item = (
        "\x1b[31mevil\x1b]0;TITLE\x07",
        1,
        vec![Some(0.9), Some(0.1)],
        "\x1b[2J清除屏幕\x1b[H 问题",
        vec!["第一步 \x1b[1A 上移", "\u{202e}reversed 中文步骤很长很长很长很长很长很长很长很长很长很长"],
    );
    let cjk: Item = ("中文编号", -1, vec![Some(0.8)], "数学题", vec!["一步"]);
    let (dir, _) = write_dir("hostile", &[evil, cjk]);
    let mut s = open(&dir).unwrap();
    let mut shown = String::new();
    for (w, h) in [(140, 30), (80, 24), (40, 12), (20, 5), (12, 4), (5, 3), (3, 2), (1, 1)] {
        for k in ['?', 'x', 'j', 'd', '[', 'd', 'k', 'e', 'c', '}'] {
            let term = draw(&s, w, h);
            let text: String = term.backend().buffer().content().iter().map(|c| c.symbol()).collect();
            assert!(
                !text.contains('\x1b') && !text.contains('\x07') && !text.contains('\u{202e}'),
                "{w}×{h}: {text}"
            );
            shown += &text;
            key(&mut s, KeyCode::Char(k));
        }
    }
    assert!(shown.contains('␛'), "escapes are shown as visible marks");
    let shown: String = shown.chars().filter(|c| *c != ' ').collect();
    assert!(shown.contains("中文编号") && shown.contains("清除屏幕"), "{shown}");
}

#[test]
fn help_opens_on_question_mark_and_any_key_closes_it_q_and_esc_quit() {
    let (dir, _) = write_dir("help", &items());
    let mut s = open(&dir).unwrap();
    assert!(!screen(&s, 120, 32).contains("ttc verifier view: keys"));
    key(&mut s, KeyCode::Char('?'));
    let text = screen(&s, 120, 32);
    assert!(text.contains("ttc verifier view: keys") && text.contains("only disagreements"), "{text}");
    assert_eq!(key(&mut s, KeyCode::Char('d')), Flow::Continue);
    assert!(!s.help && !s.disagree, "the key that closes the help does nothing else");
    assert!(screen(&s, 120, 32).contains("d disagreements"), "the footer names the keys");
    assert_eq!(key(&mut s, KeyCode::Char('q')), Flow::Quit);
    assert_eq!(key(&mut s, KeyCode::Esc), Flow::Quit);
    assert_eq!(s.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), Flow::Quit);
}

#[test]
fn bad_directories_are_refused_with_the_path_and_what_to_do() {
    let missing = std::env::temp_dir().join(format!("ttc-verifier-view-missing-{}", std::process::id()));
    let e = open(&missing).err().unwrap();
    assert!(e.contains(&missing.display().to_string()) && e.contains("no such directory"), "{e}");
    let dir = fresh("bad");
    let e = open(&dir).err().unwrap();
    assert!(e.contains("no items.jsonl") && e.contains("ttc verifier eval --out"), "{e}");
    std::fs::write(dir.join("items.jsonl"), "").unwrap();
    let e = open(&dir).err().unwrap();
    assert!(e.contains("holds no scored item") && e.contains(&dir.display().to_string()), "{e}");
    std::fs::write(dir.join("items.jsonl"), "garbage\n{}\n").unwrap();
    assert!(open(&dir).err().unwrap().contains("line 1 is not a scored item"));
    let file = dir.join("plain");
    std::fs::write(&file, "x").unwrap();
    assert!(open(&file).err().unwrap().contains("is not a directory"));
    // A last line cut short (an eval still writing) is left out, and the header says so.
    let line = json!({"id": "x", "predicted": 0, "label": 0, "scores": [0.1]}).to_string();
    std::fs::write(dir.join("items.jsonl"), format!("{line}\n{{\"id\":\"y\",\"pre")).unwrap();
    let s = open(&dir).unwrap();
    assert_eq!(s.data.records.len(), 1);
    assert!(screen(&s, 160, 20).contains("a cut-short last line left out"));
}

#[test]
fn names_fit_by_display_width_and_text_wraps_by_it() {
    assert_eq!(fit("item", 6), "item  ");
    assert_eq!(fit("gsm8k-1234567", 8), "gsm8k-1…");
    assert_eq!(fit("中文编号", 6), "中文… ");
    assert_eq!(fit("x", 0), "");
    assert_eq!(wrap("ab cd ef", 5), ["ab cd", "ef"]);
    assert_eq!(wrap("abcdefgh", 3), ["abc", "def", "gh"]);
    assert_eq!(wrap("中文步骤", 5), ["中文", "步骤"]);
    assert_eq!(wrap("a\nb", 10), ["a", "b"]);
    assert_eq!(wrap("中", 1), ["中"]);
}

#[test]
fn snapshot_item_c_at_tau_0_60() {
    let (dir, _) = write_dir("snapshot", &items());
    let mut s = open(&dir).unwrap();
    // The paths differ between runs: show fixed ones.
    s.shown_dir = "runs/arith".into();
    s.data.file = Some("processbench.json".into());
    press(&mut s, "jj]]");
    insta::assert_snapshot!(screen(&s, 100, 20));
}

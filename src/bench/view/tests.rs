//! The view drawn into a `TestBackend` from small results directories written to disk.

use std::io::Write;
use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::chart::x_axis;
use super::readout::fit;
use super::state::{Flow, State, Watch};
use super::{open, render};
use crate::bench::analysis::{cross_validate, fold_of, pooled};
use crate::bench::bins::{BinKind, Bins};

const BON: &str = "best-of-n:weighted";
const BEAM: &str = "beam:m=4";

fn line(p: &str, s: &str, budget: u32, correct: Option<bool>, est: f64) -> String {
    serde_json::json!({
        "problem": p, "strategy": s, "budget": budget, "seed": 0,
        "answer": "12", "correct": correct, "tokens": 10, "gen_equivalents": budget as f64,
        "wall_ms": 1, "mean_score": est, "pass_rate": correct.map(|_| est),
    })
    .to_string()
        + "\n"
}

/// A fresh directory under the system's temp dir.
fn fresh(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ttc-bench-view-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Ten problem ids whose folds alternate 0, 1, 0, 1, … so every bin of two has both folds.
fn ids() -> Vec<String> {
    let mut out = Vec::new();
    let mut j = 0;
    while out.len() < 10 {
        let id = format!("q{j}");
        if fold_of(&id) == out.len() % 2 {
            out.push(id);
        }
        j += 1;
    }
    out
}

/// Ten problems, estimate 1 − i/10 for the i-th, budgets 1, 2, 4. Best-of-N is right on
/// problems 0–4 at budgets 1 and 2 and on 0–6 at 4; beam on 8–9 at 1, 5–9 at 2 and 4.
fn results_text(strategies: [&str; 2], gold: bool) -> String {
    let mut text = String::new();
    for (i, p) in ids().iter().enumerate() {
        let est = 1.0 - i as f64 / 10.0;
        for budget in [1, 2, 4] {
            let bon = i < if budget == 4 { 7 } else { 5 };
            let beam = i >= if budget == 1 { 8 } else { 5 };
            text += &line(p, strategies[0], budget, gold.then_some(bon), est);
            text += &line(p, strategies[1], budget, gold.then_some(beam), est);
        }
    }
    text
}

fn write_dir(name: &str, dataset: &str, strategies: [&str; 2], gold: bool) -> PathBuf {
    let d = fresh(name);
    let meta = serde_json::json!({
        "ttc_version": "0", "dataset": dataset, "problems": 10, "strategies": strategies,
        "budgets": [1, 2, 4], "seeds": [0], "model": "pocket", "backend": "pocket", "verifier": "pocket-prm",
    });
    std::fs::write(d.join("bench.json"), meta.to_string()).unwrap();
    std::fs::write(d.join("results.jsonl"), results_text(strategies, gold)).unwrap();
    d
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

/// The readout's row for a label (the part of the screen right of the readout's left edge).
fn readout_row(screen: &str, label: &str) -> String {
    let top = screen.lines().position(|l| l.contains(" at budget ")).expect("a readout");
    let row = screen.lines().nth(top).unwrap();
    let col = row[..row.find(" at budget ").unwrap()].chars().count();
    screen
        .lines()
        .skip(top + 1)
        .map(|l| l.chars().skip(col).collect::<String>())
        .find(|r| r.contains(label))
        .unwrap_or_else(|| panic!("no readout row for {label}:\n{screen}"))
}

#[test]
fn the_all_panel_shows_its_title_legend_and_the_readout_at_the_largest_budget() {
    let dir = write_dir("all", "pocket", [BON, BEAM], true);
    let s = open(&dir).unwrap();
    let text = screen(&s, 120, 32);
    assert!(
        text.contains("ttc bench view") && text.contains("pocket · 10 problems · 2 strategies"),
        "{text}"
    );
    assert!(text.contains(" all problems · 10 "), "{text}");
    assert!(text.contains("••• compute-optimal (held-out)"), "{text}");
    assert!(text.contains("━━━ best-of-n:weighted (best-of-N)"), "{text}");
    assert!(text.contains("─── beam:m=4"), "{text}");
    assert!(text.contains(" at budget 4 (3/3) "), "{text}");
    assert!(readout_row(&text, BON).contains("0.70 (7/10)"), "{text}");
    assert!(readout_row(&text, BEAM).contains("0.50 (5/10)"), "{text}");
    // Compute-optimal's held-out accuracy at 4, pooled over the oracle bins.
    let bins = Bins::build(&s.data.results, BinKind::Oracle).unwrap();
    let co = pooled(&cross_validate(&s.data.results, &bins))[&4];
    let want = format!("{:.2} ({}/{})", co.accuracy().unwrap(), co.correct, co.n);
    assert!(readout_row(&text, "compute-optimal").contains(&want), "{want}\n{text}");
    assert!(text.contains("efficiency ratio"), "{text}");
    // The x axis is labelled with the real budgets; the keys are on screen.
    let rows: Vec<&str> = text.lines().collect();
    let axis = rows.iter().position(|l| l.starts_with("│   └")).expect("an x axis");
    let labels: Vec<&str> = rows[axis + 1].split(['│', ' ']).filter(|w| !w.is_empty()).collect();
    assert_eq!(labels[..3], ["1", "2", "4"], "{text}");
    assert!(text.contains("Tab/1-6 panel") && text.contains("b bins") && text.contains("q quit"), "{text}");
}

#[test]
fn the_cursor_moves_along_budgets_and_the_readout_follows() {
    let dir = write_dir("cursor", "pocket", [BON, BEAM], true);
    let mut s = open(&dir).unwrap();
    key(&mut s, KeyCode::Left);
    let text = screen(&s, 120, 32);
    assert!(text.contains(" at budget 2 (2/3) "), "{text}");
    assert!(readout_row(&text, BON).contains("0.50 (5/10)"), "{text}");
    assert!(readout_row(&text, BEAM).contains("0.50 (5/10)"), "{text}");
    key(&mut s, KeyCode::Left);
    key(&mut s, KeyCode::Left);
    let text = screen(&s, 120, 32);
    assert!(text.contains(" at budget 1 (1/3) "), "{text}");
    assert!(readout_row(&text, BEAM).contains("0.20 (2/10)"), "{text}");
    for _ in 0..5 {
        key(&mut s, KeyCode::Right);
    }
    assert_eq!(s.budget(), Some(4), "the cursor stops at the largest budget");
}

#[test]
fn panels_are_focused_by_number_tab_and_arrows_and_bins_toggle_with_b() {
    let dir = write_dir("focus", "pocket", [BON, BEAM], true);
    let mut s = open(&dir).unwrap();
    assert_eq!(s.kind, BinKind::Oracle);
    key(&mut s, KeyCode::Char('2'));
    let text = screen(&s, 120, 32);
    assert!(text.contains("oracle bin 1 (easiest) · 2 problems"), "{text}");
    assert!(text.contains("bins: oracle (pass rate against gold)"), "{text}");
    assert!(text.contains("picks: "), "a bin panel names compute-optimal's choice\n{text}");
    key(&mut s, KeyCode::Char('b'));
    let text = screen(&s, 120, 32);
    assert!(text.contains("model bin 1 (easiest)"), "{text}");
    assert!(text.contains("bins: model-predicted (mean verifier score)"), "{text}");
    key(&mut s, KeyCode::Tab);
    assert_eq!(s.focus, 2);
    key(&mut s, KeyCode::Up);
    key(&mut s, KeyCode::Up);
    assert_eq!(s.focus, 0);
    key(&mut s, KeyCode::Up);
    assert_eq!(s.focus, 5);
    assert!(screen(&s, 120, 32).contains("model bin 5 (hardest)"));
    key(&mut s, KeyCode::Char('6'));
    assert_eq!(s.focus, 5);
}

#[test]
fn the_grid_shows_all_six_panels_and_frames_the_focused_one() {
    let dir = write_dir("grid", "pocket", [BON, BEAM], true);
    let mut s = open(&dir).unwrap();
    key(&mut s, KeyCode::Char('g'));
    key(&mut s, KeyCode::Char('3'));
    let text = screen(&s, 200, 40);
    assert!(text.contains("all problems · 10"), "{text}");
    for b in ["1 (easiest)", "2", "3", "4", "5 (hardest)"] {
        assert!(text.contains(&format!("oracle bin {b} ·")), "bin {b}\n{text}");
    }
    let term = draw(&s, 200, 40);
    let buf = term.backend().buffer();
    // The focused panel's corner is drawn in the focus colour.
    let corners: Vec<_> = buf.content().iter().filter(|c| c.symbol() == "┌").map(|c| c.fg).collect();
    assert_eq!(corners.iter().filter(|c| **c == ratatui::style::Color::Yellow).count(), 1, "{corners:?}");
}

#[test]
fn without_gold_oracle_bins_are_impossible_and_the_screen_says_so() {
    let dir = write_dir("nogold", "pocket", [BON, BEAM], false);
    let mut s = open(&dir).unwrap();
    assert_eq!(s.kind, BinKind::Model, "model-predicted bins first when oracle ones cannot be made");
    key(&mut s, KeyCode::Char('b'));
    key(&mut s, KeyCode::Char('2'));
    let text = screen(&s, 120, 32);
    assert!(text.contains("bins: oracle: unavailable"), "{text}");
    assert!(text.contains("oracle bins unavailable: no gold answers: oracle"), "{text}");
    assert!(text.contains("impossible (model-predicted bins"), "{text}");
    key(&mut s, KeyCode::Char('1'));
    let text = screen(&s, 120, 32);
    assert!(text.contains("no graded lines yet"), "{text}");
    assert!(text.contains("60 lines without gold"), "{text}");
}

#[test]
fn help_opens_on_question_mark_and_any_key_closes_it_q_and_esc_quit() {
    let dir = write_dir("help", "pocket", [BON, BEAM], true);
    let mut s = open(&dir).unwrap();
    assert!(!screen(&s, 120, 32).contains("ttc bench view: keys"));
    key(&mut s, KeyCode::Char('?'));
    let text = screen(&s, 120, 32);
    assert!(
        text.contains("ttc bench view: keys") && text.contains("switch oracle / model-predicted"),
        "{text}"
    );
    assert_eq!(key(&mut s, KeyCode::Char('x')), Flow::Continue);
    assert!(!s.help);
    assert_eq!(key(&mut s, KeyCode::Char('q')), Flow::Quit);
    assert_eq!(key(&mut s, KeyCode::Esc), Flow::Quit);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(s.on_key(ctrl_c), Flow::Quit);
}

#[test]
fn a_line_appended_to_results_is_picked_up_by_the_reload() {
    let dir = write_dir("live", "pocket", [BON, BEAM], true);
    let mut s = open(&dir).unwrap();
    let path = dir.join("results.jsonl");
    let mut watch = Watch::new(&path);
    assert!(!watch.changed());
    assert_eq!(s.data.results.rows.len(), 60);
    let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(line(&ids()[0], BON, 8, Some(true), 1.0).as_bytes()).unwrap();
    // The runner is still writing the next line.
    f.write_all(br#"{"problem":"q1","strat"#).unwrap();
    drop(f);
    assert!(watch.changed(), "the length changed");
    s.reload();
    assert_eq!(s.status, None);
    assert_eq!(s.data.results.rows.len(), 61);
    assert_eq!(s.data.results.budgets, [1, 2, 4, 8]);
    assert_eq!(s.budget(), Some(4), "the cursor stays on its budget");
    let text = screen(&s, 120, 32);
    assert!(text.contains("reloaded 1×") && text.contains("incomplete last line ignored"), "{text}");
    assert!(text.contains(" at budget 4 (3/4) "), "{text}");
    assert!(!watch.changed(), "nothing new");
    // A broken line in the middle keeps the old results on screen and says why.
    std::fs::write(&path, "not json\n".to_string() + &results_text([BON, BEAM], true)).unwrap();
    assert!(watch.changed());
    s.reload();
    assert_eq!(s.data.results.rows.len(), 61);
    assert!(s.status.as_deref().is_some_and(|e| e.contains("reload failed")), "{:?}", s.status);
    assert!(screen(&s, 120, 32).contains("reload failed"));
}

#[test]
fn hostile_strategy_and_dataset_text_is_drawn_without_escapes() {
    let evil = "\x1b[31mevil\x1b]0;TITLE\x07\u{202e}";
    let cjk = "中文策略:測試";
    let dir = write_dir("hostile", "\x1b[2J数据集\x1b[H", [evil, cjk], true);
    let mut s = open(&dir).unwrap();
    let mut shown = String::new();
    for (w, h) in [(120, 32), (80, 24), (40, 12), (12, 6), (1, 1)] {
        for k in ['g', '2', '?', 'b', 'b', '1'] {
            let term = draw(&s, w, h);
            let text: String = term.backend().buffer().content().iter().map(|c| c.symbol()).collect();
            assert!(!text.contains('\x1b') && !text.contains('\x07') && !text.contains('\u{202e}'), "{text}");
            shown += &text;
            key(&mut s, KeyCode::Char(k));
        }
    }
    assert!(shown.contains('␛'), "escapes are shown as visible marks");
    // A wide character's second cell is blank in the buffer.
    let shown: String = shown.chars().filter(|c| *c != ' ').collect();
    assert!(shown.contains("数据集"), "{shown}");
    assert!(shown.contains("中文策略"), "{shown}");
}

#[test]
fn bad_directories_are_refused_with_the_path_and_what_to_do() {
    let missing = std::env::temp_dir().join(format!("ttc-bench-view-missing-{}", std::process::id()));
    let e = open(&missing).err().unwrap();
    assert!(e.contains(&missing.display().to_string()) && e.contains("no such directory"), "{e}");
    let dir = fresh("bad");
    let e = open(&dir).err().unwrap();
    assert!(e.contains("no results.jsonl") && e.contains("ttc bench --out"), "{e}");
    let file = dir.join("plain");
    std::fs::write(&file, "x").unwrap();
    assert!(open(&file).err().unwrap().contains("is not a directory"));
    std::fs::write(dir.join("results.jsonl"), "").unwrap();
    let e = open(&dir).err().unwrap();
    assert!(e.contains("no finished results yet") && e.contains(&dir.display().to_string()), "{e}");
    std::fs::write(dir.join("results.jsonl"), "garbage\n{}\n").unwrap();
    assert!(open(&dir).err().unwrap().contains("results.jsonl:1"));
}

#[test]
fn x_labels_are_the_real_budgets_at_evenly_spaced_powers_of_two() {
    let (b, l) = x_axis(&[1, 2, 4, 8, 16], 80);
    assert_eq!((b, l), ([0.0, 4.0], vec!["1", "2", "4", "8", "16"].into_iter().map(String::from).collect()));
    let (b, l) = x_axis(&[1, 1024], 36);
    assert_eq!(b, [0.0, 10.0]);
    assert_eq!(l, ["1", "4", "16", "64", "256", "1024"]);
    assert_eq!(x_axis(&[1, 1024], 25).1, ["1", "32", "1024"]);
    let (b, l) = x_axis(&[3], 80);
    assert_eq!((b, l), ([1.0, 2.0], vec!["2".to_string(), "4".to_string()]));
    assert_eq!(x_axis(&[], 80).1.len(), 2);
}

#[test]
fn compute_optimal_and_best_of_n_stand_out_and_the_cursor_label_is_marked() {
    use ratatui::style::{Color, Modifier};
    let dir = write_dir("emphasis", "pocket", [BON, BEAM], true);
    let mut s = open(&dir).unwrap();
    key(&mut s, KeyCode::Left);
    let term = draw(&s, 120, 32);
    let buf = term.backend().buffer();
    let cells = buf.content();
    let braille =
        |c: &ratatui::buffer::Cell| c.symbol().chars().all(|ch| ('\u{2801}'..='\u{28ff}').contains(&ch));
    assert!(
        cells
            .iter()
            .any(|c| c.symbol() == "•" && c.fg == Color::Yellow && c.modifier.contains(Modifier::BOLD)),
        "compute-optimal in bold yellow dots"
    );
    assert!(
        cells.iter().any(|c| braille(c) && c.fg == Color::Cyan && c.modifier.contains(Modifier::BOLD)),
        "best-of-N bold cyan"
    );
    assert!(cells.iter().any(|c| braille(c) && c.modifier.contains(Modifier::DIM)), "the others dim");
    // The x label of the cursor's budget (2) is marked, the others are not.
    let w = buf.area.width as usize;
    let rows: Vec<&[ratatui::buffer::Cell]> = cells.chunks(w).collect();
    let axis = rows.iter().position(|r| r[0].symbol() == "│" && r[4].symbol() == "└").unwrap();
    let marked: Vec<&str> =
        rows[axis + 1].iter().filter(|c| c.bg == Color::Yellow).map(|c| c.symbol()).collect();
    assert_eq!(marked, ["2"]);
}

#[test]
fn readout_names_fit_their_column_by_display_width() {
    assert_eq!(fit("beam", 6), "beam  ");
    assert_eq!(fit("best-of-n:weighted", 8), "best-of…");
    assert_eq!(fit("中文策略", 8), "中文策略");
    assert_eq!(fit("中文策略", 6), "中文… ");
    assert_eq!(fit("x", 0), "");
}

#[test]
fn snapshot_all_problems_at_budget_2() {
    let dir = write_dir("snapshot", "pocket", [BON, BEAM], true);
    let mut s = open(&dir).unwrap();
    // The directory's name differs between runs: show a fixed one.
    s.shown_dir = "runs/bench".into();
    key(&mut s, KeyCode::Left);
    insta::assert_snapshot!(screen(&s, 100, 28));
}

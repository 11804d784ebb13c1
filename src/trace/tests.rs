//! Writer and reader together: round trips, kills mid-write, corrupt lines, newer formats,
//! coalescing, and the size of a large run's trace.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::writer::{Coalescer, COALESCE_MS};
use super::*;
use crate::event::RunInfo;
use crate::model::GeneratorInfo;
use crate::problem::Problem;
use crate::spec::{RunConfig, StrategyKind};

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ttc-trace-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn info() -> RunInfo {
    RunInfo {
        problem: Problem::inline("What is 12 + 30?", Some("42".into())),
        config: RunConfig { n: 2, ..RunConfig::default() },
        generator: GeneratorInfo {
            backend: "ollama".into(),
            model: "m".into(),
            location: "http://me:secret@gpu:11434".into(),
            logprobs: true,
        },
        verifier: "arith".into(),
    }
}

fn quiet() -> Warn {
    Arc::new(|_| {})
}

/// A small run's events.
fn run_events() -> Vec<Event> {
    let mut v = vec![Event::RunStarted(info())];
    for node in 0..2 {
        v.push(Event::NodeStarted {
            node,
            parent: None,
            seed: Some(node as i64),
            depth: 0,
            chain: None,
            revision: None,
        });
        v.push(Event::NodeStreaming { node });
    }
    for piece in ["12", " + ", "30", " = ", "42"] {
        for node in 0..2 {
            v.push(Event::TextDelta { node, text: piece.into() });
        }
    }
    for node in 0..2 {
        v.push(Event::NodeFinished {
            node,
            answer: Some("42".into()),
            correct: Some(true),
            score: Some(0.123_456_789_012_345_67),
            tokens: 5,
            done_reason: "stop".into(),
        });
    }
    v.push(Event::RunFinished {
        selected: Some("42".into()),
        correct: Some(true),
        budget: Default::default(),
        error: None,
    });
    v
}

fn record(path: &Path, events: &[Event], window: u64) -> Vec<u8> {
    let r = Recorder::with_window(&Target::File(path.to_path_buf()), StrategyKind::BestOfN, quiet(), window)
        .unwrap();
    for e in events {
        r.record(e);
    }
    r.finish();
    std::fs::read(path).unwrap()
}

fn fold(events: impl IntoIterator<Item = Event>) -> crate::tree::RunTree {
    let mut t = crate::tree::RunTree::new();
    for e in events {
        t.apply(&e);
    }
    t
}

#[test]
fn events_round_trip_through_a_file() {
    let dir = temp_dir("round");
    let path = dir.join("t.jsonl");
    let events = run_events();
    let bytes = record(&path, &events, 0);
    let text = String::from_utf8(bytes).unwrap();
    assert!(!text.contains("secret"), "credentials in the trace: {text}");
    assert!(text.contains("http://***@gpu:11434"), "{text}");
    let trace = read(&path).unwrap();
    assert!(trace.notes.is_empty(), "{:?}", trace.notes);
    assert_eq!(trace.header.ttc_trace, FORMAT_VERSION);
    assert_eq!(trace.header.run.problem.text, "What is 12 + 30?");
    let back: Vec<Event> = trace.events().map(|(_, e)| e).collect();
    assert_eq!(back.len(), events.len());
    // Only the credentials differ.
    assert_eq!(back[1..], events[1..]);
    assert_eq!(fold(back).summary().candidates, fold(events).summary().candidates);
    let times: Vec<u64> = trace.records.iter().map(|r| r.t).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn coalescing_keeps_the_text_and_the_delta_count() {
    let dir = temp_dir("coalesce");
    let path = dir.join("t.jsonl");
    let events = run_events();
    record(&path, &events, 10_000);
    let trace = read(&path).unwrap();
    let deltas = trace.records.iter().filter(|r| matches!(r.event, Event::TextDelta { .. })).count();
    assert_eq!(deltas, 2, "one merged line per node: {:?}", trace.records);
    assert!(trace.records.iter().any(|r| r.deltas == 5));
    let replayed = trace.tree();
    let live = fold(events);
    assert_eq!(replayed.nodes[0].text, "12 + 30 = 42");
    assert_eq!(replayed.summary().candidates, live.summary().candidates);
    assert_eq!(replayed.selected, live.selected);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_node_s_text_is_written_before_its_other_events_and_its_children() {
    let mut co = Coalescer::new(1000);
    let mut out = Vec::new();
    co.push(1, &Event::TextDelta { node: 0, text: "a".into() }, &mut out).unwrap();
    co.push(2, &Event::TextDelta { node: 1, text: "x".into() }, &mut out).unwrap();
    co.push(3, &Event::TextDelta { node: 0, text: "b".into() }, &mut out).unwrap();
    co.push(4, &Event::StepCompleted { node: 0, step: 0, text: "ab".into() }, &mut out).unwrap();
    let child =
        Event::NodeStarted { node: 2, parent: Some(1), seed: None, depth: 1, chain: None, revision: None };
    co.push(5, &child, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].contains(r#""node":0,"text":"ab""#) && lines[0].contains(r#""deltas":2"#), "{text}");
    assert!(lines[1].contains("step_completed"), "{text}");
    assert!(lines[2].contains(r#""node":1,"text":"x""#), "{text}");
    assert!(lines[3].contains("node_started"), "{text}");
}

#[test]
fn a_cut_last_line_and_a_corrupt_middle_line_are_skipped_and_named() {
    let dir = temp_dir("broken");
    let path = dir.join("t.jsonl");
    let bytes = record(&path, &run_events(), 0);
    let text = String::from_utf8(bytes).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let n = lines.len();
    lines[3] = "{\"t\":3,\"event\":\"node_sta".into();
    let mut broken = lines.join("\n");
    broken.push('\n');
    // A kill mid-write: the last line is cut short, with no newline after it.
    broken.truncate(broken.len() - 10);
    std::fs::write(&path, &broken).unwrap();
    let trace = read(&path).unwrap();
    assert_eq!(trace.records.len(), n - 3, "{:?}", trace.notes);
    assert_eq!(trace.notes.len(), 2, "{:?}", trace.notes);
    assert!(
        trace.notes[0].starts_with(&format!("{}:4: not a trace event", path.display())),
        "{:?}",
        trace.notes
    );
    assert!(trace.notes[1].contains(&format!(":{n}: the last line is cut short")), "{:?}", trace.notes);
    // What is left still folds: the run just has not finished.
    assert!(!trace.tree().finished);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_newer_format_is_refused_clearly() {
    let path = Path::new("new.jsonl");
    let e = reader::parse(path, b"{\"ttc_trace\":99,\"ttc_version\":\"9.0.0\"}\n{\"t\":0}\n").unwrap_err();
    assert!(e.starts_with("new.jsonl:1:") && e.contains("format 99") && e.contains("upgrade ttc"), "{e}");
    let e = reader::parse(path, b"{\"hello\":1}\n").unwrap_err();
    assert!(e.contains("not a ttc trace"), "{e}");
    let e = reader::parse(path, b"").unwrap_err();
    assert!(e.contains("empty"), "{e}");
}

#[test]
fn an_unwritable_place_warns_once_and_records_nothing() {
    let dir = temp_dir("unwritable");
    let blocker = dir.join("file");
    std::fs::write(&blocker, "x").unwrap();
    let warned = Arc::new(std::sync::Mutex::new(Vec::new()));
    let w = warned.clone();
    let warn: Warn = Arc::new(move |m| w.lock().unwrap().push(m));
    // A folder where a file is: the trace cannot be created.
    let r = Recorder::start(&Target::Dir(blocker.join("traces")), StrategyKind::Beam, warn).unwrap();
    for e in run_events() {
        r.record(&e);
    }
    r.finish();
    let warned = warned.lock().unwrap();
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(warned[0].contains("cannot write the trace") && warned[0].contains("goes on"), "{warned:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_file_in_a_folder_is_named_by_time_strategy_and_hash() {
    let dir = temp_dir("named");
    let r = Recorder::start(&Target::Dir(dir.clone()), StrategyKind::Beam, quiet()).unwrap();
    let name = r.path().file_name().unwrap().to_string_lossy().into_owned();
    // 2026-12-03T04-05-06-beam-1a2b3c.jsonl
    assert_eq!(name.len(), "2026-12-03T04-05-06-beam-1a2b3c.jsonl".len(), "{name}");
    assert!(name.contains("-beam-") && name.ends_with(".jsonl") && !name.contains(':'), "{name}");
    r.finish();
    // No run started: no file.
    assert!(!r.path().exists());
    std::fs::remove_dir_all(&dir).ok();
}

/// The size of a 64 × 2,000-token best-of-N trace, written through the coalescer with
/// times as a stream of `rate` tokens per second per candidate would have them.
fn trace_bytes(window: u64, rate: u64) -> (usize, usize) {
    let mut co = Coalescer::new(window);
    let mut out = Vec::new();
    let mut events = 0;
    for node in 0..64u32 {
        let e = Event::NodeStarted {
            node,
            parent: None,
            seed: Some(node as i64),
            depth: 0,
            chain: None,
            revision: None,
        };
        co.push(0, &e, &mut out).unwrap();
    }
    for k in 0..2000u64 {
        let t = k * 1000 / rate;
        for node in 0..64u32 {
            // Tokens of about four characters, a step every 50 tokens.
            co.push(t, &Event::TextDelta { node, text: format!(" t{:02}", k % 100) }, &mut out).unwrap();
            events += 1;
            if k % 50 == 49 {
                co.push(
                    t,
                    &Event::StepCompleted { node, step: (k / 50) as u32, text: "x".repeat(200) },
                    &mut out,
                )
                .unwrap();
            }
        }
        co.flush_due(t, &mut out).unwrap();
    }
    co.flush_all(&mut out).unwrap();
    assert!(events == 128_000);
    (out.len(), String::from_utf8(out).unwrap().lines().count())
}

#[test]
fn a_64_by_2000_token_trace_stays_small() {
    let (raw, raw_lines) = trace_bytes(0, 100);
    let (paced, paced_lines) = trace_bytes(COALESCE_MS, 20);
    let (fast, fast_lines) = trace_bytes(COALESCE_MS, 500);
    eprintln!(
        "64 x 2000 tokens: one line per delta {raw} B ({raw_lines} lines); coalesced at 20 tok/s {paced} B ({paced_lines} lines); at 500 tok/s {fast} B ({fast_lines} lines)"
    );
    assert!(fast < raw / 4, "{fast} vs {raw}");
    assert!(paced < raw, "{paced} vs {raw}");
}

#[test]
fn the_file_is_readable_while_the_run_goes_on() {
    let dir = temp_dir("live");
    let path = dir.join("t.jsonl");
    let r = Recorder::start(&Target::File(path.clone()), StrategyKind::BestOfN, quiet()).unwrap();
    let events = run_events();
    // Everything but the end: as if the process were killed now.
    for e in &events[..events.len() - 1] {
        r.record(e);
    }
    std::thread::sleep(std::time::Duration::from_millis(3 * writer::FLUSH_MS));
    let trace = read(&path).unwrap();
    assert_eq!(trace.tree().nodes[1].text, "12 + 30 = 42", "{:?}", trace.records);
    assert!(!trace.tree().finished);
    r.finish();
    std::fs::remove_dir_all(&dir).ok();
}

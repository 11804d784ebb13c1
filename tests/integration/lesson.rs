//! The lesson's traces (`assets/traces/`, taught in `docs/lesson.md`): every one replays
//! cleanly, is small, is opened by the lesson with one command, and still shows the
//! scenario it is there for. Replacing a trace by a run that does not show it fails here.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

/// The bundled traces, in lesson order.
const TRACES: [&str; 5] = [
    "01-greedy.jsonl",
    "01-best-of-n-beats-greedy.jsonl",
    "02-verifier-picks-a-minority.jsonl",
    "03-beam-prunes-a-wrong-step.jsonl",
    "04-revision-turns-right-wrong.jsonl",
];

/// The largest a bundled trace may be.
const MAX_BYTES: u64 = 200 * 1024;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn trace(name: &str) -> PathBuf {
    root().join("assets/traces").join(name)
}

/// `ttc replay FILE ARGS`, isolated from the user's config, servers and data directory.
fn ttc_replay(file: &Path, args: &[&str]) -> Output {
    let home = std::env::temp_dir().join(format!("ttc-lesson-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    super::isolated::command(&home).arg("replay").arg(file).args(args).output().unwrap()
}

/// The trace's final state, as `ttc replay FILE --json` prints it; nothing may be skipped.
fn replay(name: &str) -> Value {
    let o = ttc_replay(&trace(name), &["--json"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{name}: {err}");
    assert!(err.trim().is_empty(), "{name}: the replay skipped something: {err}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["error"].is_null(), "{name}: {}", v["error"]);
    assert!(v["selected"].is_string(), "{name}: no answer selected");
    v
}

fn config<'a>(run: &'a Value, key: &str) -> &'a Value {
    &run["run"]["config"][key]
}

fn candidates(run: &Value) -> &Vec<Value> {
    run["candidates"].as_array().expect("candidates")
}

/// The votes of `answer` in the selection's tally.
fn votes(run: &Value, answer: &str) -> u64 {
    let tally = run["selection"]["answers"].as_array().expect("a tally");
    tally.iter().find(|a| a["answer"] == answer).map_or(0, |a| a["votes"].as_u64().unwrap())
}

/// Whether `step` is an equation `a op b = c` whose `c` is not `a op b`.
fn false_equation(step: &str) -> bool {
    let Some((lhs, rhs)) = step.split_once('=') else { return false };
    let Ok(c) = rhs.trim().parse::<i64>() else { return false };
    let lhs = lhs.trim();
    // The operator is the first of + - * after the first character (a may be negative).
    let Some((i, op)) = lhs.char_indices().skip(1).find(|(_, ch)| matches!(ch, '+' | '-' | '*')) else {
        return false;
    };
    let (Ok(a), Ok(b)) = (lhs[..i].trim().parse::<i64>(), lhs[i + 1..].trim().parse::<i64>()) else {
        return false;
    };
    let value = match op {
        '+' => a + b,
        '-' => a - b,
        _ => a * b,
    };
    value != c
}

#[test]
fn the_equation_check_reads_the_pocket_steps() {
    assert!(!false_equation("72-7=65"));
    assert!(false_equation("72-7=66"));
    assert!(false_equation("65+97=152"));
    assert!(!false_equation("-3*4=-12"));
    assert!(!false_equation("The answer is 68."));
}

#[test]
fn every_bundled_trace_is_small_replays_and_is_in_the_lesson() {
    let lesson = std::fs::read_to_string(root().join("docs/lesson.md")).unwrap();
    let mut on_disk: Vec<String> = std::fs::read_dir(root().join("assets/traces"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jsonl"))
        .collect();
    on_disk.sort();
    let mut expected: Vec<String> = TRACES.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(on_disk, expected, "assets/traces/ holds exactly the lesson's traces");
    for name in TRACES {
        let size = std::fs::metadata(trace(name)).unwrap().len();
        assert!(size < MAX_BYTES, "{name} is {size} bytes");
        let v = replay(name);
        assert_eq!(v["run"]["generator"]["backend"], "pocket", "{name}: recorded on the embedded model");
        let text = ttc_replay(&trace(name), &["--text"]);
        assert_eq!(text.status.code(), Some(0), "{name}");
        assert!(!String::from_utf8_lossy(&text.stdout).contains("ends before"), "{name} is unfinished");
        let command = format!("ttc replay assets/traces/{name}");
        assert!(lesson.contains(&command), "docs/lesson.md does not open {name} with `{command}`");
    }
}

#[test]
fn scenario_1_best_of_n_is_right_where_greedy_is_wrong() {
    let greedy = replay("01-greedy.jsonl");
    let bon = replay("01-best-of-n-beats-greedy.jsonl");
    assert_eq!(greedy["run"]["problem"], bon["run"]["problem"], "the same problem");
    assert_eq!(config(&greedy, "strategy"), "best-of-n");
    assert_eq!(config(&greedy, "n"), 1);
    assert_eq!(config(&greedy, "temperature").as_f64(), Some(0.0), "greedy decoding");
    assert_eq!(greedy["correct"], false, "greedy answers {}", greedy["selected"]);
    assert_eq!(config(&bon, "strategy"), "best-of-n");
    assert!(config(&bon, "n").as_u64().unwrap() > 1);
    assert_eq!(bon["correct"], true, "best-of-N answers {}", bon["selected"]);
}

#[test]
fn scenario_2_the_verifier_picks_a_minority_answer_and_it_is_right() {
    let run = replay("02-verifier-picks-a-minority.jsonl");
    assert_eq!(config(&run, "strategy"), "best-of-n");
    assert_eq!(run["selection"]["rule"], "weighted");
    assert_eq!(run["correct"], true, "the selected {} is right", run["selected"]);
    let selected = run["selected"].as_str().unwrap();
    let tally = run["selection"]["answers"].as_array().unwrap();
    let top = tally.iter().map(|a| a["votes"].as_u64().unwrap()).max().unwrap();
    assert!(votes(&run, selected) < top, "{selected} has the most votes: not a minority");
    for a in tally.iter().filter(|a| a["votes"].as_u64() == Some(top)) {
        assert_eq!(a["correct"], false, "a majority answer {} is right too", a["answer"]);
    }
}

#[test]
fn scenario_3_beam_search_prunes_a_wrong_step() {
    let run = replay("03-beam-prunes-a-wrong-step.jsonl");
    assert_eq!(config(&run, "strategy"), "beam");
    let nodes = candidates(&run);
    // The step a node added (tree search adds step `depth`).
    let own_step = |n: &Value| -> Option<String> {
        let depth = n["depth"].as_u64()? as usize;
        n["steps"].get(depth)?["text"].as_str().map(String::from)
    };
    let rank = |n: &Value| n["rank"].as_u64().unwrap_or(u64::MAX);
    // A pruned node whose own step is a wrong equation, at a depth where the beam kept a
    // right step ranked above it.
    let shown = nodes.iter().filter(|n| n["status"] == "pruned").any(|wrong| {
        own_step(wrong).is_some_and(|s| false_equation(&s))
            && nodes.iter().any(|kept| {
                kept["status"] == "kept"
                    && kept["depth"] == wrong["depth"]
                    && rank(kept) < rank(wrong)
                    && own_step(kept).is_some_and(|s| s.contains('=') && !false_equation(&s))
            })
    });
    assert!(shown, "no wrong step pruned below a right one the beam kept");
    assert_eq!(run["correct"], true, "the beam's answer {} is right", run["selected"]);
}

#[test]
fn scenario_4_a_revision_turns_a_right_answer_wrong() {
    let run = replay("04-revision-turns-right-wrong.jsonl");
    assert_eq!(config(&run, "strategy"), "revise");
    let attempt = |chain: &Value, revision: u64| {
        candidates(&run).iter().find(|n| &n["chain"] == chain && n["revision"].as_u64() == Some(revision))
    };
    let turned: Vec<(&Value, u64)> = candidates(&run)
        .iter()
        .filter(|n| n["correct"] == true && !n["chain"].is_null())
        .filter_map(|n| {
            let r = n["revision"].as_u64().unwrap_or(0);
            attempt(&n["chain"], r + 1).filter(|later| later["correct"] == false).map(|_| (&n["chain"], r))
        })
        .collect();
    assert!(!turned.is_empty(), "no chain has a right attempt followed by a wrong revision");
    // The selection looks past the last attempt, so the run still ends right.
    assert_eq!(run["correct"], true, "the run selects {}", run["selected"]);
}

//! `ttc verifier eval --traces`: items from the shipped traces with gold answers, outcome
//! labels, the outcome-level error accuracy, and the refusals (a missing path, neither or both
//! inputs, a directory that holds ProcessBench scores).

use std::process::Output;

use super::verifier_eval::{fresh_dir, items, s};
use serde_json::Value;

const TRACES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/traces");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/processbench_small.json");

fn ttc(args: &[&str]) -> Output {
    let home = std::env::temp_dir().join(format!("ttc-lab-traces-home-{}", std::process::id()));
    super::isolated::command(&home).args(args).output().unwrap()
}

#[test]
fn the_shipped_traces_become_outcome_labelled_items() {
    let out = fresh_dir("traces-eval");
    let o = ttc(&["verifier", "eval", "--traces", TRACES, "--verifier", "arith", "--out", s(&out)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("33 items from 5 traces") && err.contains("24 unfinished"), "{err}");
    let records = items(&out);
    assert_eq!(records.len(), 33);
    let by_id = |suffix: &str| {
        records
            .iter()
            .find(|r| r["id"].as_str().unwrap().ends_with(suffix))
            .unwrap_or_else(|| panic!("{suffix}"))
    };
    // Greedy's one candidate answered 189 (wrong); beam search's finished leaves carry ids of
    // the leaf nodes, with their whole path scored.
    assert_eq!(by_id("01-greedy.jsonl#0")["label"], -2);
    assert_eq!(by_id("03-beam-prunes-a-wrong-step.jsonl#24")["label"], -1);
    assert!(by_id("03-beam-prunes-a-wrong-step.jsonl#24")["scores"].as_array().unwrap().len() > 1);
    assert_eq!(records.iter().filter(|r| r["label"] == -1).count(), 12);
    assert_eq!(records.iter().filter(|r| r["label"] == -2).count(), 21);
    let m: Value = serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!((m["erroneous"].as_u64(), m["correct"].as_u64()), (Some(21), Some(12)));
    // Every wrong answer has an arithmetic slip the checker flags somewhere.
    assert_eq!(m["counts"]["erroneous_hits"], 21);
    assert!(m["note"].as_str().unwrap().contains("wrong solutions flagged anywhere"), "{m}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("wrong solutions flagged anywhere"));
    // The items are kept in the directory, so a second run resumes without scoring again.
    assert!(out.join("trace-items.jsonl").is_file());
    let data = ttc::lab::view::data::Data::load(&out).unwrap();
    let id = format!("{TRACES}/01-greedy.jsonl#0");
    let text = data.text(&id).unwrap_or_else(|e| panic!("{e}"));
    assert!(text.problem.starts_with("Start at 90."), "{}", text.problem);
    assert_eq!(text.steps.len(), by_id("01-greedy.jsonl#0")["scores"].as_array().unwrap().len());
    let again = ttc(&["verifier", "eval", "--traces", TRACES, "--verifier", "arith", "--out", s(&out)]);
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success() && err.contains("0 scored now, 33 from an earlier run"), "{err}");
    // ProcessBench items refuse this directory: one kind of item per directory.
    let mixed =
        ttc(&["verifier", "eval", "--processbench", FIXTURE, "--verifier", "arith", "--out", s(&out)]);
    let err = String::from_utf8_lossy(&mixed.stderr);
    assert_eq!(mixed.status.code(), Some(1), "{err}");
    assert!(err.contains("the kind of items (was traces, now processbench"), "{err}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_processbench_directory_refuses_traces_and_bad_inputs_are_refused() {
    let out = fresh_dir("traces-mix");
    let o = ttc(&["verifier", "eval", "--processbench", FIXTURE, "--verifier", "arith", "--out", s(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = ttc(&["verifier", "eval", "--traces", TRACES, "--verifier", "arith", "--out", s(&out)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("the kind of items (was processbench, now traces"), "{err}");
    let _ = std::fs::remove_dir_all(&out);
    // A path that does not exist.
    let o = ttc(&[
        "verifier",
        "eval",
        "--traces",
        "no/such/trace.jsonl",
        "--verifier",
        "arith",
        "--out",
        s(&out),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("no/such/trace.jsonl does not exist"), "{err}");
    // Neither input, and both: usage errors.
    let o = ttc(&["verifier", "eval", "--verifier", "arith", "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(2));
    let o = ttc(&[
        "verifier",
        "eval",
        "--processbench",
        FIXTURE,
        "--traces",
        TRACES,
        "--verifier",
        "arith",
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!out.exists());
}

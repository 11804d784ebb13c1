use super::*;
use crate::event::{Event, RunInfo};
use crate::model::GeneratorInfo;
use crate::problem::Problem;
use crate::spec::{NodeId, RunConfig};

fn info(gold: Option<&str>) -> RunInfo {
    RunInfo {
        problem: Problem::inline("Start at 3. Add 4. 三", gold.map(str::to_string)),
        config: RunConfig::default(),
        generator: GeneratorInfo {
            backend: "pocket".into(),
            model: "pocket".into(),
            location: "embedded".into(),
            logprobs: false,
        },
        verifier: "pocket-prm".into(),
    }
}

fn started(node: NodeId, parent: Option<NodeId>) -> Event {
    Event::NodeStarted { node, parent, seed: None, depth: 0, chain: None, revision: None }
}

fn step(node: NodeId, step: u32, text: &str) -> Event {
    Event::StepCompleted { node, step, text: text.into() }
}

fn finished(node: NodeId, correct: Option<bool>) -> Event {
    Event::NodeFinished {
        node,
        answer: Some("7".into()),
        correct,
        score: None,
        tokens: 3,
        done_reason: "stop".into(),
    }
}

fn tree(gold: Option<&str>, events: &[Event]) -> RunTree {
    let mut t = RunTree::new();
    t.apply(&Event::RunStarted(info(gold)));
    for e in events {
        t.apply(e);
    }
    t
}

#[test]
fn finished_candidates_with_gold_become_items_with_outcome_labels() {
    let events = [
        // 0: right answer, two steps.
        started(0, None),
        step(0, 0, "3+4=7"),
        step(0, 1, "答え 7"),
        finished(0, Some(true)),
        // 1: a partial path of tree search (never finished), 2: its child with only step 1.
        started(1, None),
        step(1, 0, "3+4=8"),
        started(2, Some(1)),
        step(2, 1, "so 8"),
        finished(2, Some(false)),
        // 3: finished without any step; 4: failed.
        started(3, None),
        finished(3, Some(false)),
        started(4, None),
        Event::NodeFailed { node: 4, error: "boom".into() },
    ];
    let mut out = FromTraces::default();
    add(&mut out, "t.jsonl", &tree(Some("7"), &events));
    let got: Vec<(&str, i64, Vec<&str>)> = out
        .items
        .iter()
        .map(|i| (i.id.as_str(), i.label, i.steps.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("t.jsonl#0", -1, vec!["3+4=7", "答え 7"]),
            ("t.jsonl#2", WRONG_STEP_UNKNOWN, vec!["3+4=8", "so 8"])
        ]
    );
    assert_eq!(out.items[1].problem, "Start at 3. Add 4. 三");
    assert_eq!(out.items[1].index, 1);
    assert_eq!((out.unfinished, out.no_steps, out.no_gold), (2, 1, 0));
    // The same run without a gold answer gives no item.
    let mut none = FromTraces::default();
    add(&mut none, "u.jsonl", &tree(None, &events));
    assert!(none.items.is_empty());
    assert_eq!((none.no_gold, none.unfinished), (3, 2));
    // The JSONL kept in the output directory reads back as the same items.
    let back = crate::lab::items::parse(&to_jsonl(&out.items), "trace-items.jsonl").unwrap();
    assert_eq!(back.items, out.items);
}

#[test]
fn a_missing_path_is_an_error_and_directories_give_their_traces() {
    let dir = std::env::temp_dir().join(format!("ttc-lab-traces-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["b.jsonl", "a.jsonl", "notes.txt"] {
        std::fs::write(dir.join(f), "x\n").unwrap();
    }
    let files = trace_files(&[dir.clone(), dir.join("a.jsonl")]).unwrap();
    assert_eq!(files, vec![dir.join("a.jsonl"), dir.join("b.jsonl")]);
    let e = trace_files(&[dir.join("nope.jsonl")]).unwrap_err();
    assert!(e.contains("nope.jsonl does not exist"), "{e}");
    // Files that are not traces are skipped with a note naming them.
    let built = build(&files);
    assert!(built.items.is_empty());
    assert_eq!(built.notes.len(), 2, "{:?}", built.notes);
    assert!(built.notes[0].contains("a.jsonl"), "{:?}", built.notes);
    let _ = std::fs::remove_dir_all(&dir);
}

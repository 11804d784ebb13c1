use std::path::PathBuf;

use async_trait::async_trait;

use super::*;
use crate::model::GeneratorInfo;
use crate::verify::VerifyError;

/// Scores a step 1 when it says "ok", else 0; fails on a step that says "boom".
struct OkVerifier;

#[async_trait]
impl Verifier for OkVerifier {
    fn name(&self) -> String {
        "ok-checker".into()
    }
    async fn score(
        &self,
        req: ScoreRequest<'_>,
        _c: CancellationToken,
    ) -> Result<Vec<StepScore>, VerifyError> {
        if req.steps.iter().any(|s| s.contains("boom")) {
            return Err(VerifyError::Setup("it went boom".into()));
        }
        Ok(req.steps[req.start..]
            .iter()
            .map(|s| {
                let usage = Usage { requests: 1, prompt_tokens: 3, generated_tokens: 1 };
                StepScore::scored(if s.contains("ok") { 1.0 } else { 0.0 }, StepDetail::None, usage)
            })
            .collect())
    }
}

fn info() -> RunInfo {
    RunInfo {
        problem: Problem::inline("Start at 3. Add 4.", Some("7".into())),
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

fn prm(s: f64) -> StepScore {
    StepScore::scored(s, StepDetail::None, Usage::default())
}

/// A recorded best-of-3 run whose old verifier liked "8" (nodes 1 and 2), while only node 0's
/// steps say "ok". `finished`: whether the trace reaches the run's end.
fn trace(steps: [&[&str]; 3], finished: bool) -> Trace {
    let answers = ["7", "8", "8"];
    let old = [0.2, 0.9, 0.8];
    let mut events = vec![Event::RunStarted(info())];
    for (i, node_steps) in steps.iter().enumerate() {
        let node = i as NodeId;
        events.push(Event::NodeStarted {
            node,
            parent: None,
            seed: Some(i as i64),
            depth: 0,
            chain: None,
            revision: None,
        });
        events.push(Event::TextDelta { node, text: node_steps.join("\n\n") });
        for (k, s) in node_steps.iter().enumerate() {
            events.push(Event::StepCompleted { node, step: k as u32, text: s.to_string() });
            events.push(Event::StepScored { node, step: k as u32, score: prm(old[i]) });
        }
        events.push(Event::NodeFinished {
            node,
            answer: Some(answers[i].into()),
            correct: Some(answers[i] == "7"),
            score: Some(old[i]),
            tokens: 5,
            done_reason: "stop".into(),
        });
        events.push(Event::Budget(Budget {
            policy_requests: i as u64 + 1,
            verifier_calls: 9,
            ..Budget::default()
        }));
    }
    let tree_sel = {
        let mut t = RunTree::new();
        for e in &events {
            t.apply(e);
        }
        t.reselect(SelectionRule::Weighted, Aggregation::Last)
    };
    assert_eq!(tree_sel.selected.as_deref(), Some("8"), "the fixture's old verifier picks 8");
    events.push(Event::Selection(tree_sel.clone()));
    if finished {
        events.push(Event::RunFinished {
            selected: tree_sel.selected.clone(),
            correct: tree_sel.correct,
            budget: Budget { policy_requests: 3, verifier_calls: 9, ..Budget::default() },
            error: None,
        });
    }
    let records = events
        .into_iter()
        .enumerate()
        .map(|(t, event)| Record { t: t as u64 * 10, event, deltas: 1 })
        .collect();
    let header = Header {
        ttc_trace: FORMAT_VERSION,
        ttc_version: "0.1.0".into(),
        started: rfc3339(1_000),
        started_ms: 1_000,
        run: info(),
    };
    Trace { path: PathBuf::from("/tmp/run.jsonl"), header, records, notes: Vec::new() }
}

fn plan(selection: Option<SelectionRule>) -> Plan {
    Plan {
        verifier: Arc::new(OkVerifier),
        kind: VerifierKind::Arith,
        aggregation: None,
        selection,
        concurrency: 2,
    }
}

const STEPS: [&[&str]; 3] = [&["3+4=7 ok", "7 ok"], &["3+4=8", "8"], &["3+4=8", "8 ok"]];

#[tokio::test]
async fn the_new_verdicts_replace_the_old_and_the_answer_is_selected_again() {
    let t = trace(STEPS, true);
    let r = rescore(&t, &plan(None)).await.unwrap();
    let after = &r.after;
    assert_eq!(after.info.as_ref().unwrap().verifier, "ok-checker");
    assert_eq!(after.info.as_ref().unwrap().config.verifier, VerifierKind::Arith);
    let scores: Vec<_> = after.nodes.iter().map(|n| n.score).collect();
    assert_eq!(scores, vec![Some(1.0), Some(0.0), Some(1.0)], "last step, as the run aggregated");
    let verdicts: Vec<Vec<Option<f64>>> = after
        .nodes
        .iter()
        .map(|n| n.steps.iter().map(|s| s.verdict.as_ref().and_then(|v| v.score)).collect())
        .collect();
    assert_eq!(
        verdicts,
        vec![vec![Some(1.0), Some(1.0)], vec![Some(0.0), Some(0.0)], vec![Some(0.0), Some(1.0)]]
    );
    // Weighted: 7 has 1.0, 8 has 0.0 + 1.0 = 1.0; the tie goes to the seed. Under best, 7 and 8 tie too;
    // the selection is what the run tree selects from the new verdicts, whichever it is.
    let sel = after.selection.clone().unwrap();
    assert_eq!(after.selected, sel.selected);
    assert_eq!(sel, r.after.reselect(SelectionRule::Weighted, Aggregation::Last));
    // One selection, right before the end; the text and the steps as recorded.
    let selections = r.records.iter().filter(|x| matches!(x.event, Event::Selection(_))).count();
    assert_eq!(selections, 1);
    assert!(matches!(r.records[r.records.len() - 2].event, Event::Selection(_)));
    let deltas = |rs: &[Record]| {
        rs.iter().filter(|x| matches!(x.event, Event::TextDelta { .. })).cloned().collect::<Vec<_>>()
    };
    assert_eq!(deltas(&r.records), deltas(&t.records));
    assert_eq!(r.records.len(), t.records.len(), "one event for one event");
    // The budget: the generation as recorded, the verifier's spend the re-scoring's.
    assert_eq!(after.budget.policy_requests, 3);
    assert_eq!((after.budget.verifier_calls, after.budget.verifier_prompt_tokens), (6, 18));
    assert_eq!(r.origin.from, "/tmp/run.jsonl");
    assert_eq!(r.origin.original_verifier, "pocket-prm");
    assert_eq!(r.header.run.verifier, "ok-checker");
}

#[tokio::test]
async fn majority_counts_the_recorded_answers() {
    let r = rescore(&trace(STEPS, true), &plan(Some(SelectionRule::Majority))).await.unwrap();
    assert_eq!(r.after.selected.as_deref(), Some("8"));
    assert_eq!(r.after.info.as_ref().unwrap().config.selection, SelectionRule::Majority);
    assert_eq!(r.after.selection.as_ref().unwrap().rule, SelectionRule::Majority);
}

#[tokio::test]
async fn an_unscored_step_of_the_run_gets_its_verdict_before_the_node_ends() {
    let mut t = trace(STEPS, true);
    // Drop node 2's verdict on step 1, as if the run never scored it.
    t.records.retain(|r| !matches!(r.event, Event::StepScored { node: 2, step: 1, .. }));
    let r = rescore(&t, &plan(None)).await.unwrap();
    let at =
        r.records.iter().position(|x| matches!(x.event, Event::StepScored { node: 2, step: 1, .. })).unwrap();
    assert!(matches!(r.records[at + 1].event, Event::NodeFinished { node: 2, .. }));
    assert_eq!(r.after.nodes[2].score, Some(1.0));
}

#[tokio::test]
async fn a_trace_cut_short_gets_its_selection_last() {
    let r = rescore(&trace(STEPS, false), &plan(None)).await.unwrap();
    assert!(matches!(r.records.last().unwrap().event, Event::Selection(_)));
    assert!(!r.after.finished);
    assert!(r.after.selection.is_some());
}

#[tokio::test]
async fn a_verifier_failure_fails_the_whole_rescoring() {
    let e = rescore(&trace([&["boom"], &["ok"], &["ok"]], true), &plan(None)).await.unwrap_err();
    assert!(e.contains("node 0") && e.contains("it went boom") && e.contains("nothing was written"), "{e}");
}

#[tokio::test]
async fn the_written_trace_reads_back_as_the_rescored_run() {
    let r = rescore(&trace(STEPS, true), &plan(Some(SelectionRule::Best))).await.unwrap();
    let dir = std::env::temp_dir().join(format!("ttc-rescore-unit-{}", std::process::id()));
    let path = dir.join("new.jsonl");
    write(&path, &r).unwrap();
    let back = super::super::read(&path).unwrap();
    assert!(back.notes.is_empty(), "{:?}", back.notes);
    assert_eq!(back.tree(), r.after);
    assert_eq!(back.header, r.header);
    assert_eq!(origin_of(&path), Some(r.origin.clone()));
    assert_eq!(r.origin.selection, SelectionRule::Best);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_aggregation_nobody_chose_follows_the_new_verifier() {
    let recorded = RunConfig { verifier: VerifierKind::Prm, ..RunConfig::default() };
    let judge = Plan { kind: VerifierKind::Judge, ..plan(None) };
    assert_eq!(config_for(&recorded, &judge).aggregation, Aggregation::Min);
    let named = Plan { aggregation: Some(Aggregation::Mean), ..plan(None) };
    let c = config_for(&recorded, &named);
    assert_eq!(
        (c.aggregation, c.aggregation_chosen, c.verifier),
        (Aggregation::Mean, true, VerifierKind::Arith)
    );
    let mut chosen = recorded.clone();
    chosen.choose_aggregation(Aggregation::Prod);
    assert_eq!(config_for(&chosen, &judge).aggregation, Aggregation::Prod);
}

//! Re-scoring a recorded run: another verifier over the recorded steps, with no generation.
//!
//! [`rescore`] scores every node that has steps with the new verifier (one request per node
//! over all its steps, `start` 0, `finished` as recorded; nodes at once up to a bound),
//! selects again among the same candidates ([`RunTree::reselect_within`]) and gives back the
//! run's events with the verifier's part replaced: every `step_scored` carries the new verdict
//! (a step the run never scored gets its verdict just before the node's end), `node_finished`
//! the new solution score, `run_started` the new verifier, aggregation and selection rule, the
//! budget the re-scoring's verifier spend, and one `selection` (the new one) goes before
//! `run_finished`, whose answer follows it. Text, steps, times and everything else are copied
//! as recorded, so `ttc replay` shows the re-scored run. Tree search's keep/prune decisions
//! (`node_kept`, `node_pruned`) stay as the search made them while it generated.
//!
//! [`write`] writes the result as a new trace; its header carries a `rescored` object
//! ([`Origin`]) naming the original trace and verifier.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::{encode, now_ms, redacted, rfc3339, Header, Record, Trace, FORMAT_VERSION};
use crate::budget::Budget;
use crate::event::{Event, NodeId, RunInfo};
use crate::problem::Problem;
use crate::spec::{Aggregation, RunConfig, Selection, SelectionRule, VerifierKind};
use crate::tree::{NodeStatus, RunTree};
use crate::verify::{ScoreRequest, StepDetail, StepScore, Usage, Verifier};

/// What to re-score with.
pub struct Plan {
    /// The new verifier, built.
    pub verifier: Arc<dyn Verifier>,
    /// Its kind, for the run configuration.
    pub kind: VerifierKind,
    /// `--aggregation`; `None` keeps the trace's when it was chosen, else the new verifier's default.
    pub aggregation: Option<Aggregation>,
    /// `--selection`; `None` keeps the trace's.
    pub selection: Option<SelectionRule>,
    /// Nodes scored at once (at least 1).
    pub concurrency: usize,
}

/// Where a re-scored trace came from: the `rescored` object of its header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Origin {
    /// The original trace, as given.
    pub from: String,
    /// The original trace's verifier.
    pub original_verifier: String,
    /// The new verifier, its aggregation and selection rule.
    pub verifier: String,
    pub aggregation: Aggregation,
    pub selection: SelectionRule,
    /// When it was re-scored (UTC).
    pub at: String,
}

/// A run re-scored: the new trace's header and events, and the run before and after.
#[derive(Debug, Clone)]
pub struct Rescored {
    pub header: Header,
    pub origin: Origin,
    pub records: Vec<Record>,
    /// The recorded run, folded.
    pub before: RunTree,
    /// The new events, folded: what `ttc replay` of the new trace shows.
    pub after: RunTree,
}

/// The run configuration under the new verifier: `--aggregation` when given (then chosen),
/// else the recorded one when it was chosen, else the new verifier's default, as `ttc run`
/// decides it; `--selection` when given, else the recorded rule.
pub fn config_for(recorded: &RunConfig, plan: &Plan) -> RunConfig {
    let mut config = recorded.clone();
    config.set_verifier(plan.kind);
    if let Some(a) = plan.aggregation {
        config.choose_aggregation(a);
    }
    if let Some(s) = plan.selection {
        config.selection = s;
    }
    config
}

/// Re-score `trace` under `plan`. Fails (one line) when the verifier fails on a node.
pub async fn rescore(trace: &Trace, plan: &Plan) -> Result<Rescored, String> {
    let before = trace.tree();
    let recorded = before.info.clone().unwrap_or_else(|| trace.header.run.clone());
    let config = config_for(&recorded.config, plan);
    let info = RunInfo { config: config.clone(), verifier: plan.verifier.name(), ..recorded.clone() };
    let scores = score_nodes(&before, &info.problem, plan.verifier.clone(), plan.concurrency).await?;
    let selection = reselect(&before, &info, &scores);
    let spend = spent(&scores, plan.verifier.counts_calls());
    let records = rewrite(&trace.records, &info, &scores, config.aggregation, &selection, &spend);
    let mut after = RunTree::new();
    for r in &records {
        after.apply(&r.event);
    }
    let header = Header {
        ttc_trace: FORMAT_VERSION,
        ttc_version: env!("CARGO_PKG_VERSION").to_string(),
        started: trace.header.started.clone(),
        started_ms: trace.header.started_ms,
        run: redacted(&info),
    };
    let origin = Origin {
        from: trace.path.display().to_string(),
        original_verifier: recorded.verifier.clone(),
        verifier: info.verifier.clone(),
        aggregation: config.aggregation,
        selection: config.selection,
        at: rfc3339(now_ms()),
    };
    Ok(Rescored { header, origin, records, before, after })
}

/// The new verdicts of every node with steps: one request per node over all its steps.
pub async fn score_nodes(
    tree: &RunTree,
    problem: &Problem,
    verifier: Arc<dyn Verifier>,
    concurrency: usize,
) -> Result<HashMap<NodeId, Vec<StepScore>>, String> {
    let jobs: Vec<(NodeId, Vec<String>, bool)> = tree
        .nodes
        .iter()
        .filter(|n| !n.steps.is_empty())
        .map(|n| (n.node, n.steps.iter().map(|s| s.text.clone()).collect(), n.status == NodeStatus::Done))
        .collect();
    let cancel = CancellationToken::new();
    let mut results = futures::stream::iter(jobs.into_iter().map(|(node, steps, finished)| {
        let (verifier, cancel) = (verifier.clone(), cancel.clone());
        async move {
            let req = ScoreRequest { problem, steps: &steps, start: 0, finished, logprobs: None };
            let out = verifier.score(req, cancel).await;
            (node, steps.len(), out)
        }
    }))
    .buffer_unordered(concurrency.max(1));
    let mut scores = HashMap::new();
    while let Some((node, len, out)) = results.next().await {
        match out {
            Ok(mut verdicts) => {
                verdicts.truncate(len);
                verdicts.resize_with(len, || {
                    StepScore::unscored(
                        "the verifier gave no verdict on this step",
                        StepDetail::None,
                        Usage::default(),
                    )
                });
                scores.insert(node, verdicts);
            }
            Err(e) => {
                cancel.cancel();
                return Err(format!("the verifier failed on node {node}: {e}; nothing was written"));
            }
        }
    }
    Ok(scores)
}

/// Select again among the recorded candidates, under the new verdicts and configuration.
fn reselect(before: &RunTree, info: &RunInfo, scores: &HashMap<NodeId, Vec<StepScore>>) -> Selection {
    let mut tree = before.clone();
    tree.info = Some(info.clone());
    for n in &mut tree.nodes {
        if let Some(verdicts) = scores.get(&n.node) {
            for (step, v) in n.steps.iter_mut().zip(verdicts) {
                step.verdict = Some(v.clone());
            }
        }
    }
    tree.reselect_within(None, info.config.selection, info.config.aggregation)
}

/// What the new verifier spent, as a budget's verifier counters.
fn spent(scores: &HashMap<NodeId, Vec<StepScore>>, counts_calls: bool) -> Budget {
    let mut b = Budget::default();
    if !counts_calls {
        return b;
    }
    for v in scores.values().flatten() {
        b.verifier_calls += 1;
        b.verifier_requests += v.usage.requests;
        b.verifier_prompt_tokens += v.usage.prompt_tokens;
        b.verifier_generated_tokens += v.usage.generated_tokens;
    }
    b
}

/// `b` with the verifier counters of `spend`.
fn with_spend(b: &Budget, spend: &Budget) -> Budget {
    Budget {
        verifier_calls: spend.verifier_calls,
        verifier_requests: spend.verifier_requests,
        verifier_prompt_tokens: spend.verifier_prompt_tokens,
        verifier_generated_tokens: spend.verifier_generated_tokens,
        ..b.clone()
    }
}

/// The recorded events with the verifier's part replaced (see the module's documentation).
pub fn rewrite(
    records: &[Record],
    info: &RunInfo,
    scores: &HashMap<NodeId, Vec<StepScore>>,
    aggregation: Aggregation,
    selection: &Selection,
    spend: &Budget,
) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::with_capacity(records.len() + 8);
    let mut written: HashSet<(NodeId, usize)> = HashSet::new();
    let push = |out: &mut Vec<Record>, t: u64, event: Event| out.push(Record { t, event, deltas: 1 });
    // The verdicts of `node` not written yet, in step order.
    let missing = |out: &mut Vec<Record>, written: &mut HashSet<(NodeId, usize)>, t: u64, node: NodeId| {
        for (k, v) in scores.get(&node).into_iter().flatten().enumerate() {
            if written.insert((node, k)) {
                push(out, t, Event::StepScored { node, step: k as u32, score: v.clone() });
            }
        }
    };
    let mut finished = false;
    for r in records {
        let t = r.t;
        match &r.event {
            Event::RunStarted(_) => push(&mut out, t, Event::RunStarted(info.clone())),
            Event::StepScored { node, step, .. } => {
                let k = *step as usize;
                // A repeat (a final step scored again) or a step with no new verdict goes.
                if let Some(v) = scores.get(node).and_then(|s| s.get(k)) {
                    if written.insert((*node, k)) {
                        push(&mut out, t, Event::StepScored { node: *node, step: *step, score: v.clone() });
                    }
                }
            }
            Event::NodeFinished { node, answer, correct, tokens, done_reason, .. } => {
                missing(&mut out, &mut written, t, *node);
                let score = scores.get(node).and_then(|s| aggregation.apply(s.iter().map(|v| v.score)));
                let event = Event::NodeFinished {
                    node: *node,
                    answer: answer.clone(),
                    correct: *correct,
                    score,
                    tokens: *tokens,
                    done_reason: done_reason.clone(),
                };
                push(&mut out, t, event);
            }
            Event::NodeFailed { node, .. }
            | Event::NodeCancelled { node }
            | Event::NodeKept { node, .. }
            | Event::NodePruned { node, .. } => {
                missing(&mut out, &mut written, t, *node);
                out.push(r.clone());
            }
            // The one selection that counts goes before the end.
            Event::Selection(_) => {}
            Event::Budget(b) => push(&mut out, t, Event::Budget(with_spend(b, spend))),
            Event::RunFinished { budget, error, .. } => {
                for node in sorted_keys(scores) {
                    missing(&mut out, &mut written, t, node);
                }
                push(&mut out, t, Event::Selection(selection.clone()));
                let error = if selection.selected.is_some() { None } else { error.clone() };
                push(
                    &mut out,
                    t,
                    Event::RunFinished {
                        selected: selection.selected.clone(),
                        correct: selection.correct,
                        budget: with_spend(budget, spend),
                        error,
                    },
                );
                finished = true;
            }
            _ => out.push(r.clone()),
        }
    }
    if !finished {
        // A trace cut before the run ended: the verdicts and the selection go last.
        let t = records.last().map_or(0, |r| r.t);
        for node in sorted_keys(scores) {
            missing(&mut out, &mut written, t, node);
        }
        push(&mut out, t, Event::Selection(selection.clone()));
    }
    out
}

fn sorted_keys(scores: &HashMap<NodeId, Vec<StepScore>>) -> Vec<NodeId> {
    let mut keys: Vec<NodeId> = scores.keys().copied().collect();
    keys.sort_unstable();
    keys
}

/// The new trace as text: the header (with its `rescored` object), then one line per event.
pub fn to_text(r: &Rescored) -> Result<String, String> {
    let mut header = serde_json::to_value(&r.header).map_err(|e| e.to_string())?;
    let origin = serde_json::to_value(&r.origin).map_err(|e| e.to_string())?;
    if let serde_json::Value::Object(map) = &mut header {
        map.insert("rescored".into(), origin);
    }
    let mut text = serde_json::to_string(&header).map_err(|e| e.to_string())?;
    text.push('\n');
    for rec in &r.records {
        text.push_str(&encode(rec.t, &rec.event, rec.deltas).map_err(|e| e.to_string())?);
        text.push('\n');
    }
    Ok(text)
}

/// Write the new trace to `path` (replaced if it exists; its folder made).
pub fn write(path: &Path, r: &Rescored) -> Result<(), String> {
    let shown = path.display();
    let text = to_text(r)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create the folder of {shown}: {e}"))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write the re-scored trace {shown}: {e}"))
}

/// The `rescored` object of a trace's header, when it has one.
pub fn origin_of(path: &Path) -> Option<Origin> {
    let text = std::fs::read_to_string(path).ok()?;
    let first = text.lines().next()?;
    let value: serde_json::Value = serde_json::from_str(first).ok()?;
    serde_json::from_value(value.get("rescored")?.clone()).ok()
}

#[cfg(test)]
#[path = "rescore_tests.rs"]
mod tests;

//! Re-scoring a finished run in the view, beside the original: `R` scores the run's
//! recorded steps again with another verifier (no generation; the runtime does it off the
//! UI loop with [`crate::trace::rescore::score_nodes`]), selects again among the same
//! candidates ([`crate::tree::RunTree::reselect_within`]) and keeps the result next to the
//! run, which stays as it was. The panes show each step's score as `before→after`, the
//! answers panel the original and the re-scored selection. Pressing `R` again moves to the
//! next verifier; Esc clears.

use std::collections::HashMap;

use super::{App, Effect};
use crate::event::NodeId;
use crate::spec::{Selection, VerifierKind};
use crate::trace::compare::{compare, Comparison};
use crate::tree::RunTree;
use crate::verify::StepScore;

/// A run re-scored with another verifier.
#[derive(Debug, Clone, PartialEq)]
pub struct RescoreView {
    pub kind: VerifierKind,
    /// The verifier's name, as the run's header names its own.
    pub verifier: String,
    /// Each node's new step scores, in step order (`None`: unscored).
    pub steps: HashMap<NodeId, Vec<Option<f64>>>,
    /// Each finished node's new solution score, under the new aggregation.
    pub nodes: HashMap<NodeId, Option<f64>>,
    /// The selection under the new scores.
    pub selection: Selection,
    /// What changed against the run as it was.
    pub comparison: Comparison,
}

impl RescoreView {
    /// The new score of step `step` of `node`, when it was re-scored.
    pub fn step(&self, node: NodeId, step: usize) -> Option<Option<f64>> {
        self.steps.get(&node).and_then(|s| s.get(step)).copied()
    }
}

/// `before` under new verdicts: the run's tree with every re-scored step's verdict
/// replaced, the solution scores aggregated again, and the answer selected again under
/// the new verifier's configuration (its default aggregation unless one was chosen).
pub fn rescored(
    before: &RunTree,
    kind: VerifierKind,
    verifier: String,
    verdicts: &HashMap<NodeId, Vec<StepScore>>,
) -> RescoreView {
    let mut after = before.clone();
    let mut config = before.info.as_ref().map(|i| i.config.clone()).unwrap_or_default();
    config.set_verifier(kind);
    if let Some(info) = after.info.as_mut() {
        info.config = config.clone();
        info.verifier = verifier.clone();
    }
    let mut steps = HashMap::new();
    let mut nodes = HashMap::new();
    for n in &mut after.nodes {
        let Some(v) = verdicts.get(&n.node) else { continue };
        for (step, score) in n.steps.iter_mut().zip(v) {
            step.verdict = Some(score.clone());
        }
        steps.insert(n.node, v.iter().map(|s| s.score).collect::<Vec<_>>());
        n.score = n.score_with(config.aggregation);
        if n.status == crate::tree::NodeStatus::Done {
            nodes.insert(n.node, n.score);
        }
    }
    let selection = after.reselect_within(None, config.selection, config.aggregation);
    after.selected = selection.selected.clone();
    after.correct = selection.correct;
    after.selection = Some(selection.clone());
    let comparison = compare(before, &after);
    RescoreView { kind, verifier, steps, nodes, selection, comparison }
}

impl App {
    /// The verifiers `R` offers for the run on screen, in order: the embedded PRM when the
    /// problem is a pocket chain it can read, arith, the judge when a server runs models,
    /// none, the oracle when the problem has a gold answer; never the run's own.
    pub fn rescore_kinds(&self) -> Vec<VerifierKind> {
        let Some(info) = self.run().and_then(|r| r.tree.info.as_ref()) else { return vec![] };
        let pocket_problem = crate::pocket::task::Chain::parse(&info.problem.text).is_some();
        let server = self.backend.starts_with("ollama");
        [
            (VerifierKind::Prm, pocket_problem),
            (VerifierKind::Arith, true),
            (VerifierKind::Judge, server),
            (VerifierKind::None, true),
            (VerifierKind::Oracle, info.problem.gold.is_some()),
        ]
        .into_iter()
        .filter(|(k, ok)| *ok && *k != info.config.verifier)
        .map(|(k, _)| k)
        .collect()
    }

    /// `R`: re-score the finished run on screen with the next verifier.
    pub(super) fn rescore_next(&mut self) -> Vec<Effect> {
        let current = self.current;
        let Some(run) = self.run() else {
            self.message = Some("re-score: no run yet".into());
            return vec![];
        };
        if !run.tree.finished {
            self.message = Some("re-score: the run has not finished yet".into());
            return vec![];
        }
        let kinds = self.rescore_kinds();
        let last = run.rescore_pending.or(run.rescore.as_ref().map(|r| r.kind));
        let kind = match last.and_then(|k| kinds.iter().position(|x| *x == k)) {
            Some(i) => kinds[(i + 1) % kinds.len()],
            None => match kinds.first() {
                Some(k) => *k,
                None => {
                    self.message = Some("re-score: no other verifier can score this run".into());
                    return vec![];
                }
            },
        };
        let tree = Box::new(run.tree.clone());
        let model = run.model.clone();
        self.runs[current].rescore_pending = Some(kind);
        self.message = Some(format!("re-scoring the recorded steps with {kind}… (no generation)"));
        vec![Effect::Rescore { run: current, kind, tree, model }]
    }

    /// The runtime's answer to [`Effect::Rescore`]; a stale one (another verifier asked for
    /// since, or cleared) is dropped.
    pub fn on_rescored(&mut self, run: usize, kind: VerifierKind, result: Result<RescoreView, String>) {
        let Some(r) = self.runs.get_mut(run) else { return };
        if r.rescore_pending != Some(kind) {
            return;
        }
        r.rescore_pending = None;
        let message = match result {
            Ok(view) => {
                let c = &view.comparison;
                let answer = |p: &crate::trace::compare::Picked| {
                    p.answer
                        .as_deref()
                        .map_or_else(|| "nothing".to_string(), |a| crate::safe::for_display(a, 40))
                };
                let text = format!(
                    "re-scored with {}: selected {} → {}{} · R next verifier, Esc clear",
                    crate::safe::for_display(&view.verifier, 60),
                    answer(&c.selected.before),
                    answer(&c.selected.after),
                    if c.answer_changed { " (answer changed)" } else { " (same answer)" },
                );
                r.rescore = Some(Box::new(view));
                text
            }
            Err(e) => format!("re-score with {kind} failed: {e}"),
        };
        if run == self.current {
            self.message = Some(message);
        }
        self.dirty = true;
    }

    /// Esc on a re-scored run: back to its own scores. Returns whether there was one.
    pub(super) fn clear_rescore(&mut self) -> bool {
        let current = self.current;
        let Some(r) = self.runs.get_mut(current) else { return false };
        if r.rescore.is_none() && r.rescore_pending.is_none() {
            return false;
        }
        r.rescore = None;
        r.rescore_pending = None;
        self.message = Some("re-scoring cleared: the run's own scores".into());
        self.dirty = true;
        true
    }
}

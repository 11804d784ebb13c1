//! What re-scoring changed: the verifier, the selected answer, each node's solution score
//! and rank, and the step verdicts that moved. Pure: built from two run trees, the recorded
//! run and the re-scored one ([`super::rescore`]).

use serde::Serialize;

use crate::event::NodeId;
use crate::spec::{Aggregation, SelectionRule};
use crate::tree::{NodeStatus, RunTree};

/// A step verdict that moved by more than this is listed.
pub const MOVED: f64 = 0.2;

/// One value before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change<T> {
    pub before: T,
    pub after: T,
}

impl<T: PartialEq> Change<T> {
    /// Whether it changed.
    pub fn changed(&self) -> bool {
        self.before != self.after
    }
}

/// A selected answer, with whether it equals the gold answer when that is known.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Picked {
    pub answer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correct: Option<bool>,
}

/// One re-scored node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeChange {
    pub node: NodeId,
    pub status: NodeStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correct: Option<bool>,
    /// The solution score (under each side's aggregation).
    pub score: Change<Option<f64>>,
    /// 1-based rank among the finished candidates by solution score (ties share one); `None`
    /// when not finished.
    pub rank: Change<Option<u32>>,
}

/// One step verdict that moved by more than [`MOVED`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepMove {
    pub node: NodeId,
    pub step: u32,
    pub before: f64,
    pub after: f64,
    /// The step's text (untrusted: sanitise before showing it).
    pub text: String,
}

/// Everything re-scoring changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub verifier: Change<String>,
    pub aggregation: Change<Option<Aggregation>>,
    pub selection_rule: Change<Option<SelectionRule>>,
    pub selected: Change<Picked>,
    /// Whether the selected answer is another one.
    pub answer_changed: bool,
    pub nodes: Vec<NodeChange>,
    /// The nodes whose rank changed, best new rank first.
    pub rank_changed: Vec<NodeId>,
    pub steps_moved: Vec<StepMove>,
    /// Steps scored before and unscored now, and the other way round.
    pub steps_unscored_now: usize,
    pub steps_scored_now: usize,
}

/// The selected answer of a run: the run's end says it; a run cut short has its last selection.
fn picked(tree: &RunTree) -> Picked {
    match (&tree.selected, &tree.selection) {
        (None, Some(s)) if !tree.finished => Picked { answer: s.selected.clone(), correct: s.correct },
        _ => Picked { answer: tree.selected.clone(), correct: tree.correct },
    }
}

/// Each finished node's 1-based rank by solution score: one more than the number of nodes
/// with a higher score, so equal scores share a rank and unscored nodes rank after all scored.
fn ranks(tree: &RunTree) -> Vec<(NodeId, u32)> {
    let key = |s: Option<f64>| s.unwrap_or(f64::NEG_INFINITY);
    let done: Vec<(NodeId, f64)> =
        tree.nodes.iter().filter(|n| n.status == NodeStatus::Done).map(|n| (n.node, key(n.score))).collect();
    done.iter().map(|(n, s)| (*n, 1 + done.iter().filter(|(_, o)| o > s).count() as u32)).collect()
}

/// Whether two answers are the same selection (both none, or equal as answers).
fn same_answer(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a == b || crate::grade::answers_equal(a, b),
        _ => false,
    }
}

/// What changed from `before` (the recorded run) to `after` (the re-scored one).
pub fn compare(before: &RunTree, after: &RunTree) -> Comparison {
    let info = |t: &RunTree| t.info.clone();
    let (bi, ai) = (info(before), info(after));
    let rank_of =
        |ranks: &[(NodeId, u32)], node: NodeId| ranks.iter().find(|(n, _)| *n == node).map(|(_, r)| *r);
    let (rb, ra) = (ranks(before), ranks(after));
    let mut nodes = Vec::new();
    let mut steps_moved = Vec::new();
    let (mut unscored_now, mut scored_now) = (0, 0);
    for a in &after.nodes {
        let b = before.nodes.iter().find(|n| n.node == a.node);
        if a.steps.is_empty() && a.status != NodeStatus::Done {
            continue;
        }
        nodes.push(NodeChange {
            node: a.node,
            status: a.status,
            answer: a.answer.clone(),
            correct: a.correct,
            score: Change { before: b.and_then(|b| b.score), after: a.score },
            rank: Change { before: rank_of(&rb[..], a.node), after: rank_of(&ra[..], a.node) },
        });
        for (k, step) in a.steps.iter().enumerate() {
            let old = b.and_then(|b| b.steps.get(k)).and_then(|s| s.verdict.as_ref()).and_then(|v| v.score);
            let new = step.verdict.as_ref().and_then(|v| v.score);
            match (old, new) {
                (Some(o), Some(n)) if (n - o).abs() > MOVED => steps_moved.push(StepMove {
                    node: a.node,
                    step: k as u32,
                    before: o,
                    after: n,
                    text: step.text.clone(),
                }),
                (Some(_), None) => unscored_now += 1,
                (None, Some(_)) => scored_now += 1,
                _ => {}
            }
        }
    }
    let mut moved: Vec<&NodeChange> = nodes.iter().filter(|n| n.rank.changed()).collect();
    moved.sort_by_key(|n| (n.rank.after.unwrap_or(u32::MAX), n.node));
    let rank_changed: Vec<NodeId> = moved.iter().map(|n| n.node).collect();
    let selected = Change { before: picked(before), after: picked(after) };
    let answer_changed = !same_answer(selected.before.answer.as_deref(), selected.after.answer.as_deref());
    Comparison {
        verifier: Change {
            before: bi.as_ref().map(|i| i.verifier.clone()).unwrap_or_default(),
            after: ai.as_ref().map(|i| i.verifier.clone()).unwrap_or_default(),
        },
        aggregation: Change {
            before: bi.as_ref().map(|i| i.config.aggregation),
            after: ai.as_ref().map(|i| i.config.aggregation),
        },
        selection_rule: Change {
            before: bi.as_ref().map(|i| i.config.selection),
            after: ai.as_ref().map(|i| i.config.selection),
        },
        selected,
        answer_changed,
        rank_changed,
        nodes,
        steps_moved,
        steps_unscored_now: unscored_now,
        steps_scored_now: scored_now,
    }
}

#[cfg(test)]
#[path = "compare_tests.rs"]
mod tests;

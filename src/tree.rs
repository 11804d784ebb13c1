//! The run tree: pure state built only from events. Live runs, replays and
//! headless output all fold the same events through [`RunTree::apply`].

use serde::{Deserialize, Serialize};

use crate::budget::{Budget, BudgetTracker};
use crate::event::{Event, ParticleCopy, RunInfo};
use crate::model::Load;
use crate::spec::{Candidate, NodeId, Selection, SelectionRule, StrategyKind};
use crate::strategy::revise::{select_revisions, Attempt};
use crate::strategy::select::select_seeded;
pub use crate::strategy::stopping::StoppingView;
use crate::verify::{Aggregation, StepScore, Usage};

/// Where a node is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    Queued,
    Streaming,
    Done,
    Failed,
    Cancelled,
    /// Kept by tree search for the next round.
    Kept,
    /// Dropped by tree search.
    Pruned,
}

/// One step of a node, with its verdict once scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepView {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<StepScore>,
}

/// One node (a candidate solution) as events describe it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeView {
    pub node: NodeId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<NodeId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    pub depth: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    /// Rank when tree search kept or pruned it (0 = best).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
    pub status: NodeStatus,
    pub text: String,
    pub steps: Vec<StepView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correct: Option<bool>,
    /// Aggregated score under the run's aggregation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Tokens generated (streamed chunks until the node finishes).
    pub tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why the online confidence cut-off stopped it ("cut off: confidence 0.21 < 0.30").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut_off: Option<String>,
}

impl NodeView {
    fn new(node: NodeId) -> Self {
        Self {
            node,
            parent: None,
            seed: None,
            depth: 0,
            chain: None,
            revision: None,
            rank: None,
            status: NodeStatus::Queued,
            text: String::new(),
            steps: Vec::new(),
            answer: None,
            correct: None,
            score: None,
            tokens: 0,
            done_reason: None,
            error: None,
            cut_off: None,
        }
    }

    /// The node's score under any aggregation, from its step verdicts.
    pub fn score_with(&self, agg: Aggregation) -> Option<f64> {
        agg.apply(self.steps.iter().map(|s| s.verdict.as_ref().and_then(|v| v.score)))
    }
}

/// Everything known about one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunTree {
    pub info: Option<RunInfo>,
    pub nodes: Vec<NodeView>,
    pub selection: Option<Selection>,
    pub budget: Budget,
    pub load: Load,
    pub finished: bool,
    pub selected: Option<String>,
    pub correct: Option<bool>,
    pub error: Option<String>,
    /// The last finished round of step-wise search.
    pub round: Option<u32>,
    /// Live changes that took effect, in order.
    pub applied: Vec<String>,
    /// The adaptive strategy's estimate and choice.
    pub difficulty: Option<DifficultyView>,
    /// Adaptive-consistency's stopping checks.
    pub stopping: Option<StoppingView>,
    /// The load and health of each host of a pool (empty on one host).
    pub hosts: Vec<crate::model::pool::HostLoad>,
    /// Particle filtering's latest weights, ESS and resamplings.
    pub particles: Option<ParticlesView>,
}

/// Particle filtering as its events describe it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParticlesView {
    /// The round of the latest weights.
    pub round: u32,
    /// The population after that round, in order: node and normalised weight.
    pub weights: Vec<(NodeId, f64)>,
    /// Its effective sample size.
    pub ess: f64,
    /// The population of the round before, in order (slot by slot, as `weights`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous: Vec<(NodeId, f64)>,
    /// Rounds that resampled.
    pub resamplings: u32,
    /// Every copy resampling made, with its round, in order (in `--json`: the last
    /// [`JSON_COPIES`] of them).
    pub copies: Vec<(u32, ParticleCopy)>,
    /// In `--json`: how many copies resampling made in all (`copies` holds the last ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copies_total: Option<usize>,
}

/// The most resampling copies `--json` lists (the last ones): N particles over many rounds
/// would make it large.
pub const JSON_COPIES: usize = 256;

/// `view` as `--json` shows it: the last [`JSON_COPIES`] copies, and how many there were.
fn json_particles(view: &ParticlesView) -> ParticlesView {
    let total = view.copies.len();
    ParticlesView {
        copies: view.copies[total.saturating_sub(JSON_COPIES)..].to_vec(),
        copies_total: Some(total),
        ..view.clone()
    }
}

/// What the adaptive strategy estimated and chose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DifficultyView {
    pub estimate: f64,
    pub bin: u8,
    pub method: String,
    pub strategy: StrategyKind,
    pub reason: String,
}

impl RunTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    fn node(&mut self, id: NodeId) -> &mut NodeView {
        let i = id as usize;
        if self.nodes.len() <= i {
            let start = self.nodes.len() as NodeId;
            self.nodes.extend((start..=id).map(NodeView::new));
        }
        &mut self.nodes[i]
    }

    /// Fold one event into the state.
    pub fn apply(&mut self, e: &Event) {
        match e {
            Event::RunStarted(info) => self.info = Some(info.clone()),
            Event::NodeStarted { node, parent, seed, depth, chain, revision } => {
                // A child starts from its parent's path: its steps and text.
                let inherited = parent
                    .and_then(|p| self.nodes.get(p as usize))
                    .map(|p| (p.steps.clone(), p.text.clone()));
                let n = self.node(*node);
                n.parent = *parent;
                n.seed = *seed;
                n.depth = *depth;
                n.chain = *chain;
                n.revision = *revision;
                if let Some((steps, text)) = inherited {
                    n.steps = steps;
                    n.text = if text.is_empty() { text } else { text + crate::steps::STEP_DELIMITER };
                }
            }
            Event::NodeStreaming { node } => self.node(*node).status = NodeStatus::Streaming,
            Event::TextDelta { node, text } => {
                let n = self.node(*node);
                n.text.push_str(text);
                n.tokens += 1;
            }
            Event::StepCompleted { node, step, text } => {
                let n = self.node(*node);
                let k = *step as usize;
                if n.steps.len() <= k {
                    n.steps.resize(k + 1, StepView { text: String::new(), verdict: None });
                }
                n.steps[k].text = text.clone();
            }
            Event::StepScored { node, step, score } => {
                let n = self.node(*node);
                let k = *step as usize;
                if n.steps.len() <= k {
                    n.steps.resize(k + 1, StepView { text: String::new(), verdict: None });
                }
                n.steps[k].verdict = Some(score.clone());
            }
            Event::NodeFinished { node, answer, correct, score, tokens, done_reason } => {
                let n = self.node(*node);
                n.status = NodeStatus::Done;
                n.answer = answer.clone();
                n.correct = *correct;
                n.score = *score;
                n.tokens = *tokens;
                n.done_reason = Some(done_reason.clone());
            }
            Event::NodeFailed { node, error } => {
                let n = self.node(*node);
                n.status = NodeStatus::Failed;
                n.error = Some(error.clone());
            }
            Event::NodeCancelled { node } => self.node(*node).status = NodeStatus::Cancelled,
            Event::NodeCutOff { node, confidence, cutoff } => {
                let n = self.node(*node);
                n.status = NodeStatus::Cancelled;
                n.cut_off = Some(crate::verify::confidence::cutoff_reason(*confidence, *cutoff));
            }
            Event::NodeKept { node, rank, .. } => {
                let n = self.node(*node);
                n.status = NodeStatus::Kept;
                n.rank = Some(*rank);
            }
            Event::NodePruned { node, rank, .. } => {
                let n = self.node(*node);
                n.status = NodeStatus::Pruned;
                n.rank = Some(*rank);
            }
            Event::RoundFinished { depth, .. } => self.round = Some(*depth),
            Event::Applied { change } => self.applied.push(change.clone()),
            Event::Difficulty { estimate, bin, method, strategy, reason } => {
                self.difficulty = Some(DifficultyView {
                    estimate: *estimate,
                    bin: *bin,
                    method: method.clone(),
                    strategy: *strategy,
                    reason: reason.clone(),
                })
            }
            Event::Stopping { samples, max, votes, stat, confidence, stopped } => self
                .stopping
                .get_or_insert_with(StoppingView::default)
                .fold(*samples, *max, votes, *stat, *confidence, *stopped),
            // A load report that arrives after the end is stale: nothing runs any more.
            Event::Load { running, queued, limit } if !self.finished => {
                self.load = Load { running: *running, queued: *queued, limit: *limit }
            }
            Event::Load { .. } => {}
            Event::Hosts { hosts } => self.hosts = hosts.clone(),
            Event::Weights { round, weights, ess } => {
                let p = self.particles.get_or_insert_with(ParticlesView::default);
                p.round = *round;
                p.previous = std::mem::replace(&mut p.weights, weights.clone());
                p.ess = *ess;
            }
            Event::Resampled { round, copies } => {
                let p = self.particles.get_or_insert_with(ParticlesView::default);
                p.resamplings += 1;
                p.copies.extend(copies.iter().map(|c| (*round, *c)));
            }
            Event::Selection(s) => self.selection = Some(s.clone()),
            Event::Budget(b) => self.budget = b.clone(),
            Event::RunFinished { selected, correct, budget, error } => {
                self.finished = true;
                // Nothing of this run is running or waiting any more.
                self.load = Load { running: 0, queued: 0, limit: self.load.limit };
                self.selected = selected.clone();
                self.correct = *correct;
                self.budget = budget.clone();
                self.error = error.clone();
            }
        }
    }

    /// Select again under another rule or aggregation, with no regeneration.
    pub fn reselect(&self, rule: SelectionRule, agg: Aggregation) -> Selection {
        self.reselect_within(None, rule, agg)
    }

    /// Select again over the first `limit` nodes only (all when `None`): the nodes from
    /// `limit` on are beyond N, kept but given no vote.
    pub fn reselect_within(&self, limit: Option<usize>, rule: SelectionRule, agg: Aggregation) -> Selection {
        let cands: Vec<Candidate> = self
            .nodes
            .iter()
            .take(limit.unwrap_or(usize::MAX))
            .filter(|n| n.status == NodeStatus::Done)
            .map(|n| Candidate { node: n.node, answer: n.answer.clone(), score: n.score_with(agg) })
            .collect();
        let gold = self.info.as_ref().and_then(|i| i.problem.gold.as_deref());
        let seed = self.info.as_ref().map_or(0, |i| i.config.seed);
        // A revision run selects as its strategy does (per chain, then across chains).
        let attempts: Option<Vec<Attempt>> = cands
            .iter()
            .map(|c| {
                let n = self.nodes.iter().find(|n| n.node == c.node)?;
                Some(Attempt {
                    chain: n.chain?,
                    revision: n.revision.unwrap_or(0),
                    candidate: c.clone(),
                    text: String::new(),
                })
            })
            .collect();
        match (attempts, self.info.as_ref()) {
            (Some(attempts), Some(info)) if !attempts.is_empty() => {
                select_revisions(&attempts, info.config.revision_selection, rule, agg, gold, seed)
            }
            _ => select_seeded(&cands, rule, agg, gold, seed),
        }
    }

    /// A budget tracker holding what this run spent, to carry it into more work on the
    /// same run (more best-of-N candidates): see [`tracker_for`].
    pub fn tracker(&self) -> BudgetTracker {
        tracker_for(&self.budget, &self.finished_tokens())
    }

    /// The tokens of each finished node, in node order.
    pub fn finished_tokens(&self) -> Vec<u64> {
        self.nodes.iter().filter(|n| n.status == NodeStatus::Done).map(|n| n.tokens).collect()
    }

    /// The headless result: the run, every candidate, the selection and the budget.
    pub fn summary(&self) -> RunSummary {
        RunSummary {
            run: self.info.clone(),
            candidates: self.nodes.clone(),
            selected: self.selected.clone(),
            correct: self.correct,
            selection: self.selection.clone(),
            budget: self.budget.clone(),
            error: self.error.clone(),
            difficulty: self.difficulty.clone(),
            stopping: self.stopping.clone(),
            particles: self.particles.as_ref().map(json_particles),
        }
    }
}

/// What `ttc run --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run: Option<RunInfo>,
    pub candidates: Vec<NodeView>,
    pub selected: Option<String>,
    pub correct: Option<bool>,
    pub selection: Option<Selection>,
    pub budget: Budget,
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<DifficultyView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopping: Option<StoppingView>,
    /// Particle filtering's latest weights, ESS and resamplings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub particles: Option<ParticlesView>,
}

/// A budget tracker whose counters equal `b`, with `finished` the tokens of the finished
/// solutions (for generation-equivalents).
pub fn tracker_for(b: &Budget, finished: &[u64]) -> BudgetTracker {
    let mut t = BudgetTracker::default();
    for i in 0..b.policy_requests {
        let (prompt, generated) =
            if i == 0 { (b.policy_prompt_tokens, b.policy_generated_tokens) } else { (0, 0) };
        t.policy(prompt, generated);
    }
    for &tokens in finished.iter().take(b.finished as usize) {
        t.finished(tokens);
    }
    for _ in 0..b.failed {
        t.failed();
    }
    for _ in 0..b.cancelled {
        t.cancelled();
    }
    for i in 0..b.verifier_calls {
        t.verifier(if i == 0 {
            Usage {
                requests: b.verifier_requests,
                prompt_tokens: b.verifier_prompt_tokens,
                generated_tokens: b.verifier_generated_tokens,
            }
        } else {
            Usage::default()
        });
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tracker_rebuilt_from_a_budget_carries_it_on_exactly() {
        let mut t = BudgetTracker::default();
        t.policy(30, 100);
        t.finished(100);
        t.policy(30, 50);
        t.finished(50);
        t.policy(30, 20);
        t.failed();
        t.cancelled();
        t.verifier(Usage { requests: 2, prompt_tokens: 80, generated_tokens: 2 });
        t.verifier(Usage { requests: 1, prompt_tokens: 40, generated_tokens: 1 });
        let b = t.snapshot(1234);
        let mut again = tracker_for(&b, &[100, 50]);
        assert_eq!(again.snapshot(1234), b);
        // More work adds to it as it would have to the original.
        t.policy(30, 75);
        t.finished(75);
        again.policy(30, 75);
        again.finished(75);
        assert_eq!(again.snapshot(9), t.snapshot(9));
    }

    #[test]
    fn json_lists_the_last_copies_of_a_long_particle_run_and_counts_them_all() {
        let mut tree = RunTree::new();
        for round in 0..100u32 {
            let copies =
                (0..5).map(|i| ParticleCopy { from: round * 5 + i, over: None, copy: None }).collect();
            tree.apply(&Event::Resampled { round, copies });
        }
        let p = tree.summary().particles.unwrap();
        assert_eq!((p.copies.len(), p.copies_total, p.resamplings), (JSON_COPIES, Some(500), 100));
        assert_eq!(p.copies.last().map(|(r, c)| (*r, c.from)), Some((99, 499)));
        assert_eq!(p.copies.first().map(|(_, c)| c.from), Some(500 - JSON_COPIES as u32));
        // The view keeps every copy.
        assert_eq!(tree.particles.as_ref().map(|p| p.copies.len()), Some(500));
        // A short run lists them all.
        let mut short = RunTree::new();
        short.apply(&Event::Resampled {
            round: 0,
            copies: vec![ParticleCopy { from: 1, over: None, copy: None }],
        });
        let p = short.summary().particles.unwrap();
        assert_eq!((p.copies.len(), p.copies_total), (1, Some(1)));
    }

    #[test]
    fn a_finished_run_has_nothing_running_and_a_late_load_report_is_ignored() {
        let mut tree = RunTree::new();
        tree.apply(&Event::Load { running: 1, queued: 3, limit: 4 });
        tree.apply(&Event::RunFinished {
            selected: None,
            correct: None,
            budget: Budget::default(),
            error: None,
        });
        assert_eq!((tree.load.running, tree.load.queued, tree.load.limit), (0, 0, 4));
        tree.apply(&Event::Load { running: 1, queued: 0, limit: 4 });
        assert_eq!((tree.load.running, tree.load.queued), (0, 0));
    }
}

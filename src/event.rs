//! The event stream: everything a run does, as serialisable events.
//!
//! Views never call models; they fold these events into a run tree (`RunTree`).

use serde::{Deserialize, Serialize};

use crate::budget::Budget;
use crate::model::GeneratorInfo;
use crate::problem::Problem;
use crate::spec::{RunConfig, Selection, StrategyKind};
use crate::verify::StepScore;

pub use crate::spec::NodeId;

/// What a run is, announced when it starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub problem: Problem,
    pub config: RunConfig,
    pub generator: GeneratorInfo,
    pub verifier: String,
}

/// One thing that happened in a run.
// `RunStarted` is sent once a run; boxing it would change every match for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The run began, with its full configuration.
    RunStarted(RunInfo),
    /// A node was created; its request may still wait in the client queue.
    /// A child continues its parent's path by one step (tree search) or
    /// revises earlier attempts of its chain (revisions).
    NodeStarted {
        node: NodeId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent: Option<NodeId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed: Option<i64>,
        depth: u32,
        /// Revision chain, for sequential revisions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        chain: Option<u32>,
        /// Revision index within the chain (0 = first attempt).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        revision: Option<u32>,
    },
    /// The node's request was admitted and its response began.
    NodeStreaming { node: NodeId },
    /// New text for a node.
    TextDelta { node: NodeId, text: String },
    /// A step of a node is complete (0-based index).
    StepCompleted { node: NodeId, step: u32, text: String },
    /// The verifier's verdict on a step. A later event for the same step replaces it.
    StepScored { node: NodeId, step: u32, score: StepScore },
    /// A node finished generating.
    NodeFinished {
        node: NodeId,
        #[serde(skip_serializing_if = "Option::is_none")]
        answer: Option<String>,
        /// Whether the answer equals the gold answer, when one is known.
        #[serde(skip_serializing_if = "Option::is_none")]
        correct: Option<bool>,
        /// Aggregated step score under the run's aggregation.
        #[serde(skip_serializing_if = "Option::is_none")]
        score: Option<f64>,
        tokens: u64,
        done_reason: String,
    },
    /// A node failed; the others continue.
    NodeFailed { node: NodeId, error: String },
    /// A node was cancelled (run cancelled, or N lowered).
    NodeCancelled { node: NodeId },
    /// DeepConf's online cut-off stopped a node: the confidence of its last window of tokens
    /// (a score in `[0, 1]`) fell below `cutoff`. `NodeCancelled` follows; it does not vote.
    NodeCutOff { node: NodeId, confidence: f64, cutoff: f64 },
    /// Tree search kept a node for the next round (rank 0 = best).
    NodeKept {
        node: NodeId,
        rank: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        score: Option<f64>,
    },
    /// Tree search dropped a node.
    NodePruned {
        node: NodeId,
        rank: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        score: Option<f64>,
    },
    /// A round of step-wise search ended at `depth`.
    RoundFinished { depth: u32, alive: u32, finished: u32 },
    /// A live change took effect (at a step boundary for step-wise strategies).
    Applied { change: String },
    /// The adaptive strategy's difficulty estimate and what it chose.
    Difficulty {
        /// Estimated probability of success in \[0,1\] (higher = easier).
        estimate: f64,
        /// Difficulty bin 1 (easiest) to 5 (hardest).
        bin: u8,
        /// "model" (mean verifier score) or "oracle" (pass rate against gold).
        method: String,
        /// The strategy the policy table gives for the bin (serialised by name, e.g. "beam").
        strategy: StrategyKind,
        reason: String,
    },
    /// Adaptive-consistency's stopping check, after each sample (or batch): the votes so far
    /// and the statistic P(the leading answer is the more likely of the top two).
    Stopping {
        /// Samples drawn so far, answered or not.
        samples: u32,
        /// The most samples the run may draw (N in force).
        max: u32,
        /// The leading answer and its votes, then the others by votes (at most a few).
        votes: Vec<(String, u32)>,
        /// The statistic, in \[0,1\].
        stat: f64,
        /// The confidence it was compared with.
        confidence: f64,
        /// Whether sampling stops here because the statistic reached the confidence.
        stopped: bool,
    },
    /// Requests running and waiting at the backend.
    Load { running: usize, queued: usize, limit: usize },
    /// The load and health of each host of a pool (`--host` repeated), when one changes.
    Hosts { hosts: Vec<crate::model::pool::HostLoad> },
    /// The answer chosen, with every distinct answer's tally.
    Selection(Selection),
    /// Compute spent so far.
    Budget(Budget),
    /// Particle filtering weighed its population after a round: each particle's node and
    /// normalised weight, in population order, and the effective sample size 1/Σw².
    Weights { round: u32, weights: Vec<(NodeId, f64)>, ess: f64 },
    /// Particle filtering resampled its population after a round: the copies it made.
    Resampled { round: u32, copies: Vec<ParticleCopy> },
    /// The run ended.
    RunFinished {
        #[serde(skip_serializing_if = "Option::is_none")]
        selected: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        correct: Option<bool>,
        budget: Budget,
        /// Why the run produced no answer, if it did not.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

/// One copy made by resampling: a copy of particle `from` took the place of particle `over`
/// (none when the population grew). An open particle's copy continues as the next round's
/// child of `from`; a finished particle's copy is the new finished node `copy`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ParticleCopy {
    pub from: NodeId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over: Option<NodeId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy: Option<NodeId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_as_tagged_json() {
        let e = Event::TextDelta { node: 3, text: "12 + 30".into() };
        let j = serde_json::to_string(&e).unwrap();
        assert_eq!(j, r#"{"event":"text_delta","node":3,"text":"12 + 30"}"#);
        assert_eq!(serde_json::from_str::<Event>(&j).unwrap(), e);
        let b = Event::Budget(Budget { policy_requests: 2, ..Budget::default() });
        let j = serde_json::to_string(&b).unwrap();
        assert!(j.starts_with(r#"{"event":"budget","policy_prompt_tokens":0"#), "{j}");
        assert_eq!(serde_json::from_str::<Event>(&j).unwrap(), b);
    }

    #[test]
    fn difficulty_names_its_strategy_as_before() {
        let e = Event::Difficulty {
            estimate: 0.5,
            bin: 3,
            method: "model".into(),
            strategy: StrategyKind::BestOfN,
            reason: "r".into(),
        };
        let j = serde_json::to_string(&e).unwrap();
        assert!(j.contains(r#""strategy":"best-of-n""#), "{j}");
        assert_eq!(serde_json::from_str::<Event>(&j).unwrap(), e);
    }
}

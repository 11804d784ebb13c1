//! How the final answer is picked, and what picking it found.

use serde::{Deserialize, Serialize};

use super::aggregation::Aggregation;
use super::NodeId;

/// How the final answer is picked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SelectionRule {
    /// The most frequent answer (self-consistency).
    Majority,
    /// The answer of the single highest-scoring candidate.
    Best,
    /// The answer with the largest sum of scores (the paper's "best-of-N weighted").
    #[default]
    Weighted,
}

impl SelectionRule {
    /// Every rule, in cycling order.
    pub const ALL: [SelectionRule; 3] =
        [SelectionRule::Majority, SelectionRule::Best, SelectionRule::Weighted];

    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            SelectionRule::Majority => "majority",
            SelectionRule::Best => "best",
            SelectionRule::Weighted => "weighted",
        }
    }
}

impl std::fmt::Display for SelectionRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One finished candidate, as selection sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub node: NodeId,
    pub answer: Option<String>,
    /// Aggregated score; `None` when no step was scored.
    pub score: Option<f64>,
}

/// One distinct answer and the support behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerTally {
    pub answer: String,
    pub votes: u32,
    /// Sum of the candidates' scores.
    pub weight: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_score: Option<f64>,
    pub nodes: Vec<NodeId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correct: Option<bool>,
}

/// The outcome of selection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    pub rule: SelectionRule,
    pub aggregation: Aggregation,
    /// Distinct answers, the selected one first, then by the rule's ranking; a majority
    /// tie goes to the larger summed verifier score, and what is still tied is ordered by
    /// the run's seed (`strategy::select::select_seeded`), never by which candidate came first.
    /// Malformed answers (cut off mid-answer) are not here: they do not vote.
    pub answers: Vec<AnswerTally>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected: Option<String>,
    /// The candidate whose text stands for the selected answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected_node: Option<NodeId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correct: Option<bool>,
    /// Set when the rule could not apply and another was used, with why, and when
    /// malformed answers were left out of the vote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

//! Strategies: how compute is spent on one problem.

pub mod adaptive;
pub mod best_of_n;
pub mod engine;
pub mod guard;
pub mod revise;
pub mod search;
pub mod select;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_panic;

use serde::{Deserialize, Serialize};

use crate::verify::Aggregation;

pub use select::{select, AnswerTally, Candidate, Selection, SelectionRule};

/// Which search algorithm a run uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyKind {
    /// N independent samples; a verifier and a selection rule pick the answer.
    #[default]
    #[value(name = "best-of-n", alias = "bon")]
    BestOfN,
    /// Step-wise beam search guided by the verifier: keep the top N/M, expand each M times.
    Beam,
    /// Beam search that scores each step after a greedy rollout of k more steps.
    Lookahead,
    /// Diverse verifier tree search: N/M independent subtrees, each keeps its best child.
    Dvts,
    /// Sequential revisions: C chains, each revising its own earlier attempts D times.
    Revise,
    /// Compute-optimal: estimate difficulty first, then choose a strategy per bin.
    Adaptive,
}

impl StrategyKind {
    /// Every strategy, in cycling order.
    pub const ALL: [StrategyKind; 6] = [
        StrategyKind::BestOfN,
        StrategyKind::Beam,
        StrategyKind::Lookahead,
        StrategyKind::Dvts,
        StrategyKind::Revise,
        StrategyKind::Adaptive,
    ];

    /// Whether the strategy grows solutions one step at a time.
    pub fn stepwise(self) -> bool {
        matches!(self, StrategyKind::Beam | StrategyKind::Lookahead | StrategyKind::Dvts)
    }
}

impl std::fmt::Display for StrategyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StrategyKind::BestOfN => "best-of-n",
            StrategyKind::Beam => "beam",
            StrategyKind::Lookahead => "lookahead",
            StrategyKind::Dvts => "dvts",
            StrategyKind::Revise => "revise",
            StrategyKind::Adaptive => "adaptive",
        })
    }
}

/// Which verifier scores steps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum VerifierKind {
    /// An LLM asked whether each step is correct (p(Yes) from logprobs).
    Judge,
    /// Exact check of `a op b = c` claims.
    #[default]
    Arith,
    /// Final answer against the gold answer (experiments only).
    Oracle,
    /// The embedded pocket PRM (trained on the pocket model's arithmetic).
    Prm,
    /// No verifier: selection falls back to majority voting.
    None,
}

impl std::fmt::Display for VerifierKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            VerifierKind::Judge => "judge",
            VerifierKind::Arith => "arith",
            VerifierKind::Oracle => "oracle",
            VerifierKind::Prm => "prm",
            VerifierKind::None => "none",
        })
    }
}

/// Everything that defines a run (recorded in its first event).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub strategy: StrategyKind,
    /// Number of candidates.
    pub n: usize,
    pub temperature: f32,
    /// Base seed; candidate i uses seed + i.
    pub seed: u64,
    /// Most tokens per candidate.
    pub max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_ctx: Option<u32>,
    pub verifier: VerifierKind,
    pub aggregation: Aggregation,
    pub selection: SelectionRule,
    /// Beam width M: children per kept beam (tree search).
    #[serde(default = "default_width")]
    pub width: usize,
    /// Most steps per solution (tree search).
    #[serde(default = "default_depth")]
    pub max_depth: u32,
    /// Greedy rollout steps before scoring (lookahead).
    #[serde(default = "default_lookahead")]
    pub lookahead: u32,
    /// Drop a child whose step repeats a sibling's (tree search).
    #[serde(default)]
    pub dedup: bool,
    /// Parallel revision chains C.
    #[serde(default = "default_chains")]
    pub chains: usize,
    /// Revisions per chain D (attempts = D).
    #[serde(default = "default_revisions")]
    pub revisions: usize,
    /// How revisions pick the answer.
    #[serde(default)]
    pub revision_selection: RevisionSelection,
    /// How the adaptive strategy estimates difficulty.
    #[serde(default)]
    pub difficulty: DifficultyMethod,
    /// Steps to start from (a fork of another run's node); empty = from scratch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefix: Vec<String>,
    /// The adaptive strategy's policy table (the bundled one when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<adaptive::PolicyTable>,
}

fn default_width() -> usize {
    4
}
fn default_depth() -> u32 {
    40
}
fn default_lookahead() -> u32 {
    1
}
fn default_chains() -> usize {
    2
}
fn default_revisions() -> usize {
    4
}

/// How sequential revisions pick the final answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum RevisionSelection {
    /// Best attempt within each chain, then the selection rule across chains.
    #[default]
    Hierarchical,
    /// One majority vote over every attempt of every chain.
    Majority,
}

/// How the adaptive strategy estimates difficulty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DifficultyMethod {
    /// Mean verifier score of a few first samples (needs no gold answer).
    #[default]
    Model,
    /// Pass rate of a few first samples against the gold answer.
    Oracle,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            strategy: StrategyKind::BestOfN,
            n: 8,
            temperature: 0.8,
            seed: 0,
            max_tokens: 1024,
            top_p: None,
            top_k: None,
            num_ctx: None,
            verifier: VerifierKind::Arith,
            aggregation: Aggregation::Last,
            selection: SelectionRule::Weighted,
            width: default_width(),
            max_depth: default_depth(),
            lookahead: default_lookahead(),
            dedup: false,
            chains: default_chains(),
            revisions: default_revisions(),
            revision_selection: RevisionSelection::Hierarchical,
            difficulty: DifficultyMethod::Model,
            prefix: Vec::new(),
            policy: None,
        }
    }
}

/// Live changes sent to a running strategy.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Grow or shrink the number of candidates. Growing starts new ones at
    /// once; shrinking cancels the newest unfinished ones and keeps finished work.
    SetN(usize),
    /// Stop reading from the model (true) or go on (false). While paused no
    /// text is consumed, so servers stop generating once their buffers fill.
    Pause(bool),
    /// Beam width M, from the next step boundary.
    SetWidth(usize),
    /// Max depth, from the next step boundary.
    SetDepth(u32),
    /// Lookahead k, from the next step boundary.
    SetLookahead(u32),
    /// Chains C, from the next revision round.
    SetChains(usize),
    /// Revisions D, from the next revision round.
    SetRevisions(usize),
}

//! Strategies: how compute is spent on one problem.

pub mod best_of_n;
pub mod select;

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
}

impl std::fmt::Display for StrategyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StrategyKind::BestOfN => "best-of-n",
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
    /// No verifier: selection falls back to majority voting.
    None,
}

impl std::fmt::Display for VerifierKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            VerifierKind::Judge => "judge",
            VerifierKind::Arith => "arith",
            VerifierKind::Oracle => "oracle",
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
}

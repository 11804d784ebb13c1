//! The kinds a run is made of: strategy, verifier, how revisions select and
//! how the adaptive strategy estimates difficulty.

use serde::{Deserialize, Serialize};

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

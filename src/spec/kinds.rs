//! The kinds a run is made of: strategy, verifier, how revisions select and
//! how the adaptive strategy estimates difficulty.

use serde::{Deserialize, Serialize};

use super::aggregation::Aggregation;

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
    /// Adaptive-consistency: sample one (or a batch) at a time, stop once the majority is settled.
    Consistency,
    /// Particle filtering: N partial solutions weighted by the verifier and resampled each step.
    Particles,
}

impl StrategyKind {
    /// Every strategy, in cycling order.
    pub const ALL: [StrategyKind; 8] = [
        StrategyKind::BestOfN,
        StrategyKind::Beam,
        StrategyKind::Lookahead,
        StrategyKind::Dvts,
        StrategyKind::Revise,
        StrategyKind::Adaptive,
        StrategyKind::Consistency,
        StrategyKind::Particles,
    ];

    /// Whether the strategy grows solutions one step at a time.
    pub fn stepwise(self) -> bool {
        matches!(
            self,
            StrategyKind::Beam | StrategyKind::Lookahead | StrategyKind::Dvts | StrategyKind::Particles
        )
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
            StrategyKind::Consistency => "consistency",
            StrategyKind::Particles => "particles",
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
    /// A process reward model behind an HTTP endpoint (`--verifier-url`).
    Http,
    /// No verifier: selection falls back to majority voting.
    None,
    /// DeepConf: the policy's own token log-probabilities (lowest group confidence), no extra call.
    Confidence,
}

impl VerifierKind {
    /// The aggregation that matches what the verifier measures, in force unless
    /// the user names one:
    /// - `judge` scores each step on its own (is this step correct?): a solution
    ///   is as good as its weakest step, so `min`;
    /// - `prm`, the pocket PRM, is trained on reward-to-go (will this prefix still
    ///   reach the right answer?): its last step already speaks for the whole
    ///   solution, so `last` (the paper's choice for its PRM);
    /// - `oracle` scores only the final step, so `last`;
    /// - `http` is whatever PRM stands behind the endpoint; the published ones (Math-Shepherd,
    ///   the RLHFlow PRMs) are trained on whether a prefix still reaches the right answer,
    ///   like the pocket PRM, so `last`;
    /// - `arith` checks each step's claims on its own, so `min` would fit it too;
    ///   it keeps `last`, the long-standing default of [`crate::spec::RunConfig`],
    ///   until the view's recorded screens (built from that default) move with it;
    /// - `none` scores nothing; `last` is as good as any;
    /// - `confidence` scores a step by the lowest group of tokens ending in it, so the `min`
    ///   over steps is DeepConf's lowest group confidence of the whole solution: `min`.
    pub fn default_aggregation(self) -> Aggregation {
        match self {
            VerifierKind::Judge | VerifierKind::Confidence => Aggregation::Min,
            VerifierKind::Arith
            | VerifierKind::Prm
            | VerifierKind::Http
            | VerifierKind::Oracle
            | VerifierKind::None => Aggregation::Last,
        }
    }

    /// What the verifier measures, in a few words (for saying why an aggregation is the default).
    pub fn measures(self) -> &'static str {
        match self {
            VerifierKind::Judge => "a step-local judge",
            VerifierKind::Arith => "a step-local arithmetic check",
            VerifierKind::Prm => "a reward-to-go PRM",
            VerifierKind::Http => "a PRM behind an HTTP endpoint",
            VerifierKind::Oracle => "a final-answer check",
            VerifierKind::None => "no verifier",
            VerifierKind::Confidence => "token confidence (lowest group)",
        }
    }
}

impl std::fmt::Display for VerifierKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            VerifierKind::Judge => "judge",
            VerifierKind::Arith => "arith",
            VerifierKind::Oracle => "oracle",
            VerifierKind::Prm => "prm",
            VerifierKind::Http => "http",
            VerifierKind::None => "none",
            VerifierKind::Confidence => "confidence",
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

/// How particle filtering draws its new population.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ResampleKind {
    /// One uniform draw and N evenly spaced points through the cumulative weights (low variance).
    #[default]
    Systematic,
    /// N independent draws by the weights.
    Multinomial,
}

impl std::fmt::Display for ResampleKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ResampleKind::Systematic => "systematic",
            ResampleKind::Multinomial => "multinomial",
        })
    }
}

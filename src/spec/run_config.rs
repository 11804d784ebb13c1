//! Everything that defines a run, and the one mapping from it to model options.

use serde::{Deserialize, Serialize};

use super::aggregation::Aggregation;
use super::kinds::{DifficultyMethod, RevisionSelection, StrategyKind, VerifierKind};
use super::policy::PolicyTable;
use super::selection::SelectionRule;
use crate::model::GenOptions;

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
    pub policy: Option<PolicyTable>,
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

impl RunConfig {
    /// The model options of one whole-solution request with `seed`: the run's
    /// temperature, token limit and sampling knobs. Step-wise generation starts
    /// from these and narrows them (see `strategy::engine::next_step`).
    pub fn gen_options(&self, seed: i64) -> GenOptions {
        GenOptions {
            temperature: Some(self.temperature),
            seed: Some(seed),
            num_predict: Some(self.max_tokens as i32),
            stop: Vec::new(),
            top_p: self.top_p,
            top_k: self.top_k,
            num_ctx: self.num_ctx,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gen_options_carry_the_run_settings() {
        let c = RunConfig { temperature: 0.3, max_tokens: 77, top_k: Some(5), ..RunConfig::default() };
        let o = c.gen_options(9);
        assert_eq!((o.temperature, o.seed, o.num_predict), (Some(0.3), Some(9), Some(77)));
        assert_eq!((o.top_p, o.top_k, o.num_ctx), (None, Some(5), None));
        assert!(o.stop.is_empty());
    }
}

//! Everything that defines a run, and the one mapping from it to model options.

use serde::{Deserialize, Serialize};

use super::aggregation::Aggregation;
use super::kinds::{DifficultyMethod, ResampleKind, RevisionSelection, StrategyKind, VerifierKind};
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
    /// How step scores become a solution score: the one in force.
    pub aggregation: Aggregation,
    /// Whether the user named the aggregation (flag, config file or a live change).
    /// When false it is the verifier's default ([`VerifierKind::default_aggregation`])
    /// and follows the verifier through [`RunConfig::set_verifier`].
    #[serde(default)]
    pub aggregation_chosen: bool,
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
    /// Tokens per group of the `confidence` verifier.
    #[serde(default = "default_confidence_window")]
    pub confidence_window: u32,
    /// DeepConf's online mode: stop a candidate once the group confidence of its last
    /// `confidence_window` tokens (as a score in `[0, 1]`) falls below this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence_cutoff: Option<f64>,
    /// Adaptive-consistency: stop once P(the majority stays the majority) reaches this.
    #[serde(default = "default_confidence")]
    pub confidence: f64,
    /// Adaptive-consistency: samples drawn at once between stopping checks.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// Particle filtering's knobs (recorded only when they differ from the defaults).
    #[serde(default, skip_serializing_if = "ParticleSettings::is_default")]
    pub particles: ParticleSettings,
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
/// Tokens per group of the `confidence` verifier unless set (why 32: `verify/confidence.rs`).
pub const DEFAULT_CONFIDENCE_WINDOW: u32 = 32;
fn default_confidence_window() -> u32 {
    DEFAULT_CONFIDENCE_WINDOW
}
fn default_confidence() -> f64 {
    0.95
}
fn default_batch() -> usize {
    1
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
            aggregation: VerifierKind::Arith.default_aggregation(),
            aggregation_chosen: false,
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
            confidence_window: default_confidence_window(),
            confidence_cutoff: None,
            confidence: default_confidence(),
            batch: default_batch(),
            particles: ParticleSettings::default(),
        }
    }
}

impl RunConfig {
    /// Use `verifier`; an aggregation the user did not name becomes the new verifier's default.
    pub fn set_verifier(&mut self, verifier: VerifierKind) {
        self.verifier = verifier;
        if !self.aggregation_chosen {
            self.aggregation = verifier.default_aggregation();
        }
    }

    /// Use `aggregation`, named by the user: it stays when the verifier changes.
    pub fn choose_aggregation(&mut self, aggregation: Aggregation) {
        self.aggregation = aggregation;
        self.aggregation_chosen = true;
    }

    /// Where the aggregation in force comes from, for the header and `--json`:
    /// "chosen", or "default for" and what the verifier measures (e.g. "default for a step-local judge").
    pub fn aggregation_source(&self) -> String {
        if self.aggregation_chosen {
            "chosen".to_string()
        } else if self.aggregation == self.verifier.default_aggregation() {
            format!("default for {}", self.verifier.measures())
        } else {
            // Set directly without marking it chosen: say what it is, not why.
            "set".to_string()
        }
    }

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

/// Particle filtering's knobs (`--particle-temp`, `--resample`, `--ess-threshold`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ParticleSettings {
    /// Weight temperature T: weights = softmax(logit(score) / T).
    #[serde(default = "default_particle_temp")]
    pub temp: f64,
    /// How the new population is drawn.
    #[serde(default)]
    pub resample: ResampleKind,
    /// Resample when ESS < threshold × N; 1 resamples every step, 0 never.
    #[serde(default = "default_ess_threshold")]
    pub ess_threshold: f64,
}

fn default_particle_temp() -> f64 {
    1.0
}
fn default_ess_threshold() -> f64 {
    1.0
}

impl Default for ParticleSettings {
    fn default() -> Self {
        Self {
            temp: default_particle_temp(),
            resample: ResampleKind::Systematic,
            ess_threshold: default_ess_threshold(),
        }
    }
}

impl ParticleSettings {
    /// Whether these are the defaults (then a recorded configuration leaves them out).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aggregation_follows_the_verifier_unless_chosen() {
        let mut c = RunConfig::default();
        c.set_verifier(VerifierKind::Judge);
        assert_eq!(
            (c.aggregation, c.aggregation_source().as_str()),
            (Aggregation::Min, "default for a step-local judge")
        );
        c.set_verifier(VerifierKind::Prm);
        assert_eq!(
            (c.aggregation, c.aggregation_source().as_str()),
            (Aggregation::Last, "default for a reward-to-go PRM")
        );
        c.choose_aggregation(Aggregation::Mean);
        c.set_verifier(VerifierKind::Judge);
        assert_eq!((c.aggregation, c.aggregation_source().as_str()), (Aggregation::Mean, "chosen"));
        // A recorded config without the field reads as a default.
        let mut v = serde_json::to_value(RunConfig::default()).unwrap();
        v.as_object_mut().unwrap().remove("aggregation_chosen");
        let back: RunConfig = serde_json::from_value(v).unwrap();
        assert!(!back.aggregation_chosen);
    }

    #[test]
    fn gen_options_carry_the_run_settings() {
        let c = RunConfig { temperature: 0.3, max_tokens: 77, top_k: Some(5), ..RunConfig::default() };
        let o = c.gen_options(9);
        assert_eq!((o.temperature, o.seed, o.num_predict), (Some(0.3), Some(9), Some(77)));
        assert_eq!((o.top_p, o.top_k, o.num_ctx), (None, Some(5), None));
        assert!(o.stop.is_empty());
    }
}

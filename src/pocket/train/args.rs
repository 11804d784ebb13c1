//! The arguments of `ttc pocket train` and the kind of PRM it makes.

use std::path::PathBuf;

use crate::pocket::PrmView;

/// Arguments of `ttc pocket train`.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainArgs {
    /// Directory for the weights (policy.safetensors, prm.safetensors) and logs.
    #[arg(long)]
    pub out: PathBuf,
    /// Seed for data, initialisation and sampling.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Policy optimisation steps.
    #[arg(long, default_value_t = 8000)]
    pub steps: usize,
    /// PRM optimisation steps (default: 4,000 for a checker, 600 for a head).
    #[arg(long)]
    pub prm_steps: Option<usize>,
    /// Policy samples drawn to make PRM training data.
    #[arg(long, default_value_t = 8000)]
    pub prm_samples: usize,
    /// Sequences per batch.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Model width.
    #[arg(long, default_value_t = 96)]
    pub d_model: usize,
    #[arg(long, default_value_t = 6)]
    pub layers: usize,
    #[arg(long, default_value_t = 4)]
    pub heads: usize,
    /// Context length in characters.
    #[arg(long, default_value_t = 160)]
    pub ctx: usize,
    /// Peak learning rate (policy); the PRM uses a third of it.
    #[arg(long, default_value_t = 3e-3)]
    pub lr: f64,
    /// Fraction of policy examples that are revisions of a wrong attempt.
    #[arg(long, default_value_t = 0.2)]
    pub revision_frac: f64,
    /// Steps between progress evaluations (greedy accuracy on a few problems) and checkpoints.
    #[arg(long, default_value_t = 500)]
    pub eval_every: usize,
    /// Skip policy training: start from DIR/policy.safetensors and train only the PRM.
    #[arg(long)]
    pub policy_from: Option<PathBuf>,
    /// Safety stop for the policy phase, in minutes (breaks exact reproducibility if hit).
    #[arg(long)]
    pub max_minutes: Option<f64>,
    /// Each batch is split into this many shards whose gradients are computed on parallel
    /// threads and summed (the result depends on this number, not on the machine).
    #[arg(long, default_value_t = 2)]
    pub shards: usize,
    /// Use a GELU MLP (as the first weights did) instead of ReLU; about a fifth slower.
    #[arg(long)]
    pub gelu: bool,
    /// What the PRM is: a checker (a fresh network that learns to write every correct
    /// character of a solution in the aligned view; a step's score is the probability it
    /// gives the solution's text up to that step) or a score head on a copy of the policy.
    #[arg(long, value_enum, default_value_t = PrmKind::Checker)]
    pub prm_kind: PrmKind,
    /// Head PRM: label every character (is the solution still on the correct text?), not
    /// only each step's end. (A checker always learns from every correct character.)
    #[arg(long)]
    pub prm_dense_labels: bool,
    /// How the PRM reads the problem and the steps (default: aligned for a checker, plain
    /// for a head).
    #[arg(long, value_enum)]
    pub prm_view: Option<PrmView>,
    /// Checker width.
    #[arg(long, default_value_t = 64)]
    pub prm_d: usize,
    /// Checker layers.
    #[arg(long, default_value_t = 4)]
    pub prm_layers: usize,
    /// Checker heads.
    #[arg(long, default_value_t = 4)]
    pub prm_heads: usize,
    /// Peak PRM learning rate (default: `--lr` for a checker, a third of it for a head).
    #[arg(long)]
    pub prm_lr: Option<f64>,
    /// Fraction of each PRM batch made fresh at every step (gold or corrupted solutions,
    /// labelled exactly) next to the pool of the policy's own samples (default: 0.5 for a
    /// checker, 0 for a head).
    #[arg(long)]
    pub prm_fresh_frac: Option<f64>,
}

/// What `ttc pocket train` makes the PRM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PrmKind {
    /// A fresh network trained to write each correct character; scores are likelihoods.
    Checker,
    /// The policy trunk fine-tuned with a one-unit score head (BCE on exact labels).
    Head,
}

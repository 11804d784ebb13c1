//! Shared vocabulary at the bottom of the crate: what a run is asked to do
//! ([`RunConfig`] and its kinds), how live changes are said ([`Command`]),
//! the adaptive policy ([`PolicyTable`]), how answers are picked
//! ([`SelectionRule`], [`Selection`], [`Aggregation`]) and how the policy
//! model is prompted ([`SolvePrompt`]).
//!
//! Events, the run tree, strategies, verifiers and views all import these
//! downward; nothing here imports events, the tree, strategies, runs or views.

mod aggregation;
mod command;
mod kinds;
pub mod limits;
mod policy;
mod prompt;
mod run_config;
mod selection;

pub use aggregation::Aggregation;
pub use command::Command;
pub use kinds::{DifficultyMethod, ResampleKind, RevisionSelection, StrategyKind, VerifierKind};
pub use policy::{Fitted, PolicyEntry, PolicyTable, HEURISTIC_POLICY, POLICY};
pub use prompt::{fill, SolvePrompt, SOLVE_PROMPT};
pub use run_config::{ParticleSettings, RunConfig, DEFAULT_CONFIDENCE_WINDOW};
pub use selection::{AnswerTally, Candidate, Selection, SelectionRule};

/// Identifies a node (one partial or finished solution) within a run.
pub type NodeId = u32;

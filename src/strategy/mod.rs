//! Strategies: how compute is spent on one problem.
//!
//! The vocabulary they share with events, the run tree and the views (the run
//! configuration, commands, selection) lives in [`crate::spec`]; the names are
//! re-exported here so `strategy::RunConfig` and friends keep working.

pub mod adaptive;
pub mod best_of_n;
pub mod consistency;
pub mod context;
pub mod engine;
pub mod group;
pub mod guard;
pub mod particles;
pub mod resample;
pub mod revise;
pub mod search;
pub mod select;
pub mod stopping;
pub mod token_steps;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_confidence;
#[cfg(test)]
mod tests_consistency;
#[cfg(test)]
mod tests_groups;
#[cfg(test)]
mod tests_harness;
#[cfg(test)]
mod tests_panic;
#[cfg(test)]
mod tests_particles;
#[cfg(test)]
mod tests_search;
#[cfg(test)]
mod tests_select;

pub use crate::spec::{
    AnswerTally, Candidate, Command, DifficultyMethod, RevisionSelection, RunConfig, Selection,
    SelectionRule, StrategyKind, VerifierKind,
};
pub use select::select;

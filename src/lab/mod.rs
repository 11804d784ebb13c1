//! The verifier lab: measure a verifier against human step labels (ProcessBench).
//!
//! `ttc verifier eval` reads ProcessBench items ([`items`]), scores every step of each item
//! with a [`crate::verify::Verifier`] ([`eval`]), keeps the scores in a resumable output
//! directory ([`dir`]), and computes ProcessBench's metrics ([`metrics`]) into the summaries
//! ([`report`]). The command line and the choice of verifier live in `cli/verifier.rs`.
//! With `--traces`, the items are built from ttc traces with gold answers instead
//! ([`traces`]; outcome labels only, see [`metrics`]). `ttc verifier view` shows such a directory in the terminal ([`view`]).

pub mod dir;
pub mod eval;
pub mod items;
pub mod metrics;
pub mod report;
pub mod traces;
pub mod view;

pub use dir::{EvalDir, Identity};
pub use items::{BenchItem, ItemRecord, Loaded};

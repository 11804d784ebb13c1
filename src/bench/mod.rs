//! `ttc bench`: accuracy against compute. Every problem × strategy × budget × seed is one
//! run, prepared through [`crate::launch`] like `ttc run`, and one line of
//! `DIR/results.jsonl` ([`results::Record`]); `DIR/bench.json` holds the configuration.
//!
//! Budgets are generation-equivalents, as in Snell et al. 2024: how a budget becomes each
//! strategy's knobs is in [`spec`] (best-of-N: N = B; beam and DVTS: N = B with width M;
//! lookahead k: N = max(1, ⌊B/(k+1)⌋); revise ratio R: chains × revisions = B with
//! revisions/chains nearest R).
//!
//! - [`spec`]: strategy specs and the budget → knobs mapping.
//! - [`runner`]: loading the dataset, running the items, resuming.
//! - [`results`]: the record and the directory's files.
//! - [`report`], [`fit`]: reading a results directory.

pub mod fit;
mod progress;
pub mod report;
pub mod results;
pub mod runner;
pub mod spec;
pub mod subsample;

pub use results::{BenchConfig, Record};
pub use runner::{run, BenchPlan};
pub use spec::{parse_budgets, parse_strategies, StrategySpec};

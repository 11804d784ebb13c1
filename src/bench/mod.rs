//! `ttc bench`: accuracy against compute. Every problem × strategy × budget × seed is one
//! run, prepared through [`crate::launch`] like `ttc run`, and one line of
//! `DIR/results.jsonl` ([`results::Record`]); `DIR/bench.json` holds the configuration.
//!
//! Budgets are generation-equivalents, as in Snell et al. 2024: how a budget becomes each
//! strategy's knobs is in [`spec`] (best-of-N: N = B; beam and DVTS: N = B with width M;
//! lookahead k: N = max(1, ⌊B/(k+1)⌋); revise ratio R: chains × revisions = B with
//! revisions/chains nearest R; particles: N = B particles).
//!
//! Running: [`spec`] (strategy specs, the budget → knobs mapping), [`runner`] (the dataset,
//! the items, resuming), [`results`] (the record and the directory's files), [`subsample`]
//! (best-of-N curves from one set of samples).
//!
//! Reading a results directory: [`records`] (loading), [`bins`] (quantile difficulty bins),
//! [`analysis`] (accuracy, 2-fold cross-validated compute-optimal choice, efficiency ratio),
//! [`compare`] (search vs best-of-N by bin, the efficiency ratio), [`seqpar`] (sequential vs
//! parallel), [`findings`] (sentences from those numbers), [`report`] (report.md, CSV files,
//! [`plot`] figures), [`fit`] (a fitted policy table) and
//! [`view`] (the same curves in the terminal, reloaded while a bench runs).

pub mod analysis;
pub mod bins;
pub mod compare;
#[cfg(test)]
mod figure_tests;
pub mod findings;
pub mod fit;
pub mod plot;
mod progress;
pub mod records;
pub mod report;
pub mod results;
pub mod runner;
pub mod seqpar;
pub mod spec;
pub mod subsample;
pub mod svg;
#[cfg(test)]
mod tests;
pub mod view;

pub use results::{BenchConfig, Record};
pub use runner::{run, BenchPlan};
pub use spec::{parse_budgets, parse_strategies, StrategySpec};

//! The numbers behind the report's figures of Snell et al. 2024: best-of-N curves with their
//! subsample spread, search against best-of-N per difficulty bin (their Fig. 3), and the
//! compute-optimal efficiency ratio (Fig. 4).

use std::collections::BTreeMap;

use super::analysis::{budget_to_match, Cell, Needed};
use super::bins::Bins;
use super::records::Results;

/// A strategy's mean accuracy at one budget, with its spread where the results know one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mean {
    pub budget: u32,
    pub mean: f64,
    /// Standard deviation of the accuracy one run of the bench would show, from the
    /// best-of-N subsample variances (`--subsample`): √(Σ varᵢ) / n over the n lines.
    /// `None` when a line lacks a variance.
    pub sd: Option<f64>,
    /// Graded lines.
    pub n: usize,
}

/// A strategy's accuracy at every budget over the problems `keep` accepts. Each line counts
/// as its `subsample_accuracy` when it has one (the mean over random subsets of the samples,
/// as the paper plots best-of-N), else as its `correct`.
pub fn mean_curve(
    results: &Results,
    keep: impl Fn(&str) -> bool,
    strategy: &str,
    budgets: &[u32],
) -> Vec<Mean> {
    let mut out = Vec::new();
    for &budget in budgets {
        let rows =
            results.rows.iter().filter(|r| r.strategy == strategy && r.budget == budget && keep(&r.problem));
        let (mut sum, mut var, mut n, mut all_var) = (0.0, 0.0, 0usize, true);
        for r in rows {
            let value = match (r.subsample_accuracy.filter(|v| v.is_finite()), r.correct) {
                (Some(v), _) => v,
                (None, Some(ok)) => f64::from(u8::from(ok)),
                (None, None) => continue,
            };
            sum += value;
            n += 1;
            match r.subsample_variance.filter(|v| v.is_finite() && *v >= 0.0) {
                Some(v) if r.subsample_accuracy.is_some() => var += v,
                _ => all_var = false,
            }
        }
        if n > 0 {
            let sd = all_var.then(|| var.sqrt() / n as f64);
            out.push(Mean { budget, mean: sum / n as f64, sd, n });
        }
    }
    out
}

/// The (budget, accuracy) points of a mean curve.
pub fn points(curve: &[Mean]) -> Vec<(u32, f64)> {
    curve.iter().map(|m| (m.budget, m.mean)).collect()
}

/// Whether a spec is a tree search (beam, lookahead, DVTS): the paper's "search" methods.
pub fn is_search(spec: &str) -> bool {
    matches!(spec.split(':').next().unwrap_or("").trim(), "beam" | "lookahead" | "dvts")
}

/// One cell of the search − best-of-N grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    /// 0 for all problems, else the bin (1 easiest … 5 hardest).
    pub bin: u8,
    pub budget: u32,
    pub strategy: String,
    pub search: Option<f64>,
    pub bon: Option<f64>,
}

impl Diff {
    /// Search accuracy minus best-of-N accuracy, when both exist.
    pub fn diff(&self) -> Option<f64> {
        Some(self.search? - self.bon?)
    }
}

/// For every search strategy, bin (0 = all, then 1–5) and budget: its accuracy and that of
/// the best-of-N baseline `bon` (as [`mean_curve`] counts it).
pub fn difference_grid(results: &Results, bins: &Bins, bon: &str) -> Vec<Diff> {
    let mut out = Vec::new();
    let search: Vec<&String> = results.strategies.iter().filter(|s| is_search(s)).collect();
    for bin in 0..=5u8 {
        let keep = |p: &str| bin == 0 || bins.bin.get(p) == Some(&bin);
        let base: BTreeMap<u32, f64> =
            points(&mean_curve(results, keep, bon, &results.budgets)).into_iter().collect();
        for s in &search {
            let mine: BTreeMap<u32, f64> =
                points(&mean_curve(results, keep, s, &results.budgets)).into_iter().collect();
            for &budget in &results.budgets {
                out.push(Diff {
                    bin,
                    budget,
                    strategy: s.to_string(),
                    search: mine.get(&budget).copied(),
                    bon: base.get(&budget).copied(),
                });
            }
        }
    }
    out
}

/// One row of the efficiency table: compute-optimal at `budget` reaches `target`; best-of-N
/// needs `needed` to match it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Efficiency {
    pub budget: u32,
    pub target: f64,
    pub needed: Needed,
}

impl Efficiency {
    /// Best-of-N budget ÷ compute-optimal budget, when best-of-N reaches the target at a
    /// budget run (an upper bound for [`Needed::AtMost`]).
    pub fn ratio(&self) -> Option<f64> {
        self.needed.budget().map(|b| b / self.budget as f64)
    }
}

/// Compute-optimal accuracy `co` per budget against a best-of-N curve (ascending budgets).
pub fn efficiency(bon: &[(u32, f64)], co: &BTreeMap<u32, Cell>) -> Vec<Efficiency> {
    co.iter()
        .filter_map(|(b, cell)| {
            cell.accuracy().map(|a| Efficiency { budget: *b, target: a, needed: budget_to_match(bon, a) })
        })
        .collect()
}

/// The budget needed, in words, never extrapolated: "> 64" when best-of-N never gets there.
pub fn describe_needed(needed: Needed, max_budget: u32) -> String {
    match needed {
        Needed::Beyond => format!("> {max_budget}"),
        n => n.describe(),
    }
}

/// The ratio, in words: "> 16×" (= max budget ÷ budget) when best-of-N never gets there.
pub fn describe_ratio(e: &Efficiency, max_budget: u32) -> String {
    match e.needed {
        Needed::Beyond => format!("> {:.2}×", max_budget as f64 / e.budget as f64),
        n => n.ratio(e.budget),
    }
}

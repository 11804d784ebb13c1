//! The numbers a report shows and a fit uses: accuracy per strategy × budget,
//! the compute-optimal choice per (bin, budget) with 2-fold cross-validation
//! over problems, and the efficiency ratio against best-of-N.

use std::collections::BTreeMap;

use super::bins::Bins;
use super::records::Results;

/// Correct answers among graded rows, and the rows left out for lack of gold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cell {
    pub correct: usize,
    pub n: usize,
    pub ungraded: usize,
}

impl Cell {
    pub fn accuracy(&self) -> Option<f64> {
        (self.n > 0).then(|| self.correct as f64 / self.n as f64)
    }

    pub fn add(&mut self, other: Cell) {
        self.correct += other.correct;
        self.n += other.n;
        self.ungraded += other.ungraded;
    }
}

/// Accuracy by (strategy, budget) over problems and seeds.
pub type Table = BTreeMap<(String, u32), Cell>;

/// Accuracy of every strategy × budget over the problems `keep` accepts.
pub fn accuracy(results: &Results, keep: impl Fn(&str) -> bool) -> Table {
    let mut t = Table::new();
    for r in results.rows.iter().filter(|r| keep(&r.problem)) {
        let c = t.entry((r.strategy.clone(), r.budget)).or_default();
        match r.correct {
            Some(ok) => {
                c.n += 1;
                c.correct += ok as usize;
            }
            None => c.ungraded += 1,
        }
    }
    t
}

/// The fold (0 or 1) of a problem on its own: the top bit of its id's FNV-1a hash after
/// splitmix64's finaliser (FNV-1a's own top bit barely depends on the last bytes: ids such
/// as `pocket:L4:3` and `pocket:L4:8` all fell in one fold).
pub fn fold_of(problem: &str) -> usize {
    (crate::hash::mix64(crate::hash::fnv1a(problem.as_bytes())) >> 63) as usize
}

/// Folds stratified by bin: within each bin the problems, ordered by the mixed hash of their
/// id, alternate between folds 0 and 1, so every bin with two problems has both folds.
pub fn stratified_folds(bins: &Bins) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for b in 1..=5u8 {
        let mut mine: Vec<(u64, &String)> = bins
            .bin
            .iter()
            .filter(|(_, x)| **x == b)
            .map(|(p, _)| (crate::hash::mix64(crate::hash::fnv1a(p.as_bytes())), p))
            .collect();
        mine.sort();
        for (i, (_, p)) in mine.into_iter().enumerate() {
            out.insert(p.clone(), i % 2);
        }
    }
    out
}

/// The most accurate strategy at a budget; ties go to the earlier strategy in `order`.
pub fn best(table: &Table, order: &[String], budget: u32) -> Option<String> {
    let mut top: Option<(&String, f64)> = None;
    for s in order {
        if let Some(a) = table.get(&(s.clone(), budget)).and_then(Cell::accuracy) {
            if top.is_none_or(|(_, b)| a > b) {
                top = Some((s, a));
            }
        }
    }
    top.map(|(s, _)| s.clone())
}

/// The compute-optimal choice for one (bin, budget).
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub bin: u8,
    pub budget: u32,
    /// The strategy chosen on each fold's training half (the other fold), if it had data.
    pub folds: [Option<String>; 2],
    /// Held-out accuracy of those choices, pooled over both folds.
    pub held_out: Cell,
    /// The strategy chosen on all the bin's problems (what a fitted policy uses).
    pub fitted: Option<String>,
    /// Accuracy of the bin's problems under `fitted` (in-sample).
    pub fitted_cell: Cell,
}

/// For every bin and budget, choose a strategy by 2-fold cross-validation over problems
/// (folds from [`stratified_folds`]).
pub fn cross_validate(results: &Results, bins: &Bins) -> Vec<Choice> {
    let folds = stratified_folds(bins);
    let folds = &folds;
    let in_bin = |b: u8, fold: Option<usize>| {
        move |p: &str| bins.bin.get(p) == Some(&b) && fold.is_none_or(|f| folds.get(p) == Some(&f))
    };
    let mut out = Vec::new();
    for b in 1..=5u8 {
        let halves = [accuracy(results, in_bin(b, Some(0))), accuracy(results, in_bin(b, Some(1)))];
        let all = accuracy(results, in_bin(b, None));
        for &budget in &results.budgets {
            let mut folds = [None, None];
            let mut held_out = Cell::default();
            for f in 0..2 {
                // Train on the other fold, test on this one.
                folds[f] = best(&halves[1 - f], &results.strategies, budget);
                if let Some(s) = &folds[f] {
                    held_out.add(halves[f].get(&(s.clone(), budget)).copied().unwrap_or_default());
                }
            }
            let fitted = best(&all, &results.strategies, budget);
            let fitted_cell =
                fitted.as_ref().and_then(|s| all.get(&(s.clone(), budget)).copied()).unwrap_or_default();
            out.push(Choice { bin: b, budget, folds, held_out, fitted, fitted_cell });
        }
    }
    out
}

/// Compute-optimal held-out accuracy over all bins at each budget.
pub fn pooled(choices: &[Choice]) -> BTreeMap<u32, Cell> {
    let mut out: BTreeMap<u32, Cell> = BTreeMap::new();
    for c in choices {
        out.entry(c.budget).or_default().add(c.held_out);
    }
    out
}

/// The best-of-N budget needed to reach an accuracy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Needed {
    /// Already reached at the smallest budget: at most this much.
    AtMost(f64),
    /// Reached between two budgets: interpolated on the log₂ budget axis.
    Exactly(f64),
    /// Best-of-N never reaches it at the budgets run.
    Beyond,
}

impl Needed {
    pub fn budget(self) -> Option<f64> {
        match self {
            Needed::AtMost(b) | Needed::Exactly(b) => Some(b),
            Needed::Beyond => None,
        }
    }

    /// The budget needed, in words.
    pub fn describe(self) -> String {
        match self {
            Needed::AtMost(b) => format!("≤ {}", short(b)),
            Needed::Exactly(b) => short(b),
            Needed::Beyond => "beyond the largest budget".into(),
        }
    }

    /// The ratio (best-of-N budget ÷ compute-optimal budget), in words.
    pub fn ratio(self, budget: u32) -> String {
        match self {
            Needed::AtMost(b) => format!("≤ {:.2}×", b / budget as f64),
            Needed::Exactly(b) => format!("{:.2}×", b / budget as f64),
            Needed::Beyond => "—".into(),
        }
    }
}

fn short(b: f64) -> String {
    if (b - b.round()).abs() < 1e-9 {
        format!("{}", b.round() as i64)
    } else {
        format!("{b:.2}")
    }
}

/// The first budget at which a curve (ascending budgets) reaches `target`, interpolated
/// linearly in accuracy against log₂ budget between the two budgets around the crossing.
pub fn budget_to_match(curve: &[(u32, f64)], target: f64) -> Needed {
    let Some(&(b0, a0)) = curve.first() else { return Needed::Beyond };
    if a0 >= target - 1e-12 {
        return Needed::AtMost(b0 as f64);
    }
    for w in curve.windows(2) {
        let ((lo, alo), (hi, ahi)) = (w[0], w[1]);
        if ahi >= target - 1e-12 {
            let frac = if ahi > alo { ((target - alo) / (ahi - alo)).clamp(0.0, 1.0) } else { 1.0 };
            let x = (lo as f64).log2() + frac * ((hi as f64).log2() - (lo as f64).log2());
            return Needed::Exactly(x.exp2());
        }
    }
    Needed::Beyond
}

/// A strategy's accuracy curve over the budgets of a table.
pub fn curve(table: &Table, strategy: &str, budgets: &[u32]) -> Vec<(u32, f64)> {
    budgets
        .iter()
        .filter_map(|b| table.get(&(strategy.to_string(), *b)).and_then(Cell::accuracy).map(|a| (*b, a)))
        .collect()
}

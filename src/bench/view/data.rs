//! What the view shows, computed once per load with [`crate::bench::analysis`]: accuracy per
//! panel (all problems, then bins 1–5 of each kind), the cross-validated compute-optimal curve
//! and the best-of-N baseline. Nothing here draws.

use std::collections::BTreeMap;

use crate::bench::analysis::{accuracy, budget_to_match, cross_validate, curve, pooled, Cell, Choice};
use crate::bench::analysis::{Needed, Table};
use crate::bench::bins::{BinKind, Bins};
use crate::bench::records::{best_of_n_spec, Results};
use crate::safe::for_display;

/// Panels: 0 is all problems, 1–5 the difficulty bins (1 easiest).
pub const PANELS: usize = 6;

/// Longest strategy name drawn.
pub const NAME_CHARS: usize = 40;

/// Bins of one kind and what was computed on them.
#[derive(Debug, Clone)]
pub struct Binned {
    pub bins: Bins,
    pub tables: BTreeMap<u8, Table>,
    pub choices: Vec<Choice>,
}

/// Loaded results and everything computed from them.
#[derive(Debug, Clone)]
pub struct Analysed {
    pub results: Results,
    pub overall: Table,
    pub oracle: Result<Binned, String>,
    pub model: Result<Binned, String>,
    /// The best-of-N baseline's spec, when the bench ran one.
    pub bon: Option<String>,
}

/// How a line is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The cross-validated compute-optimal choice (held-out accuracy).
    Optimal,
    /// The best-of-N baseline.
    Baseline,
    /// Every other strategy.
    Other,
}

/// One line of a panel: a label (safe to draw) and its cells by budget.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub role: Role,
    pub cells: BTreeMap<u32, Cell>,
}

impl Series {
    /// (budget, accuracy) where the cell has graded lines, ascending budgets.
    pub fn points(&self) -> Vec<(u32, f64)> {
        self.cells.iter().filter_map(|(b, c)| c.accuracy().map(|a| (*b, a))).collect()
    }
}

/// One panel's content, or why it has none.
#[derive(Debug, Clone)]
pub struct Panel {
    pub title: String,
    /// The lines, compute-optimal first when there is one.
    pub series: Vec<Series>,
    /// Why the panel is empty (bins of this kind cannot be made).
    pub unavailable: Option<String>,
    /// Why there is no compute-optimal line although the panel has data.
    pub no_optimal: Option<String>,
    /// For each budget, the strategy each fold chose (bin panels only).
    pub chosen: BTreeMap<u32, [Option<String>; 2]>,
}

impl Analysed {
    pub fn new(results: Results) -> Self {
        let build = |kind| {
            Bins::build(&results, kind).map(|bins| {
                let tables =
                    (1..=5u8).map(|b| (b, accuracy(&results, |p| bins.bin.get(p) == Some(&b)))).collect();
                let choices = cross_validate(&results, &bins);
                Binned { bins, tables, choices }
            })
        };
        let (oracle, model) = (build(BinKind::Oracle), build(BinKind::Model));
        let bon = best_of_n_spec(&results.strategies).map(str::to_string);
        let overall = accuracy(&results, |_| true);
        Analysed { results, overall, oracle, model, bon }
    }

    /// The bins of a kind, or why there are none.
    pub fn binned(&self, kind: BinKind) -> Result<&Binned, &str> {
        match kind {
            BinKind::Oracle => self.oracle.as_ref(),
            BinKind::Model => self.model.as_ref(),
        }
        .map_err(String::as_str)
    }

    /// The kind to show first: oracle when it can be made, else model-predicted.
    pub fn default_kind(&self) -> BinKind {
        if self.oracle.is_err() && self.model.is_ok() {
            BinKind::Model
        } else {
            BinKind::Oracle
        }
    }

    /// The dataset's name, safe to draw.
    pub fn dataset(&self) -> String {
        let ds = self.results.meta.as_ref().and_then(|m| m.dataset.as_deref()).unwrap_or("bench");
        for_display(ds, 60)
    }

    /// Panel `index` (0 all problems, 1–5 bins) under bins of `kind`.
    pub fn panel(&self, kind: BinKind, index: usize) -> Panel {
        let binned = self.binned(kind);
        if index == 0 {
            let title = format!("all problems · {}", self.results.problems.len());
            return match binned {
                Ok(b) => self.panel_of(title, &self.overall, Some(pooled(&b.choices)), BTreeMap::new()),
                Err(why) => {
                    let mut p = self.panel_of(title, &self.overall, None, BTreeMap::new());
                    p.no_optimal = Some(format!("no compute-optimal line: {}", first_clause(why)));
                    p
                }
            };
        }
        let bin = index.clamp(1, 5) as u8;
        match binned {
            Ok(b) => {
                let title = format!(
                    "{} bin {} · {} problems · {}",
                    kind.name(),
                    bin_label(bin),
                    b.bins.count(bin),
                    range(&b.bins.edges, bin)
                );
                let mine: Vec<Choice> = b.choices.iter().filter(|c| c.bin == bin).cloned().collect();
                let chosen = mine.iter().map(|c| (c.budget, c.folds.clone())).collect();
                self.panel_of(title, &b.tables[&bin], Some(pooled(&mine)), chosen)
            }
            Err(why) => Panel {
                title: format!("{} bin {}", kind.name(), bin_label(bin)),
                series: Vec::new(),
                unavailable: Some(format!("{} bins unavailable: {why}", kind.name())),
                no_optimal: None,
                chosen: BTreeMap::new(),
            },
        }
    }

    fn panel_of(
        &self,
        title: String,
        table: &Table,
        optimal: Option<BTreeMap<u32, Cell>>,
        chosen: BTreeMap<u32, [Option<String>; 2]>,
    ) -> Panel {
        let mut series = Vec::new();
        if let Some(cells) = optimal {
            series.push(Series { label: "compute-optimal".into(), role: Role::Optimal, cells });
        }
        for s in &self.results.strategies {
            let role = if self.bon.as_ref() == Some(s) { Role::Baseline } else { Role::Other };
            let cells = self
                .results
                .budgets
                .iter()
                .filter_map(|b| table.get(&(s.clone(), *b)).map(|c| (*b, *c)))
                .collect();
            series.push(Series { label: for_display(s, NAME_CHARS), role, cells });
        }
        Panel { title, series, unavailable: None, no_optimal: None, chosen }
    }

    /// At `budget`: compute-optimal's accuracy and the best-of-N budget that matches it.
    pub fn efficiency(&self, kind: BinKind, index: usize, budget: u32) -> Option<(f64, Needed)> {
        let bon = self.bon.as_ref()?;
        let b = self.binned(kind).ok()?;
        let (table, optimal) = if index == 0 {
            (&self.overall, pooled(&b.choices))
        } else {
            let bin = index.clamp(1, 5) as u8;
            let mine: Vec<Choice> = b.choices.iter().filter(|c| c.bin == bin).cloned().collect();
            (&b.tables[&bin], pooled(&mine))
        };
        let target = optimal.get(&budget)?.accuracy()?;
        let c = curve(table, bon, &self.results.budgets);
        Some((target, budget_to_match(&c, target)))
    }
}

/// A bin's name: 1 is the easiest, 5 the hardest.
pub fn bin_label(b: u8) -> String {
    match b {
        1 => "1 (easiest)".into(),
        5 => "5 (hardest)".into(),
        b => b.to_string(),
    }
}

/// The estimates a bin holds, from the four edges.
fn range(edges: &[f64; 4], b: u8) -> String {
    match b {
        1 => format!("est ≥ {:.2}", edges[3]),
        5 => format!("est < {:.2}", edges[0]),
        _ => format!("est {:.2}–{:.2}", edges[4 - b as usize], edges[5 - b as usize]),
    }
}

/// The reason before its explanation in brackets.
fn first_clause(why: &str) -> &str {
    why.split(" (").next().unwrap_or(why)
}

//! Difficulty bins: five quantile bins of a per-problem estimate of success.
//!
//! - oracle: the pass rate of the problem's samples against gold, from the
//!   largest best-of-N budget with a pass rate, averaged over seeds;
//! - model: the mean verifier score of the same runs (no gold needed).
//!
//! Bin 1 is the easiest (highest estimate), bin 5 the hardest, as in the
//! adaptive strategy. A value equal to an edge goes to the easier bin.

use std::collections::BTreeMap;

use super::records::{is_best_of_n, Record, Results};

/// Which estimate a set of bins is built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BinKind {
    Oracle,
    Model,
}

impl BinKind {
    pub fn name(self) -> &'static str {
        match self {
            BinKind::Oracle => "oracle",
            BinKind::Model => "model",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            BinKind::Oracle => "oracle (pass rate against gold)",
            BinKind::Model => "model-predicted (mean verifier score)",
        }
    }

    fn value(self, r: &Record) -> Option<f64> {
        match self {
            BinKind::Oracle => r.pass_rate,
            BinKind::Model => r.mean_score,
        }
        .filter(|v| v.is_finite())
    }
}

/// Five quantile bins over the problems.
#[derive(Debug, Clone, PartialEq)]
pub struct Bins {
    pub kind: BinKind,
    /// Four ascending edges (the 20th, 40th, 60th and 80th percentiles).
    pub edges: [f64; 4],
    /// Each binned problem's estimate.
    pub estimate: BTreeMap<String, f64>,
    /// Each binned problem's bin (1–5).
    pub bin: BTreeMap<String, u8>,
}

impl Bins {
    /// Bin every problem that has an estimate. Errors say why no bins can be made.
    pub fn build(results: &Results, kind: BinKind) -> Result<Self, String> {
        if kind == BinKind::Oracle && !results.has_gold() {
            return Err("no gold answers: oracle difficulty bins are impossible (model-predicted bins, \
                        from mean verifier scores, still work)"
                .into());
        }
        let estimate = estimates(results, kind);
        if estimate.is_empty() {
            return Err(match kind {
                BinKind::Oracle => "no run has a pass rate: oracle difficulty bins are impossible".into(),
                BinKind::Model => {
                    "no run has a mean verifier score: model-predicted difficulty bins are impossible".into()
                }
            });
        }
        let values: Vec<f64> = estimate.values().copied().collect();
        let edges = quantile_edges(&values);
        let bin = estimate.iter().map(|(p, v)| (p.clone(), bin_of(&edges, *v))).collect();
        Ok(Bins { kind, edges, estimate, bin })
    }

    /// The problems in a bin.
    pub fn count(&self, bin: u8) -> usize {
        self.bin.values().filter(|b| **b == bin).count()
    }
}

/// Per problem: the estimate from its largest best-of-N budget that has one, averaged over
/// seeds; a problem without best-of-N runs falls back to the mean over all its runs.
pub fn estimates(results: &Results, kind: BinKind) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for p in &results.problems {
        let mine: Vec<&Record> =
            results.rows.iter().filter(|r| &r.problem == p && kind.value(r).is_some()).collect();
        let bon: Vec<&Record> = mine.iter().copied().filter(|r| is_best_of_n(&r.strategy)).collect();
        let chosen: Vec<&Record> = match bon.iter().map(|r| r.budget).max() {
            Some(top) => bon.into_iter().filter(|r| r.budget == top).collect(),
            None => mine,
        };
        let vals: Vec<f64> = chosen.iter().filter_map(|r| kind.value(r)).collect();
        if !vals.is_empty() {
            out.insert(p.clone(), vals.iter().sum::<f64>() / vals.len() as f64);
        }
    }
    out
}

/// The 20th, 40th, 60th and 80th percentiles (linear interpolation between order statistics).
pub fn quantile_edges(values: &[f64]) -> [f64; 4] {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let mut edges = [0.0; 4];
    if v.is_empty() {
        return edges;
    }
    for (i, e) in edges.iter_mut().enumerate() {
        let pos = 0.2 * (i + 1) as f64 * (v.len() - 1) as f64;
        let lo = pos.floor() as usize;
        let hi = (lo + 1).min(v.len() - 1);
        *e = v[lo] + (pos - lo as f64) * (v[hi] - v[lo]);
    }
    edges
}

/// The bin (1 easiest … 5 hardest) of a value: 5 minus the number of edges at or below it.
pub fn bin_of(edges: &[f64], value: f64) -> u8 {
    (5 - edges.iter().filter(|e| **e <= value).count().min(4)) as u8
}

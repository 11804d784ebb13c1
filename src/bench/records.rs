//! Reading a bench directory: `results.jsonl` (one line per problem × strategy ×
//! budget × seed) and `bench.json` (what was run). A malformed last line is the
//! one the runner may still be writing: it is ignored, never an error.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// One finished run of one strategy on one problem at one budget and seed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Record {
    pub problem: String,
    pub strategy: String,
    pub budget: u32,
    pub seed: u64,
    #[serde(default)]
    pub answer: Option<String>,
    /// `None` when the problem has no gold answer.
    #[serde(default)]
    pub correct: Option<bool>,
    #[serde(default)]
    pub tokens: u64,
    #[serde(default)]
    pub gen_equivalents: f64,
    #[serde(default)]
    pub wall_ms: u64,
    /// Mean verifier score of the run's candidates.
    #[serde(default)]
    pub mean_score: Option<f64>,
    /// Fraction of the run's candidates whose answer equals gold.
    #[serde(default)]
    pub pass_rate: Option<f64>,
    /// `--subsample`: mean accuracy of the selected answer over random subsets of B samples.
    #[serde(default)]
    pub subsample_accuracy: Option<f64>,
    /// `--subsample`: its variance over the subsets.
    #[serde(default)]
    pub subsample_variance: Option<f64>,
    /// Adaptive-consistency: the samples the run drew.
    #[serde(default)]
    pub samples: Option<u32>,
}

/// `bench.json`: the configuration a bench ran with. Every key is optional here.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct BenchMeta {
    #[serde(default)]
    pub ttc_version: Option<String>,
    #[serde(default)]
    pub dataset: Option<String>,
    #[serde(default)]
    pub problems: Option<serde_json::Value>,
    #[serde(default)]
    pub strategies: Vec<String>,
    #[serde(default)]
    pub budgets: Vec<u32>,
    #[serde(default)]
    pub seeds: Option<serde_json::Value>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub backend: Option<String>,
    #[serde(default)]
    pub verifier: Option<String>,
}

/// Everything read from a bench directory.
#[derive(Debug, Clone, Default)]
pub struct Results {
    pub rows: Vec<Record>,
    pub meta: Option<BenchMeta>,
    /// Whether a malformed last line was ignored.
    pub truncated: bool,
    /// Strategies in `bench.json` order, then in order of first appearance.
    pub strategies: Vec<String>,
    /// Budgets present, ascending.
    pub budgets: Vec<u32>,
    /// Problems in order of first appearance.
    pub problems: Vec<String>,
}

impl Results {
    /// Read `DIR/results.jsonl` and, when present, `DIR/bench.json`.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let path = dir.join("results.jsonl");
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let meta = match std::fs::read_to_string(dir.join("bench.json")) {
            Ok(t) => Some(
                serde_json::from_str::<BenchMeta>(&t)
                    .map_err(|e| format!("{}: {e}", dir.join("bench.json").display()))?,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("{}: {e}", dir.join("bench.json").display())),
        };
        let mut r = Self::parse(&text, &path.display().to_string())?;
        r.meta = meta;
        r.order();
        Ok(r)
    }

    /// Parse the text of a results file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, String> {
        let lines: Vec<(usize, &str)> =
            text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).collect();
        let mut rows: BTreeMap<(String, String, u32, u64), Record> = BTreeMap::new();
        let mut order = Vec::new();
        let mut truncated = false;
        for (i, (no, line)) in lines.iter().enumerate() {
            match serde_json::from_str::<Record>(line) {
                Ok(r) => {
                    let key = (r.problem.clone(), r.strategy.clone(), r.budget, r.seed);
                    if rows.insert(key.clone(), r).is_none() {
                        order.push(key);
                    }
                }
                // The runner may be writing the last line right now.
                Err(_) if i + 1 == lines.len() => truncated = true,
                Err(e) => return Err(format!("{origin}:{}: {e}", no + 1)),
            }
        }
        let rows = order.into_iter().filter_map(|k| rows.remove(&k)).collect();
        let mut r = Results { rows, truncated, ..Default::default() };
        r.order();
        Ok(r)
    }

    /// Fill `strategies`, `budgets` and `problems` from the rows and the metadata.
    fn order(&mut self) {
        let mut strategies: Vec<String> = Vec::new();
        let listed = self.meta.as_ref().map(|m| m.strategies.clone()).unwrap_or_default();
        for s in listed.iter().chain(self.rows.iter().map(|r| &r.strategy)) {
            if !strategies.contains(s) && self.rows.iter().any(|r| &r.strategy == s) {
                strategies.push(s.clone());
            }
        }
        let mut budgets: Vec<u32> = self.rows.iter().map(|r| r.budget).collect();
        budgets.sort_unstable();
        budgets.dedup();
        let mut problems: Vec<String> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for r in &self.rows {
            if seen.insert(r.problem.as_str()) {
                problems.push(r.problem.clone());
            }
        }
        self.strategies = strategies;
        self.budgets = budgets;
        self.problems = problems;
    }

    /// Whether any row knows a gold answer (a `correct` or a `pass_rate`).
    pub fn has_gold(&self) -> bool {
        self.rows.iter().any(|r| r.correct.is_some() || r.pass_rate.is_some())
    }

    /// Rows whose `correct` is null (no gold): excluded from accuracy.
    pub fn ungraded(&self) -> usize {
        self.rows.iter().filter(|r| r.correct.is_none()).count()
    }
}

/// Whether a strategy spec is best-of-N.
pub fn is_best_of_n(spec: &str) -> bool {
    let kind = spec.split(':').next().unwrap_or("").trim();
    kind == "best-of-n" || kind == "bon"
}

/// The best-of-N baseline: `best-of-n:weighted` when present, else the first best-of-N spec.
pub fn best_of_n_spec(strategies: &[String]) -> Option<&str> {
    strategies
        .iter()
        .find(|s| s.as_str() == "best-of-n:weighted")
        .or_else(|| strategies.iter().find(|s| is_best_of_n(s)))
        .map(|s| s.as_str())
}

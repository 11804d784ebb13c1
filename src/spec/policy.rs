//! The adaptive strategy's policy: which strategy, with which knobs, for each
//! of five difficulty bins.
//!
//! Two formats parse. Version 1 (no `version` key, a hand-written table such as
//! `assets/policy-heuristic.toml`): one entry per bin 1–5, binned by the fixed thresholds of
//! `strategy::adaptive::bin_of`. Version 2 (`version = 2`, written by
//! `ttc bench fit`): `difficulty` names the estimate (`model` or `oracle`),
//! `edges` holds the four ascending quantile edges of that estimate (a value
//! equal to an edge goes to the easier bin; bin 1 is the easiest), `budgets`
//! the budget axis, and there is one entry per bin × budget, each with its
//! `budget` and the bench `spec` it was fitted on.

use serde::{Deserialize, Serialize};

use super::kinds::{DifficultyMethod, StrategyKind};

/// The bundled policy table: fitted by `ttc bench fit` (see its header for on what).
pub const POLICY: &str = include_str!("../../assets/policy.toml");

/// A hand-written version 1 table from the paper's qualitative findings, shipped as an
/// example to copy (`--policy assets/policy-heuristic.toml`).
pub const HEURISTIC_POLICY: &str = include_str!("../../assets/policy-heuristic.toml");

/// What to run for one difficulty bin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyEntry {
    pub bin: u8,
    /// Version 2: the budget this entry is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<u32>,
    pub strategy: StrategyKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookahead: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chains: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// How the chosen strategy picks its answer (`weighted`, `majority`, `best`); the run's
    /// own rule when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<super::SelectionRule>,
    /// Version 2: the bench strategy spec this entry was fitted on (e.g. `best-of-n:weighted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<String>,
    pub reason: String,
    /// Adaptive-consistency's confidence (`strategy = "consistency"`); the run's own when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Particle filtering's knobs for `strategy = "particles"` (`particles = { temp = 0.5,
    /// ess_threshold = 0.5, resample = "multinomial" }`); the run's own when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub particles: Option<super::ParticleSettings>,
}

impl PolicyEntry {
    /// Whether every knob lies in its [`crate::spec::limits`] range.
    fn check(&self) -> Result<(), String> {
        use crate::spec::limits::{self, check};
        if let Some(w) = self.width {
            check("width", w, &limits::WIDTH)?;
        }
        if let Some(d) = self.depth {
            check("depth", d, &limits::DEPTH)?;
        }
        if let Some(k) = self.lookahead {
            check("lookahead", k, &limits::LOOKAHEAD)?;
        }
        if let Some(c) = self.chains {
            check("chains", c, &limits::CHAINS)?;
        }
        if let Some(t) = self.temperature {
            check("temperature", t, &limits::TEMPERATURE)?;
        }
        if let Some(c) = self.confidence {
            check("confidence", c, &limits::CONFIDENCE)?;
        }
        if let Some(p) = &self.particles {
            check("particles.temp", p.temp, &limits::PARTICLE_TEMP)?;
            check("particles.ess_threshold", p.ess_threshold, &limits::ESS_THRESHOLD)?;
        }
        Ok(())
    }
}

/// A strategy per difficulty bin (and, for a fitted table, per budget).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "RawTable", into = "RawTable")]
pub struct PolicyTable {
    pub bins: Vec<PolicyEntry>,
    /// Version 2 only: the estimate, its bin edges and the budget axis.
    pub fitted: Option<Box<Fitted>>,
}

/// What a version-2 (fitted) table adds to the bins.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// Which estimate the edges are on.
    pub difficulty: DifficultyMethod,
    /// Four ascending edges of the estimate between bins 5|4|3|2|1.
    pub edges: Vec<f64>,
    /// The budgets entries are given for, ascending.
    pub budgets: Vec<u32>,
}

/// A table as written in TOML, either version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    /// Absent for version 1; 2 for a fitted table with edges and a budget axis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// Version 2: which estimate the edges are on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<DifficultyMethod>,
    /// Version 2: four ascending edges of the estimate between bins 5|4|3|2|1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edges: Option<Vec<f64>>,
    /// Version 2: the budgets entries are given for, ascending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budgets: Option<Vec<u32>>,
    pub bins: Vec<PolicyEntry>,
}

impl RawTable {
    fn check_v1(&self, origin: &str) -> Result<(), String> {
        if self.difficulty.is_some() || self.edges.is_some() || self.budgets.is_some() {
            return Err(format!("{origin}: difficulty, edges and budgets need version = 2"));
        }
        if let Some(e) = self.bins.iter().find(|e| e.budget.is_some()) {
            return Err(format!("{origin}: bin {}: a budget per entry needs version = 2", e.bin));
        }
        for b in 1..=5u8 {
            match self.bins.iter().filter(|e| e.bin == b).count() {
                1 => {}
                0 => return Err(format!("{origin}: no entry for bin {b} (each of bins 1-5 needs one)")),
                _ => return Err(format!("{origin}: bin {b} appears more than once")),
            }
        }
        Ok(())
    }

    fn check_v2(&self, origin: &str) -> Result<(), String> {
        let edges = self.edges.as_deref().ok_or(format!("{origin}: version 2 needs edges"))?;
        if edges.len() != 4 || edges.iter().any(|e| !e.is_finite()) || edges.windows(2).any(|w| w[0] > w[1]) {
            return Err(format!("{origin}: edges must be four ascending finite numbers"));
        }
        let budgets = self.budgets.as_deref().ok_or(format!("{origin}: version 2 needs budgets"))?;
        if budgets.is_empty() || budgets[0] == 0 || budgets.windows(2).any(|w| w[0] >= w[1]) {
            return Err(format!("{origin}: budgets must be positive and strictly ascending"));
        }
        if let Some(e) = self.bins.iter().find(|e| e.budget.is_none_or(|b| !budgets.contains(&b))) {
            return Err(format!("{origin}: bin {}: each entry needs a budget from budgets", e.bin));
        }
        for b in 1..=5u8 {
            for &n in budgets {
                match self.bins.iter().filter(|e| e.bin == b && e.budget == Some(n)).count() {
                    1 => {}
                    0 => return Err(format!("{origin}: no entry for bin {b} at budget {n}")),
                    _ => return Err(format!("{origin}: bin {b} at budget {n} appears more than once")),
                }
            }
        }
        Ok(())
    }
}

impl From<RawTable> for PolicyTable {
    fn from(r: RawTable) -> Self {
        let fitted = match (r.version, r.edges, r.budgets) {
            (Some(2), Some(edges), Some(budgets)) => {
                Some(Box::new(Fitted { difficulty: r.difficulty.unwrap_or_default(), edges, budgets }))
            }
            _ => None,
        };
        PolicyTable { bins: r.bins, fitted }
    }
}

impl From<PolicyTable> for RawTable {
    fn from(t: PolicyTable) -> Self {
        match t.fitted {
            Some(f) => RawTable {
                version: Some(2),
                difficulty: Some(f.difficulty),
                edges: Some(f.edges),
                budgets: Some(f.budgets),
                bins: t.bins,
            },
            None => RawTable { version: None, difficulty: None, edges: None, budgets: None, bins: t.bins },
        }
    }
}

impl PolicyTable {
    /// Parse and check a table: bins 1–5 each once, no nested adaptive, every knob within
    /// [`crate::spec::limits`]. Errors start with `origin` (and the line, when known).
    pub fn parse(text: &str, origin: &str) -> Result<Self, String> {
        let t: RawTable = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let place = line.map(|l| format!(":{l}")).unwrap_or_default();
            format!("{origin}{place}: {}", e.message().trim())
        })?;
        match t.version {
            None | Some(1) => t.check_v1(origin)?,
            Some(2) => t.check_v2(origin)?,
            Some(v) => return Err(format!("{origin}: policy version {v} is not known (1 or 2)")),
        }
        if let Some(e) = t.bins.iter().find(|e| !(1..=5).contains(&e.bin)) {
            return Err(format!("{origin}: bin {} is out of range (1-5)", e.bin));
        }
        if t.bins.iter().any(|e| e.strategy == StrategyKind::Adaptive) {
            return Err(format!("{origin}: a bin cannot choose the adaptive strategy itself"));
        }
        for e in &t.bins {
            e.check().map_err(|why| format!("{origin}: bin {}: {why}", e.bin))?;
        }
        Ok(t.into())
    }

    /// Version 2: the bin (1 easiest … 5 hardest) of an estimate by the stored edges;
    /// `None` for version 1, whose bins are the adaptive strategy's fixed thresholds.
    pub fn bin_by_edges(&self, estimate: f64) -> Option<u8> {
        let edges = &self.fitted.as_ref()?.edges;
        Some((5 - edges.iter().filter(|e| **e <= estimate).count().min(4)) as u8)
    }

    /// The entry for a bin at a run's budget: version 2 takes the largest stored budget at or
    /// below it (the smallest when the run's budget is below all); version 1 ignores the budget.
    pub fn choose(&self, bin: u8, budget: u32) -> &PolicyEntry {
        let bin = bin.clamp(1, 5);
        let mine = self.bins.iter().filter(|e| e.bin == bin && e.budget.is_some());
        let below = mine.clone().filter(|e| e.budget <= Some(budget)).max_by_key(|e| e.budget);
        match below.or_else(|| mine.min_by_key(|e| e.budget)) {
            Some(e) => e,
            None => self.lookup(bin),
        }
    }

    /// The table that ships with ttc.
    pub fn bundled() -> Self {
        match Self::parse(POLICY, "assets/policy.toml") {
            Ok(t) => t,
            Err(e) => unreachable!("the bundled policy is valid: {e}"),
        }
    }

    /// The entry for a bin (1–5); for version 2, its entry at the smallest budget.
    pub fn lookup(&self, bin: u8) -> &PolicyEntry {
        let bin = bin.clamp(1, 5);
        // parse() guarantees every bin exists; fall back to the first entry regardless.
        let mine = self.bins.iter().filter(|e| e.bin == bin);
        mine.min_by_key(|e| e.budget).unwrap_or(&self.bins[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bin_may_choose_adaptive_consistency_with_its_confidence() {
        let text = HEURISTIC_POLICY.replacen(
            "strategy = \"dvts\"",
            "strategy = \"consistency\"\nconfidence = 0.9",
            1,
        );
        let t = PolicyTable::parse(&text, "p.toml").unwrap();
        let e = t.bins.iter().find(|e| e.strategy == StrategyKind::Consistency).unwrap();
        assert_eq!(e.confidence, Some(0.9));
        let bad = text.replace("confidence = 0.9", "confidence = 1.5");
        let err = PolicyTable::parse(&bad, "p.toml").unwrap_err();
        assert!(err.contains("confidence = 1.5 is out of range (valid: 0.5..=0.9999)"), "{err}");
    }

    #[test]
    fn the_heuristic_policy_has_a_strategy_for_every_bin() {
        let t = PolicyTable::parse(HEURISTIC_POLICY, "assets/policy-heuristic.toml").unwrap();
        assert_eq!(t.lookup(1).strategy, StrategyKind::Revise);
        assert_eq!(t.lookup(2).strategy, StrategyKind::Revise);
        assert_eq!(t.lookup(3).strategy, StrategyKind::Beam);
        assert_eq!(t.lookup(4).strategy, StrategyKind::Beam);
        assert_eq!(t.lookup(5).strategy, StrategyKind::Dvts);
        for b in 1..=5 {
            assert!(!t.lookup(b).reason.is_empty());
        }
    }

    #[test]
    fn the_bundled_policy_is_fitted_with_an_entry_for_every_bin_and_budget() {
        let t = PolicyTable::bundled();
        let f = t.fitted.as_ref().expect("a fitted (version 2) table");
        assert!(POLICY.contains("docs/results/pocket"), "the header says what it was fitted on");
        assert_eq!(f.difficulty, DifficultyMethod::Model);
        for bin in 1..=5 {
            for &budget in &f.budgets {
                let e = t.choose(bin, budget);
                assert_eq!((e.bin, e.budget), (bin, Some(budget)));
                assert!(e.spec.is_some() && e.selection.is_some() && e.reason.contains("held-out"));
            }
        }
    }

    #[test]
    fn broken_policies_are_explained() {
        let e = PolicyTable::parse("[[bins]]\nbin = 1\nstrategy = \"beam\"\nreason = \"x\"\n", "p.toml")
            .unwrap_err();
        assert!(e.contains("p.toml") && e.contains("bin 2"), "{e}");
        let mut text = HEURISTIC_POLICY.replace("strategy = \"dvts\"", "strategy = \"adaptive\"");
        assert!(PolicyTable::parse(&text, "p.toml").unwrap_err().contains("adaptive"));
        text = HEURISTIC_POLICY.replace("strategy = \"dvts\"", "strategy = \"teleport\"");
        assert!(PolicyTable::parse(&text, "p.toml").unwrap_err().starts_with("p.toml"));
    }

    #[test]
    fn version_2_needs_edges_and_budgets_and_version_1_refuses_them() {
        let e = PolicyTable::parse(&format!("edges = [0.2, 0.4, 0.6, 0.8]\n{HEURISTIC_POLICY}"), "p")
            .unwrap_err();
        assert!(e.contains("version = 2"), "{e}");
        let e = PolicyTable::parse(&format!("version = 3\n{HEURISTIC_POLICY}"), "p").unwrap_err();
        assert!(e.contains("version 3"), "{e}");
        let v2 = format!("version = 2\nedges = [0.8, 0.4, 0.6, 0.9]\nbudgets = [4]\n{HEURISTIC_POLICY}");
        assert!(PolicyTable::parse(&v2, "p").unwrap_err().contains("ascending"));
        let v2 = v2.replace("0.8, 0.4", "0.2, 0.4").replace("bin = ", "budget = 4\nbin = ");
        let t = PolicyTable::parse(&v2, "p").unwrap();
        assert_eq!(t.bin_by_edges(0.5), Some(3));
        assert_eq!(t.choose(5, 1).strategy, StrategyKind::Dvts);
        assert_eq!(PolicyTable::parse(&toml::to_string(&t).unwrap(), "again").unwrap(), t);
        let v1 = PolicyTable::parse(HEURISTIC_POLICY, "v1").unwrap();
        assert_eq!(v1.choose(1, 64), v1.lookup(1), "a version 1 table has no budget axis");
    }
}

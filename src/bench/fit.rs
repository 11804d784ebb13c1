//! `ttc bench fit DIR --out policy.toml`: a version-2 policy table (see
//! [`crate::spec::PolicyTable`]) with the bench's quantile bin edges and a
//! budget axis, choosing per (bin, budget) the strategy with the best accuracy
//! on all the bin's problems; the reasons quote the 2-fold held-out accuracy.
//!
//! Bins are model-predicted (mean verifier score, what the adaptive strategy
//! can estimate without gold) when the results have scores, else oracle.

use std::path::Path;

use super::analysis::{accuracy, best, cross_validate, Cell, Choice};
use super::bins::{BinKind, Bins};
use super::records::{best_of_n_spec, Results};
use crate::spec::{DifficultyMethod, Fitted, PolicyEntry, PolicyTable, StrategyKind};

/// Fit a policy from `DIR/results.jsonl` and write it to `out`.
pub fn fit(dir: &Path, out: &Path) -> Result<(), String> {
    let results = Results::load(dir)?;
    let text = fit_text(&results, &dir.display().to_string())?;
    PolicyTable::parse(&text, &out.display().to_string())?;
    std::fs::write(out, &text).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("wrote {} (policy version 2, fitted on {})", out.display(), dir.display());
    Ok(())
}

/// The fitted policy as TOML text, with a header saying what it was fitted on.
pub fn fit_text(results: &Results, origin: &str) -> Result<String, String> {
    let (table, note) = fit_table(results)?;
    let body = toml::to_string(&table).map_err(|e| format!("cannot write the policy: {e}"))?;
    let meta = results.meta.clone().unwrap_or_default();
    let or = |s: Option<String>| s.unwrap_or_else(|| "unknown".into());
    let header = format!(
        "# Compute-optimal policy fitted by `ttc bench fit` on {origin}\n\
         # dataset {}, model {}, backend {}, verifier {}; {} problems, {} result lines.\n\
         # {note}\n\
         # Bin 1 is the easiest; an estimate equal to an edge goes to the easier bin.\n\
         # Each entry applies from its budget up to the next one in `budgets`.\n\n",
        or(meta.dataset),
        or(meta.model),
        or(meta.backend),
        or(meta.verifier),
        results.problems.len(),
        results.rows.len(),
    );
    Ok(header + &body)
}

/// The fitted table and a line on how its bins were made.
pub fn fit_table(results: &Results) -> Result<(PolicyTable, String), String> {
    if !results.rows.iter().any(|r| r.correct.is_some()) {
        return Err(
            "no graded results (no gold answers): a policy is fitted on accuracy, so it needs gold".into()
        );
    }
    let (bins, note) = match Bins::build(results, BinKind::Model) {
        Ok(b) => (b, "Bins: quantiles of the mean verifier score (difficulty = \"model\").".to_string()),
        Err(why) => (
            Bins::build(results, BinKind::Oracle)?,
            format!("Bins: quantiles of the pass rate against gold (difficulty = \"oracle\"); {why}."),
        ),
    };
    // Only strategies a policy entry can express compete.
    let mut usable = results.clone();
    usable.strategies.retain(|s| entry_for(s, 1).is_ok());
    if usable.strategies.is_empty() {
        return Err("no strategy in the results can go in a policy".into());
    }
    let choices = cross_validate(&usable, &bins);
    let overall = accuracy(&usable, |_| true);
    let bon = best_of_n_spec(&usable.strategies).map(str::to_string);
    let mut entries = Vec::new();
    for c in &choices {
        let (spec, why) = match (&c.fitted, best(&overall, &usable.strategies, c.budget)) {
            (Some(s), _) => (s.clone(), reason(c, s, &bins, &usable, bon.as_deref())),
            (None, Some(s)) => {
                (s, "no results in this bin at this budget: the best over all problems".into())
            }
            (None, None) => (
                bon.clone().unwrap_or_else(|| usable.strategies[0].clone()),
                "no results at this budget: the default".into(),
            ),
        };
        let mut e = entry_for(&spec, c.budget)?;
        e.bin = c.bin;
        e.budget = Some(c.budget);
        e.reason = why;
        entries.push(e);
    }
    let fitted = Fitted {
        difficulty: match bins.kind {
            BinKind::Model => DifficultyMethod::Model,
            BinKind::Oracle => DifficultyMethod::Oracle,
        },
        edges: bins.edges.to_vec(),
        budgets: usable.budgets.clone(),
    };
    let table = PolicyTable { bins: entries, fitted: Some(Box::new(fitted)) };
    Ok((table, note))
}

fn reason(c: &Choice, spec: &str, bins: &Bins, results: &Results, bon: Option<&str>) -> String {
    let acc = |cell: Cell| cell.accuracy().map(|a| format!("{a:.2}")).unwrap_or_else(|| "n/a".into());
    let mut s = format!(
        "{spec}: accuracy {} on {} problems of bin {}; 2-fold held-out {}",
        acc(c.fitted_cell),
        bins.count(c.bin),
        c.bin,
        acc(c.held_out)
    );
    if let Some(b) = bon.filter(|b| *b != spec) {
        let t = accuracy(results, |p| bins.bin.get(p) == Some(&c.bin));
        let cell = t.get(&(b.to_string(), c.budget)).copied().unwrap_or_default();
        s += &format!("; {b} {}", acc(cell));
    }
    s
}

/// A policy entry for a bench strategy spec at a budget: the same knobs the bench ran it
/// with ([`super::spec::StrategySpec::knobs`]: width M, lookahead k, revise's chains from its
/// sequential:parallel ratio) and its selection rule.
pub fn entry_for(spec: &str, budget: u32) -> Result<PolicyEntry, String> {
    let parsed = super::spec::StrategySpec::parse(spec)?;
    let k = parsed.knobs(budget.max(1) as usize);
    let search = matches!(parsed.kind, StrategyKind::Beam | StrategyKind::Lookahead | StrategyKind::Dvts);
    match parsed.kind {
        StrategyKind::Adaptive => Err(format!("{spec}: a policy cannot hold the adaptive strategy")),
        kind => Ok(PolicyEntry {
            bin: 1,
            budget: None,
            strategy: kind,
            width: search.then_some(k.width),
            depth: None,
            lookahead: (kind == StrategyKind::Lookahead).then_some(k.lookahead),
            chains: (kind == StrategyKind::Revise).then_some(k.chains),
            temperature: None,
            selection: Some(parsed.selection),
            spec: Some(parsed.text),
            reason: String::new(),
            confidence: (kind == StrategyKind::Consistency).then_some(parsed.confidence),
            particles: (kind == StrategyKind::Particles).then_some(parsed.particles),
        }),
    }
}

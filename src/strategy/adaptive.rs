//! Adaptive, compute-optimal allocation (Snell et al. 2024 §3): estimate the
//! problem's difficulty before spending the budget, map it to one of five
//! bins, and run the strategy a policy table gives for that bin.
//!
//! The estimate comes from a few probe samples: their mean verifier score
//! (model-predicted difficulty; no gold answer needed) or their pass rate
//! against the gold answer (oracle difficulty, when asked for and known).
//! The probes stay visible and count toward the budget: the chosen strategy gets N minus
//! the probes, and where it is best-of-N the probes are its first candidates (so the run is
//! exactly best-of-N with that seed). When the probes spend the whole budget, the answer is
//! chosen among them.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::best_of_n::{candidate_seed, group_samples, sample_guarded, Outcome, Sample};
use super::context::RunContext;
use super::engine::Shared;
use super::{best_of_n, consistency, revise, search};
use crate::event::Event;
use crate::spec::{Command, DifficultyMethod, NodeId, StrategyKind};
pub use crate::spec::{PolicyEntry, PolicyTable, HEURISTIC_POLICY, POLICY};

/// Probe samples used to estimate difficulty.
pub const PROBES: usize = 4;

/// Map an estimated success probability to a bin: 1 (easy, ≥ 0.8) … 5 (hard, < 0.2).
pub fn bin_of(estimate: f64) -> u8 {
    let e = estimate.clamp(0.0, 1.0);
    // The epsilon keeps bin edges (0.2, 0.4, …) in the easier bin despite rounding.
    (1 + ((1.0 - e) * 5.0 - 1e-9).floor() as i64).clamp(1, 5) as u8
}

/// Estimate success probability from the probes.
pub fn estimate(
    probes: &[(Option<String>, Option<f64>, Option<bool>)],
    method: DifficultyMethod,
    has_gold: bool,
) -> (f64, String, String) {
    let n = probes.len().max(1) as f64;
    if method == DifficultyMethod::Oracle && has_gold {
        let pass = probes.iter().filter(|p| p.2 == Some(true)).count() as f64 / n;
        return (
            pass,
            "oracle".into(),
            format!("{:.0}% of {} probes were correct", pass * 100.0, probes.len()),
        );
    }
    let note =
        if method == DifficultyMethod::Oracle { " (no gold answer, so the verifier decides)" } else { "" };
    let scores: Vec<f64> = probes.iter().filter_map(|p| p.1).collect();
    if !scores.is_empty() {
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        return (
            mean,
            "model".into(),
            format!("mean verifier score {mean:.2} over {} probes{note}", scores.len()),
        );
    }
    // No scores: agreement among the probes' answers stands in for confidence.
    let answers: Vec<&String> = probes.iter().filter_map(|p| p.0.as_ref()).collect();
    let top = answers
        .iter()
        .map(|a| answers.iter().filter(|b| crate::grade::answers_equal(a, b)).count())
        .max()
        .unwrap_or(0);
    let agree = top as f64 / n;
    (agree, "agreement".into(), format!("no verifier scores; {top} of {} probes agree{note}", probes.len()))
}

/// Probe, choose, and run the chosen strategy.
pub async fn run(ctx: RunContext, commands: mpsc::UnboundedReceiver<Command>) {
    let cfg = ctx.config.clone();
    let cancel = ctx.cancel.clone();
    let table = cfg.policy.clone().unwrap_or_else(PolicyTable::bundled);
    let (shared, _pause) = Shared::new(ctx);
    let probes = PROBES.min(cfg.n.max(1));
    let first = shared.ctx.first_node;
    let mut specs: Vec<Sample> = (0..probes)
        .map(|i| Sample {
            messages: shared.ctx.prompt.messages(&shared.ctx.problem),
            seed: candidate_seed(cfg.seed, first + i as NodeId),
            chain: None,
            revision: None,
            group: None,
        })
        .collect();
    // The probes are samples of one prompt drawn together.
    group_samples(&mut specs);
    let jobs = specs.into_iter().enumerate().map(|(i, spec)| {
        let node = first + i as NodeId;
        let shared: Arc<Shared> = shared.clone();
        let cancel = cancel.clone();
        async move { sample_guarded(shared, node, spec, cancel).await }
    });
    let mut seen = Vec::new();
    let mut probed = Vec::new();
    for o in futures::future::join_all(jobs).await {
        if let Outcome::Finished(c, _) = o {
            let correct = shared.grade(&c.answer);
            seen.push((c.answer.clone(), c.score, correct));
            probed.push(c);
        }
    }
    if cancel.is_cancelled() {
        shared.finish(super::select::select(&[], cfg.selection, cfg.aggregation, None), 0, &[]);
        return;
    }
    // A fitted table (`ttc bench fit`) says which estimate its edges are on, bins by its own
    // quantile edges and picks by the run's budget N; a hand-written one bins by fixed thresholds.
    let method_wanted = table.fitted.as_ref().map_or(cfg.difficulty, |f| f.difficulty);
    let (est, method, why) = estimate(&seen, method_wanted, shared.ctx.problem.gold.is_some());
    let bin = table.bin_by_edges(est).unwrap_or_else(|| bin_of(est));
    let mut entry = table.choose(bin, u32::try_from(cfg.n).unwrap_or(u32::MAX)).clone();
    // What the probes left of the budget.
    let left = cfg.n.saturating_sub(probes);
    if left == 0 {
        entry = PolicyEntry {
            strategy: StrategyKind::BestOfN,
            reason: format!(
                "the {probes} probes spent the whole budget of {}, so they are the candidates",
                cfg.n
            ),
            ..entry
        };
    }
    shared.ctx.sink.emit(Event::Difficulty {
        estimate: est,
        bin,
        method,
        strategy: entry.strategy,
        reason: format!("{why}; bin {bin}: {}", entry.reason),
    });
    let mut inner_cfg = cfg.clone();
    inner_cfg.n = left;
    inner_cfg.strategy = entry.strategy;
    inner_cfg.width = entry.width.unwrap_or(cfg.width);
    inner_cfg.max_depth = entry.depth.unwrap_or(cfg.max_depth);
    inner_cfg.lookahead = entry.lookahead.unwrap_or(cfg.lookahead);
    inner_cfg.temperature = entry.temperature.unwrap_or(cfg.temperature);
    inner_cfg.selection = entry.selection.unwrap_or(cfg.selection);
    inner_cfg.confidence = entry.confidence.unwrap_or(cfg.confidence);
    if let Some(p) = entry.particles {
        inner_cfg.particles = p;
    }
    if let Some(c) = entry.chains {
        inner_cfg.chains = c.max(1);
        // What the probes left of the budget is split over the chains.
        inner_cfg.revisions = (left / inner_cfg.chains).max(1);
    }
    let c = &shared.ctx;
    let inner = RunContext {
        problem: c.problem.clone(),
        config: inner_cfg,
        generator: c.generator.clone(),
        verifier: c.verifier.clone(),
        prompt: c.prompt.clone(),
        sink: c.sink.clone(),
        cancel: c.cancel.clone(),
        first_node: first + probes as NodeId,
        initial_budget: shared.budget.lock().unwrap_or_else(|p| p.into_inner()).clone(),
    };
    match entry.strategy {
        StrategyKind::BestOfN => best_of_n::run_with(inner, commands, probed).await,
        StrategyKind::Beam | StrategyKind::Lookahead | StrategyKind::Dvts => {
            search::run(inner, commands).await
        }
        StrategyKind::Revise => revise::run(inner, commands).await,
        // The probes are its first samples and vote from its first check.
        StrategyKind::Consistency => consistency::run_with(inner, commands, probed).await,
        StrategyKind::Particles => super::particles::run(inner, commands).await,
        // parse() rejects this; run best-of-N rather than recurse.
        StrategyKind::Adaptive => best_of_n::run(inner, commands).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_cover_the_unit_interval() {
        assert_eq!(bin_of(1.0), 1);
        assert_eq!(bin_of(0.8), 1);
        assert_eq!(bin_of(0.79), 2);
        assert_eq!(bin_of(0.5), 3);
        assert_eq!(bin_of(0.2), 4);
        assert_eq!(bin_of(0.19), 5);
        assert_eq!(bin_of(0.0), 5);
        assert_eq!(bin_of(-3.0), 5);
    }

    #[test]
    fn estimates_by_method() {
        let probes = vec![
            (Some("4".to_string()), Some(0.9), Some(true)),
            (Some("4".to_string()), Some(0.7), Some(true)),
            (Some("5".to_string()), Some(0.2), Some(false)),
            (Some("4".to_string()), Some(0.6), Some(true)),
        ];
        let (e, m, _) = estimate(&probes, DifficultyMethod::Model, true);
        assert!((e - 0.6).abs() < 1e-12 && m == "model");
        let (e, m, _) = estimate(&probes, DifficultyMethod::Oracle, true);
        assert!((e - 0.75).abs() < 1e-12 && m == "oracle");
        let (e, m, why) = estimate(&probes, DifficultyMethod::Oracle, false);
        assert!((e - 0.6).abs() < 1e-12 && m == "model" && why.contains("no gold"));
        let unscored: Vec<_> = probes.iter().map(|p| (p.0.clone(), None, None)).collect();
        let (e, m, _) = estimate(&unscored, DifficultyMethod::Model, false);
        assert!((e - 0.75).abs() < 1e-12 && m == "agreement");
    }
}

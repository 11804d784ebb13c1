//! Sequential against parallel compute (Snell et al. 2024, Figs. 7–8): at each budget, the
//! accuracy of every `revise:ratio=R` spec at the chains × revisions it actually ran
//! ([`super::spec::StrategySpec::knobs`]), with best-of-N as the fully parallel end.

use super::compare::mean_curve;
use super::records::Results;
use super::spec::StrategySpec;
use crate::spec::StrategyKind;

/// One point of a sequential:parallel curve.
#[derive(Debug, Clone, PartialEq)]
pub struct RatioPoint {
    /// The specs that ran this configuration (several `revise` ratios can map to one split).
    pub strategies: Vec<String>,
    /// Parallel chains C (the budget for best-of-N).
    pub chains: usize,
    /// Revisions per chain D (0 for best-of-N: nothing sequential).
    pub revisions: usize,
    pub accuracy: f64,
    /// Graded lines.
    pub n: usize,
}

impl RatioPoint {
    /// Sequential:parallel ratio D / C; 0 for best-of-N.
    pub fn ratio(&self) -> f64 {
        self.revisions as f64 / self.chains.max(1) as f64
    }

    pub fn is_best_of_n(&self) -> bool {
        self.revisions == 0
    }

    /// "D×C" (revisions × chains), or "best-of-N" for the parallel end.
    pub fn split(&self) -> String {
        if self.is_best_of_n() {
            "best-of-N".into()
        } else {
            format!("{}×{}", self.revisions, self.chains)
        }
    }

    /// The ratio as a fraction or a whole number: 0, 1/4, 1, 4, 2.5.
    pub fn ratio_label(&self) -> String {
        ratio_label(self.ratio())
    }
}

/// A ratio in words: whole numbers as is, ratios below 1 as 1/k when k is whole.
pub fn ratio_label(r: f64) -> String {
    let whole = |x: f64| (x - x.round()).abs() < 1e-9;
    if r == 0.0 {
        "0".into()
    } else if r >= 1.0 && whole(r) {
        format!("{}", r.round() as i64)
    } else if r < 1.0 && whole(1.0 / r) {
        format!("1/{}", (1.0 / r).round() as i64)
    } else {
        format!("{r:.2}")
    }
}

/// The chains and revisions a spec runs at a budget, when it is a `revise` spec.
pub fn revise_split(spec: &str, budget: u32) -> Option<(usize, usize)> {
    let s = StrategySpec::parse(spec).ok().filter(|s| s.kind == StrategyKind::Revise)?;
    let k = s.knobs(budget as usize);
    Some((k.chains, k.revisions))
}

/// The points at one budget over the problems `keep` accepts, from most parallel to most
/// sequential: best-of-N `bon` first (when given and present), then each distinct revise
/// split, pooling the specs that ran the same split.
pub fn points(
    results: &Results,
    keep: impl Fn(&str) -> bool,
    bon: Option<&str>,
    budget: u32,
) -> Vec<RatioPoint> {
    let mut out: Vec<RatioPoint> = Vec::new();
    if let Some(b) = bon {
        if let Some(m) = mean_curve(results, &keep, b, &[budget]).first() {
            out.push(RatioPoint {
                strategies: vec![b.to_string()],
                chains: budget as usize,
                revisions: 0,
                accuracy: m.mean,
                n: m.n,
            });
        }
    }
    let mut revise: Vec<RatioPoint> = Vec::new();
    for s in &results.strategies {
        let Some((chains, revisions)) = revise_split(s, budget) else { continue };
        let Some(m) = mean_curve(results, &keep, s, &[budget]).first().copied() else { continue };
        match revise.iter_mut().find(|p| p.chains == chains && p.revisions == revisions) {
            Some(p) => {
                let n = p.n + m.n;
                p.accuracy = (p.accuracy * p.n as f64 + m.mean * m.n as f64) / n as f64;
                p.n = n;
                p.strategies.push(s.clone());
            }
            None => revise.push(RatioPoint {
                strategies: vec![s.clone()],
                chains,
                revisions,
                accuracy: m.mean,
                n: m.n,
            }),
        }
    }
    revise.sort_by(|a, b| a.ratio().total_cmp(&b.ratio()));
    out.extend(revise);
    out
}

/// The most accurate point; a tie goes to the more parallel one (the earlier in `points`).
pub fn best(points: &[RatioPoint]) -> Option<&RatioPoint> {
    let mut top: Option<&RatioPoint> = None;
    for p in points {
        if top.is_none_or(|t| p.accuracy > t.accuracy + 1e-12) {
            top = Some(p);
        }
    }
    top
}

/// Whether the results hold any `revise` spec.
pub fn has_revise(results: &Results) -> bool {
    results.strategies.iter().any(|s| revise_split(s, 1).is_some())
}

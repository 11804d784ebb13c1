//! Strategy specs (`beam:m=4`, `best-of-n:majority`, `revise:ratio=4`) and the mapping
//! from a budget in generation-equivalents to each strategy's knobs.
//!
//! A spec is `NAME[:KNOB[:KNOB…]]`, a knob `key=value` (or, for best-of-N, a bare
//! selection rule). Every strategy takes `sel=majority|best|weighted` (default weighted).
//!
//! | spec | knobs | budget B maps to |
//! |---|---|---|
//! | `best-of-n[:RULE]` | selection rule | N = B samples |
//! | `beam[:m=M]` | beam width M (default 4) | N = B: at most B solutions, N/M beams kept a round |
//! | `dvts[:m=M]` | subtree width M (default 4) | N = B: ⌈B/M⌉ subtrees |
//! | `lookahead[:k=K][:m=M]` | rollout K (default 1), width M (4) | N = max(1, ⌊B/(K+1)⌋): each kept step costs K+1 steps, so N·(K+1) ≤ B (equal when K+1 divides B; N = 1 when B < K+1) |
//! | `consistency[:conf=C][:batch=K]` | confidence C (default 0.95, 0.5–0.9999), batch K (1) | N = B is the most samples; the run stops earlier once the majority is settled, so its record's `samples` (and `gen_equivalents`) is what it drew. Its selection defaults to `majority` |
//! | `revise[:ratio=R]` | sequential:parallel ratio R (default 1; `4`, `4:1` or `1:4`) | chains C × revisions D = B exactly, D a divisor of B with D/C nearest R on a log scale |
//! | `particles[:temp=T][:ess=X][:resample=systematic\|multinomial]` | weight temperature T (default 1), ESS threshold X (default 1 = every step), resampling scheme | N = B particles: each writes one solution step by step, so N particles ≈ N generation-equivalents (like beam search with N beams) |
//!
//! Budgets are nominal: the record's `gen_equivalents` is what the run measured.

use crate::spec::{limits, ParticleSettings, ResampleKind, RunConfig, SelectionRule, StrategyKind};

/// The strategies a spec may name, for messages.
pub const VALID_FORM: &str = "best-of-n[:weighted|majority|best], beam[:m=M], dvts[:m=M], lookahead[:k=K][:m=M], revise[:ratio=R] (R = sequential:parallel, e.g. 4 or 1:4), consistency[:conf=C][:batch=K], particles[:temp=T][:ess=X][:resample=systematic|multinomial]; every spec also takes :sel=RULE";

/// Most budget a run may be given: the most candidates a run takes.
pub const BUDGET_MAX: usize = crate::launch::args::N_MAX;

/// One strategy configuration of a bench, as given on the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategySpec {
    /// The spec as given (trimmed): the `strategy` of every record.
    pub text: String,
    pub kind: StrategyKind,
    pub selection: SelectionRule,
    /// Beam width M (tree search).
    pub width: usize,
    /// Rollout steps k (lookahead).
    pub lookahead: u32,
    /// Sequential:parallel ratio (revisions / chains) for revise.
    pub ratio: f64,
    /// Adaptive-consistency's confidence.
    pub confidence: f64,
    /// Adaptive-consistency's batch.
    pub batch: usize,
    /// Particle filtering's knobs.
    pub particles: ParticleSettings,
}

/// The knobs one budget gives one strategy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Knobs {
    pub n: usize,
    pub width: usize,
    pub lookahead: u32,
    pub chains: usize,
    pub revisions: usize,
}

fn bad(spec: &str, why: impl std::fmt::Display) -> String {
    format!("bad strategy spec {spec:?}: {why}; valid: {VALID_FORM}")
}

fn parse_selection(spec: &str, v: &str) -> Result<SelectionRule, String> {
    SelectionRule::ALL
        .into_iter()
        .find(|r| r.name() == v)
        .ok_or_else(|| bad(spec, format!("unknown selection rule {v:?} (weighted, majority or best)")))
}

fn parse_ratio(spec: &str, v: &str) -> Result<f64, String> {
    let num = |s: &str| s.trim().parse::<f64>().ok().filter(|x| x.is_finite() && *x > 0.0);
    let r = match v.split_once(':') {
        Some((a, b)) => num(a).zip(num(b)).map(|(a, b)| a / b),
        None => num(v),
    };
    r.ok_or_else(|| bad(spec, format!("ratio {v:?} is not a positive number or A:B")))
}

impl StrategySpec {
    /// Parse one spec; the error names the spec and the valid forms.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let mut parts = text.split(':');
        let name = parts.next().unwrap_or("").trim();
        let kind = match name {
            "best-of-n" | "bon" => StrategyKind::BestOfN,
            "beam" => StrategyKind::Beam,
            "dvts" => StrategyKind::Dvts,
            "lookahead" => StrategyKind::Lookahead,
            "revise" => StrategyKind::Revise,
            "consistency" => StrategyKind::Consistency,
            "particles" => StrategyKind::Particles,
            "" => return Err(bad(text, "the strategy name is missing")),
            other => return Err(bad(text, format!("unknown strategy {other:?}"))),
        };
        let mut spec = StrategySpec {
            text: text.to_string(),
            kind,
            selection: SelectionRule::Weighted,
            width: 4,
            lookahead: 1,
            ratio: 1.0,
            confidence: 0.95,
            batch: 1,
            particles: ParticleSettings::default(),
        };
        if kind == StrategyKind::Consistency {
            // Self-consistency is a majority vote.
            spec.selection = SelectionRule::Majority;
        }
        // A ratio `A:B` was split at its colon: join a bare number back onto `ratio=A`.
        let knobs: Vec<&str> = parts.collect();
        let mut i = 0;
        while i < knobs.len() {
            let knob = knobs[i].trim();
            i += 1;
            let Some((key, value)) = knob.split_once('=') else {
                if kind == StrategyKind::BestOfN {
                    spec.selection = parse_selection(text, knob)?;
                    continue;
                }
                return Err(bad(text, format!("knob {knob:?} is not key=value")));
            };
            let (key, value) = (key.trim(), value.trim());
            let int = |max: u64| -> Result<u64, String> {
                value
                    .parse::<u64>()
                    .ok()
                    .filter(|v| *v <= max)
                    .ok_or_else(|| bad(text, format!("{key}={value} is not a whole number in 0..={max}")))
            };
            match (kind, key) {
                (_, "sel") => spec.selection = parse_selection(text, value)?,
                (StrategyKind::Beam | StrategyKind::Dvts | StrategyKind::Lookahead, "m") => {
                    let m = int(crate::launch::args::WIDTH_MAX as u64)?;
                    if m == 0 {
                        return Err(bad(text, "m must be at least 1"));
                    }
                    spec.width = m as usize;
                }
                (StrategyKind::Lookahead, "k") => {
                    spec.lookahead = int(crate::launch::args::LOOKAHEAD_MAX as u64)? as u32
                }
                (StrategyKind::Revise, "ratio") => {
                    let mut v = value.to_string();
                    if !v.contains(':') && i < knobs.len() && knobs[i].trim().parse::<f64>().is_ok() {
                        v = format!("{v}:{}", knobs[i].trim());
                        i += 1;
                    }
                    spec.ratio = parse_ratio(text, &v)?;
                }
                (StrategyKind::Consistency, "conf") => {
                    let r = crate::spec::limits::CONFIDENCE;
                    spec.confidence =
                        value.parse::<f64>().ok().filter(|c| r.contains(c)).ok_or_else(|| {
                            bad(text, format!("conf={value} is not a number in {}..={}", r.start(), r.end()))
                        })?;
                }
                (StrategyKind::Consistency, "batch") => {
                    let b = int(*crate::spec::limits::BATCH.end() as u64)?;
                    if b == 0 {
                        return Err(bad(text, "batch must be at least 1"));
                    }
                    spec.batch = b as usize;
                }
                (StrategyKind::Particles, "temp" | "ess") => {
                    let range = if key == "temp" { limits::PARTICLE_TEMP } else { limits::ESS_THRESHOLD };
                    let v = value.parse::<f64>().ok().filter(|v| range.contains(v)).ok_or_else(|| {
                        bad(
                            text,
                            format!("{key}={value} is not a number in {}..={}", range.start(), range.end()),
                        )
                    })?;
                    if key == "temp" {
                        spec.particles.temp = v;
                    } else {
                        spec.particles.ess_threshold = v;
                    }
                }
                (StrategyKind::Particles, "resample") => {
                    spec.particles.resample = match value {
                        "systematic" => ResampleKind::Systematic,
                        "multinomial" => ResampleKind::Multinomial,
                        _ => {
                            return Err(bad(
                                text,
                                format!("resample={value} is not systematic or multinomial"),
                            ))
                        }
                    }
                }
                _ => return Err(bad(text, format!("{name} has no knob {key:?}"))),
            }
        }
        Ok(spec)
    }

    /// The knobs budget `budget` (generation-equivalents, ≥ 1) gives this strategy.
    pub fn knobs(&self, budget: usize) -> Knobs {
        let b = budget.max(1);
        let mut k = Knobs { n: b, width: self.width, lookahead: self.lookahead, chains: 1, revisions: 1 };
        match self.kind {
            StrategyKind::Lookahead => k.n = (b / (self.lookahead as usize + 1)).max(1),
            StrategyKind::Revise => {
                let (chains, revisions) = split_ratio(b, self.ratio);
                k.n = b;
                k.chains = chains;
                k.revisions = revisions;
            }
            _ => {}
        }
        k
    }

    /// Set this strategy at `budget` on `config`.
    pub fn apply(&self, budget: usize, config: &mut RunConfig) {
        let k = self.knobs(budget);
        config.strategy = self.kind;
        config.selection = self.selection;
        config.n = k.n;
        config.width = k.width;
        config.lookahead = k.lookahead;
        config.chains = k.chains;
        config.revisions = k.revisions;
        config.confidence = self.confidence;
        config.batch = self.batch;
        config.particles = self.particles;
    }
}

/// Chains C and revisions D with C × D = `budget` and D/C nearest `ratio` on a log scale
/// (D runs over the divisors of the budget; a tie goes to more revisions).
pub fn split_ratio(budget: usize, ratio: f64) -> (usize, usize) {
    let b = budget.max(1);
    let target = ratio.ln();
    let mut best = (b, 1usize);
    let mut best_dist = f64::INFINITY;
    for d in 1..=b {
        if b % d != 0 {
            continue;
        }
        let c = b / d;
        let dist = ((d as f64 / c as f64).ln() - target).abs();
        if dist <= best_dist + 1e-12 {
            best = (c, d);
            best_dist = dist;
        }
    }
    best
}

/// Parse a comma-separated list of specs; duplicates are refused.
pub fn parse_strategies(list: &str) -> Result<Vec<StrategySpec>, String> {
    let mut out: Vec<StrategySpec> = Vec::new();
    for s in list.split(',').filter(|s| !s.trim().is_empty()) {
        let spec = StrategySpec::parse(s)?;
        if out.iter().any(|o| o.text == spec.text) {
            return Err(format!("strategy spec {:?} is given twice", spec.text));
        }
        out.push(spec);
    }
    if out.is_empty() {
        return Err(format!("--strategies is empty; valid: {VALID_FORM}"));
    }
    Ok(out)
}

/// Parse a comma-separated list of budgets: whole numbers in 1..=1024, no repeats.
pub fn parse_budgets(list: &str) -> Result<Vec<usize>, String> {
    let form = format!("budgets are whole numbers in 1..={BUDGET_MAX}, comma-separated, e.g. 1,2,4,8");
    let mut out: Vec<usize> = Vec::new();
    for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let b = s
            .parse::<usize>()
            .ok()
            .filter(|b| (1..=BUDGET_MAX).contains(b))
            .ok_or_else(|| format!("bad budget {s:?}: {form}"))?;
        if out.contains(&b) {
            return Err(format!("budget {b} is given twice: {form}"));
        }
        out.push(b);
    }
    if out.is_empty() {
        return Err(format!("--budgets is empty: {form}"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_with_their_knobs() {
        let s = StrategySpec::parse("best-of-n:majority").unwrap();
        assert_eq!((s.kind, s.selection), (StrategyKind::BestOfN, SelectionRule::Majority));
        assert_eq!(StrategySpec::parse("bon").unwrap().selection, SelectionRule::Weighted);
        let s = StrategySpec::parse(" beam:m=8 ").unwrap();
        assert_eq!((s.kind, s.width, s.text.as_str()), (StrategyKind::Beam, 8, "beam:m=8"));
        let s = StrategySpec::parse("lookahead:k=3:m=2:sel=best").unwrap();
        assert_eq!((s.lookahead, s.width, s.selection), (3, 2, SelectionRule::Best));
        assert_eq!(StrategySpec::parse("revise:ratio=4").unwrap().ratio, 4.0);
        assert_eq!(StrategySpec::parse("revise:ratio=1:4").unwrap().ratio, 0.25);
        assert_eq!(StrategySpec::parse("dvts").unwrap().width, 4);
    }

    #[test]
    fn consistency_specs_take_a_confidence_and_a_batch() {
        let s = StrategySpec::parse("consistency:conf=0.9").unwrap();
        assert_eq!((s.kind, s.confidence, s.batch), (StrategyKind::Consistency, 0.9, 1));
        assert_eq!(s.selection, SelectionRule::Majority, "majority unless named");
        let s = StrategySpec::parse("consistency:batch=4:sel=weighted").unwrap();
        assert_eq!((s.confidence, s.batch, s.selection), (0.95, 4, SelectionRule::Weighted));
        assert_eq!(s.knobs(16).n, 16, "the budget is the most samples");
        let mut config = RunConfig::default();
        StrategySpec::parse("consistency:conf=0.99:batch=2").unwrap().apply(32, &mut config);
        assert_eq!(
            (config.strategy, config.n, config.confidence, config.batch),
            (StrategyKind::Consistency, 32, 0.99, 2)
        );
        for bad in [
            "consistency:conf=0.3",
            "consistency:conf=1",
            "consistency:conf=x",
            "consistency:batch=0",
            "consistency:batch=65",
            "consistency:m=2",
        ] {
            let e = StrategySpec::parse(bad).unwrap_err();
            assert!(e.contains("valid:") && e.contains("consistency[:conf=C]"), "{bad}: {e}");
        }
    }

    #[test]
    fn bad_specs_name_the_spec_and_the_valid_form() {
        for bad in [
            "greedy",
            "",
            "beam:k=2",
            "beam:m=0",
            "beam:m=x",
            "beam:4",
            "best-of-n:fancy",
            "revise:ratio=0",
            "revise:ratio=-1",
            "dvts:m=65",
            "best-of-n:sel=x",
        ] {
            let e = StrategySpec::parse(bad).unwrap_err();
            assert!(e.contains("valid:") && e.contains("beam[:m=M]"), "{bad}: {e}");
        }
        assert!(parse_strategies("beam,beam").unwrap_err().contains("twice"));
        assert!(parse_strategies(" , ").is_err());
    }

    #[test]
    fn budgets_are_positive_and_bounded() {
        assert_eq!(parse_budgets("1,2, 4,256").unwrap(), vec![1, 2, 4, 256]);
        for bad in ["0", "-1", "x", "2,2", "", "1025", "1.5"] {
            let e = parse_budgets(bad).unwrap_err();
            assert!(e.contains("1..=1024") || e.contains("twice") || e.contains("empty"), "{bad}: {e}");
        }
    }

    #[test]
    fn budgets_map_to_knobs() {
        let bon = StrategySpec::parse("best-of-n").unwrap();
        assert_eq!(bon.knobs(16).n, 16);
        let beam = StrategySpec::parse("beam:m=4").unwrap();
        assert_eq!((beam.knobs(16).n, beam.knobs(16).width), (16, 4));
        let la = StrategySpec::parse("lookahead:k=1").unwrap();
        assert_eq!([1, 2, 4, 5, 16].map(|b| la.knobs(b).n), [1, 1, 2, 2, 8]);
        let la3 = StrategySpec::parse("lookahead:k=3").unwrap();
        assert_eq!([2, 4, 16].map(|b| la3.knobs(b).n), [1, 1, 4]);
        let rev = StrategySpec::parse("revise:ratio=1").unwrap();
        assert_eq!(
            [1, 4, 16].map(|b| (rev.knobs(b).chains, rev.knobs(b).revisions)),
            [(1, 1), (2, 2), (4, 4)]
        );
        let seq = StrategySpec::parse("revise:ratio=4").unwrap();
        assert_eq!((seq.knobs(16).chains, seq.knobs(16).revisions), (2, 8));
        assert_eq!((seq.knobs(64).chains, seq.knobs(64).revisions), (4, 16));
        let par = StrategySpec::parse("revise:ratio=1:4").unwrap();
        assert_eq!((par.knobs(16).chains, par.knobs(16).revisions), (8, 2));
        // Every split is exact.
        for b in 1..=64 {
            for r in [0.1, 1.0, 3.0, 100.0] {
                let (c, d) = split_ratio(b, r);
                assert_eq!(c * d, b, "{b} {r}");
            }
        }
        let mut config = RunConfig::default();
        seq.apply(16, &mut config);
        assert_eq!((config.strategy, config.chains, config.revisions), (StrategyKind::Revise, 2, 8));
    }

    #[test]
    fn particles_specs_parse_with_their_knobs() {
        let s = StrategySpec::parse("particles").unwrap();
        assert_eq!((s.kind, s.particles), (StrategyKind::Particles, ParticleSettings::default()));
        let s = StrategySpec::parse("particles:temp=0.5:ess=0.25:resample=multinomial:sel=best").unwrap();
        assert_eq!((s.particles.temp, s.particles.ess_threshold), (0.5, 0.25));
        assert_eq!((s.particles.resample, s.selection), (ResampleKind::Multinomial, SelectionRule::Best));
        // N particles cost about N generation-equivalents.
        assert_eq!(s.knobs(16).n, 16);
        let mut c = RunConfig::default();
        s.apply(16, &mut c);
        assert_eq!((c.strategy, c.n, c.particles), (StrategyKind::Particles, 16, s.particles));
        for bad in [
            "particles:temp=0",
            "particles:temp=21",
            "particles:ess=1.5",
            "particles:resample=x",
            "particles:m=4",
        ] {
            let e = StrategySpec::parse(bad).unwrap_err();
            assert!(e.contains("valid:") && e.contains("particles[:temp=T]"), "{bad}: {e}");
        }
    }
}

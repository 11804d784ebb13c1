//! The report's section on samples actually drawn: adaptive-consistency stops before its
//! budget once the majority is settled, so its cost is the mean of the samples it drew,
//! beside its accuracy (the point of the method: the same accuracy for fewer samples).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::md;
use crate::bench::records::Results;

/// Per (strategy, budget): lines, correct of graded, graded, sum of samples drawn.
type Tally = BTreeMap<(String, u32), (usize, usize, usize, u64)>;

/// `## Samples drawn` with a row per strategy × budget whose lines record `samples`;
/// nothing when no line does.
pub(super) fn samples_md(m: &mut String, r: &Results) {
    let mut t = Tally::new();
    for row in &r.rows {
        let Some(s) = row.samples else { continue };
        let e = t.entry((row.strategy.clone(), row.budget)).or_default();
        e.0 += 1;
        if let Some(ok) = row.correct {
            e.2 += 1;
            e.1 += usize::from(ok);
        }
        e.3 += u64::from(s);
    }
    if t.is_empty() {
        return;
    }
    m.push_str(
        "\n## Samples drawn (adaptive-consistency)\n\nThe budget is the most samples a run may draw; \
         it stops earlier once the majority answer is settled at its confidence.\n\n\
         | strategy | budget | accuracy | mean samples | of budget |\n|---|---:|---:|---:|---:|\n",
    );
    for ((strategy, budget), (lines, correct, graded, sum)) in &t {
        let mean = *sum as f64 / *lines as f64;
        let acc = if *graded > 0 {
            format!("{:.3} ({graded})", *correct as f64 / *graded as f64)
        } else {
            "—".to_string()
        };
        let share = 100.0 * mean / f64::from((*budget).max(1));
        let _ = writeln!(m, "| {} | {budget} | {acc} | {mean:.2} | {share:.0}% |", md(strategy));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_samples_per_strategy_and_budget() {
        let line = |p: &str, s: &str, samples: Option<u32>, ok: bool| {
            let mut v = serde_json::json!({
                "problem": p, "strategy": s, "budget": 16, "seed": 0, "correct": ok,
                "tokens": 1, "gen_equivalents": 1.0, "wall_ms": 1,
            });
            if let Some(n) = samples {
                v["samples"] = n.into();
            }
            v.to_string()
        };
        let text = [
            line("a", "consistency", Some(4), true),
            line("b", "consistency", Some(16), false),
            line("a", "best-of-n:majority", None, true),
        ]
        .join("\n");
        let r = Results::parse(&text, "results.jsonl").unwrap();
        let mut m = String::new();
        samples_md(&mut m, &r);
        assert!(m.contains("| consistency | 16 | 0.500 (2) | 10.00 | 62% |"), "{m}");
        assert!(!m.contains("best-of-n"), "{m}");
        let none = Results::parse(&line("a", "beam", None, true), "results.jsonl").unwrap();
        let mut m = String::new();
        samples_md(&mut m, &none);
        assert!(m.is_empty());
    }
}

//! The report's "Findings": short sentences computed from the numbers of the three
//! comparisons (search vs best-of-N by bin, compute-optimal efficiency, sequential vs
//! parallel), phrased neutrally. Strategy names arrive already formatted by the caller.

use super::analysis::Needed;
use super::compare::{Diff, Efficiency};
use super::seqpar::RatioPoint;

/// A set of budgets in words, against all the budgets run: "every budget", "≤ 4", "≥ 16",
/// "2–8", or a list.
pub fn budget_set(sel: &[u32], all: &[u32]) -> String {
    let idx: Vec<usize> = sel.iter().filter_map(|b| all.iter().position(|a| a == b)).collect();
    let contiguous = !idx.is_empty() && idx.windows(2).all(|w| w[1] == w[0] + 1);
    match (idx.first(), idx.last()) {
        (Some(_), Some(_)) if idx.len() == all.len() => "every budget".into(),
        (Some(0), Some(&l)) if contiguous && idx.len() > 1 => format!("budgets ≤ {}", all[l]),
        (Some(&f), Some(&l)) if contiguous && l + 1 == all.len() && idx.len() > 1 => {
            format!("budgets ≥ {}", all[f])
        }
        (Some(&f), Some(&l)) if contiguous && idx.len() > 2 => format!("budgets {}–{}", all[f], all[l]),
        (Some(_), Some(_)) => {
            let list: Vec<String> = sel.iter().map(|b| b.to_string()).collect();
            format!("budget{} {}", if sel.len() > 1 { "s" } else { "" }, list.join(", "))
        }
        _ => "no budget".into(),
    }
}

fn points(x: f64) -> String {
    format!("{:.1}", 100.0 * x)
}

/// Where a search strategy is ahead of best-of-N on the hard bins (3–5) and behind on the
/// easy ones (1–2), by budget, with the mean margin in accuracy points; and the largest gap.
/// `name` formats a strategy for the text.
pub fn search_findings(
    kind: &str,
    bon: &str,
    diffs: &[Diff],
    budgets: &[u32],
    name: &dyn Fn(&str) -> String,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut strategies: Vec<&str> = Vec::new();
    for d in diffs {
        if !strategies.contains(&d.strategy.as_str()) {
            strategies.push(&d.strategy);
        }
    }
    // Mean difference over the bins of a group at a budget.
    let mean = |s: &str, bins: &[u8], budget: u32| -> Option<f64> {
        let v: Vec<f64> = diffs
            .iter()
            .filter(|d| d.strategy == s && d.budget == budget && bins.contains(&d.bin))
            .filter_map(Diff::diff)
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    for s in strategies {
        let side = |bins: &[u8], ahead: bool| -> (Vec<u32>, f64) {
            let hits: Vec<(u32, f64)> = budgets
                .iter()
                .filter_map(|b| mean(s, bins, *b).map(|m| (*b, m)))
                .filter(|(_, m)| if ahead { *m > 1e-9 } else { *m < -1e-9 })
                .collect();
            let avg =
                if hits.is_empty() { 0.0 } else { hits.iter().map(|h| h.1).sum::<f64>() / hits.len() as f64 };
            (hits.into_iter().map(|h| h.0).collect(), avg)
        };
        let (hard, hard_by) = side(&[3, 4, 5], true);
        let (easy, easy_by) = side(&[1, 2], false);
        let mut text = if hard.is_empty() {
            format!("On {kind} bins 3–5, {} is not ahead of {} at any budget", name(s), name(bon))
        } else {
            format!(
                "On {kind} bins 3–5, {} is ahead of {} at {} by {} points on average",
                name(s),
                name(bon),
                budget_set(&hard, budgets),
                points(hard_by)
            )
        };
        if easy.is_empty() {
            text += &format!("; on bins 1–2 {} is not ahead of it at any budget", name(bon));
        } else {
            text += &format!(
                "; on bins 1–2 {} is ahead at {} by {} points on average",
                name(bon),
                budget_set(&easy, budgets),
                points(-easy_by)
            );
        }
        let extreme = |pick_max: bool| {
            diffs
                .iter()
                .filter(|d| d.strategy == s && d.bin > 0)
                .filter_map(|d| d.diff().map(|v| (d, v)))
                .reduce(|a, b| if (pick_max && b.1 > a.1) || (!pick_max && b.1 < a.1) { b } else { a })
        };
        let mut gaps = Vec::new();
        if let Some((d, v)) = extreme(true).filter(|(_, v)| *v > 1e-9) {
            gaps.push(format!("{:+.1} points (bin {}, budget {})", 100.0 * v, d.bin, d.budget));
        }
        if let Some((d, v)) = extreme(false).filter(|(_, v)| *v < -1e-9) {
            gaps.push(format!("{:+.1} points (bin {}, budget {})", 100.0 * v, d.bin, d.budget));
        }
        match gaps.len() {
            0 => text.push('.'),
            1 => text += &format!(". Largest gap: {}.", gaps[0]),
            _ => text += &format!(". Largest gaps: {}.", gaps.join(" and ")),
        }
        out.push(text);
    }
    out
}

/// When compute-optimal first matches best-of-N at the largest budget, and the efficiency
/// ratios measured (never extrapolated past the largest budget).
pub fn efficiency_findings(
    kind: &str,
    bon: &str,
    effs: &[Efficiency],
    bon_curve: &[(u32, f64)],
) -> Vec<String> {
    let mut out = Vec::new();
    let Some(&(max, top)) = bon_curve.last() else { return out };
    match effs.iter().find(|e| e.target >= top - 1e-12) {
        Some(e) => out.push(format!(
            "Compute-optimal ({kind} bins, held-out) needs budget {} ({:.2}) to match {bon} at budget {max} ({top:.2}): ratio {:.1}×.",
            e.budget,
            e.target,
            max as f64 / e.budget as f64
        )),
        None => out.push(format!(
            "Compute-optimal ({kind} bins, held-out) does not reach the accuracy of {bon} at budget {max} ({top:.2}) at any budget run."
        )),
    }
    let measured: Vec<(u32, f64)> = effs
        .iter()
        .filter(|e| matches!(e.needed, Needed::Exactly(_)))
        .filter_map(|e| e.ratio().map(|r| (e.budget, r)))
        .collect();
    if let Some((b, r)) = measured.iter().copied().reduce(|a, b| if b.1 > a.1 { b } else { a }) {
        out.push(format!("The largest efficiency ratio measured ({kind} bins) is {r:.2}× at budget {b}: {bon} needs {:.1} generation-equivalents to match.", r * b as f64));
    }
    let beyond: Vec<u32> = effs.iter().filter(|e| e.needed == Needed::Beyond).map(|e| e.budget).collect();
    if !beyond.is_empty() {
        let all: Vec<u32> = effs.iter().map(|e| e.budget).collect();
        out.push(format!(
            "At {} ({kind} bins) {bon} does not match compute-optimal within budget {max} (ratio > {max} ÷ budget).",
            budget_set(&beyond, &all)
        ));
    }
    out
}

/// The best sequential:parallel ratio per budget over all problems, and per bin at the
/// largest budget. `best` holds (bin, budget, best point), bin 0 = all problems.
pub fn seqpar_findings(kind: &str, best: &[(u8, u32, RatioPoint)]) -> Vec<String> {
    let mut out = Vec::new();
    let describe = |p: &RatioPoint| {
        if p.is_best_of_n() {
            format!("0 (best-of-N, {:.2})", p.accuracy)
        } else {
            format!("{} ({}, {:.2})", p.ratio_label(), p.split(), p.accuracy)
        }
    };
    let overall: Vec<String> =
        best.iter().filter(|(bin, ..)| *bin == 0).map(|(_, b, p)| format!("{b}: {}", describe(p))).collect();
    if !overall.is_empty() {
        out.push(format!(
            "Most accurate sequential:parallel ratio (revisions ÷ chains) over all problems, by budget: {}.",
            overall.join("; ")
        ));
    }
    if let Some(max) = best.iter().filter(|(bin, ..)| *bin > 0).map(|(_, b, _)| *b).max() {
        let per: Vec<String> = best
            .iter()
            .filter(|(bin, b, _)| *bin > 0 && *b == max)
            .map(|(bin, _, p)| format!("bin {bin}: {}", describe(p)))
            .collect();
        out.push(format!("At budget {max}, by {kind} bin: {}.", per.join("; ")));
    }
    out
}

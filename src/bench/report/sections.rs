//! The report's sections on the paper's three findings (findings, figure links, search vs
//! best-of-N, sequential vs parallel) and their CSV files.

use std::fmt::Write as _;

use super::{bin_label, code, field, figures, Analysis, Binned, Group};
use crate::bench::analysis::Needed;
use crate::bench::compare::{is_search, Diff};
use crate::bench::findings::{efficiency_findings, search_findings, seqpar_findings};
use crate::bench::seqpar::{self, revise_split, RatioPoint};

/// The kinds of bins a section walks: each built kind, or none (all problems only).
fn kinds<'a>(a: &'a Analysis) -> Vec<Option<&'a Binned>> {
    if a.binned.is_empty() {
        vec![None]
    } else {
        a.binned.iter().map(Some).collect()
    }
}

fn groups<'a>(a: &'a Analysis, b: Option<&'a Binned>) -> Vec<Group<'a>> {
    let mut v = vec![Group::all(a)];
    if let Some(b) = b {
        v.extend(Group::bins(b));
    }
    v
}

fn kind_name(b: Option<&Binned>) -> &'static str {
    b.map_or("all", |b| b.bins.kind.name())
}

fn row_label(bin: u8) -> String {
    if bin == 0 {
        "all".into()
    } else {
        bin_label(bin).into()
    }
}

/// The best point per (bin, budget) of a kind of bins, bin 0 = all problems.
fn best_ratios(a: &Analysis, b: Option<&Binned>) -> Vec<(u8, u32, RatioPoint)> {
    let mut out = Vec::new();
    for g in groups(a, b) {
        for &budget in &a.results.budgets {
            let pts = seqpar::points(a.results, |p| g.keeps(p), a.bon.as_deref(), budget);
            if let Some(p) = seqpar::best(&pts) {
                out.push((g.bin, budget, p.clone()));
            }
        }
    }
    out
}

/// `## Findings`: sentences computed from the comparisons below.
pub(super) fn findings(m: &mut String, a: &Analysis) {
    let mut lines = Vec::new();
    let name = |s: &str| code(s);
    if let Some(bon) = a.bon.as_deref() {
        for b in &a.binned {
            let d = figures::diffs(a, Some(b));
            lines.extend(search_findings(b.bins.kind.name(), bon, &d, &a.results.budgets, &name));
        }
        for b in &a.binned {
            let (curve, effs) = a.efficiency(Some(b), 0);
            lines.extend(efficiency_findings(b.bins.kind.name(), &code(bon), &effs, &curve));
        }
    }
    if seqpar::has_revise(a.results) {
        for (i, b) in kinds(a).into_iter().enumerate() {
            let best = best_ratios(a, b);
            // The all-problems sentence once, the per-bin one for every kind.
            let keep: Vec<(u8, u32, RatioPoint)> =
                best.into_iter().filter(|(bin, ..)| i == 0 || *bin > 0).collect();
            lines.extend(seqpar_findings(kind_name(b), &keep));
        }
    }
    m.push_str("\n## Findings\n\nComputed from the tables below (accuracy points = 100 × accuracy).\n\n");
    if lines.is_empty() {
        m.push_str("- Nothing to compare: the bench needs a best-of-N spec and a search or revise spec.\n");
    }
    for l in lines {
        let _ = writeln!(m, "- {l}");
    }
}

/// `## Figures`: every SVG the report writes, embedded.
pub(super) fn figure_links(m: &mut String, a: &Analysis) {
    m.push_str("\n## Figures\n\n![Accuracy against budget, all problems](accuracy.svg)\n\n");
    for b in &a.binned {
        let kind = b.bins.kind.name();
        let links: Vec<String> =
            (1..=5).map(|bin| format!("[bin {bin}](accuracy-{kind}-bin{bin}.svg)")).collect();
        let _ = writeln!(m, "Accuracy per {kind} bin: {}.\n", links.join(", "));
    }
    for b in kinds(a) {
        for (file, what) in figures::names(a, b) {
            let _ = writeln!(m, "![{what} ({})]({file})\n", kind_name(b));
        }
    }
}

/// `## Search vs best-of-N by difficulty`: search − best-of-N per bin and budget.
pub(super) fn search(m: &mut String, a: &Analysis) {
    let Some(bon) = a.bon.as_deref() else { return };
    if !a.results.strategies.iter().any(|s| is_search(s)) {
        return;
    }
    let budgets = &a.results.budgets;
    let _ = writeln!(
        m,
        "## Search vs best-of-N by difficulty (Fig. 3)\n\nAccuracy of each tree search minus that of {}, in \
         points; positive: the search is more accurate.\n",
        code(bon)
    );
    for b in kinds(a) {
        let d = figures::diffs(a, b);
        for s in a.results.strategies.iter().filter(|s| is_search(s)) {
            let _ = writeln!(m, "### {} − {} ({} bins)\n", code(s), code(bon), kind_name(b));
            let heads: String = budgets.iter().map(|x| format!(" {x} |")).collect();
            let _ = writeln!(m, "| bin |{heads}\n|---|{}", "---:|".repeat(budgets.len()));
            for g in groups(a, b) {
                let cells: String = budgets
                    .iter()
                    .map(|bu| {
                        let v = d.iter().find(|x| &x.strategy == s && x.bin == g.bin && x.budget == *bu);
                        match v.and_then(Diff::diff) {
                            Some(v) => format!(" {:+.1} |", 100.0 * v),
                            None => " — |".into(),
                        }
                    })
                    .collect();
                let _ = writeln!(m, "| {} |{cells}", row_label(g.bin));
            }
            m.push('\n');
        }
    }
}

/// `## Sequential vs parallel`: the splits each revise spec ran, accuracy by ratio, and the
/// best ratio per bin and budget.
pub(super) fn seq_par(m: &mut String, a: &Analysis) {
    if !seqpar::has_revise(a.results) {
        return;
    }
    let r = a.results;
    let budgets = &r.budgets;
    let revise: Vec<&String> = r.strategies.iter().filter(|s| revise_split(s, 1).is_some()).collect();
    let heads: String = budgets.iter().map(|x| format!(" {x} |")).collect();
    let rule = "---:|".repeat(budgets.len());
    let _ = writeln!(
        m,
        "## Sequential vs parallel (Figs. 7–8)\n\nA `revise` spec at budget B runs C parallel chains of D \
         attempts each (C × D = B); its sequential:parallel ratio is D/C. Best-of-N ({}) is the fully parallel \
         end, ratio 0. Splits run, D×C (revisions × chains):\n\n| spec |{heads}\n|---|{rule}",
        a.bon.as_deref().map_or("none in this bench".into(), code)
    );
    for s in &revise {
        let cells: String = budgets
            .iter()
            .map(|bu| revise_split(s, *bu).map_or(" — |".into(), |(c, d)| format!(" {d}×{c} |")))
            .collect();
        let _ = writeln!(m, "| {} |{cells}", code(s));
    }
    m.push_str("\n### Accuracy by ratio, all problems\n\n| budget | best-of-N (0) |");
    for s in &revise {
        let _ = write!(m, " {} |", code(s));
    }
    let _ = writeln!(m, "\n|---:|---:|{}", "---:|".repeat(revise.len()));
    let all = Group::all(a);
    for &bu in budgets {
        let pts = seqpar::points(r, |p| all.keeps(p), a.bon.as_deref(), bu);
        let bon =
            pts.iter().find(|p| p.is_best_of_n()).map_or("—".into(), |p| format!("{:.2}", p.accuracy));
        let _ = write!(m, "| {bu} | {bon} |");
        for s in &revise {
            match pts.iter().find(|p| p.strategies.contains(s)) {
                Some(p) => {
                    let _ = write!(m, " {:.2} ({}, D/C {}) |", p.accuracy, p.split(), p.ratio_label());
                }
                None => m.push_str(" — |"),
            }
        }
        m.push('\n');
    }
    for b in kinds(a) {
        let _ = writeln!(
            m,
            "\n### Best ratio by bin and budget ({} bins)\n\nCells: ratio D/C (D×C) accuracy; a tie goes to the more \
             parallel split.\n\n| bin |{heads}\n|---|{rule}",
            kind_name(b)
        );
        let best = best_ratios(a, b);
        for g in groups(a, b) {
            let cells: String = budgets
                .iter()
                .map(|bu| match best.iter().find(|(bin, x, _)| *bin == g.bin && x == bu) {
                    Some((_, _, p)) if p.is_best_of_n() => format!(" 0 (best-of-N) {:.2} |", p.accuracy),
                    Some((_, _, p)) => format!(" {} ({}) {:.2} |", p.ratio_label(), p.split(), p.accuracy),
                    None => " — |".into(),
                })
                .collect();
            let _ = writeln!(m, "| {} |{cells}", row_label(g.bin));
        }
    }
    m.push('\n');
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.6}")).unwrap_or_default()
}

/// `search-vs-bon.csv`, `efficiency.csv` and `seq-par.csv` (each only when it has rows).
pub(super) fn csvs(a: &Analysis) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut search =
        String::from("bin_kind,bin,strategy,budget,search_accuracy,best_of_n_accuracy,difference\n");
    let mut eff =
        String::from("bin_kind,bin,budget,compute_optimal,best_of_n,best_of_n_budget_to_match,match,ratio\n");
    let mut sp = String::from("bin_kind,bin,budget,strategies,revisions,chains,ratio,accuracy,n,best\n");
    let (mut any_search, mut any_eff, mut any_sp) = (false, false, false);
    for b in kinds(a) {
        let kind = kind_name(b);
        let bin = |x: u8| if x == 0 { "all".to_string() } else { x.to_string() };
        for d in figures::diffs(a, b) {
            any_search = true;
            let _ = writeln!(
                search,
                "{kind},{},{},{},{},{},{}",
                bin(d.bin),
                field(&d.strategy),
                d.budget,
                num(d.search),
                num(d.bon),
                num(d.diff())
            );
        }
        for g in groups(a, b).iter().filter(|_| b.is_some()) {
            let (curve, effs) = a.efficiency(b, g.bin);
            for e in effs {
                any_eff = true;
                let here = curve.iter().find(|(x, _)| *x == e.budget).map(|p| p.1);
                let (needed, how) = match e.needed {
                    Needed::AtMost(x) => (format!("{x:.6}"), "at_most"),
                    Needed::Exactly(x) => (format!("{x:.6}"), "exactly"),
                    Needed::Beyond => (String::new(), "beyond"),
                };
                let _ = writeln!(
                    eff,
                    "{kind},{},{},{:.6},{},{needed},{how},{}",
                    bin(g.bin),
                    e.budget,
                    e.target,
                    num(here),
                    num(e.ratio())
                );
            }
        }
        if seqpar::has_revise(a.results) {
            for g in groups(a, b) {
                for &bu in &a.results.budgets {
                    let pts = seqpar::points(a.results, |p| g.keeps(p), a.bon.as_deref(), bu);
                    let top = seqpar::best(&pts).cloned();
                    for p in &pts {
                        any_sp = true;
                        let _ = writeln!(
                            sp,
                            "{kind},{},{bu},{},{},{},{:.6},{:.6},{},{}",
                            bin(g.bin),
                            field(&p.strategies.join(";")),
                            p.revisions,
                            p.chains,
                            p.ratio(),
                            p.accuracy,
                            p.n,
                            top.as_ref() == Some(p)
                        );
                    }
                }
            }
        }
    }
    for (name, text, any) in [
        ("search-vs-bon.csv", search, any_search),
        ("efficiency.csv", eff, any_eff),
        ("seq-par.csv", sp, any_sp),
    ] {
        if any {
            out.push((name.to_string(), text));
        }
    }
    out
}

//! The report's SVG figures: accuracy against budget (all strategies), search against
//! best-of-N by bin (Fig. 3 of Snell et al. 2024), compute-optimal against best-of-N and the
//! efficiency ratio (Fig. 4), and sequential against parallel (Figs. 7–8).

use super::{Analysis, Binned, Group};
use crate::bench::analysis::{pooled, Needed};
use crate::bench::compare::{difference_grid, is_search, mean_curve, Diff};
use crate::bench::plot::{
    bin_color, figure, grids, sequence_color, strategy_color, Axis, Figure, Grid, Line, Note, Panel, Style,
};
use crate::bench::records::is_best_of_n;
use crate::bench::seqpar::{self, ratio_label, revise_split};

const BAND: &str = "Shaded: ±1 s.d. of one run's accuracy over best-of-N subsets (--subsample).";

/// Every figure: (file name, SVG).
pub(super) fn all(a: &Analysis) -> Vec<(String, String)> {
    let mut out = accuracy_charts(a);
    let kinds: Vec<Option<&Binned>> =
        if a.binned.is_empty() { vec![None] } else { a.binned.iter().map(Some).collect() };
    for b in kinds {
        let suffix = b.map(|b| format!("-{}", b.bins.kind.name())).unwrap_or_default();
        if a.bon.is_some() && a.results.strategies.iter().any(|s| is_search(s)) {
            out.push((format!("fig3-search{suffix}.svg"), search_lines(a, b)));
            out.push((format!("fig3-search-diff{suffix}.svg"), search_grid(a, b)));
        }
        if let (Some(b), Some(_)) = (b, &a.bon) {
            out.push((format!("fig4-compute-optimal{suffix}.svg"), compute_optimal(a, b)));
            out.push((format!("fig4-efficiency{suffix}.svg"), efficiency(a, b)));
        }
        if seqpar::has_revise(a.results) {
            out.push((format!("fig7-seq-par{suffix}.svg"), seq_par(a, b)));
        }
    }
    out
}

/// The file names [`all`] writes for a kind of bins (or none), in the report's order.
pub(super) fn names(a: &Analysis, b: Option<&Binned>) -> Vec<(String, &'static str)> {
    let suffix = b.map(|b| format!("-{}", b.bins.kind.name())).unwrap_or_default();
    let mut v = Vec::new();
    if a.bon.is_some() && a.results.strategies.iter().any(|s| is_search(s)) {
        v.push((format!("fig3-search{suffix}.svg"), "Search vs best-of-N by difficulty bin"));
        v.push((
            format!("fig3-search-diff{suffix}.svg"),
            "Search − best-of-N, accuracy points, by bin and budget",
        ));
    }
    if b.is_some() && a.bon.is_some() {
        v.push((format!("fig4-compute-optimal{suffix}.svg"), "Compute-optimal vs best-of-N"));
        v.push((format!("fig4-efficiency{suffix}.svg"), "Best-of-N budget needed to match compute-optimal"));
    }
    if seqpar::has_revise(a.results) {
        v.push((format!("fig7-seq-par{suffix}.svg"), "Accuracy against the sequential:parallel ratio"));
    }
    v
}

fn dataset(a: &Analysis) -> String {
    a.results.meta.as_ref().and_then(|m| m.dataset.clone()).unwrap_or_else(|| "bench".into())
}

/// A strategy's line: its mean curve, a band where the spread is known.
fn strategy_line(a: &Analysis, g: &Group, spec: &str) -> Line {
    let curve = mean_curve(a.results, |p| g.keeps(p), spec, &a.results.budgets);
    let mut line = Line::new(
        spec,
        strategy_color(spec, &a.results.strategies),
        curve.iter().map(|m| (m.budget as f64, m.mean)).collect(),
    );
    if curve.iter().all(|m| m.sd.is_some()) {
        line.band = curve
            .iter()
            .map(|m| {
                let sd = m.sd.unwrap_or(0.0);
                (m.budget as f64, (m.mean - sd).max(0.0), (m.mean + sd).min(1.0))
            })
            .collect();
    }
    line
}

fn compute_optimal_line(a: &Analysis, b: &Binned, bin: u8) -> Line {
    let co = pooled(&b.choices.iter().filter(|c| bin == 0 || c.bin == bin).cloned().collect::<Vec<_>>());
    let _ = a;
    let points = co.iter().filter_map(|(x, c)| c.accuracy().map(|v| (*x as f64, v))).collect();
    let mut line = Line::new("compute-optimal (2-fold held-out)", "#000000", points);
    line.style = Style::Dashed;
    line
}

fn accuracy_charts(a: &Analysis) -> Vec<(String, String)> {
    let r = a.results;
    let ds = dataset(a);
    let chart = |title: String, g: &Group, co: Option<Line>| {
        let mut lines: Vec<Line> = r.strategies.iter().map(|s| strategy_line(a, g, s)).collect();
        lines.extend(co);
        figure(&Figure {
            title,
            caption: format!("Best-of-N lines are means over subsets where the bench has them. {BAND}"),
            x: Axis::budgets(&r.budgets),
            y: Axis::accuracy(),
            panels: vec![Panel { title: g.title.clone(), lines, notes: vec![] }],
            columns: 1,
        })
    };
    let all = Group::all(a);
    let first = a.binned.first().map(|b| compute_optimal_line(a, b, 0));
    let mut out =
        vec![("accuracy.svg".to_string(), chart(format!("{ds}: accuracy against budget"), &all, first))];
    for b in &a.binned {
        let kind = b.bins.kind.name();
        for g in Group::bins(b) {
            let co = compute_optimal_line(a, b, g.bin);
            out.push((
                format!("accuracy-{kind}-bin{}.svg", g.bin),
                chart(format!("{ds}: accuracy, {kind} bins"), &g, Some(co)),
            ));
        }
    }
    out
}

fn groups<'a>(a: &'a Analysis, b: Option<&'a Binned>) -> Vec<Group<'a>> {
    let mut v = vec![Group::all(a)];
    if let Some(b) = b {
        v.extend(Group::bins(b));
    }
    v
}

fn kind_words(b: Option<&Binned>) -> String {
    b.map(|b| format!("{} bins", b.bins.kind.name())).unwrap_or_else(|| "no bins".into())
}

/// Fig. 3: best-of-N weighted against each tree search, one panel per bin.
fn search_lines(a: &Analysis, b: Option<&Binned>) -> String {
    let bon = a.bon.as_deref().unwrap_or_default();
    let panels = groups(a, b)
        .iter()
        .map(|g| {
            let mut lines = vec![strategy_line(a, g, bon)];
            lines
                .extend(a.results.strategies.iter().filter(|s| is_search(s)).map(|s| strategy_line(a, g, s)));
            Panel { title: g.title.clone(), lines, notes: vec![] }
        })
        .collect();
    figure(&Figure {
        title: format!("{}: search vs best-of-N by difficulty ({})", dataset(a), kind_words(b)),
        caption: BAND.into(),
        x: Axis::budgets(&a.results.budgets),
        y: Axis::accuracy(),
        panels,
        columns: 3,
    })
}

/// The difference grid of a kind of bins: bin 0 (all) only when there are no bins.
pub(super) fn diffs(a: &Analysis, b: Option<&Binned>) -> Vec<Diff> {
    let Some(bon) = a.bon.as_deref() else { return vec![] };
    match b {
        Some(b) => difference_grid(a.results, &b.bins, bon),
        None => {
            let empty = crate::bench::bins::Bins {
                kind: crate::bench::bins::BinKind::Model,
                edges: [0.0; 4],
                estimate: Default::default(),
                bin: Default::default(),
            };
            difference_grid(a.results, &empty, bon).into_iter().filter(|d| d.bin == 0).collect()
        }
    }
}

/// Fig. 3 summary: search − best-of-N in accuracy points, bins × budgets, one grid per search.
fn search_grid(a: &Analysis, b: Option<&Binned>) -> String {
    let d = diffs(a, b);
    let rows: Vec<u8> = groups(a, b).iter().map(|g| g.bin).collect();
    let budgets = &a.results.budgets;
    let tables: Vec<Grid> = a
        .results
        .strategies
        .iter()
        .filter(|s| is_search(s))
        .map(|s| Grid {
            title: format!("{s} − {}", a.bon.as_deref().unwrap_or_default()),
            rows: rows
                .iter()
                .map(|r| if *r == 0 { "all".to_string() } else { super::bin_label(*r).to_string() })
                .collect(),
            cols: budgets.iter().map(|b| b.to_string()).collect(),
            cells: rows
                .iter()
                .map(|bin| {
                    budgets
                        .iter()
                        .map(|bu| {
                            d.iter()
                                .find(|x| x.strategy == *s && x.bin == *bin && x.budget == *bu)
                                .and_then(Diff::diff)
                                .map(|v| 100.0 * v)
                        })
                        .collect()
                })
                .collect(),
        })
        .collect();
    let scale =
        tables.iter().flat_map(|g| g.cells.iter().flatten().flatten()).fold(10.0f64, |m, v| m.max(v.abs()));
    grids(
        &format!("{}: search − best-of-N accuracy, points ({})", dataset(a), kind_words(b)),
        "Blue: the search strategy is more accurate; red: best-of-N is. Rows: difficulty bin (1 easiest).",
        ("budget (generation-equivalents)", "difficulty bin"),
        &tables,
        scale,
        |v| format!("{v:+.0}"),
    )
}

/// Fig. 4: compute-optimal (held-out) against every best-of-N spec, one panel per bin.
fn compute_optimal(a: &Analysis, b: &Binned) -> String {
    let panels = groups(a, Some(b))
        .iter()
        .map(|g| {
            let mut lines: Vec<Line> = a
                .results
                .strategies
                .iter()
                .filter(|s| is_best_of_n(s))
                .map(|s| strategy_line(a, g, s))
                .collect();
            lines.push(compute_optimal_line(a, b, g.bin));
            Panel { title: g.title.clone(), lines, notes: vec![] }
        })
        .collect();
    figure(&Figure {
        title: format!("{}: compute-optimal vs best-of-N ({} bins)", dataset(a), b.bins.kind.name()),
        caption: format!(
            "Compute-optimal: strategy per bin and budget chosen on one fold, scored on the other. {BAND}"
        ),
        x: Axis::budgets(&a.results.budgets),
        y: Axis::accuracy(),
        panels,
        columns: 3,
    })
}

/// Fig. 4 efficiency: the best-of-N budget that matches compute-optimal at each budget.
fn efficiency(a: &Analysis, b: &Binned) -> String {
    let budgets = &a.results.budgets;
    let max = budgets.last().copied().unwrap_or(1);
    let mut lines = Vec::new();
    let mut notes = Vec::new();
    let bx: Vec<(f64, f64)> = budgets.iter().map(|x| (*x as f64, *x as f64)).collect();
    let mut diag = Line::new("equal compute (ratio 1×)", "#9a9a9a", bx);
    diag.style = Style::Dotted;
    diag.markers = false;
    lines.push(diag);
    for g in groups(a, Some(b)) {
        let (_, effs) = a.efficiency(Some(b), g.bin);
        let color = bin_color(g.bin);
        let pts = effs.iter().filter_map(|e| e.needed.budget().map(|n| (e.budget as f64, n))).collect();
        let mut line = Line::new(&g.title, color, pts);
        if g.bin == 0 {
            line.style = Style::Dashed;
        }
        lines.push(line);
        notes.extend(effs.iter().filter(|e| e.needed == Needed::Beyond).map(|e| Note {
            x: e.budget as f64,
            color: color.into(),
            text: format!("> {max}"),
        }));
    }
    let mut y = Axis::budgets(budgets);
    y.label = "best-of-N budget to match (log₂)".into();
    figure(&Figure {
        title: format!("{}: best-of-N budget to match compute-optimal ({} bins)", dataset(a), b.bins.kind.name()),
        caption: format!(
            "Interpolated on the log₂ axis; ▲ > {max}: best-of-N never matches it within the budgets run; at the smallest budget the value is an upper bound."
        ),
        x: Axis::budgets(budgets),
        y,
        panels: vec![Panel { title: "best-of-N weighted vs compute-optimal".into(), lines, notes }],
        columns: 1,
    })
}

/// The x axis of the sequential:parallel figure, in log₂ ratio units, and where best-of-N sits.
fn ratio_axis(a: &Analysis) -> (Axis, f64) {
    let mut logs: Vec<f64> = Vec::new();
    for s in &a.results.strategies {
        for &bu in &a.results.budgets {
            if let Some((c, d)) = revise_split(s, bu) {
                logs.push((d as f64 / c as f64).log2());
            }
        }
    }
    let lo = logs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() { (lo.floor(), hi.ceil()) } else { (0.0, 0.0) };
    let bon_x = lo - 2.0;
    let span = (hi - lo) as usize + 1;
    let step = span.div_ceil(7).max(1);
    let mut ticks = vec![(bon_x, "0 (best-of-N)".to_string())];
    let mut k = lo;
    while k <= hi + 1e-9 {
        ticks.push((k, ratio_label(k.exp2())));
        k += step as f64;
    }
    let axis = Axis {
        label: "sequential:parallel ratio (revisions ÷ chains, log₂)".into(),
        lo: bon_x - 0.5,
        hi: hi + 0.5,
        log2: false,
        ticks,
    };
    (axis, bon_x)
}

/// Figs. 7–8: accuracy against the sequential:parallel ratio, one line per budget.
fn seq_par(a: &Analysis, b: Option<&Binned>) -> String {
    let (x, bon_x) = ratio_axis(a);
    let budgets = &a.results.budgets;
    let panels = groups(a, b)
        .iter()
        .map(|g| {
            let lines = budgets
                .iter()
                .enumerate()
                .map(|(i, bu)| {
                    let pts = seqpar::points(a.results, |p| g.keeps(p), a.bon.as_deref(), *bu);
                    let xy = pts
                        .iter()
                        .map(|p| (if p.is_best_of_n() { bon_x } else { p.ratio().log2() }, p.accuracy))
                        .collect();
                    Line::new(&format!("budget {bu}"), sequence_color(i, budgets.len()), xy)
                })
                .collect();
            Panel { title: g.title.clone(), lines, notes: vec![] }
        })
        .collect();
    figure(&Figure {
        title: format!("{}: sequential vs parallel revisions ({})", dataset(a), kind_words(b)),
        caption: "Each revise spec is placed at the revisions × chains it ran at that budget (see report.md); best-of-N is the fully parallel end.".into(),
        x,
        y: Axis::accuracy(),
        panels,
        columns: 3,
    })
}

//! `ttc bench report DIR`: Markdown tables (`report.md`), a long-format CSV
//! (`accuracy.csv`) and a one-screen summary on stdout, from the results a
//! bench wrote into DIR.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use super::analysis::{
    accuracy, budget_to_match, cross_validate, curve, pooled, Cell, Choice, Needed, Table,
};
use super::bins::{BinKind, Bins};
use super::records::{best_of_n_spec, Results};
use super::svg::{chart, Series};

/// Write `DIR/report.md` and `DIR/accuracy.csv`, and print a summary.
pub fn report(dir: &Path) -> Result<(), String> {
    let results = Results::load(dir)?;
    if results.rows.is_empty() {
        return Err(format!("{}: no finished results yet", dir.join("results.jsonl").display()));
    }
    let out = render(&results);
    let files = [("report.md", &out.markdown), ("accuracy.csv", &out.csv)];
    for (name, text) in files.into_iter().chain(out.svgs.iter().map(|(n, t)| (n.as_str(), t))) {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    print!("{}", out.summary);
    println!(
        "wrote {}, {} and {} SVG charts",
        dir.join("report.md").display(),
        dir.join("accuracy.csv").display(),
        out.svgs.len()
    );
    Ok(())
}

/// What a report writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub markdown: String,
    pub csv: String,
    pub summary: String,
    /// SVG charts: (file name, contents).
    pub svgs: Vec<(String, String)>,
}

/// One kind of bins and what was computed on them.
struct Binned {
    bins: Bins,
    tables: BTreeMap<u8, Table>,
    choices: Vec<Choice>,
}

/// Everything a report shows, computed once.
struct Analysis<'a> {
    results: &'a Results,
    overall: Table,
    binned: Vec<Binned>,
    /// Kinds of bins that could not be made, and why.
    missing: Vec<(BinKind, String)>,
    bon: Option<String>,
}

impl<'a> Analysis<'a> {
    fn new(results: &'a Results) -> Self {
        let mut binned = Vec::new();
        let mut missing = Vec::new();
        for kind in [BinKind::Oracle, BinKind::Model] {
            match Bins::build(results, kind) {
                Ok(bins) => {
                    let tables =
                        (1..=5u8).map(|b| (b, accuracy(results, |p| bins.bin.get(p) == Some(&b)))).collect();
                    let choices = cross_validate(results, &bins);
                    binned.push(Binned { bins, tables, choices });
                }
                Err(why) => missing.push((kind, why)),
            }
        }
        let bon = best_of_n_spec(&results.strategies).map(str::to_string);
        Analysis { results, overall: accuracy(results, |_| true), binned, missing, bon }
    }

    /// Efficiency rows: (budget, compute-optimal accuracy, best-of-N budget needed).
    fn efficiency(&self, table: &Table, co: &BTreeMap<u32, Cell>) -> Vec<(u32, f64, Needed)> {
        let Some(bon) = &self.bon else { return Vec::new() };
        let c = curve(table, bon, &self.results.budgets);
        co.iter().filter_map(|(b, cell)| cell.accuracy().map(|a| (*b, a, budget_to_match(&c, a)))).collect()
    }
}

fn acc(cell: Option<&Cell>) -> String {
    match cell.and_then(|c| c.accuracy().map(|a| (a, c.n))) {
        Some((a, n)) => format!("{a:.2} ({n})"),
        None => "—".into(),
    }
}

fn table_md(out: &mut String, t: &Table, strategies: &[String], budgets: &[u32]) {
    let _ = writeln!(
        out,
        "| strategy | {} |",
        budgets.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(" | ")
    );
    let _ = writeln!(out, "|---|{}", "---:|".repeat(budgets.len()));
    for s in strategies {
        let cells: Vec<String> = budgets.iter().map(|b| acc(t.get(&(s.clone(), *b)))).collect();
        let _ = writeln!(out, "| `{s}` | {} |", cells.join(" | "));
    }
    out.push('\n');
}

fn bin_label(b: u8) -> &'static str {
    match b {
        1 => "1 (easiest)",
        5 => "5 (hardest)",
        2 => "2",
        3 => "3",
        _ => "4",
    }
}

/// The range of estimates a bin holds, from the edges.
fn range(edges: &[f64; 4], b: u8) -> String {
    match b {
        1 => format!("≥ {:.3}", edges[3]),
        5 => format!("< {:.3}", edges[0]),
        _ => format!("[{:.3}, {:.3})", edges[4 - b as usize], edges[5 - b as usize]),
    }
}

/// Render the report from loaded results.
pub fn render(results: &Results) -> Rendered {
    let a = Analysis::new(results);
    Rendered { markdown: markdown(&a), csv: csv(&a), summary: summary(&a), svgs: svgs(&a) }
}

/// Accuracy against budget: every strategy, and compute-optimal (held-out) as a dashed line.
fn svgs(a: &Analysis) -> Vec<(String, String)> {
    let r = a.results;
    let lines = |t: &Table, co: Option<(&str, &BTreeMap<u32, Cell>)>| {
        let mut v: Vec<Series> = r
            .strategies
            .iter()
            .map(|s| Series { label: s.clone(), points: curve(t, s, &r.budgets), emphasis: false })
            .collect();
        if let Some((label, co)) = co {
            let points = co.iter().filter_map(|(b, c)| c.accuracy().map(|x| (*b, x))).collect();
            v.push(Series { label: label.to_string(), points, emphasis: true });
        }
        v
    };
    let ds = r.meta.as_ref().and_then(|m| m.dataset.clone()).unwrap_or_else(|| "bench".into());
    let first =
        a.binned.first().map(|b| (format!("compute-optimal ({})", b.bins.kind.name()), pooled(&b.choices)));
    let overall = lines(&a.overall, first.as_ref().map(|(l, c)| (l.as_str(), c)));
    let mut out =
        vec![("accuracy.svg".to_string(), chart(&format!("{ds}: all problems"), &r.budgets, &overall))];
    for b in &a.binned {
        let kind = b.bins.kind.name();
        for bin in 1..=5u8 {
            let mine: Vec<Choice> = b.choices.iter().filter(|c| c.bin == bin).cloned().collect();
            let co = pooled(&mine);
            let series = lines(&b.tables[&bin], Some(("compute-optimal", &co)));
            let title = format!("{ds}: {kind} bin {} ({} problems)", bin_label(bin), b.bins.count(bin));
            out.push((format!("accuracy-{kind}-bin{bin}.svg"), chart(&title, &r.budgets, &series)));
        }
    }
    out
}

fn markdown(a: &Analysis) -> String {
    let r = a.results;
    let meta = r.meta.clone().unwrap_or_default();
    let or = |s: Option<String>| s.unwrap_or_else(|| "unknown".into());
    let mut m = String::new();
    let _ = writeln!(m, "# Bench report: {}\n", or(meta.dataset.clone()));
    let _ = writeln!(
        m,
        "Model {}, backend {}, verifier {}, ttc {}. {} problems, {} strategies, budgets {:?}, {} result lines.",
        or(meta.model),
        or(meta.backend),
        or(meta.verifier),
        or(meta.ttc_version),
        r.problems.len(),
        r.strategies.len(),
        r.budgets,
        r.rows.len()
    );
    let ungraded = r.ungraded();
    if ungraded > 0 {
        let _ = writeln!(
            m,
            "\n{ungraded} lines have no gold answer (`correct: null`): left out of every accuracy."
        );
    }
    if r.truncated {
        m.push_str("\nThe last line of results.jsonl was incomplete (still being written) and is ignored.\n");
    }
    m.push_str("\nCells read `accuracy (n)`: the mean of `correct` over problems × seeds, n graded lines.\n");
    m.push_str("\n## Difficulty bins\n\n");
    m.push_str(
        "Five quantile bins of a per-problem estimate (from its largest best-of-N budget, averaged over \
                seeds). Bin 1 is the easiest; a value on an edge goes to the easier bin.\n\n",
    );
    for (kind, why) in &a.missing {
        let _ = writeln!(m, "- {}: {why}.", kind.describe());
    }
    for b in &a.binned {
        let e = b.bins.edges;
        let _ = writeln!(
            m,
            "\n### {}\n\nEdges: {:.4}, {:.4}, {:.4}, {:.4}\n\n| bin | estimate | problems |\n|---|---|---:|",
            b.bins.kind.describe(),
            e[0],
            e[1],
            e[2],
            e[3]
        );
        for bin in 1..=5u8 {
            let _ = writeln!(m, "| {} | {} | {} |", bin_label(bin), range(&e, bin), b.bins.count(bin));
        }
    }
    m.push_str("\n## Charts\n\n![Accuracy against budget, all problems](accuracy.svg)\n\n");
    for b in &a.binned {
        let kind = b.bins.kind.name();
        let links: Vec<String> =
            (1..=5).map(|bin| format!("[bin {bin}](accuracy-{kind}-bin{bin}.svg)")).collect();
        let _ = writeln!(m, "Per {kind} bin: {}.\n", links.join(", "));
    }
    m.push_str("## Accuracy, all problems\n\n");
    table_md(&mut m, &a.overall, &r.strategies, &r.budgets);
    for b in &a.binned {
        let _ = writeln!(m, "## Accuracy by {} bin\n", b.bins.kind.name());
        for (bin, t) in &b.tables {
            let _ = writeln!(m, "### Bin {}\n", bin_label(*bin));
            table_md(&mut m, t, &r.strategies, &r.budgets);
        }
    }
    for b in &a.binned {
        compute_optimal_md(&mut m, a, b);
    }
    m
}

fn compute_optimal_md(m: &mut String, a: &Analysis, b: &Binned) {
    let r = a.results;
    let kind = b.bins.kind.name();
    let bon = a.bon.as_deref().unwrap_or("(no best-of-N)");
    let _ = writeln!(
        m,
        "## Compute-optimal vs best-of-N ({kind} bins)\n\nFor each bin and budget the strategy is chosen on one half \
         of the problems (2 folds by a hash of the problem id) and scored on the other; `held-out` pools both \
         folds. Bin edges come from all problems.\n"
    );
    let co = pooled(&b.choices);
    // Every strategy besides the best-of-N baseline, which has its own column.
    let others: Vec<String> = r.strategies.iter().filter(|s| s.as_str() != bon).cloned().collect();
    let heads: String = others.iter().map(|s| format!(" `{s}` |")).collect();
    let rule = "---:|".repeat(others.len());
    let cells = |t: &Table, budget: u32| -> String {
        others.iter().map(|s| format!(" {} |", acc(t.get(&(s.clone(), budget))))).collect()
    };
    let _ = writeln!(
        m,
        "| budget | compute-optimal (held-out) | best-of-N `{bon}` |{heads}\n|---:|---:|---:|{rule}"
    );
    for budget in &r.budgets {
        let base = acc(a.overall.get(&(bon.to_string(), *budget)));
        let rest = cells(&a.overall, *budget);
        let _ = writeln!(m, "| {budget} | {} | {base} |{rest}", acc(co.get(budget)));
    }
    let _ = writeln!(
        m,
        "\n| bin | budget | chosen (fold 0 / fold 1) | held-out | fitted on all | best-of-N `{bon}` |{heads}\n\
         |---|---:|---|---:|---|---:|{rule}"
    );
    let name = |s: &Option<String>| s.as_deref().map(|s| format!("`{s}`")).unwrap_or_else(|| "—".into());
    for c in &b.choices {
        let t = &b.tables[&c.bin];
        let _ = writeln!(
            m,
            "| {} | {} | {} / {} | {} | {} | {} |{}",
            c.bin,
            c.budget,
            name(&c.folds[0]),
            name(&c.folds[1]),
            acc(Some(&c.held_out)),
            name(&c.fitted),
            acc(t.get(&(bon.to_string(), c.budget))),
            cells(t, c.budget)
        );
    }
    let _ = writeln!(
        m,
        "\n### Efficiency ratio ({kind} bins)\n\nThe `{bon}` budget that matches the compute-optimal held-out \
         accuracy, interpolated on the log₂ budget axis; ratio = that budget ÷ the compute-optimal budget.\n"
    );
    if a.bon.is_none() {
        m.push_str("No best-of-N strategy in the results: no efficiency ratio.\n\n");
        return;
    }
    m.push_str(
        "| bin | budget | compute-optimal | best-of-N budget to match | ratio |\n|---|---:|---:|---:|---:|\n",
    );
    for (budget, target, need) in a.efficiency(&a.overall, &co) {
        let _ =
            writeln!(m, "| all | {budget} | {target:.2} | {} | {} |", need.describe(), need.ratio(budget));
    }
    for bin in 1..=5u8 {
        let mine: Vec<Choice> = b.choices.iter().filter(|c| c.bin == bin).cloned().collect();
        for (budget, target, need) in a.efficiency(&b.tables[&bin], &pooled(&mine)) {
            let _ = writeln!(
                m,
                "| {bin} | {budget} | {target:.2} | {} | {} |",
                need.describe(),
                need.ratio(budget)
            );
        }
    }
    m.push('\n');
}

fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv(a: &Analysis) -> String {
    let mut out = String::from("bin_kind,bin,strategy,budget,accuracy,n\n");
    let mut row = |kind: &str, bin: &str, s: &str, budget: u32, c: &Cell| {
        let accuracy = c.accuracy().map(|x| format!("{x:.6}")).unwrap_or_default();
        let _ = writeln!(out, "{kind},{bin},{},{budget},{accuracy},{}", field(s), c.n);
    };
    for ((s, budget), c) in &a.overall {
        row("all", "all", s, *budget, c);
    }
    for b in &a.binned {
        let kind = b.bins.kind.name();
        for (bin, t) in &b.tables {
            for ((s, budget), c) in t {
                row(kind, &bin.to_string(), s, *budget, c);
            }
        }
        for (budget, c) in pooled(&b.choices) {
            row(kind, "all", "compute-optimal", budget, &c);
        }
        for c in &b.choices {
            row(kind, &c.bin.to_string(), "compute-optimal", c.budget, &c.held_out);
        }
    }
    out
}

fn summary(a: &Analysis) -> String {
    let r = a.results;
    let mut s = String::new();
    let ds = r.meta.as_ref().and_then(|m| m.dataset.clone()).unwrap_or_else(|| "bench".into());
    let _ = writeln!(
        s,
        "{ds}: {} problems, {} strategies, budgets {:?}, {} lines{}",
        r.problems.len(),
        r.strategies.len(),
        r.budgets,
        r.rows.len(),
        if r.truncated { " (an incomplete last line ignored)" } else { "" }
    );
    if r.ungraded() > 0 {
        let _ = writeln!(s, "{} lines without gold left out of accuracy", r.ungraded());
    }
    for (kind, why) in &a.missing {
        let _ = writeln!(s, "{} bins: {why}", kind.name());
    }
    let width = r.strategies.iter().map(|x| x.len()).max().unwrap_or(8).max(16);
    let _ = writeln!(
        s,
        "{:width$} {}",
        "accuracy",
        r.budgets.iter().map(|b| format!("{b:>6}")).collect::<String>()
    );
    for st in &r.strategies {
        let cells: String = r
            .budgets
            .iter()
            .map(|b| match a.overall.get(&(st.clone(), *b)).and_then(Cell::accuracy) {
                Some(x) => format!("{x:>6.2}"),
                None => format!("{:>6}", "—"),
            })
            .collect();
        let _ = writeln!(s, "{st:width$} {cells}");
    }
    for b in &a.binned {
        let co = pooled(&b.choices);
        let cells: String = r
            .budgets
            .iter()
            .map(|x| match co.get(x).and_then(Cell::accuracy) {
                Some(v) => format!("{v:>6.2}"),
                None => format!("{:>6}", "—"),
            })
            .collect();
        let label = format!("optimal ({})", b.bins.kind.name());
        let _ = writeln!(s, "{label:width$} {cells}");
        let needs: Vec<String> = a
            .efficiency(&a.overall, &co)
            .into_iter()
            .map(|(budget, _, need)| match need {
                Needed::Beyond => format!("{budget}→beyond"),
                n => format!("{budget}→{}", n.describe()),
            })
            .collect();
        if !needs.is_empty() {
            let _ = writeln!(
                s,
                "  best-of-N budget to match ({} bins): {}",
                b.bins.kind.name(),
                needs.join(", ")
            );
        }
    }
    s
}

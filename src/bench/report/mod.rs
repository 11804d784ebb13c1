//! `ttc bench report DIR`: Markdown tables and findings (`report.md`), CSV files and SVG
//! figures (the paper's Figs. 3, 4 and 7–8 among them, in [`figures`]), and a one-screen
//! summary on stdout, from the results a bench wrote into DIR.

mod figures;
mod samples;
mod sections;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use super::analysis::{accuracy, cross_validate, pooled, Cell, Choice, Table};
use super::bins::{BinKind, Bins};
use super::compare::{describe_needed, describe_ratio, efficiency, mean_curve, points, Efficiency};
use super::records::{best_of_n_spec, Results};

/// Write `DIR/report.md` and `DIR/accuracy.csv`, and print a summary.
pub fn report(dir: &Path) -> Result<(), String> {
    let results = Results::load(dir)?;
    if results.rows.is_empty() {
        return Err(format!("{}: no finished results yet", dir.join("results.jsonl").display()));
    }
    let out = render(&results);
    let files = [("report.md", &out.markdown), ("accuracy.csv", &out.csv)];
    let extra = out.csvs.iter().chain(&out.svgs).map(|(n, t)| (n.as_str(), t));
    for (name, text) in files.into_iter().chain(extra) {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    print!("{}", out.summary);
    let csvs: Vec<&str> =
        std::iter::once("accuracy.csv").chain(out.csvs.iter().map(|(n, _)| n.as_str())).collect();
    println!(
        "wrote report.md, {} and {} SVG figures into {}",
        csvs.join(", "),
        out.svgs.len(),
        dir.display()
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
    /// CSV files besides `accuracy.csv`: (file name, contents).
    pub csvs: Vec<(String, String)>,
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

    /// The best-of-N curve of a group (all problems: bin 0) as the figures count it (means
    /// over subsets where the bench has them), and compute-optimal's efficiency against it.
    fn efficiency(&self, b: Option<&Binned>, bin: u8) -> (Vec<(u32, f64)>, Vec<Efficiency>) {
        let (Some(bon), Some(b)) = (&self.bon, b) else { return (vec![], vec![]) };
        let keep = |p: &str| bin == 0 || b.bins.bin.get(p) == Some(&bin);
        let curve = points(&mean_curve(self.results, keep, bon, &self.results.budgets));
        let mine: Vec<Choice> = b.choices.iter().filter(|c| bin == 0 || c.bin == bin).cloned().collect();
        let effs = efficiency(&curve, &pooled(&mine));
        (curve, effs)
    }

    fn max_budget(&self) -> u32 {
        self.results.budgets.last().copied().unwrap_or(1)
    }
}

/// The problems a panel, row or sentence covers: all of them (bin 0) or one bin.
struct Group<'a> {
    bin: u8,
    title: String,
    bins: Option<&'a Bins>,
}

impl<'a> Group<'a> {
    fn all(a: &Analysis) -> Self {
        Group { bin: 0, title: format!("all problems ({})", a.results.problems.len()), bins: None }
    }

    fn bins(b: &'a Binned) -> Vec<Self> {
        (1..=5u8)
            .map(|bin| Group {
                bin,
                title: match b.bins.count(bin) {
                    1 => format!("bin {} · 1 problem", bin_label(bin)),
                    n => format!("bin {} · {n} problems", bin_label(bin)),
                },
                bins: Some(&b.bins),
            })
            .collect()
    }

    fn keeps(&self, p: &str) -> bool {
        self.bin == 0 || self.bins.is_some_and(|b| b.bin.get(p) == Some(&self.bin))
    }
}

/// Text from a results file made safe for Markdown: no control characters, and the
/// characters that make tables, links, emphasis or HTML escaped.
pub fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().filter(|c| !c.is_control()) {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Text from a results file for the terminal: control characters (escape sequences) dropped.
pub fn plain(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

/// A strategy name in a Markdown code span: control characters dropped, backticks turned
/// into quotes, pipes escaped for tables.
pub fn code(s: &str) -> String {
    let clean: String = s.chars().filter(|c| !c.is_control()).collect();
    format!("`{}`", clean.replace('`', "'").replace('|', "\\|"))
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
        let _ = writeln!(out, "| {} | {} |", code(s), cells.join(" | "));
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
    Rendered {
        markdown: markdown(&a),
        csv: csv(&a),
        summary: summary(&a),
        svgs: figures::all(&a),
        csvs: sections::csvs(&a),
    }
}

fn markdown(a: &Analysis) -> String {
    let r = a.results;
    let meta = r.meta.clone().unwrap_or_default();
    let or = |s: Option<String>| md(&s.unwrap_or_else(|| "unknown".into()));
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
    m.push_str(
        "\nCells read `accuracy (n)`: the mean of `correct` over problems × seeds, n graded lines. The \
         figures and the comparisons below count a best-of-N line as its `subsample_accuracy` (the mean \
         over random subsets of its samples) where the bench wrote one (`--subsample`).\n",
    );
    sections::findings(&mut m, a);
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
    sections::figure_links(&mut m, a);
    m.push_str("## Accuracy, all problems\n\n");
    table_md(&mut m, &a.overall, &r.strategies, &r.budgets);
    samples::samples_md(&mut m, r);
    for b in &a.binned {
        let _ = writeln!(m, "## Accuracy by {} bin\n", b.bins.kind.name());
        for (bin, t) in &b.tables {
            let _ = writeln!(m, "### Bin {}\n", bin_label(*bin));
            table_md(&mut m, t, &r.strategies, &r.budgets);
        }
    }
    sections::search(&mut m, a);
    for b in &a.binned {
        compute_optimal_md(&mut m, a, b);
    }
    sections::seq_par(&mut m, a);
    m
}

fn compute_optimal_md(m: &mut String, a: &Analysis, b: &Binned) {
    let r = a.results;
    let kind = b.bins.kind.name();
    let bon = a.bon.as_deref().unwrap_or("(no best-of-N)");
    let bon_code = code(bon);
    let _ = writeln!(
        m,
        "## Compute-optimal vs best-of-N ({kind} bins)\n\nFor each bin and budget the strategy is chosen on one half \
         of the problems (2 folds within each bin: its problems, ordered by a hash of the id, alternate) and scored on the other; `held-out` pools both \
         folds. Bin edges come from all problems.\n"
    );
    let co = pooled(&b.choices);
    // Every strategy besides the best-of-N baseline, which has its own column.
    let others: Vec<String> = r.strategies.iter().filter(|s| s.as_str() != bon).cloned().collect();
    let heads: String = others.iter().map(|s| format!(" {} |", code(s))).collect();
    let rule = "---:|".repeat(others.len());
    let cells = |t: &Table, budget: u32| -> String {
        others.iter().map(|s| format!(" {} |", acc(t.get(&(s.clone(), budget))))).collect()
    };
    let _ = writeln!(
        m,
        "| budget | compute-optimal (held-out) | best-of-N {bon_code} |{heads}\n|---:|---:|---:|{rule}"
    );
    for budget in &r.budgets {
        let base = acc(a.overall.get(&(bon.to_string(), *budget)));
        let rest = cells(&a.overall, *budget);
        let _ = writeln!(m, "| {budget} | {} | {base} |{rest}", acc(co.get(budget)));
    }
    let _ = writeln!(
        m,
        "\n| bin | budget | chosen (fold 0 / fold 1) | held-out | fitted on all | best-of-N {bon_code} |{heads}\n\
         |---|---:|---|---:|---|---:|{rule}"
    );
    let name = |s: &Option<String>| s.as_deref().map(code).unwrap_or_else(|| "—".into());
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
        "\n### Efficiency ratio ({kind} bins)\n\nThe {bon_code} budget that matches the compute-optimal held-out \
         accuracy, interpolated on the log₂ budget axis (best-of-N counted as in the figures); ratio = that \
         budget ÷ the compute-optimal budget. `> {max}`: best-of-N never reaches it at the budgets run (no \
         extrapolation); `≤`: already reached at the smallest budget.\n",
        max = a.max_budget()
    );
    if a.bon.is_none() {
        m.push_str("No best-of-N strategy in the results: no efficiency ratio.\n\n");
        return;
    }
    m.push_str(
        "| bin | budget | compute-optimal | best-of-N at this budget | best-of-N budget to match | ratio |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    for bin in 0..=5u8 {
        let (curve, effs) = a.efficiency(Some(b), bin);
        let label = if bin == 0 { "all".to_string() } else { bin.to_string() };
        for e in effs {
            let here =
                curve.iter().find(|(x, _)| *x == e.budget).map_or("—".into(), |(_, v)| format!("{v:.2}"));
            let _ = writeln!(
                m,
                "| {label} | {} | {:.2} | {here} | {} | {} |",
                e.budget,
                e.target,
                describe_needed(e.needed, a.max_budget()),
                describe_ratio(&e, a.max_budget())
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
    let ds = plain(&ds);
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
        let _ = writeln!(s, "{:width$} {cells}", plain(st));
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
            .efficiency(Some(b), 0)
            .1
            .into_iter()
            .map(|e| format!("{}→{}", e.budget, describe_needed(e.needed, a.max_budget())))
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

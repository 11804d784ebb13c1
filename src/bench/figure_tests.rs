//! The report's comparisons with known answers: the efficiency ratio (and "never reaches"),
//! best-of-N means with their subsample spread, the search − best-of-N grid, the
//! sequential:parallel points and best ratio, the findings sentences, stratified folds, and
//! well-formed, escaped SVG and Markdown under hostile names.

use std::collections::BTreeMap;

use super::analysis::{fold_of, stratified_folds, Cell, Needed};
use super::bins::{BinKind, Bins};
use super::compare::{
    describe_needed, describe_ratio, difference_grid, efficiency, mean_curve, Diff, Efficiency,
};
use super::findings::{budget_set, efficiency_findings, search_findings, seqpar_findings};
use super::records::{BenchMeta, Results};
use super::report::render;
use super::seqpar::{self, RatioPoint};

fn row(p: &str, s: &str, budget: u32, correct: bool, est: f64, sub: Option<(f64, f64)>) -> String {
    let mut v = serde_json::json!({
        "problem": p, "strategy": s, "budget": budget, "seed": 0, "answer": "1",
        "correct": correct, "tokens": 10, "gen_equivalents": budget as f64, "wall_ms": 1,
        "mean_score": est, "pass_rate": est,
    });
    if let Some((a, var)) = sub {
        v["subsample_accuracy"] = a.into();
        v["subsample_variance"] = var.into();
        v["subsamples"] = 8.into();
    }
    v.to_string()
}

fn parse(lines: &[String]) -> Results {
    Results::parse(&lines.join("\n"), "results.jsonl").unwrap()
}

fn cells(v: &[(u32, usize, usize)]) -> BTreeMap<u32, Cell> {
    v.iter().map(|&(b, correct, n)| (b, Cell { correct, n, ungraded: 0 })).collect()
}

#[test]
fn efficiency_interpolates_on_log2_and_never_extrapolates() {
    let bon = [(1, 0.2), (2, 0.4), (4, 0.6), (8, 0.8)];
    // Compute-optimal: 0.1 at 1 (best-of-N already there), 0.5 at 2, 0.9 at 4 (never reached).
    let e = efficiency(&bon, &cells(&[(1, 1, 10), (2, 5, 10), (4, 9, 10)]));
    assert_eq!(e.len(), 3);
    assert_eq!(e[0].needed, Needed::AtMost(1.0));
    let Needed::Exactly(x) = e[1].needed else { panic!("{:?}", e[1]) };
    assert!((x - 2f64.powf(1.5)).abs() < 1e-9, "halfway between 2 and 4 on log₂: {x}");
    assert!((e[1].ratio().unwrap() - 2f64.powf(0.5)).abs() < 1e-9);
    assert_eq!(e[2].needed, Needed::Beyond);
    assert_eq!(e[2].ratio(), None);
    assert_eq!(describe_needed(e[2].needed, 8), "> 8");
    assert_eq!(describe_ratio(&e[2], 8), "> 2.00×");
    assert_eq!(describe_needed(e[0].needed, 8), "≤ 1");
    assert_eq!(describe_ratio(&e[1], 8), "1.41×");
    // A curve that dips: the first crossing counts.
    let dip = [(1, 0.5), (2, 0.3), (4, 0.7)];
    let e = efficiency(&dip, &cells(&[(4, 6, 10)]));
    let Needed::Exactly(x) = e[0].needed else { panic!() };
    assert!((x - 2f64.powf(1.75)).abs() < 1e-9, "{x}");
}

#[test]
fn best_of_n_means_use_subsample_accuracy_and_its_spread() {
    let r = parse(&[
        row("a", "best-of-n:weighted", 4, false, 0.5, Some((0.75, 0.09))),
        row("b", "best-of-n:weighted", 4, true, 0.5, Some((0.25, 0.16))),
        row("a", "beam:m=4", 4, true, 0.5, None),
        row("b", "beam:m=4", 4, false, 0.5, None),
    ]);
    let m = mean_curve(&r, |_| true, "best-of-n:weighted", &[4]);
    assert_eq!(m.len(), 1);
    assert!((m[0].mean - 0.5).abs() < 1e-12);
    // √(0.09 + 0.16) / 2 = 0.25.
    assert!((m[0].sd.unwrap() - 0.25).abs() < 1e-12, "{:?}", m[0]);
    let b = mean_curve(&r, |_| true, "beam:m=4", &[4, 8]);
    assert_eq!((b.len(), b[0].mean, b[0].sd, b[0].n), (1, 0.5, None, 2));
}

/// Ten problems, estimate 1 − i/10 (bins of two); best-of-N right on the easy half, beam
/// right on the hard half and on problem 0, at budgets 1 and 4.
fn split_bench() -> Results {
    let mut v = Vec::new();
    for i in 0..10 {
        let p = format!("pocket:L{}:{i}", i / 2 + 1);
        let est = 1.0 - i as f64 / 10.0;
        for budget in [1, 4] {
            v.push(row(&p, "best-of-n:weighted", budget, i < 5, est, None));
            v.push(row(&p, "beam:m=4", budget, i >= 5 || i == 0, est, None));
        }
    }
    parse(&v)
}

#[test]
fn the_difference_grid_is_search_minus_best_of_n_per_bin_and_budget() {
    let r = split_bench();
    let bins = Bins::build(&r, BinKind::Oracle).unwrap();
    let d = difference_grid(&r, &bins, "best-of-n:weighted");
    // Bins 0 (all) … 5, one search strategy, two budgets.
    assert_eq!(d.len(), 6 * 2);
    let at =
        |bin: u8, budget: u32| d.iter().find(|x| x.bin == bin && x.budget == budget).and_then(Diff::diff);
    assert_eq!(at(1, 4), Some(-0.5), "bin 1: beam 1/2, best-of-N 2/2");
    assert_eq!(at(2, 4), Some(-1.0));
    assert_eq!(at(5, 1), Some(1.0));
    assert_eq!(at(3, 4), Some(0.0), "problems 4 and 5: one each");
    assert!((at(0, 4).unwrap() - 0.1).abs() < 1e-12, "all: 0.6 − 0.5");
}

#[test]
fn folds_are_stratified_by_bin_and_pocket_ids_split() {
    // FNV-1a's bare top bit put all ten of these in one fold.
    let ids: Vec<String> = (0..10).map(|i| format!("pocket:L{}:{}", i % 5 + 1, i)).collect();
    let folds: Vec<usize> = ids.iter().map(|p| fold_of(p)).collect();
    assert!(folds.contains(&0) && folds.contains(&1), "{folds:?}");
    let r = split_bench();
    let bins = Bins::build(&r, BinKind::Oracle).unwrap();
    let f = stratified_folds(&bins);
    for b in 1..=5u8 {
        let mine: Vec<usize> = bins.bin.iter().filter(|(_, x)| **x == b).map(|(p, _)| f[p]).collect();
        assert_eq!(mine.iter().filter(|x| **x == 0).count(), 1, "bin {b}: {mine:?}");
    }
}

#[test]
fn revise_specs_sit_at_the_split_they_ran_and_the_best_ratio_prefers_parallel_on_ties() {
    let specs = ["revise:ratio=1:4", "revise:ratio=1", "revise:ratio=4", "revise:ratio=16"];
    let mut v = Vec::new();
    for (i, p) in ["a", "b"].iter().enumerate() {
        v.push(row(p, "best-of-n:weighted", 16, true, 0.5, Some((0.5, 0.25))));
        v.push(row(p, "best-of-n:weighted", 4, i == 0, 0.5, None));
        for (j, s) in specs.iter().enumerate() {
            v.push(row(p, s, 16, j == 2 || (j == 3 && i == 0), 0.5, None));
            v.push(row(p, s, 4, i == 0, 0.5, None));
        }
    }
    let r = parse(&v);
    let pts = seqpar::points(&r, |_| true, Some("best-of-n:weighted"), 16);
    let splits: Vec<(String, f64)> = pts.iter().map(|p| (p.split(), p.ratio())).collect();
    let want = [("best-of-N", 0.0), ("2×8", 0.25), ("4×4", 1.0), ("8×2", 4.0), ("16×1", 16.0)];
    assert_eq!(splits, want.map(|(s, x)| (s.to_string(), x)));
    assert_eq!(pts.iter().map(|p| p.accuracy).collect::<Vec<_>>(), [0.5, 0.0, 0.0, 1.0, 0.5]);
    let best = seqpar::best(&pts).unwrap();
    assert_eq!((best.ratio_label(), best.split()), ("4".to_string(), "8×2".to_string()));
    // At budget 4 ratios 4 and 16 both run 4 revisions × 1 chain: one point, both specs.
    let pts = seqpar::points(&r, |_| true, Some("best-of-n:weighted"), 4);
    assert_eq!(pts.len(), 4, "{pts:?}");
    assert_eq!(pts[3].strategies, ["revise:ratio=4", "revise:ratio=16"]);
    assert_eq!((pts[3].n, pts[3].ratio_label(), pts[1].ratio_label()), (4, "4".into(), "1/4".into()));
    // Everything ties at 0.5: best-of-N, the most parallel, wins.
    assert!(seqpar::best(&pts).unwrap().is_best_of_n());
    let md = render(&r).markdown;
    assert!(md.contains("| `revise:ratio=1:4` | 1×4 | 2×8 |\n| `revise:ratio=1` | 2×2 | 4×4 |"), "{md}");
    assert!(md.contains("| all | 0 (best-of-N) 0.50 | 4 (8×2) 1.00 |"), "{md}");
}

fn diff(bin: u8, budget: u32, search: f64, bon: f64) -> Diff {
    Diff { bin, budget, strategy: "beam".into(), search: Some(search), bon: Some(bon) }
}

#[test]
fn findings_sentences_come_from_the_numbers() {
    let all = [1, 4, 16, 64];
    assert_eq!(budget_set(&[1, 4], &all), "budgets ≤ 4");
    assert_eq!(budget_set(&[16, 64], &all), "budgets ≥ 16");
    assert_eq!(budget_set(&[4, 16], &all), "budgets 4, 16");
    assert_eq!(budget_set(&[1, 4, 16], &all[..3]), "every budget");
    assert_eq!(budget_set(&[4], &all), "budget 4");
    let mut d = Vec::new();
    for bin in 1..=5u8 {
        for (budget, hard, easy) in [(1, 0.3, 0.0), (4, 0.1, 0.0), (16, 0.0, -0.1), (64, -0.1, -0.3)] {
            let gap = if bin >= 3 { hard } else { easy };
            d.push(diff(bin, budget, 0.5 + gap, 0.5));
        }
    }
    let name = |s: &str| format!("`{s}`");
    let s = search_findings("oracle", "bon", &d, &all, &name);
    assert_eq!(
        s,
        ["On oracle bins 3–5, `beam` is ahead of `bon` at budgets ≤ 4 by 20.0 points on average; on bins 1–2 \
          `bon` is ahead at budgets ≥ 16 by 20.0 points on average. Largest gaps: +30.0 points (bin 3, budget 1) \
          and -30.0 points (bin 1, budget 64)."]
    );
    let co = |budget, target, needed| Efficiency { budget, target, needed };
    let bon = [(1, 0.2), (4, 0.5), (16, 0.6), (64, 0.7)];
    let effs = [
        co(1, 0.2, Needed::AtMost(1.0)),
        co(4, 0.6, Needed::Exactly(16.0)),
        co(16, 0.7, Needed::Exactly(64.0)),
        co(64, 0.8, Needed::Beyond),
    ];
    let s = efficiency_findings("model", "bon", &effs, &bon);
    assert_eq!(s[0], "Compute-optimal (model bins, held-out) needs budget 16 (0.70) to match bon at budget 64 (0.70): ratio 4.0×.");
    assert!(s[1].contains("4.00× at budget 4"), "{s:?}");
    assert!(s[2].starts_with("At budget 64 (model bins) bon does not match"), "{s:?}");
    let none = efficiency_findings("model", "bon", &effs[..1], &[(1, 0.9)]);
    assert!(none[0].contains("does not reach"), "{none:?}");
    let p =
        |revisions, chains, accuracy| RatioPoint { strategies: vec![], chains, revisions, accuracy, n: 1 };
    let s =
        seqpar_findings("oracle", &[(0, 4, p(0, 4, 0.5)), (0, 16, p(8, 2, 0.75)), (5, 16, p(2, 8, 0.25))]);
    assert_eq!(
        s,
        [
            "Most accurate sequential:parallel ratio (revisions ÷ chains) over all problems, by budget: 4: 0 \
             (best-of-N, 0.50); 16: 4 (8×2, 0.75).",
            "At budget 16, by oracle bin: bin 5: 1/4 (2×8, 0.25).",
        ]
    );
}

/// Tags balance, text has no raw `<` or control characters, every `&` starts an entity.
fn well_formed(svg: &str) -> Result<(), String> {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = svg;
    let mut roots = 0;
    let text_ok = |t: &str| -> Result<(), String> {
        if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err(format!("control character in {t:?}"));
        }
        for (i, _) in t.match_indices('&') {
            let tail = &t[i..];
            let ok = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].iter().any(|e| tail.starts_with(e));
            if !ok {
                return Err(format!("bare & in {t:?}"));
            }
        }
        Ok(())
    };
    while let Some(open) = rest.find('<') {
        text_ok(&rest[..open])?;
        let close = rest[open..].find('>').ok_or("unclosed tag")? + open;
        let tag = &rest[open + 1..close];
        if tag.contains('<') {
            return Err(format!("< inside a tag: {tag:?}"));
        }
        text_ok(tag)?;
        if let Some(name) = tag.strip_prefix('/') {
            let top = stack.pop().ok_or(format!("</{name}> closes nothing"))?;
            if top != name.trim() {
                return Err(format!("<{top}> closed by </{name}>"));
            }
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap_or("").to_string();
            if stack.is_empty() {
                roots += 1;
            }
            stack.push(name);
        } else if stack.is_empty() {
            return Err("element outside the root".into());
        }
        rest = &rest[close + 1..];
    }
    text_ok(rest)?;
    if !stack.is_empty() || roots != 1 || !rest.trim().is_empty() {
        return Err(format!("open: {stack:?}, roots {roots}, trailing {rest:?}"));
    }
    Ok(())
}

#[test]
fn the_checker_refuses_broken_svg() {
    assert!(well_formed("<svg><g></svg>").is_err());
    assert!(well_formed("<svg><text>a < b</text></svg>").is_err());
    assert!(well_formed("<svg><text>a & b</text></svg>").is_err());
    assert!(well_formed("<svg><text>\u{1b}[31m</text></svg>").is_err());
    assert!(well_formed("<svg><text>a &amp; b</text><rect/></svg>\n").is_ok());
}

#[test]
fn every_figure_is_well_formed_and_hostile_names_are_escaped() {
    let evil = "beam:m=4<script>alert(1)</script>&\u{1b}[31m|`";
    let mut v = Vec::new();
    for i in 0..10 {
        let p = format!("p{i}\u{1b}]0;x\u{7}");
        for budget in [1, 2, 4] {
            for s in ["best-of-n:weighted", "beam:m=4", "revise:ratio=1", "revise:ratio=1:4", evil] {
                v.push(row(&p, s, budget, (i + budget as usize) % 3 == 0, i as f64 / 10.0, None));
            }
        }
    }
    let mut r = parse(&v);
    r.meta = Some(BenchMeta { dataset: Some("<b>data</b>\u{1b}[2J".into()), ..Default::default() });
    let out = render(&r);
    assert!(out.svgs.iter().any(|(n, _)| n == "fig7-seq-par-oracle.svg"));
    for (name, svg) in &out.svgs {
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{name}");
        well_formed(svg).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!svg.contains("<script") && !svg.contains("<b>"), "{name}");
    }
    let all_svg: String = out.svgs.iter().map(|(_, s)| s.as_str()).collect();
    assert!(all_svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;&amp;[31m|`"));
    for text in [&out.markdown, &out.summary] {
        assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "{text}");
    }
    // Outside code spans (where Markdown shows text literally) no raw HTML is left.
    let outside: String = out.markdown.split('`').step_by(2).collect();
    let tag = outside.match_indices('<').any(|(i, _)| {
        outside[i + 1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!')
    });
    assert!(!tag, "{outside}");
    assert!(out.markdown.contains("# Bench report: &lt;b&gt;data&lt;/b&gt;\\[2J"), "{}", out.markdown);
    // The pipe in a strategy name is escaped, so table rows keep their columns.
    assert!(out.markdown.contains("`beam:m=4<script>alert(1)</script>&[31m\\|'`"), "{}", out.markdown);
    for (name, csv) in &out.csvs {
        let header = csv.lines().next().unwrap().matches(',').count();
        assert!(csv.lines().all(|l| l.matches(',').count() >= header), "{name}");
    }
}

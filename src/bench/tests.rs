//! Synthetic bench results: bins, accuracy, the cross-validated choice, the
//! efficiency ratio, bad input, and a fitted policy that parses back.

use super::analysis::{accuracy, budget_to_match, cross_validate, fold_of, pooled, Cell, Needed};
use super::bins::{bin_of, quantile_edges, BinKind, Bins};
use super::fit::{entry_for, fit_table, fit_text};
use super::records::Results;
use super::report::render;
use crate::spec::{DifficultyMethod, PolicyTable, StrategyKind};

const BON: &str = "best-of-n:weighted";
const BEAM: &str = "beam:m=4";

fn line(p: &str, s: &str, budget: u32, seed: u64, correct: Option<bool>, est: Option<f64>) -> String {
    serde_json::json!({
        "problem": p, "strategy": s, "budget": budget, "seed": seed,
        "answer": correct.map(|c| if c { "12" } else { "7" }),
        "correct": correct, "tokens": 100 * budget, "gen_equivalents": budget as f64, "wall_ms": 5,
        "mean_score": est, "pass_rate": correct.and(est),
    })
    .to_string()
}

/// Problem ids whose folds alternate 0, 1, 0, 1, … so every bin of four has both folds.
fn ids(n: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut j = 0;
    while out.len() < n {
        let id = format!("q{j}");
        if fold_of(&id) == out.len() % 2 {
            out.push(id);
        }
        j += 1;
    }
    out
}

/// 20 problems, estimate 1 − i/20 for problem i. On the easy half best-of-N is always
/// right and beam only on seed 0; on the hard half beam is always right, best-of-N never.
fn synthetic() -> Results {
    let mut text = String::new();
    for (i, p) in ids(20).iter().enumerate() {
        let est = 1.0 - i as f64 / 20.0;
        let easy = i < 10;
        for budget in [1, 4] {
            for seed in 0..2 {
                text += &line(p, BON, budget, seed, Some(easy), Some(est));
                text.push('\n');
                text += &line(p, BEAM, budget, seed, Some(!easy || seed == 0), Some(est));
                text.push('\n');
            }
        }
    }
    Results::parse(&text, "results.jsonl").unwrap()
}

#[test]
fn folds_split_numbered_ids_roughly_in_half() {
    let zeros = (0..200).filter(|i| fold_of(&format!("math500/{i}")) == 0).count();
    assert!((70..=130).contains(&zeros), "{zeros}");
}

#[test]
fn quantile_edges_interpolate_between_order_statistics() {
    let v: Vec<f64> = (0..10).map(|i| i as f64 / 10.0).rev().collect();
    let e = quantile_edges(&v);
    for (got, want) in e.iter().zip([0.18, 0.36, 0.54, 0.72]) {
        assert!((got - want).abs() < 1e-12, "{e:?}");
    }
    assert_eq!(bin_of(&e, e[3]), 1, "a value on an edge goes to the easier bin");
    assert_eq!(bin_of(&e, 0.71), 2);
    assert_eq!(bin_of(&e, e[0]), 4);
    assert_eq!(bin_of(&e, 0.17), 5);
    assert_eq!(bin_of(&e, 0.0), 5);
    let b = Bins::build(&synthetic(), BinKind::Oracle).unwrap();
    // Estimates 0.05 … 1.0: the 20th percentile sits at order statistic 3.8.
    assert!((b.edges[0] - 0.24).abs() < 1e-9 && (b.edges[3] - 0.81).abs() < 1e-9, "{:?}", b.edges);
    assert_eq!((1..=5).map(|k| b.count(k)).collect::<Vec<_>>(), [4, 4, 4, 4, 4]);
}

#[test]
fn oracle_estimates_come_from_the_largest_best_of_n_budget_averaged_over_seeds() {
    let text = [
        line("a", BON, 1, 0, Some(true), Some(0.9)),
        line("a", BON, 8, 0, Some(true), Some(0.2)),
        line("a", BON, 8, 1, Some(true), Some(0.4)),
        line("a", BEAM, 16, 0, Some(true), Some(1.0)),
    ]
    .join("\n");
    let r = Results::parse(&text, "r").unwrap();
    let e = super::bins::estimates(&r, BinKind::Oracle);
    assert!((e["a"] - 0.3).abs() < 1e-12, "{e:?}");
}

#[test]
fn accuracy_is_the_mean_over_problems_and_seeds_without_ungraded_rows() {
    let r = synthetic();
    let t = accuracy(&r, |_| true);
    // Best-of-N: 10 easy problems × 2 seeds right out of 40.
    assert_eq!(t[&(BON.to_string(), 4)], Cell { correct: 20, n: 40, ungraded: 0 });
    // Beam: 20 hard + 10 easy (seed 0) = 30 of 40.
    assert_eq!(t[&(BEAM.to_string(), 1)].accuracy(), Some(0.75));
    let text = [line("a", BON, 1, 0, Some(true), None), line("b", BON, 1, 0, None, None)].join("\n");
    let t = accuracy(&Results::parse(&text, "r").unwrap(), |_| true);
    assert_eq!(t[&(BON.to_string(), 1)], Cell { correct: 1, n: 1, ungraded: 1 });
}

#[test]
fn cross_validation_chooses_beam_on_hard_bins_and_best_of_n_on_easy_ones() {
    let r = synthetic();
    let bins = Bins::build(&r, BinKind::Oracle).unwrap();
    let choices = cross_validate(&r, &bins);
    assert_eq!(choices.len(), 5 * 2);
    for c in choices.iter().filter(|c| c.budget == 4) {
        let want = if c.bin <= 2 {
            BON
        } else if c.bin >= 4 {
            BEAM
        } else {
            continue;
        };
        assert_eq!(c.folds, [Some(want.to_string()), Some(want.to_string())], "bin {}", c.bin);
        assert_eq!(c.fitted.as_deref(), Some(want));
        assert_eq!(c.held_out.accuracy(), Some(1.0), "bin {}", c.bin);
    }
    // Overall the compute-optimal choice beats both single strategies (0.5 and 0.75).
    let co = pooled(&choices)[&4].accuracy().unwrap();
    assert!(co > 0.75, "{co}");
}

#[test]
fn the_efficiency_ratio_interpolates_on_the_log2_budget_axis() {
    let c = [(1, 0.2), (2, 0.4), (4, 0.6), (8, 0.8)];
    let exactly = |target: f64| match budget_to_match(&c, target) {
        Needed::Exactly(b) => b,
        other => panic!("{other:?}"),
    };
    // 0.5 lies halfway between budgets 2 and 4 on the log₂ axis: 2^1.5.
    assert!((exactly(0.5) - 2f64.powf(1.5)).abs() < 1e-9);
    assert!((exactly(0.7) - 2f64.powf(2.5)).abs() < 1e-9);
    assert!((exactly(0.8) - 8.0).abs() < 1e-9);
    assert_eq!(budget_to_match(&c, 0.1), Needed::AtMost(1.0));
    assert_eq!(budget_to_match(&c, 0.9), Needed::Beyond);
    assert_eq!(Needed::Exactly(2f64.powf(1.5)).ratio(2), "1.41×");
    assert_eq!(Needed::Beyond.describe(), "beyond the largest budget");
    // In the synthetic bench best-of-N is flat at 0.5: it never matches compute-optimal.
    let md = render(&synthetic()).markdown;
    assert!(md.contains("| all | 4 | 0.95 | 0.50 | > 4 | > 1.00× |"), "{md}");
}

#[test]
fn an_incomplete_last_line_is_ignored_and_a_broken_middle_line_is_not() {
    let good = line("a", BON, 1, 0, Some(true), Some(0.5));
    let text = format!("{good}\n{good}\n{{\"problem\": \"a\", \"strat");
    let r = Results::parse(&text, "r").unwrap();
    assert!(r.truncated);
    assert_eq!(r.rows.len(), 1, "the duplicate line counts once");
    let e = Results::parse(&format!("{good}\nnot json\n{good}\n"), "r.jsonl").unwrap_err();
    assert!(e.starts_with("r.jsonl:2:"), "{e}");
    assert!(render(&r).markdown.contains("incomplete"));
}

#[test]
fn without_gold_oracle_bins_are_impossible_and_model_bins_still_work() {
    let text: Vec<String> =
        (0..10).map(|i| line(&format!("p{i}"), BON, 1, 0, None, Some(i as f64 / 10.0))).collect();
    let r = Results::parse(&text.join("\n"), "r").unwrap();
    let e = Bins::build(&r, BinKind::Oracle).unwrap_err();
    assert!(e.contains("oracle difficulty bins are impossible"), "{e}");
    assert_eq!(Bins::build(&r, BinKind::Model).unwrap().count(1), 2);
    let out = render(&r);
    assert!(out.markdown.contains("oracle difficulty bins are impossible"));
    assert!(out.markdown.contains("### model-predicted"));
    assert!(out.summary.contains("impossible"));
    assert!(out.markdown.contains("10 lines have no gold"));
    assert!(fit_table(&r).unwrap_err().contains("gold"));
}

#[test]
fn the_fitted_policy_parses_back_and_chooses_by_bin_and_budget() {
    let r = synthetic();
    let text = fit_text(&r, "bench/dir").unwrap();
    let t = PolicyTable::parse(&text, "policy.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    let fitted = t.fitted.as_ref().expect("version 2");
    assert_eq!(fitted.difficulty, DifficultyMethod::Model);
    assert_eq!(fitted.budgets, [1, 4]);
    assert!(text.contains("version = 2"), "{text}");
    assert_eq!(t.bins.len(), 10);
    let hard = t.choose(5, 4);
    assert_eq!((hard.strategy, hard.width, hard.budget), (StrategyKind::Beam, Some(4), Some(4)));
    assert_eq!(t.choose(1, 4).strategy, StrategyKind::BestOfN);
    assert_eq!(t.choose(1, 2).budget, Some(1), "a budget between the stored ones takes the one below");
    assert_eq!(t.choose(1, 100).budget, Some(4));
    assert_eq!(t.bin_by_edges(0.99), Some(1));
    assert_eq!(t.bin_by_edges(0.0), Some(5));
    let v1 = PolicyTable::parse(crate::spec::HEURISTIC_POLICY, "v1").unwrap();
    assert_eq!(v1.bin_by_edges(0.5), None, "a version 1 table bins by fixed thresholds");
    // A version-2 table missing one bin × budget is refused.
    let broken = text.replacen("[[bins]]", "[[removed]]", 1);
    assert!(PolicyTable::parse(&broken, "p").is_err());
    let (table, _) = fit_table(&r).unwrap();
    assert!(table.bins.iter().all(|e| e.spec.is_some() && e.reason.contains("held-out")));
}

#[test]
fn specs_map_to_policy_knobs() {
    let e = entry_for("revise:ratio=4", 16).unwrap();
    assert_eq!((e.strategy, e.chains), (StrategyKind::Revise, Some(2)));
    let e = entry_for("lookahead:k=1", 8).unwrap();
    assert_eq!((e.strategy, e.lookahead), (StrategyKind::Lookahead, Some(1)));
    assert_eq!(entry_for("dvts:m=4", 8).unwrap().width, Some(4));
    let e = entry_for("best-of-n:majority", 8).unwrap();
    assert_eq!(
        (e.strategy, e.selection),
        (StrategyKind::BestOfN, Some(crate::spec::SelectionRule::Majority))
    );
    // The knobs the bench ran: 1:4 is four times as parallel (16 = 8 chains × 2 revisions).
    assert_eq!(entry_for("revise:ratio=1:4", 16).unwrap().chains, Some(8));
    assert_eq!(entry_for("beam:m=4:sel=best", 8).unwrap().selection, Some(crate::spec::SelectionRule::Best));
    assert!(entry_for("adaptive", 8).is_err());
    assert!(entry_for("beam:m=x", 8).is_err());
}

#[test]
fn report_and_fit_write_their_files() {
    let dir = std::env::temp_dir().join(format!("ttc-bench-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = String::new();
    for row in &synthetic().rows {
        text += &line(&row.problem, &row.strategy, row.budget, row.seed, row.correct, row.mean_score);
        text.push('\n');
    }
    std::fs::write(dir.join("results.jsonl"), text).unwrap();
    std::fs::write(
        dir.join("bench.json"),
        r#"{"dataset": "synthetic", "strategies": ["beam:m=4", "best-of-n:weighted"]}"#,
    )
    .unwrap();
    super::report::report(&dir).unwrap();
    let csv = std::fs::read_to_string(dir.join("accuracy.csv")).unwrap();
    assert!(csv.starts_with("bin_kind,bin,strategy,budget,accuracy,n\n"));
    assert!(csv.contains("all,all,best-of-n:weighted,4,0.500000,40\n"), "{csv}");
    assert!(csv.contains("oracle,5,compute-optimal,4,1.000000,8\n"), "{csv}");
    assert!(std::fs::read_to_string(dir.join("accuracy-model-bin1.svg")).unwrap().starts_with("<svg"));
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.starts_with("# Bench report: synthetic"));
    assert!(md.contains("![Accuracy against budget, all problems](accuracy.svg)"));
    assert!(md.contains("[bin 5](accuracy-oracle-bin5.svg)"));
    // bench.json's order decides the columns.
    assert!(md.contains("| strategy | 1 | 4 |\n|---|---:|---:|\n| `beam:m=4` |"), "{md}");
    super::fit::fit(&dir, &dir.join("policy.toml")).unwrap();
    let p = std::fs::read_to_string(dir.join("policy.toml")).unwrap();
    assert!(p.contains("dataset synthetic") && PolicyTable::parse(&p, "p").is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn charts_put_budgets_on_a_log2_axis_and_draw_compute_optimal_dashed() {
    use super::svg::{chart, x_of, y_of, Series};
    // 1, 2, 4: equally spaced; 2 halfway between.
    assert_eq!(x_of(2, 1, 4), (x_of(1, 1, 4) + x_of(4, 1, 4)) / 2.0);
    assert!(y_of(1.0) < y_of(0.0));
    let s = chart(
        "a <b>",
        &[1, 2, 4],
        &[
            Series { label: "beam:m=4".into(), points: vec![(1, 0.5), (4, 1.0)], emphasis: false },
            Series { label: "compute-optimal".into(), points: vec![(1, 1.0)], emphasis: true },
        ],
    );
    assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
    assert!(s.contains("a &lt;b&gt;") && s.contains(">beam:m=4</text>"));
    assert_eq!(s.matches("<polyline").count(), 2);
    assert_eq!(s.matches("stroke-dasharray").count(), 2, "line and legend");
    let out = render(&synthetic());
    let names: Vec<&str> = out.svgs.iter().map(|(n, _)| n.as_str()).collect();
    // 1 + 2 × 5 accuracy charts, then per kind of bins: Fig. 3 (lines, grid), Fig. 4 (lines, ratio).
    assert_eq!(names.len(), 11 + 2 * 4, "{names:?}");
    assert!(names.contains(&"fig3-search-diff-model.svg") && names.contains(&"fig4-efficiency-oracle.svg"));
    assert!(!names.iter().any(|n| n.starts_with("fig7")), "no revise spec, no sequential figure");
    assert!(names.contains(&"accuracy.svg") && names.contains(&"accuracy-oracle-bin5.svg"));
}

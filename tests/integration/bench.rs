//! `ttc bench` end to end on the embedded model: the results file, resuming, a cut-short
//! last line, refusing to mix configurations, and bad input.

use std::path::{Path, PathBuf};
use std::process::Output;

/// Run `ttc` with `args`, isolated from the user's config and environment.
fn ttc(args: &[&str]) -> Output {
    let home = std::env::temp_dir().join(format!("ttc-bench-home-{}", std::process::id()));
    super::isolated::command(&home).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn fresh_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ttc-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

const KEYS: [&str; 11] = [
    "answer",
    "budget",
    "correct",
    "gen_equivalents",
    "mean_score",
    "pass_rate",
    "problem",
    "seed",
    "strategy",
    "tokens",
    "wall_ms",
];

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn bench(out: &Path, budgets: &str) -> Output {
    ttc(&[
        "bench",
        "--backend",
        "pocket",
        "--dataset",
        "pocket",
        "--problems",
        "2",
        "--strategies",
        "best-of-n:weighted,beam:m=4",
        "--budgets",
        budgets,
        "--out",
        out.to_str().unwrap(),
    ])
}

#[test]
fn a_bench_writes_one_line_per_item_resumes_and_redoes_a_cut_short_line() {
    let dir = fresh_dir("resume");
    let o = bench(&dir, "1,2");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let results = dir.join("results.jsonl");
    let first = std::fs::read_to_string(&results).unwrap();
    let rows = lines(&results);
    assert_eq!(rows.len(), 8, "{first}");
    let mut seen = std::collections::HashSet::new();
    for r in &rows {
        let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, KEYS);
        assert!(r["problem"].as_str().unwrap().starts_with("pocket:L"));
        assert!(["best-of-n:weighted", "beam:m=4"].contains(&r["strategy"].as_str().unwrap()));
        assert!(r["correct"].is_boolean() && r["pass_rate"].is_number() && r["mean_score"].is_number());
        assert!(r["tokens"].as_u64().unwrap() > 0 && r["gen_equivalents"].as_f64().unwrap() > 0.0);
        assert!(seen.insert((
            r["problem"].clone(),
            r["strategy"].clone(),
            r["budget"].clone(),
            r["seed"].clone()
        )));
    }
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("bench.json")).unwrap()).unwrap();
    assert_eq!(config["dataset"], "pocket");
    assert_eq!(config["problems"], 2);
    assert_eq!(config["budgets"], serde_json::json!([1, 2]));
    assert_eq!(config["seeds"], serde_json::json!([0]));
    assert_eq!(config["strategies"], serde_json::json!(["best-of-n:weighted", "beam:m=4"]));
    assert_eq!(
        (config["backend"].as_str(), config["verifier"].as_str()),
        (Some("pocket"), Some("pocket-prm"))
    );

    // The same command again does nothing new and leaves the file as it was.
    let o = bench(&dir, "1,2");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("0 new, 8 already done"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&results).unwrap(), first);

    // A last line cut short (a kill mid-write) is dropped and that item redone.
    std::fs::write(&results, &first[..first.len() - 20]).unwrap();
    let o = bench(&dir, "1,2");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("1 new, 7 already done"), "{}", stderr(&o));
    assert_eq!(lines(&results).len(), 8);
    assert!(std::fs::read_to_string(&results).unwrap().ends_with('\n'));

    // Another configuration into the same directory is refused, naming what differs.
    let o = bench(&dir, "1,2,4");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("another configuration (differing: budgets)"), "{}", stderr(&o));
    assert_eq!(lines(&results).len(), 8);

    // The directory reads back: a report (Markdown, CSV, charts) and a fitted policy that a
    // run of the adaptive strategy accepts.
    let d = dir.to_str().unwrap();
    let o = ttc(&["bench", "report", d]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for f in ["report.md", "accuracy.csv", "accuracy.svg"] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let csv = std::fs::read_to_string(dir.join("accuracy.csv")).unwrap();
    assert!(csv.starts_with("bin_kind,bin,strategy,budget,accuracy,n"), "{csv}");
    assert!(csv.contains("beam:m=4"), "{csv}");
    let policy = dir.join("policy.toml");
    let o = ttc(&["bench", "fit", d, "--out", policy.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&policy).unwrap();
    assert!(text.contains("version = 2") && text.contains("budgets = [1, 2]"), "{text}");
    let o = ttc(&[
        "run",
        "--backend",
        "pocket",
        "--strategy",
        "adaptive",
        "-n",
        "2",
        "--policy",
        policy.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let run: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(run["difficulty"]["reason"].as_str().unwrap().contains("bin"), "{run}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_specs_and_budgets_exit_2_naming_the_valid_form() {
    let dir = fresh_dir("bad");
    let out = dir.to_str().unwrap();
    for (flag, value, says) in [
        ("--strategies", "greedy", "unknown strategy \"greedy\""),
        ("--strategies", "beam:k=2", "beam has no knob \"k\""),
        ("--strategies", "best-of-n:fancy", "unknown selection rule"),
        ("--budgets", "0,1", "budgets are whole numbers in 1..=1024"),
        ("--budgets", "-4", "budgets are whole numbers in 1..=1024"),
        ("--dataset", "pocket:7", "levels are 1–5"),
    ] {
        let mut args = vec!["bench", "--backend", "pocket", "--dataset", "pocket", "--out", out];
        if flag == "--dataset" {
            args[4] = value;
        } else {
            args.extend([flag, value]);
        }
        let o = ttc(&args);
        assert_eq!(o.status.code(), Some(2), "{value}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(says), "{value}: {err}");
        if flag == "--strategies" {
            assert!(err.contains("valid: best-of-n[:weighted|majority|best], beam[:m=M]"), "{err}");
        }
    }
    assert!(!dir.join("results.jsonl").exists());
}

#[test]
fn a_dataset_without_gold_answers_still_benches_and_says_what_is_impossible() {
    let dir = fresh_dir("nogold");
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("plain.jsonl");
    std::fs::write(&data, "{\"problem\": \"Start at 5. Add 3.\"}\n").unwrap();
    let out = dir.join("out");
    let o = ttc(&[
        "bench",
        "--backend",
        "pocket",
        "--dataset",
        data.to_str().unwrap(),
        "--strategies",
        "best-of-n",
        "--budgets",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("correctness (oracle) difficulty bins are impossible"), "{}", stderr(&o));
    let rows = lines(&out.join("results.jsonl"));
    assert_eq!(rows.len(), 1);
    assert!(rows[0]["correct"].is_null() && rows[0]["pass_rate"].is_null());
    assert!(rows[0]["mean_score"].is_number());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn subsampled_best_of_n_matches_a_run_per_budget_and_reports_the_variance() {
    let dir = fresh_dir("subsample");
    let run = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "bench",
            "--backend",
            "pocket",
            "--dataset",
            "pocket:2",
            "--problems",
            "2",
            "--strategies",
            "best-of-n:weighted,best-of-n:majority",
            "--budgets",
            "1,2,4",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        let o = ttc(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let mut rows = lines(&out.join("results.jsonl"));
        rows.sort_by_key(|r| (r["problem"].to_string(), r["strategy"].to_string(), r["budget"].as_u64()));
        rows
    };
    let sampled = run(&dir.join("sampled"), &["--subsample", "4"]);
    let plain = run(&dir.join("plain"), &[]);
    assert_eq!(sampled.len(), 12);
    assert_eq!(plain.len(), 12);
    for (s, p) in sampled.iter().zip(&plain) {
        // The first B of N_max samples are what a run with N = B draws.
        for k in ["problem", "strategy", "budget", "answer", "correct", "tokens", "pass_rate"] {
            assert_eq!(s[k], p[k], "{k}: {s} vs {p}");
        }
        let acc = s["subsample_accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&acc) && s["subsample_variance"].as_f64().unwrap() >= 0.0, "{s}");
        let expected = if s["budget"] == 4 { 1 } else { 4 };
        assert_eq!(s["subsamples"], expected, "{s}");
        assert!(p.get("subsamples").is_none());
    }
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sampled/bench.json")).unwrap()).unwrap();
    assert_eq!(config["subsample"], 4);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn strategies_can_be_added_to_a_results_directory() {
    let dir = fresh_dir("extend");
    let d = dir.to_str().unwrap().to_string();
    let run = |strategies: &str| {
        ttc(&[
            "bench",
            "--backend",
            "pocket",
            "--dataset",
            "pocket",
            "--problems",
            "2",
            "--budgets",
            "1",
            "--strategies",
            strategies,
            "--out",
            &d,
        ])
    };
    let o = run("beam:m=4");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let results = dir.join("results.jsonl");
    let first = std::fs::read_to_string(&results).unwrap();
    let o = run("best-of-n:weighted,beam:m=4");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("adding best-of-n:weighted"), "{}", stderr(&o));
    assert!(stderr(&o).contains("2 new, 2 already done"), "{}", stderr(&o));
    // The old lines stay as they were; the configuration now lists both.
    assert!(std::fs::read_to_string(&results).unwrap().starts_with(&first));
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("bench.json")).unwrap()).unwrap();
    assert_eq!(config["strategies"], serde_json::json!(["best-of-n:weighted", "beam:m=4"]));
    // Dropping one is another configuration.
    let o = run("beam:m=4");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("differing: strategies"), "{}", stderr(&o));
}

#[test]
fn the_confidence_window_and_cut_off_are_part_of_the_results_directory() {
    let dir = fresh_dir("confidence-window");
    let d = dir.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "bench",
            "--backend",
            "pocket",
            "--dataset",
            "pocket:1",
            "--problems",
            "1",
            "--strategies",
            "best-of-n:majority",
            "--budgets",
            "2",
            "--verifier",
            "confidence",
            "--out",
            d,
        ];
        args.extend_from_slice(extra);
        ttc(&args)
    };
    let o = run(&["--confidence-window", "8", "--confidence-cutoff", "0.2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("bench.json")).unwrap()).unwrap();
    assert_eq!(
        (config["confidence_window"].as_u64(), config["confidence_cutoff"].as_f64()),
        (Some(8), Some(0.2))
    );
    // The same settings resume; another window or cut-off is another configuration.
    let o = run(&["--confidence-window", "8", "--confidence-cutoff", "0.2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(&["--confidence-window", "16", "--confidence-cutoff", "0.2"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("confidence_window)"), "{}", stderr(&o));
    let o = run(&["--confidence-window", "8"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("differing: confidence_cutoff"), "{}", stderr(&o));
    // Out of range: exit 2 naming the range.
    let o = run(&["--confidence-window", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("1") && stderr(&o).contains("4096"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

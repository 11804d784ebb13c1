//! `grade_response` on real model outputs against careful human verdicts.
//!
//! tests/data/processbench_grade.jsonl: 312 solutions written by real models (ProcessBench),
//! each with the gold answer (MATH-500 or GSM8K) and the verdict on its final answer.

use std::time::Instant;

use serde_json::Value;
use ttc::grade::grade_response;

struct Case {
    id: String,
    generator: String,
    gold: String,
    pred: String,
    verdict: bool,
}

fn load(text: &str) -> Vec<Case> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("test data is JSON");
            let s = |k: &str| v[k].as_str().expect("string field").to_string();
            Case {
                id: s("id"),
                generator: s("generator"),
                gold: s("gold"),
                pred: s("pred"),
                verdict: v["verdict"].as_bool().expect("verdict"),
            }
        })
        .collect()
}

/// Agreement of `grade_response` with the verdicts, and the disagreements as report lines.
fn agreement(cases: &[&Case]) -> (usize, Vec<String>) {
    let mut agree = 0;
    let mut wrong = Vec::new();
    for c in cases {
        let g = grade_response(&c.pred, &c.gold);
        if g.equal == c.verdict {
            agree += 1;
        } else {
            let (answer, rule) = g.pred.map_or(("<none>".to_string(), "none"), |p| (p.answer, p.rule.name()));
            wrong.push(format!(
                "{} ({}): verdict {} but graded {}; extracted {:?} by {} vs gold {:?}",
                c.id, c.generator, c.verdict, g.equal, answer, rule, g.gold.answer
            ));
        }
    }
    (agree, wrong)
}

fn id_number(id: &str) -> usize {
    id.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

fn report(name: &str, cases: &[&Case]) -> f64 {
    let (agree, wrong) = agreement(cases);
    let rate = agree as f64 / cases.len().max(1) as f64;
    eprintln!("{name}: {agree}/{} = {:.1}%", cases.len(), 100.0 * rate);
    for w in &wrong {
        eprintln!("  {w}");
    }
    rate
}

#[test]
fn real_model_outputs_agree_with_human_verdicts() {
    let cases = load(include_str!("data/processbench_grade.jsonl"));
    assert!(cases.len() >= 300, "{} cases", cases.len());
    // Both verdicts are well represented, so a grader that always says "equal" (or never)
    // lands near 50% and fails the bar below.
    let correct = cases.iter().filter(|c| c.verdict).count();
    assert!(correct * 10 >= cases.len() * 4 && correct * 10 <= cases.len() * 6, "{correct} correct");
    let all: Vec<&Case> = cases.iter().collect();
    let (agree, wrong) = agreement(&all);
    let rate = agree as f64 / cases.len() as f64;
    assert!(
        rate >= 0.90,
        "agreement {agree}/{} = {:.1}% < 90%; disagreements:\n{}",
        cases.len(),
        100.0 * rate,
        wrong.join("\n")
    );
    for part in ["math", "gsm8k"] {
        let sub: Vec<&Case> = cases.iter().filter(|c| c.id.starts_with(part)).collect();
        let (agree, wrong) = agreement(&sub);
        assert!(
            agree as f64 >= 0.85 * sub.len() as f64,
            "{part}: {agree}/{}:\n{}",
            sub.len(),
            wrong.join("\n")
        );
    }
}

/// Held-out figures: `cargo test --test grade_real -- --ignored --nocapture`.
/// With `TTC_PROCESSBENCH` naming a file made by `tests/data/make_processbench_grade.py --all`,
/// every matched item is measured too.
#[test]
#[ignore = "a measurement: prints agreement on the tuning and held-out halves"]
fn held_out_agreement() {
    let cases = load(include_str!("data/processbench_grade.jsonl"));
    let even: Vec<&Case> = cases.iter().filter(|c| id_number(&c.id) % 2 == 0).collect();
    let odd: Vec<&Case> = cases.iter().filter(|c| id_number(&c.id) % 2 == 1).collect();
    report("tuning half (even ids)", &even);
    report("held-out half (odd ids)", &odd);
    if let Ok(path) = std::env::var("TTC_PROCESSBENCH") {
        let text = std::fs::read_to_string(&path).expect("TTC_PROCESSBENCH file");
        let more = load(&text);
        let all: Vec<&Case> = more.iter().collect();
        let held: Vec<&Case> = more.iter().filter(|c| id_number(&c.id) % 2 == 1).collect();
        report("all matched items, held-out half (odd ids)", &held);
        report("all matched items", &all);
        let start = Instant::now();
        let rounds = 3;
        for _ in 0..rounds {
            for c in &all {
                std::hint::black_box(grade_response(&c.pred, &c.gold));
            }
        }
        let per_sec = (rounds * all.len()) as f64 / start.elapsed().as_secs_f64();
        eprintln!("speed: {per_sec:.0} responses graded per second (this build)");
    }
    // `TTC_MATH500` names math500.jsonl: each reference solution must grade equal to its answer.
    if let Ok(path) = std::env::var("TTC_MATH500") {
        let text = std::fs::read_to_string(&path).expect("TTC_MATH500 file");
        let (mut n, mut equal) = (0, 0);
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line).expect("JSON");
            let (solution, answer) =
                (v["solution"].as_str().unwrap_or(""), v["answer"].as_str().unwrap_or(""));
            let g = grade_response(solution, answer);
            n += 1;
            if g.equal {
                equal += 1;
            } else {
                eprintln!("  unequal: {:?} vs {answer:?}", g.pred.map(|p| p.answer));
            }
        }
        eprintln!("MATH-500 reference solutions equal to their answers: {equal}/{n}");
    }
}

mod props {
    use proptest::prelude::*;
    use ttc::grade::{extract_final, grade_jsonl_mode, grade_response, GradeMode};

    const PIECES: &[&str] = &[
        "$",
        "$$",
        "\\(",
        "\\)",
        "\\[",
        "\\]",
        "**",
        "\\boxed{",
        "\\boxed ",
        "\\fbox{",
        "{",
        "}",
        "the answer is ",
        "Final Answer: ",
        "####",
        "x = ",
        "\\le ",
        " < ",
        " and ",
        ", ",
        ".",
        "\n",
        "\n\n",
        "12",
        "3,5",
        "1,000",
        "-",
        "/",
        "\\frac{1}{2}",
        "\\text{",
        "é",
        "€",
        "%",
        "\\$",
        "\\",
        "dollars ",
        "n",
        "(",
        ")",
        "[",
        "]",
    ];

    fn response() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            prop::collection::vec(prop::sample::select(PIECES), 0..60).prop_map(|v| v.concat()),
        ]
    }

    proptest! {
        #[test]
        fn grading_responses_never_panics(text in response(), gold in response()) {
            let g = grade_response(&text, &gold);
            // Equal only with an extracted answer, and the answer is never blank.
            prop_assert!(!g.equal || g.pred.is_some());
            if let Some(e) = extract_final(&text) {
                prop_assert!(!e.answer.trim().is_empty());
            }
        }

        #[test]
        fn extract_mode_answers_every_line(lines in prop::collection::vec(response(), 0..8)) {
            let input: String = lines
                .iter()
                .map(|l| format!("{{\"pred\": {}, \"gold\": \"1\"}}\n", serde_json::Value::String(l.clone())))
                .collect();
            let mut out = Vec::new();
            let summary = grade_jsonl_mode(input.as_bytes(), &mut out, GradeMode::Extract).unwrap();
            prop_assert_eq!(summary.lines, lines.len());
            prop_assert_eq!(String::from_utf8(out).unwrap().lines().count(), lines.len());
        }
    }
}

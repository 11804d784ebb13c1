//! `ttc run --strategy consistency` on the embedded model: where sampling stopped is in
//! `--json`, every check is in `--events`, and the new flags refuse values out of range.

use super::isolated::{home, ok, ttc};

const EASY: &str = "What is 2 + 3?";

#[test]
fn json_says_where_sampling_stopped() {
    let h = home("consistency-json");
    let out = ok(&ttc(
        &h,
        &["run", "--backend", "pocket", "--strategy", "consistency", "-n", "64", "--problem", EASY, "--json"],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["run"]["config"]["strategy"], "consistency");
    assert_eq!(v["run"]["config"]["confidence"], 0.95);
    // Majority is this strategy's default rule.
    assert_eq!(v["run"]["config"]["selection"], "majority");
    let s = &v["stopping"];
    let at = s["stopped_at"].as_u64().expect("an easy problem stops early");
    // Four agreeing votes are the fewest that reach 0.95; never more samples than drawn.
    assert!((4..64).contains(&at), "{s}");
    assert_eq!(s["samples"].as_u64(), Some(at));
    assert_eq!(s["max"].as_u64(), Some(64));
    assert!(s["stat"].as_f64().unwrap() >= 0.95);
    assert_eq!(v["candidates"].as_array().unwrap().len() as u64, at);
    assert_eq!(v["budget"]["policy_requests"].as_u64(), Some(at));
    assert_eq!(s["history"].as_array().unwrap().len() as u64, at);
    assert_eq!(v["selected"], s["votes"][0][0]);
}

#[test]
fn events_show_every_check_and_n_caps_the_run() {
    let h = home("consistency-events");
    let out = ok(&ttc(
        &h,
        &[
            "run",
            "--backend",
            "pocket",
            "--strategy",
            "consistency",
            "-n",
            "3",
            "--confidence",
            "0.9999",
            "--batch",
            "2",
            "--problem",
            EASY,
            "--events",
        ],
    ));
    let checks: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "stopping")
        .collect();
    // Batches of 2, cut to N = 3; 0.9999 needs 13 agreeing votes, so N comes first.
    let samples: Vec<u64> = checks.iter().map(|c| c["samples"].as_u64().unwrap()).collect();
    assert_eq!(samples, vec![2, 3]);
    assert!(checks.iter().all(|c| c["stopped"] == false && c["confidence"] == 0.9999));
}

#[test]
fn out_of_range_confidence_and_batch_exit_2_naming_the_range() {
    let h = home("consistency-flags");
    for (flag, value, range) in [
        ("--confidence", "0.4", "0.5..=0.9999"),
        ("--confidence", "1", "0.5..=0.9999"),
        ("--confidence", "NaN", "0.5..=0.9999"),
        ("--batch", "0", "1..=64"),
        ("--batch", "65", "1..=64"),
    ] {
        let o = ttc(
            &h,
            &["run", "--backend", "pocket", "--problem", EASY, "--strategy", "consistency", flag, value],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(err.contains(flag) && err.contains(range), "{flag} {value}: {err}");
    }
}

#[test]
fn the_trace_replays_to_the_same_stop() {
    let h = home("consistency-trace");
    let trace = h.join("run.jsonl");
    let trace_s = trace.to_str().unwrap();
    let run = ok(&ttc(
        &h,
        &[
            "run",
            "--backend",
            "pocket",
            "--strategy",
            "consistency",
            "-n",
            "32",
            "--problem",
            EASY,
            "--trace",
            trace_s,
            "--json",
        ],
    ));
    let replay = ok(&ttc(&h, &["replay", trace_s, "--json"]));
    let (a, b): (serde_json::Value, serde_json::Value) =
        (serde_json::from_str(&run).unwrap(), serde_json::from_str(&replay).unwrap());
    assert!(a["stopping"]["stopped_at"].is_u64(), "{}", a["stopping"]);
    assert_eq!(a["stopping"], b["stopping"]);
}

//! `--verifier confidence` through the real binary: over the fake Ollama server (which sends
//! token log-probabilities from version 0.12.11), over an older one (no log-probabilities:
//! unscored steps, majority vote, said once), on the embedded pocket model, and the flags'
//! ranges and the online cut-off.

use serde_json::Value;

use super::isolated::{home, ok, ttc};
use super::ollama_server::{ServerConfig, TestServer};

const NO_LOGPROBS: &str = "no token log-probabilities from this server (Ollama ≥ 0.12.11 has them)";

async fn run_over(server: &TestServer, tag: &'static str) -> std::process::Output {
    let url = server.url.clone();
    tokio::task::spawn_blocking(move || {
        let h = home(tag);
        #[rustfmt::skip]
        let args = ["run", "--host", &url, "--model", "tiny-math", "--problem", "What is 12 + 30?",
            "--gold", "42", "-n", "4", "--seed", "100", "--verifier", "confidence", "--json", "--no-trace"];
        ttc(&h, &args)
    })
    .await
    .unwrap()
}

fn verdicts(v: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for c in v["candidates"].as_array().unwrap() {
        for s in c["steps"].as_array().unwrap() {
            out.push(s["verdict"].clone());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn over_ollama_the_steps_are_scored_from_the_policys_own_tokens() {
    let server = TestServer::start(ServerConfig::default()).await;
    let o = run_over(&server, "conf-ollama").await;
    let v: Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(v["run"]["config"]["verifier"], "confidence");
    assert_eq!(v["run"]["config"]["aggregation"], "min");
    assert!(v["run"]["verifier"].as_str().unwrap().starts_with("confidence (lowest group of 32 tokens"));
    // Every generation asked for ten alternatives per token; nothing else was asked.
    let sent = server.chat_requests();
    assert_eq!(sent.len(), 4, "no extra model call");
    assert!(sent.iter().all(|b| b["logprobs"] == true && b["top_logprobs"] == 10), "{sent:?}");
    let vs = verdicts(&v);
    assert!(!vs.is_empty());
    for s in &vs {
        assert_eq!(s["detail"]["kind"], "confidence", "{s}");
        let x = s["score"].as_f64().unwrap();
        assert!(x > 0.0 && x < 1.0, "{s}");
    }
    assert_eq!(v["selected"], "42");
    assert_eq!(v["budget"]["verifier_requests"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_old_server_leaves_the_steps_unscored_says_why_once_and_votes() {
    let server =
        TestServer::start(ServerConfig { version: "0.12.10".into(), ..ServerConfig::default() }).await;
    let o = run_over(&server, "conf-old").await;
    let v: Value = serde_json::from_str(&ok(&o)).unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches(NO_LOGPROBS).count(), 1, "{err}");
    assert!(v["run"]["verifier"].as_str().unwrap().contains(NO_LOGPROBS));
    let vs = verdicts(&v);
    assert!(!vs.is_empty());
    assert!(vs.iter().all(|s| s["score"].is_null() && s["unscored"] == NO_LOGPROBS), "{vs:?}");
    assert!(v["selection"]["note"].as_str().unwrap().contains("fell back to majority"));
    assert_eq!(v["selected"], "42");
}

#[test]
fn the_pocket_model_runs_with_confidence_end_to_end() {
    let h = home("conf-pocket");
    let out = ok(&ttc(
        &h,
        &["run", "--backend", "pocket", "-n", "4", "--verifier", "confidence", "--json", "--no-trace"],
    ));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["run"]["config"]["verifier"], "confidence");
    let vs = verdicts(&v);
    assert!(!vs.is_empty());
    for s in &vs {
        assert_eq!(s["detail"]["kind"], "confidence", "{s}");
        let x = s["score"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&x), "{s}");
    }
    assert!(v["candidates"].as_array().unwrap().iter().all(|c| c["score"].is_number()));
}

#[test]
fn the_online_cutoff_stops_candidates_and_says_so_in_the_events() {
    let h = home("conf-cut");
    // No window of tokens is ever fully certain: a cut-off of 1 stops every candidate.
    #[rustfmt::skip]
    let o = ttc(&h, &["run", "--backend", "pocket", "-n", "3", "--verifier", "confidence",
        "--confidence-cutoff", "1", "--confidence-window", "4", "--events", "--no-trace"]);
    let out = String::from_utf8_lossy(&o.stdout);
    let ev: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let cut: Vec<&Value> = ev.iter().filter(|e| e["event"] == "node_cut_off").collect();
    assert_eq!(cut.len(), 3, "{out}");
    assert!(cut.iter().all(|e| e["cutoff"] == 1.0 && e["confidence"].as_f64().unwrap() < 1.0));
    assert_eq!(ev.iter().filter(|e| e["event"] == "node_cancelled").count(), 3);
    assert_eq!(ev.iter().filter(|e| e["event"] == "node_finished").count(), 0);
    // A cut-off of 0 stops nothing.
    #[rustfmt::skip]
    let out = ok(&ttc(&h, &["run", "--backend", "pocket", "-n", "3", "--verifier", "confidence",
        "--confidence-cutoff", "0", "--events", "--no-trace"]));
    assert!(!out.contains("node_cut_off"));
    assert_eq!(out.lines().filter(|l| l.contains("\"node_finished\"")).count(), 3);
}

#[test]
fn out_of_range_confidence_flags_exit_2_naming_the_range() {
    let h = home("conf-flags");
    for (flag, bad, range) in [
        ("--confidence-cutoff", "1.5", "0..=1"),
        ("--confidence-cutoff", "NaN", "0..=1"),
        ("--confidence-window", "0", "1..=4096"),
    ] {
        let o = ttc(&h, &["run", "--backend", "pocket", flag, bad]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flag} {bad}: {err}");
        assert!(err.contains(range), "{flag} {bad}: {err}");
    }
}

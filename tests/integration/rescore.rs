//! `ttc rescore` end to end on the real binary: a recorded pocket run scored again with
//! another verifier, no generation, a new trace that `ttc replay` shows re-scored, and the
//! comparison printed; bad input refused with a clear message.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use super::isolated::{ok, ttc};

/// A home of its own for one test: config and data directories inside it.
fn home(tag: &str) -> PathBuf {
    super::isolated::home(&format!("rescore-{tag}"))
}

/// Exit status 1 with `needle` in the one-line message.
fn refused(o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    assert!(err.contains(needle), "{needle:?} not in: {err}");
}

/// Record a best-of-8 pocket run scored by the pocket PRM into `home/run.jsonl`.
fn record(home: &Path) -> PathBuf {
    let file = home.join("run.jsonl");
    let f = file.to_str().unwrap();
    ok(&ttc(
        home,
        &[
            "run",
            "--backend",
            "pocket",
            "--strategy",
            "best-of-n",
            "-n",
            "8",
            "--verifier",
            "prm",
            "--json",
            "--trace",
            f,
        ],
    ));
    file
}

/// The lines of a trace that hold an event of `kind`.
fn lines_of(path: &Path, kind: &str) -> Vec<String> {
    let tag = format!("\"event\":\"{kind}\"");
    std::fs::read_to_string(path).unwrap().lines().filter(|l| l.contains(&tag)).map(String::from).collect()
}

fn replay(home: &Path, path: &Path) -> Value {
    serde_json::from_str(&ok(&ttc(home, &["replay", path.to_str().unwrap(), "--json"]))).unwrap()
}

#[test]
fn arith_rescores_the_recorded_steps_without_generating() {
    let h = home("arith");
    let original = record(&h);
    let f = original.to_str().unwrap();
    let text = ok(&ttc(&h, &["rescore", f, "--verifier", "arith"]));
    let new = h.join("run.rescored-arith.jsonl");
    assert!(new.exists(), "the default name, next to the trace: {text}");
    assert!(text.contains("verifier: pocket-prm → arith"), "{text}");
    assert!(text.contains(&format!("new trace: {}", new.display())), "{text}");

    // No generation: the text is the recorded text, line for line, and so are the steps.
    assert_eq!(lines_of(&new, "text_delta"), lines_of(&original, "text_delta"));
    assert_eq!(lines_of(&new, "step_completed"), lines_of(&original, "step_completed"));
    let header: Value =
        serde_json::from_str(std::fs::read_to_string(&new).unwrap().lines().next().unwrap()).unwrap();
    assert_eq!(header["rescored"]["from"], f);
    assert_eq!(header["rescored"]["original_verifier"], "pocket-prm");
    assert_eq!(header["rescored"]["verifier"], "arith");
    assert_eq!(header["run"]["verifier"], "arith");

    // The replay shows the re-scored run: arith's verdicts on every step, the policy spend as recorded.
    let (before, after) = (replay(&h, &original), replay(&h, &new));
    assert_eq!(after["run"]["verifier"], "arith");
    assert_eq!(after["run"]["config"]["verifier"], "arith");
    let steps =
        after["candidates"].as_array().unwrap().iter().flat_map(|c| c["steps"].as_array().unwrap().clone());
    let kinds: Vec<Value> = steps.map(|s| s["verdict"]["detail"]["kind"].clone()).collect();
    assert!(!kinds.is_empty() && kinds.iter().all(|k| k == "arith"), "{kinds:?}");
    for key in ["policy_generated_tokens", "policy_prompt_tokens", "policy_requests", "finished"] {
        assert_eq!(after["budget"][key], before["budget"][key], "{key}");
    }
    let cands = |v: &Value| v["candidates"].as_array().unwrap().len();
    assert_eq!(cands(&after), cands(&before));

    // --json: the same comparison, which the plain text names node by node.
    let out2 = h.join("again.jsonl");
    let json: Value = serde_json::from_str(&ok(&ttc(
        &h,
        &["rescore", f, "--verifier", "arith", "--json", "--out", out2.to_str().unwrap()],
    )))
    .unwrap();
    assert_eq!(json["out"], out2.to_str().unwrap());
    assert_eq!(json["verifier"]["before"], "pocket-prm");
    assert_eq!(json["selected"]["after"]["answer"], after["selected"]);
    let nodes = json["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), cands(&after));
    for n in nodes {
        let id = n["node"].as_u64().unwrap() as usize;
        assert_eq!(n["score"]["after"], after["candidates"][id]["score"], "node {id}");
        assert_eq!(n["score"]["before"], before["candidates"][id]["score"], "node {id}");
    }
    let changed: Vec<String> =
        json["rank_changed"].as_array().unwrap().iter().map(|n| n.to_string()).collect();
    if changed.is_empty() {
        assert!(text.contains("rank changed: none"), "{text}");
    } else {
        assert!(text.contains(&format!("rank changed: nodes {}", changed.join(", "))), "{text}");
    }
    let _ = std::fs::remove_dir_all(h);
}

#[test]
fn no_verifier_and_majority_select_the_most_frequent_recorded_answer() {
    let h = home("majority");
    let original = record(&h);
    let f = original.to_str().unwrap();
    let json: Value = serde_json::from_str(&ok(&ttc(
        &h,
        &["rescore", f, "--verifier", "none", "--selection", "majority", "--json"],
    )))
    .unwrap();
    let new = h.join("run.rescored-none.jsonl");
    let (before, after) = (replay(&h, &original), replay(&h, &new));
    // The recorded answers' tally: the selected one has the most votes.
    let mut votes: std::collections::HashMap<String, usize> = Default::default();
    for c in before["candidates"].as_array().unwrap() {
        if let Some(a) = c["answer"].as_str() {
            *votes.entry(a.to_string()).or_default() += 1;
        }
    }
    let most = votes.values().copied().max().unwrap();
    let selected = after["selected"].as_str().unwrap();
    assert_eq!(votes[selected], most, "{selected} in {votes:?}");
    assert_eq!(after["selection"]["rule"], "majority");
    assert_eq!(json["selected"]["after"]["answer"], selected);
    assert_eq!(json["selection_rule"]["after"], "majority");
    // Nothing scored any more, and no verifier call counted.
    for c in after["candidates"].as_array().unwrap() {
        assert!(c["score"].is_null(), "{c}");
        assert!(c["steps"].as_array().unwrap().iter().all(|s| s["verdict"]["score"].is_null()));
    }
    assert_eq!(after["budget"]["verifier_calls"], 0);
    assert_eq!(lines_of(&new, "text_delta"), lines_of(&original, "text_delta"));
    let _ = std::fs::remove_dir_all(h);
}

#[test]
fn bad_input_is_refused_clearly() {
    let h = home("bad");
    let missing = h.join("nope.jsonl");
    refused(
        &ttc(&h, &["rescore", missing.to_str().unwrap(), "--verifier", "arith"]),
        "cannot read the trace",
    );
    let not_trace = h.join("notes.txt");
    std::fs::write(&not_trace, "hello\n").unwrap();
    refused(&ttc(&h, &["rescore", not_trace.to_str().unwrap(), "--verifier", "arith"]), "not a ttc trace");
    let newer = h.join("newer.jsonl");
    std::fs::write(&newer, "{\"ttc_trace\":99,\"ttc_version\":\"9.0.0\"}\n").unwrap();
    refused(&ttc(&h, &["rescore", newer.to_str().unwrap(), "--verifier", "arith"]), "upgrade ttc");

    let original = record(&h);
    let f = original.to_str().unwrap();
    // A judge with no server to ask.
    refused(
        &ttc(
            &h,
            &["rescore", f, "--verifier", "judge", "--host", "http://127.0.0.1:9", "--stall-timeout", "2"],
        ),
        "cannot reach",
    );
    refused(&ttc(&h, &["rescore", f, "--verifier", "arith", "--out", f]), "is the trace being re-scored");
    for bad in [
        vec!["rescore", f, "--verifier", "bogus"],
        vec!["rescore", f, "--verifier", "arith", "--selection", "bogus"],
        vec!["rescore", f, "--verifier", "arith", "--aggregation", "median"],
        vec!["rescore", f],
    ] {
        assert_eq!(ttc(&h, &bad).status.code(), Some(2), "{bad:?}");
    }

    // The pocket PRM on a problem it cannot read says so instead of scoring noise.
    let plain = h.join("plain.jsonl");
    let p = plain.to_str().unwrap();
    ok(&ttc(
        &h,
        &[
            "run",
            "--backend",
            "pocket",
            "--problem",
            "What is 1 + 2?",
            "-n",
            "2",
            "--verifier",
            "arith",
            "--json",
            "--trace",
            p,
        ],
    ));
    refused(&ttc(&h, &["rescore", p, "--verifier", "prm"]), "reads only the pocket task");
    assert!(!h.join("plain.rescored-prm.jsonl").exists());
    let _ = std::fs::remove_dir_all(h);
}

#[test]
fn the_recorded_verifier_again_changes_nothing_and_tree_search_is_rescored_whole() {
    let h = home("same");
    for strategy in ["best-of-n", "beam", "revise"] {
        let file = h.join(format!("{strategy}.jsonl"));
        let f = file.to_str().unwrap();
        ok(&ttc(
            &h,
            &["run", "--backend", "pocket", "--strategy", strategy, "-n", "4", "--json", "--trace", f],
        ));
        // The pocket PRM again, over whole solutions at once: the verdicts the run gave step by step.
        let out = h.join(format!("{strategy}-prm.jsonl"));
        let c: Value = serde_json::from_str(&ok(&ttc(
            &h,
            &["rescore", f, "--verifier", "prm", "--json", "--out", out.to_str().unwrap()],
        )))
        .unwrap();
        assert_eq!(c["answer_changed"], false, "{strategy}: {c}");
        assert_eq!(c["rank_changed"], serde_json::json!([]), "{strategy}");
        assert_eq!(c["steps_moved"], serde_json::json!([]), "{strategy}");
        for n in c["nodes"].as_array().unwrap() {
            assert_eq!(n["score"]["before"], n["score"]["after"], "{strategy}: {n}");
        }
        // The replay is the recorded run's, but for the verifier's spend (one request per node
        // instead of one per step).
        let spendless = |mut v: Value| {
            for key in
                ["verifier_calls", "verifier_requests", "verifier_prompt_tokens", "verifier_generated_tokens"]
            {
                v["budget"][key] = Value::Null;
            }
            for c in v["candidates"].as_array_mut().unwrap() {
                for s in c["steps"].as_array_mut().unwrap() {
                    s["verdict"]["usage"] = Value::Null;
                }
            }
            v
        };
        assert_eq!(spendless(replay(&h, &out)), spendless(replay(&h, &file)), "{strategy}");
        // Arith: every step of every node (inherited steps of tree search too) carries its verdict.
        let arith = h.join(format!("{strategy}-arith.jsonl"));
        ok(&ttc(&h, &["rescore", f, "--verifier", "arith", "--out", arith.to_str().unwrap()]));
        let after = replay(&h, &arith);
        for c in after["candidates"].as_array().unwrap() {
            for s in c["steps"].as_array().unwrap() {
                assert_eq!(s["verdict"]["detail"]["kind"], "arith", "{strategy}: {c}");
            }
        }
        assert_eq!(lines_of(&arith, "text_delta"), lines_of(&file, "text_delta"), "{strategy}");
    }
    let _ = std::fs::remove_dir_all(h);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_judge_asks_its_own_model_and_nothing_generates_a_solution() {
    let h = home("judge");
    let original = record(&h);
    let server = super::ollama_server::TestServer::start(super::ollama_server::ServerConfig::default()).await;
    let (hh, f, url) = (h.clone(), original.to_str().unwrap().to_string(), server.url.clone());
    let o = tokio::task::spawn_blocking(move || {
        ttc(
            &hh,
            &["rescore", &f, "--verifier", "judge", "--verifier-model", "judge", "--host", &url, "--json"],
        )
    })
    .await
    .unwrap();
    let c: Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(c["verifier"]["after"], "judge:judge", "{c}");
    assert_eq!(c["aggregation"]["after"], "min", "a judge's default, as nobody chose one");
    let after = replay(&h, &h.join("run.rescored-judge.jsonl"));
    let steps: usize =
        after["candidates"].as_array().unwrap().iter().map(|c| c["steps"].as_array().unwrap().len()).sum();
    let chats = server.chat_requests();
    assert!(chats.len() >= steps, "{} requests for {steps} steps", chats.len());
    assert!(chats.iter().all(|b| b["model"] == "judge"), "only the judge was asked");
    for c in after["candidates"].as_array().unwrap() {
        for s in c["steps"].as_array().unwrap() {
            assert_eq!(s["verdict"]["detail"]["kind"], "judge", "{c}");
        }
    }
    let _ = std::fs::remove_dir_all(h);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_http_verifier_rescores_through_its_server_without_showing_credentials() {
    let server = super::prm_server::PrmServer::start().await;
    let url = server.url.replacen("http://", "http://user:secret@", 1) + "/good";
    let h = home("http");
    let (out, replayed, seen_steps) = tokio::task::spawn_blocking({
        let h = h.clone();
        move || {
            let file = record(&h);
            let steps = lines_of(&file, "step_completed").len();
            let o =
                ttc(&h, &["rescore", file.to_str().unwrap(), "--verifier", "http", "--verifier-url", &url]);
            let out = ok(&o);
            assert!(!String::from_utf8_lossy(&o.stderr).contains("secret"));
            let new = h.join("run.rescored-http.jsonl");
            assert!(!std::fs::read_to_string(&new).unwrap().contains("secret"), "credentials in the trace");
            (out, replay(&h, &new), steps)
        }
    })
    .await
    .unwrap();
    assert!(!out.contains("secret"), "{out}");
    assert!(out.contains("***@"), "the URL is shown redacted: {out}");
    // The server scores every pocket step 0.9: every candidate's score is its score now.
    for c in replayed["candidates"].as_array().unwrap() {
        assert_eq!(c["score"], 0.9, "{c}");
    }
    // One request per recorded candidate, over all its steps; nothing generated.
    let seen = server.seen();
    assert_eq!(seen.len(), 8, "one request per candidate");
    let posted: usize = seen.iter().map(|r| r.body["steps"].as_array().unwrap().len()).sum();
    assert_eq!(posted, seen_steps);
    std::fs::remove_dir_all(&h).ok();
}

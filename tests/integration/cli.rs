//! The real `ttc` binary: flags, output formats, exit codes and messages.

use std::process::{Command, Output};
use std::time::Duration;

use super::ollama_server::{ServerConfig, TestServer};

/// Run `ttc` with `args`, isolated from the user's config and environment.
async fn ttc(args: &[&str]) -> Output {
    ttc_stdin(args, None).await
}

async fn ttc_stdin(args: &[&str], stdin: Option<&str>) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let stdin = stdin.map(str::to_string);
    let home = std::env::temp_dir().join(format!("ttc-cli-home-{}", std::process::id()));
    let run = tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ttc"));
        cmd.args(&args)
            .env_remove("OLLAMA_HOST")
            .env_remove("TTC_CONFIG")
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"));
        match stdin {
            None => cmd.output().unwrap(),
            Some(input) => {
                use std::io::Write;
                cmd.stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                let mut child = cmd.spawn().unwrap();
                // A command that exits before reading (a usage error) closes the pipe early.
                let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
                child.wait_with_output().unwrap()
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(60), run).await.expect("ttc finishes").unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_server_prints_one_clear_line_and_fails() {
    let o = ttc(&["run", "--backend", "ollama", "--host", "http://127.0.0.1:1", "--pick", "bundled:gsm8k:0"])
        .await;
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.starts_with("ttc: error: cannot reach the Ollama server at http://127.0.0.1:1"), "{err}");
    assert!(err.contains("ollama serve"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn run_json_reports_candidates_selection_and_budget() {
    let server = TestServer::start(ServerConfig::default()).await;
    let o = ttc(&[
        "run",
        "--host",
        &server.url,
        "--model",
        "tiny-math",
        "--problem",
        "What is 12 + 30?",
        "--gold",
        "42",
        "-n",
        "4",
        "--verifier",
        "arith",
        "--selection",
        "weighted",
        "--aggregation",
        "min",
        "--temperature",
        "0.7",
        "--seed",
        "100",
        "--json",
    ])
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["selected"], "42");
    assert_eq!(v["correct"], true);
    let cands = v["candidates"].as_array().unwrap();
    assert_eq!(cands.len(), 4);
    // Seeds 100..103; 103 % 4 == 3 writes a wrong claim.
    assert_eq!(cands[3]["seed"], 103);
    assert_eq!(cands[3]["answer"], "43");
    assert_eq!(cands[3]["correct"], false);
    assert_eq!(cands[3]["score"], 0.0);
    assert_eq!(cands[0]["steps"][1]["text"], "12 + 30 = 42");
    assert_eq!(cands[0]["steps"][1]["verdict"]["score"], 1.0);
    assert_eq!(v["run"]["config"]["aggregation"], "min");
    assert_eq!(v["run"]["config"]["temperature"], 0.7);
    assert_eq!(v["budget"]["policy_requests"], 4);
    assert_eq!(v["selection"]["answers"][0]["votes"], 3);
    let sent = server.chat_requests();
    assert!(sent.iter().all(|b| b["options"]["temperature"].as_f64().unwrap() > 0.69));
}

#[tokio::test(flavor = "multi_thread")]
async fn run_events_is_jsonl_from_start_to_finish() {
    let server = TestServer::start(ServerConfig::default()).await;
    let o = ttc(&[
        "run",
        "--host",
        &server.url,
        "--model",
        "tiny-math",
        "--pick",
        "bundled:gsm8k:1",
        "-n",
        "2",
        "--events",
    ])
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> =
        stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.first().unwrap()["event"], "run_started");
    assert_eq!(lines.first().unwrap()["problem"]["id"], "bundled:gsm8k:1");
    assert_eq!(lines.last().unwrap()["event"], "run_finished");
    for kind in [
        "node_started",
        "node_streaming",
        "text_delta",
        "step_completed",
        "step_scored",
        "node_finished",
        "selection",
        "budget",
    ] {
        assert!(lines.iter().any(|l| l["event"] == kind), "no {kind} event");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_output_shows_the_tally_and_budget() {
    let server = TestServer::start(ServerConfig::default()).await;
    let o = ttc(&[
        "run",
        "--host",
        &server.url,
        "--model",
        "tiny-math",
        "--problem",
        "What is 2 * 21?",
        "--gold",
        "42",
        "-n",
        "4",
    ])
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("selected: 42 (correct)"), "{out}");
    assert!(out.contains("budget:"), "{out}");
    assert!(stderr(&o).contains("candidate 3: answer 43 ✗"), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_model_lists_what_is_installed() {
    let server = TestServer::start(ServerConfig::default()).await;
    let o = ttc(&["run", "--host", &server.url, "--model", "nope:1b", "--problem", "1 + 1?"]).await;
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("model \"nope:1b\" not found") && err.contains("ollama pull nope:1b"), "{err}");
    assert!(err.contains("tiny-math"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn models_lists_the_server_models() {
    let server = TestServer::start(ServerConfig::default()).await;
    let o = ttc(&["models", "--host", &server.url]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("tiny-math:latest"));
    let o = ttc(&["models", "--host", &server.url, "--json"]).await;
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v.as_array().unwrap().iter().any(|m| m["name"] == "judge:latest"));
}

#[tokio::test(flavor = "multi_thread")]
async fn oracle_without_gold_is_refused_before_any_request() {
    let o =
        ttc(&["run", "--host", "http://127.0.0.1:1", "--problem", "1 + 1?", "--verifier", "oracle"]).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("needs a gold answer"), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_picks_and_missing_problems_explain_themselves() {
    let o = ttc(&["run", "--pick", "bundled:nope:1"]).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("math500"), "{}", stderr(&o));
    let o = ttc(&["run", "--pick", "bundled:gsm8k:9999"]).await;
    assert!(stderr(&o).contains("out of range"), "{}", stderr(&o));
    let o = ttc(&["run", "--backend", "ollama", "--host", "http://127.0.0.1:1"]).await;
    assert!(stderr(&o).contains("--pick"), "{}", stderr(&o));
    let o = ttc(&["run", "--dataset", "/nonexistent/problems.jsonl"]).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nonexistent/problems.jsonl"), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn dataset_lines_that_are_malformed_are_reported_and_skipped() {
    let server = TestServer::start(ServerConfig::default()).await;
    let dir = std::env::temp_dir().join(format!("ttc-cli-ds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("mixed.jsonl");
    std::fs::write(&file, "{\"problem\": \"What is 1 + 1?\", \"answer\": \"2\"}\n{not json\n{\"problem\": \"What is 5 * 9?\", \"answer\": \"45\"}\n").unwrap();
    let f = file.to_str().unwrap();
    let o = ttc(&[
        "run",
        "--host",
        &server.url,
        "--model",
        "tiny-math",
        "--dataset",
        f,
        "--index",
        "1",
        "-n",
        "2",
        "--json",
    ])
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains(&format!("{f}:2:")), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["selected"], "45");
    let o = ttc(&[
        "run",
        "--host",
        &server.url,
        "--model",
        "tiny-math",
        "--dataset",
        f,
        "--index",
        "1",
        "--strict",
    ])
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(&format!("{f}:2:")), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn grade_writes_one_line_per_input_line() {
    let input = "{\"pred\": \"\\\\frac{1}{2}\", \"gold\": \"0.5\"}\nnot json\n{\"pred\": 18, \"gold\": \"18\"}\n{\"pred\": \"3\"}\n{\"pred\": \"x\", \"gold\": \"y\"}\n";
    let o = ttc_stdin(&["grade", "--jsonl", "-"], Some(input)).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> =
        stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["equal"], true);
    assert!(lines[1]["error"].as_str().unwrap().contains("line 2"));
    assert_eq!(lines[2]["equal"], true);
    assert!(lines[3]["error"].is_string());
    assert_eq!(lines[4]["equal"], false);
    let o = ttc(&["grade", "--jsonl", "/nonexistent.jsonl"]).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nonexistent.jsonl"));
}

#[tokio::test(flavor = "multi_thread")]
async fn grade_extracts_final_answers_from_whole_responses_and_names_the_rule() {
    let response = "Each box holds 3.\n\nSo $4 \\times 3 = 12$ in all. The answer is \\boxed{12}.";
    let input = [response, "so 12"]
        .iter()
        .map(|p| serde_json::json!({ "pred": p, "gold": "12" }).to_string() + "\n")
        .collect::<String>();
    // Detected: the response is graded by its boxed answer.
    let o = ttc_stdin(&["grade", "--jsonl", "-"], Some(&input)).await;
    let lines: Vec<serde_json::Value> =
        stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(
        (lines[0]["answer"].as_str(), lines[0]["rule"].as_str()),
        (Some("12"), Some("boxed")),
        "{lines:?}"
    );
    assert_eq!(lines[0]["equal"], true);
    // --extract: every pred is a response, so "so 12" is read for its answer too.
    let o = ttc_stdin(&["grade", "--jsonl", "-", "--extract"], Some(&input)).await;
    let lines: Vec<serde_json::Value> =
        stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.iter().all(|l| l["rule"].is_string() && l["equal"] == true), "{lines:?}");
    // --answers: nothing is extracted; the whole response is not the answer 12.
    let o = ttc_stdin(&["grade", "--jsonl", "-", "--answers"], Some(&input)).await;
    let lines: Vec<serde_json::Value> =
        stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines[0].get("rule").is_none() && lines[0]["equal"] == false, "{lines:?}");
    // The two modes exclude each other.
    let o = ttc_stdin(&["grade", "--jsonl", "-", "--extract", "--answers"], Some(&input)).await;
    assert_eq!(o.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_config_is_named_and_defaults_are_used() {
    let server = TestServer::start(ServerConfig::default()).await;
    let dir = std::env::temp_dir().join(format!("ttc-cli-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("config.toml");
    std::fs::write(&cfg, "concurency = 3\n").unwrap();
    let c = cfg.to_str().unwrap();
    let o = ttc(&["models", "--host", &server.url, "--config", c]).await;
    assert_eq!(o.status.code(), Some(0));
    let err = stderr(&o);
    assert!(err.contains(&format!("{c}:1")) && err.contains("concurency"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn every_strategy_runs_end_to_end() {
    let server = TestServer::start(ServerConfig::default()).await;
    for (strategy, extra) in [
        ("beam", vec!["--width", "2"]),
        ("lookahead", vec!["--width", "2", "--lookahead", "1"]),
        ("dvts", vec!["--width", "2"]),
        ("revise", vec!["--chains", "2", "--revisions", "2"]),
        ("adaptive", vec![]),
    ] {
        let mut args = vec![
            "run",
            "--host",
            &server.url,
            "--model",
            "tiny-math",
            "--problem",
            "What is 12 + 30?",
            "--gold",
            "42",
            "-n",
            "4",
            "--strategy",
            strategy,
            "--json",
        ];
        args.extend(extra);
        let o = ttc(&args).await;
        assert_eq!(o.status.code(), Some(0), "{strategy}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(v["run"]["config"]["strategy"], strategy);
        assert_eq!(v["selected"], "42", "{strategy}: {}", stdout(&o));
        assert_eq!(v["correct"], true);
        let cands = v["candidates"].as_array().unwrap();
        match strategy {
            "beam" | "lookahead" | "dvts" => {
                assert!(cands.iter().any(|c| c["parent"].is_number()), "{strategy}: children have parents");
                assert!(cands.iter().any(|c| c["status"] == "pruned" || c["status"] == "kept"), "{strategy}");
            }
            "revise" => assert!(cands.iter().all(|c| c["chain"].is_number() && c["revision"].is_number())),
            "adaptive" => assert!(v["difficulty"]["bin"].is_number(), "{}", stdout(&o)),
            _ => {}
        }
        assert!(v["budget"]["policy_requests"].as_u64().unwrap() >= 4);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_no_server_the_embedded_model_answers() {
    // Nothing listens on port 1: `auto` falls back to the embedded model and says so.
    let o = ttc(&["run", "--host", "http://127.0.0.1:1", "-n", "4", "--json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("no Ollama server at http://127.0.0.1:1") && err.contains("embedded pocket model"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["run"]["generator"]["backend"], "pocket");
    assert_eq!(v["run"]["verifier"], "pocket-prm");
    assert_eq!(v["candidates"].as_array().unwrap().len(), 4);
    assert!(v["run"]["problem"]["id"].as_str().unwrap().starts_with("pocket:"));
    assert!(v["selected"].is_string() || v["error"].is_string());

    // The judge needs an Ollama model: a clear refusal, not a hang.
    let o = ttc(&["run", "--backend", "pocket", "--verifier", "judge", "-n", "2"]).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--verifier prm"), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_strategy_runs_on_the_embedded_model() {
    for strategy in ["best-of-n", "beam", "lookahead", "dvts", "revise", "adaptive", "consistency"] {
        let o = ttc(&[
            "run",
            "--backend",
            "pocket",
            "--strategy",
            strategy,
            "-n",
            "4",
            "--width",
            "2",
            "--depth",
            "4",
            "--chains",
            "2",
            "--revisions",
            "2",
            "--seed",
            "3",
            "--json",
        ])
        .await;
        // The shipped weights are weak: a run may end without an extractable answer (exit 1),
        // but it always reports a well-formed result.
        let v: serde_json::Value = serde_json::from_str(&stdout(&o))
            .unwrap_or_else(|e| panic!("{strategy}: {e}; stderr: {}", stderr(&o)));
        assert_eq!(v["run"]["config"]["strategy"], strategy);
        assert_eq!(v["run"]["generator"]["backend"], "pocket");
        assert!(!v["candidates"].as_array().unwrap().is_empty(), "{strategy}");
        assert!(v["budget"]["policy_requests"].as_u64().unwrap() > 0, "{strategy}");
        match o.status.code() {
            Some(0) => assert!(v["selected"].is_string(), "{strategy}"),
            Some(1) => assert!(v["error"].is_string(), "{strategy}: {}", stderr(&o)),
            c => panic!("{strategy}: exit {c:?}: {}", stderr(&o)),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn out_of_range_flags_exit_2_naming_the_flag_and_the_range() {
    for (flag, value, range) in [
        ("-n", "0", "1..=1024"),
        ("-n", "100000", "1..=1024"),
        ("--width", "0", "1..=64"),
        ("--width", "1000000", "1..=64"),
        ("--depth", "0", "1..=200"),
        ("--concurrency", "0", "1..=256"),
        ("--n-per-request", "0", "1..=128"),
        ("--n-per-request", "129", "1..=128"),
        ("--chains", "0", "1..=1024"),
        ("--revisions", "1025", "1..=1024"),
        ("--lookahead", "201", "0..=200"),
        ("--max-tokens", "0", "1..=131072"),
        ("--stall-timeout", "1e308", "86400"),
        ("--stall-timeout", "0", "86400"),
        ("--temperature", "-1", "0..=2"),
        ("--temperature", "NaN", "0..=2"),
        ("--temperature", "inf", "0..=2"),
        ("--top-p", "0", "(0, 1]"),
    ] {
        let o = ttc(&["run", "--backend", "pocket", "--problem", "What is 1 + 1?", flag, value]).await;
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {err}");
        let shown = if flag == "-n" { "--n" } else { flag };
        assert!(err.contains(shown) && err.contains(range), "{flag} {value}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // The view takes the same flags, checked before it touches the terminal.
    let o = ttc(&["--backend", "pocket", "--width", "0"]).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--width"), "{}", stderr(&o));
    // The limits are in --help.
    let help = stdout(&ttc(&["run", "--help"]).await);
    for limit in ["1–1024", "1–64", "1–200", "1–256", "1–128", "86400", "0–2"] {
        assert!(help.contains(limit), "--help lacks {limit}:\n{help}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn out_of_range_config_values_are_named_and_defaults_are_used() {
    let dir = std::env::temp_dir().join(format!("ttc-cli-range-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        "stall_timeout_secs = 1e308\nconcurrency = 0\nn_per_request = 500\n[run]\nn = 0\ntemperature = nan\n",
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    let o = ttc(&["run", "--backend", "pocket", "--config", c, "--json"]).await;
    let err = stderr(&o);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{err}");
    for key in ["stall_timeout_secs", "concurrency", "n_per_request", "run.n", "run.temperature"] {
        assert!(err.contains(&format!("{c}: {key} = ")), "{key}: {err}");
    }
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["run"]["config"]["n"], 8, "the default N");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn escape_sequences_in_error_texts_never_reach_the_terminal() {
    let o = ttc(&["run", "--dataset", "/nonexistent/\x1b]0;TITLE\x07\x1b[2J.jsonl"]).await;
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("ttc: error:") && err.contains("␛]0;TITLE␇"), "{err}");
    assert!(!err.contains('\x1b') && !err.contains('\x07'), "{err:?}");
    // A skipped line names its file: the name is shown, not obeyed.
    let dir = std::env::temp_dir().join(format!("ttc-cli-esc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("p\x1b[2J.jsonl");
    std::fs::write(&file, "{\"problem\": \"What is 1 + 1?\", \"answer\": \"2\"}\n{\"problem\": 5}\n")
        .unwrap();
    let o =
        ttc(&["run", "--backend", "pocket", "--dataset", file.to_str().unwrap(), "-n", "1", "--json"]).await;
    let err = stderr(&o);
    assert!(err.contains("ttc: skipped") && err.contains("p␛[2J.jsonl:2"), "{err}");
    assert!(!err.contains('\x1b'), "{err:?}");
    std::fs::remove_dir_all(&dir).ok();
    let o = ttc(&["grade", "--jsonl", "/nonexistent/\x1b[2J.jsonl"]).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(!stderr(&o).contains('\x1b') && stderr(&o).contains("␛[2J"), "{:?}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_in_the_host_are_warned_about_and_never_printed() {
    let server = TestServer::start(ServerConfig::default()).await;
    let host = server.url.replace("http://", "http://me:secret@");
    let o = ttc(&["run", "--host", &host, "--model", "tiny-math", "--problem", "What is 2 * 21?", "-n", "2"])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(!out.contains("secret") && !err.contains("secret"), "{out}\n{err}");
    assert_eq!(err.matches("carries credentials").count(), 1, "{err}");
    // The progress line names the host, redacted.
    assert!(err.contains("***@127.0.0.1"), "{err}");
    let o =
        ttc(&["run", "--backend", "ollama", "--host", "http://me:secret@127.0.0.1:1", "--problem", "1 + 1?"])
            .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(!stderr(&o).contains("secret"), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_configured_verifier_holds_on_the_embedded_model() {
    // `[run] verifier` beats the embedded model's PRM default, as in the view (tui.rs).
    let dir = std::env::temp_dir().join(format!("ttc-cli-verifier-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("config.toml");
    std::fs::write(&cfg, "[run]\nverifier = \"arith\"\n").unwrap();
    let c = cfg.to_str().unwrap();
    let o = ttc(&["run", "--backend", "pocket", "--config", c, "-n", "2", "--json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["run"]["generator"]["backend"], "pocket");
    assert_eq!(v["run"]["verifier"], "arith");
    assert_eq!(v["run"]["config"]["verifier"], "arith");
    std::fs::remove_dir_all(&dir).ok();
}

//! `ttc run --backend openai` and `ttc models --backend openai` against the fake
//! OpenAI-compatible server: best-of-N and beam search, the judge and a step-tag PRM through
//! it, a failing candidate among good ones, a server that cannot continue a partial answer,
//! the default model, and the key kept out of every output and the trace.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use serde_json::Value;

use super::openai_server::{OpenAiServer, ServerConfig, MODELS};

const STEP_TAG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/verifiers/step-tag.toml");

/// Run `ttc` with `args` and extra environment in a home of its own.
async fn ttc_env(tag: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let home = super::isolated::home(&format!("openai-{tag}"));
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let run = tokio::task::spawn_blocking(move || {
        super::isolated::command(&home).args(&args).envs(env).output().unwrap()
    });
    tokio::time::timeout(Duration::from_secs(60), run).await.expect("ttc finishes").unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn run_args<'a>(url: &'a str, model: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "run",
        "--backend",
        "openai",
        "--host",
        url,
        "--model",
        model,
        "--problem",
        "What is 12 + 30?",
        "--gold",
        "42",
        "--no-trace",
        "--json",
    ];
    a.extend_from_slice(extra);
    a
}

fn finished(v: &Value) -> Vec<&Value> {
    v["candidates"].as_array().unwrap().iter().filter(|c| c["error"].is_null()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn best_of_n_runs_on_an_openai_server() {
    let server = OpenAiServer::start(ServerConfig::default()).await;
    let o = ttc_env("bon", &run_args(&server.url, "tiny-math", &["-n", "4", "--seed", "0"]), &[]).await;
    let v = json(&o);
    assert_eq!(v["selected"], "42", "{v}");
    assert_eq!(v["candidates"].as_array().unwrap().len(), 4);
    assert_eq!(v["run"]["generator"]["backend"], "openai", "{}", v["run"]);
    let chats = server.bodies("/v1/chat/completions");
    assert_eq!(chats.len(), 1, "the 4 candidates in one request");
    assert_eq!((chats[0]["n"].as_u64(), chats[0]["seed"].as_i64()), (Some(4), Some(0)));
    assert!(chats.iter().all(|b| b["model"] == "tiny-math" && b["stream"] == true));
    assert!(server.requests().iter().all(|r| !r.path.starts_with("/api/")), "nothing Ollama-shaped");
    let together: Vec<Value> =
        v["candidates"].as_array().unwrap().iter().map(|c| c["text"].clone()).collect();
    // One request per candidate: the same texts (the server writes choice j as seed + j).
    let o = ttc_env(
        "bon-alone",
        &run_args(&server.url, "tiny-math", &["-n", "4", "--seed", "0", "--n-per-request", "1"]),
        &[],
    )
    .await;
    let v = json(&o);
    let alone: Vec<Value> = v["candidates"].as_array().unwrap().iter().map(|c| c["text"].clone()).collect();
    assert_eq!(together, alone);
    let chats = server.bodies("/v1/chat/completions");
    assert_eq!(chats.len(), 5, "then one request per candidate");
    assert!(chats[1..].iter().all(|b| b.get("n").is_none()), "{chats:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn beam_search_continues_partial_answers() {
    let server = OpenAiServer::start(ServerConfig::default()).await;
    let args = run_args(&server.url, "tiny-math", &["--strategy", "beam", "-n", "4", "--width", "2"]);
    let v = json(&ttc_env("beam", &args, &[]).await);
    assert_eq!(v["selected"], "42", "{v}");
    let chats = server.bodies("/v1/chat/completions");
    let continued: Vec<&Value> = chats.iter().filter(|b| b["continue_final_message"] == true).collect();
    assert!(!continued.is_empty(), "later steps continue the path");
    assert!(continued.iter().all(|b| b["add_generation_prompt"] == false));
    assert!(continued
        .iter()
        .all(|b| b["messages"].as_array().unwrap().last().unwrap()["role"] == "assistant"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_cannot_continue_is_named_with_what_to_do() {
    let server = OpenAiServer::start(ServerConfig::default()).await;
    let args = run_args(&server.url, "no-continue", &["--strategy", "beam", "-n", "4", "--width", "2"]);
    let o = ttc_env("nocont", &args, &[]).await;
    let out = format!("{}{}", stderr(&o), String::from_utf8_lossy(&o.stdout));
    assert!(out.contains("cannot continue a partial answer") && out.contains("best-of-n"), "{out}");
    assert!(!out.contains("Ollama"), "{out}");
    // Best-of-N on the same model needs no continuation.
    let v = json(&ttc_env("nocont-bon", &run_args(&server.url, "no-continue", &["-n", "2"]), &[]).await);
    assert_eq!(v["selected"], "42");
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_candidates_leave_the_others_running() {
    let server = OpenAiServer::start(ServerConfig::default()).await;
    for model in ["flaky-math", "slow-math", "drop-math", "huge-math", "evil-math"] {
        let args =
            run_args(&server.url, model, &["-n", "4", "--stall-timeout", "0.5", "--n-per-request", "1"]);
        let v = json(&ttc_env(model, &args, &[]).await);
        let ok = finished(&v);
        assert_eq!(ok.len(), 3, "{model}: seed 1 fails, the rest finish: {v}");
        assert_eq!(v["selected"], "42", "{model}");
        let failed: Vec<&Value> =
            v["candidates"].as_array().unwrap().iter().filter(|c| !c["error"].is_null()).collect();
        let msg = failed[0]["error"].to_string();
        assert!(!msg.contains("Ollama"), "{model}: {msg}");
    }
    // Sharing one request (`n`), a fault of it fails the candidates in it, each saying why.
    let args = run_args(&server.url, "flaky-math", &["-n", "4"]);
    let o = ttc_env("flaky-n", &args, &[]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let errors: Vec<String> = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["error"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(errors.iter().all(|e| e.contains(super::openai_server::STREAM_ERROR)), "{errors:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_judge_and_a_step_tag_prm_score_through_the_server() {
    let server = OpenAiServer::start(ServerConfig::default()).await;
    let args =
        run_args(&server.url, "tiny-math", &["-n", "4", "--verifier", "judge", "--verifier-model", "judge"]);
    let v = json(&ttc_env("judge", &args, &[]).await);
    assert_eq!(v["run"]["verifier"], "judge:judge", "{}", v["run"]);
    let judged = server.bodies("/v1/chat/completions").into_iter().filter(|b| b["model"] == "judge").count();
    assert!(
        judged > 0
            && server
                .bodies("/v1/chat/completions")
                .iter()
                .all(|b| b["model"] != "judge" || b["logprobs"] == true)
    );
    let steps: Vec<&Value> =
        v["candidates"].as_array().unwrap().iter().flat_map(|c| c["steps"].as_array().unwrap()).collect();
    let wrong = steps.iter().find(|s| s["text"].as_str().unwrap().contains("= 43")).expect("seed 3 errs");
    assert!(wrong["verdict"]["score"].as_f64().unwrap() < 0.2, "{wrong}");

    let args = run_args(
        &server.url,
        "tiny-math",
        &["-n", "4", "--verifier", "judge", "--verifier-model", "prm-tag", "--judge-template", STEP_TAG],
    );
    let v = json(&ttc_env("steptag", &args, &[]).await);
    let steps: Vec<&Value> =
        v["candidates"].as_array().unwrap().iter().flat_map(|c| c["steps"].as_array().unwrap()).collect();
    let wrong = steps.iter().find(|s| s["text"].as_str().unwrap().contains("= 43")).expect("seed 3 errs");
    assert!(wrong["verdict"]["score"].as_f64().unwrap() < 0.2, "{wrong}");
    let right = steps.iter().find(|s| s["text"].as_str().unwrap().contains("= 42")).expect("others do not");
    assert!(right["verdict"]["score"].as_f64().unwrap() > 0.9, "{right}");
    assert!(!server.bodies("/v1/completions").is_empty(), "raw prompts go to /v1/completions");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_model_the_first_served_one_is_used_and_said() {
    let server = OpenAiServer::start(ServerConfig {
        models: vec!["tiny-math".into(), "judge".into()],
        ..ServerConfig::default()
    })
    .await;
    let args = [
        "run",
        "--backend",
        "openai",
        "--host",
        &server.url,
        "--problem",
        "What is 2 + 3?",
        "-n",
        "2",
        "--no-trace",
        "--json",
    ];
    let o = ttc_env("default", &args, &[]).await;
    let v = json(&o);
    assert!(stderr(&o).contains("using model tiny-math"), "{}", stderr(&o));
    assert_eq!(v["selected"], "5");
    // The host from TTC_OPENAI_HOST.
    let args =
        ["run", "--backend", "openai", "--problem", "What is 2 + 3?", "-n", "1", "--no-trace", "--json"];
    let v = json(&ttc_env("hostenv", &args, &[("TTC_OPENAI_HOST", &server.url)]).await);
    assert_eq!(v["selected"], "5");
}

#[tokio::test(flavor = "multi_thread")]
async fn models_lists_the_server_models() {
    let server = OpenAiServer::start(ServerConfig::default()).await;
    let o = ttc_env("models", &["models", "--backend", "openai", "--host", &server.url], &[]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let listed: Vec<String> = String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect();
    assert_eq!(listed, MODELS.map(String::from).to_vec());
    let o = ttc_env("models-json", &["models", "--backend", "openai", "--host", &server.url, "--json"], &[])
        .await;
    assert_eq!(json(&o).as_array().unwrap().len(), MODELS.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_models_refused_keys_and_absent_servers_are_clear() {
    let server = OpenAiServer::start(ServerConfig::default()).await;
    let o = ttc_env("unknown", &run_args(&server.url, "llama-9000", &["-n", "2"]), &[]).await;
    let out = format!("{}{}", stderr(&o), String::from_utf8_lossy(&o.stdout));
    assert!(out.contains("llama-9000") && out.contains("tiny-math"), "{out}");
    let o = ttc_env("absent", &run_args("http://127.0.0.1:1", "m", &["-n", "2"]), &[]).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot reach the OpenAI-compatible server"), "{}", stderr(&o));
    let keyed = OpenAiServer::start(ServerConfig {
        api_key: Some("sk-right-key-1".into()),
        ..ServerConfig::default()
    })
    .await;
    let o = ttc_env("nokey", &run_args(&keyed.url, "tiny-math", &["-n", "1"]), &[]).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("TTC_API_KEY"), "{}", stderr(&o));
}

/// Every file under `dir`, read.
fn all_text(dir: &Path) -> String {
    let mut out = String::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.push_str(&all_text(&p));
            } else {
                out.push_str(&String::from_utf8_lossy(&std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn the_key_never_leaves_in_output_events_or_traces() {
    let key = "sk-live-SECRET-5b3c2a1f";
    let server =
        OpenAiServer::start(ServerConfig { api_key: Some(key.into()), ..ServerConfig::default() }).await;
    let home = super::isolated::home("openai-key");
    let trace = home.join("run.jsonl");
    let trace_s = trace.to_str().unwrap().to_string();
    for (env, flags) in [("TTC_API_KEY", vec!["--json"]), ("OPENAI_API_KEY", vec!["--events"])] {
        let mut args = vec![
            "run",
            "--backend",
            "openai",
            "--host",
            &server.url,
            "--model",
            "flaky-math",
            "--problem",
            "What is 12 + 30?",
            "-n",
            "4",
            "--verifier",
            "judge",
            "--verifier-model",
            "judge",
            "--trace",
            &trace_s,
            // One failing candidate among good ones: one request each (a shared one fails whole).
            "--n-per-request",
            "1",
        ];
        args.extend(flags);
        let o = ttc_env("key", &args, &[(env, key), ("RUST_LOG", "debug")]).await;
        assert_eq!(o.status.code(), Some(0), "{env}: {}", stderr(&o));
        let all = format!("{}{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o), all_text(&home));
        assert!(!all.contains(key) && !all.contains("SECRET"), "{env}: the key leaked");
        assert!(std::fs::metadata(&trace).is_ok(), "the trace was written");
    }
    // TTC_API_KEY comes before OPENAI_API_KEY.
    let args = run_args(&server.url, "tiny-math", &["-n", "1"]);
    let o = ttc_env("key-order", &args, &[("TTC_API_KEY", key), ("OPENAI_API_KEY", "sk-other-key")]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let sent = server.requests();
    assert!(sent.iter().all(|r| r.authorization.as_deref() == Some(&format!("Bearer {key}"))));
    // A wrong key in the config file: refused, and not shown even though the server echoes it.
    let cfg = home.join("ttc.toml");
    std::fs::write(&cfg, "api_key = \"sk-wrong-SECRET-99\"\n").unwrap();
    let mut args = run_args(&server.url, "tiny-math", &["-n", "1"]);
    args.extend(["--config", cfg.to_str().unwrap()]);
    let o = ttc_env("key-config", &args, &[]).await;
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("401") && !err.contains("SECRET"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_bound_for_a_remote_plain_http_host_is_warned_about() {
    // 192.0.2.0/24 is reserved for documentation: nothing answers, within the short stall.
    let args = ["models", "--backend", "openai", "--host", "http://192.0.2.1:9", "--stall-timeout", "0.3"];
    let o = ttc_env("remote", &args, &[("TTC_API_KEY", "sk-remote-SECRET")]).await;
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("API key goes to http://192.0.2.1:9 over plain http://"), "{err}");
    assert!(!err.contains("SECRET"), "{err}");
}

//! Opt-in: `--backend openai` against a real OpenAI-compatible server (llama-cpp-python's, as
//! README.md's "OpenAI-compatible servers" section starts it). Ignored by default; run with
//!
//! ```text
//! TTC_REAL_OPENAI_HOST=http://127.0.0.1:8000 cargo test --test integration openai_real -- --ignored
//! ```
//!
//! What it checks holds for any model, however weak: the stream decodes (real multi-byte text
//! at the ends of deltas), the log-probabilities arrive, and a run ends with every candidate
//! finished, its steps judged through the same server.

use std::process::Command;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use ttc::model::openai::{ApiKey, OpenAiClient, ServerSettings};
use ttc::model::{collect, GenRequest, Message};

fn host() -> String {
    std::env::var("TTC_REAL_OPENAI_HOST").unwrap_or_else(|_| "http://127.0.0.1:8000".into())
}

fn settings() -> ServerSettings {
    ServerSettings { stall_timeout: Duration::from_secs(300), ..ServerSettings::default() }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a real OpenAI-compatible server (see README: OpenAI-compatible servers)"]
async fn a_real_server_streams_with_logprobs() {
    let client = OpenAiClient::new(&host(), settings(), ApiKey::from_env()).unwrap();
    let models = client.list_models().await.expect("the server lists its models");
    let model = models.first().expect("at least one model").clone();
    let gen = client.generator(&model).await.unwrap();
    let mut req = GenRequest::new(vec![Message::user("Is 12 + 30 = 42 correct? Answer Yes or No.")]);
    req.options.num_predict = Some(4);
    req.options.temperature = Some(0.0);
    req.top_logprobs = 5;
    let out = collect(&gen, req, CancellationToken::new()).await.expect("a generation");
    assert!(!out.text.is_empty());
    assert!(out.had_logprobs, "the server returned no logprobs");
    assert!(!out.logprobs[0].top_logprobs.is_empty());
    assert!(out.stats.generated_tokens > 0, "{:?}", out.stats);
    // A partial answer: continued (vLLM, SGLang, llama.cpp's prefill), or answered anew by a
    // server that ignores the fields; either way the request succeeds.
    let mut req = GenRequest::new(vec![Message::user("What is 12 + 30?"), Message::assistant("12 + 30 =")]);
    req.options.num_predict = Some(4);
    collect(&gen, req, CancellationToken::new()).await.expect("a continuation request");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a real OpenAI-compatible server (see README: OpenAI-compatible servers)"]
async fn a_real_server_runs_best_of_n_with_the_judge() {
    let host = host();
    let o = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_ttc"))
            .args(["run", "--backend", "openai", "--host", &host, "--problem", "What is 12 + 30?"])
            .args(["-n", "2", "--max-tokens", "96", "--verifier", "judge", "--no-trace", "--json"])
            .env_remove("TTC_CONFIG")
            .env_remove("TTC_BACKEND")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    // A weak model may end without an extractable answer (exit 1); it must not crash or fail.
    assert!(matches!(o.status.code(), Some(0) | Some(1)), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("--json output");
    let candidates = v["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 2);
    assert!(candidates.iter().all(|c| c["error"].is_null()), "{v}");
    let judged = candidates
        .iter()
        .flat_map(|c| c["steps"].as_array().unwrap())
        .filter(|s| s["verdict"]["score"].is_number())
        .count();
    assert!(judged > 0, "no step was judged: {v}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a real OpenAI-compatible server (see README: OpenAI-compatible servers)"]
async fn a_real_server_gets_samples_of_one_prompt_together_or_one_by_one() {
    use ttc::model::SampleGroup;
    // One at a time: llama-cpp-python's server interrupts a running request for a new one.
    let settings = ServerSettings { concurrency: 1, n_per_request: 8, ..settings() };
    let client = OpenAiClient::new(&host(), settings, ApiKey::from_env()).unwrap();
    let models = client.list_models().await.expect("the server lists its models");
    let gen = client.generator(models.first().expect("at least one model")).await.unwrap();
    let ask = |seed: i64, group: Option<SampleGroup>| {
        let mut req = GenRequest::new(vec![Message::user("Name a prime number and say why in one line.")]);
        req.options.num_predict = Some(16);
        req.options.temperature = Some(0.9);
        req.options.seed = Some(seed);
        req.group = group;
        req
    };
    let id = SampleGroup::next_id();
    let tasks: Vec<_> = (0..3u32)
        .map(|i| {
            let gen = gen.clone();
            let req = ask(i as i64, Some(SampleGroup { id, index: i, size: 3 }));
            tokio::spawn(async move { collect(&gen, req, CancellationToken::new()).await })
        })
        .collect();
    let mut texts = Vec::new();
    for t in tasks {
        texts.push(t.await.unwrap().expect("every member finishes").text);
    }
    assert!(texts.iter().all(|t| !t.is_empty()), "{texts:?}");
    // A server that honours `n` wrote three samples of seed 0; one that ignores it (llama-cpp-
    // python) answered member 0, and the others asked alone with their own seeds.
    let mut lone = Vec::new();
    for s in 0..3 {
        lone.push(collect(&gen, ask(s, None), CancellationToken::new()).await.unwrap().text);
    }
    eprintln!("together: {texts:?}\nalone:    {lone:?}");
    assert_eq!(texts[0], lone[0], "member 0 has the group's seed");
}

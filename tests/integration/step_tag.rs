//! Step-tag PRMs (Math-Shepherd's format) over Ollama's `/api/generate` with `raw: true`,
//! against the fake server's `prm-tag` model: the raw request on the wire, the judge's
//! `format = "step-tag"` in a run, and `ttc run` with `assets/verifiers/step-tag.toml`.

use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use ttc::model::{collect, GenRequest, Generator};
use ttc::problem::Problem;
use ttc::run::{start, SolvePrompt};
use ttc::strategy::RunConfig;
use ttc::tree::RunTree;
use ttc::verify::{JudgeMethod, JudgeTemplate, JudgeVerifier, StepDetail};

use super::ollama_server::{prm_tag_verdict, PRM_TAG};
use super::server_and_client;

const TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/verifiers/step-tag.toml");

#[test]
fn the_fake_prm_reads_the_step_before_the_last_tag() {
    let two = format!("Q? Step 1: 12 + 30 = 42{PRM_TAG}\nStep 2: 42 * 2 = 85{PRM_TAG}");
    assert_eq!(prm_tag_verdict(&two, true), "-");
    let one = format!("Q? Step 1: 12 + 30 = 42{PRM_TAG}");
    assert_eq!(prm_tag_verdict(&one, true), "+");
    assert_eq!(prm_tag_verdict(&one, false), "?", "not raw");
    assert_eq!(prm_tag_verdict("Q? Step 1: 12 + 30 = 42", true), "?", "no tag at the end");
}

#[tokio::test]
async fn a_raw_request_goes_to_api_generate_as_written() {
    let (server, client) = server_and_client().await;
    let gen = client.generator("prm-tag").await.unwrap();
    let prompt = format!("What is 12 + 30? Step 1: 12 + 30 = 42{PRM_TAG}");
    let mut req = GenRequest::raw(prompt.clone());
    req.options.num_predict = Some(1);
    req.options.temperature = Some(0.0);
    req.top_logprobs = 20;
    let out = collect(&gen, req, CancellationToken::new()).await.unwrap();
    assert_eq!(out.text, "+");
    let top = &out.logprobs[0].top_logprobs;
    assert_eq!((top[0].token.as_str(), top[1].token.as_str()), ("+", "-"));
    assert_eq!(out.stats.generated_tokens, 1);
    let sent: Vec<_> = server.requests().into_iter().filter(|r| r.path == "/api/generate").collect();
    assert_eq!(sent.len(), 1);
    let body = &sent[0].body;
    assert_eq!((body["raw"].as_bool(), body["prompt"].as_str()), (Some(true), Some(prompt.as_str())));
    assert_eq!(body["options"]["num_predict"], 1);
    assert!(body.get("messages").is_none(), "{body}");
    // A model the fake serves only over chat says so, as an HTTP error.
    let other = client.generator("tiny-math").await.unwrap();
    let e = collect(&other, GenRequest::raw("x"), CancellationToken::new()).await.unwrap_err();
    assert!(e.to_string().contains("prm-tag only"), "{e}");
}

#[tokio::test]
async fn a_step_tag_prm_scores_each_step_at_its_tag() {
    let (server, client) = server_and_client().await;
    let template =
        JudgeTemplate::parse(&std::fs::read_to_string(TEMPLATE).unwrap(), "step-tag.toml").unwrap();
    let judge = Arc::new(JudgeVerifier::new(Arc::new(client.generator("prm-tag").await.unwrap()), template));
    let policy: Arc<dyn Generator> = Arc::new(client.generator("tiny-math").await.unwrap());
    let problem = Problem::inline("What is 12 + 30?", Some("42".into()));
    let config = RunConfig { n: 4, ..RunConfig::default() };
    let mut h = start(problem, config, policy, judge, SolvePrompt::bundled());
    let mut tree = RunTree::new();
    let folding = async {
        while let Some(e) = h.events.recv().await {
            tree.apply(&e);
        }
    };
    tokio::time::timeout(Duration::from_secs(30), folding).await.expect("the run ends");
    let good = &tree.nodes[0];
    let bad = &tree.nodes[3]; // seed 3 writes 12 + 30 = 43
    let v = good.steps[1].verdict.as_ref().unwrap();
    let StepDetail::Judge { method, prompt, .. } = &v.detail else { panic!() };
    assert_eq!(*method, JudgeMethod::Logprobs);
    assert!(prompt.starts_with("What is 12 + 30? Step 1: "), "{prompt}");
    assert!(prompt.ends_with(PRM_TAG) && prompt.contains(&format!("{PRM_TAG}\nStep 2: ")), "{prompt}");
    // p(+) / (p(+) + p(-)) at the tag: 0.95/0.99 right, 0.15/0.95 wrong.
    assert!((v.score.unwrap() - 0.95 / 0.99).abs() < 1e-9, "{v:?}");
    let w = bad.steps[1].verdict.as_ref().unwrap();
    assert!((w.score.unwrap() - 0.15 / 0.95).abs() < 1e-9, "{w:?}");
    // Step k's prompt holds k tags: one raw request per step, never a chat for the PRM.
    let raw: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/generate")
        .map(|r| r.body["prompt"].as_str().unwrap().to_string())
        .collect();
    let tags: Vec<usize> = raw.iter().map(|p| p.matches(PRM_TAG).count()).collect();
    assert!(tags.contains(&1) && tags.contains(&2), "{tags:?}");
    assert!(server.chat_requests().iter().all(|c| c["model"] != "prm-tag"));
}

#[tokio::test(flavor = "multi_thread")]
async fn ttc_run_takes_the_step_tag_template() {
    let (server, _) = server_and_client().await;
    let args: Vec<String> = [
        "run",
        "--host",
        &server.url,
        "--model",
        "tiny-math",
        "--problem",
        "What is 12 + 30?",
        "--verifier",
        "judge",
        "--verifier-model",
        "prm-tag",
        "--judge-template",
        TEMPLATE,
        "-n",
        "4",
        "--no-trace",
        "--json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let home = std::env::temp_dir().join(format!("ttc-steptag-home-{}", std::process::id()));
    let o: Output =
        tokio::task::spawn_blocking(move || super::isolated::command(&home).args(&args).output().unwrap())
            .await
            .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["run"]["verifier"], "judge:prm-tag");
    let steps: Vec<&serde_json::Value> =
        v["candidates"].as_array().unwrap().iter().flat_map(|c| c["steps"].as_array().unwrap()).collect();
    let wrong = steps.iter().find(|s| s["text"].as_str().unwrap().contains("= 43")).expect("seed 3 errs");
    assert!(wrong["verdict"]["score"].as_f64().unwrap() < 0.2, "{wrong}");
    let right = steps.iter().find(|s| s["text"].as_str().unwrap().contains("= 42")).expect("others do not");
    assert!(right["verdict"]["score"].as_f64().unwrap() > 0.9, "{right}");
    assert!(server.requests().iter().any(|r| r.path == "/api/generate"));
}

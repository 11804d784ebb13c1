//! Several samples of one prompt in one request (`n`) against the fake OpenAI-compatible
//! server: one request per chunk, each member its own choice, the same texts as requests of
//! their own; servers that refuse `n` or ignore it; faults of the shared request.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use ttc::model::openai::{OpenAiClient, ServerSettings};
use ttc::model::{collect, Collected, GenError, GenRequest, Message, SampleGroup};

use super::openai_server::{OpenAiServer, ServerConfig, STREAM_ERROR, UNICODE_TEXT};

const PATH: &str = "/v1/chat/completions";

fn settings(per: usize) -> ServerSettings {
    ServerSettings { n_per_request: per, concurrency: 16, ..super::fast_settings() }
}

fn ask(seed: i64, group: Option<SampleGroup>) -> GenRequest {
    let mut req = GenRequest::new(vec![Message::system("Solve."), Message::user("What is 12 + 30?")]);
    req.options.seed = Some(seed);
    req.options.temperature = Some(0.8);
    req.group = group;
    req
}

/// Members `0..size` of a fresh group (seeds `base + i`), run at once; results in order.
async fn group_run(
    client: &OpenAiClient,
    model: &str,
    base: i64,
    size: u32,
) -> Vec<Result<Collected, GenError>> {
    let id = SampleGroup::next_id();
    let gen = client.generator_unchecked(model);
    let tasks: Vec<_> = (0..size)
        .map(|i| {
            let gen = gen.clone();
            let req = ask(base + i as i64, Some(SampleGroup { id, index: i, size }));
            tokio::spawn(async move { collect(&gen, req, CancellationToken::new()).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(tokio::time::timeout(Duration::from_secs(20), t).await.expect("a member ends").unwrap());
    }
    out
}

/// What each seed writes in a request of its own.
async fn alone(model: &str, seeds: std::ops::Range<i64>) -> Vec<String> {
    let server = OpenAiServer::start(ServerConfig::default()).await;
    let client = OpenAiClient::new(&server.url, settings(1), None).unwrap();
    let gen = client.generator_unchecked(model);
    let mut out = Vec::new();
    for s in seeds {
        out.push(collect(&gen, ask(s, None), CancellationToken::new()).await.unwrap().text);
    }
    out
}

fn texts(results: &[Result<Collected, GenError>]) -> Vec<String> {
    results.iter().map(|r| r.as_ref().expect("the member finishes").text.clone()).collect()
}

fn ns(server: &OpenAiServer) -> Vec<(Option<u64>, Option<i64>)> {
    server.bodies(PATH).iter().map(|b| (b["n"].as_u64(), b["seed"].as_i64())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn members_share_one_request_per_chunk_and_write_what_they_would_alone() {
    let server = OpenAiServer::start(ServerConfig::default()).await;
    let client = OpenAiClient::new(&server.url, settings(8), None).unwrap();
    let got = group_run(&client, "tiny-math", 100, 20).await;
    // Chunks of 8, 8 and 4, each with its first member's seed.
    let mut sent = ns(&server);
    sent.sort();
    assert_eq!(sent, [(Some(4), Some(116)), (Some(8), Some(100)), (Some(8), Some(108))]);
    // The fake writes choice j as seed + j alone would: same texts, in member order, and the
    // wrong ones (seed % 4 == 3) are where they would be.
    assert_eq!(texts(&got), alone("tiny-math", 100..120).await);
    let stats: Vec<_> = got.iter().map(|r| r.as_ref().unwrap().stats.clone()).collect();
    assert!(stats.iter().all(|s| s.done_reason == "stop" && s.generated_tokens > 0), "{stats:?}");
    // The prompt is counted once per request, on its first member.
    let prompts: Vec<u64> = stats.iter().map(|s| s.prompt_tokens).collect();
    assert_eq!(prompts.iter().filter(|&&p| p > 0).count(), 3, "{prompts:?}");
    assert_eq!(client.limiter().load().running, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn multi_byte_text_of_interleaved_choices_arrives_whole() {
    let server = OpenAiServer::start(ServerConfig::default()).await;
    let client = OpenAiClient::new(&server.url, settings(8), None).unwrap();
    let got = group_run(&client, "unicode", 0, 5).await;
    assert_eq!(texts(&got), vec![UNICODE_TEXT.to_string(); 5]);
    assert_eq!(ns(&server), [(Some(5), Some(0))]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_refusing_n_gets_one_request_per_sample_from_then_on() {
    let server = OpenAiServer::start(ServerConfig::default()).await;
    let client = OpenAiClient::new(&server.url, settings(8), None).unwrap();
    let got = group_run(&client, "no-n", 0, 4).await;
    assert_eq!(texts(&got), alone("no-n", 0..4).await);
    let sent = ns(&server);
    assert_eq!(sent[0], (Some(4), Some(0)), "{sent:?}");
    let mut rest: Vec<_> = sent[1..].to_vec();
    rest.sort();
    assert_eq!(rest, [(None, Some(0)), (None, Some(1)), (None, Some(2)), (None, Some(3))]);
    // Known now: the next group asks alone from the start.
    let again = group_run(&client, "no-n", 10, 3).await;
    assert_eq!(texts(&again), alone("no-n", 10..13).await);
    assert!(ns(&server)[5..].iter().all(|(n, _)| n.is_none()), "{:?}", ns(&server));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_ignoring_n_answers_the_others_alone() {
    let server = OpenAiServer::start(ServerConfig::default()).await;
    let client = OpenAiClient::new(&server.url, settings(8), None).unwrap();
    let got = group_run(&client, "ignore-n", 0, 4).await;
    // Member 0 keeps the one answer; 1–3 ask alone with their own seeds.
    assert_eq!(texts(&got), alone("ignore-n", 0..4).await);
    let sent = ns(&server);
    assert_eq!(sent.len(), 4, "{sent:?}");
    assert_eq!(sent[0], (Some(4), Some(0)));
    let again = group_run(&client, "ignore-n", 20, 2).await;
    assert_eq!(texts(&again), alone("ignore-n", 20..22).await);
    assert!(ns(&server)[4..].iter().all(|(n, _)| n.is_none()), "{:?}", ns(&server));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fault_of_the_shared_request_ends_every_member_clearly() {
    for (model, expect) in [
        ("flaky-math", STREAM_ERROR),
        ("evil-math", STREAM_ERROR),
        ("drop-math", "dropped"),
        ("slow-math", "stalled"),
    ] {
        let server = OpenAiServer::start(ServerConfig::default()).await;
        let client = OpenAiClient::new(&server.url, settings(8), None).unwrap();
        // Seeds 0..4: member 1 (seed 1) is the faulty one; the response ends at its fault.
        let got = group_run(&client, model, 0, 4).await;
        let failed: Vec<String> =
            got.iter().filter_map(|r| r.as_ref().err()).map(|e| e.to_string()).collect();
        assert!(!failed.is_empty(), "{model}");
        assert!(failed.iter().all(|m| m.contains(expect)), "{model}: {failed:?}");
        for r in got.iter().filter_map(|r| r.as_ref().ok()) {
            assert!(r.text.contains("\\boxed{"), "{model}: a member that finished is whole: {}", r.text);
        }
        assert_eq!(client.limiter().load().running, 0, "{model}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_one_member_leaves_the_others_running() {
    let server = OpenAiServer::start(ServerConfig::default()).await;
    let client = OpenAiClient::new(&server.url, settings(8), None).unwrap();
    let gen = client.generator_unchecked("tiny-math");
    let id = SampleGroup::next_id();
    let cancel = CancellationToken::new();
    cancel.cancel();
    let mut tasks = Vec::new();
    for i in 0..3u32 {
        let gen = gen.clone();
        let token = if i == 1 { cancel.clone() } else { CancellationToken::new() };
        let req = ask(4 + i as i64, Some(SampleGroup { id, index: i, size: 3 }));
        tasks.push(tokio::spawn(async move { collect(&gen, req, token).await }));
    }
    let mut got = Vec::new();
    for t in tasks {
        got.push(tokio::time::timeout(Duration::from_secs(20), t).await.unwrap().unwrap());
    }
    assert!(matches!(got[1], Err(GenError::Cancelled)), "{:?}", got[1]);
    let want = alone("tiny-math", 4..7).await;
    assert_eq!(got[0].as_ref().unwrap().text, want[0]);
    assert_eq!(got[2].as_ref().unwrap().text, want[2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_per_request_or_a_request_without_group_sends_no_n() {
    let server = OpenAiServer::start(ServerConfig::default()).await;
    let client = OpenAiClient::new(&server.url, settings(1), None).unwrap();
    let got = group_run(&client, "tiny-math", 0, 3).await;
    assert_eq!(texts(&got).len(), 3);
    let gen = client.generator_unchecked("tiny-math");
    collect(&gen, ask(9, None), CancellationToken::new()).await.unwrap();
    assert!(ns(&server).iter().all(|(n, _)| n.is_none()), "{:?}", ns(&server));
    assert_eq!(ns(&server).len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_answering_without_a_stream_fails_every_member_once() {
    let server = OpenAiServer::start(ServerConfig::default()).await;
    let client = OpenAiClient::new(&server.url, settings(8), None).unwrap();
    let got = group_run(&client, "no-stream", 0, 3).await;
    for r in &got {
        let e = r.as_ref().expect_err("no stream, no answer").to_string();
        assert!(e.contains("one JSON body"), "{e}");
    }
    assert_eq!(ns(&server).len(), 1, "one request for the three");
}

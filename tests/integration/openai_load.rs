//! The OpenAI-compatible client under load, measured on demand (not part of the normal run):
//!
//! ```text
//! cargo test --test integration openai_load -- --ignored --nocapture
//! ```
//!
//! Prints the SSE decoder's MB/s, and the wall time of 1,000 concurrent streams against the
//! in-process fake server (client and server share the machine's cores), and of 1,000 samples of
//! one prompt sent one per request, 8 per request and 64 per request (`n`).

use std::time::Instant;

use tokio_util::sync::CancellationToken;
use ttc::model::openai::{OpenAiClient, ServerSettings};
use ttc::model::openai_sse::SseDecoder;
use ttc::model::{collect, GenRequest, Message};

use super::openai_server::{OpenAiServer, ServerConfig};

#[test]
#[ignore = "a measurement; run with --ignored --nocapture"]
fn throughput_of_the_sse_decoder() {
    let event = format!(
        "data: {}\n\n",
        serde_json::json!({"choices": [{"index": 0, "delta": {"content": "12 + 30 = 42 中文"}, "finish_reason": null}]})
    );
    let stream = event.repeat(20_000).into_bytes();
    let started = Instant::now();
    let mut events = 0;
    for _ in 0..5 {
        let mut d = SseDecoder::default();
        for read in stream.chunks(1500) {
            d.push(read);
            while d.next_event().unwrap().is_some() {
                events += 1;
            }
        }
    }
    let took = started.elapsed();
    assert_eq!(events, 100_000);
    println!(
        "sse decoder: {:.0} MB/s, {:.0} events/ms",
        5.0 * stream.len() as f64 / took.as_secs_f64() / 1e6,
        events as f64 / took.as_secs_f64() / 1e3
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement; run with --ignored --nocapture"]
async fn a_thousand_concurrent_streams() {
    let server = OpenAiServer::start(ServerConfig::default()).await;
    let settings = ServerSettings {
        concurrency: 1000,
        stall_timeout: std::time::Duration::from_secs(60),
        request_timeout: std::time::Duration::from_secs(60),
        ..super::fast_settings()
    };
    let client = OpenAiClient::new(&server.url, settings, None).unwrap();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for seed in 0..1000i64 {
        let gen = client.generator_unchecked("tiny-math");
        tasks.push(tokio::spawn(async move {
            let mut req = GenRequest::new(vec![Message::user("What is 12 + 30?")]);
            req.options.seed = Some(seed);
            collect(&gen, req, CancellationToken::new()).await
        }));
    }
    let mut ok = 0;
    let mut chars = 0;
    let mut first_error = None;
    for t in tasks {
        match t.await.unwrap() {
            Ok(out) => {
                ok += 1;
                chars += out.text.len();
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let took = started.elapsed();
    assert_eq!(ok, 1000, "{first_error:?}");
    println!(
        "1000 concurrent streams: {:.0} ms wall, {:.2} ms per stream, {} bytes of text",
        took.as_secs_f64() * 1e3,
        took.as_secs_f64() * 1e3 / 1000.0,
        chars
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement; run with --ignored --nocapture"]
async fn a_thousand_samples_of_one_prompt_with_and_without_n() {
    use ttc::model::SampleGroup;
    for per in [1usize, 8, 64] {
        let server = OpenAiServer::start(ServerConfig::default()).await;
        let settings = ServerSettings {
            concurrency: 1000,
            n_per_request: per,
            stall_timeout: std::time::Duration::from_secs(60),
            request_timeout: std::time::Duration::from_secs(60),
            ..super::fast_settings()
        };
        let client = OpenAiClient::new(&server.url, settings, None).unwrap();
        let gen = client.generator_unchecked("tiny-math");
        let id = SampleGroup::next_id();
        let started = Instant::now();
        let tasks: Vec<_> = (0..1000u32)
            .map(|i| {
                let gen = gen.clone();
                let mut req = GenRequest::new(vec![Message::user("What is 12 + 30?")]);
                req.options.seed = Some(i as i64);
                req.group = Some(SampleGroup { id, index: i, size: 1000 });
                tokio::spawn(async move { collect(&gen, req, CancellationToken::new()).await })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            ok += t.await.unwrap().is_ok() as usize;
        }
        let took = started.elapsed();
        assert_eq!(ok, 1000);
        println!(
            "1000 samples, --n-per-request {per}: {} requests, {:.0} ms wall, {:.3} ms per sample",
            server.bodies("/v1/chat/completions").len(),
            took.as_secs_f64() * 1e3,
            took.as_secs_f64()
        );
    }
}

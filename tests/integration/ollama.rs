//! The Ollama client: wire format, options, and every error path.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use ttc::model::ollama::OllamaClient;
use ttc::model::{collect, Chunk, GenError, GenRequest, Generator, Message};

use super::ollama_server::{ServerConfig, TestServer};
use super::{fast_settings, server_and_client};

fn ask(q: &str) -> GenRequest {
    GenRequest::new(vec![Message::user(q)])
}

#[tokio::test]
async fn connection_refused_names_the_host_and_the_fix() {
    // Nothing listens on port 1.
    let client = OllamaClient::new("http://127.0.0.1:1", fast_settings()).unwrap();
    let err = client.generator("any").await.err().unwrap();
    assert!(matches!(err, GenError::Unreachable { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("http://127.0.0.1:1"), "{msg}");
    assert!(msg.contains("ollama serve") && msg.contains("--host"), "{msg}");
}

#[tokio::test]
async fn lists_models_and_reads_version_and_details() {
    let (_server, client) = server_and_client().await;
    let names: Vec<String> = client.list_models().await.unwrap().into_iter().map(|m| m.name).collect();
    assert!(names.iter().any(|n| n.starts_with("tiny-math")), "{names:?}");
    assert_eq!(client.version().await.unwrap(), "0.13.0");
    assert!(client.has_logprobs().await.unwrap());
    let d = client.show("tiny-math").await.unwrap();
    assert_eq!(d.context_length, Some(4096));
    assert!(d.capabilities.contains(&"completion".to_string()));
}

#[tokio::test]
async fn unknown_model_is_404_with_the_installed_list() {
    let (_server, client) = server_and_client().await;
    let err = client.show("llama9:70b").await.unwrap_err();
    let GenError::ModelNotFound { ref installed, .. } = err else { panic!("{err:?}") };
    assert!(installed.iter().any(|n| n.starts_with("tiny-math")));
    let msg = err.to_string();
    assert!(msg.contains("\"llama9:70b\" not found") && msg.contains("ollama pull llama9:70b"), "{msg}");

    // The same from a chat request.
    let gen = client.generator("llama9:70b").await.unwrap();
    let err = collect(&gen, ask("hi"), CancellationToken::new()).await.unwrap_err();
    assert!(matches!(err, GenError::ModelNotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn streams_text_and_final_stats_with_options_on_the_wire() {
    let (server, client) = server_and_client().await;
    let gen = client.generator("tiny-math").await.unwrap();
    let mut req = ask("What is 12 + 30?");
    req.options.seed = Some(5);
    req.options.temperature = Some(0.7);
    req.options.num_predict = Some(200);
    req.options.top_k = Some(40);
    let out = collect(&gen, req, CancellationToken::new()).await.unwrap();
    assert!(out.text.contains("12 + 30 = 42"), "{}", out.text);
    assert!(out.text.ends_with("The answer is \\boxed{42}."), "{}", out.text);
    assert!(out.stats.generated_tokens > 3);
    assert!(out.stats.prompt_tokens > 0);
    assert_eq!(out.stats.done_reason, "stop");
    assert!(!out.had_logprobs, "logprobs were not asked for");

    let body = server.chat_requests().pop().unwrap();
    assert_eq!(body["model"], "tiny-math");
    assert_eq!(body["stream"], true);
    assert_eq!(body["options"]["seed"], 5);
    assert_eq!(body["options"]["num_predict"], 200);
    assert_eq!(body["options"]["top_k"], 40);
    assert!(body.get("logprobs").is_none());
}

#[tokio::test]
async fn num_predict_and_stop_end_generation() {
    let (_server, client) = server_and_client().await;
    let gen = client.generator("tiny-math").await.unwrap();
    let mut req = ask("What is 12 + 30?");
    req.options.num_predict = Some(3);
    let out = collect(&gen, req, CancellationToken::new()).await.unwrap();
    assert_eq!(out.stats.done_reason, "length");
    assert_eq!(out.stats.generated_tokens, 3);

    let mut req = ask("What is 12 + 30?");
    req.options.stop = vec!["\n\n".into()];
    let out = collect(&gen, req, CancellationToken::new()).await.unwrap();
    assert_eq!(out.text, "We need to compute 12 + 30.");
}

#[tokio::test]
async fn a_partial_assistant_message_is_continued() {
    let (_server, client) = server_and_client().await;
    let gen = client.generator("tiny-math").await.unwrap();
    let req = GenRequest::new(vec![
        Message::user("What is 12 + 30?"),
        Message::assistant("We need to compute 12 + 30.\n\n"),
    ]);
    let out = collect(&gen, req, CancellationToken::new()).await.unwrap();
    assert!(out.text.starts_with("12 + 30 = 42"), "{}", out.text);
}

#[tokio::test]
async fn logprobs_arrive_when_asked_and_the_server_has_them() {
    let (server, client) = server_and_client().await;
    let gen = client.generator("judge").await.unwrap();
    assert!(gen.info().logprobs);
    let mut req = ask("Step to check:\n2 + 2 = 4");
    req.top_logprobs = 5;
    req.options.num_predict = Some(1);
    let out = collect(&gen, req, CancellationToken::new()).await.unwrap();
    assert!(out.had_logprobs);
    let first = &out.logprobs[0];
    assert_eq!(first.token, "Yes");
    assert!(first.top_logprobs.len() >= 2 && first.top_logprobs.len() <= 5);
    let body = server.chat_requests().pop().unwrap();
    assert_eq!(body["logprobs"], true);
    assert_eq!(body["top_logprobs"], 5);
}

#[tokio::test]
async fn old_servers_are_known_to_lack_logprobs() {
    let server =
        TestServer::start(ServerConfig { version: "0.12.10".into(), ..ServerConfig::default() }).await;
    let client = OllamaClient::new(&server.url, fast_settings()).unwrap();
    let gen = client.generator("judge").await.unwrap();
    assert!(!gen.info().logprobs);
    let mut req = ask("Step to check:\n2 + 2 = 4");
    req.top_logprobs = 5;
    let out = collect(&gen, req, CancellationToken::new()).await.unwrap();
    assert!(!out.had_logprobs);
    // The request does not even ask.
    assert!(server.chat_requests().pop().unwrap().get("logprobs").is_none());
}

#[tokio::test]
async fn an_error_line_mid_stream_fails_that_request() {
    let (_server, client) = server_and_client().await;
    let gen = client.generator("flaky-math").await.unwrap();
    let mut req = ask("What is 12 + 30?");
    req.options.seed = Some(1);
    let err = collect(&gen, req.clone(), CancellationToken::new()).await.unwrap_err();
    let GenError::Stream(msg) = &err else { panic!("{err:?}") };
    assert!(msg.contains("unexpected EOF"), "{msg}");
    // Another seed on the same model is fine.
    req.options.seed = Some(2);
    assert!(collect(&gen, req, CancellationToken::new()).await.is_ok());
}

#[tokio::test]
async fn a_stalled_stream_times_out() {
    let (_server, client) = server_and_client().await;
    let gen = client.generator("slow-math").await.unwrap();
    let started = std::time::Instant::now();
    let err = collect(&gen, ask("What is 1 + 1?"), CancellationToken::new()).await.unwrap_err();
    assert!(matches!(err, GenError::Stalled { .. }), "{err:?}");
    assert!(err.to_string().contains("--stall-timeout"));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_dropped_connection_fails_the_request() {
    let (_server, client) = server_and_client().await;
    let gen = client.generator("drop-math").await.unwrap();
    let err = collect(&gen, ask("What is 1 + 1?"), CancellationToken::new()).await.unwrap_err();
    assert!(matches!(err, GenError::Dropped(_)), "{err:?}");
}

#[tokio::test]
async fn a_busy_server_is_retried_with_backoff() {
    let server = TestServer::start(ServerConfig { busy_first: 2, ..ServerConfig::default() }).await;
    let client = OllamaClient::new(&server.url, fast_settings()).unwrap();
    let gen = client.generator("tiny-math").await.unwrap();
    let out = collect(&gen, ask("What is 2 + 3?"), CancellationToken::new()).await.unwrap();
    assert!(out.text.contains("\\boxed{5}"));
    assert_eq!(server.chat_requests().len(), 3, "two 503s, then success");
}

#[tokio::test]
async fn a_server_that_stays_busy_fails_with_the_reason() {
    let (server, client) = server_and_client().await;
    let gen = client.generator("busy").await.unwrap();
    let err = collect(&gen, ask("hi"), CancellationToken::new()).await.unwrap_err();
    let GenError::Busy { attempts, ref detail, .. } = err else { panic!("{err:?}") };
    assert_eq!(attempts, 4, "one try and three retries");
    assert!(detail.contains("server busy"), "{detail}");
    assert_eq!(server.chat_requests().len(), 4);
}

#[tokio::test]
async fn cancelling_drops_the_http_stream() {
    let (server, client) = server_and_client().await;
    let gen = client.generator("slow-math").await.unwrap();
    let cancel = CancellationToken::new();
    let mut stream = gen.generate(ask("What is 1 + 1?"), cancel.clone()).await.unwrap();
    use futures::StreamExt;
    assert!(matches!(stream.next().await, Some(Ok(Chunk::Delta { .. }))));
    assert_eq!(server.open_streams(), 1);
    cancel.cancel();
    assert_eq!(stream.next().await, Some(Err(GenError::Cancelled)));
    drop(stream);
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while server.open_streams() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.open_streams(), 0, "the server saw the client go away");
    // The client-side slot is free again.
    assert_eq!(client.limiter().load().running, 0);
}

#[tokio::test]
async fn the_concurrency_limit_queues_the_rest() {
    let server =
        TestServer::start(ServerConfig { token_delay: Duration::from_millis(5), ..ServerConfig::default() })
            .await;
    let mut settings = fast_settings();
    settings.concurrency = 2;
    let client = OllamaClient::new(&server.url, settings).unwrap();
    let gen = std::sync::Arc::new(client.generator("tiny-math").await.unwrap());
    let mut load = gen.load().unwrap();
    let watcher = tokio::spawn(async move {
        let (mut max_running, mut max_queued) = (0, 0);
        while load.changed().await.is_ok() {
            let l = *load.borrow_and_update();
            max_running = max_running.max(l.running);
            max_queued = max_queued.max(l.queued);
            if max_queued >= 4 && l.running == 0 && l.queued == 0 {
                break;
            }
        }
        (max_running, max_queued)
    });
    let jobs: Vec<_> = (0..6)
        .map(|i| {
            let gen = gen.clone();
            tokio::spawn(async move {
                let mut req = ask("What is 2 + 3?");
                req.options.seed = Some(i);
                collect(gen.as_ref(), req, CancellationToken::new()).await
            })
        })
        .collect();
    for j in jobs {
        assert!(j.await.unwrap().is_ok());
    }
    let (max_running, max_queued) =
        tokio::time::timeout(Duration::from_secs(5), watcher).await.unwrap().unwrap();
    assert_eq!(max_running, 2);
    assert!(max_queued >= 4, "{max_queued}");
}

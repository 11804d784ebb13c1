//! Fault injection against the client API: a silent or broken server fails one request, fast,
//! with a message that names the host, hides its credentials and shows no raw escapes.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use ttc::model::ollama::OllamaClient;
use ttc::model::{collect, GenError, GenRequest, Message};

use super::fast_settings;
use super::ollama_server::faults::{html_page, HOSTILE, MULTI_BYTE};
use super::ollama_server::{ChatFault, Faults, PathFault, ServerConfig, SilentServer, TestServer};

/// Every test must end well within this.
const BOUND: Duration = Duration::from_secs(5);

/// `f`, or a failure (not a hang) when it takes longer than [`BOUND`].
async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, f).await.expect("the request ended in time")
}

fn ask(q: &str, seed: i64) -> GenRequest {
    let mut r = GenRequest::new(vec![Message::user(q)]);
    r.options.seed = Some(seed);
    r.options.temperature = Some(0.0);
    r
}

/// `http://user:secret@127.0.0.1:PORT` for a server URL.
pub fn with_secret(url: &str) -> String {
    url.replace("http://", "http://user:secret@")
}

/// What a person could read of an error: no password, no raw escape, the host named.
fn assert_readable(e: &GenError, host: &str) {
    let msg = e.to_string();
    assert!(!msg.contains("secret"), "password leaked: {msg}");
    assert!(
        !msg.contains('\x1b') && !msg.contains('\u{9b}') && !msg.contains('\u{202E}'),
        "raw escape: {msg:?}"
    );
    assert!(msg.contains(host), "host {host} not named: {msg}");
    assert!(msg.len() < 1200, "too long ({} bytes): {msg}", msg.len());
}

fn host_of(url: &str) -> String {
    url.trim_start_matches("http://").to_string()
}

async fn faulty(faults: Faults) -> (TestServer, OllamaClient) {
    let server = TestServer::start(ServerConfig { faults, ..ServerConfig::default() }).await;
    let client = OllamaClient::new(&with_secret(&server.url), fast_settings()).unwrap();
    (server, client)
}

/// Runs `n` candidates at once on `model`; the results in seed order.
async fn candidates(client: &OllamaClient, n: i64) -> Vec<Result<String, GenError>> {
    let gen = client.generator("tiny-math").await.unwrap();
    let jobs = (0..n).map(|i| {
        let gen = gen.clone();
        async move { collect(&gen, ask("What is 2 + 3?", i), CancellationToken::new()).await.map(|c| c.text) }
    });
    let started = Instant::now();
    let out = bounded(futures::future::join_all(jobs)).await;
    assert!(started.elapsed() < BOUND, "took {:?}", started.elapsed());
    out
}

/// One of `n` candidates fails with an error `check` accepts; the others are whole.
async fn one_of_four_fails(fault: ChatFault, check: impl Fn(&GenError) -> bool) -> GenError {
    let (server, client) = faulty(Faults::on_chat(fault, &[1])).await;
    let results = candidates(&client, 4).await;
    let failed: Vec<&GenError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(failed.len(), 1, "{results:?}");
    assert!(check(failed[0]), "{:?}", failed[0]);
    // The model's own error line is its text, not the server's: it names no host.
    let host = if matches!(failed[0], GenError::Stream(_)) { String::new() } else { host_of(&server.url) };
    assert_readable(failed[0], &host);
    for ok in results.iter().flatten() {
        assert!(ok.ends_with("\\boxed{5}."), "{ok}");
    }
    failed[0].clone()
}

#[tokio::test]
async fn a_server_that_accepts_and_never_answers_fails_every_request_in_time() {
    let silent = SilentServer::start().await;
    let client = OllamaClient::new(&with_secret(&silent.url), fast_settings()).unwrap();
    let host = host_of(&silent.url);
    let started = Instant::now();
    let errors = [
        bounded(client.version()).await.unwrap_err(),
        bounded(client.list_models()).await.unwrap_err(),
        bounded(client.show("tiny-math")).await.unwrap_err(),
        bounded(client.generator("tiny-math")).await.err().unwrap(),
    ];
    assert!(started.elapsed() < BOUND, "took {:?}", started.elapsed());
    for e in &errors {
        assert!(matches!(e, GenError::NoAnswer { .. }), "{e:?}");
        assert_readable(e, &host);
        assert!(e.to_string().contains("did not answer"), "{e}");
    }
}

#[tokio::test]
async fn each_small_endpoint_that_hangs_before_its_headers_times_out() {
    for path in ["/api/version", "/api/tags", "/api/show"] {
        for fault in [PathFault::Hang, PathFault::HeadersThenNothing] {
            let (server, client) = faulty(Faults::on_path(path, fault.clone())).await;
            let started = Instant::now();
            let err = match path {
                "/api/version" => bounded(client.version()).await.unwrap_err(),
                "/api/tags" => bounded(client.list_models()).await.unwrap_err(),
                _ => bounded(client.show("tiny-math")).await.unwrap_err(),
            };
            assert!(started.elapsed() < BOUND, "{path} {fault:?} took {:?}", started.elapsed());
            assert!(matches!(err, GenError::NoAnswer { .. }), "{path} {fault:?}: {err:?}");
            assert!(err.to_string().contains(path), "{err}");
            assert_readable(&err, &host_of(&server.url));
        }
    }
}

#[tokio::test]
async fn a_5kb_html_error_page_is_cut_and_named() {
    let page = html_page(500);
    let (server, client) =
        faulty(Faults::on_path("/api/tags", PathFault::Reply(500, "text/html", page.clone()))).await;
    let err = client.list_models().await.unwrap_err();
    assert!(matches!(err, GenError::Http { status: 500, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("HTTP 500") && msg.contains("more bytes"), "{msg}");
    assert_readable(&err, &host_of(&server.url));

    let err = one_of_four_fails(ChatFault::Status(500, "text/html", page), |e| {
        matches!(e, GenError::Http { status: 500, .. })
    })
    .await;
    assert!(err.to_string().len() < 700, "{err}");
}

#[tokio::test]
async fn a_chat_request_without_headers_fails_after_the_stall_timeout() {
    let err =
        one_of_four_fails(ChatFault::StallBeforeHeaders, |e| matches!(e, GenError::NoAnswer { .. })).await;
    assert!(err.to_string().contains("/api/chat"), "{err}");
}

#[tokio::test]
async fn headers_then_nothing_stalls_that_candidate_only() {
    one_of_four_fails(ChatFault::HeadersThenNothing, |e| matches!(e, GenError::Stalled { .. })).await;
}

#[tokio::test]
async fn a_stall_mid_stream_fails_that_candidate_only() {
    one_of_four_fails(ChatFault::StallMidStream, |e| matches!(e, GenError::Stalled { .. })).await;
}

#[tokio::test]
async fn a_reset_mid_stream_fails_that_candidate_only() {
    let (server, client) =
        faulty(Faults { reset: true, ..Faults::on_chat(ChatFault::ResetMidStream, &[2]) }).await;
    let results = candidates(&client, 4).await;
    let failed: Vec<&GenError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(failed.len(), 1, "{results:?}");
    assert!(matches!(failed[0], GenError::Dropped(_)), "{:?}", failed[0]);
    assert_readable(failed[0], &host_of(&server.url));
}

#[tokio::test]
async fn truncated_json_is_a_protocol_error() {
    let err = one_of_four_fails(ChatFault::TruncatedJson, |e| matches!(e, GenError::Protocol { .. })).await;
    assert!(err.to_string().contains("bad stream line"), "{err}");
}

#[tokio::test]
async fn a_stream_without_done_is_a_dropped_stream() {
    let err = one_of_four_fails(ChatFault::NoDone, |e| matches!(e, GenError::Dropped(_))).await;
    assert!(err.to_string().contains("before it was done"), "{err}");
}

#[tokio::test]
async fn a_line_longer_than_the_cap_fails_fast() {
    let err =
        one_of_four_fails(ChatFault::HugeLine(3 << 20), |e| matches!(e, GenError::Protocol { .. })).await;
    assert!(err.to_string().contains("a stream line exceeded 1048576 bytes"), "{err}");
}

#[tokio::test]
async fn an_error_line_with_hostile_text_is_shown_safely() {
    let text = format!("{HOSTILE} {}", "x".repeat(5000));
    one_of_four_fails(ChatFault::ErrorLine(text), |e| matches!(e, GenError::Stream(_))).await;
}

#[tokio::test]
async fn invalid_utf8_becomes_replacement_characters() {
    let (_server, client) = faulty(Faults::on_chat(ChatFault::InvalidUtf8, &[])).await;
    let results = candidates(&client, 2).await;
    for r in results {
        let text = r.unwrap();
        assert!(text.starts_with("bad \u{FFFD}"), "{text:?}");
        assert!(text.ends_with("\\boxed{5}."), "{text:?}");
    }
}

#[tokio::test]
async fn multi_byte_characters_cut_at_every_chunk_boundary_arrive_whole() {
    let (_server, client) = faulty(Faults::on_chat(ChatFault::Hostile, &[])).await;
    for r in candidates(&client, 2).await {
        let text = r.unwrap();
        // The text itself is the model's: it is kept as sent (the view sanitises it).
        assert!(text.starts_with(&format!("{HOSTILE} {MULTI_BYTE} ")), "{text:?}");
        assert!(text.ends_with("\\boxed{5}."), "{text:?}");
    }
}

#[tokio::test]
async fn bursts_of_503_are_retried_and_500_fail_only_their_candidates() {
    let busy = ChatFault::Status(503, "text/html", html_page(503));
    let (_server, client) = faulty(Faults::on_chat(busy, &[0, 1])).await;
    assert!(candidates(&client, 4).await.iter().all(Result::is_ok));

    let (server, client) =
        faulty(Faults::on_chat(ChatFault::Status(500, "text/html", html_page(500)), &[0, 1])).await;
    let results = candidates(&client, 4).await;
    let failed: Vec<&GenError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(failed.len(), 2, "{results:?}");
    for e in failed {
        assert_readable(e, &host_of(&server.url));
    }
}

#[tokio::test]
async fn credentials_are_sent_as_basic_auth_and_never_shown() {
    let (server, client) = faulty(Faults::default()).await;
    assert!(!client.host().contains("secret"), "{}", client.host());
    assert!(client.host().contains("***@"), "{}", client.host());
    let gen = client.generator("tiny-math").await.unwrap();
    assert!(!ttc::model::Generator::info(&gen).location.contains("secret"));
    collect(&gen, ask("What is 2 + 3?", 0), CancellationToken::new()).await.unwrap();
    let reqs = server.requests();
    assert!(reqs.len() >= 2);
    for r in reqs {
        // base64("user:secret")
        assert_eq!(r.authorization.as_deref(), Some("Basic dXNlcjpzZWNyZXQ="), "{}", r.path);
    }
    let err = client.show("nope").await.unwrap_err();
    assert_readable(&err, &host_of(&server.url));
    assert!(client.transport_warning().unwrap().contains("plain HTTP"));
    // An unreachable host with credentials: the connect error names it, without them.
    let client = OllamaClient::new("http://user:secret@127.0.0.1:1", fast_settings()).unwrap();
    let err = client.version().await.unwrap_err();
    assert!(matches!(err, GenError::Unreachable { .. }), "{err:?}");
    assert_readable(&err, "127.0.0.1:1");
}

#[tokio::test]
async fn model_not_found_lists_installed_names_safely_and_briefly() {
    let mut models: Vec<String> = (0..30).map(|i| format!("model-{i}")).collect();
    models.push(format!("evil{HOSTILE}"));
    models.insert(0, "tiny-math".into());
    let server = TestServer::start(ServerConfig { models, ..ServerConfig::default() }).await;
    let client = OllamaClient::new(&server.url, fast_settings()).unwrap();
    let err = client.show(&format!("ask{HOSTILE}")).await.unwrap_err();
    let GenError::ModelNotFound { ref installed, .. } = err else { panic!("{err:?}") };
    assert_eq!(installed.len(), 32);
    let msg = err.to_string();
    assert!(msg.contains("and 12 more"), "{msg}");
    assert_readable(&err, &host_of(&server.url));
}

//! The OpenAI-compatible client against the fake server of `tests/support/openai_server.rs`:
//! streaming, log-probabilities, continuation (and its refusal), raw prompts over
//! `/v1/completions`, the key, and every error shape with its message.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use ttc::model::openai::{ApiKey, OpenAiClient, ServerSettings};
use ttc::model::{collect, Collected, GenError, GenRequest, Generator, Message};

use super::ollama_server::{math_script, PRM_TAG};
use super::openai_server::{OpenAiServer, ServerConfig, MODELS, STREAM_ERROR, UNICODE_TEXT};

const QUESTION: &str = "What is 12 + 30?";

fn settings() -> ServerSettings {
    super::fast_settings()
}

async fn server(cfg: ServerConfig) -> (OpenAiServer, OpenAiClient) {
    let server = OpenAiServer::start(cfg).await;
    let client = OpenAiClient::new(&server.url, settings(), None).unwrap();
    (server, client)
}

fn ask(seed: i64) -> GenRequest {
    let mut req = GenRequest::new(vec![Message::system("Solve."), Message::user(QUESTION)]);
    req.options.seed = Some(seed);
    req.options.temperature = Some(0.8);
    req
}

async fn run(client: &OpenAiClient, model: &str, req: GenRequest) -> Result<Collected, GenError> {
    let gen = client.generator_unchecked(model);
    tokio::time::timeout(Duration::from_secs(20), collect(&gen, req, CancellationToken::new()))
        .await
        .expect("a generation ends")
}

/// An error's message: clear, and never about Ollama.
fn message(e: &GenError) -> String {
    let m = e.to_string();
    assert!(!m.contains("Ollama") && !m.contains("ollama"), "{m}");
    m
}

#[tokio::test]
async fn a_chat_stream_arrives_whole_with_usage_and_finish_reason() {
    let (server, client) = server(ServerConfig::default()).await;
    let gen = client.generator("tiny-math").await.unwrap();
    let info = gen.info();
    assert_eq!((info.backend.as_str(), info.model.as_str(), info.logprobs), ("openai", "tiny-math", true));
    let out = collect(&gen, ask(0), CancellationToken::new()).await.unwrap();
    assert_eq!(out.text, math_script(QUESTION, false).0);
    assert_eq!(out.stats.done_reason, "stop");
    assert_eq!(out.stats.prompt_tokens, 17);
    assert!(out.stats.generated_tokens > 5, "{:?}", out.stats);
    assert!(!out.had_logprobs, "none asked");
    let body = &server.bodies("/v1/chat/completions")[0];
    assert_eq!((body["stream"].as_bool(), body["seed"].as_i64()), (Some(true), Some(0)));
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["messages"][1]["role"], "user");
    assert!(body.get("continue_final_message").is_none(), "{body}");
    // A seed the fake answers wrongly: the seed reached the server.
    let wrong = run(&client, "tiny-math", ask(3)).await.unwrap();
    assert_eq!(wrong.text, math_script(QUESTION, true).0);
}

#[tokio::test]
async fn text_cut_inside_multi_byte_characters_arrives_whole() {
    let (_server, client) = server(ServerConfig::default()).await;
    let out = run(&client, "unicode", ask(0)).await.unwrap();
    assert_eq!(out.text, UNICODE_TEXT);
}

#[tokio::test]
async fn stops_and_max_tokens_end_the_answer_with_their_reason() {
    let (server, client) = server(ServerConfig::default()).await;
    let mut req = ask(0);
    req.options.stop = vec!["\n\n".into()];
    let out = run(&client, "tiny-math", req).await.unwrap();
    assert_eq!(out.text, "We need to compute 12 + 30.");
    let mut req = ask(0);
    req.options.num_predict = Some(2);
    let out = run(&client, "tiny-math", req).await.unwrap();
    assert_eq!((out.text.as_str(), out.stats.done_reason.as_str()), ("We need ", "length"));
    let bodies = server.bodies("/v1/chat/completions");
    assert_eq!(bodies[0]["stop"], serde_json::json!(["\n\n"]));
    assert_eq!(bodies[1]["max_tokens"], 2);
}

#[tokio::test]
async fn chat_logprobs_carry_the_alternatives() {
    let (server, client) = server(ServerConfig::default()).await;
    let mut req = GenRequest::new(vec![Message::user("Step to check: 12 + 30 = 42")]);
    req.top_logprobs = 5;
    let out = run(&client, "judge", req).await.unwrap();
    assert_eq!(out.text, "Yes");
    assert!(out.had_logprobs);
    let top = &out.logprobs[0].top_logprobs;
    assert_eq!((top[0].token.as_str(), top[1].token.as_str()), ("Yes", "No"));
    assert!((top[0].logprob - 0.9f64.ln()).abs() < 1e-9);
    let body = &server.bodies("/v1/chat/completions")[0];
    assert_eq!((body["logprobs"].as_bool(), body["top_logprobs"].as_u64()), (Some(true), Some(5)));
}

#[tokio::test]
async fn a_raw_prompt_goes_to_completions_with_its_logprobs() {
    let (server, client) = server(ServerConfig::default()).await;
    let prompt = format!("{QUESTION} Step 1: 12 + 30 = 43{PRM_TAG}");
    let mut req = GenRequest::raw(prompt.clone());
    req.options.num_predict = Some(1);
    req.top_logprobs = 20;
    let out = run(&client, "prm-tag", req).await.unwrap();
    assert_eq!(out.text, "-");
    let top = &out.logprobs[0].top_logprobs;
    assert_eq!((top[0].token.as_str(), top[1].token.as_str()), ("-", "+"), "most likely first");
    let body = &server.bodies("/v1/completions")[0];
    assert_eq!((body["prompt"].as_str(), body["logprobs"].as_u64()), (Some(prompt.as_str()), Some(20)));
    assert!(body.get("messages").is_none());
}

#[tokio::test]
async fn a_partial_answer_is_continued_or_refused_once() {
    let (server, client) = server(ServerConfig::default()).await;
    let mut req = ask(0);
    req.messages.push(Message::assistant("We need to compute 12 + 30.\n\n"));
    let out = run(&client, "tiny-math", req.clone()).await.unwrap();
    assert_eq!(out.text, "12 + 30 = 42\n\nThe answer is \\boxed{42}.");
    let body = &server.bodies("/v1/chat/completions")[0];
    assert_eq!(body["continue_final_message"], true);
    assert_eq!(body["add_generation_prompt"], false);
    assert_eq!(body["messages"][2]["role"], "assistant");

    let e = run(&client, "no-continue", req.clone()).await.unwrap_err();
    let m = message(&e);
    assert!(matches!(e, GenError::NoContinuation { .. }), "{e:?}");
    assert!(
        m.contains(&server.url) && m.contains("best-of-n") && m.contains("continue_final_message"),
        "{m}"
    );
    let asked = server.bodies("/v1/chat/completions").len();
    // Known now: the next continuation is refused without asking; a whole answer still works.
    let again = run(&client, "no-continue", req).await.unwrap_err();
    assert!(matches!(again, GenError::NoContinuation { .. }));
    assert_eq!(server.bodies("/v1/chat/completions").len(), asked);
    assert!(run(&client, "no-continue", ask(0)).await.is_ok());
}

#[tokio::test]
async fn the_key_is_sent_as_a_bearer_and_never_shown() {
    let key = "sk-test-4f9a8b7c6d5e";
    let cfg = ServerConfig { api_key: Some(key.into()), ..ServerConfig::default() };
    let server = OpenAiServer::start(cfg).await;
    let good = OpenAiClient::new(&server.url, settings(), ApiKey::new(key)).unwrap();
    assert!(run(&good, "tiny-math", ask(0)).await.is_ok());
    assert_eq!(server.requests()[0].authorization.as_deref(), Some(format!("Bearer {key}").as_str()));
    // A wrong key: the server echoes it; the message says which variable to set, not the key.
    let wrong = "sk-wrong-0123456789";
    let bad = OpenAiClient::new(&server.url, settings(), ApiKey::new(wrong)).unwrap();
    let e = bad.generator("tiny-math").await.err().unwrap();
    let m = message(&e);
    assert!(matches!(e, GenError::Unauthorized { status: 401, .. }), "{e:?}");
    assert!(m.contains("TTC_API_KEY") && m.contains("OPENAI_API_KEY") && !m.contains(wrong), "{m}");
    assert!(!format!("{e:?}").contains(wrong), "{e:?}");
    let none = OpenAiClient::new(&server.url, settings(), None).unwrap();
    let e = run(&none, "tiny-math", ask(0)).await.unwrap_err();
    assert!(matches!(e, GenError::Unauthorized { .. }), "{e:?}");
}

#[tokio::test]
async fn an_unknown_model_lists_the_served_ones() {
    let (_server, client) = server(ServerConfig::default()).await;
    assert_eq!(client.list_models().await.unwrap(), MODELS.map(String::from).to_vec());
    let e = run(&client, "llama-9000", ask(0)).await.unwrap_err();
    let m = message(&e);
    assert!(matches!(e, GenError::NotServed { .. }), "{e:?}");
    assert!(m.contains("llama-9000") && m.contains("tiny-math") && m.contains("--model"), "{m}");
}

#[tokio::test]
async fn rate_limits_are_waited_out_then_reported() {
    let (server, client) = server(ServerConfig { rate_limit_first: 2, ..ServerConfig::default() }).await;
    let out = run(&client, "tiny-math", ask(0)).await.unwrap();
    assert_eq!(out.text, math_script(QUESTION, false).0);
    assert_eq!(server.bodies("/v1/chat/completions").len(), 3, "two refusals, then the answer");
    let e = run(&client, "busy", ask(0)).await.unwrap_err();
    let m = message(&e);
    assert!(matches!(e, GenError::Overloaded { status: 429, attempts: 4, .. }), "{e:?}");
    assert!(m.contains("429") && m.contains("--concurrency"), "{m}");
}

#[tokio::test]
async fn server_errors_and_broken_streams_fail_with_clear_messages() {
    let (_server, client) = server(ServerConfig::default()).await;
    let e = run(&client, "crash", ask(0)).await.unwrap_err();
    assert!(matches!(e, GenError::Http { status: 500, .. }) && message(&e).contains("engine dead"), "{e:?}");
    for model in ["flaky-math", "evil-math"] {
        let e = run(&client, model, ask(1)).await.unwrap_err();
        assert_eq!(e, GenError::Stream(STREAM_ERROR.into()), "{model}");
        assert!(run(&client, model, ask(0)).await.is_ok(), "{model}: other seeds finish");
    }
    let e = run(&client, "slow-math", ask(1)).await.unwrap_err();
    assert!(matches!(e, GenError::Stalled { .. }) && message(&e).contains("--stall-timeout"), "{e:?}");
    let e = run(&client, "drop-math", ask(1)).await.unwrap_err();
    assert!(matches!(e, GenError::Dropped(_)), "{e:?}");
    // A response ended by `[DONE]` with no finish reason was cut short (llama-cpp-python
    // interrupts a running request when another arrives): a failure, never an answer.
    let e = run(&client, "cut-math", ask(1)).await.unwrap_err();
    assert!(
        matches!(e, GenError::Dropped(_))
            && message(&e).contains("no finish reason")
            && message(&e).contains("interrupt_requests"),
        "{e:?}"
    );
    assert!(run(&client, "cut-math", ask(0)).await.is_ok(), "other seeds finish");
    let e = run(&client, "huge-math", ask(1)).await.unwrap_err();
    assert!(matches!(e, GenError::Protocol { .. }) && message(&e).contains("exceeded"), "{e:?}");
    let e = run(&client, "no-stream", ask(0)).await.unwrap_err();
    assert!(matches!(e, GenError::Protocol { .. }) && message(&e).contains("not a stream"), "{e:?}");
}

#[tokio::test]
async fn an_absent_server_is_unreachable() {
    let client = OpenAiClient::new("http://127.0.0.1:1", settings(), None).unwrap();
    let e = client.generator("m").await.err().unwrap();
    let m = message(&e);
    assert!(matches!(e, GenError::ServerUnreachable { .. }), "{e:?}");
    assert!(m.contains("--host") && m.contains("TTC_OPENAI_HOST") && m.contains("vllm serve"), "{m}");
}

#[tokio::test]
async fn cancelling_abandons_the_stream_and_frees_the_slot() {
    let (_server, client) = server(ServerConfig::default()).await;
    let gen = client.generator_unchecked("slow-math");
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        c2.cancel();
    });
    let e = collect(&gen, ask(1), cancel).await.unwrap_err();
    assert_eq!(e, GenError::Cancelled);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(client.limiter().load().running, 0);
}

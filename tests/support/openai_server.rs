#![allow(dead_code)]
//! A fake OpenAI-compatible server (vLLM-like) for tests.
//!
//! Serves `GET /v1/models`, `POST /v1/chat/completions` and `POST /v1/completions` on
//! `127.0.0.1:<random port>`, streaming server-sent events (`data: {chunk}`, a last chunk with
//! `usage`, then `data: [DONE]`). Every event is written as several HTTP frames cut at odd byte
//! offsets, so deltas arrive cut inside multi-byte characters. Models by name:
//!
//! * `tiny-math`   – the fake Ollama server's arithmetic script (wrong for `seed % 4 == 3` when
//!   sampling); continues a partial assistant message with `continue_final_message`;
//! * `no-continue` – like `tiny-math`, but refuses `continue_final_message` (HTTP 400, vLLM's
//!   error shape), as a server without it does;
//! * `no-n`        – like `tiny-math`, but refuses `n` > 1 (HTTP 400 "Only one completion choice
//!   is allowed", as llama.cpp's server);
//! * `ignore-n`    – like `tiny-math`, but answers choice 0 only whatever `n` asks (as
//!   llama-cpp-python's server);
//! * `unicode`     – answers in multi-byte text (`Résumé … 数学 😀 … \boxed{42}`);
//! * `judge`       – "Yes"/"No" by the fake's arithmetic check, with chat `logprobs`;
//! * `prm-tag`     – a step-tag PRM on `/v1/completions` ("+"/"-" with completion logprobs);
//! * `flaky-math`  – `seed % 4 == 1`: two deltas, then `data: {"error": {...}}`;
//! * `evil-math`   – `seed % 4 == 1`: two deltas, then an `event: error`;
//! * `slow-math`   – `seed % 4 == 1`: two deltas, then nothing (a stall);
//! * `drop-math`   – `seed % 4 == 1`: two deltas, then the connection breaks;
//! * `huge-math`   – `seed % 4 == 1`: two deltas, then a 2 MiB line without a newline;
//! * `crash`       – always HTTP 500;
//! * `busy`        – always HTTP 429 with `Retry-After: 0`;
//! * `no-stream`   – ignores `stream: true`: one JSON chat completion.
//!
//! A chat request with `n` > 1 streams `n` choices interleaved (each chunk names its `index`),
//! choice `j` written as a request of its own with seed + `j` would be; a fault of one choice
//! (by its seed) ends the whole response there, as an engine that fails a request does.
//!
//! `ServerConfig::rate_limit_first` answers the first generations 429 (`Retry-After: 0`);
//! `ServerConfig::api_key` makes every request without `Authorization: Bearer KEY` a 401 that
//! echoes the key it was given (as OpenAI's does). A model not listed is a 404.
//! `ServerConfig::drop_first` makes the first generations of an answering model (not `judge`)
//! send `drop_after` deltas (at least one), then break the connection, as a host that dies
//! mid-stream.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use super::ollama_server::{judge_verdict, math_script, prm_tag_verdict, split_pieces};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = UnsyncBoxBody<Bytes, BoxError>;

/// Every model served by default.
pub const MODELS: [&str; 16] = [
    "tiny-math",
    "no-n",
    "ignore-n",
    "no-continue",
    "unicode",
    "judge",
    "prm-tag",
    "flaky-math",
    "evil-math",
    "slow-math",
    "drop-math",
    "huge-math",
    "cut-math",
    "crash",
    "busy",
    "no-stream",
];
/// The mid-stream error of `flaky-math` and `evil-math`.
pub const STREAM_ERROR: &str = "CUDA out of memory while decoding";
/// The text `unicode` answers with.
pub const UNICODE_TEXT: &str = "Résumé: 数学 😀 ünïcödé.\n\nThe answer is \\boxed{42}.";

#[derive(Clone, Debug, Default)]
pub struct ServerConfig {
    /// Listed by `/v1/models`; only these are served (empty: [`MODELS`]).
    pub models: Vec<String>,
    /// The first generations get HTTP 429 with `Retry-After: 0`.
    pub rate_limit_first: usize,
    /// When set, requests must carry `Authorization: Bearer KEY`.
    pub api_key: Option<String>,
    /// The first generations (counted with the rate-limited ones) break after `drop_after` deltas.
    pub drop_first: usize,
    /// How many deltas a generation broken by `drop_first` sends (at least one).
    pub drop_after: usize,
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub body: Value,
    pub authorization: Option<String>,
}

pub struct OpenAiServer {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    state: Arc<State>,
    task: JoinHandle<()>,
}

struct State {
    cfg: ServerConfig,
    requests: Mutex<Vec<Recorded>>,
    generations: AtomicUsize,
}

impl OpenAiServer {
    /// Binds 127.0.0.1:0 and serves on tasks of the current tokio runtime until dropped.
    pub async fn start(mut cfg: ServerConfig) -> OpenAiServer {
        if cfg.models.is_empty() {
            cfg.models = MODELS.iter().map(|m| m.to_string()).collect();
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let state =
            Arc::new(State { cfg, requests: Mutex::new(Vec::new()), generations: AtomicUsize::new(0) });
        let task = serve(listener, state.clone());
        OpenAiServer { url: format!("http://{addr}"), state, task }
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The bodies of requests to `path`.
    pub fn bodies(&self, path: &str) -> Vec<Value> {
        self.requests().into_iter().filter(|r| r.path == path).map(|r| r.body).collect()
    }
}

impl Drop for OpenAiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn serve(listener: TcpListener, st: Arc<State>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                res = listener.accept() => match res {
                    Ok((stream, _)) => {
                        let _ = stream.set_nodelay(true);
                        let st = st.clone();
                        conns.spawn(async move {
                            let svc = service_fn(move |req| handle(st.clone(), req));
                            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
                        });
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                },
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
    })
}

fn full(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(Full::new(body.into()).map_err(|e: Infallible| match e {}).boxed_unsync());
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn json_resp(status: StatusCode, v: &Value) -> Response<Body> {
    full(status, "application/json", serde_json::to_vec(v).expect("serialise"))
}

/// vLLM's error shape.
fn error_resp(status: StatusCode, message: &str, kind: &str) -> Response<Body> {
    json_resp(status, &json!({"object": "error", "message": message, "type": kind, "code": status.as_u16()}))
}

fn rate_limited() -> Response<Body> {
    let mut r = json_resp(
        StatusCode::TOO_MANY_REQUESTS,
        &json!({"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}),
    );
    r.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("0"));
    r
}

async fn handle(st: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, BoxError> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let authorization =
        req.headers().get(hyper::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_string);
    let raw = req.into_body().collect().await?.to_bytes();
    let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    st.requests.lock().unwrap().push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        body: body.clone(),
        authorization: authorization.clone(),
    });
    if let Some(key) = &st.cfg.api_key {
        let given = authorization.as_deref().and_then(|a| a.strip_prefix("Bearer ")).unwrap_or("");
        if given != key {
            let msg =
                format!("Incorrect API key provided: {given}. You can find your API key at the console.");
            return Ok(json_resp(
                StatusCode::UNAUTHORIZED,
                &json!({"error": {"message": msg, "type": "invalid_request_error", "code": "invalid_api_key"}}),
            ));
        }
    }
    Ok(match (method, path.as_str()) {
        (Method::GET, "/v1/models") => {
            let data: Vec<Value> = st
                .cfg
                .models
                .iter()
                .map(|m| json!({"id": m, "object": "model", "created": 0, "owned_by": "vllm"}))
                .collect();
            json_resp(StatusCode::OK, &json!({"object": "list", "data": data}))
        }
        (Method::POST, "/v1/chat/completions") => generate(&st, &body, true),
        (Method::POST, "/v1/completions") => generate(&st, &body, false),
        _ => full(StatusCode::NOT_FOUND, "application/json", r#"{"detail":"Not Found"}"#),
    })
}

/// What goes wrong after two deltas.
enum Tail {
    Done,
    ErrorChunk,
    ErrorEvent,
    Stall,
    Abort,
    Huge,
    /// `[DONE]` with no finish reason: what llama-cpp-python sends to a request it interrupts.
    Cut,
}

fn generate(st: &State, body: &Value, chat: bool) -> Response<Body> {
    let model = body["model"].as_str().unwrap_or_default().to_string();
    if !st.cfg.models.contains(&model) {
        return error_resp(
            StatusCode::NOT_FOUND,
            &format!("The model `{model}` does not exist."),
            "NotFoundError",
        );
    }
    let nth = st.generations.fetch_add(1, Ordering::SeqCst);
    if nth < st.cfg.rate_limit_first || model == "busy" {
        return rate_limited();
    }
    if model == "crash" {
        return json_resp(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"error": {"message": "Internal server error: engine dead", "type": "InternalServerError"}}),
        );
    }
    if model == "no-stream" {
        let message = json!({"role": "assistant", "content": "The answer is \\boxed{42}."});
        return json_resp(
            StatusCode::OK,
            &json!({"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}),
        );
    }
    let continuing = body["continue_final_message"].as_bool() == Some(true);
    if continuing && model == "no-continue" {
        return error_resp(
            StatusCode::BAD_REQUEST,
            "continue_final_message is not supported by this server",
            "BadRequestError",
        );
    }
    if continuing && body["add_generation_prompt"].as_bool() != Some(false) {
        return error_resp(
            StatusCode::BAD_REQUEST,
            "continue_final_message and add_generation_prompt cannot both be true",
            "BadRequestError",
        );
    }
    let seed = body["seed"].as_i64();
    let n = body["n"].as_u64().unwrap_or(1).clamp(1, 128) as usize;
    if n > 1 && model == "no-n" {
        // llama.cpp's server.
        return json_resp(
            StatusCode::BAD_REQUEST,
            &json!({"error": {"code": 400, "message": "Only one completion choice is allowed", "type": "invalid_request_error"}}),
        );
    }
    // `ignore-n` answers choice 0 only, as llama-cpp-python's server does.
    let n = if !chat || model == "ignore-n" { 1 } else { n };
    let mut choices = Vec::new();
    for j in 0..n {
        // Choice j is written as a request of its own with seed + j would be.
        match choice(st, body, &model, chat, nth, seed.map(|s| s + j as i64), continuing, j) {
            Ok(c) => choices.push(c),
            Err(resp) => return resp,
        }
    }
    let mut events: Vec<String> = Vec::new();
    let mut tail = Tail::Done;
    let mut total = 0;
    let longest = choices.iter().map(|c| c.0.len()).max().unwrap_or(0);
    'pieces: for i in 0..=longest {
        for (evs, t, _) in choices.iter_mut() {
            if let Some(e) = evs.get(i) {
                events.push(e.clone());
            } else if i == evs.len() && !matches!(t, Tail::Done) {
                tail = std::mem::replace(t, Tail::Done);
                break 'pieces;
            }
        }
    }
    for (_, _, pieces) in &choices {
        total += pieces;
    }
    match tail {
        Tail::Done => {
            if body["stream_options"]["include_usage"].as_bool() == Some(true) {
                let usage =
                    json!({"prompt_tokens": 17, "completion_tokens": total, "total_tokens": 17 + total});
                events.push(format!("data: {}\n\n", json!({"id": "x", "choices": [], "usage": usage})));
            }
            events.push("data: [DONE]\n\n".to_string());
        }
        Tail::ErrorChunk => events.push(format!(
            "data: {}\n\n",
            json!({"error": {"message": STREAM_ERROR, "type": "InternalServerError", "code": 500}})
        )),
        Tail::ErrorEvent => {
            events.push(format!("event: error\ndata: {}\n\n", json!({"message": STREAM_ERROR})))
        }
        Tail::Huge => events.push(format!("data: {}", "x".repeat(2 << 20))),
        Tail::Cut => events.push("data: [DONE]\n\n".to_string()),
        Tail::Stall | Tail::Abort => {}
    }
    let mut frames: Vec<Bytes> = Vec::new();
    for e in events {
        // Cut each event in three at odd byte offsets: inside multi-byte characters when any.
        let b = e.into_bytes();
        let (a, c) = (b.len() / 3 + 1, 2 * b.len() / 3 + 1);
        if b.len() > 6 {
            frames.push(Bytes::copy_from_slice(&b[..a]));
            frames.push(Bytes::copy_from_slice(&b[a..c]));
            frames.push(Bytes::copy_from_slice(&b[c..]));
        } else {
            frames.push(Bytes::from(b));
        }
    }
    streamed(frames, tail)
}

/// One choice of a response: its events (pieces, then its finish chunk when it ends well),
/// how it ends, and how many pieces it has.
#[allow(clippy::too_many_arguments, clippy::result_large_err)]
fn choice(
    st: &State,
    body: &Value,
    model: &str,
    chat: bool,
    nth: usize,
    seed: Option<i64>,
    continuing: bool,
    index: usize,
) -> Result<(Vec<String>, Tail, usize), Response<Body>> {
    let sampled = body["temperature"].as_f64().unwrap_or(1.0) > 0.0;
    let faulty = seed.map(|s| s.rem_euclid(4)) == Some(1);
    let (pieces, lps, tail) = if !chat {
        if model != "prm-tag" {
            return Err(error_resp(
                StatusCode::BAD_REQUEST,
                "this fake serves /v1/completions for prm-tag only",
                "BadRequestError",
            ));
        }
        let verdict = prm_tag_verdict(body["prompt"].as_str().unwrap_or_default(), true);
        (vec![verdict.to_string()], Some(verdict_lps(verdict, "+", "-")), Tail::Done)
    } else {
        let messages = body["messages"].as_array().cloned().unwrap_or_default();
        let last_user = messages
            .iter()
            .rev()
            .find(|m| m["role"] == "user")
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default()
            .to_string();
        if model == "judge" {
            let verdict = if judge_verdict(&last_user) { "Yes" } else { "No" };
            (vec![verdict.to_string()], Some(verdict_lps(verdict, "Yes", "No")), Tail::Done)
        } else {
            let wrong = sampled && seed.map(|s| s.rem_euclid(4)) == Some(3);
            let script =
                if model == "unicode" { UNICODE_TEXT.to_string() } else { math_script(&last_user, wrong).0 };
            let text = match messages.last() {
                Some(m) if m["role"] == "assistant" && continuing => {
                    let prefix = m["content"].as_str().unwrap_or_default();
                    script
                        .strip_prefix(prefix)
                        .map_or_else(|| "\n\nThe answer is \\boxed{0}.".to_string(), str::to_string)
                }
                _ => script,
            };
            let tail = match model {
                _ if nth < st.cfg.drop_first => Tail::Abort,
                "flaky-math" if faulty => Tail::ErrorChunk,
                "evil-math" if faulty => Tail::ErrorEvent,
                "slow-math" if faulty => Tail::Stall,
                "drop-math" if faulty => Tail::Abort,
                "huge-math" if faulty => Tail::Huge,
                "cut-math" if faulty => Tail::Cut,
                _ => Tail::Done,
            };
            (split_pieces(&text), None, tail)
        }
    };
    let stops: Vec<String> = match &body["stop"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    let (mut pieces, mut finish) = apply_stop(pieces, &stops);
    if let Some(max) = body["max_tokens"].as_u64() {
        if pieces.len() > max as usize {
            pieces.truncate(max as usize);
            finish = "length";
        }
    }
    let top_n = if chat {
        (body["logprobs"].as_bool() == Some(true))
            .then(|| body["top_logprobs"].as_u64().unwrap_or(0) as usize)
    } else {
        body["logprobs"].as_u64().map(|n| n as usize)
    };
    let mut events: Vec<String> = Vec::new();
    let failing = !matches!(tail, Tail::Done);
    let cut = if nth < st.cfg.drop_first { st.cfg.drop_after.max(1) } else { 2 };
    for (i, piece) in pieces.iter().enumerate() {
        if failing && i == cut {
            break;
        }
        let lp = top_n.map(|n| match &lps {
            Some(v) => v.iter().take(n.max(2)).cloned().collect::<Vec<(String, f64)>>(),
            None => vec![(piece.clone(), -0.01)],
        });
        events.push(chunk(chat, model, piece, lp.as_deref(), None, index));
    }
    if matches!(tail, Tail::Done) {
        events.push(chunk(chat, model, "", None, Some(finish), index));
    }
    Ok((events, tail, pieces.len()))
}

/// The alternatives of a one-token verdict: the verdict likely, its opposite not.
fn verdict_lps(verdict: &str, yes: &str, no: &str) -> Vec<(String, f64)> {
    let other = if verdict == yes { no } else { yes };
    vec![
        (verdict.to_string(), 0.9f64.ln()),
        (other.to_string(), 0.08f64.ln()),
        ("Step".to_string(), 0.02f64.ln()),
    ]
}

fn apply_stop(pieces: Vec<String>, stops: &[String]) -> (Vec<String>, &'static str) {
    let text: String = pieces.concat();
    let cut = stops.iter().filter(|s| !s.is_empty()).filter_map(|s| text.find(s.as_str())).min();
    match cut {
        Some(at) => (split_pieces(&text[..at]), "stop"),
        None => (pieces, "stop"),
    }
}

/// One `data:` event: a chat delta or a completion text, with logprobs in the endpoint's shape.
fn chunk(
    chat: bool,
    model: &str,
    text: &str,
    lp: Option<&[(String, f64)]>,
    finish: Option<&str>,
    index: usize,
) -> String {
    let logprobs = lp.map(|top| {
        let (tok, l) = top.first().cloned().unwrap_or((text.to_string(), -0.01));
        let tok = if text.is_empty() { tok } else { text.to_string() };
        if chat {
            let alts: Vec<Value> =
                top.iter().map(|(t, l)| json!({"token": t, "logprob": l, "bytes": t.as_bytes()})).collect();
            json!({"content": [{"token": tok, "logprob": l, "bytes": tok.as_bytes(), "top_logprobs": alts}]})
        } else {
            let alts: serde_json::Map<String, Value> =
                top.iter().map(|(t, l)| (t.clone(), json!(l))).collect();
            json!({"tokens": [tok], "token_logprobs": [l], "top_logprobs": [alts], "text_offset": [0]})
        }
    });
    let choice = if chat {
        let delta = if text.is_empty() { json!({}) } else { json!({"role": "assistant", "content": text}) };
        json!({"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish})
    } else {
        json!({"index": index, "text": text, "logprobs": logprobs, "finish_reason": finish})
    };
    let object = if chat { "chat.completion.chunk" } else { "text_completion" };
    format!("data: {}\n\n", json!({"id": "cmpl-1", "object": object, "model": model, "choices": [choice]}))
}

fn streamed(frames: Vec<Bytes>, tail: Tail) -> Response<Body> {
    let state = (frames.into_iter(), Some(tail));
    let stream = futures::stream::unfold(state, |(mut frames, mut tail)| async move {
        if let Some(f) = frames.next() {
            return Some((Ok::<_, BoxError>(Frame::data(f)), (frames, tail)));
        }
        match tail.take()? {
            Tail::Stall => {
                std::future::pending::<()>().await;
                None
            }
            Tail::Abort => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let err: BoxError = Box::new(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "fault: reset mid-stream",
                ));
                Some((Err(err), (frames, None)))
            }
            _ => None,
        }
    });
    let mut resp = Response::new(StreamBody::new(stream).boxed_unsync());
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    resp
}

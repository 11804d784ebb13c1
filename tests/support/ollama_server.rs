#![allow(dead_code)]
//! A fake Ollama server for tests and benches.
//!
//! Speaks Ollama's real wire format (NDJSON over chunked HTTP/1.1) on `127.0.0.1:<random port>`,
//! with scripted models whose behaviour is chosen by model name (tag optional):
//!
//! * `tiny-math`  – deterministic arithmetic solver (wrong answer for `seed % 4 == 3`, temperature > 0);
//! * `flaky-math` – like `tiny-math`, but `seed % 4 == 1` sends an `{"error":..}` line after 2 pieces;
//! * `slow-math`  – 2 pieces, then stalls until the client disconnects;
//! * `drop-math`  – 2 pieces, then the connection is torn down mid-body;
//! * `judge`      – verifier answering "Yes"/"No" (with `logprobs`: fixed probabilities);
//! * `base-judge` – like `judge` with logprobs but answers "Step" (no Yes/No in top_logprobs);
//! * `bench`      – fast arithmetic-looking stream of `num_predict` pieces (default 2000);
//! * `busy`       – always HTTP 503.
//!
//! A model listed in `ServerConfig::models` whose base name is none of the above behaves like
//! `tiny-math`. A model not listed is unknown (404), as in real Ollama.
//!
//! `ServerConfig::faults` injects misbehaviour (hangs, stalls, resets, HTML error pages, broken
//! or hostile streams) per path or per chat request; `SilentServer` accepts connections and never
//! answers. See `ollama_server/faults.rs`. Each `Recorded` request keeps its `Authorization`.
//!
//! Self-contained: included both via `mod support;` from integration tests and via
//! `#[path = "../tests/support/ollama_server.rs"] mod ollama_server;` from benches.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

#[path = "ollama_server/faults.rs"]
pub mod faults;
#[path = "ollama_server/script.rs"]
mod script;

#[allow(unused_imports)]
pub use faults::{ChatFault, Faults, PathFault, SilentServer};
use script::*;
#[allow(unused_imports)]
pub use script::{bench_text_pieces, judge_verdict, math_script, split_pieces};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = UnsyncBoxBody<Bytes, BoxError>;

/// `created_at` stamped on every chunk (fixed, so output is deterministic).
pub const CREATED_AT: &str = "2026-11-01T00:00:00.000000000Z";
/// Body of every HTTP 503.
pub const BUSY_ERROR: &str = "server busy, please try again.  maximum pending requests exceeded";
/// Error line sent mid-stream by `flaky-math`.
pub const FLAKY_ERROR: &str = "an error was encountered while running the model: unexpected EOF";
/// Every behaviour model, as listed by default in `/api/tags`.
pub const BEHAVIOUR_MODELS: [&str; 8] =
    ["tiny-math", "flaky-math", "slow-math", "drop-math", "judge", "base-judge", "bench", "busy"];
/// Default temperature when a request does not set one (Ollama's default).
pub const DEFAULT_TEMPERATURE: f64 = 0.8;
/// Lines of the `bench` model grouped into one HTTP chunk.
const BENCH_LINES_PER_FRAME: usize = 32;

#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Reported by `/api/version`; logprobs are only honoured for >= 0.12.11.
    pub version: String,
    /// The first `busy_first` `/api/chat` requests (whatever their body) get HTTP 503.
    pub busy_first: usize,
    /// Names listed by `/api/tags` (a missing tag means `:latest`); only these are served.
    pub models: Vec<String>,
    /// Delay between streamed chunks (not applied to `bench`).
    pub token_delay: Duration,
    /// Misbehaviour to inject (none by default).
    pub faults: Faults,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            version: "0.13.0".to_string(),
            busy_first: 0,
            models: BEHAVIOUR_MODELS.iter().map(|m| format!("{m}:latest")).collect(),
            token_delay: Duration::ZERO,
            faults: Faults::default(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Parsed JSON body; `Null` when empty; the raw text as a JSON string when not valid JSON.
    pub body: Value,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
}

pub struct TestServer {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl TestServer {
    /// Binds 127.0.0.1:0 and serves on tasks of the current tokio runtime until dropped.
    pub async fn start(cfg: ServerConfig) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let state = Arc::new(State {
            logprobs_supported: version_supports_logprobs(&cfg.version),
            cfg,
            requests: Mutex::new(Vec::new()),
            chat_seen: AtomicUsize::new(0),
            open_streams: AtomicUsize::new(0),
            bench_cache: Mutex::new(HashMap::new()),
        });
        let st = state.clone();
        let task = tokio::spawn(async move {
            // Dropping the JoinSet (when this task is aborted) aborts every connection task.
            let mut conns = JoinSet::new();
            loop {
                tokio::select! {
                    res = listener.accept() => match res {
                        Ok((stream, _)) => {
                            let _ = stream.set_nodelay(true);
                            if st.cfg.faults.reset {
                                // Closing then sends a TCP reset: an aborted body is a reset.
                                #[allow(deprecated)]
                                let _ = stream.set_linger(Some(Duration::ZERO));
                            }
                            let st = st.clone();
                            conns.spawn(async move {
                                let svc = service_fn(move |req| handle(st.clone(), req));
                                let _ = http1::Builder::new()
                                    .serve_connection(TokioIo::new(stream), svc)
                                    .await;
                            });
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                    },
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
        });
        TestServer { url: format!("http://{addr}"), state, task }
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Parsed JSON bodies of `/api/chat` requests (including those answered 503/404/400).
    pub fn chat_requests(&self) -> Vec<Value> {
        self.state
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == "/api/chat" && r.body.is_object())
            .map(|r| r.body.clone())
            .collect()
    }

    /// Chat generations currently being served (streams whose body has not been dropped).
    pub fn open_streams(&self) -> usize {
        self.state.open_streams.load(Ordering::SeqCst)
    }

    /// Polls `open_streams()` until it equals `n`; false if `timeout` passes first.
    pub async fn wait_for_open_streams(&self, n: usize, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.open_streams() == n {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct State {
    cfg: ServerConfig,
    logprobs_supported: bool,
    requests: Mutex<Vec<Recorded>>,
    chat_seen: AtomicUsize,
    open_streams: AtomicUsize,
    bench_cache: Mutex<HashMap<String, Arc<BenchBody>>>,
}

struct StreamGuard(Arc<State>);

impl StreamGuard {
    fn new(st: &Arc<State>) -> Self {
        st.open_streams.fetch_add(1, Ordering::SeqCst);
        StreamGuard(st.clone())
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.open_streams.fetch_sub(1, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP plumbing

fn full(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(Full::new(body.into()).map_err(|e: Infallible| match e {}).boxed_unsync());
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn json_resp(status: StatusCode, v: &Value) -> Response<Body> {
    full(status, "application/json; charset=utf-8", serde_json::to_vec(v).expect("serialise"))
}

fn error_resp(status: StatusCode, msg: &str) -> Response<Body> {
    json_resp(status, &json!({ "error": msg }))
}

async fn handle(st: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, BoxError> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let authorization =
        req.headers().get(hyper::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_string);
    let raw = req.into_body().collect().await?.to_bytes();
    let parsed: Result<Value, String> = if raw.is_empty() {
        Err("missing request body".to_string())
    } else {
        serde_json::from_slice(&raw).map_err(|e| e.to_string())
    };
    let recorded_body = match &parsed {
        Ok(v) => v.clone(),
        Err(_) if raw.is_empty() => Value::Null,
        Err(_) => Value::String(String::from_utf8_lossy(&raw).into_owned()),
    };
    st.requests.lock().unwrap().push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        body: recorded_body,
        authorization,
    });
    if let Some(fault) = st.cfg.faults.path_fault(&path) {
        return Ok(faults::path_reply(&st, fault).await);
    }

    let get = method == Method::GET || method == Method::HEAD;
    let resp = match path.as_str() {
        "/" if get => full(StatusCode::OK, "text/plain; charset=utf-8", "Ollama is running"),
        "/api/version" if get => json_resp(StatusCode::OK, &json!({ "version": st.cfg.version })),
        "/api/tags" if get => json_resp(StatusCode::OK, &tags(&st.cfg)),
        "/api/show" if method == Method::POST => show(&st, parsed),
        "/api/chat" if method == Method::POST => return chat(&st, parsed).await,
        _ => full(StatusCode::NOT_FOUND, "text/plain; charset=utf-8", "404 page not found"),
    };
    Ok(resp)
}

// ---------------------------------------------------------------------------------------------
// /api/tags, /api/show

fn normalize(name: &str) -> String {
    if name.contains(':') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

fn base_name(name: &str) -> &str {
    name.split(':').next().unwrap_or(name)
}

fn is_listed(cfg: &ServerConfig, name: &str) -> bool {
    let n = normalize(name);
    cfg.models.iter().any(|m| normalize(m) == n)
}

fn digest(name: &str) -> String {
    // FNV-1a, stretched to 64 hex chars.
    let mut out = String::with_capacity(64);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for round in 0..4u8 {
        for b in name.bytes().chain([round]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        let _ = write!(out, "{h:016x}");
    }
    out
}

fn details() -> Value {
    json!({
        "parent_model": "",
        "format": "gguf",
        "family": "test",
        "families": ["test"],
        "parameter_size": "1M",
        "quantization_level": "F32"
    })
}

fn tags(cfg: &ServerConfig) -> Value {
    let models: Vec<Value> = cfg
        .models
        .iter()
        .map(|m| {
            let name = normalize(m);
            json!({
                "name": name,
                "model": name,
                "modified_at": "2026-11-01T00:00:00Z",
                "size": 123,
                "digest": digest(&name),
                "details": details(),
            })
        })
        .collect();
    json!({ "models": models })
}

fn show(st: &State, parsed: Result<Value, String>) -> Response<Body> {
    let v = match parsed {
        Ok(v) => v,
        Err(e) => return error_resp(StatusCode::BAD_REQUEST, &e),
    };
    let name = v
        .get("model")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .or_else(|| v.get("name").and_then(Value::as_str));
    let Some(name) = name.filter(|s| !s.is_empty()) else {
        return error_resp(StatusCode::BAD_REQUEST, "model is required");
    };
    if !is_listed(&st.cfg, name) {
        return error_resp(StatusCode::NOT_FOUND, &format!("model '{name}' not found"));
    }
    json_resp(
        StatusCode::OK,
        &json!({
            "license": "",
            "modelfile": "",
            "parameters": "temperature 0.8",
            "template": "{{ .Prompt }}",
            "details": details(),
            "model_info": {
                "general.architecture": "test",
                "general.parameter_count": 1_000_000,
                "test.context_length": 4096
            },
            "capabilities": ["completion"],
            "modified_at": "2026-11-01T00:00:00Z"
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// /api/chat

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Behaviour {
    TinyMath,
    FlakyMath,
    SlowMath,
    DropMath,
    Judge,
    BaseJudge,
    Bench,
    Busy,
}

fn behaviour_of(name: &str) -> Behaviour {
    match base_name(name) {
        "flaky-math" => Behaviour::FlakyMath,
        "slow-math" => Behaviour::SlowMath,
        "drop-math" => Behaviour::DropMath,
        "judge" => Behaviour::Judge,
        "base-judge" => Behaviour::BaseJudge,
        "bench" => Behaviour::Bench,
        "busy" => Behaviour::Busy,
        _ => Behaviour::TinyMath,
    }
}

struct ChatReq {
    model: String,
    messages: Vec<(String, String)>,
    stream: bool,
    temperature: f64,
    seed: Option<i64>,
    num_predict: Option<i64>,
    stop: Vec<String>,
    /// `Some(top_logprobs)` when logprobs were requested and the version supports them.
    logprobs: Option<usize>,
}

impl ChatReq {
    fn last_user(&self) -> &str {
        self.messages.iter().rev().find(|(r, _)| r == "user").map(|(_, c)| c.as_str()).unwrap_or("")
    }

    fn sampled(&self) -> bool {
        self.temperature > 0.0
    }

    fn seed_mod(&self, m: i64) -> Option<i64> {
        self.seed.map(|s| s.rem_euclid(m))
    }

    fn prompt_tokens(&self) -> u64 {
        let chars: usize = self.messages.iter().map(|(_, c)| c.chars().count()).sum();
        (chars as u64).div_ceil(4).max(1)
    }
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

fn parse_chat(v: &Value, logprobs_supported: bool) -> Result<ChatReq, String> {
    let obj = v.as_object().ok_or_else(|| {
        "json: cannot unmarshal non-object into Go value of type api.ChatRequest".to_string()
    })?;
    let model = obj
        .get("model")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| "model is required".to_string())?
        .to_string();
    let mut messages = Vec::new();
    match obj.get("messages") {
        None | Some(Value::Null) => {}
        Some(Value::Array(arr)) => {
            for m in arr {
                let role = m
                    .get("role")
                    .and_then(Value::as_str)
                    .ok_or_else(|| "message is missing a string \"role\"".to_string())?;
                let content = match m.get("content") {
                    None | Some(Value::Null) => "",
                    Some(Value::String(s)) => s.as_str(),
                    Some(_) => return Err(
                        "json: cannot unmarshal into Go struct field Message.messages.content of type string"
                            .to_string(),
                    ),
                };
                messages.push((role.to_string(), content.to_string()));
            }
        }
        Some(_) => {
            return Err(
                "json: cannot unmarshal into Go struct field ChatRequest.messages of type []api.Message"
                    .to_string(),
            )
        }
    }
    let stream = match obj.get("stream") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(
                "json: cannot unmarshal into Go struct field ChatRequest.stream of type bool".to_string()
            )
        }
    };
    let empty = serde_json::Map::new();
    let opts = match obj.get("options") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(o)) => o,
        Some(_) => return Err(
            "json: cannot unmarshal into Go struct field ChatRequest.options of type map[string]interface {}"
                .to_string(),
        ),
    };
    let temperature = opts.get("temperature").and_then(num).unwrap_or(DEFAULT_TEMPERATURE);
    let seed = opts.get("seed").and_then(int);
    let num_predict = opts.get("num_predict").and_then(int);
    let stop = match opts.get("stop") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    let want_logprobs = obj.get("logprobs").and_then(Value::as_bool).unwrap_or(false);
    let top = obj.get("top_logprobs").and_then(int).unwrap_or(0);
    let logprobs = if logprobs_supported && want_logprobs {
        if !(0..=20).contains(&top) {
            return Err("top_logprobs must be between 0 and 20".to_string());
        }
        Some(top as usize)
    } else {
        None
    };
    Ok(ChatReq { model, messages, stream, temperature, seed, num_predict, stop, logprobs })
}

async fn chat(st: &Arc<State>, parsed: Result<Value, String>) -> Result<Response<Body>, BoxError> {
    let nth = st.chat_seen.fetch_add(1, Ordering::SeqCst);
    if nth < st.cfg.busy_first {
        return Ok(error_resp(StatusCode::SERVICE_UNAVAILABLE, BUSY_ERROR));
    }
    let fault = st.cfg.faults.chat_fault(nth);
    let req = match parsed.and_then(|v| parse_chat(&v, st.logprobs_supported)) {
        Ok(r) => r,
        Err(e) => return Ok(error_resp(StatusCode::BAD_REQUEST, &e)),
    };
    if !is_listed(&st.cfg, &req.model) {
        return Ok(error_resp(
            StatusCode::NOT_FOUND,
            &format!("model \"{}\" not found, try pulling it first", req.model),
        ));
    }
    let behaviour = behaviour_of(&req.model);
    if behaviour == Behaviour::Busy {
        return Ok(error_resp(StatusCode::SERVICE_UNAVAILABLE, BUSY_ERROR));
    }
    let guard = StreamGuard::new(st);
    let delay = if behaviour == Behaviour::Bench { Duration::ZERO } else { st.cfg.token_delay };
    if let Some(fault) = fault {
        if req.stream {
            let gen = generate(behaviour, &req);
            return Ok(faults::chat_reply(fault, &req, gen, guard).await);
        }
    }

    if !req.stream {
        let gen = generate(behaviour, &req);
        match gen.failure {
            Failure::None => {}
            Failure::ErrorLine(msg) => {
                return Ok(error_resp(StatusCode::INTERNAL_SERVER_ERROR, &msg));
            }
            Failure::Stall => {
                // Hold the guard until the client goes away (hyper then drops this future).
                std::future::pending::<()>().await;
            }
            Failure::Abort => return Err("drop-math: connection aborted".into()),
        }
        let content: String = gen.pieces.iter().map(|p| p.text.as_str()).collect();
        let mut v = final_value(&req, &gen.pieces, gen.done_reason, delay);
        v["message"]["content"] = Value::String(content);
        if req.logprobs.is_some() {
            let lps: Vec<Value> = gen.pieces.iter().filter_map(|p| p.lp.as_ref()).map(lp_value).collect();
            v["logprobs"] = Value::Array(lps);
        }
        drop(guard);
        return Ok(json_resp(StatusCode::OK, &v));
    }

    let prefix = line_prefix(&req.model);
    let (frames, tail) = if behaviour == Behaviour::Bench {
        let body = bench_body(st, &req, &prefix);
        let mut frames = body.frames.clone();
        frames.push(final_line(&req, body.pieces, body.done_reason, delay));
        (frames, Tail::Done)
    } else {
        let gen = generate(behaviour, &req);
        let mut frames: Vec<Bytes> = gen
            .pieces
            .iter()
            .map(|p| {
                let mut buf = Vec::with_capacity(160);
                write_piece_line(&mut buf, &prefix, p);
                Bytes::from(buf)
            })
            .collect();
        let tail = match gen.failure {
            Failure::None => {
                frames.push(final_line(&req, gen.pieces.len(), gen.done_reason, delay));
                Tail::Done
            }
            Failure::ErrorLine(msg) => {
                let mut line = serde_json::to_vec(&json!({ "error": msg })).expect("serialise");
                line.push(b'\n');
                frames.push(Bytes::from(line));
                Tail::Done
            }
            Failure::Stall => Tail::Stall,
            Failure::Abort => Tail::Abort,
        };
        (frames, tail)
    };

    let state = StreamState { frames, idx: 0, delay, tail, _guard: guard };
    let stream = futures::stream::unfold(state, |mut s| async move {
        if s.idx < s.frames.len() {
            if s.idx > 0 && !s.delay.is_zero() {
                tokio::time::sleep(s.delay).await;
            }
            let f = s.frames[s.idx].clone();
            s.idx += 1;
            return Some((Ok::<_, BoxError>(Frame::data(f)), s));
        }
        match s.tail {
            Tail::Done => None,
            Tail::Stall => {
                std::future::pending::<()>().await;
                None
            }
            Tail::Abort => {
                // Let hyper flush the headers and pieces first (it flushes when the body is
                // pending), so the client sees a response whose body then breaks.
                tokio::time::sleep(Duration::from_millis(20)).await;
                s.tail = Tail::Done;
                let err: BoxError = Box::new(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "drop-math: connection aborted mid-stream",
                ));
                Some((Err(err), s))
            }
        }
    });
    let mut resp = Response::new(StreamBody::new(stream).boxed_unsync());
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    Ok(resp)
}

enum Tail {
    Done,
    Stall,
    Abort,
}

struct StreamState {
    frames: Vec<Bytes>,
    idx: usize,
    delay: Duration,
    tail: Tail,
    _guard: StreamGuard,
}

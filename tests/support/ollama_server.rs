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
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            version: "0.13.0".to_string(),
            busy_first: 0,
            models: BEHAVIOUR_MODELS.iter().map(|m| format!("{m}:latest")).collect(),
            token_delay: Duration::ZERO,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Parsed JSON body; `Null` when empty; the raw text as a JSON string when not valid JSON.
    pub body: Value,
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
    });

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
    if st.chat_seen.fetch_add(1, Ordering::SeqCst) < st.cfg.busy_first {
        return Ok(error_resp(StatusCode::SERVICE_UNAVAILABLE, BUSY_ERROR));
    }
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

// ---------------------------------------------------------------------------------------------
// Generation

struct Lp {
    token: String,
    logprob: f64,
    top: Vec<(String, f64)>,
}

struct Piece {
    text: String,
    lp: Option<Lp>,
}

enum Failure {
    None,
    ErrorLine(String),
    Stall,
    Abort,
}

struct Generation {
    pieces: Vec<Piece>,
    done_reason: &'static str,
    failure: Failure,
}

/// Splits text into pieces of 4 chars (the last may be shorter); UTF-8 safe.
pub fn split_pieces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut n = 0;
    for ch in text.chars() {
        cur.push(ch);
        n += 1;
        if n == 4 {
            out.push(std::mem::take(&mut cur));
            n = 0;
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Cuts the pieces before the earliest occurrence of any stop string; true if one was found.
fn apply_stop(pieces: Vec<String>, stops: &[String]) -> (Vec<String>, bool) {
    let full: String = pieces.concat();
    let pos = stops.iter().filter(|s| !s.is_empty()).filter_map(|s| full.find(s.as_str())).min();
    let Some(p) = pos else {
        return (pieces, false);
    };
    let mut out = Vec::new();
    let mut off = 0;
    for pc in pieces {
        if off >= p {
            break;
        }
        let end = off + pc.len();
        if end <= p {
            out.push(pc);
        } else {
            out.push(pc[..p - off].to_string());
        }
        off = end;
    }
    (out, true)
}

/// Applies `stop` then `num_predict`; returns the pieces and the done_reason.
fn limit(pieces: Vec<String>, req: &ChatReq) -> (Vec<String>, &'static str) {
    let (mut pieces, _) = apply_stop(pieces, &req.stop);
    let mut reason = "stop";
    if let Some(n) = req.num_predict.filter(|n| *n > 0) {
        if pieces.len() > n as usize {
            pieces.truncate(n as usize);
            reason = "length";
        }
    }
    (pieces, reason)
}

const FILLERS: [&str; 18] = [
    " the", ",", ".", " a", "\n", " is", " to", " of", " and", " we", " =", " +", "1", "2", " in", " that",
    ":", " so",
];

fn plain_lp(piece: &str, top_n: usize) -> Lp {
    let mut top = Vec::with_capacity(top_n);
    if top_n > 0 {
        top.push((piece.to_string(), -0.1));
    }
    let mut lp = -2.5;
    for f in FILLERS {
        if top.len() >= top_n {
            break;
        }
        if f != piece {
            top.push((f.to_string(), lp));
            lp -= 0.5;
        }
    }
    Lp { token: piece.to_string(), logprob: -0.1, top }
}

fn with_lps(pieces: Vec<String>, req: &ChatReq) -> Vec<Piece> {
    pieces
        .into_iter()
        .map(|text| {
            let lp = req.logprobs.map(|n| plain_lp(&text, n));
            Piece { text, lp }
        })
        .collect()
}

fn generate(b: Behaviour, req: &ChatReq) -> Generation {
    match b {
        Behaviour::Judge | Behaviour::BaseJudge => judge(b, req),
        Behaviour::Bench => {
            let (pieces, reason) = bench_pieces(req);
            Generation { pieces: with_lps(pieces, req), done_reason: reason, failure: Failure::None }
        }
        _ => {
            let (pieces, reason) = limit(split_pieces(&math_text(req)), req);
            let mut pieces = with_lps(pieces, req);
            let failure = match b {
                Behaviour::FlakyMath if req.seed_mod(4) == Some(1) => {
                    Failure::ErrorLine(FLAKY_ERROR.to_string())
                }
                Behaviour::SlowMath => Failure::Stall,
                Behaviour::DropMath => Failure::Abort,
                _ => Failure::None,
            };
            if !matches!(failure, Failure::None) {
                pieces.truncate(2);
            }
            Generation { pieces, done_reason: reason, failure }
        }
    }
}

/// The full scripted solution for `user` and its final answer.
pub fn math_script(user: &str, wrong: bool) -> (String, i128) {
    match first_expression(user) {
        Some((a, op, b, r)) => {
            let r = if wrong { r + 1 } else { r };
            (
                format!(
                    "We need to compute {a} {op} {b}.\n\n{a} {op} {b} = {r}\n\nThe answer is \\boxed{{{r}}}."
                ),
                r,
            )
        }
        None => ("Let me think.\n\nThe answer is \\boxed{42}.".to_string(), 42),
    }
}

fn math_text(req: &ChatReq) -> String {
    let wrong = req.sampled() && req.seed_mod(4) == Some(3);
    let (script, r) = math_script(req.last_user(), wrong);
    match req.messages.last() {
        Some((role, prefix)) if role == "assistant" => match script.strip_prefix(prefix.as_str()) {
            Some(rest) => rest.to_string(),
            None => format!("\n\nThe answer is \\boxed{{{r}}}."),
        },
        _ => script,
    }
}

/// Judge verdict for a user message: true = every claim checks out.
pub fn judge_verdict(user: &str) -> bool {
    let text = match user.rfind("Step to check:") {
        Some(i) => &user[i + "Step to check:".len()..],
        None => user,
    };
    !claims(text).into_iter().any(|ok| !ok)
}

fn judge(b: Behaviour, req: &ChatReq) -> Generation {
    let ok = judge_verdict(req.last_user());
    let piece = match req.logprobs {
        Some(top_n) => {
            let top_n = top_n.max(2);
            let (token, mut top): (&str, Vec<(&str, f64)>) = if b == Behaviour::BaseJudge {
                (
                    "Step",
                    vec![
                        ("Step", 0.55f64.ln()),
                        (" The", 0.20f64.ln()),
                        ("1", 0.10f64.ln()),
                        ("**", 0.05f64.ln()),
                        ("\n", 0.03f64.ln()),
                    ],
                )
            } else if ok {
                ("Yes", vec![("Yes", 0.90f64.ln()), ("No", 0.06f64.ln())])
            } else {
                ("No", vec![("No", 0.85f64.ln()), ("Yes", 0.10f64.ln())])
            };
            let fillers = [
                " The", "Step", "yes", "I", "**", "no", "The", "\n", " Yes", " No", "Correct", "1", "Let",
                "YES", "NO", "It", "This", "A", "#", "To",
            ];
            let mut p = 0.004f64;
            for f in fillers {
                // A base model's alternatives hold no verdict token in any spelling.
                let verdict = matches!(f.trim().to_ascii_lowercase().as_str(), "yes" | "no");
                if top.iter().any(|(t, _)| *t == f) || (b == Behaviour::BaseJudge && verdict) {
                    continue;
                }
                top.push((f, p.ln()));
                p *= 0.8;
            }
            top.truncate(top_n);
            Piece {
                text: token.to_string(),
                lp: Some(Lp {
                    token: token.to_string(),
                    logprob: top[0].1,
                    top: top.into_iter().map(|(t, l)| (t.to_string(), l)).collect(),
                }),
            }
        }
        None => {
            let text = if b == Behaviour::BaseJudge {
                "Step"
            } else {
                let flip = req.sampled() && req.seed_mod(10) == Some(0);
                if ok != flip {
                    "Yes"
                } else {
                    "No"
                }
            };
            Piece { text: text.to_string(), lp: None }
        }
    };
    let (kept, reason) = limit(vec![piece.text.clone()], req);
    let pieces = if kept.len() == 1 && kept[0] == piece.text { vec![piece] } else { with_lps(kept, req) };
    Generation { pieces, done_reason: reason, failure: Failure::None }
}

// --- bench

/// Pieces of the `bench` model for `n` tokens: steps of 50 pieces (`"Now "`, 24 claims of 2
/// pieces like `"12+3"`, `"=15 "`, then `"\n\n"`), and the final step
/// `"The answer is \boxed{7}."` (6 pieces).
pub fn bench_text_pieces(n: usize) -> Vec<String> {
    const FINAL: [&str; 6] = ["The ", "answ", "er i", "s \\b", "oxed", "{7}."];
    if n <= FINAL.len() {
        return FINAL[..n].iter().map(|s| s.to_string()).collect();
    }
    let m = n - FINAL.len();
    let mut out = Vec::with_capacity(n);
    let mut k: usize = 0;
    for i in 0..m {
        let j = i % 50;
        let piece = match j {
            0 => "Now ".to_string(),
            49 => "\n\n".to_string(),
            _ => {
                // claim number (j-1)/2 of step i/50
                let a = 10 + (k * 7) % 40;
                let b = (k * 3) % 10;
                if j % 2 == 1 {
                    format!("{a}+{b}")
                } else {
                    k += 1;
                    format!("={:<2} ", a + b)
                }
            }
        };
        out.push(piece);
    }
    if out.last().map(String::as_str) != Some("\n\n") {
        *out.last_mut().expect("m >= 1") = "\n\n".to_string();
    }
    out.extend(FINAL.iter().map(|s| s.to_string()));
    out
}

fn bench_pieces(req: &ChatReq) -> (Vec<String>, &'static str) {
    let given = req.num_predict.filter(|n| *n > 0);
    let n = given.unwrap_or(2000) as usize;
    let (pieces, _) = apply_stop(bench_text_pieces(n), &req.stop);
    let reason = if given.is_some() && pieces.len() == n { "length" } else { "stop" };
    (pieces, reason)
}

struct BenchBody {
    frames: Vec<Bytes>,
    pieces: usize,
    done_reason: &'static str,
}

fn bench_body(st: &State, req: &ChatReq, prefix: &[u8]) -> Arc<BenchBody> {
    let key = format!("{}\u{0}{:?}\u{0}{:?}\u{0}{:?}", req.model, req.num_predict, req.logprobs, req.stop);
    if let Some(b) = st.bench_cache.lock().unwrap().get(&key) {
        return b.clone();
    }
    let (pieces, reason) = bench_pieces(req);
    let pieces = with_lps(pieces, req);
    let mut frames = Vec::with_capacity(pieces.len() / BENCH_LINES_PER_FRAME + 1);
    for chunk in pieces.chunks(BENCH_LINES_PER_FRAME) {
        let mut buf = Vec::with_capacity(chunk.len() * 128);
        for p in chunk {
            write_piece_line(&mut buf, prefix, p);
        }
        frames.push(Bytes::from(buf));
    }
    let body = Arc::new(BenchBody { frames, pieces: pieces.len(), done_reason: reason });
    let mut cache = st.bench_cache.lock().unwrap();
    if cache.len() > 64 {
        cache.clear();
    }
    cache.insert(key, body.clone());
    body
}

// ---------------------------------------------------------------------------------------------
// Serialisation

/// Shared head of every chunk line: `{"model":M,"created_at":C,"message":{"role":"assistant","content":`
fn line_prefix(model: &str) -> Vec<u8> {
    let mut buf = Vec::with_capacity(96);
    buf.extend_from_slice(b"{\"model\":");
    serde_json::to_writer(&mut buf, model).expect("serialise");
    buf.extend_from_slice(b",\"created_at\":\"");
    buf.extend_from_slice(CREATED_AT.as_bytes());
    buf.extend_from_slice(b"\",\"message\":{\"role\":\"assistant\",\"content\":");
    buf
}

fn write_token(buf: &mut Vec<u8>, token: &str, logprob: f64) {
    buf.extend_from_slice(b"{\"token\":");
    serde_json::to_writer(&mut *buf, token).expect("serialise");
    buf.extend_from_slice(b",\"logprob\":");
    serde_json::to_writer(&mut *buf, &logprob).expect("serialise");
    buf.extend_from_slice(b",\"bytes\":[");
    for (i, b) in token.bytes().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        let _ = write!(ByteWriter(buf), "{b}");
    }
    buf.push(b']');
}

struct ByteWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for ByteWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

fn write_lp(buf: &mut Vec<u8>, lp: &Lp) {
    write_token(buf, &lp.token, lp.logprob);
    if !lp.top.is_empty() {
        buf.extend_from_slice(b",\"top_logprobs\":[");
        for (i, (t, l)) in lp.top.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            write_token(buf, t, *l);
            buf.push(b'}');
        }
        buf.push(b']');
    }
    buf.push(b'}');
}

fn lp_value(lp: &Lp) -> Value {
    let mut buf = Vec::new();
    write_lp(&mut buf, lp);
    serde_json::from_slice(&buf).expect("valid logprob json")
}

fn write_piece_line(buf: &mut Vec<u8>, prefix: &[u8], p: &Piece) {
    buf.extend_from_slice(prefix);
    serde_json::to_writer(&mut *buf, &p.text).expect("serialise");
    buf.extend_from_slice(b"},\"done\":false");
    if let Some(lp) = &p.lp {
        buf.extend_from_slice(b",\"logprobs\":[");
        write_lp(buf, lp);
        buf.push(b']');
    }
    buf.extend_from_slice(b"}\n");
}

fn final_value(req: &ChatReq, pieces: &[Piece], reason: &str, delay: Duration) -> Value {
    final_value_n(req, pieces.len(), reason, delay)
}

fn final_value_n(req: &ChatReq, eval_count: usize, reason: &str, delay: Duration) -> Value {
    let prompt = req.prompt_tokens();
    let k = eval_count as u64;
    let load = 1_000_000u64;
    let prompt_dur = prompt * 50_000 + 1;
    let per_token = 1_000_000u64 + delay.as_nanos() as u64;
    let eval_dur = k.max(1) * per_token;
    json!({
        "model": req.model,
        "created_at": CREATED_AT,
        "message": { "role": "assistant", "content": "" },
        "done": true,
        "done_reason": reason,
        "total_duration": load + prompt_dur + eval_dur + 100_000,
        "load_duration": load,
        "prompt_eval_count": prompt,
        "prompt_eval_duration": prompt_dur,
        "eval_count": k,
        "eval_duration": eval_dur
    })
}

fn final_line(req: &ChatReq, eval_count: usize, reason: &str, delay: Duration) -> Bytes {
    let mut line = serde_json::to_vec(&final_value_n(req, eval_count, reason, delay)).expect("serialise");
    line.push(b'\n');
    Bytes::from(line)
}

// ---------------------------------------------------------------------------------------------
// Arithmetic scanning

#[derive(Clone, Copy, PartialEq, Debug)]
enum Tok {
    Num(i128),
    Op(char),
    Eq,
    Other,
}

fn tokenize(s: &str) -> Vec<Tok> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // Reads an unsigned number at chars[i] (a digit); returns (token, next index).
    let read_num = |mut i: usize| -> (Tok, usize) {
        let mut digits = String::new();
        while i < chars.len() && chars[i].is_ascii_digit() {
            digits.push(chars[i]);
            i += 1;
        }
        // thousands separators: 1,000,000
        while chars.get(i) == Some(&',')
            && chars.get(i + 1..i + 4).is_some_and(|g| g.iter().all(char::is_ascii_digit))
            && !chars.get(i + 4).is_some_and(char::is_ascii_digit)
        {
            digits.extend(&chars[i + 1..i + 4]);
            i += 4;
        }
        // decimals are not integers
        if i + 1 < chars.len() && chars[i] == '.' && chars[i + 1].is_ascii_digit() {
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            return (Tok::Other, i);
        }
        match digits.parse::<i128>() {
            Ok(n) => (Tok::Num(n), i),
            Err(_) => (Tok::Other, i),
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let (t, j) = read_num(i);
            out.push(t);
            i = j;
        } else if c == '-' || c == '−' {
            let sign_ok = !matches!(out.last(), Some(Tok::Num(_)));
            if sign_ok && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
                let (t, j) = read_num(i + 1);
                out.push(match t {
                    Tok::Num(n) => Tok::Num(-n),
                    t => t,
                });
                i = j;
            } else {
                out.push(Tok::Op('-'));
                i += 1;
            }
        } else if matches!(c, '+' | '*' | '×' | '/' | '÷' | '·') {
            out.push(Tok::Op(if c == '·' { '×' } else { c }));
            i += 1;
        } else if c == '=' {
            out.push(Tok::Eq);
            i += 1;
        } else if c == '\\' {
            let mut j = i + 1;
            while j < chars.len() && chars[j].is_ascii_alphabetic() {
                j += 1;
            }
            let word: String = chars[i + 1..j].iter().collect();
            out.push(match word.as_str() {
                "times" | "cdot" => Tok::Op('×'),
                "div" => Tok::Op('÷'),
                _ => Tok::Other,
            });
            i = j.max(i + 1);
        } else {
            out.push(Tok::Other);
            i += 1;
        }
    }
    out
}

fn apply(a: i128, op: char, b: i128) -> Option<i128> {
    match op {
        '+' => a.checked_add(b),
        '-' => a.checked_sub(b),
        '*' | '×' => a.checked_mul(b),
        _ => None,
    }
}

/// First `A op B` (op in + - * ×) in `s`: (A, op, B, A op B).
fn first_expression(s: &str) -> Option<(i128, char, i128, i128)> {
    let toks = tokenize(s);
    toks.windows(3).find_map(|w| match w {
        [Tok::Num(a), Tok::Op(op), Tok::Num(b)] if matches!(op, '+' | '-' | '*' | '×') => {
            apply(*a, *op, *b).map(|r| (*a, *op, *b, r))
        }
        _ => None,
    })
}

/// Truth of every binary claim `A op B = C` in `s` (chains like `1 + 2 + 3 = 6` are skipped).
fn claims(s: &str) -> Vec<bool> {
    let toks = tokenize(s);
    let mut out = Vec::new();
    for i in 0..toks.len().saturating_sub(4) {
        let (Tok::Num(a), Tok::Op(op), Tok::Num(b), Tok::Eq, Tok::Num(c)) =
            (toks[i], toks[i + 1], toks[i + 2], toks[i + 3], toks[i + 4])
        else {
            continue;
        };
        if i > 0 && matches!(toks[i - 1], Tok::Op(_)) {
            continue;
        }
        if matches!(toks.get(i + 5), Some(Tok::Op(_))) {
            continue;
        }
        let ok = match op {
            '/' | '÷' => b != 0 && b.checked_mul(c) == Some(a),
            _ => match apply(a, op, b) {
                Some(r) => r == c,
                None => continue,
            },
        };
        out.push(ok);
    }
    out
}

fn version_supports_logprobs(v: &str) -> bool {
    let v = v.trim().trim_start_matches('v');
    let parts: Vec<Option<u64>> = v
        .split('.')
        .take(3)
        .map(|p| {
            let d: String = p.chars().take_while(char::is_ascii_digit).collect();
            d.parse().ok()
        })
        .collect();
    match parts.as_slice() {
        [Some(a), Some(b), Some(c)] => (*a, *b, *c) >= (0, 12, 11),
        [Some(a), Some(b)] => (*a, *b) >= (0, 13),
        _ => true,
    }
}

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
//! * `prm-chat`   – a conversational PRM: steps as user turns, earlier ones answered "+", the
//!   reply "+"/"-" by the last step's arithmetic ("?" for a conversation of another shape);
//! * `prm-tag`    – a step-tag PRM (Math-Shepherd's format) on `/api/generate` with `raw: true`:
//!   "+"/"-" by the arithmetic of the step before the prompt's final tag ` ки` (`raw.rs`);
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
//! By concern: `http.rs` serves HTTP (the accept loop, routing, the chat endpoint's statuses
//! and streamed bodies), `wire.rs` speaks Ollama's wire format (chat requests, the
//! `/api/tags` and `/api/show` JSON, NDJSON chunk and final lines), `script.rs` decides what
//! each model says, `raw.rs` serves `/api/generate` (raw prompts, `prm-tag`), and `faults.rs`
//! injects misbehaviour; this file holds the public API.
//!
//! Self-contained: included via `#[path = "../support/ollama_server.rs"] mod ollama_server;`
//! from integration tests and via `#[path = "../tests/support/ollama_server.rs"]` from benches.

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
#[path = "ollama_server/http.rs"]
mod http;
#[path = "ollama_server/raw.rs"]
mod raw;
#[path = "ollama_server/script.rs"]
mod script;
#[path = "ollama_server/wire.rs"]
mod wire;

#[allow(unused_imports)]
pub use faults::{ChatFault, Faults, PathFault, SilentServer};
use http::*;
use raw::*;
#[allow(unused_imports)]
pub use raw::{prm_tag_verdict, PRM_TAG};
use script::*;
#[allow(unused_imports)]
pub use script::{bench_text_pieces, judge_verdict, math_script, split_pieces};
use wire::*;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = UnsyncBoxBody<Bytes, BoxError>;

/// `created_at` stamped on every chunk (fixed, so output is deterministic).
pub const CREATED_AT: &str = "2026-11-01T00:00:00.000000000Z";
/// Body of every HTTP 503.
pub const BUSY_ERROR: &str = "server busy, please try again.  maximum pending requests exceeded";
/// Error line sent mid-stream by `flaky-math`.
pub const FLAKY_ERROR: &str = "an error was encountered while running the model: unexpected EOF";
/// Every behaviour model, as listed by default in `/api/tags`.
pub const BEHAVIOUR_MODELS: [&str; 10] = [
    "tiny-math",
    "flaky-math",
    "slow-math",
    "drop-math",
    "judge",
    "base-judge",
    "prm-chat",
    "prm-tag",
    "bench",
    "busy",
];
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
        let task = serve(listener, state.clone());
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

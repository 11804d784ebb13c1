//! The Ollama backend.
//!
//! Model listing goes through `ollama-rs`. Streaming chat, `/api/show` and
//! `/api/version` are spoken directly over the same `reqwest` client because
//! `ollama-rs` 0.3 drops what ttc needs there: chat chunks lose `logprobs`,
//! mid-stream `{"error"}` lines are swallowed, HTTP status codes are folded
//! into a string, and a UTF-8 character split across two network reads is lost.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use super::{
    Chunk, ChunkStream, GenError, GenOptions, GenRequest, Generator, GeneratorInfo, Limiter, Load, Message,
    TokenLogprob,
};

/// The host used when none is given.
pub const DEFAULT_HOST: &str = "http://127.0.0.1:11434";

/// The first Ollama release whose responses carry log-probabilities.
pub const LOGPROBS_SINCE: (u64, u64, u64) = (0, 12, 11);

/// Connection settings for one Ollama server.
#[derive(Debug, Clone, PartialEq)]
pub struct OllamaSettings {
    /// Requests allowed in flight at once from this client.
    pub concurrency: usize,
    /// A stream with no data for this long fails.
    pub stall_timeout: Duration,
    /// Time allowed to connect and receive response headers.
    pub connect_timeout: Duration,
    /// How many times an HTTP 503 (server queue full) is retried.
    pub busy_retries: u32,
    /// First back-off after a 503; doubles on each retry.
    pub busy_backoff: Duration,
}

impl Default for OllamaSettings {
    fn default() -> Self {
        Self {
            concurrency: 4,
            stall_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            busy_retries: 4,
            busy_backoff: Duration::from_millis(250),
        }
    }
}

/// A model installed on the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelEntry {
    pub name: String,
    pub size: u64,
    pub modified_at: String,
}

/// What `/api/show` tells about a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelDetails {
    pub name: String,
    pub capabilities: Vec<String>,
    pub parameters: String,
    /// The context length, when the server reports one.
    pub context_length: Option<u64>,
}

/// A client for one Ollama server, shared by every generator on it.
#[derive(Clone)]
pub struct OllamaClient {
    inner: Arc<Inner>,
}

struct Inner {
    host: String,
    http: reqwest::Client,
    api: ollama_rs::Ollama,
    limiter: Limiter,
    settings: OllamaSettings,
    version: OnceCell<String>,
}

/// Turn what a user typed (`localhost`, `0.0.0.0:11434`, `http://h:1`) into a base URL.
pub fn normalize_host(host: &str) -> Result<String, String> {
    let trimmed = host.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return Err("the host is empty".into());
    }
    let with_scheme = if trimmed.contains("://") { trimmed.to_string() } else { format!("http://{trimmed}") };
    let mut url =
        reqwest::Url::parse(&with_scheme).map_err(|e| format!("\"{host}\" is not a valid host URL: {e}"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("\"{host}\" must use http:// or https://"));
    }
    // `OLLAMA_HOST=0.0.0.0` is how servers are told to listen everywhere;
    // a client reaches such a server on loopback.
    if url.host_str() == Some("0.0.0.0") {
        let _ = url.set_host(Some("127.0.0.1"));
    }
    if url.port().is_none() && !trimmed.contains("://") {
        let _ = url.set_port(Some(11434));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Parse "0.12.11" (optionally with a "-rc1" suffix) into numbers.
pub fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    let core = v.trim().trim_start_matches('v').split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    Some((parts.next()??, parts.next().flatten().unwrap_or(0), parts.next().flatten().unwrap_or(0)))
}

/// Whether a server of this version returns log-probabilities.
/// Development builds report "0.0.0"; they are assumed current.
pub fn version_has_logprobs(v: &str) -> bool {
    match parse_version(v) {
        Some((0, 0, 0)) => true,
        Some(ver) => ver >= LOGPROBS_SINCE,
        None => false,
    }
}

/// The full chain of an error's causes, for messages that say what happened.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out.push_str(": ");
            out.push_str(&s_text);
        }
        src = s.source();
    }
    out
}

/// The innermost cause ("Connection refused (os error 111)"): what a person needs to read.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

/// The server's `{"error": ...}` text, or the raw body.
fn error_detail(body: &str) -> String {
    serde_json::from_str::<ErrorBody>(body).map(|b| b.error).unwrap_or_else(|_| body.trim().to_string())
}

impl OllamaClient {
    /// A client for `host` (normalised with [`normalize_host`]).
    pub fn new(host: &str, settings: OllamaSettings) -> Result<Self, GenError> {
        let host = normalize_host(host)
            .map_err(|detail| GenError::Unreachable { host: host.to_string(), detail })?;
        let url = reqwest::Url::parse(&host)
            .map_err(|e| GenError::Unreachable { host: host.clone(), detail: e.to_string() })?;
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| GenError::Unreachable { host: host.clone(), detail: error_chain(&e) })?;
        let api = ollama_rs::Ollama::builder().url(url).reqwest_client(http.clone()).build();
        Ok(Self {
            inner: Arc::new(Inner {
                host,
                http,
                api,
                limiter: Limiter::new(settings.concurrency),
                settings,
                version: OnceCell::new(),
            }),
        })
    }

    /// The normalised base URL.
    pub fn host(&self) -> &str {
        &self.inner.host
    }

    /// The client-side concurrency limiter.
    pub fn limiter(&self) -> &Limiter {
        &self.inner.limiter
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}", self.inner.host, path)
    }

    fn map_send_error(&self, e: reqwest::Error) -> GenError {
        if e.is_connect() {
            GenError::Unreachable { host: self.inner.host.clone(), detail: root_cause(&e) }
        } else if e.is_timeout() {
            GenError::Stalled { secs: self.inner.settings.connect_timeout.as_secs_f64() }
        } else {
            GenError::Dropped(error_chain(&e))
        }
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<T, GenError> {
        let url = self.url(path);
        let resp = self.inner.http.get(&url).send().await.map_err(|e| self.map_send_error(e))?;
        self.read_json(url, resp).await
    }

    async fn read_json<T: for<'de> Deserialize<'de>>(
        &self,
        url: String,
        resp: reqwest::Response,
    ) -> Result<T, GenError> {
        let status = resp.status();
        let body = resp.text().await.map_err(|e| GenError::Dropped(error_chain(&e)))?;
        if !status.is_success() {
            return Err(GenError::Http { status: status.as_u16(), url, detail: error_detail(&body) });
        }
        serde_json::from_str(&body)
            .map_err(|e| GenError::Protocol { url, detail: format!("{e} (is this an Ollama server?)") })
    }

    /// The server's version (`/api/version`), fetched once.
    pub async fn version(&self) -> Result<String, GenError> {
        #[derive(Deserialize)]
        struct V {
            version: String,
        }
        self.inner
            .version
            .get_or_try_init(|| async { self.get_json::<V>("api/version").await.map(|v| v.version) })
            .await
            .cloned()
    }

    /// Whether this server returns log-probabilities (by its version).
    pub async fn has_logprobs(&self) -> Result<bool, GenError> {
        Ok(version_has_logprobs(&self.version().await?))
    }

    /// The installed models (`/api/tags`, through `ollama-rs`).
    pub async fn list_models(&self) -> Result<Vec<ModelEntry>, GenError> {
        use ollama_rs::error::OllamaError;
        match self.inner.api.list_local_models().await {
            Ok(models) => Ok(models
                .into_iter()
                .map(|m| ModelEntry { name: m.name, size: m.size, modified_at: m.modified_at })
                .collect()),
            Err(OllamaError::ReqwestError(e)) => Err(self.map_send_error(e)),
            Err(OllamaError::JsonError(e)) => Err(GenError::Protocol {
                url: self.url("api/tags"),
                detail: format!("{e} (is this an Ollama server?)"),
            }),
            Err(e) => {
                Err(GenError::Protocol { url: self.url("api/tags"), detail: error_detail(&e.to_string()) })
            }
        }
    }

    async fn installed_names(&self) -> Vec<String> {
        self.list_models().await.map(|ms| ms.into_iter().map(|m| m.name).collect()).unwrap_or_default()
    }

    /// Details of one model (`/api/show`); a 404 becomes [`GenError::ModelNotFound`].
    pub async fn show(&self, model: &str) -> Result<ModelDetails, GenError> {
        let url = self.url("api/show");
        let resp = self
            .inner
            .http
            .post(&url)
            .json(&serde_json::json!({ "model": model }))
            .send()
            .await
            .map_err(|e| self.map_send_error(e))?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(self.not_found(model).await);
        }
        let info: ollama_rs::models::ModelInfo = self.read_json(url, resp).await?;
        let context_length = info
            .model_info
            .iter()
            .find(|(k, _)| k.ends_with(".context_length"))
            .and_then(|(_, v)| v.as_u64());
        Ok(ModelDetails {
            name: model.to_string(),
            capabilities: info.capabilities,
            parameters: info.parameters,
            context_length,
        })
    }

    async fn not_found(&self, model: &str) -> GenError {
        GenError::ModelNotFound {
            model: model.to_string(),
            host: self.inner.host.clone(),
            installed: self.installed_names().await,
        }
    }

    /// A generator for `model` on this server. Fetches the server version
    /// first, so an unreachable server is reported here, once.
    pub async fn generator(&self, model: &str) -> Result<OllamaGenerator, GenError> {
        let logprobs = self.has_logprobs().await?;
        Ok(OllamaGenerator { client: self.clone(), model: model.to_string(), logprobs })
    }

    /// POST `/api/chat`, retrying 503 with back-off; returns the streaming response.
    async fn post_chat(
        &self,
        body: &ChatBody<'_>,
        cancel: &CancellationToken,
    ) -> Result<reqwest::Response, GenError> {
        let url = self.url("api/chat");
        let settings = &self.inner.settings;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let send = self.inner.http.post(&url).json(body).send();
            let resp = tokio::select! {
                _ = cancel.cancelled() => return Err(GenError::Cancelled),
                r = tokio::time::timeout(settings.connect_timeout + settings.stall_timeout, send) => r,
            };
            let resp = match resp {
                Err(_) => {
                    return Err(GenError::Stalled {
                        secs: (settings.connect_timeout + settings.stall_timeout).as_secs_f64(),
                    })
                }
                Ok(Err(e)) => return Err(self.map_send_error(e)),
                Ok(Ok(r)) => r,
            };
            let status = resp.status();
            if status.is_success() {
                return Ok(resp);
            }
            if status == reqwest::StatusCode::NOT_FOUND {
                return Err(self.not_found(body.model).await);
            }
            let detail = error_detail(&resp.text().await.unwrap_or_default());
            if status == reqwest::StatusCode::SERVICE_UNAVAILABLE {
                if attempt > settings.busy_retries {
                    return Err(GenError::Busy { host: self.inner.host.clone(), attempts: attempt, detail });
                }
                let wait = settings.busy_backoff.saturating_mul(1 << (attempt - 1).min(16));
                tracing::warn!(host = %self.inner.host, attempt, ?wait, "server busy (503), retrying");
                tokio::select! {
                    _ = cancel.cancelled() => return Err(GenError::Cancelled),
                    _ = tokio::time::sleep(wait) => {}
                }
                continue;
            }
            return Err(GenError::Http { status: status.as_u16(), url, detail });
        }
    }
}

/// The body of a `/api/chat` request.
#[derive(Serialize)]
struct ChatBody<'a> {
    model: &'a str,
    messages: &'a [Message],
    stream: bool,
    options: &'a GenOptions,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    logprobs: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_logprobs: Option<u8>,
}

/// One NDJSON line of a streaming `/api/chat` response.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ChatLine {
    message: Option<ChatLineMessage>,
    done: bool,
    error: Option<String>,
    logprobs: Option<Vec<TokenLogprob>>,
    done_reason: Option<String>,
    prompt_eval_count: u64,
    eval_count: u64,
    prompt_eval_duration: u64,
    eval_duration: u64,
    total_duration: u64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChatLineMessage {
    content: String,
}

/// One model on an Ollama server.
#[derive(Clone)]
pub struct OllamaGenerator {
    client: OllamaClient,
    model: String,
    logprobs: bool,
}

impl OllamaGenerator {
    /// The client this generator uses.
    pub fn client(&self) -> &OllamaClient {
        &self.client
    }
}

#[async_trait]
impl Generator for OllamaGenerator {
    fn info(&self) -> GeneratorInfo {
        GeneratorInfo {
            backend: "ollama".into(),
            model: self.model.clone(),
            location: self.client.host().to_string(),
            logprobs: self.logprobs,
        }
    }

    async fn generate(&self, req: GenRequest, cancel: CancellationToken) -> Result<ChunkStream, GenError> {
        let slot = tokio::select! {
            _ = cancel.cancelled() => return Err(GenError::Cancelled),
            s = self.client.limiter().acquire() => s,
        };
        let want_logprobs = req.top_logprobs > 0 && self.logprobs;
        let body = ChatBody {
            model: &self.model,
            messages: &req.messages,
            stream: true,
            options: &req.options,
            logprobs: want_logprobs,
            top_logprobs: want_logprobs.then_some(req.top_logprobs.min(20)),
        };
        let resp = self.client.post_chat(&body, &cancel).await?;
        let state = StreamState {
            bytes: Box::pin(resp.bytes_stream()),
            buf: Vec::new(),
            pending: VecDeque::new(),
            finished: false,
            stall: self.client.inner.settings.stall_timeout,
            cancel,
            _slot: slot,
        };
        Ok(Box::pin(futures::stream::unfold(state, next_chunk)))
    }

    fn load(&self) -> Option<tokio::sync::watch::Receiver<Load>> {
        Some(self.client.limiter().subscribe())
    }
}

type ByteStream = std::pin::Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// Decoding state of one NDJSON response; holds the concurrency slot until dropped.
struct StreamState {
    bytes: ByteStream,
    buf: Vec<u8>,
    pending: VecDeque<Result<Chunk, GenError>>,
    finished: bool,
    stall: Duration,
    cancel: CancellationToken,
    _slot: super::limiter::Slot,
}

/// Parse one complete NDJSON line into chunks.
fn parse_line(line: &[u8], out: &mut VecDeque<Result<Chunk, GenError>>) -> bool {
    let parsed: ChatLine = match serde_json::from_slice(line) {
        Ok(l) => l,
        Err(e) => {
            let text = String::from_utf8_lossy(line);
            out.push_back(Err(GenError::Protocol {
                url: "api/chat".into(),
                detail: format!("bad stream line {}: {e}", truncate(&text, 120)),
            }));
            return true;
        }
    };
    if let Some(err) = parsed.error {
        out.push_back(Err(GenError::Stream(err)));
        return true;
    }
    let text = parsed.message.map(|m| m.content).unwrap_or_default();
    if !text.is_empty() || parsed.logprobs.as_ref().is_some_and(|l| !l.is_empty()) {
        out.push_back(Ok(Chunk::Delta { text, logprobs: parsed.logprobs }));
    }
    if parsed.done {
        out.push_back(Ok(Chunk::Done(super::GenStats {
            prompt_tokens: parsed.prompt_eval_count,
            generated_tokens: parsed.eval_count,
            prompt_ns: parsed.prompt_eval_duration,
            eval_ns: parsed.eval_duration,
            total_ns: parsed.total_duration,
            done_reason: parsed.done_reason.unwrap_or_else(|| "stop".into()),
        })));
        return true;
    }
    false
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

async fn next_chunk(mut st: StreamState) -> Option<(Result<Chunk, GenError>, StreamState)> {
    loop {
        if let Some(item) = st.pending.pop_front() {
            return Some((item, st));
        }
        if st.finished {
            return None;
        }
        // Complete lines already buffered come first.
        if let Some(pos) = st.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = st.buf.drain(..=pos).collect();
            let line = line.trim_ascii();
            if !line.is_empty() {
                st.finished = parse_line(line, &mut st.pending);
            }
            continue;
        }
        let next = tokio::select! {
            _ = st.cancel.cancelled() => {
                st.finished = true;
                return Some((Err(GenError::Cancelled), st));
            }
            n = tokio::time::timeout(st.stall, st.bytes.next()) => n,
        };
        match next {
            Err(_) => {
                st.finished = true;
                let secs = st.stall.as_secs_f64();
                return Some((Err(GenError::Stalled { secs }), st));
            }
            Ok(Some(Ok(bytes))) => st.buf.extend_from_slice(&bytes),
            Ok(Some(Err(e))) => {
                st.finished = true;
                return Some((Err(GenError::Dropped(error_chain(&e))), st));
            }
            Ok(None) => {
                st.finished = true;
                // A last line without a trailing newline still counts.
                let rest = std::mem::take(&mut st.buf);
                let rest = rest.trim_ascii();
                if !rest.is_empty() && parse_line(rest, &mut st.pending) {
                    continue;
                }
                st.pending.push_back(Err(GenError::Dropped(
                    "the server closed the stream before it was done".into(),
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_normalised() {
        assert_eq!(normalize_host("localhost").unwrap(), "http://localhost:11434");
        assert_eq!(normalize_host("0.0.0.0:11434").unwrap(), "http://127.0.0.1:11434");
        assert_eq!(normalize_host("http://10.0.0.2:8080/").unwrap(), "http://10.0.0.2:8080");
        assert_eq!(normalize_host("https://ollama.example.com").unwrap(), "https://ollama.example.com");
        assert!(normalize_host("").is_err());
        assert!(normalize_host("ftp://x").is_err());
    }

    #[test]
    fn versions_decide_logprobs() {
        assert!(!version_has_logprobs("0.12.10"));
        assert!(version_has_logprobs("0.12.11"));
        assert!(version_has_logprobs("0.13.0-rc1"));
        assert!(version_has_logprobs("1.0"));
        assert!(version_has_logprobs("0.0.0"));
        assert!(!version_has_logprobs("0.5.7"));
        assert!(!version_has_logprobs("garbage"));
    }

    #[test]
    fn a_stream_line_with_error_fails_the_candidate() {
        let mut out = VecDeque::new();
        assert!(parse_line(br#"{"error":"boom"}"#, &mut out));
        assert_eq!(out.pop_front(), Some(Err(GenError::Stream("boom".into()))));
    }
}

//! The Ollama backend.
//!
//! Every endpoint is spoken directly over one `reqwest` client (with `ollama-rs`'s response
//! types where they fit) because `ollama-rs` 0.3 drops what ttc needs: chat chunks lose
//! `logprobs`, mid-stream `{"error"}` lines are swallowed, HTTP status codes are folded into a
//! string, a UTF-8 character split across two network reads is lost, and no request has a
//! timeout.
//!
//! A silent server never hangs ttc: connecting is bounded by
//! [`OllamaSettings::connect_timeout`]; waiting for response headers, and each wait for more
//! of a stream, by [`OllamaSettings::stall_timeout`]; the small JSON requests (`/api/version`,
//! `/api/tags`, `/api/show`) as a whole, body included, by the shorter of
//! [`OllamaSettings::request_timeout`] and the stall timeout.
//!
//! Credentials in the host URL (`http://user:pw@host`) are sent as HTTP Basic auth (reqwest
//! moves them out of the URL) and never shown: [`OllamaClient::host`], errors, events and logs
//! carry the redacted URL.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use super::body::{error_chain, read_body, root_cause, BodyRead, ByteStream};
use super::ndjson::LineDecoder;
use crate::safe::{redact, redact_host};
use tokio_util::sync::CancellationToken;

use super::{
    Chunk, ChunkStream, GenError, GenOptions, GenRequest, Generator, GeneratorInfo, Limiter, Load, Message,
    TokenLogprob,
};

/// The host used when none is given.
pub const DEFAULT_HOST: &str = "http://127.0.0.1:11434";

/// How long `--backend auto` waits for `/api/version` before it falls back to the embedded
/// model (the stall timeout, when shorter, wins).
pub const AUTO_PROBE_TIMEOUT: Duration = Duration::from_millis(2500);

/// The largest small-endpoint body (`/api/tags`, `/api/show`, `/api/version`) accepted.
pub const MAX_JSON_BODY: usize = 16 << 20;

/// How much of an error body is read (the rest is not waited for).
const MAX_ERROR_BODY: usize = 64 << 10;

/// The first Ollama release whose responses carry log-probabilities.
pub const LOGPROBS_SINCE: (u64, u64, u64) = (0, 12, 11);

/// Samples of one prompt asked in one request by default (`--n-per-request`).
pub const DEFAULT_N_PER_REQUEST: usize = 8;

/// Connection settings for one Ollama server.
#[derive(Debug, Clone, PartialEq)]
pub struct OllamaSettings {
    /// Requests allowed in flight at once from this client.
    pub concurrency: usize,
    /// A request with no data for this long fails: waiting for response headers, and each
    /// wait for more of a stream.
    pub stall_timeout: Duration,
    /// Time allowed to open the TCP connection.
    pub connect_timeout: Duration,
    /// Time allowed for a whole small JSON request (`/api/version`, `/api/tags`,
    /// `/api/show`), body included; the stall timeout caps it too.
    pub request_timeout: Duration,
    /// How many times an HTTP 503 (server queue full) is retried.
    pub busy_retries: u32,
    /// First back-off after a 503; doubles on each retry.
    pub busy_backoff: Duration,
    /// OpenAI-compatible servers: at most this many samples of one prompt asked in one
    /// request (`n`); 1 = one request per sample. Ollama has no `n` and ignores it.
    pub n_per_request: usize,
}

impl Default for OllamaSettings {
    fn default() -> Self {
        Self {
            concurrency: 4,
            stall_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            busy_retries: 4,
            busy_backoff: Duration::from_millis(250),
            n_per_request: DEFAULT_N_PER_REQUEST,
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
    /// The base URL with its credentials: for requests only, never shown.
    base_url: String,
    /// The base URL with credentials hidden: for everything a person or a log can see.
    shown_host: String,
    http: reqwest::Client,
    limiter: Limiter,
    settings: OllamaSettings,
    version: OnceCell<String>,
}

/// Turn what a user typed (`localhost`, `0.0.0.0:11434`, `http://h:1`) into a base URL.
pub fn normalize_host(host: &str) -> Result<String, String> {
    base_url(host, host.trim().trim_end_matches('/'), 11434)
}

/// `trimmed` (what the user typed as `host`, trimmed) as a base URL: `http://` when no scheme
/// is given, `default_port` when neither scheme nor port is, `0.0.0.0` read as loopback.
pub fn base_url(host: &str, trimmed: &str, default_port: u16) -> Result<String, String> {
    if trimmed.is_empty() {
        return Err("the host is empty".into());
    }
    let with_scheme = if trimmed.contains("://") { trimmed.to_string() } else { format!("http://{trimmed}") };
    let shown = redact_host(host);
    let mut url =
        reqwest::Url::parse(&with_scheme).map_err(|e| format!("\"{shown}\" is not a valid host URL: {e}"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("\"{shown}\" must use http:// or https://"));
    }
    // `OLLAMA_HOST=0.0.0.0` is how servers are told to listen everywhere;
    // a client reaches such a server on loopback.
    if url.host_str() == Some("0.0.0.0") {
        let _ = url.set_host(Some("127.0.0.1"));
    }
    if url.port().is_none() && !trimmed.contains("://") {
        let _ = url.set_port(Some(default_port));
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

/// A warning when talking to `url` exposes something on the network: credentials over plain
/// HTTP, or prompts and answers to another machine over plain HTTP. `None` for https and for
/// plain HTTP to this machine without credentials.
pub fn plain_http_warning(url: &str) -> Option<String> {
    let normalized = normalize_host(url).ok()?;
    let parsed = reqwest::Url::parse(&normalized).ok()?;
    if parsed.scheme() != "http" {
        return None;
    }
    let shown = redact(&normalized);
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Some(format!(
            "the credentials for {shown} go over plain HTTP, readable by anyone on the way; use https://"
        ));
    }
    let host = parsed.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
    let loopback = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost"),
    };
    (!loopback).then(|| {
        format!("{shown} is another machine reached over plain HTTP: prompts and answers travel unencrypted")
    })
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

/// The server's `{"error": ...}` text, or the raw body (shown through
/// [`crate::safe::for_display`] by the error that carries it).
fn error_detail(body: &[u8]) -> String {
    serde_json::from_slice::<ErrorBody>(body)
        .map(|b| b.error)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).trim().to_string())
}

/// Reads at most `cap` bytes of a body; true when there was more.
async fn read_capped(resp: reqwest::Response, cap: usize) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    let mut bytes = resp.bytes_stream();
    while let Some(chunk) = bytes.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > cap {
            body.extend_from_slice(&chunk[..cap - body.len()]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

impl OllamaClient {
    /// A client for `host` (normalised with [`normalize_host`]).
    pub fn new(host: &str, settings: OllamaSettings) -> Result<Self, GenError> {
        let host = normalize_host(host)
            .map_err(|detail| GenError::Unreachable { host: redact_host(host).into_owned(), detail })?;
        let shown_host = redact(&host).into_owned();
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| GenError::Unreachable { host: shown_host.clone(), detail: error_chain(&e) })?;
        Ok(Self {
            inner: Arc::new(Inner {
                base_url: host,
                shown_host,
                http,
                limiter: Limiter::new(settings.concurrency),
                settings,
                version: OnceCell::new(),
            }),
        })
    }

    /// The normalised base URL as it may be shown: credentials are replaced by `***`.
    pub fn host(&self) -> &str {
        &self.inner.shown_host
    }

    /// What talking to this server exposes on the network, if anything (see
    /// [`plain_http_warning`]); print it once.
    pub fn transport_warning(&self) -> Option<String> {
        plain_http_warning(&self.inner.base_url)
    }

    /// The client-side concurrency limiter.
    pub fn limiter(&self) -> &Limiter {
        &self.inner.limiter
    }

    /// The URL a request goes to (credentials included; never shown).
    fn url(&self, path: &str) -> String {
        format!("{}/{}", self.inner.base_url, path)
    }

    /// The URL of `path` as it may be shown.
    fn shown_url(&self, path: &str) -> String {
        format!("{}/{}", self.inner.shown_host, path)
    }

    /// How long a small JSON request may take, body included.
    fn small_limit(&self) -> Duration {
        self.inner.settings.request_timeout.min(self.inner.settings.stall_timeout)
    }

    fn no_answer(&self, what: &str, waited: Duration) -> GenError {
        GenError::NoAnswer {
            host: self.inner.shown_host.clone(),
            what: what.into(),
            secs: waited.as_secs_f64(),
        }
    }

    fn map_send_error(&self, e: reqwest::Error, what: &str, waited: Duration) -> GenError {
        if e.is_connect() {
            GenError::Unreachable {
                host: self.inner.shown_host.clone(),
                detail: redact(&root_cause(&e)).into_owned(),
            }
        } else if e.is_timeout() {
            self.no_answer(what, waited)
        } else {
            GenError::Dropped(redact(&error_chain(&e)).into_owned())
        }
    }

    /// Runs one small request to completion within `limit`.
    async fn small<T>(
        &self,
        what: &str,
        limit: Duration,
        request: impl std::future::Future<Output = Result<T, GenError>>,
    ) -> Result<T, GenError> {
        match tokio::time::timeout(limit, request).await {
            Ok(r) => r,
            Err(_) => Err(self.no_answer(what, limit)),
        }
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        limit: Duration,
    ) -> Result<T, GenError> {
        let what = format!("/{path}");
        self.small(&what, limit, async {
            let resp = self
                .inner
                .http
                .get(self.url(path))
                .send()
                .await
                .map_err(|e| self.map_send_error(e, &what, limit))?;
            self.read_json(path, resp, limit).await
        })
        .await
    }

    async fn read_json<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        resp: reqwest::Response,
        limit: Duration,
    ) -> Result<T, GenError> {
        let status = resp.status();
        let url = self.shown_url(path);
        let cap = if status.is_success() { MAX_JSON_BODY } else { MAX_ERROR_BODY };
        let (body, more) =
            read_capped(resp, cap).await.map_err(|e| self.map_send_error(e, &format!("/{path}"), limit))?;
        if !status.is_success() {
            return Err(GenError::Http { status: status.as_u16(), url, detail: error_detail(&body) });
        }
        if more {
            return Err(GenError::Protocol {
                url,
                detail: format!(
                    "the response is larger than {MAX_JSON_BODY} bytes (is this an Ollama server?)"
                ),
            });
        }
        serde_json::from_slice(&body)
            .map_err(|e| GenError::Protocol { url, detail: format!("{e} (is this an Ollama server?)") })
    }

    /// The server's version (`/api/version`), fetched once.
    pub async fn version(&self) -> Result<String, GenError> {
        self.version_within(self.small_limit()).await
    }

    /// The server's version, waiting at most `limit` for it (a short probe for
    /// `--backend auto`); a success is remembered like [`OllamaClient::version`]'s.
    pub async fn version_within(&self, limit: Duration) -> Result<String, GenError> {
        #[derive(Deserialize)]
        struct V {
            version: String,
        }
        let limit = limit.min(self.small_limit());
        self.inner
            .version
            .get_or_try_init(|| async { self.get_json::<V>("api/version", limit).await.map(|v| v.version) })
            .await
            .cloned()
    }

    /// Whether this server returns log-probabilities (by its version).
    pub async fn has_logprobs(&self) -> Result<bool, GenError> {
        Ok(version_has_logprobs(&self.version().await?))
    }

    /// The installed models (`/api/tags`).
    pub async fn list_models(&self) -> Result<Vec<ModelEntry>, GenError> {
        #[derive(Deserialize)]
        struct Tags {
            models: Vec<ollama_rs::models::LocalModel>,
        }
        let tags: Tags = self.get_json("api/tags", self.small_limit()).await?;
        Ok(tags
            .models
            .into_iter()
            .map(|m| ModelEntry { name: m.name, size: m.size, modified_at: m.modified_at })
            .collect())
    }

    async fn installed_names(&self) -> Vec<String> {
        self.list_models().await.map(|ms| ms.into_iter().map(|m| m.name).collect()).unwrap_or_default()
    }

    /// Details of one model (`/api/show`); a 404 becomes [`GenError::ModelNotFound`].
    pub async fn show(&self, model: &str) -> Result<ModelDetails, GenError> {
        let limit = self.small_limit();
        let found: Option<ollama_rs::models::ModelInfo> = self
            .small("/api/show", limit, async {
                let resp = self
                    .inner
                    .http
                    .post(self.url("api/show"))
                    .json(&serde_json::json!({ "model": model }))
                    .send()
                    .await
                    .map_err(|e| self.map_send_error(e, "/api/show", limit))?;
                if resp.status() == reqwest::StatusCode::NOT_FOUND {
                    return Ok(None);
                }
                self.read_json("api/show", resp, limit).await.map(Some)
            })
            .await?;
        let Some(info) = found else {
            return Err(self.not_found(model).await);
        };
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
            host: self.inner.shown_host.clone(),
            installed: self.installed_names().await,
        }
    }

    /// A generator for `model` on this server. Fetches the server version
    /// first, so an unreachable server is reported here, once.
    pub async fn generator(&self, model: &str) -> Result<OllamaGenerator, GenError> {
        let logprobs = self.has_logprobs().await?;
        Ok(OllamaGenerator { client: self.clone(), model: model.to_string(), logprobs })
    }

    /// POST a generation to `path` (`api/chat`, `api/generate`) for `model`, retrying 503
    /// with back-off; returns the streaming response once its headers arrived (within the
    /// stall timeout).
    async fn post_stream(
        &self,
        path: &str,
        model: &str,
        body: &impl Serialize,
        cancel: &CancellationToken,
    ) -> Result<reqwest::Response, GenError> {
        let url = self.url(path);
        let what = format!("/{path}");
        let settings = &self.inner.settings;
        let wait = settings.stall_timeout;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let send = self.inner.http.post(&url).json(body).send();
            let resp = tokio::select! {
                _ = cancel.cancelled() => return Err(GenError::Cancelled),
                r = tokio::time::timeout(wait, send) => r,
            };
            let resp = match resp {
                Err(_) => return Err(self.no_answer(&what, wait)),
                Ok(Err(e)) => return Err(self.map_send_error(e, &what, wait)),
                Ok(Ok(r)) => r,
            };
            let status = resp.status();
            if status.is_success() {
                return Ok(resp);
            }
            if status == reqwest::StatusCode::NOT_FOUND {
                return Err(self.not_found(model).await);
            }
            // An error body is read only so far and so long: it is for the message.
            let detail = tokio::select! {
                _ = cancel.cancelled() => return Err(GenError::Cancelled),
                r = tokio::time::timeout(wait, read_capped(resp, MAX_ERROR_BODY)) => match r {
                    Ok(Ok((b, _))) => error_detail(&b),
                    _ => "(the error body did not arrive)".to_string(),
                },
            };
            if status == reqwest::StatusCode::SERVICE_UNAVAILABLE {
                if attempt > settings.busy_retries {
                    return Err(GenError::Busy {
                        host: self.inner.shown_host.clone(),
                        attempts: attempt,
                        detail,
                    });
                }
                let backoff = settings.busy_backoff.saturating_mul(1 << (attempt - 1).min(16));
                tracing::warn!(host = %self.inner.shown_host, attempt, ?backoff, "server busy (503), retrying");
                tokio::select! {
                    _ = cancel.cancelled() => return Err(GenError::Cancelled),
                    _ = tokio::time::sleep(backoff) => {}
                }
                continue;
            }
            return Err(GenError::Http { status: status.as_u16(), url: self.shown_url(path), detail });
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

/// One NDJSON line of a streaming `/api/chat` response (or `/api/generate`'s, whose text is
/// `response`).
#[derive(Deserialize, Default)]
#[serde(default)]
struct ChatLine {
    message: Option<ChatLineMessage>,
    response: Option<String>,
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
        if let Some(prompt) = &req.raw {
            return self.generate_raw(prompt, &req, want_logprobs, slot, cancel).await;
        }
        let body = ChatBody {
            model: &self.model,
            messages: &req.messages,
            stream: true,
            options: &req.options,
            logprobs: want_logprobs,
            top_logprobs: want_logprobs.then_some(req.top_logprobs.min(20)),
        };
        self.stream("api/chat", &body, slot, cancel).await
    }

    fn load(&self) -> Option<tokio::sync::watch::Receiver<Load>> {
        Some(self.client.limiter().subscribe())
    }
}

/// Decoding state of one NDJSON response; holds the concurrency slot until dropped.
struct StreamState {
    bytes: ByteStream,
    lines: LineDecoder,
    pending: VecDeque<Result<Chunk, GenError>>,
    finished: bool,
    stall: Duration,
    /// The URL as it may be shown, for messages.
    url: String,
    cancel: CancellationToken,
    _slot: Option<super::limiter::Slot>,
}

impl StreamState {
    fn new(
        bytes: ByteStream,
        stall: Duration,
        url: String,
        cancel: CancellationToken,
        slot: Option<super::limiter::Slot>,
    ) -> Self {
        Self {
            bytes,
            lines: LineDecoder::default(),
            pending: VecDeque::new(),
            finished: false,
            stall,
            url,
            cancel,
            _slot: slot,
        }
    }
}

/// Parse one complete NDJSON line into chunks; true when the response is over.
///
/// Invalid UTF-8 inside a line is replaced by U+FFFD rather than failing the candidate (Ollama
/// itself never sends it; a proxy cutting a character might).
fn parse_line(line: &[u8], url: &str, out: &mut VecDeque<Result<Chunk, GenError>>) -> bool {
    let parsed: Result<ChatLine, _> = match serde_json::from_slice(line) {
        Err(_) if std::str::from_utf8(line).is_err() => serde_json::from_str(&String::from_utf8_lossy(line)),
        r => r,
    };
    let parsed = match parsed {
        Ok(l) => l,
        Err(e) => {
            let text = String::from_utf8_lossy(line);
            out.push_back(Err(GenError::Protocol {
                url: url.to_string(),
                detail: format!("bad stream line {}: {e}", crate::safe::clip(&text, 120)),
            }));
            return true;
        }
    };
    if let Some(err) = parsed.error {
        out.push_back(Err(GenError::Stream(err)));
        return true;
    }
    let text = parsed.message.map(|m| m.content).or(parsed.response).unwrap_or_default();
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

async fn next_chunk(mut st: StreamState) -> Option<(Result<Chunk, GenError>, StreamState)> {
    loop {
        if let Some(item) = st.pending.pop_front() {
            return Some((item, st));
        }
        if st.finished {
            return None;
        }
        // Complete lines already buffered come first.
        match st.lines.next_line() {
            Ok(Some(line)) => {
                let line = line.trim_ascii();
                if !line.is_empty() {
                    st.finished = parse_line(line, &st.url, &mut st.pending);
                }
                continue;
            }
            Ok(None) => {}
            Err(too_long) => {
                st.finished = true;
                let detail = format!("{too_long} (is this an Ollama server?)");
                return Some((Err(GenError::Protocol { url: st.url.clone(), detail }), st));
            }
        }
        match read_body(&mut st.bytes, st.stall, &st.cancel, &st.url).await {
            BodyRead::Failed(e) => {
                st.finished = true;
                return Some((Err(e), st));
            }
            BodyRead::Bytes(bytes) => st.lines.push(&bytes),
            BodyRead::Broken(e) => {
                st.finished = true;
                let detail = format!("reading {}: {}", st.url, redact(&error_chain(&e)));
                return Some((Err(GenError::Dropped(detail)), st));
            }
            BodyRead::End => {
                st.finished = true;
                // A last line without a trailing newline still counts.
                let rest = st.lines.take_rest();
                let rest = rest.trim_ascii();
                if !rest.is_empty() && parse_line(rest, &st.url, &mut st.pending) {
                    continue;
                }
                st.pending.push_back(Err(GenError::Dropped(format!(
                    "{} closed the stream before it was done",
                    st.url
                ))));
            }
        }
    }
}

#[path = "ollama_generate.rs"]
mod generate;

#[cfg(test)]
#[path = "ollama_tests.rs"]
mod tests;

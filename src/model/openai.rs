//! The OpenAI-compatible backend: vLLM, SGLang, llama.cpp's server (`--backend openai`).
//!
//! Chat requests go to `POST /v1/chat/completions`, raw prompts ([`GenRequest::raw`]) to
//! `POST /v1/completions`, both with `stream: true` (server-sent events, decoded by
//! [`super::openai_sse`]) and `stream_options.include_usage` for the token counts; the models
//! come from `GET /v1/models`. Samples of one prompt ([`crate::model::SampleGroup`]) share one
//! request with `n` where the server honours it (see [`group`]); other requests go alone.
//!
//! Timeouts and concurrency follow the Ollama client's ([`OllamaSettings`]): connecting is
//! bounded by the connect timeout, the wait for response headers and each wait for more of a
//! stream by the stall timeout, `/v1/models` as a whole by the request timeout. HTTP 429 and 503
//! are retried after the server's `Retry-After` (or a doubling back-off), a few times.
//!
//! The API key ([`ApiKey`]) is sent as `Authorization: Bearer`; it is never shown: not in
//! [`OpenAiClient::host`], errors (a server echoing it has it replaced by `***`), events or logs.
//!
//! A partial assistant message (the last [`Message`] of a request, for step-wise search) is
//! continued with vLLM's `continue_final_message: true, add_generation_prompt: false`. A server
//! that refuses those fields (HTTP 400 naming them) is remembered, per model, as unable to
//! continue: [`GenError::NoContinuation`] says so at once on later requests. A server that
//! silently ignores them cannot be told apart.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::body::{error_chain, root_cause};
use super::ollama::{plain_http_warning, OllamaSettings};
use super::{ChunkStream, GenError, GenRequest, Generator, GeneratorInfo, Limiter, Load, Role};
use crate::safe::{redact, redact_host};

#[path = "openai_wire.rs"]
mod wire;

#[path = "openai_group.rs"]
mod group;

/// The server used when none is given (vLLM's and SGLang's usual port is 8000, llama.cpp's
/// 8080: pass `--host`).
pub const DEFAULT_HOST: &str = "http://127.0.0.1:8000";

/// The environment variable naming the server (below `--host`).
pub const HOST_ENV: &str = "TTC_OPENAI_HOST";

/// The environment variables holding the API key, in order of precedence.
pub const KEY_ENVS: [&str; 2] = ["TTC_API_KEY", "OPENAI_API_KEY"];

/// The largest `/v1/models` body accepted.
const MAX_JSON_BODY: usize = 16 << 20;
/// How much of an error body is read.
const MAX_ERROR_BODY: usize = 64 << 10;
/// The longest wait a `Retry-After` may ask for before a retry.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Connection settings: the same as for an Ollama server (concurrency, stall, connect and
/// request timeouts, retries of an overloaded server).
pub type ServerSettings = OllamaSettings;

/// An API key: sent with every request, never shown (its `Debug` is `***`).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct ApiKey(String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl ApiKey {
    /// A key; `None` when blank.
    pub fn new(key: impl Into<String>) -> Option<Self> {
        let key = key.into().trim().to_string();
        (!key.is_empty()).then_some(Self(key))
    }

    /// The key from `TTC_API_KEY`, else `OPENAI_API_KEY`.
    pub fn from_env() -> Option<Self> {
        KEY_ENVS.iter().find_map(|v| std::env::var(v).ok().and_then(Self::new))
    }

    /// `text` with every occurrence of the key replaced by `***` (a server may echo it).
    pub fn scrub(&self, text: &str) -> String {
        if self.0.len() < 4 {
            return text.to_string();
        }
        text.replace(&self.0, "***")
    }
}

/// A client for one OpenAI-compatible server, shared by every generator on it.
#[derive(Clone)]
pub struct OpenAiClient {
    inner: Arc<Inner>,
}

struct Inner {
    /// The base URL (no `/v1`) with any credentials: for requests only.
    base_url: String,
    /// The base URL with credentials hidden.
    shown_host: String,
    http: reqwest::Client,
    limiter: Limiter,
    settings: ServerSettings,
    key: Option<ApiKey>,
    /// Per model: whether the server continues a partial assistant message (absent: unknown).
    continues: Mutex<HashMap<String, bool>>,
    /// Per model: whether the server samples `n` answers in one request (absent: unknown).
    samples_n: Mutex<HashMap<String, bool>>,
    /// Samples of one prompt sharing a request ([`group`]).
    groups: group::Groups,
}

/// Turn what a user typed (`localhost:8000`, `http://h:8000/v1/`) into a base URL without
/// `/v1`; with no scheme and no port, port 8000.
pub fn normalize_base(host: &str) -> Result<String, String> {
    let mut trimmed = host.trim().trim_end_matches('/');
    if let Some(t) = trimmed.strip_suffix("/v1") {
        trimmed = t.trim_end_matches('/');
    }
    super::ollama::base_url(host, trimmed, 8000)
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

/// How long `Retry-After` asks to wait (seconds; an HTTP date is not read), capped.
pub fn retry_after(value: Option<&str>) -> Option<Duration> {
    let secs: f64 = value?.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs).min(MAX_RETRY_AFTER))
}

/// Whether a 400 body says the server refused the continuation fields.
fn refuses_continuation(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    ["continue_final_message", "add_generation_prompt", "extra", "unrecognized", "not permitted"]
        .iter()
        .any(|w| d.contains(w))
}

impl OpenAiClient {
    /// A client for `host` (normalised with [`normalize_base`]) sending `key`, if any.
    pub fn new(host: &str, settings: ServerSettings, key: Option<ApiKey>) -> Result<Self, GenError> {
        let base = normalize_base(host)
            .map_err(|detail| GenError::ServerUnreachable { host: redact_host(host).into_owned(), detail })?;
        let shown_host = redact(&base).into_owned();
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| GenError::ServerUnreachable { host: shown_host.clone(), detail: error_chain(&e) })?;
        Ok(Self {
            inner: Arc::new(Inner {
                base_url: base,
                shown_host,
                http,
                limiter: Limiter::new(settings.concurrency),
                settings,
                key,
                continues: Mutex::new(HashMap::new()),
                samples_n: Mutex::new(HashMap::new()),
                groups: group::Groups::default(),
            }),
        })
    }

    /// The normalised base URL as it may be shown (credentials replaced by `***`).
    pub fn host(&self) -> &str {
        &self.inner.shown_host
    }

    /// Whether the client sends an API key.
    pub fn has_key(&self) -> bool {
        self.inner.key.is_some()
    }

    /// What talking to this server exposes on the network, if anything; print it once.
    pub fn transport_warning(&self) -> Option<String> {
        plain_http_warning(&self.inner.base_url)
    }

    /// The client-side concurrency limiter.
    pub fn limiter(&self) -> &Limiter {
        &self.inner.limiter
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}", self.inner.base_url, path)
    }

    fn shown_url(&self, path: &str) -> String {
        format!("{}/{}", self.inner.shown_host, path)
    }

    /// A request with the key, when there is one.
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let b = self.inner.http.request(method, self.url(path));
        match &self.inner.key {
            Some(k) => b.bearer_auth(&k.0),
            None => b,
        }
    }

    /// Server text made free of the key.
    fn scrub(&self, text: &str) -> String {
        let text = redact(text).into_owned();
        match &self.inner.key {
            Some(k) => k.scrub(&text),
            None => text,
        }
    }

    fn map_send_error(&self, e: reqwest::Error, what: &str, waited: Duration) -> GenError {
        if e.is_connect() {
            GenError::ServerUnreachable {
                host: self.inner.shown_host.clone(),
                detail: self.scrub(&root_cause(&e)),
            }
        } else if e.is_timeout() {
            self.no_answer(what, waited)
        } else {
            GenError::Dropped(self.scrub(&error_chain(&e)))
        }
    }

    fn no_answer(&self, what: &str, waited: Duration) -> GenError {
        GenError::ServerNoAnswer {
            host: self.inner.shown_host.clone(),
            what: what.into(),
            secs: waited.as_secs_f64(),
        }
    }

    /// The error of a status that is not a success (the body already read).
    fn status_error(&self, status: u16, path: &str, detail: String) -> GenError {
        match status {
            401 | 403 => GenError::Unauthorized { host: self.inner.shown_host.clone(), status, detail },
            _ => GenError::Http { status, url: self.shown_url(path), detail },
        }
    }

    /// The models the server serves (`GET /v1/models`), in its order.
    pub async fn list_models(&self) -> Result<Vec<String>, GenError> {
        #[derive(Deserialize)]
        struct Entry {
            id: String,
        }
        #[derive(Deserialize)]
        struct Models {
            data: Vec<Entry>,
        }
        let path = "v1/models";
        let what = "/v1/models";
        let limit = self.inner.settings.request_timeout.min(self.inner.settings.stall_timeout);
        let fetch = async {
            let resp = self
                .request(reqwest::Method::GET, path)
                .send()
                .await
                .map_err(|e| self.map_send_error(e, what, limit))?;
            let status = resp.status();
            let cap = if status.is_success() { MAX_JSON_BODY } else { MAX_ERROR_BODY };
            let (body, more) =
                read_capped(resp, cap).await.map_err(|e| self.map_send_error(e, what, limit))?;
            if !status.is_success() {
                return Err(self.status_error(status.as_u16(), path, self.scrub(&wire::error_detail(&body))));
            }
            let url = self.shown_url(path);
            if more {
                return Err(GenError::Protocol {
                    url,
                    detail: format!("the model list is larger than {MAX_JSON_BODY} bytes"),
                });
            }
            serde_json::from_slice::<Models>(&body)
                .map(|m| m.data.into_iter().map(|e| e.id).collect())
                .map_err(|e| GenError::Protocol {
                    url,
                    detail: format!("{e} (is this an OpenAI-compatible server?)"),
                })
        };
        match tokio::time::timeout(limit, fetch).await {
            Ok(r) => r,
            Err(_) => Err(self.no_answer(what, limit)),
        }
    }

    /// A generator for `model` on this server. Lists the models first, so an unreachable
    /// server or a refused key is reported here, once. A model the list lacks is not refused
    /// (llama.cpp's server answers for any name); the server's 404 names it later.
    pub async fn generator(&self, model: &str) -> Result<OpenAiGenerator, GenError> {
        self.list_models().await?;
        Ok(OpenAiGenerator { client: self.clone(), model: model.to_string() })
    }

    /// A generator for `model` without asking the server first.
    pub fn generator_unchecked(&self, model: &str) -> OpenAiGenerator {
        OpenAiGenerator { client: self.clone(), model: model.to_string() }
    }

    /// Whether `model` is known to refuse continuing a partial answer.
    fn refuses_to_continue(&self, model: &str) -> bool {
        self.inner.continues.lock().map(|m| m.get(model) == Some(&false)).unwrap_or(false)
    }

    fn remember_continuation(&self, model: &str, works: bool) {
        if let Ok(mut m) = self.inner.continues.lock() {
            m.insert(model.to_string(), works);
        }
    }

    /// Whether the server samples `n` answers of `model` in one request, when known.
    fn n_support(&self, model: &str) -> Option<bool> {
        self.inner.samples_n.lock().ok().and_then(|m| m.get(model).copied())
    }

    fn remember_n(&self, model: &str, works: bool) {
        if let Ok(mut m) = self.inner.samples_n.lock() {
            m.insert(model.to_string(), works);
        }
    }

    fn no_continuation(&self, model: &str, detail: String) -> GenError {
        GenError::NoContinuation { host: self.inner.shown_host.clone(), model: model.to_string(), detail }
    }

    /// POST a streaming generation, retrying 429 and 503 after `Retry-After`; returns the
    /// response once its headers arrived (within the stall timeout).
    async fn post_stream(
        &self,
        path: &str,
        model: &str,
        body: &impl Serialize,
        continuing: bool,
        cancel: &CancellationToken,
    ) -> Result<reqwest::Response, GenError> {
        let what = format!("/{path}");
        let settings = &self.inner.settings;
        let wait = settings.stall_timeout;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let send = self.request(reqwest::Method::POST, path).json(body).send();
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
                if continuing {
                    self.remember_continuation(model, true);
                }
                return Ok(resp);
            }
            let after =
                retry_after(resp.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()));
            let detail = tokio::select! {
                _ = cancel.cancelled() => return Err(GenError::Cancelled),
                r = tokio::time::timeout(wait, read_capped(resp, MAX_ERROR_BODY)) => match r {
                    Ok(Ok((b, _))) => self.scrub(&wire::error_detail(&b)),
                    _ => "(the error body did not arrive)".to_string(),
                },
            };
            let code = status.as_u16();
            if code == 404 {
                return Err(self.not_found(model, path, detail).await);
            }
            if code == 400 && continuing && refuses_continuation(&detail) {
                self.remember_continuation(model, false);
                return Err(self.no_continuation(model, detail));
            }
            if code == 429 || code == 503 {
                if attempt > settings.busy_retries {
                    return Err(GenError::Overloaded {
                        host: self.inner.shown_host.clone(),
                        status: code,
                        attempts: attempt,
                        detail,
                    });
                }
                let backoff =
                    after.unwrap_or_else(|| settings.busy_backoff.saturating_mul(1 << (attempt - 1).min(16)));
                tracing::warn!(host = %self.inner.shown_host, attempt, status = code, ?backoff, "server overloaded, retrying");
                tokio::select! {
                    _ = cancel.cancelled() => return Err(GenError::Cancelled),
                    _ = tokio::time::sleep(backoff) => {}
                }
                continue;
            }
            return Err(self.status_error(code, path, detail));
        }
    }

    /// `resp` when it is a stream; a success that is one JSON body instead is an error.
    async fn streamed(&self, path: &str, resp: reqwest::Response) -> Result<reqwest::Response, GenError> {
        let json = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.contains("json"));
        if json {
            return Err(self.unstreamed(path, resp).await);
        }
        Ok(resp)
    }

    /// A success that is one JSON body instead of a stream: its error, or a protocol error.
    async fn unstreamed(&self, path: &str, resp: reqwest::Response) -> GenError {
        let wait = self.inner.settings.stall_timeout;
        let body = match tokio::time::timeout(wait, read_capped(resp, MAX_ERROR_BODY)).await {
            Ok(Ok((b, _))) => b,
            _ => Vec::new(),
        };
        match serde_json::from_slice::<serde_json::Value>(&body).ok().as_ref().and_then(wire::error_of) {
            Some(e) => GenError::Stream(self.scrub(&e)),
            None => GenError::Protocol {
                url: self.shown_url(path),
                detail: "the server answered with one JSON body, not a stream of server-sent events (is it OpenAI-compatible?)".into(),
            },
        }
    }

    /// A 404: the model is not served (listing those that are), or the path is wrong.
    async fn not_found(&self, model: &str, path: &str, detail: String) -> GenError {
        match self.list_models().await {
            Ok(served) if !served.iter().any(|m| m == model) => {
                GenError::NotServed { model: model.to_string(), host: self.inner.shown_host.clone(), served }
            }
            _ => GenError::Http {
                status: 404,
                url: self.shown_url(path),
                detail: format!("{detail} (is --host the server's base URL?)"),
            },
        }
    }
}

/// One model on an OpenAI-compatible server.
#[derive(Clone)]
pub struct OpenAiGenerator {
    client: OpenAiClient,
    model: String,
}

impl OpenAiGenerator {
    /// The client this generator uses.
    pub fn client(&self) -> &OpenAiClient {
        &self.client
    }
}

#[async_trait]
impl Generator for OpenAiGenerator {
    /// Log-probabilities are assumed: vLLM, SGLang and llama.cpp's server all return them. A
    /// response without them carries none, and the judge samples instead.
    fn info(&self) -> GeneratorInfo {
        GeneratorInfo {
            backend: "openai".into(),
            model: self.model.clone(),
            location: self.client.host().to_string(),
            logprobs: true,
        }
    }

    /// A member of a [`crate::model::SampleGroup`] shares one request with `n` with the other
    /// members of its chunk (see [`group`]); any other request is sent alone.
    async fn generate(&self, req: GenRequest, cancel: CancellationToken) -> Result<ChunkStream, GenError> {
        let per = self.client.inner.settings.n_per_request;
        match req.group {
            Some(g) if req.raw.is_none() && per > 1 && group::chunk_of(g, per).2 > 1 => {
                if self.client.n_support(&self.model) == Some(false) {
                    return self.generate_one(req, cancel).await;
                }
                group::generate(self, req, g, cancel).await
            }
            _ => self.generate_one(req, cancel).await,
        }
    }

    fn load(&self) -> Option<tokio::sync::watch::Receiver<Load>> {
        Some(self.client.limiter().subscribe())
    }
}

impl OpenAiGenerator {
    /// One request for one sample.
    async fn generate_one(
        &self,
        req: GenRequest,
        cancel: CancellationToken,
    ) -> Result<ChunkStream, GenError> {
        let continuing = req.raw.is_none() && req.messages.last().is_some_and(|m| m.role == Role::Assistant);
        if continuing && self.client.refuses_to_continue(&self.model) {
            return Err(self.client.no_continuation(&self.model, "it refused before".into()));
        }
        let slot = tokio::select! {
            _ = cancel.cancelled() => return Err(GenError::Cancelled),
            s = self.client.limiter().acquire() => s,
        };
        let started = std::time::Instant::now();
        let (path, kind, resp) = match &req.raw {
            Some(prompt) => {
                let body = wire::CompletionBody::new(&self.model, prompt, &req);
                let path = "v1/completions";
                (
                    path,
                    wire::Kind::Completion,
                    self.client.post_stream(path, &self.model, &body, false, &cancel).await?,
                )
            }
            None => {
                let body = wire::ChatBody::new(&self.model, &req, continuing);
                let path = "v1/chat/completions";
                (
                    path,
                    wire::Kind::Chat,
                    self.client.post_stream(path, &self.model, &body, continuing, &cancel).await?,
                )
            }
        };
        let resp = self.client.streamed(path, resp).await?;
        let state = wire::StreamState::new(
            kind,
            resp,
            self.client.inner.settings.stall_timeout,
            self.client.shown_url(path),
            self.client.inner.key.clone(),
            cancel,
            slot,
            started,
        );
        Ok(Box::pin(futures::stream::unfold(state, wire::next_chunk)))
    }
}

#[cfg(test)]
#[path = "openai_tests.rs"]
mod tests;

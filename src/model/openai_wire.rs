//! The OpenAI wire format: request bodies for `/v1/chat/completions` and `/v1/completions`,
//! and the streamed chunks turned into [`Chunk`]s.
//!
//! Chat chunks carry `choices[0].delta.content` and `choices[0].logprobs.content[{token,
//! logprob, top_logprobs:[{token, logprob}]}]`; completion chunks `choices[0].text` and
//! `choices[0].logprobs.{tokens, token_logprobs, top_logprobs:[{token: logprob}]}`. Either
//! may carry `finish_reason` (→ `done_reason`) and, last, `usage` (→ token counts). The
//! stream ends with `data: [DONE]`. An error arrives as an `error` event or as a chunk with
//! `error` (an object with `message`, or a string) or vLLM's `{"object": "error", "message"}`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::ApiKey;
use crate::model::body::{read_body, BodyRead, ByteStream};
use crate::model::limiter::Slot;
use crate::model::openai_sse::{SseDecoder, SseEvent};
use crate::model::{Chunk, GenError, GenRequest, GenStats, Message, TokenLogprob, TopLogprob};

/// The most alternatives asked per token (OpenAI's and vLLM's default limit).
pub const MAX_TOP_LOGPROBS: u8 = 20;

/// A log-probability the server left out (or sent as `-inf`): very unlikely, still finite so
/// that events and traces stay valid JSON.
const FLOOR_LOGPROB: f64 = -9999.0;

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

/// Sampling options shared by both endpoints.
#[derive(Serialize)]
struct Sampling<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop: &'a [String],
}

impl<'a> Sampling<'a> {
    fn of(req: &'a GenRequest) -> Self {
        let o = &req.options;
        Self {
            temperature: o.temperature,
            top_p: o.top_p,
            top_k: o.top_k,
            max_tokens: o.num_predict.filter(|n| *n > 0),
            seed: o.seed,
            stop: &o.stop,
        }
    }
}

/// The body of a `/v1/chat/completions` request.
#[derive(Serialize)]
pub struct ChatBody<'a> {
    model: &'a str,
    messages: &'a [Message],
    stream: bool,
    stream_options: StreamOptions,
    #[serde(flatten)]
    sampling: Sampling<'a>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    logprobs: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_logprobs: Option<u8>,
    /// vLLM's way to continue the last (assistant) message.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    continue_final_message: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    add_generation_prompt: Option<bool>,
    /// Samples asked for in this one request (absent: one).
    #[serde(skip_serializing_if = "Option::is_none")]
    n: Option<usize>,
}

impl<'a> ChatBody<'a> {
    /// The body for `req`; `continuing` asks the server to continue the last message.
    pub fn new(model: &'a str, req: &'a GenRequest, continuing: bool) -> Self {
        let lp = req.top_logprobs > 0;
        Self {
            model,
            messages: &req.messages,
            stream: true,
            stream_options: StreamOptions { include_usage: true },
            sampling: Sampling::of(req),
            logprobs: lp,
            top_logprobs: lp.then_some(req.top_logprobs.min(MAX_TOP_LOGPROBS)),
            continue_final_message: continuing,
            add_generation_prompt: continuing.then_some(false),
            n: None,
        }
    }

    /// The same body asking for `n` samples at once.
    pub fn with_n(self, n: usize) -> Self {
        Self { n: (n > 1).then_some(n), ..self }
    }
}

/// The body of a `/v1/completions` request (a raw prompt, no chat template).
#[derive(Serialize)]
pub struct CompletionBody<'a> {
    model: &'a str,
    prompt: &'a str,
    stream: bool,
    stream_options: StreamOptions,
    #[serde(flatten)]
    sampling: Sampling<'a>,
    /// The completions endpoint's `logprobs` is the number of alternatives.
    #[serde(skip_serializing_if = "Option::is_none")]
    logprobs: Option<u8>,
}

impl<'a> CompletionBody<'a> {
    /// The body for the raw `prompt` of `req`.
    pub fn new(model: &'a str, prompt: &'a str, req: &'a GenRequest) -> Self {
        Self {
            model,
            prompt,
            stream: true,
            stream_options: StreamOptions { include_usage: true },
            sampling: Sampling::of(req),
            logprobs: (req.top_logprobs > 0).then_some(req.top_logprobs.min(MAX_TOP_LOGPROBS)),
        }
    }
}

/// The server's error text from a body: `{"error": {"message"}}`, `{"error": "..."}`,
/// `{"message"}` (vLLM's `"object": "error"`), else the body itself.
pub fn error_detail(body: &[u8]) -> String {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => error_of(&v).unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string()),
        Err(_) => String::from_utf8_lossy(body).trim().to_string(),
    }
}

/// The error a JSON value carries, if it is one.
pub fn error_of(v: &Value) -> Option<String> {
    match v.get("error") {
        Some(Value::String(s)) => return Some(s.clone()),
        Some(e @ Value::Object(_)) => {
            return Some(
                e.get("message").and_then(Value::as_str).map_or_else(|| e.to_string(), str::to_string),
            )
        }
        Some(Value::Null) | None => {}
        Some(other) => return Some(other.to_string()),
    }
    (v.get("object").and_then(Value::as_str) == Some("error"))
        .then(|| v.get("message").and_then(Value::as_str).unwrap_or("error").to_string())
}

/// Which endpoint a stream answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Chat,
    Completion,
}

/// The token counts of a response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

#[derive(Deserialize)]
struct ChatLp {
    #[serde(default)]
    token: String,
    logprob: Option<f64>,
    #[serde(default)]
    top_logprobs: Option<Vec<ChatTop>>,
}

#[derive(Deserialize)]
struct ChatTop {
    #[serde(default)]
    token: String,
    logprob: Option<f64>,
}

fn finite(lp: Option<f64>) -> f64 {
    lp.filter(|l| l.is_finite()).unwrap_or(FLOOR_LOGPROB).max(FLOOR_LOGPROB)
}

/// Chat log-probabilities: `{"content": [{token, logprob, top_logprobs}]}`.
pub fn chat_logprobs(v: &Value) -> Option<Vec<TokenLogprob>> {
    let content = v.get("content")?;
    let entries: Vec<ChatLp> = serde_json::from_value(content.clone()).ok()?;
    Some(
        entries
            .into_iter()
            .map(|e| TokenLogprob {
                token: e.token,
                logprob: finite(e.logprob),
                top_logprobs: e
                    .top_logprobs
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| TopLogprob { token: t.token, logprob: finite(t.logprob) })
                    .collect(),
            })
            .collect(),
    )
}

/// Completion log-probabilities: `{"tokens": [..], "token_logprobs": [..], "top_logprobs":
/// [{token: logprob}, ..]}`; alternatives most likely first.
pub fn completion_logprobs(v: &Value) -> Option<Vec<TokenLogprob>> {
    let tokens = v.get("tokens")?.as_array()?;
    let lps = v.get("token_logprobs").and_then(Value::as_array);
    let tops = v.get("top_logprobs").and_then(Value::as_array);
    Some(
        tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut top: Vec<TopLogprob> = tops
                    .and_then(|t| t.get(i))
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| TopLogprob { token: k.clone(), logprob: finite(v.as_f64()) })
                            .collect()
                    })
                    .unwrap_or_default();
                top.sort_by(|a, b| b.logprob.total_cmp(&a.logprob));
                TokenLogprob {
                    token: t.as_str().unwrap_or_default().to_string(),
                    logprob: finite(lps.and_then(|l| l.get(i)).and_then(Value::as_f64)),
                    top_logprobs: top,
                }
            })
            .collect(),
    )
}

/// Decoding state of one streamed response; holds the concurrency slot until dropped.
pub struct StreamState {
    kind: Kind,
    bytes: ByteStream,
    events: SseDecoder,
    pending: VecDeque<Result<Chunk, GenError>>,
    finished: bool,
    stall: Duration,
    url: String,
    key: Option<ApiKey>,
    cancel: CancellationToken,
    _slot: Slot,
    started: Instant,
    first_text: Option<Instant>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
    deltas: u64,
}

impl StreamState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        kind: Kind,
        resp: reqwest::Response,
        stall: Duration,
        url: String,
        key: Option<ApiKey>,
        cancel: CancellationToken,
        slot: Slot,
        started: Instant,
    ) -> Self {
        Self {
            kind,
            bytes: Box::pin(resp.bytes_stream()),
            events: SseDecoder::default(),
            pending: VecDeque::new(),
            finished: false,
            stall,
            url,
            key,
            cancel,
            _slot: slot,
            started,
            first_text: None,
            finish_reason: None,
            usage: None,
            deltas: 0,
        }
    }

    fn scrub(&self, text: &str) -> String {
        match &self.key {
            Some(k) => k.scrub(text),
            None => text.to_string(),
        }
    }

    /// The final statistics: the server's token counts (else the deltas counted), the time
    /// to the first text and after it as measured here.
    fn stats(&self) -> GenStats {
        let now = Instant::now();
        let first = self.first_text.unwrap_or(now);
        let usage = self.usage.as_ref();
        GenStats {
            prompt_tokens: usage.map_or(0, |u| u.prompt_tokens),
            generated_tokens: usage.map_or(self.deltas, |u| u.completion_tokens),
            prompt_ns: first.duration_since(self.started).as_nanos() as u64,
            eval_ns: now.duration_since(first).as_nanos() as u64,
            total_ns: now.duration_since(self.started).as_nanos() as u64,
            done_reason: self.finish_reason.clone().unwrap_or_else(|| "stop".into()),
        }
    }

    /// Apply one event; true when the response is over.
    fn event(&mut self, ev: SseEvent) -> bool {
        match read_event(self.kind, &ev) {
            Read::Nothing => false,
            // `[DONE]` with no finish reason is a response the server cut short, not a
            // finished one: llama-cpp-python's server ends a running request this way when
            // another arrives (its `interrupt_requests`, on by default).
            Read::Done if self.finish_reason.is_none() => {
                self.pending.push_back(Err(GenError::Dropped(format!(
                    "{} ended the response ([DONE]) with no finish reason after {} pieces of text: \
                     the server cut it short. llama-cpp-python does this when another request \
                     arrives: start it with `--interrupt_requests False`, or use --concurrency 1",
                    crate::safe::redact_host(&self.url),
                    self.deltas
                ))));
                true
            }
            Read::Done => {
                self.pending.push_back(Ok(Chunk::Done(self.stats())));
                true
            }
            Read::Error(detail) => {
                self.pending.push_back(Err(GenError::Stream(self.scrub(&detail))));
                true
            }
            Read::Bad(detail) => {
                let detail = self.scrub(&detail);
                self.pending.push_back(Err(GenError::Protocol { url: self.url.clone(), detail }));
                true
            }
            Read::Piece { text, logprobs, finish, usage } => {
                if let Some(u) = usage {
                    self.usage = Some(u);
                }
                if !text.is_empty() || logprobs.is_some() {
                    self.first_text.get_or_insert_with(Instant::now);
                    self.deltas += 1;
                    self.pending.push_back(Ok(Chunk::Delta { text, logprobs }));
                }
                if let Some(r) = finish {
                    self.finish_reason = Some(r);
                }
                false
            }
        }
    }
}

/// What one event says.
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    /// Nothing to pass on (an empty event, a role-only delta).
    Nothing,
    /// `[DONE]`: the response is over.
    Done,
    /// The server's error (an `error` event, or a chunk carrying one).
    Error(String),
    /// Not a chunk at all (not JSON).
    Bad(String),
    /// Text (perhaps empty), its log-probabilities, a finish reason, token counts.
    Piece { text: String, logprobs: Option<Vec<TokenLogprob>>, finish: Option<String>, usage: Option<Usage> },
}

/// One choice's part of a chunk (`choices[i]`): its `index`, text, log-probabilities and
/// finish reason.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoicePiece {
    /// `index`; 0 when absent, `None` when it is not a non-negative integer.
    pub index: Option<u64>,
    pub text: String,
    pub logprobs: Option<Vec<TokenLogprob>>,
    pub finish: Option<String>,
}

/// What one event says, for every choice it carries (a request with `n` > 1 streams the
/// choices interleaved, each chunk naming its `index`).
#[derive(Debug, Clone, PartialEq)]
pub enum ReadAll {
    Nothing,
    Done,
    Error(String),
    Bad(String),
    /// The choices of one chunk (perhaps none: a chunk with only `usage`).
    Pieces {
        choices: Vec<ChoicePiece>,
        usage: Option<Usage>,
    },
}

/// Read one event of a `kind` stream. Any field may be missing, null or of another type: what
/// cannot be read is left out, never a panic. Only the first choice counts (one sample per
/// request; see [`read_event_all`] for several).
pub fn read_event(kind: Kind, ev: &SseEvent) -> Read {
    match read_event_all(kind, ev) {
        ReadAll::Nothing => Read::Nothing,
        ReadAll::Done => Read::Done,
        ReadAll::Error(e) => Read::Error(e),
        ReadAll::Bad(e) => Read::Bad(e),
        ReadAll::Pieces { choices, usage } => match choices.into_iter().next() {
            Some(c) => Read::Piece { text: c.text, logprobs: c.logprobs, finish: c.finish, usage },
            None if usage.is_some() => {
                Read::Piece { text: String::new(), logprobs: None, finish: None, usage }
            }
            None => Read::Nothing,
        },
    }
}

/// Read one event of a `kind` stream with every choice it carries. A choice without an
/// `index` is choice 0.
pub fn read_event_all(kind: Kind, ev: &SseEvent) -> ReadAll {
    let data = ev.data.trim();
    if ev.is_error() {
        let detail = serde_json::from_str::<Value>(data)
            .ok()
            .and_then(|v| {
                error_of(&v).or_else(|| v.get("message").and_then(Value::as_str).map(str::to_string))
            })
            .unwrap_or_else(|| data.to_string());
        return ReadAll::Error(detail);
    }
    if data == "[DONE]" {
        return ReadAll::Done;
    }
    if data.is_empty() {
        return ReadAll::Nothing;
    }
    let value: Value = match serde_json::from_str(data) {
        Ok(v) => v,
        Err(e) => return ReadAll::Bad(format!("bad stream event {}: {e}", crate::safe::clip(data, 120))),
    };
    if let Some(err) = error_of(&value) {
        return ReadAll::Error(err);
    }
    let usage = value.get("usage").filter(|u| u.is_object()).map(|u| Usage {
        prompt_tokens: u.get("prompt_tokens").and_then(Value::as_u64).unwrap_or(0),
        completion_tokens: u.get("completion_tokens").and_then(Value::as_u64).unwrap_or(0),
    });
    let choices: Vec<ChoicePiece> = value
        .get("choices")
        .and_then(Value::as_array)
        .map(|cs| cs.iter().map(|c| choice_piece(kind, c)).collect())
        .unwrap_or_default();
    if choices.is_empty() && usage.is_none() {
        return ReadAll::Nothing;
    }
    ReadAll::Pieces { choices, usage }
}

fn choice_piece(kind: Kind, choice: &Value) -> ChoicePiece {
    let text = match kind {
        Kind::Chat => choice.get("delta").and_then(|d| d.get("content")),
        Kind::Completion => choice.get("text"),
    }
    .and_then(Value::as_str)
    .unwrap_or_default()
    .to_string();
    let logprobs = choice
        .get("logprobs")
        .and_then(|v| match kind {
            Kind::Chat => chat_logprobs(v),
            Kind::Completion => completion_logprobs(v),
        })
        .filter(|l| !l.is_empty());
    let finish = choice.get("finish_reason").and_then(Value::as_str).map(str::to_string);
    let index = match choice.get("index") {
        None | Some(Value::Null) => Some(0),
        Some(i) => i.as_u64(),
    };
    ChoicePiece { index, text, logprobs, finish }
}

/// The next chunk of a stream (for [`futures::stream::unfold`]).
pub async fn next_chunk(mut st: StreamState) -> Option<(Result<Chunk, GenError>, StreamState)> {
    loop {
        if let Some(item) = st.pending.pop_front() {
            return Some((item, st));
        }
        if st.finished {
            return None;
        }
        match st.events.next_event() {
            Ok(Some(ev)) => {
                st.finished = st.event(ev);
                continue;
            }
            Ok(None) => {}
            Err(too_long) => {
                st.finished = true;
                let detail = format!("{too_long} (is this an OpenAI-compatible server?)");
                return Some((Err(GenError::Protocol { url: st.url.clone(), detail }), st));
            }
        }
        match read_body(&mut st.bytes, st.stall, &st.cancel, &st.url).await {
            BodyRead::Failed(e) => {
                st.finished = true;
                return Some((Err(e), st));
            }
            BodyRead::Bytes(bytes) => st.events.push(&bytes),
            BodyRead::Broken(e) => {
                st.finished = true;
                let detail =
                    format!("reading {}: {}", st.url, st.scrub(&crate::safe::redact(&e.to_string())));
                return Some((Err(GenError::Dropped(detail)), st));
            }
            BodyRead::End => {
                st.finished = true;
                // An event without its blank line still counts.
                if let Ok(Some(ev)) = st.events.finish() {
                    if st.event(ev) {
                        continue;
                    }
                }
                // A server that ends the body after a finish reason, without `[DONE]`, is done.
                if st.finish_reason.is_some() {
                    let stats = st.stats();
                    st.pending.push_back(Ok(Chunk::Done(stats)));
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

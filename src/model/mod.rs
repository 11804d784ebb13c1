//! Generators: the policy (and judge) models that write text.

pub mod body;
pub mod limiter;
pub mod ndjson;
pub mod ollama;
pub mod openai;
pub mod openai_sse;
pub mod pool;

use std::pin::Pin;

use async_trait::async_trait;
use futures::Stream;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

pub use limiter::{Limiter, Load};

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self { role: Role::System, content: content.into() }
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self { role: Role::User, content: content.into() }
    }
    /// An assistant message; as the last message it is a partial answer to continue.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self { role: Role::Assistant, content: content.into() }
    }
}

/// Sampling options, sent as Ollama's `options`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GenOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_predict: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_ctx: Option<u32>,
}

/// One generation request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenRequest {
    pub messages: Vec<Message>,
    pub options: GenOptions,
    /// Ask for this many alternatives per generated token (0 = no logprobs).
    pub top_logprobs: u8,
    /// A prompt sent as written, no chat template applied (`messages` are then ignored):
    /// Ollama's `/api/generate` with `raw: true`. For PRMs that read a format of their own
    /// (step-tag PRMs); a generator that cannot send one refuses the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// This request is one of several samples of the same prompt ([`SampleGroup`]): a
    /// generator that can sample several answers in one request (`n` on OpenAI-compatible
    /// servers) may ask for them together. Others ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<SampleGroup>,
}

/// Samples of one prompt that a generator may ask for in one request.
///
/// Every member's request is the same but for its seed: member `index` has seed `s + index`
/// for one `s` (when seeded; best-of-N's candidate `i` has the run's seed + `i`). A generator that groups them sends one request with the
/// seed of the group's first member and `n` = the members it covers, so a member's text then
/// depends on the group (its size and first seed), not on its own seed alone; the same
/// requests grouped the same way give the same texts on a server that honours seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleGroup {
    /// Names the group; unique within the process ([`SampleGroup::next_id`]).
    pub id: u64,
    /// This member, 0-based.
    pub index: u32,
    /// How many members the group has.
    pub size: u32,
}

impl SampleGroup {
    /// A fresh group id.
    pub fn next_id() -> u64 {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

impl GenRequest {
    /// A request with default options and no logprobs.
    pub fn new(messages: Vec<Message>) -> Self {
        Self { messages, options: GenOptions::default(), top_logprobs: 0, raw: None, group: None }
    }

    /// A request for the raw `prompt`, sent as written (see [`GenRequest::raw`]).
    pub fn raw(prompt: impl Into<String>) -> Self {
        Self { raw: Some(prompt.into()), ..Self::new(Vec::new()) }
    }
}

/// One alternative token and its log-probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopLogprob {
    pub token: String,
    pub logprob: f64,
}

/// Log-probabilities of one generated token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenLogprob {
    pub token: String,
    pub logprob: f64,
    #[serde(default)]
    pub top_logprobs: Vec<TopLogprob>,
}

/// Statistics reported when a generation ends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GenStats {
    pub prompt_tokens: u64,
    pub generated_tokens: u64,
    /// Time spent on the prompt, in nanoseconds, as the server reports it.
    pub prompt_ns: u64,
    /// Time spent generating, in nanoseconds, as the server reports it.
    pub eval_ns: u64,
    pub total_ns: u64,
    /// Why generation stopped: "stop", "length", ...
    pub done_reason: String,
}

/// One piece of a streaming response.
#[derive(Debug, Clone, PartialEq)]
pub enum Chunk {
    /// New text, with per-token log-probabilities when they were asked for and exist.
    Delta { text: String, logprobs: Option<Vec<TokenLogprob>> },
    /// The end of the response.
    Done(GenStats),
}

/// A streaming response.
pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<Chunk, GenError>> + Send>>;

/// What a generator can do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorInfo {
    /// Backend name: "ollama", "pocket", ...
    pub backend: String,
    pub model: String,
    /// Where it runs (a URL for servers).
    pub location: String,
    /// Whether responses can carry per-token log-probabilities.
    pub logprobs: bool,
}

/// Why a generation failed.
///
/// Every text field may come from the server or the user (error bodies, model names, URLs): the
/// `Display` form is always safe to print — credentials hidden, control characters made visible,
/// long bodies cut (see [`crate::safe::for_display`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GenError {
    #[error("cannot reach the Ollama server at {}: {}. Start it with `ollama serve`, or point ttc at another server with --host URL (or OLLAMA_HOST)", shown(.host), body_text(.detail))]
    Unreachable { host: String, detail: String },
    #[error("the Ollama server at {} did not answer {} within {secs:.1} s. Check that it is running and not stuck (restart `ollama serve`), that --host names an Ollama server, or raise --stall-timeout", shown(.host), shown(.what))]
    NoAnswer { host: String, what: String, secs: f64 },
    #[error("model \"{}\" not found on {}{}. Pull it with `ollama pull {}`, or pick another with --model", name(.model), shown(.host), installed_list(.installed), name(.model))]
    ModelNotFound { model: String, host: String, installed: Vec<String> },
    #[error("server {} is busy (HTTP 503) after {attempts} attempts: {}. Lower --concurrency or raise OLLAMA_NUM_PARALLEL / OLLAMA_MAX_QUEUE on the server", shown(.host), body_text(.detail))]
    Busy { host: String, attempts: u32, detail: String },
    #[error("the model reported an error mid-stream: {}", body_text(.0))]
    Stream(String),
    #[error("the stream from {} stalled: no data for {secs:.1} s (raise --stall-timeout if the model is slow)", shown(.url))]
    Stalled { url: String, secs: f64 },
    #[error("the connection dropped before the response ended: {}", body_text(.0))]
    Dropped(String),
    #[error("HTTP {status} from {}: {}", shown(.url), body_text(.detail))]
    Http { status: u16, url: String, detail: String },
    #[error("unexpected response from {}: {}", shown(.url), body_text(.detail))]
    Protocol { url: String, detail: String },
    #[error("cancelled")]
    Cancelled,
    #[error("cannot reach the OpenAI-compatible server at {}: {}. Start it (e.g. `vllm serve MODEL`, `llama-server -m FILE.gguf`), or point ttc at it with --host URL (or TTC_OPENAI_HOST)", shown(.host), body_text(.detail))]
    ServerUnreachable { host: String, detail: String },
    #[error("the server at {} did not answer {} within {secs:.1} s. Check that it is running and not stuck, that --host names an OpenAI-compatible server, or raise --stall-timeout", shown(.host), shown(.what))]
    ServerNoAnswer { host: String, what: String, secs: f64 },
    #[error("the server at {} refused the request (HTTP {status}: {}). Set the API key it expects in TTC_API_KEY (or OPENAI_API_KEY, or api_key in the config file)", shown(.host), body_text(.detail))]
    Unauthorized { host: String, status: u16, detail: String },
    #[error("model \"{}\" is not served by {}{}. Pick one with --model", name(.model), shown(.host), served_list(.served))]
    NotServed { model: String, host: String, served: Vec<String> },
    #[error("server {} is overloaded (HTTP {status}) after {attempts} attempts: {}. Lower --concurrency, or raise the server's limits", shown(.host), body_text(.detail))]
    Overloaded { host: String, status: u16, attempts: u32, detail: String },
    #[error("the server at {} cannot continue a partial answer of model \"{}\" ({}); step-wise search (beam, lookahead, dvts) needs that: use --strategy best-of-n or revise, or a server that accepts `continue_final_message` (vLLM)", shown(.host), name(.model), body_text(.detail))]
    NoContinuation { host: String, model: String, detail: String },
    #[error("host {} failed mid-stream ({}) and the retry on {} diverged from the text already shown after {chars} characters; the candidate fails rather than mix two answers (set a seed, or use servers that reproduce a seeded sample)", shown(.failed), body_text(.cause), shown(.retry))]
    Diverged { failed: String, retry: String, chars: usize, cause: String },
}

/// How many characters of a server's error text an error message shows.
pub const DETAIL_CHARS: usize = 300;
/// How many installed model names a "not found" message lists.
const INSTALLED_SHOWN: usize = 20;

/// A short untrusted string (host, URL, model name) as a person may read it.
fn shown(s: &str) -> String {
    crate::safe::for_display(&crate::safe::redact_host(s), 120)
}

/// A model name (from the user or the server) as a person may read it.
fn name(s: &str) -> String {
    crate::safe::for_display(s, 120)
}

/// An untrusted error body as a person may read it.
fn body_text(s: &str) -> String {
    crate::safe::for_display(s, DETAIL_CHARS)
}

fn installed_list(installed: &[String]) -> String {
    if installed.is_empty() {
        return " (no models are installed)".to_string();
    }
    let mut names: Vec<String> = installed.iter().take(INSTALLED_SHOWN).map(|n| name(n)).collect();
    if installed.len() > INSTALLED_SHOWN {
        names.push(format!("and {} more", installed.len() - INSTALLED_SHOWN));
    }
    format!(" (installed: {})", names.join(", "))
}

fn served_list(served: &[String]) -> String {
    if served.is_empty() {
        return " (it lists no models)".to_string();
    }
    let mut names: Vec<String> = served.iter().take(INSTALLED_SHOWN).map(|n| name(n)).collect();
    if served.len() > INSTALLED_SHOWN {
        names.push(format!("and {} more", served.len() - INSTALLED_SHOWN));
    }
    format!(" (served: {})", names.join(", "))
}

/// A model that writes text: async, streaming, cancellable.
#[async_trait]
pub trait Generator: Send + Sync {
    /// What this generator is.
    fn info(&self) -> GeneratorInfo;

    /// Start a generation. The future resolves once the request is admitted
    /// (past any client-side queue) and the response has started; the stream
    /// then yields text deltas and ends with [`Chunk::Done`]. Cancelling
    /// `cancel`, or dropping the stream, abandons the request.
    async fn generate(&self, req: GenRequest, cancel: CancellationToken) -> Result<ChunkStream, GenError>;

    /// Requests running and queued at this generator's backend, if it tracks them.
    fn load(&self) -> Option<tokio::sync::watch::Receiver<Load>> {
        None
    }

    /// The load and health of each host, when this generator is a pool of several
    /// ([`pool::Pool`]).
    fn hosts(&self) -> Option<tokio::sync::watch::Receiver<Vec<pool::HostLoad>>> {
        None
    }
}

/// A finished generation collected into one value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Collected {
    pub text: String,
    pub logprobs: Vec<TokenLogprob>,
    /// Whether any chunk carried logprobs.
    pub had_logprobs: bool,
    pub stats: GenStats,
}

/// Run a request to completion and collect its text, logprobs and stats.
pub async fn collect(
    gen: &dyn Generator,
    req: GenRequest,
    cancel: CancellationToken,
) -> Result<Collected, GenError> {
    use futures::StreamExt;
    let mut stream = gen.generate(req, cancel.clone()).await?;
    let mut out = Collected::default();
    loop {
        let next = tokio::select! {
            _ = cancel.cancelled() => return Err(GenError::Cancelled),
            next = stream.next() => next,
        };
        match next {
            Some(Ok(Chunk::Delta { text, logprobs })) => {
                out.text.push_str(&text);
                if let Some(lp) = logprobs {
                    out.had_logprobs = true;
                    out.logprobs.extend(lp);
                }
            }
            Some(Ok(Chunk::Done(stats))) => {
                out.stats = stats;
                return Ok(out);
            }
            Some(Err(e)) => return Err(e),
            None => return Err(GenError::Dropped("the stream ended without a final chunk".into())),
        }
    }
}

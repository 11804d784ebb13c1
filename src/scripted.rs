//! Deterministic in-process generator and verifier, driven by closures: the
//! test doubles for strategy tests and overhead benchmarks. They speak the same
//! traits as real backends, so strategies cannot tell the difference.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::model::{
    Chunk, ChunkStream, GenError, GenRequest, GenStats, Generator, GeneratorInfo, Role, TokenLogprob,
    TopLogprob,
};
use crate::steps::split_steps;
use crate::verify::{ScoreRequest, StepDetail, StepScore, Usage, Verifier, VerifyError};

/// What a script sees of a request.
#[derive(Debug, Clone)]
pub struct ScriptInput {
    /// The last user message.
    pub user: String,
    /// Steps of the partial assistant message being continued (empty for a fresh answer).
    pub prefix: Vec<String>,
    pub seed: i64,
    pub temperature: f32,
}

type Script = dyn Fn(&ScriptInput) -> String + Send + Sync;
type Logprobs = dyn Fn(&ScriptInput, &str) -> Vec<f64> + Send + Sync;

/// A generator whose text comes from a closure; stop strings and token limits apply as on a server.
pub struct ScriptedGenerator {
    script: Arc<Script>,
    requests: AtomicU64,
    /// The top alternatives' log-probabilities of each token (a piece of up to 4 characters).
    logprobs: Option<Arc<Logprobs>>,
    /// The `top_logprobs` of the requests served so far (the largest asked).
    top_asked: AtomicU64,
}

impl ScriptedGenerator {
    /// A generator writing `script(input)` for each request.
    pub fn new(script: impl Fn(&ScriptInput) -> String + Send + Sync + 'static) -> Self {
        Self {
            script: Arc::new(script),
            requests: AtomicU64::new(0),
            logprobs: None,
            top_asked: AtomicU64::new(0),
        }
    }

    /// Send log-probabilities with each token when a request asks for them: `alternatives(input,
    /// token)` gives the top alternatives' log-probabilities (the first is the token's own),
    /// cut to the number asked.
    pub fn with_logprobs(
        mut self,
        alternatives: impl Fn(&ScriptInput, &str) -> Vec<f64> + Send + Sync + 'static,
    ) -> Self {
        self.logprobs = Some(Arc::new(alternatives));
        self
    }

    /// The most alternatives per token any request asked for.
    pub fn top_logprobs_asked(&self) -> u64 {
        self.top_asked.load(Ordering::Relaxed)
    }

    /// Requests served so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl Generator for ScriptedGenerator {
    fn info(&self) -> GeneratorInfo {
        GeneratorInfo {
            backend: "scripted".into(),
            model: "script".into(),
            location: "in-process".into(),
            logprobs: self.logprobs.is_some(),
        }
    }

    async fn generate(&self, req: GenRequest, _cancel: CancellationToken) -> Result<ChunkStream, GenError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.top_asked.fetch_max(req.top_logprobs as u64, Ordering::Relaxed);
        let user = req
            .messages
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map(|m| m.content.clone())
            .unwrap_or_default();
        let prefix = match req.messages.last() {
            Some(m) if m.role == Role::Assistant => split_steps(&m.content),
            _ => Vec::new(),
        };
        let input = ScriptInput {
            user,
            prefix,
            seed: req.options.seed.unwrap_or(0),
            temperature: req.options.temperature.unwrap_or(0.8),
        };
        let mut text = (self.script)(&input);
        let mut reason = "stop";
        if let Some(cut) = req.options.stop.iter().filter_map(|s| text.find(s.as_str())).min() {
            text.truncate(cut);
        }
        let pieces: Vec<String> =
            text.chars().collect::<Vec<_>>().chunks(4).map(|c| c.iter().collect()).collect();
        let limit = req.options.num_predict.filter(|n| *n > 0).map(|n| n as usize).unwrap_or(usize::MAX);
        let mut pieces = pieces;
        if pieces.len() > limit {
            pieces.truncate(limit);
            reason = "length";
        }
        let stats = GenStats {
            prompt_tokens: req.messages.iter().map(|m| m.content.len() as u64 / 4 + 1).sum(),
            generated_tokens: pieces.len() as u64,
            done_reason: reason.into(),
            ..GenStats::default()
        };
        let lp = |t: &str| -> Option<Vec<TokenLogprob>> {
            let f = self.logprobs.as_ref().filter(|_| req.top_logprobs > 0)?;
            let alts: Vec<f64> = f(&input, t).into_iter().take(req.top_logprobs as usize).collect();
            Some(vec![TokenLogprob {
                token: t.to_string(),
                logprob: alts.first().copied().unwrap_or(0.0),
                top_logprobs: alts.iter().map(|&l| TopLogprob { token: t.to_string(), logprob: l }).collect(),
            }])
        };
        let mut items: Vec<Result<Chunk, GenError>> =
            pieces.into_iter().map(|t| Ok(Chunk::Delta { logprobs: lp(&t), text: t })).collect();
        items.push(Ok(Chunk::Done(stats)));
        Ok(Box::pin(futures::stream::iter(items)))
    }
}

type Scorer = dyn Fn(&[String]) -> Option<f64> + Send + Sync;

/// A verifier whose score for a step comes from a closure over the path up to it.
pub struct ScriptedVerifier {
    scorer: Arc<Scorer>,
    calls: AtomicU64,
}

impl ScriptedVerifier {
    /// A verifier scoring the last step of each prefix with `scorer(prefix)`.
    pub fn new(scorer: impl Fn(&[String]) -> Option<f64> + Send + Sync + 'static) -> Self {
        Self { scorer: Arc::new(scorer), calls: AtomicU64::new(0) }
    }

    /// Steps scored so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl Verifier for ScriptedVerifier {
    fn name(&self) -> String {
        "scripted".into()
    }

    async fn score(
        &self,
        req: ScoreRequest<'_>,
        _cancel: CancellationToken,
    ) -> Result<Vec<StepScore>, VerifyError> {
        Ok((req.start.min(req.steps.len())..req.steps.len())
            .map(|k| {
                self.calls.fetch_add(1, Ordering::Relaxed);
                match (self.scorer)(&req.steps[..=k]) {
                    Some(s) => StepScore::scored(s, StepDetail::None, Usage::default()),
                    None => {
                        StepScore::unscored("the script gave no score", StepDetail::None, Usage::default())
                    }
                }
            })
            .collect())
    }
}

//! Pieces every strategy shares: budget reporting, pausing, and generating or
//! scoring one step of a path.

use std::sync::{Arc, Mutex};

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::context::RunContext;
use crate::budget::BudgetTracker;
use crate::event::Event;
use crate::grade::{answers_equal, extract_answer};
use crate::model::{Chunk, GenError, GenOptions, GenRequest, Message, SampleGroup, TokenLogprob};
use crate::spec::{NodeId, Selection};
use crate::steps::STEP_DELIMITER;
use crate::verify::confidence::compact;
use crate::verify::{ScoreRequest, StepLogprobs, StepScore, VerifyError};

use super::token_steps::TokenSteps;

/// State shared by the tasks of one run.
pub struct Shared {
    pub ctx: RunContext,
    pub budget: Mutex<BudgetTracker>,
    pub paused: tokio::sync::watch::Receiver<bool>,
}

impl Shared {
    /// Shared state and the switch that pauses it.
    pub fn new(ctx: RunContext) -> (Arc<Self>, tokio::sync::watch::Sender<bool>) {
        let (tx, paused) = tokio::sync::watch::channel(false);
        let budget = Mutex::new(ctx.initial_budget.clone());
        (Arc::new(Self { ctx, budget, paused }), tx)
    }

    /// Update the budget and report it.
    pub fn budget(&self, f: impl FnOnce(&mut BudgetTracker)) {
        let mut b = self.budget.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut b);
        // Emitting under the lock keeps budget events in order.
        self.ctx.sink.emit(Event::Budget(b.snapshot(self.ctx.sink.elapsed_ms())));
    }

    /// Update the budget without reporting it (step-wise strategies report once per round).
    pub fn account(&self, f: impl FnOnce(&mut BudgetTracker)) {
        f(&mut self.budget.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// The budget now.
    pub fn budget_now(&self) -> crate::budget::Budget {
        self.budget.lock().unwrap_or_else(|p| p.into_inner()).snapshot(self.ctx.sink.elapsed_ms())
    }

    /// Wait while paused; false if cancelled meanwhile.
    pub async fn wait_unpaused(&self, cancel: &CancellationToken) -> bool {
        let mut p = self.paused.clone();
        if !*p.borrow() {
            return true;
        }
        tokio::select! {
            _ = cancel.cancelled() => false,
            r = p.wait_for(|p| !*p) => r.is_ok(),
        }
    }

    /// Whether an answer is right, when the gold answer is known.
    pub fn grade(&self, answer: &Option<String>) -> Option<bool> {
        match (answer, &self.ctx.problem.gold) {
            (Some(a), Some(g)) => Some(answers_equal(a, g)),
            (None, Some(_)) => Some(false),
            _ => None,
        }
    }

    /// Emit the end of a run: selection, final budget, `RunFinished`.
    pub fn finish(&self, selection: Selection, produced: usize, errors: &[String]) {
        let ctx = &self.ctx;
        let (selected, correct) = (selection.selected.clone(), selection.correct);
        ctx.sink.emit(Event::Selection(selection));
        let budget = self.budget_now();
        ctx.sink.emit(Event::Budget(budget.clone()));
        let error = if ctx.cancel.is_cancelled() && produced == 0 {
            Some("the run was cancelled".to_string())
        } else if produced == 0 && !errors.is_empty() {
            Some(format!("all {} candidates failed; the first error: {}", errors.len(), errors[0]))
        } else if selected.is_none() {
            Some("no candidate wrote an answer that could be extracted".to_string())
        } else {
            None
        };
        ctx.sink.emit(Event::RunFinished { selected, correct, budget, error });
    }
}

/// Whether a step states the final answer, so that the path ends with it.
///
/// A `\boxed{…}` ends the path. So does a closing statement "(the / final) answer is X" on the
/// step's last line, when X looks like an answer (a number, math, or a lettered choice) and
/// nothing follows it. A step that merely mentions "answer is" ("we check whether the answer is
/// reasonable", "the answer is not 7 because …", "the answer is $x$ where …") does not end it:
/// the model writes another step, and the path still ends when the model stops.
pub fn is_final_step(step: &str) -> bool {
    if step.contains("\\boxed") {
        return true;
    }
    let Some(line) = step.trim_end().lines().last() else {
        return false;
    };
    // Indices below come from `lower` and only slice `lower`.
    let lower = line.to_lowercase();
    let Some(at) = lower.rfind("answer is") else {
        return false;
    };
    let before = lower[..at].trim_end();
    let hedged = ["whether", "if ", "check", "verify", "suppose", "assume", "not sure", "what", "why", "how"];
    if hedged.iter().any(|h| before.contains(h)) {
        return false;
    }
    let after = lower[at + "answer is".len()..].trim().trim_start_matches(':').trim();
    // Minerva's closing formula: "The final answer is $5$. I hope it is correct."
    let after = after.strip_suffix("i hope it is correct.").unwrap_or(after).trim_end();
    let value = after.trim_end_matches(['.', '!', ' ']);
    if value.is_empty() || value.chars().count() > 80 || value.contains('?') {
        return false;
    }
    // Nothing may follow the value: no second sentence, no "because …", no "where …".
    if value.contains(". ") {
        return false;
    }
    let words =
        ["not ", "because", "since", "so ", "then", "where", "which", "when", "unclear", "unknown", "wrong"];
    if words.iter().any(|w| value.contains(w)) {
        return false;
    }
    let looks_math = value.chars().any(|c| c.is_ascii_digit() || matches!(c, '$' | '\\' | '=' | '/'));
    let choice = {
        let v = value.trim_matches(|c: char| matches!(c, '(' | ')' | '*'));
        v.chars().count() == 1 && v.chars().all(|c| c.is_ascii_alphabetic())
    };
    looks_math || choice
}

/// The messages that continue `path` by one step.
pub fn continue_messages(ctx: &RunContext, path: &[String]) -> Vec<Message> {
    let mut m = ctx.prompt.messages(&ctx.problem);
    if !path.is_empty() {
        // Ending with the delimiter makes the model start a fresh step.
        m.push(Message::assistant(format!("{}{STEP_DELIMITER}", path.join(STEP_DELIMITER))));
    }
    m
}

/// One generated step.
pub struct StepText {
    pub text: String,
    pub prompt_tokens: u64,
    pub tokens: u64,
    /// The model ended the solution (final answer, end of text or token limit).
    pub finished: bool,
    /// The step's tokens with their log-probabilities, when the verifier reads them
    /// ([`wanted_logprobs`]); empty otherwise. The step's own request stops at the step's end,
    /// so every token it returned belongs to it.
    pub logprobs: StepLogprobs,
}

/// Alternatives per token the run's verifier reads from the policy's generation (0: none).
pub fn wanted_logprobs(shared: &Shared) -> u8 {
    shared.ctx.verifier.top_logprobs()
}

/// Generate the next step after `path`, streaming deltas as `node`'s when given; `group`
/// names the siblings drawn with it (see [`GenRequest::group`]).
pub async fn next_step(
    shared: &Shared,
    node: Option<NodeId>,
    path: &[String],
    seed: i64,
    temperature: f32,
    group: Option<SampleGroup>,
    cancel: &CancellationToken,
) -> Result<StepText, GenError> {
    let g = generate(shared, node, path, (seed, group), temperature, false, cancel).await?;
    let step = g.text.trim().to_string();
    let finished = step.is_empty() || g.done_reason == "length" || is_final_step(&step);
    let logprobs = g.logprobs.into();
    Ok(StepText { text: step, prompt_tokens: g.prompt_tokens, tokens: g.tokens, finished, logprobs })
}

/// The rest of a solution, generated to its end in one request.
pub struct Completion {
    /// The new steps (possibly none: the model ended at once).
    pub steps: Vec<String>,
    pub tokens: u64,
    pub done_reason: String,
    /// Each new step's tokens (aligned with `steps`; empty unless the verifier reads them).
    pub logprobs: Vec<StepLogprobs>,
}

/// Generate everything after `path` to the end of the solution (no stop at the step's end, the
/// run's full token limit), as search-and-learn does for beams still open at the last iteration.
pub async fn complete_path(
    shared: &Shared,
    node: NodeId,
    path: &[String],
    seed: i64,
    temperature: f32,
    group: Option<SampleGroup>,
    cancel: &CancellationToken,
) -> Result<Completion, GenError> {
    let g = generate(shared, Some(node), path, (seed, group), temperature, true, cancel).await?;
    let (steps, logprobs) = g.steps.into_iter().unzip();
    Ok(Completion { steps, tokens: g.tokens, done_reason: g.done_reason, logprobs })
}

struct Generated {
    text: String,
    prompt_tokens: u64,
    tokens: u64,
    done_reason: String,
    /// One step's request: its tokens (compacted), when the verifier reads them.
    logprobs: Vec<TokenLogprob>,
    /// A request to the end: the steps of the text, each with its tokens.
    steps: Vec<(String, StepLogprobs)>,
}

/// One request continuing `path`: one step, or (`to_end`) the whole rest of the solution.
async fn generate(
    shared: &Shared,
    node: Option<NodeId>,
    path: &[String],
    (seed, group): (i64, Option<SampleGroup>),
    temperature: f32,
    to_end: bool,
    cancel: &CancellationToken,
) -> Result<Generated, GenError> {
    let ctx = &shared.ctx;
    let mut req = GenRequest::new(continue_messages(ctx, path));
    req.group = group;
    // One step: the step's own temperature, a shorter limit, and a stop at the step's end.
    let (num_predict, stop) = if to_end {
        (ctx.config.max_tokens as i32, Vec::new())
    } else {
        (ctx.config.max_tokens.min(1024) as i32, vec![STEP_DELIMITER.to_string()])
    };
    req.options = GenOptions {
        temperature: Some(temperature),
        num_predict: Some(num_predict),
        stop,
        ..ctx.config.gen_options(seed)
    };
    let top = wanted_logprobs(shared);
    req.top_logprobs = top;
    let mut split = TokenSteps::new(top > 0, None);
    let mut logprobs: Vec<TokenLogprob> = Vec::new();
    let mut steps: Vec<(String, StepLogprobs)> = Vec::new();
    let mut stream = ctx.generator.generate(req, cancel.clone()).await?;
    if let Some(node) = node {
        ctx.sink.emit(Event::NodeStreaming { node });
    }
    let mut text = String::new();
    let mut chunks = 0u64;
    loop {
        let next = tokio::select! {
            _ = cancel.cancelled() => return Err(GenError::Cancelled),
            n = stream.next() => n,
        };
        match next {
            Some(Ok(Chunk::Delta { text: d, logprobs: lp })) => {
                if to_end {
                    steps.extend(split.feed(&d, lp).steps);
                } else if top > 0 {
                    logprobs.extend(lp.unwrap_or_default().into_iter().map(compact));
                }
                if d.is_empty() {
                    continue;
                }
                chunks += 1;
                text.push_str(&d);
                if let Some(node) = node {
                    ctx.sink.emit(Event::TextDelta { node, text: d });
                }
            }
            Some(Ok(Chunk::Done(stats))) => {
                let tokens = if stats.generated_tokens > 0 { stats.generated_tokens } else { chunks };
                shared.account(|b| b.policy(stats.prompt_tokens, tokens));
                steps.extend(split.finish());
                return Ok(Generated {
                    text,
                    prompt_tokens: stats.prompt_tokens,
                    tokens,
                    done_reason: stats.done_reason,
                    logprobs,
                    steps,
                });
            }
            Some(Err(e)) => {
                shared.account(|b| b.policy(0, chunks));
                return Err(e);
            }
            None => return Err(GenError::Dropped("the stream ended without a final chunk".into())),
        }
    }
}

/// Score the steps `path[start..]`, one verdict each, in order.
pub async fn score_from(
    shared: &Shared,
    path: &[String],
    start: usize,
    finished: bool,
    cancel: &CancellationToken,
) -> Result<Vec<StepScore>, VerifyError> {
    score_from_with(shared, path, None, start, finished, cancel).await
}

/// [`score_from`], handing the verifier each step's tokens (`logprobs`, aligned with `path`).
pub async fn score_from_with(
    shared: &Shared,
    path: &[String],
    logprobs: Option<&[StepLogprobs]>,
    start: usize,
    finished: bool,
    cancel: &CancellationToken,
) -> Result<Vec<StepScore>, VerifyError> {
    let ctx = &shared.ctx;
    let req = ScoreRequest { problem: &ctx.problem, steps: path, start, finished, logprobs };
    let out = ctx.verifier.score(req, cancel.clone()).await?;
    if ctx.verifier.counts_calls() {
        for s in &out {
            shared.account(|b| b.verifier(s.usage));
        }
    }
    Ok(out)
}

/// Score the last step of `path`.
pub async fn score_last(
    shared: &Shared,
    path: &[String],
    finished: bool,
    cancel: &CancellationToken,
) -> Result<StepScore, VerifyError> {
    score_last_with(shared, path, None, finished, cancel).await
}

/// [`score_last`], handing the verifier each step's tokens (`logprobs`, aligned with `path`).
pub async fn score_last_with(
    shared: &Shared,
    path: &[String],
    logprobs: Option<&[StepLogprobs]>,
    finished: bool,
    cancel: &CancellationToken,
) -> Result<StepScore, VerifyError> {
    let ctx = &shared.ctx;
    let k = path.len().saturating_sub(1);
    let req = ScoreRequest { problem: &ctx.problem, steps: path, start: k, finished, logprobs };
    let mut out = ctx.verifier.score(req, cancel.clone()).await?;
    let s = out.pop().ok_or_else(|| VerifyError::Setup("the verifier returned no score".into()))?;
    if ctx.verifier.counts_calls() {
        shared.account(|b| b.verifier(s.usage));
    }
    Ok(s)
}

/// The answer of a finished path.
pub fn path_answer(path: &[String]) -> Option<String> {
    extract_answer(&path.join(STEP_DELIMITER))
}

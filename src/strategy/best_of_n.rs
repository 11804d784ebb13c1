//! Best-of-N: N independent samples, each with its own seed, scored step by step.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::context::RunContext;
use super::engine::Shared;
use super::guard::guarded;
use super::select::select_seeded;
use crate::event::Event;
use crate::grade::{answers_equal, extract_answer};
use crate::model::{Chunk, GenError, GenRequest, Message, SampleGroup};
use crate::spec::{Candidate, Command, NodeId};
use crate::steps::STEP_DELIMITER;
use crate::verify::{ScoreRequest, StepLogprobs, VerifyError};

use super::token_steps::TokenSteps;

/// How one candidate ended.
pub(super) enum Outcome {
    /// The candidate and its full text.
    Finished(Candidate, String),
    Failed(String),
    Cancelled,
}

/// What one sample is asked to do.
pub(super) struct Sample {
    pub messages: Vec<Message>,
    pub seed: i64,
    pub chain: Option<u32>,
    pub revision: Option<u32>,
    /// The samples drawn together with this one ([`super::group`]); `None` alone.
    pub group: Option<SampleGroup>,
}

impl Sample {
    /// Everything of the request this sample makes but its seed: its messages, whether the
    /// fork's prefix is added, and whether the online cut-off watches it (see [`sample`]).
    fn request_key(&self) -> (&[Message], bool, bool) {
        (&self.messages, self.revision.unwrap_or(0) == 0, self.chain.is_none())
    }
}

/// Name the groups among samples drawn together, in node order: neighbours whose requests
/// are alike and whose seeds go up by one ([`super::group::groups`]).
pub(super) fn group_samples(specs: &mut [Sample]) {
    let members: Vec<_> = specs.iter().map(|s| (s.seed, s.request_key())).collect();
    let groups = super::group::groups(&members);
    for (spec, group) in specs.iter_mut().zip(groups) {
        spec.group = group;
    }
}

/// Run best-of-N to completion, following live commands.
pub async fn run(ctx: RunContext, commands: mpsc::UnboundedReceiver<Command>) {
    run_with(ctx, commands, Vec::new()).await
}

/// Best-of-N that starts from candidates already finished (the adaptive strategy's probes):
/// `ctx.config.n` more samples, numbered on from `ctx.first_node`, and the selection is over
/// `prior` and the new ones together, so the result is the run with N = both counts.
pub(super) async fn run_with(
    ctx: RunContext,
    mut commands: mpsc::UnboundedReceiver<Command>,
    prior: Vec<Candidate>,
) {
    let n = if prior.is_empty() { ctx.config.n.max(1) } else { ctx.config.n };
    let run_cancel = ctx.cancel.clone();
    let first_node = ctx.first_node;
    let (shared, pause_tx) = Shared::new(ctx);
    let mut tasks: JoinSet<(NodeId, Outcome)> = JoinSet::new();
    // Per node: its cancel token, and whether it is still running.
    let mut nodes: Vec<(CancellationToken, bool)> = Vec::new();
    let mut task_nodes = std::collections::HashMap::new();
    let spawn = |tasks: &mut JoinSet<(NodeId, Outcome)>,
                 nodes: &mut Vec<(CancellationToken, bool)>,
                 group: Option<SampleGroup>| {
        let node = first_node + nodes.len() as NodeId;
        let cancel = run_cancel.child_token();
        nodes.push((cancel.clone(), true));
        let shared = shared.clone();
        let handle = tasks.spawn(async move { (node, candidate(shared, node, group, cancel).await) });
        (handle.id(), node)
    };
    // The N candidates of the start are one group (their seeds are consecutive); ones a live
    // change adds later run alone.
    let seed = shared.ctx.config.seed;
    let groups = super::group::by_seed((0..n).map(|i| candidate_seed(seed, first_node + i as NodeId)));
    for group in groups {
        let (id, node) = spawn(&mut tasks, &mut nodes, group);
        task_nodes.insert(id, node);
    }
    let mut finished: Vec<Candidate> = prior;
    let mut errors: Vec<String> = Vec::new();
    let mut commands_open = true;
    loop {
        tokio::select! {
            cmd = commands.recv(), if commands_open => match cmd {
                None => commands_open = false,
                Some(Command::Pause(p)) => {
                    let _ = pause_tx.send(p);
                }
                Some(Command::SetN(want)) => {
                    let want = want.max(1);
                    let live: Vec<usize> = (0..nodes.len()).filter(|&i| nodes[i].1).collect();
                    let have = finished.len() + live.len();
                    if want > have {
                        for _ in have..want {
                            let (id, node) = spawn(&mut tasks, &mut nodes, None);
                            task_nodes.insert(id, node);
                        }
                    } else {
                        // Cancel the newest unfinished candidates; finished work stays.
                        for &i in live.iter().rev().take(have - want) {
                            nodes[i].0.cancel();
                        }
                    }
                }
                // Width, depth, chains and the rest have no meaning here.
                Some(other) => tracing::debug!(?other, "ignored by best-of-n"),
            },
            joined = tasks.join_next_with_id() => {
                let Some(joined) = joined else { break };
                let (node, outcome) = match joined {
                    Ok((_, r)) => r,
                    // Candidates catch their own panics; a task can still be aborted.
                    Err(e) => {
                        let node = task_nodes.get(&e.id()).copied().unwrap_or(0);
                        let msg = "the candidate task was aborted";
                        shared.ctx.sink.emit(Event::NodeFailed { node, error: msg.into() });
                        shared.budget(|b| b.failed());
                        (node, Outcome::Failed(msg.into()))
                    }
                };
                if let Some(slot) = nodes.get_mut((node - first_node) as usize) {
                    slot.1 = false;
                }
                match outcome {
                    Outcome::Finished(c, _) => finished.push(c),
                    Outcome::Failed(e) => errors.push(e),
                    Outcome::Cancelled => {}
                }
            }
        }
    }
    finished.sort_by_key(|c| c.node);
    let cfg = &shared.ctx.config;
    let selection = select_seeded(
        &finished,
        cfg.selection,
        cfg.aggregation,
        shared.ctx.problem.gold.as_deref(),
        cfg.seed,
    );
    shared.finish(selection, finished.len(), &errors);
}

/// The seed of the candidate (or probe, or self-consistency sample) written as `node`.
pub(super) fn candidate_seed(seed: u64, node: NodeId) -> i64 {
    seed as i64 + node as i64
}

/// One best-of-N candidate: the solve prompt with the candidate's own seed.
async fn candidate(
    shared: Arc<Shared>,
    node: NodeId,
    group: Option<SampleGroup>,
    cancel: CancellationToken,
) -> Outcome {
    let spec = Sample {
        messages: shared.ctx.prompt.messages(&shared.ctx.problem),
        seed: candidate_seed(shared.ctx.config.seed, node),
        chain: None,
        revision: None,
        group,
    };
    sample_guarded(shared, node, spec, cancel).await
}

/// What a sample had spent when it stopped, for a sample that panicked.
#[derive(Default)]
pub(super) struct Meter {
    requested: AtomicBool,
    chunks: AtomicU64,
}

/// [`sample`], where a panic fails this candidate alone: it is marked failed with a safe
/// message and its spending is counted; the run goes on.
pub(super) async fn sample_guarded(
    shared: Arc<Shared>,
    node: NodeId,
    spec: Sample,
    cancel: CancellationToken,
) -> Outcome {
    let meter = Arc::new(Meter::default());
    match guarded(sample(shared.clone(), node, spec, cancel, meter.clone())).await {
        Ok(outcome) => outcome,
        Err(msg) => {
            shared.ctx.sink.emit(Event::NodeFailed { node, error: msg.clone() });
            shared.budget(|b| {
                if meter.requested.load(Ordering::Relaxed) {
                    b.policy(0, meter.chunks.load(Ordering::Relaxed));
                }
                b.failed();
            });
            Outcome::Failed(msg)
        }
    }
}

/// Generate, split, score and grade one full solution.
async fn sample(
    shared: Arc<Shared>,
    node: NodeId,
    spec: Sample,
    cancel: CancellationToken,
    meter: Arc<Meter>,
) -> Outcome {
    let ctx = &shared.ctx;
    let cfg = &ctx.config;
    let seed = spec.seed;
    ctx.sink.emit(Event::NodeStarted {
        node,
        parent: None,
        seed: Some(seed),
        depth: 0,
        chain: spec.chain,
        revision: spec.revision,
    });
    // A fork continues a given prefix: the model sees it as its own partial answer.
    let prefix = &cfg.prefix;
    let mut messages = spec.messages;
    if !prefix.is_empty() && spec.revision.unwrap_or(0) == 0 {
        messages.push(Message::assistant(format!("{}{STEP_DELIMITER}", prefix.join(STEP_DELIMITER))));
    }
    let mut req = GenRequest::new(messages);
    req.options = cfg.gen_options(seed);
    req.group = spec.group;
    // The confidence verifier reads the tokens; the online cut-off watches them (best-of-N
    // samples only: a revision chain or a probe of another strategy is not cut).
    let online = cfg.confidence_cutoff.filter(|_| spec.chain.is_none()).map(|x| {
        crate::verify::confidence::OnlineCutoff::new(
            cfg.confidence_window as usize,
            crate::verify::confidence::TOP_K as usize,
            x,
        )
    });
    let keep = ctx.verifier.top_logprobs() > 0;
    req.top_logprobs =
        ctx.verifier.top_logprobs().max(if online.is_some() { crate::verify::confidence::TOP_K } else { 0 });

    // `Err(message)`: a failure that is not the model's (the verifier's), said as it is.
    // `spent`: the prompt and generated tokens of the request, as far as they are known.
    let fail = |e: Result<GenError, String>, spent: (u64, u64)| {
        let (prompt, tokens) = spent;
        // Accounted here: a panic after this point must not count the request again.
        meter.requested.store(false, Ordering::Relaxed);
        if e == Ok(GenError::Cancelled) || cancel.is_cancelled() {
            ctx.sink.emit(Event::NodeCancelled { node });
            shared.budget(|b| {
                if tokens > 0 {
                    b.policy(prompt, tokens);
                }
                b.cancelled();
            });
            Outcome::Cancelled
        } else {
            let msg = match e {
                Ok(g) => g.to_string(),
                Err(m) => m,
            };
            ctx.sink.emit(Event::NodeFailed { node, error: msg.clone() });
            shared.budget(|b| {
                b.policy(prompt, tokens);
                b.failed();
            });
            Outcome::Failed(msg)
        }
    };

    // Set before asking: a generator that panics while taking the request still spent one.
    meter.requested.store(true, Ordering::Relaxed);
    let mut stream = match ctx.generator.generate(req, cancel.clone()).await {
        Ok(s) => s,
        Err(e) => return fail(Ok(e), (0, 0)),
    };
    ctx.sink.emit(Event::NodeStreaming { node });

    let (score_tx, score_rx) = mpsc::unbounded_channel();
    let scorer = tokio::spawn(guarded(scorer(shared.clone(), node, score_rx, cancel.clone())));
    // Abort the scorer on every early return.
    let mut scorer_guard = AbortOnDrop(Some(scorer.abort_handle()));

    let mut splitter = TokenSteps::new(keep, online);
    let mut steps: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut chunks: u64 = 0;
    if !prefix.is_empty() && spec.revision.unwrap_or(0) == 0 {
        // The forked prefix is part of this candidate's solution and is scored like the rest.
        let head = format!("{}{STEP_DELIMITER}", prefix.join(STEP_DELIMITER));
        ctx.sink.emit(Event::TextDelta { node, text: head.clone() });
        text.push_str(&head);
        for (step, lp) in splitter.feed(&head, None).steps {
            complete_step(ctx, node, &mut steps, step, lp, false, &score_tx);
        }
    }
    let mut paused = shared.paused.clone();
    let stats = loop {
        if *paused.borrow() {
            tokio::select! {
                _ = cancel.cancelled() => return fail(Ok(GenError::Cancelled), (0, chunks)),
                _ = paused.wait_for(|p| !*p) => {}
            }
        }
        let next = tokio::select! {
            _ = cancel.cancelled() => return fail(Ok(GenError::Cancelled), (0, chunks)),
            n = stream.next() => n,
        };
        match next {
            Some(Ok(Chunk::Delta { text: delta, logprobs })) => {
                if delta.is_empty() && logprobs.is_none() {
                    continue;
                }
                if !delta.is_empty() {
                    chunks += 1;
                    meter.chunks.store(chunks, Ordering::Relaxed);
                    text.push_str(&delta);
                    ctx.sink.emit(Event::TextDelta { node, text: delta.clone() });
                }
                let fed = splitter.feed(&delta, logprobs);
                for (step, lp) in fed.steps {
                    complete_step(ctx, node, &mut steps, step, lp, false, &score_tx);
                }
                if let Some(confidence) = fed.cut {
                    // DeepConf online: the candidate stops here and its partial text does not vote.
                    let cutoff = cfg.confidence_cutoff.unwrap_or(0.0);
                    ctx.sink.emit(Event::NodeCutOff { node, confidence, cutoff });
                    cancel.cancel();
                    return fail(Ok(GenError::Cancelled), (0, chunks));
                }
            }
            Some(Ok(Chunk::Done(stats))) => break stats,
            Some(Err(e)) => return fail(Ok(e), (0, chunks)),
            None => {
                return fail(
                    Ok(GenError::Dropped("the stream ended without a final chunk".into())),
                    (0, chunks),
                )
            }
        }
    };
    drop(stream);
    if let Some((step, lp)) = splitter.finish() {
        complete_step(ctx, node, &mut steps, step, lp, true, &score_tx);
    } else if ctx.verifier.final_only() && !steps.is_empty() {
        // The last step was sent before the end was known; score it again as final.
        let k = steps.len() - 1;
        let _ = score_tx.send((Arc::new(steps.clone()), k, true, StepLogprobs::from(Vec::new())));
    }
    drop(score_tx);
    scorer_guard.disarm();
    let tokens = if stats.generated_tokens > 0 { stats.generated_tokens } else { chunks };
    // The generation is complete: a verifier failure still counts all it spent.
    let spent = (stats.prompt_tokens, tokens);
    let scores = match scorer.await {
        Ok(Ok(Ok(scores))) => scores,
        Ok(Ok(Err(VerifyError::Cancelled))) => return fail(Ok(GenError::Cancelled), spent),
        Ok(Ok(Err(e))) => return fail(Err(format!("the verifier failed: {e}")), spent),
        Ok(Err(panic)) => return fail(Err(format!("the verifier failed: {panic}")), spent),
        Err(_) => return fail(Err("the verifier task was aborted".into()), spent),
    };
    let answer = extract_answer(&text);
    let correct = match (&answer, &ctx.problem.gold) {
        (Some(a), Some(g)) => Some(answers_equal(a, g)),
        (None, Some(_)) => Some(false),
        _ => None,
    };
    let score = cfg.aggregation.apply(scores.iter().copied());
    ctx.sink.emit(Event::NodeFinished {
        node,
        answer: answer.clone(),
        correct,
        score,
        tokens,
        done_reason: stats.done_reason.clone(),
    });
    meter.requested.store(false, Ordering::Relaxed);
    shared.budget(|b| {
        b.policy(stats.prompt_tokens, tokens);
        b.finished(tokens);
    });
    Outcome::Finished(Candidate { node, answer, score }, text)
}

/// Aborts a task when dropped, unless disarmed.
struct AbortOnDrop(Option<tokio::task::AbortHandle>);

impl AbortOnDrop {
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            h.abort();
        }
    }
}

/// The steps so far, the index to score, whether the solution is finished, and the step's tokens.
type ScoreJob = (Arc<Vec<String>>, usize, bool, StepLogprobs);

/// Record a completed step and queue it for scoring.
fn complete_step(
    ctx: &RunContext,
    node: NodeId,
    steps: &mut Vec<String>,
    step: String,
    logprobs: StepLogprobs,
    finished: bool,
    score_tx: &mpsc::UnboundedSender<ScoreJob>,
) {
    let k = steps.len();
    ctx.sink.emit(Event::StepCompleted { node, step: k as u32, text: step.clone() });
    steps.push(step);
    let _ = score_tx.send((Arc::new(steps.clone()), k, finished, logprobs));
}

/// Score one candidate's steps in order as they complete.
async fn scorer(
    shared: Arc<Shared>,
    node: NodeId,
    mut jobs: mpsc::UnboundedReceiver<ScoreJob>,
    cancel: CancellationToken,
) -> Result<Vec<Option<f64>>, VerifyError> {
    let ctx = &shared.ctx;
    let mut scores: Vec<Option<f64>> = Vec::new();
    // Each step's tokens, kept here (not copied into every job) for verifiers that read them.
    let keep = ctx.verifier.top_logprobs() > 0;
    let mut tokens: Vec<StepLogprobs> = Vec::new();
    while let Some((steps, k, finished, lp)) = jobs.recv().await {
        if keep {
            if tokens.len() <= k {
                tokens.resize(k + 1, StepLogprobs::from(Vec::new()));
            }
            // A final-only re-score sends no tokens: the first ones stay.
            if !lp.is_empty() {
                tokens[k] = lp;
            }
        }
        let logprobs = keep.then(|| &tokens[..=k]);
        let req = ScoreRequest { problem: &ctx.problem, steps: &steps[..=k], start: k, finished, logprobs };
        let mut out = ctx.verifier.score(req, cancel.clone()).await?;
        let Some(s) = out.pop() else { continue };
        if scores.len() <= k {
            scores.resize(k + 1, None);
        }
        scores[k] = s.score;
        let usage = s.usage;
        ctx.sink.emit(Event::StepScored { node, step: k as u32, score: s });
        // The `none` verifier looks at nothing: no call to count.
        if ctx.verifier.counts_calls() {
            shared.budget(|b| b.verifier(usage));
        }
    }
    Ok(scores)
}

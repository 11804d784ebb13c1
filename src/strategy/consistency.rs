//! Adaptive-consistency (Aggarwal et al. 2023, "Let's Sample Step by Step:
//! Adaptive-Consistency"): self-consistency that stops sampling once more samples would
//! not change the majority answer at the chosen confidence.
//!
//! The run draws `batch` samples at a time (one by default, as the paper does), waits for
//! the batch to end, then checks the stopping statistic of [`super::stopping`] (the paper's
//! default Beta criterion) on all samples so far; it stops as soon as the statistic reaches
//! `confidence`, or when N samples have been drawn. Each check is a `Stopping` event.
//!
//! Decisions, where the paper leaves room:
//! - **samples** are best-of-N's: node i is written with seed `seed + i` from the same
//!   prompt, so a run that never stops draws exactly best-of-N's N candidates;
//! - **the minimum** before stopping is whatever the criterion itself needs, as in the
//!   reference code (no extra floor): k agreeing votes stop once 1 − 2^−(k+1) ≥ confidence
//!   (4 samples at 0.95, one at any confidence ≤ 0.75); a tie never stops;
//! - **votes** are counted as selection counts them ([`super::select`]): a sample with no
//!   extracted answer, or a malformed one, does not vote but is still a sample drawn (it
//!   spent the compute); failed and cancelled samples neither. Answers are grouped by
//!   mathematical equality, so "1/2" and "0.5" pool their votes. (The reference code counts
//!   whatever its `Counter` is given, so there an unanswered sample's `None` would be one more
//!   "answer" that could even lead; here it never does.);
//! - **checks** happen after each whole batch, over the samples in node order, so a run is
//!   the same however its batch's samples interleave; samples counts are multiples of the
//!   batch (or N);
//! - **the final answer** is the run's selection rule over every sample drawn. `ttc run` and
//!   the view default it to `majority` for this strategy (the vote the statistic is about);
//!   a rule the user names (`--selection weighted|best`, `run.selection`) is honoured, the
//!   verifier's scores then pick among the drawn samples, and when that differs from the
//!   majority the selection's note says so;
//! - **live changes**: a new confidence (`i`/`I` in the view) or N applies at the next
//!   check; samples already in flight finish.

use std::collections::HashMap;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::best_of_n::{candidate_seed, group_samples, sample_guarded, Outcome, Sample};
use super::context::RunContext;
use super::engine::Shared;
use super::select::select_seeded;
use super::stopping::verdict;
use crate::event::Event;
use crate::spec::{limits, Candidate, Command, NodeId, SelectionRule};

/// Answers listed in a `Stopping` event (the leader first).
pub const VOTES_SHOWN: usize = 8;
/// Characters of an answer kept in a `Stopping` event.
const ANSWER_CHARS: usize = 200;

/// Run adaptive-consistency to completion, following live commands.
pub async fn run(ctx: RunContext, commands: mpsc::UnboundedReceiver<Command>) {
    run_with(ctx, commands, Vec::new()).await
}

/// Adaptive-consistency that starts from samples already drawn (the adaptive strategy's
/// probes): they vote from the first check, and the run may draw `ctx.config.n` more,
/// numbered on from `ctx.first_node`.
pub(super) async fn run_with(
    ctx: RunContext,
    mut commands: mpsc::UnboundedReceiver<Command>,
    prior: Vec<Candidate>,
) {
    let cfg = ctx.config.clone();
    let run_cancel = ctx.cancel.clone();
    let first_node = ctx.first_node;
    let (shared, pause_tx) = Shared::new(ctx);
    let gold = shared.ctx.problem.gold.clone();
    let mut cap = prior.len() + cfg.n.max(usize::from(prior.is_empty()));
    let mut confidence = clamp_confidence(cfg.confidence);
    let batch = cfg.batch.clamp(*limits::BATCH.start(), *limits::BATCH.end());
    let mut finished: Vec<Candidate> = prior;
    let mut drawn = finished.len();
    let mut next_node = first_node;
    let mut errors: Vec<String> = Vec::new();
    let mut tasks: JoinSet<(NodeId, Outcome)> = JoinSet::new();
    let mut task_nodes: HashMap<tokio::task::Id, NodeId> = HashMap::new();
    let mut batch_out: Vec<(NodeId, Outcome)> = Vec::new();
    let (mut paused, mut commands_open) = (false, true);
    let mut stopped = !finished.is_empty() && check(&shared, &finished, drawn, cap, confidence);
    loop {
        if tasks.is_empty() && !paused {
            let k = batch.min(cap.saturating_sub(drawn));
            if stopped || run_cancel.is_cancelled() || k == 0 {
                break;
            }
            let mut specs: Vec<Sample> = (0..k)
                .map(|i| Sample {
                    messages: shared.ctx.prompt.messages(&shared.ctx.problem),
                    seed: candidate_seed(cfg.seed, next_node + i as NodeId),
                    chain: None,
                    revision: None,
                    group: None,
                })
                .collect();
            // One batch is one group of samples of the prompt.
            group_samples(&mut specs);
            for spec in specs {
                let node = next_node;
                next_node += 1;
                let (shared, cancel) = (shared.clone(), run_cancel.child_token());
                let h = tasks.spawn(async move { (node, sample_guarded(shared, node, spec, cancel).await) });
                task_nodes.insert(h.id(), node);
            }
            drawn += k;
        }
        tokio::select! {
            _ = run_cancel.cancelled(), if tasks.is_empty() => break,
            cmd = commands.recv(), if commands_open => match cmd {
                // Nobody can unpause any more: go on.
                None => (commands_open, paused) = (false, false),
                Some(Command::Pause(p)) => {
                    paused = p;
                    let _ = pause_tx.send(p);
                }
                Some(Command::SetN(want)) => {
                    let want = want.clamp(*limits::N.start(), *limits::N.end());
                    shared.ctx.sink.emit(Event::Applied { change: format!("N {cap} → {want}") });
                    cap = want;
                }
                Some(Command::SetConfidence(c)) => {
                    let c = clamp_confidence(c);
                    let change = format!("confidence {confidence} → {c}");
                    shared.ctx.sink.emit(Event::Applied { change });
                    confidence = c;
                }
                // Width, depth, chains and the rest have no meaning here.
                Some(other) => tracing::debug!(?other, "ignored by consistency"),
            },
            joined = tasks.join_next_with_id(), if !tasks.is_empty() => {
                let Some(joined) = joined else { continue };
                batch_out.push(match joined {
                    Ok((_, r)) => r,
                    // Samples catch their own panics; a task can still be aborted.
                    Err(e) => {
                        let node = task_nodes.get(&e.id()).copied().unwrap_or(0);
                        let msg = "the sample's task was aborted";
                        shared.ctx.sink.emit(Event::NodeFailed { node, error: msg.into() });
                        shared.budget(|b| b.failed());
                        (node, Outcome::Failed(msg.into()))
                    }
                });
                if tasks.is_empty() {
                    // The batch is complete: fold it in node order, then check.
                    batch_out.sort_by_key(|(node, _)| *node);
                    for (_, outcome) in batch_out.drain(..) {
                        match outcome {
                            Outcome::Finished(c, _) => finished.push(c),
                            Outcome::Failed(e) => errors.push(e),
                            Outcome::Cancelled => {}
                        }
                    }
                    if !run_cancel.is_cancelled() {
                        stopped = check(&shared, &finished, drawn, cap, confidence);
                    }
                }
            }
        }
    }
    finished.sort_by_key(|c| c.node);
    let mut selection = select_seeded(&finished, cfg.selection, cfg.aggregation, gold.as_deref(), cfg.seed);
    if cfg.selection != SelectionRule::Majority {
        let majority =
            select_seeded(&finished, SelectionRule::Majority, cfg.aggregation, gold.as_deref(), cfg.seed);
        if let (Some(m), Some(s)) = (&majority.selected, &selection.selected) {
            if m != s {
                let line = format!(
                    "sampling stopped on the majority answer {}; the {} rule picked another",
                    crate::safe::clip(m, ANSWER_CHARS),
                    cfg.selection
                );
                selection.note = Some(match selection.note.take() {
                    Some(n) => format!("{n}; {line}"),
                    None => line,
                });
            }
        }
    }
    shared.finish(selection, finished.len(), &errors);
}

/// A confidence within [`limits::CONFIDENCE`] (NaN becomes the default 0.95).
fn clamp_confidence(c: f64) -> f64 {
    if c.is_nan() {
        return 0.95;
    }
    c.clamp(*limits::CONFIDENCE.start(), *limits::CONFIDENCE.end())
}

/// The answers' votes among `finished`, the leader first, grouped and ordered as a
/// majority vote groups and orders them (ties by score, then by the run's seed).
pub fn votes(finished: &[Candidate], shared: &Shared) -> Vec<(String, u32)> {
    let cfg = &shared.ctx.config;
    let s = select_seeded(finished, SelectionRule::Majority, cfg.aggregation, None, cfg.seed);
    s.answers.iter().map(|a| (a.answer.clone(), a.votes)).collect()
}

/// Check the stopping rule after `drawn` samples, report it, and say whether to stop.
fn check(shared: &Shared, finished: &[Candidate], drawn: usize, cap: usize, confidence: f64) -> bool {
    let all = votes(finished, shared);
    let v1 = all.first().map_or(0, |v| v.1) as u64;
    let v2 = all.get(1).map_or(0, |v| v.1) as u64;
    let v = verdict(v1, v2, confidence);
    let shown = all
        .into_iter()
        .take(VOTES_SHOWN)
        .map(|(a, n)| (crate::safe::clip(&a, ANSWER_CHARS).into_owned(), n))
        .collect();
    shared.ctx.sink.emit(Event::Stopping {
        samples: drawn as u32,
        max: cap as u32,
        votes: shown,
        stat: v.stat,
        confidence,
        stopped: v.stop,
    });
    v.stop
}

//! Step-wise tree search guided by the verifier: beam search, lookahead and
//! DVTS (Snell et al. 2024 §5.2; search-and-learn's DVTS).
//!
//! Each round every kept path is continued by one step (`width` children per
//! kept beam), each child's prefix is scored, finished children are set
//! aside, and the rest are ranked: beam search keeps the top N/M overall,
//! DVTS keeps the best child of each of its N/M subtrees. Live changes apply
//! at the next round.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::context::RunContext;
use super::engine::{next_step, path_answer, score_last, Shared};
use super::guard::guarded;
use super::select::select;
use crate::event::Event;
use crate::model::GenError;
use crate::spec::{Candidate, Command, NodeId, StrategyKind};
use crate::steps::STEP_DELIMITER;
use crate::verify::{StepDetail, StepScore, Usage, VerifyError};

/// A path kept for the next round.
#[derive(Debug, Clone)]
struct Beam {
    node: Option<NodeId>,
    steps: Vec<String>,
    scores: Vec<Option<f64>>,
    tokens: u64,
    /// DVTS subtree (0 for beam search).
    subtree: usize,
}

/// A child generated this round.
struct Child {
    node: NodeId,
    beam: Beam,
    finished: bool,
    score: Option<f64>,
}

/// Why a child was not generated.
enum Expand {
    Gen(GenError),
    /// Its work panicked (already reported as the node's failure).
    Panicked(String),
}

impl From<GenError> for Expand {
    fn from(e: GenError) -> Self {
        Expand::Gen(e)
    }
}

/// Knobs that live changes may turn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Knobs {
    pub n: usize,
    pub width: usize,
    pub max_depth: u32,
    pub lookahead: u32,
}

impl Knobs {
    /// Beams kept per round (beam search), or subtrees (DVTS).
    pub fn keep(&self) -> usize {
        (self.n / self.width.max(1)).max(1)
    }
}

/// Rank children best first: by score (unscored last), then by node id.
fn rank(children: &mut [&Child]) {
    children.sort_by(|a, b| {
        let (x, y) = (a.score.unwrap_or(f64::NEG_INFINITY), b.score.unwrap_or(f64::NEG_INFINITY));
        y.partial_cmp(&x).unwrap_or(std::cmp::Ordering::Equal).then(a.node.cmp(&b.node))
    });
}

/// Run beam search, lookahead or DVTS to the end.
pub async fn run(ctx: RunContext, mut commands: mpsc::UnboundedReceiver<Command>) {
    let kind = ctx.config.strategy;
    let cfg = ctx.config.clone();
    let cancel = ctx.cancel.clone();
    let (shared, pause) = Shared::new(ctx);
    let mut knobs = Knobs {
        n: cfg.n.max(1),
        width: cfg.width.max(1),
        max_depth: cfg.max_depth.max(1),
        lookahead: if kind == StrategyKind::Lookahead { cfg.lookahead } else { 0 },
    };
    let dvts = kind == StrategyKind::Dvts;
    let mut next_id: NodeId = shared.ctx.first_node;
    let mut finished: Vec<Candidate> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    // The first round expands the starting path (empty, or a fork's prefix whose
    // steps carry no scores): N children, or M per DVTS subtree.
    let root = |subtree| Beam {
        node: None,
        steps: cfg.prefix.clone(),
        scores: vec![None; cfg.prefix.len()],
        tokens: 0,
        subtree,
    };
    let mut frontier: Vec<Beam> = if dvts { (0..knobs.keep()).map(root).collect() } else { vec![root(0)] };
    let start_depth = cfg.prefix.len() as u32;
    let mut depth: u32 = start_depth;
    while !frontier.is_empty() && !cancel.is_cancelled() {
        // Live changes, at the step boundary.
        while let Ok(c) = commands.try_recv() {
            apply(&shared, &mut knobs, &pause, c, depth, kind);
        }
        if !shared.wait_unpaused(&cancel).await {
            break;
        }
        if depth >= knobs.max_depth {
            break;
        }
        // Children per kept path: N on the first beam-search round, else M.
        let per_beam = if depth == start_depth && !dvts { knobs.n } else { knobs.width };
        let mut jobs = Vec::new();
        for beam in &frontier {
            for _ in 0..per_beam {
                let node = next_id;
                next_id += 1;
                let job = expand(
                    shared.clone(),
                    node,
                    beam.clone(),
                    depth,
                    knobs.lookahead,
                    cfg.seed,
                    cfg.temperature,
                );
                // A panic while expanding fails this child alone.
                let shared = shared.clone();
                jobs.push(async move {
                    guarded(job).await.unwrap_or_else(|msg| {
                        shared.ctx.sink.emit(Event::NodeFailed { node, error: msg.clone() });
                        shared.budget(|b| b.failed());
                        Err(Expand::Panicked(msg))
                    })
                });
            }
        }
        let results = futures::future::join_all(jobs).await;
        let mut children: Vec<Child> = Vec::new();
        for r in results {
            match r {
                Ok(c) => children.push(c),
                Err(Expand::Gen(GenError::Cancelled)) => {}
                Err(Expand::Gen(e)) => errors.push(e.to_string()),
                Err(Expand::Panicked(msg)) => errors.push(msg),
            }
        }
        if cfg.dedup {
            children = dedup(&shared, children);
        }
        // Finished children leave the search with their answers.
        let mut open: Vec<&Child> = Vec::new();
        for c in &children {
            if c.finished {
                finish_path(&shared, c.node, &c.beam, "stop", &mut finished);
            } else {
                open.push(c);
            }
        }
        let mut next = Vec::new();
        if dvts {
            let subtrees: std::collections::BTreeSet<usize> =
                children.iter().map(|c| c.beam.subtree).collect();
            for s in subtrees {
                let mut all: Vec<&Child> = children.iter().filter(|c| c.beam.subtree == s).collect();
                rank(&mut all);
                // The subtree ends when its best child is a finished solution.
                let best_finished = all.first().is_some_and(|c| c.finished);
                for (rank_no, c) in all.iter().filter(|c| !c.finished).enumerate() {
                    let kept = !best_finished && rank_no == 0;
                    mark(&shared, c, rank_no as u32, kept);
                    if kept {
                        next.push(c.beam.clone());
                    }
                }
            }
        } else {
            rank(&mut open);
            let keep = if finished.len() >= knobs.n { 0 } else { knobs.keep() };
            for (i, c) in open.iter().enumerate() {
                let kept = i < keep;
                mark(&shared, c, i as u32, kept);
                if kept {
                    next.push(c.beam.clone());
                }
            }
        }
        depth += 1;
        shared.ctx.sink.emit(Event::RoundFinished {
            depth,
            alive: next.len() as u32,
            finished: finished.len() as u32,
        });
        shared.ctx.sink.emit(Event::Budget(shared.budget_now()));
        frontier = next;
    }
    // Paths still open at max depth (or on cancel) end as they are.
    for beam in &frontier {
        if let Some(node) = beam.node {
            if cancel.is_cancelled() {
                shared.ctx.sink.emit(Event::NodeCancelled { node });
            } else {
                finish_path(&shared, node, beam, "max_depth", &mut finished);
            }
        }
    }
    finished.sort_by_key(|c| c.node);
    let sel = select(&finished, cfg.selection, cfg.aggregation, shared.ctx.problem.gold.as_deref());
    let produced = finished.len();
    shared.finish(sel, produced, &errors);
}

/// Apply a live change and say so.
fn apply(
    shared: &Shared,
    knobs: &mut Knobs,
    pause: &tokio::sync::watch::Sender<bool>,
    c: Command,
    depth: u32,
    kind: StrategyKind,
) {
    let what = match c {
        Command::Pause(p) => {
            let _ = pause.send(p);
            return;
        }
        Command::SetN(n) => {
            knobs.n = n.max(1);
            format!("N = {}", knobs.n)
        }
        Command::SetWidth(m) => {
            knobs.width = m.max(1);
            format!("width M = {}", knobs.width)
        }
        Command::SetDepth(d) => {
            knobs.max_depth = d.max(1);
            format!("max depth = {}", knobs.max_depth)
        }
        Command::SetLookahead(k) if kind == StrategyKind::Lookahead => {
            knobs.lookahead = k;
            format!("lookahead k = {k}")
        }
        other => format!("{other:?} does not apply to {kind}"),
    };
    shared.ctx.sink.emit(Event::Applied { change: format!("{what} from depth {}", depth + 1) });
}

fn mark(shared: &Shared, c: &Child, rank: u32, kept: bool) {
    let e = if kept {
        Event::NodeKept { node: c.node, rank, score: c.score }
    } else {
        Event::NodePruned { node: c.node, rank, score: c.score }
    };
    shared.ctx.sink.emit(e);
}

/// Drop children whose new step repeats a sibling's, keeping the first.
fn dedup(shared: &Shared, children: Vec<Child>) -> Vec<Child> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(children.len());
    for c in children {
        // A child that ended without a step of its own may have no steps at all.
        let key = match c.beam.steps.split_last() {
            Some((last, before)) => (before.to_vec(), Some(last.clone())),
            None => (Vec::new(), None),
        };
        if seen.insert(key) {
            out.push(c);
        } else {
            shared.ctx.sink.emit(Event::NodePruned { node: c.node, rank: u32::MAX, score: c.score });
        }
    }
    out
}

/// Report a finished path and add it to the candidates.
fn finish_path(shared: &Shared, node: NodeId, beam: &Beam, reason: &str, out: &mut Vec<Candidate>) {
    let answer = path_answer(&beam.steps);
    let score = shared.ctx.config.aggregation.apply(beam.scores.iter().copied());
    shared.ctx.sink.emit(Event::NodeFinished {
        node,
        answer: answer.clone(),
        correct: shared.grade(&answer),
        score,
        tokens: beam.tokens,
        done_reason: reason.into(),
    });
    shared.budget(|b| b.finished(beam.tokens));
    out.push(Candidate { node, answer, score });
}

/// Generate one child of `parent` and score it (after a greedy rollout of `lookahead` steps).
async fn expand(
    shared: Arc<Shared>,
    node: NodeId,
    parent: Beam,
    depth: u32,
    lookahead: u32,
    seed: u64,
    temperature: f32,
) -> Result<Child, Expand> {
    let ctx = &shared.ctx;
    let seed = seed as i64 + node as i64;
    ctx.sink.emit(Event::NodeStarted {
        node,
        parent: parent.node,
        seed: Some(seed),
        depth,
        chain: None,
        revision: None,
    });
    if parent.node.is_none() && !parent.steps.is_empty() {
        // A fork's first children carry its prefix, so every path reads in full.
        let head = format!("{}{}", parent.steps.join(STEP_DELIMITER), STEP_DELIMITER);
        ctx.sink.emit(Event::TextDelta { node, text: head });
        for (k, s) in parent.steps.iter().enumerate() {
            ctx.sink.emit(Event::StepCompleted { node, step: k as u32, text: s.clone() });
        }
    }
    let cancel = ctx.cancel.clone();
    let fail = |e: GenError| {
        if e == GenError::Cancelled || cancel.is_cancelled() {
            ctx.sink.emit(Event::NodeCancelled { node });
            GenError::Cancelled
        } else {
            ctx.sink.emit(Event::NodeFailed { node, error: e.to_string() });
            shared.budget(|b| b.failed());
            e
        }
    };
    let step =
        next_step(&shared, Some(node), &parent.steps, seed, temperature, &cancel).await.map_err(fail)?;
    let mut beam = parent.clone();
    beam.node = Some(node);
    beam.tokens += step.tokens;
    if step.text.is_empty() {
        // The model ended without another step: the path ends as it is, with no empty step.
        let score = beam.scores.last().copied().flatten();
        return Ok(Child { node, beam, finished: true, score });
    }
    beam.steps.push(step.text.clone());
    ctx.sink.emit(Event::StepCompleted { node, step: depth, text: step.text.clone() });
    // Lookahead: roll out greedily, then score the step by where that leads.
    let mut scored_path = beam.steps.clone();
    let mut finished_rollout = step.finished;
    for _ in 0..lookahead {
        if finished_rollout {
            break;
        }
        match next_step(&shared, None, &scored_path, seed, 0.0, &cancel).await {
            Ok(s) => {
                finished_rollout = s.finished;
                if !s.text.is_empty() {
                    scored_path.push(s.text);
                }
            }
            Err(e) => return Err(fail(e).into()),
        }
    }
    let verdict = match score_last(&shared, &scored_path, finished_rollout, &cancel).await {
        Ok(s) => s,
        Err(VerifyError::Cancelled) => return Err(fail(GenError::Cancelled).into()),
        Err(e) => StepScore::unscored(format!("verifier: {e}"), StepDetail::None, Usage::default()),
    };
    let score = verdict.score;
    beam.scores.push(score);
    ctx.sink.emit(Event::StepScored { node, step: depth, score: verdict });
    Ok(Child { node, beam, finished: step.finished, score })
}

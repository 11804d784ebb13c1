//! Step-wise tree search guided by the verifier: beam search, lookahead and
//! DVTS (Snell et al. 2024 §5.2; search-and-learn's `beam_search.py` and `dvts.py`).
//!
//! Each round every kept path is continued by one step, each child's prefix is
//! scored, finished children join the pool of solutions that vote, and the rest
//! are ranked. The rules:
//!
//! - **The pool holds at most N solutions.** Finished children leave the search
//!   and count against N: a round starts N minus the solutions already finished
//!   children (never more), spread evenly over the kept beams, and beam search
//!   keeps at most min(N/M, ⌈(N − finished)/M⌉) open beams. (search-and-learn
//!   copies its N/M kept beams to N active beams a round and cuts its finished
//!   list to N at the end; here nothing past N is ever generated.)
//! - **Ranking** is by the run's aggregation (`last`, `min`, `prod`, `mean`) of the
//!   whole prefix's step scores, not by the new step's score alone.
//! - **Unscored steps are neutral**: the aggregation skips them, so a child whose
//!   step the verifier left unscored ranks with its parent's prefix score. A prefix
//!   with no score at all ranks as [`NEUTRAL`]. Nothing is pruned for being unscored.
//! - **Ties** are broken by a hash of the run's seed and the node, so equal scores
//!   (0/1 verifiers, the oracle) do not all go to one parent's children; the same
//!   seed gives the same search, another seed may keep other beams.
//! - **Max depth**: paths still open there are completed. The round that starts at
//!   max depth writes its children (M per kept beam, within N) to the end in one
//!   request each with no step stop, as search-and-learn does in its last
//!   iteration, and scores their new steps; so open beams answer instead of
//!   ending as they are.
//! - **N < M** is allowed and means: beam search keeps one beam, which spawns at most
//!   N − finished children a round (M is capped by the pool); DVTS runs one subtree
//!   whose share is N.
//! - **DVTS**: ⌈N/M⌉ independent subtrees, each with a share of N (M each, the last
//!   one the remainder), so the pool is N solutions. Each subtree keeps its best
//!   child; when that child is a finished solution the subtree ends and its open
//!   siblings from that round are completed (search-and-learn returns that round's
//!   M children of every subtree). A live N change adds subtrees, or removes
//!   subtrees that have no finished solution yet; what cannot be done is refused
//!   and said so.
//!
//! Live changes apply at the next round.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::context::RunContext;
use super::engine::{
    complete_path, next_step, path_answer, score_from_with, score_last, score_last_with, Shared,
};
use super::group;
use super::guard::guarded;
use super::select::select_seeded;
use crate::event::Event;
use crate::model::{GenError, SampleGroup};
use crate::spec::{Candidate, Command, NodeId, StrategyKind};
use crate::steps::STEP_DELIMITER;
use crate::verify::{StepDetail, StepLogprobs, StepScore, Usage, VerifyError};

/// The rank value of a prefix with no scored step: neither evidence for nor against it.
pub const NEUTRAL: f64 = 0.5;

/// A path kept for the next round.
#[derive(Debug, Clone)]
pub(super) struct Beam {
    pub(super) node: Option<NodeId>,
    pub(super) steps: Vec<String>,
    pub(super) scores: Vec<Option<f64>>,
    pub(super) tokens: u64,
    /// DVTS subtree (0 for beam search).
    pub(super) subtree: usize,
    /// Complete this path to its end next round (a DVTS subtree's last siblings).
    pub(super) complete: bool,
    /// Each step's tokens, aligned with `steps`, for a verifier that reads them (shared, not copied).
    pub(super) logprobs: Vec<StepLogprobs>,
}

/// How a child continues its parent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Mode {
    /// One step (and, for lookahead, a greedy rollout to score it).
    Step,
    /// Everything to the end of the solution.
    ToEnd,
}

/// A child generated this round.
pub(super) struct Child {
    pub(super) node: NodeId,
    pub(super) beam: Beam,
    pub(super) finished: bool,
    /// The aggregation of the whole prefix's step scores (unscored steps skipped).
    pub(super) key: Option<f64>,
    pub(super) reason: &'static str,
}

/// Why a child was not generated.
pub(super) enum Expand {
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
    /// Most beams kept per round (beam search): N/M, at least one.
    pub fn keep(&self) -> usize {
        (self.n / self.width.max(1)).max(1)
    }
}

/// The shares of N that DVTS subtrees get: ⌈N/M⌉ subtrees of M, the last one the remainder.
pub fn shares(n: usize, m: usize) -> Vec<usize> {
    let m = m.max(1);
    let mut out = vec![m; n / m];
    if n % m > 0 {
        out.push(n % m);
    }
    out
}

/// A deterministic shuffle key for ties: the run's seed mixed with the node (splitmix64).
pub fn tiebreak(seed: u64, node: NodeId) -> u64 {
    use crate::hash::{mix64, GOLDEN};
    mix64((seed ^ (node as u64).wrapping_mul(GOLDEN)).wrapping_add(GOLDEN))
}

/// Rank children best first: by prefix score (no score = [`NEUTRAL`]), ties by the seed.
fn rank(children: &mut [&Child], seed: u64) {
    children.sort_by(|a, b| {
        let (x, y) = (a.key.unwrap_or(NEUTRAL), b.key.unwrap_or(NEUTRAL));
        y.partial_cmp(&x)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(tiebreak(seed, a.node).cmp(&tiebreak(seed, b.node)))
    });
}

/// The search's state between rounds.
struct State {
    kind: StrategyKind,
    knobs: Knobs,
    /// Solutions each subtree may contribute (beam search: one subtree of N).
    shares: Vec<usize>,
    /// Solutions each subtree has finished.
    pool: Vec<usize>,
    frontier: Vec<Beam>,
    prefix: Vec<String>,
}

impl State {
    fn root(&self, subtree: usize) -> Beam {
        Beam {
            node: None,
            steps: self.prefix.clone(),
            scores: vec![None; self.prefix.len()],
            tokens: 0,
            subtree,
            complete: false,
            logprobs: vec![StepLogprobs::from(Vec::new()); self.prefix.len()],
        }
    }

    fn dvts(&self) -> bool {
        self.kind == StrategyKind::Dvts
    }

    fn finished(&self) -> usize {
        self.pool.iter().sum()
    }

    fn left(&self, s: usize) -> usize {
        self.shares[s].saturating_sub(self.pool[s])
    }
}

/// Run beam search, lookahead or DVTS to the end.
pub async fn run(ctx: RunContext, mut commands: mpsc::UnboundedReceiver<Command>) {
    let kind = ctx.config.strategy;
    let cfg = ctx.config.clone();
    let cancel = ctx.cancel.clone();
    let (shared, pause) = Shared::new(ctx);
    let knobs = Knobs {
        n: cfg.n.max(1),
        width: cfg.width.max(1),
        max_depth: cfg.max_depth.max(1),
        lookahead: if kind == StrategyKind::Lookahead { cfg.lookahead } else { 0 },
    };
    let shares0 = if kind == StrategyKind::Dvts { shares(knobs.n, knobs.width) } else { vec![knobs.n] };
    let mut st = State {
        kind,
        knobs,
        pool: vec![0; shares0.len()],
        shares: shares0,
        frontier: Vec::new(),
        prefix: cfg.prefix.clone(),
    };
    // The first round expands the starting path (empty, or a fork's prefix whose
    // steps carry no scores): N children, or a subtree's share for DVTS.
    st.frontier = (0..st.shares.len()).map(|s| st.root(s)).collect();
    let mut next_id: NodeId = shared.ctx.first_node;
    let mut finished: Vec<Candidate> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let start_depth = cfg.prefix.len() as u32;
    let mut round: u32 = 0;
    while !st.frontier.is_empty() && !cancel.is_cancelled() {
        // Live changes, at the step boundary.
        while let Ok(c) = commands.try_recv() {
            apply(&shared, &mut st, &pause, c, start_depth + round);
        }
        if !shared.wait_unpaused(&cancel).await {
            break;
        }
        // This round's children, within each subtree's share of N.
        let mut left: Vec<usize> = (0..st.shares.len()).map(|s| st.left(s)).collect();
        // Beam search spreads N − finished children over its kept beams, as search-and-learn
        // copies its kept beams to N active ones; DVTS gives each kept path M children.
        let spread = (!st.dvts()).then(|| st.frontier.len().max(1));
        let mut jobs = Vec::new();
        for (i, beam) in st.frontier.iter().enumerate() {
            let s = beam.subtree;
            let want = if beam.complete {
                1
            } else if beam.node.is_none() {
                st.shares[s]
            } else if let Some(k) = spread {
                let slots = st.left(s);
                slots / k + usize::from(i < slots % k)
            } else {
                st.knobs.width
            };
            let count = want.min(left[s]);
            left[s] -= count;
            if count == 0 {
                // N was lowered below what this path would need.
                if let Some(node) = beam.node {
                    shared.ctx.sink.emit(Event::NodeCancelled { node });
                }
                continue;
            }
            let at_max = beam.steps.len() as u32 >= st.knobs.max_depth;
            let mode = if beam.complete || at_max { Mode::ToEnd } else { Mode::Step };
            let reason = if beam.complete {
                "completed"
            } else if at_max {
                "max_depth"
            } else {
                "stop"
            };
            // The children of one path are samples of one prompt with consecutive seeds.
            let groups = group::by_seed((0..count).map(|i| child_seed(cfg.seed, next_id + i as NodeId)));
            for group in groups {
                let node = next_id;
                next_id += 1;
                let job = expand(
                    shared.clone(),
                    node,
                    beam.clone(),
                    Plan { mode, reason, lookahead: st.knobs.lookahead, group },
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
        if jobs.is_empty() {
            st.frontier.clear();
            break;
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
        // Finished children leave the search with their answers: they are the pool.
        for c in children.iter().filter(|c| c.finished) {
            finish_path(&shared, c.node, &c.beam, c.reason, &mut finished);
            st.pool[c.beam.subtree] += 1;
        }
        let mut next = Vec::new();
        let subtrees: BTreeSet<usize> = children.iter().map(|c| c.beam.subtree).collect();
        for s in subtrees {
            let mut all: Vec<&Child> = children.iter().filter(|c| c.beam.subtree == s).collect();
            rank(&mut all, cfg.seed);
            let left = st.left(s);
            let (keep, complete) = if st.dvts() {
                // The subtree ends when its best child is a finished solution: its open
                // siblings are completed to fill its share.
                if all.first().is_some_and(|c| c.finished) {
                    (left, true)
                } else {
                    (left.min(1), false)
                }
            } else {
                (st.knobs.keep().min(left.div_ceil(st.knobs.width)), false)
            };
            for (rank_no, c) in all.iter().filter(|c| !c.finished).enumerate() {
                let kept = rank_no < keep;
                mark(&shared, c, rank_no as u32, kept);
                if kept {
                    next.push(Beam { complete, ..c.beam.clone() });
                }
            }
        }
        round += 1;
        shared.ctx.sink.emit(Event::RoundFinished {
            depth: start_depth + round,
            alive: next.len() as u32,
            finished: st.finished() as u32,
        });
        shared.ctx.sink.emit(Event::Budget(shared.budget_now()));
        st.frontier = next;
    }
    // Paths still open end only on cancel.
    for beam in &st.frontier {
        if let Some(node) = beam.node {
            shared.ctx.sink.emit(Event::NodeCancelled { node });
        }
    }
    finished.sort_by_key(|c| c.node);
    let sel = select_seeded(
        &finished,
        cfg.selection,
        cfg.aggregation,
        shared.ctx.problem.gold.as_deref(),
        cfg.seed,
    );
    let produced = finished.len();
    shared.finish(sel, produced, &errors);
}

/// Apply a live change and say what took effect.
fn apply(shared: &Shared, st: &mut State, pause: &tokio::sync::watch::Sender<bool>, c: Command, depth: u32) {
    let kind = st.kind;
    let what = match c {
        Command::Pause(p) => {
            let _ = pause.send(p);
            return;
        }
        Command::SetN(n) if st.dvts() => set_dvts_n(shared, st, n.max(1)),
        Command::SetN(n) => {
            let n = n.max(1);
            let done = st.finished();
            let applied = n.max(done);
            st.knobs.n = applied;
            st.shares[0] = applied;
            if applied == n {
                format!("N = {n}")
            } else {
                format!("N = {applied} (not {n}: {done} solutions have finished already)")
            }
        }
        Command::SetWidth(m) => {
            st.knobs.width = m.max(1);
            if st.dvts() {
                format!("width M = {} (children per subtree, within its share of N)", st.knobs.width)
            } else {
                format!("width M = {}", st.knobs.width)
            }
        }
        Command::SetDepth(d) => {
            st.knobs.max_depth = d.max(1);
            format!("max depth = {}", st.knobs.max_depth)
        }
        Command::SetLookahead(k) if kind == StrategyKind::Lookahead => {
            st.knobs.lookahead = k;
            format!("lookahead k = {k}")
        }
        other => format!("{other:?} does not apply to {kind}"),
    };
    shared.ctx.sink.emit(Event::Applied { change: format!("{what} from depth {}", depth + 1) });
}

/// DVTS: a new N adds subtrees, or removes whole subtrees that have finished nothing yet.
fn set_dvts_n(shared: &Shared, st: &mut State, n: usize) -> String {
    let current: usize = st.shares.iter().sum();
    if n > current {
        let added = shares(n - current, st.knobs.width);
        for share in &added {
            let s = st.shares.len();
            st.shares.push(*share);
            st.pool.push(0);
            let root = st.root(s);
            st.frontier.push(root);
        }
        st.knobs.n = n;
        let live = st.shares.iter().filter(|s| **s > 0).count();
        return format!("N = {n}: {} subtrees added ({live} in all)", added.len());
    }
    let mut total = current;
    let mut removed = 0;
    for s in (0..st.shares.len()).rev() {
        if total > n && st.shares[s] > 0 && st.pool[s] == 0 && st.shares[s] <= total - n {
            total -= st.shares[s];
            st.shares[s] = 0;
            removed += 1;
            for b in st.frontier.iter().filter(|b| b.subtree == s) {
                if let Some(node) = b.node {
                    shared.ctx.sink.emit(Event::NodeCancelled { node });
                }
            }
            st.frontier.retain(|b| b.subtree != s);
        }
    }
    st.knobs.n = total;
    if total == n {
        format!("N = {n}: {removed} subtrees removed")
    } else if removed == 0 {
        format!(
            "N = {n} refused: DVTS removes whole subtrees that have finished nothing yet, \
             and none fits (N stays {current})"
        )
    } else {
        format!(
            "N = {total} (not {n}): {removed} subtrees removed; \
             the others have finished solutions or are larger than the cut"
        )
    }
}

fn mark(shared: &Shared, c: &Child, rank: u32, kept: bool) {
    let e = if kept {
        Event::NodeKept { node: c.node, rank, score: c.key }
    } else {
        Event::NodePruned { node: c.node, rank, score: c.key }
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
            shared.ctx.sink.emit(Event::NodePruned { node: c.node, rank: u32::MAX, score: c.key });
        }
    }
    out
}

/// Report a finished path and add it to the pool.
pub(super) fn finish_path(
    shared: &Shared,
    node: NodeId,
    beam: &Beam,
    reason: &str,
    out: &mut Vec<Candidate>,
) {
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

/// How one child is generated.
#[derive(Debug, Clone, Copy)]
pub(super) struct Plan {
    pub(super) mode: Mode,
    /// Why the child ends when it is generated to the end.
    pub(super) reason: &'static str,
    pub(super) lookahead: u32,
    /// The siblings generated with this child ([`child_seed`] gives their seeds): its own
    /// request, never the lookahead's greedy rollouts.
    pub(super) group: Option<SampleGroup>,
}

/// The seed of the child written as `node`.
pub(super) fn child_seed(seed: u64, node: NodeId) -> i64 {
    seed as i64 + node as i64
}

/// Generate one child of `parent` and score it: one step (scored after a greedy rollout of
/// `lookahead` steps), or the rest of the solution.
pub(super) async fn expand(
    shared: Arc<Shared>,
    node: NodeId,
    parent: Beam,
    plan: Plan,
    seed: u64,
    temperature: f32,
) -> Result<Child, Expand> {
    let ctx = &shared.ctx;
    let depth = parent.steps.len() as u32;
    let seed = child_seed(seed, node);
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
    let mut beam = Beam { node: Some(node), complete: false, ..parent.clone() };
    let agg = ctx.config.aggregation;
    // The steps' tokens go to the verifier only when it reads them.
    let reads = ctx.verifier.top_logprobs() > 0;
    if plan.mode == Mode::ToEnd {
        let c = complete_path(&shared, node, &parent.steps, seed, temperature, plan.group, &cancel)
            .await
            .map_err(fail)?;
        beam.tokens += c.tokens;
        let start = beam.steps.len();
        for (i, s) in c.steps.iter().enumerate() {
            ctx.sink.emit(Event::StepCompleted { node, step: (start + i) as u32, text: s.clone() });
        }
        beam.steps.extend(c.steps);
        beam.logprobs.extend(c.logprobs);
        beam.logprobs.resize(beam.steps.len(), StepLogprobs::from(Vec::new()));
        if beam.steps.len() > start {
            let lp = reads.then_some(&beam.logprobs[..]);
            let verdicts = match score_from_with(&shared, &beam.steps, lp, start, true, &cancel).await {
                Ok(v) => v,
                Err(VerifyError::Cancelled) => return Err(fail(GenError::Cancelled).into()),
                Err(e) => (start..beam.steps.len())
                    .map(|_| {
                        StepScore::unscored(format!("verifier: {e}"), StepDetail::None, Usage::default())
                    })
                    .collect(),
            };
            for (i, v) in verdicts.into_iter().take(beam.steps.len() - start).enumerate() {
                beam.scores.push(v.score);
                ctx.sink.emit(Event::StepScored { node, step: (start + i) as u32, score: v });
            }
            beam.scores.resize(beam.steps.len(), None);
        } else {
            rescore_final(&shared, node, &mut beam, &cancel).await;
        }
        let reason = if c.done_reason == "length" { "length" } else { plan.reason };
        let key = agg.apply(beam.scores.iter().copied());
        return Ok(Child { node, beam, finished: true, key, reason });
    }
    let step = next_step(&shared, Some(node), &parent.steps, seed, temperature, plan.group, &cancel)
        .await
        .map_err(fail)?;
    beam.tokens += step.tokens;
    if step.text.is_empty() {
        // The model ended without another step: the path ends as it is, with no empty step.
        rescore_final(&shared, node, &mut beam, &cancel).await;
        let key = agg.apply(beam.scores.iter().copied());
        return Ok(Child { node, beam, finished: true, key, reason: "stop" });
    }
    beam.steps.push(step.text.clone());
    beam.logprobs.push(step.logprobs.clone());
    ctx.sink.emit(Event::StepCompleted { node, step: depth, text: step.text.clone() });
    // Lookahead: roll out greedily, then score the step by where that leads.
    let mut scored_path = beam.steps.clone();
    let mut scored_lp = beam.logprobs.clone();
    let mut finished_rollout = step.finished;
    for _ in 0..plan.lookahead {
        if finished_rollout {
            break;
        }
        match next_step(&shared, None, &scored_path, seed, 0.0, None, &cancel).await {
            Ok(s) => {
                finished_rollout = s.finished;
                if !s.text.is_empty() {
                    scored_path.push(s.text);
                    scored_lp.push(s.logprobs);
                }
            }
            Err(e) => return Err(fail(e).into()),
        }
    }
    let lp = reads.then_some(&scored_lp[..]);
    let verdict = match score_last_with(&shared, &scored_path, lp, finished_rollout, &cancel).await {
        Ok(s) => s,
        Err(VerifyError::Cancelled) => return Err(fail(GenError::Cancelled).into()),
        Err(e) => StepScore::unscored(format!("verifier: {e}"), StepDetail::None, Usage::default()),
    };
    // An unscored step stays unscored here; the aggregation skips it, which makes it neutral.
    beam.scores.push(verdict.score);
    ctx.sink.emit(Event::StepScored { node, step: depth, score: verdict });
    let key = agg.apply(beam.scores.iter().copied());
    Ok(Child { node, beam, finished: step.finished, key, reason: "stop" })
}

/// A path that ended with no new step: a verifier that judges only finished solutions (the
/// oracle) scores its last step again, now that the solution is known to be finished.
async fn rescore_final(
    shared: &Shared,
    node: NodeId,
    beam: &mut Beam,
    cancel: &tokio_util::sync::CancellationToken,
) {
    if !shared.ctx.verifier.final_only() || beam.steps.is_empty() {
        return;
    }
    if let Ok(v) = score_last(shared, &beam.steps, true, cancel).await {
        let k = beam.steps.len() - 1;
        beam.scores.resize(beam.steps.len(), None);
        beam.scores[k] = v.score;
        shared.ctx.sink.emit(Event::StepScored { node, step: k as u32, score: v });
    }
}

//! Particle filtering (Puri et al. 2025, "A Probabilistic Inference Approach to Inference-Time
//! Scaling of LLMs using Particle-Based Monte Carlo Methods", arXiv 2502.01618; reference code:
//! its_hub `algorithms/particle_gibbs.py`, `ParticleFiltering` = particle Gibbs with one
//! iteration).
//!
//! N particles are partial solutions. Each round:
//!
//! 1. **Propagate**: every open particle gets one more step (the step engine of beam search:
//!    [`super::search::expand`], so prefixes, max depth, fork prefixes and scoring behave the
//!    same), and the verifier scores it. A particle whose step ends the solution is finished.
//! 2. **Weigh**: a particle's log weight is the logit of its score, ln(s/(1−s)) with s clamped
//!    to [1e-6, 1−1e-6] (the reference code's `_inv_sigmoid` clips at 1e-7). Its score is the
//!    run's aggregation of its prefix's step scores, as beam search ranks; under `last` (the
//!    default of the PRM, arith, http and oracle verifiers) that is exactly the new step's
//!    score, which is what the reference code weighs by (the PRM's score of the prefix).
//!    **Unscored steps** are skipped by the aggregation, so a particle whose new step was left
//!    unscored keeps the weight of its previous score; a particle with no score at all is
//!    neutral (0.5, log weight 0). Weights = softmax(log weights / T) with the temperature T
//!    (`--particle-temp`, default 1 = the paper's softmax).
//! 3. **Resample** with the run's seed (`--resample systematic` [default] or `multinomial`;
//!    the reference code draws multinomially with `random.choices`): N new particles are drawn
//!    from the whole population by those weights, every round (`--ess-threshold 1`, the
//!    default and the paper's choice) or only when the effective sample size 1/Σw² falls below
//!    threshold × (population size) (`--ess-threshold` in (0, 1); 0 never resamples). A drawn
//!    particle keeps its slot; the slots of particles not drawn take the extra copies, so a
//!    strong particle visibly replaces a weak one ([`crate::event::Event::Resampled`]).
//!
//! **Finished particles** are not advanced and keep their last weight, but stay in the
//! population and take part in resampling, as in the reference code: a finished particle may
//! be copied (the copy is a new finished node whose parent is the original, with the same
//! answer and score and no tokens of its own) or dropped (its node is marked pruned and does
//! not vote). An open particle's copy is its next round's child, so in the tree a resampled
//! particle has several children and a dropped one none. Once every particle is finished the
//! run does not resample again (the reference code does once more; here the final vote
//! already weighs the finished particles by their scores).
//!
//! **Stop** when every particle is finished; a particle at max depth is completed to its end
//! in one request, as beam search does. **Answer**: the run's selection rule over the finished
//! particles of the final population (default `weighted`: the answer with the largest sum of
//! scores; copies vote once each). The reference code instead returns the particle with the
//! largest log weight (`selection_method = argmax`), which is `--selection best` here.
//!
//! **Failures**: a particle whose step fails (or panics, see [`super::guard`]) leaves the
//! population alone; the next resampling draws N again from the survivors.
//!
//! **Budget**: N particles cost about N generation-equivalents (each particle writes one
//! solution, step by step), like beam search with N beams.
//!
//! **Live changes** (applied at the next step boundary): the weight temperature, the ESS
//! threshold, max depth, and N (from the next resampling).

use tokio::sync::mpsc;

use super::context::RunContext;
use super::engine::Shared;
use super::guard::guarded;
use super::resample::{self, Rng, Scheme};
use super::search::{child_seed, expand, finish_path, tiebreak, Beam, Child, Expand, Mode, Plan};
use super::select::select_seeded;
use crate::event::{Event, ParticleCopy};
use crate::model::GenError;
use crate::spec::{limits, Candidate, Command, NodeId, ResampleKind};

/// One particle of the population.
#[derive(Debug, Clone)]
struct Particle {
    beam: Beam,
    finished: bool,
    /// The aggregation of the prefix's step scores (unscored steps skipped).
    key: Option<f64>,
}

/// Knobs that live changes may turn.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Knobs {
    n: usize,
    max_depth: u32,
    temp: f64,
    threshold: f64,
}

/// Run particle filtering to the end.
pub async fn run(ctx: RunContext, mut commands: mpsc::UnboundedReceiver<Command>) {
    let cfg = ctx.config.clone();
    let cancel = ctx.cancel.clone();
    let (shared, pause) = Shared::new(ctx);
    let mut knobs = Knobs {
        n: cfg.n.max(1),
        max_depth: cfg.max_depth.max(1),
        temp: cfg.particles.temp,
        threshold: cfg.particles.ess_threshold,
    };
    let scheme = match cfg.particles.resample {
        ResampleKind::Systematic => Scheme::Systematic,
        ResampleKind::Multinomial => Scheme::Multinomial,
    };
    let root = Beam {
        node: None,
        steps: cfg.prefix.clone(),
        scores: vec![None; cfg.prefix.len()],
        tokens: 0,
        subtree: 0,
        complete: false,
        logprobs: vec![crate::verify::StepLogprobs::from(Vec::new()); cfg.prefix.len()],
    };
    let mut population: Vec<Particle> = vec![Particle { beam: root, finished: false, key: None }; knobs.n];
    let mut next_id: NodeId = shared.ctx.first_node;
    let mut pool: Vec<Candidate> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let start_depth = cfg.prefix.len() as u32;
    let mut round: u32 = 0;
    while population.iter().any(|p| !p.finished) && !cancel.is_cancelled() {
        while let Ok(c) = commands.try_recv() {
            apply(&shared, &mut knobs, &pause, c, start_depth + round);
        }
        if !shared.wait_unpaused(&cancel).await {
            break;
        }
        // Propagate: one step for every open particle.
        let mut jobs = Vec::new();
        let open: Vec<(usize, &Particle)> =
            population.iter().enumerate().filter(|(_, p)| !p.finished).collect();
        // Neighbouring particles on the same path (the first round's, copies of one ancestor
        // side by side) continue it with consecutive seeds: samples of one prompt.
        let at_max = |p: &Particle| p.beam.steps.len() as u32 >= knobs.max_depth;
        let members: Vec<_> = open
            .iter()
            .enumerate()
            .map(|(i, (_, p))| (child_seed(cfg.seed, next_id + i as NodeId), (&p.beam.steps, at_max(p))))
            .collect();
        let groups = super::group::groups(&members);
        for ((slot, p), group) in open.into_iter().zip(groups) {
            let node = next_id;
            next_id += 1;
            let at_max = at_max(p);
            let plan = Plan {
                mode: if at_max { Mode::ToEnd } else { Mode::Step },
                reason: if at_max { "max_depth" } else { "stop" },
                lookahead: 0,
                group,
            };
            let job = expand(shared.clone(), node, p.beam.clone(), plan, cfg.seed, cfg.temperature);
            let shared = shared.clone();
            jobs.push(async move {
                let r = guarded(job).await.unwrap_or_else(|msg| {
                    shared.ctx.sink.emit(Event::NodeFailed { node, error: msg.clone() });
                    shared.budget(|b| b.failed());
                    Err(Expand::Panicked(msg))
                });
                (slot, r)
            });
        }
        let results = futures::future::join_all(jobs).await;
        let mut gone = vec![false; population.len()];
        for (slot, r) in results {
            match r {
                Ok(Child { node, beam, finished, key, reason }) => {
                    if finished {
                        finish_path(&shared, node, &beam, reason, &mut Vec::new());
                    }
                    population[slot] = Particle { beam, finished, key };
                }
                Err(e) => {
                    gone[slot] = true;
                    match e {
                        Expand::Gen(GenError::Cancelled) => {}
                        Expand::Gen(e) => errors.push(e.to_string()),
                        Expand::Panicked(msg) => errors.push(msg),
                    }
                }
            }
        }
        let mut slot = 0;
        population.retain(|_| {
            slot += 1;
            !gone[slot - 1]
        });
        if population.is_empty() || cancel.is_cancelled() {
            break;
        }
        round += 1;
        // Weigh.
        let logw: Vec<f64> = population.iter().map(|p| resample::log_weight(p.key)).collect();
        let w = resample::normalise(&logw, knobs.temp);
        let ess = resample::ess(&w);
        let node_of = |p: &Particle| p.beam.node.unwrap_or(NodeId::MAX);
        shared.ctx.sink.emit(Event::Weights {
            round,
            weights: population.iter().map(node_of).zip(w.iter().copied()).collect(),
            ess,
        });
        let ranks = rank_by_weight(&population, &w, cfg.seed);
        let open = population.iter().any(|p| !p.finished);
        if open && resample::should_resample(ess, population.len(), knobs.threshold) {
            let drawn = resample::resample(&w, knobs.n, scheme, &mut Rng::for_round(cfg.seed, round));
            let ancestors = resample::assign(&drawn, population.len(), knobs.n);
            let counts = resample::counts(&drawn, population.len());
            // Survivors are kept, particles not drawn are dropped.
            for (i, p) in population.iter().enumerate() {
                let node = node_of(p);
                if counts[i] == 0 {
                    shared.ctx.sink.emit(Event::NodePruned { node, rank: ranks[i], score: p.key });
                } else if !p.finished {
                    shared.ctx.sink.emit(Event::NodeKept { node, rank: ranks[i], score: p.key });
                }
            }
            let mut copies = Vec::new();
            let mut next = Vec::with_capacity(ancestors.len());
            for (slot, &a) in ancestors.iter().enumerate() {
                let src = &population[a];
                if slot == a {
                    next.push(src.clone());
                    continue;
                }
                let over = population.get(slot).map(node_of);
                let mut p = src.clone();
                let copy = if src.finished {
                    let id = next_id;
                    next_id += 1;
                    copy_finished(&shared, id, src);
                    p.beam.node = Some(id);
                    Some(id)
                } else {
                    None
                };
                copies.push(ParticleCopy { from: node_of(src), over, copy });
                next.push(p);
            }
            shared.ctx.sink.emit(Event::Resampled { round, copies });
            population = next;
        } else {
            for (i, p) in population.iter().enumerate().filter(|(_, p)| !p.finished) {
                shared.ctx.sink.emit(Event::NodeKept { node: node_of(p), rank: ranks[i], score: p.key });
            }
        }
        shared.ctx.sink.emit(Event::RoundFinished {
            depth: start_depth + round,
            alive: population.iter().filter(|p| !p.finished).count() as u32,
            finished: population.iter().filter(|p| p.finished).count() as u32,
        });
        shared.ctx.sink.emit(Event::Budget(shared.budget_now()));
    }
    // Particles still open end only on cancel (or when every other one failed).
    for p in population.iter().filter(|p| !p.finished) {
        if let Some(node) = p.beam.node {
            shared.ctx.sink.emit(Event::NodeCancelled { node });
        }
    }
    for p in population.iter().filter(|p| p.finished) {
        if let Some(node) = p.beam.node {
            let answer = super::engine::path_answer(&p.beam.steps);
            let score = cfg.aggregation.apply(p.beam.scores.iter().copied());
            pool.push(Candidate { node, answer, score });
        }
    }
    pool.sort_by_key(|c| c.node);
    let sel =
        select_seeded(&pool, cfg.selection, cfg.aggregation, shared.ctx.problem.gold.as_deref(), cfg.seed);
    let produced = pool.len();
    shared.finish(sel, produced, &errors);
}

/// Each particle's rank by weight (0 = heaviest), ties by the run's seed.
fn rank_by_weight(population: &[Particle], w: &[f64], seed: u64) -> Vec<u32> {
    let mut order: Vec<usize> = (0..population.len()).collect();
    let node = |i: usize| population[i].beam.node.unwrap_or(NodeId::MAX);
    order.sort_by(|&a, &b| {
        w[b].partial_cmp(&w[a])
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(tiebreak(seed, node(a)).cmp(&tiebreak(seed, node(b))))
    });
    let mut ranks = vec![0; population.len()];
    for (r, i) in order.into_iter().enumerate() {
        ranks[i] = r as u32;
    }
    ranks
}

/// A finished particle's copy: a new finished node under the original, with its answer and
/// score and no tokens of its own (nothing was generated).
fn copy_finished(shared: &Shared, id: NodeId, src: &Particle) {
    let ctx = &shared.ctx;
    ctx.sink.emit(Event::NodeStarted {
        node: id,
        parent: src.beam.node,
        seed: None,
        depth: src.beam.steps.len().saturating_sub(1) as u32,
        chain: None,
        revision: None,
    });
    let answer = super::engine::path_answer(&src.beam.steps);
    ctx.sink.emit(Event::NodeFinished {
        node: id,
        correct: shared.grade(&answer),
        answer,
        score: ctx.config.aggregation.apply(src.beam.scores.iter().copied()),
        tokens: 0,
        done_reason: "resampled".into(),
    });
}

/// Apply a live change and say what took effect.
fn apply(shared: &Shared, k: &mut Knobs, pause: &tokio::sync::watch::Sender<bool>, c: Command, depth: u32) {
    let what = match c {
        Command::Pause(p) => {
            let _ = pause.send(p);
            return;
        }
        Command::SetParticleTemp(t) => {
            let (lo, hi) = (*limits::PARTICLE_TEMP.start(), *limits::PARTICLE_TEMP.end());
            k.temp = if t.is_nan() { k.temp } else { t.clamp(lo, hi) };
            format!("weight temperature T = {}", k.temp)
        }
        Command::SetEssThreshold(x) => {
            k.threshold = if x.is_nan() { k.threshold } else { x.clamp(0.0, 1.0) };
            format!("ESS threshold = {} × N", k.threshold)
        }
        Command::SetDepth(d) => {
            k.max_depth = d.max(1);
            format!("max depth = {}", k.max_depth)
        }
        Command::SetN(n) => {
            k.n = n.max(1);
            format!("N = {} (the population takes it at the next resampling)", k.n)
        }
        other => format!("{other:?} does not apply to particles"),
    };
    shared.ctx.sink.emit(Event::Applied { change: format!("{what} from depth {}", depth + 1) });
}

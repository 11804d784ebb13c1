//! Particle filtering pinned with a scripted generator and verifier: exact resampling with a
//! fixed seed, the ESS threshold, finished particles keeping their weight, the weighted vote
//! over the final population, failures, and live knobs at the step boundary.

use std::sync::Arc;

use super::tests_harness::{commanding_verifier, gen, run_with, value_verifier};
use crate::event::{Event, NodeId, ParticleCopy};
use crate::scripted::ScriptedGenerator;
use crate::spec::{ParticleSettings, ResampleKind};
use crate::strategy::resample::{self, Rng, Scheme};
use crate::strategy::{Command, RunConfig, SelectionRule, StrategyKind};
use crate::tree::{NodeStatus, RunTree};

fn cfg(n: usize, temp: f64, threshold: f64) -> RunConfig {
    RunConfig {
        strategy: StrategyKind::Particles,
        n,
        max_depth: 10,
        particles: ParticleSettings { temp, resample: ResampleKind::Systematic, ess_threshold: threshold },
        ..RunConfig::default()
    }
}

async fn run_to_end(cfg: RunConfig, gen: Arc<ScriptedGenerator>) -> (Vec<Event>, RunTree) {
    run_with(cfg, gen, value_verifier(), None).await
}

/// One `Weights` event: round, (node, weight) in population order, ESS.
type Weighed = (u32, Vec<(NodeId, f64)>, f64);

fn weights(events: &[Event]) -> Vec<Weighed> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Weights { round, weights, ess } => Some((*round, weights.clone(), *ess)),
            _ => None,
        })
        .collect()
}

fn resampled(events: &[Event]) -> Vec<(u32, Vec<ParticleCopy>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Resampled { round, copies } => Some((*round, copies.clone())),
            _ => None,
        })
        .collect()
}

fn parent(tree: &RunTree, node: NodeId) -> Option<NodeId> {
    tree.nodes[node as usize].parent
}

/// Two strong particles (even seeds, v90) and two weak ones (odd seeds, v1), then an answer.
fn strong_and_weak() -> Arc<ScriptedGenerator> {
    gen(|seed, prefix| {
        if prefix.is_empty() {
            format!("s{seed} v{}", if seed % 2 == 0 { 90 } else { 1 })
        } else {
            "The answer is \\boxed{1}. v50".to_string()
        }
    })
}

#[tokio::test]
async fn systematic_resampling_copies_the_strong_over_the_weak() {
    let (events, tree) = run_to_end(cfg(4, 1.0, 1.0), strong_and_weak()).await;
    let w = weights(&events);
    assert_eq!(w[0].0, 1);
    assert_eq!(w[0].1.iter().map(|p| p.0).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
    // Odds 9 : 1/99: each strong particle holds almost half the weight; ESS is about 2.
    assert!((w[0].1[0].1 - 0.4994).abs() < 1e-3, "{:?}", w[0]);
    assert!((w[0].2 - 2.0).abs() < 0.01, "ESS {}", w[0].2);
    let r = resampled(&events);
    assert_eq!(
        r[0],
        (
            1,
            vec![
                ParticleCopy { from: 0, over: Some(1), copy: None },
                ParticleCopy { from: 2, over: Some(3), copy: None },
            ]
        )
    );
    // The weak particles are pruned; the copies are the next round's children of the strong ones.
    assert_eq!(tree.nodes[1].status, NodeStatus::Pruned);
    assert_eq!(tree.nodes[3].status, NodeStatus::Pruned);
    assert_eq!(
        (4..8).map(|n| parent(&tree, n)).collect::<Vec<_>>(),
        vec![Some(0); 2].into_iter().chain(vec![Some(2); 2]).collect::<Vec<_>>()
    );
    assert_eq!(tree.selected.as_deref(), Some("1"));
    let p = tree.particles.as_ref().expect("the tree folds the particles");
    assert_eq!((p.round, p.resamplings), (2, 1), "no resampling once every particle is finished");
    assert_eq!(p.copies.len(), 2);
}

#[tokio::test]
async fn multinomial_resampling_is_exact_for_a_seed() {
    // Uneven weights from the seed: particle i scores v(10 + 20·i).
    let g = || {
        gen(|seed, prefix| {
            if prefix.is_empty() {
                format!("s{seed} v{}", 10 + 20 * (seed % 5))
            } else {
                "The answer is \\boxed{1}. v50".to_string()
            }
        })
    };
    for seed in [0u64, 7, 123] {
        let c = RunConfig {
            seed,
            particles: ParticleSettings { resample: ResampleKind::Multinomial, ..cfg(5, 1.0, 1.0).particles },
            ..cfg(5, 1.0, 1.0)
        };
        let (events, tree) = run_to_end(c.clone(), g()).await;
        let w = weights(&events);
        let (round, nodes_w, _) = &w[0];
        let ws: Vec<f64> = nodes_w.iter().map(|p| p.1).collect();
        // What the pure functions say this seed draws, slot by slot.
        let drawn = resample::resample(&ws, 5, Scheme::Multinomial, &mut Rng::for_round(seed, *round));
        let slots = resample::assign(&drawn, 5, 5);
        let expect: Vec<ParticleCopy> = slots
            .iter()
            .enumerate()
            .filter(|(s, a)| s != *a)
            .map(|(s, a)| ParticleCopy { from: nodes_w[*a].0, over: Some(nodes_w[s].0), copy: None })
            .collect();
        assert_eq!(resampled(&events)[0], (1, expect.clone()), "seed {seed}");
        // Round 2's children descend from the drawn particles, slot by slot.
        let parents: Vec<_> = (5..10).map(|n| parent(&tree, n).unwrap()).collect();
        let want: Vec<NodeId> = slots.iter().map(|a| nodes_w[*a].0).collect();
        assert_eq!(parents, want, "seed {seed}");
        // The same seed gives the same run.
        let (again, _) = run_to_end(c, g()).await;
        assert_eq!(resampled(&again), resampled(&events), "seed {seed}");
    }
}

#[tokio::test]
async fn even_weights_do_not_resample_under_a_threshold() {
    let g = || {
        gen(|seed, prefix| {
            if prefix.len() < 3 {
                format!("s{seed} d{} v50", prefix.len())
            } else {
                "The answer is \\boxed{1}. v50".to_string()
            }
        })
    };
    let (events, tree) = run_to_end(cfg(4, 1.0, 0.5), g()).await;
    let w = weights(&events);
    assert_eq!(w.len(), 4);
    assert!(w
        .iter()
        .all(|(_, ws, ess)| (ess - 4.0).abs() < 1e-9 && ws.iter().all(|p| (p.1 - 0.25).abs() < 1e-12)));
    assert!(resampled(&events).is_empty(), "ESS = N never falls below 0.5·N");
    assert!(tree.nodes.iter().all(|n| n.status != NodeStatus::Pruned));
    // Threshold 1 resamples every round, and systematic resampling of even weights keeps
    // every particle once: no copies.
    let (events, _) = run_to_end(cfg(4, 1.0, 1.0), g()).await;
    let r = resampled(&events);
    assert_eq!(r.iter().map(|x| x.0).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert!(r.iter().all(|x| x.1.is_empty()), "{r:?}");
}

#[tokio::test]
async fn uneven_weights_resample_once_ess_falls_below_the_threshold() {
    // Round 1 is even (ESS 4); round 2 gives particle 0's line all the weight.
    let g = gen(|seed, prefix| match prefix.len() {
        0 => format!("s{seed} v50"),
        1 => format!("t{seed} v{}", if seed == 4 { 99 } else { 1 }),
        _ => "The answer is \\boxed{1}. v50".to_string(),
    });
    let (events, _) = run_to_end(cfg(4, 1.0, 0.5), g).await;
    let w = weights(&events);
    assert!((w[0].2 - 4.0).abs() < 1e-9 && w[1].2 < 2.0, "{w:?}");
    let r = resampled(&events);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].0, 2);
    assert!(r[0].1.iter().all(|c| c.from == 4), "{r:?}");
}

#[tokio::test]
async fn finished_particles_keep_their_weight_and_are_not_advanced() {
    // Particle 0 finishes at once with v80; the others take one more step at v50.
    let g = gen(|seed, prefix| {
        if prefix.is_empty() && seed == 0 {
            "The answer is \\boxed{1}. v80".to_string()
        } else if prefix.is_empty() {
            format!("s{seed} v50")
        } else {
            "The answer is \\boxed{2}. v50".to_string()
        }
    });
    let (events, tree) = run_to_end(cfg(4, 1.0, 0.0), g).await;
    let w = weights(&events);
    assert_eq!(w.len(), 2);
    // Odds 4 : 1 : 1 : 1 in both rounds: particle 0 is weighed by its last score.
    for (_, ws, _) in &w {
        assert_eq!(ws[0].0, 0);
        assert!((ws[0].1 - 4.0 / 7.0).abs() < 1e-9, "{ws:?}");
    }
    assert!(tree.nodes.iter().all(|n| n.parent != Some(0)), "a finished particle gets no child");
    assert_eq!(generated(&tree), 4 + 3);
    // Weighted vote: "2" has 3 × 0.5 against "1"'s 0.8.
    assert_eq!(tree.selected.as_deref(), Some("2"));
}

/// Nodes that were generated (not copies made by resampling).
fn generated(tree: &RunTree) -> usize {
    tree.nodes.iter().filter(|n| n.done_reason.as_deref() != Some("resampled")).count()
}

#[tokio::test]
async fn finished_particles_are_copied_or_dropped_and_the_vote_follows() {
    // Round 1: particle 0 answers 7 with v99, particle 1 answers 3 with v1, the rest go on.
    let g = gen(|seed, prefix| match (prefix.len(), seed) {
        (0, 0) => "The answer is \\boxed{7}. v99".to_string(),
        (0, 1) => "The answer is \\boxed{3}. v1".to_string(),
        (0, _) => format!("s{seed} v50"),
        _ => "The answer is \\boxed{5}. v50".to_string(),
    });
    let (events, tree) = run_to_end(cfg(4, 1.0, 1.0), g).await;
    let r = resampled(&events);
    assert_eq!(r[0].0, 1);
    // Particle 0 holds 98% of the weight: every slot that is not its own takes a copy of it.
    assert!(r[0].1.iter().all(|c| c.from == 0 && c.copy.is_some()), "{r:?}");
    assert_eq!(tree.nodes[1].status, NodeStatus::Pruned, "the weak finished particle is dropped");
    for c in &r[0].1 {
        let n = &tree.nodes[c.copy.unwrap() as usize];
        assert_eq!(
            (n.parent, n.answer.as_deref(), n.tokens, n.status),
            (Some(0), Some("7"), 0, NodeStatus::Done)
        );
    }
    let sel = tree.selection.clone().unwrap();
    assert_eq!(sel.selected.as_deref(), Some("7"));
    assert!(sel.answers.iter().all(|a| a.answer != "3"), "a dropped particle does not vote");
    assert_eq!(sel.answers[0].votes as usize, 1 + r[0].1.len(), "copies vote");
    // The tree selects again exactly as the run did.
    assert_eq!(tree.reselect(SelectionRule::Weighted, tree.info.as_ref().unwrap().config.aggregation), sel);
}

#[tokio::test]
async fn unscored_steps_keep_the_previous_weight() {
    let g = gen(|seed, prefix| match prefix.len() {
        0 => format!("s{seed} v{}", if seed == 0 { 90 } else { 50 }),
        1 => format!("t{seed} (no score)"),
        _ => "The answer is \\boxed{1}. v50".to_string(),
    });
    let (events, _) = run_to_end(cfg(2, 1.0, 0.0), g).await;
    let w = weights(&events);
    // Round 2 left every step unscored: the weights are round 1's (odds 9 : 1).
    assert!((w[0].1[0].1 - 0.9).abs() < 1e-9 && (w[1].1[0].1 - 0.9).abs() < 1e-9, "{w:?}");
}

#[tokio::test]
async fn a_failed_particle_is_replaced_at_the_next_resampling() {
    let g = gen(|seed, prefix| {
        if seed == 1 {
            panic!("boom");
        }
        if prefix.is_empty() {
            format!("s{seed} v50")
        } else {
            "The answer is \\boxed{1}. v50".to_string()
        }
    });
    let (events, tree) = run_to_end(cfg(3, 1.0, 1.0), g).await;
    assert_eq!(tree.nodes[1].status, NodeStatus::Failed);
    let w = weights(&events);
    assert_eq!(w[0].1.iter().map(|p| p.0).collect::<Vec<_>>(), vec![0, 2]);
    let r = resampled(&events);
    assert_eq!(r[0].1.len(), 1);
    assert_eq!(r[0].1[0].over, None, "the population grows back to N");
    assert_eq!(w[1].1.len(), 3);
    assert_eq!(tree.selected.as_deref(), Some("1"));
}

#[tokio::test]
async fn knobs_apply_at_the_next_step_boundary() {
    let g = gen(|seed, prefix| match prefix.len() {
        0 | 1 => format!("s{seed} d{} v{}", prefix.len(), if seed % 2 == 0 { 70 } else { 30 }),
        _ => "The answer is \\boxed{1}. v50".to_string(),
    });
    let (ver, holder) = commanding_verifier(vec![
        Command::SetParticleTemp(0.5),
        Command::SetEssThreshold(0.0),
        Command::SetWidth(3),
    ]);
    let (events, tree) = run_with(cfg(4, 1.0, 1.0), g, ver, Some(holder)).await;
    assert_eq!(
        tree.applied,
        vec![
            "weight temperature T = 0.5 from depth 2".to_string(),
            "ESS threshold = 0 × N from depth 2".to_string(),
            "SetWidth(3) does not apply to particles from depth 2".to_string(),
        ]
    );
    let w = weights(&events);
    // Round 1 at T = 1 (odds 7/3 : 3/7), round 2 at T = 0.5 (squared odds), no resampling after it.
    let odds = |ws: &[(NodeId, f64)]| {
        let max = ws.iter().map(|p| p.1).fold(0.0, f64::max);
        let min = ws.iter().map(|p| p.1).fold(1.0, f64::min);
        max / min
    };
    let r1 = (7.0f64 / 3.0).powi(2);
    assert!((odds(&w[0].1) - r1).abs() < 1e-6, "{w:?}");
    assert_eq!(resampled(&events).iter().map(|r| r.0).collect::<Vec<_>>(), vec![1]);
    // Round 2's children of the same line compare at T = 0.5: the ratio squares.
    let ratios: Vec<f64> = w[1].1.iter().map(|p| p.1).collect();
    let (hi, lo) = (ratios.iter().copied().fold(0.0, f64::max), ratios.iter().copied().fold(1.0, f64::min));
    assert!(lo < hi && (hi / lo - r1 * r1).abs() < 1e-6, "{ratios:?}");
}

#[test]
fn particle_events_round_trip_as_json() {
    let e = Event::Resampled { round: 2, copies: vec![ParticleCopy { from: 7, over: Some(12), copy: None }] };
    let j = serde_json::to_string(&e).unwrap();
    assert_eq!(j, r#"{"event":"resampled","round":2,"copies":[{"from":7,"over":12}]}"#);
    assert_eq!(serde_json::from_str::<Event>(&j).unwrap(), e);
    let e = Event::Weights { round: 1, weights: vec![(0, 0.75), (1, 0.25)], ess: 1.6 };
    let j = serde_json::to_string(&e).unwrap();
    assert_eq!(j, r#"{"event":"weights","round":1,"weights":[[0,0.75],[1,0.25]],"ess":1.6}"#);
    assert_eq!(serde_json::from_str::<Event>(&j).unwrap(), e);
}

#[test]
fn a_policy_table_may_choose_particles_with_their_knobs() {
    let mut text = String::new();
    for bin in 1..=5 {
        text += &format!(
            "[[bins]]\nbin = {bin}\nstrategy = \"particles\"\nreason = \"r\"\nparticles = {{ temp = 0.5, ess_threshold = 0.25 }}\n\n"
        );
    }
    let t = crate::spec::PolicyTable::parse(&text, "test").unwrap();
    let e = t.lookup(3);
    assert_eq!(e.strategy, StrategyKind::Particles);
    let p = e.particles.unwrap();
    assert_eq!((p.temp, p.ess_threshold, p.resample), (0.5, 0.25, ResampleKind::Systematic));
    let bad = text.replace("temp = 0.5", "temp = 50.0");
    let err = crate::spec::PolicyTable::parse(&bad, "test").unwrap_err();
    assert!(err.contains("particles.temp") && err.contains("0.05..=20"), "{err}");
}

#[tokio::test]
async fn adaptive_runs_particles_when_the_policy_says_so() {
    let mut text = String::new();
    for bin in 1..=5 {
        text += &format!("[[bins]]\nbin = {bin}\nstrategy = \"particles\"\nreason = \"r\"\n\n");
    }
    let policy = crate::spec::PolicyTable::parse(&text, "test").unwrap();
    let c = RunConfig { strategy: StrategyKind::Adaptive, n: 8, policy: Some(policy), ..cfg(8, 1.0, 1.0) };
    let g = gen(|seed, prefix| {
        if prefix.is_empty() {
            format!("s{seed} v60")
        } else {
            "The answer is \\boxed{1}. v60".to_string()
        }
    });
    let (events, tree) = run_to_end(c, g).await;
    assert_eq!(tree.difficulty.as_ref().map(|d| d.strategy), Some(StrategyKind::Particles));
    assert!(!weights(&events).is_empty(), "the particles ran");
    assert_eq!(tree.selected.as_deref(), Some("1"));
}

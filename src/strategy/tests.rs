//! Deterministic strategy tests with a scripted generator and verifier.

use std::sync::{Arc, Mutex};

use crate::event::{Event, NodeId};
use crate::problem::Problem;
use crate::run::{start, SolvePrompt};
use crate::scripted::{ScriptInput, ScriptedGenerator, ScriptedVerifier};
use crate::strategy::{Command, RevisionSelection, RunConfig, StrategyKind};
use crate::tree::{NodeStatus, RunTree};
use crate::verify::Verifier;

/// Step `d` of a path written with `seed`: "s<seed> d<d> v<value>"; the
/// value is what the scripted verifier reads back as the score.
fn step_script(
    final_at: usize,
    value: impl Fn(i64, usize) -> u32 + Send + Sync + 'static,
) -> ScriptedGenerator {
    ScriptedGenerator::new(move |i: &ScriptInput| {
        let d = i.prefix.len();
        if d + 1 >= final_at {
            format!("The answer is \\boxed{{{}}}.", i.seed % 3)
        } else {
            format!("s{} d{} v{}\n\nmore", i.seed, d, value(i.seed, d))
        }
    })
}

/// Scores the last step by the `v<value>` it carries, as value/100.
fn value_verifier() -> ScriptedVerifier {
    ScriptedVerifier::new(|path: &[String]| {
        let last = path.last()?;
        let v = last.split_whitespace().find_map(|w| w.strip_prefix('v'))?.parse::<f64>().ok()?;
        Some(v / 100.0)
    })
}

async fn run_to_end(
    cfg: RunConfig,
    gen: Arc<ScriptedGenerator>,
    ver: Arc<dyn Verifier>,
    commands: Vec<Command>,
) -> (Vec<Event>, RunTree) {
    let mut h = start(Problem::inline("Count.", Some("1".into())), cfg, gen, ver, SolvePrompt::bundled());
    for c in commands {
        h.commands.send(c).unwrap();
    }
    let mut events = Vec::new();
    let mut tree = RunTree::new();
    while let Some(e) = h.events.recv().await {
        tree.apply(&e);
        events.push(e);
    }
    (events, tree)
}

fn kept_pruned(events: &[Event]) -> Vec<(NodeId, u32, bool)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::NodeKept { node, rank, .. } => Some((*node, *rank, true)),
            Event::NodePruned { node, rank, .. } => Some((*node, *rank, false)),
            _ => None,
        })
        .collect()
}

fn cfg(strategy: StrategyKind, n: usize, width: usize) -> RunConfig {
    RunConfig { strategy, n, width, max_depth: 10, ..RunConfig::default() }
}

#[tokio::test]
async fn beam_search_keeps_the_top_n_over_m_in_score_order() {
    // Depth-0 scores by seed: 0→20, 1→90, 2→50, 3→70. Later steps score 50.
    let gen =
        Arc::new(step_script(3, |seed, d| if d == 0 { [20, 90, 50, 70][seed as usize % 4] } else { 50 }));
    let (events, tree) =
        run_to_end(cfg(StrategyKind::Beam, 4, 2), gen.clone(), Arc::new(value_verifier()), vec![]).await;
    let marks = kept_pruned(&events);
    // Round 0: N=4 children, keep N/M = 2: node 1 (0.9) then 3 (0.7); prune 2 then 0.
    assert_eq!(&marks[..4], &[(1, 0, true), (3, 1, true), (2, 2, false), (0, 3, false)]);
    // Round 1: each survivor expands M = 2 times: nodes 4,5 under 1 and 6,7 under 3.
    let parents: Vec<(NodeId, Option<NodeId>)> =
        tree.nodes[4..8].iter().map(|n| (n.node, n.parent)).collect();
    assert_eq!(parents, vec![(4, Some(1)), (5, Some(1)), (6, Some(3)), (7, Some(3))]);
    // Ties at 0.5 (by the default `last` aggregation) are broken with the run's seed: two
    // of the four are kept, in rank order.
    let ranks: Vec<(u32, bool)> = marks[4..8].iter().map(|m| (m.1, m.2)).collect();
    assert_eq!(ranks, vec![(0, true), (1, true), (2, false), (3, false)]);
    assert!(marks[4..8].iter().all(|m| (4..8).contains(&m.0)));
    // Round 2 writes final answers; a child's path holds its ancestors' steps.
    let done: Vec<_> = tree.nodes.iter().filter(|n| n.status == NodeStatus::Done).collect();
    assert_eq!(done.len(), 4);
    let first = |n: &&crate::tree::NodeView| {
        n.steps[0].text.starts_with("s1 d0") || n.steps[0].text.starts_with("s3 d0")
    };
    assert!(done.iter().all(|n| n.steps.len() == 3 && first(n)));
    assert_eq!(tree.budget.policy_requests, 4 + 4 + 4);
    assert!(tree.selected.is_some());
    assert!(events.iter().any(|e| matches!(e, Event::RoundFinished { depth: 2, .. })));
}

#[tokio::test]
async fn dvts_subtrees_are_independent() {
    // Subtree 0 holds seeds 0,1 (scores 90, 80); subtree 1 holds seeds 2,3 (10, 20).
    // Beam search would keep both of subtree 0; DVTS keeps the best of each.
    let gen =
        Arc::new(step_script(2, |seed, d| if d == 0 { [90, 80, 10, 20][seed as usize % 4] } else { 50 }));
    let (events, tree) =
        run_to_end(cfg(StrategyKind::Dvts, 4, 2), gen, Arc::new(value_verifier()), vec![]).await;
    let marks = kept_pruned(&events);
    assert_eq!(&marks[..4], &[(0, 0, true), (1, 1, false), (3, 0, true), (2, 1, false)]);
    // Each kept node expands M times within its own subtree.
    let parents: Vec<Option<NodeId>> = tree.nodes[4..8].iter().map(|n| n.parent).collect();
    assert_eq!(parents, vec![Some(0), Some(0), Some(3), Some(3)]);

    let gen =
        Arc::new(step_script(2, |seed, d| if d == 0 { [90, 80, 10, 20][seed as usize % 4] } else { 50 }));
    let (events, _) =
        run_to_end(cfg(StrategyKind::Beam, 4, 2), gen, Arc::new(value_verifier()), vec![]).await;
    assert_eq!(&kept_pruned(&events)[..2], &[(0, 0, true), (1, 1, true)]);
}

#[tokio::test]
async fn lookahead_costs_n_times_k_plus_one_step_generations() {
    // Never finishes by itself: one round with max depth 1 shows the arithmetic, then the
    // N/M = 2 kept beams are completed at max depth: that round writes its N = 4 children
    // (M per kept beam) to the end, one request each, two new steps scored each.
    for k in [1u32, 3] {
        let gen = Arc::new(step_script(usize::MAX, |_, _| 50));
        let c = RunConfig { lookahead: k, max_depth: 1, ..cfg(StrategyKind::Lookahead, 4, 2) };
        let (_, tree) = run_to_end(c, gen.clone(), Arc::new(value_verifier()), vec![]).await;
        assert_eq!(gen.requests(), 4 * (k as u64 + 1) + 4, "k = {k}");
        assert_eq!(tree.budget.policy_requests, 4 * (k as u64 + 1) + 4);
        assert_eq!(tree.budget.verifier_calls, 4 + 4 * 2, "one score per candidate step, after its rollout");
    }
}

#[tokio::test]
async fn lookahead_scores_a_step_by_where_its_rollout_leads() {
    // The step itself scores 0; its greedy continuation scores by seed.
    let gen = Arc::new(ScriptedGenerator::new(|i: &ScriptInput| {
        let d = i.prefix.len();
        let v = if d == 0 {
            0
        } else if i.temperature == 0.0 {
            10 * (i.seed % 10)
        } else {
            0
        };
        format!("s{} d{d} v{v}", i.seed)
    }));
    let c = RunConfig { lookahead: 1, max_depth: 1, ..cfg(StrategyKind::Lookahead, 4, 2) };
    let (events, _) = run_to_end(c, gen, Arc::new(value_verifier()), vec![]).await;
    // Seeds 0..3 roll out to 0, 10, 20, 30: node 3 ranks first.
    assert_eq!(&kept_pruned(&events)[..2], &[(3, 0, true), (2, 1, true)]);
}

#[tokio::test]
async fn live_changes_apply_at_the_next_step_boundary() {
    let tx_holder = Arc::new(Mutex::new(None::<tokio::sync::mpsc::UnboundedSender<Command>>));
    let sender = tx_holder.clone();
    // The verifier asks for width 4 while round 0 is being scored.
    let ver = ScriptedVerifier::new(move |path: &[String]| {
        if path.len() == 1 {
            if let Some(tx) = sender.lock().unwrap().take() {
                let _ = tx.send(Command::SetWidth(4));
            }
        }
        Some(0.5)
    });
    let gen = Arc::new(step_script(3, |_, _| 50));
    let mut h = start(
        Problem::inline("Count.", None),
        cfg(StrategyKind::Beam, 4, 2),
        gen,
        Arc::new(ver),
        SolvePrompt::bundled(),
    );
    *tx_holder.lock().unwrap() = Some(h.commands.clone());
    let mut tree = RunTree::new();
    let mut events = Vec::new();
    while let Some(e) = h.events.recv().await {
        tree.apply(&e);
        events.push(e);
    }
    // Round 0 had already started: 4 children, keep 4/2 = 2. From depth 1 on,
    // width 4 means keep 4/4 = 1 and 4 children per kept beam; the round at depth 1 still
    // expands the 2 beams kept at depth 0, but never into more than N = 4 children.
    let applied: Vec<&String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Applied { change } => Some(change),
            _ => None,
        })
        .collect();
    assert_eq!(applied, vec!["width M = 4 from depth 2"]);
    let at = |d: u32| tree.nodes.iter().filter(|n| n.depth == d).count();
    assert_eq!((at(0), at(1), at(2)), (4, 4, 4));
}

#[tokio::test]
async fn revisions_chain_their_attempts() {
    // Each attempt's answer is its revision index; the prompt must show earlier attempts.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let gen = Arc::new(ScriptedGenerator::new(move |i: &ScriptInput| {
        let rev = i.user.matches("Attempt ").count();
        s2.lock().unwrap().push(rev);
        format!("Think.\n\nThe answer is \\boxed{{{rev}}}.")
    }));
    let c = RunConfig {
        strategy: StrategyKind::Revise,
        chains: 2,
        revisions: 6,
        revision_selection: RevisionSelection::Majority,
        ..RunConfig::default()
    };
    let (_, tree) = run_to_end(c, gen, Arc::new(crate::verify::NoVerifier), vec![]).await;
    assert_eq!(tree.nodes.len(), 12);
    for n in &tree.nodes {
        let (chain, rev) = (n.chain.unwrap(), n.revision.unwrap());
        assert_eq!(n.node, rev * 2 + chain, "round-major numbering");
        // A revision sees at most 4 earlier attempts.
        assert_eq!(n.answer.as_deref(), Some(rev.min(4).to_string().as_str()));
    }
    let mut seen = seen.lock().unwrap().clone();
    seen.sort_unstable();
    assert_eq!(seen, vec![0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 4]);
    assert_eq!(tree.selected.as_deref(), Some("4"), "flat majority over all attempts");
}

#[tokio::test]
async fn adaptive_reports_its_estimate_and_runs_the_policy_choice() {
    // Probes score 0.9 → bin 1 → revisions (the hand-written policy).
    let gen = Arc::new(step_script(2, |_, _| 90));
    let ver = ScriptedVerifier::new(|_p: &[String]| Some(0.9));
    let table = crate::spec::PolicyTable::parse(crate::spec::HEURISTIC_POLICY, "heuristic").unwrap();
    let c = RunConfig { strategy: StrategyKind::Adaptive, n: 8, policy: Some(table), ..RunConfig::default() };
    let (events, tree) = run_to_end(c, gen, Arc::new(ver), vec![]).await;
    let d = tree.difficulty.clone().unwrap();
    assert_eq!((d.bin, d.strategy, d.method.as_str()), (1, StrategyKind::Revise, "model"));
    assert!(d.reason.contains("0.90") && d.reason.contains("bin 1"), "{}", d.reason);
    // Four probes, then 1 chain × the 4 revisions they left of N = 8, numbered after them.
    assert_eq!(tree.nodes.iter().filter(|n| n.chain.is_some()).count(), 4);
    assert_eq!(tree.nodes.iter().find(|n| n.chain.is_some()).unwrap().node, 4);
    assert_eq!(tree.budget.policy_requests, 8, "the probes count toward the budget");
    assert!(matches!(events.last(), Some(Event::RunFinished { error: None, .. })));
}

#[tokio::test]
async fn adaptive_bins_by_a_fitted_tables_edges_and_picks_by_the_runs_budget() {
    // Edges high enough that a 0.9 probe score is the hardest bin (fixed thresholds say bin 1).
    let mut toml = String::from(
        "version = 2\ndifficulty = \"model\"\nedges = [0.95, 0.96, 0.97, 0.98]\nbudgets = [1, 8]\n",
    );
    for bin in 1..=5 {
        for (budget, strategy, extra) in [(1, "best-of-n", ""), (8, "beam", "width = 2\n")] {
            toml += &format!(
                "[[bins]]\nbin = {bin}\nbudget = {budget}\nstrategy = \"{strategy}\"\n{extra}spec = \"{strategy}\"\nreason = \"fitted\"\n"
            );
        }
    }
    let table = crate::spec::PolicyTable::parse(&toml, "fitted.toml").unwrap();
    let gen = Arc::new(step_script(2, |_, _| 90));
    let ver = Arc::new(ScriptedVerifier::new(|_p: &[String]| Some(0.9)));
    for (n, want) in [(8, StrategyKind::Beam), (4, StrategyKind::BestOfN)] {
        let c = RunConfig {
            strategy: StrategyKind::Adaptive,
            n,
            policy: Some(table.clone()),
            ..RunConfig::default()
        };
        let (_, tree) = run_to_end(c, gen.clone(), ver.clone(), vec![]).await;
        let d = tree.difficulty.clone().unwrap();
        assert_eq!((d.bin, d.strategy), (5, want), "N = {n}: {}", d.reason);
    }
}

#[tokio::test]
async fn adaptive_reuses_its_probes_as_best_of_n_candidates() {
    let mut toml =
        String::from("version = 2\ndifficulty = \"model\"\nedges = [0.2, 0.4, 0.6, 0.8]\nbudgets = [8]\n");
    for bin in 1..=5 {
        toml += &format!("[[bins]]\nbin = {bin}\nbudget = 8\nstrategy = \"best-of-n\"\nselection = \"majority\"\nreason = \"fitted\"\n");
    }
    let table = crate::spec::PolicyTable::parse(&toml, "fitted.toml").unwrap();
    let gen = Arc::new(step_script(2, |seed, _| (seed % 100) as u32));
    let ver: Arc<dyn Verifier> = Arc::new(value_verifier());
    let adaptive = RunConfig {
        strategy: StrategyKind::Adaptive,
        n: 8,
        seed: 7,
        policy: Some(table),
        ..RunConfig::default()
    };
    let (_, a) = run_to_end(adaptive, gen.clone(), ver.clone(), vec![]).await;
    assert_eq!(a.difficulty.as_ref().unwrap().strategy, StrategyKind::BestOfN);
    let plain = RunConfig {
        n: 8,
        seed: 7,
        selection: crate::spec::SelectionRule::Majority,
        ..cfg(StrategyKind::BestOfN, 8, 1)
    };
    let (_, b) = run_to_end(plain, gen, ver, vec![]).await;
    // The four probes are the first four of the eight candidates: same nodes, same texts,
    // same spending and the same answer as best-of-8 with that seed.
    let texts = |t: &RunTree| t.nodes.iter().map(|n| (n.node, n.text.clone())).collect::<Vec<_>>();
    assert_eq!(a.nodes.len(), 8);
    assert_eq!(texts(&a), texts(&b));
    assert_eq!(a.budget.policy_requests, 8);
    assert_eq!(a.selected, b.selected);
    assert!(a.selected.is_some());
}

#[tokio::test]
async fn a_fork_continues_from_its_prefix() {
    let prefix = vec!["s9 d0 v80".to_string(), "s9 d1 v70".to_string()];
    for strategy in [StrategyKind::BestOfN, StrategyKind::Beam] {
        let gen = Arc::new(step_script(4, |_, _| 50));
        let c = RunConfig { prefix: prefix.clone(), ..cfg(strategy, 2, 2) };
        let (_, tree) = run_to_end(c, gen, Arc::new(value_verifier()), vec![]).await;
        let done: Vec<_> = tree.nodes.iter().filter(|n| n.status == NodeStatus::Done).collect();
        assert!(!done.is_empty(), "{strategy}");
        for n in done {
            let texts: Vec<&str> = n.steps.iter().map(|s| s.text.as_str()).collect();
            assert_eq!(&texts[..2], &["s9 d0 v80", "s9 d1 v70"], "{strategy}");
            assert!(texts.len() > 2, "{strategy}: it went on from the prefix");
            assert!(n.text.starts_with("s9 d0 v80\n\ns9 d1 v70\n\n"), "{strategy}: {:?}", n.text);
        }
        if strategy == StrategyKind::Beam {
            assert_eq!(tree.nodes[0].depth, 2, "search starts at the prefix's depth");
        }
    }
}

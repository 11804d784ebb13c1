//! Samples of one prompt drawn together carry a [`crate::model::SampleGroup`]: the requests a strategy makes
//! are recorded and every group is checked to be what the model layer may send as one request
//! (the same request but for the seed, seeds `s + index`, members 0..size).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::model::{ChunkStream, GenError, GenRequest, Generator, GeneratorInfo};
use crate::problem::Problem;
use crate::run::{start, SolvePrompt};
use crate::scripted::{ScriptInput, ScriptedGenerator, ScriptedVerifier};
use crate::spec::PolicyTable;
use crate::strategy::{Command, RunConfig, StrategyKind};
use crate::verify::Verifier;

/// A scripted generator that keeps every request it is sent.
struct Recording {
    inner: ScriptedGenerator,
    seen: Mutex<Vec<GenRequest>>,
}

#[async_trait]
impl Generator for Recording {
    fn info(&self) -> GeneratorInfo {
        self.inner.info()
    }

    async fn generate(&self, req: GenRequest, cancel: CancellationToken) -> Result<ChunkStream, GenError> {
        self.seen.lock().unwrap().push(req.clone());
        self.inner.generate(req, cancel).await
    }
}

/// Steps "s<seed> d<depth> v<value>" until depth `final_at` − 1, then the answer `seed % 2`
/// (so answers disagree and a vote never settles); the value is `seed % 100`.
fn script(final_at: usize) -> ScriptedGenerator {
    ScriptedGenerator::new(move |i: &ScriptInput| {
        let d = i.prefix.len();
        if d + 1 >= final_at {
            format!("s{}: the answer is \\boxed{{{}}}.", i.seed, i.seed.rem_euclid(2))
        } else {
            format!("s{} d{} v{}\n\nmore", i.seed, d, i.seed.rem_euclid(100))
        }
    })
}

/// Run `cfg` to its end, the verifier scoring a step by its `v<value>` and sending `command`
/// on its first call; the requests made, in the order they were made.
async fn requests(cfg: RunConfig, final_at: usize, command: Option<Command>) -> Vec<GenRequest> {
    let gen = Arc::new(Recording { inner: script(final_at), seen: Mutex::new(Vec::new()) });
    let holder: Arc<Mutex<Option<tokio::sync::mpsc::UnboundedSender<Command>>>> = Arc::default();
    let sender = holder.clone();
    let ver = ScriptedVerifier::new(move |path: &[String]| {
        if let (Some(tx), Some(c)) = (sender.lock().unwrap().take(), command.clone()) {
            let _ = tx.send(c);
        }
        let v = path.last()?.split_whitespace().find_map(|w| w.strip_prefix('v'))?;
        Some(v.parse::<f64>().ok()? / 100.0)
    });
    let ver: Arc<dyn Verifier> = Arc::new(ver);
    let mut h =
        start(Problem::inline("Count.", Some("1".into())), cfg, gen.clone(), ver, SolvePrompt::bundled());
    *holder.lock().unwrap() = Some(h.commands.clone());
    while h.events.recv().await.is_some() {}
    let seen = gen.seen.lock().unwrap().clone();
    seen
}

/// The groups among `reqs` by id, each one's members in index order; every group is checked:
/// members 0..size, the same request but for the seed, seeds `s + index`.
fn groups(reqs: &[GenRequest]) -> BTreeMap<u64, Vec<GenRequest>> {
    let mut by_id: BTreeMap<u64, Vec<GenRequest>> = BTreeMap::new();
    for r in reqs {
        if let Some(g) = r.group {
            assert!(g.size > 1, "a group of one is never named: {g:?}");
            by_id.entry(g.id).or_default().push(r.clone());
        }
    }
    for (id, members) in by_id.iter_mut() {
        members.sort_by_key(|r| r.group.map(|g| g.index));
        let size = members[0].group.map(|g| g.size).unwrap_or(0);
        let indices: Vec<u32> = members.iter().filter_map(|r| r.group.map(|g| g.index)).collect();
        assert_eq!(indices, (0..size).collect::<Vec<_>>(), "group {id}: members 0..{size}");
        assert!(members.iter().all(|r| r.group.map(|g| g.size) == Some(size)), "group {id}: one size");
        let s = members[0].options.seed.expect("a grouped request is seeded");
        for (i, r) in members.iter().enumerate() {
            assert_eq!(r.options.seed, Some(s + i as i64), "group {id}: seeds s + index");
            let mut same = r.clone();
            same.options.seed = members[0].options.seed;
            same.group = members[0].group;
            assert_eq!(same, members[0], "group {id}: the same request but for the seed");
        }
    }
    by_id
}

/// The sizes of the groups, in the order of their first request.
fn sizes(reqs: &[GenRequest]) -> Vec<u32> {
    let mut out = Vec::new();
    let mut ids = Vec::new();
    for g in reqs.iter().filter_map(|r| r.group) {
        if !ids.contains(&g.id) {
            ids.push(g.id);
            out.push(g.size);
        }
    }
    out
}

#[tokio::test]
async fn best_of_n_draws_its_candidates_as_one_group() {
    let cfg = RunConfig { n: 5, seed: 11, ..RunConfig::default() };
    let reqs = requests(cfg, 1, None).await;
    assert_eq!(reqs.len(), 5);
    let all = groups(&reqs);
    assert_eq!(all.len(), 1, "one group: {:?}", reqs.iter().map(|r| r.group).collect::<Vec<_>>());
    let members = all.values().next().unwrap();
    assert_eq!(members.len(), 5);
    assert!(members.iter().all(|r| r.group.unwrap().size == 5));
    // Candidate i has the run's seed + i, and the same messages as the others.
    let seeds: Vec<i64> = members.iter().map(|r| r.options.seed.unwrap()).collect();
    assert_eq!(seeds, (11..16).collect::<Vec<_>>());
    assert!(members.iter().all(|r| r.messages == members[0].messages));
}

#[tokio::test]
async fn a_lone_candidate_is_no_group() {
    let cfg = RunConfig { n: 1, ..RunConfig::default() };
    let reqs = requests(cfg, 1, None).await;
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].group, None);
}

#[tokio::test]
async fn candidates_a_raised_n_adds_run_alone() {
    let cfg = RunConfig { n: 5, ..RunConfig::default() };
    let reqs = requests(cfg, 1, Some(Command::SetN(7))).await;
    assert_eq!(reqs.len(), 7);
    assert_eq!(sizes(&reqs), vec![5]);
    let alone: Vec<i64> =
        reqs.iter().filter(|r| r.group.is_none()).map(|r| r.options.seed.unwrap()).collect();
    assert_eq!(alone, vec![5, 6], "the two added candidates, nodes 5 and 6");
    assert_eq!(groups(&reqs).values().next().unwrap().len(), 5);
}

#[tokio::test]
async fn consistency_draws_each_batch_as_one_group() {
    // Answers alternate, so the vote never settles: every batch is drawn; the last one is
    // what N leaves (2).
    let cfg = RunConfig { strategy: StrategyKind::Consistency, n: 10, batch: 4, ..RunConfig::default() };
    let reqs = requests(cfg, 1, None).await;
    assert_eq!(reqs.len(), 10);
    assert_eq!(sizes(&reqs), vec![4, 4, 2]);
    let all = groups(&reqs);
    let firsts: Vec<i64> = all.values().map(|m| m[0].options.seed.unwrap()).collect();
    assert_eq!(firsts, vec![0, 4, 8], "batches are the nodes in order");
}

#[tokio::test]
async fn consistency_one_at_a_time_draws_no_group() {
    let cfg = RunConfig { strategy: StrategyKind::Consistency, n: 4, batch: 1, ..RunConfig::default() };
    let reqs = requests(cfg, 1, None).await;
    assert_eq!(reqs.len(), 4);
    assert!(reqs.iter().all(|r| r.group.is_none()));
}

#[tokio::test]
async fn beam_search_groups_the_children_of_each_path() {
    // N = 4, M = 2: the empty path's 4 children, then 2 children of each of the 2 kept beams.
    let cfg =
        RunConfig { strategy: StrategyKind::Beam, n: 4, width: 2, max_depth: 10, ..RunConfig::default() };
    let reqs = requests(cfg, 3, None).await;
    assert_eq!(sizes(&reqs), vec![4, 2, 2, 2, 2], "{:?}", reqs.iter().map(|r| r.group).collect::<Vec<_>>());
    let all = groups(&reqs);
    // Siblings continue one path: their messages are the same; two parents' differ.
    let second: Vec<&Vec<GenRequest>> = all.values().filter(|m| m.len() == 2).take(2).collect();
    assert_ne!(second[0][0].messages, second[1][0].messages);
    assert!(reqs.iter().all(|r| r.group.is_some()), "every expansion had two children or more");
}

#[tokio::test]
async fn dvts_groups_each_subtrees_children() {
    let cfg =
        RunConfig { strategy: StrategyKind::Dvts, n: 4, width: 2, max_depth: 10, ..RunConfig::default() };
    let reqs = requests(cfg, 3, None).await;
    // Two subtrees of 2 from the empty path, then each subtree's kept path gets 2 children.
    assert_eq!(&sizes(&reqs)[..2], &[2, 2]);
    groups(&reqs);
    assert!(reqs.iter().all(|r| r.group.is_some()));
}

#[tokio::test]
async fn lookahead_rollouts_are_not_samples() {
    let cfg = RunConfig {
        strategy: StrategyKind::Lookahead,
        n: 4,
        width: 2,
        max_depth: 10,
        lookahead: 1,
        temperature: 0.7,
        ..RunConfig::default()
    };
    let reqs = requests(cfg, 3, None).await;
    groups(&reqs);
    let rollouts: Vec<&GenRequest> = reqs.iter().filter(|r| r.options.temperature == Some(0.0)).collect();
    assert!(!rollouts.is_empty(), "lookahead rolled out");
    assert!(rollouts.iter().all(|r| r.group.is_none()), "greedy rollouts run alone");
    assert_eq!(sizes(&reqs)[0], 4, "the empty path's children are one group");
}

#[tokio::test]
async fn particles_start_as_one_group() {
    let cfg = RunConfig { strategy: StrategyKind::Particles, n: 4, max_depth: 10, ..RunConfig::default() };
    let reqs = requests(cfg, 3, None).await;
    groups(&reqs);
    assert_eq!(reqs[..4].iter().map(|r| r.group.map(|g| g.size)).collect::<Vec<_>>(), vec![Some(4); 4]);
    let first = reqs[0].group.unwrap().id;
    assert!(reqs[..4].iter().all(|r| r.group.unwrap().id == first));
}

#[tokio::test]
async fn revisions_group_only_the_chains_first_attempts() {
    let cfg = RunConfig { strategy: StrategyKind::Revise, chains: 3, revisions: 2, ..RunConfig::default() };
    let reqs = requests(cfg, 1, None).await;
    assert_eq!(reqs.len(), 6);
    assert_eq!(sizes(&reqs), vec![3]);
    groups(&reqs);
    // The second round's revisions see their own chain's attempt: alone.
    assert!(reqs[3..].iter().all(|r| r.group.is_none()));
}

#[tokio::test]
async fn adaptive_probes_and_the_candidates_after_them_are_groups() {
    let mut toml =
        String::from("version = 2\ndifficulty = \"model\"\nedges = [0.2, 0.4, 0.6, 0.8]\nbudgets = [8]\n");
    for bin in 1..=5 {
        toml += &format!("[[bins]]\nbin = {bin}\nbudget = 8\nstrategy = \"best-of-n\"\nreason = \"t\"\n");
    }
    let table = PolicyTable::parse(&toml, "fitted.toml").unwrap();
    let cfg =
        RunConfig { strategy: StrategyKind::Adaptive, n: 8, policy: Some(table), ..RunConfig::default() };
    let reqs = requests(cfg, 1, None).await;
    assert_eq!(reqs.len(), 8);
    assert_eq!(sizes(&reqs), vec![4, 4], "4 probes, then the 4 candidates they left");
    let all = groups(&reqs);
    let firsts: Vec<i64> = all.values().map(|m| m[0].options.seed.unwrap()).collect();
    assert_eq!(firsts, vec![0, 4]);
}

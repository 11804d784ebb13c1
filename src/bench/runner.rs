//! Running a bench: every problem × strategy × budget × seed, one run each, prepared once
//! through [`crate::launch`] and appended to `results.jsonl` as each finishes.
//!
//! Seed index `s` gives the runs base seed `s × SEED_STRIDE` (candidate i then uses
//! base + i), so two seeds never share a sample, and within one seed best-of-N at budget
//! 2N starts from the same N samples as at budget N.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;

use super::results::{BenchConfig, Record, ResultsDir};
use super::spec::StrategySpec;
use crate::launch::{check_gold, choose_backend, Failure, Launch, RunRequest};
use crate::model::Generator;
use crate::problem::Problem;
use crate::run::SolvePrompt;
use crate::safe::for_display;
use crate::spec::RunConfig;
use crate::tree::{NodeStatus, RunTree};
use crate::verify::Verifier;

/// The distance between the base seeds of two seed indices.
pub const SEED_STRIDE: u64 = 100_000;

/// Problems of `pocket` when `--problems` is not given.
pub const POCKET_DEFAULT_PROBLEMS: usize = 50;

/// What a bench runs, from its flags.
#[derive(Debug, Clone)]
pub struct BenchPlan {
    /// The dataset as given.
    pub dataset: String,
    /// `--problems`: the first K (all of a file or bundled set when absent).
    pub problems: Option<usize>,
    pub strategies: Vec<StrategySpec>,
    pub budgets: Vec<usize>,
    pub seeds: Vec<u64>,
    pub out: PathBuf,
    /// Runs in flight at once.
    pub jobs: usize,
    /// `--subsample K`: best-of-N from one run of the largest budget, K subsets per budget
    /// (0: a run per budget).
    pub subsample: usize,
}

fn usage(message: impl Into<String>) -> Failure {
    Failure { message: message.into(), code: 2 }
}

/// Parse `pocket:LEVELS`: `3`, `1-3`, `1,4` or a mix; levels 1–5.
pub fn parse_levels(s: &str) -> Result<Vec<u8>, String> {
    let form = "levels are 1–5, e.g. pocket:3, pocket:1-3 or pocket:1,4";
    let level = |t: &str| t.trim().parse::<u8>().ok().filter(|l| (1..=5).contains(l));
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let range = match part.split_once('-') {
            Some((a, b)) => level(a).zip(level(b)).filter(|(a, b)| a <= b).map(|(a, b)| (a..=b).collect()),
            None => level(part).map(|l| vec![l]),
        };
        let Some(range) = range else { return Err(format!("bad pocket levels {s:?}: {form}")) };
        for l in range {
            if !out.contains(&l) {
                out.push(l);
            }
        }
    }
    if out.is_empty() {
        return Err(format!("bad pocket levels {s:?}: {form}"));
    }
    Ok(out)
}

/// The problems a dataset spec names: `pocket[:LEVELS]`, `bundled:NAME`, or a JSONL file;
/// the first `k` of them.
pub fn load_dataset(spec: &str, k: Option<usize>) -> Result<Vec<Problem>, Failure> {
    let spec_t = spec.trim();
    let mut problems = if spec_t == "pocket" {
        crate::pocket::problems(k.unwrap_or(POCKET_DEFAULT_PROBLEMS), 0)
    } else if let Some(levels) = spec_t.strip_prefix("pocket:") {
        let levels = parse_levels(levels).map_err(usage)?;
        let k = k.unwrap_or(POCKET_DEFAULT_PROBLEMS);
        (0..k).map(|i| crate::pocket::problem(levels[i % levels.len()], (i / levels.len()) as u64)).collect()
    } else if let Some(name) = spec_t.strip_prefix("bundled:") {
        crate::problem::bundled(name).map_err(|e| usage(e.to_string()))?
    } else {
        let path = std::path::Path::new(spec);
        let report = crate::problem::load_jsonl(path, false).map_err(|e| Failure::new(e.to_string()))?;
        if !report.skipped.is_empty() {
            eprintln!(
                "ttc: skipped {} malformed lines of {}",
                report.skipped.len(),
                for_display(&path.display().to_string(), 300)
            );
        }
        report.problems
    };
    if let Some(k) = k {
        if k > problems.len() {
            eprintln!("ttc: note: {spec_t} has {} problems; running all of them", problems.len());
        }
        problems.truncate(k);
    }
    if problems.is_empty() {
        return Err(Failure::new(format!("{} holds no problems", for_display(spec_t, 300))));
    }
    Ok(problems)
}

/// One item of work: a run of one strategy at one budget, or (with `--subsample`) one
/// best-of-N run of the largest budget that serves every best-of-N spec × budget `wanted`.
#[derive(Debug, Clone)]
struct Item {
    problem: usize,
    strategy: usize,
    budget: usize,
    seed: u64,
    /// (strategy, budget) pairs a sampling run serves; empty for a plain run.
    wanted: Vec<(usize, usize)>,
}

/// What every run shares.
struct Shared {
    generator: Arc<dyn Generator>,
    verifier: Arc<dyn Verifier>,
    prompt: SolvePrompt,
    base: RunConfig,
    subsample: usize,
}

/// Run the bench `plan` with the settings of `launch`; `Ok` with exit code 1 when some runs
/// failed (they are not written, so a rerun tries them again), 130 when interrupted.
pub async fn run(launch: &Launch, plan: BenchPlan) -> Result<ExitCode, Failure> {
    let problems = load_dataset(&plan.dataset, plan.problems)?;
    let files = launch.files()?;
    let mut config = launch.run_config();
    let without_gold = problems.iter().filter(|p| p.gold.is_none()).count();
    let client = launch.client()?;
    let backend = choose_backend(launch.backend(), &client, true).await?;
    config.set_verifier(launch.verifier(backend));
    for p in &problems {
        check_gold(&config, p)?;
    }
    if without_gold > 0 {
        eprintln!(
            "ttc: note: {without_gold} of {} problems have no gold answer: their correct and pass_rate are null, so correctness (oracle) difficulty bins are impossible for them; model bins (mean verifier score) still work",
            problems.len()
        );
    }
    // The same site as `ttc run`: the OpenAI-compatible server, or a pool of hosts.
    let site = launch.site(backend, client)?;
    if !site.others.is_empty() {
        eprintln!(
            "ttc: bench: a pool of {} hosts, {} requests at once in all",
            site.others.len() + 1,
            crate::launch::hosts::total_concurrency(&launch.resolved)
        );
    }
    let request = RunRequest { problem: problems[0].clone(), config, model: None };
    let prepared = launch.prepare(&site, files, request, true).await?;
    let info = prepared.generator.info();
    let bench_config = BenchConfig {
        ttc_version: env!("CARGO_PKG_VERSION").to_string(),
        dataset: plan.dataset.trim().to_string(),
        problems: problems.len(),
        strategies: plan.strategies.iter().map(|s| s.text.clone()).collect(),
        budgets: plan.budgets.clone(),
        seeds: plan.seeds.clone(),
        model: info.model.clone(),
        backend: info.backend.clone(),
        verifier: prepared.verifier.name(),
        temperature: prepared.config.temperature,
        max_tokens: prepared.config.max_tokens,
        aggregation: prepared.config.aggregation.to_string(),
        subsample: plan.subsample,
        confidence_window: (prepared.config.verifier == crate::strategy::VerifierKind::Confidence
            || prepared.config.confidence_cutoff.is_some())
        .then_some(prepared.config.confidence_window),
        confidence_cutoff: prepared.config.confidence_cutoff,
        n_per_request: (info.backend == "openai" && launch.resolved.pool.len() < 2)
            .then_some(launch.resolved.settings.n_per_request),
    };
    let mut dir = ResultsDir::open(&plan.out, &bench_config).map_err(Failure::new)?;
    if !dir.added.is_empty() {
        eprintln!(
            "ttc: bench: adding {} to {}; the lines already there are kept",
            crate::safe::for_display(&dir.added.join(", "), 200),
            plan.out.display()
        );
    }
    let shared = Arc::new(Shared {
        generator: prepared.generator,
        verifier: prepared.verifier,
        prompt: prepared.prompt,
        base: prepared.config,
        subsample: plan.subsample,
    });
    let problems = Arc::new(problems);

    let mut todo = Vec::new();
    let mut per_strategy: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    let n_max = plan.budgets.iter().copied().max().unwrap_or(1);
    let sampled = |s: &StrategySpec| plan.subsample > 0 && s.kind == crate::spec::StrategyKind::BestOfN;
    for (pi, p) in problems.iter().enumerate() {
        for &seed in &plan.seeds {
            let mut wanted = Vec::new();
            for (si, s) in plan.strategies.iter().enumerate() {
                for &budget in &plan.budgets {
                    let entry = per_strategy.entry(si).or_default();
                    entry.1 += 1;
                    if dir.done.contains(&(p.id.clone(), s.text.clone(), budget, seed)) {
                        entry.0 += 1;
                    } else if sampled(s) {
                        wanted.push((si, budget));
                    } else {
                        todo.push(Item { problem: pi, strategy: si, budget, seed, wanted: Vec::new() });
                    }
                }
            }
            if let Some(&(si, _)) = wanted.first() {
                todo.push(Item { problem: pi, strategy: si, budget: n_max, seed, wanted });
            }
        }
    }
    let total: usize = per_strategy.values().map(|c| c.1).sum();
    let resumed: usize = per_strategy.values().map(|c| c.0).sum();
    let bar = super::progress::Progress::new(total, resumed, &plan.strategies, &per_strategy);
    let strategies = Arc::new(plan.strategies.clone());
    let mut stream = futures::stream::iter(todo)
        .map(|item| run_item(shared.clone(), problems.clone(), strategies.clone(), item))
        .buffer_unordered(plan.jobs.max(1));
    let (mut written, mut failed) = (0usize, 0usize);
    let interrupted = loop {
        let next = tokio::select! {
            n = stream.next() => n,
            _ = tokio::signal::ctrl_c() => break true,
        };
        let Some((item, outcome)) = next else { break false };
        match outcome {
            Ok(records) => {
                for (strategy, record) in records {
                    dir.append(&record).map_err(Failure::new)?;
                    written += 1;
                    bar.finished(strategy, &record);
                }
            }
            Err(e) => {
                failed += item.wanted.len().max(1);
                bar.failed(&format!(
                    "{} {} budget {} seed {} failed: {}",
                    for_display(&problems[item.problem].id, 200),
                    strategies[item.strategy].text,
                    item.budget,
                    item.seed,
                    for_display(&e, crate::launch::MESSAGE_CHARS)
                ));
            }
        }
    };
    drop(stream);
    bar.done();
    eprintln!(
        "ttc: bench: {written} new, {resumed} already done, {failed} failed, of {total}; results in {}",
        for_display(&super::results::results_path(&plan.out).display().to_string(), 400)
    );
    if interrupted {
        eprintln!("ttc: interrupted; rerun the same command to resume");
        return Ok(ExitCode::from(130));
    }
    Ok(if failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Run one item; the run is cancelled when the future is dropped (Ctrl-C).
async fn run_item(
    shared: Arc<Shared>,
    problems: Arc<Vec<Problem>>,
    strategies: Arc<Vec<StrategySpec>>,
    item: Item,
) -> (Item, Result<Vec<(usize, Record)>, String>) {
    let problem = &problems[item.problem];
    let spec = &strategies[item.strategy];
    let mut config = shared.base.clone();
    spec.apply(item.budget, &mut config);
    let subsample = shared.subsample;
    config.seed = item.seed.wrapping_mul(SEED_STRIDE);
    let started = Instant::now();
    let mut handle = crate::run::start(
        problem.clone(),
        config,
        shared.generator.clone(),
        shared.verifier.clone(),
        shared.prompt.clone(),
    );
    let _cancel_on_drop = handle.cancel.clone().drop_guard();
    let mut tree = RunTree::new();
    while let Some(event) = handle.events.recv().await {
        tree.apply(&event);
    }
    let _ = (&mut handle.task).await;
    let wall_ms = started.elapsed().as_millis() as u64;
    let outcome = match (&tree.error, tree.finished) {
        (Some(e), _) => Err(e.clone()),
        (None, false) => Err("the run ended without finishing".into()),
        (None, true) if !item.wanted.is_empty() => {
            let wanted: Vec<(usize, &StrategySpec, usize)> =
                item.wanted.iter().map(|&(s, b)| (s, &strategies[s], b)).collect();
            Ok(super::subsample::records(&tree, problem, &wanted, item.seed, wall_ms, subsample))
        }
        (None, true) => {
            Ok(vec![(item.strategy, record_of(&tree, problem, spec, item.budget, item.seed, wall_ms))])
        }
    };
    (item, outcome)
}

/// The record of a finished run.
pub fn record_of(
    tree: &RunTree,
    problem: &Problem,
    spec: &StrategySpec,
    budget: usize,
    seed: u64,
    wall_ms: u64,
) -> Record {
    let finished: Vec<_> = tree.nodes.iter().filter(|n| n.status == NodeStatus::Done).collect();
    let scores: Vec<f64> = finished.iter().filter_map(|n| n.score).filter(|s| s.is_finite()).collect();
    let mean_score = (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64);
    let pass_rate = match (&problem.gold, finished.len()) {
        (Some(_), n) if n > 0 => {
            Some(finished.iter().filter(|n| n.correct == Some(true)).count() as f64 / n as f64)
        }
        _ => None,
    };
    Record {
        problem: problem.id.clone(),
        strategy: spec.text.clone(),
        budget,
        seed,
        answer: tree.selected.clone(),
        correct: problem.gold.as_ref().and(tree.correct),
        tokens: tree.budget.policy_generated_tokens,
        gen_equivalents: tree.budget.generation_equivalents,
        wall_ms,
        mean_score,
        pass_rate,
        subsample_accuracy: None,
        subsample_variance: None,
        subsamples: None,
        samples: tree.stopping.as_ref().map(|s| s.samples),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pocket_levels_parse() {
        assert_eq!(parse_levels("3").unwrap(), vec![3]);
        assert_eq!(parse_levels("1-3").unwrap(), vec![1, 2, 3]);
        assert_eq!(parse_levels("1,4,4").unwrap(), vec![1, 4]);
        for bad in ["", "0", "6", "3-1", "x", "1-"] {
            assert!(parse_levels(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn datasets_load_their_first_k() {
        let p = load_dataset("pocket", Some(3)).unwrap();
        assert_eq!(p.len(), 3);
        assert!(p.iter().all(|p| p.gold.is_some() && p.id.starts_with("pocket:")));
        let p = load_dataset("pocket:4-5", Some(4)).unwrap();
        assert_eq!(p.iter().map(|p| p.level.unwrap()).collect::<Vec<_>>(), vec![4, 5, 4, 5]);
        assert_eq!(load_dataset("bundled:gsm8k", Some(2)).unwrap()[1].id, "bundled:gsm8k:1");
        assert_eq!(load_dataset("bundled:nope", None).err().unwrap().code, 2);
        assert_eq!(load_dataset("pocket:9", None).err().unwrap().code, 2);
    }
}

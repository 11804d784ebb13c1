//! `ttc pocket eval`: accuracy, best-of-N selection with the PRM, PRM AUROC and speed on
//! freshly generated problems.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::task::{self, Chain, Rng};
use super::{prm_scores, prompt_tokens, sample_solution, Pocket, PocketGenerator, PocketPrm};
use crate::model::GenRequest;

/// Arguments of `ttc pocket eval`.
#[derive(Debug, Clone, clap::Args)]
pub struct EvalArgs {
    /// Problems (levels 1–5 in turn).
    #[arg(long, default_value_t = 500)]
    pub problems: usize,
    /// Seed for the held-out problems and the samples.
    #[arg(long, default_value_t = 2024)]
    pub seed: u64,
    /// Directory with policy.safetensors and prm.safetensors (default: the embedded weights).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Largest N (samples per problem).
    #[arg(long, default_value_t = 64)]
    pub n_max: usize,
    /// Sampling temperature for best-of-N.
    #[arg(long, default_value_t = 0.8)]
    pub temperature: f32,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Skip the speed measurements.
    #[arg(long)]
    pub no_speed: bool,
}

/// How the PRM's step scores of one solution become its score.
const AGGREGATIONS: [&str; 3] = ["last", "min", "prod"];

/// One sampled solution.
struct Sample {
    answer: Option<i64>,
    correct: bool,
    /// Solution score under each of `AGGREGATIONS`.
    scores: [f64; 3],
}

struct ProblemResult {
    level: u8,
    greedy: bool,
    samples: Vec<Sample>,
    /// (PRM score, exact label) for every step of every sample.
    steps: Vec<(f64, bool)>,
}

fn evaluate_one(pocket: &Pocket, chain: &Chain, level: u8, n: usize, temp: f32, seed: u64) -> ProblemResult {
    let prompt = prompt_tokens(&chain.compact());
    let mut rng = Rng::new(seed);
    let (g, _) = sample_solution(&pocket.policy, &prompt, 0.0, &mut rng, 200);
    let greedy = task::label_solution_answer(chain, &g);
    let mut samples = Vec::with_capacity(n);
    let mut steps_out = Vec::new();
    for i in 0..n {
        let mut rng = Rng::new(seed.wrapping_add(1 + i as u64));
        let (text, _) = sample_solution(&pocket.policy, &prompt, temp, &mut rng, 200);
        let steps = crate::steps::split_steps(&text);
        let scores = prm_scores(&pocket.prm, &chain.compact(), &steps);
        let labels = chain.label_steps(&steps);
        for (s, l) in scores.iter().zip(&labels) {
            if let Some(s) = s {
                steps_out.push((*s, *l));
            }
        }
        let answer = task::answer_of(&text);
        let scored: Vec<f64> = scores.iter().flatten().copied().collect();
        let agg = [
            scored.last().copied().unwrap_or(0.0),
            scored.iter().copied().reduce(f64::min).unwrap_or(0.0),
            if scored.is_empty() { 0.0 } else { scored.iter().product() },
        ];
        samples.push(Sample { answer, correct: answer == Some(chain.answer()), scores: agg });
    }
    ProblemResult { level, greedy, samples, steps: steps_out }
}

/// Area under the ROC curve of scores against labels (ties count one half).
pub fn auroc(pairs: &[(f64, bool)]) -> Option<f64> {
    let mut v: Vec<(f64, bool)> = pairs.to_vec();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let pos = v.iter().filter(|p| p.1).count() as f64;
    let neg = v.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return None;
    }
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j < v.len() && v[j].0 == v[i].0 {
            j += 1;
        }
        let avg_rank = (i + j + 1) as f64 / 2.0; // ranks i+1..=j
        rank_sum += avg_rank * v[i..j].iter().filter(|p| p.1).count() as f64;
        i = j;
    }
    Some((rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg))
}

/// Per answer: votes, summed score, correct, first index.
type Vote = (usize, f64, bool, usize);

/// Accuracy of majority, best and weighted selection and pass@N over groups of `n` samples.
fn select_stats(samples: &[Sample], n: usize, agg: usize) -> [f64; 4] {
    let groups = (samples.len() / n).max(1);
    let mut acc = [0.0; 4];
    for g in 0..groups {
        let grp = &samples[g * n..((g + 1) * n).min(samples.len())];
        let mut votes: HashMap<i64, Vote> = HashMap::new();
        for (i, s) in grp.iter().enumerate() {
            if let Some(a) = s.answer {
                let e = votes.entry(a).or_insert((0, 0.0, s.correct, i));
                e.0 += 1;
                e.1 += s.scores[agg];
            }
        }
        let pick = |key: &dyn Fn(&Vote) -> (f64, f64)| {
            votes
                .values()
                .max_by(|a, b| key(a).partial_cmp(&key(b)).unwrap_or(std::cmp::Ordering::Equal))
                .map(|v| v.2)
                .unwrap_or(false)
        };
        // Ties go to the answer seen first.
        let majority = pick(&|v| (v.0 as f64, -(v.3 as f64)));
        let weighted = pick(&|v| (v.1, -(v.3 as f64)));
        let best = grp
            .iter()
            .filter(|s| s.answer.is_some())
            .max_by(|a, b| a.scores[agg].total_cmp(&b.scores[agg]))
            .map(|s| s.correct)
            .unwrap_or(false);
        let pass = grp.iter().any(|s| s.correct);
        for (k, ok) in [majority, best, weighted, pass].into_iter().enumerate() {
            acc[k] += ok as u8 as f64;
        }
    }
    acc.map(|a| a / groups as f64)
}

fn pct(x: f64) -> String {
    format!("{:.1}", 100.0 * x)
}

/// Run the evaluation; progress on stderr, the tables on stdout.
pub fn eval(args: &EvalArgs) -> anyhow::Result<()> {
    let t_load = Instant::now();
    let pocket: Arc<Pocket> = match &args.weights {
        Some(dir) => Pocket::from_dir(dir)?,
        None => Pocket::embedded()?,
    };
    let load_ms = t_load.elapsed().as_secs_f64() * 1e3;
    let fresh_load_ms = {
        let t = Instant::now();
        let (p, r) = super::embedded_bytes().map_err(anyhow::Error::msg)?;
        Pocket::from_bytes(p, r)?;
        Some(t.elapsed().as_secs_f64() * 1e3)
    };
    let n_max = args.n_max.max(1);
    // Held-out: problems come from their own seed stream, not training's.
    let probs = task::problems(args.problems, args.seed);
    let chains: Vec<(Chain, u8)> = probs
        .iter()
        .map(|p| (Chain::parse(&p.text).unwrap_or(Chain { start: 0, ops: vec![] }), p.level.unwrap_or(1)))
        .collect();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2))
        .max(1);
    eprintln!(
        "pocket eval: {} problems, N up to {n_max}, temperature {}, {threads} threads",
        chains.len(),
        args.temperature
    );
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<ProblemResult>>> = Mutex::new((0..chains.len()).map(|_| None).collect());
    let t_eval = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= chains.len() {
                    return;
                }
                let (chain, level) = &chains[i];
                let seed = args.seed.wrapping_mul(1_000_003).wrapping_add(i as u64 * 7919);
                let r = evaluate_one(&pocket, chain, *level, n_max, args.temperature, seed);
                if let Ok(mut v) = results.lock() {
                    v[i] = Some(r);
                }
                if (i + 1) % 50 == 0 {
                    eprintln!(
                        "  {} / {} problems ({:.0} s)",
                        i + 1,
                        chains.len(),
                        t_eval.elapsed().as_secs_f64()
                    );
                }
            });
        }
    });
    let results: Vec<ProblemResult> =
        results.into_inner().unwrap_or_default().into_iter().flatten().collect();
    let eval_secs = t_eval.elapsed().as_secs_f64();

    let ns: Vec<usize> = [1, 4, 16, 64].into_iter().filter(|n| *n <= n_max).collect();
    println!(
        "## pocket eval: {} problems, seed {}, temperature {}\n",
        results.len(),
        args.seed,
        args.temperature
    );
    println!("Greedy accuracy and best-of-N accuracy (%), by level (N samples per problem; groups of N within {n_max} samples averaged):\n");
    let mut header = "| level | problems | greedy |".to_string();
    let mut rule = "|---|---|---|".to_string();
    for n in &ns {
        header.push_str(&format!(" maj@{n} | best@{n} | wtd@{n} | pass@{n} |"));
        rule.push_str("---|---|---|---|");
    }
    println!("{header}\n{rule}");
    let levels: Vec<Option<u8>> = (1..=5).map(Some).chain([None]).collect();
    for lv in levels {
        let rs: Vec<&ProblemResult> = results.iter().filter(|r| lv.is_none_or(|l| r.level == l)).collect();
        if rs.is_empty() {
            continue;
        }
        let m = rs.len() as f64;
        let greedy = rs.iter().filter(|r| r.greedy).count() as f64 / m;
        let mut row = format!(
            "| {} | {} | {} |",
            lv.map(|l| format!("L{l}")).unwrap_or_else(|| "all".into()),
            rs.len(),
            pct(greedy)
        );
        for n in &ns {
            let mut acc = [0.0; 4];
            for r in &rs {
                let a = select_stats(&r.samples, *n, 0);
                for k in 0..4 {
                    acc[k] += a[k];
                }
            }
            for a in acc {
                row.push_str(&format!(" {} |", pct(a / m)));
            }
        }
        println!("{row}");
    }
    // The same samples selected with other ways of turning step scores into a solution score.
    let n_agg = ns.iter().copied().filter(|n| *n <= 16).max().unwrap_or(1);
    println!(
        "\nThe tables above score a solution by its last step. Best and weighted best-of-{n_agg} under each aggregation of the step scores (%):\n"
    );
    let mut header = "| level | greedy | maj |".to_string();
    let mut rule = "|---|---|---|".to_string();
    for a in AGGREGATIONS {
        header.push_str(&format!(" best {a} | wtd {a} |"));
        rule.push_str("---|---|");
    }
    println!("{header}\n{rule}");
    for lv in (1..=5).map(Some).chain([None]) {
        let rs: Vec<&ProblemResult> = results.iter().filter(|r| lv.is_none_or(|l| r.level == l)).collect();
        if rs.is_empty() {
            continue;
        }
        let m = rs.len() as f64;
        let greedy = rs.iter().filter(|r| r.greedy).count() as f64 / m;
        let maj = rs.iter().map(|r| select_stats(&r.samples, n_agg, 0)[0]).sum::<f64>() / m;
        let mut row = format!(
            "| {} | {} | {} |",
            lv.map(|l| format!("L{l}")).unwrap_or_else(|| "all".into()),
            pct(greedy),
            pct(maj)
        );
        for k in 0..AGGREGATIONS.len() {
            let (mut best, mut wtd) = (0.0, 0.0);
            for r in &rs {
                let a = select_stats(&r.samples, n_agg, k);
                best += a[1];
                wtd += a[2];
            }
            row.push_str(&format!(" {} | {} |", pct(best / m), pct(wtd / m)));
        }
        println!("{row}");
    }
    let all_steps: Vec<(f64, bool)> = results.iter().flat_map(|r| r.steps.iter().copied()).collect();
    let pos = all_steps.iter().filter(|s| s.1).count();
    println!(
        "\nPRM step-level AUROC against exact labels: {} ({} steps, {:.1}% correct)",
        auroc(&all_steps).map(|a| format!("{a:.3}")).unwrap_or_else(|| "n/a".into()),
        all_steps.len(),
        100.0 * pos as f64 / all_steps.len().max(1) as f64
    );
    for lv in 1..=5u8 {
        let st: Vec<(f64, bool)> =
            results.iter().filter(|r| r.level == lv).flat_map(|r| r.steps.iter().copied()).collect();
        println!("  L{lv}: AUROC {}", auroc(&st).map(|a| format!("{a:.3}")).unwrap_or_else(|| "n/a".into()));
    }
    println!("\nEvaluation took {eval_secs:.1} s on {threads} threads.");

    if !args.no_speed {
        println!("\n## speed\n");
        println!(
            "- weights loaded in {load_ms:.1} ms{}",
            match fresh_load_ms {
                Some(ms) => format!(" (parsing the embedded weights: {ms:.1} ms)"),
                None => String::new(),
            }
        );
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let (tps, toks, secs) = rt.block_on(throughput(pocket.clone(), 16, 64, args.seed))?;
        println!(
            "- 16 concurrent streams: {toks} tokens in {secs:.2} s = {tps:.0} generated tokens/s aggregate"
        );
        let mut times = Vec::new();
        for k in 0..5u64 {
            let p = task::problem(3, args.seed + 100 + k);
            let ms = rt.block_on(best_of_16(pocket.clone(), p, k))?;
            times.push(ms);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "- best-of-16 with PRM scoring through the engine, one level-3 problem: median {:.0} ms (min {:.0}, max {:.0}, 5 problems)",
            times[times.len() / 2],
            times[0],
            times[times.len() - 1]
        );
    }
    Ok(())
}

/// Aggregate tokens/s of `total` generations with `concurrent` at a time: (tokens/s, tokens,
/// seconds).
pub async fn throughput(
    pocket: Arc<Pocket>,
    concurrent: usize,
    total: usize,
    seed: u64,
) -> anyhow::Result<(f64, u64, f64)> {
    let gen = Arc::new(PocketGenerator::new(pocket));
    let sem = Arc::new(tokio::sync::Semaphore::new(concurrent));
    let t = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..total {
        let gen = gen.clone();
        let sem = sem.clone();
        set.spawn(async move {
            let _permit = sem.acquire_owned().await.ok();
            let p = task::problem((i % 5) as u8 + 1, seed + i as u64);
            let mut req = GenRequest::new(crate::run::SolvePrompt::bundled().messages(&p));
            req.options.seed = Some(i as i64);
            req.options.temperature = Some(0.8);
            let coll = crate::model::collect(gen.as_ref(), req, Default::default()).await;
            coll.map(|c| c.stats.generated_tokens).unwrap_or(0)
        });
    }
    let mut toks = 0;
    while let Some(r) = set.join_next().await {
        toks += r.unwrap_or(0);
    }
    let secs = t.elapsed().as_secs_f64();
    Ok((toks as f64 / secs, toks, secs))
}

/// Wall time of one best-of-16 run with PRM scoring, in ms.
pub async fn best_of_16(
    pocket: Arc<Pocket>,
    problem: crate::problem::Problem,
    seed: u64,
) -> anyhow::Result<f64> {
    use crate::event::Event;
    use crate::strategy::{RunConfig, StrategyKind};
    let config = RunConfig { strategy: StrategyKind::BestOfN, n: 16, seed, ..RunConfig::default() };
    let t = Instant::now();
    let mut h = crate::run::start(
        problem,
        config,
        Arc::new(PocketGenerator::new(pocket.clone())),
        Arc::new(PocketPrm::new(pocket)),
        crate::run::SolvePrompt::bundled(),
    );
    while let Some(e) = h.events.recv().await {
        if matches!(e, Event::RunFinished { .. }) {
            break;
        }
    }
    Ok(t.elapsed().as_secs_f64() * 1e3)
}

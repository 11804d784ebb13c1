//! Beam search's own cost per round, outside model and verifier calls: 64 beams,
//! width 4, 10 rounds, with an instant scripted generator and verifier. Every
//! event is folded into a `RunTree`, as a view would.
//!
//! Run with `cargo bench --bench search`.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use ttc::problem::Problem;
use ttc::run::{start, SolvePrompt};
use ttc::scripted::{ScriptInput, ScriptedGenerator, ScriptedVerifier};
use ttc::strategy::{RunConfig, StrategyKind};
use ttc::tree::RunTree;

const ROUNDS: usize = 10;

fn script() -> (ScriptedGenerator, ScriptedVerifier) {
    let gen = ScriptedGenerator::new(|i: &ScriptInput| {
        let d = i.prefix.len();
        if d + 1 >= ROUNDS {
            format!("The answer is \\boxed{{{}}}.", i.seed % 5)
        } else {
            format!("Step {d}: {} + {} = {}", i.seed, d, i.seed + d as i64)
        }
    });
    let ver = ScriptedVerifier::new(|p: &[String]| Some((p.len() * 7 % 10) as f64 / 10.0 + 0.05));
    (gen, ver)
}

/// The model and verifier calls of one round on their own (64 step generations
/// and 64 scores at mid depth), to subtract from a round's time.
async fn calls_only(gen: &ScriptedGenerator, ver: &ScriptedVerifier, problem: &Problem) {
    use ttc::model::{collect, GenRequest, Generator, Message};
    use ttc::verify::{ScoreRequest, Verifier};
    let path: Vec<String> = (0..5).map(|d| format!("Step {d}: 7 + {d} = {}", 7 + d)).collect();
    for i in 0..64 {
        let mut msgs = SolvePrompt::bundled().messages(problem);
        msgs.push(Message::assistant(format!("{}\n\n", path.join("\n\n"))));
        let mut req = GenRequest::new(msgs);
        req.options.seed = Some(i);
        req.options.stop = vec!["\n\n".into()];
        let out = collect(gen as &dyn Generator, req, Default::default()).await.unwrap();
        let mut p = path.clone();
        p.push(out.text);
        let r = ScoreRequest { problem, steps: &p, start: p.len() - 1, finished: false, logprobs: None };
        ver.score(r, Default::default()).await.unwrap();
    }
}

async fn beam_run() -> RunTree {
    beam(true).await
}

/// One beam search; `fold` feeds every event to a `RunTree` as a view would.
async fn beam(fold: bool) -> RunTree {
    let (gen, ver) = script();
    let cfg =
        RunConfig { strategy: StrategyKind::Beam, n: 64, width: 4, max_depth: 40, ..RunConfig::default() };
    let mut h =
        start(Problem::inline("Add.", None), cfg, Arc::new(gen), Arc::new(ver), SolvePrompt::bundled());
    let mut tree = RunTree::new();
    while let Some(e) = h.events.recv().await {
        if fold {
            tree.apply(&e);
        }
    }
    tree
}

fn search(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let tree = rt.block_on(beam_run());
    assert_eq!(tree.round, Some(ROUNDS as u32), "{:?}", tree.error);
    println!(
        "search: {} nodes over {ROUNDS} rounds; divide the time below by {ROUNDS} for one round",
        tree.nodes.len()
    );
    c.bench_function("search/beam_64x4_10_rounds", |b| b.to_async(&rt).iter(|| beam(false)));
    let (gen, ver) = script();
    let problem = Problem::inline("Add.", None);
    c.bench_function("search/one_round_of_scripted_calls_only", |b| {
        b.to_async(&rt).iter(|| calls_only(&gen, &ver, &problem))
    });
    c.bench_function("search/beam_64x4_10_rounds_folded_into_a_tree", |b| b.to_async(&rt).iter(beam_run));
}

criterion_group!(benches, search);
criterion_main!(benches);

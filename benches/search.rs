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

async fn beam_run() -> RunTree {
    let gen = ScriptedGenerator::new(|i: &ScriptInput| {
        let d = i.prefix.len();
        if d + 1 >= ROUNDS {
            format!("The answer is \\boxed{{{}}}.", i.seed % 5)
        } else {
            format!("Step {d}: {} + {} = {}", i.seed, d, i.seed + d as i64)
        }
    });
    let ver = ScriptedVerifier::new(|p: &[String]| Some((p.len() * 7 % 10) as f64 / 10.0 + 0.05));
    let cfg =
        RunConfig { strategy: StrategyKind::Beam, n: 64, width: 4, max_depth: 40, ..RunConfig::default() };
    let mut h =
        start(Problem::inline("Add.", None), cfg, Arc::new(gen), Arc::new(ver), SolvePrompt::bundled());
    let mut tree = RunTree::new();
    while let Some(e) = h.events.recv().await {
        tree.apply(&e);
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
    c.bench_function("search/beam_64x4_10_rounds", |b| b.to_async(&rt).iter(beam_run));
}

criterion_group!(benches, search);
criterion_main!(benches);

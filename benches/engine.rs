//! Engine throughput: 64 concurrent candidates × 2,000 tokens streamed from the
//! local test server through best-of-N with the arith verifier, every event
//! folded into a `RunTree` as a view would. Prints the peak memory at the end.
//!
//! Run with `cargo bench --bench engine`.

#[path = "../tests/support/ollama_server.rs"]
mod ollama_server;

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ollama_server::{ServerConfig, TestServer};
use ttc::model::ollama::{OllamaClient, OllamaSettings};
use ttc::model::Generator;
use ttc::problem::Problem;
use ttc::run::{start, SolvePrompt};
use ttc::strategy::RunConfig;
use ttc::tree::RunTree;
use ttc::verify::ArithVerifier;

const CANDIDATES: usize = 64;
const TOKENS: u32 = 2_000;

async fn one_run(gen: Arc<dyn Generator>) -> RunTree {
    let cfg = RunConfig { n: CANDIDATES, max_tokens: TOKENS, ..RunConfig::default() };
    let problem = Problem::inline("Add the numbers.", Some("7".into()));
    let mut h = start(problem, cfg, gen, Arc::new(ArithVerifier), SolvePrompt::bundled());
    let mut tree = RunTree::new();
    while let Some(e) = h.events.recv().await {
        tree.apply(&e);
    }
    tree
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn engine(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let server = rt.block_on(TestServer::start(ServerConfig::default()));
    let settings = OllamaSettings { concurrency: CANDIDATES, ..OllamaSettings::default() };
    let client = OllamaClient::new(&server.url, settings).unwrap();
    let gen: Arc<dyn Generator> = Arc::new(rt.block_on(client.generator("bench")).unwrap());

    // Check once that the run is what it claims to be.
    let tree = rt.block_on(one_run(gen.clone()));
    let tokens: u64 = tree.budget.policy_generated_tokens;
    assert_eq!(tokens, CANDIDATES as u64 * TOKENS as u64, "{:?}", tree.error);
    assert_eq!(tree.selected.as_deref(), Some("7"));

    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(tokens));
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("best_of_64x2000_arith", |b| b.to_async(&rt).iter(|| one_run(gen.clone())));
    group.finish();
    if let Some(mib) = peak_rss_mib() {
        println!("engine: peak resident memory of the whole benchmark process: {mib:.1} MiB");
    }
}

criterion_group!(benches, engine);
criterion_main!(benches);

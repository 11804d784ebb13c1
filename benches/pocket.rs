//! Speed of the embedded pocket model (issue targets in brackets):
//! - parsing the embedded weights [< 200 ms],
//! - 64 generations, 16 running at once, on a 2-thread runtime [>= 3,000 generated tokens/s],
//! - best-of-16 with PRM scoring through the engine on one level-3 problem [< 1 s].
//!
//! Run with `cargo bench --bench pocket`. Aggregate tokens/s is printed to stderr for each
//! throughput sample, since criterion reports time per iteration.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use ttc::pocket::{eval, task, Pocket, POLICY_BYTES, PRM_BYTES};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("pocket");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("load embedded weights", |b| {
        b.iter(|| Pocket::from_bytes(POLICY_BYTES, PRM_BYTES).expect("embedded weights load"))
    });
    let pocket = Pocket::embedded().expect("embedded weights load");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut rates = Vec::new();
    g.bench_function("64 generations, 16 concurrent", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            for i in 0..iters {
                let (tps, _, _) = rt.block_on(eval::throughput(pocket.clone(), 16, 64, 7 + i)).unwrap();
                rates.push(tps);
            }
            t.elapsed()
        })
    });
    let mut k = 0u64;
    g.bench_function("best-of-16 with PRM, level 3", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                k += 1;
                let p = task::problem(3, 100 + k % 5);
                let ms = rt.block_on(eval::best_of_16(pocket.clone(), p, k)).unwrap();
                total += Duration::from_secs_f64(ms / 1e3);
            }
            total
        })
    });
    g.finish();
    rates.sort_by(f64::total_cmp);
    if !rates.is_empty() {
        eprintln!(
            "16 concurrent streams: median {:.0} generated tokens/s (min {:.0}, max {:.0}, {} runs)",
            rates[rates.len() / 2],
            rates[0],
            rates[rates.len() - 1],
            rates.len()
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

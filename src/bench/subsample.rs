//! Best-of-N curves from one set of samples (`--subsample K`), as Snell et al. 2024 do: one
//! run of N_max = the largest budget per problem × seed, and for each budget B
//!
//! - the record of the first B samples (what a run with N = B and the same seed draws, since
//!   candidate i uses seed + i): answer, correct, tokens, gen_equivalents, mean_score,
//!   pass_rate of those B; `wall_ms` is the sampling run's time × B / N_max;
//! - over K random subsets of B of the N_max samples (all the same when B = N_max), the mean
//!   accuracy of the selected answer and its variance: `subsample_accuracy`,
//!   `subsample_variance`, `subsamples` (null without a gold answer).

use super::results::Record;
use super::spec::StrategySpec;
use crate::pocket::task::Rng;
use crate::problem::Problem;
use crate::spec::Candidate;
use crate::strategy::select::select_seeded;
use crate::tree::{NodeStatus, NodeView, RunTree};

/// The records of `wanted` (strategy index, spec, budget) from the samples in `tree`.
pub fn records(
    tree: &RunTree,
    problem: &Problem,
    wanted: &[(usize, &StrategySpec, usize)],
    seed: u64,
    wall_ms: u64,
    subsamples: usize,
) -> Vec<(usize, Record)> {
    let n_max = tree.nodes.len().max(1);
    let agg = tree.info.as_ref().map(|i| i.config.aggregation).unwrap_or_default();
    let base_seed = tree.info.as_ref().map_or(0, |i| i.config.seed);
    let gold = problem.gold.as_deref();
    let done_tokens: Vec<u64> =
        tree.nodes.iter().filter(|n| n.status == NodeStatus::Done).map(|n| n.tokens).collect();
    let mean_tokens =
        (!done_tokens.is_empty()).then(|| done_tokens.iter().sum::<u64>() as f64 / done_tokens.len() as f64);
    let candidate =
        |n: &NodeView| Candidate { node: n.node, answer: n.answer.clone(), score: n.score_with(agg) };
    let mut out = Vec::new();
    for &(index, spec, budget) in wanted {
        let b = budget.min(n_max);
        let prefix = &tree.nodes[..b.min(tree.nodes.len())];
        let finished: Vec<&NodeView> = prefix.iter().filter(|n| n.status == NodeStatus::Done).collect();
        let cands: Vec<Candidate> = finished.iter().map(|n| candidate(n)).collect();
        let sel = select_seeded(&cands, spec.selection, agg, gold, base_seed);
        let tokens: u64 = prefix.iter().map(|n| n.tokens).sum();
        let scores: Vec<f64> = finished.iter().filter_map(|n| n.score).filter(|s| s.is_finite()).collect();
        let mean_score = (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64);
        let pass_rate = match (gold, finished.len()) {
            (Some(_), n) if n > 0 => {
                Some(finished.iter().filter(|n| n.correct == Some(true)).count() as f64 / n as f64)
            }
            _ => None,
        };
        let (accuracy, variance, count) = match gold {
            Some(_) if subsamples > 0 => {
                let k = if b >= n_max { 1 } else { subsamples };
                let mut rng = Rng::new(
                    base_seed
                        ^ (budget as u64).wrapping_mul(0x9E37_79B9)
                        ^ crate::hash::fnv1a(problem.id.as_bytes()),
                );
                let hits: Vec<f64> = (0..k)
                    .map(|_| {
                        let pick = choose(&mut rng, tree.nodes.len(), b);
                        let c: Vec<Candidate> = pick
                            .iter()
                            .map(|&i| &tree.nodes[i])
                            .filter(|n| n.status == NodeStatus::Done)
                            .map(candidate)
                            .collect();
                        let s = select_seeded(&c, spec.selection, agg, gold, base_seed);
                        if s.correct == Some(true) {
                            1.0
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let mean = hits.iter().sum::<f64>() / k as f64;
                let var = hits.iter().map(|h| (h - mean).powi(2)).sum::<f64>() / k as f64;
                (Some(mean), Some(var), Some(k))
            }
            _ => (None, None, None),
        };
        out.push((
            index,
            Record {
                problem: problem.id.clone(),
                strategy: spec.text.clone(),
                budget,
                seed,
                answer: sel.selected.clone(),
                correct: gold.and(sel.correct),
                tokens,
                gen_equivalents: mean_tokens.filter(|m| *m > 0.0).map_or(b as f64, |m| tokens as f64 / m),
                wall_ms: wall_ms * b as u64 / n_max as u64,
                mean_score,
                pass_rate,
                subsample_accuracy: accuracy,
                subsample_variance: variance,
                subsamples: count,
                samples: None,
            },
        ));
    }
    out
}

/// `k` distinct indices of `0..n`, in increasing order (a partial Fisher–Yates shuffle).
fn choose(rng: &mut Rng, n: usize, k: usize) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    let k = k.min(n);
    for i in 0..k {
        let j = i + (rng.next_u64() % (n - i) as u64) as usize;
        all.swap(i, j);
    }
    let mut pick = all[..k].to_vec();
    pick.sort_unstable();
    pick
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(i: u32, answer: &str, correct: bool, tokens: u64) -> NodeView {
        NodeView {
            node: i,
            parent: None,
            seed: None,
            depth: 0,
            chain: None,
            revision: None,
            rank: None,
            status: NodeStatus::Done,
            text: String::new(),
            steps: Vec::new(),
            answer: Some(answer.into()),
            correct: Some(correct),
            score: None,
            tokens,
            done_reason: None,
            error: None,
            cut_off: None,
        }
    }

    #[test]
    fn a_budget_reads_its_prefix_and_the_subsets_vary() {
        let mut tree = RunTree::new();
        tree.nodes = vec![
            node(0, "1", false, 10),
            node(1, "2", true, 10),
            node(2, "2", true, 10),
            node(3, "3", false, 10),
        ];
        let problem = crate::pocket::problem(1, 0);
        let problem = Problem { gold: Some("2".into()), ..problem };
        let spec = StrategySpec::parse("best-of-n:majority").unwrap();
        let out = records(&tree, &problem, &[(0, &spec, 1), (0, &spec, 4)], 0, 400, 16);
        let (one, four) = (&out[0].1, &out[1].1);
        assert_eq!(
            (one.answer.as_deref(), one.correct, one.tokens, one.wall_ms),
            (Some("1"), Some(false), 10, 100)
        );
        assert_eq!((one.pass_rate, one.subsamples), (Some(0.0), Some(16)));
        let acc = one.subsample_accuracy.unwrap();
        assert!(acc > 0.0 && acc < 1.0 && one.subsample_variance.unwrap() > 0.0, "{one:?}");
        assert_eq!((four.answer.as_deref(), four.correct, four.subsamples), (Some("2"), Some(true), Some(1)));
        assert_eq!((four.gen_equivalents, four.pass_rate), (4.0, Some(0.5)));
    }

    #[test]
    fn subsets_are_distinct_and_in_range() {
        let mut rng = Rng::new(1);
        for (n, k) in [(8, 3), (4, 4), (1, 1), (16, 0)] {
            let p = choose(&mut rng, n, k);
            assert_eq!(p.len(), k);
            assert!(p.windows(2).all(|w| w[0] < w[1]) && p.iter().all(|&i| i < n), "{p:?}");
        }
    }
}

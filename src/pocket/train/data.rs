//! Training data: policy examples, PRM examples (the policy's own samples, fresh gold and
//! corrupted solutions, labelled exactly), and batches cut into shards and length groups.

use crate::pocket::net::{self, Net};
use crate::pocket::task::{self, Chain, Rng};
use crate::pocket::{prm_example, prm_view, prompt_tokens, sample_solution, PrmExample, PrmView};

/// One policy training example: tokens, and the index from which targets count.
pub(super) fn policy_example(rng: &mut Rng, level: u8, revision_frac: f64, ctx: usize) -> (Vec<u8>, usize) {
    loop {
        let chain = Chain::random(level, rng);
        let attempt = if rng.f64() < revision_frac {
            if rng.f64() < 0.15 {
                Some(chain.values()[1..].to_vec())
            } else {
                Some(task::wrong_attempt(&chain, rng))
            }
        } else {
            None
        };
        let mut toks = prompt_tokens(&task::compact_prompt(&chain, attempt.as_deref()));
        let from = toks.len();
        toks.extend(net::encode(&chain.solution()));
        toks.push(task::EOS);
        if toks.len() <= ctx + 1 {
            return (toks, from);
        }
    }
}

/// `items` cut into `n` contiguous shards of near-equal size (empty shards dropped).
pub(super) fn shard<T: Clone>(items: &[T], n: usize) -> Vec<Vec<T>> {
    let per = items.len().div_ceil(n.max(1)).max(1);
    items.chunks(per).map(|c| c.to_vec()).collect()
}

/// `items` sorted by length and cut into `threads * per_thread` groups of near-equal count,
/// each group dealt to the thread with the fewest padded tokens so far (longest groups first).
/// A group is padded only to its own longest item, so mixed-length batches waste little.
pub(super) fn length_groups<'a, T>(
    items: &[&'a T],
    len: impl Fn(&T) -> usize,
    threads: usize,
    per_thread: usize,
) -> Vec<Vec<Vec<&'a T>>> {
    let threads = threads.max(1);
    let mut sorted: Vec<&'a T> = items.to_vec();
    sorted.sort_by_key(|x| len(x));
    let mut out: Vec<Vec<Vec<&'a T>>> = vec![Vec::new(); threads];
    let mut load = vec![0usize; threads];
    for g in shard(&sorted, threads * per_thread.max(1)).into_iter().rev() {
        // Sorted, so a group's last item is its longest.
        let cost = g.len() * g.last().map_or(0, |x| len(x));
        let i = (0..load.len()).min_by_key(|&i| load[i]).unwrap_or(0);
        load[i] += cost;
        out[i].push(g);
    }
    out.retain(|t| !t.is_empty());
    out
}

/// PRM training data: `n` solutions on random problems (all levels), labelled exactly.
/// Two of every three are the policy's own samples (mixed temperatures); the third is
/// the correct solution or a corrupted one (one step off, later steps computed from the
/// wrong value), so the PRM sees both classes even while the policy is weak.
pub fn prm_samples(net: &Net, n: usize, seed: u64, dense: bool, view: PrmView) -> Vec<PrmExample> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(1, 8);
    let per = n.div_ceil(threads);
    let mut out = Vec::with_capacity(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|th| {
                s.spawn(move || {
                    let mut v = Vec::new();
                    let lo = th * per;
                    let hi = ((th + 1) * per).min(n);
                    for i in lo..hi {
                        let mut rng = Rng::new(seed ^ (i as u64).wrapping_mul(0x9E37_79B9));
                        let level = (i % 5) as u8 + 1;
                        let chain = Chain::random(level, &mut rng);
                        let steps = match i % 6 {
                            2 => chain.solution_steps(),
                            // One wrong step whose error carries through the later steps.
                            5 => chain.attempt_steps(&task::wrong_attempt(&chain, &mut rng)),
                            _ => {
                                let temp = [0.7, 1.0, 1.0, 1.3][(i / 6) % 4];
                                let (text, _) = sample_solution(
                                    net,
                                    &prompt_tokens(&chain.compact()),
                                    temp,
                                    &mut rng,
                                    200,
                                );
                                crate::steps::split_steps(&text)
                            }
                        };
                        let ex = if dense {
                            dense_example(&chain, &steps, net.ctx, view)
                        } else {
                            prm_example(&chain, &steps, net.ctx, view)
                        };
                        if let Some(ex) = ex {
                            v.push(ex);
                        }
                    }
                    v
                })
            })
            .collect();
        for h in handles {
            if let Ok(v) = h.join() {
                out.extend(v);
            }
        }
    });
    out
}

/// A fresh PRM example on a random problem: the gold solution (a third), or one with a wrong
/// step carried through the later steps — a result off by a typical amount (a third) or with
/// one digit changed (a third) — labelled exactly.
pub(super) fn fresh_prm_example(rng: &mut Rng, ctx: usize, dense: bool, view: PrmView) -> PrmExample {
    loop {
        let level = rng.range(1, 5) as u8;
        let chain = Chain::random(level, rng);
        let steps = match rng.range(0, 2) {
            0 => chain.solution_steps(),
            1 => chain.attempt_steps(&task::wrong_attempt(&chain, rng)),
            _ => chain.attempt_steps(&task::digit_slip(&chain, rng)),
        };
        let ex = if dense {
            dense_example(&chain, &steps, ctx, view)
        } else {
            prm_example(&chain, &steps, ctx, view)
        };
        if let Some(ex) = ex {
            return ex;
        }
    }
}

/// A fresh checker example: a gold solution (every character a target), levels 1–5 drawn
/// 1 : 1 : 2 : 3 : 3, since long chains with multiplications are where checking is hard.
pub(super) fn fresh_checker_example(rng: &mut Rng, ctx: usize, view: PrmView) -> PrmExample {
    loop {
        let level = [1, 2, 3, 3, 4, 4, 4, 5, 5, 5][rng.range(0, 9) as usize];
        let chain = Chain::random(level, rng);
        if let Some(ex) = dense_example(&chain, &chain.solution_steps(), ctx, view) {
            return ex;
        }
    }
}

/// A PRM example labelled at every character, not only at step ends: a character of a step
/// is labelled correct while the step's text so far is a prefix of the correct step's text,
/// and each step end carries the step's label. The error is then marked where it is written,
/// so the score head learns to check each digit as the trunk reads it instead of having to
/// find the one wrong digit from the step end alone.
pub fn dense_example(chain: &Chain, steps: &[String], ctx: usize, view: PrmView) -> Option<PrmExample> {
    let (toks, ends) = prm_example(chain, steps, ctx, view)?;
    let vals = chain.values();
    let mut out = Vec::new();
    for (k, &(end, ok)) in ends.iter().enumerate() {
        let text = net::encode(&prm_view(steps[k].trim(), view));
        let gold = match k.cmp(&chain.ops.len()) {
            std::cmp::Ordering::Less => task::step_text(vals[k], chain.ops[k], vals[k + 1]),
            std::cmp::Ordering::Equal => task::answer_text(chain.answer()),
            std::cmp::Ordering::Greater => String::new(),
        };
        let gold = net::encode(&prm_view(&gold, view));
        let start = end - text.len();
        let mut prefix = true;
        for (j, ch) in text.iter().enumerate() {
            prefix &= gold.get(j) == Some(ch);
            out.push((start + j, prefix));
        }
        out.push((end, ok));
    }
    Some((toks, out))
}

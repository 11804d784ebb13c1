//! The trainer's checks: dense labels, the training graph against the inference path, and
//! sharded or length-grouped gradients against the whole batch.

use candle_core::{Device, Tensor, D};

use super::data::{dense_example, fresh_checker_example, length_groups, policy_example, shard};
use super::grad::{parallel_backward, summed_loss};
use super::graph::{
    causal_mask, forward, init_params, policy_loss, prm_loss, randn, sin_positions, snapshot, t, var, Cfg,
    Params,
};
use crate::pocket::net::{Net, VOCAB};
use crate::pocket::task::{self, Chain, Rng};
use crate::pocket::{prm_example, PrmExample, PrmView};

/// Character labels mark the first wrong character and stay wrong to the step's end;
/// step ends keep the exact step labels.
#[test]
fn dense_labels_mark_where_the_error_is_written() {
    use task::Op;
    let chain = Chain { start: 27, ops: vec![Op::Add(48), Op::Mul(3)] };
    let steps: Vec<String> = ["27+48=75", "75*3=226", "The answer is 226."].map(String::from).into();
    let (toks, labels) = dense_example(&chain, &steps, 160, PrmView::Plain).unwrap();
    let text = |from: usize, to: usize| String::from_utf8(toks[from..to].to_vec()).unwrap();
    let ok: Vec<usize> = labels.iter().filter(|(_, y)| *y).map(|(at, _)| *at).collect();
    let wrong: Vec<usize> = labels.iter().filter(|(_, y)| !*y).map(|(at, _)| *at).collect();
    // Step 1 is right through its end; step 2 goes wrong at its last digit.
    assert_eq!(labels.len(), 8 + 1 + 8 + 1 + 18 + 1);
    let first_wrong = wrong[0];
    assert_eq!(text(first_wrong - 7, first_wrong + 1), "75*3=226");
    assert_eq!(toks[wrong[1]], b'\n');
    // The answer step agrees with the correct "The answer is 225." up to "22".
    let answer_ok = ok.iter().filter(|&&at| at > wrong[1]).count();
    assert_eq!(answer_ok, "The answer is 22".len());
    let (_, ends) = prm_example(&chain, &steps, 160, PrmView::Plain).unwrap();
    for (at, y) in ends {
        assert!(labels.contains(&(at, y)));
    }
    // Read least-significant digit first, "75*3=226" is "57*3=622" and goes wrong at
    // its first result digit.
    let (toks, labels) = dense_example(&chain, &steps, 160, PrmView::Reversed).unwrap();
    let first_wrong = labels.iter().find(|(_, y)| !*y).unwrap().0;
    assert_eq!(String::from_utf8(toks[first_wrong - 5..first_wrong + 1].to_vec()).unwrap(), "57*3=6");
}

/// Final hidden states of the candle training graph for one token sequence.
fn graph_hidden(p: &Params, c: &Cfg, toks: &[u8]) -> Tensor {
    let ids =
        Tensor::from_vec(toks.iter().map(|t| *t as u32).collect::<Vec<_>>(), (1, toks.len()), &Device::Cpu)
            .unwrap();
    forward(p, c, &ids, &causal_mask(toks.len()).unwrap()).unwrap()
}

/// The fast inference path computes what the candle training graph computes.
#[test]
fn inference_matches_the_training_graph() {
    for relu in [false, true] {
        let c = Cfg { d: 16, heads: 2, layers: 2, ctx: 12, relu, view: PrmView::Plain, checker: false };
        let mut rng = Rng::new(3);
        let mut p = init_params(&c, &mut rng).unwrap();
        // Non-trivial biases, gains and PRM head.
        let names: Vec<String> = p.keys().cloned().collect();
        for n in names {
            let v = p[&n].as_tensor().clone();
            let noise = randn(&mut rng, v.dims(), 0.3).unwrap();
            p.get(&n).unwrap().set(&(v + noise).unwrap()).unwrap();
        }
        p.insert("prm.w".into(), var(randn(&mut rng, &[1, 16], 0.5).unwrap()).unwrap());
        p.insert("prm.b".into(), var(Tensor::new(&[0.1f32], &Device::Cpu).unwrap()).unwrap());
        let toks: Vec<u8> = vec![1, b'2', b'7', b'+', b'4', 2, b'3', b'=', b'1', b'\n'];
        let hid = graph_hidden(&p, &c, &toks);
        let logits = hid.matmul(&t(&p, "tok").unwrap().t().unwrap()).unwrap().to_vec2::<f32>().unwrap();
        let z = hid.matmul(&t(&p, "prm.w").unwrap().t().unwrap()).unwrap().to_vec2::<f32>().unwrap();
        let net = Net::from_tensors(&snapshot(&p, &c).unwrap()).unwrap();
        let mut cache = net.cache();
        let mut s = net.scratch();
        for (i, tk) in toks.iter().enumerate() {
            let prob = net.step(&mut cache, &mut s, *tk, true).unwrap();
            for (v, (got, want)) in s.logits.iter().zip(&logits[i]).enumerate().take(VOCAB) {
                assert!((got - want).abs() < 1e-3, "pos {i} tok {v}: {got} vs {want}");
            }
            let want = super::super::net::sigmoid(z[i][0] + 0.1);
            assert!((prob - want).abs() < 1e-4, "prm at {i}: {prob} vs {want}");
        }
    }
}

/// A checker's step score is the probability the candle graph gives the solution's
/// characters from the first through the step's end: it falls step by step, and the fast
/// inference path computes it.
#[test]
fn checker_scores_are_the_likelihood_of_the_text_so_far() {
    use task::Op;
    let c = Cfg { d: 16, heads: 2, layers: 2, ctx: 160, relu: true, view: PrmView::Aligned, checker: true };
    let mut p = init_params(&c, &mut Rng::new(4)).unwrap();
    p.insert("pos".into(), var(sin_positions(c.ctx, c.d).unwrap()).unwrap());
    let net = Net::from_tensors(&snapshot(&p, &c).unwrap()).unwrap();
    assert!(net.is_prm() && net.checker && net.view == PrmView::Aligned);
    let chain = Chain { start: 27, ops: vec![Op::Add(48), Op::Mul(3)] };
    let steps = chain.solution_steps();
    let scores = super::super::prm_scores(&net, &chain.compact(), &steps);
    let (toks, at) = super::super::prm_tokens(&chain.compact(), &steps, c.ctx, c.view);
    let hid = graph_hidden(&p, &c, &toks);
    let logits = hid.matmul(&t(&p, "tok").unwrap().t().unwrap()).unwrap();
    let lsm = candle_nn::ops::log_softmax(&logits, D::Minus1).unwrap().to_vec2::<f32>().unwrap();
    let first = toks.iter().position(|t| *t == task::SEP).unwrap() + 1;
    let mut last = 1.0f64;
    for (k, &end) in at.iter().enumerate() {
        let ll: f64 = (first..=end)
            .filter(|j| !at.iter().any(|e| e + 1 == *j))
            .map(|j| lsm[j - 1][toks[j] as usize] as f64)
            .sum();
        let got = scores[k].unwrap();
        assert!((got.ln() - ll).abs() < 1e-3, "step {k}: {got} vs {}", ll.exp());
        assert!(got < last);
        last = got;
    }
}

/// Every parameter's gradient agrees between `g1` and `g2` to within float rounding.
fn assert_same_gradients(
    p: &Params,
    g1: &candle_core::backprop::GradStore,
    g2: &candle_core::backprop::GradStore,
) {
    for v in p.values() {
        let a = g1.get(v.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let b = g2.get(v.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
    }
}

/// Gradients summed over shards equal the gradients of the whole batch.
#[test]
fn sharded_gradients_match_the_whole_batch() {
    let c = Cfg { d: 16, heads: 2, layers: 1, ctx: 40, relu: true, view: PrmView::Plain, checker: false };
    let p = init_params(&c, &mut Rng::new(5)).unwrap();
    let mut rng = Rng::new(9);
    let exs: Vec<_> = (0..5).map(|_| policy_example(&mut rng, 2, 0.3, c.ctx)).collect();
    let count: usize = exs.iter().map(|(t, from)| t.len() - from).sum();
    let (l1, g1) = parallel_backward(&shard(&exs, 1), |e| policy_loss(&p, &c, e, count)).unwrap();
    let (l3, g3) = parallel_backward(&shard(&exs, 3), |e| policy_loss(&p, &c, e, count)).unwrap();
    assert!((l1 - l3).abs() < 1e-5, "{l1} vs {l3}");
    assert_same_gradients(&p, &g1, &g3);
}

/// A checker's gradients summed over length-sorted groups equal those of the whole batch,
/// and every example lands in exactly one group.
#[test]
fn length_grouped_checker_gradients_match_the_whole_batch() {
    let c = Cfg { d: 16, heads: 2, layers: 1, ctx: 160, relu: true, view: PrmView::Aligned, checker: true };
    let p = init_params(&c, &mut Rng::new(5)).unwrap();
    let mut rng = Rng::new(9);
    let exs: Vec<PrmExample> = (0..11).map(|_| fresh_checker_example(&mut rng, c.ctx, c.view)).collect();
    let batch: Vec<&PrmExample> = exs.iter().collect();
    let count: usize =
        batch.iter().map(|(_, labels)| labels.iter().filter(|(at, ok)| *ok && *at > 0).count()).sum();
    let groups = length_groups(&batch, |(t, _)| t.len(), 2, 2);
    assert_eq!(groups.len(), 2);
    assert_eq!(groups.iter().flatten().flatten().count(), exs.len());
    for g in groups.iter().flatten() {
        let lens: Vec<usize> = g.iter().map(|(t, _)| t.len()).collect();
        assert!(lens.windows(2).all(|w| w[0] <= w[1]), "{lens:?}");
    }
    let (l1, g1) = parallel_backward(std::slice::from_ref(&batch), |b| prm_loss(&p, &c, b, count)).unwrap();
    let (l2, g2) = parallel_backward(&groups, |gs| summed_loss(gs, |g| prm_loss(&p, &c, g, count))).unwrap();
    assert!((l1 - l2).abs() < 1e-5, "{l1} vs {l2}");
    assert_same_gradients(&p, &g1, &g2);
}

//! The candle training graph: parameters and their initialisation, the forward pass, the
//! policy and PRM losses, and weights saved as safetensors.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::Context;
use candle_core::{DType, Device, Tensor, Var, D};

use crate::pocket::net::VOCAB;
use crate::pocket::task::Rng;
use crate::pocket::{PrmExample, PrmView};

pub(super) type Params = BTreeMap<String, Var>;

pub(super) struct Cfg {
    pub(super) d: usize,
    pub(super) heads: usize,
    pub(super) layers: usize,
    pub(super) ctx: usize,
    pub(super) relu: bool,
    /// How the PRM reads its input.
    pub(super) view: PrmView,
    /// A checker PRM: scored by its likelihood of the text, no score head.
    pub(super) checker: bool,
}

pub(super) fn var(t: Tensor) -> anyhow::Result<Var> {
    Ok(Var::from_tensor(&t)?)
}

pub(super) fn randn(rng: &mut Rng, shape: &[usize], std: f32) -> anyhow::Result<Tensor> {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.normal() * std).collect();
    Ok(Tensor::from_vec(v, shape, &Device::Cpu)?)
}

pub(super) fn init_params(c: &Cfg, rng: &mut Rng) -> anyhow::Result<Params> {
    let dev = Device::Cpu;
    let d = c.d;
    let mut p = Params::new();
    let proj_std = 0.02 / (2.0 * c.layers as f32).sqrt();
    p.insert("tok".into(), var(randn(rng, &[VOCAB, d], 0.02)?)?);
    p.insert("pos".into(), var(randn(rng, &[c.ctx, d], 0.01)?)?);
    for l in 0..c.layers {
        let n = |s: &str| format!("l{l}.{s}");
        p.insert(n("n1"), var(Tensor::ones(d, DType::F32, &dev)?)?);
        p.insert(n("qkv.w"), var(randn(rng, &[3 * d, d], 0.02)?)?);
        p.insert(n("qkv.b"), var(Tensor::zeros(3 * d, DType::F32, &dev)?)?);
        p.insert(n("o.w"), var(randn(rng, &[d, d], proj_std)?)?);
        p.insert(n("o.b"), var(Tensor::zeros(d, DType::F32, &dev)?)?);
        p.insert(n("n2"), var(Tensor::ones(d, DType::F32, &dev)?)?);
        p.insert(n("fc1.w"), var(randn(rng, &[4 * d, d], 0.02)?)?);
        p.insert(n("fc1.b"), var(Tensor::zeros(4 * d, DType::F32, &dev)?)?);
        p.insert(n("fc2.w"), var(randn(rng, &[d, 4 * d], proj_std)?)?);
        p.insert(n("fc2.b"), var(Tensor::zeros(d, DType::F32, &dev)?)?);
    }
    p.insert("nf".into(), var(Tensor::ones(d, DType::F32, &dev)?)?);
    Ok(p)
}

pub(super) fn t<'a>(p: &'a Params, name: &str) -> anyhow::Result<&'a Tensor> {
    Ok(p.get(name).with_context(|| format!("no parameter {name}"))?.as_tensor())
}

fn linear(x: &Tensor, p: &Params, name: &str) -> anyhow::Result<Tensor> {
    let w = t(p, &format!("{name}.w"))?;
    let b = t(p, &format!("{name}.b"))?;
    Ok(x.matmul(&w.t()?)?.broadcast_add(b)?)
}

fn rms(x: &Tensor, g: &Tensor) -> anyhow::Result<Tensor> {
    let ms = x.sqr()?.mean_keepdim(D::Minus1)?;
    Ok(x.broadcast_div(&(ms + 1e-5)?.sqrt()?)?.broadcast_mul(g)?)
}

/// Final hidden states `[B*T, d]` for token ids `[B, T]`.
pub(super) fn forward(p: &Params, c: &Cfg, ids: &Tensor, mask: &Tensor) -> anyhow::Result<Tensor> {
    let (b, tl) = ids.dims2()?;
    let d = c.d;
    let h = c.heads;
    let hd = d / h;
    let tok = t(p, "tok")?;
    let x = tok.embedding(&ids.flatten_all()?)?;
    let pos = t(p, "pos")?.narrow(0, 0, tl)?;
    let mut x = x.reshape((b, tl, d))?.broadcast_add(&pos)?.reshape((b * tl, d))?;
    let scale = 1.0 / (hd as f64).sqrt();
    for l in 0..c.layers {
        let n = |s: &str| format!("l{l}.{s}");
        let h1 = rms(&x, t(p, &n("n1"))?)?;
        let qkv = linear(&h1, p, &n("qkv"))?.reshape((b, tl, 3, h, hd))?.permute((2, 0, 3, 1, 4))?;
        let q = qkv.get(0)?.contiguous()?;
        let k = qkv.get(1)?.contiguous()?;
        let v = qkv.get(2)?.contiguous()?;
        let att = (q.matmul(&k.t()?)? * scale)?.broadcast_add(mask)?;
        let att = candle_nn::ops::softmax(&att, D::Minus1)?;
        let y = att.matmul(&v)?.transpose(1, 2)?.reshape((b * tl, d))?;
        x = (x + linear(&y, p, &n("o"))?)?;
        let h2 = rms(&x, t(p, &n("n2"))?)?;
        let a = linear(&h2, p, &n("fc1"))?;
        let a = if c.relu { a.relu()? } else { a.gelu()? };
        let ff = linear(&a, p, &n("fc2"))?;
        x = (x + ff)?;
    }
    rms(&x, t(p, "nf")?)
}

pub(super) fn causal_mask(tl: usize) -> anyhow::Result<Tensor> {
    let m: Vec<f32> = (0..tl).flat_map(|i| (0..tl).map(move |j| if j > i { -1e9 } else { 0.0 })).collect();
    Ok(Tensor::from_vec(m, (tl, tl), &Device::Cpu)?)
}

pub(super) fn snapshot(p: &Params, c: &Cfg) -> anyhow::Result<HashMap<String, Tensor>> {
    let mut m: HashMap<String, Tensor> = p.iter().map(|(k, v)| (k.clone(), v.as_tensor().detach())).collect();
    let flag = |b: bool| if b { 1.0f32 } else { 0.0 };
    m.insert(
        "cfg".into(),
        Tensor::new(&[c.heads as f32, flag(c.relu), c.view.code(), flag(c.checker)], &Device::Cpu)?,
    );
    Ok(m)
}

pub(super) fn save(p: &Params, c: &Cfg, path: &Path) -> anyhow::Result<()> {
    let m = snapshot(p, c)?;
    candle_core::safetensors::save(&m, path)?;
    Ok(())
}

/// Sinusoidal position table `[ctx, d]` (scaled to the token embeddings' size), whose rows
/// at a fixed distance are one linear map apart, so attention to "k characters back" is
/// easy to learn from the start.
pub(super) fn sin_positions(ctx: usize, d: usize) -> anyhow::Result<Tensor> {
    let mut v = vec![0f32; ctx * d];
    for p in 0..ctx {
        for i in 0..d / 2 {
            let f = (p as f64) / 10_000f64.powf(2.0 * i as f64 / d as f64);
            v[p * d + 2 * i] = (0.1 * f.sin()) as f32;
            v[p * d + 2 * i + 1] = (0.1 * f.cos()) as f32;
        }
    }
    Ok(Tensor::from_vec(v, (ctx, d), &Device::Cpu)?)
}

/// Next-character loss on solution tokens of `exs`, summed and divided by `count` (the number
/// of counted tokens in the whole batch, so shard losses add up to the batch mean).
pub(super) fn policy_loss(
    p: &Params,
    c: &Cfg,
    exs: &[(Vec<u8>, usize)],
    count: usize,
) -> anyhow::Result<Tensor> {
    let tl = exs.iter().map(|(t, _)| t.len() - 1).max().unwrap_or(1);
    let b = exs.len();
    let mut ids = vec![0u32; b * tl];
    let mut tgt = vec![0u32; b * tl];
    let mut msk = vec![0f32; b * tl];
    for (i, (toks, from)) in exs.iter().enumerate() {
        for j in 0..toks.len() - 1 {
            ids[i * tl + j] = toks[j] as u32;
            tgt[i * tl + j] = toks[j + 1] as u32;
            if j + 1 >= *from {
                msk[i * tl + j] = 1.0;
            }
        }
    }
    let ids = Tensor::from_vec(ids, (b, tl), &Device::Cpu)?;
    let tgt = Tensor::from_vec(tgt, (b * tl, 1), &Device::Cpu)?;
    let msk = Tensor::from_vec(msk, (b * tl, 1), &Device::Cpu)?;
    let hid = forward(p, c, &ids, &causal_mask(tl)?)?;
    let logits = hid.matmul(&t(p, "tok")?.t()?)?;
    let lsm = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
    let nll = lsm.gather(&tgt, 1)?.neg()?;
    Ok(((nll * &msk)?.sum_all()? / count.max(1) as f64)?)
}

/// A head PRM's loss: binary cross-entropy of the score head at each labelled position.
/// A checker's loss: the next-character loss of every character labelled correct (each
/// predicted from the text before it). Both summed and divided by `count`.
pub(super) fn prm_loss(p: &Params, c: &Cfg, batch: &[&PrmExample], count: usize) -> anyhow::Result<Tensor> {
    let tl = batch.iter().map(|(t, _)| t.len()).max().unwrap_or(1);
    let b = batch.len();
    let mut ids = vec![0u32; b * tl];
    let mut y = vec![0f32; b * tl];
    let mut msk = vec![0f32; b * tl];
    for (i, (toks, labels)) in batch.iter().enumerate() {
        for (j, tk) in toks.iter().enumerate() {
            ids[i * tl + j] = *tk as u32;
        }
        for (at, ok) in labels {
            if c.checker {
                // Position at-1 predicts the correct character at `at`.
                if *ok && *at > 0 {
                    y[i * tl + at - 1] = toks[*at] as f32;
                    msk[i * tl + at - 1] = 1.0;
                }
            } else {
                msk[i * tl + at] = 1.0;
                y[i * tl + at] = if *ok { 1.0 } else { 0.0 };
            }
        }
    }
    let ids = Tensor::from_vec(ids, (b, tl), &Device::Cpu)?;
    let msk = Tensor::from_vec(msk, (b * tl, 1), &Device::Cpu)?;
    let hid = forward(p, c, &ids, &causal_mask(tl)?)?;
    if c.checker {
        let tgt: Vec<u32> = y.iter().map(|v| *v as u32).collect();
        let tgt = Tensor::from_vec(tgt, (b * tl, 1), &Device::Cpu)?;
        let logits = hid.matmul(&t(p, "tok")?.t()?)?;
        let nll = candle_nn::ops::log_softmax(&logits, D::Minus1)?.gather(&tgt, 1)?.neg()?;
        return Ok(((nll * &msk)?.sum_all()? / count.max(1) as f64)?);
    }
    let y = Tensor::from_vec(y, (b * tl, 1), &Device::Cpu)?;
    let z = hid.matmul(&t(p, "prm.w")?.t()?)?.broadcast_add(t(p, "prm.b")?)?;
    // BCE with logits: softplus(z) - y z, softplus(z) = relu(z) + ln(1 + e^-|z|).
    let softplus = (z.relu()? + ((z.abs()?.neg()?.exp()? + 1.0)?.log()?))?;
    let bce = (softplus - (&y * &z)?)?;
    Ok(((bce * &msk)?.sum_all()? / count.max(1) as f64)?)
}

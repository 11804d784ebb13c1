//! `ttc pocket train`: train the policy (next-character loss on solution tokens) and then
//! the PRM on the policy's own samples (and fresh gold and corrupted solutions), labelled by
//! exact checking: by default a checker, a fresh small network that learns to write every
//! correct character of a solution in the aligned view (numbers least-significant digit
//! first, fixed places), scored by the probability it gives a solution's text; or (`--prm-kind
//! head`) a copy of the policy trunk with a score head. Everything is reproducible from `--seed`.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

use super::net::{self, Net, VOCAB};
use super::task::{self, Chain, Rng};
use super::{prm_example, prm_view, prompt_tokens, sample_solution, PrmExample, PrmView};

/// Arguments of `ttc pocket train`.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainArgs {
    /// Directory for the weights (policy.safetensors, prm.safetensors) and logs.
    #[arg(long)]
    pub out: PathBuf,
    /// Seed for data, initialisation and sampling.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Policy optimisation steps.
    #[arg(long, default_value_t = 8000)]
    pub steps: usize,
    /// PRM optimisation steps (default: 4,000 for a checker, 600 for a head).
    #[arg(long)]
    pub prm_steps: Option<usize>,
    /// Policy samples drawn to make PRM training data.
    #[arg(long, default_value_t = 8000)]
    pub prm_samples: usize,
    /// Sequences per batch.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Model width.
    #[arg(long, default_value_t = 96)]
    pub d_model: usize,
    #[arg(long, default_value_t = 6)]
    pub layers: usize,
    #[arg(long, default_value_t = 4)]
    pub heads: usize,
    /// Context length in characters.
    #[arg(long, default_value_t = 160)]
    pub ctx: usize,
    /// Peak learning rate (policy); the PRM uses a third of it.
    #[arg(long, default_value_t = 3e-3)]
    pub lr: f64,
    /// Fraction of policy examples that are revisions of a wrong attempt.
    #[arg(long, default_value_t = 0.2)]
    pub revision_frac: f64,
    /// Steps between progress evaluations (greedy accuracy on a few problems) and checkpoints.
    #[arg(long, default_value_t = 500)]
    pub eval_every: usize,
    /// Skip policy training: start from DIR/policy.safetensors and train only the PRM.
    #[arg(long)]
    pub policy_from: Option<PathBuf>,
    /// Safety stop for the policy phase, in minutes (breaks exact reproducibility if hit).
    #[arg(long)]
    pub max_minutes: Option<f64>,
    /// Each batch is split into this many shards whose gradients are computed on parallel
    /// threads and summed (the result depends on this number, not on the machine).
    #[arg(long, default_value_t = 2)]
    pub shards: usize,
    /// Use a GELU MLP (as the first weights did) instead of ReLU; about a fifth slower.
    #[arg(long)]
    pub gelu: bool,
    /// What the PRM is: a checker (a fresh network that learns to write every correct
    /// character of a solution in the aligned view; a step's score is the probability it
    /// gives the solution's text up to that step) or a score head on a copy of the policy.
    #[arg(long, value_enum, default_value_t = PrmKind::Checker)]
    pub prm_kind: PrmKind,
    /// Head PRM: label every character (is the solution still on the correct text?), not
    /// only each step's end. (A checker always learns from every correct character.)
    #[arg(long)]
    pub prm_dense_labels: bool,
    /// How the PRM reads the problem and the steps (default: aligned for a checker, plain
    /// for a head).
    #[arg(long, value_enum)]
    pub prm_view: Option<PrmView>,
    /// Checker width.
    #[arg(long, default_value_t = 64)]
    pub prm_d: usize,
    /// Checker layers.
    #[arg(long, default_value_t = 4)]
    pub prm_layers: usize,
    /// Checker heads.
    #[arg(long, default_value_t = 4)]
    pub prm_heads: usize,
    /// Peak PRM learning rate (default: `--lr` for a checker, a third of it for a head).
    #[arg(long)]
    pub prm_lr: Option<f64>,
    /// Fraction of each PRM batch made fresh at every step (gold or corrupted solutions,
    /// labelled exactly) next to the pool of the policy's own samples (default: 0.5 for a
    /// checker, 0 for a head).
    #[arg(long)]
    pub prm_fresh_frac: Option<f64>,
}

/// What `ttc pocket train` makes the PRM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PrmKind {
    /// A fresh network trained to write each correct character; scores are likelihoods.
    Checker,
    /// The policy trunk fine-tuned with a one-unit score head (BCE on exact labels).
    Head,
}

type Params = BTreeMap<String, Var>;

struct Cfg {
    d: usize,
    heads: usize,
    layers: usize,
    ctx: usize,
    relu: bool,
    /// How the PRM reads its input.
    view: PrmView,
    /// A checker PRM: scored by its likelihood of the text, no score head.
    checker: bool,
}

fn var(t: Tensor) -> anyhow::Result<Var> {
    Ok(Var::from_tensor(&t)?)
}

fn randn(rng: &mut Rng, shape: &[usize], std: f32) -> anyhow::Result<Tensor> {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.normal() * std).collect();
    Ok(Tensor::from_vec(v, shape, &Device::Cpu)?)
}

fn init_params(c: &Cfg, rng: &mut Rng) -> anyhow::Result<Params> {
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

fn t<'a>(p: &'a Params, name: &str) -> anyhow::Result<&'a Tensor> {
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
fn forward(p: &Params, c: &Cfg, ids: &Tensor, mask: &Tensor) -> anyhow::Result<Tensor> {
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

fn causal_mask(tl: usize) -> anyhow::Result<Tensor> {
    let m: Vec<f32> = (0..tl).flat_map(|i| (0..tl).map(move |j| if j > i { -1e9 } else { 0.0 })).collect();
    Ok(Tensor::from_vec(m, (tl, tl), &Device::Cpu)?)
}

fn snapshot(p: &Params, c: &Cfg) -> anyhow::Result<HashMap<String, Tensor>> {
    let mut m: HashMap<String, Tensor> = p.iter().map(|(k, v)| (k.clone(), v.as_tensor().detach())).collect();
    let flag = |b: bool| if b { 1.0f32 } else { 0.0 };
    m.insert(
        "cfg".into(),
        Tensor::new(&[c.heads as f32, flag(c.relu), c.view.code(), flag(c.checker)], &Device::Cpu)?,
    );
    Ok(m)
}

fn save(p: &Params, c: &Cfg, path: &Path) -> anyhow::Result<()> {
    let m = snapshot(p, c)?;
    candle_core::safetensors::save(&m, path)?;
    Ok(())
}

/// Sinusoidal position table `[ctx, d]` (scaled to the token embeddings' size), whose rows
/// at a fixed distance are one linear map apart, so attention to "k characters back" is
/// easy to learn from the start.
fn sin_positions(ctx: usize, d: usize) -> anyhow::Result<Tensor> {
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

/// Linear warm-up over the first 60 steps, then cosine decay to a tenth by `prog` = 1.
fn lr_at(prog: f64, step: usize, peak: f64) -> f64 {
    let warm = (step + 1) as f64 / 60.0;
    peak * warm.min(1.0) * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * prog.min(1.0)).cos()))
}

/// One policy training example: tokens, and the index from which targets count.
fn policy_example(rng: &mut Rng, level: u8, revision_frac: f64, ctx: usize) -> (Vec<u8>, usize) {
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
        toks.extend(super::net::encode(&chain.solution()));
        toks.push(task::EOS);
        if toks.len() <= ctx + 1 {
            return (toks, from);
        }
    }
}

struct Logger {
    file: std::fs::File,
    started: Instant,
}

impl Logger {
    fn line(&mut self, s: &str) {
        let msg = format!("[{:7.1}s] {s}", self.started.elapsed().as_secs_f64());
        eprintln!("{msg}");
        let _ = writeln!(self.file, "{msg}");
    }
}

/// `items` cut into `n` contiguous shards of near-equal size (empty shards dropped).
fn shard<T: Clone>(items: &[T], n: usize) -> Vec<Vec<T>> {
    let per = items.len().div_ceil(n.max(1)).max(1);
    items.chunks(per).map(|c| c.to_vec()).collect()
}

/// `items` sorted by length and cut into `threads * per_thread` groups of near-equal count,
/// each group dealt to the thread with the fewest padded tokens so far (longest groups first).
/// A group is padded only to its own longest item, so mixed-length batches waste little.
fn length_groups<'a, T>(
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

/// The sum of `loss_of` over `groups`, added in order (one graph, one backward pass).
fn summed_loss<G>(groups: &[G], loss_of: impl Fn(&G) -> anyhow::Result<Tensor>) -> anyhow::Result<Tensor> {
    let (first, rest) = groups.split_first().context("empty shard")?;
    rest.iter().try_fold(loss_of(first)?, |sum, g| Ok((sum + loss_of(g)?)?))
}

/// Run `loss_of` on every shard on its own thread, back-propagate each, and return the summed
/// loss and gradients. Shards are merged in order, so the result is deterministic.
fn parallel_backward<S: Sync>(
    shards: &[S],
    loss_of: impl Fn(&S) -> anyhow::Result<Tensor> + Sync,
) -> anyhow::Result<(f64, candle_core::backprop::GradStore)> {
    let results: Vec<anyhow::Result<(f64, candle_core::backprop::GradStore)>> = std::thread::scope(|s| {
        let handles: Vec<_> = shards
            .iter()
            .map(|sh| {
                let loss_of = &loss_of;
                s.spawn(move || -> anyhow::Result<_> {
                    let loss = loss_of(sh)?;
                    let grads = loss.backward()?;
                    Ok((loss.to_scalar::<f32>()? as f64, grads))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a training thread panicked"))))
            .collect()
    });
    let mut total = 0.0;
    let mut merged: Option<candle_core::backprop::GradStore> = None;
    for r in results {
        let (l, g) = r?;
        total += l;
        merged = Some(match merged {
            None => g,
            Some(mut m) => {
                let ids: Vec<_> = g.get_ids().copied().collect();
                for id in ids {
                    let add = g.get_id(id).context("gradient vanished")?;
                    let sum = match m.get_id(id) {
                        Some(have) => (have + add)?,
                        None => add.clone(),
                    };
                    m.insert_id(id, sum);
                }
                m
            }
        });
    }
    Ok((total, merged.context("empty batch")?))
}

/// Next-character loss on solution tokens of `exs`, summed and divided by `count` (the number
/// of counted tokens in the whole batch, so shard losses add up to the batch mean).
fn policy_loss(p: &Params, c: &Cfg, exs: &[(Vec<u8>, usize)], count: usize) -> anyhow::Result<Tensor> {
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
fn prm_loss(p: &Params, c: &Cfg, batch: &[&PrmExample], count: usize) -> anyhow::Result<Tensor> {
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

/// Greedy accuracy per level on `per_level` fresh problems.
pub fn quick_eval(net: &Net, per_level: usize, seed: u64) -> Vec<f64> {
    (1..=5u8)
        .map(|level| {
            let mut ok = 0;
            for i in 0..per_level {
                let mut rng = Rng::new(seed ^ (level as u64 * 1_000_003 + i as u64));
                let chain = Chain::random(level, &mut rng);
                let (text, _) = sample_solution(net, &prompt_tokens(&chain.compact()), 0.0, &mut rng, 200);
                if task::label_solution_answer(&chain, &text) {
                    ok += 1;
                }
            }
            ok as f64 / per_level as f64
        })
        .collect()
}

/// Make the process suit many small tensor operations on a few cores: candle's own thread
/// pool would compete with the shard threads (set `RAYON_NUM_THREADS` to override), and
/// glibc's default of returning large freed buffers to the kernel turns every step into page
/// faults (about a third of the time, measured).
fn tune_process() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator thresholds; it is called before training allocates.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TOP_PAD, 256 << 20);
    }
}

/// Train the policy and the PRM; write weights and logs under `args.out`.
pub fn train(args: &TrainArgs) -> anyhow::Result<()> {
    tune_process();
    std::fs::create_dir_all(&args.out)?;
    let started = Instant::now();
    let mut log = Logger { file: std::fs::File::create(args.out.join("train.log"))?, started };
    log.line(&format!("ttc pocket train {args:?}"));
    let c = Cfg {
        d: args.d_model,
        heads: args.heads,
        layers: args.layers,
        ctx: args.ctx,
        relu: !args.gelu,
        view: PrmView::Plain,
        checker: false,
    };
    let mut rng = Rng::new(args.seed);
    let policy_path = args.out.join("policy.safetensors");

    // ---- policy ----
    let policy: Params = if let Some(dir) = &args.policy_from {
        let bytes = std::fs::read(dir.join("policy.safetensors"))?;
        let map = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)?;
        let mut p = Params::new();
        for (k, v) in map {
            if k != "cfg" {
                p.insert(k, var(v)?);
            }
        }
        save(&p, &c, &policy_path)?;
        log.line(&format!("policy loaded from {}", dir.display()));
        p
    } else {
        let p = init_params(&c, &mut rng)?;
        let n_params: usize = p.values().map(|v| v.elem_count()).sum();
        log.line(&format!("policy: {n_params} parameters"));
        let mut opt = AdamW::new(
            p.values().cloned().collect(),
            ParamsAdamW { lr: args.lr, weight_decay: 0.01, ..Default::default() },
        )?;
        let mut csv = std::fs::File::create(args.out.join("loss_policy.csv"))?;
        writeln!(csv, "step,loss,lr,seconds,tokens")?;
        let mut tokens = 0usize;
        let mut ema = None::<f64>;
        let phase = Instant::now();
        for step in 0..args.steps {
            // Progress in [0, 1]: by steps, or by time when --max-minutes is set and binds.
            let secs = phase.elapsed().as_secs_f64();
            let mut prog = step as f64 / args.steps as f64;
            if let Some(m) = args.max_minutes {
                prog = prog.max(secs / (m * 60.0));
            }
            if prog >= 1.0 {
                log.line("policy: --max-minutes reached, stopping early");
                break;
            }
            // Curriculum: the hardest level grows from 2 to 5 over the first fifth. Each batch
            // holds one level, so sequences in a batch have similar lengths (less padding).
            let max_level = (2.0 + prog * 15.0).min(5.0) as u8;
            let level = rng.range(1, max_level as i64) as u8;
            let exs: Vec<(Vec<u8>, usize)> =
                (0..args.batch).map(|_| policy_example(&mut rng, level, args.revision_frac, c.ctx)).collect();
            let count: usize = exs.iter().map(|(t, from)| t.len() - from).sum();
            tokens += exs.iter().map(|(t, _)| t.len() - 1).sum::<usize>();
            let shards = shard(&exs, args.shards);
            let (l, grads) = parallel_backward(&shards, |exs| policy_loss(&p, &c, exs, count))?;
            let lr = lr_at(prog, step, args.lr);
            opt.set_learning_rate(lr);
            opt.step(&grads)?;
            ema = Some(ema.map_or(l, |e| 0.95 * e + 0.05 * l));
            let secs = phase.elapsed().as_secs_f64();
            writeln!(csv, "{step},{l:.5},{lr:.6},{secs:.1},{tokens}")?;
            if step % 25 == 0 || step + 1 == args.steps {
                log.line(&format!(
                    "policy step {step:5}/{} loss {l:.4} (ema {:.4}) lr {lr:.5} level {level}/{max_level} {:.0} tok/s",
                    args.steps,
                    ema.unwrap_or(l),
                    tokens as f64 / secs.max(1e-9)
                ));
            }
            let last = step + 1 == args.steps;
            let out_of_time = args.max_minutes.is_some_and(|m| secs >= m * 60.0);
            if (step + 1) % args.eval_every == 0 || last || out_of_time {
                save(&p, &c, &policy_path)?;
                let net = Net::from_tensors(&snapshot(&p, &c)?)?;
                let acc = quick_eval(&net, 20, 0xACC0 + step as u64);
                log.line(&format!(
                    "policy step {} greedy accuracy per level (20 each): {}",
                    step + 1,
                    acc.iter().map(|a| format!("{:.0}%", a * 100.0)).collect::<Vec<_>>().join(" ")
                ));
            }
        }
        log.line(&format!("policy done in {:.1} min", phase.elapsed().as_secs_f64() / 60.0));
        p
    };

    // ---- PRM data: the policy's own samples, labelled exactly ----
    let checker = args.prm_kind == PrmKind::Checker;
    let view = args.prm_view.unwrap_or(if checker { PrmView::Aligned } else { PrmView::Plain });
    let dense = checker || args.prm_dense_labels;
    let prm_steps = args.prm_steps.unwrap_or(if checker { 4000 } else { 600 });
    let fresh_frac = args.prm_fresh_frac.unwrap_or(if checker { 0.5 } else { 0.0 });
    let phase = Instant::now();
    let policy_net = Net::from_tensors(&snapshot(&policy, &c)?)?;
    let data = prm_samples(&policy_net, args.prm_samples, args.seed ^ 0x50_52_4D, dense, view);
    let (pos, all) = data.iter().fold((0, 0), |(p, a), (_, labels)| {
        (p + labels.iter().filter(|(_, y)| *y).count(), a + labels.len())
    });
    log.line(&format!(
        "prm data: {} solutions, {all} labelled positions, {:.1}% correct, sampled in {:.1} s",
        data.len(),
        100.0 * pos as f64 / all.max(1) as f64,
        phase.elapsed().as_secs_f64()
    ));

    // ---- PRM: a fresh checker, or the policy trunk plus a score head ----
    let pc = if checker {
        Cfg {
            d: args.prm_d,
            heads: args.prm_heads,
            layers: args.prm_layers,
            ctx: args.ctx,
            relu: true,
            view,
            checker,
        }
    } else {
        Cfg { view, checker, ..c }
    };
    // A checker draws from its own generator, so `--policy-from` reproduces it.
    let mut rng = if checker { Rng::new(args.seed ^ 0x5052_4D5F_5343_5254) } else { rng };
    let prm = if checker {
        let mut p = init_params(&pc, &mut rng)?;
        p.insert("pos".into(), var(sin_positions(pc.ctx, pc.d)?)?);
        let n_params: usize = p.values().map(|v| v.elem_count()).sum();
        log.line(&format!("prm: fresh checker network, {n_params} parameters, {view:?} view"));
        p
    } else {
        let mut p = Params::new();
        for (k, v) in &policy {
            p.insert(k.clone(), var(v.as_tensor().copy()?)?);
        }
        p.insert("prm.w".into(), var(Tensor::zeros((1, pc.d), DType::F32, &Device::Cpu)?)?);
        p.insert("prm.b".into(), var(Tensor::zeros(1, DType::F32, &Device::Cpu)?)?);
        p
    };
    let prm_lr = args.prm_lr.unwrap_or(if checker { args.lr } else { args.lr / 3.0 });
    let mut opt = AdamW::new(
        prm.values().cloned().collect(),
        ParamsAdamW { lr: prm_lr, weight_decay: 0.01, ..Default::default() },
    )?;
    let mut csv = std::fs::File::create(args.out.join("loss_prm.csv"))?;
    writeln!(csv, "step,loss,lr,seconds")?;
    let prm_batch = args.batch.max(1);
    let fresh_per_batch = ((prm_batch as f64 * fresh_frac.clamp(0.0, 1.0)).round() as usize).min(prm_batch);
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut cursor = order.len();
    let mut ema = None::<f64>;
    let prm_phase = Instant::now();
    for step in 0..prm_steps {
        let fresh: Vec<PrmExample> = (0..fresh_per_batch)
            .map(|_| {
                if checker {
                    fresh_checker_example(&mut rng, pc.ctx, view)
                } else {
                    fresh_prm_example(&mut rng, pc.ctx, dense, view)
                }
            })
            .collect();
        let mut batch: Vec<&PrmExample> = fresh.iter().collect();
        while batch.len() < prm_batch && !data.is_empty() {
            if cursor >= order.len() {
                for i in (1..order.len()).rev() {
                    order.swap(i, rng.range(0, i as i64) as usize);
                }
                cursor = 0;
            }
            batch.push(&data[order[cursor]]);
            cursor += 1;
        }
        let count: usize = if checker {
            batch.iter().map(|(_, labels)| labels.iter().filter(|(at, ok)| *ok && *at > 0).count()).sum()
        } else {
            batch.iter().map(|(_, labels)| labels.len()).sum()
        };
        let (l, grads) = if checker {
            // Mixed levels: length-sorted groups of about two sequences, each padded only to
            // its own longest (0.195 s a step against 0.306 for two padded halves, measured).
            let shards = length_groups(&batch, |(t, _)| t.len(), args.shards, 8);
            parallel_backward(&shards, |groups| summed_loss(groups, |g| prm_loss(&prm, &pc, g, count)))?
        } else {
            let shards = shard(&batch, args.shards);
            parallel_backward(&shards, |b| prm_loss(&prm, &pc, b, count))?
        };
        let lr = lr_at(step as f64 / prm_steps as f64, step, prm_lr);
        opt.set_learning_rate(lr);
        opt.step(&grads)?;
        ema = Some(ema.map_or(l, |e| 0.9 * e + 0.1 * l));
        let secs = prm_phase.elapsed().as_secs_f64();
        writeln!(csv, "{step},{l:.5},{lr:.6},{secs:.1}")?;
        if step % 25 == 0 || step + 1 == prm_steps {
            log.line(&format!(
                "prm step {step:4}/{prm_steps} {} {l:.4} (ema {:.4}) lr {lr:.5}",
                if checker { "nll" } else { "bce" },
                ema.unwrap_or(l)
            ));
        }
    }
    let prm_path = args.out.join("prm.safetensors");
    save(&prm, &pc, &prm_path)?;
    log.line(&format!("prm done in {:.1} min", phase.elapsed().as_secs_f64() / 60.0));
    log.line(&format!(
        "total {:.1} min; wrote {} ({} bytes) and {} ({} bytes)",
        started.elapsed().as_secs_f64() / 60.0,
        policy_path.display(),
        std::fs::metadata(&policy_path)?.len(),
        prm_path.display(),
        std::fs::metadata(&prm_path)?.len()
    ));
    Ok(())
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
fn fresh_prm_example(rng: &mut Rng, ctx: usize, dense: bool, view: PrmView) -> PrmExample {
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
fn fresh_checker_example(rng: &mut Rng, ctx: usize, view: PrmView) -> PrmExample {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Character labels mark the first wrong character and stay wrong to the step's end;
    /// step ends keep the exact step labels.
    #[test]
    fn dense_labels_mark_where_the_error_is_written() {
        use super::task::Op;
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
        let ids = Tensor::from_vec(
            toks.iter().map(|t| *t as u32).collect::<Vec<_>>(),
            (1, toks.len()),
            &Device::Cpu,
        )
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
        use super::task::Op;
        let c =
            Cfg { d: 16, heads: 2, layers: 2, ctx: 160, relu: true, view: PrmView::Aligned, checker: true };
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
        let c =
            Cfg { d: 16, heads: 2, layers: 1, ctx: 160, relu: true, view: PrmView::Aligned, checker: true };
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
        let (l1, g1) =
            parallel_backward(std::slice::from_ref(&batch), |b| prm_loss(&p, &c, b, count)).unwrap();
        let (l2, g2) =
            parallel_backward(&groups, |gs| summed_loss(gs, |g| prm_loss(&p, &c, g, count))).unwrap();
        assert!((l1 - l2).abs() < 1e-5, "{l1} vs {l2}");
        assert_same_gradients(&p, &g1, &g2);
    }
}

//! `ttc pocket train`: train the policy (next-character loss on solution tokens) and then
//! the PRM on the policy's own samples (and fresh gold and corrupted solutions), labelled by
//! exact checking: by default a checker, a fresh small network that learns to write every
//! correct character of a solution in the aligned view (numbers least-significant digit
//! first, fixed places), scored by the probability it gives a solution's text; or (`--prm-kind
//! head`) a copy of the policy trunk with a score head. Everything is reproducible from `--seed`.
//!
//! By job: `args` the command's arguments, `graph` the candle training graph and its losses,
//! `data` the examples and how batches are cut, `grad` gradients on parallel threads; this
//! file runs the two phases, policy then PRM.

mod args;
mod data;
mod grad;
mod graph;
#[cfg(test)]
mod tests;

use std::io::Write;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

use super::net::Net;
use super::task::{self, Chain, Rng};
use super::{prompt_tokens, sample_solution, PrmExample, PrmView};
use data::{fresh_checker_example, fresh_prm_example, length_groups, policy_example, shard};
use grad::{parallel_backward, summed_loss};
use graph::{init_params, policy_loss, prm_loss, save, sin_positions, snapshot, var, Cfg, Params};

pub use args::{PrmKind, TrainArgs};
pub use data::{dense_example, prm_samples};

/// Linear warm-up over the first 60 steps, then cosine decay to a tenth by `prog` = 1.
fn lr_at(prog: f64, step: usize, peak: f64) -> f64 {
    let warm = (step + 1) as f64 / 60.0;
    peak * warm.min(1.0) * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * prog.min(1.0)).cos()))
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

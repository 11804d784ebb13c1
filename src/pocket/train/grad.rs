//! Gradients computed in parallel: each shard's loss back-propagated on its own thread, the
//! results merged in order so training stays deterministic.

use anyhow::Context;
use candle_core::Tensor;

/// The sum of `loss_of` over `groups`, added in order (one graph, one backward pass).
pub(super) fn summed_loss<G>(
    groups: &[G],
    loss_of: impl Fn(&G) -> anyhow::Result<Tensor>,
) -> anyhow::Result<Tensor> {
    let (first, rest) = groups.split_first().context("empty shard")?;
    rest.iter().try_fold(loss_of(first)?, |sum, g| Ok((sum + loss_of(g)?)?))
}

/// Run `loss_of` on every shard on its own thread, back-propagate each, and return the summed
/// loss and gradients. Shards are merged in order, so the result is deterministic.
pub(super) fn parallel_backward<S: Sync>(
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

//! Scoring ProcessBench items with a verifier: one [`ScoreRequest`] over all of an item's
//! steps, items in flight at once up to the concurrency, each appended to `items.jsonl` as it
//! finishes (in file order), a progress bar on stderr when it is a terminal.

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio_util::sync::CancellationToken;

use super::dir::EvalDir;
use super::items::{BenchItem, ItemRecord};
use super::metrics::first_below;
use crate::problem::Problem;
use crate::safe::for_display;
use crate::verify::{ScoreRequest, Verifier};

/// The scores of every step of `item` (`None`: unscored), or why the verifier failed.
pub async fn score_item(
    verifier: &dyn Verifier,
    item: &BenchItem,
    cancel: CancellationToken,
) -> Result<Vec<Option<f64>>, String> {
    let mut problem = Problem::inline(item.problem.clone(), None);
    problem.id = item.id.clone();
    let req =
        ScoreRequest { problem: &problem, steps: &item.steps, start: 0, finished: true, logprobs: None };
    let scores = verifier.score(req, cancel).await.map_err(|e| e.to_string())?;
    let mut out: Vec<Option<f64>> = scores.iter().map(|s| s.score).collect();
    out.resize(item.steps.len(), None);
    Ok(out)
}

/// What [`score_all`] did.
#[derive(Debug)]
pub struct Scored {
    /// One record per item of the selection, in its order.
    pub records: Vec<ItemRecord>,
    /// How many of them were scored by this run (the rest were in the directory already).
    pub scored_now: usize,
}

/// Score the `selection` items not yet in `done` and append them to `dir`; stop at the first
/// item the verifier fails on (the items before it stay in the directory: rerun to go on).
pub async fn score_all(
    verifier: Arc<dyn Verifier>,
    selection: &[BenchItem],
    done: &[ItemRecord],
    dir: &mut EvalDir,
    threshold: f64,
    concurrency: usize,
) -> Result<Scored, String> {
    let mut by_id: HashMap<&str, &ItemRecord> = done.iter().map(|r| (r.id.as_str(), r)).collect();
    let todo: Vec<&BenchItem> = selection.iter().filter(|i| !by_id.contains_key(i.id.as_str())).collect();
    let bar = ProgressBar::with_draw_target(Some(selection.len() as u64), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:30} {pos}/{len} [{elapsed_precise}, ETA {eta}] {wide_msg}")
    {
        bar.set_style(style);
    }
    bar.set_position((selection.len() - todo.len()) as u64);
    bar.reset_eta();
    bar.set_message(verifier.name());
    let cancel = CancellationToken::new();
    let mut results = futures::stream::iter(todo.iter().map(|item| {
        let (verifier, cancel) = (verifier.clone(), cancel.clone());
        async move { (*item, score_item(verifier.as_ref(), item, cancel).await) }
    }))
    .buffered(concurrency.max(1));
    let mut fresh: Vec<ItemRecord> = Vec::with_capacity(todo.len());
    let mut failure = None;
    while let Some((item, result)) = results.next().await {
        match result {
            Ok(scores) => {
                let record = ItemRecord {
                    id: item.id.clone(),
                    predicted: first_below(&scores, threshold),
                    label: item.label,
                    scores,
                };
                if let Err(e) = dir.append(&record) {
                    failure = Some(e);
                    break;
                }
                fresh.push(record);
                bar.inc(1);
            }
            Err(e) => {
                failure = Some(format!(
                    "item {} (id {}) could not be scored: {e}. The items scored so far are kept: run the same command again to go on",
                    item.index,
                    for_display(&item.id, 80)
                ));
                break;
            }
        }
    }
    cancel.cancel();
    drop(results);
    bar.finish_and_clear();
    if let Some(e) = failure {
        return Err(e);
    }
    let scored_now = fresh.len();
    by_id.extend(fresh.iter().map(|r| (r.id.as_str(), r)));
    let records = selection
        .iter()
        .filter_map(|i| by_id.get(i.id.as_str()))
        .map(|r| ItemRecord { predicted: first_below(&r.scores, threshold), ..(*r).clone() })
        .collect();
    Ok(Scored { records, scored_now })
}

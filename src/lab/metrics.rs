//! ProcessBench's numbers from step scores: the predicted first wrong step, accuracy on
//! erroneous and on correct items, their F1, a threshold sweep and step-level AUROC.
//!
//! As in ProcessBench's reference code: an item's prediction is the index of its first step
//! scored below τ (−1 when none is); the erroneous accuracy is the share of items with a wrong
//! step (label ≠ −1) whose prediction equals the label exactly, the correct accuracy the share
//! of all-correct items (label = −1) predicted −1, and F1 their harmonic mean. Unscored steps
//! are skipped; an item with no score at all is *unscored* and counts in neither group.
//!
//! Items built from ttc traces (`lab/traces.rs`) carry outcome labels only: a candidate
//! with a wrong final answer is labelled [`WRONG_STEP_UNKNOWN`] (erroneous, first wrong step
//! unknown). Such an item counts as erroneous and is *caught* when any of its steps scores
//! below τ (outcome-level detection, not the exact step); it adds no step to the AUROC.

use serde::Serialize;

/// One item's label and its steps' scores (`None`: the verifier left the step unscored).
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Index of the first wrong step, −1 when every step is correct.
    pub label: i64,
    pub scores: Vec<Option<f64>>,
}

/// The label of an erroneous item whose first wrong step is not known (a trace candidate
/// with a wrong final answer).
pub const WRONG_STEP_UNKNOWN: i64 = -2;

/// Whether the prediction `predicted` (see [`first_below`]) is right for `label`: the exact
/// first wrong step (−1 for all-correct), or for [`WRONG_STEP_UNKNOWN`] any step below τ.
pub fn hit(label: i64, predicted: i64) -> bool {
    if label == WRONG_STEP_UNKNOWN {
        predicted != -1
    } else {
        predicted == label
    }
}

/// The first step scored below `tau` (a score equal to τ passes); −1 when every scored step
/// passes; `None` when no step has a score at all.
pub fn first_below(scores: &[Option<f64>], tau: f64) -> Option<i64> {
    if scores.iter().all(Option::is_none) {
        return None;
    }
    Some(
        scores
            .iter()
            .position(|s| s.is_some_and(|s| s < tau))
            .map_or(-1, |i| i64::try_from(i).unwrap_or(i64::MAX)),
    )
}

/// Counts at one threshold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Scored items with a wrong step, and how many of them were predicted exactly (an item
    /// whose wrong step is unknown: flagged at any step).
    pub erroneous: usize,
    pub erroneous_hits: usize,
    /// Scored all-correct items, and how many were predicted −1.
    pub correct: usize,
    pub correct_hits: usize,
    /// Items without any score (in neither group).
    pub unscored: usize,
}

impl Counts {
    /// Accuracy on erroneous items, in [0, 1]; `None` without any.
    pub fn error_acc(&self) -> Option<f64> {
        ratio(self.erroneous_hits, self.erroneous)
    }
    /// Accuracy on all-correct items, in [0, 1]; `None` without any.
    pub fn correct_acc(&self) -> Option<f64> {
        ratio(self.correct_hits, self.correct)
    }
    /// The harmonic mean of the two accuracies (0 when both are 0); `None` when a group is empty.
    pub fn f1(&self) -> Option<f64> {
        Some(harmonic(self.error_acc()?, self.correct_acc()?))
    }
}

fn ratio(hits: usize, n: usize) -> Option<f64> {
    (n > 0).then(|| hits as f64 / n as f64)
}

/// 2ab/(a+b), and 0 when a + b = 0 (where the reference code divides by zero).
pub fn harmonic(a: f64, b: f64) -> f64 {
    if a + b > 0.0 {
        2.0 * a * b / (a + b)
    } else {
        0.0
    }
}

/// The counts over `items` at threshold `tau`.
pub fn counts(items: &[Scored], tau: f64) -> Counts {
    let mut c = Counts::default();
    for item in items {
        let Some(predicted) = first_below(&item.scores, tau) else {
            c.unscored += 1;
            continue;
        };
        let hit = usize::from(hit(item.label, predicted));
        if item.label == -1 {
            c.correct += 1;
            c.correct_hits += hit;
        } else {
            c.erroneous += 1;
            c.erroneous_hits += hit;
        }
    }
    c
}

/// One row of the threshold sweep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SweepRow {
    pub threshold: f64,
    pub error_acc: Option<f64>,
    pub correct_acc: Option<f64>,
    pub f1: Option<f64>,
}

/// The thresholds of the sweep: 0.05, 0.10, …, 0.95.
pub fn sweep_thresholds() -> Vec<f64> {
    (1..20).map(|k| f64::from(k) / 20.0).collect()
}

/// The metrics at every threshold of [`sweep_thresholds`].
pub fn sweep(items: &[Scored]) -> Vec<SweepRow> {
    sweep_thresholds()
        .into_iter()
        .map(|threshold| {
            let c = counts(items, threshold);
            SweepRow { threshold, error_acc: c.error_acc(), correct_acc: c.correct_acc(), f1: c.f1() }
        })
        .collect()
}

/// The row with the highest F1; among equal ones the lowest threshold. `None` when no row has an F1.
pub fn best(rows: &[SweepRow]) -> Option<SweepRow> {
    rows.iter().filter(|r| r.f1.is_some()).fold(None, |best: Option<SweepRow>, r| match best {
        Some(b) if b.f1 >= r.f1 => Some(b),
        _ => Some(*r),
    })
}

/// Step-level AUROC and the steps it was computed from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Auroc {
    /// P(a correct step scores above a wrong one), ties counting one half; `None` without
    /// both kinds of step.
    pub value: Option<f64>,
    /// Scored correct steps: those before the label, or every step of an all-correct item.
    pub positives: usize,
    /// Scored first-wrong steps (the label step). Steps after it are left out: whether they
    /// are right is not labelled. Items whose wrong step is unknown add no step at all.
    pub negatives: usize,
}

/// Step-level AUROC over `items` (see [`Auroc`] for which steps count).
pub fn step_auroc(items: &[Scored]) -> Auroc {
    let mut steps: Vec<(f64, bool)> = Vec::new();
    for item in items.iter().filter(|i| i.label != WRONG_STEP_UNKNOWN) {
        for (k, s) in item.scores.iter().enumerate() {
            let Some(s) = *s else { continue };
            let k = i64::try_from(k).unwrap_or(i64::MAX);
            if item.label == -1 || k < item.label {
                steps.push((s, true));
            } else if k == item.label {
                steps.push((s, false));
            }
        }
    }
    let positives = steps.iter().filter(|s| s.1).count();
    let negatives = steps.len() - positives;
    if positives == 0 || negatives == 0 {
        return Auroc { value: None, positives, negatives };
    }
    // Mann–Whitney U from average ranks over the sorted scores (ties share their mean rank).
    steps.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < steps.len() {
        let mut j = i;
        while j < steps.len() && steps[j].0 == steps[i].0 {
            j += 1;
        }
        let mean_rank = (i + 1 + j) as f64 / 2.0;
        rank_sum += mean_rank * steps[i..j].iter().filter(|s| s.1).count() as f64;
        i = j;
    }
    let (p, n) = (positives as f64, negatives as f64);
    let u = rank_sum - p * (p + 1.0) / 2.0;
    Auroc { value: Some(u / (p * n)), positives, negatives }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;

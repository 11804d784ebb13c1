//! The summaries of a verifier evaluation: `metrics.json`, `sweep.csv` and the table printed
//! on stdout, all computed from the scored items with [`super::metrics`].

use serde::Serialize;

use super::items::ItemRecord;
use super::metrics::{best, counts, step_auroc, sweep, Auroc, Counts, Scored, SweepRow, WRONG_STEP_UNKNOWN};

/// Everything `metrics.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    pub verifier: String,
    pub file: String,
    pub threshold: f64,
    /// Items in the selection.
    pub items: usize,
    /// Items with a wrong step / all-correct items, with a score (unscored ones are in neither).
    pub erroneous: usize,
    pub correct: usize,
    /// Items with no score at all: left out of the accuracies, never guessed.
    pub unscored: usize,
    /// Accuracies and F1 at `threshold`, in [0, 1] (`null` when a group is empty).
    pub error_acc: Option<f64>,
    pub correct_acc: Option<f64>,
    pub f1: Option<f64>,
    /// Step-level AUROC: steps before the first wrong one (every step of an all-correct item)
    /// against the first wrong step; steps after the first error are left out.
    pub step_auroc: Auroc,
    /// The sweep's row with the best F1 (the lowest threshold among equal ones).
    pub best: Option<SweepRow>,
    pub sweep: Vec<SweepRow>,
    /// Item counts behind `error_acc` and `correct_acc`.
    pub counts: Counts,
    /// How the erroneous items were judged when some carry outcome labels only (items built
    /// from traces); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The note of [`Metrics::note`].
pub const OUTCOME_NOTE: &str = "traces carry outcome labels only: error accuracy = wrong solutions flagged anywhere (any step below the threshold); their steps are left out of the step AUROC";

/// The metrics of `records` at `threshold`.
pub fn metrics(verifier: &str, file: &str, threshold: f64, records: &[ItemRecord]) -> Metrics {
    let scored: Vec<Scored> =
        records.iter().map(|r| Scored { label: r.label, scores: r.scores.clone() }).collect();
    let c = counts(&scored, threshold);
    let rows = sweep(&scored);
    Metrics {
        verifier: verifier.into(),
        file: file.into(),
        threshold,
        items: records.len(),
        erroneous: c.erroneous,
        correct: c.correct,
        unscored: c.unscored,
        error_acc: c.error_acc(),
        correct_acc: c.correct_acc(),
        f1: c.f1(),
        step_auroc: step_auroc(&scored),
        best: best(&rows),
        sweep: rows,
        counts: c,
        note: records.iter().any(|r| r.label == WRONG_STEP_UNKNOWN).then(|| OUTCOME_NOTE.to_string()),
    }
}

fn num(x: Option<f64>) -> String {
    x.map(|x| format!("{x:.4}")).unwrap_or_default()
}

fn pct(x: Option<f64>) -> String {
    x.map(|x| format!("{:.1}%", 100.0 * x)).unwrap_or_else(|| "n/a".into())
}

/// `sweep.csv`: one row per threshold (empty cells where a group is empty).
pub fn sweep_csv(m: &Metrics) -> String {
    let mut s = String::from("threshold,error_acc,correct_acc,f1\n");
    for r in &m.sweep {
        s.push_str(&format!(
            "{:.2},{},{},{}\n",
            r.threshold,
            num(r.error_acc),
            num(r.correct_acc),
            num(r.f1)
        ));
    }
    s
}

/// The table printed on stdout (percentages, as ProcessBench reports them).
pub fn table(m: &Metrics) -> String {
    let mut s = String::new();
    let row = |s: &mut String, k: &str, v: String| s.push_str(&format!("{k:<22} {v}\n"));
    row(&mut s, "verifier", m.verifier.clone());
    row(
        &mut s,
        "items",
        format!("{} ({} erroneous, {} correct, {} unscored)", m.items, m.erroneous, m.correct, m.unscored),
    );
    row(
        &mut s,
        &format!("error acc @ {:.2}", m.threshold),
        format!("{} ({}/{})", pct(m.error_acc), m.counts.erroneous_hits, m.counts.erroneous),
    );
    row(
        &mut s,
        &format!("correct acc @ {:.2}", m.threshold),
        format!("{} ({}/{})", pct(m.correct_acc), m.counts.correct_hits, m.counts.correct),
    );
    row(&mut s, &format!("F1 @ {:.2}", m.threshold), pct(m.f1));
    let best =
        m.best.map(|b| format!("{} at τ = {:.2}", pct(b.f1), b.threshold)).unwrap_or_else(|| "n/a".into());
    row(&mut s, "best F1 (sweep)", best);
    let a = &m.step_auroc;
    row(
        &mut s,
        "step AUROC",
        format!(
            "{} ({} correct steps, {} first-wrong steps)",
            a.value.map(|v| format!("{v:.3}")).unwrap_or_else(|| "n/a".into()),
            a.positives,
            a.negatives
        ),
    );
    if let Some(note) = &m.note {
        row(&mut s, "note", note.clone());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summaries_agree() {
        let records = vec![
            ItemRecord { id: "a".into(), predicted: Some(-1), label: -1, scores: vec![Some(1.0), None] },
            ItemRecord { id: "b".into(), predicted: Some(1), label: 1, scores: vec![Some(1.0), Some(0.0)] },
            ItemRecord { id: "c".into(), predicted: None, label: 0, scores: vec![None] },
        ];
        let m = metrics("arith", "f.json", 0.5, &records);
        assert_eq!((m.items, m.erroneous, m.correct, m.unscored), (3, 1, 1, 1));
        assert_eq!((m.error_acc, m.correct_acc, m.f1), (Some(1.0), Some(1.0), Some(1.0)));
        assert_eq!(m.step_auroc.value, Some(1.0));
        let csv = sweep_csv(&m);
        assert_eq!(csv.lines().count(), 20);
        assert_eq!(csv.lines().nth(1), Some("0.05,1.0000,1.0000,1.0000"));
        let t = table(&m);
        assert!(t.contains("F1 @ 0.50") && t.contains("100.0%"), "{t}");
        assert!(t.contains("1 unscored"), "{t}");
        assert!(m.note.is_none() && !t.contains("note"), "{t}");
        let mut outcome = records.clone();
        outcome[1].label = WRONG_STEP_UNKNOWN;
        let m = metrics("arith", "t.jsonl", 0.5, &outcome);
        assert_eq!(m.error_acc, Some(1.0));
        assert!(table(&m).contains("wrong solutions flagged anywhere"), "{}", table(&m));
    }
}

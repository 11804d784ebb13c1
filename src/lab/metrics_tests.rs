use super::*;

fn item(label: i64, scores: &[Option<f64>]) -> Scored {
    Scored { label, scores: scores.to_vec() }
}

const S: fn(f64) -> Option<f64> = Some;

#[test]
fn the_prediction_is_the_first_step_below_the_threshold() {
    assert_eq!(first_below(&[S(0.9), S(0.2), S(0.1)], 0.5), Some(1));
    assert_eq!(first_below(&[S(0.9), S(0.8)], 0.5), Some(-1));
    // Unscored steps are skipped, not guessed.
    assert_eq!(first_below(&[None, S(0.9), None, S(0.3)], 0.5), Some(3));
    assert_eq!(first_below(&[None, S(0.9), None], 0.5), Some(-1));
    // A score equal to τ passes.
    assert_eq!(first_below(&[S(0.5), S(0.49)], 0.5), Some(1));
    // No score at all: no prediction.
    assert_eq!(first_below(&[None, None], 0.5), None);
    assert_eq!(first_below(&[], 0.5), None);
}

#[test]
fn counts_follow_processbench() {
    let items = vec![
        item(-1, &[S(0.9), S(0.9)]),        // correct, predicted -1: hit
        item(-1, &[S(0.9), S(0.1)]),        // correct, predicted 1: miss
        item(0, &[S(0.2), S(0.9)]),         // label 0, predicted 0: hit
        item(2, &[S(0.9), S(0.3), S(0.1)]), // label 2, predicted 1 (too early): miss
        item(1, &[S(0.9), S(0.9)]),         // label 1, predicted -1: miss
        item(1, &[None, S(0.5), S(0.0)]),   // τ = 0.5 passes step 1: predicted 2, miss
        item(1, &[None, None]),             // unscored
    ];
    let c = counts(&items, 0.5);
    assert_eq!(c, Counts { erroneous: 4, erroneous_hits: 1, correct: 2, correct_hits: 1, unscored: 1 });
    assert_eq!(c.error_acc(), Some(0.25));
    assert_eq!(c.correct_acc(), Some(0.5));
    let f1 = c.f1().unwrap();
    assert!((f1 - 2.0 * 0.25 * 0.5 / 0.75).abs() < 1e-12, "{f1}");
    // A slightly higher τ flags the tie at 0.5 as the first error: a hit now.
    assert_eq!(counts(&items, 0.51).erroneous_hits, 2);
}

#[test]
fn f1_is_zero_when_both_accuracies_are_and_absent_without_a_group() {
    let c = counts(&[item(-1, &[S(0.1)]), item(0, &[S(0.9)])], 0.5);
    assert_eq!((c.error_acc(), c.correct_acc(), c.f1()), (Some(0.0), Some(0.0), Some(0.0)));
    let only_errors = counts(&[item(0, &[S(0.1)])], 0.5);
    assert_eq!((only_errors.error_acc(), only_errors.f1()), (Some(1.0), None));
}

#[test]
fn the_sweep_finds_the_best_threshold() {
    // Wrong steps score 0.3, right ones 0.6: any τ in (0.3, 0.6] separates them perfectly.
    let items = vec![item(-1, &[S(0.6), S(0.6)]), item(1, &[S(0.6), S(0.3)]), item(0, &[S(0.3)])];
    let rows = sweep(&items);
    assert_eq!(rows.len(), 19);
    assert!((rows[0].threshold - 0.05).abs() < 1e-12 && (rows[18].threshold - 0.95).abs() < 1e-12);
    let b = best(&rows).unwrap();
    // 0.35 is the lowest τ with F1 = 1 (0.30 passes the 0.3 steps: a tie passes).
    assert!((b.threshold - 0.35).abs() < 1e-12, "{b:?}");
    assert_eq!(b.f1, Some(1.0));
    let at_07 = rows.iter().find(|r| (r.threshold - 0.7).abs() < 1e-9).unwrap();
    assert_eq!((at_07.correct_acc, at_07.error_acc), (Some(0.0), Some(0.5)));
    assert_eq!(best(&sweep(&[item(0, &[S(0.1)])])), None);
}

#[test]
fn auroc_on_a_constructed_case() {
    // Positives: 0.9, 0.8 (before label 2), 0.7 and 0.4 (all-correct item). Negatives: the
    // label steps 0.5 and 0.8. The step after the first error (0.0) is left out.
    let items = vec![
        item(2, &[S(0.9), S(0.8), S(0.5), S(0.0)]),
        item(-1, &[S(0.7), None, S(0.4)]),
        item(0, &[S(0.8), S(1.0)]),
    ];
    let a = step_auroc(&items);
    assert_eq!((a.positives, a.negatives), (4, 2));
    // Pairs (pos > neg): vs 0.5: 0.9, 0.8, 0.7 → 3; vs 0.8: 0.9 → 1, 0.8 tie → 0.5. Total 4.5 / 8.
    assert!((a.value.unwrap() - 4.5 / 8.0).abs() < 1e-12, "{a:?}");
    let perfect = step_auroc(&[item(1, &[S(0.9), S(0.1)]), item(-1, &[S(0.6)])]);
    assert_eq!(perfect.value, Some(1.0));
    let no_negatives = step_auroc(&[item(-1, &[S(0.6)])]);
    assert_eq!((no_negatives.value, no_negatives.positives), (None, 1));
}

#[test]
fn a_wrong_answer_with_an_unknown_step_is_caught_by_any_low_step() {
    let u = WRONG_STEP_UNKNOWN;
    let items = vec![
        item(u, &[S(0.9), S(0.9), S(0.1)]), // flagged at step 2: caught
        item(u, &[S(0.2), S(0.9)]),         // flagged at step 0: caught
        item(u, &[S(0.9), S(0.9)]),         // nothing below τ: missed
        item(-1, &[S(0.9), S(0.8)]),        // correct, predicted -1: hit
    ];
    let c = counts(&items, 0.5);
    assert_eq!(c, Counts { erroneous: 3, erroneous_hits: 2, correct: 1, correct_hits: 1, unscored: 0 });
    assert!(hit(u, 0) && hit(u, 5) && !hit(u, -1));
    assert!(hit(3, 3) && !hit(3, 2) && hit(-1, -1));
    // Outcome-labelled items add no step to the AUROC: only the correct item's two steps.
    let a = step_auroc(&items);
    assert_eq!((a.value, a.positives, a.negatives), (None, 2, 0));
}

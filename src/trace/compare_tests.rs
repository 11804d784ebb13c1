use super::*;
use crate::event::{Event, RunInfo};
use crate::model::GeneratorInfo;
use crate::problem::Problem;
use crate::spec::RunConfig;
use crate::verify::{StepDetail, StepScore, Usage};

/// A finished run by `verifier`: one node per `(answer, step scores)`, the selected answer
/// `selected`, the gold answer "7".
fn run(verifier: &str, rule: SelectionRule, nodes: &[(&str, &[Option<f64>])], selected: &str) -> RunTree {
    let mut tree = RunTree::new();
    let config = RunConfig { selection: rule, ..RunConfig::default() };
    tree.apply(&Event::RunStarted(RunInfo {
        problem: Problem::inline("Start at 3. Add 4.", Some("7".into())),
        config,
        generator: GeneratorInfo {
            backend: "pocket".into(),
            model: "pocket".into(),
            location: "embedded".into(),
            logprobs: false,
        },
        verifier: verifier.into(),
    }));
    for (i, (answer, scores)) in nodes.iter().enumerate() {
        let node = i as NodeId;
        tree.apply(&Event::NodeStarted {
            node,
            parent: None,
            seed: None,
            depth: 0,
            chain: None,
            revision: None,
        });
        for (k, s) in scores.iter().enumerate() {
            let text = format!("step {k} of {node}\x1b[2J");
            tree.apply(&Event::StepCompleted { node, step: k as u32, text });
            let score = match s {
                Some(s) => StepScore::scored(*s, StepDetail::None, Usage::default()),
                None => StepScore::unscored("no", StepDetail::None, Usage::default()),
            };
            tree.apply(&Event::StepScored { node, step: k as u32, score });
        }
        tree.apply(&Event::NodeFinished {
            node,
            answer: Some(answer.to_string()),
            correct: Some(*answer == "7"),
            score: Aggregation::Last.apply(scores.iter().copied()),
            tokens: 10,
            done_reason: "stop".into(),
        });
    }
    tree.apply(&Event::RunFinished {
        selected: Some(selected.into()),
        correct: Some(selected == "7"),
        budget: Default::default(),
        error: None,
    });
    tree
}

#[test]
fn a_new_verifier_that_flips_the_ranking_is_reported() {
    let before = run(
        "pocket-prm",
        SelectionRule::Weighted,
        &[("7", &[Some(0.9), Some(0.8)]), ("8", &[Some(0.5), Some(0.3)]), ("7", &[Some(0.6), Some(0.5)])],
        "7",
    );
    let after = run(
        "arith",
        SelectionRule::Best,
        &[("7", &[Some(0.9), Some(0.1)]), ("8", &[Some(0.5), Some(1.0)]), ("7", &[Some(0.6), Some(0.5)])],
        "8",
    );
    let c = compare(&before, &after);
    assert_eq!(c.verifier, Change { before: "pocket-prm".to_string(), after: "arith".to_string() });
    assert_eq!(c.selection_rule.after, Some(SelectionRule::Best));
    assert!(c.answer_changed);
    assert_eq!(c.selected.before, Picked { answer: Some("7".into()), correct: Some(true) });
    assert_eq!(c.selected.after, Picked { answer: Some("8".into()), correct: Some(false) });
    // Ranks before: 0 (0.8), 2 (0.5), 1 (0.3); after: 1 (1.0), 2 (0.5), 0 (0.1).
    let ranks: Vec<_> = c.nodes.iter().map(|n| (n.node, n.rank.before, n.rank.after)).collect();
    assert_eq!(ranks, vec![(0, Some(1), Some(3)), (1, Some(3), Some(1)), (2, Some(2), Some(2))]);
    assert_eq!(c.rank_changed, vec![1, 0], "best new rank first");
    assert_eq!(c.nodes[0].score, Change { before: Some(0.8), after: Some(0.1) });
    // Step 1 of nodes 0 and 1 moved by 0.7; node 2 did not move.
    let moved: Vec<_> = c.steps_moved.iter().map(|m| (m.node, m.step)).collect();
    assert_eq!(moved, vec![(0, 1), (1, 1)]);
    assert_eq!((c.steps_moved[0].before, c.steps_moved[0].after), (0.8, 0.1));
}

#[test]
fn small_moves_and_unscoring_are_counted_not_listed() {
    let before =
        run("arith", SelectionRule::Weighted, &[("7", &[Some(0.5), Some(0.5)]), ("7", &[Some(1.0)])], "7");
    let after = run("none", SelectionRule::Majority, &[("7", &[Some(0.69), None]), ("7", &[None])], "7");
    let c = compare(&before, &after);
    assert!(c.steps_moved.is_empty(), "0.19 is not a move: {:?}", c.steps_moved);
    assert_eq!((c.steps_unscored_now, c.steps_scored_now), (2, 0));
    assert!(!c.answer_changed);
    assert!(!c.selected.changed());
}

#[test]
fn equal_scores_share_a_rank() {
    let before = run(
        "arith",
        SelectionRule::Weighted,
        &[("7", &[Some(1.0)]), ("8", &[Some(0.5)]), ("9", &[Some(0.2)])],
        "7",
    );
    let after = run("none", SelectionRule::Majority, &[("7", &[None]), ("8", &[None]), ("9", &[None])], "7");
    let c = compare(&before, &after);
    let ranks: Vec<_> = c.nodes.iter().map(|n| (n.rank.before, n.rank.after)).collect();
    assert_eq!(ranks, vec![(Some(1), Some(1)), (Some(2), Some(1)), (Some(3), Some(1))]);
    assert_eq!(c.rank_changed, vec![1, 2]);
}

#[test]
fn equal_answers_written_differently_are_the_same_selection() {
    let before = run("arith", SelectionRule::Weighted, &[("0.5", &[Some(1.0)])], "0.5");
    let after = run("none", SelectionRule::Weighted, &[("1/2", &[Some(1.0)])], "1/2");
    assert!(!compare(&before, &after).answer_changed);
}

#[test]
fn a_run_cut_short_compares_its_last_selection() {
    let mut tree = RunTree::new();
    tree.apply(&Event::Selection(crate::spec::Selection {
        rule: SelectionRule::Majority,
        aggregation: Aggregation::Last,
        answers: Vec::new(),
        selected: Some("5".into()),
        selected_node: Some(0),
        correct: None,
        note: None,
    }));
    assert_eq!(picked(&tree), Picked { answer: Some("5".into()), correct: None });
}

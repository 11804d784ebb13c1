//! Selection: how the final answer is picked from scored candidates.

use crate::grade::{answer_key, answers_equal};
use crate::spec::{AnswerTally, Candidate, NodeId, Selection, SelectionRule};
use crate::verify::Aggregation;

/// Pick an answer. Candidates without an answer do not vote. Answers are
/// grouped by mathematical equality, so "1/2" and "0.5" pool their support.
pub fn select(
    cands: &[Candidate],
    rule: SelectionRule,
    aggregation: Aggregation,
    gold: Option<&str>,
) -> Selection {
    let mut groups: Vec<AnswerTally> = Vec::new();
    // Normalised keys find most matches cheaply; full equality only decides the rest.
    let mut keys: Vec<String> = Vec::new();
    for c in cands {
        let Some(ans) = c.answer.as_deref() else { continue };
        let key = answer_key(ans);
        let idx = match keys
            .iter()
            .position(|k| *k == key)
            .or_else(|| groups.iter().position(|g| answers_equal(ans, &g.answer)))
        {
            Some(i) => i,
            None => {
                groups.push(AnswerTally {
                    answer: ans.to_string(),
                    votes: 0,
                    weight: 0.0,
                    best_score: None,
                    nodes: Vec::new(),
                    correct: gold.map(|g| answers_equal(ans, g)),
                });
                keys.push(key);
                groups.len() - 1
            }
        };
        let g = &mut groups[idx];
        g.votes += 1;
        g.nodes.push(c.node);
        if let Some(s) = c.score {
            g.weight += s;
            g.best_score = Some(g.best_score.map_or(s, |b: f64| b.max(s)));
        }
    }
    let any_score = groups.iter().any(|g| g.best_score.is_some());
    let (used, note) = match rule {
        SelectionRule::Majority => (SelectionRule::Majority, None),
        r if !any_score => (
            SelectionRule::Majority,
            Some(format!("no candidate has a verifier score, so {r} fell back to majority")),
        ),
        r => (r, None),
    };
    // Rank by the rule; ties go to more votes, then more weight, then the earliest answer.
    let key = |g: &AnswerTally| -> (f64, f64, f64) {
        let votes = g.votes as f64;
        match used {
            SelectionRule::Majority => (votes, g.weight, 0.0),
            SelectionRule::Weighted => (g.weight, votes, 0.0),
            SelectionRule::Best => (g.best_score.unwrap_or(f64::NEG_INFINITY), votes, g.weight),
        }
    };
    // A stable sort keeps first-seen order among exact ties.
    groups.sort_by(|a, b| key(b).partial_cmp(&key(a)).unwrap_or(std::cmp::Ordering::Equal));
    let top = groups.first();
    let selected_node = top.and_then(|g| {
        // Stand for the answer with its best-scoring candidate.
        g.nodes.iter().copied().max_by(|a, b| {
            let s = |n: NodeId| cands.iter().find(|c| c.node == n).and_then(|c| c.score).unwrap_or(-1.0);
            s(*a).partial_cmp(&s(*b)).unwrap_or(std::cmp::Ordering::Equal).then(b.cmp(a))
        })
    });
    Selection {
        rule,
        aggregation,
        selected: top.map(|g| g.answer.clone()),
        correct: top.and_then(|g| g.correct),
        selected_node,
        answers: groups,
        note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(node: NodeId, answer: &str, score: Option<f64>) -> Candidate {
        Candidate { node, answer: Some(answer.to_string()), score }
    }

    fn pool() -> Vec<Candidate> {
        // Three weak votes for 5, two strong ones for 7, and one very strong 9.
        vec![
            c(0, "5", Some(0.2)),
            c(1, "5", Some(0.2)),
            c(2, "5", Some(0.2)),
            c(3, "7", Some(0.8)),
            c(4, "7", Some(0.7)),
            c(5, "9", Some(0.95)),
            Candidate { node: 6, answer: None, score: Some(1.0) },
        ]
    }

    #[test]
    fn majority_counts_votes() {
        let s = select(&pool(), SelectionRule::Majority, Aggregation::Last, Some("7"));
        assert_eq!(s.selected.as_deref(), Some("5"));
        assert_eq!(s.correct, Some(false));
        assert_eq!(s.answers[0].votes, 3);
        assert_eq!(s.answers.len(), 3);
    }

    #[test]
    fn weighted_sums_scores() {
        let s = select(&pool(), SelectionRule::Weighted, Aggregation::Last, Some("7"));
        assert_eq!(s.selected.as_deref(), Some("7"));
        assert_eq!(s.correct, Some(true));
        assert!((s.answers[0].weight - 1.5).abs() < 1e-12);
        assert_eq!(s.selected_node, Some(3));
    }

    #[test]
    fn best_takes_the_top_candidate() {
        let s = select(&pool(), SelectionRule::Best, Aggregation::Last, None);
        assert_eq!(s.selected.as_deref(), Some("9"));
        assert_eq!(s.selected_node, Some(5));
        assert_eq!(s.correct, None);
    }

    #[test]
    fn equal_answers_pool_their_votes() {
        let cands = vec![c(0, "\\frac{1}{2}", None), c(1, "0.5", None), c(2, "3", None)];
        let s = select(&cands, SelectionRule::Majority, Aggregation::Last, Some("1/2"));
        assert_eq!(s.answers[0].votes, 2);
        assert_eq!(s.correct, Some(true));
    }

    #[test]
    fn no_scores_fall_back_to_majority_with_a_note() {
        let cands = vec![c(0, "4", None), c(1, "4", None), c(2, "5", None)];
        for rule in [SelectionRule::Best, SelectionRule::Weighted] {
            let s = select(&cands, rule, Aggregation::Last, None);
            assert_eq!(s.selected.as_deref(), Some("4"));
            assert!(s.note.as_deref().unwrap().contains("fell back to majority"));
        }
    }

    #[test]
    fn ties_go_to_the_earliest_answer() {
        let cands = vec![c(0, "4", None), c(1, "5", None)];
        let s = select(&cands, SelectionRule::Majority, Aggregation::Last, None);
        assert_eq!(s.selected.as_deref(), Some("4"));
    }

    #[test]
    fn nothing_to_select() {
        let s = select(&[], SelectionRule::Weighted, Aggregation::Last, None);
        assert_eq!(s.selected, None);
        assert!(s.answers.is_empty());
    }
}

//! Selection: how the final answer is picked from scored candidates.
//!
//! Candidates without an answer do not vote, and neither do candidates whose
//! answer is [`malformed`] (a generation cut off by the token limit in the
//! middle of its answer, e.g. "The answer is \(\" extracting `\(\`).
//! Answers are grouped by mathematical equality, so "1/2" and "0.5" pool
//! their support. Ties under the rule go first to the verifier's score where
//! there is one, then to the run's seed — never simply to the first candidate.

use crate::grade::{answer_key, answers_equal};
use crate::spec::{AnswerTally, Candidate, NodeId, Selection, SelectionRule};
use crate::verify::Aggregation;

/// Pick an answer, breaking exact ties with seed 0. Callers that know the run's
/// seed use [`select_seeded`], so a tie is broken the same way every time the
/// run is selected again.
pub fn select(
    cands: &[Candidate],
    rule: SelectionRule,
    aggregation: Aggregation,
    gold: Option<&str>,
) -> Selection {
    select_seeded(cands, rule, aggregation, gold, 0)
}

/// Whether an extracted answer is too broken to vote (`\(\`, `$`, `{`, `(0, 1`, `5\`):
/// the one test grading uses too, [`crate::grade::well_formed`].
pub fn malformed(answer: &str) -> bool {
    !crate::grade::well_formed(answer.trim())
}

/// Where `seed` puts an answer among exact ties: a hash of the seed and the
/// answer's normalised key, so the order does not depend on which candidate came first.
fn tie_rank(seed: u64, key: &str) -> u64 {
    use crate::hash::{fnv1a, mix64};
    mix64(fnv1a(key.as_bytes()) ^ mix64(seed))
}

/// Pick an answer under `rule`. Ties: majority → the larger summed verifier
/// score (where any answer has one), then votes/weight as the rule's second
/// key; whatever is still tied goes to the answer the run's `seed` ranks first.
pub fn select_seeded(
    cands: &[Candidate],
    rule: SelectionRule,
    aggregation: Aggregation,
    gold: Option<&str>,
    seed: u64,
) -> Selection {
    let mut groups: Vec<AnswerTally> = Vec::new();
    // Normalised keys find most matches cheaply; full equality only decides the rest.
    let mut keys: Vec<String> = Vec::new();
    let mut scored: Vec<bool> = Vec::new();
    let mut dropped = 0usize;
    // Voting candidates without a score: they add nothing to a score-based rule.
    let (mut voting, mut unscored) = (0usize, 0usize);
    for c in cands {
        let Some(ans) = c.answer.as_deref() else { continue };
        if malformed(ans) {
            dropped += 1;
            continue;
        }
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
                scored.push(false);
                groups.len() - 1
            }
        };
        voting += 1;
        unscored += c.score.is_none() as usize;
        let g = &mut groups[idx];
        g.votes += 1;
        g.nodes.push(c.node);
        if let Some(s) = c.score {
            g.weight += s;
            g.best_score = Some(g.best_score.map_or(s, |b: f64| b.max(s)));
            scored[idx] = true;
        }
    }
    let any_score = scored.iter().any(|s| *s);
    let (used, mut note) = match rule {
        SelectionRule::Majority => (SelectionRule::Majority, None),
        r if !any_score => (
            SelectionRule::Majority,
            Some(format!("no candidate has a verifier score, so {r} fell back to majority")),
        ),
        r if unscored > 0 => {
            (r, Some(format!("{unscored} of {voting} answers unscored: they count for nothing in {r}")))
        }
        r => (r, None),
    };
    if dropped > 0 {
        let what = if dropped == 1 { "answer was" } else { "answers were" };
        let line = format!("{dropped} malformed {what} left out of the vote (cut off mid-answer?)");
        note = Some(match note {
            Some(n) => format!("{n}; {line}"),
            None => line,
        });
    }
    // Rank by the rule; an unscored answer ranks below any scored one on score keys.
    let score_or_floor = |i: usize, v: f64| if scored[i] { v } else { f64::NEG_INFINITY };
    let key = |i: usize| -> [f64; 3] {
        let g = &groups[i];
        let votes = g.votes as f64;
        match used {
            SelectionRule::Majority => [votes, score_or_floor(i, g.weight), 0.0],
            SelectionRule::Weighted => [score_or_floor(i, g.weight), votes, 0.0],
            SelectionRule::Best => {
                [g.best_score.unwrap_or(f64::NEG_INFINITY), votes, score_or_floor(i, g.weight)]
            }
        }
    };
    let ranks: Vec<u64> = keys.iter().map(|k| tie_rank(seed, k)).collect();
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by(|&a, &b| {
        let (ka, kb) = (key(a), key(b));
        kb.partial_cmp(&ka).unwrap_or(std::cmp::Ordering::Equal).then(ranks[a].cmp(&ranks[b])).then(a.cmp(&b))
    });
    let mut slots: Vec<Option<AnswerTally>> = groups.into_iter().map(Some).collect();
    let groups: Vec<AnswerTally> = order.iter().filter_map(|&i| slots[i].take()).collect();
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
    fn unscored_answers_under_a_score_rule_are_said() {
        let mut cands = vec![c(0, "1.666", Some(1.0)), c(1, "80", None), c(2, "80", None)];
        let s = select(&cands, SelectionRule::Weighted, Aggregation::Last, None);
        assert_eq!(s.selected.as_deref(), Some("1.666"));
        let note = s.note.as_deref().unwrap();
        assert!(note.contains("2 of 3 answers unscored") && note.contains("weighted"), "{note}");
        // Majority counts them all; a fully scored run says nothing.
        assert!(select(&cands, SelectionRule::Majority, Aggregation::Last, None).note.is_none());
        cands[1].score = Some(0.2);
        cands[2].score = Some(0.3);
        assert!(select(&cands, SelectionRule::Weighted, Aggregation::Last, None).note.is_none());
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
    fn malformed_answers() {
        for bad in ["\\(\\", "\\(", "$", "\\[", " ", "\\frac{1}{2", "{", "x}", "(0, 1", "5\\", ".", "\\(\\)"]
        {
            assert!(malformed(bad), "{bad:?} is malformed");
        }
        for ok in [
            "5",
            "[0, 1)",
            "(2, 5]",
            "\\frac{1}{2}",
            "$5",
            "\\{1, 2\\}",
            "\\begin{pmatrix}1\\\\2\\end{pmatrix}",
            "\\emptyset",
            "-3",
            "\\text{(B)}",
        ] {
            assert!(!malformed(ok), "{ok:?} is an answer");
        }
    }

    #[test]
    fn nothing_to_select() {
        let s = select(&[], SelectionRule::Weighted, Aggregation::Last, None);
        assert_eq!(s.selected, None);
        assert!(s.answers.is_empty());
    }
}

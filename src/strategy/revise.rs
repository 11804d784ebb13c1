//! Sequential revisions (Snell et al. 2024 §6): C chains, each writing D
//! attempts; every attempt after the first sees the problem and the chain's
//! most recent attempts (up to 4) and is asked to correct them.
//!
//! Chains advance in rounds (round r writes revision r of every chain), so
//! live changes to C and D apply at the next round. The answer is picked
//! hierarchically — the best attempt within each chain, then the selection
//! rule across chains — or by one flat majority vote over every attempt.
//! About a third of correct answers get revised into wrong ones, so the last
//! revision is never simply taken.

use std::sync::Arc;

use serde::Deserialize;
use tokio::sync::mpsc;

use super::best_of_n::{sample_guarded, Outcome, Sample};
use super::context::RunContext;
use super::engine::Shared;
use super::select::select;
use crate::event::Event;
use crate::model::Message;
use crate::problem::Problem;
use crate::spec::{fill, Candidate, Command, NodeId, RevisionSelection, SelectionRule};
use crate::steps::STEP_DELIMITER;

/// The bundled revision prompt.
pub const REVISE_PROMPT: &str = include_str!("../../assets/prompts/revise.toml");

/// Attempts a revision sees at most.
pub const HISTORY: usize = 4;

/// How the model is asked to revise.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevisePrompt {
    #[serde(default)]
    pub system: String,
    pub user: String,
}

impl RevisePrompt {
    /// The prompt that ships with ttc.
    pub fn bundled() -> Self {
        match toml::from_str(REVISE_PROMPT) {
            Ok(p) => p,
            Err(e) => unreachable!("the bundled revision prompt is valid: {e}"),
        }
    }

    /// Messages asking to revise `attempts` (oldest first; the last `HISTORY` are shown).
    pub fn messages(&self, problem: &Problem, attempts: &[String]) -> Vec<Message> {
        let recent = &attempts[attempts.len().saturating_sub(HISTORY)..];
        let listed: Vec<String> =
            recent.iter().enumerate().map(|(i, a)| format!("Attempt {}:\n{}", i + 1, a.trim())).collect();
        let count = recent.len().to_string();
        let attempts = listed.join(&format!("{STEP_DELIMITER}---{STEP_DELIMITER}"));
        let user =
            fill(&self.user, &[("problem", &problem.text), ("count", &count), ("attempts", &attempts)]);
        let mut m = Vec::with_capacity(2);
        if !self.system.is_empty() {
            m.push(Message::system(self.system.clone()));
        }
        m.push(Message::user(user));
        m
    }
}

/// One attempt of a chain.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub chain: u32,
    pub revision: u32,
    pub candidate: Candidate,
    pub text: String,
}

/// Pick the answer from every chain's attempts.
pub fn select_revisions(
    attempts: &[Attempt],
    how: RevisionSelection,
    rule: SelectionRule,
    agg: crate::verify::Aggregation,
    gold: Option<&str>,
) -> super::Selection {
    match how {
        RevisionSelection::Majority => {
            let all: Vec<Candidate> = attempts.iter().map(|a| a.candidate.clone()).collect();
            select(&all, SelectionRule::Majority, agg, gold)
        }
        RevisionSelection::Hierarchical => {
            let mut chains: Vec<u32> = attempts.iter().map(|a| a.chain).collect();
            chains.sort_unstable();
            chains.dedup();
            // Within a chain: the highest score; ties go to the later revision.
            let winners: Vec<Candidate> = chains
                .iter()
                .filter_map(|c| {
                    attempts
                        .iter()
                        .filter(|a| a.chain == *c && a.candidate.answer.is_some())
                        .max_by(|a, b| {
                            let (x, y) = (
                                a.candidate.score.unwrap_or(f64::NEG_INFINITY),
                                b.candidate.score.unwrap_or(f64::NEG_INFINITY),
                            );
                            x.partial_cmp(&y)
                                .unwrap_or(std::cmp::Ordering::Equal)
                                .then(a.revision.cmp(&b.revision))
                        })
                        .map(|a| a.candidate.clone())
                })
                .collect();
            select(&winners, rule, agg, gold)
        }
    }
}

/// Run C chains × D revisions.
pub async fn run(ctx: RunContext, mut commands: mpsc::UnboundedReceiver<Command>) {
    let cfg = ctx.config.clone();
    let cancel = ctx.cancel.clone();
    let prompt = RevisePrompt::bundled();
    let (shared, pause) = Shared::new(ctx);
    let mut chains = cfg.chains.max(1);
    let mut revisions = cfg.revisions.max(1);
    let mut next_id: NodeId = shared.ctx.first_node;
    // Per chain: its attempts' texts, oldest first.
    let mut history: Vec<Vec<String>> = Vec::new();
    let mut attempts: Vec<Attempt> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let mut round: u32 = 0;
    loop {
        while let Ok(c) = commands.try_recv() {
            let change = match c {
                Command::Pause(p) => {
                    let _ = pause.send(p);
                    continue;
                }
                Command::SetChains(c) | Command::SetN(c) => {
                    chains = c.max(1);
                    format!("chains C = {chains}")
                }
                Command::SetRevisions(d) => {
                    revisions = d.max(1);
                    format!("revisions D = {revisions}")
                }
                other => format!("{other:?} does not apply to revisions"),
            };
            shared
                .ctx
                .sink
                .emit(Event::Applied { change: format!("{change} from revision round {}", round + 1) });
        }
        if !shared.wait_unpaused(&cancel).await || cancel.is_cancelled() {
            break;
        }
        while history.len() < chains {
            history.push(Vec::new());
        }
        // Chains that still have attempts to write; chains beyond C stop.
        let active: Vec<usize> = (0..chains).filter(|&c| history[c].len() < revisions).collect();
        if active.is_empty() {
            break;
        }
        let jobs = active.iter().map(|&c| {
            let node = next_id;
            next_id += 1;
            let r = history[c].len() as u32;
            let messages = if history[c].is_empty() {
                shared.ctx.prompt.messages(&shared.ctx.problem)
            } else {
                prompt.messages(&shared.ctx.problem, &history[c])
            };
            let spec = Sample {
                messages,
                seed: cfg.seed as i64 + node as i64,
                chain: Some(c as u32),
                revision: Some(r),
            };
            let shared: Arc<Shared> = shared.clone();
            let cancel = cancel.clone();
            async move { (c, r, sample_guarded(shared, node, spec, cancel).await) }
        });
        let results = futures::future::join_all(jobs).await;
        let mut progressed = false;
        for (c, r, outcome) in results {
            match outcome {
                Outcome::Finished(cand, text) => {
                    history[c].push(text.clone());
                    attempts.push(Attempt { chain: c as u32, revision: r, candidate: cand, text });
                    progressed = true;
                }
                Outcome::Failed(e) => {
                    // A failed attempt still uses up a revision, so the chain cannot loop on it.
                    history[c].push(String::new());
                    errors.push(e);
                    progressed = true;
                }
                Outcome::Cancelled => {}
            }
        }
        round += 1;
        shared.ctx.sink.emit(Event::RoundFinished {
            depth: round,
            alive: active.len() as u32,
            finished: attempts.len() as u32,
        });
        if !progressed {
            break;
        }
    }
    let sel = select_revisions(
        &attempts,
        cfg.revision_selection,
        cfg.selection,
        cfg.aggregation,
        shared.ctx.problem.gold.as_deref(),
    );
    shared.finish(sel, attempts.len(), &errors);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Aggregation;

    fn a(chain: u32, revision: u32, node: NodeId, answer: &str, score: f64) -> Attempt {
        Attempt {
            chain,
            revision,
            candidate: Candidate { node, answer: Some(answer.into()), score: Some(score) },
            text: String::new(),
        }
    }

    #[test]
    fn hierarchical_takes_the_best_of_each_chain_then_votes() {
        // Chain 0 revises a right 42 into a wrong 41; its best attempt is still 42.
        let attempts = vec![
            a(0, 0, 0, "42", 0.9),
            a(0, 1, 2, "41", 0.3),
            a(1, 0, 1, "40", 0.4),
            a(1, 1, 3, "42", 0.8),
            a(2, 0, 4, "40", 0.6),
            a(2, 1, 5, "40", 0.5),
        ];
        let s = select_revisions(
            &attempts,
            RevisionSelection::Hierarchical,
            SelectionRule::Weighted,
            Aggregation::Last,
            Some("42"),
        );
        // Winners: 42 (0.9), 42 (0.8), 40 (0.6) → weighted 42.
        assert_eq!(s.selected.as_deref(), Some("42"));
        assert_eq!(s.answers.iter().map(|t| t.votes).sum::<u32>(), 3, "one winner per chain");
        assert_eq!(s.correct, Some(true));
    }

    #[test]
    fn flat_majority_counts_every_attempt() {
        let attempts =
            vec![a(0, 0, 0, "42", 0.9), a(0, 1, 2, "40", 0.1), a(1, 0, 1, "40", 0.1), a(1, 1, 3, "40", 0.1)];
        let s = select_revisions(
            &attempts,
            RevisionSelection::Majority,
            SelectionRule::Weighted,
            Aggregation::Last,
            None,
        );
        assert_eq!(s.selected.as_deref(), Some("40"));
        assert_eq!(s.answers[0].votes, 3);
    }

    #[test]
    fn ties_within_a_chain_go_to_the_later_revision() {
        let attempts = vec![a(0, 0, 0, "1", 0.5), a(0, 1, 1, "2", 0.5)];
        let s = select_revisions(
            &attempts,
            RevisionSelection::Hierarchical,
            SelectionRule::Best,
            Aggregation::Last,
            None,
        );
        assert_eq!(s.selected.as_deref(), Some("2"));
    }

    #[test]
    fn the_prompt_shows_at_most_four_recent_attempts() {
        let p = RevisePrompt::bundled();
        let attempts: Vec<String> = (1..=6).map(|i| format!("attempt text {i}")).collect();
        let m = p.messages(&Problem::inline("What is 1 + 1?", None), &attempts);
        let user = &m.last().unwrap().content;
        assert!(user.contains("What is 1 + 1?"));
        assert!(
            !user.contains("attempt text 2")
                && user.contains("attempt text 3")
                && user.contains("attempt text 6")
        );
        assert!(user.contains("4 most recent attempts"));
    }

    #[test]
    fn placeholders_inside_the_problem_or_attempts_stay_as_written() {
        let p = RevisePrompt::bundled();
        let problem = Problem::inline("Why is {count} in {attempts}?", None);
        let attempts = vec!["It says {problem} and {count}.".to_string()];
        let user = p.messages(&problem, &attempts).pop().unwrap().content;
        assert!(user.contains("Why is {count} in {attempts}?"), "{user}");
        assert!(user.contains("It says {problem} and {count}."), "{user}");
    }
}

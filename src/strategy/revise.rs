//! Sequential revisions (Snell et al. 2024 §6): C chains, each writing D
//! attempts; every attempt after the first sees the problem and the chain's
//! most recent attempts (up to 4) and is asked to correct them.
//!
//! Chains advance in rounds (round r writes revision r of every chain), so
//! live changes to C and D apply at the next round. The answer is picked
//! hierarchically — the best attempt within each chain, then the selection
//! rule across chains — or by one flat majority vote over every attempt.
//! The paper counts about 38% of correct answers revised into wrong ones, so the last
//! revision is never simply taken.
//!
//! What each side sees:
//! - a revision sees the problem and the chain's most recent *finished*
//!   attempts (up to [`HISTORY`]); a failed attempt uses up its revision but is
//!   left out, never shown as an empty attempt;
//! - the verifier scores every attempt on its own: it sees the problem and
//!   that attempt's steps, not the earlier attempts the reviser was shown.
//!   The paper's revision verifier reads an attempt with the chain's earlier
//!   revisions in context; ttc's verifiers (judge, arith, oracle, pocket PRM,
//!   http) take no history, so none does here.

use std::sync::Arc;

use serde::Deserialize;
use tokio::sync::mpsc;

use super::best_of_n::{group_samples, sample_guarded, Outcome, Sample};
use super::context::RunContext;
use super::engine::Shared;
use super::select::select_seeded;
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
///
/// - [`RevisionSelection::Hierarchical`] (the paper's rule): within each chain,
///   weighted best-of-N over that chain's attempts (verifier scores summed per
///   distinct answer); each chain's pick then stands for the chain with the
///   score of its best-scoring attempt, and `rule` selects across the chains'
///   picks. With no verifier score on any attempt, weighting means nothing:
///   one flat majority vote over every attempt decides (never a vote over the
///   chains' last revisions), and the selection's note says so.
/// - [`RevisionSelection::Majority`]: one flat majority vote over every attempt.
///
/// Exact ties go to the run's `seed` (see [`super::select::select_seeded`]).
pub fn select_revisions(
    attempts: &[Attempt],
    how: RevisionSelection,
    rule: SelectionRule,
    agg: crate::verify::Aggregation,
    gold: Option<&str>,
    seed: u64,
) -> super::Selection {
    let all: Vec<Candidate> = attempts.iter().map(|a| a.candidate.clone()).collect();
    let flat = |note: Option<String>| {
        let mut s = select_seeded(&all, SelectionRule::Majority, agg, gold, seed);
        if let Some(n) = note {
            s.note = Some(match s.note.take() {
                Some(old) => format!("{n}; {old}"),
                None => n,
            });
        }
        s
    };
    match how {
        RevisionSelection::Majority => flat(None),
        RevisionSelection::Hierarchical if all.iter().all(|c| c.score.is_none()) => {
            flat((!all.is_empty()).then(|| {
                "no attempt has a verifier score, so one majority vote over every attempt decided".to_string()
            }))
        }
        RevisionSelection::Hierarchical => {
            let mut chains: Vec<u32> = attempts.iter().map(|a| a.chain).collect();
            chains.sort_unstable();
            chains.dedup();
            let picks: Vec<Candidate> = chains
                .iter()
                .filter_map(|&chain| {
                    let own: Vec<Candidate> =
                        attempts.iter().filter(|a| a.chain == chain).map(|a| a.candidate.clone()).collect();
                    let within = select_seeded(&own, SelectionRule::Weighted, agg, gold, seed);
                    let node = within.selected_node?;
                    let pick = own.iter().find(|c| c.node == node)?;
                    Some(Candidate { node, answer: within.selected.clone(), score: pick.score })
                })
                .collect();
            select_seeded(&picks, rule, agg, gold, seed)
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
    // Per chain: the texts of its finished attempts, oldest first (what a revision sees),
    // and how many attempts it has used, failed ones included.
    let mut history: Vec<Vec<String>> = Vec::new();
    let mut used: Vec<usize> = Vec::new();
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
            used.push(0);
        }
        // Chains that still have attempts to write; chains beyond C stop.
        let active: Vec<usize> = (0..chains).filter(|&c| used[c] < revisions).collect();
        if active.is_empty() {
            break;
        }
        let mut nodes: Vec<(usize, NodeId)> = Vec::new();
        let mut specs: Vec<Sample> = Vec::new();
        for &c in &active {
            let node = next_id;
            next_id += 1;
            let messages = if history[c].is_empty() {
                shared.ctx.prompt.messages(&shared.ctx.problem)
            } else {
                prompt.messages(&shared.ctx.problem, &history[c])
            };
            nodes.push((c, node));
            specs.push(Sample {
                messages,
                seed: cfg.seed as i64 + node as i64,
                chain: Some(c as u32),
                revision: Some(used[c] as u32),
                group: None,
            });
        }
        // Attempts of a round that see the same messages (the chains' first attempts) are
        // samples of one prompt; a revision sees its own chain's history and runs alone.
        group_samples(&mut specs);
        let jobs = nodes.into_iter().zip(specs).map(|((c, node), spec)| {
            let r = spec.revision.unwrap_or(0);
            let shared: Arc<Shared> = shared.clone();
            let cancel = cancel.clone();
            async move { (c, r, sample_guarded(shared, node, spec, cancel).await) }
        });
        let results = futures::future::join_all(jobs).await;
        let mut progressed = false;
        for (c, r, outcome) in results {
            match outcome {
                Outcome::Finished(cand, text) => {
                    used[c] += 1;
                    history[c].push(text.clone());
                    attempts.push(Attempt { chain: c as u32, revision: r, candidate: cand, text });
                    progressed = true;
                }
                Outcome::Failed(e) => {
                    // A failed attempt uses up a revision, so the chain cannot loop on it, but
                    // it wrote nothing to revise: the next attempt does not see it.
                    used[c] += 1;
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
        cfg.seed,
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
            0,
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
            0,
        );
        assert_eq!(s.selected.as_deref(), Some("40"));
        assert_eq!(s.answers[0].votes, 3);
    }

    #[test]
    fn within_a_chain_scores_are_summed_per_answer() {
        // One chain: 7 twice at 0.4 (weight 0.8) beats a single 9 at 0.7.
        let attempts = vec![a(0, 0, 0, "7", 0.4), a(0, 1, 1, "9", 0.7), a(0, 2, 2, "7", 0.4)];
        let s = select_revisions(
            &attempts,
            RevisionSelection::Hierarchical,
            SelectionRule::Best,
            Aggregation::Last,
            None,
            0,
        );
        assert_eq!(s.selected.as_deref(), Some("7"));
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

//! Synthetic runs for view tests and the render benchmark: the same events a
//! real best-of-N run emits, with fixed text, scores and timings.

use crate::budget::Budget;
use crate::event::{Event, RunInfo};
use crate::model::GeneratorInfo;
use crate::problem::Problem;
use crate::strategy::{select, Candidate, RunConfig};
use crate::verify::{ArithClaim, StepDetail, StepScore, Usage};

/// How far the synthetic run has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Half the candidates finished, the rest mid-step.
    Streaming,
    /// Every candidate finished, selection made.
    Finished,
}

/// The events of a best-of-`n` run whose candidates write about `tokens` tokens each.
/// Candidate 2 fails when `fail_one` is set.
pub fn best_of_n_events(n: usize, tokens: usize, stage: Stage, fail_one: bool) -> Vec<Event> {
    let problem = Problem {
        id: "bundled:gsm8k:0".into(),
        text: "Janet's ducks lay 16 eggs per day. She eats three for breakfast and bakes muffins with four. She sells the rest for $2 each. How much does she make every day?".into(),
        gold: Some("18".into()),
        source: Some("gsm8k".into()),
        level: None,
        subject: None,
    };
    let config = RunConfig { n, ..RunConfig::default() };
    let mut ev = vec![Event::RunStarted(RunInfo {
        problem,
        config,
        generator: GeneratorInfo {
            backend: "ollama".into(),
            model: "qwen2.5:1.5b".into(),
            location: "http://127.0.0.1:11434".into(),
            logprobs: true,
        },
        verifier: "arith".into(),
    })];
    let mut cands = Vec::new();
    let mut total_tokens = 0u64;
    for i in 0..n {
        let node = i as u32;
        ev.push(Event::NodeStarted {
            node,
            parent: None,
            seed: Some(i as i64),
            depth: 0,
            chain: None,
            revision: None,
        });
        if stage == Stage::Streaming && i > n.div_ceil(2) {
            continue; // still queued
        }
        ev.push(Event::NodeStreaming { node });
        let wrong = i % 4 == 3;
        let mut steps: Vec<String> =
            vec!["Janet's ducks lay 16 eggs per day; she uses 3 + 4 = 7 of them.".into()];
        let mut tok = 16usize;
        let mut k = 0;
        while tok + 12 < tokens {
            steps.push(format!(
                "Check {k}: {a} + {b} = {c}, so the running total stays consistent with the eggs counted so far.",
                a = 10 + k,
                b = 3,
                c = 13 + k
            ));
            tok += 24;
            k += 1;
        }
        let eggs = if wrong { 10 } else { 9 };
        steps.push(format!("She sells 16 - 7 = {eggs} eggs, making {eggs} * 2 = {} dollars.", eggs * 2));
        steps.push(format!("The answer is \\boxed{{{}}}.", eggs * 2));
        let streaming = stage == Stage::Streaming && i % 2 == 1;
        let failing = fail_one && i == 2;
        let shown = if streaming || failing { steps.len() / 2 } else { steps.len() };
        let mut text = String::new();
        for (s, step) in steps.iter().take(shown).enumerate() {
            if s > 0 {
                text.push_str("\n\n");
                ev.push(Event::TextDelta { node, text: "\n\n".into() });
            }
            // Deltas of about four characters, as a model streams them.
            let chars: Vec<char> = step.chars().collect();
            for piece in chars.chunks(4) {
                ev.push(Event::TextDelta { node, text: piece.iter().collect() });
            }
            text.push_str(step);
            if s + 1 < shown || !(streaming || failing) {
                ev.push(Event::StepCompleted { node, step: s as u32, text: step.clone() });
                let claims = crate::verify::arith::find_claims(step);
                let score = if claims.is_empty() {
                    StepScore::unscored(
                        "no arithmetic claim in this step",
                        StepDetail::Arith { claims },
                        Usage::default(),
                    )
                } else {
                    let ok = claims.iter().all(|c: &ArithClaim| c.ok);
                    StepScore::scored(
                        if ok { 1.0 } else { 0.0 },
                        StepDetail::Arith { claims },
                        Usage::default(),
                    )
                };
                ev.push(Event::StepScored { node, step: s as u32, score });
            }
        }
        if streaming {
            ev.push(Event::TextDelta { node, text: "\n\nShe sells 16 - 7".into() });
            continue;
        }
        if failing {
            ev.push(Event::NodeFailed {
                node,
                error: "the model reported an error mid-stream: an error was encountered while running the model: unexpected EOF".into(),
            });
            continue;
        }
        let answer = Some(format!("{}", eggs * 2));
        let score = Some(if wrong { 0.0 } else { 1.0 });
        let tokens_used = text.chars().count().div_ceil(4) as u64;
        total_tokens += tokens_used;
        ev.push(Event::NodeFinished {
            node,
            answer: answer.clone(),
            correct: Some(!wrong),
            score,
            tokens: tokens_used,
            done_reason: "stop".into(),
        });
        cands.push(Candidate { node, answer, score });
    }
    let budget = Budget {
        policy_prompt_tokens: 60 * cands.len() as u64,
        policy_generated_tokens: total_tokens,
        policy_requests: n as u64,
        verifier_calls: 3 * n as u64,
        generation_equivalents: cands.len() as f64,
        finished: cands.len() as u64,
        elapsed_ms: 4200,
        ..Budget::default()
    };
    ev.push(Event::Load {
        running: if stage == Stage::Streaming { 4 } else { 0 },
        queued: if stage == Stage::Streaming { n / 2 } else { 0 },
        limit: 4,
    });
    ev.push(Event::Budget(budget.clone()));
    if stage == Stage::Finished {
        let sel =
            select(&cands, RunConfig::default().selection, RunConfig::default().aggregation, Some("18"));
        let (selected, correct) = (sel.selected.clone(), sel.correct);
        ev.push(Event::Selection(sel));
        ev.push(Event::RunFinished { selected, correct, budget, error: None });
    }
    ev
}

//! Synthetic runs for view tests and the render benchmark: the same events a
//! real best-of-N run emits, with fixed text, scores and timings.

use crate::budget::Budget;
use crate::event::{Event, RunInfo};
use crate::model::GeneratorInfo;
use crate::problem::Problem;
use crate::strategy::{select, Candidate, RunConfig, StrategyKind};
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

/// The problem every search fixture solves (gold 18).
fn ducks() -> Problem {
    Problem {
        id: "bundled:gsm8k:0".into(),
        text: "Janet's ducks lay 16 eggs per day. She eats three for breakfast and bakes muffins with four. She sells the rest for $2 each. How much does she make every day?".into(),
        gold: Some("18".into()),
        source: Some("gsm8k".into()),
        level: None,
        subject: None,
    }
}

fn started(config: RunConfig, verifier: &str) -> Event {
    Event::RunStarted(RunInfo {
        problem: ducks(),
        config,
        generator: GeneratorInfo {
            backend: "ollama".into(),
            model: "qwen2.5:1.5b".into(),
            location: "http://127.0.0.1:11434".into(),
            logprobs: true,
        },
        verifier: verifier.into(),
    })
}

/// A fixed pseudo-random number in [0, 1) for `x` (so fixtures never change).
fn unit(x: u32) -> f64 {
    let mut h = x.wrapping_add(0x9e37_79b9).wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    (h % 10_000) as f64 / 10_000.0
}

/// Step `d` of a search path written by node `node`.
fn search_step(d: u32, node: u32) -> String {
    match d % 4 {
        0 => "Janet's ducks lay 16 eggs a day and she eats 3, so 16 - 3 = 13 are left.".into(),
        1 => "She bakes muffins with 4 of them: 13 - 4 = 9 eggs to sell.".into(),
        2 => format!("Each egg sells for $2, so 9 * 2 = {} dollars.", if node % 5 == 4 { 20 } else { 18 }),
        _ => format!("Check {d}: {a} + 3 = {b}, which agrees with the count so far.", a = 10 + d, b = 13 + d),
    }
}

fn judged(score: f64) -> StepScore {
    StepScore::scored(score, StepDetail::None, Usage { requests: 1, prompt_tokens: 180, generated_tokens: 1 })
}

/// The events of a finished beam search: `n` beams, width `width`, at most `depth` steps.
/// A few paths finish early (most correct); the rest stop at the depth limit.
pub fn beam_events(n: usize, width: usize, depth: u32) -> Vec<Event> {
    search_events(StrategyKind::Beam, n, width, depth, None)
}

/// A beam search stopped mid-way: `rounds` rounds done, the next one streaming
/// (some children scored, some still writing, some queued).
pub fn beam_events_until(n: usize, width: usize, depth: u32, rounds: u32) -> Vec<Event> {
    search_events(StrategyKind::Beam, n, width, depth, Some(rounds))
}

/// An adaptive run that estimated difficulty 0.62 (bin 2, by the model) and chose beam search,
/// stopped mid-way after `rounds` rounds.
pub fn adaptive_events(n: usize, width: usize, depth: u32, rounds: u32) -> Vec<Event> {
    let mut ev = search_events(StrategyKind::Adaptive, n, width, depth, Some(rounds));
    ev.insert(
        1,
        Event::Difficulty {
            estimate: 0.62,
            bin: 2,
            method: "model".into(),
            strategy: StrategyKind::Beam,
            reason: "medium problems at this budget do best with beam search, M=4".into(),
        },
    );
    ev
}

struct Child {
    node: u32,
    score: f64,
    finishes: bool,
}

fn search_events(kind: StrategyKind, n: usize, width: usize, depth: u32, stop: Option<u32>) -> Vec<Event> {
    let width = width.max(1);
    let config = RunConfig { strategy: kind, n, width, max_depth: depth, ..RunConfig::default() };
    let (rule, agg) = (config.selection, config.aggregation);
    let mut ev = vec![started(config, "judge qwen2.5:1.5b (p(Yes) from logprobs)")];
    let keep = (n / width).max(1);
    let mut frontier: Vec<(Option<u32>, f64)> = vec![(None, 0.6)];
    let mut next_id = 0u32;
    let mut finished: Vec<Candidate> = Vec::new();
    let mut generated = 0u64;
    let budget = |generated: u64, nodes: u32, finished: usize, round: u32| Budget {
        policy_prompt_tokens: 90 * nodes as u64,
        policy_generated_tokens: generated,
        policy_requests: nodes as u64,
        verifier_prompt_tokens: 180 * nodes as u64,
        verifier_generated_tokens: nodes as u64,
        verifier_requests: nodes as u64,
        verifier_calls: nodes as u64,
        generation_equivalents: generated as f64 / 200.0,
        finished: finished as u64,
        elapsed_ms: 800 + 650 * round as u64,
        ..Budget::default()
    };
    for d in 0..depth {
        if frontier.is_empty() {
            break;
        }
        let per = if d == 0 { n } else { width };
        let mut children = Vec::new();
        for &(parent, pscore) in &frontier {
            for _ in 0..per {
                let node = next_id;
                next_id += 1;
                ev.push(Event::NodeStarted {
                    node,
                    parent,
                    seed: Some(node as i64),
                    depth: d,
                    chain: None,
                    revision: None,
                });
                let score = (0.55 * unit(node) + 0.45 * pscore).clamp(0.0, 1.0);
                children.push(Child { node, score, finishes: false });
            }
        }
        // From the third round on, one path in every other round writes its answer.
        if d >= 2 && d % 2 == 0 && children.len() > 1 {
            children[1].finishes = true;
        }
        let mid = stop == Some(d);
        let total = children.len();
        for (i, c) in children.iter().enumerate() {
            if mid && i >= total / 2 + total / 4 {
                continue; // still queued
            }
            ev.push(Event::NodeStreaming { node: c.node });
            let mut text = search_step(d, c.node);
            if c.finishes {
                let answer = if unit(c.node * 3) < 0.25 { 20 } else { 18 };
                text = format!("So she makes 9 * 2 = {answer} dollars. The answer is \\boxed{{{answer}}}.");
            }
            if mid && i >= total / 2 {
                let half: String = text.chars().take(text.chars().count() / 2).collect();
                ev.push(Event::TextDelta { node: c.node, text: half });
                continue; // still writing its step
            }
            let chars: Vec<char> = text.chars().collect();
            for piece in chars.chunks(16) {
                ev.push(Event::TextDelta { node: c.node, text: piece.iter().collect() });
            }
            generated += chars.len().div_ceil(4) as u64;
            ev.push(Event::StepCompleted { node: c.node, step: d, text });
            ev.push(Event::StepScored { node: c.node, step: d, score: judged(c.score) });
        }
        if mid {
            ev.push(Event::Load { running: 4, queued: total - total / 2 - total / 4, limit: 4 });
            ev.push(Event::Budget(budget(generated, next_id, finished.len(), d)));
            return ev;
        }
        let mut open: Vec<&Child> = Vec::new();
        for c in &children {
            if c.finishes {
                let answer = if unit(c.node * 3) < 0.25 { "20" } else { "18" };
                ev.push(Event::NodeFinished {
                    node: c.node,
                    answer: Some(answer.into()),
                    correct: Some(answer == "18"),
                    score: Some(c.score),
                    tokens: 20 * (d as u64 + 1),
                    done_reason: "stop".into(),
                });
                finished.push(Candidate { node: c.node, answer: Some(answer.into()), score: Some(c.score) });
            } else {
                open.push(c);
            }
        }
        open.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.node.cmp(&b.node)));
        let keep_now = if finished.len() >= n { 0 } else { keep };
        let mut next = Vec::new();
        for (i, c) in open.iter().enumerate() {
            let (rank, score) = (i as u32, Some(c.score));
            if i < keep_now {
                ev.push(Event::NodeKept { node: c.node, rank, score });
                next.push((Some(c.node), c.score));
            } else {
                ev.push(Event::NodePruned { node: c.node, rank, score });
            }
        }
        ev.push(Event::RoundFinished {
            depth: d + 1,
            alive: next.len() as u32,
            finished: finished.len() as u32,
        });
        ev.push(Event::Budget(budget(generated, next_id, finished.len(), d)));
        frontier = next;
    }
    // Paths still open at the depth limit end as they are.
    for (node, score) in frontier.into_iter().filter_map(|(n, s)| n.map(|n| (n, s))) {
        let answer = (unit(node * 7) < 0.7).then(|| if unit(node * 11) < 0.3 { "20" } else { "18" });
        ev.push(Event::NodeFinished {
            node,
            answer: answer.map(Into::into),
            correct: answer.map(|a| a == "18"),
            score: Some(score),
            tokens: 20 * depth as u64,
            done_reason: "max_depth".into(),
        });
        finished.push(Candidate { node, answer: answer.map(Into::into), score: Some(score) });
    }
    let b = budget(generated, next_id, finished.len(), depth);
    ev.push(Event::Load { running: 0, queued: 0, limit: 4 });
    ev.push(Event::Budget(b.clone()));
    finished.sort_by_key(|c| c.node);
    let sel = select(&finished, rule, agg, Some("18"));
    let (selected, correct) = (sel.selected.clone(), sel.correct);
    ev.push(Event::Selection(sel));
    ev.push(Event::RunFinished { selected, correct, budget: b, error: None });
    ev
}

/// The events of a finished sequential-revisions run: `chains` chains of `revisions`
/// attempts each. Chain 0 is right first and revised into a wrong answer at its last
/// revision; chain 1 starts wrong and is corrected; the others stay right.
pub fn revise_events(chains: usize, revisions: usize) -> Vec<Event> {
    let config = RunConfig {
        strategy: StrategyKind::Revise,
        n: chains * revisions,
        chains,
        revisions,
        ..RunConfig::default()
    };
    let (rule, agg) = (config.selection, config.aggregation);
    let mut ev = vec![started(config, "arith")];
    let mut cands = Vec::new();
    let last = revisions.saturating_sub(1);
    for r in 0..revisions {
        for c in 0..chains {
            let node = (r * chains + c) as u32;
            ev.push(Event::NodeStarted {
                node,
                parent: None,
                seed: Some(node as i64),
                depth: 0,
                chain: Some(c as u32),
                revision: Some(r as u32),
            });
        }
        for c in 0..chains {
            let node = (r * chains + c) as u32;
            ev.push(Event::NodeStreaming { node });
            let wrong = match c {
                0 => r == last && r > 0,
                1 => r == 0,
                _ => false,
            };
            let sold = if wrong { 10 } else { 9 };
            let answer = sold * 2;
            let opening = if r == 0 {
                "Janet's ducks lay 16 eggs per day.".to_string()
            } else {
                format!("Let me check attempt {r} again before answering.")
            };
            let steps = [
                opening,
                format!("She uses 3 + 4 = 7 eggs, so she sells 16 - 7 = {sold} of them."),
                if wrong {
                    format!("At $2 each that makes {answer} dollars.")
                } else {
                    format!("At $2 each that is {sold} * 2 = {answer} dollars.")
                },
                format!("The answer is \\boxed{{{answer}}}."),
            ];
            let mut scores = Vec::new();
            for (k, step) in steps.iter().enumerate() {
                let text = if k == 0 { step.clone() } else { format!("\n\n{step}") };
                ev.push(Event::TextDelta { node, text });
                ev.push(Event::StepCompleted { node, step: k as u32, text: step.clone() });
                let claims = crate::verify::arith::find_claims(step);
                let score = if claims.is_empty() {
                    StepScore::unscored(
                        "no arithmetic claim in this step",
                        StepDetail::Arith { claims },
                        Usage::default(),
                    )
                } else {
                    let ok = claims.iter().all(|c: &ArithClaim| c.ok);
                    scores.push(if ok { 1.0 } else { 0.0 });
                    StepScore::scored(
                        if ok { 1.0 } else { 0.0 },
                        StepDetail::Arith { claims },
                        Usage::default(),
                    )
                };
                ev.push(Event::StepScored { node, step: k as u32, score });
            }
            let score = scores.last().copied();
            let answer = Some(answer.to_string());
            ev.push(Event::NodeFinished {
                node,
                answer: answer.clone(),
                correct: Some(!wrong),
                score,
                tokens: 48,
                done_reason: "stop".into(),
            });
            cands.push(Candidate { node, answer, score });
        }
    }
    let budget = Budget {
        policy_prompt_tokens: 120 * cands.len() as u64,
        policy_generated_tokens: 48 * cands.len() as u64,
        policy_requests: cands.len() as u64,
        verifier_calls: 4 * cands.len() as u64,
        generation_equivalents: cands.len() as f64,
        finished: cands.len() as u64,
        elapsed_ms: 5100,
        ..Budget::default()
    };
    ev.push(Event::Budget(budget.clone()));
    let sel = select(&cands, rule, agg, Some("18"));
    let (selected, correct) = (sel.selected.clone(), sel.correct);
    ev.push(Event::Selection(sel));
    ev.push(Event::RunFinished { selected, correct, budget, error: None });
    ev
}

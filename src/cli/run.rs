//! `ttc run`: one strategy on one problem, headless.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use super::{Failure, GlobalArgs, RunArgs, MESSAGE_CHARS};
use crate::event::Event;
use crate::launch::Launch;
use crate::safe::for_display;
use crate::trace::{Recorder, Warn};
use crate::tree::RunTree;

/// Run and report.
pub async fn run(global: &GlobalArgs, args: RunArgs) -> Result<ExitCode, Failure> {
    let launch = Launch::headless(global, &args);
    let p = launch.prepare_headless().await?;
    let warn: Warn = Arc::new(|m| eprintln!("ttc: warning: {}", for_display(&m, MESSAGE_CHARS)));
    let trace = Recorder::start(&launch.trace_target(), p.config.strategy, warn);
    let mut handle = crate::run::start(p.problem, p.config, p.generator, p.verifier, p.prompt);
    let mut tree = RunTree::new();
    let stdout = std::io::stdout();
    let mut interrupted = false;
    loop {
        let event = tokio::select! {
            e = handle.events.recv() => e,
            _ = tokio::signal::ctrl_c(), if !interrupted => {
                interrupted = true;
                eprintln!("ttc: interrupted; cancelling the run");
                handle.cancel.cancel();
                continue;
            }
        };
        let Some(event) = event else { break };
        if let Some(t) = &trace {
            t.record(&event);
        }
        if args.events {
            let mut out = stdout.lock();
            serde_json::to_writer(&mut out, &event)?;
            writeln!(out)?;
        } else if !args.json {
            progress(&event);
        }
        tree.apply(&event);
    }
    let _ = handle.task.await;
    if let Some(t) = &trace {
        t.finish();
        if !args.json && !args.events && t.path().exists() {
            eprintln!("ttc: trace: {}", for_display(&t.path().display().to_string(), MESSAGE_CHARS));
        }
    }
    if args.json {
        let mut out = stdout.lock();
        serde_json::to_writer_pretty(&mut out, &json_summary(&tree))?;
        writeln!(out)?;
    } else if !args.events {
        write_result(&mut stdout.lock(), &tree)?;
    }
    if interrupted {
        return Ok(ExitCode::from(130));
    }
    match &tree.error {
        Some(e) => Err(Failure::new(e.clone())),
        None if !tree.finished => Err(Failure::new("the run ended without finishing (this is a bug)")),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// What `--json` prints: the run's summary, with the aggregation in force and where it
/// comes from (`{"in_force": "min", "source": "default for a step-local judge"}`).
#[derive(serde::Serialize)]
pub(super) struct JsonOut {
    #[serde(flatten)]
    summary: crate::tree::RunSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    aggregation: Option<AggregationInForce>,
}

/// The aggregation a run used, and why.
#[derive(serde::Serialize)]
struct AggregationInForce {
    in_force: crate::verify::Aggregation,
    source: String,
}

pub(super) fn json_summary(tree: &RunTree) -> JsonOut {
    let aggregation = tree.info.as_ref().map(|i| AggregationInForce {
        in_force: i.config.aggregation,
        source: i.config.aggregation_source(),
    });
    JsonOut { summary: tree.summary(), aggregation }
}

/// One line on stderr for the events a person watching wants to see.
fn progress(event: &Event) {
    if let Some(line) = progress_line(event) {
        eprintln!("{line}");
    }
}

/// The progress line for `event`, if it has one; model and server text is made safe to print.
fn progress_line(event: &Event) -> Option<String> {
    Some(match event {
        Event::RunStarted(info) => format!(
            "ttc: {} with {} on {} ({} at {}), verifier {}, aggregation {} ({})",
            info.config.strategy,
            match info.config.strategy {
                // Revisions spend chains × revisions; N is not theirs.
                crate::strategy::StrategyKind::Revise => format!(
                    "{} chains × {} revisions = {} samples",
                    info.config.chains,
                    info.config.revisions,
                    info.config.chains.saturating_mul(info.config.revisions)
                ),
                _ => format!("n={}", info.config.n),
            },
            shown(&info.problem.id),
            shown(&info.generator.model),
            shown(&info.generator.location),
            shown(&info.verifier),
            info.config.aggregation,
            info.config.aggregation_source()
        ),
        Event::NodeFinished { node, answer, correct, score, tokens, .. } => format!(
            "  candidate {node}: answer {}{} score {} ({tokens} tokens)",
            answer.as_deref().map_or_else(|| "—".into(), shown),
            match correct {
                Some(true) => " ✓",
                Some(false) => " ✗",
                None => "",
            },
            score.map(|s| format!("{s:.3}")).unwrap_or_else(|| "—".into()),
        ),
        Event::NodeFailed { node, error } => {
            format!("  candidate {node} failed: {}", for_display(error, MESSAGE_CHARS))
        }
        Event::Stopping { samples, max, votes, stat, confidence, stopped } => {
            let mut v = crate::tree::StoppingView::default();
            v.fold(*samples, *max, votes, *stat, *confidence, *stopped);
            let lead =
                votes.first().map(|(a, n)| format!(" (leader {} with {n})", shown(a))).unwrap_or_default();
            format!("  {}{lead}", v.status(false))
        }
        Event::Selection(s) => format!("ttc: note: {}", for_display(s.note.as_deref()?, MESSAGE_CHARS)),
        Event::NodeCutOff { node, confidence, cutoff } => {
            format!("  candidate {node} {}", crate::verify::confidence::cutoff_reason(*confidence, *cutoff))
        }
        _ => return None,
    })
}

/// The tally, the selected answer and the budget, as plain text.
pub(super) fn write_result(out: &mut impl Write, tree: &RunTree) -> std::io::Result<()> {
    if let Some(sel) = &tree.selection {
        for t in &sel.answers {
            writeln!(
                out,
                "{:>3} votes  weight {:>6.3}  {}{}",
                t.votes,
                t.weight,
                shown(&t.answer),
                match t.correct {
                    Some(true) => "  ✓",
                    Some(false) => "  ✗",
                    None => "",
                }
            )?;
        }
    }
    let b = &tree.budget;
    match &tree.selected {
        Some(a) => writeln!(
            out,
            "selected: {}{}",
            shown(a),
            match tree.correct {
                Some(true) => " (correct)",
                Some(false) => " (wrong)",
                None => "",
            }
        )?,
        None => writeln!(out, "selected: nothing")?,
    }
    writeln!(
        out,
        "budget: {} generated + {} prompt tokens in {} requests, verifier {} calls / {} requests, {:.2} generation-equivalents, {:.2} s",
        b.policy_generated_tokens,
        b.policy_prompt_tokens,
        b.policy_requests,
        b.verifier_calls,
        b.verifier_requests,
        b.generation_equivalents,
        b.elapsed_ms as f64 / 1000.0
    )
}

/// How an answer, a model name or a problem text from a model or a server is printed:
/// no escape sequences, no credentials, at most a few lines' worth.
fn shown(s: &str) -> String {
    for_display(s, ANSWER_CHARS)
}

/// The most characters of one answer or name in plain output.
const ANSWER_CHARS: usize = 300;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::{AnswerTally, Selection, SelectionRule};
    use crate::verify::Aggregation;

    const HOSTILE: &str = "7\x1b]0;TITLE\x07\x1b[2J";

    #[test]
    fn the_plain_tally_carries_no_escape_sequences() {
        let mut tree = RunTree::new();
        tree.apply(&Event::Selection(Selection {
            rule: SelectionRule::Weighted,
            aggregation: Aggregation::Last,
            answers: vec![AnswerTally {
                answer: HOSTILE.into(),
                votes: 2,
                weight: 1.0,
                best_score: None,
                nodes: vec![0, 1],
                correct: None,
            }],
            selected: Some(HOSTILE.into()),
            selected_node: Some(0),
            correct: None,
            note: Some(format!("fell back {HOSTILE}")),
        }));
        tree.apply(&Event::RunFinished {
            selected: Some(HOSTILE.into()),
            correct: None,
            budget: Default::default(),
            error: None,
        });
        let mut out = Vec::new();
        write_result(&mut out, &tree).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
        assert!(text.contains("selected: 7␛]0;TITLE␇␛[2J"), "{text}");
        assert!(text.contains("votes  weight  1.000  7␛]0;TITLE"), "{text}");
    }

    #[test]
    fn the_json_says_which_aggregation_is_in_force() {
        use crate::event::RunInfo;
        use crate::model::GeneratorInfo;
        use crate::strategy::{RunConfig, VerifierKind};
        let mut config = RunConfig { temperature: 0.7, ..RunConfig::default() };
        config.set_verifier(VerifierKind::Judge);
        let mut tree = RunTree::new();
        tree.apply(&Event::RunStarted(RunInfo {
            problem: crate::problem::Problem::inline("1 + 1?", None),
            config,
            generator: GeneratorInfo {
                backend: "scripted".into(),
                model: "m".into(),
                location: "here".into(),
                logprobs: true,
            },
            verifier: "judge:m".into(),
        }));
        let text = serde_json::to_string(&json_summary(&tree)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["aggregation"]["in_force"], "min", "{text}");
        assert_eq!(v["aggregation"]["source"], "default for a step-local judge");
        assert_eq!(v["run"]["config"]["aggregation"], "min");
        assert_eq!(v["run"]["config"]["aggregation_chosen"], false);
        assert!(text.contains("\"temperature\":0.7"), "{text}");
        let line = progress_line(&Event::RunStarted(tree.info.clone().unwrap())).unwrap();
        assert!(line.contains("aggregation min (default for a step-local judge)"), "{line}");
    }

    #[test]
    fn progress_lines_are_sanitized_and_redacted() {
        let failed = Event::NodeFailed {
            node: 3,
            error: format!("cannot reach http://me:secret@10.0.0.2:11434/api/chat {HOSTILE}"),
        };
        let line = progress_line(&failed).unwrap();
        assert!(!line.contains("secret") && !line.contains('\x1b'), "{line}");
        assert!(line.contains("http://***@10.0.0.2:11434"), "{line}");
        let long = Event::NodeFailed { node: 0, error: "x".repeat(10_000) };
        assert!(progress_line(&long).unwrap().chars().count() < MESSAGE_CHARS + 100);
    }
}

//! `ttc rescore TRACE --verifier V`: a recorded run under another verifier, with no
//! generation. The verifier scores the recorded steps again, the answer is selected again
//! among the same candidates, a new trace is written, and what changed is printed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use super::{build_verifier, default_model, Failure, GlobalArgs, MESSAGE_CHARS};
use crate::launch::VerifierSettings;
use crate::problem::Problem;
use crate::safe::for_display;
use crate::spec::{Aggregation, RunConfig, SelectionRule, VerifierKind};
use crate::trace::compare::{compare, Change, Comparison, Picked};
use crate::trace::rescore::{rescore as rescore_trace, write, Plan};
use crate::trace::Trace;
use crate::verify::Verifier;

/// Flags of `ttc rescore`.
#[derive(Debug, clap::Args)]
pub struct RescoreArgs {
    /// The trace to re-score (see `ttc traces`).
    #[arg(value_name = "TRACE")]
    pub file: PathBuf,
    /// The verifier that scores the recorded steps again.
    #[arg(long, value_enum)]
    pub verifier: VerifierKind,
    /// How step scores become a solution score [default: the trace's when it was chosen, else
    /// the new verifier's default].
    #[arg(long, value_enum)]
    pub aggregation: Option<Aggregation>,
    /// How the answer is selected again [default: the trace's rule].
    #[arg(long, value_enum)]
    pub selection: Option<SelectionRule>,
    /// Where the new trace goes [default: next to TRACE, NAME.rescored-VERIFIER.jsonl].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Model for --verifier judge [config: verifier_model; default: the trace's model on an
    /// Ollama trace, else the server's first model].
    #[arg(long, value_name = "MODEL")]
    pub verifier_model: Option<String>,
    /// A judge template file (TOML, like assets/verifiers/judge.toml).
    #[arg(long, value_name = "FILE")]
    pub judge_template: Option<PathBuf>,
    /// The endpoint of --verifier http (POST {problem, steps} → {scores}; see the README)
    /// [config: verifier_url].
    #[arg(long, value_name = "URL", env = "TTC_VERIFIER_URL", hide_env_values = true)]
    pub verifier_url: Option<String>,
    /// Print the comparison as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Re-score, write the new trace, print the comparison.
pub async fn rescore(global: &GlobalArgs, args: &RescoreArgs) -> Result<ExitCode, Failure> {
    let trace = crate::trace::read(&args.file).map_err(Failure::new)?;
    for note in &trace.notes {
        eprintln!("ttc: {}", for_display(note, MESSAGE_CHARS));
    }
    let out = args.out.clone().unwrap_or_else(|| default_out(&args.file, args.verifier));
    if same_file(&out, &args.file) {
        return Err(Failure::new(format!(
            "--out {} is the trace being re-scored; name another file",
            out.display()
        )));
    }
    let resolved = global.resolve();
    let verifier = choose(global, args, &trace).await?;
    let plan = Plan {
        verifier,
        kind: args.verifier,
        aggregation: args.aggregation,
        selection: args.selection,
        concurrency: resolved.settings.concurrency,
    };
    let r = rescore_trace(&trace, &plan).await.map_err(Failure::new)?;
    write(&out, &r).map_err(Failure::new)?;
    let c = compare(&r.before, &r.after);
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    if args.json {
        let json =
            JsonOut { trace: args.file.display().to_string(), out: out.display().to_string(), comparison: c };
        serde_json::to_writer_pretty(&mut w, &json)?;
        writeln!(w)?;
    } else {
        write_comparison(&mut w, &c)?;
        writeln!(w, "new trace: {}", for_display(&out.display().to_string(), MESSAGE_CHARS))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What `--json` prints.
#[derive(serde::Serialize)]
struct JsonOut {
    trace: String,
    out: String,
    #[serde(flatten)]
    comparison: Comparison,
}

/// `DIR/NAME.rescored-VERIFIER.jsonl` for `DIR/NAME.jsonl`.
pub fn default_out(trace: &Path, kind: VerifierKind) -> PathBuf {
    let stem = trace.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "trace".into());
    trace.with_file_name(format!("{stem}.rescored-{kind}.jsonl"))
}

/// Whether two paths name one file (the second need not exist).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Build the verifier the flags name, refusing what it cannot score on this trace.
async fn choose(
    global: &GlobalArgs,
    args: &RescoreArgs,
    trace: &Trace,
) -> Result<Arc<dyn Verifier>, Failure> {
    let problem = &trace.header.run.problem;
    match args.verifier {
        VerifierKind::Prm => check_pocket_problem(problem)?,
        VerifierKind::Confidence => {
            return Err(Failure::new(
                "the confidence verifier reads the policy's token log-probabilities, which a trace does not record; run the problem again with --verifier confidence",
            ))
        }
        VerifierKind::Oracle => {
            let config = RunConfig { verifier: VerifierKind::Oracle, ..RunConfig::default() };
            crate::launch::check_gold(&config, problem).map_err(|_| {
                Failure::new("the oracle verifier needs a gold answer, and this trace's problem has none")
            })?;
        }
        _ => {}
    }
    let say = !args.json;
    let resolved = global.resolve_quietly();
    let mut settings = VerifierSettings {
        judge_template: args.judge_template.clone(),
        url: args.verifier_url.clone().or(resolved.config.verifier_url.clone()),
        ..VerifierSettings::default()
    };
    if args.verifier != VerifierKind::Judge {
        // Nothing generates here: the verifiers other than the judge never ask a model.
        return build_verifier(args.verifier, None, None, &settings, say).await;
    }
    let recorded = &trace.header.run.generator;
    if global.backend == crate::launch::Backend::Openai {
        let named = args.verifier_model.clone().or(resolved.config.verifier_model.clone());
        let model = named.or_else(|| (recorded.backend == "openai").then(|| recorded.model.clone()));
        let (judge, model) =
            crate::launch::hosts::openai_judge(&resolved, model.filter(|m| !m.is_empty())).await?;
        settings.judge_model = Some(model);
        return build_verifier(VerifierKind::Judge, None, Some(judge), &settings, say).await;
    }
    let client = resolved.client()?;
    let model = match args.verifier_model.clone().or(resolved.config.verifier_model.clone()) {
        Some(m) => m,
        None if recorded.backend == "ollama" && !recorded.model.is_empty() => recorded.model.clone(),
        None => default_model(&client).await?,
    };
    settings.judge_model = Some(model);
    build_verifier(VerifierKind::Judge, Some(&client), None, &settings, say).await
}

/// The embedded PRM reads only pocket problems ("Start at 27. Add 48. …"): refuse another
/// trace's problem instead of scoring noise, as `ttc verifier eval` does.
fn check_pocket_problem(problem: &Problem) -> Result<(), Failure> {
    match crate::pocket::task::Chain::parse(&problem.text) {
        Some(_) => Ok(()),
        None => Err(Failure::new(format!(
            "the embedded pocket PRM reads only the pocket task's arithmetic chains (\"Start at 27. Add 48. …\"), and this trace's problem ({}) is not one; its scores would be noise. Use --verifier arith, judge or oracle",
            for_display(&problem.text, 80)
        ))),
    }
}

/// The most characters of a step's text in one line of the comparison.
const STEP_CHARS: usize = 60;
/// The most moved steps listed in plain text (`--json` has them all).
const MOVES_SHOWN: usize = 20;

fn score(s: Option<f64>) -> String {
    s.map_or_else(|| "—".into(), |s| format!("{s:.3}"))
}

fn rank(r: Option<u32>) -> String {
    r.map_or_else(|| "—".into(), |r| r.to_string())
}

fn mark(correct: Option<bool>) -> &'static str {
    match correct {
        Some(true) => " ✓",
        Some(false) => " ✗",
        None => "",
    }
}

fn picked(p: &Picked) -> String {
    match &p.answer {
        Some(a) => format!("{}{}", for_display(a, 120), mark(p.correct)),
        None => "nothing".into(),
    }
}

fn arrow<T: std::fmt::Display>(c: &Change<Option<T>>) -> String {
    let show = |v: &Option<T>| v.as_ref().map_or_else(|| "—".into(), |v| v.to_string());
    format!("{} → {}", show(&c.before), show(&c.after))
}

/// The comparison as plain text; every text from the trace is made safe to print.
pub fn write_comparison(out: &mut impl Write, c: &Comparison) -> std::io::Result<()> {
    writeln!(
        out,
        "verifier: {} → {} (aggregation {}, selection {})",
        for_display(&c.verifier.before, 120),
        for_display(&c.verifier.after, 120),
        arrow(&c.aggregation),
        arrow(&c.selection_rule)
    )?;
    writeln!(
        out,
        "selected: {} → {}{}",
        picked(&c.selected.before),
        picked(&c.selected.after),
        if c.answer_changed { "  (changed)" } else { "  (same answer)" }
    )?;
    writeln!(out, "node  answer                score before → after   rank")?;
    for n in &c.nodes {
        let answer = match &n.answer {
            Some(a) => format!("{}{}", for_display(a, 16), mark(n.correct)),
            None => format!("({:?})", n.status).to_lowercase(),
        };
        writeln!(
            out,
            "{:>4}  {:<20}  {:>6} → {:<6}        {} → {}{}",
            n.node,
            answer,
            score(n.score.before),
            score(n.score.after),
            rank(n.rank.before),
            rank(n.rank.after),
            if n.rank.changed() { "  *" } else { "" }
        )?;
    }
    if c.rank_changed.is_empty() {
        writeln!(out, "rank changed: none")?;
    } else {
        let nodes: Vec<String> = c.rank_changed.iter().map(|n| n.to_string()).collect();
        writeln!(out, "rank changed: nodes {}", nodes.join(", "))?;
    }
    if c.steps_moved.is_empty() {
        writeln!(out, "steps moved by more than {}: none", crate::trace::compare::MOVED)?;
    } else {
        writeln!(out, "steps moved by more than {}:", crate::trace::compare::MOVED)?;
        for m in c.steps_moved.iter().take(MOVES_SHOWN) {
            writeln!(
                out,
                "  node {} step {}: {:.3} → {:.3}  {}",
                m.node,
                m.step,
                m.before,
                m.after,
                for_display(&m.text.replace('\n', " "), STEP_CHARS)
            )?;
        }
        if c.steps_moved.len() > MOVES_SHOWN {
            writeln!(out, "  … and {} more (--json lists them all)", c.steps_moved.len() - MOVES_SHOWN)?;
        }
    }
    if c.steps_unscored_now + c.steps_scored_now > 0 {
        writeln!(
            out,
            "steps scored before and unscored now: {}; unscored before and scored now: {}",
            c.steps_unscored_now, c.steps_scored_now
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::compare::{NodeChange, StepMove};
    use crate::tree::NodeStatus;

    fn comparison() -> Comparison {
        let node = |node, before, after, rb, ra| NodeChange {
            node,
            status: NodeStatus::Done,
            answer: Some(if node == 0 { "7".into() } else { "8\x1b[2J".into() }),
            correct: Some(node == 0),
            score: Change { before, after },
            rank: Change { before: rb, after: ra },
        };
        Comparison {
            verifier: Change { before: "pocket-prm".into(), after: "arith".into() },
            aggregation: Change { before: Some(Aggregation::Last), after: Some(Aggregation::Last) },
            selection_rule: Change {
                before: Some(SelectionRule::Weighted),
                after: Some(SelectionRule::Majority),
            },
            selected: Change {
                before: Picked { answer: Some("8\x1b[2J".into()), correct: Some(false) },
                after: Picked { answer: Some("7".into()), correct: Some(true) },
            },
            answer_changed: true,
            nodes: vec![
                node(0, Some(0.2), Some(1.0), Some(2), Some(1)),
                node(1, Some(0.9), Some(0.0), Some(1), Some(2)),
            ],
            rank_changed: vec![0, 1],
            steps_moved: vec![StepMove {
                node: 1,
                step: 0,
                before: 0.9,
                after: 0.0,
                text: "3+4=8\x07\nnext".into(),
            }],
            steps_unscored_now: 0,
            steps_scored_now: 1,
        }
    }

    #[test]
    fn the_comparison_names_what_changed_and_prints_no_escape_sequence() {
        let mut out = Vec::new();
        write_comparison(&mut out, &comparison()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
        assert!(
            text.contains(
                "verifier: pocket-prm → arith (aggregation last → last, selection weighted → majority)"
            ),
            "{text}"
        );
        assert!(text.contains("selected: 8␛[2J ✗ → 7 ✓  (changed)"), "{text}");
        assert!(text.contains("rank changed: nodes 0, 1"), "{text}");
        assert!(text.contains("node 1 step 0: 0.900 → 0.000  3+4=8␇ next"), "{text}");
        assert!(text.contains("0.200 → 1.000"), "{text}");
        assert!(text.contains("unscored before and scored now: 1"), "{text}");
    }

    #[test]
    fn the_new_trace_goes_next_to_the_old_one() {
        let p = default_out(Path::new("/x/traces/2026-best-of-n-1a2b3c.jsonl"), VerifierKind::Arith);
        assert_eq!(p, PathBuf::from("/x/traces/2026-best-of-n-1a2b3c.rescored-arith.jsonl"));
        assert_eq!(
            default_out(Path::new("run"), VerifierKind::None),
            PathBuf::from("run.rescored-none.jsonl")
        );
    }

    #[test]
    fn the_prm_refuses_a_problem_it_cannot_read() {
        let e = check_pocket_problem(&Problem::inline("What is 1 + 2?", None)).unwrap_err();
        assert!(e.message.contains("reads only the pocket task"), "{}", e.message);
        assert!(check_pocket_problem(&Problem::inline("Start at 3. Add 4.", None)).is_ok());
    }
}

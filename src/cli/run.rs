//! `ttc run`: one strategy on one problem, headless.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use super::{
    parse_temperature, parse_top_p, u32_in, usize_in, Backend, Failure, GlobalArgs, Resolved, CHAINS_MAX,
    DEPTH_MAX, LOOKAHEAD_MAX, MAX_TOKENS_MAX, MESSAGE_CHARS, N_MAX, REVISIONS_MAX, WIDTH_MAX,
};
use crate::event::Event;
use crate::model::ollama::OllamaClient;
use crate::model::Generator;
use crate::problem::{load_indexed, resolve_pick, Problem};
use crate::run::SolvePrompt;
use crate::safe::{for_display, redact};
use crate::strategy::{RunConfig, SelectionRule, StrategyKind, VerifierKind};
use crate::tree::RunTree;
use crate::verify::{
    Aggregation, ArithVerifier, JudgeTemplate, JudgeVerifier, NoVerifier, OracleVerifier, Verifier,
};

/// Flags of `ttc run` (the interactive view accepts the same ones).
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The problem text.
    #[arg(long, value_name = "TEXT", conflicts_with_all = ["pick", "dataset"])]
    pub problem: Option<String>,
    /// Gold answer for --problem, to grade candidates.
    #[arg(long, value_name = "ANSWER", requires = "problem")]
    pub gold: Option<String>,
    /// A bundled problem: bundled:math500:7 or bundled:gsm8k:0 (0-based).
    #[arg(long, value_name = "SPEC", conflicts_with = "dataset")]
    pub pick: Option<String>,
    /// A JSONL file of problems (MATH-500, GSM8K or {"problem","answer"} lines).
    #[arg(long, value_name = "FILE")]
    pub dataset: Option<PathBuf>,
    /// Which problem of --dataset (0-based, counting valid lines).
    #[arg(long, value_name = "I", default_value_t = 0, requires = "dataset")]
    pub index: usize,
    /// Stop at the first malformed line of --dataset instead of skipping it.
    #[arg(long, requires = "dataset")]
    pub strict: bool,

    /// Search strategy.
    #[arg(long, value_enum, default_value_t = StrategyKind::BestOfN)]
    pub strategy: StrategyKind,
    /// Number of candidates, 1–1024 [config: run.n; default: 8].
    #[arg(short = 'n', long = "n", value_name = "N", value_parser = usize_in(N_MAX))]
    pub n: Option<usize>,
    /// Verifier that scores each step [config: run.verifier; default: arith].
    #[arg(long, value_enum)]
    pub verifier: Option<VerifierKind>,
    /// How step scores become a solution score [config: run.aggregation; default: last].
    #[arg(long, value_enum)]
    pub aggregation: Option<Aggregation>,
    /// How the final answer is picked [config: run.selection; default: weighted].
    #[arg(long, value_enum)]
    pub selection: Option<SelectionRule>,
    /// Policy model [config: model; default: the first model the server lists].
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    /// Model for the judge verifier [config: verifier_model; default: the policy model].
    #[arg(long, value_name = "MODEL")]
    pub verifier_model: Option<String>,
    /// Sampling temperature, 0–2 [config: run.temperature; default: 0.8].
    #[arg(long, value_name = "T", value_parser = parse_temperature, allow_negative_numbers = true)]
    pub temperature: Option<f32>,
    /// Base seed; candidate i uses SEED + i.
    #[arg(long, value_name = "SEED", default_value_t = 0)]
    pub seed: u64,
    /// Most tokens per candidate, 1–131072 [config: run.max_tokens; default: 1024].
    #[arg(long, value_name = "TOKENS", value_parser = u32_in(1, MAX_TOKENS_MAX))]
    pub max_tokens: Option<u32>,
    /// Beam width M, 1–64: children per kept beam, and subtrees N/M for DVTS [default: 4].
    #[arg(long, value_name = "M", value_parser = usize_in(WIDTH_MAX))]
    pub width: Option<usize>,
    /// Most steps per solution for tree search, 1–200 [default: 40].
    #[arg(long, value_name = "STEPS", value_parser = u32_in(1, DEPTH_MAX))]
    pub depth: Option<u32>,
    /// Greedy rollout steps before scoring, 0–200, for --strategy lookahead [default: 1].
    #[arg(long, value_name = "K", value_parser = u32_in(0, LOOKAHEAD_MAX))]
    pub lookahead: Option<u32>,
    /// Drop a tree-search child whose step repeats a sibling's.
    #[arg(long)]
    pub dedup: bool,
    /// Parallel chains C, 1–1024, for --strategy revise [default: 2].
    #[arg(long, value_name = "C", value_parser = usize_in(CHAINS_MAX))]
    pub chains: Option<usize>,
    /// Attempts per chain D, 1–1024, for --strategy revise [default: 4].
    #[arg(long, value_name = "D", value_parser = usize_in(REVISIONS_MAX))]
    pub revisions: Option<usize>,
    /// How revisions pick the answer.
    #[arg(long, value_enum, value_name = "RULE")]
    pub revision_selection: Option<crate::strategy::RevisionSelection>,
    /// How --strategy adaptive estimates difficulty: model (verifier scores) or oracle (gold answer).
    #[arg(long, value_enum, value_name = "METHOD")]
    pub difficulty: Option<crate::strategy::DifficultyMethod>,
    /// A policy table for --strategy adaptive (TOML, like assets/policy.toml).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Nucleus sampling threshold, more than 0 and at most 1.
    #[arg(long, value_name = "P", value_parser = parse_top_p)]
    pub top_p: Option<f32>,
    /// Top-k sampling.
    #[arg(long, value_name = "K")]
    pub top_k: Option<u32>,
    /// Context window to ask the server for.
    #[arg(long, value_name = "TOKENS")]
    pub num_ctx: Option<u32>,
    /// A judge template file (TOML, like assets/verifiers/judge.toml).
    #[arg(long, value_name = "FILE")]
    pub judge_template: Option<PathBuf>,
    /// A solve prompt file (TOML, like assets/prompts/solve.toml).
    #[arg(long, value_name = "FILE")]
    pub prompt: Option<PathBuf>,

    /// Print one JSON object with the candidates, the selection and the budget.
    #[arg(long, conflicts_with = "events")]
    pub json: bool,
    /// Print the event stream as JSON lines.
    #[arg(long)]
    pub events: bool,
}

/// Find the problem the flags name.
pub fn resolve_problem(args: &RunArgs) -> Result<Problem, Failure> {
    if let Some(text) = &args.problem {
        if text.trim().is_empty() {
            return Err(Failure::new("--problem is empty; give the problem text"));
        }
        return Ok(Problem::inline(text.clone(), args.gold.clone()));
    }
    if let Some(spec) = &args.pick {
        return Ok(resolve_pick(spec)?);
    }
    if let Some(path) = &args.dataset {
        let (problem, skipped) = load_indexed(path, args.index, args.strict)?;
        for s in skipped.iter().take(5) {
            eprintln!("ttc: skipped {}", for_display(&s.to_string(), MESSAGE_CHARS));
        }
        if skipped.len() > 5 {
            eprintln!(
                "ttc: skipped {} more malformed lines (use --strict to stop at the first)",
                skipped.len() - 5
            );
        }
        return Ok(problem);
    }
    Err(Failure::new(
        "no problem given: use --problem TEXT, --pick bundled:math500:7, or --dataset FILE --index I",
    ))
}

/// The run configuration from flags over config defaults.
pub fn run_config(args: &RunArgs, resolved: &Resolved) -> RunConfig {
    let d = &resolved.config.run;
    let base = RunConfig::default();
    RunConfig {
        strategy: args.strategy,
        n: args.n.or(d.n).unwrap_or(base.n).max(1),
        temperature: args.temperature.or(d.temperature).unwrap_or(base.temperature),
        seed: args.seed,
        max_tokens: args.max_tokens.or(d.max_tokens).unwrap_or(base.max_tokens).max(1),
        top_p: args.top_p,
        top_k: args.top_k,
        num_ctx: args.num_ctx,
        verifier: args.verifier.or(d.verifier).unwrap_or(base.verifier),
        aggregation: args.aggregation.or(d.aggregation).unwrap_or(base.aggregation),
        selection: args.selection.or(d.selection).unwrap_or(base.selection),
        width: args.width.unwrap_or(base.width).max(1),
        max_depth: args.depth.unwrap_or(base.max_depth).max(1),
        lookahead: args.lookahead.unwrap_or(base.lookahead),
        dedup: args.dedup,
        chains: args.chains.unwrap_or(base.chains).max(1),
        revisions: args.revisions.unwrap_or(base.revisions).max(1),
        revision_selection: args.revision_selection.unwrap_or(base.revision_selection),
        difficulty: args.difficulty.unwrap_or(base.difficulty),
        prefix: Vec::new(),
        policy: None,
    }
}

pub fn read_file(path: &PathBuf, what: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::new(format!("cannot read {what} {}: {e}", path.display())))
}

/// Everything a run needs, checked against the server.
pub struct Prepared {
    pub problem: Problem,
    pub config: RunConfig,
    pub generator: Arc<dyn Generator>,
    pub verifier: Arc<dyn Verifier>,
    pub prompt: SolvePrompt,
}

/// Resolve the problem, reach the server, check the models, build the verifier.
pub async fn prepare(global: &GlobalArgs, args: &RunArgs) -> Result<Prepared, Failure> {
    let resolved = global.resolve();
    let mut config = run_config(args, &resolved);
    if let Some(p) = &args.policy {
        let t = crate::strategy::adaptive::PolicyTable::parse(
            &read_file(p, "policy file")?,
            &p.display().to_string(),
        )?;
        config.policy = Some(t);
    }
    let prompt = match &args.prompt {
        Some(p) => SolvePrompt::parse(&read_file(p, "prompt file")?, &p.display().to_string())?,
        None => SolvePrompt::bundled(),
    };
    // Problem flags are checked before any request is made.
    let given = args.problem.is_some() || args.pick.is_some() || args.dataset.is_some();
    let problem = if given { Some(resolve_problem(args)?) } else { None };
    let oracle_without_gold = |p: &Problem| config.verifier == VerifierKind::Oracle && p.gold.is_none();
    if problem.as_ref().is_some_and(oracle_without_gold) {
        return Err(Failure::new(
            "the oracle verifier needs a gold answer: pass --gold with --problem, or pick a dataset problem",
        ));
    }
    let client = resolved.client()?;
    let backend = choose_backend(global.backend, &client, true).await?;
    let problem = match problem {
        Some(p) => p,
        None if backend == Backend::Pocket => {
            let p = crate::pocket::problem(3, args.seed);
            eprintln!("ttc: no problem given; using generated problem {}: {}", shown(&p.id), shown(&p.text));
            p
        }
        None => return Err(resolve_problem(args).err().unwrap_or_else(|| Failure::new("no problem given"))),
    };
    if backend == Backend::Pocket && args.verifier.is_none() && resolved.config.run.verifier.is_none() {
        config.verifier = VerifierKind::Prm;
    }
    let generator: Arc<dyn Generator> = match backend {
        Backend::Pocket => Arc::new(crate::pocket::PocketGenerator::new(embedded_pocket()?)),
        _ => {
            let model = match args.model.clone().or(resolved.config.model.clone()) {
                Some(m) => m,
                None => default_model(&client).await?,
            };
            let generator = client.generator(&model).await?;
            client.show(&model).await?;
            Arc::new(generator)
        }
    };
    let judge_model = args.verifier_model.clone().or(resolved.config.verifier_model.clone());
    let verifier = build_verifier(
        config.verifier,
        (backend != Backend::Pocket).then_some(&client),
        generator.clone(),
        judge_model.as_deref(),
        args.judge_template.as_ref(),
        true,
    )
    .await?;
    Ok(Prepared { problem, config, generator, verifier, prompt })
}

/// The embedded pocket model, loaded once.
pub fn embedded_pocket() -> Result<Arc<crate::pocket::Pocket>, Failure> {
    crate::pocket::Pocket::embedded()
        .map_err(|e| Failure::new(format!("cannot load the embedded model: {e:#}")))
}

/// Resolve `auto`: Ollama when it answers within
/// [`AUTO_PROBE_TIMEOUT`](crate::model::ollama::AUTO_PROBE_TIMEOUT) (2.5 s, or the stall timeout
/// when shorter), else the embedded model. When `say`, the reason for a fallback and any
/// plain-HTTP warning ([`OllamaClient::transport_warning`]) go to stderr, once per process.
pub async fn choose_backend(backend: Backend, client: &OllamaClient, say: bool) -> Result<Backend, Failure> {
    static WARNED: std::sync::Once = std::sync::Once::new();
    let (chosen, why) = probe_backend(backend, client).await?;
    if say {
        if let Some(why) = why {
            eprintln!("ttc: {why}. Start `ollama serve` or pass --host to use your own models");
        }
        if chosen == Backend::Ollama {
            if let Some(w) = client.transport_warning() {
                WARNED.call_once(|| eprintln!("ttc: warning: {w}"));
            }
        }
    }
    Ok(chosen)
}

/// [`choose_backend`] without printing: the backend, and for a fallback from `auto` to the
/// embedded model the reason in words (the host redacted, the server's text made safe).
pub async fn probe_backend(
    backend: Backend,
    client: &OllamaClient,
) -> Result<(Backend, Option<String>), Failure> {
    use crate::model::ollama::AUTO_PROBE_TIMEOUT;
    use crate::model::GenError;
    match backend {
        Backend::Auto => match client.version_within(AUTO_PROBE_TIMEOUT).await {
            Ok(_) => Ok((Backend::Ollama, None)),
            Err(e @ (GenError::Unreachable { .. } | GenError::NoAnswer { .. })) => {
                let why = match &e {
                    GenError::NoAnswer { secs, .. } => format!("it did not answer within {secs:.1} s"),
                    GenError::Unreachable { detail, .. } => crate::safe::for_display(detail, 200),
                    _ => e.to_string(),
                };
                let reason = format!(
                    "no Ollama server at {} ({why}); using the embedded pocket model (arithmetic chains)",
                    client.host()
                );
                Ok((Backend::Pocket, Some(reason)))
            }
            Err(e) => Err(e.into()),
        },
        b => Ok((b, None)),
    }
}

/// Build the verifier a run asks for. The judge uses `judge_model` when it
/// differs from the policy model; `say` prints a note when it must sample.
pub async fn build_verifier(
    kind: VerifierKind,
    client: Option<&OllamaClient>,
    policy: Arc<dyn Generator>,
    judge_model: Option<&str>,
    template_path: Option<&PathBuf>,
    say: bool,
) -> Result<Arc<dyn Verifier>, Failure> {
    Ok(match kind {
        VerifierKind::Arith => Arc::new(ArithVerifier),
        VerifierKind::Oracle => Arc::new(OracleVerifier),
        VerifierKind::None => Arc::new(NoVerifier),
        VerifierKind::Prm => Arc::new(crate::pocket::PocketPrm::new(embedded_pocket()?)),
        VerifierKind::Judge => {
            let Some(client) = client else {
                return Err(Failure::new(
                    "the judge verifier asks an Ollama model; with the embedded model use --verifier prm or arith",
                ));
            };
            let template = match template_path {
                Some(p) => JudgeTemplate::parse(&read_file(p, "judge template")?, &p.display().to_string())?,
                None => JudgeTemplate::bundled(),
            };
            let judge: Arc<dyn Generator> = match judge_model {
                Some(m) if m != policy.info().model => {
                    client.show(m).await?;
                    Arc::new(client.generator(m).await?)
                }
                _ => policy,
            };
            if say && !judge.info().logprobs {
                eprintln!(
                    "ttc: note: the server at {} returns no logprobs (Ollama 0.12.11 or newer does); the judge samples {} verdicts per step instead",
                    redact(client.host()),
                    template.samples
                );
            }
            Arc::new(JudgeVerifier::new(judge, template))
        }
    })
}

/// The first model the server lists.
pub async fn default_model(client: &OllamaClient) -> Result<String, Failure> {
    let models = client.list_models().await?;
    models.into_iter().next().map(|m| m.name).ok_or_else(|| {
        Failure::new(format!(
            "no models are installed on {}. Pull one with `ollama pull qwen2.5:1.5b`, then pass --model",
            redact(client.host())
        ))
    })
}

/// Run and report.
pub async fn run(global: &GlobalArgs, args: RunArgs) -> Result<ExitCode, Failure> {
    let p = prepare(global, &args).await?;
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
    if args.json {
        let mut out = stdout.lock();
        serde_json::to_writer_pretty(&mut out, &tree.summary())?;
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
            "ttc: {} with n={} on {} ({} at {}), verifier {}",
            info.config.strategy,
            info.config.n,
            shown(&info.problem.id),
            shown(&info.generator.model),
            shown(&info.generator.location),
            shown(&info.verifier)
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
        Event::Selection(s) => format!("ttc: note: {}", for_display(s.note.as_deref()?, MESSAGE_CHARS)),
        _ => return None,
    })
}

/// The tally, the selected answer and the budget, as plain text.
fn write_result(out: &mut impl Write, tree: &RunTree) -> std::io::Result<()> {
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
    use crate::strategy::{AnswerTally, Selection};

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

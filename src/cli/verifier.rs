//! `ttc verifier eval`: measure a verifier against ProcessBench's human step labels, or
//! against the outcomes of recorded runs (`--traces`);
//! `ttc verifier view`: look at the result in the terminal.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};

use super::{build_verifier, default_model, Failure, GlobalArgs};
use crate::lab::{eval, items, report, traces, BenchItem, EvalDir, Identity, ItemRecord};
use crate::launch::{http_timeout, VerifierSettings};
use crate::safe::for_display;
use crate::strategy::VerifierKind;
use crate::verify::Verifier;

/// `ttc verifier …`.
#[derive(Debug, Subcommand)]
pub enum VerifierCommand {
    /// Score every step of ProcessBench items (or of finished candidates in ttc traces with a
    /// gold answer) and report ProcessBench's metrics (error/correct accuracy, F1, a threshold
    /// sweep, step AUROC) into --out (resumable).
    Eval(Box<EvalArgs>),
    /// Browse an eval's --out directory: items, steps, scores and the human labels, with a
    /// threshold that moves the predictions and the metrics live.
    View(ViewArgs),
}

/// Flags of `ttc verifier view`.
#[derive(Debug, Args)]
pub struct ViewArgs {
    /// The --out directory of a `ttc verifier eval` run.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Flags of `ttc verifier eval`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("items").required(true).args(["processbench", "traces"])))]
pub struct EvalArgs {
    /// ProcessBench items: a JSON array or JSONL of {id, problem, steps, label}.
    #[arg(long, value_name = "FILE")]
    pub processbench: Option<PathBuf>,
    /// ttc traces (files or directories of *.jsonl): every finished candidate of a run with a
    /// gold answer is an item, labelled by its final answer only (see the README).
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub traces: Vec<PathBuf>,
    /// The verifier to measure (oracle and none have nothing to measure here and are refused).
    #[arg(long, value_enum)]
    pub verifier: VerifierKind,
    /// The endpoint of --verifier http (POST {problem, steps} → {scores}; see the README)
    /// [config: verifier_url].
    #[arg(long, value_name = "URL", env = "TTC_VERIFIER_URL", hide_env_values = true)]
    pub verifier_url: Option<String>,
    /// Model for --verifier judge [config: verifier_model; default: the server's first model].
    #[arg(long, value_name = "MODEL")]
    pub verifier_model: Option<String>,
    /// A judge template file (TOML, like assets/verifiers/judge.toml).
    #[arg(long, value_name = "FILE")]
    pub judge_template: Option<PathBuf>,
    /// Output directory: items.jsonl, metrics.json, sweep.csv (resumed when it exists).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// A step scored below this is the predicted first error, 0–1 [default: 0.5].
    #[arg(long, value_name = "TAU", default_value_t = 0.5, value_parser = parse_threshold)]
    pub threshold: f64,
    /// Only the first K items of the file.
    #[arg(long, value_name = "K")]
    pub limit: Option<usize>,
}

/// `--threshold`: a number in [0, 1].
fn parse_threshold(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(t) if (0.0..=1.0).contains(&t) => Ok(t),
        _ => Err(format!("{s} is not a number in [0, 1]")),
    }
}

/// Run a `ttc verifier` command.
pub async fn verifier(global: &GlobalArgs, command: VerifierCommand) -> Result<ExitCode, Failure> {
    match command {
        VerifierCommand::Eval(args) => eval_command(global, &args).await,
        VerifierCommand::View(args) => {
            crate::lab::view::view(&args.dir).map(|()| ExitCode::SUCCESS).map_err(Failure::new)
        }
    }
}

/// The items to score: read from --processbench, or built from --traces (their JSONL is
/// then kept in the output directory, and the identity names it).
struct Input {
    loaded: items::Loaded,
    /// What metrics.json names as the input.
    name: String,
    /// Builds the directory's identity from the verifier's.
    identity: Box<dyn Fn(String) -> Identity + Send>,
    /// `trace-items.jsonl`'s contents, to write once the directory is open.
    trace_items: Option<String>,
}

fn processbench_input(path: &std::path::Path) -> Result<Input, Failure> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        Failure::new(format!("cannot read {name}: {e}. Check the path given to --processbench"))
    })?;
    let text =
        std::str::from_utf8(&bytes).map_err(|e| Failure::new(format!("{name} is not UTF-8 text: {e}")))?;
    let loaded = items::parse(text, &name).map_err(Failure::new)?;
    let path = path.to_path_buf();
    Ok(Input {
        loaded,
        name,
        identity: Box::new(move |v| Identity::new(v, &path, &bytes)),
        trace_items: None,
    })
}

fn traces_input(paths: &[PathBuf]) -> Result<Input, Failure> {
    let files = traces::trace_files(paths).map_err(Failure::new)?;
    let built = traces::build(&files);
    for n in &built.notes {
        eprintln!("ttc: warning: {}", for_display(n, 400));
    }
    eprintln!(
        "ttc: {} items from {} traces; skipped {} candidates without a gold answer, {} unfinished, {} without steps",
        built.items.len(),
        files.len(),
        built.no_gold,
        built.unfinished,
        built.no_steps
    );
    if built.items.is_empty() {
        return Err(Failure::new(
            "the traces hold no finished candidate of a problem with a gold answer: nothing to measure",
        ));
    }
    let text = traces::to_jsonl(&built.items);
    let name = files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(" ");
    let bytes = text.clone().into_bytes();
    Ok(Input {
        loaded: items::Loaded { items: built.items, skipped: Vec::new() },
        name,
        identity: Box::new(move |v| Identity::traces(v, traces::ITEMS_FROM_TRACES, &bytes)),
        trace_items: Some(text),
    })
}

async fn eval_command(global: &GlobalArgs, args: &EvalArgs) -> Result<ExitCode, Failure> {
    let input = match &args.processbench {
        Some(path) => processbench_input(path)?,
        None => traces_input(&args.traces)?,
    };
    let (loaded, name) = (&input.loaded, input.name.clone());
    for s in &loaded.skipped {
        eprintln!("ttc: warning: {}", for_display(s, 400));
    }
    let selection: &[BenchItem] = &loaded.items[..args.limit.unwrap_or(usize::MAX).min(loaded.items.len())];
    let resolved = global.resolve_quietly();
    let (verifier, identity) = choose(global, args, selection, &name).await?;
    let identity = (input.identity)(identity);
    let (mut dir, done) = EvalDir::open(&args.out, &identity).map_err(Failure::new)?;
    if let Some(text) = &input.trace_items {
        dir.write(traces::ITEMS_FROM_TRACES, text).map_err(Failure::new)?;
    }
    let concurrency = resolved.settings.concurrency;
    let scored = eval::score_all(verifier, selection, &done, &mut dir, args.threshold, concurrency)
        .await
        .map_err(Failure::new)?;
    let m = report::metrics(&identity.verifier, &name, args.threshold, &scored.records);
    let json = serde_json::to_string_pretty(&m).map_err(|e| Failure::new(e.to_string()))?;
    dir.write("metrics.json", &(json + "\n")).map_err(Failure::new)?;
    dir.write("sweep.csv", &report::sweep_csv(&m)).map_err(Failure::new)?;
    // Every record the directory holds, each predicted at this run's threshold.
    let chosen: std::collections::HashSet<&str> = selection.iter().map(|i| i.id.as_str()).collect();
    let mut all = scored.records.clone();
    all.extend(done.iter().filter(|r| !chosen.contains(r.id.as_str())).map(|r| ItemRecord {
        predicted: crate::lab::metrics::first_below(&r.scores, args.threshold),
        ..r.clone()
    }));
    dir.rewrite(&all).map_err(Failure::new)?;
    eprintln!(
        "ttc: {} items: {} scored now, {} from an earlier run{}; results in {}",
        scored.records.len(),
        scored.scored_now,
        scored.records.len() - scored.scored_now,
        if loaded.skipped.is_empty() {
            String::new()
        } else {
            format!(", {} unreadable skipped", loaded.skipped.len())
        },
        args.out.display()
    );
    print!("{}", report::table(&m));
    Ok(ExitCode::SUCCESS)
}

/// The verifier the flags name, built as a run builds it ([`build_verifier`]), and its
/// identity in the output directory. A failed call stops the evaluation (it does not leave
/// steps unscored, which would count as the verifier's answer).
async fn choose(
    global: &GlobalArgs,
    args: &EvalArgs,
    selection: &[BenchItem],
    name: &str,
) -> Result<(Arc<dyn Verifier>, String), Failure> {
    let kind = args.verifier;
    match kind {
        VerifierKind::Oracle => return Err(Failure::new(
            "the oracle verifier compares a finished solution's final answer with a gold answer; ProcessBench asks which step is the first wrong one and gives no gold answer, so the oracle has nothing to measure here. Use --verifier arith, prm, judge or http",
        )),
        VerifierKind::None => return Err(Failure::new(
            "the none verifier scores no step, so there is nothing to measure. Use --verifier arith, prm, judge or http",
        )),
        VerifierKind::Confidence => return Err(Failure::new(
            "the confidence verifier reads the policy's own token log-probabilities while it writes; ProcessBench's steps come with none, so there is nothing to measure here. Use --verifier arith, prm, judge or http",
        )),
        VerifierKind::Prm => check_pocket_problems(selection, name)?,
        VerifierKind::Arith | VerifierKind::Judge | VerifierKind::Http => {}
    }
    // Warnings about the host matter only where a server is asked.
    let resolved = if kind == VerifierKind::Judge { global.resolve() } else { global.resolve_quietly() };
    // Only the judge asks an Ollama model (`--verifier-model`, else the config's, else the
    // server's first model).
    let mut judge = None;
    let (client, model) = if kind == VerifierKind::Judge && global.backend == crate::launch::Backend::Openai {
        let named = args.verifier_model.clone().or(resolved.config.verifier_model.clone());
        let (g, model) = crate::launch::hosts::openai_judge(&resolved, named).await?;
        judge = Some(g);
        (None, Some(model))
    } else if kind == VerifierKind::Judge {
        let client = resolved.client()?;
        let model = match args.verifier_model.clone().or(resolved.config.verifier_model.clone()) {
            Some(m) => m,
            None => default_model(&client).await?,
        };
        (Some(client), Some(model))
    } else {
        (None, None)
    };
    let settings = VerifierSettings {
        judge_model: model.clone(),
        judge_template: args.judge_template.clone(),
        url: args.verifier_url.clone().or(resolved.config.verifier_url.clone()),
        http_timeout: Some(http_timeout(global, &resolved.config)),
        http_unscored_on_failure: false,
        confidence_window: None,
    };
    let v = build_verifier(kind, client.as_ref(), judge, &settings, true).await?;
    let identity = match kind {
        VerifierKind::Judge => {
            let template = args
                .judge_template
                .as_ref()
                .map(|p| format!(" template {}", p.display()))
                .unwrap_or_default();
            format!("judge {}{template}", model.unwrap_or_default())
        }
        // `http URL`, its credentials hidden.
        VerifierKind::Http => v.name(),
        _ => kind.to_string(),
    };
    Ok((v, identity))
}

/// The embedded PRM reads only pocket problems ("Start at 27. Add 48. …"): refuse items it
/// cannot read instead of scoring noise.
fn check_pocket_problems(selection: &[BenchItem], name: &str) -> Result<(), Failure> {
    let unreadable: Vec<&BenchItem> =
        selection.iter().filter(|i| crate::pocket::task::Chain::parse(&i.problem).is_none()).collect();
    match unreadable.first() {
        None => Ok(()),
        Some(first) => Err(Failure::new(format!(
            "the embedded pocket PRM reads only the pocket task's arithmetic chains (\"Start at 27. Add 48. …\"), and {} of the {} problems in {name} cannot be read as one (first: item {}, id {}); its scores on them would be noise. Use --verifier arith, judge or http",
            unreadable.len(),
            selection.len(),
            first.index,
            for_display(&first.id, 80)
        ))),
    }
}

//! The command line: `ttc run`, `ttc bench`, `ttc models`, `ttc grade`, `ttc verifier`,
//! `ttc traces`, `ttc replay`, `ttc rescore`.

mod bench;
mod grade;
mod models;
mod replay;
mod rescore;
mod run;
mod traces;
mod verifier;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::launch::logs::{self, LogMode};
use crate::safe::for_display;

// Run setup lives in `crate::launch`, shared with the interactive view; these names stay
// reachable from `cli` for the command line and its callers.
pub use crate::launch::args::{
    parse_stall_timeout, parse_temperature, parse_top_p, u32_in, usize_in, CHAINS_MAX, CONCURRENCY_MAX,
    DEPTH_MAX, LOOKAHEAD_MAX, MAX_TOKENS_MAX, N_MAX, REVISIONS_MAX, STALL_TIMEOUT_MAX_SECS, TEMPERATURE_MAX,
    WIDTH_MAX,
};
pub use crate::launch::{
    build_verifier, choose_backend, default_model, embedded_pocket, probe_backend, read_file,
    resolve_problem, run_config, Backend, Failure, GlobalArgs, Resolved, RunArgs, MESSAGE_CHARS,
};

/// ttc — a terminal lab for test-time compute.
#[derive(Debug, Parser)]
#[command(name = "ttc", version, about, long_about = None, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    /// With no command, ttc opens the interactive view; these flags start a run in it at once.
    #[command(flatten)]
    pub view: RunArgs,
    /// Colour theme of the interactive view: dark, light, colorblind, or a file
    /// NAME.toml in the themes folder of the config dir [config: theme]
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What ttc does.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a strategy on one problem, headless.
    Run(Box<RunArgs>),
    /// Benchmark strategies × budgets on a dataset into a results directory (resumable);
    /// `bench report DIR` and `bench fit DIR --out policy.toml` read one.
    Bench(Box<bench::BenchCommand>),
    /// List the recorded runs (traces), newest first; `traces prune` deletes old ones.
    Traces(traces::TracesArgs),
    /// Replay a recorded run with no model: in the view at its recorded speed, or its final
    /// state as `ttc run` printed it (--json, --text).
    Replay(replay::ReplayArgs),
    /// Score a recorded run's steps again with another verifier (no generation), select
    /// again, write a new trace and print what changed.
    Rescore(rescore::RescoreArgs),
    /// List the models installed on the Ollama server.
    Models {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Train or evaluate the embedded pocket model.
    #[command(subcommand)]
    Pocket(PocketCommand),
    /// Measure verifiers: `verifier eval` scores ProcessBench items against human step labels;
    /// `verifier view` browses the result.
    #[command(subcommand)]
    Verifier(verifier::VerifierCommand),
    /// Grade predicted answers against gold answers.
    Grade {
        /// JSONL file of {"pred": ..., "gold": ...} lines ("-" reads standard input).
        #[arg(long, value_name = "FILE")]
        jsonl: PathBuf,
        /// Every `pred` is a whole model response: extract its final answer (and the gold's,
        /// when it is a worked solution). Without this flag, responses are detected.
        #[arg(long, conflicts_with = "answers")]
        extract: bool,
        /// Every `pred` is already an answer: compare it as written, never extract.
        #[arg(long)]
        answers: bool,
    },
}

/// `ttc pocket …`.
#[derive(Debug, Subcommand)]
pub enum PocketCommand {
    /// Train the policy and the PRM from scratch (writes safetensors and loss logs to --out).
    Train(Box<crate::pocket::TrainArgs>),
    /// Evaluate on freshly generated problems: accuracy per level and N, PRM step AUROC.
    Eval(crate::pocket::EvalArgs),
}

/// Parse arguments, run, and turn the outcome into an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // One subscriber per process: the view's log file, or stderr for headless commands.
    // The view (and a trace replayed in it) owns the terminal: its logs go to a file.
    let view = match &cli.command {
        None => true,
        Some(Command::Replay(a)) => !a.json && !a.text,
        Some(_) => false,
    };
    let log = logs::start(LogMode::of(view));
    install_panic_hook();
    match dispatch(cli, log) {
        Ok(code) => code,
        Err(f) => {
            // Error texts carry server replies: no escape sequence or credential gets through.
            eprintln!("ttc: error: {}", for_display(&f.message, MESSAGE_CHARS));
            ExitCode::from(f.code)
        }
    }
}

/// A panic prints one sanitized, clipped line instead of the default text: its message may
/// quote a server reply. The view wraps this hook in its own, which restores the terminal first.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        let place = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("{}", panic_line(&message, &place));
        if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
            eprintln!("{}", std::backtrace::Backtrace::force_capture());
        }
    }));
}

/// What a panic prints.
fn panic_line(message: &str, place: &str) -> String {
    format!(
        "ttc: internal error (a bug, please report it): {} at {}",
        for_display(message, MESSAGE_CHARS),
        for_display(place, 200)
    )
}

fn dispatch(cli: Cli, log: Option<PathBuf>) -> Result<ExitCode, Failure> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("cannot start the async runtime: {e}")))?;
    match cli.command {
        Some(Command::Run(args)) => rt.block_on(run::run(&cli.global, *args)),
        Some(Command::Bench(b)) => rt.block_on(bench::bench(&cli.global, *b)),
        Some(Command::Traces(a)) => traces::traces(&a),
        Some(Command::Replay(a)) => rt.block_on(replay::replay(&cli.global, &a)),
        Some(Command::Rescore(a)) => rt.block_on(rescore::rescore(&cli.global, &a)),
        Some(Command::Models { json }) => rt.block_on(models::models(&cli.global, json)),
        Some(Command::Grade { jsonl, extract, answers }) => {
            let mode = match (extract, answers) {
                (true, _) => crate::grade::GradeMode::Extract,
                (_, true) => crate::grade::GradeMode::Answers,
                _ => crate::grade::GradeMode::Auto,
            };
            grade::grade(&jsonl, mode)
        }
        Some(Command::Verifier(v)) => rt.block_on(verifier::verifier(&cli.global, v)),
        Some(Command::Pocket(PocketCommand::Train(a))) => {
            crate::pocket::train(&a).map(|_| ExitCode::SUCCESS).map_err(|e| Failure::new(format!("{e:#}")))
        }
        Some(Command::Pocket(PocketCommand::Eval(a))) => {
            crate::pocket::eval(&a).map(|_| ExitCode::SUCCESS).map_err(|e| Failure::new(format!("{e:#}")))
        }
        None => rt.block_on(crate::tui::run(cli.global, cli.view, cli.theme, log)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_prints_one_safe_line() {
        let line =
            panic_line(&format!("bad reply from http://u:pw@h/ \x1b]0;T\x07{}", "x".repeat(5000)), "a.rs:1");
        assert!(!line.contains('\x1b') && !line.contains('\x07') && !line.contains("pw@"), "{line}");
        assert!(line.starts_with("ttc: internal error") && line.ends_with(" at a.rs:1"), "{line}");
        assert!(line.len() < MESSAGE_CHARS + 200);
    }
}

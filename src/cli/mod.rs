//! The command line: `ttc run`, `ttc models`, `ttc grade`.

mod grade;
mod models;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;
use crate::model::ollama::{OllamaClient, OllamaSettings, DEFAULT_HOST};

pub use run::{
    build_verifier, choose_backend, default_model, embedded_pocket, read_file, resolve_problem, run_config,
    RunArgs,
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

/// Options every command accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Ollama server URL [env: OLLAMA_HOST; config: host; default: http://127.0.0.1:11434]
    #[arg(long, global = true)]
    pub host: Option<String>,
    /// Config file [default: the platform config dir, e.g. ~/.config/ttc/config.toml]
    #[arg(long, global = true, env = "TTC_CONFIG")]
    pub config: Option<PathBuf>,
    /// Requests in flight at once on the server [config: concurrency; default: 4]
    #[arg(long, global = true)]
    pub concurrency: Option<usize>,
    /// Seconds without data before a stream fails [config: stall_timeout_secs; default: 120]
    #[arg(long, global = true, value_name = "SECS")]
    pub stall_timeout: Option<f64>,
    /// Where models run: ollama, pocket (the embedded model), or auto (Ollama when it answers,
    /// else the embedded model)
    #[arg(long, global = true, value_enum, default_value_t = Backend::Auto, env = "TTC_BACKEND")]
    pub backend: Backend,
}

/// Where models run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// Ollama when it answers, else the embedded pocket model.
    Auto,
    Ollama,
    /// The embedded pocket model and PRM: arithmetic chains, no server needed.
    Pocket,
}

/// What ttc does.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a strategy on one problem, headless.
    Run(Box<RunArgs>),
    /// List the models installed on the Ollama server.
    Models {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Train or evaluate the embedded pocket model.
    #[command(subcommand)]
    Pocket(PocketCommand),
    /// Grade predicted answers against gold answers.
    Grade {
        /// JSONL file of {"pred": ..., "gold": ...} lines ("-" reads standard input).
        #[arg(long, value_name = "FILE")]
        jsonl: PathBuf,
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

/// A failure that ends the program with a one-line message.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl Failure {
    /// A failure with exit code 1.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), code: 1 }
    }
}

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Self::new(e.to_string())
    }
}

/// Settings resolved from flags, environment and config.
pub struct Resolved {
    pub config: Config,
    pub host: String,
    pub settings: OllamaSettings,
}

impl GlobalArgs {
    /// Apply the layers: flags, then environment, then config, then defaults.
    pub fn resolve(&self) -> Resolved {
        let (config, warning) = Config::load(self.config.as_deref());
        if let Some(w) = warning {
            eprintln!("ttc: warning: {w}");
        }
        let host = self
            .host
            .clone()
            .or_else(|| std::env::var("OLLAMA_HOST").ok().filter(|h| !h.trim().is_empty()))
            .or_else(|| config.host.clone())
            .unwrap_or_else(|| DEFAULT_HOST.to_string());
        let mut settings = OllamaSettings::default();
        if let Some(c) = self.concurrency.or(config.concurrency) {
            settings.concurrency = c.max(1);
        }
        if let Some(s) = self.stall_timeout.or(config.stall_timeout_secs) {
            if s.is_finite() && s > 0.0 {
                settings.stall_timeout = Duration::from_secs_f64(s);
            }
        }
        Resolved { config, host, settings }
    }
}

impl Resolved {
    /// A client for the resolved host.
    pub fn client(&self) -> Result<OllamaClient, Failure> {
        OllamaClient::new(&self.host, self.settings.clone()).map_err(Failure::from)
    }
}

/// Parse arguments, run, and turn the outcome into an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs();
    match dispatch(cli) {
        Ok(code) => code,
        Err(f) => {
            eprintln!("ttc: error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

/// Logs go to stderr only when asked for with `TTC_LOG` (e.g. `TTC_LOG=debug`).
fn init_logs() {
    let Ok(filter) = std::env::var("TTC_LOG") else { return };
    let filter = tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|e| {
        eprintln!("ttc: warning: TTC_LOG={filter:?} is not a log filter ({e}); using \"info\"");
        tracing_subscriber::EnvFilter::new("info")
    });
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

fn dispatch(cli: Cli) -> Result<ExitCode, Failure> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("cannot start the async runtime: {e}")))?;
    match cli.command {
        Some(Command::Run(args)) => rt.block_on(run::run(&cli.global, *args)),
        Some(Command::Models { json }) => rt.block_on(models::models(&cli.global, json)),
        Some(Command::Grade { jsonl }) => grade::grade(&jsonl),
        Some(Command::Pocket(PocketCommand::Train(a))) => {
            crate::pocket::train(&a).map(|_| ExitCode::SUCCESS).map_err(|e| Failure::new(format!("{e:#}")))
        }
        Some(Command::Pocket(PocketCommand::Eval(a))) => {
            crate::pocket::eval(&a).map(|_| ExitCode::SUCCESS).map_err(|e| Failure::new(format!("{e:#}")))
        }
        None => rt.block_on(crate::tui::run(cli.global, cli.view, cli.theme)),
    }
}

//! The command line: `ttc run`, `ttc models`, `ttc grade`.

mod grade;
mod models;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::limits::{self, stall_timeout_ok};
use crate::config::Config;
use crate::model::ollama::{OllamaClient, OllamaSettings, DEFAULT_HOST};
use crate::safe::{for_display, has_credentials, redact_host};

pub use run::{
    build_verifier, choose_backend, default_model, embedded_pocket, probe_backend, read_file,
    resolve_problem, run_config, RunArgs,
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
    /// Requests in flight at once on the server, 1–256 [config: concurrency; default: 4]
    #[arg(long, global = true, value_parser = usize_in(CONCURRENCY_MAX))]
    pub concurrency: Option<usize>,
    /// Seconds without data before a stream fails, more than 0 and at most 86400 (a day); it
    /// also bounds the wait for a reply to start and for small requests (version, model list,
    /// which never wait more than 30 s) [config: stall_timeout_secs; default: 120]
    #[arg(long, global = true, value_name = "SECS", value_parser = parse_stall_timeout)]
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

// Flag limits are the settings limits of [`crate::config::limits`], in one place.
/// Most candidates N (`-n`, `run.n`).
pub const N_MAX: usize = *limits::N.end();
/// Most beam width M (`--width`).
pub const WIDTH_MAX: usize = *limits::WIDTH.end();
/// Most steps per solution (`--depth`).
pub const DEPTH_MAX: u32 = *limits::DEPTH.end();
/// Most requests in flight (`--concurrency`, `concurrency`).
pub const CONCURRENCY_MAX: usize = *limits::CONCURRENCY.end();
/// Longest stall timeout, in seconds: a day (`--stall-timeout`, `stall_timeout_secs`).
pub const STALL_TIMEOUT_MAX_SECS: f64 = limits::STALL_TIMEOUT_MAX_SECS;
/// Highest sampling temperature (`--temperature`, `run.temperature`); the lowest is 0.
pub const TEMPERATURE_MAX: f32 = *limits::TEMPERATURE.end();
/// Most parallel chains C (`--chains`).
pub const CHAINS_MAX: usize = *limits::CHAINS.end();
/// Most revisions per chain D (`--revisions`).
pub const REVISIONS_MAX: usize = *limits::REVISIONS.end();
/// Most greedy rollout steps k (`--lookahead`); 0 is allowed.
pub const LOOKAHEAD_MAX: u32 = *limits::LOOKAHEAD.end();
/// Most tokens per candidate (`--max-tokens`, `run.max_tokens`).
pub const MAX_TOKENS_MAX: u32 = *limits::MAX_TOKENS.end();

/// A clap parser for a `usize` flag in `1..=max`; clap names the flag and the range on error.
pub fn usize_in(max: usize) -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..=max as u64)
}

/// A clap parser for a `u32` flag in `min..=max`.
pub fn u32_in(min: u32, max: u32) -> clap::builder::RangedU64ValueParser<u32> {
    clap::builder::RangedU64ValueParser::<u32>::new().range(min as u64..=max as u64)
}

fn parse_f64(s: &str) -> Result<f64, String> {
    s.trim().parse::<f64>().map_err(|_| format!("{s:?} is not a number"))
}

/// `--stall-timeout`: more than 0 and at most a day.
pub fn parse_stall_timeout(s: &str) -> Result<f64, String> {
    let v = parse_f64(s)?;
    if stall_timeout_ok(v) {
        Ok(v)
    } else {
        Err(format!("{s} is not in (0, {STALL_TIMEOUT_MAX_SECS}] seconds (more than 0, at most a day)"))
    }
}

/// `--temperature`: a finite number in 0..=2.
pub fn parse_temperature(s: &str) -> Result<f32, String> {
    let v = parse_f64(s)? as f32;
    if temperature_ok(v) {
        Ok(v)
    } else {
        Err(format!("{s} is not in 0..=2"))
    }
}

fn temperature_ok(v: f32) -> bool {
    v.is_finite() && (0.0..=TEMPERATURE_MAX).contains(&v)
}

/// `--top-p`: a number in (0, 1].
pub fn parse_top_p(s: &str) -> Result<f32, String> {
    let v = parse_f64(s)? as f32;
    if v.is_finite() && v > 0.0 && v <= 1.0 {
        Ok(v)
    } else {
        Err(format!("{s} is not in (0, 1] (more than 0, at most 1)"))
    }
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
    /// What a person should know: a broken or out-of-range config, an exposed host.
    pub warnings: Vec<String>,
}

impl GlobalArgs {
    /// Apply the layers (flags, then environment, then config, then defaults) and print
    /// the warnings on stderr, once: for headless commands.
    pub fn resolve(&self) -> Resolved {
        let resolved = self.resolve_quietly();
        for w in &resolved.warnings {
            eprintln!("ttc: warning: {}", for_display(w, 400));
        }
        resolved
    }

    /// [`GlobalArgs::resolve`] without printing: the view shows the warnings itself.
    pub fn resolve_quietly(&self) -> Resolved {
        let (config, warning) = Config::load(self.config.as_deref());
        let mut warnings: Vec<String> = warning.into_iter().map(|w| w.0).collect();
        let host = self
            .host
            .clone()
            .or_else(|| std::env::var("OLLAMA_HOST").ok().filter(|h| !h.trim().is_empty()))
            .or_else(|| config.host.clone())
            .unwrap_or_else(|| DEFAULT_HOST.to_string());
        let mut settings = OllamaSettings::default();
        if let Some(c) = self.concurrency.or(config.concurrency) {
            settings.concurrency = c;
        }
        if let Some(s) = self.stall_timeout.or(config.stall_timeout_secs) {
            // In range by now (flags by their parser, config by `Config::load`), so this cannot panic.
            settings.stall_timeout = Duration::from_secs_f64(s);
        }
        if self.backend != Backend::Pocket {
            warnings.extend(host_warning(&host));
        }
        Resolved { config, host, settings, warnings }
    }
}

/// A warning when talking to `host` exposes something: credentials in the URL (they go to
/// the server with every request; ttc never prints them), or a remote host over plain http.
fn host_warning(host: &str) -> Option<String> {
    let shown = redact_host(host);
    if has_credentials(host) {
        return Some(format!(
            "the host {shown} carries credentials; ttc hides them in its output, but they travel with every request{}",
            if is_plain_remote(host) { " unencrypted (plain http://)" } else { "" }
        ));
    }
    is_plain_remote(host).then(|| {
        format!("{shown} is a remote host over plain http://: prompts and answers travel unencrypted; use https:// or a loopback address")
    })
}

/// A non-loopback host reached over `http://` (a host with no scheme is http).
fn is_plain_remote(host: &str) -> bool {
    let trimmed = host.trim();
    let with_scheme = if trimmed.contains("://") { trimmed.to_string() } else { format!("http://{trimmed}") };
    let Ok(url) = reqwest::Url::parse(&with_scheme) else { return false };
    if url.scheme() != "http" {
        return false;
    }
    let Some(name) = url.host_str() else { return false };
    let name = name.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    match name.parse::<std::net::IpAddr>() {
        Ok(ip) => !ip.is_loopback() && !ip.is_unspecified(),
        Err(_) => name != "localhost" && !name.ends_with(".localhost"),
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
    install_panic_hook();
    match dispatch(cli) {
        Ok(code) => code,
        Err(f) => {
            // Error texts carry server replies: no escape sequence or credential gets through.
            eprintln!("ttc: error: {}", for_display(&f.message, MESSAGE_CHARS));
            ExitCode::from(f.code)
        }
    }
}

/// The most characters of an untrusted text in one message line.
pub const MESSAGE_CHARS: usize = 2000;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_flags_refuse_out_of_range_values() {
        for bad in ["1e308", "0", "-1", "NaN", "inf", "86400.5", "x"] {
            assert!(parse_stall_timeout(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_stall_timeout("86400"), Ok(86_400.0));
        assert_eq!(parse_stall_timeout("0.5"), Ok(0.5));
        for bad in ["-1", "NaN", "inf", "-inf", "2.01"] {
            assert!(parse_temperature(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_temperature("0"), Ok(0.0));
        assert_eq!(parse_temperature("2"), Ok(2.0));
        assert!(parse_top_p("0").is_err() && parse_top_p("1.5").is_err() && parse_top_p("NaN").is_err());
        assert_eq!(parse_top_p("1"), Ok(1.0));
    }

    #[test]
    fn exposed_hosts_are_warned_about_without_showing_credentials() {
        let w = host_warning("http://me:secret@127.0.0.1:11434").unwrap();
        assert!(w.contains("credentials") && w.contains("***@127.0.0.1") && !w.contains("secret"), "{w}");
        let w = host_warning("http://gpu.lan:11434").unwrap();
        assert!(w.contains("plain http://"), "{w}");
        let w = host_warning("me:pw@10.1.2.3").unwrap();
        assert!(w.contains("unencrypted") && !w.contains("pw"), "{w}");
        for quiet in ["http://127.0.0.1:11434", "localhost", "http://[::1]:11434", "https://gpu.example.com"]
        {
            assert_eq!(host_warning(quiet), None, "{quiet}");
        }
    }

    #[test]
    fn a_panic_prints_one_safe_line() {
        let line =
            panic_line(&format!("bad reply from http://u:pw@h/ \x1b]0;T\x07{}", "x".repeat(5000)), "a.rs:1");
        assert!(!line.contains('\x1b') && !line.contains('\x07') && !line.contains("pw@"), "{line}");
        assert!(line.starts_with("ttc: internal error") && line.ends_with(" at a.rs:1"), "{line}");
        assert!(line.len() < MESSAGE_CHARS + 200);
    }
}

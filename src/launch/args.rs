//! The flags every run starts from: options every command accepts ([`GlobalArgs`]), the
//! run flags ([`RunArgs`], shared by `ttc run` and the interactive view), where models run
//! ([`Backend`]), and the limits and parsers of flag values.

use std::path::PathBuf;

use clap::Args;

use crate::config::limits::{self, stall_timeout_ok};
use crate::strategy::{SelectionRule, StrategyKind, VerifierKind};
use crate::verify::Aggregation;

/// Options every command accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Ollama server URL [env: OLLAMA_HOST; config: host; default: http://127.0.0.1:11434];
    /// with --backend openai the server's base URL [env: TTC_OPENAI_HOST; config: openai_host;
    /// default: http://127.0.0.1:8000]. Repeat it for a pool of hosts: each request goes to
    /// the least-loaded healthy one, each with --concurrency slots [config: [[hosts]]]
    #[arg(long, global = true)]
    pub host: Vec<String>,
    /// Config file [default: the platform config dir, e.g. ~/.config/ttc/config.toml]
    #[arg(long, global = true, env = "TTC_CONFIG")]
    pub config: Option<PathBuf>,
    /// Requests in flight at once on the server (on each host of a pool), 1–256 [config:
    /// concurrency; default: 4]
    #[arg(long, global = true, value_parser = usize_in(CONCURRENCY_MAX))]
    pub concurrency: Option<usize>,
    /// OpenAI-compatible servers: up to this many samples of one prompt in one request (`n`),
    /// 1–128; 1 sends one request per sample. Used only where the server honours `n` (found
    /// out by ttc); a request with n samples holds n of --concurrency. Not used with a pool of
    /// hosts [config: n_per_request; default: 8]
    #[arg(long, global = true, value_name = "K", value_parser = usize_in(N_PER_REQUEST_MAX))]
    pub n_per_request: Option<usize>,
    /// Seconds without data before a stream fails, more than 0 and at most 86400 (a day); it
    /// also bounds the wait for a reply to start and for small requests (version, model list,
    /// which never wait more than 30 s) [config: stall_timeout_secs; default: 120]
    #[arg(long, global = true, value_name = "SECS", value_parser = parse_stall_timeout)]
    pub stall_timeout: Option<f64>,
    /// Where models run: ollama, pocket (the embedded model), auto (Ollama when it answers,
    /// else the embedded model), or openai (an OpenAI-compatible server: vLLM, SGLang,
    /// llama.cpp's server; key from TTC_API_KEY or OPENAI_API_KEY)
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
    /// An OpenAI-compatible server (vLLM, SGLang, llama.cpp's server) at --host.
    Openai,
}

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
    /// The endpoint of --verifier http: POST {problem, steps} → {scores} (see the README)
    /// [env: TTC_VERIFIER_URL; config: verifier_url].
    #[arg(long, value_name = "URL")]
    pub verifier_url: Option<String>,
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
    /// Tokens per group of --verifier confidence, 1–4096 [config: run.confidence_window; default: 32].
    #[arg(long, value_name = "TOKENS", value_parser = u32_in(*limits::CONFIDENCE_WINDOW.start(), *limits::CONFIDENCE_WINDOW.end()))]
    pub confidence_window: Option<u32>,
    /// Stop a best-of-N candidate once the confidence of its last window of tokens falls
    /// below X, 0–1 (DeepConf's online mode); it does not vote [config: run.confidence_cutoff].
    #[arg(long, value_name = "X", value_parser = parse_confidence_cutoff)]
    pub confidence_cutoff: Option<f64>,
    /// For --strategy consistency: stop sampling once P(the majority answer stays the
    /// majority) reaches this, 0.5–0.9999 [config: run.confidence; default: 0.95].
    #[arg(long, value_name = "P", value_parser = parse_confidence)]
    pub confidence: Option<f64>,
    /// For --strategy consistency: samples drawn at once between stopping checks, 1–64 [config: run.batch; default: 1].
    #[arg(long, value_name = "K", value_parser = usize_in(BATCH_MAX))]
    pub batch: Option<usize>,
    /// Weight temperature T, 0.05–20, for --strategy particles: weights = softmax(logit(score) / T);
    /// lower follows the verifier more greedily [config: run.particle_temp; default: 1].
    #[arg(long, value_name = "T", value_parser = parse_particle_temp)]
    pub particle_temp: Option<f64>,
    /// How --strategy particles resamples [config: run.resample; default: systematic].
    #[arg(long, value_enum, value_name = "SCHEME")]
    pub resample: Option<crate::spec::ResampleKind>,
    /// Resample when the effective sample size 1/Σw² falls below THRESHOLD × N, 0–1, for
    /// --strategy particles: 1 resamples after every step, 0 never [config: run.ess_threshold; default: 1].
    #[arg(long, value_name = "THRESHOLD", value_parser = parse_ess_threshold)]
    pub ess_threshold: Option<f64>,
    /// Sampling options and prompt files (shared with `ttc bench`).
    #[command(flatten)]
    pub extra: ExtraArgs,

    /// Pace of the embedded model's stream, tokens per second per candidate, 0–1000; 0 is
    /// full speed [default: 20 in the view, so candidates can be watched as they grow (F
    /// toggles full speed); full speed for `ttc run`]
    #[arg(long, value_name = "TOK/S", value_parser = u32_in(0, PACE_MAX))]
    pub pace: Option<u32>,
    /// Print one JSON object with the candidates, the selection and the budget.
    #[arg(long, conflicts_with = "events")]
    pub json: bool,
    /// Print the event stream as JSON lines.
    #[arg(long)]
    pub events: bool,
    /// Record the run's trace in FILE [default: a new file in the data dir's traces/]
    #[arg(long, value_name = "FILE", conflicts_with = "no_trace")]
    pub trace: Option<PathBuf>,
    /// Record no trace of the run [config: trace = false]
    #[arg(long)]
    pub no_trace: bool,
}

/// Sampling options and prompt files that every command running a strategy takes.
#[derive(Debug, Clone, Default, Args)]
pub struct ExtraArgs {
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
/// Most samples in one request (`--n-per-request`, `n_per_request`).
pub const N_PER_REQUEST_MAX: usize = *limits::N_PER_REQUEST.end();
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
/// Fastest pace of the embedded model's stream, tokens per second (`--pace`); 0 is full speed.
pub const PACE_MAX: u32 = crate::pocket::generator::PACE_MAX;
/// The pace of the embedded model in the view when `--pace` is not given.
pub const VIEW_PACE: u32 = 20;
/// Most tokens per candidate (`--max-tokens`, `run.max_tokens`).
pub const MAX_TOKENS_MAX: u32 = *limits::MAX_TOKENS.end();

/// Most samples per adaptive-consistency batch (`--batch`).
pub const BATCH_MAX: usize = *limits::BATCH.end();

/// `--confidence`: a number in 0.5..=0.9999.
pub fn parse_confidence(s: &str) -> Result<f64, String> {
    let v = parse_f64(s)?;
    limits::check("confidence", v, &limits::CONFIDENCE)
        .map(|_| v)
        .map_err(|_| format!("{s} is not in {}..={}", limits::CONFIDENCE.start(), limits::CONFIDENCE.end()))
}

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

/// `--confidence-cutoff`: a number in 0..=1.
pub fn parse_confidence_cutoff(s: &str) -> Result<f64, String> {
    let v = parse_f64(s)?;
    limits::check("--confidence-cutoff", v, &limits::CONFIDENCE_CUTOFF)
        .map(|_| v)
        .map_err(|_| format!("{s} is not in 0..=1"))
}

/// `--particle-temp`: a number in 0.05..=20.
pub fn parse_particle_temp(s: &str) -> Result<f64, String> {
    let v = parse_f64(s)?;
    limits::check("--particle-temp", v, &limits::PARTICLE_TEMP).map(|_| v)
}

/// `--ess-threshold`: a fraction of N in 0..=1.
pub fn parse_ess_threshold(s: &str) -> Result<f64, String> {
    let v = parse_f64(s)?;
    limits::check("--ess-threshold", v, &limits::ESS_THRESHOLD).map(|_| v)
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

/// The run flags with the global options, on their own: for callers that parse run flags
/// without the whole `ttc` command line (tests, other front ends).
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "ttc")]
pub struct RunFlags {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(flatten)]
    pub run: RunArgs,
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
    fn pace_takes_0_to_1000_tokens_per_second() {
        use clap::Parser;
        let f = RunFlags::parse_from(["ttc", "--pace", "0"]);
        assert_eq!(f.run.pace, Some(0));
        assert_eq!(RunFlags::parse_from(["ttc", "--pace", "1000"]).run.pace, Some(1000));
        assert_eq!(RunFlags::parse_from(["ttc"]).run.pace, None);
        for bad in ["1001", "-1", "x", "2.5"] {
            let e = RunFlags::try_parse_from(["ttc", "--pace", bad]).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            if bad == "1001" {
                assert!(e.to_string().contains("0..=1000"), "{e}");
            }
        }
    }

    #[test]
    fn run_flags_parse_on_their_own() {
        use clap::Parser;
        let f = RunFlags::parse_from(["ttc", "--backend", "pocket", "--verifier", "arith", "-n", "3"]);
        assert_eq!(f.global.backend, Backend::Pocket);
        assert_eq!(f.run.verifier, Some(VerifierKind::Arith));
        assert_eq!(f.run.n, Some(3));
    }
}

//! `ttc bench`: run a benchmark into a results directory; `ttc bench report DIR`,
//! `ttc bench fit DIR --out policy.toml` and `ttc bench view DIR` read one.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{Failure, GlobalArgs};
use crate::config::limits;
use crate::launch::args::{
    parse_confidence_cutoff, parse_temperature, u32_in, usize_in, ExtraArgs, RunFlags, DEPTH_MAX,
    MAX_TOKENS_MAX,
};
use crate::launch::Launch;
use crate::strategy::VerifierKind;
use crate::verify::Aggregation;

/// `ttc bench …`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct BenchCommand {
    #[command(subcommand)]
    pub action: Option<BenchAction>,
    #[command(flatten)]
    pub args: BenchArgs,
}

/// What `ttc bench` does with a results directory.
#[derive(Debug, Subcommand)]
pub enum BenchAction {
    /// Write Markdown tables, CSV and plots of a results directory.
    Report {
        /// The results directory (`--out` of the bench).
        dir: PathBuf,
    },
    /// Fit a compute-optimal policy (bins × budgets) from a results directory.
    Fit {
        /// The results directory (`--out` of the bench).
        dir: PathBuf,
        /// Where to write the policy (TOML).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Browse accuracy-vs-budget curves of a results directory in the terminal (live while a
    /// bench writes into it).
    View {
        /// The results directory (`--out` of the bench).
        dir: PathBuf,
    },
}

/// Flags of a bench run.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Problems: bundled:math500, bundled:gsm8k, a JSONL file, pocket (generated, levels 1–5
    /// in turn) or pocket:LEVELS (e.g. pocket:3, pocket:1-3, pocket:1,4).
    #[arg(long, value_name = "SPEC", required = true)]
    pub dataset: Option<String>,
    /// The first K problems [default: all; 50 for pocket].
    #[arg(long, value_name = "K", value_parser = usize_in(1_000_000))]
    pub problems: Option<usize>,
    /// Strategy specs, comma-separated: best-of-n[:weighted|majority|best], beam[:m=M],
    /// dvts[:m=M], lookahead[:k=K][:m=M], revise[:ratio=R], consistency[:conf=C][:batch=K],
    /// particles[:temp=T][:ess=X][:resample=systematic|multinomial]; any takes :sel=RULE.
    #[arg(long, value_name = "SPECS", default_value = "best-of-n:weighted,best-of-n:majority,beam:m=4")]
    pub strategies: String,
    /// Budgets in generation-equivalents, comma-separated, each 1–1024.
    #[arg(long, value_name = "B,B,…", default_value = "1,2,4,8,16", allow_hyphen_values = true)]
    pub budgets: String,
    /// Seeds per problem × strategy × budget (seed indices 0..S).
    #[arg(long, value_name = "S", default_value_t = 1, value_parser = usize_in(1000))]
    pub seeds: usize,
    /// The results directory (results.jsonl, bench.json); a rerun resumes it.
    #[arg(long, value_name = "DIR", required = true)]
    pub out: Option<PathBuf>,
    /// Runs in flight at once (each run parallelises its own candidates too).
    #[arg(long, value_name = "J", default_value_t = 1, value_parser = usize_in(64))]
    pub jobs: usize,

    /// Best-of-N curves from one run of the largest budget per problem × seed, with K random
    /// subsets per budget for the variance (0: a best-of-N run per budget).
    #[arg(long, value_name = "K", default_value_t = 0,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=10_000))]
    pub subsample: usize,

    /// Verifier [default: the pocket PRM on the embedded model, arith on a server].
    #[arg(long, value_enum)]
    pub verifier: Option<VerifierKind>,
    /// How step scores become a solution score [default: the verifier's].
    #[arg(long, value_enum)]
    pub aggregation: Option<Aggregation>,
    /// Policy model [config: model; default: the first model the server lists].
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    /// Model for the judge verifier [default: the policy model].
    #[arg(long, value_name = "MODEL")]
    pub verifier_model: Option<String>,
    /// The endpoint of --verifier http (see the README) [env: TTC_VERIFIER_URL; config: verifier_url].
    #[arg(long, value_name = "URL")]
    pub verifier_url: Option<String>,
    /// Sampling temperature, 0–2 [config: run.temperature; default: 0.8].
    #[arg(long, value_name = "T", value_parser = parse_temperature)]
    pub temperature: Option<f32>,
    /// Most tokens per candidate [config: run.max_tokens; default: 1024].
    #[arg(long, value_name = "TOKENS", value_parser = u32_in(1, MAX_TOKENS_MAX))]
    pub max_tokens: Option<u32>,
    /// Most steps per solution for tree search [default: 40].
    #[arg(long, value_name = "STEPS", value_parser = u32_in(1, DEPTH_MAX))]
    pub depth: Option<u32>,
    /// Tokens per group of --verifier confidence, 1–4096 [config: run.confidence_window; default: 32].
    #[arg(long, value_name = "TOKENS", value_parser = u32_in(*limits::CONFIDENCE_WINDOW.start(), *limits::CONFIDENCE_WINDOW.end()))]
    pub confidence_window: Option<u32>,
    /// Stop a best-of-N candidate once the confidence of its last window of tokens falls below
    /// X, 0–1 [config: run.confidence_cutoff; default: none].
    #[arg(long, value_name = "X", value_parser = parse_confidence_cutoff)]
    pub confidence_cutoff: Option<f64>,
    /// Sampling options and prompt files, as for `ttc run`.
    #[command(flatten)]
    pub extra: ExtraArgs,
}

fn usage(message: String) -> Failure {
    Failure { message, code: 2 }
}

/// `ttc bench …`.
pub async fn bench(global: &GlobalArgs, command: BenchCommand) -> Result<ExitCode, Failure> {
    match command.action {
        Some(BenchAction::Report { dir }) => {
            crate::bench::report::report(&dir).map(|_| ExitCode::SUCCESS).map_err(Failure::new)
        }
        Some(BenchAction::Fit { dir, out }) => {
            crate::bench::fit::fit(&dir, &out).map(|_| ExitCode::SUCCESS).map_err(Failure::new)
        }
        Some(BenchAction::View { dir }) => {
            crate::bench::view::view(&dir).map(|_| ExitCode::SUCCESS).map_err(Failure::new)
        }
        None => run(global, command.args).await,
    }
}

async fn run(global: &GlobalArgs, a: BenchArgs) -> Result<ExitCode, Failure> {
    let strategies = crate::bench::parse_strategies(&a.strategies).map_err(usage)?;
    let budgets = crate::bench::parse_budgets(&a.budgets).map_err(usage)?;
    let (Some(dataset), Some(out)) = (a.dataset.clone(), a.out.clone()) else {
        return Err(usage("ttc bench needs --dataset and --out".into()));
    };
    // The run flags every run of the bench shares, for the one launch path.
    let mut run =
        <RunFlags as clap::Parser>::try_parse_from(["ttc"]).map_err(|e| Failure::new(e.to_string()))?.run;
    run.verifier = a.verifier;
    run.aggregation = a.aggregation;
    run.model = a.model;
    run.verifier_model = a.verifier_model;
    run.verifier_url = a.verifier_url;
    run.temperature = a.temperature;
    run.max_tokens = a.max_tokens;
    run.depth = a.depth;
    run.confidence_window = a.confidence_window;
    run.confidence_cutoff = a.confidence_cutoff;
    run.extra = a.extra;
    let launch = Launch::headless(global, &run);
    let plan = crate::bench::BenchPlan {
        dataset,
        problems: a.problems,
        strategies,
        budgets,
        seeds: (0..a.seeds as u64).collect(),
        out,
        jobs: a.jobs,
        subsample: a.subsample,
    };
    crate::bench::run(&launch, plan).await
}

//! One launch path: flags, config and environment become a prepared run. `ttc run` and the
//! interactive view both start here, so a setting means the same in both.
//!
//! - [`Launch`]: flags and settings resolved once (config file, `OLLAMA_HOST`, defaults),
//!   with the warnings a person should see.
//! - [`choose_backend`] / [`probe_backend`]: where models run, the embedded model replacing
//!   an absent server under `--backend auto`; a [`Site`] is the choice made.
//! - [`Launch::verifier`]: the verifier on a backend (the pocket PRM default, decided once).
//! - [`Launch::prepare`]: one run's files, checks, generator and verifier → [`Prepared`];
//!   [`Launch::prepare_headless`] is the whole path for commands without a view.
//! - [`logs`]: where log lines go, per mode.

pub mod args;
mod backend;
pub mod hosts;
pub mod logs;
pub mod pool_models;
#[cfg(test)]
mod settings_tests;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::model::ollama::{OllamaClient, OllamaSettings, DEFAULT_HOST};
use crate::model::Generator;
use crate::problem::{load_indexed, resolve_pick, Problem};
use crate::run::SolvePrompt;
use crate::safe::{for_display, has_credentials, redact_host};
use crate::strategy::adaptive::PolicyTable;
use crate::strategy::{RunConfig, VerifierKind};
use crate::verify::Verifier;

pub use args::{Backend, GlobalArgs, RunArgs, RunFlags, VIEW_PACE};
pub use backend::{
    build_verifier, choose_backend, default_model, embedded_pocket, probe_backend, Site, VerifierSettings,
};

/// The environment variable naming the `http` verifier's endpoint (below `--verifier-url`,
/// above `verifier_url` in the config).
pub const VERIFIER_URL_ENV: &str = "TTC_VERIFIER_URL";

/// The most characters of an untrusted text in one message line.
pub const MESSAGE_CHARS: usize = 2000;

/// The most characters of one answer, name or problem text in a plain line.
const SHOWN_CHARS: usize = 300;

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
#[derive(Clone)]
pub struct Resolved {
    pub config: Config,
    pub host: String,
    pub settings: OllamaSettings,
    /// What a person should know: a broken or out-of-range config, an exposed host.
    pub warnings: Vec<String>,
    /// The OpenAI-compatible server of `--backend openai`: `--host`, else `TTC_OPENAI_HOST`,
    /// else `openai_host` in the config, else [`crate::model::openai::DEFAULT_HOST`].
    pub openai_host: String,
    /// Its API key: `TTC_API_KEY`, else `OPENAI_API_KEY`, else `api_key` in the config.
    pub api_key: Option<crate::model::openai::ApiKey>,
    /// The hosts of a pool (`--host` repeated, else `[[hosts]]`): empty for one host.
    pub pool: Vec<hosts::HostSpec>,
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
        let pool = hosts::pool_specs(&self.host, &config);
        let host = self
            .host
            .first()
            .cloned()
            .or_else(|| hosts::first_ollama(&pool, self.backend).or(pool.first()).map(|h| h.url.clone()))
            .or_else(|| std::env::var("OLLAMA_HOST").ok().filter(|h| !h.trim().is_empty()))
            .or_else(|| config.host.clone())
            .unwrap_or_else(|| DEFAULT_HOST.to_string());
        let mut settings = OllamaSettings::default();
        if let Some(c) = self.concurrency.or(config.concurrency) {
            settings.concurrency = c;
        }
        if let Some(k) = self.n_per_request.or(config.n_per_request) {
            settings.n_per_request = k;
        }
        if let Some(s) = self.stall_timeout.or(config.stall_timeout_secs) {
            // In range by now (flags by their parser, config by `Config::load`), so this cannot panic.
            settings.stall_timeout = Duration::from_secs_f64(s);
        }
        let openai_host = self
            .host
            .first()
            .cloned()
            .or_else(|| pool.first().map(|h| h.url.clone()))
            .or_else(|| std::env::var(crate::model::openai::HOST_ENV).ok().filter(|h| !h.trim().is_empty()))
            .or_else(|| config.openai_host.clone())
            .unwrap_or_else(|| crate::model::openai::DEFAULT_HOST.to_string());
        let api_key = crate::model::openai::ApiKey::from_env().or_else(|| config.api_key.clone());
        match self.backend {
            Backend::Pocket => {}
            Backend::Openai => {
                warnings.extend(host_warning(&openai_host));
                if api_key.is_some() && is_plain_remote(&openai_host) {
                    warnings.push(format!(
                        "the API key goes to {} over plain http://, readable on the way; use https://",
                        redact_host(&openai_host)
                    ));
                }
            }
            _ => warnings.extend(host_warning(&host)),
        }
        if self.backend != Backend::Pocket {
            let warned = if self.backend == Backend::Openai { &openai_host } else { &host };
            for h in pool.iter().filter(|h| &h.url != warned) {
                warnings.extend(host_warning(&h.url));
                if hosts::key_for(h, &api_key).is_some()
                    && hosts::kind_of(h, self.backend) == crate::config::HostBackend::Openai
                    && is_plain_remote(&h.url)
                {
                    warnings.push(format!(
                        "the API key goes to {} over plain http://, readable on the way; use https://",
                        redact_host(&h.url)
                    ));
                }
            }
        }
        Resolved { config, host, settings, warnings, openai_host, api_key, pool }
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

/// The `http` verifier's wait for a reply: `--stall-timeout`, else `stall_timeout_secs`,
/// else [`crate::verify::http::DEFAULT_TIMEOUT`] (30 s, not the streams' 120 s).
pub fn http_timeout(global: &GlobalArgs, config: &Config) -> Duration {
    global
        .stall_timeout
        .or(config.stall_timeout_secs)
        .map_or(crate::verify::http::DEFAULT_TIMEOUT, Duration::from_secs_f64)
}

impl Resolved {
    /// A client for the resolved host.
    pub fn client(&self) -> Result<OllamaClient, Failure> {
        OllamaClient::new(&self.host, self.settings.clone()).map_err(Failure::from)
    }

    /// A client for the OpenAI-compatible server of `--backend openai`.
    pub fn openai_client(&self) -> Result<crate::model::openai::OpenAiClient, Failure> {
        crate::model::openai::OpenAiClient::new(
            &self.openai_host,
            self.settings.clone(),
            self.api_key.clone(),
        )
        .map_err(Failure::from)
    }
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

/// The run configuration from flags over config defaults. The aggregation is the flag's or
/// the config's (marked chosen), else the verifier's default: `min` for the step-local judge,
/// `last` for the reward-to-go pocket PRM (see [`VerifierKind::default_aggregation`]).
pub fn run_config(args: &RunArgs, resolved: &Resolved) -> RunConfig {
    let d = &resolved.config.run;
    let base = RunConfig::default();
    let verifier = args.verifier.or(d.verifier).unwrap_or(base.verifier);
    let named = args.aggregation.or(d.aggregation);
    RunConfig {
        strategy: args.strategy,
        n: args.n.or(d.n).unwrap_or(base.n).max(1),
        temperature: args.temperature.or(d.temperature).unwrap_or(base.temperature),
        seed: args.seed,
        max_tokens: args.max_tokens.or(d.max_tokens).unwrap_or(base.max_tokens).max(1),
        top_p: args.extra.top_p,
        top_k: args.extra.top_k,
        num_ctx: args.extra.num_ctx,
        verifier,
        aggregation: named.unwrap_or(verifier.default_aggregation()),
        aggregation_chosen: named.is_some(),
        selection: args.selection.or(d.selection).unwrap_or(
            if args.strategy == crate::spec::StrategyKind::Consistency {
                // Adaptive-consistency is a majority vote unless a rule is named.
                crate::spec::SelectionRule::Majority
            } else {
                base.selection
            },
        ),
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
        confidence_window: args.confidence_window.or(d.confidence_window).unwrap_or(base.confidence_window),
        confidence_cutoff: args.confidence_cutoff.or(d.confidence_cutoff),
        confidence: args.confidence.or(d.confidence).unwrap_or(base.confidence),
        batch: args.batch.or(d.batch).unwrap_or(base.batch).max(1),
        particles: crate::spec::ParticleSettings {
            temp: args.particle_temp.or(d.particle_temp).unwrap_or(base.particles.temp),
            resample: args.resample.or(d.resample).unwrap_or(base.particles.resample),
            ess_threshold: args.ess_threshold.or(d.ess_threshold).unwrap_or(base.particles.ess_threshold),
        },
    }
}

/// Read a file a flag names; the message names the file and what it was for.
pub fn read_file(path: &PathBuf, what: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::new(format!("cannot read {what} {}: {e}", path.display())))
}

/// The oracle verifier grades against the gold answer: refuse a problem without one.
pub fn check_gold(config: &RunConfig, problem: &Problem) -> Result<(), Failure> {
    if config.verifier == VerifierKind::Oracle && problem.gold.is_none() {
        return Err(Failure::new(
            "the oracle verifier needs a gold answer and this problem has none: pass --gold with --problem, or pick a dataset problem",
        ));
    }
    Ok(())
}

/// Flags, config and environment, resolved once: where every run starts.
#[derive(Clone)]
pub struct Launch {
    /// Options every command accepts.
    pub global: GlobalArgs,
    /// The run flags.
    pub args: RunArgs,
    /// The config, host and server settings they resolve to, with warnings.
    pub resolved: Resolved,
}

/// Files the run flags name, read: the adaptive policy table and the solve prompt.
pub struct RunFiles {
    /// `--policy`, when given.
    pub policy: Option<PolicyTable>,
    /// `--prompt`, or the bundled solve prompt.
    pub prompt: SolvePrompt,
}

/// What a caller asks of one run, on top of the launch settings.
pub struct RunRequest {
    /// The problem to solve.
    pub problem: Problem,
    /// The run configuration (from [`Launch::run_config`], perhaps changed by the caller).
    pub config: RunConfig,
    /// The policy model; `None` takes `--model`, then `model` in the config, then the first
    /// model the server lists. Ignored on the embedded model.
    pub model: Option<String>,
}

/// Everything a run needs, checked against the backend: ready for [`crate::run::start`].
pub struct Prepared {
    /// The problem, checked against the verifier (the oracle needs a gold answer).
    pub problem: Problem,
    /// The run configuration, with the policy table of `--policy` when given.
    pub config: RunConfig,
    /// The policy model.
    pub generator: Arc<dyn Generator>,
    /// The verifier `config.verifier` names.
    pub verifier: Arc<dyn Verifier>,
    /// The solve prompt (`--prompt`, or the bundled one).
    pub prompt: SolvePrompt,
}

/// `--pace`, when given, paces the embedded model's streams (the view sets its own default).
fn apply_pace(args: &RunArgs) {
    if let Some(p) = args.pace {
        crate::pocket::generator::set_pace(p);
    }
}

impl Launch {
    /// Resolve the settings without printing: the view shows [`Launch::warnings`] itself.
    pub fn new(global: &GlobalArgs, args: &RunArgs) -> Self {
        apply_pace(args);
        Self { global: global.clone(), args: args.clone(), resolved: global.resolve_quietly() }
    }

    /// [`Launch::new`] printing the warnings on stderr: for headless commands.
    pub fn headless(global: &GlobalArgs, args: &RunArgs) -> Self {
        apply_pace(args);
        Self { global: global.clone(), args: args.clone(), resolved: global.resolve() }
    }

    /// What a person should know about the settings (a broken config, an exposed host).
    pub fn warnings(&self) -> &[String] {
        &self.resolved.warnings
    }

    /// The config file's settings (defaults where it has none).
    pub fn config(&self) -> &Config {
        &self.resolved.config
    }

    /// A client for the resolved host.
    pub fn client(&self) -> Result<OllamaClient, Failure> {
        self.resolved.client()
    }

    /// The backend asked for: `--backend`, except that `auto` with a pool whose every host is
    /// an OpenAI-compatible server (`backend = "openai"` in `[[hosts]]`) means `openai`.
    pub fn backend(&self) -> Backend {
        let b = self.global.backend;
        let pool = &self.resolved.pool;
        if b == Backend::Auto
            && !pool.is_empty()
            && pool.iter().all(|h| hosts::kind_of(h, b) == crate::config::HostBackend::Openai)
        {
            return Backend::Openai;
        }
        b
    }

    /// Where models run on `backend` (resolved from `auto` already): [`Site::new`], or on
    /// [`Backend::Openai`] the OpenAI-compatible server of the settings. An exposed host was
    /// warned about when the settings were resolved.
    pub fn site(&self, backend: Backend, client: OllamaClient) -> Result<Site, Failure> {
        if backend != Backend::Pocket && !self.resolved.pool.is_empty() {
            return hosts::pool_site(&self.resolved, backend, client);
        }
        Ok(match backend {
            Backend::Openai => Site::openai(self.resolved.openai_client()?, client),
            _ => Site::new(backend, client),
        })
    }

    /// The run configuration from flags over config defaults, before the backend is known:
    /// the verifier is the flag's or the config's, else arith (see [`Launch::verifier`]).
    pub fn run_config(&self) -> RunConfig {
        run_config(&self.args, &self.resolved)
    }

    /// The verifier of a run on `backend`: `--verifier`, else `[run] verifier`, else the
    /// backend's default: the embedded PRM on the embedded model, arith on a server.
    pub fn verifier(&self, backend: Backend) -> VerifierKind {
        match self.args.verifier.or(self.resolved.config.run.verifier) {
            Some(v) => v,
            None if backend == Backend::Pocket => VerifierKind::Prm,
            None => RunConfig::default().verifier,
        }
    }

    /// Where this run's trace goes: `--trace FILE`, nowhere with `--no-trace` or
    /// `trace = false`, else a new file in the data directory's `traces/`.
    pub fn trace_target(&self) -> crate::trace::Target {
        use crate::trace::Target;
        match &self.args.trace {
            Some(file) => Target::File(file.clone()),
            None if self.args.no_trace || self.resolved.config.trace == Some(false) => Target::Off,
            None => crate::trace::default_dir().map_or(Target::Off, Target::Dir),
        }
    }

    /// The policy model the flags or the config name.
    pub fn model(&self) -> Option<String> {
        self.args.model.clone().or(self.resolved.config.model.clone())
    }

    /// The judge verifier's model the flags or the config name (else the policy model).
    pub fn judge_model(&self) -> Option<String> {
        self.args.verifier_model.clone().or(self.resolved.config.verifier_model.clone())
    }

    /// The `http` verifier's endpoint: `--verifier-url`, else `TTC_VERIFIER_URL`, else
    /// `verifier_url` in the config. It may hold credentials: show it only through
    /// [`crate::safe::redact`].
    pub fn verifier_url(&self) -> Option<String> {
        let env = std::env::var(VERIFIER_URL_ENV).ok().filter(|u| !u.trim().is_empty());
        self.args
            .verifier_url
            .clone()
            .or(env)
            .or(self.resolved.config.verifier_url.clone())
            .filter(|u| !u.trim().is_empty())
    }

    /// What the run's verifier is built from besides its kind (a failed `http` call leaves
    /// its steps unscored: the run goes on).
    pub fn verifier_settings(&self) -> VerifierSettings {
        VerifierSettings {
            judge_model: self.judge_model(),
            judge_template: self.args.extra.judge_template.clone(),
            url: self.verifier_url(),
            http_timeout: Some(http_timeout(&self.global, &self.resolved.config)),
            http_unscored_on_failure: true,
            confidence_window: self.args.confidence_window.or(self.resolved.config.run.confidence_window),
        }
    }

    /// `--verifier http` (by flag or config) without a usable URL: say so before any request.
    fn check_verifier_url(&self) -> Result<(), Failure> {
        if self.args.verifier.or(self.resolved.config.run.verifier) != Some(VerifierKind::Http) {
            return Ok(());
        }
        let Some(url) = self.verifier_url() else {
            return Err(Failure::new(
                "--verifier http needs --verifier-url URL (or TTC_VERIFIER_URL, or verifier_url in the config file)",
            ));
        };
        crate::verify::HttpVerifier::new(&url, crate::verify::http::DEFAULT_TIMEOUT)
            .map(|_| ())
            .map_err(|e| Failure::new(e.to_string()))
    }

    /// Whether the flags name a problem (`--problem`, `--pick` or `--dataset`).
    pub fn names_a_problem(&self) -> bool {
        self.args.problem.is_some() || self.args.pick.is_some() || self.args.dataset.is_some()
    }

    /// The problem the flags name, if they name one.
    pub fn problem(&self) -> Result<Option<Problem>, Failure> {
        if self.names_a_problem() {
            resolve_problem(&self.args).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Read the files the flags name (`--policy`, `--prompt`).
    pub fn files(&self) -> Result<RunFiles, Failure> {
        let policy = match &self.args.policy {
            Some(p) => Some(PolicyTable::parse(&read_file(p, "policy file")?, &p.display().to_string())?),
            None => None,
        };
        let prompt = match &self.args.extra.prompt {
            Some(p) => SolvePrompt::parse(&read_file(p, "prompt file")?, &p.display().to_string())?,
            None => SolvePrompt::bundled(),
        };
        Ok(RunFiles { policy, prompt })
    }

    /// Make one run ready on `site`: apply the files, check the problem against the
    /// verifier, build the generator and the verifier. `say` prints notes on stderr (headless
    /// only: the view owns the terminal).
    pub async fn prepare(
        &self,
        site: &Site,
        files: RunFiles,
        request: RunRequest,
        say: bool,
    ) -> Result<Prepared, Failure> {
        let RunRequest { problem, mut config, model } = request;
        if let Some(policy) = files.policy {
            config.policy = Some(policy);
        }
        check_gold(&config, &problem)?;
        let model = match model.or_else(|| self.model()) {
            _ if site.is_pocket() => String::new(),
            Some(m) => m,
            None => {
                let m = site.default_model().await?;
                if say && site.backend == Backend::Openai {
                    eprintln!(
                        "ttc: using model {} (the first the server lists)",
                        for_display(&m, SHOWN_CHARS)
                    );
                }
                m
            }
        };
        let generator = site.generator(&model).await?;
        // On an OpenAI-compatible server, or a pool of hosts, a judge model of its own is built
        // here: over the whole pool like the policy (hosts that lack it are left out, said).
        let judge = match self.judge_model() {
            Some(m) if m != model && config.verifier == VerifierKind::Judge => {
                if site.others.is_empty() {
                    site.judge_generator(&m)
                } else {
                    Some(site.generator(&m).await?)
                }
            }
            _ => None,
        };
        let verifier = build_verifier(
            config.verifier,
            site.server(),
            Some(judge.unwrap_or_else(|| generator.clone())),
            &VerifierSettings {
                confidence_window: Some(config.confidence_window),
                ..self.verifier_settings()
            },
            say,
        )
        .await?;
        Ok(Prepared { problem, config, generator, verifier, prompt: files.prompt })
    }

    /// The whole path for a command without a view: read the files, resolve and check the
    /// problem before any request, choose the backend (saying why on stderr when `auto`
    /// falls back), and [`Launch::prepare`]. With no problem named, the embedded model
    /// solves a generated one.
    pub async fn prepare_headless(&self) -> Result<Prepared, Failure> {
        let files = self.files()?;
        let mut config = self.run_config();
        // Problem flags are checked before any request is made.
        let problem = self.problem()?;
        if let Some(p) = &problem {
            check_gold(&config, p)?;
        }
        self.check_verifier_url()?;
        let client = self.client()?;
        let backend = choose_backend(self.backend(), &client, true).await?;
        let problem = match problem {
            Some(p) => p,
            None if backend == Backend::Pocket => {
                let p = crate::pocket::default_problem(self.args.seed);
                eprintln!(
                    "ttc: no problem given; using generated problem {}: {}",
                    for_display(&p.id, SHOWN_CHARS),
                    for_display(&p.text, SHOWN_CHARS)
                );
                p
            }
            None => {
                return Err(resolve_problem(&self.args)
                    .err()
                    .unwrap_or_else(|| Failure::new("no problem given")))
            }
        };
        // The verifier is known now; an aggregation nobody named follows it.
        config.set_verifier(self.verifier(backend));
        let site = self.site(backend, client)?;
        self.prepare(&site, files, RunRequest { problem, config, model: None }, true).await
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

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

    /// A launch from command-line flags, with a config file holding `config`.
    pub(crate) fn launch_with_config(tag: &str, config: &str, flags: &[&str]) -> Launch {
        use clap::Parser;
        let dir = std::env::temp_dir().join(format!("ttc-launch-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.toml");
        std::fs::write(&path, config).unwrap();
        let mut argv = vec!["ttc", "--config", path.to_str().unwrap()];
        argv.extend_from_slice(flags);
        let f = RunFlags::parse_from(argv);
        Launch::new(&f.global, &f.run)
    }

    #[test]
    fn the_pocket_verifier_default_yields_to_the_flag_and_the_config() {
        let plain = launch_with_config("plain", "", &["--backend", "pocket"]);
        assert_eq!(plain.verifier(Backend::Pocket), VerifierKind::Prm);
        assert_eq!(plain.verifier(Backend::Ollama), VerifierKind::Arith);
        let configured = launch_with_config("conf", "[run]\nverifier = \"none\"\n", &["--backend", "pocket"]);
        assert!(configured.warnings().is_empty(), "{:?}", configured.warnings());
        assert_eq!(configured.verifier(Backend::Pocket), VerifierKind::None);
        assert_eq!(configured.verifier(Backend::Ollama), VerifierKind::None);
        let flagged = launch_with_config(
            "flag",
            "[run]\nverifier = \"none\"\n",
            &["--backend", "pocket", "--verifier", "arith"],
        );
        assert_eq!(flagged.verifier(Backend::Pocket), VerifierKind::Arith);
    }

    #[tokio::test]
    async fn a_headless_pocket_run_uses_the_configured_verifier() {
        let launch = launch_with_config(
            "headless",
            "[run]\nverifier = \"arith\"\n",
            &["--backend", "pocket", "--problem", "What is 1 + 2?", "-n", "1"],
        );
        let p = launch.prepare_headless().await.unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(p.config.verifier, VerifierKind::Arith);
        assert_eq!(p.verifier.name(), "arith");
        assert_eq!(p.generator.info().backend, "pocket");
    }

    #[test]
    fn the_http_verifier_url_comes_from_the_flag_over_the_config() {
        // (`TTC_VERIFIER_URL`, between the two, is tested end to end: the environment is shared.)
        let conf = "verifier_url = \"http://127.0.0.1:9/conf\"\n[run]\nverifier = \"http\"\n";
        let configured = launch_with_config("url-conf", conf, &[]);
        assert!(configured.warnings().is_empty(), "{:?}", configured.warnings());
        if std::env::var_os(VERIFIER_URL_ENV).is_none() {
            assert_eq!(configured.verifier_url().as_deref(), Some("http://127.0.0.1:9/conf"));
        }
        let flagged = launch_with_config("url-flag", conf, &["--verifier-url", "http://127.0.0.1:9/flag"]);
        assert_eq!(flagged.verifier_url().as_deref(), Some("http://127.0.0.1:9/flag"));
        let settings = flagged.verifier_settings();
        assert!(settings.http_unscored_on_failure, "a run goes on without the scores");
        assert_eq!(flagged.verifier(Backend::Pocket), VerifierKind::Http);
        let run = flagged.run_config();
        assert_eq!((run.verifier, run.aggregation), (VerifierKind::Http, crate::verify::Aggregation::Last));
        assert_eq!(run.aggregation_source(), "default for a PRM behind an HTTP endpoint");
        let bad = launch_with_config("url-bad", "", &["--verifier", "http", "--verifier-url", "ftp://h/x"]);
        assert!(bad.check_verifier_url().unwrap_err().message.contains("http:// or https://"));
    }

    #[test]
    fn the_oracle_refuses_a_problem_without_gold() {
        let config = RunConfig { verifier: VerifierKind::Oracle, ..RunConfig::default() };
        let e = check_gold(&config, &Problem::inline("1 + 1?", None)).unwrap_err();
        assert!(e.message.contains("needs a gold answer"), "{}", e.message);
        assert!(check_gold(&config, &Problem::inline("1 + 1?", Some("2".into()))).is_ok());
    }

    #[test]
    fn the_default_aggregation_matches_what_the_verifier_measures() {
        assert_eq!(VerifierKind::Judge.default_aggregation(), crate::verify::Aggregation::Min);
        assert_eq!(VerifierKind::Prm.default_aggregation(), crate::verify::Aggregation::Last);
        let judge = launch_with_config("agg-judge", "", &["--verifier", "judge"]).run_config();
        assert_eq!((judge.aggregation, judge.aggregation_chosen), (crate::verify::Aggregation::Min, false));
        assert_eq!(judge.aggregation_source(), "default for a step-local judge");
        let named = launch_with_config("agg-named", "", &["--verifier", "judge", "--aggregation", "last"])
            .run_config();
        assert_eq!((named.aggregation, named.aggregation_chosen), (crate::verify::Aggregation::Last, true));
        let configured =
            launch_with_config("agg-conf", "[run]\naggregation = \"mean\"\n", &["--verifier", "judge"])
                .run_config();
        assert_eq!(
            (configured.aggregation, configured.aggregation_source().as_str()),
            (crate::verify::Aggregation::Mean, "chosen")
        );
        // The pocket PRM, decided once the backend is known, brings `last` with it.
        let mut pocket = launch_with_config("agg-pocket", "", &["--backend", "pocket"]).run_config();
        pocket.set_verifier(VerifierKind::Prm);
        assert_eq!(pocket.aggregation, crate::verify::Aggregation::Last);
        assert_eq!(pocket.aggregation_source(), "default for a reward-to-go PRM");
    }

    #[tokio::test]
    async fn a_headless_pocket_run_says_which_aggregation_is_in_force() {
        let launch = launch_with_config(
            "agg-headless",
            "",
            &["--backend", "pocket", "--problem", "What is 1 + 2?", "-n", "1"],
        );
        let p = launch.prepare_headless().await.unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(p.config.verifier, VerifierKind::Prm);
        assert_eq!(
            (p.config.aggregation, p.config.aggregation_chosen),
            (crate::verify::Aggregation::Last, false)
        );
        // The run's config is what `--json` and the header read.
        let info = serde_json::to_value(&p.config).unwrap();
        assert_eq!(info["aggregation"], "last");
        assert_eq!(info["aggregation_chosen"], false);
    }
}

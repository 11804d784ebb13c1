//! The effect runner: all backend work of the view, off the UI loop. It finds the server
//! and its models, starts runs through the shared launch path ([`crate::launch`]), and sends
//! what it learns back to the loop as [`Msg`]s.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::app::Effect;
use crate::event::Event;
use crate::launch::{probe_backend, Backend, Launch, RunRequest, Site};
use crate::model::ollama::OllamaClient;
use crate::run::Continuation;
use crate::strategy::Command;

/// The model name the view shows for the embedded model.
pub(super) const POCKET_MODEL: &str = "pocket";

/// Messages from background work to the UI loop.
#[allow(clippy::large_enum_variant)] // nearly every message is a run event
pub(super) enum Msg {
    Run(usize, Event),
    Setup(Setup),
    Models(Result<Vec<String>, String>),
    /// Something to show on the status line (a trace that cannot be written).
    Note(String),
    /// The recorded traces, for the trace browser (or why there are none).
    Traces(Result<crate::tui::trace_list::Browser, String>),
    /// A trace chosen in the browser, read.
    Trace(Box<Result<crate::trace::Trace, String>>),
    /// A run scored again with another verifier.
    Rescored(usize, crate::strategy::VerifierKind, Box<Result<crate::tui::app::RescoreView, String>>),
    /// The backend the first run of a replay session set up.
    LateSetup(Setup),
}

/// Handles to the runs of this session, by index.
pub(super) struct RunControl {
    /// Where live changes go: the run's strategy, or its latest batch of extra candidates.
    commands: Arc<Mutex<mpsc::UnboundedSender<Command>>>,
    pub(super) cancel: CancellationToken,
    /// What the run was started with, once prepared: extra candidates reuse it.
    prepared: Arc<Mutex<Option<Prepared>>>,
    /// Candidates before the latest batch: the batch's own N counts from here.
    offset: Arc<Mutex<usize>>,
    /// The run's trace, once it started; extra candidates record into it too.
    pub(super) trace: Arc<Mutex<Option<crate::trace::Recorder>>>,
}

impl RunControl {
    /// The place of a run nothing drives (a replay): commands and cancels go nowhere.
    fn inert() -> Self {
        Self {
            commands: Arc::new(Mutex::new(mpsc::unbounded_channel().0)),
            cancel: CancellationToken::new(),
            prepared: Arc::default(),
            offset: Arc::default(),
            trace: Arc::default(),
        }
    }
}

/// The data directory's traces, for the browser; none is said as an error.
fn list_traces() -> Result<crate::tui::trace_list::Browser, String> {
    let Some(dir) = crate::trace::default_dir() else {
        return Err("no data directory on this system: traces are not recorded".into());
    };
    let shown = crate::safe::for_display(&dir.display().to_string(), 200);
    let browser =
        crate::tui::trace_list::Browser::open(&dir).map_err(|e| format!("cannot list {shown}: {e}"))?;
    if browser.rows.is_empty() {
        return Err(format!("no traces yet in {shown}: every run records one"));
    }
    Ok(browser)
}

/// Score `tree`'s recorded steps again with `kind`, with no generation: the verifier built
/// as runs build it ([`crate::launch::build_verifier`]; the judge asks `model` on the
/// server unless the settings name its own model).
async fn rescore(
    launch: &Launch,
    client: &OllamaClient,
    kind: crate::strategy::VerifierKind,
    tree: &crate::tree::RunTree,
    model: String,
) -> Result<crate::tui::app::RescoreView, String> {
    use crate::strategy::VerifierKind;
    let Some(info) = tree.info.as_ref() else { return Err("the run never said its problem".into()) };
    let mut settings = launch.verifier_settings();
    settings.judge_model = settings.judge_model.or(Some(model));
    let server = (kind == VerifierKind::Judge).then_some(client);
    let verifier =
        crate::launch::build_verifier(kind, server, None, &settings, false).await.map_err(|e| e.message)?;
    let name = verifier.name();
    let concurrency = launch.resolved.settings.concurrency;
    let verdicts = crate::trace::rescore::score_nodes(tree, &info.problem, verifier, concurrency).await?;
    Ok(crate::tui::app::rescore::rescored(tree, kind, name, &verdicts))
}

/// A run's inputs, kept to start more candidates in it.
pub(super) struct Prepared {
    pub problem: crate::problem::Problem,
    pub config: crate::strategy::RunConfig,
    pub generator: Arc<dyn crate::model::Generator>,
    pub verifier: Arc<dyn crate::verify::Verifier>,
    pub prompt: crate::run::SolvePrompt,
}

/// What the background setup found: where models run, and what the server offers.
#[derive(Debug, Clone, PartialEq)]
pub enum Setup {
    /// The embedded model; `reason` says why when it replaced a server (`--backend auto`).
    Pocket { reason: Option<String> },
    /// The server answered with its models (or an error text when it could not list them).
    Ollama { models: Result<Vec<String>, String>, remembered: Option<String> },
    /// No usable server: what went wrong.
    Failed(String),
}

/// The file that remembers the last model used.
fn last_model_path() -> Option<std::path::PathBuf> {
    crate::config::data_dir().map(|d| d.join("last_model"))
}

fn remember_model(model: &str) {
    if let Some(p) = last_model_path() {
        if let Some(dir) = p.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Err(e) = std::fs::write(&p, model) {
            tracing::warn!("cannot remember the model in {}: {e}", p.display());
        }
    }
}

/// Find the server and its models, off the UI loop: a server that accepts connections and
/// never answers must not freeze the view. With `--backend auto` and no server, the embedded
/// model takes over, so the view always works.
pub(super) async fn setup(backend: Backend, client: OllamaClient) -> Setup {
    let (chosen, why) = match probe_backend(backend, &client).await {
        Ok(b) => b,
        // `auto` promises a working view: a server that answers but not usably (an HTTP
        // error, not Ollama, a timeout) is replaced too, and the status line says why.
        Err(e) if backend == Backend::Auto => {
            return Setup::Pocket {
                reason: Some(format!(
                    "using the embedded pocket model: Ollama failed ({})",
                    crate::safe::clip(&e.message, 160)
                )),
            }
        }
        Err(e) => return Setup::Failed(e.message),
    };
    if chosen == Backend::Pocket {
        return Setup::Pocket { reason: why };
    }
    match client.list_models().await {
        Ok(models) => Setup::Ollama {
            models: Ok(models.into_iter().map(|m| m.name).collect()),
            remembered: last_model_path().and_then(|p| std::fs::read_to_string(p).ok()),
        },
        Err(e) => Setup::Failed(e.to_string()),
    }
}

/// [`setup`] for the settings of `launch`: on `--backend openai` the OpenAI-compatible
/// server (or the pool's first host) lists its models (`/v1/models`).
pub(super) async fn setup_site(launch: Arc<Launch>, client: OllamaClient) -> Setup {
    let setup = setup_first_host(launch.clone(), client).await;
    pool_union(&launch, setup).await
}

/// On a pool, the picker lists the models of every host (a run goes to the hosts that
/// serve its model), not only the first host's.
async fn pool_union(launch: &Launch, setup: Setup) -> Setup {
    match setup {
        Setup::Ollama { models: Ok(first), remembered } if !launch.resolved.pool.is_empty() => {
            let models = match crate::launch::pool_models::list(&launch.resolved, launch.backend()).await {
                Ok(listing) => listing.models.into_iter().map(|m| m.name).collect(),
                Err(_) => first,
            };
            Setup::Ollama { models: Ok(models), remembered }
        }
        other => other,
    }
}

/// The setup of the first host (the one server, or the pool's first host).
async fn setup_first_host(launch: Arc<Launch>, client: OllamaClient) -> Setup {
    let backend = launch.backend();
    if backend != Backend::Openai {
        return setup(backend, client).await;
    }
    let listed = match launch.site(backend, client) {
        Ok(site) => site.list_models().await,
        Err(e) => Err(e),
    };
    match listed {
        Ok(models) => Setup::Ollama {
            models: Ok(models),
            remembered: last_model_path().and_then(|p| std::fs::read_to_string(p).ok()),
        },
        Err(e) => Setup::Failed(e.message),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The event that ends a run that could not go on.
fn stopped(why: &str) -> Event {
    Event::RunFinished { selected: None, correct: None, budget: Default::default(), error: Some(why.into()) }
}

impl Prepared {
    pub(super) fn again(&self) -> Self {
        Self {
            problem: self.problem.clone(),
            config: self.config.clone(),
            generator: self.generator.clone(),
            verifier: self.verifier.clone(),
            prompt: self.prompt.clone(),
        }
    }
}

/// A batch of extra best-of-N candidates for a finished run.
pub(super) struct Batch {
    pub run: usize,
    pub extra: usize,
    pub first_node: crate::event::NodeId,
    /// What the run spent before: the batch adds to it.
    pub budget: crate::budget::BudgetTracker,
}

/// Sample `batch.extra` more candidates of a finished best-of-N run, numbered on from its
/// last; their events go to the same run. Returns where live changes for the batch go.
pub(super) fn more_candidates(
    p: Prepared,
    batch: Batch,
    cancel: CancellationToken,
    tx: mpsc::UnboundedSender<Msg>,
    trace: Option<crate::trace::Recorder>,
) -> mpsc::UnboundedSender<Command> {
    let mut config = p.config;
    config.n = batch.extra;
    let from = Continuation { first_node: batch.first_node, budget: batch.budget, cancel };
    let mut handle =
        crate::run::continue_best_of_n(p.problem, config, p.generator, p.verifier, p.prompt, from);
    let run = batch.run;
    tokio::spawn(async move {
        while let Some(e) = handle.events.recv().await {
            if let Some(t) = &trace {
                t.record(&e);
            }
            if tx.send(Msg::Run(run, e)).is_err() {
                break;
            }
        }
    });
    handle.commands
}

/// What effects need: the launch settings, the server, and the way back to the UI.
pub(super) struct Ctx {
    pub(super) launch: Arc<Launch>,
    pub(super) client: OllamaClient,
    pub(super) tx: mpsc::UnboundedSender<Msg>,
    /// Runs use the embedded model.
    pub(super) pocket: bool,
    /// A session that began with no backend (`ttc replay FILE`): the first run sets one up,
    /// once, for every run that waits on it.
    pub(super) late: Option<Arc<tokio::sync::OnceCell<Setup>>>,
}

impl Ctx {
    /// Where runs go now: the embedded model once the setup chose it, else the server.
    fn site(&self) -> Result<Site, crate::launch::Failure> {
        let backend = match self.launch.backend() {
            _ if self.pocket => Backend::Pocket,
            Backend::Openai => Backend::Openai,
            _ => Backend::Ollama,
        };
        self.launch.site(backend, self.client.clone())
    }

    /// Carry out one effect of the app.
    pub(super) fn effect(&self, fx: Effect, runs: &mut Vec<RunControl>) {
        match fx {
            Effect::StartRun { problem, config, model } => {
                remember_model(&model);
                let (cmd_tx, mut cmd_rx) = mpsc::unbounded_channel();
                let cancel = CancellationToken::new();
                let index = runs.len();
                let prepared_slot = Arc::new(Mutex::new(None));
                let trace_slot = Arc::new(Mutex::new(None));
                runs.push(RunControl {
                    commands: Arc::new(Mutex::new(cmd_tx)),
                    cancel: cancel.clone(),
                    prepared: prepared_slot.clone(),
                    offset: Arc::default(),
                    trace: trace_slot.clone(),
                });
                let launch = self.launch.clone();
                let mut site = self.site();
                let tx = self.tx.clone();
                let late = self.late.clone().map(|cell| (cell, self.client.clone()));
                tokio::spawn(async move {
                    let fail = |e: String| {
                        let _ = tx.send(Msg::Run(
                            index,
                            Event::RunFinished {
                                selected: None,
                                correct: None,
                                budget: Default::default(),
                                error: Some(e),
                            },
                        ));
                    };
                    if let Some((cell, client)) = late {
                        let setup =
                            cell.get_or_init(|| setup_site(launch.clone(), client.clone())).await.clone();
                        let _ = tx.send(Msg::LateSetup(setup.clone()));
                        site = match setup {
                            Setup::Pocket { .. } => Ok(Site::new(Backend::Pocket, client)),
                            Setup::Ollama { models: Ok(_), .. } => {
                                let server = match launch.backend() {
                                    Backend::Openai => Backend::Openai,
                                    _ => Backend::Ollama,
                                };
                                launch.site(server, client)
                            }
                            Setup::Ollama { models: Err(e), .. } | Setup::Failed(e) => {
                                let e = format!("cannot start a live run: no backend ({e})");
                                let _ = tx.send(Msg::Note(e.clone()));
                                return fail(e);
                            }
                        };
                    }
                    // The same path as `ttc run`: files, the gold check, generator, verifier.
                    let request = RunRequest { problem, config, model: Some(model) };
                    let prepared = match (launch.files(), site) {
                        (Ok(files), Ok(site)) => launch.prepare(&site, files, request, false).await,
                        (Err(e), _) | (_, Err(e)) => Err(e),
                    };
                    let p = match prepared {
                        Ok(p) => p,
                        Err(e) => return fail(e.message),
                    };
                    *lock(&prepared_slot) = Some(Prepared {
                        problem: p.problem.clone(),
                        config: p.config.clone(),
                        generator: p.generator.clone(),
                        verifier: p.verifier.clone(),
                        prompt: p.prompt.clone(),
                    });
                    let note = tx.clone();
                    let warn: crate::trace::Warn = Arc::new(move |m| {
                        let _ = note.send(Msg::Note(m));
                    });
                    let trace = crate::trace::Recorder::start(
                        &launch.trace_target().for_run(index),
                        p.config.strategy,
                        warn,
                    );
                    *lock(&trace_slot) = trace.clone();
                    let mut h = crate::run::start(p.problem, p.config, p.generator, p.verifier, p.prompt);
                    let mut cancelled = false;
                    loop {
                        tokio::select! {
                            _ = cancel.cancelled(), if !cancelled => {
                                cancelled = true;
                                h.cancel.cancel();
                            }
                            Some(c) = cmd_rx.recv() => { let _ = h.commands.send(c); }
                            e = h.events.recv() => match e {
                                Some(e) => {
                                    if let Some(t) = &trace {
                                        t.record(&e);
                                    }
                                    if tx.send(Msg::Run(index, e)).is_err() { h.cancel.cancel(); }
                                }
                                None => break,
                            },
                        }
                    }
                });
            }
            Effect::Fork { problem, mut config, model, prefix } => {
                // A fork is a new run that continues the node's path.
                config.prefix = prefix;
                self.effect(Effect::StartRun { problem, config, model }, runs);
            }
            Effect::Command { run, command } => {
                if let Some(r) = runs.get(run) {
                    // A batch of extra candidates counts N from its first candidate.
                    let command = match command {
                        Command::SetN(n) => Command::SetN(n.saturating_sub(*lock(&r.offset)).max(1)),
                        c => c,
                    };
                    let _ = lock(&r.commands).send(command);
                }
            }
            Effect::MoreCandidates { run, extra, first_node, budget, finished_tokens } => {
                let Some(r) = runs.get_mut(run) else { return };
                // A run cancelled before may still sample more: the new batch gets a fresh switch.
                if r.cancel.is_cancelled() {
                    r.cancel = CancellationToken::new();
                }
                let Some(p) = lock(&r.prepared).as_ref().map(Prepared::again) else {
                    let _ = self.tx.send(Msg::Run(run, stopped("the run was never prepared")));
                    return;
                };
                let budget = crate::tree::tracker_for(&budget, &finished_tokens);
                let batch = Batch { run, extra, first_node, budget };
                let trace = lock(&r.trace).clone();
                *lock(&r.commands) =
                    more_candidates(p, batch, r.cancel.child_token(), self.tx.clone(), trace);
                *lock(&r.offset) = first_node as usize;
            }
            Effect::Cancel { run } => {
                if let Some(r) = runs.get(run) {
                    r.cancel.cancel();
                }
            }
            Effect::LoadModels if self.pocket => {
                let _ = self.tx.send(Msg::Models(Ok(vec![POCKET_MODEL.to_string()])));
            }
            Effect::LoadModels => {
                let site = self.site();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let r = match site {
                        Ok(site) => site.list_models().await.map_err(|e| e.message),
                        Err(e) => Err(e.message),
                    };
                    let _ = tx.send(Msg::Models(r));
                });
            }
            Effect::RememberModel(m) => remember_model(&m),
            Effect::Watch => runs.push(RunControl::inert()),
            Effect::ListTraces => {
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || {
                    let _ = tx.send(Msg::Traces(list_traces()));
                });
            }
            Effect::OpenTrace(path) => {
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || {
                    let _ = tx.send(Msg::Trace(Box::new(crate::trace::read(&path))));
                });
            }
            Effect::Rescore { run, kind, tree, model } => {
                let (launch, client, tx) = (self.launch.clone(), self.client.clone(), self.tx.clone());
                tokio::spawn(async move {
                    let result = rescore(&launch, &client, kind, &tree, model).await;
                    let _ = tx.send(Msg::Rescored(run, kind, Box::new(result)));
                });
            }
            Effect::SetPace(p) => crate::pocket::generator::set_pace(p),
            Effect::Quit => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{apply_setup, build_app};
    use super::*;
    use crate::launch::tests::launch_with_config;
    use crate::strategy::VerifierKind;

    #[test]
    fn the_view_on_the_embedded_model_uses_the_verifier_ttc_run_would() {
        for (tag, config, flags, want) in [
            ("view-conf", "[run]\nverifier = \"arith\"\n", &[][..], VerifierKind::Arith),
            ("view-flag", "[run]\nverifier = \"arith\"\n", &["--verifier", "none"][..], VerifierKind::None),
            ("view-none", "", &[][..], VerifierKind::Prm),
        ] {
            let mut argv = vec!["--backend", "pocket"];
            argv.extend_from_slice(flags);
            let launch = launch_with_config(tag, config, &argv);
            let (mut app, _client, _warnings) = build_app(&launch, Some("dark"));
            let (pocket, fx) = apply_setup(&mut app, Setup::Pocket { reason: None }, &launch, false);
            assert!(pocket);
            assert_eq!(app.knobs.config.verifier, launch.verifier(Backend::Pocket), "{tag}");
            assert_eq!(app.knobs.config.verifier, want, "{tag}");
            assert!(
                matches!(fx.as_slice(), [Effect::StartRun { config, .. }] if config.verifier == want),
                "{tag}: {fx:?}"
            );
        }
    }
}

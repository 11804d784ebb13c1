//! The interactive view: watch candidates stream side by side, see every
//! step's score, and steer the run live.
//!
//! One direction: terminal input and run events become state changes in
//! [`app::App`]; the view draws from state at most once per frame.

pub mod action;
pub mod app;
#[cfg(any(test, feature = "test-doubles"))]
pub mod fixture;
mod highlight;
pub mod keymap;
mod latex;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod view;
mod view_header;
mod view_popups;
pub mod view_revise;
pub mod view_tree;

#[cfg(test)]
mod tests;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream, KeyCode, KeyEventKind, KeyModifiers};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::cli::{build_verifier, resolve_problem, run_config, Backend, Failure, GlobalArgs, RunArgs};
use crate::event::Event;
use crate::model::ollama::OllamaClient;
use crate::model::Generator;
use crate::problem::{bundled, bundled_sets, load_jsonl};
use crate::run::SolvePrompt;
use crate::safe::redact;
use crate::strategy::Command;

use app::{App, Effect, Mode, TextKey};
use keymap::Keymap;

/// The model name the view shows for the embedded model.
const POCKET_MODEL: &str = "pocket";

/// At most one frame per this long.
pub const FRAME: Duration = Duration::from_millis(16);

/// The longest the loop spends folding queued run events before it looks at keys again.
const DRAIN: Duration = Duration::from_millis(4);

/// Messages from background work to the UI loop.
#[allow(clippy::large_enum_variant)] // nearly every message is a run event
enum Msg {
    Run(usize, Event),
    Setup(Setup),
    Models(Result<Vec<String>, String>),
}

/// Handles to the runs of this session, by index.
struct RunControl {
    commands: mpsc::UnboundedSender<Command>,
    cancel: CancellationToken,
}

/// The file that remembers the last model used.
fn last_model_path() -> Option<std::path::PathBuf> {
    crate::config::data_dir().map(|d| d.join("last_model"))
}

/// Send logs to `ttc.log` in the data directory: the terminal belongs to the view.
fn init_file_logs() -> Option<std::path::PathBuf> {
    let dir = crate::config::data_dir()?;
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join("ttc.log");
    let file = std::fs::OpenOptions::new().create(true).append(true).open(&path).ok()?;
    let filter = std::env::var("TTC_LOG").unwrap_or_else(|_| "info".into());
    let filter = tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
    Some(path)
}

/// Build the app from flags and config (no terminal, no network).
pub fn build_app(
    global: &GlobalArgs,
    args: &RunArgs,
    theme_name: Option<&str>,
) -> (App, OllamaClient, Vec<String>) {
    let resolved = global.resolve_quietly();
    let mut warnings = resolved.warnings.clone();
    let name =
        theme_name.map(str::to_string).or(resolved.config.theme.clone()).unwrap_or_else(|| "dark".into());
    let (theme, w) = theme::load(&name, crate::config::themes_dir().as_deref());
    warnings.extend(w);
    let overrides = resolved.config.keys.iter().map(|(k, v)| (k.clone(), v.to_vec())).collect();
    let (keymap, problems) = Keymap::with_overrides(&overrides);
    warnings.extend(problems.into_iter().map(|p| format!("config: {p}")));
    let client = match resolved.client() {
        Ok(c) => c,
        Err(e) => {
            warnings.push(e.message);
            OllamaClient::new(crate::model::ollama::DEFAULT_HOST, resolved.settings.clone())
                .unwrap_or_else(|_| unreachable!("the default host is valid"))
        }
    };
    let backend = format!("ollama {}", redact(client.host()));
    let mut app = App::new(theme, keymap, backend, run_config(args, &resolved));
    for set in bundled_sets() {
        if let Ok(ps) = bundled(set.name) {
            app.problems.push((set.name.to_string(), ps));
        }
    }
    if let Some(path) = &args.dataset {
        match load_jsonl(path, false) {
            Ok(report) => app.problems.insert(0, (path.display().to_string(), report.problems)),
            Err(e) => warnings.push(e.to_string()),
        }
    }
    if args.problem.is_some() || args.pick.is_some() || args.dataset.is_some() {
        match resolve_problem(args) {
            Ok(p) => app.problem = Some(p),
            Err(e) => warnings.push(e.message),
        }
    }
    app.model = args.model.clone().or(resolved.config.model.clone());
    (app, client, warnings)
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

/// Find the server and its models, off the UI loop: a server that accepts connections and
/// never answers must not freeze the view. With `--backend auto` and no server, the embedded
/// model takes over, so the view always works.
async fn setup(backend: Backend, client: OllamaClient) -> Setup {
    let (chosen, why) = match crate::cli::probe_backend(backend, &client).await {
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

/// Fold the setup's result into the app; returns whether the embedded model runs, and the
/// effects to carry out (the run the flags asked for).
pub fn apply_setup(app: &mut App, setup: Setup, args: &RunArgs, explicit_start: bool) -> (bool, Vec<Effect>) {
    let mut explicit_start = explicit_start;
    let mut note = None;
    let pocket = matches!(setup, Setup::Pocket { .. });
    match setup {
        Setup::Pocket { reason } => {
            note = reason;
            app.backend = "pocket (embedded, no server)".into();
            app.models = vec![POCKET_MODEL.to_string()];
            app.model = Some(POCKET_MODEL.to_string());
            app.problems.insert(0, ("pocket".into(), crate::pocket::problems(50, 1)));
            if args.verifier.is_none() {
                app.knobs.config.verifier = crate::strategy::VerifierKind::Prm;
            }
            if app.problem.is_none() {
                // A demo that needs nothing: start on a generated problem at once.
                app.problem = Some(crate::pocket::problem(3, args.seed));
                explicit_start = true;
            }
        }
        Setup::Ollama { models: Ok(models), remembered } => {
            app.models = models;
            if app.model.is_none() {
                app.model = remembered
                    .map(|m| m.trim().to_string())
                    .filter(|m| app.models.contains(m))
                    .or_else(|| app.models.first().cloned());
            }
            if app.model.is_none() {
                note = Some(format!("no models on {}: `ollama pull qwen2.5:1.5b`", backend_host(app)));
            }
        }
        Setup::Ollama { models: Err(message), .. } | Setup::Failed(message) => {
            app.mode = Mode::NoServer { message };
        }
    }
    let mut fx = Vec::new();
    if !matches!(app.mode, Mode::NoServer { .. }) {
        if explicit_start && app.runs.is_empty() {
            fx = app.start_now();
        } else if app.mode == Mode::Normal && app.runs.is_empty() {
            app.mode = Mode::ProblemPicker { query: String::new(), selected: 0 };
        }
    }
    // Starting a run clears the status line: say why the backend changed after it.
    if note.is_some() {
        app.message = note;
    }
    app.dirty = true;
    (pocket, fx)
}

/// The host part of the header's backend label.
fn backend_host(app: &App) -> &str {
    app.backend.strip_prefix("ollama ").unwrap_or(&app.backend)
}

/// The status line at startup: every warning, joined (the first is also in the log).
fn startup_message(warnings: &[String]) -> Option<String> {
    (!warnings.is_empty()).then(|| warnings.join(" · "))
}

/// Run the interactive view until the user quits.
pub async fn run(global: GlobalArgs, args: RunArgs, theme_name: Option<String>) -> Result<ExitCode, Failure> {
    let log = init_file_logs();
    // Compile highlighting patterns off the UI thread before they are first needed.
    std::thread::spawn(|| text::Highlighter::new().warm_up());
    let (mut app, client, warnings) = build_app(&global, &args, theme_name.as_deref());
    for w in &warnings {
        tracing::warn!("{w}");
    }
    let explicit_start = app.problem.is_some();
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let mut runs: Vec<RunControl> = Vec::new();
    let mut ctx = Ctx { client: client.clone(), args: args.clone(), tx: tx.clone(), pocket: false };

    // The first frame comes at once; the server is asked in the background.
    app.message = Some(match global.backend {
        Backend::Pocket => "starting the embedded model…".to_string(),
        _ => format!("connecting to {}…", redact(client.host())),
    });
    if let Some(w) = startup_message(&warnings) {
        app.message = Some(format!("{w} · {}", app.message.take().unwrap_or_default()));
    }
    let backend = global.backend;
    let setup_tx = tx.clone();
    tokio::spawn(async move {
        let _ = setup_tx.send(Msg::Setup(setup(backend, client).await));
    });

    let mut term = terminal::TerminalGuard::enter().map_err(|e| {
        Failure::new(format!("cannot take over the terminal: {e} (is this an interactive terminal?)"))
    })?;
    let mut cache = view::ViewCache::new();
    let mut input = EventStream::new();
    let mut last_draw = Instant::now() - FRAME;
    let mut key_pressed = false;
    loop {
        let deadline = app.dirty.then(|| tokio::time::Instant::from_std(last_draw + FRAME));
        tokio::select! {
            biased;
            ev = input.next() => match ev {
                Some(Ok(TermEvent::Key(k))) if k.kind != KeyEventKind::Release => {
                    key_pressed = true;
                    let fx = if app.wants_text() {
                        text_key(&k).map(|tk| app.on_text_key(tk)).unwrap_or_default()
                    } else {
                        match app.keymap.action(&k) {
                            Some(a) => app.update(a),
                            None => vec![],
                        }
                    };
                    for e in fx {
                        if e == Effect::Quit {
                            app.quit = true;
                        }
                        ctx.effect(e, &mut runs);
                    }
                }
                Some(Ok(TermEvent::Resize(_, _))) => app.dirty = true,
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::error!("terminal input failed: {e}");
                    break;
                }
                None => break,
            },
            msg = rx.recv() => {
                if let Some(m) = msg {
                    on_msg(&mut app, m, &mut ctx, &mut runs, &warnings, explicit_start);
                    // Coalesce: drain what is queued, for at most a few milliseconds so
                    // keys and frames keep their turn under a full stream load.
                    let until = Instant::now() + DRAIN;
                    while Instant::now() < until {
                        match rx.try_recv() {
                            Ok(m) => on_msg(&mut app, m, &mut ctx, &mut runs, &warnings, explicit_start),
                            Err(_) => break,
                        }
                    }
                }
            }
            _ = sleep_until(deadline), if deadline.is_some() => {
                last_draw = draw_frame(&mut term, &mut app, &mut cache)?;
            }
        }
        if app.quit {
            break;
        }
        // A busy event stream keeps the branches above ready all the time, so the
        // frame deadline is also checked here: one frame per FRAME, however busy.
        // A key press is answered at once: keys are rare and people notice lag.
        if app.dirty && (key_pressed || last_draw.elapsed() >= FRAME) {
            key_pressed = false;
            last_draw = draw_frame(&mut term, &mut app, &mut cache)?;
        }
    }
    for r in &runs {
        r.cancel.cancel();
    }
    drop(term);
    if let Some(p) = log {
        tracing::info!("session ended; log at {}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Draw one frame and note what the layout needs; returns when it was drawn.
fn draw_frame(
    term: &mut terminal::TerminalGuard,
    app: &mut App,
    cache: &mut view::ViewCache,
) -> Result<Instant, Failure> {
    let mut drawn = view::Drawn::default();
    term.draw(|f| drawn = view::draw(f, app, cache))
        .map_err(|e| Failure::new(format!("cannot draw: {e}")))?;
    app.per_page = drawn.per_page.max(1);
    app.dirty = false;
    Ok(Instant::now())
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

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn on_msg(
    app: &mut App,
    m: Msg,
    ctx: &mut Ctx,
    runs: &mut Vec<RunControl>,
    warnings: &[String],
    explicit_start: bool,
) {
    match m {
        Msg::Run(run, e) => app.on_event(run, &e),
        Msg::Setup(setup) => {
            app.message = None; // "connecting to …"
            let (pocket, fx) = apply_setup(app, setup, &ctx.args, explicit_start);
            ctx.pocket = pocket;
            // Warnings stay on the status line after the setup, whatever it said.
            if let Some(w) = startup_message(warnings) {
                app.message = Some(match app.message.take() {
                    Some(m) => format!("{w} · {m}"),
                    None => w,
                });
            }
            for e in fx {
                ctx.effect(e, runs);
            }
        }
        Msg::Models(Ok(models)) => {
            app.models = models;
            if matches!(app.mode, Mode::NoServer { .. }) {
                app.mode = Mode::ProblemPicker { query: String::new(), selected: 0 };
                app.message = Some("connected".into());
            }
            if app.model.is_none() {
                app.model = app.models.first().cloned();
            }
            app.dirty = true;
        }
        Msg::Models(Err(e)) => {
            if let Mode::NoServer { message } = &mut app.mode {
                *message = e;
            } else {
                app.message = Some(e);
            }
            app.dirty = true;
        }
    }
}

/// Keys as text fields read them.
fn text_key(k: &crossterm::event::KeyEvent) -> Option<TextKey> {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    Some(match k.code {
        KeyCode::Char('s') if ctrl => TextKey::Submit,
        KeyCode::Enter if ctrl || k.modifiers.contains(KeyModifiers::ALT) => TextKey::Submit,
        KeyCode::Char('c') if ctrl => TextKey::Esc,
        KeyCode::Char(c) => TextKey::Char(c),
        KeyCode::Enter => TextKey::Enter,
        KeyCode::Backspace => TextKey::Backspace,
        KeyCode::Up => TextKey::Up,
        KeyCode::Down => TextKey::Down,
        KeyCode::Esc => TextKey::Esc,
        KeyCode::Tab => TextKey::Char(' '),
        _ => return None,
    })
}

/// What effects need: the server, the flags, and the way back to the UI.
struct Ctx {
    client: OllamaClient,
    args: RunArgs,
    tx: mpsc::UnboundedSender<Msg>,
    /// Runs use the embedded model.
    pocket: bool,
}

impl Ctx {
    fn effect(&self, fx: Effect, runs: &mut Vec<RunControl>) {
        match fx {
            Effect::StartRun { problem, config, model } => {
                remember_model(&model);
                let (cmd_tx, mut cmd_rx) = mpsc::unbounded_channel();
                let cancel = CancellationToken::new();
                let index = runs.len();
                runs.push(RunControl { commands: cmd_tx, cancel: cancel.clone() });
                let client = self.client.clone();
                let args = self.args.clone();
                let tx = self.tx.clone();
                let pocket = self.pocket;
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
                    let generator: Arc<dyn Generator> = if pocket {
                        match crate::cli::embedded_pocket() {
                            Ok(p) => Arc::new(crate::pocket::PocketGenerator::new(p)),
                            Err(e) => return fail(e.message),
                        }
                    } else {
                        match client.generator(&model).await {
                            Ok(g) => Arc::new(g),
                            Err(e) => return fail(e.to_string()),
                        }
                    };
                    if !pocket {
                        if let Err(e) = client.show(&model).await {
                            return fail(e.to_string());
                        }
                    }
                    let verifier = match build_verifier(
                        config.verifier,
                        (!pocket).then_some(&client),
                        generator.clone(),
                        args.verifier_model.as_deref(),
                        args.judge_template.as_ref(),
                        false,
                    )
                    .await
                    {
                        Ok(v) => v,
                        Err(e) => return fail(e.message),
                    };
                    if config.verifier == crate::strategy::VerifierKind::Oracle && problem.gold.is_none() {
                        return fail("the oracle verifier needs a gold answer; this problem has none".into());
                    }
                    let mut config = config;
                    if let Some(p) = &args.policy {
                        match crate::cli::read_file(p, "policy file").and_then(|t| {
                            crate::strategy::adaptive::PolicyTable::parse(&t, &p.display().to_string())
                                .map_err(Failure::new)
                        }) {
                            Ok(t) => config.policy = Some(t),
                            Err(e) => return fail(e.message),
                        }
                    }
                    let prompt = match &args.prompt {
                        Some(p) => match crate::cli::read_file(p, "prompt file").and_then(|t| {
                            SolvePrompt::parse(&t, &p.display().to_string()).map_err(Failure::new)
                        }) {
                            Ok(p) => p,
                            Err(e) => return fail(e.message),
                        },
                        None => SolvePrompt::bundled(),
                    };
                    let mut h = crate::run::start(problem, config, generator, verifier, prompt);
                    let mut cancelled = false;
                    loop {
                        tokio::select! {
                            _ = cancel.cancelled(), if !cancelled => {
                                cancelled = true;
                                h.cancel.cancel();
                            }
                            Some(c) = cmd_rx.recv() => { let _ = h.commands.send(c); }
                            e = h.events.recv() => match e {
                                Some(e) => { if tx.send(Msg::Run(index, e)).is_err() { h.cancel.cancel(); } }
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
                    let _ = r.commands.send(command);
                }
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
                let client = self.client.clone();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let r = client
                        .list_models()
                        .await
                        .map(|ms| ms.into_iter().map(|m| m.name).collect())
                        .map_err(|e| e.to_string());
                    let _ = tx.send(Msg::Models(r));
                });
            }
            Effect::RememberModel(m) => remember_model(&m),
            Effect::Quit => {}
        }
    }
}

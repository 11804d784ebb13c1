//! The interactive view: watch candidates stream side by side, see every
//! step's score, and steer the run live.
//!
//! One direction: terminal input and run events become state changes in
//! [`app::App`]; the view draws from state at most once per frame.

pub mod action;
pub mod action_section;
pub mod app;
#[cfg(any(test, feature = "test-doubles"))]
pub mod fixture;
pub mod keymap;
pub mod keys_help;
pub mod layout;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod view;

mod effects;
mod replay;
pub mod trace_browser;
pub mod trace_list;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_consistency;
#[cfg(test)]
mod tests_help;
#[cfg(test)]
mod tests_live;
#[cfg(test)]
mod tests_particles;
#[cfg(test)]
mod tests_replay;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream, KeyCode, KeyEventKind, KeyModifiers};
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::launch::{Backend, Failure, GlobalArgs, Launch, RunArgs};
use crate::model::ollama::OllamaClient;
use crate::problem::{bundled, bundled_sets, load_jsonl};
use crate::safe::redact;

use app::{App, Effect, Mode, TextKey};
use effects::{Ctx, Msg, RunControl, POCKET_MODEL};
use keymap::Keymap;

pub use effects::Setup;
pub use replay::replay;

/// At most one frame per this long.
pub const FRAME: Duration = Duration::from_millis(16);

/// How often a running run's clock is redrawn when nothing else happens.
const TICK: Duration = Duration::from_millis(250);

/// How often a playing replay's status line (its clock and scrub bar) is redrawn.
const REPLAY_FRAME: Duration = Duration::from_millis(64);

/// The longest the loop spends folding queued run events before it looks at keys again.
const DRAIN: Duration = Duration::from_millis(4);

/// Build the app from flags and config (no terminal, no network).
pub fn build_app(launch: &Launch, theme_name: Option<&str>) -> (App, OllamaClient, Vec<String>) {
    let (resolved, args) = (&launch.resolved, &launch.args);
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
    let backend = server_label(launch, &client);
    let mut app = App::new(theme, keymap, backend, launch.run_config());
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
    match launch.problem() {
        Ok(p) => app.problem = p,
        Err(e) => warnings.push(e.message),
    }
    app.model = launch.model();
    (app, client, warnings)
}

/// Fold the setup's result into the app; returns whether the embedded model runs, and the
/// effects to carry out (the run the flags asked for).
pub fn apply_setup(
    app: &mut App,
    setup: Setup,
    launch: &Launch,
    explicit_start: bool,
) -> (bool, Vec<Effect>) {
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
            // The verifier `ttc run` would use on the embedded model: the flag, the config, else the PRM.
            app.knobs.config.set_verifier(launch.verifier(Backend::Pocket));
            if app.problem.is_none() {
                // A demo that needs nothing: start on a generated problem at once.
                app.problem = Some(crate::pocket::default_problem(launch.args.seed));
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
                note = Some(no_models_hint(app, launch));
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

/// The backend a run started from a replay set up (see [`Start::Replay`]): the header and
/// the model list follow it, and later runs go straight to it.
fn apply_late_setup(app: &mut App, ctx: &mut Ctx, setup: Setup) {
    app.dirty = true;
    match setup {
        Setup::Pocket { reason } => {
            ctx.pocket = true;
            ctx.late = None;
            app.backend = "pocket (embedded, no server)".into();
            app.models = vec![POCKET_MODEL.to_string()];
            if let Some(why) = reason {
                app.message = Some(why);
            }
        }
        Setup::Ollama { models: Ok(models), .. } => {
            ctx.pocket = false;
            ctx.late = None;
            app.backend = server_label(&ctx.launch, &ctx.client);
            app.models = models;
        }
        // The run that asked says why it could not start; the replays stay.
        Setup::Ollama { models: Err(_), .. } | Setup::Failed(_) => {}
    }
}

/// The header's label of the server runs go to (before any setup chose the embedded model).
fn server_label(launch: &Launch, client: &OllamaClient) -> String {
    let resolved = &launch.resolved;
    match (launch.global.backend, resolved.pool.len()) {
        (_, n) if n > 1 => format!("pool of {n} hosts"),
        (Backend::Openai, _) => format!("openai {}", redact(&resolved.openai_host)),
        _ => format!("ollama {}", redact(client.host())),
    }
}

/// The host part of the header's backend label.
/// The status line when the server lists no models: how to get one on that kind of server.
fn no_models_hint(app: &App, launch: &Launch) -> String {
    if launch.backend() == Backend::Openai {
        format!(
            "no models: {} lists none; serve one there, e.g. `vllm serve Qwen/Qwen2.5-1.5B-Instruct`",
            app.backend
        )
    } else {
        format!("no models on {}: `ollama pull qwen2.5:1.5b`", backend_host(app))
    }
}

fn backend_host(app: &App) -> &str {
    app.backend.strip_prefix("ollama ").unwrap_or(&app.backend)
}

/// The status line at startup: every warning, joined (the first is also in the log).
fn startup_message(warnings: &[String]) -> Option<String> {
    (!warnings.is_empty()).then(|| warnings.join(" · "))
}

/// Run the interactive view until the user quits. Logs go to `log` (see
/// [`crate::launch::logs`]): nothing here writes to the terminal but the view.
pub async fn run(
    global: GlobalArgs,
    args: RunArgs,
    theme_name: Option<String>,
    log: Option<PathBuf>,
) -> Result<ExitCode, Failure> {
    // Compile highlighting patterns off the UI thread before they are first needed.
    std::thread::spawn(|| text::Highlighter::new().warm_up());
    let launch = Arc::new(Launch::new(&global, &args));
    let (mut app, client, warnings) = build_app(&launch, theme_name.as_deref());
    for w in &warnings {
        tracing::warn!("{w}");
    }
    let explicit_start = app.problem.is_some();
    // The embedded model is paced in the view unless `--pace` says otherwise.
    app.paced = args.pace.filter(|p| *p > 0).unwrap_or(crate::launch::VIEW_PACE);
    app.pace = args.pace.unwrap_or(crate::launch::VIEW_PACE);
    crate::pocket::generator::set_pace(app.pace);
    // The first frame comes at once; the server is asked in the background.
    app.message = Some(match global.backend {
        Backend::Pocket => "starting the embedded model…".to_string(),
        _ => format!("connecting to {}…", backend_host(&app)),
    });
    if let Some(w) = startup_message(&warnings) {
        app.message = Some(format!("{w} · {}", app.message.take().unwrap_or_default()));
    }
    let code = view_session(app, launch, client, warnings, Start::Live { explicit_start }).await?;
    if let Some(p) = log {
        tracing::info!("session ended; log at {}", p.display());
    }
    Ok(code)
}

/// How a view session begins.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Start {
    /// The live view: the backend is set up at once; `explicit_start` when the flags named
    /// a problem (its run starts as soon as the backend is known).
    Live { explicit_start: bool },
    /// `ttc replay FILE`: the app holds the replay; a backend is set up only when a run
    /// is first started (a fork).
    Replay,
}

/// The view's loop over `app`, until the user quits: keys, run events, replays' clocks
/// and frames. Both the live view and `ttc replay FILE` run it.
pub(crate) async fn view_session(
    mut app: App,
    launch: Arc<Launch>,
    client: OllamaClient,
    warnings: Vec<String>,
    start: Start,
) -> Result<ExitCode, Failure> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let mut runs: Vec<RunControl> = Vec::new();
    let late = (start == Start::Replay).then(|| Arc::new(tokio::sync::OnceCell::new()));
    let mut ctx = Ctx { launch: launch.clone(), client: client.clone(), tx: tx.clone(), pocket: false, late };
    let explicit_start = start == (Start::Live { explicit_start: true });
    match start {
        Start::Live { .. } => {
            let setup_tx = tx.clone();
            let setup_launch = launch.clone();
            tokio::spawn(async move {
                let _ = setup_tx.send(Msg::Setup(effects::setup_site(setup_launch, client).await));
            });
        }
        // The replays the app opened with keep their places among the runs.
        Start::Replay => {
            for _ in 0..app.runs.len() {
                ctx.effect(Effect::Watch, &mut runs);
            }
        }
    }

    let mut term = terminal::TerminalGuard::enter().map_err(|e| {
        Failure::new(format!("cannot take over the terminal: {e} (is this an interactive terminal?)"))
    })?;
    let mut cache = view::ViewCache::new();
    let mut input = EventStream::new();
    let mut last_draw = Instant::now() - FRAME;
    let mut last_tick = Instant::now();
    let mut key_pressed = false;
    loop {
        // Replays move on by the wall time since the last turn.
        let now = Instant::now();
        let playing = app.tick_replays(now - last_tick);
        last_tick = now;
        // A running run redraws at least every TICK, so its clock and rate move while the
        // server is silent (a slow first token, a queue at the server); a playing replay
        // moves its status line more often.
        let ticking = app.runs.iter().any(|r| !r.tree.finished && r.replay.is_none());
        let deadline = if app.dirty {
            Some(tokio::time::Instant::from_std(last_draw + FRAME))
        } else if playing {
            Some(tokio::time::Instant::from_std(last_draw + REPLAY_FRAME))
        } else {
            ticking.then(|| tokio::time::Instant::from_std(last_draw + TICK))
        };
        tokio::select! {
            biased;
            ev = input.next() => match ev {
                Some(Ok(TermEvent::Key(k))) if k.kind != KeyEventKind::Release => {
                    key_pressed = true;
                    // Ctrl-C quits from the trace browser too.
                    let ctrl_c = k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
                    let fx = if matches!(app.mode, Mode::TraceBrowser { .. }) && !ctrl_c {
                        app.on_browser_key(k.code)
                    } else if app.wants_text() {
                        text_key(&k).map(|tk| app.on_text_key(tk)).unwrap_or_default()
                    } else if let Some(fx) = app.help_key(&k) {
                        fx
                    } else if let Some(fx) = app.replay_key(&k) {
                        fx
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
    // What the traces still hold reaches their files before the process ends.
    for r in &runs {
        if let Some(t) = r.trace.lock().unwrap_or_else(|p| p.into_inner()).take() {
            t.finish();
        }
    }
    drop(term);
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
    if let Some((max, page)) = drawn.help {
        app.help_fit(max, page);
    }
    app.dirty = false;
    Ok(Instant::now())
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
            let (pocket, fx) = apply_setup(app, setup, &ctx.launch, explicit_start);
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
        Msg::Note(note) => {
            app.message = Some(note);
            app.dirty = true;
        }
        Msg::Traces(listed) => app.on_traces(listed),
        Msg::Trace(read) => {
            for e in app.on_trace(*read) {
                ctx.effect(e, runs);
            }
        }
        Msg::Rescored(run, kind, result) => app.on_rescored(run, kind, *result),
        Msg::LateSetup(setup) => apply_late_setup(app, ctx, setup),
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

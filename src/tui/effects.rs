//! The effect runner: all backend work of the view, off the UI loop. It finds the server
//! and its models, starts runs through the shared launch path ([`crate::launch`]), and sends
//! what it learns back to the loop as [`Msg`]s.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::app::Effect;
use crate::event::Event;
use crate::launch::{probe_backend, Backend, Launch, RunRequest, Site};
use crate::model::ollama::OllamaClient;
use crate::strategy::Command;

/// The model name the view shows for the embedded model.
pub(super) const POCKET_MODEL: &str = "pocket";

/// Messages from background work to the UI loop.
#[allow(clippy::large_enum_variant)] // nearly every message is a run event
pub(super) enum Msg {
    Run(usize, Event),
    Setup(Setup),
    Models(Result<Vec<String>, String>),
}

/// Handles to the runs of this session, by index.
pub(super) struct RunControl {
    commands: mpsc::UnboundedSender<Command>,
    pub(super) cancel: CancellationToken,
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

/// What effects need: the launch settings, the server, and the way back to the UI.
pub(super) struct Ctx {
    pub(super) launch: Arc<Launch>,
    pub(super) client: OllamaClient,
    pub(super) tx: mpsc::UnboundedSender<Msg>,
    /// Runs use the embedded model.
    pub(super) pocket: bool,
}

impl Ctx {
    /// Where runs go now: the embedded model once the setup chose it, else the server.
    fn site(&self) -> Site {
        Site::new(if self.pocket { Backend::Pocket } else { Backend::Ollama }, self.client.clone())
    }

    /// Carry out one effect of the app.
    pub(super) fn effect(&self, fx: Effect, runs: &mut Vec<RunControl>) {
        match fx {
            Effect::StartRun { problem, config, model } => {
                remember_model(&model);
                let (cmd_tx, mut cmd_rx) = mpsc::unbounded_channel();
                let cancel = CancellationToken::new();
                let index = runs.len();
                runs.push(RunControl { commands: cmd_tx, cancel: cancel.clone() });
                let launch = self.launch.clone();
                let site = self.site();
                let tx = self.tx.clone();
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
                    // The same path as `ttc run`: files, the gold check, generator, verifier.
                    let request = RunRequest { problem, config, model: Some(model) };
                    let prepared = match launch.files() {
                        Ok(files) => launch.prepare(&site, files, request, false).await,
                        Err(e) => Err(e),
                    };
                    let p = match prepared {
                        Ok(p) => p,
                        Err(e) => return fail(e.message),
                    };
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

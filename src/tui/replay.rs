//! `ttc replay FILE` in the view: the view opens on the recorded run as a replay (see
//! [`super::app::replay`] for its keys) and runs the live view's own loop, so everything
//! the view offers works here too. No backend is set up at the start: the first fork of a
//! live run from a replayed node sets it up the normal way (`auto` falls back to the
//! embedded model when no Ollama answers).

use std::process::ExitCode;

use super::build_app;
use crate::launch::{Failure, GlobalArgs, Launch, RunFlags};
use crate::trace::Trace;

/// Open the view on `trace` and play it until the user quits.
pub async fn replay(global: &GlobalArgs, trace: Trace, theme: Option<String>) -> Result<ExitCode, Failure> {
    let flags =
        <RunFlags as clap::Parser>::try_parse_from(["ttc"]).map_err(|e| Failure::new(e.to_string()))?;
    let launch = std::sync::Arc::new(Launch::new(global, &flags.run));
    let (mut app, client, warnings) = build_app(&launch, theme.as_deref());
    let info = &trace.header.run;
    // Until a fork sets one up, nothing generates.
    app.backend = "replay · no backend yet".into();
    app.knobs.config = info.config.clone();
    app.problem = Some(info.problem.clone());
    app.model = Some(info.generator.model.clone());
    app.open_replay(&trace, false);
    app.paced = crate::launch::VIEW_PACE;
    app.pace = crate::launch::VIEW_PACE;
    crate::pocket::generator::set_pace(app.pace);
    for w in &warnings {
        tracing::warn!("{w}");
    }
    super::view_session(app, launch, client, warnings, super::Start::Replay).await
}

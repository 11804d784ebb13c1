//! `ttc replay` with no FILE: the data directory's traces, newest first, one `ttc traces`
//! line each; ↑/↓ (j/k) move, Enter replays the chosen one in the view and comes back here
//! when that replay quits, `q`/Esc quit.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use crossterm::event::{self, Event as TermEvent, KeyEventKind};

use super::terminal::TerminalGuard;
pub use super::trace_list::{render, Browser, Flow, FOOTER};
use crate::launch::{Failure, GlobalArgs};

/// Browse the data directory's traces; an empty one is said and left without taking the
/// terminal.
pub async fn browse(global: &GlobalArgs) -> Result<ExitCode, Failure> {
    let Some(dir) = crate::trace::default_dir() else {
        return Err(Failure::new("no data directory on this system: traces are not recorded"));
    };
    let shown_dir = crate::safe::sanitize(&dir.display().to_string()).into_owned();
    let mut browser =
        Browser::open(&dir).map_err(|e| Failure::new(format!("cannot list {shown_dir}: {e}")))?;
    if browser.rows.is_empty() {
        println!("no traces yet in {shown_dir}: every `ttc run` and view run records one");
        return Ok(ExitCode::SUCCESS);
    }
    if !std::io::stdout().is_terminal() {
        return Err(Failure::new("the trace browser needs a terminal; `ttc traces` lists them as text"));
    }
    loop {
        let chosen = {
            let mut guard = TerminalGuard::enter()
                .map_err(|e| Failure::new(format!("cannot take over the terminal: {e}")))?;
            pick(&mut guard, &mut browser).map_err(|e| Failure::new(format!("terminal: {e}")))?
        };
        let Some(path) = chosen else { return Ok(ExitCode::SUCCESS) };
        match crate::trace::read(&path) {
            Ok(trace) => {
                browser.note = None;
                super::replay(global, trace, None).await?;
            }
            Err(e) => browser.note = Some(format!("cannot replay it: {e}")),
        }
    }
}

/// Show the browser until a trace is chosen (`Some`) or the user quits (`None`).
fn pick(guard: &mut TerminalGuard, browser: &mut Browser) -> std::io::Result<Option<PathBuf>> {
    loop {
        guard.draw(|f| render(f, browser))?;
        if let TermEvent::Key(k) = event::read()? {
            if k.kind == KeyEventKind::Release {
                continue;
            }
            match browser.on_key(k.code) {
                Flow::Stay => {}
                Flow::Open(path) => return Ok(Some(path)),
                Flow::Quit => return Ok(None),
            }
        }
    }
}

#[cfg(test)]
#[path = "trace_browser_tests.rs"]
mod tests;

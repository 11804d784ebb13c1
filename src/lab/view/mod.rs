//! `ttc verifier view DIR`: the items of a `ttc verifier eval` directory with their steps, the
//! human label of the first wrong step, the verifier's score per step, a threshold τ that
//! moves the predicted first wrong step and the metrics live, and filters (disagreements,
//! erroneous or all-correct items).
//!
//! [`data`] reads the directory (and the ProcessBench file `run.json` names, for the steps'
//! text), [`state`] holds what is shown and how keys change it, [`render`] draws the state
//! (pure, so tests draw into a `TestBackend`) with [`detail`] and [`help`]; this file checks
//! the directory and runs the loop. The metrics are [`crate::lab::metrics`]'s own.

pub mod data;
pub mod detail;
pub mod help;
pub mod render;
pub mod state;
#[cfg(test)]
mod tests;

use std::io::IsTerminal;
use std::path::Path;

use crossterm::event::{self, Event};

use crate::lab::dir::ITEMS_FILE;
use crate::tui::terminal::TerminalGuard;
use data::Data;
use state::{Flow, State};

/// Read DIR, or say what is wrong with it and what to do.
pub fn open(dir: &Path) -> Result<State, String> {
    let shown = crate::safe::for_display(&dir.display().to_string(), 200);
    let items = crate::resume::output_file(dir, ITEMS_FILE, "a verifier-eval", "ttc verifier eval")?;
    let data = Data::load(dir)?;
    if data.records.is_empty() {
        let file = crate::safe::for_display(&items.display().to_string(), 200);
        return Err(format!(
            "{file} holds no scored item yet; run `ttc verifier eval --out {shown} …` first"
        ));
    }
    Ok(State::new(dir, data))
}

/// Show DIR until the user quits.
pub fn view(dir: &Path) -> Result<(), String> {
    let mut state = open(dir)?;
    if !std::io::stdout().is_terminal() {
        return Err(
            "ttc verifier view needs a terminal; DIR/metrics.json and sweep.csv hold the numbers as text"
                .into(),
        );
    }
    let mut guard = TerminalGuard::enter().map_err(|e| format!("cannot set up the terminal: {e}"))?;
    let result = run(&mut guard, &mut state);
    drop(guard);
    result
}

fn run(guard: &mut TerminalGuard, state: &mut State) -> Result<(), String> {
    let io = |e: std::io::Error| format!("terminal: {e}");
    let mut dirty = true;
    loop {
        if dirty {
            let size = guard.terminal.size().map_err(io)?;
            state.page = usize::from(size.height.saturating_sub(render::CHROME_ROWS)).max(1);
            guard.draw(|f| render::render(f, state)).map_err(io)?;
            dirty = false;
        }
        match event::read().map_err(io)? {
            Event::Key(k) => {
                if state.on_key(k) == Flow::Quit {
                    return Ok(());
                }
                dirty = true;
            }
            Event::Resize(..) => dirty = true,
            _ => {}
        }
    }
}

//! `ttc bench view DIR`: accuracy against budget in the terminal, one panel for all problems
//! and one per difficulty bin, compute-optimal against best-of-N, a cursor that reads values,
//! and a live reload while a bench writes into DIR.
//!
//! [`data`] computes (with [`crate::bench::analysis`]), [`state`] holds what is shown and how
//! keys change it, [`render`] draws the state (pure, so tests draw into a `TestBackend`) with
//! [`chart`], [`readout`] and [`help`]; this file checks the directory and runs the loop.

pub mod chart;
pub mod data;
pub mod help;
pub mod readout;
pub mod render;
pub mod state;
#[cfg(test)]
mod tests;

use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use crossterm::event::{self, Event};

use crate::bench::records::Results;
use crate::tui::terminal::TerminalGuard;
use state::{Flow, State, Watch};

/// How often results.jsonl is looked at.
pub const POLL: Duration = Duration::from_millis(500);

/// Read DIR, or say what is wrong with it and what to do.
pub fn open(dir: &Path) -> Result<State, String> {
    let results = crate::resume::output_file(dir, "results.jsonl", "a bench results", "ttc bench")?;
    let loaded = Results::load(dir)?;
    if loaded.rows.is_empty() {
        let file = crate::safe::for_display(&results.display().to_string(), 200);
        return Err(format!(
            "{file} has no finished results yet; wait until the bench finishes its first run, then try again"
        ));
    }
    Ok(State::new(dir, loaded))
}

/// Show DIR until the user quits.
pub fn view(dir: &Path) -> Result<(), String> {
    let mut state = open(dir)?;
    if !std::io::stdout().is_terminal() {
        return Err(
            "ttc bench view needs a terminal; `ttc bench report DIR` writes the same numbers as text".into(),
        );
    }
    let mut guard = TerminalGuard::enter().map_err(|e| format!("cannot set up the terminal: {e}"))?;
    let result = run(&mut guard, &mut state);
    drop(guard);
    result
}

fn run(guard: &mut TerminalGuard, state: &mut State) -> Result<(), String> {
    let mut watch = Watch::new(&state.dir.join("results.jsonl"));
    let mut last_poll = Instant::now();
    let mut dirty = true;
    let io = |e: std::io::Error| format!("terminal: {e}");
    loop {
        if dirty {
            guard.draw(|f| render::render(f, state)).map_err(io)?;
            dirty = false;
        }
        let wait = POLL.saturating_sub(last_poll.elapsed());
        if event::poll(wait).map_err(io)? {
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
        if last_poll.elapsed() >= POLL {
            last_poll = Instant::now();
            if watch.changed() {
                state.reload();
                dirty = true;
            }
        }
    }
}

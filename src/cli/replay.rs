//! `ttc replay FILE`: a recorded run's final state, with no model. The trace's events are
//! folded into a run tree exactly as `ttc run` folds the live ones, and printed by the
//! same code: `--json` prints what `ttc run --json` printed.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::run::{json_summary, write_result};
use super::{Failure, MESSAGE_CHARS};
use crate::safe::for_display;

/// Flags of `ttc replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The trace file (see `ttc traces` for the recorded ones).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Print one JSON object, as `ttc run --json` printed it.
    #[arg(long)]
    pub json: bool,
}

/// Read the trace, say what was skipped, and print the run's final state.
pub fn replay(args: &ReplayArgs) -> Result<ExitCode, Failure> {
    let trace = crate::trace::read(&args.file).map_err(Failure::new)?;
    for note in &trace.notes {
        eprintln!("ttc: {}", for_display(note, MESSAGE_CHARS));
    }
    let tree = trace.tree();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &json_summary(&tree))?;
        writeln!(out)?;
    } else {
        write_result(&mut out, &tree)?;
        if !tree.finished {
            writeln!(out, "(the trace ends before the run finished)")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

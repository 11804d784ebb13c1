//! `ttc replay FILE`: a recorded run with no model (with no FILE, a browser of the
//! recorded ones: [`crate::tui::trace_browser`]). It plays in the view at its recorded
//! speed; `--json` and `--text` print its final state instead: the trace's events folded
//! into a run tree exactly as `ttc run` folds the live ones, printed by the same code.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::run::{json_summary, write_result};
use super::{Failure, GlobalArgs, MESSAGE_CHARS};
use crate::safe::for_display;

/// Flags of `ttc replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The trace file (see `ttc traces` for the recorded ones); without it, a browser of
    /// the recorded traces opens.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Print one JSON object, as `ttc run --json` printed it.
    #[arg(long, conflicts_with = "text")]
    pub json: bool,
    /// Print the plain tally and budget, as `ttc run` printed them, instead of opening the view.
    #[arg(long)]
    pub text: bool,
}

/// Read the trace; with `--json` or `--text` say what was skipped and print the run's
/// final state, else play it in the view.
pub async fn replay(global: &GlobalArgs, args: &ReplayArgs) -> Result<ExitCode, Failure> {
    let Some(file) = &args.file else {
        if args.json || args.text {
            return Err(Failure { message: "--json and --text need a FILE".into(), code: 2 });
        }
        return crate::tui::trace_browser::browse(global).await;
    };
    let trace = crate::trace::read(file).map_err(Failure::new)?;
    if !args.json && !args.text {
        return crate::tui::replay(global, trace, None).await;
    }
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

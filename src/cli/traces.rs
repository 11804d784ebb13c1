//! `ttc traces`: the recorded runs, newest first; `ttc traces prune` deletes old ones.

use std::io::Write;
use std::process::ExitCode;

use super::Failure;
use crate::safe::sanitize;
use crate::trace::list::{list, prune};
use crate::trace::row::{row, size};

/// `ttc traces [prune …]`.
#[derive(Debug, clap::Args)]
pub struct TracesArgs {
    #[command(subcommand)]
    pub action: Option<TracesAction>,
}

/// What to do with the traces.
#[derive(Debug, clap::Subcommand)]
pub enum TracesAction {
    /// Delete old traces: those beyond the newest N and/or started more than DAYS ago
    /// (with both, a trace must be both to go).
    Prune {
        /// Keep the newest N traces.
        #[arg(long, value_name = "N")]
        keep: Option<usize>,
        /// Delete traces started more than DAYS days ago.
        #[arg(long, value_name = "DAYS")]
        older_than: Option<f64>,
    },
}

/// List or prune the traces in the data directory.
pub fn traces(args: &TracesArgs) -> Result<ExitCode, Failure> {
    let Some(dir) = crate::trace::default_dir() else {
        return Err(Failure::new("no data directory on this system: traces are not recorded"));
    };
    let shown_dir = sanitize(&dir.display().to_string()).into_owned();
    match &args.action {
        None => {
            let entries = list(&dir).map_err(|e| Failure::new(format!("cannot list {shown_dir}: {e}")))?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            if entries.is_empty() {
                writeln!(out, "no traces yet in {shown_dir}: every `ttc run` and view run records one")?;
            } else {
                for e in &entries {
                    writeln!(out, "{}", row(e))?;
                }
                writeln!(out, "{} traces in {shown_dir}", entries.len())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(TracesAction::Prune { keep, older_than }) => {
            if keep.is_none() && older_than.is_none() {
                return Err(Failure {
                    message: "say what to prune: --keep N and/or --older-than DAYS".into(),
                    code: 2,
                });
            }
            if older_than.is_some_and(|d| !d.is_finite() || d < 0.0) {
                return Err(Failure {
                    message: "--older-than takes a number of days, 0 or more".into(),
                    code: 2,
                });
            }
            let deleted = prune(&dir, *keep, *older_than, crate::trace::now_ms())
                .map_err(|e| Failure::new(format!("cannot prune {shown_dir}: {e}")))?;
            for e in &deleted {
                println!("deleted {}", sanitize(&e.path.display().to_string()));
            }
            println!(
                "deleted {} traces ({}) from {shown_dir}",
                deleted.len(),
                size(deleted.iter().map(|e| e.size).sum())
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

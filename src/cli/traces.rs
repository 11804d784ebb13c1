//! `ttc traces`: the recorded runs, newest first; `ttc traces prune` deletes old ones.

use std::io::Write;
use std::process::ExitCode;

use unicode_width::UnicodeWidthStr;

use super::Failure;
use crate::safe::sanitize;
use crate::trace::list::{list, prune, Entry};

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

/// The widest problem text in the listing, in columns.
const PROBLEM_COLUMNS: usize = 48;
/// The widest answer in the listing, in columns.
const ANSWER_COLUMNS: usize = 16;

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

/// One listing line: date, strategy, model, answer with ✓/✗, size, problem. Every text
/// from a model or a file is one line, sanitised and clipped (`ttc replay`'s browser
/// shows the same lines).
pub fn row(e: &Entry) -> String {
    let (y, mo, d, h, mi, _) = crate::trace::utc(e.started_ms);
    let date = format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}");
    let (strategy, model, problem) = match &e.header {
        Ok(h) => {
            (h.run.config.strategy.to_string(), h.run.generator.model.clone(), h.run.problem.text.clone())
        }
        Err(why) => ("?".into(), "?".into(), format!("(unreadable: {why})")),
    };
    let answer = match &e.outcome {
        None => "(unfinished)".to_string(),
        Some((None, _)) => "(no answer)".to_string(),
        Some((Some(a), correct)) => {
            let mark = match correct {
                Some(true) => " ✓",
                Some(false) => " ✗",
                None => "",
            };
            format!("{}{mark}", one_line(a, ANSWER_COLUMNS))
        }
    };
    format!(
        "{date}  {}  {}  {}  {:>8}  {}",
        pad(&strategy, 10),
        pad(&one_line(&model, 14), 14),
        pad(&answer, ANSWER_COLUMNS + 2),
        size(e.size),
        one_line(&problem, PROBLEM_COLUMNS)
    )
}

/// `s` on one line, control characters made visible, at most `columns` wide (`…` when cut).
fn one_line(s: &str, columns: usize) -> String {
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let clean = sanitize(&crate::safe::redact(&flat)).into_owned();
    if clean.width() <= columns {
        return clean;
    }
    let mut out = String::new();
    for c in clean.chars() {
        if out.width() + unicode_width::UnicodeWidthChar::width(c).unwrap_or(0) + 1 > columns {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// `s` padded with spaces to `columns` display columns.
fn pad(s: &str, columns: usize) -> String {
    format!("{s}{}", " ".repeat(columns.saturating_sub(s.width())))
}

/// A file size for people: `812 B`, `14.2 KB`, `3.1 MB`.
fn size(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_text_is_one_clean_line() {
        let s = one_line("Solve\x1b[2J this\nnow \u{202E}x", 80);
        assert!(!s.contains('\x1b') && !s.contains('\n') && !s.contains('\u{202E}'), "{s:?}");
        let cjk = one_line("一二三四五六七八九十", 9);
        assert!(cjk.width() <= 9 && cjk.ends_with('…'), "{cjk}");
        assert_eq!(size(812), "812 B");
        assert_eq!(size(14_541), "14.2 KB");
        assert_eq!(pad("ab", 4), "ab  ");
    }
}

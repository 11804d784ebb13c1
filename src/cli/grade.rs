//! `ttc grade --jsonl FILE [--extract | --answers]`.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::ExitCode;

use super::Failure;

/// Grade every line of `path` ("-" for stdin), writing one result line per input line.
///
/// `mode` says whether `pred` is a whole response (`--extract`), an answer (`--answers`), or
/// either, detected line by line (the default).
pub fn grade(path: &Path, mode: crate::grade::GradeMode) -> Result<ExitCode, Failure> {
    let input: Box<dyn BufRead> = if path.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        let f = std::fs::File::open(path).map_err(|e| {
            Failure::new(format!("cannot read {}: {e}. Check the path given to --jsonl", path.display()))
        })?;
        Box::new(BufReader::new(f))
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let summary = crate::grade::grade_jsonl_mode(input, &mut out, mode)
        .map_err(|e| Failure::new(format!("while grading {}: {e}", path.display())))?;
    out.flush().map_err(|e| Failure::new(format!("cannot write results: {e}")))?;
    if summary.errors > 0 {
        eprintln!(
            "ttc grade: {} lines, {} equal, {} unreadable (marked with \"error\" on their lines)",
            summary.lines, summary.equal, summary.errors
        );
    }
    Ok(ExitCode::SUCCESS)
}

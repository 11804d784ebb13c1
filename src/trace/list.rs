//! The traces in a folder, newest first, and pruning old ones. Only the header and the
//! file's tail are read, so a long list of large traces lists quickly.

use std::io::{BufRead, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::{decode, Header};
use crate::event::Event;

/// How much of a trace's end is searched for the run's outcome.
const TAIL_BYTES: u64 = 256 * 1024;
/// The longest header line read.
const HEADER_BYTES: u64 = 4 * 1024 * 1024;

/// One trace file as listed.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: PathBuf,
    pub size: u64,
    /// Start time in milliseconds since the epoch: the header's, else the file's mtime.
    pub started_ms: u64,
    /// The header, or why it could not be read.
    pub header: Result<Header, String>,
    /// The run's outcome, when it finished: (selected answer, correct against gold).
    pub outcome: Option<(Option<String>, Option<bool>)>,
}

/// The `*.jsonl` traces in `dir`, newest first; a missing folder has none.
pub fn list(dir: &Path) -> std::io::Result<Vec<Entry>> {
    let read = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut entries = Vec::new();
    for item in read {
        let path = item?.path();
        if path.extension().is_some_and(|e| e == "jsonl") && path.is_file() {
            entries.push(entry(path));
        }
    }
    entries.sort_by(|a, b| b.started_ms.cmp(&a.started_ms).then_with(|| b.path.cmp(&a.path)));
    Ok(entries)
}

fn entry(path: PathBuf) -> Entry {
    let meta = std::fs::metadata(&path).ok();
    let size = meta.as_ref().map_or(0, |m| m.len());
    let mtime = meta
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as u64);
    let header = read_header(&path);
    let started_ms = header.as_ref().map_or(mtime, |h| h.started_ms);
    let outcome = if header.is_ok() { outcome(&path, size) } else { None };
    Entry { path, size, started_ms, header, outcome }
}

fn read_header(path: &Path) -> Result<Header, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut line = Vec::new();
    std::io::BufReader::new(file.take(HEADER_BYTES))
        .read_until(b'\n', &mut line)
        .map_err(|e| e.to_string())?;
    super::reader::parse(path, &line).map(|t| t.header)
}

/// The last `run_finished` in the file's tail.
fn outcome(path: &Path, size: u64) -> Option<(Option<String>, Option<bool>)> {
    let mut file = std::fs::File::open(path).ok()?;
    file.seek(SeekFrom::Start(size.saturating_sub(TAIL_BYTES))).ok()?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).ok()?;
    tail.split(|b| *b == b'\n').rev().find_map(|line| {
        if !line.windows(12).any(|w| w == b"run_finished") {
            return None;
        }
        match decode(std::str::from_utf8(line).ok()?).ok()?.1 {
            Event::RunFinished { selected, correct, .. } => Some((selected, correct)),
            _ => None,
        }
    })
}

/// What pruning removes: traces beyond the newest `keep`, and those started more than
/// `older_than_days` ago; with both, only a trace that is both.
pub fn prune(
    dir: &Path,
    keep: Option<usize>,
    older_than_days: Option<f64>,
    now_ms: u64,
) -> std::io::Result<Vec<Entry>> {
    let cutoff = older_than_days.map(|d| now_ms.saturating_sub((d * 86_400_000.0) as u64));
    let mut deleted = Vec::new();
    for (i, e) in list(dir)?.into_iter().enumerate() {
        let beyond = keep.is_none_or(|k| i >= k);
        let old = cutoff.is_none_or(|c| e.started_ms < c);
        if beyond && old {
            std::fs::remove_file(&e.path)?;
            deleted.push(e);
        }
    }
    Ok(deleted)
}

//! Reading a trace back. A run killed mid-write leaves its last line cut short: that line
//! is skipped and said so. A corrupt line mid-file is skipped with its `file:line`, and the
//! rest is kept. A trace from a newer format is refused with a clear message.

use std::path::{Path, PathBuf};

use super::{decode, Header, FORMAT_VERSION};
use crate::event::Event;
use crate::tree::RunTree;

/// One event line: when it happened and what; `deltas` > 1 when it merges that many text deltas.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub t: u64,
    pub event: Event,
    pub deltas: u32,
}

/// A trace read back.
#[derive(Debug, Clone)]
pub struct Trace {
    pub path: PathBuf,
    pub header: Header,
    pub records: Vec<Record>,
    /// What was skipped, as `file:line: why` lines to show the person.
    pub notes: Vec<String>,
}

impl Trace {
    /// The events as the run emitted them, with their times. A merged line gives its text
    /// as one delta followed by empty ones, so a run tree counts the same deltas.
    pub fn events(&self) -> impl Iterator<Item = (u64, Event)> + '_ {
        self.records.iter().flat_map(|r| {
            let rest = match &r.event {
                Event::TextDelta { node, .. } if r.deltas > 1 => (1..r.deltas)
                    .map(|_| (r.t, Event::TextDelta { node: *node, text: String::new() }))
                    .collect(),
                _ => Vec::new(),
            };
            std::iter::once((r.t, r.event.clone())).chain(rest)
        })
    }

    /// The run's final state: every event folded into a run tree, as the live run was.
    pub fn tree(&self) -> RunTree {
        let mut tree = RunTree::new();
        for (_, e) in self.events() {
            tree.apply(&e);
        }
        tree
    }
}

/// Read the trace at `path`. Errors (an unreadable file, no header, a newer format) are one
/// line naming the file.
pub fn read(path: &Path) -> Result<Trace, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read the trace {shown}: {e}"))?;
    parse(path, &bytes)
}

/// Read a trace from its bytes; `path` names it in messages.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Trace, String> {
    let shown = path.display();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(format!("{shown} is empty: not a ttc trace"));
    }
    let complete = bytes.ends_with(b"\n");
    let mut lines = bytes.split(|b| *b == b'\n').collect::<Vec<_>>();
    if complete {
        lines.pop(); // after the last newline
    }
    let Some(first) = lines.first() else {
        return Err(format!("{shown} is empty: not a ttc trace"));
    };
    let header = header(first).map_err(|e| format!("{shown}:1: {e}"))?;
    let mut records = Vec::new();
    let mut notes = Vec::new();
    let last = lines.len() - 1;
    for (i, raw) in lines.iter().enumerate().skip(1) {
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = std::str::from_utf8(raw).map_err(|e| e.to_string()).and_then(decode);
        match parsed {
            Ok((t, event, deltas)) => records.push(Record { t, event, deltas }),
            Err(_) if i == last && !complete => notes.push(format!(
                "{shown}:{}: the last line is cut short (the run stopped while it was written); skipped it",
                i + 1
            )),
            Err(e) => notes.push(format!("{shown}:{}: not a trace event ({e}); skipped it", i + 1)),
        }
    }
    Ok(Trace { path: path.to_path_buf(), header, records, notes })
}

/// The header line, refusing a newer format before reading its fields.
fn header(line: &[u8]) -> Result<Header, String> {
    let value: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| format!("not a ttc trace (the header is not JSON: {e})"))?;
    let Some(version) = value.get("ttc_trace").and_then(|v| v.as_u64()) else {
        return Err("not a ttc trace (no \"ttc_trace\" version in the header)".into());
    };
    if version > u64::from(FORMAT_VERSION) {
        let by = value.get("ttc_version").and_then(|v| v.as_str()).unwrap_or("a newer ttc");
        return Err(format!(
            "written in trace format {version} by ttc {}; this ttc reads formats up to {FORMAT_VERSION}: upgrade ttc to read it",
            crate::safe::for_display(by, 40)
        ));
    }
    serde_json::from_value(value).map_err(|e| format!("a broken trace header: {e}"))
}

//! Traces: every run recorded as JSON lines, to list, replay and re-score without a model.
//!
//! A trace file holds one header line ([`Header`]: ttc and format versions, start time, and
//! the run's problem, config, generator and verifier, credentials redacted) and then the
//! run's [`Event`]s, one per line, each with `t`, the milliseconds since the run started:
//! `{"t":120,"event":"text_delta","node":3,"text":"12 + 30"}`. Text deltas of one node
//! that arrive close together may share a line, with `"deltas": K` saying how many they were.
//!
//! - [`writer`]: [`Recorder`] writes a trace off the event path, on its own thread.
//! - [`reader`]: [`read`] reads one back, skipping what a kill or a bad disk left behind.
//! - [`list`]: the traces in a folder, newest first, and pruning them.
//! - [`rescore`]: a recorded run under another verifier, as a new trace; [`compare`]: what changed.

pub mod compare;
pub mod list;
pub mod reader;
pub mod rescore;
pub mod row;
pub mod writer;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::event::{Event, RunInfo};
use crate::safe::redact;

pub use reader::{read, Record, Trace};
pub use writer::{Recorder, Warn};

/// The trace format this ttc writes; it reads this one and older ones.
pub const FORMAT_VERSION: u32 = 1;

/// The first line of a trace file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// The trace format version ([`FORMAT_VERSION`] when written by this ttc).
    pub ttc_trace: u32,
    /// The ttc that wrote it.
    pub ttc_version: String,
    /// When the run started, UTC (`2026-12-03T04:05:06Z`).
    pub started: String,
    /// The same moment in milliseconds since the Unix epoch.
    pub started_ms: u64,
    /// The problem, the full run configuration, the generator and the verifier.
    pub run: RunInfo,
}

/// Where a run's trace goes, decided by `--trace`, `--no-trace` and `trace = false`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// No trace.
    Off,
    /// This file (`--trace FILE`), replaced if it exists.
    File(PathBuf),
    /// A new file in this folder, named after the start time, strategy and a short hash.
    Dir(PathBuf),
}

impl Target {
    /// The target of the `index`-th run of a session (the view starts several): a named
    /// file gets `-2`, `-3`, … before its extension from the second run on.
    pub fn for_run(&self, index: usize) -> Target {
        match self {
            Target::File(p) if index > 0 => {
                let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                let name = match p.extension() {
                    Some(ext) => format!("{stem}-{}.{}", index + 1, ext.to_string_lossy()),
                    None => format!("{stem}-{}", index + 1),
                };
                Target::File(p.with_file_name(name))
            }
            t => t.clone(),
        }
    }
}

/// The folder where traces go by default: `traces/` in the data directory.
pub fn default_dir() -> Option<PathBuf> {
    crate::config::data_dir().map(|d| d.join("traces"))
}

/// `info` as a trace may hold it: the generator's location without credentials.
pub fn redacted(info: &RunInfo) -> RunInfo {
    let mut info = info.clone();
    info.generator.location = redact(&info.generator.location).into_owned();
    info
}

/// One event line: `t` first, then the event's own fields, and `deltas` when the line
/// stands for several text deltas.
pub fn encode(t: u64, event: &Event, deltas: u32) -> serde_json::Result<String> {
    let body = serde_json::to_string(event)?;
    // An event is always a JSON object (internally tagged): put `t` in front of its fields.
    let rest = body.strip_prefix('{').unwrap_or(&body);
    Ok(if deltas > 1 {
        format!("{{\"t\":{t},\"deltas\":{deltas},{rest}")
    } else {
        format!("{{\"t\":{t},{rest}")
    })
}

/// Read one event line back: `(t, event, deltas)`.
pub fn decode(line: &str) -> Result<(u64, Event, u32), String> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let serde_json::Value::Object(mut map) = value else {
        return Err("not a JSON object".into());
    };
    let t = map.remove("t").and_then(|t| t.as_u64()).ok_or("no time \"t\"")?;
    let deltas = match map.remove("deltas") {
        None => 1,
        Some(d) => d.as_u64().filter(|d| *d >= 1).ok_or("\"deltas\" is not a positive count")? as u32,
    };
    let event = serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| e.to_string())?;
    Ok((t, event, deltas))
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// A UTC date and time of `ms` since the epoch: (year, month, day, hour, minute, second).
pub fn utc(ms: u64) -> (i64, u32, u32, u32, u32, u32) {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, (rem / 3600) as u32, (rem % 3600 / 60) as u32, (rem % 60) as u32)
}

/// `2026-12-03T04:05:06Z`.
pub fn rfc3339(ms: u64) -> String {
    let (y, mo, d, h, mi, s) = utc(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod format_tests {
    use super::*;

    #[test]
    fn dates_are_utc_civil_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        // 2026-12-03T04:05:06Z
        assert_eq!(rfc3339(1_796_270_706_000), "2026-12-03T04:05:06Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn a_line_puts_the_time_first_and_reads_back() {
        let e = Event::TextDelta { node: 2, text: "a\"b".into() };
        let line = encode(15, &e, 1).unwrap();
        assert_eq!(line, r#"{"t":15,"event":"text_delta","node":2,"text":"a\"b"}"#);
        assert_eq!(decode(&line).unwrap(), (15, e.clone(), 1));
        let merged = encode(20, &e, 3).unwrap();
        assert_eq!(decode(&merged).unwrap(), (20, e, 3));
        assert!(decode(r#"{"event":"text_delta","node":2,"text":""}"#).is_err());
    }

    #[test]
    fn a_named_file_gets_a_number_from_the_second_run_on() {
        let t = Target::File(PathBuf::from("/tmp/x/run.jsonl"));
        assert_eq!(t.for_run(0), t);
        assert_eq!(t.for_run(1), Target::File(PathBuf::from("/tmp/x/run-2.jsonl")));
        assert_eq!(Target::Off.for_run(3), Target::Off);
    }
}

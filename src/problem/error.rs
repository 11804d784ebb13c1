//! Errors from loading and picking problems, and the malformed line they name.

use std::fmt;

/// Why problems could not be loaded or picked; every message names the input
/// and says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum ProblemError {
    /// The problems file could not be read.
    #[error("cannot read problems file {path}: {source}; check the path, or use a bundled set such as bundled:math500:0")]
    Io {
        /// The path as given.
        path: String,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A malformed line in strict mode (or the only kind of line a file had).
    #[error(
        "malformed problem at {0}; fix or remove that line, or load without strict mode to skip bad lines"
    )]
    Malformed(LineError),
    /// No line of the input held JSON: the file is not JSONL at all.
    #[error("{origin} is not a JSONL problems file ({first}); {hint}; expected one JSON object with a \"problem\" or \"question\" field per line")]
    NotJsonl {
        /// The file path or bundled set name.
        origin: String,
        /// The first line that failed, with its number and reason.
        first: LineError,
        /// What the file seems to be instead, and how to convert it.
        hint: String,
    },
    /// The input held no problems at all.
    #[error(
        "{origin} holds no valid problems; expected JSONL rows with a \"problem\" or \"question\" field"
    )]
    Empty {
        /// The file path or bundled set name.
        origin: String,
    },
    /// An index past the end of the problem list.
    #[error("{origin} has {len} problems (indices 0–{last}); index {index} is out of range; pick an index in that range", last = .len.saturating_sub(1))]
    IndexOutOfRange {
        /// The file path or bundled set name.
        origin: String,
        /// The index asked for (0-based).
        index: usize,
        /// How many problems there are.
        len: usize,
    },
    /// A pick spec that is not of the form `bundled:<set>:<index>`.
    #[error("bad problem pick {spec:?}: {reason}; use bundled:<set>:<index> with a 0-based index, e.g. bundled:math500:7 or bundled:gsm8k:0 (sets: {sets})", sets = .known.join(", "))]
    BadPick {
        /// The spec as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
        /// The bundled set names, for the message.
        known: Vec<String>,
    },
    /// A bundled set name that does not exist.
    #[error("unknown bundled problem set {name:?}; known sets: {known}; e.g. bundled:math500:7", known = .known.join(", "))]
    UnknownSet {
        /// The name as given.
        name: String,
        /// The names that exist.
        known: Vec<String>,
    },
}

/// A malformed input line, shown as `origin:line: reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// The file path or bundled set the line came from.
    pub origin: String,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with the line.
    pub reason: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.origin, self.line, self.reason)
    }
}

impl std::error::Error for LineError {}

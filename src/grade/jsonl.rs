//! JSONL grading for `ttc grade --jsonl FILE`: one `{"pred", "gold"}` object in, one verdict out.

use std::io::{self, BufRead, Write};

use serde_json::{json, Value};

use super::equal::answers_equal;
use crate::problem::jsonl::{read_line_capped, MAX_LINE_BYTES};

/// Counts from one [`grade_jsonl`] pass.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct GradeSummary {
    /// Input lines read (blank and bad lines included).
    pub lines: usize,
    /// Lines whose prediction equals the gold answer.
    pub equal: usize,
    /// Lines that could not be graded.
    pub errors: usize,
}

/// Result of grading one line, kept separate from its JSON rendering so key order is fixed.
enum Outcome {
    Graded { pred: Value, gold: Value, equal: bool },
    Error { line: usize, message: String },
}

/// Grades one JSONL line (`line_no` is 1-based) into `{"pred","gold","equal"}` or `{"line","error"}`.
pub fn grade_line(line: &str, line_no: usize) -> Value {
    match grade_outcome(line, line_no) {
        Outcome::Graded { pred, gold, equal } => {
            json!({"pred": pred, "gold": gold, "equal": equal})
        }
        Outcome::Error { line, message } => json!({"line": line, "error": message}),
    }
}

/// Grades every line of `input`, writing exactly one output line per input line, in order.
pub fn grade_jsonl<R: BufRead, W: Write>(mut input: R, mut out: W) -> io::Result<GradeSummary> {
    let mut summary = GradeSummary::default();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        // Capped: an enormous line is counted and dropped, never held in memory whole.
        let Some(len) = read_line_capped(&mut input, &mut buf, MAX_LINE_BYTES)? else {
            break;
        };
        summary.lines += 1;
        let line_no = summary.lines;
        while matches!(buf.last(), Some(b'\r')) {
            buf.pop();
        }
        // Read bytes, not `lines()`: one line of bad UTF-8 must not abort the whole file.
        let outcome = if len > MAX_LINE_BYTES {
            let limit = MAX_LINE_BYTES >> 20;
            error(line_no, format!("line is {len} bytes long, more than the {limit} MiB allowed"))
        } else {
            match std::str::from_utf8(&buf) {
                Ok(text) => grade_outcome(text, line_no),
                Err(e) => {
                    error(line_no, format!("invalid UTF-8 (bad byte at column {})", e.valid_up_to() + 1))
                }
            }
        };
        match &outcome {
            Outcome::Graded { equal: true, .. } => summary.equal += 1,
            Outcome::Graded { .. } => {}
            Outcome::Error { .. } => summary.errors += 1,
        }
        writeln!(out, "{}", render(&outcome))?;
    }
    out.flush()?;
    Ok(summary)
}

fn error(line: usize, reason: String) -> Outcome {
    Outcome::Error { line, message: format!("line {line}: {reason}") }
}

fn grade_outcome(line: &str, line_no: usize) -> Outcome {
    if line.trim().is_empty() {
        return error(line_no, "empty line".to_string());
    }
    let value: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return error(line_no, format!("invalid JSON: {e}")),
    };
    let Value::Object(map) = value else {
        return error(line_no, format!("expected a JSON object, got {}", kind(&value)));
    };
    let mut texts = Vec::with_capacity(2);
    for field in ["pred", "gold"] {
        match map.get(field) {
            None => return error(line_no, format!("missing field \"{field}\"")),
            Some(Value::String(s)) => texts.push(s.clone()),
            // Numbers grade by their JSON text (`18`, `0.5`).
            Some(Value::Number(n)) => texts.push(n.to_string()),
            Some(other) => {
                return error(
                    line_no,
                    format!("field \"{field}\" must be a string or number, got {}", kind(other)),
                )
            }
        }
    }
    let equal = answers_equal(&texts[0], &texts[1]);
    Outcome::Graded {
        pred: map.get("pred").cloned().unwrap_or(Value::Null),
        gold: map.get("gold").cloned().unwrap_or(Value::Null),
        equal,
    }
}

/// JSON type name for error messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Writes the outcome with a fixed key order (`serde_json::Map` may sort keys).
fn render(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Graded { pred, gold, equal } => {
            format!("{{\"pred\":{pred},\"gold\":{gold},\"equal\":{equal}}}")
        }
        Outcome::Error { line, message } => {
            format!("{{\"line\":{line},\"error\":{}}}", Value::String(message.clone()))
        }
    }
}

//! JSONL grading for `ttc grade --jsonl FILE`: one `{"pred", "gold"}` object in, one verdict out.
//!
//! When `pred` is a whole response (see [`GradeMode`]) its final answer is extracted first
//! and the line reads `{"answer", "rule", "gold", "equal"}` (with `"id"` first when the input
//! line has one): `answer` is what was extracted (null when nothing was), `rule` the rule
//! that found it, `gold` the gold answer (its box or `#### x` for a reference solution).

use std::io::{self, BufRead, Write};

use serde_json::Value;

use super::equal::answers_equal;
use super::response::looks_like_response;
use super::verdict::grade_response;
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

/// Whether `pred` is taken as a whole response whose final answer is extracted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GradeMode {
    /// Extract when `pred` reads as a response (several lines, a `\boxed`, "answer is",
    /// prose) or `gold` is a worked solution (a `\boxed`, `#### x`).
    #[default]
    Auto,
    /// Always extract (`ttc grade --extract`).
    Extract,
    /// Never extract: `pred` is an answer.
    Answers,
}

/// Result of grading one line, kept separate from its JSON rendering so key order is fixed.
enum Outcome {
    Graded { pred: Value, gold: Value, equal: bool },
    Extracted { id: Option<Value>, answer: Option<String>, rule: &'static str, gold: String, equal: bool },
    Error { line: usize, message: String },
}

/// Grades one JSONL line (`line_no` is 1-based) into `{"pred","gold","equal"}` or `{"line","error"}`.
pub fn grade_line(line: &str, line_no: usize) -> Value {
    let outcome = grade_outcome(line, line_no, GradeMode::Auto);
    serde_json::from_str(&render(&outcome)).unwrap_or(Value::Null)
}

/// Grades every line of `input`, writing exactly one output line per input line, in order.
pub fn grade_jsonl<R: BufRead, W: Write>(input: R, out: W) -> io::Result<GradeSummary> {
    grade_jsonl_mode(input, out, GradeMode::Auto)
}

/// [`grade_jsonl`] with the extraction mode chosen.
pub fn grade_jsonl_mode<R: BufRead, W: Write>(
    mut input: R,
    mut out: W,
    mode: GradeMode,
) -> io::Result<GradeSummary> {
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
                Ok(text) => grade_outcome(text, line_no, mode),
                Err(e) => {
                    error(line_no, format!("invalid UTF-8 (bad byte at column {})", e.valid_up_to() + 1))
                }
            }
        };
        match &outcome {
            Outcome::Graded { equal: true, .. } | Outcome::Extracted { equal: true, .. } => {
                summary.equal += 1
            }
            Outcome::Graded { .. } | Outcome::Extracted { .. } => {}
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

fn grade_outcome(line: &str, line_no: usize, mode: GradeMode) -> Outcome {
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
    let extract = match mode {
        GradeMode::Auto => looks_like_response(&texts[0]) || is_reference_solution(&texts[1]),
        GradeMode::Extract => true,
        GradeMode::Answers => false,
    };
    if extract {
        let g = grade_response(&texts[0], &texts[1]);
        return Outcome::Extracted {
            id: map.get("id").cloned(),
            rule: g.pred.as_ref().map_or("none", |p| p.rule.name()),
            answer: g.pred.map(|p| p.answer),
            gold: g.gold.answer,
            equal: g.equal,
        };
    }
    let equal = answers_equal(&texts[0], &texts[1]);
    Outcome::Graded {
        pred: map.get("pred").cloned().unwrap_or(Value::Null),
        gold: map.get("gold").cloned().unwrap_or(Value::Null),
        equal,
    }
}

/// A gold field that is a worked solution (`\boxed` or GSM8K's `#### x`), not an answer.
fn is_reference_solution(gold: &str) -> bool {
    gold.contains("\\boxed") || gold.contains("####")
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
        Outcome::Extracted { id, answer, rule, gold, equal } => {
            let id = id.as_ref().map_or(String::new(), |v| format!("\"id\":{v},"));
            let answer = answer.as_ref().map_or(Value::Null, |a| Value::String(a.clone()));
            let gold = Value::String(gold.clone());
            format!("{{{id}\"answer\":{answer},\"rule\":\"{rule}\",\"gold\":{gold},\"equal\":{equal}}}")
        }
        Outcome::Error { line, message } => {
            format!("{{\"line\":{line},\"error\":{}}}", Value::String(message.clone()))
        }
    }
}

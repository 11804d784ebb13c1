//! JSONL problem files: MATH-500 rows, GSM8K rows and plain `{"problem","answer"}`
//! rows, detected per line so mixed files load too.

use std::fmt;
use std::path::Path;

use serde_json::{Map, Value};

use super::error::ProblemError;
use super::Problem;

/// The problems parsed from one input, plus the lines that were skipped.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoadReport {
    /// Valid problems in input order.
    pub problems: Vec<Problem>,
    /// Malformed lines that were skipped (empty in strict mode).
    pub skipped: Vec<LineError>,
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

/// Parse JSONL text; `origin` names the input in ids and errors.
///
/// Malformed lines are skipped and reported, or with `strict` the first one
/// is returned as [`ProblemError::Malformed`]. Zero valid problems is an
/// error: [`ProblemError::Empty`], or the first skipped line when every line
/// was malformed, since that says what to fix.
pub fn parse_jsonl(text: &str, origin: &str, strict: bool) -> Result<LoadReport, ProblemError> {
    // Editors on Windows may prepend a BOM, which serde_json rejects.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut report = LoadReport::default();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line) {
            Ok(row) => report.problems.push(Problem {
                id: format!("{origin}:{line_no}"),
                text: row.text,
                gold: row.gold,
                source: Some(row.source.to_string()),
                level: row.level,
                subject: row.subject,
            }),
            Err(reason) => {
                let err = LineError { origin: origin.to_string(), line: line_no, reason };
                if strict {
                    return Err(ProblemError::Malformed(err));
                }
                report.skipped.push(err);
            }
        }
    }
    if report.problems.is_empty() {
        return Err(match report.skipped.into_iter().next() {
            Some(first) => ProblemError::Malformed(first),
            None => ProblemError::Empty { origin: origin.to_string() },
        });
    }
    Ok(report)
}

/// Read and parse a JSONL file; ids are `PATH:LINE`.
pub fn load_jsonl(path: &Path, strict: bool) -> Result<LoadReport, ProblemError> {
    let origin = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|source| ProblemError::Io { path: origin.clone(), source })?;
    parse_jsonl(&text, &origin, strict)
}

/// The fields of one row, before it gets an id.
struct Row {
    text: String,
    gold: Option<String>,
    source: &'static str,
    level: Option<u8>,
    subject: Option<String>,
}

fn parse_line(line: &str) -> Result<Row, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(obj) = value else {
        return Err(format!("expected a JSON object, found {}", kind_of(&value)));
    };

    // `problem` wins when both are present: it is the MATH/plain field.
    let (text, is_question) = match (obj.get("problem"), obj.get("question")) {
        (Some(v), _) => (expect_text(v, "problem")?, false),
        (None, Some(v)) => (expect_text(v, "question")?, true),
        (None, None) => {
            let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
            return Err(format!(
                "no \"problem\" or \"question\" field (found keys: {})",
                if keys.is_empty() { "none".to_string() } else { keys.join(", ") }
            ));
        }
    };

    let level = parse_level(obj.get("level"))?;
    let subject = match obj.get("subject") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Some(v) => return Err(format!("\"subject\" must be a string, found {}", kind_of(v))),
    };

    let (gold, source) = if is_question {
        match obj.get("answer") {
            // A GSM8K answer is a worked solution; only the part after
            // `####` is the final answer.
            Some(Value::String(s)) => (Some(gsm8k_gold(s)?), "gsm8k"),
            other => (answer_text(other)?, "plain"),
        }
    } else {
        let source = if has_math_metadata(&obj) { "math500" } else { "plain" };
        (answer_text(obj.get("answer"))?, source)
    };

    Ok(Row { text, gold, source, level, subject })
}

fn expect_text(v: &Value, field: &str) -> Result<String, String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
        Value::String(_) => Err(format!("\"{field}\" is empty")),
        other => Err(format!("\"{field}\" must be a string, found {}", kind_of(other))),
    }
}

fn has_math_metadata(obj: &Map<String, Value>) -> bool {
    ["level", "subject", "unique_id"].iter().any(|k| obj.get(*k).is_some_and(|v| !v.is_null()))
}

/// A gold answer given directly: a string (trimmed) or a number (its JSON text).
fn answer_text(v: Option<&Value>) -> Result<Option<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(format!("\"answer\" must be a string or number, found {}", kind_of(other))),
    }
}

/// The final answer after the last `####`, trimmed, with thousands commas removed.
fn gsm8k_gold(answer: &str) -> Result<String, String> {
    let Some((_, tail)) = answer.rsplit_once("####") else {
        return Err("GSM8K \"answer\" has no \"#### <final answer>\" line".to_string());
    };
    let gold = strip_digit_commas(tail.trim());
    if gold.is_empty() {
        return Err("GSM8K \"answer\" has nothing after \"####\"".to_string());
    }
    Ok(gold)
}

/// Remove commas between digits ("1,000" → "1000") but keep others ("(1, 2)").
fn strip_digit_commas(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let between_digits = c == ','
            && i > 0
            && chars[i - 1].is_ascii_digit()
            && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
        if !between_digits {
            out.push(c);
        }
    }
    out
}

/// A level 1–5 from an int, a numeric string, or MATH's "Level 3".
fn parse_level(v: Option<&Value>) -> Result<Option<u8>, String> {
    let bad = |shown: String| format!("\"level\" must be 1–5 or \"Level N\", found {shown}");
    let n = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| bad(n.to_string()))?,
        Some(Value::String(s)) => {
            let t = s.trim();
            let digits = t.strip_prefix("Level").or_else(|| t.strip_prefix("level")).unwrap_or(t).trim();
            // The full MATH set marks unknown difficulty as "Level ?".
            if digits == "?" {
                return Ok(None);
            }
            digits.parse::<u64>().map_err(|_| bad(format!("{s:?}")))?
        }
        Some(other) => return Err(bad(kind_of(other).to_string())),
    };
    match u8::try_from(n) {
        Ok(l @ 1..=5) => Ok(Some(l)),
        _ => Err(bad(n.to_string())),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> LoadReport {
        parse_jsonl(text, "t.jsonl", false).unwrap()
    }

    #[test]
    fn math500_row() {
        let r = parse(
            r#"{"problem": "Find x.", "solution": "...", "answer": "\\frac{1}{2}", "subject": "Algebra", "level": 3, "unique_id": "test/algebra/1.json"}"#,
        );
        assert_eq!(r.skipped, vec![]);
        let p = &r.problems[0];
        assert_eq!(p.id, "t.jsonl:1");
        assert_eq!(p.text, "Find x.");
        assert_eq!(p.gold.as_deref(), Some("\\frac{1}{2}"));
        assert_eq!(p.source.as_deref(), Some("math500"));
        assert_eq!(p.level, Some(3));
        assert_eq!(p.subject.as_deref(), Some("Algebra"));
    }

    #[test]
    fn level_as_string() {
        let r = parse(
            "{\"problem\": \"a\", \"answer\": \"1\", \"level\": \"Level 3\"}\n\
             {\"problem\": \"b\", \"answer\": \"1\", \"level\": \"5\"}\n\
             {\"problem\": \"c\", \"answer\": \"1\", \"level\": \"Level ?\"}",
        );
        let levels: Vec<_> = r.problems.iter().map(|p| p.level).collect();
        assert_eq!(levels, vec![Some(3), Some(5), None]);
        assert!(r.problems.iter().all(|p| p.source.as_deref() == Some("math500")));
    }

    #[test]
    fn bad_level_is_malformed() {
        let r = parse(
            "{\"problem\": \"a\", \"level\": 9}\n{\"problem\": \"b\", \"level\": \"hard\"}\n{\"problem\": \"ok\"}",
        );
        assert_eq!(r.problems.len(), 1);
        assert_eq!(r.skipped.len(), 2);
        assert!(r.skipped[0].reason.contains("level"), "{}", r.skipped[0]);
        assert!(r.skipped[1].reason.contains("\"hard\""), "{}", r.skipped[1]);
    }

    #[test]
    fn gsm8k_row() {
        let r = parse(r#"{"question": "Janet has 3 ducks.", "answer": "She has 3.\n#### 3"}"#);
        let p = &r.problems[0];
        assert_eq!(p.text, "Janet has 3 ducks.");
        assert_eq!(p.gold.as_deref(), Some("3"));
        assert_eq!(p.source.as_deref(), Some("gsm8k"));
        assert_eq!(p.level, None);
    }

    #[test]
    fn gsm8k_gold_strips_thousands_commas() {
        assert_eq!(gsm8k_gold("x\n#### 1,000").unwrap(), "1000");
        assert_eq!(gsm8k_gold("x\n####  1,234,567 \n").unwrap(), "1234567");
        assert_eq!(gsm8k_gold("#### -3.5").unwrap(), "-3.5");
        assert_eq!(gsm8k_gold("#### (1, 2)").unwrap(), "(1, 2)");
        assert!(gsm8k_gold("no marker").is_err());
        assert!(gsm8k_gold("x\n####   ").is_err());
    }

    #[test]
    fn gsm8k_without_marker_is_malformed() {
        let r = parse(
            "{\"question\": \"q\", \"answer\": \"42\"}\n{\"question\": \"q2\", \"answer\": \"#### 7\"}",
        );
        assert_eq!(r.problems.len(), 1);
        assert_eq!(r.problems[0].id, "t.jsonl:2");
        assert_eq!(r.skipped.len(), 1);
        assert!(r.skipped[0].reason.contains("####"));
    }

    #[test]
    fn plain_rows_with_optional_and_numeric_answers() {
        let r = parse(
            "{\"problem\": \"p1\", \"answer\": \"x\"}\n\
             {\"problem\": \"p2\"}\n\
             {\"problem\": \"p3\", \"answer\": 42}\n\
             {\"problem\": \"p4\", \"answer\": -2.5}\n\
             {\"question\": \"p5\", \"answer\": 7}",
        );
        assert_eq!(r.skipped, vec![]);
        let golds: Vec<_> = r.problems.iter().map(|p| p.gold.as_deref()).collect();
        assert_eq!(golds, vec![Some("x"), None, Some("42"), Some("-2.5"), Some("7")]);
        assert!(r.problems.iter().all(|p| p.source.as_deref() == Some("plain")));
    }

    #[test]
    fn blank_lines_ignored_and_line_numbers_kept() {
        let r = parse("\n   \n{\"problem\": \"a\"}\r\n\r\n{\"problem\": \"b\"}\n\n");
        assert_eq!(r.skipped, vec![]);
        let ids: Vec<_> = r.problems.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, vec!["t.jsonl:3", "t.jsonl:5"]);
    }

    #[test]
    fn bom_is_ignored() {
        let r = parse("\u{feff}{\"problem\": \"a\"}");
        assert_eq!(r.problems.len(), 1);
    }

    #[test]
    fn malformed_lines_skipped_with_reasons() {
        let text = "{\"problem\": \"ok\", \"answer\": \"1\"}\n\
                    {not json\n\
                    [1, 2]\n\
                    {\"answer\": \"1\"}\n\
                    {\"problem\": 5}\n\
                    {\"problem\": \"x\", \"answer\": [1]}\n\
                    {\"problem\": \"ok2\"}";
        let r = parse_jsonl(text, "data/x.jsonl", false).unwrap();
        assert_eq!(r.problems.len(), 2);
        let lines: Vec<_> = r.skipped.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 6]);
        let shown = r.skipped[0].to_string();
        assert!(shown.starts_with("data/x.jsonl:2: invalid JSON"), "{shown}");
        assert_eq!(r.skipped[1].to_string(), "data/x.jsonl:3: expected a JSON object, found an array");
        assert!(r.skipped[2].reason.contains("found keys: answer"));
        assert!(r.skipped[3].reason.contains("\"problem\" must be a string"));
        assert!(r.skipped[4].reason.contains("\"answer\" must be a string or number"));
    }

    #[test]
    fn strict_mode_fails_on_first_malformed_line() {
        let text = "{\"problem\": \"ok\"}\n{bad\n[]";
        match parse_jsonl(text, "x.jsonl", true) {
            Err(ProblemError::Malformed(e)) => {
                assert_eq!((e.origin.as_str(), e.line), ("x.jsonl", 2));
                let msg = ProblemError::Malformed(e).to_string();
                assert!(msg.contains("x.jsonl:2: invalid JSON"), "{msg}");
            }
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn empty_and_all_malformed_inputs() {
        match parse_jsonl("\n \n", "e.jsonl", false) {
            Err(e @ ProblemError::Empty { .. }) => {
                assert!(e.to_string().starts_with("e.jsonl holds no valid problems"))
            }
            other => panic!("expected Empty, got {other:?}"),
        }
        // Every line bad: report the first reason rather than a bare "empty".
        match parse_jsonl("a,b\n1,2", "data.csv", false) {
            Err(ProblemError::Malformed(e)) => assert_eq!(e.line, 1),
            other => panic!("expected Malformed, got {other:?}"),
        }
    }
}

//! JSONL problem files: MATH-500 rows, GSM8K rows and plain `{"problem","answer"}`
//! rows, detected per line so mixed files load too.

use std::path::Path;

use serde_json::{Map, Value};

use super::error::{LineError, ProblemError};
use super::Problem;

/// The problems parsed from one input, plus the lines that were skipped.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoadReport {
    /// Valid problems in input order.
    pub problems: Vec<Problem>,
    /// Malformed lines that were skipped (empty in strict mode).
    pub skipped: Vec<LineError>,
}

/// Longest line accepted as one problem (bytes, without the newline). MATH-500 rows are a
/// few KiB; a longer line is almost surely not a problem row, and is skipped unparsed.
pub const MAX_LINE_BYTES: usize = 4 << 20;

/// Parse JSONL text; `origin` names the input in ids and errors.
///
/// Malformed lines are skipped and reported, or with `strict` the first one
/// is returned as [`ProblemError::Malformed`]. Zero valid problems is an
/// error: [`ProblemError::Empty`], [`ProblemError::NotJsonl`] when no line even
/// held JSON (a CSV, a pretty-printed JSON file, a binary file), or the first
/// skipped line when every line was malformed, since that says what to fix.
pub fn parse_jsonl(text: &str, origin: &str, strict: bool) -> Result<LoadReport, ProblemError> {
    parse_jsonl_bytes(text.as_bytes(), origin, strict)
}

/// [`parse_jsonl`] over raw bytes: a line that is not UTF-8 is one malformed line (skipped
/// with its number, or the error in strict mode), not the end of the whole file.
pub fn parse_jsonl_bytes(bytes: &[u8], origin: &str, strict: bool) -> Result<LoadReport, ProblemError> {
    let mut lines = Lines::new(bytes);
    let mut loader = Loader::new(origin, strict);
    while let Some((line_no, line)) = lines.next_line() {
        loader.line(line_no, line)?;
    }
    loader.finish()
}

/// Read and parse a JSONL file; ids are `PATH:LINE`.
///
/// The file is read as bytes, line by line, so bad UTF-8 costs one line and an enormous
/// line is skipped without being held in memory whole.
pub fn load_jsonl(path: &Path, strict: bool) -> Result<LoadReport, ProblemError> {
    let origin = path.display().to_string();
    let io_err = |source| ProblemError::Io { path: origin.clone(), source };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let mut reader = std::io::BufReader::new(file);
    let mut loader = Loader::new(&origin, strict);
    let mut buf = Vec::new();
    let mut line_no = 0;
    loop {
        line_no += 1;
        buf.clear();
        let Some(len) = read_line_capped(&mut reader, &mut buf, MAX_LINE_BYTES).map_err(io_err)? else {
            break;
        };
        let line = if len > MAX_LINE_BYTES { Line::TooLong(len) } else { Line::Bytes(&buf) };
        loader.line(line_no, line)?;
    }
    loader.finish()
}

/// One input line as the loader sees it.
enum Line<'a> {
    Bytes(&'a [u8]),
    /// Longer than [`MAX_LINE_BYTES`]; holds the full length in bytes.
    TooLong(usize),
}

/// Splits bytes into lines (`\n`, with a trailing `\r` dropped), 1-based numbers.
struct Lines<'a> {
    rest: Option<&'a [u8]>,
    line_no: usize,
}

impl<'a> Lines<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Lines { rest: Some(bytes), line_no: 0 }
    }

    fn next_line(&mut self) -> Option<(usize, Line<'a>)> {
        let rest = self.rest?;
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(at) => (&rest[..at], Some(&rest[at + 1..])),
            None if rest.is_empty() => return None,
            None => (rest, None),
        };
        self.rest = next;
        self.line_no += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let shown = if line.len() > MAX_LINE_BYTES { Line::TooLong(line.len()) } else { Line::Bytes(line) };
        Some((self.line_no, shown))
    }
}

/// Reads one line into `buf` keeping at most `cap + 1` bytes of it (the rest is counted and
/// dropped); returns the line's full length without its `\n`/`\r\n`, or `None` at the end.
pub(crate) fn read_line_capped<R: std::io::BufRead>(
    r: &mut R,
    buf: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<Option<usize>> {
    let mut len = 0usize;
    let mut any = false;
    let mut last = None;
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break;
        }
        any = true;
        let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(at) => (&chunk[..at], Some(at + 1)),
            None => (chunk, None),
        };
        let room = (cap + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&part[..part.len().min(room)]);
        len += part.len();
        last = part.last().copied().or(last);
        let used = done.unwrap_or(part.len());
        r.consume(used);
        if done.is_some() {
            break;
        }
    }
    if !any {
        return Ok(None);
    }
    if last == Some(b'\r') {
        len -= 1;
        buf.truncate(len);
    }
    Ok(Some(len))
}

/// Collects problems and skipped lines, line by line.
struct Loader<'o> {
    origin: &'o str,
    strict: bool,
    report: LoadReport,
    /// Whether any non-blank line held JSON at all (even a wrong row).
    saw_json: bool,
    /// The first non-blank line's bytes (a prefix), for guessing what the file really is.
    first: Option<Vec<u8>>,
}

impl<'o> Loader<'o> {
    fn new(origin: &'o str, strict: bool) -> Self {
        Loader { origin, strict, report: LoadReport::default(), saw_json: false, first: None }
    }

    fn line(&mut self, line_no: usize, line: Line<'_>) -> Result<(), ProblemError> {
        let parsed = match line {
            Line::TooLong(len) => Err(LineIssue::NotJson(format!(
                "line is {len} bytes long, more than the {} MiB allowed for one problem",
                MAX_LINE_BYTES >> 20
            ))),
            Line::Bytes(bytes) => {
                // Editors on Windows may prepend a BOM, which serde_json rejects.
                let bytes =
                    if line_no == 1 { bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes) } else { bytes };
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    return Ok(());
                }
                if self.first.is_none() {
                    self.first = Some(bytes[..bytes.len().min(256)].to_vec());
                }
                match std::str::from_utf8(bytes) {
                    Ok(text) => parse_line(text),
                    Err(e) => Err(LineIssue::NotJson(format!(
                        "not valid UTF-8 (bad byte at column {})",
                        e.valid_up_to() + 1
                    ))),
                }
            }
        };
        if self.first.is_none() {
            self.first = Some(Vec::new());
        }
        match parsed {
            Ok(row) => {
                self.saw_json = true;
                self.report.problems.push(Problem {
                    id: format!("{}:{line_no}", self.origin),
                    text: row.text,
                    gold: row.gold,
                    source: Some(row.source.to_string()),
                    level: row.level,
                    subject: row.subject,
                });
            }
            Err(issue) => {
                let not_json = matches!(issue, LineIssue::NotJson(_));
                self.saw_json |= !not_json;
                let reason = match issue {
                    LineIssue::NotJson(r) | LineIssue::BadRow(r) => r,
                };
                let err = LineError { origin: self.origin.to_string(), line: line_no, reason };
                if self.strict {
                    // The very first line is not JSON: say what the file seems to be instead.
                    if not_json && !self.saw_json && self.report.problems.is_empty() {
                        return Err(self.not_jsonl(err));
                    }
                    return Err(ProblemError::Malformed(err));
                }
                self.report.skipped.push(err);
            }
        }
        Ok(())
    }

    fn not_jsonl(&self, first: LineError) -> ProblemError {
        let hint = guess_format(self.first.as_deref().unwrap_or_default());
        ProblemError::NotJsonl { origin: self.origin.to_string(), first, hint }
    }

    fn finish(self) -> Result<LoadReport, ProblemError> {
        // A pretty-printed JSON array (`[` alone on line 1) has its last element on a valid
        // line of its own; loading just that one would hide that the file is not JSONL.
        let array_file = self.first.as_deref().is_some_and(|f| f.trim_ascii() == b"[");
        if array_file {
            if let Some(first) = self.report.skipped.first() {
                return Err(self.not_jsonl(first.clone()));
            }
        }
        if !self.report.problems.is_empty() {
            return Ok(self.report);
        }
        let saw_json = self.saw_json;
        let hint = guess_format(self.first.as_deref().unwrap_or_default());
        let origin = self.origin.to_string();
        Err(match self.report.skipped.into_iter().next() {
            Some(first) if !saw_json => ProblemError::NotJsonl { origin, first, hint },
            Some(first) => ProblemError::Malformed(first),
            None => ProblemError::Empty { origin },
        })
    }
}

/// Why a line is not a problem: not JSON at all, or JSON that is not a problem row.
enum LineIssue {
    NotJson(String),
    BadRow(String),
}

/// What a file that holds no JSON lines most likely is, as advice.
fn guess_format(first: &[u8]) -> String {
    let text = String::from_utf8_lossy(first);
    let t = text.trim_start();
    let bad_utf8 = matches!(std::str::from_utf8(first), Err(e) if e.error_len().is_some());
    if first.contains(&0) || (bad_utf8 && !text.contains('{')) {
        "it looks like a binary file".to_string()
    } else if t.starts_with('[') {
        "it looks like one JSON array; put one object per line (e.g. jq -c '.[]' FILE)".to_string()
    } else if t.starts_with('{') {
        "it looks like pretty-printed JSON; put each object on a single line (e.g. jq -c . FILE)".to_string()
    } else if t.contains(',') || t.contains('\t') {
        "it looks like CSV or TSV; convert each row to a JSON object".to_string()
    } else {
        "expected one JSON object per line".to_string()
    }
}

/// The fields of one row, before it gets an id.
struct Row {
    text: String,
    gold: Option<String>,
    source: &'static str,
    level: Option<u8>,
    subject: Option<String>,
}

fn parse_line(line: &str) -> Result<Row, LineIssue> {
    let value: Value =
        serde_json::from_str(line).map_err(|e| LineIssue::NotJson(format!("invalid JSON: {e}")))?;
    parse_row(value).map_err(LineIssue::BadRow)
}

fn parse_row(value: Value) -> Result<Row, String> {
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
        // Every line bad: report the first reason rather than a bare "empty"; no line
        // held JSON at all, so the file is not JSONL and the message says what it looks like.
        match parse_jsonl("a,b\n1,2", "data.csv", false) {
            Err(ProblemError::NotJsonl { first, hint, .. }) => {
                assert_eq!(first.line, 1);
                assert!(hint.contains("CSV"), "{hint}");
            }
            other => panic!("expected NotJsonl, got {other:?}"),
        }
        match parse_jsonl("{\"q\": 1}\n[1]", "rows.jsonl", false) {
            Err(ProblemError::Malformed(e)) => assert_eq!(e.line, 1),
            other => panic!("expected Malformed, got {other:?}"),
        }
    }
}

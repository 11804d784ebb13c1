//! `grade_jsonl` on enormous lines.

use super::*;
use crate::problem::MAX_LINE_BYTES;

#[test]
fn an_enormous_line_is_reported_and_dropped() {
    let good = "{\"pred\": \"2^{64}\", \"gold\": \"18446744073709551616\"}";
    let mut input = format!("{good}\n{{\"pred\": \"").into_bytes();
    input.resize(input.len() + MAX_LINE_BYTES, b'1');
    input.extend_from_slice(format!("\", \"gold\": \"1\"}}\r\n{good}").as_bytes());
    let mut out = Vec::new();
    let summary = grade_jsonl(&input[..], &mut out).unwrap();
    assert_eq!(summary, GradeSummary { lines: 3, equal: 2, errors: 1 });
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let expected = format!("line 2: line is {} bytes long, more than the 4 MiB allowed", MAX_LINE_BYTES + 25);
    // (the `\r` of the CRLF is not counted)
    assert_eq!(lines[1], format!("{{\"line\":2,\"error\":\"{expected}\"}}"));
    assert!(lines[2].ends_with("\"equal\":true}"), "{}", lines[2]);
}

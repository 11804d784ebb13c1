//! Loading real files: bad UTF-8, enormous lines, files that are not JSONL at all.

use std::path::PathBuf;

use super::jsonl::{load_jsonl, parse_jsonl_bytes, MAX_LINE_BYTES};
use super::ProblemError;

/// A file in a fresh temporary folder, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, bytes: &[u8]) -> TempFile {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ttc-load-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            std::fs::remove_dir_all(dir).ok();
        }
    }
}

const GOOD: &[u8] = b"{\"problem\": \"p\", \"answer\": \"1\"}";

fn lines(parts: &[&[u8]]) -> Vec<u8> {
    parts.join(&b'\n')
}

#[test]
fn a_non_utf8_line_is_skipped_with_its_number() {
    let f = TempFile::new("mixed.jsonl", &lines(&[GOOD, b"{\"problem\": \"caf\xe9\"}", GOOD, b""]));
    let r = load_jsonl(&f.0, false).unwrap();
    assert_eq!(r.problems.len(), 2);
    let ids: Vec<_> = r.problems.iter().map(|p| p.id.clone()).collect();
    let origin = f.0.display().to_string();
    assert_eq!(ids, vec![format!("{origin}:1"), format!("{origin}:3")]);
    assert_eq!(r.skipped.len(), 1);
    assert_eq!(r.skipped[0].line, 2);
    let shown = r.skipped[0].to_string();
    assert!(shown.starts_with(&format!("{origin}:2: not valid UTF-8")), "{shown}");
    assert!(shown.contains("column 17"), "{shown}");
}

#[test]
fn a_non_utf8_line_is_an_error_in_strict_mode() {
    let f = TempFile::new("strict.jsonl", &lines(&[GOOD, GOOD, b"\xff\xfe", GOOD]));
    match load_jsonl(&f.0, true) {
        Err(e @ ProblemError::Malformed(_)) => {
            let msg = e.to_string();
            assert!(msg.contains(&format!("{}:3: not valid UTF-8", f.0.display())), "{msg}");
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn crlf_bom_and_missing_final_newline_still_load() {
    let f = TempFile::new("win.jsonl", b"\xef\xbb\xbf{\"problem\": \"a\"}\r\n\r\n{\"problem\": \"b\"}");
    let r = load_jsonl(&f.0, true).unwrap();
    let texts: Vec<_> = r.problems.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(texts, ["a", "b"]);
    assert!(r.problems[1].id.ends_with(":3"), "{}", r.problems[1].id);
}

#[test]
fn an_enormous_line_is_skipped_unparsed_with_its_size() {
    let mut huge = b"{\"problem\": \"".to_vec();
    huge.resize(MAX_LINE_BYTES + 10, b'x');
    huge.extend_from_slice(b"\"}");
    let f = TempFile::new("huge.jsonl", &lines(&[GOOD, &huge, GOOD]));
    let r = load_jsonl(&f.0, false).unwrap();
    assert_eq!(r.problems.len(), 2);
    assert_eq!(r.skipped.len(), 1);
    let shown = r.skipped[0].to_string();
    let expected = format!(":2: line is {} bytes long, more than the 4 MiB", MAX_LINE_BYTES + 12);
    assert!(shown.contains(&expected), "{shown}");
    // The same from memory.
    let r = parse_jsonl_bytes(&lines(&[GOOD, &huge, GOOD]), "mem", false).unwrap();
    assert_eq!(r.skipped[0].to_string(), shown.replace(&f.0.display().to_string(), "mem"));
    // A line of exactly the limit is parsed normally.
    let mut edge = b"{\"problem\": \"".to_vec();
    edge.resize(MAX_LINE_BYTES - 2, b'y');
    edge.extend_from_slice(b"\"}");
    let f = TempFile::new("edge.jsonl", &lines(&[&edge, b""]));
    let r = load_jsonl(&f.0, true).unwrap();
    assert_eq!(r.problems[0].text.len(), MAX_LINE_BYTES - 15);
}

fn not_jsonl(bytes: &[u8], strict: bool) -> String {
    let f = TempFile::new("data.txt", bytes);
    match load_jsonl(&f.0, strict) {
        Err(e @ ProblemError::NotJsonl { .. }) => {
            let msg = e.to_string();
            assert!(msg.starts_with(&format!("{} is not a JSONL problems file", f.0.display())), "{msg}");
            msg
        }
        other => panic!("expected NotJsonl, got {other:?}"),
    }
}

#[test]
fn files_that_are_not_jsonl_say_what_they_look_like() {
    for strict in [false, true] {
        let msg = not_jsonl(b"[\n  {\"problem\": \"a\"},\n  {\"problem\": \"b\"}\n]\n", strict);
        assert!(msg.contains(":1: invalid JSON") && msg.contains("one JSON array"), "{msg}");
        let msg = not_jsonl(b"{\n  \"problem\": \"a\"\n}\n", strict);
        assert!(msg.contains("pretty-printed JSON"), "{msg}");
        let msg = not_jsonl(b"problem,answer\nwhat is 1+1,2\n", strict);
        assert!(msg.contains("CSV"), "{msg}");
        let msg = not_jsonl(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0", strict);
        assert!(msg.contains("binary file") && msg.contains(":1: not valid UTF-8"), "{msg}");
    }
    // JSON rows of the wrong shape are malformed problems, not a wrong format.
    let f = TempFile::new("rows.jsonl", b"{\"q\": 1}\n[1]\n");
    assert!(matches!(load_jsonl(&f.0, false), Err(ProblemError::Malformed(_))));
}

//! Unit tests of the Ollama client: hosts, versions, warnings and the stream decoder.

use super::*;

#[test]
fn hosts_are_normalised() {
    assert_eq!(normalize_host("localhost").unwrap(), "http://localhost:11434");
    assert_eq!(normalize_host("0.0.0.0:11434").unwrap(), "http://127.0.0.1:11434");
    assert_eq!(normalize_host("http://10.0.0.2:8080/").unwrap(), "http://10.0.0.2:8080");
    assert_eq!(normalize_host("https://ollama.example.com").unwrap(), "https://ollama.example.com");
    assert!(normalize_host("").is_err());
    assert!(normalize_host("ftp://x").is_err());
}

#[test]
fn versions_decide_logprobs() {
    assert!(!version_has_logprobs("0.12.10"));
    assert!(version_has_logprobs("0.12.11"));
    assert!(version_has_logprobs("0.13.0-rc1"));
    assert!(version_has_logprobs("1.0"));
    assert!(version_has_logprobs("0.0.0"));
    assert!(!version_has_logprobs("0.5.7"));
    assert!(!version_has_logprobs("garbage"));
}

#[test]
fn a_stream_line_with_error_fails_the_candidate() {
    let mut out = VecDeque::new();
    assert!(parse_line(br#"{"error":"boom"}"#, "u", &mut out));
    assert_eq!(out.pop_front(), Some(Err(GenError::Stream("boom".into()))));
}

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

#[test]
fn plain_http_is_warned_about_when_it_exposes_something() {
    assert_eq!(plain_http_warning("http://127.0.0.1:11434"), None);
    assert_eq!(plain_http_warning("localhost"), None);
    assert_eq!(plain_http_warning("http://[::1]:11434"), None);
    assert_eq!(plain_http_warning("https://u:pw@ollama.example.com"), None);
    let w = plain_http_warning("http://u:secret@127.0.0.1:11434").unwrap();
    assert!(w.contains("credentials") && w.contains("plain HTTP") && !w.contains("secret"), "{w}");
    let w = plain_http_warning("http://10.0.0.2:11434").unwrap();
    assert!(w.contains("10.0.0.2") && w.contains("unencrypted"), "{w}");
    assert!(plain_http_warning("gpu-box").is_some());
}

#[test]
fn a_bad_host_is_reported_without_its_password() {
    let err = OllamaClient::new("http://u:secret@bad host", OllamaSettings::default()).err().unwrap();
    assert!(!err.to_string().contains("secret"), "{err}");
    let client = OllamaClient::new("u:secret@h", OllamaSettings::default()).unwrap();
    assert_eq!(client.host(), "http://***@h:11434");
    assert!(client.url("api/tags").contains("u:secret@"), "requests keep the credentials");
}

#[test]
fn error_text_from_the_server_is_cut_and_made_visible() {
    let page = format!("<html>\x1b]0;T\x07{}</html>", "<p>error</p>".repeat(500));
    let e = GenError::Http { status: 500, url: "http://u:pw@h/api/chat".into(), detail: page };
    let msg = e.to_string();
    assert!(msg.len() < 700 && msg.contains("more bytes") && msg.contains("␛]0;T␇"), "{msg}");
    assert!(msg.contains("http://***@h/api/chat"), "{msg}");
    let e = GenError::ModelNotFound {
        model: "m\u{202E}x".into(),
        host: "http://h".into(),
        installed: (0..25).map(|i| format!("n{i}\x1b[2J")).collect(),
    };
    let msg = e.to_string();
    assert!(!msg.contains('\x1b') && !msg.contains('\u{202E}'), "{msg:?}");
    assert!(msg.contains("and 5 more") && msg.contains("n19␛[2J") && !msg.contains("n20"), "{msg}");
    for e in [
        GenError::Stream("\x1b[2J".into()),
        GenError::Dropped("\x1b[2J".into()),
        GenError::Busy { host: "h".into(), attempts: 1, detail: "\x1b[2J".into() },
        GenError::Protocol { url: "h".into(), detail: "\x1b[2J".into() },
    ] {
        assert!(!e.to_string().contains('\x1b'), "{e:?}");
    }
}

fn decode(frames: Vec<Vec<u8>>) -> Vec<Result<Chunk, GenError>> {
    let bytes = futures::stream::iter(frames.into_iter().map(|f| Ok(bytes::Bytes::from(f))));
    let st = StreamState::new(
        Box::pin(bytes),
        Duration::from_secs(5),
        "http://h/api/chat".into(),
        CancellationToken::new(),
        None,
    );
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(futures::stream::unfold(st, next_chunk).collect())
}

fn text_of(items: &[Result<Chunk, GenError>]) -> String {
    items
        .iter()
        .filter_map(|c| match c {
            Ok(Chunk::Delta { text, .. }) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

const DONE: &str = "{\"done\":true,\"eval_count\":2}\n";

#[test]
fn characters_cut_at_any_byte_boundary_arrive_whole() {
    let body =
        format!("{{\"message\":{{\"content\":\"é中\"}}}}\n{{\"message\":{{\"content\":\"😀\"}}}}\n{DONE}");
    let frames: Vec<Vec<u8>> = body.bytes().map(|b| vec![b]).collect();
    let items = decode(frames);
    assert_eq!(text_of(&items), "é中😀");
    assert!(matches!(items.last(), Some(Ok(Chunk::Done(_)))), "{items:?}");
}

#[test]
fn invalid_utf8_in_a_line_becomes_replacement_characters() {
    let items = decode(vec![b"{\"message\":{\"content\":\"a\xffb\"}}\n".to_vec(), DONE.as_bytes().to_vec()]);
    assert_eq!(text_of(&items), "a\u{FFFD}b");
    assert!(matches!(items.last(), Some(Ok(Chunk::Done(_)))), "{items:?}");
}

#[test]
fn an_endless_line_fails_the_stream_at_the_cap() {
    let mut frames = vec![b"{\"message\":{\"content\":\"ok\"}}\n".to_vec()];
    frames.extend(std::iter::repeat_n(vec![b'a'; 64 << 10], 20));
    let items = decode(frames);
    assert_eq!(text_of(&items), "ok");
    let Some(Err(e)) = items.last() else { panic!("{items:?}") };
    assert!(e.to_string().contains("a stream line exceeded 1048576 bytes"), "{e}");
    assert_eq!(items.len(), 2, "nothing after the error");
}

//! Unit tests of the OpenAI-compatible client: hosts, keys, bodies and chunk decoding.

use serde_json::json;

use super::wire::{
    chat_logprobs, completion_logprobs, error_detail, read_event, ChatBody, CompletionBody, Kind, Read, Usage,
};
use super::*;
use crate::model::openai_sse::{SseDecoder, SseEvent};
use crate::model::{GenOptions, Message};

#[test]
fn hosts_are_normalised_to_a_base_without_v1() {
    assert_eq!(normalize_base("localhost").unwrap(), "http://localhost:8000");
    assert_eq!(normalize_base("0.0.0.0:8080").unwrap(), "http://127.0.0.1:8080");
    assert_eq!(normalize_base("http://10.0.0.2:8000/v1/").unwrap(), "http://10.0.0.2:8000");
    assert_eq!(normalize_base("https://api.example.com/v1").unwrap(), "https://api.example.com");
    assert!(normalize_base("").is_err());
    assert!(normalize_base("ftp://x").is_err());
}

#[test]
fn a_key_is_never_shown() {
    let key = ApiKey::new("sk-secret-123").unwrap();
    assert_eq!(format!("{key:?}"), "ApiKey(***)");
    assert_eq!(key.scrub("bad key sk-secret-123 given"), "bad key *** given");
    assert!(ApiKey::new("  ").is_none());
    let client = OpenAiClient::new("http://u:pw@h:1", ServerSettings::default(), Some(key)).unwrap();
    assert_eq!(client.host(), "http://***@h:1");
    assert!(client.has_key());
    let e = client.status_error(401, "v1/models", client.scrub("Incorrect API key provided: sk-secret-123"));
    let msg = e.to_string();
    assert!(!msg.contains("sk-secret") && msg.contains("TTC_API_KEY") && !msg.contains("Ollama"), "{msg}");
}

#[test]
fn retry_after_reads_seconds_and_caps_them() {
    assert_eq!(retry_after(Some("2")), Some(Duration::from_secs(2)));
    assert_eq!(retry_after(Some("0.5")), Some(Duration::from_millis(500)));
    assert_eq!(retry_after(Some("99999")), Some(MAX_RETRY_AFTER));
    assert_eq!(retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")), None);
    assert_eq!(retry_after(Some("-1")), None);
    assert_eq!(retry_after(None), None);
}

#[test]
fn a_chat_body_carries_the_options_and_the_continuation() {
    let mut req = GenRequest::new(vec![Message::user("q"), Message::assistant("Step 1:")]);
    req.options = GenOptions {
        temperature: Some(0.7),
        seed: Some(3),
        num_predict: Some(64),
        stop: vec!["\n\n".into()],
        top_p: Some(0.9),
        ..GenOptions::default()
    };
    req.top_logprobs = 30;
    let v = serde_json::to_value(ChatBody::new("m", &req, true)).unwrap();
    assert_eq!(v["stream"], true);
    assert_eq!(v["stream_options"]["include_usage"], true);
    assert_eq!((v["max_tokens"].as_i64(), v["seed"].as_i64()), (Some(64), Some(3)));
    assert_eq!(v["stop"], json!(["\n\n"]));
    assert_eq!((v["logprobs"].as_bool(), v["top_logprobs"].as_u64()), (Some(true), Some(20)));
    assert_eq!(
        (v["continue_final_message"].as_bool(), v["add_generation_prompt"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(v["messages"][1], json!({"role": "assistant", "content": "Step 1:"}));
    let plain =
        serde_json::to_value(ChatBody::new("m", &GenRequest::new(vec![Message::user("q")]), false)).unwrap();
    for absent in
        ["continue_final_message", "add_generation_prompt", "logprobs", "stop", "max_tokens", "seed"]
    {
        assert!(plain.get(absent).is_none(), "{absent}: {plain}");
    }
    let mut raw = GenRequest::raw("Q ки");
    raw.top_logprobs = 5;
    let v = serde_json::to_value(CompletionBody::new("m", "Q ки", &raw)).unwrap();
    assert_eq!((v["prompt"].as_str(), v["logprobs"].as_u64()), (Some("Q ки"), Some(5)));
    assert!(v.get("messages").is_none());
}

#[test]
fn logprobs_of_both_endpoints_are_read() {
    let chat = json!({"content": [{"token": "Yes", "logprob": -0.1, "bytes": [89], "top_logprobs": [
        {"token": "Yes", "logprob": -0.1}, {"token": "No", "logprob": null}]}]});
    let lp = chat_logprobs(&chat).unwrap();
    assert_eq!((lp[0].token.as_str(), lp[0].logprob), ("Yes", -0.1));
    assert_eq!(lp[0].top_logprobs[1].logprob, -9999.0, "a missing logprob stays finite");
    let comp = json!({"tokens": ["+"], "token_logprobs": [-0.05], "top_logprobs": [{"-": -3.0, "+": -0.05}]});
    let lp = completion_logprobs(&comp).unwrap();
    assert_eq!(lp[0].top_logprobs[0].token, "+", "most likely first");
    assert_eq!(lp[0].top_logprobs[1].token, "-");
}

#[test]
fn error_bodies_of_every_shape_are_read() {
    assert_eq!(error_detail(br#"{"error":{"message":"boom","type":"x"}}"#), "boom");
    assert_eq!(error_detail(br#"{"error":"flat"}"#), "flat");
    assert_eq!(error_detail(br#"{"object":"error","message":"vllm says","code":400}"#), "vllm says");
    assert_eq!(error_detail(b"<html>502</html>"), "<html>502</html>");
}

#[test]
fn refusals_of_the_continuation_fields_are_recognised() {
    assert!(refuses_continuation("continue_final_message is not supported"));
    assert!(refuses_continuation("Unrecognized request argument supplied: add_generation_prompt"));
    assert!(!refuses_continuation("prompt is too long"));
}

fn data(d: &str) -> SseEvent {
    SseEvent { event: "message".into(), data: d.into() }
}

#[test]
fn events_of_every_shape_are_read() {
    let role_only = r#"{"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}"#;
    assert_eq!(
        read_event(Kind::Chat, &data(role_only)),
        Read::Piece { text: String::new(), logprobs: None, finish: None, usage: None }
    );
    let text =
        r#"{"choices":[{"delta":{"content":"中"},"logprobs":null,"finish_reason":"length"}],"usage":null}"#;
    let Read::Piece { text, finish, .. } = read_event(Kind::Chat, &data(text)) else { panic!() };
    assert_eq!((text.as_str(), finish.as_deref()), ("中", Some("length")));
    let usage = r#"{"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":null}}"#;
    let Read::Piece { usage, .. } = read_event(Kind::Chat, &data(usage)) else { panic!() };
    assert_eq!(usage, Some(Usage { prompt_tokens: 7, completion_tokens: 0 }));
    let comp = r#"{"choices":[{"text":"+","finish_reason":null}]}"#;
    assert!(matches!(read_event(Kind::Completion, &data(comp)), Read::Piece { text, .. } if text == "+"));
    assert_eq!(read_event(Kind::Chat, &data("[DONE]")), Read::Done);
    assert_eq!(read_event(Kind::Chat, &data(r#"{"error":{"message":"oom"}}"#)), Read::Error("oom".into()));
    let ev = SseEvent { event: "error".into(), data: "plain words".into() };
    assert_eq!(read_event(Kind::Chat, &ev), Read::Error("plain words".into()));
    assert!(matches!(read_event(Kind::Chat, &data("{not json")), Read::Bad(_)));
    assert_eq!(read_event(Kind::Chat, &data(r#"{"choices":"odd"}"#)), Read::Nothing);
}

proptest::proptest! {
    #[test]
    fn hostile_streams_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600), cut in 0usize..600) {
        let mut d = SseDecoder::new(256);
        let cut = cut.min(bytes.len());
        for part in [&bytes[..cut], &bytes[cut..]] {
            d.push(part);
            while let Ok(Some(ev)) = d.next_event() {
                let _ = read_event(Kind::Chat, &ev);
                let _ = read_event(Kind::Completion, &ev);
            }
        }
        if let Ok(Some(ev)) = d.finish() {
            let _ = read_event(Kind::Chat, &ev);
        }
    }

    #[test]
    fn any_json_chunk_reads_without_panic(text in "\\PC{0,40}", lp in proptest::option::of(-1e308f64..1.0)) {
        let v = json!({"choices": [{"delta": {"content": text}, "text": text, "logprobs": {
            "content": [{"token": text, "logprob": lp, "top_logprobs": [{"token": text, "logprob": lp}]}],
            "tokens": [text], "token_logprobs": [lp], "top_logprobs": [{"a": lp}]}}]});
        let ev = data(&v.to_string());
        for kind in [Kind::Chat, Kind::Completion] {
            let Read::Piece { text: got, logprobs, .. } = read_event(kind, &ev) else { panic!("{v}") };
            proptest::prop_assert_eq!(&got, &text);
            for t in logprobs.unwrap_or_default() {
                proptest::prop_assert!(t.logprob.is_finite());
            }
        }
    }
}

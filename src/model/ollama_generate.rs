//! Raw prompts over Ollama's `/api/generate` (`raw: true`): the prompt is sent as written, with
//! no chat template, for models that read a format of their own (step-tag PRMs such as
//! Math-Shepherd). The reply streams like `/api/chat`'s, its text in `response`, and carries
//! the same `logprobs` (Ollama 0.12.11 or newer). [`OllamaGenerator::stream`] streams both
//! endpoints' replies.

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::{next_chunk, OllamaGenerator, StreamState};
use crate::model::{ChunkStream, GenError, GenOptions, GenRequest};

/// The body of a raw `/api/generate` request.
#[derive(Serialize)]
struct GenerateBody<'a> {
    model: &'a str,
    prompt: &'a str,
    raw: bool,
    stream: bool,
    options: &'a GenOptions,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    logprobs: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_logprobs: Option<u8>,
}

impl OllamaGenerator {
    /// Stream the reply to `prompt`, sent as written (see the module docs); `slot` is the
    /// concurrency slot already taken, held until the stream is dropped.
    pub(super) async fn generate_raw(
        &self,
        prompt: &str,
        req: &GenRequest,
        want_logprobs: bool,
        slot: crate::model::limiter::Slot,
        cancel: CancellationToken,
    ) -> Result<ChunkStream, GenError> {
        let body = GenerateBody {
            model: &self.model,
            prompt,
            raw: true,
            stream: true,
            options: &req.options,
            logprobs: want_logprobs,
            top_logprobs: want_logprobs.then_some(req.top_logprobs.min(20)),
        };
        self.stream("api/generate", &body, slot, cancel).await
    }

    /// POST `body` to `path` and stream the reply as chunks (`/api/chat` and `/api/generate`
    /// reply alike), bounded by the stall timeout; `slot` is held until the stream is dropped.
    pub(super) async fn stream(
        &self,
        path: &str,
        body: &impl Serialize,
        slot: crate::model::limiter::Slot,
        cancel: CancellationToken,
    ) -> Result<ChunkStream, GenError> {
        let resp = self.client.post_stream(path, &self.model, body, &cancel).await?;
        let state = StreamState::new(
            Box::pin(resp.bytes_stream()),
            self.client.inner.settings.stall_timeout,
            self.client.shown_url(path),
            cancel,
            Some(slot),
        );
        Ok(Box::pin(futures::stream::unfold(state, next_chunk)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raw_body_asks_for_the_prompt_as_written() {
        let options = GenOptions { num_predict: Some(1), temperature: Some(0.0), ..GenOptions::default() };
        let body = GenerateBody {
            model: "prm",
            prompt: "Q Step 1: 1 + 1 = 2 ки",
            raw: true,
            stream: true,
            options: &options,
            logprobs: true,
            top_logprobs: Some(20),
        };
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(v["raw"], true);
        assert_eq!(v["prompt"], "Q Step 1: 1 + 1 = 2 ки");
        assert_eq!(v["options"]["num_predict"], 1);
        assert_eq!((v["logprobs"].as_bool(), v["top_logprobs"].as_u64()), (Some(true), Some(20)));
        assert!(v.get("messages").is_none());
    }

    #[test]
    fn a_generate_line_reads_like_a_chat_line() {
        let mut out = std::collections::VecDeque::new();
        let line = br#"{"model":"m","response":"+","done":false,"logprobs":[{"token":"+","logprob":-0.05,"top_logprobs":[{"token":"+","logprob":-0.05},{"token":"-","logprob":-3.2}]}]}"#;
        assert!(!super::super::parse_line(line, "u", &mut out));
        let Some(Ok(crate::model::Chunk::Delta { text, logprobs })) = out.pop_front() else { panic!() };
        assert_eq!(text, "+");
        assert_eq!(logprobs.unwrap()[0].top_logprobs.len(), 2);
    }
}

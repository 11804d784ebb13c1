//! A test generator that streams a script's text in chunks of a chosen size, so that chunk
//! boundaries fall wherever a test wants them (one character per chunk puts one at every
//! character). Stop strings and the token limit apply as on a server.

use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use ttc::model::{Chunk, ChunkStream, GenError, GenRequest, GenStats, Generator, GeneratorInfo, Role};
use ttc::steps::split_steps;

type Script = dyn Fn(&[String]) -> String + Send + Sync;

/// Streams `script(prefix steps)` in chunks: the first of `first` characters, then `size`.
pub struct Chunked {
    script: Arc<Script>,
    first: usize,
    size: usize,
}

impl Chunked {
    pub fn new(
        first: usize,
        size: usize,
        script: impl Fn(&[String]) -> String + Send + Sync + 'static,
    ) -> Self {
        Self { script: Arc::new(script), first, size: size.max(1) }
    }

    /// A model that writes `text` as one solution: a request continuing k steps gets the rest.
    pub fn solution(first: usize, size: usize, text: &str) -> Self {
        let steps = split_steps(text);
        let whole = text.to_string();
        Self::new(first, size, move |prefix| {
            if prefix.is_empty() {
                whole.clone()
            } else {
                steps.get(prefix.len()..).unwrap_or_default().join("\n\n")
            }
        })
    }
}

#[async_trait]
impl Generator for Chunked {
    fn info(&self) -> GeneratorInfo {
        GeneratorInfo {
            backend: "chunked".into(),
            model: "test".into(),
            location: "in-process".into(),
            logprobs: false,
        }
    }

    async fn generate(&self, req: GenRequest, _cancel: CancellationToken) -> Result<ChunkStream, GenError> {
        let prefix = match req.messages.last() {
            Some(m) if m.role == Role::Assistant => split_steps(&m.content),
            _ => Vec::new(),
        };
        let mut text = (self.script)(&prefix);
        if let Some(cut) = req.options.stop.iter().filter_map(|s| text.find(s.as_str())).min() {
            text.truncate(cut);
        }
        let chars: Vec<char> = text.chars().collect();
        let mut pieces = Vec::new();
        let mut at = 0;
        let mut size = self.first;
        while at < chars.len() {
            let end = (at + size.max(1)).min(chars.len());
            pieces.push(chars[at..end].iter().collect::<String>());
            at = end;
            size = self.size;
        }
        let stats = GenStats {
            prompt_tokens: 10,
            generated_tokens: pieces.len() as u64,
            done_reason: "stop".into(),
            ..GenStats::default()
        };
        let mut items: Vec<Result<Chunk, GenError>> =
            pieces.into_iter().map(|t| Ok(Chunk::Delta { text: t, logprobs: None })).collect();
        items.push(Ok(Chunk::Done(stats)));
        Ok(Box::pin(futures::stream::iter(items)))
    }
}

//! Several samples of one prompt in one request (`n`), for OpenAI-compatible servers.
//!
//! Members of a [`SampleGroup`] are cut into chunks of at most `--n-per-request`; the first
//! member of a chunk to ask sends one chat request with `n` = the chunk's size and the seed of
//! the chunk's first member, and every member of the chunk reads its own choice (`index`) of
//! the interleaved stream. The request holds min(n, concurrency) slots of the limiter.
//!
//! Whether the server samples `n` answers is found out, per model, from what it does:
//! - it streams choices with `index` ≥ 1: it does (remembered);
//! - it refuses `n` (HTTP 400 naming it, as llama.cpp's server: "Only one completion choice
//!   is allowed"): every member asks alone, now and later;
//! - it answers only choice 0 (llama-cpp-python ignores `n`): member 0 keeps its answer, the
//!   others ask alone once the response is over, and later groups ask alone from the start.
//!
//! A member that asks alone uses its own seed, so it writes what it would without `n`.
//! Errors of the request (HTTP, a mid-stream error, a stall, a drop) fail every member still
//! running; a choice that ends without its finish reason fails like a stream cut short.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::wire::{self, ChoicePiece, Kind, ReadAll};
use super::OpenAiGenerator;
use crate::model::body::{read_body, BodyRead, ByteStream};
use crate::model::openai_sse::SseDecoder;
use crate::model::{Chunk, ChunkStream, GenError, GenRequest, GenStats, SampleGroup};

/// What a member hears from its group's request.
enum Msg {
    /// The response started (headers arrived): chunks follow.
    Started,
    /// A piece of this member's choice, its end, or an error.
    Chunk(Result<Chunk, GenError>),
    /// The server does not sample `n` answers: ask alone.
    Alone,
}

/// The members of one chunk that have not picked up their channel yet. The entry goes once
/// all have; the strategies ask for every member at once, so none is left behind (one that
/// never asked would keep its buffered answer here).
struct Pending {
    receivers: Vec<Option<mpsc::UnboundedReceiver<Msg>>>,
    life: Arc<Life>,
}

/// The chunks of groups in flight, by (group id, chunk).
#[derive(Default)]
pub(super) struct Groups {
    pending: Mutex<HashMap<(u64, u32), Pending>>,
}

/// Cancels the request once every member has let go of its stream.
struct Life {
    members: AtomicUsize,
    cancel: CancellationToken,
}

/// Held by a member while it reads; the last one dropped cancels the request.
struct Hold(Arc<Life>);

impl Drop for Hold {
    fn drop(&mut self) {
        if self.0.members.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.cancel.cancel();
        }
    }
}

/// The chunk a member falls in: (chunk, its first member, its size), for chunks of `per`.
pub(super) fn chunk_of(g: SampleGroup, per: usize) -> (u32, u32, usize) {
    let per = per.max(1) as u32;
    let chunk = g.index / per;
    let first = chunk * per;
    let size = per.min(g.size.saturating_sub(first)).max(1);
    (chunk, first, size as usize)
}

/// Whether an HTTP 400 body says the server takes no `n` above 1.
fn refuses_n(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    ["choice", "'n'", "`n`", "\"n\"", "n must", "parameter n", "field n"].iter().any(|w| d.contains(w))
}

/// Generate member `g` of a group through one request per chunk (see the module docs).
pub(super) async fn generate(
    gen: &OpenAiGenerator,
    req: GenRequest,
    g: SampleGroup,
    cancel: CancellationToken,
) -> Result<ChunkStream, GenError> {
    let (chunk, first, size) = chunk_of(g, gen.client.inner.settings.n_per_request);
    let me = (g.index - first) as usize;
    let (rx, life) = {
        let mut map = match gen.client.inner.groups.pending.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let key = (g.id, chunk);
        let entry = map.entry(key).or_insert_with(|| {
            let life = Arc::new(Life { members: AtomicUsize::new(size), cancel: CancellationToken::new() });
            let (txs, rxs): (Vec<_>, Vec<_>) = (0..size).map(|_| mpsc::unbounded_channel()).unzip();
            let mut shared = req.clone();
            shared.group = None;
            if let Some(seed) = shared.options.seed.as_mut() {
                *seed = seed.wrapping_sub(me as i64);
            }
            tokio::spawn(run(gen.clone(), shared, txs, life.clone()));
            Pending { receivers: rxs.into_iter().map(Some).collect(), life }
        });
        let rx = entry.receivers.get_mut(me).and_then(Option::take);
        let life = entry.life.clone();
        if entry.receivers.iter().all(Option::is_none) {
            map.remove(&key);
        }
        (rx, life)
    };
    // Asked twice for the same member (not done by the strategies): it asks alone.
    let Some(mut rx) = rx else {
        return gen.generate_one(req, cancel).await;
    };
    let hold = Hold(life);
    let first_msg = tokio::select! {
        _ = cancel.cancelled() => return Err(GenError::Cancelled),
        m = rx.recv() => m,
    };
    match first_msg {
        Some(Msg::Started) => {}
        Some(Msg::Chunk(Err(e))) => return Err(e),
        Some(Msg::Alone) => {
            drop(hold);
            return gen.generate_one(req, cancel).await;
        }
        Some(Msg::Chunk(Ok(_))) | None => {
            return Err(GenError::Dropped("the shared request ended before it started".into()))
        }
    }
    let state = Member { rx, hold: Some(hold), gen: gen.clone(), req, cancel, alone: None };
    Ok(Box::pin(futures::stream::unfold(state, member_next)))
}

/// A member's side of the shared request.
struct Member {
    rx: mpsc::UnboundedReceiver<Msg>,
    hold: Option<Hold>,
    gen: OpenAiGenerator,
    req: GenRequest,
    cancel: CancellationToken,
    /// Its own request, once the server turned out to answer only choice 0.
    alone: Option<ChunkStream>,
}

async fn member_next(mut st: Member) -> Option<(Result<Chunk, GenError>, Member)> {
    loop {
        if let Some(s) = st.alone.as_mut() {
            let item = s.next().await?;
            return Some((item, st));
        }
        let msg = tokio::select! {
            _ = st.cancel.cancelled() => {
                st.rx.close();
                st.alone = Some(Box::pin(futures::stream::empty()));
                return Some((Err(GenError::Cancelled), st));
            }
            m = st.rx.recv() => m,
        };
        match msg? {
            Msg::Chunk(item) => return Some((item, st)),
            Msg::Started => {}
            Msg::Alone => {
                st.hold = None;
                st.rx.close();
                match st.gen.generate_one(st.req.clone(), st.cancel.clone()).await {
                    Ok(s) => st.alone = Some(s),
                    Err(e) => {
                        st.alone = Some(Box::pin(futures::stream::empty()));
                        return Some((Err(e), st));
                    }
                }
            }
        }
    }
}

/// Each member's progress in the shared response.
#[derive(Default, Clone)]
struct Progress {
    pieces: u64,
    tokens: u64,
    first_text: Option<Instant>,
    finish: Option<String>,
}

/// The shared request: send it, then pass each choice to its member.
async fn run(gen: OpenAiGenerator, req: GenRequest, txs: Vec<mpsc::UnboundedSender<Msg>>, life: Arc<Life>) {
    let size = txs.len();
    let cancel = life.cancel.clone();
    let to_all = |m: &dyn Fn() -> Msg| {
        for tx in &txs {
            let _ = tx.send(m());
        }
    };
    let client = &gen.client;
    if client.n_support(&gen.model) == Some(false) {
        return to_all(&|| Msg::Alone);
    }
    let slot = tokio::select! {
        _ = cancel.cancelled() => return,
        s = client.limiter().acquire_many(size) => s,
    };
    // Another group may have found out meanwhile.
    if client.n_support(&gen.model) == Some(false) {
        return to_all(&|| Msg::Alone);
    }
    let continuing = req.messages.last().is_some_and(|m| m.role == crate::model::Role::Assistant);
    let body = wire::ChatBody::new(&gen.model, &req, continuing).with_n(size);
    let path = "v1/chat/completions";
    let started = Instant::now();
    let resp = match client.post_stream(path, &gen.model, &body, continuing, &cancel).await {
        Ok(r) => r,
        Err(GenError::Http { status: 400, detail, .. }) if refuses_n(&detail) => {
            tracing::info!(host = %client.host(), model = %gen.model, "the server takes no n; one request per sample");
            client.remember_n(&gen.model, false);
            return to_all(&|| Msg::Alone);
        }
        Err(e) => return to_all(&|| Msg::Chunk(Err(e.clone()))),
    };
    let resp = match client.streamed(path, resp).await {
        Ok(r) => r,
        Err(e) => return to_all(&|| Msg::Chunk(Err(e.clone()))),
    };
    to_all(&|| Msg::Started);
    let url = client.shown_url(path);
    let mut reader = Reader {
        bytes: Box::pin(resp.bytes_stream()),
        events: SseDecoder::default(),
        progress: vec![Progress::default(); size],
        prompt_tokens: 0,
        started,
    };
    let stall = client.inner.settings.stall_timeout;
    let end: Result<(), GenError> = loop {
        let ev = match reader.events.next_event() {
            Ok(Some(ev)) => ev,
            Ok(None) => match read_body(&mut reader.bytes, stall, &cancel, &url).await {
                BodyRead::Bytes(b) => {
                    reader.events.push(&b);
                    continue;
                }
                BodyRead::Failed(e) => break Err(e),
                BodyRead::Broken(e) => {
                    let detail = format!("reading {url}: {}", client.scrub(&e.to_string()));
                    break Err(GenError::Dropped(detail));
                }
                BodyRead::End => match reader.events.finish() {
                    Ok(Some(ev)) => ev,
                    _ => break Ok(()),
                },
            },
            Err(too_long) => {
                let detail = format!("{too_long} (is this an OpenAI-compatible server?)");
                break Err(GenError::Protocol { url: url.clone(), detail });
            }
        };
        match wire::read_event_all(Kind::Chat, &ev) {
            ReadAll::Nothing => {}
            ReadAll::Done => break Ok(()),
            ReadAll::Error(detail) => break Err(GenError::Stream(client.scrub(&detail))),
            ReadAll::Bad(detail) => {
                break Err(GenError::Protocol { url: url.clone(), detail: client.scrub(&detail) })
            }
            ReadAll::Pieces { choices, usage } => {
                if let Some(u) = usage {
                    reader.prompt_tokens = u.prompt_tokens;
                }
                for c in choices {
                    if reader.piece(c, &txs) && client.n_support(&gen.model).is_none() {
                        client.remember_n(&gen.model, true);
                    }
                }
            }
        }
        if txs.iter().all(|tx| tx.is_closed()) {
            return;
        }
    };
    drop(slot);
    reader.end(end, &txs, &gen, &url);
}

/// The decoding state of the shared response.
struct Reader {
    bytes: ByteStream,
    events: SseDecoder,
    progress: Vec<Progress>,
    prompt_tokens: u64,
    started: Instant,
}

impl Reader {
    /// Pass one choice's piece to its member; true when it is of a choice after the first
    /// (the server samples `n`). A choice the request did not ask for (an index out of range
    /// or not a number), or one already finished, is dropped.
    fn piece(&mut self, c: ChoicePiece, txs: &[mpsc::UnboundedSender<Msg>]) -> bool {
        let Some(i) = c.index.and_then(|i| usize::try_from(i).ok()) else { return false };
        let Some(p) = self.progress.get_mut(i).filter(|p| p.finish.is_none()) else { return false };
        if !c.text.is_empty() || c.logprobs.is_some() {
            p.first_text.get_or_insert_with(Instant::now);
            p.pieces += 1;
            p.tokens += c.logprobs.as_ref().map_or(1, |l| l.len().max(1) as u64);
            let _ = txs[i].send(Msg::Chunk(Ok(Chunk::Delta { text: c.text, logprobs: c.logprobs })));
        }
        if let Some(r) = c.finish {
            p.finish = Some(r);
        }
        i > 0
    }

    /// The response is over (`Ok`: `[DONE]` or the end of the body): each member finishes,
    /// asks alone (the server answered choice 0 only), or fails.
    fn end(
        self,
        end: Result<(), GenError>,
        txs: &[mpsc::UnboundedSender<Msg>],
        gen: &OpenAiGenerator,
        url: &str,
    ) {
        let now = Instant::now();
        let only_first = self.progress.iter().skip(1).all(|p| p.pieces == 0 && p.finish.is_none())
            && self.progress.first().is_some_and(|p| p.finish.is_some());
        if end.is_ok() && only_first && txs.len() > 1 {
            tracing::info!(model = %gen.model, "the server answered one choice of n; one request per sample");
            gen.client.remember_n(&gen.model, false);
        }
        for (i, (p, tx)) in self.progress.iter().zip(txs).enumerate() {
            let msg = match (&end, &p.finish) {
                (_, Some(reason)) => {
                    let first = p.first_text.unwrap_or(now);
                    Msg::Chunk(Ok(Chunk::Done(GenStats {
                        prompt_tokens: if i == 0 { self.prompt_tokens } else { 0 },
                        generated_tokens: p.tokens,
                        prompt_ns: first.duration_since(self.started).as_nanos() as u64,
                        eval_ns: now.duration_since(first).as_nanos() as u64,
                        total_ns: now.duration_since(self.started).as_nanos() as u64,
                        done_reason: reason.clone(),
                    })))
                }
                // Nothing of this choice came (the server answered fewer than asked): it asks alone.
                (Ok(()), None) if p.pieces == 0 => Msg::Alone,
                (Ok(()), None) => Msg::Chunk(Err(GenError::Dropped(format!(
                    "{} ended the response with no finish reason for choice {i} after {} pieces of its text: the server cut it short",
                    crate::safe::redact_host(url),
                    p.pieces
                )))),
                (Err(e), None) => Msg::Chunk(Err(e.clone())),
            };
            let _ = tx.send(msg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(index: u32, size: u32) -> SampleGroup {
        SampleGroup { id: 1, index, size }
    }

    #[test]
    fn members_fall_in_chunks_of_at_most_n() {
        assert_eq!(chunk_of(g(0, 20), 8), (0, 0, 8));
        assert_eq!(chunk_of(g(7, 20), 8), (0, 0, 8));
        assert_eq!(chunk_of(g(8, 20), 8), (1, 8, 8));
        assert_eq!(chunk_of(g(19, 20), 8), (2, 16, 4));
        assert_eq!(chunk_of(g(3, 5), 1), (3, 3, 1));
        assert_eq!(chunk_of(g(3, 5), 0), (3, 3, 1));
        // A member past the size it names (not made by the strategies) is alone.
        assert_eq!(chunk_of(g(9, 5), 8), (1, 8, 1));
    }

    /// The SSE text of `texts` streamed as choices of one response, interleaved in an order
    /// drawn from `order`, in pieces of `piece` characters, with junk choices (a negative, a
    /// non-numeric and an out-of-range index) among them.
    fn interleaved(texts: &[String], order: u64, piece: usize) -> String {
        let mut pieces: Vec<std::collections::VecDeque<String>> = texts
            .iter()
            .map(|t| {
                let chars: Vec<char> = t.chars().collect();
                chars.chunks(piece).map(|c| c.iter().collect()).collect()
            })
            .collect();
        let mut out = String::new();
        let mut state = order | 1;
        let mut open: Vec<usize> = (0..texts.len()).collect();
        while !open.is_empty() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let k = open[(state >> 33) as usize % open.len()];
            let delta = match pieces[k].pop_front() {
                Some(p) => serde_json::json!({"index": k, "delta": {"content": p}, "finish_reason": null}),
                None => {
                    open.retain(|&o| o != k);
                    serde_json::json!({"index": k, "delta": {}, "finish_reason": "stop"})
                }
            };
            out.push_str(&format!("data: {}\n\n", serde_json::json!({"choices": [delta]})));
            if state % 5 == 0 {
                let junk = serde_json::json!({"choices": [
                    {"index": -1, "delta": {"content": "JUNK"}},
                    {"index": "1", "delta": {"content": "JUNK"}},
                    {"index": 99, "delta": {"content": "JUNK"}},
                ]});
                out.push_str(&format!("data: {junk}\n\n"));
            }
        }
        out.push_str("data: [DONE]\n\n");
        out
    }

    proptest::proptest! {
        #[test]
        fn interleaved_choices_cut_anywhere_reach_their_members_whole(
            texts in proptest::collection::vec("[a-z0-9 .,中文数学😀é\\\\{}$^_\n]{0,30}", 1..5),
            order in proptest::prelude::any::<u64>(),
            piece in 1usize..5,
            cuts in proptest::collection::vec(0usize..3000, 0..10),
        ) {
            let bytes = interleaved(&texts, order, piece).into_bytes();
            let (txs, mut rxs): (Vec<_>, Vec<_>) = (0..texts.len()).map(|_| mpsc::unbounded_channel()).unzip();
            let mut reader = Reader {
                bytes: Box::pin(futures::stream::empty()),
                events: SseDecoder::default(),
                progress: vec![Progress::default(); texts.len()],
                prompt_tokens: 0,
                started: Instant::now(),
            };
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.sort_unstable();
            let mut from = 0;
            let mut done = false;
            for c in cuts.into_iter().chain([bytes.len()]) {
                reader.events.push(&bytes[from..c]);
                from = c;
                while let Some(ev) = reader.events.next_event().unwrap() {
                    match wire::read_event_all(Kind::Chat, &ev) {
                        ReadAll::Pieces { choices, .. } => {
                            for ch in choices {
                                reader.piece(ch, &txs);
                            }
                        }
                        ReadAll::Done => done = true,
                        other => panic!("{other:?}"),
                    }
                }
            }
            proptest::prop_assert!(done);
            for (i, rx) in rxs.iter_mut().enumerate() {
                let mut got = String::new();
                while let Ok(m) = rx.try_recv() {
                    if let Msg::Chunk(Ok(Chunk::Delta { text, .. })) = m {
                        got.push_str(&text);
                    }
                }
                proptest::prop_assert_eq!(&got, &texts[i]);
                proptest::prop_assert_eq!(reader.progress[i].finish.as_deref(), Some("stop"));
            }
        }
    }

    #[test]
    fn a_refusal_of_n_is_told_from_other_400s() {
        assert!(refuses_n("Only one completion choice is allowed"));
        assert!(refuses_n("Unsupported value: 'n' does not support 4 with this model."));
        assert!(!refuses_n("max_tokens must be at least 1"));
        assert!(!refuses_n("continue_final_message is not supported"));
    }
}

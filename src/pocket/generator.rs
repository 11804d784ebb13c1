//! `PocketGenerator`: the pocket policy behind the [`Generator`] trait.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::channel::mpsc;
use tokio_util::sync::CancellationToken;

use super::net::{self, Cache, Net, Scratch, VOCAB};
use super::prefix::{PrefixCache, State};
use super::task::{self, Chain, Rng, EOS};
use super::{prompt_tokens, Pocket};
use crate::model::{
    Chunk, ChunkStream, GenError, GenRequest, GenStats, Generator, GeneratorInfo, Message, Role,
    TokenLogprob, TopLogprob,
};

/// The pace of the embedded model's stream, in tokens per second per candidate; 0 is full
/// speed. One setting for the process: the view sets it (`--pace`, and a key toggles it) so
/// a person can watch candidates grow; headless runs leave it at full speed.
static PACE: AtomicU32 = AtomicU32::new(0);

/// Most tokens per second `--pace` accepts (0 is full speed).
pub const PACE_MAX: u32 = 1000;

/// Set the pace of every embedded-model stream: tokens per second per candidate, 0 = full speed.
/// It applies at once, to streams already running too.
pub fn set_pace(tokens_per_sec: u32) {
    PACE.store(tokens_per_sec.min(PACE_MAX), Ordering::Relaxed);
}

/// The pace in force (0 = full speed).
pub fn pace() -> u32 {
    PACE.load(Ordering::Relaxed)
}

/// The pocket policy model as a streaming generator (runs on a blocking thread).
pub struct PocketGenerator {
    pocket: Arc<Pocket>,
    pace: &'static AtomicU32,
}

impl PocketGenerator {
    /// A generator over loaded pocket weights, at the process's pace ([`set_pace`]).
    pub fn new(pocket: Arc<Pocket>) -> Self {
        Self { pocket, pace: &PACE }
    }

    /// A generator paced by its own setting instead of the process's.
    pub fn with_pace(pocket: Arc<Pocket>, pace: &'static AtomicU32) -> Self {
        Self { pocket, pace }
    }
}

/// Wait one token's time at `pace` (tokens per second; 0 = no wait), in slices so a
/// cancelled stream stops at once. Returns false when cancelled.
fn pace_wait(pace: &AtomicU32, cancel: &CancellationToken) -> bool {
    let tps = pace.load(Ordering::Relaxed);
    if tps == 0 {
        return true;
    }
    let until = Instant::now() + Duration::from_secs_f64(1.0 / tps as f64);
    while Instant::now() < until {
        if cancel.is_cancelled() {
            return false;
        }
        // The pace may change meanwhile (full speed at a key press).
        if pace.load(Ordering::Relaxed) == 0 {
            return true;
        }
        std::thread::sleep((until - Instant::now()).min(Duration::from_millis(20)));
    }
    true
}

/// The compact problem for any text: the parsed chain, or a best-effort stand-in.
pub(crate) fn compact_problem(text: &str) -> (Option<Chain>, String) {
    match Chain::parse(text) {
        Some(c) => {
            let s = c.compact();
            (Some(c), s)
        }
        None => {
            let s: String =
                text.chars().filter(|c| c.is_ascii_digit() || "+-*".contains(*c)).take(40).collect();
            (None, if s.is_empty() { "0".into() } else { s })
        }
    }
}

/// Bytes at the end of `text` that may be the start of a stop string (held back until known).
fn held_back(text: &str, stops: &[String]) -> usize {
    stops
        .iter()
        .map(|st| {
            // Only whole characters of the stop string: `st[..k]` inside `×` would panic.
            (1..st.len())
                .rev()
                .filter(|&k| st.is_char_boundary(k))
                .find(|&k| text.ends_with(&st[..k]))
                .unwrap_or(0)
        })
        .max()
        .unwrap_or(0)
}

/// Where `stop` first occurs in `text`, given that it does not occur in `text[..before]`:
/// the same as `text.find(stop)`, searching only the tail a new occurrence can start in.
fn find_new(text: &str, before: usize, stop: &str) -> Option<usize> {
    let mut from = before.saturating_sub(stop.len().saturating_sub(1)).min(text.len());
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    text[from..].find(stop).map(|i| from + i)
}

/// The model's prompt tokens for a chat: the compact problem (with the last earlier
/// attempt's step results for a revision prompt), then any partial assistant answer.
pub fn chat_tokens(messages: &[Message]) -> Vec<u8> {
    let user = messages.iter().rev().find(|m| m.role == Role::User).map(|m| m.content.as_str()).unwrap_or("");
    let (chain, mut compact) = compact_problem(user);
    if let (Some(chain), Some(at)) = (&chain, user.rfind("Attempt ")) {
        let results = task::attempt_results(&user[at..]);
        compact = task::compact_prompt(chain, Some(&results));
    }
    let mut toks = prompt_tokens(&compact);
    if let Some(m) = messages.last().filter(|m| m.role == Role::Assistant) {
        toks.extend(net::encode(&m.content));
    }
    toks
}

struct Job {
    pocket: Arc<Pocket>,
    prompt: Vec<u8>,
    temperature: f32,
    seed: u64,
    limit: usize,
    stop: Vec<String>,
    top: usize,
    cancel: CancellationToken,
    tx: mpsc::UnboundedSender<Result<Chunk, GenError>>,
    pace: &'static AtomicU32,
}

fn token_text(t: usize) -> String {
    match t as u8 {
        EOS => String::new(),
        b if b >= 9 && (b as usize) < VOCAB => (b as char).to_string(),
        _ => String::new(),
    }
}

/// Prompt states kept for reuse: all the samples of a problem share their prompt.
static PROMPTS: PrefixCache = PrefixCache::new(16 << 20);

/// Feed `prompt` (it fits the context) from its longest stored prefix; returns the cache and
/// leaves the logits after its last token in `s`. The same arithmetic as feeding it whole.
pub(crate) fn feed_prompt(net: &Net, prompt: &[u8], s: &mut Scratch, prompts: Option<&PrefixCache>) -> Cache {
    let key = net.key();
    let (start, state) = match prompts.and_then(|c| c.take(key, prompt, &[])) {
        Some(found) => found,
        None => (0, State { cache: net.cache(), logits: vec![0.0; VOCAB], ll: 0.0, scores: Vec::new() }),
    };
    let mut cache = state.cache;
    cache.reserve(net);
    s.logits.copy_from_slice(&state.logits);
    for (i, tk) in prompt.iter().enumerate().skip(start) {
        net.step(&mut cache, s, *tk, i + 1 == prompt.len());
    }
    if let Some(c) = prompts.filter(|_| start < prompt.len()) {
        let state = State { cache: cache.clone(), logits: s.logits.clone(), ll: 0.0, scores: Vec::new() };
        c.put(key, prompt.to_vec(), Vec::new(), true, state);
    }
    cache
}

fn run(job: Job) {
    let t0 = Instant::now();
    let net = &job.pocket.policy;
    let mut s = net.scratch();
    let mut rng = Rng::new(job.seed);
    let send = |c: Chunk| job.tx.unbounded_send(Ok(c)).is_ok();
    let prompt: &[u8] = &job.prompt;
    let fits = prompt.len() < net.ctx;
    let mut cache = if fits { feed_prompt(net, prompt, &mut s, Some(&PROMPTS)) } else { net.cache() };
    let prompt_ns = t0.elapsed().as_nanos() as u64;
    let t1 = Instant::now();
    let mut text = String::new();
    let mut emitted = 0usize;
    let mut pending_lp: Vec<TokenLogprob> = Vec::new();
    let mut generated = 0u64;
    let mut reason = "length";
    let mut limit = job.limit;
    if !fits {
        limit = 0;
    }
    while generated < limit as u64 {
        if job.cancel.is_cancelled() || job.tx.is_closed() {
            return;
        }
        let tok = net::sample(&s.logits, job.temperature, &mut rng);
        generated += 1;
        if tok == EOS as usize {
            reason = "stop";
            break;
        }
        let piece = token_text(tok);
        if job.top > 0 {
            let lsm = net::log_softmax(&s.logits);
            let mut idx: Vec<usize> = (0..lsm.len()).collect();
            idx.sort_by(|a, b| lsm[*b].total_cmp(&lsm[*a]));
            pending_lp.push(TokenLogprob {
                token: piece.clone(),
                logprob: lsm[tok] as f64,
                top_logprobs: idx
                    .iter()
                    .take(job.top)
                    .map(|&i| TopLogprob { token: token_text(i), logprob: lsm[i] as f64 })
                    .collect(),
            });
        }
        let before = text.len();
        text.push_str(&piece);
        // A stop string ends the text before it. None was in the text before this piece, so
        // a new one ends inside the piece: only the tail that may hold it is searched.
        let cut =
            job.stop.iter().filter(|st| !st.is_empty()).filter_map(|st| find_new(&text, before, st)).min();
        if let Some(cut) = cut {
            if cut > emitted {
                let lp = (job.top > 0).then(|| std::mem::take(&mut pending_lp));
                if !send(Chunk::Delta { text: text[emitted..cut].to_string(), logprobs: lp }) {
                    return;
                }
                emitted = cut;
            }
            text.truncate(cut);
            reason = "stop";
            break;
        }
        // Hold back a tail that may be the start of a stop string.
        let hold = held_back(&text, &job.stop);
        let upto = text.len() - hold;
        if upto > emitted {
            let lp = (job.top > 0).then(|| std::mem::take(&mut pending_lp));
            if !send(Chunk::Delta { text: text[emitted..upto].to_string(), logprobs: lp }) {
                return;
            }
            emitted = upto;
        }
        if !pace_wait(job.pace, &job.cancel) {
            return;
        }
        if cache.len >= net.ctx {
            break;
        }
        net.step(&mut cache, &mut s, tok as u8, true);
    }
    // Flush held-back text (it never became a stop string).
    if text.len() > emitted {
        let lp = (job.top > 0).then(|| std::mem::take(&mut pending_lp));
        send(Chunk::Delta { text: text[emitted..].to_string(), logprobs: lp });
    }
    let eval_ns = t1.elapsed().as_nanos() as u64;
    send(Chunk::Done(GenStats {
        prompt_tokens: job.prompt.len() as u64,
        generated_tokens: generated,
        prompt_ns,
        eval_ns,
        total_ns: t0.elapsed().as_nanos() as u64,
        done_reason: reason.into(),
    }));
}

#[async_trait]
impl Generator for PocketGenerator {
    fn info(&self) -> GeneratorInfo {
        GeneratorInfo {
            backend: "pocket".into(),
            model: "pocket-policy".into(),
            location: "in-process".into(),
            logprobs: true,
        }
    }

    async fn generate(&self, req: GenRequest, cancel: CancellationToken) -> Result<ChunkStream, GenError> {
        if cancel.is_cancelled() {
            return Err(GenError::Cancelled);
        }
        if req.raw.is_some() {
            return Err(GenError::Protocol {
                url: "the embedded pocket model".into(),
                detail:
                    "it takes chat requests only, not a raw prompt (a step-tag PRM needs an Ollama server)"
                        .into(),
            });
        }
        let (tx, rx) = mpsc::unbounded();
        let ctx = self.pocket.policy.ctx;
        let job = Job {
            pocket: self.pocket.clone(),
            prompt: chat_tokens(&req.messages),
            temperature: req.options.temperature.unwrap_or(0.8),
            seed: req.options.seed.unwrap_or(0) as u64,
            limit: req.options.num_predict.filter(|n| *n > 0).map(|n| n as usize).unwrap_or(ctx),
            stop: req.options.stop.clone(),
            top: req.top_logprobs.min(20) as usize,
            cancel,
            tx,
            pace: self.pace,
        };
        tokio::task::spawn_blocking(move || run(job));
        Ok(Box::pin(rx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Generator, Message};
    use futures::StreamExt;

    #[tokio::test]
    async fn a_raw_prompt_is_refused_with_the_reason() {
        let g = PocketGenerator::new(Pocket::embedded().unwrap());
        let Err(e) = g.generate(GenRequest::raw("1 + 1 = 2 ки"), CancellationToken::new()).await else {
            panic!("a raw prompt was accepted")
        };
        assert!(e.to_string().contains("chat requests only, not a raw prompt"), "{e}");
    }

    /// Stream one answer; returns (deltas, seconds).
    async fn stream(g: &PocketGenerator) -> (usize, f64) {
        let t = Instant::now();
        let req = GenRequest::new(vec![Message::user("Start at 26. Multiply by 2. Subtract 4.")]);
        let mut s = g.generate(req, CancellationToken::new()).await.unwrap();
        let mut deltas = 0;
        while let Some(c) = s.next().await {
            if let Ok(Chunk::Delta { .. }) = c {
                deltas += 1;
            }
        }
        (deltas, t.elapsed().as_secs_f64())
    }

    #[tokio::test]
    async fn a_paced_stream_takes_its_time_and_full_speed_applies_at_once() {
        static PACED: AtomicU32 = AtomicU32::new(0);
        let g = PocketGenerator::with_pace(Pocket::embedded().unwrap(), &PACED);
        let (deltas, fast) = stream(&g).await;
        assert!(deltas >= 10, "{deltas}");
        PACED.store(100, Ordering::Relaxed);
        let (_, paced) = stream(&g).await;
        assert!(paced >= deltas as f64 / 100.0 * 0.8, "{deltas} tokens at 100/s took {paced:.2} s");
        assert!(paced > fast, "{paced} vs {fast}");
        assert_eq!(pace(), 0, "the process's pace is untouched: headless runs run at full speed");
    }

    /// The decoding loop as it was before prompts were stored: the whole prompt fed, then
    /// samples until the end, the limit or the context.
    fn reference(net: &Net, prompt: &[u8], temperature: f32, seed: u64) -> String {
        let mut cache = net.cache();
        let mut s = net.scratch();
        for (i, tk) in prompt.iter().enumerate() {
            net.step(&mut cache, &mut s, *tk, i + 1 == prompt.len());
        }
        let mut rng = Rng::new(seed);
        let mut text = String::new();
        for _ in 0..net.ctx {
            let tok = net::sample(&s.logits, temperature, &mut rng);
            if tok == EOS as usize {
                break;
            }
            text.push_str(&token_text(tok));
            if cache.len >= net.ctx {
                break;
            }
            net.step(&mut cache, &mut s, tok as u8, true);
        }
        text
    }

    #[test]
    fn stored_prompts_give_the_same_state_bit_for_bit() {
        let pocket = Pocket::embedded().unwrap();
        let net = &pocket.policy;
        let store = PrefixCache::new(1 << 20);
        for (level, index) in [(3, 11), (5, 0)] {
            let prompt = chat_tokens(&[Message::user(crate::pocket::problem(level, index).text)]);
            let mut longer = prompt.clone();
            longer.extend(b"27+48=75\n\n");
            for p in [&prompt, &prompt, &longer, &longer] {
                let mut want = net.scratch();
                let c0 = feed_prompt(net, p, &mut want, None);
                let mut got = net.scratch();
                let c1 = feed_prompt(net, p, &mut got, Some(&store));
                assert_eq!(c1.len, p.len());
                assert_eq!(c0.bits(), c1.bits());
                let logit_bits = |s: &Scratch| s.logits.iter().map(|l| l.to_bits()).collect::<Vec<_>>();
                assert_eq!(logit_bits(&want), logit_bits(&got));
            }
        }
        assert_eq!(store.len(), 4);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn generated_texts_are_those_of_the_whole_prompt_fed_each_time() {
        let pocket = Pocket::embedded().unwrap();
        let g = PocketGenerator::new(pocket.clone());
        for (level, index) in [(2, 4), (4, 7)] {
            let problem = crate::pocket::problem(level, index);
            let prompt = chat_tokens(&[Message::user(problem.text.clone())]);
            for seed in 0..6 {
                for _ in 0..2 {
                    let mut req = GenRequest::new(vec![Message::user(problem.text.clone())]);
                    req.options.seed = Some(seed);
                    req.options.temperature = Some(1.0);
                    let got = crate::model::collect(&g, req, CancellationToken::new()).await.unwrap();
                    assert_eq!(got.text, reference(&pocket.policy, &prompt, 1.0, seed as u64));
                }
            }
        }
    }

    #[test]
    fn new_stop_strings_are_found_where_a_whole_search_finds_them() {
        let text = "ab\n\ncd×e\n\nfg";
        for stop in ["\n\n", "×e", "d×", "g", "x", "b\n\nc", "fg"] {
            // Grown piece by piece, as the stream grows, up to the first occurrence.
            let mut seen = None;
            let mut before = 0;
            for (i, ch) in text.char_indices() {
                let now = &text[..i + ch.len_utf8()];
                if let Some(at) = find_new(now, before, stop) {
                    seen = Some(at);
                    break;
                }
                before = now.len();
            }
            assert_eq!(seen, text.find(stop), "{stop:?}");
        }
    }

    #[test]
    fn held_back_tails_stop_on_character_boundaries() {
        let stops = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(held_back("a\n", &stops(&["\n\n"])), 1);
        assert_eq!(held_back("ab", &stops(&["\n\n"])), 0);
        // A multi-byte stop string: its first byte alone is not a prefix to test.
        assert_eq!(held_back("3 ×", &stops(&["×4", "—"])), "×".len());
        assert_eq!(held_back("x", &stops(&["×", "中文"])), 0);
        assert_eq!(held_back("中", &stops(&["中文"])), "中".len());
    }
}

//! The pool's choice of host and its failover, on scripted hosts.

use std::sync::atomic::AtomicU64;

use super::*;
use crate::model::{collect, GenStats, Message, TokenLogprob};

/// What a scripted host does with each request.
#[derive(Clone, Copy, PartialEq)]
enum Act {
    /// Answers "from NAME".
    Answer,
    /// Never ends (holds its slot).
    Hang,
    /// Refuses at once: unreachable.
    Refuse,
    /// Starts, then drops the connection before any text.
    DropEarly,
}

struct Scripted {
    name: &'static str,
    act: Mutex<Act>,
    calls: AtomicU64,
}

impl Scripted {
    fn new(name: &'static str, act: Act) -> Arc<Self> {
        Arc::new(Self { name, act: Mutex::new(act), calls: AtomicU64::new(0) })
    }
    fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl Generator for Scripted {
    fn info(&self) -> GeneratorInfo {
        GeneratorInfo {
            backend: "openai".into(),
            model: "m".into(),
            location: self.name.into(),
            logprobs: false,
        }
    }

    async fn generate(&self, _req: GenRequest, _cancel: CancellationToken) -> Result<ChunkStream, GenError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let delta = |t: &str| Ok(Chunk::Delta { text: t.to_string(), logprobs: None });
        let done = Ok(Chunk::Done(GenStats { done_reason: "stop".into(), ..GenStats::default() }));
        let act = *lock(&self.act);
        Ok(match act {
            Act::Answer => Box::pin(futures::stream::iter(vec![delta("from "), delta(self.name), done])),
            Act::Hang => Box::pin(futures::stream::pending()),
            Act::Refuse => {
                return Err(GenError::ServerUnreachable { host: self.name.into(), detail: "refused".into() })
            }
            Act::DropEarly => Box::pin(futures::stream::iter(vec![
                delta(""),
                Err(GenError::Dropped("connection reset".into())),
            ])),
        })
    }
}

fn pool(hosts: &[(&Arc<Scripted>, usize)]) -> Pool {
    let members = hosts
        .iter()
        .map(|(g, limit)| Member::new(g.name, (*g).clone() as Arc<dyn Generator>).with_limit(*limit))
        .collect();
    Pool::with_backoff(members, Duration::from_secs(3600))
}

fn req() -> GenRequest {
    GenRequest::new(vec![Message::user("q")])
}

async fn ask(p: &Pool) -> Result<String, GenError> {
    collect(p, req(), CancellationToken::new()).await.map(|c| c.text)
}

#[tokio::test]
async fn requests_go_to_the_least_loaded_host_by_share_of_its_limit() {
    let (a, b) = (Scripted::new("a", Act::Hang), Scripted::new("b", Act::Hang));
    let p = pool(&[(&a, 2), (&b, 4)]);
    // Ties go to the first host.
    assert_eq!(p.choose(), Some(0));
    let mut held = Vec::new();
    for _ in 0..6 {
        held.push(p.generate(req(), CancellationToken::new()).await.unwrap());
    }
    // 6 requests over limits 2 and 4: 2 to a, 4 to b, each full.
    let hosts = p.hosts_now();
    assert_eq!((hosts[0].running, hosts[1].running), (2, 4), "{hosts:?}");
    assert_eq!((a.calls(), b.calls()), (2, 4));
    // One more: both are full (share 1), so the first takes it and queues it.
    held.push(p.generate(req(), CancellationToken::new()).await.unwrap());
    assert_eq!(p.hosts_now()[0].queued, 1);
    assert_eq!(crate::model::pool::summary(&p.hosts_now()), "hosts 2/2 ok · 6/6 running");
    // Ending requests frees their host's share.
    held.clear();
    assert!(p.hosts_now().iter().all(|h| h.running == 0 && h.queued == 0));
}

#[tokio::test]
async fn a_refusing_host_passes_the_request_on_and_is_avoided() {
    let (a, b) = (Scripted::new("a", Act::Refuse), Scripted::new("b", Act::Answer));
    let p = pool(&[(&a, 4), (&b, 4)]);
    assert_eq!(ask(&p).await.unwrap(), "from b");
    let hosts = p.hosts_now();
    assert!(!hosts[0].healthy && hosts[1].healthy, "{hosts:?}");
    assert_eq!(crate::model::pool::summary(&hosts), "hosts 1/2 ok · 0/8 running");
    // While a backs off, new requests skip it.
    for _ in 0..3 {
        assert_eq!(ask(&p).await.unwrap(), "from b");
    }
    assert_eq!((a.calls(), b.calls()), (1, 4));
}

#[tokio::test]
async fn a_drop_before_any_text_moves_to_another_host() {
    let (a, b) = (Scripted::new("a", Act::DropEarly), Scripted::new("b", Act::Answer));
    let p = pool(&[(&a, 1), (&b, 1)]);
    assert_eq!(ask(&p).await.unwrap(), "from b");
    assert!(!p.hosts_now()[0].healthy);
    assert!(p.hosts_now().iter().all(|h| h.running == 0));
}

#[tokio::test]
async fn a_model_error_after_text_fails_the_request_and_is_not_replayed() {
    let a = Pieces::new("a", &["half ", "an answer"], End::ModelError(1));
    let b = Pieces::new("b", &["half ", "an answer"], End::Done);
    let p = pool_of(&[&a, &b]);
    let e = p.generate(seeded(), CancellationToken::new()).await.unwrap();
    let (text, err) = drain(e).await;
    assert_eq!(text, "half ");
    assert!(matches!(err, Some(GenError::Stream(_))), "{err:?}");
    assert_eq!(b.calls(), 0, "a model error is the request's own: not sent elsewhere");
    assert!(p.hosts_now()[0].healthy, "a model error says nothing about the host");
    assert_eq!(a.calls(), 1);
}

#[tokio::test]
async fn a_request_fails_only_when_every_host_failed() {
    let (a, b) = (Scripted::new("a", Act::Refuse), Scripted::new("b", Act::DropEarly));
    let p = pool(&[(&a, 1), (&b, 1)]);
    let e = ask(&p).await.unwrap_err();
    assert!(is_host_failure(&e), "{e}");
    assert_eq!((a.calls(), b.calls()), (1, 1));
    // With every host backing off, a request still tries them (best first) rather than fail unasked.
    *lock(&a.act) = Act::Answer;
    assert_eq!(ask(&p).await.unwrap(), "from a");
    assert!(p.hosts_now()[0].healthy, "a success ends the back-off");
}

#[tokio::test]
async fn a_host_is_tried_again_after_its_back_off() {
    let (a, b) = (Scripted::new("a", Act::Refuse), Scripted::new("b", Act::Answer));
    let members = vec![
        Member::new("a", a.clone() as Arc<dyn Generator>).with_limit(1),
        Member::new("b", b.clone() as Arc<dyn Generator>).with_limit(1),
    ];
    let p = Pool::with_backoff(members, Duration::from_millis(1));
    assert_eq!(ask(&p).await.unwrap(), "from b");
    *lock(&a.act) = Act::Answer;
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(ask(&p).await.unwrap(), "from a");
}

#[tokio::test]
async fn the_pool_reports_hosts_and_summed_load() {
    let (a, b) = (Scripted::new("a", Act::Hang), Scripted::new("b", Act::Hang));
    let p = pool(&[(&a, 2), (&b, 3)]);
    let load = p.load().unwrap();
    let hosts = p.hosts().unwrap();
    let _s = p.generate(req(), CancellationToken::new()).await.unwrap();
    assert_eq!(*load.borrow(), Load { running: 1, queued: 0, limit: 5 });
    assert_eq!(hosts.borrow().iter().map(|h| h.host.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(p.info().location, "2 hosts: a, b");
}

#[test]
fn only_connection_level_failures_move_a_request() {
    let http = |status| GenError::Http { status, url: "u".into(), detail: String::new() };
    assert!(is_host_failure(&http(502)) && !is_host_failure(&http(400)));
    assert!(!is_host_failure(&GenError::Cancelled));
    assert!(!is_host_failure(&GenError::Stream("model error".into())));
    assert!(is_host_failure(&GenError::Stalled { url: "u".into(), secs: 1.0 }));
}

// ---- mid-stream failover: the same request replayed on another host ----

/// How a [`Pieces`] host ends its answer.
#[derive(Clone, Copy)]
enum End {
    Done,
    /// The connection drops after this many pieces.
    DropAfter(usize),
    /// A model error line after this many pieces.
    ModelError(usize),
    /// The stream ends after this many pieces without a final chunk.
    Vanish(usize),
}

/// A host that answers in given pieces, one token of log-probabilities per piece.
struct Pieces {
    name: &'static str,
    pieces: Vec<String>,
    end: End,
    logprobs: bool,
    calls: AtomicU64,
}

impl Pieces {
    fn new(name: &'static str, pieces: &[&str], end: End) -> Arc<Self> {
        Arc::new(Self {
            name,
            pieces: pieces.iter().map(|p| p.to_string()).collect(),
            end,
            logprobs: true,
            calls: AtomicU64::new(0),
        })
    }
    /// Pieces without log-probabilities.
    fn text_only(name: &'static str, pieces: &[&str], end: End) -> Arc<Self> {
        let mut p = Self::new(name, pieces, end);
        Arc::get_mut(&mut p).expect("new").logprobs = false;
        p
    }
    fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

fn token(t: &str) -> TokenLogprob {
    TokenLogprob { token: t.to_string(), logprob: -0.5, top_logprobs: Vec::new() }
}

#[async_trait]
impl Generator for Pieces {
    fn info(&self) -> GeneratorInfo {
        GeneratorInfo {
            backend: "openai".into(),
            model: "m".into(),
            location: self.name.into(),
            logprobs: true,
        }
    }

    async fn generate(&self, req: GenRequest, _cancel: CancellationToken) -> Result<ChunkStream, GenError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        assert_eq!(req.options.seed, Some(7), "a replay sends the same request");
        // A piece "a|b" is one delta of two tokens.
        let delta = |p: &String| {
            let tokens: Vec<TokenLogprob> = p.split('|').map(token).collect();
            Ok(Chunk::Delta { text: p.replace('|', ""), logprobs: self.logprobs.then_some(tokens) })
        };
        let (n, tail) = match self.end {
            End::Done => (self.pieces.len(), None),
            End::DropAfter(k) => (k, Some(GenError::Dropped("connection reset".into()))),
            End::ModelError(k) => (k, Some(GenError::Stream("out of memory".into()))),
            End::Vanish(k) => {
                return Ok(Box::pin(futures::stream::iter(
                    self.pieces.iter().take(k).map(delta).collect::<Vec<_>>(),
                )))
            }
        };
        let mut out: Vec<Result<Chunk, GenError>> = self.pieces.iter().take(n).map(delta).collect();
        match tail {
            Some(e) => out.push(Err(e)),
            None => out.push(Ok(Chunk::Done(GenStats {
                generated_tokens: self.pieces.len() as u64,
                done_reason: format!("stop on {}", self.name),
                ..GenStats::default()
            }))),
        }
        Ok(Box::pin(futures::stream::iter(out)))
    }
}

fn pool_of(hosts: &[&Arc<Pieces>]) -> Pool {
    let members =
        hosts.iter().map(|g| Member::new(g.name, (*g).clone() as Arc<dyn Generator>).with_limit(4)).collect();
    Pool::with_backoff(members, Duration::from_secs(3600))
}

fn seeded() -> GenRequest {
    let mut r = req();
    r.options.seed = Some(7);
    r
}

/// Every delta's text and tokens as passed on, and the stats or the error that ended the stream.
async fn deltas(p: &Pool) -> (Vec<(String, Vec<String>)>, Result<GenStats, GenError>) {
    let mut s = p.generate(seeded(), CancellationToken::new()).await.unwrap();
    let mut out = Vec::new();
    while let Some(c) = s.next().await {
        match c {
            Ok(Chunk::Delta { text, logprobs }) => {
                out.push((text, logprobs.unwrap_or_default().into_iter().map(|l| l.token).collect()))
            }
            Ok(Chunk::Done(stats)) => return (out, Ok(stats)),
            Err(e) => return (out, Err(e)),
        }
    }
    (out, Err(GenError::Dropped("no final chunk".into())))
}

async fn drain(mut s: ChunkStream) -> (String, Option<GenError>) {
    let mut text = String::new();
    while let Some(c) = s.next().await {
        match c {
            Ok(Chunk::Delta { text: t, .. }) => text.push_str(&t),
            Ok(Chunk::Done(_)) => return (text, None),
            Err(e) => return (text, Some(e)),
        }
    }
    (text, None)
}

fn text_of(d: &[(String, Vec<String>)]) -> String {
    d.iter().map(|(t, _)| t.as_str()).collect()
}

fn tokens_of(d: &[(String, Vec<String>)]) -> Vec<String> {
    d.iter().flat_map(|(_, t)| t.clone()).collect()
}

#[tokio::test]
async fn a_drop_after_text_is_replayed_on_another_host_and_continues_seamlessly() {
    let a = Pieces::new("a", &["The ", "answer ", "is ", "42."], End::DropAfter(2));
    // b cuts its deltas elsewhere: its first delta straddles the cut.
    let b = Pieces::new("b", &["The |answer |is ", "42."], End::Done);
    let p = pool_of(&[&a, &b]);
    let (d, end) = deltas(&p).await;
    let stats = end.unwrap();
    assert_eq!(text_of(&d), "The answer is 42.");
    assert_eq!(d.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(), ["The ", "answer ", "is ", "42."]);
    assert_eq!(tokens_of(&d), ["The ", "answer ", "is ", "42."], "each token once, in order");
    assert_eq!(stats.done_reason, "stop on b", "the stats are the host's that finished");
    assert_eq!((a.calls(), b.calls()), (1, 1));
    let hosts = p.hosts_now();
    assert!(!hosts[0].healthy && hosts[1].healthy, "{hosts:?}");
    assert!(hosts.iter().all(|h| h.running == 0), "{hosts:?}");
}

#[tokio::test]
async fn a_replay_that_fails_too_moves_on_and_the_text_is_never_repeated() {
    let a = Pieces::new("a", &["one ", "two ", "three ", "four"], End::DropAfter(1));
    let b = Pieces::new("b", &["one ", "two ", "three ", "four"], End::DropAfter(3));
    // c answers in one delta of four tokens: three of them already shown.
    let c = Pieces::new("c", &["one |two |three |four"], End::Done);
    let p = pool_of(&[&a, &b, &c]);
    let (d, end) = deltas(&p).await;
    assert!(end.is_ok(), "{end:?}");
    assert_eq!(d.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(), ["one ", "two ", "three ", "four"]);
    assert_eq!(tokens_of(&d), ["one ", "two ", "three ", "four"]);
    assert_eq!((a.calls(), b.calls(), c.calls()), (1, 1, 1));
}

#[tokio::test]
async fn a_retry_that_diverges_fails_clearly_and_never_splices() {
    let a = Pieces::new("a", &["The ", "answer ", "is ", "42."], End::DropAfter(2));
    let b = Pieces::new("b", &["The ", "result ", "is ", "41."], End::Done);
    let p = pool_of(&[&a, &b]);
    let (d, end) = deltas(&p).await;
    assert_eq!(text_of(&d), "The answer ", "nothing of the diverging retry is passed on");
    let e = end.unwrap_err();
    assert!(matches!(e, GenError::Diverged { chars: 4, .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("host a failed mid-stream") && msg.contains("retry on b"), "{msg}");
    assert!(msg.contains("after 4 characters"), "{msg}");
    assert!(p.hosts_now()[1].healthy, "diverging is not the retry host's failure");
}

#[tokio::test]
async fn a_retry_that_ends_before_the_text_shown_is_a_divergence() {
    let a = Pieces::new("a", &["The ", "answer ", "is ", "42."], End::DropAfter(3));
    let b = Pieces::new("b", &["The ", "answer "], End::Done);
    let p = pool_of(&[&a, &b]);
    let (d, end) = deltas(&p).await;
    assert_eq!(text_of(&d), "The answer is ");
    let e = end.unwrap_err();
    assert!(matches!(e, GenError::Diverged { chars: 11, .. }), "{e:?}");
}

#[tokio::test]
async fn a_multi_byte_character_at_the_cut_is_passed_on_whole_and_once() {
    let a = Pieces::text_only("a", &["Résumé: ", "数", "学 😀", " done"], End::DropAfter(2));
    // b's deltas cut elsewhere: "数学" in one delta, the cut falls between its two characters.
    let b = Pieces::text_only("b", &["Rés", "umé: 数学", " 😀 done"], End::Done);
    let p = pool_of(&[&a, &b]);
    let (d, end) = deltas(&p).await;
    assert!(end.is_ok(), "{end:?}");
    assert_eq!(text_of(&d), "Résumé: 数学 😀 done");
    assert_eq!(d.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(), ["Résumé: ", "数", "学", " 😀 done"]);
    assert!(d.iter().all(|(_, t)| t.is_empty()), "no logprobs asked, none made up");
}

#[tokio::test]
async fn log_probabilities_of_multi_byte_tokens_are_skipped_token_for_token() {
    let a = Pieces::new("a", &["Résumé: ", "数", "学 😀", " done"], End::DropAfter(2));
    let b = Pieces::new("b", &["Résumé: |数|学 😀", " done"], End::Done);
    let p = pool_of(&[&a, &b]);
    let (d, end) = deltas(&p).await;
    assert!(end.is_ok(), "{end:?}");
    assert_eq!(d.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(), ["Résumé: ", "数", "学 😀", " done"]);
    assert_eq!(tokens_of(&d), ["Résumé: ", "数", "学 😀", " done"]);
}

#[tokio::test]
async fn a_divergence_inside_a_multi_byte_character_counts_whole_characters() {
    // 学 and 字 share their first two bytes.
    let a = Pieces::new("a", &["数学", "很好"], End::DropAfter(1));
    let b = Pieces::new("b", &["数字", "很好"], End::Done);
    let p = pool_of(&[&a, &b]);
    let (d, end) = deltas(&p).await;
    assert_eq!(text_of(&d), "数学");
    assert!(matches!(end, Err(GenError::Diverged { chars: 1, .. })), "{end:?}");
}

#[tokio::test]
async fn every_host_failing_mid_stream_fails_the_request_with_a_host_failure() {
    let a = Pieces::new("a", &["The ", "answer ", "is ", "42."], End::DropAfter(1));
    let b = Pieces::new("b", &["The ", "answer ", "is ", "42."], End::DropAfter(2));
    let c = Pieces::new("c", &["The ", "answer ", "is ", "42."], End::DropAfter(1));
    let p = pool_of(&[&a, &b, &c]);
    let (d, end) = deltas(&p).await;
    assert_eq!(text_of(&d), "The answer ", "each character shown once");
    let e = end.unwrap_err();
    assert!(is_host_failure(&e), "{e}");
    assert_eq!((a.calls(), b.calls(), c.calls()), (1, 1, 1), "every host tried once");
    assert!(p.hosts_now().iter().all(|h| !h.healthy && h.running == 0));
}

#[tokio::test]
async fn a_retry_whose_tokens_differ_from_those_shown_diverges() {
    let a = Pieces::new("a", &["The ", "answer ", "is ", "42."], End::DropAfter(1));
    // The same text, tokenised otherwise: its log-probabilities would not line up.
    let b = Pieces::new("b", &["Th|e ", "answer ", "is ", "42."], End::Done);
    let p = pool_of(&[&a, &b]);
    let (d, end) = deltas(&p).await;
    assert_eq!(text_of(&d), "The ");
    assert!(matches!(end, Err(GenError::Diverged { .. })), "{end:?}");
}

#[tokio::test]
async fn a_stream_that_ends_without_its_final_chunk_after_text_is_replayed() {
    let a = Pieces::new("a", &["The ", "answer ", "is ", "42."], End::Vanish(2));
    let b = Pieces::new("b", &["The ", "answer ", "is ", "42."], End::Done);
    let p = pool_of(&[&a, &b]);
    let (d, end) = deltas(&p).await;
    assert_eq!(end.map(|s| s.done_reason), Ok("stop on b".to_string()));
    assert_eq!(text_of(&d), "The answer is 42.");
    assert_eq!(tokens_of(&d), ["The ", "answer ", "is ", "42."]);
}

//! The pool's choice of host and its failover, on scripted hosts.

use std::sync::atomic::AtomicU64;

use super::*;
use crate::model::{collect, GenStats, Message};

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
    /// Sends some text, then drops the connection.
    DropLate,
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
            Act::DropLate => Box::pin(futures::stream::iter(vec![
                delta("half an answer"),
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
async fn a_drop_after_text_fails_the_request_and_marks_the_host() {
    let (a, b) = (Scripted::new("a", Act::DropLate), Scripted::new("b", Act::Answer));
    let p = pool(&[(&a, 1), (&b, 1)]);
    let e = ask(&p).await.unwrap_err();
    assert!(matches!(e, GenError::Dropped(_)), "{e}");
    assert_eq!(b.calls(), 0, "text already streamed is never restarted elsewhere");
    assert!(!p.hosts_now()[0].healthy);
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

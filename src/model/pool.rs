//! A pool of hosts behind one [`Generator`] (`--host` repeated, `[[hosts]]` in the config).
//!
//! Each request goes to the least-loaded healthy host: the one with the smallest share of its
//! limit in use (requests the pool sent it and that have not ended, over its concurrency
//! limit), ties to the host listed first. Each member keeps its own client-side limit (its
//! [`super::Limiter`]), so a host never runs more than its limit at once.
//!
//! When a host fails at the connection level (unreachable, no answer, the connection dropped
//! or stalled, HTTP 5xx, busy), the request moves to a host it has not tried yet and the
//! failing host is marked unhealthy for a back-off period: new requests avoid it until then,
//! and it is tried again afterwards. A request fails only once every host was tried, so no
//! candidate is lost while one host is healthy. A model error (an error line in the stream,
//! HTTP 4xx) is the request's own and fails it at once.
//!
//! **Mid-stream failover** (the pool's own, the engine sees nothing): when the failure comes
//! after text was already passed on, the pool sends the *same* request (same prompt, same
//! seed, same options) to another host and replays it: the new stream's first bytes are
//! compared with the text already passed on and swallowed, and only what follows is passed
//! on, so the consumer sees one seamless response. Text is compared byte by byte over the
//! concatenation of deltas, so the new host may cut its deltas anywhere (inside what was
//! shown, or with a multi-byte character at the cut); log-probabilities are skipped token for
//! token (their token strings must match the ones passed on), and the final
//! [`super::GenStats`] are the host's that finished. A seeded sample on the same model and
//! server software reproduces its text; when the retry's text differs from what was shown
//! (or ends before it), the request fails with [`GenError::Diverged`], naming both hosts and
//! how many characters agreed — two answers are never spliced. The engine needs no "discard
//! the partial text" message: nothing it was given is taken back.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{Chunk, ChunkStream, GenError, GenRequest, Generator, GeneratorInfo, Load, TokenLogprob};

/// How long a failed host is avoided before it is tried again.
pub const BACKOFF: Duration = Duration::from_secs(10);

/// The load and health of one host of a pool (its URL redacted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostLoad {
    /// The host, credentials removed ([`crate::safe::redact_host`]).
    pub host: String,
    /// Requests running there (at most `limit`).
    pub running: usize,
    /// Requests the pool sent there that wait for one of its slots.
    pub queued: usize,
    pub limit: usize,
    /// Whether new requests may go there (false during a back-off after a failure).
    pub healthy: bool,
}

/// One host of a pool: a name to show and its generator.
pub struct Member {
    label: String,
    generator: Arc<dyn Generator>,
    limit: usize,
}

impl Member {
    /// A member named `label` (already redacted); its limit is its generator's (1 when the
    /// generator reports none).
    pub fn new(label: impl Into<String>, generator: Arc<dyn Generator>) -> Self {
        let limit = generator.load().map_or(1, |rx| rx.borrow().limit).max(1);
        Self { label: label.into(), generator, limit }
    }

    /// The same member counted with `limit` slots.
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit.max(1);
        self
    }
}

struct Host {
    label: String,
    generator: Arc<dyn Generator>,
    limit: usize,
    /// Requests sent here and not ended.
    inflight: AtomicUsize,
    /// Until when new requests avoid this host.
    down_until: Mutex<Option<Instant>>,
}

impl Host {
    fn healthy(&self, now: Instant) -> bool {
        lock(&self.down_until).is_none_or(|t| now >= t)
    }
}

struct Inner {
    hosts: Vec<Host>,
    backoff: Duration,
    hosts_tx: watch::Sender<Vec<HostLoad>>,
    load_tx: watch::Sender<Load>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Inner {
    /// The host for a request that has not tried `tried`: healthy hosts first, then the
    /// smallest share of the limit in use, then the order of the list.
    fn choose(&self, tried: &[bool]) -> Option<usize> {
        let now = Instant::now();
        let mut best: Option<(usize, bool, usize, usize)> = None;
        for (i, h) in self.hosts.iter().enumerate() {
            if tried.get(i).copied().unwrap_or(false) {
                continue;
            }
            let (up, used, limit) = (h.healthy(now), h.inflight.load(Ordering::Relaxed), h.limit);
            let better = match best {
                None => true,
                // used/limit < b_used/b_limit, without division.
                Some((_, b_up, b_used, b_limit)) => {
                    (up && !b_up)
                        || (up == b_up
                            && (used as u128) * (b_limit as u128) < (b_used as u128) * (limit as u128))
                }
            };
            if better {
                best = Some((i, up, used, limit));
            }
        }
        best.map(|b| b.0)
    }

    fn start(self: &Arc<Self>, i: usize) -> InFlight {
        self.hosts[i].inflight.fetch_add(1, Ordering::Relaxed);
        self.publish();
        InFlight { inner: self.clone(), host: i }
    }

    fn mark_down(&self, i: usize) {
        *lock(&self.hosts[i].down_until) = Some(Instant::now() + self.backoff);
        self.publish();
    }

    fn mark_up(&self, i: usize) {
        let was_down = lock(&self.hosts[i].down_until).take().is_some();
        if was_down {
            self.publish();
        }
    }

    fn snapshot(&self) -> Vec<HostLoad> {
        let now = Instant::now();
        self.hosts
            .iter()
            .map(|h| {
                let used = h.inflight.load(Ordering::Relaxed);
                HostLoad {
                    host: h.label.clone(),
                    running: used.min(h.limit),
                    queued: used.saturating_sub(h.limit),
                    limit: h.limit,
                    healthy: h.healthy(now),
                }
            })
            .collect()
    }

    fn publish(&self) {
        let hosts = self.snapshot();
        let load = Load {
            running: hosts.iter().map(|h| h.running).sum(),
            queued: hosts.iter().map(|h| h.queued).sum(),
            limit: hosts.iter().map(|h| h.limit).sum(),
        };
        self.load_tx.send_if_modified(|l| std::mem::replace(l, load) != load);
        self.hosts_tx.send_if_modified(|h| {
            let changed = *h != hosts;
            if changed {
                *h = hosts;
            }
            changed
        });
    }
}

/// Counts a request at its host until it ends (dropped with its stream).
struct InFlight {
    inner: Arc<Inner>,
    host: usize,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.inner.hosts[self.host].inflight.fetch_sub(1, Ordering::Relaxed);
        self.inner.publish();
    }
}

/// Whether `e` says the host, not the request, failed: the request may go elsewhere.
pub fn is_host_failure(e: &GenError) -> bool {
    match e {
        GenError::Unreachable { .. }
        | GenError::NoAnswer { .. }
        | GenError::ServerUnreachable { .. }
        | GenError::ServerNoAnswer { .. }
        | GenError::Busy { .. }
        | GenError::Overloaded { .. }
        | GenError::Stalled { .. }
        | GenError::Dropped(_) => true,
        GenError::Http { status, .. } => *status >= 500,
        _ => false,
    }
}

/// Several hosts behind one generator (see the module documentation).
pub struct Pool {
    inner: Arc<Inner>,
}

impl Pool {
    /// A pool of `members` (at least one), avoiding a failed host for [`BACKOFF`].
    pub fn new(members: Vec<Member>) -> Self {
        Self::with_backoff(members, BACKOFF)
    }

    /// [`Pool::new`] with another back-off period.
    pub fn with_backoff(members: Vec<Member>, backoff: Duration) -> Self {
        let hosts: Vec<Host> = members
            .into_iter()
            .map(|m| Host {
                label: m.label,
                generator: m.generator,
                limit: m.limit,
                inflight: AtomicUsize::new(0),
                down_until: Mutex::new(None),
            })
            .collect();
        let (hosts_tx, _) = watch::channel(Vec::new());
        let (load_tx, _) = watch::channel(Load::default());
        let inner = Inner { hosts, backoff, hosts_tx, load_tx };
        inner.publish();
        Self { inner: Arc::new(inner) }
    }

    /// The load and health of every host now.
    pub fn hosts_now(&self) -> Vec<HostLoad> {
        self.inner.snapshot()
    }

    /// The host a new request would go to now (an index into the members).
    pub fn choose(&self) -> Option<usize> {
        self.inner.choose(&vec![false; self.inner.hosts.len()])
    }
}

/// Send `req` to the hosts it has not tried, best first, until one starts a response.
async fn dispatch(
    inner: &Arc<Inner>,
    req: &GenRequest,
    cancel: &CancellationToken,
    tried: &mut [bool],
    mut last: Option<GenError>,
) -> Result<(ChunkStream, InFlight), GenError> {
    loop {
        let Some(i) = inner.choose(tried) else {
            return Err(last.unwrap_or_else(|| GenError::Dropped("the pool has no host".into())));
        };
        tried[i] = true;
        let guard = inner.start(i);
        match inner.hosts[i].generator.generate(req.clone(), cancel.clone()).await {
            Ok(stream) => return Ok((stream, guard)),
            Err(e) if !cancel.is_cancelled() && is_host_failure(&e) => {
                tracing::warn!("host {} failed, trying another: {e}", inner.hosts[i].label);
                inner.mark_down(i);
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
}

/// A response in progress: the host's stream and what was passed on so far.
struct Flow {
    inner: Arc<Inner>,
    req: GenRequest,
    cancel: CancellationToken,
    tried: Vec<bool>,
    current: Option<(ChunkStream, InFlight)>,
    /// The text passed on so far, from every host this request ran on.
    shown: String,
    /// The tokens of the log-probabilities passed on so far.
    shown_tokens: Vec<String>,
    /// Set while a host that took over mid-stream has not yet reproduced `shown`.
    replay: Option<Replay>,
}

/// A retry catching up with the text already passed on.
struct Replay {
    /// The host that failed mid-stream, and why.
    failed: String,
    cause: String,
    /// How much of `shown` (bytes) and `shown_tokens` the new host has reproduced.
    bytes: usize,
    tokens: usize,
}

/// What a delta of the current host adds to the response.
enum Step {
    /// New text and log-probabilities to pass on (possibly empty: nothing to pass on).
    Pass(String, Option<Vec<TokenLogprob>>),
    /// Nothing new: the delta repeats what was shown.
    Swallowed,
    /// The retry disagrees with the text shown after this many bytes of it.
    Diverged(usize),
}

impl Flow {
    /// Take a delta of the current host: pass it on, or swallow what a replay reproduced.
    fn take(&mut self, text: String, logprobs: Option<Vec<TokenLogprob>>) -> Step {
        let Some(r) = self.replay.as_mut() else {
            return Step::Pass(text, logprobs);
        };
        let rest = &self.shown.as_bytes()[r.bytes..];
        let new = text.as_bytes();
        let same = rest.iter().zip(new).take_while(|(a, b)| a == b).count();
        if same < rest.len().min(new.len()) {
            return Step::Diverged(r.bytes + same);
        }
        // `new[..same]` equals whole characters of `shown`, so `same` is a boundary of `text`.
        let Some(fresh) = text.get(same..) else {
            return Step::Diverged(r.bytes);
        };
        r.bytes += same;
        let owed = &self.shown_tokens[r.tokens..];
        let lps = logprobs.unwrap_or_default();
        let k = owed.len().min(lps.len());
        // New text while tokens already shown are not reproduced: the tokens are misaligned.
        if lps[..k].iter().zip(owed).any(|(lp, t)| lp.token != *t) || (k < owed.len() && !fresh.is_empty()) {
            return Step::Diverged(r.bytes);
        }
        r.tokens += k;
        let caught_up = r.bytes == self.shown.len() && r.tokens == self.shown_tokens.len();
        if caught_up {
            self.replay = None;
        }
        let fresh_lps = &lps[k..];
        if fresh.is_empty() && fresh_lps.is_empty() {
            return Step::Swallowed;
        }
        Step::Pass(fresh.to_string(), (!fresh_lps.is_empty()).then(|| fresh_lps.to_vec()))
    }

    /// The error for a retry that disagrees with the text shown after `bytes` bytes.
    fn diverged(&self, host: usize, bytes: usize) -> GenError {
        let mut at = bytes.min(self.shown.len());
        while !self.shown.is_char_boundary(at) {
            at -= 1;
        }
        let (failed, cause) =
            self.replay.as_ref().map(|r| (r.failed.clone(), r.cause.clone())).unwrap_or_default();
        GenError::Diverged {
            failed,
            retry: self.inner.hosts[host].label.clone(),
            chars: self.shown[..at].chars().count(),
            cause,
        }
    }
}

/// The next chunk of a pooled response, moving to another host when the current one fails
/// (see the module documentation).
async fn next_chunk(mut f: Flow) -> Option<(Result<Chunk, GenError>, Flow)> {
    loop {
        let (stream, guard) = f.current.as_mut()?;
        let host = guard.host;
        let failure = match stream.next().await {
            Some(Ok(Chunk::Delta { text, logprobs })) => match f.take(text, logprobs) {
                Step::Swallowed => continue,
                Step::Pass(text, logprobs) => {
                    f.shown.push_str(&text);
                    if let Some(lps) = &logprobs {
                        f.shown_tokens.extend(lps.iter().map(|l| l.token.clone()));
                    }
                    return Some((Ok(Chunk::Delta { text, logprobs }), f));
                }
                Step::Diverged(bytes) => {
                    let e = f.diverged(host, bytes);
                    f.current = None;
                    return Some((Err(e), f));
                }
            },
            Some(Ok(Chunk::Done(stats))) => {
                if let Some(r) = &f.replay {
                    if r.bytes < f.shown.len() {
                        let e = f.diverged(host, r.bytes);
                        f.current = None;
                        return Some((Err(e), f));
                    }
                }
                f.inner.mark_up(host);
                f.current = None;
                return Some((Ok(Chunk::Done(stats)), f));
            }
            Some(Err(e)) => e,
            None => GenError::Dropped("the stream ended without a final chunk".into()),
        };
        f.current = None;
        if f.cancel.is_cancelled() || !is_host_failure(&failure) {
            return Some((Err(failure), f));
        }
        let label = f.inner.hosts[host].label.clone();
        f.inner.mark_down(host);
        let mid_stream = !f.shown.is_empty() || !f.shown_tokens.is_empty();
        if mid_stream {
            tracing::warn!(
                "host {label} failed after {} characters, replaying the request on another: {failure}",
                f.shown.chars().count()
            );
        } else {
            tracing::warn!("host {label} failed before any text, trying another: {failure}");
        }
        let cause = failure.to_string();
        match dispatch(&f.inner, &f.req, &f.cancel, &mut f.tried, Some(failure)).await {
            Ok(next) => {
                f.current = Some(next);
                f.replay = mid_stream.then_some(Replay { failed: label, cause, bytes: 0, tokens: 0 });
            }
            Err(e) => return Some((Err(e), f)),
        }
    }
}

#[async_trait]
impl Generator for Pool {
    fn info(&self) -> GeneratorInfo {
        let hosts = &self.inner.hosts;
        let mut info = hosts[0].generator.info();
        info.logprobs = hosts.iter().all(|h| h.generator.info().logprobs);
        let labels: Vec<&str> = hosts.iter().map(|h| h.label.as_str()).collect();
        info.location = format!("{} hosts: {}", hosts.len(), labels.join(", "));
        info
    }

    /// Every request goes alone (a [`crate::model::SampleGroup`] is dropped): a request is
    /// replayed on another host when its host fails, which needs one sample per request.
    async fn generate(
        &self,
        mut req: GenRequest,
        cancel: CancellationToken,
    ) -> Result<ChunkStream, GenError> {
        req.group = None;
        let mut tried = vec![false; self.inner.hosts.len()];
        let current = dispatch(&self.inner, &req, &cancel, &mut tried, None).await?;
        let flow = Flow {
            inner: self.inner.clone(),
            req,
            cancel,
            tried,
            current: Some(current),
            shown: String::new(),
            shown_tokens: Vec::new(),
            replay: None,
        };
        Ok(Box::pin(futures::stream::unfold(flow, next_chunk)))
    }

    fn load(&self) -> Option<watch::Receiver<Load>> {
        Some(self.inner.load_tx.subscribe())
    }

    fn hosts(&self) -> Option<watch::Receiver<Vec<HostLoad>>> {
        Some(self.inner.hosts_tx.subscribe())
    }
}

/// "hosts 2/3 ok · 5/8 running": the view's header line for a pool.
pub fn summary(hosts: &[HostLoad]) -> String {
    let ok = hosts.iter().filter(|h| h.healthy).count();
    let running: usize = hosts.iter().map(|h| h.running).sum();
    let limit: usize = hosts.iter().map(|h| h.limit).sum();
    format!("hosts {ok}/{} ok · {running}/{limit} running", hosts.len())
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;

//! A pool of hosts behind one [`Generator`] (`--host` repeated, `[[hosts]]` in the config).
//!
//! Each request goes to the least-loaded healthy host: the one with the smallest share of its
//! limit in use (requests the pool sent it and that have not ended, over its concurrency
//! limit), ties to the host listed first. Each member keeps its own client-side limit (its
//! [`super::Limiter`]), so a host never runs more than its limit at once.
//!
//! When a host fails at the connection level before any text came back (unreachable, no
//! answer, the connection dropped or stalled, HTTP 5xx, busy), the request moves to a host it
//! has not tried yet and the failing host is marked unhealthy for a back-off period: new
//! requests avoid it until then, and it is tried again afterwards. A request fails only once
//! every host was tried, so no candidate is lost while one host is healthy. A failure after
//! text has streamed fails that request as on one host: the text already shown cannot be
//! taken back, so the pool does not restart it elsewhere.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{Chunk, ChunkStream, GenError, GenRequest, Generator, GeneratorInfo, Load};

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

/// A response in progress: the host's stream, and whether text came back yet.
struct Flow {
    inner: Arc<Inner>,
    req: GenRequest,
    cancel: CancellationToken,
    tried: Vec<bool>,
    current: Option<(ChunkStream, InFlight)>,
    streamed: bool,
}

/// The next chunk of a pooled response, moving to another host when the current one fails
/// before any text.
async fn next_chunk(mut f: Flow) -> Option<(Result<Chunk, GenError>, Flow)> {
    loop {
        let (stream, guard) = f.current.as_mut()?;
        let host = guard.host;
        let failure = match stream.next().await {
            Some(Ok(Chunk::Delta { text, logprobs })) => {
                f.streamed |= !text.is_empty() || logprobs.is_some();
                return Some((Ok(Chunk::Delta { text, logprobs }), f));
            }
            Some(Ok(Chunk::Done(stats))) => {
                f.inner.mark_up(host);
                f.current = None;
                return Some((Ok(Chunk::Done(stats)), f));
            }
            Some(Err(e)) => e,
            None if f.streamed => {
                f.current = None;
                return None;
            }
            None => GenError::Dropped("the stream ended without a final chunk".into()),
        };
        f.current = None;
        if f.streamed || f.cancel.is_cancelled() || !is_host_failure(&failure) {
            if is_host_failure(&failure) && !f.cancel.is_cancelled() {
                f.inner.mark_down(host);
            }
            return Some((Err(failure), f));
        }
        tracing::warn!(
            "host {} failed before any text, trying another: {failure}",
            f.inner.hosts[host].label
        );
        f.inner.mark_down(host);
        match dispatch(&f.inner, &f.req, &f.cancel, &mut f.tried, Some(failure)).await {
            Ok(next) => f.current = Some(next),
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

    async fn generate(&self, req: GenRequest, cancel: CancellationToken) -> Result<ChunkStream, GenError> {
        let mut tried = vec![false; self.inner.hosts.len()];
        let current = dispatch(&self.inner, &req, &cancel, &mut tried, None).await?;
        let flow =
            Flow { inner: self.inner.clone(), req, cancel, tried, current: Some(current), streamed: false };
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

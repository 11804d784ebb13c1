//! A client-side concurrency limit that reports how many requests run and wait.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

/// Requests in flight at one backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Load {
    pub running: usize,
    pub queued: usize,
    pub limit: usize,
}

/// Admits at most `limit` requests at once; the rest wait in FIFO order.
#[derive(Debug, Clone)]
pub struct Limiter {
    sem: Arc<Semaphore>,
    load: Arc<watch::Sender<Load>>,
}

/// Held while a request runs; dropping it admits the next one.
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    load: Arc<watch::Sender<Load>>,
    /// How many of the limit this slot holds.
    count: usize,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let n = self.count;
        self.load.send_modify(|l| l.running = l.running.saturating_sub(n));
    }
}

/// Counts a waiting request until it is admitted or abandoned.
struct Waiting<'a>(&'a watch::Sender<Load>, usize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let n = self.1;
        self.0.send_modify(|l| l.queued = l.queued.saturating_sub(n));
    }
}

impl Limiter {
    /// A limiter admitting `limit` requests at once (at least one).
    pub fn new(limit: usize) -> Self {
        let limit = limit.max(1);
        let (tx, _) = watch::channel(Load { running: 0, queued: 0, limit });
        Self { sem: Arc::new(Semaphore::new(limit)), load: Arc::new(tx) }
    }

    /// Wait for a slot. Cancel-safe: dropping the future leaves the queue.
    pub async fn acquire(&self) -> Slot {
        self.acquire_many(1).await
    }

    /// Wait for `n` slots at once (at least one, at most the limit), for one request that
    /// runs several samples; it counts as `n` running. Cancel-safe, and in FIFO order with
    /// single requests.
    pub async fn acquire_many(&self, n: usize) -> Slot {
        let limit = self.load.borrow().limit;
        let n = n.clamp(1, limit);
        let waiting = {
            self.load.send_modify(|l| l.queued += n);
            Waiting(&self.load, n)
        };
        // The semaphore is never closed and `n` is within its size, so this cannot fail.
        let permit = match self.sem.clone().acquire_many_owned(n as u32).await {
            Ok(p) => p,
            Err(_) => unreachable!("the limiter's semaphore is never closed"),
        };
        drop(waiting);
        self.load.send_modify(|l| l.running += n);
        Slot { _permit: permit, load: self.load.clone(), count: n }
    }

    /// The current load.
    pub fn load(&self) -> Load {
        *self.load.borrow()
    }

    /// Follow the load as it changes.
    pub fn subscribe(&self) -> watch::Receiver<Load> {
        self.load.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_running_and_queued() {
        let lim = Limiter::new(2);
        let a = lim.acquire().await;
        let _b = lim.acquire().await;
        assert_eq!(lim.load(), Load { running: 2, queued: 0, limit: 2 });
        let l2 = lim.clone();
        let waiter = tokio::spawn(async move { l2.acquire().await });
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert_eq!(lim.load().queued, 1);
        drop(a);
        let _c = waiter.await.unwrap();
        assert_eq!(lim.load(), Load { running: 2, queued: 0, limit: 2 });
    }

    #[tokio::test]
    async fn a_request_of_several_samples_holds_several_slots() {
        let lim = Limiter::new(4);
        let a = lim.acquire_many(3).await;
        assert_eq!(lim.load(), Load { running: 3, queued: 0, limit: 4 });
        let _b = lim.acquire().await;
        // More than the limit is capped at the limit: it waits for all four, then runs.
        let l2 = lim.clone();
        let big = tokio::spawn(async move { l2.acquire_many(9).await });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert_eq!(lim.load().queued, 4);
        drop(a);
        drop(_b);
        let big = big.await.unwrap();
        assert_eq!(lim.load(), Load { running: 4, queued: 0, limit: 4 });
        drop(big);
        assert_eq!(lim.load(), Load { running: 0, queued: 0, limit: 4 });
    }

    #[tokio::test]
    async fn abandoned_waiter_leaves_the_queue() {
        let lim = Limiter::new(1);
        let _a = lim.acquire().await;
        let res = tokio::time::timeout(std::time::Duration::from_millis(20), lim.acquire()).await;
        assert!(res.is_err());
        assert_eq!(lim.load(), Load { running: 1, queued: 0, limit: 1 });
    }
}

//! Computed prefixes kept for reuse: the state of a net after a token prefix (its KV cache,
//! last logits and, for the PRM, the scores and log-likelihood so far), so a sequence that
//! starts with a stored prefix is fed from its end.
//!
//! The 64 samples of a problem all feed the same prompt, and the PRM scores a candidate
//! again every time it completes a step, each time from the problem on. Resuming from a
//! stored state repeats the very same arithmetic the full pass would do for the rest of the
//! sequence, so results are bit-identical with or without it.
//!
//! Bounded: entries are evicted least recently used past a byte budget.

use std::sync::Mutex;

use super::net::Cache;

/// A net's key: see [`super::net::Net::key`].
pub(crate) type NetKey = (u64, bool, bool, usize);

/// What a pass has computed after a prefix.
#[derive(Debug, Clone)]
pub(crate) struct State {
    pub cache: Cache,
    /// Logits after the prefix's last token (where they were computed).
    pub logits: Vec<f32>,
    /// A checker PRM's log-likelihood so far.
    pub ll: f64,
    /// A PRM's scores for the steps ending inside the prefix.
    pub scores: Vec<Option<f64>>,
}

impl State {
    fn bytes(&self) -> usize {
        self.cache.bytes() + self.logits.len() * 4 + self.scores.len() * 16
    }
}

#[derive(Debug)]
struct Entry {
    net: NetKey,
    toks: Vec<u8>,
    /// The score positions inside the prefix.
    at: Vec<usize>,
    /// Shared by many sequences (a prompt): lent out as a copy. Otherwise handed over.
    keep: bool,
    used: u64,
    bytes: usize,
    state: State,
}

#[derive(Debug, Default)]
struct Inner {
    entries: Vec<Entry>,
    bytes: usize,
    tick: u64,
}

/// A bounded store of computed prefixes.
#[derive(Debug)]
pub(crate) struct PrefixCache {
    inner: Mutex<Inner>,
    budget: usize,
}

impl PrefixCache {
    /// An empty store holding at most about `budget` bytes.
    pub const fn new(budget: usize) -> Self {
        Self { inner: Mutex::new(Inner { entries: Vec::new(), bytes: 0, tick: 0 }), budget }
    }

    /// The state after the longest stored prefix of `toks` whose score positions are those
    /// of `at` inside it, and that prefix's length. A shared entry is copied; any other is
    /// taken out (the sequence that stored it has moved on).
    pub fn take(&self, net: NetKey, toks: &[u8], at: &[usize]) -> Option<(usize, State)> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let fits = |e: &Entry| {
            let n = e.toks.len();
            e.net == net
                && toks.starts_with(&e.toks)
                && at.starts_with(&e.at)
                && at.get(e.at.len()).is_none_or(|p| *p >= n)
        };
        let best = g
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| fits(e))
            .max_by_key(|(_, e)| e.toks.len())
            .map(|(i, _)| i)?;
        g.tick += 1;
        let tick = g.tick;
        let e = &mut g.entries[best];
        if e.keep {
            e.used = tick;
            return Some((e.toks.len(), e.state.clone()));
        }
        let e = g.entries.swap_remove(best);
        g.bytes -= e.bytes;
        Some((e.toks.len(), e.state))
    }

    /// Store the state after `toks` (with the score positions `at` inside it).
    pub fn put(&self, net: NetKey, toks: Vec<u8>, at: Vec<usize>, keep: bool, mut state: State) {
        state.cache.shrink();
        let bytes = state.bytes() + toks.len() + at.len() * 8 + std::mem::size_of::<Entry>();
        if bytes > self.budget {
            return;
        }
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.tick += 1;
        let tick = g.tick;
        if let Some(e) = g.entries.iter_mut().find(|e| e.net == net && e.toks == toks && e.at == at) {
            // The same prefix computes the same state.
            e.keep |= keep;
            e.used = tick;
            return;
        }
        g.bytes += bytes;
        g.entries.push(Entry { net, toks, at, keep, used: tick, bytes, state });
        while g.bytes > self.budget {
            let Some(old) = g.entries.iter().enumerate().min_by_key(|(_, e)| e.used).map(|(i, _)| i) else {
                break;
            };
            let e = g.entries.swap_remove(old);
            g.bytes -= e.bytes;
        }
    }

    /// Entries held (for tests).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).entries.len()
    }
}

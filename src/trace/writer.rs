//! Writing a trace as the run goes, off the event path: [`Recorder::record`] only stamps
//! the event and hands it to a thread that owns the file. The thread coalesces text deltas
//! ([`Coalescer`]), writes through a buffer and flushes it at least every [`FLUSH_MS`] and
//! when the run finishes, so a kill at any moment leaves a readable prefix. A write that
//! fails is reported once through [`Warn`]; the run goes on without its trace.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{encode, now_ms, redacted, rfc3339, Header, Target, FORMAT_VERSION};
use crate::event::{Event, NodeId};
use crate::spec::StrategyKind;

/// How a failed trace write is told to the person (stderr, or the view's status line).
pub type Warn = Arc<dyn Fn(String) + Send + Sync>;

/// Text deltas of one node within this many milliseconds may share a line.
pub const COALESCE_MS: u64 = 100;
/// The buffer reaches the file at least this often while a run streams.
pub const FLUSH_MS: u64 = 200;
/// How often the writer wakes without events, to flush.
const TICK: Duration = Duration::from_millis(50);
/// A node's pending text is written once it is this long, whatever its age.
const MAX_PENDING_BYTES: usize = 16 * 1024;

#[allow(clippy::large_enum_variant)] // nearly every message is an event
enum Msg {
    Event(u64, Event),
    Close,
}

/// A run's trace being written. Clones record into the same file.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Msg>,
    start: Instant,
    path: PathBuf,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Recorder {
    /// Start recording a run of `strategy` to `target`, on its own thread; `None` when
    /// traces are off. The file is created when the run's `RunStarted` arrives.
    pub fn start(target: &Target, strategy: StrategyKind, warn: Warn) -> Option<Self> {
        Self::with_window(target, strategy, warn, COALESCE_MS)
    }

    /// [`Recorder::start`] with another coalescing window (0: one line per event).
    pub fn with_window(target: &Target, strategy: StrategyKind, warn: Warn, window_ms: u64) -> Option<Self> {
        let started_ms = now_ms();
        let path = match target {
            Target::Off => return None,
            Target::File(p) => p.clone(),
            Target::Dir(d) => d.join(file_name(started_ms, strategy)),
        };
        let (tx, rx) = mpsc::channel();
        let start = Instant::now();
        let file_path = path.clone();
        let thread = std::thread::Builder::new()
            .name("ttc-trace".into())
            .spawn(move || {
                let mut w = Writer { path: file_path, out: None, co: Coalescer::new(window_ms), started_ms };
                if let Err(e) = w.run(rx, start) {
                    warn(format!(
                        "cannot write the trace {}: {e}; the run goes on without it",
                        w.path.display()
                    ));
                }
            })
            .ok()?;
        Some(Self { tx, start, path, thread: Arc::new(Mutex::new(Some(thread))) })
    }

    /// Where the trace goes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Record one event, stamped now; never waits on the disk.
    pub fn record(&self, event: &Event) {
        let t = self.start.elapsed().as_millis() as u64;
        let _ = self.tx.send(Msg::Event(t, event.clone()));
    }

    /// Write what is pending and close the file; later records are dropped.
    pub fn finish(&self) {
        let _ = self.tx.send(Msg::Close);
        let handle = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

/// `2026-12-03T04-05-06-best-of-n-1a2b3c.jsonl`: sorts by time, names the strategy, and a
/// hash of the moment and the process keeps two runs of one second apart.
fn file_name(started_ms: u64, strategy: StrategyKind) -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let seed = format!("{started_ms}:{nanos}:{}:{:?}", std::process::id(), std::thread::current().id());
    let hash = crate::hash::fnv1a(seed.as_bytes()) & 0xFF_FFFF;
    let stamp = rfc3339(started_ms).trim_end_matches('Z').replace(':', "-");
    format!("{stamp}-{strategy}-{hash:06x}.jsonl")
}

/// The writer thread's state.
struct Writer {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    co: Coalescer,
    started_ms: u64,
}

impl Writer {
    fn run(&mut self, rx: mpsc::Receiver<Msg>, start: Instant) -> io::Result<()> {
        let mut last_flush = Instant::now();
        let mut last_due = Instant::now();
        let mut dirty = false;
        loop {
            let closing = match rx.recv_timeout(TICK) {
                Ok(Msg::Event(t, e)) => {
                    let finished = matches!(e, Event::RunFinished { .. });
                    self.event(t, e)?;
                    dirty = true;
                    if finished {
                        self.flush()?;
                        dirty = false;
                        last_flush = Instant::now();
                    }
                    false
                }
                Ok(Msg::Close) | Err(RecvTimeoutError::Disconnected) => true,
                Err(RecvTimeoutError::Timeout) => false,
            };
            if let Some(out) = self.out.as_mut() {
                if closing {
                    self.co.flush_all(out)?;
                    return self.flush();
                }
                // Looking for due deltas costs a pass over the open nodes: not on every event.
                if last_due.elapsed() >= TICK / 2 {
                    let now = start.elapsed().as_millis() as u64;
                    dirty |= self.co.flush_due(now, out)?;
                    last_due = Instant::now();
                }
                if dirty && last_flush.elapsed() >= Duration::from_millis(FLUSH_MS) {
                    self.flush()?;
                    dirty = false;
                    last_flush = Instant::now();
                }
            } else if closing {
                return Ok(());
            }
        }
    }

    fn event(&mut self, t: u64, mut e: Event) -> io::Result<()> {
        if let Event::RunStarted(info) = &mut e {
            *info = redacted(info);
            if self.out.is_none() {
                self.open(info)?;
            }
        }
        match self.out.as_mut() {
            Some(out) => self.co.push(t, &e, out),
            // Nothing before the run's start belongs in a trace.
            None => Ok(()),
        }
    }

    fn open(&mut self, info: &crate::event::RunInfo) -> io::Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut out = BufWriter::with_capacity(64 * 1024, File::create(&self.path)?);
        let header = Header {
            ttc_trace: FORMAT_VERSION,
            ttc_version: env!("CARGO_PKG_VERSION").to_string(),
            started: rfc3339(self.started_ms),
            started_ms: self.started_ms,
            run: info.clone(),
        };
        serde_json::to_writer(&mut out, &header)?;
        out.write_all(b"\n")?;
        out.flush()?;
        self.out = Some(out);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.out.as_mut() {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }
}

/// Text deltas of one node not yet written.
struct Pending {
    first: u64,
    last: u64,
    text: String,
    count: u32,
}

/// Merges the text deltas of each node that arrive within a window into one line, and
/// keeps every other event in order: a node's pending text is written before any other
/// event about that node (or its children), and all of it before events about the run.
pub struct Coalescer {
    window_ms: u64,
    pending: HashMap<NodeId, Pending>,
    /// The time of the last line written: lines never go back in time.
    last_t: u64,
}

impl Coalescer {
    /// Merge deltas within `window_ms` (0: write every event as it comes).
    pub fn new(window_ms: u64) -> Self {
        Self { window_ms, pending: HashMap::new(), last_t: 0 }
    }

    /// Take one event at time `t`.
    pub fn push(&mut self, t: u64, e: &Event, out: &mut impl Write) -> io::Result<()> {
        if self.window_ms > 0 {
            if let Event::TextDelta { node, text } = e {
                let p = self.pending.entry(*node).or_insert_with(|| Pending {
                    first: t,
                    last: t,
                    text: String::new(),
                    count: 0,
                });
                p.text.push_str(text);
                p.last = t;
                p.count += 1;
                if p.text.len() >= MAX_PENDING_BYTES || t.saturating_sub(p.first) >= self.window_ms {
                    self.flush_node(*node, out)?;
                }
                return Ok(());
            }
        }
        match e {
            Event::NodeStarted { node, parent, .. } => {
                if let Some(p) = parent {
                    self.flush_node(*p, out)?;
                }
                self.flush_node(*node, out)?;
            }
            Event::NodeStreaming { node }
            | Event::TextDelta { node, .. }
            | Event::StepCompleted { node, .. }
            | Event::StepScored { node, .. }
            | Event::NodeFinished { node, .. }
            | Event::NodeFailed { node, .. }
            | Event::NodeCancelled { node }
            | Event::NodeKept { node, .. }
            | Event::NodePruned { node, .. } => self.flush_node(*node, out)?,
            // Frequent and about no node's text.
            Event::Load { .. } | Event::Hosts { .. } | Event::Budget(_) => {}
            _ => self.flush_all(out)?,
        }
        self.line(t, e, 1, out)
    }

    /// Write the nodes whose oldest pending delta is at least a window old at `now`;
    /// returns whether anything was written.
    pub fn flush_due(&mut self, now: u64, out: &mut impl Write) -> io::Result<bool> {
        let mut due: Vec<(u64, NodeId)> = self
            .pending
            .iter()
            .filter(|(_, p)| now.saturating_sub(p.first) >= self.window_ms)
            .map(|(n, p)| (p.first, *n))
            .collect();
        due.sort_unstable();
        for (_, node) in &due {
            self.flush_node(*node, out)?;
        }
        Ok(!due.is_empty())
    }

    /// Write every pending delta, oldest first.
    pub fn flush_all(&mut self, out: &mut impl Write) -> io::Result<()> {
        self.flush_due(u64::MAX, out).map(|_| ())
    }

    fn flush_node(&mut self, node: NodeId, out: &mut impl Write) -> io::Result<()> {
        if let Some(p) = self.pending.remove(&node) {
            let e = Event::TextDelta { node, text: p.text };
            self.line(p.last, &e, p.count, out)?;
        }
        Ok(())
    }

    fn line(&mut self, t: u64, e: &Event, deltas: u32, out: &mut impl Write) -> io::Result<()> {
        self.last_t = self.last_t.max(t);
        let line = encode(self.last_t, e, deltas)?;
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")
    }
}

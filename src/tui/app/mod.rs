//! The interactive view's state: the runs of this session, the knobs, what has the
//! keyboard and what is focused, and the queries the views read. No I/O here: the
//! state changes only through [`App::update`] and its siblings (in `update.rs`), which
//! return [`Effect`]s that the runtime carries out, so the app can be tested headless
//! by feeding actions and events.

mod browse;
mod help;
pub mod replay;
pub mod rescore;
mod update;

pub use help::HelpScroll;
pub use replay::ReplayState;
pub use rescore::RescoreView;
pub use update::PARALLEL_HINT;

use std::time::Instant;

use crate::event::NodeId;
use crate::problem::Problem;
use crate::strategy::{Command, RunConfig, Selection, StrategyKind};
use crate::tree::RunTree;

use super::keymap::Keymap;
use super::layout::{body_of, chains, default_focus, surviving, Body};
pub use super::text::one_line;
use super::theme::Theme;

/// Work for the runtime.
#[allow(clippy::large_enum_variant)] // effects are rare: one per key press
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Start a new run of `problem` with `config` on `model`.
    StartRun {
        problem: Problem,
        config: RunConfig,
        model: String,
    },
    /// Start a new run of `problem` that continues from `prefix` (the steps of
    /// the node it forks from) with the same `config` on `model`.
    Fork {
        problem: Problem,
        config: RunConfig,
        model: String,
        prefix: Vec<String>,
    },
    /// Start `extra` more best-of-N candidates in the finished run `run`, numbered from
    /// `first_node`, carrying the run's spending (`budget`) on.
    MoreCandidates {
        run: usize,
        extra: usize,
        first_node: NodeId,
        budget: crate::budget::Budget,
        /// Tokens of the run's finished candidates (its budget's generation-equivalents).
        finished_tokens: Vec<u64>,
    },
    /// Send a live change to run `run`.
    Command {
        run: usize,
        command: Command,
    },
    /// Cancel run `run`.
    Cancel {
        run: usize,
    },
    /// Pace the embedded model's streams: tokens per second per candidate, 0 = full speed.
    SetPace(u32),
    /// Fetch the server's model list (for the picker).
    LoadModels,
    /// Remember the model for next time.
    RememberModel(String),
    Quit,
    /// List the recorded traces (for the trace browser).
    ListTraces,
    /// Read the trace at this path (to replay it in the view).
    OpenTrace(std::path::PathBuf),
    /// A replay became run `runs.len() - 1`: keep its place among the runs (nothing runs).
    Watch,
    /// Score the recorded steps of finished run `run` (its `tree`) again with `kind`; the
    /// judge asks `model` unless the settings name another. No generation.
    Rescore {
        run: usize,
        kind: crate::strategy::VerifierKind,
        tree: Box<RunTree>,
        model: String,
    },
}

/// One run of this session, as the view sees it.
#[derive(Debug, Clone)]
pub struct RunView {
    pub tree: RunTree,
    pub model: String,
    pub paused: bool,
    /// Selection under the current aggregation and rule (re-ranked without regenerating).
    pub selection: Option<Selection>,
    /// Best-of-N after N was lowered on a finished run: only the first `shown` candidates
    /// vote; the rest are beyond N (kept, and brought back first when N rises again).
    pub shown: Option<usize>,
    /// When the run (or its latest batch of extra candidates) started, on this machine's clock.
    pub started: Option<Instant>,
    /// Milliseconds the run had spent before its latest batch of extra candidates: the
    /// batch's own clock starts at zero.
    pub carry_ms: u64,
    /// Extra candidates were started after the run first finished: its selection is
    /// made over every candidate, not the batch's own.
    pub extended: bool,
    /// Candidates that have waited for the server to say anything, since when
    /// (a server that runs one request at a time makes the others wait).
    pub waiting_since: Option<Instant>,
    /// A recorded run played back: its trace and where the replay is.
    pub replay: Option<Box<ReplayState>>,
    /// The run scored again with another verifier, shown beside its own scores.
    pub rescore: Option<Box<RescoreView>>,
    /// The verifier re-scoring it now.
    pub rescore_pending: Option<crate::strategy::VerifierKind>,
}

impl RunView {
    /// A run about to start on `model`.
    pub fn new(model: String, started: Option<Instant>) -> Self {
        Self {
            tree: RunTree::new(),
            model,
            paused: false,
            selection: None,
            shown: None,
            started,
            carry_ms: 0,
            extended: false,
            waiting_since: None,
            replay: None,
            rescore: None,
            rescore_pending: None,
        }
    }

    /// Seconds the run has been working: the clock while it runs, else its budget's.
    pub fn elapsed_secs(&self, now: Option<Instant>) -> f64 {
        let reported = self.tree.budget.elapsed_ms as f64 / 1000.0;
        match (self.tree.finished, self.started, now) {
            (false, Some(s), Some(now)) => {
                let live = self.carry_ms as f64 / 1000.0 + now.saturating_duration_since(s).as_secs_f64();
                live.max(reported)
            }
            _ => reported,
        }
    }
}

/// One entry of the problem picker.
#[derive(Debug, Clone, PartialEq)]
pub struct PickerItem {
    pub label: String,
    pub problem: Option<Problem>,
}

/// What has the keyboard.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Normal,
    Help,
    Inspector,
    ProblemPicker {
        query: String,
        selected: usize,
    },
    ModelPicker {
        selected: usize,
    },
    /// Free-text problem editor.
    Editor {
        text: String,
    },
    /// No server answered: what was tried and how to fix it.
    NoServer {
        message: String,
    },
    /// The recorded traces, to replay one in the view.
    TraceBrowser {
        browser: crate::tui::trace_list::Browser,
    },
}

/// The knobs a person turns.
#[derive(Debug, Clone, PartialEq)]
pub struct Knobs {
    pub config: RunConfig,
}

/// The whole state of the interactive view.
pub struct App {
    pub theme: Theme,
    pub keymap: Keymap,
    /// Where generation happens ("ollama http://…").
    pub backend: String,
    pub model: Option<String>,
    pub models: Vec<String>,
    pub knobs: Knobs,
    pub problem: Option<Problem>,
    pub problems: Vec<(String, Vec<Problem>)>,
    pub runs: Vec<RunView>,
    pub current: usize,
    pub mode: Mode,
    pub focus: usize,
    /// The node picked in the search tree or among revisions; `None` follows the run.
    pub cursor: Option<NodeId>,
    /// Whether step-wise runs show their search tree above the panes.
    pub show_tree: bool,
    pub zoom: bool,
    /// The selected step of the focused pane; `None` follows the stream.
    pub step: Option<usize>,
    pub latex: bool,
    pub message: Option<String>,
    /// Panes per page, as last laid out (set by the view).
    pub per_page: usize,
    pub dirty: bool,
    pub quit: bool,
    /// Whether runs show elapsed time from the wall clock while they run (off in tests
    /// that compare screens, where the clock would make them differ).
    pub live_clock: bool,
    /// The hint about servers that run one request at a time was shown.
    pub told_parallel: bool,
    /// The embedded model's pace now (tokens per second per candidate; 0 = full speed),
    /// and the pace the toggle returns to.
    pub pace: u32,
    pub paced: u32,
    /// How far the key help is scrolled.
    pub help: HelpScroll,
}

impl App {
    /// A fresh app.
    pub fn new(theme: Theme, keymap: Keymap, backend: String, config: RunConfig) -> Self {
        Self {
            theme,
            keymap,
            backend,
            model: None,
            models: Vec::new(),
            knobs: Knobs { config },
            problem: None,
            problems: Vec::new(),
            runs: Vec::new(),
            current: 0,
            mode: Mode::Normal,
            focus: 0,
            cursor: None,
            show_tree: true,
            zoom: false,
            step: None,
            latex: false,
            message: None,
            per_page: 1,
            dirty: true,
            quit: false,
            live_clock: true,
            told_parallel: false,
            pace: 0,
            paced: 0,
            help: HelpScroll::default(),
        }
    }

    /// The run on screen.
    pub fn run(&self) -> Option<&RunView> {
        self.runs.get(self.current)
    }

    /// Now, when the clock is live.
    pub fn now(&self) -> Option<Instant> {
        self.live_clock.then(Instant::now)
    }

    fn running(&self) -> bool {
        self.run().is_some_and(|r| !r.tree.finished)
    }

    fn node_count(&self) -> usize {
        self.run().map_or(0, |r| r.tree.nodes.len())
    }

    /// The strategy of the run on screen.
    fn current_strategy(&self) -> Option<StrategyKind> {
        self.run().and_then(|r| r.tree.info.as_ref()).map(|i| i.config.strategy)
    }

    /// Items the problem picker shows for `query` (case-insensitive substring).
    pub fn picker_items(&self, query: &str) -> Vec<PickerItem> {
        let q = query.to_lowercase();
        let mut items = vec![PickerItem { label: "✎ write your own problem…".into(), problem: None }];
        for (_, problems) in &self.problems {
            for p in problems {
                let label = format!("{}  {}", p.id, one_line(&p.text, 200));
                if q.is_empty() || label.to_lowercase().contains(&q) {
                    items.push(PickerItem { label, problem: Some(p.clone()) });
                }
            }
        }
        items
    }

    /// Whether keys go to a text field rather than the keymap.
    pub fn wants_text(&self) -> bool {
        matches!(self.mode, Mode::ProblemPicker { .. } | Mode::ModelPicker { .. } | Mode::Editor { .. })
    }

    /// Make the pane with node `node` of the current run visible.
    pub fn clamp_focus(&mut self) {
        let n = self.node_count();
        if n > 0 && self.focus >= n {
            self.focus = n - 1;
        }
    }

    /// The nodes shown as panes, in order: every node, or for step-wise runs the
    /// surviving beams, after the picked node when it is not one of them.
    pub fn pane_nodes(&self) -> Vec<NodeId> {
        let Some(r) = self.run() else { return Vec::new() };
        match body_of(&r.tree) {
            Body::Tree => {
                let mut v = surviving(&r.tree);
                if let Some(c) = self.cursor.filter(|c| (*c as usize) < r.tree.nodes.len()) {
                    if !v.contains(&c) {
                        v.insert(0, c);
                    }
                }
                v
            }
            _ => (0..r.tree.nodes.len() as NodeId).collect(),
        }
    }

    /// The focused pane's place in `list` (from [`App::pane_nodes`]): the picked node's, else `focus`.
    pub fn focus_index(&self, list: &[NodeId]) -> usize {
        self.cursor
            .and_then(|c| list.iter().position(|&id| id == c))
            .unwrap_or(self.focus)
            .min(list.len().saturating_sub(1))
    }

    /// The node in focus: the focused pane's, or the picked revision.
    pub fn focused_node(&self) -> Option<NodeId> {
        let run = self.run()?;
        let valid = |id: &NodeId| (*id as usize) < run.tree.nodes.len();
        match body_of(&run.tree) {
            Body::Revise => self.cursor.filter(valid).or_else(|| default_focus(&chains(&run.tree))),
            _ => {
                let list = self.pane_nodes();
                list.get(self.focus_index(&list)).copied()
            }
        }
    }

    fn focused_view(&self) -> Option<&crate::tree::NodeView> {
        let id = self.focused_node()?;
        self.run()?.tree.nodes.get(id as usize)
    }
}

/// Keys as text fields see them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TextKey {
    Char(char),
    Backspace,
    Enter,
    /// Ctrl-Enter / Ctrl-S: submit even in the multi-line editor.
    Submit,
    Newline,
    Up,
    Down,
    Esc,
}

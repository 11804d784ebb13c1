//! The interactive view's state and its one `update` function. No I/O here:
//! `update` returns [`Effect`]s that the runtime carries out, so the app can be
//! tested headless by feeding actions and events.

use crate::event::{Event, NodeId};
use crate::problem::Problem;
use crate::strategy::{Command, RunConfig, Selection, SelectionRule, StrategyKind, VerifierKind};
use crate::tree::{NodeStatus, RunTree};
use crate::verify::Aggregation;

use super::action::Action;
use super::keymap::Keymap;
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
    /// Send a live change to run `run`.
    Command {
        run: usize,
        command: Command,
    },
    /// Cancel run `run`.
    Cancel {
        run: usize,
    },
    /// Fetch the server's model list (for the picker).
    LoadModels,
    /// Remember the model for next time.
    RememberModel(String),
    Quit,
}

/// One run of this session, as the view sees it.
#[derive(Debug, Clone)]
pub struct RunView {
    pub tree: RunTree,
    pub model: String,
    pub paused: bool,
    /// Selection under the current aggregation and rule (re-ranked without regenerating).
    pub selection: Option<Selection>,
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
    pub zoom: bool,
    /// The selected step of the focused pane; `None` follows the stream.
    pub step: Option<usize>,
    pub latex: bool,
    pub message: Option<String>,
    /// Panes per page, as last laid out (set by the view).
    pub per_page: usize,
    pub dirty: bool,
    pub quit: bool,
}

const MAX_N: usize = 256;

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
            zoom: false,
            step: None,
            latex: false,
            message: None,
            per_page: 1,
            dirty: true,
            quit: false,
        }
    }

    /// The run on screen.
    pub fn run(&self) -> Option<&RunView> {
        self.runs.get(self.current)
    }

    fn running(&self) -> bool {
        self.run().is_some_and(|r| !r.tree.finished)
    }

    /// Fold an event of run `run` into the state.
    pub fn on_event(&mut self, run: usize, e: &Event) {
        let agg = self.knobs.config.aggregation;
        let rule = self.knobs.config.selection;
        let Some(r) = self.runs.get_mut(run) else { return };
        r.tree.apply(e);
        match e {
            Event::Applied { change } if run == self.current => {
                self.message = Some(format!("applied: {change}"));
            }
            // Keep the answer panel live as candidates finish.
            Event::NodeFinished { .. } | Event::Selection(_) => {
                r.selection = Some(r.tree.reselect(rule, agg));
            }
            _ => {}
        }
        if run == self.current {
            self.dirty = true;
        }
    }

    /// Start a run with the current knobs; returns the effect, or explains why not.
    fn start(&mut self) -> Vec<Effect> {
        let Some(problem) = self.problem.clone() else {
            self.mode = Mode::ProblemPicker { query: String::new(), selected: 0 };
            self.message = Some("pick a problem first".into());
            return vec![];
        };
        let Some(model) = self.model.clone() else {
            self.message = Some("no model: pick one with the model picker".into());
            return vec![Effect::LoadModels];
        };
        self.runs.push(RunView {
            tree: RunTree::new(),
            model: model.clone(),
            paused: false,
            selection: None,
        });
        self.current = self.runs.len() - 1;
        self.focus = 0;
        self.step = None;
        self.message = None;
        vec![Effect::StartRun { problem, config: self.knobs.config.clone(), model }]
    }

    /// Start a run now (used at startup with run flags).
    pub fn start_now(&mut self) -> Vec<Effect> {
        self.start()
    }

    fn reselect(&mut self) {
        let (agg, rule) = (self.knobs.config.aggregation, self.knobs.config.selection);
        for r in &mut self.runs {
            if r.tree.nodes.iter().any(|n| n.status == NodeStatus::Done) {
                r.selection = Some(r.tree.reselect(rule, agg));
            }
        }
    }

    fn node_count(&self) -> usize {
        self.run().map_or(0, |r| r.tree.nodes.len())
    }

    /// Apply one action.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        self.dirty = true;
        // Panels take Back/Help/Quit first.
        match (&self.mode, action) {
            (Mode::Help, Action::Help | Action::Back) | (Mode::Inspector, Action::Back | Action::Inspect) => {
                self.mode = Mode::Normal;
                return vec![];
            }
            (_, Action::Quit) => {
                self.quit = true;
                return vec![Effect::Quit];
            }
            (Mode::Normal, _) => {}
            (Mode::NoServer { .. }, Action::Rerun) => return vec![Effect::LoadModels],
            (_, Action::Help) => {
                self.mode = Mode::Help;
                return vec![];
            }
            (_, Action::Back) => {
                self.mode = Mode::Normal;
                return vec![];
            }
            _ => return vec![],
        }
        let cfg = &mut self.knobs.config;
        match action {
            Action::Help => self.mode = Mode::Help,
            Action::NUp | Action::NDown => {
                let n = if action == Action::NUp {
                    (cfg.n + 1).min(MAX_N)
                } else {
                    cfg.n.saturating_sub(1).max(1)
                };
                cfg.n = n;
                if self.running() {
                    return vec![Effect::Command { run: self.current, command: Command::SetN(n) }];
                }
                self.message = Some(format!("N = {n} applies to the next run (r)"));
            }
            Action::DepthUp | Action::DepthDown => {
                let d = if action == Action::DepthUp {
                    (cfg.max_depth + 1).min(200)
                } else {
                    cfg.max_depth.saturating_sub(1).max(1)
                };
                cfg.max_depth = d;
                return self.live(Command::SetDepth(d), format!("depth {d}"));
            }
            Action::WidthUp | Action::WidthDown => {
                let w = if action == Action::WidthUp {
                    (cfg.width + 1).min(64)
                } else {
                    cfg.width.saturating_sub(1).max(1)
                };
                cfg.width = w;
                return self.live(Command::SetWidth(w), format!("width {w}"));
            }
            Action::TemperatureUp => {
                cfg.temperature = ((cfg.temperature * 10.0).round() + 1.0).min(20.0) / 10.0
            }
            Action::TemperatureDown => {
                cfg.temperature = ((cfg.temperature * 10.0).round() - 1.0).max(0.0) / 10.0
            }
            Action::CycleStrategy => {
                let i = StrategyKind::ALL.iter().position(|s| *s == cfg.strategy).unwrap_or(0);
                cfg.strategy = StrategyKind::ALL[(i + 1) % StrategyKind::ALL.len()];
                if self.problem.is_some() && self.model.is_some() {
                    return self.start();
                }
            }
            Action::CycleVerifier => {
                cfg.verifier = match cfg.verifier {
                    VerifierKind::Judge => VerifierKind::Arith,
                    VerifierKind::Arith => VerifierKind::Oracle,
                    VerifierKind::Oracle => VerifierKind::None,
                    VerifierKind::None => VerifierKind::Judge,
                };
                if self.problem.is_some() && self.model.is_some() {
                    return self.start();
                }
            }
            Action::CycleAggregation => {
                let i = Aggregation::ALL.iter().position(|a| *a == cfg.aggregation).unwrap_or(0);
                cfg.aggregation = Aggregation::ALL[(i + 1) % Aggregation::ALL.len()];
                self.reselect();
            }
            Action::CycleSelection => {
                let i = SelectionRule::ALL.iter().position(|a| *a == cfg.selection).unwrap_or(0);
                cfg.selection = SelectionRule::ALL[(i + 1) % SelectionRule::ALL.len()];
                self.reselect();
            }
            Action::Rerun => return self.start(),
            Action::PauseResume => {
                let current = self.current;
                if let Some(r) = self.runs.get_mut(current).filter(|r| !r.tree.finished) {
                    r.paused = !r.paused;
                    return vec![Effect::Command { run: current, command: Command::Pause(r.paused) }];
                }
            }
            Action::Cancel => {
                if self.running() {
                    return vec![Effect::Cancel { run: self.current }];
                }
            }
            Action::PickProblem => self.mode = Mode::ProblemPicker { query: String::new(), selected: 0 },
            Action::PickModel => {
                self.mode = Mode::ModelPicker { selected: 0 };
                return vec![Effect::LoadModels];
            }
            Action::FocusPrev => {
                self.focus = self.focus.saturating_sub(1);
                self.step = None;
            }
            Action::FocusNext => {
                self.focus = (self.focus + 1).min(self.node_count().saturating_sub(1));
                self.step = None;
            }
            Action::PagePrev => {
                self.focus = self.focus.saturating_sub(self.per_page.max(1));
                self.step = None;
            }
            Action::PageNext => {
                self.focus = (self.focus + self.per_page.max(1)).min(self.node_count().saturating_sub(1));
                self.step = None;
            }
            Action::Zoom => self.zoom = !self.zoom,
            Action::StepUp | Action::StepDown => {
                let steps =
                    self.run().and_then(|r| r.tree.nodes.get(self.focus)).map_or(0, |n| n.steps.len());
                if steps > 0 {
                    self.step = Some(match (self.step, action) {
                        (None, _) => steps - 1,
                        (Some(s), Action::StepUp) => s.saturating_sub(1),
                        (Some(s), _) => (s + 1).min(steps - 1),
                    });
                }
            }
            Action::Inspect => {
                if self.step.is_none() {
                    self.update(Action::StepUp);
                }
                if self.step.is_some() {
                    self.mode = Mode::Inspector;
                }
            }
            Action::ToggleLatex => self.latex = !self.latex,
            Action::RunPrev | Action::RunNext => {
                if !self.runs.is_empty() {
                    self.current = if action == Action::RunPrev {
                        self.current.saturating_sub(1)
                    } else {
                        (self.current + 1).min(self.runs.len() - 1)
                    };
                    self.focus = 0;
                    self.step = None;
                }
            }
            Action::Quit | Action::Back => {}
        }
        vec![]
    }

    /// Send a step-boundary change to a running step-wise run, or keep it for the next run.
    fn live(&mut self, command: Command, what: String) -> Vec<Effect> {
        let stepwise =
            self.run().and_then(|r| r.tree.info.as_ref()).is_some_and(|i| i.config.strategy.stepwise());
        if self.running() && stepwise {
            self.message = Some(format!("{what}: pending, applies at the next step boundary"));
            return vec![Effect::Command { run: self.current, command }];
        }
        self.message = Some(format!("{what} applies to the next tree-search run (r)"));
        vec![]
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

    /// Text typed while a picker or the editor is open. Returns effects.
    pub fn on_text_key(&mut self, key: TextKey) -> Vec<Effect> {
        self.dirty = true;
        match &mut self.mode {
            Mode::ProblemPicker { query, selected } => match key {
                TextKey::Char(c) => {
                    query.push(c);
                    *selected = 0;
                }
                TextKey::Backspace => {
                    query.pop();
                    *selected = 0;
                }
                TextKey::Up => *selected = selected.saturating_sub(1),
                TextKey::Down => *selected += 1,
                TextKey::Esc => self.mode = Mode::Normal,
                TextKey::Enter | TextKey::Submit => {
                    let (query, idx) = (query.clone(), *selected);
                    let items = self.picker_items(&query);
                    let idx = idx.min(items.len().saturating_sub(1));
                    match items.into_iter().nth(idx).and_then(|i| i.problem) {
                        Some(p) => {
                            self.problem = Some(p);
                            self.mode = Mode::Normal;
                            return self.start();
                        }
                        None => self.mode = Mode::Editor { text: String::new() },
                    }
                }
                TextKey::Newline => {}
            },
            Mode::ModelPicker { selected } => match key {
                TextKey::Up => *selected = selected.saturating_sub(1),
                TextKey::Down => *selected = (*selected + 1).min(self.models.len().saturating_sub(1)),
                TextKey::Esc => self.mode = Mode::Normal,
                TextKey::Enter | TextKey::Submit => {
                    if let Some(m) = self.models.get(*selected).cloned() {
                        self.model = Some(m.clone());
                        self.mode = Mode::Normal;
                        let mut fx = vec![Effect::RememberModel(m)];
                        if self.problem.is_some() {
                            fx.extend(self.start());
                        }
                        return fx;
                    }
                }
                _ => {}
            },
            Mode::Editor { text } => match key {
                TextKey::Char(c) => text.push(c),
                TextKey::Newline | TextKey::Enter => text.push('\n'),
                TextKey::Backspace => {
                    text.pop();
                }
                TextKey::Esc => self.mode = Mode::Normal,
                TextKey::Submit => {
                    let t = text.trim().to_string();
                    if t.is_empty() {
                        self.message = Some("the problem is empty; type it, then press Ctrl-S".into());
                    } else {
                        self.problem = Some(Problem::inline(t, None));
                        self.mode = Mode::Normal;
                        return self.start();
                    }
                }
                TextKey::Up | TextKey::Down => {}
            },
            _ => {}
        }
        vec![]
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

    /// The node in focus.
    pub fn focused_node(&self) -> Option<NodeId> {
        self.run().and_then(|r| r.tree.nodes.get(self.focus)).map(|n| n.node)
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

/// The first line of `s`, cut to `max` characters.
pub fn one_line(s: &str, max: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}

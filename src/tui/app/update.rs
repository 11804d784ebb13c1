//! How the state changes: [`App::update`] for an action, [`App::on_text_key`] for typing
//! in a picker or the editor, [`App::on_event`] for a run's event. Work for the runtime
//! comes back as [`Effect`]s.

use crate::budget::Budget;
use crate::config::limits;
use crate::event::{Event, NodeId};
use crate::problem::Problem;
use crate::strategy::{Command, SelectionRule, StrategyKind, VerifierKind};
use crate::tree::{NodeStatus, RunTree};
use crate::tui::action::Action;
use crate::tui::layout::{body_of, chains, locate, tree_rows, waiting_for_server, Body};
use crate::verify::Aggregation;

use super::{App, Effect, Mode, RunView, TextKey};

/// The live keys move within the same ranges as the flags.
const MAX_N: usize = *limits::N.end();

/// What the view says once when the server answers one request at a time.
pub const PARALLEL_HINT: &str = "the server runs one request at a time, so candidates wait their turn; \
     to run them side by side, restart Ollama with OLLAMA_NUM_PARALLEL=4 (or more)";

/// After extra candidates: the run's selection is over every candidate (the first `shown`).
fn extended_selection(tree: &mut RunTree, shown: Option<usize>) {
    let Some(cfg) = tree.info.as_ref().map(|i| i.config.clone()) else { return };
    let sel = tree.reselect_within(shown, cfg.selection, cfg.aggregation);
    if tree.finished {
        tree.selected = sel.selected.clone();
        tree.correct = sel.correct;
        if sel.selected.is_some() {
            tree.error = None;
        }
    }
    tree.selection = Some(sel);
}

impl App {
    /// Fold an event of run `run` into the state.
    pub fn on_event(&mut self, run: usize, e: &Event) {
        let agg = self.knobs.config.aggregation;
        let rule = self.knobs.config.selection;
        let ollama = self.backend.starts_with("ollama");
        let Some(r) = self.runs.get_mut(run) else { return };
        // A batch of extra candidates keeps its own clock from zero: carry what came before.
        let carried;
        let e = match e {
            Event::Budget(b) if r.carry_ms > 0 => {
                carried = Event::Budget(Budget { elapsed_ms: b.elapsed_ms + r.carry_ms, ..b.clone() });
                &carried
            }
            Event::RunFinished { selected, correct, budget, error } if r.carry_ms > 0 => {
                carried = Event::RunFinished {
                    selected: selected.clone(),
                    correct: *correct,
                    budget: Budget { elapsed_ms: budget.elapsed_ms + r.carry_ms, ..budget.clone() },
                    error: error.clone(),
                };
                &carried
            }
            e => e,
        };
        r.tree.apply(e);
        if r.extended && matches!(e, Event::Selection(_) | Event::RunFinished { .. }) {
            // The batch selected over its own candidates: the run's answer is over all of them.
            extended_selection(&mut r.tree, r.shown);
        }
        match e {
            Event::Applied { change } if run == self.current => {
                // A replayed trace's events are untrusted text too.
                self.message = Some(format!("applied: {}", crate::safe::for_display(change, 200)));
            }
            // Keep the answer panel live as candidates finish.
            Event::NodeFinished { .. } | Event::Selection(_) => {
                r.selection = Some(r.tree.reselect_within(r.shown, rule, agg));
            }
            _ => {}
        }
        // One request at a time at the server: a candidate finished while another, admitted,
        // has not had a token. Say once how to run them side by side.
        let replayed = self.runs[run].replay.is_some();
        if ollama && !replayed && !self.told_parallel && matches!(e, Event::NodeFinished { .. }) {
            let r = &self.runs[run];
            if !waiting_for_server(&r.tree).is_empty() {
                self.told_parallel = true;
                self.message = Some(PARALLEL_HINT.into());
            }
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
        self.runs.push(RunView::new(model.clone(), Some(std::time::Instant::now())));
        self.current = self.runs.len() - 1;
        self.focus = 0;
        self.cursor = None;
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
                r.selection = Some(r.tree.reselect_within(r.shown, rule, agg));
            }
        }
    }

    /// Apply one action.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        self.dirty = true;
        // Esc on a re-scored run goes back to its own scores first.
        if action == Action::Back && self.mode == Mode::Normal && self.clear_rescore() {
            return vec![];
        }
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
                self.open_help();
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
            Action::Help => self.open_help(),
            Action::NUp | Action::NDown => {
                let n = nudge(cfg.n, action == Action::NUp, 1, MAX_N);
                cfg.n = n;
                if self.running() {
                    let stepwise =
                        self.current_strategy().is_some_and(|s| s.stepwise() || s == StrategyKind::Revise);
                    if stepwise {
                        self.message = Some(format!("N = {n}: pending, applies at the next step boundary"));
                    }
                    return vec![Effect::Command { run: self.current, command: Command::SetN(n) }];
                }
                return self.n_after_the_run(n);
            }
            Action::LookaheadUp | Action::LookaheadDown => {
                let k = nudge(
                    cfg.lookahead as usize,
                    action == Action::LookaheadUp,
                    0,
                    *limits::LOOKAHEAD.end() as usize,
                ) as u32;
                cfg.lookahead = k;
                return self.live(Command::SetLookahead(k), format!("lookahead k = {k}"));
            }
            Action::ParticleTempUp | Action::ParticleTempDown => {
                let temp = particle_temp_step(cfg.particles.temp, action == Action::ParticleTempUp);
                cfg.particles.temp = temp;
                return self.live(Command::SetParticleTemp(temp), format!("weight temperature T = {temp}"));
            }
            Action::EssThresholdUp | Action::EssThresholdDown => {
                let x = ess_threshold_step(cfg.particles.ess_threshold, action == Action::EssThresholdUp);
                cfg.particles.ess_threshold = x;
                return self.live(Command::SetEssThreshold(x), format!("ESS threshold = {x} × N"));
            }
            Action::ChainsUp | Action::ChainsDown => {
                let c = nudge(cfg.chains, action == Action::ChainsUp, 1, *limits::CHAINS.end());
                cfg.chains = c;
                return self.live(Command::SetChains(c), format!("chains C = {c}"));
            }
            Action::RevisionsUp | Action::RevisionsDown => {
                let d = nudge(cfg.revisions, action == Action::RevisionsUp, 1, *limits::REVISIONS.end());
                cfg.revisions = d;
                return self.live(Command::SetRevisions(d), format!("revisions D = {d}"));
            }
            Action::DepthUp | Action::DepthDown => {
                let d = nudge(
                    cfg.max_depth as usize,
                    action == Action::DepthUp,
                    1,
                    *limits::DEPTH.end() as usize,
                ) as u32;
                cfg.max_depth = d;
                return self.live(Command::SetDepth(d), format!("depth {d}"));
            }
            Action::WidthUp | Action::WidthDown => {
                let w = nudge(cfg.width, action == Action::WidthUp, 1, *limits::WIDTH.end());
                cfg.width = w;
                return self.live(Command::SetWidth(w), format!("width {w}"));
            }
            Action::ConfidenceUp | Action::ConfidenceDown => {
                let c = crate::strategy::stopping::step_confidence(
                    cfg.confidence,
                    action == Action::ConfidenceUp,
                );
                cfg.confidence = c;
                return self.live(Command::SetConfidence(c), format!("confidence {c}"));
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
                // An aggregation nobody chose follows the verifier (min for a step-local
                // judge, last for a reward-to-go PRM).
                cfg.set_verifier(match cfg.verifier {
                    VerifierKind::Judge => VerifierKind::Arith,
                    VerifierKind::Arith => VerifierKind::Oracle,
                    VerifierKind::Oracle => VerifierKind::Prm,
                    VerifierKind::Prm => VerifierKind::Confidence,
                    VerifierKind::Confidence => VerifierKind::None,
                    // `http` needs its URL from the flags or the config: it is chosen
                    // there, and cycling leaves it for the judge.
                    VerifierKind::None | VerifierKind::Http => VerifierKind::Judge,
                });
                if self.problem.is_some() && self.model.is_some() {
                    return self.start();
                }
            }
            Action::CycleAggregation => {
                let i = Aggregation::ALL.iter().position(|a| *a == cfg.aggregation).unwrap_or(0);
                cfg.choose_aggregation(Aggregation::ALL[(i + 1) % Aggregation::ALL.len()]);
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
            Action::FocusPrev => self.move_across(-1),
            Action::FocusNext => self.move_across(1),
            Action::PagePrev => self.move_across(-(self.per_page.max(1) as isize)),
            Action::PageNext => self.move_across(self.per_page.max(1) as isize),
            Action::TreeUp => self.move_depth(false),
            Action::TreeDown => self.move_depth(true),
            Action::ToggleTree => {
                self.show_tree = !self.show_tree;
                if !self.run().is_some_and(|r| body_of(&r.tree) == Body::Tree) {
                    self.message = Some("the search tree shows for beam, lookahead and DVTS runs".into());
                }
            }
            Action::Fork => return self.fork(),
            Action::BrowseTraces => return self.browse_traces(),
            Action::Rescore => return self.rescore_next(),
            Action::TogglePace => {
                if !self.backend.starts_with("pocket") {
                    self.message = Some(
                        "pacing applies to the embedded model; a server streams as fast as it can".into(),
                    );
                    return vec![];
                }
                self.pace = if self.pace == 0 { self.paced.max(1) } else { 0 };
                self.message = Some(match self.pace {
                    0 => "full speed".to_string(),
                    p => format!("paced: {p} tokens per second per candidate, to watch them grow"),
                });
                return vec![Effect::SetPace(self.pace)];
            }
            Action::Zoom => self.zoom = !self.zoom,
            Action::StepUp | Action::StepDown => {
                let steps = self.focused_view().map_or(0, |n| n.steps.len());
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
                    self.cursor = None;
                    self.step = None;
                }
            }
            // Nothing open: stop holding a picked node and follow the run again.
            Action::Back => {
                self.cursor = None;
                self.step = None;
            }
            Action::Quit => {}
        }
        vec![]
    }

    /// N changed on a finished run. Best-of-N re-selects over the first N candidates with
    /// no request, marking the rest beyond N; past the candidates it has, it samples more in
    /// the same run. Other strategies keep N for the next run, and say why.
    fn n_after_the_run(&mut self, n: usize) -> Vec<Effect> {
        let current = self.current;
        let (agg, rule) = (self.knobs.config.aggregation, self.knobs.config.selection);
        let strategy = self.current_strategy();
        let Some(r) = self.runs.get_mut(current).filter(|r| r.tree.finished) else {
            self.message = Some(format!("N = {n} applies to the next run (r)"));
            return vec![];
        };
        if strategy != Some(StrategyKind::BestOfN) {
            let why = match strategy {
                Some(StrategyKind::Revise) => "its chains revise in turn, so N is the next run's (r)",
                Some(StrategyKind::Adaptive) => {
                    "it chose its strategy for the old N, so N is the next run's (r)"
                }
                Some(StrategyKind::Consistency) => {
                    "its stopping rule ran under the old N, so N is the next run's (r)"
                }
                Some(_) => "its beams were ranked and pruned against the old N, so N is the next run's (r)",
                None => "N applies to the next run (r)",
            };
            self.message = Some(format!("N = {n}: this run is finished and {why}"));
            return vec![];
        }
        let have = r.tree.nodes.len();
        if n <= have {
            r.shown = (n < have).then_some(n);
            r.selection = Some(r.tree.reselect_within(r.shown, rule, agg));
            extended_selection(&mut r.tree, r.shown);
            let beyond = have - n;
            self.message = Some(if beyond > 0 {
                format!("N = {n}: selected over the first {n} candidates; {beyond} beyond N, no request")
            } else {
                format!("N = {n}: every candidate votes again, no request")
            });
            return vec![];
        }
        // More than the run has: sample the rest in the same run.
        let extra = n - have;
        r.shown = None;
        r.extended = true;
        r.carry_ms = r.tree.budget.elapsed_ms;
        r.started = Some(std::time::Instant::now());
        r.tree.finished = false;
        r.tree.error = None;
        let (budget, finished_tokens) = (r.tree.budget.clone(), r.tree.finished_tokens());
        self.message = Some(format!("N = {n}: sampling {extra} more candidate(s) in this run"));
        vec![Effect::MoreCandidates {
            run: current,
            extra,
            first_node: have as NodeId,
            budget,
            finished_tokens,
        }]
    }

    /// Send a step-boundary change to a running step-wise run, or keep it for the next run.
    fn live(&mut self, command: Command, what: String) -> Vec<Effect> {
        let live = self.current_strategy().is_some_and(|s| match command {
            Command::SetChains(_) | Command::SetRevisions(_) => s == StrategyKind::Revise,
            Command::SetLookahead(_) => s == StrategyKind::Lookahead,
            Command::SetConfidence(_) => s == StrategyKind::Consistency,
            Command::SetParticleTemp(_) | Command::SetEssThreshold(_) => s == StrategyKind::Particles,
            _ => s.stepwise(),
        });
        if self.running() && live {
            let when = match command {
                Command::SetConfidence(_) => "the next stopping check",
                _ => "the next step boundary",
            };
            self.message = Some(format!("{what}: pending, applies at {when}"));
            return vec![Effect::Command { run: self.current, command }];
        }
        self.message = Some(format!("{what} applies to the next run that uses it (r)"));
        vec![]
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

    /// Pick node `id` of a step-wise run; the panes follow it.
    fn pick(&mut self, id: NodeId) {
        self.cursor = Some(id);
        let list = self.pane_nodes();
        self.focus = self.focus_index(&list);
    }

    /// Left/right: panes, the tree row of the focused node (when the tree shows), or chains.
    fn move_across(&mut self, delta: isize) {
        self.step = None;
        let Some(run) = self.run() else { return };
        let shift =
            |i: usize, len: usize| (i as isize + delta).clamp(0, len.saturating_sub(1) as isize) as usize;
        match body_of(&run.tree) {
            Body::Panes => self.focus = shift(self.focus, self.node_count()),
            Body::Tree if self.show_tree => {
                let Some(n) = self.focused_view() else { return };
                let rows = tree_rows(&run.tree);
                let Some(row) = rows.get(n.depth as usize) else { return };
                if let Some(i) = row.iter().position(|&id| id == n.node) {
                    let id = row[shift(i, row.len())];
                    self.pick(id);
                }
            }
            Body::Tree => {
                let list = self.pane_nodes();
                if let Some(&id) = list.get(shift(self.focus_index(&list), list.len())) {
                    self.pick(id);
                }
            }
            Body::Revise => {
                let ch = chains(&run.tree);
                let Some((ci, ri)) = self.focused_node().and_then(|id| locate(&ch, id)) else { return };
                let revs = &ch[shift(ci, ch.len())].1;
                self.cursor = revs.get(ri.min(revs.len().saturating_sub(1))).copied();
            }
        }
    }

    /// Up/down the tree (parent, or a child: the best-ranked first) or along a chain's revisions.
    fn move_depth(&mut self, down: bool) {
        self.step = None;
        let Some(run) = self.run() else { return };
        match body_of(&run.tree) {
            Body::Tree => {
                let Some(n) = self.focused_view() else { return };
                let target = if down {
                    let rows = tree_rows(&run.tree);
                    let below = rows.get(n.depth as usize + 1).map_or(&[][..], Vec::as_slice);
                    let child = below.iter().copied().find(|&id| {
                        run.tree.nodes.get(id as usize).is_some_and(|c| c.parent == Some(n.node))
                    });
                    // A leaf: go to the node below at about the same place in the row.
                    child.or_else(|| {
                        let row = &rows[n.depth as usize];
                        let i = row.iter().position(|&id| id == n.node)?;
                        let j = (i * below.len()).checked_div(row.len())?;
                        below.get(j.min(below.len().saturating_sub(1))).copied()
                    })
                } else {
                    n.parent
                };
                if let Some(id) = target {
                    self.pick(id);
                }
            }
            Body::Revise => {
                let ch = chains(&run.tree);
                let Some((ci, ri)) = self.focused_node().and_then(|id| locate(&ch, id)) else { return };
                let revs = &ch[ci].1;
                let ri = if down { (ri + 1).min(revs.len() - 1) } else { ri.saturating_sub(1) };
                self.cursor = Some(revs[ri]);
            }
            Body::Panes => self.message = Some("no tree here: best-of-N candidates are independent".into()),
        }
    }

    /// Start a run that continues from the focused node's finished steps, with the same settings.
    fn fork(&mut self) -> Vec<Effect> {
        let Some(node) = self.focused_view() else {
            self.message = Some("fork: focus a node first".into());
            return vec![];
        };
        let prefix: Vec<String> =
            node.steps.iter().map(|s| s.text.clone()).take_while(|s| !s.is_empty()).collect();
        let id = node.node;
        if prefix.is_empty() {
            self.message = Some(format!("fork: #{id} has no finished step yet"));
            return vec![];
        }
        let Some(run) = self.run() else { return vec![] };
        let info = run.tree.info.as_ref();
        let Some(problem) = info.map(|i| i.problem.clone()).or(self.problem.clone()) else {
            self.message = Some("fork: the run has not said its problem yet".into());
            return vec![];
        };
        let config = info.map_or_else(|| self.knobs.config.clone(), |i| i.config.clone());
        let model = run.model.clone();
        self.runs.push(RunView::new(model.clone(), Some(std::time::Instant::now())));
        self.current = self.runs.len() - 1;
        self.focus = 0;
        self.cursor = None;
        self.step = None;
        self.message = Some(format!("fork of #{id} after {} steps", prefix.len()));
        vec![Effect::Fork { problem, config, model, prefix }]
    }
}

/// One step up or down, kept within `lo..=hi`.
fn nudge(v: usize, up: bool, lo: usize, hi: usize) -> usize {
    if up {
        (v + 1).min(hi)
    } else {
        v.saturating_sub(1).max(lo)
    }
}

/// The weight temperatures the live keys step through (within `limits::PARTICLE_TEMP`).
const PARTICLE_TEMPS: [f64; 9] = [0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0];

/// The next weight temperature up or down the ladder from `t` (a value between rungs moves to
/// the next rung in that direction).
fn particle_temp_step(t: f64, up: bool) -> f64 {
    let next = if up {
        PARTICLE_TEMPS.iter().copied().find(|x| *x > t + 1e-9)
    } else {
        PARTICLE_TEMPS.iter().rev().copied().find(|x| *x < t - 1e-9)
    };
    let (lo, hi) = (*limits::PARTICLE_TEMP.start(), *limits::PARTICLE_TEMP.end());
    next.unwrap_or(if up { hi } else { lo })
}

/// The ESS threshold 0.1 up or down, within `limits::ESS_THRESHOLD`, on tenths.
fn ess_threshold_step(x: f64, up: bool) -> f64 {
    let tenths = (x * 10.0).round() + if up { 1.0 } else { -1.0 };
    (tenths / 10.0).clamp(*limits::ESS_THRESHOLD.start(), *limits::ESS_THRESHOLD.end())
}

//! A recorded run played as one run of the view: its events are fed into the run's tree
//! at the speed they were recorded (Space pauses, `+`/`-` change the speed from 0.1× to
//! 100×; `.`/`,` step one event forward/back, `>`/`<` one step boundary — a round of a
//! search, else a completed step —, Home/End jump to the ends, `P` is presenter mode:
//! pause after every boundary). Keys that only look (panes, steps, the tree, the
//! inspector, re-ranking with `a`/`e`) work as in a live run, and so do fork (`f`: a live
//! run from the focused node), re-scoring (`R`) and the trace browser (`b`); keys that
//! would ask the recorded run's model say that a replay only watches.
//!
//! `ttc replay FILE` opens the view on one replay; the trace browser key opens one beside
//! the live runs, and `q`/Esc go back to the run that was on screen.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Effect, Mode, RunView};
use crate::event::Event;
use crate::trace::Trace;
use crate::tui::action::Action;

/// Slowest and fastest replay speeds.
pub const SPEED_MIN: f64 = 0.1;
pub const SPEED_MAX: f64 = 100.0;

/// What a key that would ask a model says in a replay.
pub const ONLY_WATCHES: &str =
    "a replay only watches: no model runs (f forks a live run from the focused node)";

/// Where a replay is in its recorded time, and how fast it moves.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayClock {
    /// Recorded milliseconds played so far.
    pub position_ms: f64,
    pub speed: f64,
    pub paused: bool,
}

impl Default for ReplayClock {
    fn default() -> Self {
        Self { position_ms: 0.0, speed: 1.0, paused: false }
    }
}

impl ReplayClock {
    /// Move on by `real` wall time (nothing while paused).
    pub fn advance(&mut self, real: Duration) {
        if !self.paused {
            self.position_ms += real.as_secs_f64() * 1000.0 * self.speed;
        }
    }

    /// Twice as fast, at most 100×.
    pub fn faster(&mut self) {
        self.speed = (self.speed * 2.0).min(SPEED_MAX);
    }

    /// Half as fast, at least 0.1×.
    pub fn slower(&mut self) {
        self.speed = (self.speed / 2.0).max(SPEED_MIN);
    }
}

/// Where the replay's boundaries are: a search's rounds when it has any, else every
/// completed step. `true` at an index means the event there ends a boundary.
pub fn boundaries(events: &[(u64, Event)]) -> Vec<bool> {
    let rounds = events.iter().any(|(_, e)| matches!(e, Event::RoundFinished { .. }));
    events
        .iter()
        .map(|(_, e)| match e {
            Event::RoundFinished { .. } => true,
            Event::StepCompleted { .. } => !rounds,
            _ => false,
        })
        .collect()
}

/// How many events are shown after moving by one boundary from `shown` (events
/// `..shown` applied): forward, just past the next boundary; back, just past the
/// boundary before the last one passed (0 when none).
pub fn boundary_target(bounds: &[bool], shown: usize, forward: bool) -> usize {
    if forward {
        (shown..bounds.len()).find(|&i| bounds[i]).map_or(bounds.len(), |i| i + 1)
    } else {
        (0..shown.saturating_sub(1)).rev().find(|&i| bounds[i]).map_or(0, |i| i + 1)
    }
}

/// A text scrub bar `width` cells wide, filled to `done` of `total`.
pub fn scrub_bar(done: f64, total: f64, width: usize) -> String {
    let frac = if total > 0.0 { (done / total).clamp(0.0, 1.0) } else { 1.0 };
    let full = (frac * width as f64).round() as usize;
    format!("▕{}{}▏", "█".repeat(full), "░".repeat(width - full))
}

/// Whether `action` only changes what is shown (no model is asked), or starts work that
/// a replay allows (a fork, re-scoring, the trace browser).
pub fn watches(action: Action) -> bool {
    use Action::*;
    matches!(
        action,
        Quit | Help
            | Back
            | PagePrev
            | PageNext
            | Zoom
            | FocusPrev
            | FocusNext
            | StepUp
            | StepDown
            | Inspect
            | ToggleLatex
            | TreeUp
            | TreeDown
            | ToggleTree
            | CycleAggregation
            | CycleSelection
            | Fork
            | Rescore
            | BrowseTraces
    )
}

/// One replayed run: the trace's events and where the replay is in them.
#[derive(Debug, Clone)]
pub struct ReplayState {
    /// The trace's file, and its name for the header.
    pub path: PathBuf,
    pub name: String,
    pub events: Arc<Vec<(u64, Event)>>,
    pub bounds: Arc<Vec<bool>>,
    /// Events `..next` are applied to the run's tree.
    pub next: usize,
    pub clock: ReplayClock,
    /// Pause after every boundary.
    pub presenter: bool,
    /// Opened from the live view: `q` and Esc go back to run `return_to` (if there is one).
    pub from_view: bool,
    pub return_to: Option<usize>,
}

impl ReplayState {
    /// The replay of `trace`, at its start, playing.
    pub fn new(trace: &Trace) -> Self {
        let events: Vec<(u64, Event)> = trace.events().collect();
        let bounds = boundaries(&events);
        let name = trace.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Self {
            path: trace.path.clone(),
            name,
            events: Arc::new(events),
            bounds: Arc::new(bounds),
            next: 0,
            clock: ReplayClock::default(),
            presenter: false,
            from_view: false,
            return_to: None,
        }
    }

    /// The recorded time of the last event.
    pub fn end_ms(&self) -> u64 {
        self.events.last().map_or(0, |(t, _)| *t)
    }

    /// Whether the clock moves and events are left.
    pub fn playing(&self) -> bool {
        !self.clock.paused && self.next < self.events.len()
    }

    /// The status line: state, speed, scrub bar, time and event.
    pub fn status(&self) -> String {
        let state = if self.clock.paused {
            "paused"
        } else if self.next == self.events.len() {
            "ended"
        } else {
            "playing"
        };
        let end = self.end_ms() as f64;
        let shown_ms = self.clock.position_ms.min(end);
        format!(
            "replay {state}{} at {}× {} {:.1} s of {:.1} s · event {}/{}",
            if self.presenter { " (presenter)" } else { "" },
            self.clock.speed,
            scrub_bar(shown_ms, end, 20),
            shown_ms / 1000.0,
            end / 1000.0,
            self.next,
            self.events.len(),
        )
    }
}

impl App {
    /// Open `trace` as a new run of the view and play it from its start. `from_view`: the
    /// live view opened it (q/Esc go back to the run on screen now). Returns its index.
    pub fn open_replay(&mut self, trace: &Trace, from_view: bool) -> usize {
        let info = &trace.header.run;
        let mut state = ReplayState::new(trace);
        state.from_view = from_view;
        state.return_to = (from_view && !self.runs.is_empty()).then_some(self.current);
        // The answer panel ranks as the recorded run did.
        self.knobs.config.aggregation = info.config.aggregation;
        self.knobs.config.selection = info.config.selection;
        let mut run = RunView::new(info.generator.model.clone(), None);
        run.replay = Some(Box::new(state));
        self.runs.push(run);
        self.current = self.runs.len() - 1;
        self.focus = 0;
        self.cursor = None;
        self.step = None;
        self.mode = Mode::Normal;
        self.message = trace.notes.first().map(|n| crate::safe::for_display(n, 200));
        self.dirty = true;
        self.current
    }

    /// Move every replay on by `real` wall time, applying the events it reaches.
    /// Returns whether a replay is playing.
    pub fn tick_replays(&mut self, real: Duration) -> bool {
        let mut playing = false;
        for i in 0..self.runs.len() {
            let Some(rep) = self.runs[i].replay.as_mut() else { continue };
            rep.clock.advance(real);
            let (events, bounds) = (rep.events.clone(), rep.bounds.clone());
            // Paused, nothing moves: a seek shows exactly the events it asked for, even
            // where later ones share the last one's time.
            while let Some(rep) = self.runs[i].replay.as_mut() {
                let next = rep.next;
                if rep.clock.paused || next >= events.len() || events[next].0 as f64 > rep.clock.position_ms {
                    playing |= rep.playing();
                    break;
                }
                rep.next += 1;
                if rep.presenter && bounds[next] {
                    rep.clock.position_ms = events[next].0 as f64;
                    rep.clock.paused = true;
                }
                self.on_event(i, &events[next].1);
            }
        }
        playing
    }

    /// Show exactly the first `k` events of replay `run`, paused there: back in time
    /// means folding the events again from the start.
    pub fn seek(&mut self, run: usize, k: usize) {
        let Some(r) = self.runs.get_mut(run) else { return };
        let Some(rep) = r.replay.as_mut() else { return };
        let events = rep.events.clone();
        let k = k.min(events.len());
        if k < rep.next {
            rep.next = 0;
            let (replay, rescore) = (r.replay.take(), r.rescore.take());
            *r = RunView::new(r.model.clone(), None);
            r.replay = replay;
            r.rescore = rescore;
        }
        while let Some(next) = self.runs[run].replay.as_ref().map(|p| p.next).filter(|n| *n < k) {
            if let Some(rep) = self.runs[run].replay.as_mut() {
                rep.next += 1;
            }
            self.on_event(run, &events[next].1);
        }
        if let Some(rep) = self.runs[run].replay.as_mut() {
            rep.clock.position_ms = if k == 0 { 0.0 } else { events[k - 1].0 as f64 };
            rep.clock.paused = true;
        }
        self.dirty = true;
    }

    /// The replay on screen, if the run on screen is one.
    pub fn replay(&self) -> Option<&ReplayState> {
        self.run().and_then(|r| r.replay.as_deref())
    }

    /// The status line of the replay on screen.
    pub fn replay_status(&self) -> Option<String> {
        self.replay().map(ReplayState::status)
    }

    /// A key on a replay on screen: the replay's own keys, and the keys it refuses.
    /// `None`: not a replay key; the keymap's action applies as in a live run.
    pub fn replay_key(&mut self, key: &KeyEvent) -> Option<Vec<Effect>> {
        if self.mode != Mode::Normal {
            return None;
        }
        let current = self.current;
        let rep = self.runs.get(current)?.replay.as_deref()?;
        let (next, len, bounds) = (rep.next, rep.events.len(), rep.bounds.clone());
        let (from_view, return_to) = (rep.from_view, rep.return_to);
        self.message = None;
        self.dirty = true;
        let moved = match key.code {
            KeyCode::Char('.') => Some(next + 1),
            KeyCode::Char(',') => Some(next.saturating_sub(1)),
            KeyCode::Char('>') => Some(boundary_target(&bounds, next, true)),
            KeyCode::Char('<') => Some(boundary_target(&bounds, next, false)),
            KeyCode::Home => Some(0),
            KeyCode::End => Some(len),
            _ => None,
        };
        if let Some(k) = moved {
            self.seek(current, k);
            return Some(vec![]);
        }
        let clock = |app: &mut App, f: &dyn Fn(&mut ReplayState)| {
            if let Some(rep) = app.runs[current].replay.as_deref_mut() {
                f(rep);
            }
        };
        if key.code == KeyCode::Char('P') {
            clock(self, &|r| r.presenter = !r.presenter);
            return Some(vec![]);
        }
        let nothing_picked =
            self.cursor.is_none() && self.step.is_none() && self.runs[current].rescore.is_none();
        match self.keymap.action(key) {
            Some(Action::PauseResume) => clock(self, &|r| r.clock.paused = !r.clock.paused),
            Some(Action::NUp) => clock(self, &|r| r.clock.faster()),
            Some(Action::NDown) => clock(self, &|r| r.clock.slower()),
            Some(Action::Quit) if from_view => self.leave_replay(return_to),
            Some(Action::Back) if from_view && nothing_picked => self.leave_replay(return_to),
            Some(a) if watches(a) => return None,
            Some(_) => self.message = Some(ONLY_WATCHES.into()),
            None => {}
        }
        Some(vec![])
    }

    /// Back from a replay opened in the view: to the run that was on screen, else to the
    /// problem picker (the replay stays a run of the session: `<`/`>` on a live run reach it).
    fn leave_replay(&mut self, return_to: Option<usize>) {
        if let Some(rep) = self.runs.get_mut(self.current).and_then(|r| r.replay.as_deref_mut()) {
            rep.clock.paused = true;
        }
        self.focus = 0;
        self.cursor = None;
        self.step = None;
        match return_to.filter(|i| *i < self.runs.len()) {
            Some(i) => self.current = i,
            None => self.mode = Mode::ProblemPicker { query: String::new(), selected: 0 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_moves_at_its_speed_between_the_bounds() {
        let mut c = ReplayClock::default();
        c.advance(Duration::from_millis(500));
        assert_eq!(c.position_ms, 500.0);
        for _ in 0..20 {
            c.faster();
        }
        assert_eq!(c.speed, SPEED_MAX);
        c.advance(Duration::from_millis(10));
        assert_eq!(c.position_ms, 1500.0);
        c.paused = true;
        c.advance(Duration::from_secs(5));
        assert_eq!(c.position_ms, 1500.0);
        for _ in 0..40 {
            c.slower();
        }
        assert_eq!(c.speed, SPEED_MIN);
        assert!(
            watches(Action::CycleSelection)
                && watches(Action::Fork)
                && !watches(Action::Rerun)
                && !watches(Action::CycleStrategy)
        );
    }

    fn step(node: u64) -> (u64, Event) {
        (node, Event::StepCompleted { node: node as _, step: 0, text: "1+1=2".into() })
    }

    #[test]
    fn boundaries_are_rounds_in_a_search_and_steps_otherwise() {
        let round = (9, Event::RoundFinished { depth: 1, alive: 2, finished: 0 });
        let steps = vec![step(1), step(2), step(3)];
        assert_eq!(boundaries(&steps), vec![true, true, true]);
        let search = vec![step(1), step(2), round.clone(), step(3), round];
        let b = boundaries(&search);
        assert_eq!(b, vec![false, false, true, false, true]);
        // Forward: just past the next boundary; back: just past the one before the last passed.
        assert_eq!(boundary_target(&b, 0, true), 3);
        assert_eq!(boundary_target(&b, 3, true), 5);
        assert_eq!(boundary_target(&b, 5, true), 5);
        assert_eq!(boundary_target(&b, 5, false), 3);
        assert_eq!(boundary_target(&b, 4, false), 3);
        assert_eq!(boundary_target(&b, 3, false), 0);
        assert_eq!(boundary_target(&b, 0, false), 0);
    }

    #[test]
    fn the_scrub_bar_fills_with_the_position() {
        assert_eq!(scrub_bar(0.0, 10.0, 4), "▕░░░░▏");
        assert_eq!(scrub_bar(5.0, 10.0, 4), "▕██░░▏");
        assert_eq!(scrub_bar(99.0, 10.0, 4), "▕████▏");
        assert_eq!(scrub_bar(0.0, 0.0, 2), "▕██▏", "an empty trace is all played");
    }
}

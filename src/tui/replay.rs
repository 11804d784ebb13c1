//! `ttc replay FILE` in the view: a recorded run's events fed into the view at the speed
//! they were recorded (Space pauses, `+`/`-` change the speed from 0.1× to 100×; `.`/`,` step
//! one event forward/back, `>`/`<` one step boundary — a round of a search, else a completed
//! step —, Home/End jump to the ends, `P` is presenter mode: pause after every boundary). A
//! scrub bar on the status line shows where the replay is. Keys that only look (panes,
//! steps, the tree, the inspector, re-ranking with `a`/`e`) work as in a live run; keys that
//! would ask a model say that a replay only watches.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream, KeyCode, KeyEventKind};
use futures::StreamExt;

use super::action::Action;
use super::app::RunView;
use super::{build_app, draw_frame, terminal, view, FRAME};
use crate::event::Event;
use crate::launch::{Failure, GlobalArgs, Launch, RunFlags};
use crate::trace::Trace;

/// Slowest and fastest replay speeds.
pub const SPEED_MIN: f64 = 0.1;
pub const SPEED_MAX: f64 = 100.0;

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

/// Whether `action` only changes what is shown (no model is asked).
fn watches(action: Action) -> bool {
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
    )
}

/// Open the view on `trace` and play it until the user quits.
pub async fn replay(global: &GlobalArgs, trace: Trace, theme: Option<String>) -> Result<ExitCode, Failure> {
    let flags =
        <RunFlags as clap::Parser>::try_parse_from(["ttc"]).map_err(|e| Failure::new(e.to_string()))?;
    let launch = Launch::new(global, &flags.run);
    let (mut app, _client, _warnings) = build_app(&launch, theme.as_deref());
    let info = &trace.header.run;
    let name = trace.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    app.backend = format!("replay of {}", crate::safe::for_display(&name, 80));
    app.knobs.config = info.config.clone();
    app.problem = Some(info.problem.clone());
    app.model = Some(info.generator.model.clone());
    // No live clock: the run's time is the recorded budget's.
    app.runs.push(RunView::new(info.generator.model.clone(), None));
    app.current = 0;
    let events: Vec<(u64, Event)> = trace.events().collect();
    let bounds = boundaries(&events);
    let end_ms = events.last().map_or(0, |(t, _)| *t);
    let mut next = 0;
    let mut clock = ReplayClock::default();
    let mut presenter = false;
    let model = info.generator.model.clone();
    // Show exactly events[..k]: back in time means folding the events again from the start.
    let seek = |app: &mut super::app::App, next: &mut usize, clock: &mut ReplayClock, k: usize| {
        let k = k.min(events.len());
        if k < *next {
            app.runs[0] = RunView::new(model.clone(), None);
            *next = 0;
        }
        while *next < k {
            app.on_event(0, &events[*next].1);
            *next += 1;
        }
        clock.position_ms = if k == 0 { 0.0 } else { events[k - 1].0 as f64 };
        clock.paused = true;
    };
    let mut note = trace.notes.first().cloned();

    let mut term = terminal::TerminalGuard::enter().map_err(|e| {
        Failure::new(format!("cannot take over the terminal: {e} (is this an interactive terminal?)"))
    })?;
    let mut cache = view::ViewCache::new();
    let mut input = EventStream::new();
    let mut last = Instant::now();
    loop {
        let now = Instant::now();
        clock.advance(now - last);
        last = now;
        // Paused, nothing moves: a seek shows exactly the events it asked for, even where
        // later ones share the last one's time.
        while !clock.paused && next < events.len() && (events[next].0 as f64) <= clock.position_ms {
            app.on_event(0, &events[next].1);
            next += 1;
            if presenter && bounds[next - 1] {
                clock.position_ms = events[next - 1].0 as f64;
                clock.paused = true;
                break;
            }
        }
        let state = if clock.paused {
            "paused"
        } else if next == events.len() {
            "ended"
        } else {
            "playing"
        };
        let shown_ms = clock.position_ms.min(end_ms as f64);
        let status = format!(
            "replay {state}{} at {}× {} {:.1} s of {:.1} s · event {next}/{} · Space pause, +/- speed, ,/. event, </> step, P presenter, q quit",
            if presenter { " (presenter)" } else { "" },
            clock.speed,
            scrub_bar(shown_ms, end_ms as f64, 20),
            shown_ms / 1000.0,
            end_ms as f64 / 1000.0,
            events.len(),
        );
        app.message = Some(match &note {
            Some(n) => format!("{} · {status}", crate::safe::for_display(n, 200)),
            None => status,
        });
        app.dirty = true;
        draw_frame(&mut term, &mut app, &mut cache)?;
        tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(TermEvent::Key(k))) if k.kind != KeyEventKind::Release => {
                    note = None;
                    let moved = match k.code {
                        KeyCode::Char('.') => Some(next + 1),
                        KeyCode::Char(',') => Some(next.saturating_sub(1)),
                        KeyCode::Char('>') => Some(boundary_target(&bounds, next, true)),
                        KeyCode::Char('<') => Some(boundary_target(&bounds, next, false)),
                        KeyCode::Home => Some(0),
                        KeyCode::End => Some(events.len()),
                        _ => None,
                    };
                    if let Some(k) = moved {
                        seek(&mut app, &mut next, &mut clock, k);
                        app.dirty = true;
                        continue;
                    }
                    if k.code == KeyCode::Char('P') {
                        presenter = !presenter;
                        continue;
                    }
                    match app.keymap.action(&k) {
                        Some(Action::PauseResume) => clock.paused = !clock.paused,
                        Some(Action::NUp) => clock.faster(),
                        Some(Action::NDown) => clock.slower(),
                        Some(a) if watches(a) => {
                            app.update(a);
                        }
                        Some(_) => note = Some("a replay only watches: no model runs".into()),
                        None => {}
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(Failure::new(format!("terminal input failed: {e}"))),
                None => break,
            },
            _ = tokio::time::sleep(FRAME * 4) => {}
        }
        if app.quit {
            break;
        }
    }
    drop(term);
    Ok(ExitCode::SUCCESS)
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
            watches(Action::CycleSelection) && !watches(Action::Rerun) && !watches(Action::CycleStrategy)
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

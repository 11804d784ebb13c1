//! `ttc replay FILE` in the view: a recorded run's events fed into the view at the speed
//! they were recorded (Space pauses, `+`/`-` change the speed from 0.1× to 100×). Keys that
//! only look (panes, steps, the tree, the inspector, re-ranking with `a`/`e`) work as in a
//! live run; keys that would ask a model say that a replay only watches.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
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
    let end_ms = events.last().map_or(0, |(t, _)| *t);
    let mut next = 0;
    let mut clock = ReplayClock::default();
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
        while next < events.len() && (events[next].0 as f64) <= clock.position_ms {
            app.on_event(0, &events[next].1);
            next += 1;
        }
        let state = if clock.paused {
            "paused"
        } else if next == events.len() {
            "ended"
        } else {
            "playing"
        };
        let status = format!(
            "replay {state} at {}× · {:.1} s of {:.1} s · Space pause, +/- speed, q quit",
            clock.speed,
            (clock.position_ms.min(end_ms as f64)) / 1000.0,
            end_ms as f64 / 1000.0
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
}

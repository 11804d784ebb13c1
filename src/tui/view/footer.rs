//! The status line at the foot of the view: the latest message and the keys that
//! apply now.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::safe::redact;
use crate::tui::action::Action;
use crate::tui::app::{App, Mode};
use crate::tui::layout::{body_of, Body};
use crate::tui::text::{one_line, sanitize};

/// The message (if any), then each key and what it does.
pub(super) fn draw_footer(f: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let k = |a: Action| app.keymap.key_for(a);
    let mut keys: Vec<(String, &str)> = match &app.mode {
        Mode::Normal => vec![
            (k(Action::Help), "help"),
            (format!("{}/{}", k(Action::NUp), k(Action::NDown)), "N"),
            (format!("{}/{}", k(Action::TemperatureUp), k(Action::TemperatureDown)), "temp"),
            (k(Action::CycleAggregation), "agg"),
            (k(Action::CycleSelection), "select"),
            (k(Action::CycleVerifier), "verifier"),
            (k(Action::PauseResume), "pause"),
            (k(Action::Rerun), "rerun"),
            (k(Action::Cancel), "cancel"),
            (k(Action::PickProblem), "problem"),
            (k(Action::PickModel), "model"),
            (k(Action::Zoom), "zoom"),
            (k(Action::Inspect), "inspect"),
            (k(Action::Quit), "quit"),
        ],
        Mode::Help => vec![(k(Action::Back), "close")],
        Mode::Inspector => vec![(k(Action::Back), "close")],
        Mode::ProblemPicker { .. } => vec![
            ("type".into(), "filter"),
            ("↑↓".into(), "move"),
            ("Enter".into(), "run"),
            ("Esc".into(), "close"),
        ],
        Mode::ModelPicker { .. } => {
            vec![("↑↓".into(), "move"), ("Enter".into(), "use"), ("Esc".into(), "close")]
        }
        Mode::Editor { .. } => {
            vec![("C-s".into(), "run it"), ("Enter".into(), "new line"), ("Esc".into(), "cancel")]
        }
        Mode::NoServer { .. } => vec![(k(Action::Rerun), "retry"), (k(Action::Quit), "quit")],
        Mode::TraceBrowser { .. } => {
            vec![("↑↓".into(), "move"), ("Enter".into(), "replay here"), ("Esc".into(), "close")]
        }
    };
    // A replay on screen: its own keys, then the ones that look.
    if app.mode == Mode::Normal && app.replay().is_some() {
        let back = if app.replay().is_some_and(|r| r.from_view) { "back" } else { "quit" };
        keys = vec![
            (k(Action::PauseResume), "play/pause"),
            (format!("{}/{}", k(Action::NUp), k(Action::NDown)), "speed"),
            ("</>".into(), "step"),
            (k(Action::Fork), "fork"),
            (k(Action::Rescore), "re-score"),
            (k(Action::Quit), back),
            (",/.".into(), "event"),
            ("P".into(), "presenter"),
            (k(Action::BrowseTraces), "traces"),
            (k(Action::Help), "help"),
        ];
    } else if app.mode == Mode::Normal {
        // Last, where a wide terminal shows them and a narrow one keeps quit.
        if app.run().is_some_and(|r| r.tree.finished) {
            keys.push((k(Action::Rescore), "re-score"));
        }
        keys.push((k(Action::BrowseTraces), "traces"));
    }
    // The tree and revision views' own keys come first, where they are not cut off.
    if app.mode == Mode::Normal && app.replay().is_none() {
        let updown = format!("{}/{}", k(Action::TreeUp), k(Action::TreeDown));
        let extra: Vec<(String, &str)> = match app.run().map(|r| body_of(&r.tree)) {
            Some(Body::Tree) => {
                vec![(updown, "parent/child"), (k(Action::ToggleTree), "tree"), (k(Action::Fork), "fork")]
            }
            Some(Body::Revise) => vec![
                (format!("{}/{}", k(Action::FocusPrev), k(Action::FocusNext)), "chain"),
                (updown, "revision"),
                (k(Action::Fork), "fork"),
            ],
            _ => vec![],
        };
        keys.splice(1..1, extra);
        // Adaptive-consistency's one live knob.
        if app.run().is_some_and(|r| super::consistency::shown_for(&r.tree)) {
            keys.insert(
                1,
                (format!("{}/{}", k(Action::ConfidenceUp), k(Action::ConfidenceDown)), "confidence"),
            );
        }
        // Particle filtering's live knobs: the weight temperature and the resampling threshold.
        if app.run().and_then(|r| crate::tui::layout::effective_strategy(&r.tree))
            == Some(crate::strategy::StrategyKind::Particles)
        {
            let pair = |u: Action, d: Action| format!("{}/{}", k(u), k(d));
            keys.insert(1, (pair(Action::EssThresholdUp, Action::EssThresholdDown), "ESS threshold"));
            keys.insert(1, (pair(Action::ParticleTempUp, Action::ParticleTempDown), "weight T"));
        }
        // The embedded model streams paced; one key gives full speed.
        if app.backend.starts_with("pocket") {
            let word = if app.pace == 0 { "paced" } else { "full speed" };
            keys.insert(1, (k(Action::TogglePace), word));
        }
    }
    let mut spans = Vec::new();
    // A replay's status line follows the message.
    let message = match (&app.message, app.replay_status()) {
        (Some(m), Some(s)) => Some(format!("{m} · {s}")),
        (m, s) => m.clone().or(s),
    };
    if let Some(m) = &message {
        // Messages quote servers and files: sanitized, and as long as the line allows.
        let room = (area.width as usize).saturating_sub(30).max(100);
        spans.push(Span::styled(
            format!(" {} ", one_line(&sanitize(&redact(m)), room)),
            Style::default().fg(t.bg).bg(t.warn),
        ));
        spans.push(Span::raw(" "));
    }
    for (key, what) in keys {
        spans.push(Span::styled(
            format!(" {key}"),
            Style::default().fg(t.accent).add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::styled(format!(" {what} "), Style::default().fg(t.dim)));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

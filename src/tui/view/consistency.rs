//! The adaptive-consistency panel: where sampling stands ("stopped at 7 of 64"), the
//! stopping statistic after every check as a sparkline against the confidence, and the
//! answer distribution at the last check as a bar per answer.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use crate::tree::{RunTree, StoppingView};
use crate::tui::app::{App, RunView};
use crate::tui::text::one_line;
use crate::tui::theme::Theme;

/// Rows the panel wants: borders, status, statistic, sparkline, scale, and a few answers.
pub(super) const HEIGHT: u16 = 11;

/// The sparkline's levels, lowest first.
const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// One character per check, the newest last, at most `width`: the statistic on the
/// interval from 1/2 (a tie, the lowest block) to 1 (the full block); below 1/2 is the lowest.
pub(super) fn sparkline(history: &[(u32, f64)], width: usize) -> String {
    let from = history.len().saturating_sub(width);
    history[from..]
        .iter()
        .map(|(_, p)| {
            let x = ((p - 0.5) * 2.0).clamp(0.0, 1.0);
            let x = if x.is_nan() { 0.0 } else { x };
            LEVELS[((x * (LEVELS.len() - 1) as f64).round() as usize).min(LEVELS.len() - 1)]
        })
        .collect()
}

/// A bar of `votes` out of `most`, `width` cells at most (one cell for any vote at all).
pub(super) fn bar(votes: u32, most: u32, width: usize) -> String {
    if votes == 0 || most == 0 || width == 0 {
        return String::new();
    }
    let cells = ((votes as f64 / most as f64) * width as f64).round().max(1.0) as usize;
    "█".repeat(cells.min(width))
}

/// Whether a run shows this panel: an adaptive-consistency run (or an adaptive run that chose it).
pub(super) fn shown_for(tree: &RunTree) -> bool {
    tree.stopping.is_some()
        || crate::tui::layout::effective_strategy(tree) == Some(crate::strategy::StrategyKind::Consistency)
}

/// The panel's part of the answers column and what is left for the answers: the whole
/// column when it is too short for both.
pub(super) fn split(area: Rect) -> (Rect, Rect) {
    if area.height < HEIGHT + 5 {
        return (area, Rect { height: 0, ..area });
    }
    let top = Rect { height: HEIGHT, ..area };
    (top, Rect { y: area.y + HEIGHT, height: area.height - HEIGHT, ..area })
}

/// The header's words for a consistency run: "stopped at 7 of 64, …" or "sampling 5 of 64, …".
pub(super) fn header_span<'a>(tree: &RunTree, t: &Theme, bar: Style) -> Option<Span<'a>> {
    let s = tree.stopping.as_ref()?;
    let style = if s.stopped_at.is_some() { bar.fg(t.ok) } else { bar };
    Some(Span::styled(format!(" {} ", s.status(tree.finished)), style.add_modifier(Modifier::BOLD)))
}

/// The panel for `run`; before the first check it says it waits for one.
pub(super) fn draw_consistency(f: &mut Frame, area: Rect, app: &App, run: &RunView) {
    let t = &app.theme;
    let confidence = run.tree.stopping.as_ref().map_or(app.knobs.config.confidence, |s| s.confidence);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(t.border))
        .title(Span::styled(format!(" consistency · conf {confidence} "), Style::default().fg(t.accent)));
    let inner = block.inner(area).width as usize;
    let lines = match &run.tree.stopping {
        Some(s) => lines_of(s, run.tree.finished, inner, t),
        None => vec![Line::from(Span::styled("waiting for the first sample", Style::default().fg(t.dim)))],
    };
    f.render_widget(Paragraph::new(lines).block(block), area);
}

fn lines_of<'a>(s: &StoppingView, finished: bool, width: usize, t: &Theme) -> Vec<Line<'a>> {
    // "stopped at 7 of 64" on its own line, the statistic under it: the column is narrow.
    let status = s.status(finished);
    let (head, stat) = status.split_once(", ").unwrap_or((status.as_str(), ""));
    let mut lines = vec![
        Line::from(Span::styled(
            head.to_string(),
            Style::default()
                .fg(if s.stopped_at.is_some() { t.ok } else { t.fg })
                .add_modifier(Modifier::BOLD),
        )),
        Line::from(Span::styled(stat.to_string(), Style::default().fg(t.fg))),
    ];
    let spark_width = width.saturating_sub(2).max(1);
    lines.push(Line::from(vec![
        Span::styled("P ", Style::default().fg(t.dim)),
        Span::styled(sparkline(&s.history, spark_width), Style::default().fg(t.score_color(Some(s.stat)))),
    ]));
    lines.push(Line::from(Span::styled(
        format!("  ▁ tie … █ sure; stop ≥ {}", s.confidence),
        Style::default().fg(t.dim),
    )));
    let most = s.votes.first().map_or(0, |v| v.1);
    // "▶ answer     ████ 6": 2 + 10 + 1 + bar + 1 + count.
    let bar_width = width.saturating_sub(2 + 10 + 1 + 5).max(1);
    for (i, (answer, votes)) in s.votes.iter().enumerate() {
        let lead = i == 0;
        lines.push(Line::from(vec![
            Span::styled(if lead { "▶ " } else { "  " }, Style::default().fg(t.accent)),
            Span::styled(
                format!("{:<10} ", one_line(answer, 9)),
                if lead { Style::default().add_modifier(Modifier::BOLD) } else { Style::default() },
            ),
            Span::styled(
                bar(*votes, most, bar_width),
                Style::default().fg(if lead { t.accent } else { t.dim }),
            ),
            Span::styled(format!(" {votes}"), Style::default().fg(t.fg)),
        ]));
    }
    if s.votes.is_empty() {
        lines.push(Line::from(Span::styled("no answer has voted yet", Style::default().fg(t.dim))));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_maps_half_to_one_and_keeps_the_newest() {
        let h: Vec<(u32, f64)> = vec![(1, 0.0), (2, 0.5), (3, 0.75), (4, 1.0), (5, f64::NAN)];
        assert_eq!(sparkline(&h, 10), "▁▁▅█▁");
        assert_eq!(sparkline(&h, 2), "█▁");
        assert_eq!(sparkline(&[], 5), "");
    }

    #[test]
    fn bars_scale_to_the_leader() {
        assert_eq!(bar(6, 6, 12).chars().count(), 12);
        assert_eq!(bar(3, 6, 12).chars().count(), 6);
        assert_eq!(bar(1, 1000, 12).chars().count(), 1, "any vote shows");
        assert_eq!(bar(0, 6, 12), "");
        assert_eq!(bar(9, 6, 4).chars().count(), 4, "never wider than asked");
    }
}

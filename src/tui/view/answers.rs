//! The answers panel: the selection's answers with votes and weights, the gold answer
//! and the run's error.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use crate::safe::redact;
use crate::tui::app::{App, RunView};
use crate::tui::text::{one_line, sanitize};
use crate::tui::theme::Theme;

/// The answers of `run` under the current selection rule and aggregation.
pub(super) fn draw_answers(f: &mut Frame, area: Rect, app: &App, run: &RunView) {
    let t = &app.theme;
    let c = &app.knobs.config;
    let block = Block::default().borders(Borders::ALL).border_style(Style::default().fg(t.border)).title(
        Span::styled(
            match run.shown {
                Some(n) => format!(
                    " answers · first {n} of {} · {} · {} ",
                    run.tree.nodes.len(),
                    c.selection,
                    c.aggregation
                ),
                None => format!(" answers · {} · {} ", c.selection, c.aggregation),
            },
            Style::default().fg(t.accent),
        ),
    );
    let mut lines = Vec::new();
    match &run.selection {
        Some(sel) if !sel.answers.is_empty() => {
            for (i, a) in sel.answers.iter().enumerate() {
                let mark = if i == 0 { "▶ " } else { "  " };
                let mut spans = vec![
                    Span::styled(mark, Style::default().fg(t.accent)),
                    Span::styled(
                        format!("{:<10}", one_line(&sanitize(&a.answer), 10)),
                        if i == 0 { Style::default().add_modifier(Modifier::BOLD) } else { Style::default() },
                    ),
                    Span::styled(format!(" ×{:<3}", a.votes), Style::default().fg(t.fg)),
                    Span::styled(format!(" w {:.2}", a.weight), Style::default().fg(t.dim)),
                ];
                match a.correct {
                    Some(true) => spans.push(Span::styled(" ✓", Style::default().fg(t.ok))),
                    Some(false) => spans.push(Span::styled(" ✗", Style::default().fg(t.bad))),
                    None => {}
                }
                lines.push(Line::from(spans));
            }
            if let Some(note) = &sel.note {
                lines.push(Line::from(Span::styled(one_line(note, 60), Style::default().fg(t.warn))));
            }
        }
        _ => lines.push(Line::from(Span::styled("no answers yet", Style::default().fg(t.dim)))),
    }
    if let Some(r) = &run.rescore {
        lines.extend(super::rescore::rescore_lines(r, t));
    }
    if let Some(g) = run.tree.info.as_ref().and_then(|i| i.problem.gold.as_ref()) {
        lines.push(Line::from(vec![
            Span::styled("gold ", Style::default().fg(t.dim)),
            Span::styled(sanitize(g).into_owned(), Style::default().fg(t.ok)),
        ]));
    }
    if let Some(e) = &run.tree.error {
        lines
            .push(Line::from(Span::styled(one_line(&sanitize(&redact(e)), 120), Style::default().fg(t.bad))));
    }
    f.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), area);
}

/// The empty panel before the first run.
pub(super) fn draw_answers_empty(f: &mut Frame, area: Rect, t: &Theme) {
    let block =
        Block::default().borders(Borders::ALL).border_style(Style::default().fg(t.border)).title(" answers ");
    f.render_widget(Paragraph::new("").block(block), area);
}

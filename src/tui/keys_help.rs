//! The keys of a small terminal view (`ttc bench view`, `ttc verifier view`): a footer line
//! always on screen and a help overlay on `?`, from the view's own key table.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

fn key_style() -> Style {
    Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD)
}

/// The footer: each key, then what it does, in one line.
pub fn footer(keys: &[(&'static str, &'static str)]) -> Line<'static> {
    let mut spans = Vec::new();
    for (k, what) in keys {
        spans.push(Span::styled(*k, key_style()));
        spans.push(Span::raw(format!(" {what}  ")));
    }
    Line::from(spans)
}

/// The help overlay, centred in `area`: the key table (keys right-aligned in `key_width`
/// columns), a blank line, then `notes`, in a box titled `title`.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    keys: &[(&str, &str)],
    key_width: usize,
    notes: &[&str],
    title: &str,
) {
    let mut lines: Vec<Line> = keys
        .iter()
        .map(|(k, what)| {
            Line::from(vec![Span::styled(format!("{k:>key_width$}  "), key_style()), Span::raw(*what)])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.extend(notes.iter().map(|n| Line::raw(*n)));
    let high = lines.len() as u16 + 2;
    let [row] = Layout::vertical([Constraint::Length(high)]).flex(Flex::Center).areas(area);
    let [rect] = Layout::horizontal([Constraint::Length(80)]).flex(Flex::Center).areas(row);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(title)),
        rect,
    );
}

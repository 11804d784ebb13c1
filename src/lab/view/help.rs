//! The keys: a footer line always on screen and a help overlay on `?`.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

/// Every key and what it does.
pub const KEYS: [(&str, &str); 10] = [
    ("↑/↓ j/k", "the previous / next item"),
    ("PgUp/PgDn", "a page of items up / down (Home/End: the first / last)"),
    ("←/→ [ ]", "τ down / up by 0.05"),
    ("{ }", "τ down / up by 0.01"),
    ("d", "only disagreements (predicted ≠ label) / every item"),
    ("e", "only erroneous items (a wrong step) / every item"),
    ("c", "only all-correct items / every item"),
    ("?", "this help (any key closes it)"),
    ("q Esc", "quit"),
    ("", "the metrics are over every item, whatever the filter"),
];

/// The footer: the keys in one line.
pub fn footer() -> Line<'static> {
    let key = Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD);
    let mut spans = Vec::new();
    for (k, what) in [
        ("↑↓", "item"),
        ("←→/[]", "τ ±0.05"),
        ("{}", "±0.01"),
        ("d", "disagreements"),
        ("e/c", "erroneous/correct"),
        ("?", "help"),
        ("q", "quit"),
    ] {
        spans.push(Span::styled(k, key));
        spans.push(Span::raw(format!(" {what}  ")));
    }
    Line::from(spans)
}

/// The help overlay, centred in `area`.
pub fn draw(frame: &mut Frame, area: Rect) {
    let key = Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD);
    let mut lines: Vec<Line> = KEYS
        .iter()
        .map(|(k, what)| Line::from(vec![Span::styled(format!("{k:>10}  "), key), Span::raw(*what)]))
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::raw("The predicted first wrong step is the first step scored below τ (a score"));
    lines.push(Line::raw("equal to τ passes). ✓: predicted = the human label; ✗: they differ;"));
    lines.push(Line::raw("?: the verifier scored no step of the item (left out of the metrics)."));
    let high = lines.len() as u16 + 2;
    let [row] = Layout::vertical([Constraint::Length(high)]).flex(Flex::Center).areas(area);
    let [rect] = Layout::horizontal([Constraint::Length(80)]).flex(Flex::Center).areas(row);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(" ttc verifier view: keys ")),
        rect,
    );
}

//! The keys: a footer line always on screen and a help overlay on `?`.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

/// Every key and what it does.
pub const KEYS: [(&str, &str); 9] = [
    ("←/→ h/l", "move the budget cursor"),
    ("Home/End", "smallest / largest budget"),
    ("Tab ↑/↓ j/k", "focus the next / previous panel"),
    ("1–6", "focus a panel (1 all problems, 2–6 bins 1–5)"),
    ("b", "switch oracle / model-predicted difficulty bins"),
    ("g", "all six panels in a grid / the focused one alone"),
    ("?", "this help (any key closes it)"),
    ("q Esc", "quit"),
    ("", "results.jsonl is re-read when it grows"),
];

/// The footer: the keys in one line.
pub fn footer() -> Line<'static> {
    let key = Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD);
    let mut spans = Vec::new();
    for (k, what) in
        [("←→", "budget"), ("Tab/1-6", "panel"), ("b", "bins"), ("g", "grid"), ("?", "help"), ("q", "quit")]
    {
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
        .map(|(k, what)| Line::from(vec![Span::styled(format!("{k:>12}  "), key), Span::raw(*what)]))
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::raw("Lines: compute-optimal (•, bold yellow) is the strategy chosen per bin and"));
    lines.push(Line::raw("budget on one half of the problems, scored on the other; best-of-N is cyan."));
    lines.push(Line::raw("Efficiency ratio: the best-of-N budget that matches compute-optimal's"));
    lines.push(Line::raw("accuracy, divided by the budget under the cursor."));
    let high = lines.len() as u16 + 2;
    let [row] = Layout::vertical([Constraint::Length(high)]).flex(Flex::Center).areas(area);
    let [rect] = Layout::horizontal([Constraint::Length(80)]).flex(Flex::Center).areas(row);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(" ttc bench view: keys ")),
        rect,
    );
}

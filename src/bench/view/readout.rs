//! The side column: the legend (which line is which) and the readout (every line's accuracy at
//! the cursor's budget in the focused panel, compute-optimal's picks and the efficiency ratio).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use super::chart::{styles, swatch};
use super::data::{Panel, Role, NAME_CHARS};
use super::state::State;
use crate::bench::analysis::Needed;
use crate::safe::for_display;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// `s` in exactly `width` columns: cut with `…` when longer, padded with spaces when shorter.
pub fn fit(s: &str, width: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    if s.width() > width {
        for c in s.chars() {
            let w = c.width().unwrap_or(0);
            if used + w + 1 > width {
                break;
            }
            out.push(c);
            used += w;
        }
        if width > 0 {
            out.push('…');
            used += 1;
        }
    } else {
        out.push_str(s);
        used = s.width();
    }
    out + &" ".repeat(width.saturating_sub(used))
}

/// What a role adds to a legend entry.
fn note(role: Role) -> &'static str {
    match role {
        Role::Optimal => " (held-out)",
        Role::Baseline => " (best-of-N)",
        Role::Other => "",
    }
}

/// The legend's lines.
pub fn legend_lines(panel: &Panel) -> Vec<Line<'static>> {
    let styles = styles(panel);
    let mut lines: Vec<Line> = panel
        .series
        .iter()
        .zip(&styles)
        .map(|(s, st)| {
            Line::from(vec![
                Span::styled(swatch(s.role), *st),
                Span::raw(" "),
                Span::styled(format!("{}{}", s.label, note(s.role)), *st),
            ])
        })
        .collect();
    if let Some(why) = &panel.no_optimal {
        lines.push(Line::styled(why.clone(), Style::default().fg(Color::DarkGray)));
    }
    lines
}

/// The readout's lines for the focused panel at the cursor.
pub fn readout_lines(state: &State, panel: &Panel) -> Vec<Line<'static>> {
    let Some(budget) = state.budget() else {
        return vec![Line::raw("no budgets yet")];
    };
    let styles = styles(panel);
    let mut lines = Vec::new();
    if panel.unavailable.is_some() {
        lines.push(Line::raw("no bins of this kind: press b for the other kind"));
        return lines;
    }
    let width = panel.series.iter().map(|s| s.label.width()).max().unwrap_or(8).min(24);
    for (s, st) in panel.series.iter().zip(&styles) {
        let value = match s.cells.get(&budget) {
            Some(c) => match c.accuracy() {
                Some(a) => format!("{a:.2} ({}/{})", c.correct, c.n),
                None if c.ungraded > 0 => format!("— ({} ungraded)", c.ungraded),
                None => "—".into(),
            },
            None => "—".into(),
        };
        lines.push(Line::from(vec![Span::styled(fit(&s.label, width) + " ", *st), Span::raw(value)]));
    }
    if let Some([a, b]) = panel.chosen.get(&budget) {
        let pick =
            |s: &Option<String>| s.as_deref().map(|s| for_display(s, NAME_CHARS)).unwrap_or("—".into());
        let chosen = if a == b { pick(a) } else { format!("{} / {}", pick(a), pick(b)) };
        lines.push(Line::styled(format!("picks: {chosen}"), Style::default().fg(Color::Yellow)));
    }
    match state.data.efficiency(state.kind, state.focus, budget) {
        Some((target, need)) => {
            let what = match need {
                Needed::Beyond => "best-of-N never reaches it".to_string(),
                n => format!("best-of-N needs {}", n.describe()),
            };
            lines.push(Line::raw(format!("optimal {target:.2}: {what}")));
            lines.push(Line::from(vec![
                Span::raw("efficiency ratio "),
                Span::styled(need.ratio(budget), Style::default().add_modifier(Modifier::BOLD)),
            ]));
        }
        None if state.data.bon.is_none() => lines.push(Line::raw("no best-of-N run: no efficiency ratio")),
        None => {}
    }
    lines
}

/// Draw the legend above the readout in `area`.
pub fn draw(frame: &mut Frame, area: Rect, state: &State, panel: &Panel) {
    let legend = legend_lines(panel);
    let readout = readout_lines(state, panel);
    let high = (legend.len() as u16 + 2).min(area.height / 2).max(3);
    let [top, bottom] = Layout::vertical([Constraint::Length(high), Constraint::Min(0)]).areas(area);
    let frame_style = Style::default().fg(Color::DarkGray);
    frame.render_widget(
        Paragraph::new(legend)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).border_style(frame_style).title(" legend ")),
        top,
    );
    let title = match state.budget() {
        Some(b) => format!(" at budget {b} ({}/{}) ", state.cursor + 1, state.data.results.budgets.len()),
        None => " readout ".into(),
    };
    frame.render_widget(
        Paragraph::new(readout)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).border_style(frame_style).title(title)),
        bottom,
    );
}

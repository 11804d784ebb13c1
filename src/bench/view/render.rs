//! The whole screen from the state, and nothing else: a header, the panel tabs, the chart(s),
//! the legend and readout, a status line and the keys.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::data::{bin_label, PANELS};
use super::state::State;
use super::{chart, help, readout};

/// Draw the screen.
pub fn render(frame: &mut Frame, state: &State) {
    let area = frame.area();
    let [head, tabs, body, status, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(header(state)), head);
    frame.render_widget(Paragraph::new(tab_line(state, area.width)), tabs);
    let side = if area.width >= 100 { 44 } else { area.width * 2 / 5 };
    let [charts, column] = Layout::horizontal([Constraint::Min(10), Constraint::Length(side)]).areas(body);
    let budgets = &state.data.results.budgets;
    if state.grid {
        for (i, rect) in grid(charts).into_iter().enumerate() {
            chart::draw(frame, rect, &state.panel(i), budgets, state.budget(), i == state.focus);
        }
    } else {
        chart::draw(frame, charts, &state.panel(state.focus), budgets, state.budget(), true);
    }
    readout::draw(frame, column, state, &state.panel(state.focus));
    frame.render_widget(Paragraph::new(status_line(state)), status);
    frame.render_widget(Paragraph::new(help::footer()), foot);
    if state.help {
        help::draw(frame, area);
    }
}

/// Six panels: two rows of three.
fn grid(area: Rect) -> Vec<Rect> {
    let rows = Layout::vertical([Constraint::Ratio(1, 2); 2]).split(area);
    rows.iter().flat_map(|r| Layout::horizontal([Constraint::Ratio(1, 3); 3]).split(*r).to_vec()).collect()
}

fn header(state: &State) -> Line<'static> {
    let r = &state.data.results;
    let mut text = format!(
        " {} · {} problems · {} strategies · {} lines · {}",
        state.data.dataset(),
        r.problems.len(),
        r.strategies.len(),
        r.rows.len(),
        state.shown_dir
    );
    if let Some(m) = &r.meta {
        if let Some(model) = &m.model {
            text += &format!(" · model {}", crate::safe::for_display(model, 40));
        }
    }
    Line::from(vec![
        Span::styled(" ttc bench view ", Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)),
        Span::raw(text),
    ])
}

/// The panels by number, the focused one marked, then the kind of bins (in words when it fits).
fn tab_line(state: &State, width: u16) -> Line<'static> {
    let mut spans = Vec::new();
    let wide = width >= 120;
    for i in 0..PANELS {
        let name = match i {
            0 => "all".to_string(),
            _ if wide => format!("bin {}", bin_label(i as u8)),
            _ => format!("bin {i}"),
        };
        let text = format!(" {} {name} ", i + 1);
        let style = if i == state.focus {
            Style::default().fg(Color::Black).bg(Color::Yellow).add_modifier(Modifier::BOLD)
        } else {
            Style::default()
        };
        spans.push(Span::styled(text, style));
    }
    let (text, style) = match state.data.binned(state.kind) {
        Ok(_) if width >= 110 => {
            (format!("  bins: {}", state.kind.describe()), Style::default().fg(Color::Cyan))
        }
        Ok(_) => (format!("  bins: {}", state.kind.name()), Style::default().fg(Color::Cyan)),
        Err(_) => (format!("  bins: {}: unavailable", state.kind.name()), Style::default().fg(Color::Red)),
    };
    spans.push(Span::styled(text, style));
    Line::from(spans)
}

fn status_line(state: &State) -> Line<'static> {
    if let Some(e) = &state.status {
        return Line::styled(format!(" {e}"), Style::default().fg(Color::Red));
    }
    let r = &state.data.results;
    let mut text = " watching results.jsonl".to_string();
    if state.reloads > 0 {
        text += &format!(" · reloaded {}×", state.reloads);
    }
    if r.truncated {
        text += " · an incomplete last line ignored (still being written?)";
    }
    let ungraded = r.ungraded();
    if ungraded > 0 {
        text += &format!(" · {ungraded} lines without gold left out of accuracy");
    }
    Line::styled(text, Style::default().fg(Color::DarkGray))
}

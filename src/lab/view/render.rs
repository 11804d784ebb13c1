//! The whole screen from the state, and nothing else: a header with the metrics at τ, the
//! list of items, the focused item ([`detail`]), and the keys ([`help`]).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::state::State;
use super::{detail, help};
use crate::safe::for_display;

/// Rows above and below the list's items (header, borders, column names, footer): what
/// PgUp/PgDn do not count.
pub const CHROME_ROWS: u16 = 6;

/// Draw the screen.
pub fn render(frame: &mut Frame, state: &State) {
    let area = frame.area();
    let [head, metrics, body, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(header(state)), head);
    frame.render_widget(Paragraph::new(metrics_line(state)), metrics);
    let side = (area.width * 2 / 5).clamp(area.width.min(24), 44);
    let [list, item] = Layout::horizontal([Constraint::Length(side), Constraint::Min(1)]).areas(body);
    draw_list(frame, list, state);
    detail::draw(frame, item, state);
    frame.render_widget(Paragraph::new(help::footer()), foot);
    if state.help {
        help::draw(frame, area);
    }
}

fn header(state: &State) -> Line<'static> {
    let d = &state.data;
    let n = d.records.len();
    let mut text = format!(" {n} item{}", if n == 1 { "" } else { "s" });
    if let Some(v) = &d.verifier {
        text += &format!(" · verifier {v}");
    }
    if let Some(f) = &d.file {
        text += &format!(" · {f}");
    }
    text += &format!(" · {}", state.shown_dir);
    if d.truncated {
        text += " · a cut-short last line left out";
    }
    Line::from(vec![
        Span::styled(
            " ttc verifier view ",
            Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        ),
        Span::raw(text),
    ])
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".into(), |x| format!("{:.1}%", 100.0 * x))
}

/// The metrics at τ (over every item), then the best τ of the sweep and step AUROC.
fn metrics_line(state: &State) -> Line<'static> {
    let c = state.counts();
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let tau = Style::default().fg(Color::Black).bg(Color::Yellow).add_modifier(Modifier::BOLD);
    let mut spans = vec![
        Span::styled(format!(" τ {:.2} ", state.tau()), tau),
        Span::raw(" error acc "),
        Span::styled(pct(c.error_acc()), bold),
        Span::raw(format!(" ({}/{})", c.erroneous_hits, c.erroneous)),
        Span::raw(" · correct acc "),
        Span::styled(pct(c.correct_acc()), bold),
        Span::raw(format!(" ({}/{})", c.correct_hits, c.correct)),
        Span::raw(" · F1 "),
        Span::styled(pct(c.f1()), bold),
    ];
    if c.unscored > 0 {
        spans.push(Span::raw(format!(" · {} unscored", c.unscored)));
    }
    let d = &state.data;
    let best = match d.best {
        Some(b) => format!(" │ best τ {:.2} (F1 {})", b.threshold, pct(b.f1)),
        None => " │ best τ n/a".into(),
    };
    let auroc = d.auroc.value.map_or_else(|| "n/a".into(), |v| format!("{v:.3}"));
    spans.push(Span::styled(format!("{best} · step AUROC {auroc}"), Style::default().fg(Color::Cyan)));
    Line::from(spans)
}

/// `s` cut or padded to exactly `width` display cells (a cut ends with `…`).
pub fn fit(s: &str, width: usize) -> String {
    if s.width() <= width {
        return format!("{s}{}", " ".repeat(width - s.width()));
    }
    let mut out = String::new();
    let mut used = 0;
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
    out + &" ".repeat(width.saturating_sub(used))
}

fn number(x: Option<i64>) -> String {
    x.map_or_else(|| "—".into(), |x| x.to_string())
}

/// The list of items: a mark (✓ predicted = label, ✗ not, ? unscored), the id, the label and
/// the prediction at τ; the focused one highlighted, kept in view.
fn draw_list(frame: &mut Frame, area: Rect, state: &State) {
    let visible = state.visible();
    let filter = state.filter_words();
    let title = if filter.is_empty() {
        format!(" items {} ", visible.len())
    } else {
        format!(" {filter} {}/{} ", visible.len(), state.data.records.len())
    };
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let id_width = usize::from(inner.width).saturating_sub(14);
    let mut lines = vec![Line::styled(
        format!("  {} label  pred", fit("id", id_width)),
        Style::default().fg(Color::DarkGray),
    )];
    let rows = usize::from(inner.height).saturating_sub(1);
    let at = visible.iter().position(|&i| i == state.focus).unwrap_or(0);
    // The focused row sits mid-list once the list is longer than the pane.
    let offset = at.saturating_sub(rows / 2).min(visible.len().saturating_sub(rows));
    for &i in visible.iter().skip(offset).take(rows) {
        let r = &state.data.records[i];
        let predicted = state.predicted(i);
        let (mark, colour) = match predicted {
            None => ("?", Color::DarkGray),
            Some(p) if crate::lab::metrics::hit(r.label, p) => ("✓", Color::Green),
            Some(_) => ("✗", Color::Red),
        };
        let id = fit(&for_display(&r.id, 200), id_width);
        let rest = format!(" {id} {:>5} {:>5}", r.label, number(predicted));
        let mut style = Style::default();
        if i == state.focus {
            style = style.add_modifier(Modifier::REVERSED);
        }
        lines.push(Line::from(vec![
            Span::styled(mark, style.fg(colour).add_modifier(Modifier::BOLD)),
            Span::styled(rest, style),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

//! One panel: accuracy against budget, every strategy a line, on a log₂ budget axis labelled
//! with the real budgets. Compute-optimal is drawn bold in dots, best-of-N bright, the rest dim;
//! the cursor is a vertical line at its budget.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph, Wrap};
use ratatui::Frame;

use super::data::{Panel, Role};

/// Colours of the strategies besides compute-optimal and best-of-N, in turn: muted ones
/// (sage, mauve, steel blue, dusty pink, khaki, cadet blue from the 256-colour palette).
const OTHERS: [Color; 6] = [
    Color::Indexed(108),
    Color::Indexed(139),
    Color::Indexed(67),
    Color::Indexed(174),
    Color::Indexed(144),
    Color::Indexed(73),
];

/// How a line of `role`, the `n`th of the other strategies, is drawn.
pub fn style(role: Role, n: usize) -> Style {
    match role {
        Role::Optimal => Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        Role::Baseline => Style::default().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        Role::Other => Style::default().fg(OTHERS[n % OTHERS.len()]).add_modifier(Modifier::DIM),
    }
}

/// The mark a legend shows for a role.
pub fn swatch(role: Role) -> &'static str {
    match role {
        Role::Optimal => "•••",
        Role::Baseline => "━━━",
        Role::Other => "───",
    }
}

/// Each series' style, in the panel's order (the others numbered in turn).
pub fn styles(panel: &Panel) -> Vec<Style> {
    let mut n = 0;
    panel
        .series
        .iter()
        .map(|s| {
            let st = style(s.role, n);
            if s.role == Role::Other {
                n += 1;
            }
            st
        })
        .collect()
}

/// The x axis: log₂ bounds on whole powers of two around the budgets, and labels at powers of
/// two, thinned to fit `width` columns while staying evenly spaced.
pub fn x_axis(budgets: &[u32], width: u16) -> ([f64; 2], Vec<String>) {
    let (Some(lo), Some(hi)) = (budgets.first(), budgets.last()) else {
        return ([0.0, 1.0], vec!["1".into(), "2".into()]);
    };
    let lo = (*lo.max(&1) as f64).log2().floor() as i32;
    let hi = ((*hi.max(&1) as f64).log2().ceil() as i32).max(lo + 1);
    let span = hi - lo;
    let fit = (width as i32 / 5).max(2);
    let step = (1..=span).find(|k| span % k == 0 && span / k < fit).unwrap_or(span);
    let labels = (0..=span / step).map(|i| format!("{}", 1u64 << (lo + i * step).clamp(0, 62))).collect();
    ([lo as f64, hi as f64], labels)
}

/// Draw panel `panel` into `area`; `focused` frames it brightly.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    panel: &Panel,
    budgets: &[u32],
    cursor: Option<u32>,
    focused: bool,
) {
    let border = if focused {
        Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD)
    } else {
        Style::default().fg(Color::DarkGray)
    };
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Span::styled(format!(" {} ", panel.title), border));
    if area.width >= 34 {
        block = block
            .title_bottom(Line::styled(" accuracy × budget (log₂) ", Style::default().fg(Color::DarkGray)));
    }
    if let Some(why) = &panel.unavailable {
        let text = Paragraph::new(why.as_str()).wrap(Wrap { trim: true }).block(block);
        frame.render_widget(text, area);
        return;
    }
    let points: Vec<Vec<(f64, f64)>> = panel
        .series
        .iter()
        .map(|s| s.points().into_iter().map(|(b, a)| ((b.max(1) as f64).log2(), a)).collect())
        .collect();
    if points.iter().all(Vec::is_empty) {
        let text = Paragraph::new(
            "no graded lines yet: accuracy needs finished runs on problems with a gold answer",
        )
        .wrap(Wrap { trim: true })
        .block(block);
        frame.render_widget(text, area);
        return;
    }
    let (bounds, labels) = x_axis(budgets, area.width.saturating_sub(8));
    let cursor_line: Vec<(f64, f64)> = cursor
        .map(|b| {
            let x = (b.max(1) as f64).log2();
            vec![(x, 0.0), (x, 1.0)]
        })
        .unwrap_or_default();
    let mut datasets = vec![Dataset::default()
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(Style::default().fg(Color::DarkGray))
        .data(&cursor_line)];
    // The dim ones first, so the emphasised lines are drawn over them.
    let styles = styles(panel);
    let mut order: Vec<usize> = (0..panel.series.len()).collect();
    order.sort_by_key(|i| match panel.series[*i].role {
        Role::Other => 0,
        Role::Baseline => 1,
        Role::Optimal => 2,
    });
    for i in order {
        let marker = if panel.series[i].role == Role::Optimal { Marker::Dot } else { Marker::Braille };
        // A single point is drawn as a point; a line needs two.
        let kind = if points[i].len() > 1 { GraphType::Line } else { GraphType::Scatter };
        datasets.push(Dataset::default().marker(marker).graph_type(kind).style(styles[i]).data(&points[i]));
    }
    let axis_style = Style::default().fg(Color::Gray);
    // The label of the budget under the cursor stands out.
    let mark = Style::default().fg(Color::Black).bg(Color::Yellow);
    let labels: Vec<Line> = labels
        .into_iter()
        .map(|l| {
            let here = cursor.is_some_and(|b| b.to_string() == l);
            Line::from(Span::styled(l, if here { mark } else { axis_style }))
        })
        .collect();
    let chart = Chart::new(datasets)
        .block(block)
        .x_axis(Axis::default().style(axis_style).bounds(bounds).labels(labels))
        .y_axis(Axis::default().style(axis_style).bounds([0.0, 1.0]).labels(["0", "0.5", "1"]));
    frame.render_widget(chart, area);
    weigh(frame, area, &styles);
}

/// A chart draws its lines in colour only: give the plotted cells of each line its weight
/// (bold for the emphasised lines, dim for the others) by their colour.
fn weigh(frame: &mut Frame, area: Rect, styles: &[Style]) {
    let area = area.intersection(frame.area());
    let buf = frame.buffer_mut();
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let cell = &mut buf[(x, y)];
            let plotted =
                cell.symbol() == "•" || cell.symbol().chars().all(|c| ('\u{2801}'..='\u{28ff}').contains(&c));
            if !plotted {
                continue;
            }
            if let Some(st) = styles.iter().find(|st| st.fg == Some(cell.fg)) {
                cell.modifier.insert(st.add_modifier);
            }
        }
    }
}

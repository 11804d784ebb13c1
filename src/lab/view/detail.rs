//! The right pane: the focused item's problem (clipped) and its steps, each with its score as
//! a bar and a number, the human label's first wrong step and the predicted one at τ marked.
//! Without the original file, the steps are numbers and scores only, and the pane says why.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use unicode_width::UnicodeWidthChar;

use super::state::State;
use crate::safe::for_display;

/// Cells of a score bar.
const BAR: usize = 10;
/// Rows of the problem shown at most.
const PROBLEM_ROWS: usize = 4;
/// What marks the human label's first wrong step, and the predicted one.
pub const HUMAN: &str = "✗ first wrong (human)";
pub const PREDICTED: &str = "◆ predicted";

/// Draw the pane into `area`.
pub fn draw(frame: &mut Frame, area: Rect, state: &State) {
    let Some(record) = state.focused() else {
        let block = Block::default().borders(Borders::ALL).title(" item ");
        frame.render_widget(Paragraph::new(" no item matches the filter").block(block), area);
        return;
    };
    let title = format!(" {} ", for_display(&record.id, 60));
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width).max(1);
    let predicted = state.predicted(state.focus);
    let mut lines: Vec<Line<'static>> = vec![summary(record.label, predicted, state.tau())];
    let text = state.data.text(&record.id);
    match &text {
        Ok(t) => {
            let problem = for_display(&t.problem, 2_000);
            let mut rows = wrap(&format!("Problem: {problem}"), width);
            if rows.len() > PROBLEM_ROWS {
                rows.truncate(PROBLEM_ROWS);
                rows[PROBLEM_ROWS - 1].push('…');
            }
            lines.extend(rows.into_iter().map(|r| Line::styled(r, Style::default().fg(Color::Gray))));
        }
        Err(why) => lines.extend(
            wrap(&format!("steps not available: {why}"), width)
                .into_iter()
                .map(|r| Line::styled(r, Style::default().fg(Color::Red))),
        ),
    }
    lines.push(Line::raw(""));
    let mut first_mark = None;
    for (k, score) in record.scores.iter().enumerate() {
        let k = i64::try_from(k).unwrap_or(i64::MAX);
        let marked = k == record.label || Some(k) == predicted;
        if marked && first_mark.is_none() {
            first_mark = Some(lines.len());
        }
        lines.push(step_line(k, *score, state.tau(), k == record.label, Some(k) == predicted));
        let body = text.as_ref().ok().and_then(|t| t.steps.get(k as usize));
        if let Some(body) = body {
            let body = for_display(body, 1_500);
            for row in wrap(&body, width.saturating_sub(3).max(1)) {
                lines.push(Line::raw(format!("   {row}")));
            }
        }
    }
    // Keep the first marked step on screen: a third of the way down when it would be below.
    let high = usize::from(inner.height);
    let scroll = match first_mark {
        Some(at) if at >= high => at - high / 3,
        _ => 0,
    };
    let scroll = u16::try_from(scroll).unwrap_or(u16::MAX);
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
}

/// The human label and the prediction at τ, in one line.
fn summary(label: i64, predicted: Option<i64>, tau: f64) -> Line<'static> {
    let human = match label {
        -1 => "human: every step correct".to_string(),
        crate::lab::metrics::WRONG_STEP_UNKNOWN => "gold: wrong answer, first wrong step unknown".to_string(),
        l => format!("human: first wrong step #{l}"),
    };
    let (guess, style) = match predicted {
        None => ("no step scored".to_string(), Style::default().fg(Color::DarkGray)),
        Some(p) => {
            let what = if p == -1 { "no step below τ".to_string() } else { format!("#{p}") };
            let ok = crate::lab::metrics::hit(label, p);
            let style = Style::default().fg(if ok { Color::Green } else { Color::Red });
            (format!("{what} {}", if ok { "✓" } else { "✗" }), style)
        }
    };
    Line::from(vec![
        Span::styled(human, Style::default().fg(Color::Magenta)),
        Span::raw(format!(" · predicted at τ {tau:.2}: ")),
        Span::styled(guess, style.add_modifier(Modifier::BOLD)),
    ])
}

/// One step's number, score bar, score, and marks.
fn step_line(k: i64, score: Option<f64>, tau: f64, human: bool, predicted: bool) -> Line<'static> {
    let mut spans = vec![Span::styled(format!("#{k:<3}"), Style::default().add_modifier(Modifier::BOLD))];
    match score {
        Some(s) => {
            let filled = ((s.clamp(0.0, 1.0) * BAR as f64).round() as usize).min(BAR);
            let colour = if s < tau { Color::Red } else { Color::Green };
            spans.push(Span::styled("█".repeat(filled), Style::default().fg(colour)));
            spans.push(Span::styled("░".repeat(BAR - filled), Style::default().fg(Color::DarkGray)));
            spans.push(Span::raw(format!(" {s:.2}")));
        }
        None => spans.push(Span::styled(
            format!("{:<width$}", " unscored", width = BAR + 5),
            Style::default().fg(Color::DarkGray),
        )),
    }
    if human {
        spans.push(Span::styled(
            format!("  {HUMAN}"),
            Style::default().fg(Color::Magenta).add_modifier(Modifier::BOLD),
        ));
    }
    if predicted {
        spans.push(Span::styled(
            format!("  {PREDICTED}"),
            Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        ));
    }
    Line::from(spans)
}

/// `text` in rows of at most `width` display cells: broken at spaces where it can be, inside a
/// word where it must be, and at every newline. A character wider than `width` gets a row.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut rows = Vec::new();
    for para in text.split('\n') {
        let mut row = String::new();
        let mut used = 0;
        for word in para.split_inclusive(' ') {
            let w: usize = word.chars().map(|c| c.width().unwrap_or(0)).sum();
            if used + w.saturating_sub(usize::from(word.ends_with(' '))) > width && used > 0 {
                rows.push(std::mem::take(&mut row).trim_end().to_string());
                used = 0;
            }
            for c in word.chars() {
                let cw = c.width().unwrap_or(0);
                if used + cw > width && used > 0 && c != ' ' {
                    rows.push(std::mem::take(&mut row));
                    used = 0;
                }
                row.push(c);
                used += cw;
            }
        }
        rows.push(row.trim_end().to_string());
    }
    rows
}

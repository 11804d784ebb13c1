//! The answers panel's part for a re-scored run: the verifier, the original and the
//! re-scored selection, and whether the answer changed.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::trace::compare::Picked;
use crate::tui::app::RescoreView;
use crate::tui::text::{one_line, sanitize};
use crate::tui::theme::Theme;

fn picked(p: &Picked) -> String {
    let answer = p.answer.as_deref().map_or_else(|| "nothing".to_string(), |a| one_line(&sanitize(a), 12));
    match p.correct {
        Some(true) => format!("{answer} ✓"),
        Some(false) => format!("{answer} ✗"),
        None => answer,
    }
}

/// `→0.41` after an original score: the re-scored value, when there is one.
pub(super) fn arrow(new: Option<Option<f64>>, t: &Theme) -> Vec<Span<'static>> {
    let Some(new) = new else { return vec![] };
    vec![
        Span::styled("→", Style::default().fg(t.dim)),
        match new {
            Some(x) => Span::styled(format!("{x:.2}"), Style::default().fg(t.score_color(Some(x)))),
            None => Span::styled("–", Style::default().fg(t.dim)),
        },
    ]
}

/// Lines under the answers: `re-scored: VERIFIER`, `selected A → B (changed)`, and the
/// new ranking's first answers.
pub(super) fn rescore_lines(r: &RescoreView, t: &Theme) -> Vec<Line<'static>> {
    let c = &r.comparison;
    let mut lines = vec![
        Line::from(vec![
            Span::styled("re-scored ", Style::default().fg(t.dim)),
            Span::styled(
                one_line(&sanitize(&r.verifier), 24),
                Style::default().fg(t.accent).add_modifier(Modifier::BOLD),
            ),
            Span::styled(
                format!(" · {}", c.aggregation.after.map(|a| a.to_string()).unwrap_or_default()),
                Style::default().fg(t.dim),
            ),
        ]),
        Line::from(vec![
            Span::styled("selected ", Style::default().fg(t.dim)),
            Span::styled(picked(&c.selected.before), Style::default().fg(t.fg)),
            Span::styled(" → ", Style::default().fg(t.dim)),
            Span::styled(picked(&c.selected.after), Style::default().fg(t.fg).add_modifier(Modifier::BOLD)),
        ]),
        Line::from(if c.answer_changed {
            Span::styled("the answer changed", Style::default().fg(t.warn).add_modifier(Modifier::BOLD))
        } else {
            Span::styled("the same answer", Style::default().fg(t.dim))
        }),
    ];
    for (i, a) in r.selection.answers.iter().take(3).enumerate() {
        let mark = if i == 0 { "▷ " } else { "  " };
        lines.push(Line::from(vec![
            Span::styled(mark, Style::default().fg(t.accent)),
            Span::styled(format!("{:<10}", one_line(&sanitize(&a.answer), 10)), Style::default()),
            Span::styled(format!(" ×{:<3}", a.votes), Style::default().fg(t.fg)),
            Span::styled(format!(" w {:.2}", a.weight), Style::default().fg(t.dim)),
        ]));
    }
    lines
}

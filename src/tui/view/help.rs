//! The key help over the view (`?` / F1): every action under its section heading, in as
//! many columns as the width allows, sections kept whole where the height allows; when it
//! still does not fit it scrolls (the app keeps the offset, [`crate::tui::app::HelpScroll`]),
//! and the border says there is more. Nothing is wider than its column: keys and
//! descriptions are cut with `…`.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use crate::tui::action::Action;
use crate::tui::action_section::Section;
use crate::tui::app::App;
use crate::tui::text::{clip_width, sanitize, wrap_width};

/// The narrowest column worth a second one: keys and most descriptions in full.
const MIN_COLUMN: usize = 46;
/// Cells between columns.
const GAP: usize = 2;
/// At most this many columns, however wide the screen.
const MAX_COLUMNS: usize = 3;
/// The key column is never wider than this (a long remapped binding is cut).
const MAX_KEYS: usize = 14;
const TITLE: &str = " keys — ? or Esc closes ";

/// One row of the help.
#[derive(Debug, Clone, PartialEq)]
enum Row {
    /// A section heading; `more` when it continues the section from the column before.
    Heading {
        title: &'static str,
        more: bool,
    },
    Key {
        keys: String,
        what: &'static str,
    },
}

/// The help laid out: its columns of rows, and how many rows the tallest one has.
#[derive(Debug, Clone, PartialEq)]
struct Laid {
    columns: Vec<Vec<Row>>,
    height: usize,
}

/// The sections with their rows, heading first.
fn sections(app: &App) -> Vec<Vec<Row>> {
    Section::ALL
        .into_iter()
        .map(|s| {
            let mut rows = vec![Row::Heading { title: s.title(), more: false }];
            rows.extend(s.actions().map(|a: Action| Row::Key {
                keys: sanitize(&app.keymap.keys_for(a).join(" ")).into_owned(),
                what: a.describe(),
            }));
            rows
        })
        .collect()
}

/// Columns of at most `height` rows. With `whole`, a section that does not fit in what is
/// left of a column starts the next one when it fits there; otherwise sections run on, and
/// a column that starts inside a section repeats its heading. A heading never ends a column.
fn pack(sections: &[Vec<Row>], height: usize, whole: bool) -> Vec<Vec<Row>> {
    let height = height.max(2);
    let mut cols: Vec<Vec<Row>> = vec![Vec::new()];
    for sec in sections {
        let title = match sec.first() {
            Some(Row::Heading { title, .. }) => *title,
            _ => "",
        };
        for (i, row) in sec.iter().enumerate() {
            let col = cols.last().map_or(0, Vec::len);
            let room = height - col.min(height);
            let need = match (i, whole) {
                (0, true) if sec.len() <= height => sec.len(),
                (0, _) => sec.len().min(2),
                _ => 1,
            };
            if room < need && col > 0 {
                let mut next = Vec::new();
                if i > 0 {
                    next.push(Row::Heading { title, more: true });
                }
                cols.push(next);
            }
            if let Some(c) = cols.last_mut() {
                c.push(row.clone());
            }
        }
    }
    cols.retain(|c| !c.is_empty());
    cols
}

/// The lowest height at which `pack` needs at most `n` columns.
fn lowest(sections: &[Vec<Row>], n: usize, whole: bool) -> Laid {
    let total: usize = sections.iter().map(Vec::len).sum();
    let mut height = total.div_ceil(n.max(1)).max(2);
    loop {
        let columns = pack(sections, height, whole);
        if columns.len() <= n || height >= total {
            let height = columns.iter().map(Vec::len).max().unwrap_or(0);
            return Laid { columns, height };
        }
        height += 1;
    }
}

/// How many columns fit in `width` cells.
fn max_columns(width: usize) -> usize {
    ((width + GAP) / (MIN_COLUMN + GAP)).clamp(1, MAX_COLUMNS)
}

/// The layout for an inside of `width` × `rows` cells: sections whole when that fits the
/// rows (or costs no height), else run on across the columns, whichever is shorter.
fn lay_out(sections: &[Vec<Row>], width: usize, rows: usize) -> Laid {
    let n = max_columns(width);
    let whole = lowest(sections, n, true);
    if whole.height <= rows {
        return whole;
    }
    let run_on = lowest(sections, n, false);
    if run_on.height < whole.height {
        run_on
    } else {
        whole
    }
}

/// Cells the widest key binding takes, within bounds.
fn keys_width(sections: &[Vec<Row>], column: usize) -> usize {
    let widest = sections
        .iter()
        .flatten()
        .filter_map(|r| match r {
            Row::Key { keys, .. } => Some(wrap_width(keys)),
            Row::Heading { .. } => None,
        })
        .max()
        .unwrap_or(1);
    widest.clamp(1, MAX_KEYS.min((column / 3).max(1)))
}

/// Cells the widest row takes with keys `keys` wide.
fn natural_width(sections: &[Vec<Row>], keys: usize) -> usize {
    sections
        .iter()
        .flatten()
        .map(|r| match r {
            Row::Key { what, .. } => keys + 1 + wrap_width(what),
            Row::Heading { title, .. } => wrap_width(title) + wrap_width(" (cont.)"),
        })
        .max()
        .unwrap_or(1)
}

/// One row as a line no wider than `width`.
fn row_line(row: &Row, keys: usize, width: usize, app: &App) -> Line<'static> {
    let t = &app.theme;
    match row {
        Row::Heading { title, more } => {
            let text = if *more { format!("{title} (cont.)") } else { (*title).to_string() };
            Line::from(Span::styled(
                clip_width(&text, width),
                Style::default().fg(t.heading).add_modifier(Modifier::BOLD),
            ))
        }
        Row::Key { keys: k, what } => {
            let k = clip_width(k, keys);
            let pad = " ".repeat(keys.saturating_sub(wrap_width(&k)));
            Line::from(vec![
                Span::styled(format!("{pad}{k} "), Style::default().fg(t.accent)),
                Span::styled(clip_width(what, width.saturating_sub(keys + 1)), Style::default().fg(t.fg)),
            ])
        }
    }
}

/// Draw the help over `area`; returns how far it can scroll and the rows on screen, for
/// [`App::help_fit`].
pub(super) fn draw_help(f: &mut Frame, area: Rect, app: &App) -> (usize, usize) {
    let t = &app.theme;
    let secs = sections(app);
    // The width less a cell each side and the whole height; narrower when the rows are.
    let outer_w = (area.width as usize).saturating_sub(2).max(20).min(area.width as usize);
    let avail = outer_w.saturating_sub(2);
    let rows = (area.height as usize).saturating_sub(2).max(1);
    let laid = lay_out(&secs, avail, rows);
    let n = laid.columns.len().max(1);
    let fair = avail.saturating_sub(GAP * (n - 1)) / n;
    let keys = keys_width(&secs, fair);
    let column = natural_width(&secs, keys).min(fair).max(1);
    let inner_w = column * n + GAP * (n - 1);
    let (w, h) = (
        (inner_w + 2).min(area.width as usize) as u16,
        (laid.height.min(rows) + 2).min(area.height as usize) as u16,
    );
    let r = Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h };
    let page = h.saturating_sub(2) as usize;
    let max = laid.height.saturating_sub(page);
    let offset = app.help.offset.min(max);

    let hint = Style::default().fg(t.dim);
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(t.border_focused))
        .style(Style::default().bg(t.bg).fg(t.fg))
        .title(Span::styled(TITLE, Style::default().fg(t.accent).add_modifier(Modifier::BOLD)));
    if offset > 0 {
        block = block.title_top(Line::styled(" ↑ more (k, PgUp) ", hint).right_aligned());
    }
    if offset < max {
        block = block.title_bottom(Line::styled(" ↓ more (j/k, PgDn) ", hint).right_aligned());
    }
    f.render_widget(Clear, r);
    let inner = block.inner(r);
    f.render_widget(block, r);
    for (c, col) in laid.columns.iter().enumerate() {
        let x = inner.x as usize + c * (column + GAP);
        if x >= (inner.x + inner.width) as usize {
            break;
        }
        let cell = Rect {
            x: x as u16,
            y: inner.y,
            width: (column as u16).min(inner.x + inner.width - x as u16),
            height: inner.height,
        };
        let lines: Vec<Line> = col
            .iter()
            .skip(offset)
            .take(page)
            .map(|row| row_line(row, keys, cell.width as usize, app))
            .collect();
        f.render_widget(Paragraph::new(lines), cell);
    }
    (max, page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(sizes: &[usize]) -> Vec<Vec<Row>> {
        const TITLES: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];
        sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let mut v = vec![Row::Heading { title: TITLES[i], more: false }];
                v.extend((1..n).map(|_| Row::Key { keys: "x".into(), what: "does x" }));
                v
            })
            .collect()
    }

    fn heights(l: &Laid) -> Vec<usize> {
        l.columns.iter().map(Vec::len).collect()
    }

    #[test]
    fn columns_follow_the_width() {
        assert_eq!(max_columns(40), 1);
        assert_eq!(max_columns(74), 1);
        assert_eq!(max_columns(94), 2);
        assert_eq!(max_columns(113), 2);
        assert_eq!(max_columns(142), 3);
        assert_eq!(max_columns(400), 3);
    }

    #[test]
    fn sections_stay_whole_when_they_fit() {
        // The help's own shape: two columns of 28 with no section cut.
        let s = secs(&[9, 19, 11, 6, 4, 7]);
        let l = lay_out(&s, 113, 28);
        assert_eq!(heights(&l), vec![28, 28]);
        assert!(l.columns.iter().flatten().all(|r| !matches!(r, Row::Heading { more: true, .. })));
        // A third column buys no height with whole sections: two are kept.
        assert_eq!(heights(&lay_out(&s, 190, 48)), vec![28, 28]);
    }

    #[test]
    fn a_short_screen_runs_sections_on_with_their_heading_repeated() {
        let s = secs(&[9, 19, 11, 6, 4, 7]);
        let l = lay_out(&s, 160, 22);
        assert_eq!(l.columns.len(), 3);
        assert!(l.height <= 22, "{:?}", heights(&l));
        assert!(l.columns.iter().skip(1).any(|c| matches!(c[0], Row::Heading { more: true, .. })));
        // Every row is somewhere, once (plus the repeated headings).
        let keys = l.columns.iter().flatten().filter(|r| matches!(r, Row::Key { .. })).count();
        assert_eq!(keys, 56 - 6);
    }

    #[test]
    fn a_heading_never_ends_a_column() {
        for h in 2..30 {
            for whole in [true, false] {
                for c in pack(&secs(&[3, 5, 2, 9, 4]), h, whole) {
                    assert!(c.len() <= h.max(2));
                    assert!(c.len() == 1 || !matches!(c.last(), Some(Row::Heading { .. })), "{h} {whole}");
                }
            }
        }
    }

    #[test]
    fn one_column_when_narrow_is_every_row_in_order() {
        let s = secs(&[9, 19, 11, 6, 4, 7]);
        let l = lay_out(&s, 74, 22);
        assert_eq!(heights(&l), vec![56]);
        assert_eq!(l.columns[0], s.concat());
    }
}

//! Wrapping text to terminal columns: display width, styled word wrap and plain word wrap.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// Display width of `line` in terminal cells (Unicode width; East Asian wide characters count 2).
pub fn wrap_width(line: &str) -> usize {
    Span::raw(line).width()
}

/// Word-wrap one styled line to `width` columns.
pub fn wrap_line(line: Line<'static>, width: usize, out: &mut Vec<Line<'static>>) {
    use unicode_width::UnicodeWidthChar;
    let cells: Vec<(char, Style)> = line
        .spans
        .iter()
        .flat_map(|s| s.content.chars().map(move |c| (c, line.style.patch(s.style))))
        .collect();
    if cells.is_empty() {
        out.push(Line::default());
        return;
    }
    let mut start = 0;
    while start < cells.len() {
        let mut w = 0;
        let mut end = start;
        let mut last_space = None;
        while end < cells.len() {
            let cw = cells[end].0.width().unwrap_or(0);
            if w + cw > width && end > start {
                break;
            }
            if cells[end].0 == ' ' {
                last_space = Some(end);
            }
            w += cw;
            end += 1;
        }
        let (cut, next) = match (end < cells.len(), last_space) {
            (true, Some(sp)) if sp > start => (sp, sp + 1),
            _ => (end, end),
        };
        out.push(spans_of(&cells[start..cut]));
        start = next;
    }
}

fn spans_of(cells: &[(char, Style)]) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut cur = String::new();
    let mut style = None;
    for &(c, s) in cells {
        if style != Some(s) {
            if let Some(st) = style {
                spans.push(Span::styled(std::mem::take(&mut cur), st));
            }
            style = Some(s);
        }
        cur.push(c);
    }
    if let Some(st) = style {
        spans.push(Span::styled(cur, st));
    }
    Line::from(spans)
}

/// Plain word wrap, for messages.
pub fn wrap_plain(s: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for para in s.split('\n') {
        let mut lines = Vec::new();
        wrap_line(Line::from(para.to_string()), width.max(1), &mut lines);
        out.extend(lines.into_iter().map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect::<String>()));
    }
    out
}

/// `s` cut to at most `width` display cells, ending in `…` when cut (wide characters count 2).
pub fn clip_width(s: &str, width: usize) -> String {
    if wrap_width(s) <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_width_counts_cells() {
        assert_eq!(wrap_width("abc"), 3);
        assert_eq!(wrap_width("中文"), 4);
        assert_eq!(wrap_width("x²⁄√π"), 5);
        assert_eq!(wrap_width(""), 0);
    }

    #[test]
    fn clip_width_cuts_at_display_width_with_an_ellipsis() {
        assert_eq!(clip_width("abcdef", 6), "abcdef");
        assert_eq!(clip_width("abcdef", 4), "abc…");
        assert_eq!(clip_width("中文字", 4), "中…");
        assert_eq!(wrap_width(&clip_width("中文字中文字", 5)), 5);
        assert_eq!(clip_width("abc", 0), "");
        assert_eq!(clip_width("abc", 1), "…");
    }
}

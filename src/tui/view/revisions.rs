//! Sequential revisions: one column per chain, its revisions stacked top to
//! bottom (the first attempt first), and an answer strip per chain so an
//! answer revised from right to wrong shows at a glance.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use crate::event::NodeId;
use crate::tree::{NodeStatus, NodeView};
use crate::tui::app::{App, RunView};
use crate::tui::layout::{chains, columns, locate, Page, MIN_CHAIN_WIDTH};
use crate::tui::text::{one_line, sanitize, wrap_plain};
use crate::tui::theme::Theme;

/// Rows of one revision block at the least: its header and two lines of text.
const MIN_REVISION_HEIGHT: u16 = 3;

/// The mark after an answer: ✓/✗ when graded, else how far the attempt got.
fn mark(n: &NodeView, t: &Theme) -> Option<(&'static str, Style)> {
    match (n.status, n.correct) {
        (_, Some(true)) => Some(("✓", Style::default().fg(t.ok))),
        (_, Some(false)) => Some(("✗", Style::default().fg(t.bad))),
        (NodeStatus::Streaming, _) => Some(("…", Style::default().fg(t.status_streaming))),
        (NodeStatus::Queued, _) => Some(("·", Style::default().fg(t.status_queued))),
        (NodeStatus::Failed, _) => Some(("!", Style::default().fg(t.bad))),
        (NodeStatus::Cancelled, _) => Some(("-", Style::default().fg(t.status_pruned))),
        _ => None,
    }
}

/// One chain's answers in order, e.g. `42✓ → 42✓ → 41✗`; a right answer revised
/// into a wrong one is drawn in the warning and bad colours. Cut from the left to fit `width`.
pub fn answer_strip(revs: &[&NodeView], t: &Theme, width: usize) -> Line<'static> {
    let mut items: Vec<Vec<Span<'static>>> = Vec::with_capacity(revs.len());
    let mut prev: Option<bool> = None;
    for n in revs {
        let mut item = Vec::new();
        let broke = prev == Some(true) && n.correct == Some(false);
        let mended = prev == Some(false) && n.correct == Some(true);
        if !items.is_empty() {
            let arrow = if broke {
                Style::default().fg(t.warn).add_modifier(Modifier::BOLD)
            } else if mended {
                Style::default().fg(t.ok)
            } else {
                Style::default().fg(t.dim)
            };
            item.push(Span::styled(" → ", arrow));
        }
        let answer = n.answer.as_deref().map(|a| one_line(&sanitize(a), 10)).unwrap_or_else(|| {
            if n.status == NodeStatus::Done {
                "∅".into()
            } else {
                String::new()
            }
        });
        let style = if broke {
            Style::default().fg(t.bad).add_modifier(Modifier::BOLD)
        } else {
            Style::default().fg(t.fg)
        };
        item.push(Span::styled(answer, style));
        if let Some((m, st)) = mark(n, t) {
            item.push(Span::styled(m, if broke { st.add_modifier(Modifier::BOLD) } else { st }));
        }
        if n.correct.is_some() {
            prev = n.correct;
        }
        items.push(item);
    }
    let w = |item: &[Span]| item.iter().map(|s| s.content.width()).sum::<usize>();
    let mut total: usize = items.iter().map(|i| w(i)).sum();
    let mut skip = 0;
    while total > width && skip + 1 < items.len() {
        total -= w(&items[skip]);
        skip += 1;
    }
    let mut spans = Vec::new();
    if skip > 0 {
        spans.push(Span::styled("…", Style::default().fg(t.dim)));
    }
    spans.extend(items.into_iter().skip(skip).flatten());
    Line::from(spans)
}

/// The last `max` non-blank wrapped lines of `text`, wrapping only its tail.
fn tail_lines(text: &str, width: usize, max: usize) -> Vec<String> {
    if max == 0 {
        return Vec::new();
    }
    // Enough characters for `max` full lines (and some slack for wrapping at spaces).
    let keep = width.max(1) * max * 2 + 16;
    let start = text.char_indices().rev().nth(keep).map_or(0, |(i, _)| i);
    let clean = sanitize(&text[start..]);
    let mut lines: Vec<String> =
        wrap_plain(&clean, width).into_iter().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() > max {
        lines.drain(..lines.len() - max);
    }
    lines
}

/// The header line of one revision.
/// A revision's first line; `new`: its re-scored solution score, when the run was re-scored.
fn revision_header(n: &NodeView, focused: bool, t: &Theme, new: Option<Option<f64>>) -> Line<'static> {
    let dim = Style::default().fg(t.dim);
    let mut spans = vec![
        Span::styled(
            if focused { "▶" } else { " " },
            Style::default().fg(t.accent).add_modifier(Modifier::BOLD),
        ),
        Span::styled(
            format!("rev {}", n.revision.unwrap_or(0)),
            Style::default().fg(t.fg).add_modifier(Modifier::BOLD),
        ),
    ];
    if let Some(a) = &n.answer {
        spans.push(Span::styled(format!("  {}", one_line(&sanitize(a), 12)), Style::default().fg(t.fg)));
    }
    if let Some((m, st)) = mark(n, t) {
        spans.push(Span::styled(format!(" {m}"), st));
    }
    let score = n.score;
    if n.status == NodeStatus::Done {
        spans.push(Span::styled(
            score.map(|s| format!("  {s:.2}")).unwrap_or_else(|| "  –".into()),
            Style::default().fg(t.score_color(score)).add_modifier(Modifier::BOLD),
        ));
        spans.extend(super::rescore::arrow(new, t));
    } else {
        let word = match n.status {
            NodeStatus::Queued => "queued",
            NodeStatus::Streaming => "writing",
            NodeStatus::Failed => "failed",
            NodeStatus::Cancelled => "cancelled",
            _ => "",
        };
        spans.push(Span::styled(format!("  {word}"), dim));
    }
    let bg = if focused { t.selected_bg } else { t.header_bg };
    Line::from(spans).style(Style::default().bg(bg))
}

/// Draw the chains of a revisions run in `area`; returns how many chains fit side by side.
pub(super) fn draw_revisions(
    f: &mut Frame,
    area: Rect,
    app: &App,
    run: &RunView,
    focused: Option<NodeId>,
) -> usize {
    let t = &app.theme;
    let chains = chains(&run.tree);
    if chains.is_empty() {
        let msg = if run.tree.finished { "the run produced no attempts" } else { "starting…" };
        f.render_widget(Paragraph::new(Span::styled(msg, Style::default().fg(t.dim))), area);
        return 1;
    }
    let cols = columns(area.width, MIN_CHAIN_WIDTH, chains.len());
    let at = focused.and_then(|id| locate(&chains, id));
    let Page { index: page, count: pages, first, shown } =
        Page::holding(at.map_or(0, |(ci, _)| ci), chains.len(), cols);
    let planned = run.tree.info.as_ref().map(|i| i.config.revisions);
    let col_w = area.width / cols as u16;
    for (i, (chain, revs)) in chains[first..first + shown].iter().enumerate() {
        let x = area.x + i as u16 * col_w;
        let w = if i + 1 == shown { area.x + area.width - x } else { col_w };
        let rect = Rect { x, y: area.y, width: w, height: area.height };
        let here = at.filter(|(ci, _)| *ci == first + i).map(|(_, ri)| ri);
        let nodes: Vec<&NodeView> = revs.iter().filter_map(|&id| run.tree.nodes.get(id as usize)).collect();
        draw_chain(f, rect, app, *chain, &nodes, here, planned);
    }
    if chains.len() > cols {
        let label = format!(
            " chains {}–{} of {} · page {}/{} ",
            first + 1,
            first + shown,
            chains.len(),
            page + 1,
            pages
        );
        let w = label.chars().count() as u16;
        if area.width > w + 2 && area.height > 0 {
            let r = Rect { x: area.x + area.width - w - 1, y: area.y + area.height - 1, width: w, height: 1 };
            f.render_widget(Paragraph::new(Span::styled(label, Style::default().fg(t.accent))), r);
        }
    }
    cols
}

/// One chain's column: the answer strip, then its revisions top to bottom.
fn draw_chain(
    f: &mut Frame,
    area: Rect,
    app: &App,
    chain: u32,
    revs: &[&NodeView],
    focused: Option<usize>,
    planned: Option<usize>,
) {
    let t = &app.theme;
    let rescore = app.run().and_then(|r| r.rescore.as_deref());
    let of = planned.map(|d| format!("/{d}")).unwrap_or_default();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(if focused.is_some() { t.border_focused } else { t.border }))
        .title(Span::styled(
            format!(" chain {chain} · {}{of} revisions ", revs.len()),
            Style::default().fg(t.fg).add_modifier(Modifier::BOLD),
        ));
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height == 0 || inner.width < 4 {
        return;
    }
    let strip = answer_strip(revs, t, inner.width as usize);
    f.render_widget(Paragraph::new(strip), Rect { height: 1, ..inner });
    let body = Rect { y: inner.y + 1, height: inner.height - 1, ..inner };
    if body.height == 0 || revs.is_empty() {
        return;
    }
    // Every revision when they fit; else a window holding the focused one (or the latest).
    let fit = ((body.height / MIN_REVISION_HEIGHT).max(1) as usize).min(revs.len());
    let anchor = focused.unwrap_or(revs.len() - 1);
    let first = (anchor + 1).saturating_sub(fit).min(revs.len() - fit);
    let per = body.height / fit as u16;
    let width = body.width as usize;
    for (k, n) in revs[first..first + fit].iter().enumerate() {
        let y = body.y + k as u16 * per;
        let h = if k + 1 == fit { body.y + body.height - y } else { per };
        let new = rescore.and_then(|r| r.nodes.get(&n.node)).copied();
        let mut lines = vec![revision_header(n, focused == Some(first + k), t, new)];
        let text_rows = h.saturating_sub(1) as usize;
        if n.status == NodeStatus::Queued && n.text.is_empty() {
            lines.push(Line::from(Span::styled("waiting for a free slot…", Style::default().fg(t.dim))));
        } else if let Some(e) = &n.error {
            lines.push(Line::from(Span::styled(
                one_line(&sanitize(e), width * 2),
                Style::default().fg(t.bad),
            )));
        } else {
            let style = Style::default().fg(if n.status == NodeStatus::Done { t.fg } else { t.dim });
            for l in tail_lines(&n.text, width, text_rows) {
                lines.push(Line::from(Span::styled(l, style)));
            }
        }
        f.render_widget(Paragraph::new(lines), Rect { x: body.x, y, width: body.width, height: h });
    }
    if first > 0 {
        let more = format!(" ↑{} earlier ", first);
        let w = more.chars().count() as u16;
        if area.width > w + 2 {
            let r = Rect { x: area.x + area.width - w - 1, y: area.y + area.height - 1, width: w, height: 1 };
            f.render_widget(Paragraph::new(Span::styled(more, Style::default().fg(t.dim))), r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_lines_keeps_the_end_and_drops_blank_lines() {
        let text = "first line\n\nsecond line that is long enough to wrap\n\nthe answer is 18";
        let lines = tail_lines(text, 20, 3);
        assert_eq!(lines.last().map(String::as_str), Some("the answer is 18"));
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|l| !l.trim().is_empty()));
        assert!(tail_lines(text, 20, 0).is_empty());
    }
}

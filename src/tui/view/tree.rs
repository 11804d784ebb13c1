//! The search tree of step-wise runs (beam, lookahead, DVTS): one row per
//! depth, one small cell per node, coloured by the verifier's score of the
//! step that node added. Children sit after their parent's group, so a kept
//! beam's family reads left to right down the rows.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};
use ratatui::Frame;

use crate::event::NodeId;
use crate::tree::{NodeStatus, NodeView};
use crate::tui::app::{App, RunView};
use crate::tui::layout::{tree_rows, MAX_ROWS};
use crate::tui::text::{one_line, sanitize};
use crate::tui::theme::Theme;

/// Columns of one node cell: a gap (cursor mark) and two glyph columns.
pub const CELL: u16 = 3;
/// Columns of the depth label at the start of each row.
const LABEL: u16 = 4;
/// The verifier's score of the step this node added (tree search adds step `depth`).
fn own_score(n: &NodeView) -> Option<f64> {
    n.steps.get(n.depth as usize).and_then(|s| s.verdict.as_ref()).and_then(|v| v.score)
}

/// The two glyph columns of a node and their styles.
fn glyphs(n: &NodeView, t: &Theme) -> [(&'static str, Style); 2] {
    let s = own_score(n);
    let col = Style::default().fg(t.score_color(s));
    let both = |g: &'static str, st: Style| [(g, st), (g, st)];
    match n.status {
        NodeStatus::Kept => both("█", col.add_modifier(Modifier::BOLD)),
        NodeStatus::Streaming if s.is_some() => both("▓", col),
        NodeStatus::Streaming => both("▒", Style::default().fg(t.status_streaming)),
        NodeStatus::Queued => both("░", Style::default().fg(t.status_queued)),
        NodeStatus::Pruned => both("·", col.add_modifier(Modifier::DIM)),
        NodeStatus::Cancelled => both("-", Style::default().fg(t.status_pruned)),
        NodeStatus::Failed => both("!", Style::default().fg(t.bad).add_modifier(Modifier::BOLD)),
        NodeStatus::Done => {
            let mark = match n.correct {
                Some(true) => ("✓", Style::default().fg(t.ok).add_modifier(Modifier::BOLD)),
                Some(false) => ("✗", Style::default().fg(t.bad).add_modifier(Modifier::BOLD)),
                None => ("◆", Style::default().fg(t.accent).add_modifier(Modifier::BOLD)),
            };
            [("█", col), mark]
        }
    }
}

/// How many cells of a row fit in `avail` columns, leaving room for a "+K" tail.
fn fit(len: usize, avail: u16) -> usize {
    let per = CELL as usize;
    let avail = avail as usize;
    if len * per <= avail {
        return len;
    }
    let mut shown = avail / per;
    while shown > 0 && shown * per + 2 + digits(len - shown) > avail {
        shown -= 1;
    }
    shown
}

fn digits(x: usize) -> usize {
    x.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// One line about the focused node, for the tree's bottom border.
/// The focused node's line; `new`: its step's re-scored value, when the run was re-scored.
fn node_line(n: &NodeView, t: &Theme, new: Option<Option<f64>>) -> Line<'static> {
    let dim = Style::default().fg(t.dim);
    let (word, st) = match n.status {
        NodeStatus::Queued => ("queued", t.status_queued),
        NodeStatus::Streaming => ("streaming", t.status_streaming),
        NodeStatus::Done => ("finished", t.status_done),
        NodeStatus::Failed => ("failed", t.status_failed),
        NodeStatus::Cancelled => ("cancelled", t.status_pruned),
        NodeStatus::Kept => ("kept", t.status_done),
        NodeStatus::Pruned => ("pruned", t.status_pruned),
    };
    let mut spans = vec![
        Span::styled(" ▸ ", Style::default().fg(t.accent)),
        Span::styled(format!("#{}", n.node), Style::default().fg(t.fg).add_modifier(Modifier::BOLD)),
        Span::styled(format!(" step {} ", n.depth + 1), dim),
        Span::styled(word, Style::default().fg(st)),
    ];
    match n.rank {
        Some(u32::MAX) => spans.push(Span::styled(" (duplicate)", dim)),
        Some(r) => spans.push(Span::styled(format!(" rank {}", r + 1), dim)),
        None => {}
    }
    let s = own_score(n);
    spans.push(Span::styled(
        s.map(|x| format!(" {x:.2}")).unwrap_or_else(|| " –".into()),
        Style::default().fg(t.score_color(s)).add_modifier(Modifier::BOLD),
    ));
    spans.extend(super::rescore::arrow(new, t));
    if let Some(a) = &n.answer {
        spans.push(Span::styled(format!(" → {}", one_line(&sanitize(a), 12)), Style::default().fg(t.fg)));
        match n.correct {
            Some(true) => spans.push(Span::styled(" ✓", Style::default().fg(t.ok))),
            Some(false) => spans.push(Span::styled(" ✗", Style::default().fg(t.bad))),
            None => {}
        }
    }
    spans.push(Span::raw(" "));
    Line::from(spans)
}

/// Set one single-width cell (cheaper than `set_string`, which segments graphemes).
fn put(buf: &mut Buffer, x: u16, y: u16, symbol: &str, style: Style) {
    if let Some(cell) = buf.cell_mut((x, y)) {
        cell.set_symbol(symbol).set_style(style);
    }
}

/// Draw the tree of `run` in `area`, with `focused` (the node whose path the panes show) marked.
pub(super) fn draw_tree(f: &mut Frame, area: Rect, app: &App, run: &RunView, focused: Option<NodeId>) {
    let t = &app.theme;
    let tree = &run.tree;
    let rows = tree_rows(tree);
    let (mut finished, mut pruned) = (0usize, 0usize);
    for n in &tree.nodes {
        match n.status {
            NodeStatus::Done => finished += 1,
            NodeStatus::Pruned => pruned += 1,
            _ => {}
        }
    }
    let title =
        format!(" search tree · {} nodes · {} finished · {} pruned ", tree.nodes.len(), finished, pruned);
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(t.border))
        .title(Span::styled(title, Style::default().fg(t.accent)));
    let focused = focused.and_then(|id| tree.nodes.get(id as usize));
    if let Some(n) = focused {
        let new = run.rescore.as_ref().and_then(|r| r.step(n.node, n.depth as usize));
        block = block.title_bottom(node_line(n, t, new));
    }
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height == 0 || inner.width <= LABEL + CELL || rows.is_empty() {
        return;
    }
    // The focused node's ancestors, by depth, so its path stands out.
    let mut path: Vec<Option<NodeId>> = Vec::new();
    if let Some(n) = focused {
        path.resize(n.depth.min(MAX_ROWS) as usize + 1, None);
        let mut cur = Some(n);
        let mut guard = 0;
        while let Some(c) = cur {
            if let Some(slot) = path.get_mut(c.depth.min(MAX_ROWS) as usize) {
                *slot = Some(c.node);
            }
            cur = c.parent.and_then(|p| tree.nodes.get(p as usize));
            guard += 1;
            if guard > MAX_ROWS {
                break;
            }
        }
    }
    // Rows: all when they fit; else keep the focused row visible, preferring the deepest.
    let h = inner.height as usize;
    let focus_row = focused.map(|n| n.depth.min(MAX_ROWS) as usize);
    let mut first = rows.len().saturating_sub(h);
    if let Some(fr) = focus_row {
        if fr < first {
            first = fr;
        }
    }
    let avail = inner.width - LABEL;
    let buf = f.buffer_mut();
    for (y, d) in (first..rows.len()).take(h).enumerate() {
        let row = &rows[d];
        let y = inner.y + y as u16;
        let on_row = focus_row == Some(d);
        let label_style = if on_row {
            Style::default().fg(t.accent).add_modifier(Modifier::BOLD)
        } else {
            Style::default().fg(t.dim)
        };
        buf.set_stringn(inner.x, y, format!("{:>3} ", d + 1), LABEL as usize, label_style);
        let shown = fit(row.len(), avail);
        let mut start = 0;
        if let (true, Some(n)) = (on_row, focused) {
            if let Some(i) = row.iter().position(|&id| id == n.node) {
                if i >= shown {
                    start = i + 1 - shown;
                }
            }
        }
        let mut x = inner.x + LABEL;
        for &id in &row[start..start + shown] {
            let Some(n) = tree.nodes.get(id as usize) else { continue };
            let is_focus = focused.is_some_and(|fnode| fnode.node == id);
            let on_path = path.get(d).copied().flatten() == Some(id);
            let mut g = glyphs(n, t);
            if is_focus {
                for (_, st) in &mut g {
                    *st = st.add_modifier(Modifier::REVERSED);
                }
                put(buf, x, y, "▸", Style::default().fg(t.accent).add_modifier(Modifier::BOLD));
            } else if on_path {
                for (_, st) in &mut g {
                    *st = st.add_modifier(Modifier::UNDERLINED);
                }
            }
            put(buf, x + 1, y, g[0].0, g[0].1);
            put(buf, x + 2, y, g[1].0, g[1].1);
            x += CELL;
        }
        if shown < row.len() {
            buf.set_string(x + 1, y, format!("+{}", row.len() - shown), Style::default().fg(t.dim));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_leaves_room_for_the_overflow_count() {
        assert_eq!(fit(10, 30), 10);
        assert_eq!(fit(11, 30), 9); // 9 cells = 27 columns, "+2" needs 2 more plus a gap
        assert_eq!(fit(200, 30), 8);
        assert_eq!(fit(5, 2), 0);
    }
}

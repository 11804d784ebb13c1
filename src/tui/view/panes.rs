//! The candidate panes: one bordered pane per node, its steps with their scores, the
//! step being written, paged when they do not fit side by side.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::cache::{render_text, ViewCache};
use crate::safe::redact;
use crate::tree::{NodeStatus, NodeView};
use crate::tui::action::Action;
use crate::tui::app::{App, RunView};
use crate::tui::layout::{columns, waiting_for_server, Page, MIN_PANE_WIDTH};
use crate::tui::text::{one_line, sanitize, wrap_plain};
use crate::tui::theme::Theme;
use crate::verify::Aggregation;

fn status_style(t: &Theme, s: NodeStatus) -> (Style, &'static str) {
    match s {
        NodeStatus::Queued => (Style::default().fg(t.status_queued), "queued"),
        NodeStatus::Streaming => (Style::default().fg(t.status_streaming), "streaming"),
        NodeStatus::Done => (Style::default().fg(t.status_done), "done"),
        NodeStatus::Failed => (Style::default().fg(t.status_failed), "failed"),
        NodeStatus::Cancelled => (Style::default().fg(t.status_pruned), "cancelled"),
        NodeStatus::Kept => (Style::default().fg(t.status_done), "kept"),
        NodeStatus::Pruned => (Style::default().fg(t.status_pruned), "pruned"),
    }
}

/// Draw the panes of `run` in `area`; returns how many fit side by side.
pub(super) fn draw_panes(
    f: &mut Frame,
    area: Rect,
    app: &App,
    run: &RunView,
    cache: &mut ViewCache,
) -> usize {
    let t = &app.theme;
    let ids = app.pane_nodes();
    let n = ids.len();
    if n == 0 {
        let msg = if run.tree.finished { "the run produced no candidates" } else { "starting…" };
        f.render_widget(Paragraph::new(Span::styled(msg, Style::default().fg(t.dim))), area);
        return 1;
    }
    let cols = if app.zoom { 1 } else { columns(area.width, MIN_PANE_WIDTH, n) };
    let focus = app.focus_index(&ids);
    let Page { index: page, count: pages, first, shown } = Page::holding(focus, n, cols);
    let widths: Vec<Constraint> = (0..cols).map(|_| Constraint::Ratio(1, cols as u32)).collect();
    let chunks = Layout::default().direction(Direction::Horizontal).constraints(widths).split(area);
    let agg = app.knobs.config.aggregation;
    let waiting_ids = waiting_for_server(&run.tree);
    let panes = ids[first..first + shown].iter().filter_map(|&id| run.tree.nodes.get(id as usize));
    for (i, node) in panes.enumerate() {
        let focused = first + i == focus;
        // N was lowered on the finished run: these candidates are kept but do not vote.
        let beyond = run.shown.is_some_and(|n| node.node as usize >= n);
        let waiting = waiting_ids.contains(&node.node);
        draw_pane(f, chunks[i], app, node, Look { focused, beyond, waiting }, agg, cache);
    }
    if pages > 1 {
        let label = format!(" page {}/{} [ ] ", page + 1, pages);
        let w = label.chars().count() as u16;
        if area.width > w + 2 {
            let r = Rect { x: area.x + area.width - w - 1, y: area.y + area.height - 1, width: w, height: 1 };
            f.render_widget(Paragraph::new(Span::styled(label, Style::default().fg(t.accent))), r);
        }
    }
    cols
}

/// How a pane stands out: focused, or beyond N (no vote).
#[derive(Clone, Copy)]
struct Look {
    focused: bool,
    beyond: bool,
    /// Sent to the server, not started there.
    waiting: bool,
}

fn draw_pane(
    f: &mut Frame,
    area: Rect,
    app: &App,
    node: &NodeView,
    look: Look,
    agg: Aggregation,
    cache: &mut ViewCache,
) {
    let t = &app.theme;
    let focused = look.focused;
    let (sstyle, sword) = status_style(t, node.status);
    let mut sword = std::borrow::Cow::Borrowed(sword);
    // Sent, but the server has not said a word: it is busy with other requests.
    let waiting = look.waiting;
    if waiting {
        sword = "waiting for the server".into();
    }
    if let Some(why) = &node.cut_off {
        sword = why.clone().into();
    }
    let score = node.score_with(agg);
    let mut title = vec![
        Span::styled(format!(" #{}", node.node), Style::default().fg(t.fg).add_modifier(Modifier::BOLD)),
        // Tree-search nodes say which step of the path they added (their seed follows their id).
        Span::styled(
            if node.parent.is_some() || node.depth > 0 {
                format!(" step {}", node.depth + 1)
            } else {
                node.seed.map(|s| format!(" s{s}")).unwrap_or_default()
            },
            Style::default().fg(t.dim),
        ),
        Span::styled(format!(" {sword}"), sstyle),
    ];
    if !waiting {
        title.push(Span::styled(format!(" {}t", node.tokens), Style::default().fg(t.dim)));
    }
    if look.beyond {
        title.push(Span::styled(" beyond N", Style::default().fg(t.warn)));
    }
    if let Some(a) = &node.answer {
        title.push(Span::styled(format!(" {}", one_line(&sanitize(a), 16)), Style::default().fg(t.fg)));
        match node.correct {
            Some(true) => title.push(Span::styled(" ✓", Style::default().fg(t.ok))),
            Some(false) => title.push(Span::styled(" ✗", Style::default().fg(t.bad))),
            None => {}
        }
    }
    title.push(Span::styled(
        score.map(|s| format!(" {s:.2} ")).unwrap_or_else(|| " – ".into()),
        Style::default().fg(t.score_color(score)).add_modifier(Modifier::BOLD),
    ));
    // Re-scored beside the original: the new solution score after an arrow.
    let rescore = app.run().and_then(|r| r.rescore.as_deref());
    let new = rescore.and_then(|r| r.nodes.get(&node.node)).copied();
    if new.is_some() {
        title.extend(super::rescore::arrow(new, t));
        title.push(Span::raw(" "));
    }
    let border = if focused {
        t.border_focused
    } else if look.beyond {
        t.dim
    } else {
        t.border
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(border))
        .title(Line::from(title));
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.width < 4 || inner.height == 0 {
        return;
    }
    let text_w = inner.width - 2;
    let height = inner.height as usize;
    let selected = if focused { app.step } else { None };
    let scoring = matches!(node.status, NodeStatus::Streaming | NodeStatus::Queued | NodeStatus::Kept);

    // Lines of one step: gutter coloured by its score, then its score at the end.
    let step_block = |k: usize, cache: &mut ViewCache| -> Vec<Line<'static>> {
        let st = &node.steps[k];
        let verdict = st.verdict.as_ref();
        let s = verdict.and_then(|v| v.score);
        let gutter = Span::styled("▌ ", Style::default().fg(t.score_color(s)));
        let body = cache.step_lines((app.current, node.node, k), &st.text, text_w, app.latex, t);
        let mut out: Vec<Line<'static>> = body
            .iter()
            .map(|l| {
                let mut spans = vec![gutter.clone()];
                spans.extend(l.spans.iter().cloned());
                Line::from(spans)
            })
            .collect();
        let tag = match verdict {
            Some(v) => match v.score {
                Some(x) => Span::styled(format!("  └ {x:.2}"), Style::default().fg(t.score_color(Some(x)))),
                None => Span::styled("  └ unscored", Style::default().fg(t.dim)),
            },
            // Steps wait for the verifier, which may queue behind generation at the server.
            None if scoring => Span::styled("  └ … queued for scoring", Style::default().fg(t.dim)),
            None => Span::styled("  └ …", Style::default().fg(t.dim)),
        };
        let mut tag = vec![tag];
        tag.extend(super::rescore::arrow(rescore.and_then(|r| r.step(node.node, k)), t));
        out.push(Line::from(tag));
        if selected == Some(k) {
            for l in &mut out {
                *l = l.clone().style(Style::default().bg(t.selected_bg));
            }
        }
        out
    };
    let partial = partial_text(node);
    let partial_lines = |cache: &mut ViewCache| -> Vec<Line<'static>> {
        if partial.is_empty() {
            return vec![];
        }
        let mut out = Vec::new();
        let h = cache.highlighter();
        for l in render_text(h, partial, text_w, app.latex, t) {
            let mut spans = vec![Span::styled("│ ", Style::default().fg(t.dim))];
            spans.extend(l.spans);
            out.push(Line::from(spans));
        }
        out
    };
    let mut tail: Vec<Line<'static>> = Vec::new();
    if let Some(err) = &node.error {
        for l in wrap_plain(&format!("✗ {}", sanitize(&redact(err))), inner.width as usize) {
            tail.push(Line::from(Span::styled(l, Style::default().fg(t.bad))));
        }
    }
    let lines: Vec<Line<'static>> = match selected {
        Some(sel) if sel < node.steps.len() => {
            // Show the selected step at the top and what follows it.
            let mut v = Vec::new();
            for k in sel..node.steps.len() {
                v.extend(step_block(k, cache));
                if v.len() >= height {
                    break;
                }
            }
            if v.len() < height {
                v.extend(partial_lines(cache));
            }
            v.truncate(height);
            v
        }
        _ => {
            // Follow the stream: fill from the end.
            let mut rev: Vec<Vec<Line<'static>>> = vec![tail.clone(), partial_lines(cache)];
            let mut count: usize = rev.iter().map(Vec::len).sum();
            for k in (0..node.steps.len()).rev() {
                if count >= height {
                    break;
                }
                let b = step_block(k, cache);
                count += b.len();
                rev.push(b);
            }
            let mut v: Vec<Line<'static>> = rev.into_iter().rev().flatten().collect();
            if v.len() > height {
                v.drain(..v.len() - height);
            }
            v
        }
    };
    if matches!(node.status, NodeStatus::Queued | NodeStatus::Streaming) && lines.is_empty() {
        let why = if waiting {
            "sent; the server has not started it yet…"
        } else if node.status == NodeStatus::Queued {
            "waiting for a free slot…"
        } else {
            ""
        };
        f.render_widget(Paragraph::new(Span::styled(why, Style::default().fg(t.dim))), inner);
        return;
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// The text after the last completed step (the step being written).
fn partial_text(node: &NodeView) -> &str {
    if node.status == NodeStatus::Done {
        return "";
    }
    let tail = match node.text.rfind(crate::steps::STEP_DELIMITER) {
        Some(i) => node.text[i..].trim_start(),
        None if node.steps.is_empty() => node.text.trim_start(),
        None => "",
    };
    // A tree-search node stays live after its one step completes: that step is not partial.
    if node.steps.last().is_some_and(|s| !tail.is_empty() && s.text.trim() == tail.trim()) {
        return "";
    }
    tail
}

/// The body before the first run: how to start one.
pub(super) fn draw_empty(f: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let lines = vec![
        Line::from(""),
        Line::from(Span::styled("No run yet.", Style::default().fg(t.fg).add_modifier(Modifier::BOLD))),
        Line::from(format!(
            "{} pick a problem · {} pick a model · {} help",
            app.keymap.key_for(Action::PickProblem),
            app.keymap.key_for(Action::PickModel),
            app.keymap.key_for(Action::Help)
        )),
    ];
    f.render_widget(Paragraph::new(lines).alignment(ratatui::layout::Alignment::Center), area);
}

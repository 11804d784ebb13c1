//! Drawing: a pure function of the app state (plus a cache of wrapped step text).

use std::collections::HashMap;

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use super::action::Action;
use super::app::{one_line, App, Mode, RunView};
use super::text::{latex_to_unicode, sanitize, Highlighter};
use super::theme::Theme;
use super::view_header::draw_header;
use super::view_popups::{
    centered, draw_editor, draw_help, draw_inspector, draw_model_picker, draw_problem_picker,
};
use super::view_revise::draw_revisions;
use super::view_tree::{body_of, draw_tree, Body};
use crate::event::NodeId;
use crate::safe::redact;
use crate::tree::{NodeStatus, NodeView};
use crate::verify::Aggregation;

/// Narrowest readable pane.
pub const MIN_PANE_WIDTH: u16 = 34;
/// The smallest terminal the view draws in.
pub const MIN_SIZE: (u16, u16) = (60, 16);

/// Wrapped, highlighted lines of finished steps, kept across frames.
#[derive(Default)]
pub struct ViewCache {
    steps: HashMap<(usize, NodeId, usize), CachedStep>,
    highlighter: Option<Highlighter>,
}

struct CachedStep {
    width: u16,
    latex: bool,
    text_len: usize,
    lines: Vec<Line<'static>>,
}

impl ViewCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn highlighter(&mut self) -> &Highlighter {
        self.highlighter.get_or_insert_with(Highlighter::new)
    }

    /// The wrapped lines of a finished step; computed once per width.
    fn step_lines(
        &mut self,
        key: (usize, NodeId, usize),
        text: &str,
        width: u16,
        latex: bool,
        theme: &Theme,
    ) -> &[Line<'static>] {
        let fresh = self
            .steps
            .get(&key)
            .is_some_and(|c| c.width == width && c.latex == latex && c.text_len == text.len());
        if !fresh {
            let lines = render_text(self.highlighter(), text, width, latex, theme);
            self.steps.insert(key, CachedStep { width, latex, text_len: text.len(), lines });
        }
        self.steps.get(&key).map(|c| c.lines.as_slice()).unwrap_or(&[])
    }

    /// Forget cached runs (e.g. after the theme changed).
    pub fn clear(&mut self) {
        self.steps.clear();
    }
}

/// Sanitise, optionally render LaTeX, highlight and wrap one text.
fn render_text(h: &Highlighter, text: &str, width: u16, latex: bool, theme: &Theme) -> Vec<Line<'static>> {
    let clean = sanitize(text);
    let shown = if latex { latex_to_unicode(&clean) } else { clean.into_owned() };
    let lines = h.highlight(&shown, theme);
    let mut out = Vec::with_capacity(lines.len());
    for l in lines {
        wrap_line(l, width.max(1) as usize, &mut out);
    }
    out
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

/// How the frame was laid out, for the app to page by.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Drawn {
    pub per_page: usize,
}

/// Draw the whole screen.
pub fn draw(f: &mut Frame, app: &App, cache: &mut ViewCache) -> Drawn {
    let area = f.area();
    let t = &app.theme;
    f.render_widget(Block::default().style(Style::default().bg(t.bg).fg(t.fg)), area);
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        draw_too_small(f, area, t);
        return Drawn::default();
    }
    if let Mode::NoServer { message } = &app.mode {
        draw_no_server(f, area, app, message);
        return Drawn::default();
    }
    // An adaptive run's estimate takes a fifth header line.
    let header = 4 + u16::from(app.run().is_some_and(|r| r.tree.difficulty.is_some()));
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Length(header), Constraint::Min(5), Constraint::Length(1)])
        .split(area);
    draw_header(f, rows[0], app);
    let body = rows[1];
    let (panes_area, answers_area) = if body.width >= 110 {
        let c = Layout::default()
            .direction(Direction::Horizontal)
            .constraints([Constraint::Min(40), Constraint::Length(34)])
            .split(body);
        (c[0], c[1])
    } else {
        let c = Layout::default()
            .direction(Direction::Vertical)
            .constraints([Constraint::Min(4), Constraint::Length(6)])
            .split(body);
        (c[0], c[1])
    };
    let drawn = match app.run() {
        Some(run) => {
            let d = match body_of(&run.tree) {
                Body::Panes => draw_panes(f, panes_area, app, run, cache),
                Body::Revise => {
                    Drawn { per_page: draw_revisions(f, panes_area, app, run, app.focused_node()) }
                }
                Body::Tree => {
                    // The tree on top (a row per depth), the surviving beams below.
                    let depths = run.tree.nodes.iter().map(|n| n.depth + 1).max().unwrap_or(1);
                    let h = (depths.min(u16::MAX as u32 - 2) as u16 + 2).min(panes_area.height * 2 / 5);
                    if app.show_tree && h >= 3 {
                        let c = Layout::default()
                            .direction(Direction::Vertical)
                            .constraints([Constraint::Length(h), Constraint::Min(3)])
                            .split(panes_area);
                        draw_tree(f, c[0], app, run, app.focused_node());
                        draw_panes(f, c[1], app, run, cache)
                    } else {
                        draw_panes(f, panes_area, app, run, cache)
                    }
                }
            };
            draw_answers(f, answers_area, app, run);
            d
        }
        None => {
            draw_empty(f, panes_area, app);
            draw_answers_empty(f, answers_area, t);
            Drawn::default()
        }
    };
    draw_footer(f, rows[2], app);
    match &app.mode {
        Mode::Help => draw_help(f, area, app),
        Mode::Inspector => draw_inspector(f, area, app),
        Mode::ProblemPicker { query, selected } => draw_problem_picker(f, area, app, query, *selected),
        Mode::ModelPicker { selected } => draw_model_picker(f, area, app, *selected),
        Mode::Editor { text } => draw_editor(f, area, app, text),
        Mode::Normal | Mode::NoServer { .. } => {}
    }
    drawn
}

fn draw_too_small(f: &mut Frame, area: Rect, t: &Theme) {
    let msg = vec![
        Line::from(Span::styled(
            "Terminal too small",
            Style::default().fg(t.warn).add_modifier(Modifier::BOLD),
        )),
        Line::from(format!(
            "{}×{} — ttc needs at least {}×{}",
            area.width, area.height, MIN_SIZE.0, MIN_SIZE.1
        )),
        Line::from(Span::styled("Enlarge the window, or press q to quit.", Style::default().fg(t.dim))),
    ];
    let y = area.height.saturating_sub(3) / 2;
    let r = Rect { x: area.x, y: area.y + y, width: area.width, height: 3.min(area.height) };
    f.render_widget(
        Paragraph::new(msg).alignment(ratatui::layout::Alignment::Center).wrap(Wrap { trim: true }),
        r,
    );
}

fn draw_no_server(f: &mut Frame, area: Rect, app: &App, message: &str) {
    let t = &app.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(t.warn))
        .title(Span::styled(" no model server ", Style::default().fg(t.warn).add_modifier(Modifier::BOLD)));
    let lines = vec![
        Line::from(Span::styled(sanitize(&redact(message)).into_owned(), Style::default().fg(t.fg))),
        Line::from(""),
        Line::from("Start Ollama with `ollama serve` and pull a model (`ollama pull qwen2.5:1.5b`),"),
        Line::from("or point ttc at another server with --host URL or OLLAMA_HOST."),
        Line::from(""),
        Line::from(Span::styled(
            format!(
                "{} retry · {} quit",
                app.keymap.key_for(Action::Rerun),
                app.keymap.key_for(Action::Quit)
            ),
            Style::default().fg(t.dim),
        )),
    ];
    let r = centered(area, 80, 10);
    f.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), r);
}

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

fn draw_panes(f: &mut Frame, area: Rect, app: &App, run: &RunView, cache: &mut ViewCache) -> Drawn {
    let t = &app.theme;
    let ids = app.pane_nodes();
    let n = ids.len();
    if n == 0 {
        let msg = if run.tree.finished { "the run produced no candidates" } else { "starting…" };
        f.render_widget(Paragraph::new(Span::styled(msg, Style::default().fg(t.dim))), area);
        return Drawn { per_page: 1 };
    }
    let cols = if app.zoom { 1 } else { ((area.width / MIN_PANE_WIDTH).max(1) as usize).min(n) };
    let focus = app.focus_index(&ids);
    let page = focus / cols;
    let first = page * cols;
    let shown = cols.min(n - first);
    let pages = n.div_ceil(cols);
    let widths: Vec<Constraint> = (0..cols).map(|_| Constraint::Ratio(1, cols as u32)).collect();
    let chunks = Layout::default().direction(Direction::Horizontal).constraints(widths).split(area);
    let agg = app.knobs.config.aggregation;
    let panes = ids[first..first + shown].iter().filter_map(|&id| run.tree.nodes.get(id as usize));
    for (i, node) in panes.enumerate() {
        let focused = first + i == focus;
        draw_pane(f, chunks[i], app, node, focused, agg, cache);
    }
    if pages > 1 {
        let label = format!(" page {}/{} [ ] ", page + 1, pages);
        let w = label.chars().count() as u16;
        if area.width > w + 2 {
            let r = Rect { x: area.x + area.width - w - 1, y: area.y + area.height - 1, width: w, height: 1 };
            f.render_widget(Paragraph::new(Span::styled(label, Style::default().fg(t.accent))), r);
        }
    }
    Drawn { per_page: cols }
}

#[allow(clippy::too_many_arguments)]
fn draw_pane(
    f: &mut Frame,
    area: Rect,
    app: &App,
    node: &NodeView,
    focused: bool,
    agg: Aggregation,
    cache: &mut ViewCache,
) {
    let t = &app.theme;
    let (sstyle, sword) = status_style(t, node.status);
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
        Span::styled(format!(" {}t", node.tokens), Style::default().fg(t.dim)),
    ];
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
    let border = if focused { t.border_focused } else { t.border };
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
            None => Span::styled("  └ …", Style::default().fg(t.dim)),
        };
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
    if node.status == NodeStatus::Queued && lines.is_empty() {
        f.render_widget(
            Paragraph::new(Span::styled("waiting for a free slot…", Style::default().fg(t.dim))),
            inner,
        );
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

fn draw_answers(f: &mut Frame, area: Rect, app: &App, run: &RunView) {
    let t = &app.theme;
    let c = &app.knobs.config;
    let block = Block::default().borders(Borders::ALL).border_style(Style::default().fg(t.border)).title(
        Span::styled(
            format!(" answers · {} · {} ", c.selection, c.aggregation),
            Style::default().fg(t.accent),
        ),
    );
    let mut lines = Vec::new();
    match &run.selection {
        Some(sel) if !sel.answers.is_empty() => {
            for (i, a) in sel.answers.iter().enumerate() {
                let mark = if i == 0 { "▶ " } else { "  " };
                let mut spans = vec![
                    Span::styled(mark, Style::default().fg(t.accent)),
                    Span::styled(
                        format!("{:<10}", one_line(&sanitize(&a.answer), 10)),
                        if i == 0 { Style::default().add_modifier(Modifier::BOLD) } else { Style::default() },
                    ),
                    Span::styled(format!(" ×{:<3}", a.votes), Style::default().fg(t.fg)),
                    Span::styled(format!(" w {:.2}", a.weight), Style::default().fg(t.dim)),
                ];
                match a.correct {
                    Some(true) => spans.push(Span::styled(" ✓", Style::default().fg(t.ok))),
                    Some(false) => spans.push(Span::styled(" ✗", Style::default().fg(t.bad))),
                    None => {}
                }
                lines.push(Line::from(spans));
            }
            if let Some(note) = &sel.note {
                lines.push(Line::from(Span::styled(one_line(note, 60), Style::default().fg(t.warn))));
            }
        }
        _ => lines.push(Line::from(Span::styled("no answers yet", Style::default().fg(t.dim)))),
    }
    if let Some(g) = run.tree.info.as_ref().and_then(|i| i.problem.gold.as_ref()) {
        lines.push(Line::from(vec![
            Span::styled("gold ", Style::default().fg(t.dim)),
            Span::styled(sanitize(g).into_owned(), Style::default().fg(t.ok)),
        ]));
    }
    if let Some(e) = &run.tree.error {
        lines
            .push(Line::from(Span::styled(one_line(&sanitize(&redact(e)), 120), Style::default().fg(t.bad))));
    }
    f.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: true }), area);
}

fn draw_answers_empty(f: &mut Frame, area: Rect, t: &Theme) {
    let block =
        Block::default().borders(Borders::ALL).border_style(Style::default().fg(t.border)).title(" answers ");
    f.render_widget(Paragraph::new("").block(block), area);
}

fn draw_empty(f: &mut Frame, area: Rect, app: &App) {
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

fn draw_footer(f: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let k = |a: Action| app.keymap.key_for(a);
    let mut keys: Vec<(String, &str)> = match &app.mode {
        Mode::Normal => vec![
            (k(Action::Help), "help"),
            (format!("{}/{}", k(Action::NUp), k(Action::NDown)), "N"),
            (format!("{}/{}", k(Action::TemperatureUp), k(Action::TemperatureDown)), "temp"),
            (k(Action::CycleAggregation), "agg"),
            (k(Action::CycleSelection), "select"),
            (k(Action::CycleVerifier), "verifier"),
            (k(Action::PauseResume), "pause"),
            (k(Action::Rerun), "rerun"),
            (k(Action::Cancel), "cancel"),
            (k(Action::PickProblem), "problem"),
            (k(Action::PickModel), "model"),
            (k(Action::Zoom), "zoom"),
            (k(Action::Inspect), "inspect"),
            (k(Action::Quit), "quit"),
        ],
        Mode::Help => vec![(k(Action::Back), "close")],
        Mode::Inspector => vec![(k(Action::Back), "close")],
        Mode::ProblemPicker { .. } => vec![
            ("type".into(), "filter"),
            ("↑↓".into(), "move"),
            ("Enter".into(), "run"),
            ("Esc".into(), "close"),
        ],
        Mode::ModelPicker { .. } => {
            vec![("↑↓".into(), "move"), ("Enter".into(), "use"), ("Esc".into(), "close")]
        }
        Mode::Editor { .. } => {
            vec![("C-s".into(), "run it"), ("Enter".into(), "new line"), ("Esc".into(), "cancel")]
        }
        Mode::NoServer { .. } => vec![(k(Action::Rerun), "retry"), (k(Action::Quit), "quit")],
    };
    // The tree and revision views' own keys come first, where they are not cut off.
    if app.mode == Mode::Normal {
        let updown = format!("{}/{}", k(Action::TreeUp), k(Action::TreeDown));
        let extra: Vec<(String, &str)> = match app.run().map(|r| body_of(&r.tree)) {
            Some(Body::Tree) => {
                vec![(updown, "parent/child"), (k(Action::ToggleTree), "tree"), (k(Action::Fork), "fork")]
            }
            Some(Body::Revise) => vec![
                (format!("{}/{}", k(Action::FocusPrev), k(Action::FocusNext)), "chain"),
                (updown, "revision"),
                (k(Action::Fork), "fork"),
            ],
            _ => vec![],
        };
        keys.splice(1..1, extra);
    }
    let mut spans = Vec::new();
    if let Some(m) = &app.message {
        // Messages quote servers and files: sanitized, and as long as the line allows.
        let room = (area.width as usize).saturating_sub(30).max(100);
        spans.push(Span::styled(
            format!(" {} ", one_line(&sanitize(&redact(m)), room)),
            Style::default().fg(t.bg).bg(t.warn),
        ));
        spans.push(Span::raw(" "));
    }
    for (key, what) in keys {
        spans.push(Span::styled(
            format!(" {key}"),
            Style::default().fg(t.accent).add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::styled(format!(" {what} "), Style::default().fg(t.dim)));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

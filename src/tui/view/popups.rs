//! Popups over the view (the key help has its own file, `help.rs`): the step inspector, the problem and model pickers, the editor,
//! and the notice shown in place of the view when no model server answered.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::safe::redact;
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::text::{one_line, sanitize, wrap_plain};
use crate::tui::theme::Theme;
use crate::verify::{Aggregation, StepDetail, StepScore};

/// A rectangle `pct_w` percent wide and `height` rows high in the middle of `area`.
fn centered(area: Rect, pct_w: u16, height: u16) -> Rect {
    let w = (area.width * pct_w / 100).max(20).min(area.width);
    let h = height.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

fn popup(f: &mut Frame, r: Rect, t: &Theme, title: String) -> Rect {
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(t.border_focused))
        .style(Style::default().bg(t.bg).fg(t.fg))
        .title(Span::styled(title, Style::default().fg(t.accent).add_modifier(Modifier::BOLD)));
    let inner = block.inner(r);
    f.render_widget(block, r);
    inner
}

/// The recorded traces over the view (`b`): Enter replays one here.
pub(super) fn draw_trace_browser(
    f: &mut Frame,
    area: Rect,
    app: &App,
    browser: &crate::tui::trace_list::Browser,
) {
    let r = centered(area, 90, area.height.saturating_sub(4));
    let inner = popup(f, r, &app.theme, " recorded traces ".into());
    crate::tui::trace_list::render_in(f, inner, browser, "↑/↓ j/k move · Enter replay here · q/Esc close");
}

/// Lines describing one verdict, for the inspector.
fn verdict_lines(v: &StepScore, t: &Theme, width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let dim = Style::default().fg(t.dim);
    match v.score {
        Some(s) => out.push(Line::from(vec![
            Span::styled("score ", dim),
            Span::styled(
                format!("{s:.4}"),
                Style::default().fg(t.score_color(Some(s))).add_modifier(Modifier::BOLD),
            ),
        ])),
        None => out.push(Line::from(vec![
            Span::styled("unscored: ", Style::default().fg(t.warn)),
            Span::raw(v.unscored.clone().unwrap_or_default()),
        ])),
    }
    match &v.detail {
        StepDetail::Judge { method, prompt, p_yes, p_no, top_logprobs, verdicts } => {
            out.push(Line::from(vec![
                Span::styled("method ", dim),
                Span::raw(format!("{method:?}").to_lowercase()),
            ]));
            if let (Some(y), Some(n)) = (p_yes, p_no) {
                out.push(Line::from(vec![
                    Span::styled("p(Yes) ", dim),
                    Span::raw(format!("{y:.4}")),
                    Span::styled("  p(No) ", dim),
                    Span::raw(format!("{n:.4}")),
                ]));
            }
            if !top_logprobs.is_empty() {
                let alts: Vec<String> = top_logprobs
                    .iter()
                    .take(10)
                    .map(|a| format!("{:?} {:.3}", sanitize(&a.token), a.logprob.exp()))
                    .collect();
                out.push(Line::from(vec![Span::styled("alternatives ", dim), Span::raw(alts.join(", "))]));
            }
            if !verdicts.is_empty() {
                let vs: Vec<String> = verdicts.iter().map(|v| format!("{:?}", sanitize(v))).collect();
                out.push(Line::from(vec![Span::styled("sampled verdicts ", dim), Span::raw(vs.join(", "))]));
            }
            out.push(Line::from(Span::styled("prompt sent:", dim)));
            for l in wrap_plain(&sanitize(prompt), width) {
                out.push(Line::from(Span::styled(l, Style::default().fg(t.comment))));
            }
        }
        StepDetail::Arith { claims } => {
            for c in claims {
                out.push(Line::from(vec![
                    Span::styled(
                        if c.ok { "✓ " } else { "✗ " },
                        Style::default().fg(if c.ok { t.ok } else { t.bad }),
                    ),
                    Span::raw(sanitize(&c.text).into_owned()),
                    Span::styled(
                        c.actual.as_ref().map(|a| format!("   (left side is {a})")).unwrap_or_default(),
                        dim,
                    ),
                ]));
            }
        }
        StepDetail::Oracle { answer, gold } => out.push(Line::from(vec![
            Span::styled("answer ", dim),
            Span::raw(answer.clone().unwrap_or_else(|| "—".into())),
            Span::styled("  gold ", dim),
            Span::raw(gold.clone().unwrap_or_else(|| "—".into())),
        ])),
        StepDetail::Confidence { tokens, lowest_group, mean, window, k } => {
            out.push(Line::from(vec![
                Span::styled("lowest group confidence ", dim),
                Span::raw(format!("{lowest_group:.3}")),
                Span::styled("  step mean ", dim),
                Span::raw(format!("{mean:.3}")),
            ]));
            out.push(Line::from(Span::styled(
                format!("{tokens} tokens, groups of {window}, top-{k}; score = 1 − ln {k} / confidence"),
                dim,
            )));
        }
        StepDetail::None => {}
    }
    out.push(Line::from(vec![
        Span::styled("verifier usage ", dim),
        Span::raw(format!(
            "{} requests, {} prompt + {} generated tokens",
            v.usage.requests, v.usage.prompt_tokens, v.usage.generated_tokens
        )),
    ]));
    out
}

pub(super) fn draw_inspector(f: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let r = centered(area, 86, area.height.saturating_sub(4));
    let Some(run) = app.run() else { return };
    let Some(node) = app.focused_node().and_then(|id| run.tree.nodes.get(id as usize)) else { return };
    let Some(k) = app.step.filter(|k| *k < node.steps.len()) else { return };
    let verifier = run.tree.info.as_ref().map(|i| i.verifier.clone()).unwrap_or_default();
    let inner =
        popup(f, r, t, format!(" candidate #{} · step {} · {} ", node.node, k + 1, sanitize(&verifier)));
    let width = inner.width as usize;
    let mut lines: Vec<Line<'static>> = Vec::new();
    for l in wrap_plain(&sanitize(&node.steps[k].text), width) {
        lines.push(Line::from(Span::styled(l, Style::default().fg(t.fg).add_modifier(Modifier::BOLD))));
    }
    lines.push(Line::from(""));
    match &node.steps[k].verdict {
        Some(v) => lines.extend(verdict_lines(v, t, width)),
        None => lines.push(Line::from(Span::styled("not scored yet", Style::default().fg(t.dim)))),
    }
    lines.push(Line::from(""));
    let mut aggs = vec![Span::styled("this candidate under each aggregation: ", Style::default().fg(t.dim))];
    for a in Aggregation::ALL {
        let s = node.score_with(a);
        aggs.push(Span::styled(format!("{a} "), Style::default().fg(t.dim)));
        aggs.push(Span::styled(
            s.map(|x| format!("{x:.3}  ")).unwrap_or_else(|| "–  ".into()),
            Style::default().fg(t.score_color(s)),
        ));
    }
    lines.push(Line::from(aggs));
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn list_window(len: usize, selected: usize, height: usize) -> usize {
    if height == 0 || selected < height {
        0
    } else {
        (selected + 1 - height).min(len.saturating_sub(height))
    }
}

pub(super) fn draw_problem_picker(f: &mut Frame, area: Rect, app: &App, query: &str, selected: usize) {
    let t = &app.theme;
    let r = centered(area, 86, area.height.saturating_sub(4));
    let inner = popup(f, r, t, " pick a problem ".into());
    let items = app.picker_items(query);
    let selected = selected.min(items.len().saturating_sub(1));
    let mut lines = vec![Line::from(vec![
        Span::styled("filter: ", Style::default().fg(t.dim)),
        Span::styled(sanitize(query).into_owned(), Style::default().fg(t.fg)),
        Span::styled("▏", Style::default().fg(t.accent)),
        Span::styled(format!("   {} matches", items.len().saturating_sub(1)), Style::default().fg(t.dim)),
    ])];
    let h = (inner.height as usize).saturating_sub(1);
    let start = list_window(items.len(), selected, h);
    for (i, it) in items.iter().enumerate().skip(start).take(h) {
        let style = if i == selected {
            Style::default().bg(t.selected_bg).fg(t.fg)
        } else {
            Style::default().fg(t.fg)
        };
        lines.push(Line::from(Span::styled(one_line(&sanitize(&it.label), inner.width as usize), style)));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

pub(super) fn draw_model_picker(f: &mut Frame, area: Rect, app: &App, selected: usize) {
    let t = &app.theme;
    let r = centered(area, 50, (app.models.len() as u16 + 2).clamp(5, area.height.saturating_sub(4)));
    let inner = popup(f, r, t, " pick a model ".into());
    if app.models.is_empty() {
        f.render_widget(
            Paragraph::new(Span::styled("asking the server…", Style::default().fg(t.dim))),
            inner,
        );
        return;
    }
    let h = inner.height as usize;
    let start = list_window(app.models.len(), selected, h);
    let lines: Vec<Line> = app
        .models
        .iter()
        .enumerate()
        .skip(start)
        .take(h)
        .map(|(i, m)| {
            let current = app.model.as_deref() == Some(m.as_str());
            let style = if i == selected { Style::default().bg(t.selected_bg) } else { Style::default() };
            Line::from(Span::styled(format!("{}{}", if current { "● " } else { "  " }, sanitize(m)), style))
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

pub(super) fn draw_editor(f: &mut Frame, area: Rect, app: &App, text: &str) {
    let t = &app.theme;
    let r = centered(area, 80, 12);
    let inner = popup(f, r, t, " your problem — Ctrl-S runs it, Esc cancels ".into());
    let mut lines: Vec<Line> = Vec::new();
    for l in wrap_plain(&sanitize(text), inner.width.saturating_sub(1) as usize) {
        lines.push(Line::from(l));
    }
    if lines.is_empty() {
        lines.push(Line::from(""));
    }
    if let Some(last) = lines.last_mut() {
        last.spans.push(Span::styled("▏", Style::default().fg(t.accent)));
    }
    let h = inner.height as usize;
    if lines.len() > h {
        lines.drain(..lines.len() - h);
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// What was tried when no server answered, and how to fix it (drawn instead of the view).
pub(super) fn draw_no_server(f: &mut Frame, area: Rect, app: &App, message: &str) {
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

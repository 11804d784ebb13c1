//! Drawing: a pure function of the app state (plus a cache of wrapped step text).
//! This file lays the screen out and hands each part to its widget's file.

mod answers;
mod cache;
mod consistency;
mod footer;
mod header;
mod help;
mod panes;
mod particles;
mod popups;
mod rescore;
mod revisions;
mod tree;

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::app::{App, Mode};
use crate::tui::layout::{body_of, Body, MIN_SIZE};
use crate::tui::theme::Theme;
use answers::{draw_answers, draw_answers_empty};
pub use cache::ViewCache;
use footer::draw_footer;
use header::draw_header;
use panes::{draw_empty, draw_panes};
use particles::draw_particles;
use popups::{
    draw_editor, draw_inspector, draw_model_picker, draw_no_server, draw_problem_picker, draw_trace_browser,
};
use revisions::draw_revisions;
use tree::draw_tree;

/// How the frame was laid out, for the app to page by.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Drawn {
    pub per_page: usize,
    /// With the key help open: how far it can scroll, and its rows on screen.
    pub help: Option<(usize, usize)>,
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
    let mut drawn = match app.run() {
        Some(run) => {
            let per_page = match body_of(&run.tree) {
                Body::Panes => draw_panes(f, panes_area, app, run, cache),
                Body::Revise => draw_revisions(f, panes_area, app, run, app.focused_node()),
                Body::Tree => {
                    // The tree on top (a row per depth), the surviving beams below; particle
                    // filtering shows its population there instead (a row per particle).
                    let population = crate::tui::layout::effective_strategy(&run.tree)
                        == Some(crate::strategy::StrategyKind::Particles);
                    let depths = if population {
                        run.tree.particles.as_ref().map_or(1, |p| p.weights.len().max(1) as u32)
                    } else {
                        run.tree.nodes.iter().map(|n| n.depth + 1).max().unwrap_or(1)
                    };
                    let h = (depths.min(u16::MAX as u32 - 2) as u16 + 2).min(panes_area.height * 2 / 5);
                    if app.show_tree && h >= 3 && population {
                        let c = Layout::default()
                            .direction(Direction::Vertical)
                            .constraints([Constraint::Length(h), Constraint::Min(3)])
                            .split(panes_area);
                        draw_particles(f, c[0], app, run, app.focused_node());
                        draw_panes(f, c[1], app, run, cache)
                    } else if app.show_tree && h >= 3 {
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
            let answers_area = if consistency::shown_for(&run.tree) {
                let (panel, rest) = consistency::split(answers_area);
                consistency::draw_consistency(f, panel, app, run);
                rest
            } else {
                answers_area
            };
            if answers_area.height > 0 {
                draw_answers(f, answers_area, app, run);
            }
            Drawn { per_page, ..Drawn::default() }
        }
        None => {
            draw_empty(f, panes_area, app);
            draw_answers_empty(f, answers_area, t);
            Drawn::default()
        }
    };
    draw_footer(f, rows[2], app);
    match &app.mode {
        Mode::Help => drawn.help = Some(help::draw_help(f, area, app)),
        Mode::Inspector => draw_inspector(f, area, app),
        Mode::ProblemPicker { query, selected } => draw_problem_picker(f, area, app, query, *selected),
        Mode::ModelPicker { selected } => draw_model_picker(f, area, app, *selected),
        Mode::Editor { text } => draw_editor(f, area, app, text),
        Mode::TraceBrowser { browser } => draw_trace_browser(f, area, app, browser),
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

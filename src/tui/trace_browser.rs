//! `ttc replay` with no FILE: the data directory's traces, newest first, one `ttc traces`
//! line each; ↑/↓ (j/k) move, Enter replays the chosen one in the view and comes back here
//! when that replay quits, `q`/Esc quit.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crossterm::event::{self, Event as TermEvent, KeyCode, KeyEventKind};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{List, ListItem, ListState, Paragraph};
use ratatui::Frame;

use super::terminal::TerminalGuard;
use crate::launch::{Failure, GlobalArgs};
use crate::safe::for_display;
use crate::trace::list::list;
use crate::trace::row::row;

/// The keys, on the footer line.
const FOOTER: &str = "↑/↓ j/k move · Enter replay · q/Esc quit";

/// The browser's state: the listed traces and the chosen one.
#[derive(Debug, Clone, PartialEq)]
pub struct Browser {
    /// Each trace's file and its listing line (already one clean line).
    pub rows: Vec<(PathBuf, String)>,
    pub selected: usize,
    /// Shown on the footer line: why the last trace could not be replayed.
    pub note: Option<String>,
}

/// What a key asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    Stay,
    Open(PathBuf),
    Quit,
}

impl Browser {
    /// The traces in `dir`, newest first.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        let rows = list(dir)?.into_iter().map(|e| (e.path.clone(), row(&e))).collect();
        Ok(Self { rows, selected: 0, note: None })
    }

    /// Move, open or quit.
    pub fn on_key(&mut self, code: KeyCode) -> Flow {
        match code {
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                self.selected = (self.selected + 1).min(self.rows.len().saturating_sub(1))
            }
            KeyCode::Home | KeyCode::Char('g') => self.selected = 0,
            KeyCode::End | KeyCode::Char('G') => self.selected = self.rows.len().saturating_sub(1),
            KeyCode::Enter => {
                if let Some((path, _)) = self.rows.get(self.selected) {
                    return Flow::Open(path.clone());
                }
            }
            KeyCode::Char('q') | KeyCode::Esc => return Flow::Quit,
            _ => {}
        }
        Flow::Stay
    }
}

/// Draw the screen: a title, the traces (the chosen one highlighted), the footer.
pub fn render(frame: &mut Frame, browser: &Browser) {
    let [head, body, foot] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)])
            .areas(frame.area());
    let title = format!("ttc replay · {} traces, newest first", browser.rows.len());
    frame.render_widget(Paragraph::new(Line::styled(title, Style::new().add_modifier(Modifier::BOLD))), head);
    let items: Vec<ListItem> = browser.rows.iter().map(|(_, line)| ListItem::new(line.as_str())).collect();
    let list = List::new(items)
        .highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .highlight_symbol("> ");
    let mut state = ListState::default().with_selected(Some(browser.selected));
    frame.render_stateful_widget(list, body, &mut state);
    let footer = match &browser.note {
        Some(n) => format!("{} · {FOOTER}", for_display(n, 200)),
        None => FOOTER.to_string(),
    };
    frame.render_widget(Paragraph::new(footer), foot);
}

/// Browse the data directory's traces; an empty one is said and left without taking the
/// terminal.
pub async fn browse(global: &GlobalArgs) -> Result<ExitCode, Failure> {
    let Some(dir) = crate::trace::default_dir() else {
        return Err(Failure::new("no data directory on this system: traces are not recorded"));
    };
    let shown_dir = crate::safe::sanitize(&dir.display().to_string()).into_owned();
    let mut browser =
        Browser::open(&dir).map_err(|e| Failure::new(format!("cannot list {shown_dir}: {e}")))?;
    if browser.rows.is_empty() {
        println!("no traces yet in {shown_dir}: every `ttc run` and view run records one");
        return Ok(ExitCode::SUCCESS);
    }
    if !std::io::stdout().is_terminal() {
        return Err(Failure::new("the trace browser needs a terminal; `ttc traces` lists them as text"));
    }
    loop {
        let chosen = {
            let mut guard = TerminalGuard::enter()
                .map_err(|e| Failure::new(format!("cannot take over the terminal: {e}")))?;
            pick(&mut guard, &mut browser).map_err(|e| Failure::new(format!("terminal: {e}")))?
        };
        let Some(path) = chosen else { return Ok(ExitCode::SUCCESS) };
        match crate::trace::read(&path) {
            Ok(trace) => {
                browser.note = None;
                super::replay(global, trace, None).await?;
            }
            Err(e) => browser.note = Some(format!("cannot replay it: {e}")),
        }
    }
}

/// Show the browser until a trace is chosen (`Some`) or the user quits (`None`).
fn pick(guard: &mut TerminalGuard, browser: &mut Browser) -> std::io::Result<Option<PathBuf>> {
    loop {
        guard.draw(|f| render(f, browser))?;
        if let TermEvent::Key(k) = event::read()? {
            if k.kind == KeyEventKind::Release {
                continue;
            }
            match browser.on_key(k.code) {
                Flow::Stay => {}
                Flow::Open(path) => return Ok(Some(path)),
                Flow::Quit => return Ok(None),
            }
        }
    }
}

#[cfg(test)]
#[path = "trace_browser_tests.rs"]
mod tests;

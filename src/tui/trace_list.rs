//! The list of recorded traces, newest first, one `ttc traces` line each: the state and
//! drawing shared by `ttc replay` with no FILE (`tui/trace_browser.rs`) and the live
//! view's trace browser key (drawn over the view by `view/popups.rs`).

use std::path::{Path, PathBuf};

use crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{List, ListItem, ListState, Paragraph};
use ratatui::Frame;

use crate::safe::for_display;
use crate::trace::list::list;
use crate::trace::row::row;

/// The keys, on the footer line.
pub const FOOTER: &str = "↑/↓ j/k move · Enter replay · q/Esc quit";

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
    render_in(frame, frame.area(), browser, FOOTER);
}

/// [`render`] into `area`, with `keys` on the footer line.
pub fn render_in(frame: &mut Frame, area: Rect, browser: &Browser, keys: &str) {
    let [head, body, foot] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)]).areas(area);
    let title = format!("ttc replay · {} traces, newest first", browser.rows.len());
    frame.render_widget(Paragraph::new(Line::styled(title, Style::new().add_modifier(Modifier::BOLD))), head);
    let items: Vec<ListItem> = browser.rows.iter().map(|(_, line)| ListItem::new(line.as_str())).collect();
    let list = List::new(items)
        .highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .highlight_symbol("> ");
    let mut state = ListState::default().with_selected(Some(browser.selected));
    frame.render_stateful_widget(list, body, &mut state);
    let footer = match &browser.note {
        Some(n) => format!("{} · {keys}", for_display(n, 200)),
        None => keys.to_string(),
    };
    frame.render_widget(Paragraph::new(footer), foot);
}

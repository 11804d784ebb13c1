//! The view's state and how keys and reloads change it. No terminal here: the loop feeds
//! keys in, and the render reads the state.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::data::{Analysed, Panel, PANELS};
use crate::bench::bins::BinKind;
use crate::bench::records::Results;
use crate::safe::for_display;

/// Whether the loop goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

/// Everything the screen shows.
#[derive(Debug, Clone)]
pub struct State {
    pub dir: PathBuf,
    /// The directory as drawn (sanitized).
    pub shown_dir: String,
    pub data: Analysed,
    pub kind: BinKind,
    /// The focused panel: 0 all problems, 1–5 bins.
    pub focus: usize,
    /// Index into the budgets.
    pub cursor: usize,
    pub help: bool,
    /// All six panels at once (the focused one framed), or the focused one alone.
    pub grid: bool,
    /// Why the last reload failed (the previous results stay on screen).
    pub status: Option<String>,
    /// How many reloads found new results.
    pub reloads: usize,
}

impl State {
    pub fn new(dir: &Path, results: Results) -> Self {
        let data = Analysed::new(results);
        let kind = data.default_kind();
        let cursor = data.results.budgets.len().saturating_sub(1);
        State {
            dir: dir.to_path_buf(),
            shown_dir: for_display(&dir.display().to_string(), 80),
            data,
            kind,
            focus: 0,
            cursor,
            help: false,
            grid: false,
            status: None,
            reloads: 0,
        }
    }

    /// The budget under the cursor.
    pub fn budget(&self) -> Option<u32> {
        self.data.results.budgets.get(self.cursor).copied()
    }

    /// The focused panel's content.
    pub fn panel(&self, index: usize) -> Panel {
        self.data.panel(self.kind, index)
    }

    /// Apply one key.
    pub fn on_key(&mut self, key: KeyEvent) -> Flow {
        if key.kind == KeyEventKind::Release {
            return Flow::Continue;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if self.help {
            // Any key closes the help; the quitting keys still quit.
            self.help = false;
            return match key.code {
                KeyCode::Char('q') => Flow::Quit,
                KeyCode::Char('c') if ctrl => Flow::Quit,
                _ => Flow::Continue,
            };
        }
        let budgets = self.data.results.budgets.len();
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => return Flow::Quit,
            KeyCode::Char('c') if ctrl => return Flow::Quit,
            KeyCode::Left | KeyCode::Char('h') => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right | KeyCode::Char('l') => {
                self.cursor = (self.cursor + 1).min(budgets.saturating_sub(1))
            }
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = budgets.saturating_sub(1),
            KeyCode::Tab | KeyCode::Down | KeyCode::Char('j') => self.focus = (self.focus + 1) % PANELS,
            KeyCode::BackTab | KeyCode::Up | KeyCode::Char('k') => {
                self.focus = (self.focus + PANELS - 1) % PANELS
            }
            KeyCode::Char(c @ '1'..='6') => self.focus = c as usize - '1' as usize,
            KeyCode::Char('b') => {
                self.kind = match self.kind {
                    BinKind::Oracle => BinKind::Model,
                    BinKind::Model => BinKind::Oracle,
                }
            }
            KeyCode::Char('g') => self.grid = !self.grid,
            KeyCode::Char('?') => self.help = true,
            _ => {}
        }
        Flow::Continue
    }

    /// Show new results, keeping the budget under the cursor, the focus and the bin kind.
    pub fn replace(&mut self, results: Results) {
        let budget = self.budget();
        self.data = Analysed::new(results);
        let budgets = &self.data.results.budgets;
        self.cursor = match budget.and_then(|b| budgets.iter().position(|x| *x == b)) {
            Some(i) => i,
            None => self.cursor.min(budgets.len().saturating_sub(1)),
        };
        self.status = None;
        self.reloads += 1;
    }

    /// Read the directory again. A failure keeps the results on screen and says why.
    pub fn reload(&mut self) {
        match Results::load(&self.dir) {
            Ok(r) => self.replace(r),
            Err(e) => self.status = Some(format!("reload failed: {}", for_display(&e, 200))),
        }
    }
}

/// Notices when a file changes: its length or its modification time.
#[derive(Debug, Clone)]
pub struct Watch {
    path: PathBuf,
    seen: Option<(u64, Option<SystemTime>)>,
}

impl Watch {
    /// Watch `path`, taking its present state as seen.
    pub fn new(path: &Path) -> Self {
        let mut w = Watch { path: path.to_path_buf(), seen: None };
        w.seen = w.stamp();
        w
    }

    fn stamp(&self) -> Option<(u64, Option<SystemTime>)> {
        std::fs::metadata(&self.path).ok().map(|m| (m.len(), m.modified().ok()))
    }

    /// Whether the file changed since the last call (or since [`Watch::new`]).
    pub fn changed(&mut self) -> bool {
        let now = self.stamp();
        let changed = now != self.seen;
        self.seen = now;
        changed
    }
}

//! The view's state and how keys change it. No terminal here: the loop feeds keys in, and the
//! render reads the state. Every number that depends on τ is computed from the state with
//! [`crate::lab::metrics`], so moving τ moves them all.

use std::path::{Path, PathBuf};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::data::Data;
use crate::lab::items::ItemRecord;
use crate::lab::metrics::{counts, first_below, Counts};
use crate::safe::for_display;

/// Whether the loop goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

/// Which items the list shows, by their human label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    All,
    /// Items with a wrong step (label ≠ −1).
    Erroneous,
    /// All-correct items (label = −1).
    Correct,
}

/// Everything the screen shows.
#[derive(Debug, Clone)]
pub struct State {
    pub dir: PathBuf,
    /// The directory as drawn (sanitized).
    pub shown_dir: String,
    pub data: Data,
    /// The threshold in hundredths (0–100), so that steps of 0.01 and 0.05 add up exactly.
    pub tau_cents: u32,
    pub kind: Kind,
    /// Only items whose prediction differs from the label.
    pub disagree: bool,
    /// The focused item: an index into `data.records`.
    pub focus: usize,
    /// How many items PgUp/PgDn move (the loop sets it from the screen's height).
    pub page: usize,
    pub help: bool,
}

impl State {
    pub fn new(dir: &Path, data: Data) -> Self {
        let tau = data.threshold.unwrap_or(0.5);
        State {
            dir: dir.to_path_buf(),
            shown_dir: for_display(&dir.display().to_string(), 80),
            tau_cents: (tau * 100.0).round().clamp(0.0, 100.0) as u32,
            data,
            kind: Kind::All,
            disagree: false,
            focus: 0,
            page: 10,
            help: false,
        }
    }

    /// The threshold τ.
    pub fn tau(&self) -> f64 {
        f64::from(self.tau_cents) / 100.0
    }

    /// The predicted first wrong step of item `i` at τ (`None`: the item has no score).
    pub fn predicted(&self, i: usize) -> Option<i64> {
        first_below(&self.data.records[i].scores, self.tau())
    }

    /// Whether item `i` is scored and predicted differently from its label at τ.
    pub fn disagrees(&self, i: usize) -> bool {
        self.predicted(i).is_some_and(|p| !crate::lab::metrics::hit(self.data.records[i].label, p))
    }

    /// The counts behind the metrics at τ, over every item (the filter does not change them).
    pub fn counts(&self) -> Counts {
        counts(&self.data.scored, self.tau())
    }

    /// The items the list shows, as indices into `data.records`.
    pub fn visible(&self) -> Vec<usize> {
        (0..self.data.records.len())
            .filter(|&i| {
                let label = self.data.records[i].label;
                let kind = match self.kind {
                    Kind::All => true,
                    Kind::Erroneous => label != -1,
                    Kind::Correct => label == -1,
                };
                kind && (!self.disagree || self.disagrees(i))
            })
            .collect()
    }

    /// The focused item, when the list shows it.
    pub fn focused(&self) -> Option<&ItemRecord> {
        self.visible().contains(&self.focus).then(|| &self.data.records[self.focus])
    }

    /// Move the focus `delta` rows along the visible list (clamped at its ends).
    fn step(&mut self, delta: isize) {
        let visible = self.visible();
        if visible.is_empty() {
            return;
        }
        let at = visible.iter().position(|&i| i == self.focus).unwrap_or(0);
        let to = at.saturating_add_signed(delta).min(visible.len() - 1);
        self.focus = visible[to];
    }

    /// After the filter or τ changed: keep the focused item when it is still listed, else the
    /// next listed one after it (or the last).
    fn refocus(&mut self) {
        let visible = self.visible();
        if visible.contains(&self.focus) {
            return;
        }
        if let Some(&i) = visible.iter().find(|&&i| i > self.focus).or(visible.last()) {
            self.focus = i;
        }
    }

    fn move_tau(&mut self, delta: i32) {
        self.tau_cents = self.tau_cents.saturating_add_signed(delta).min(100);
        self.refocus();
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
        let page = isize::try_from(self.page.max(1)).unwrap_or(10);
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => return Flow::Quit,
            KeyCode::Char('c') if ctrl => return Flow::Quit,
            KeyCode::Down | KeyCode::Char('j') => self.step(1),
            KeyCode::Up | KeyCode::Char('k') => self.step(-1),
            KeyCode::PageDown => self.step(page),
            KeyCode::PageUp => self.step(-page),
            KeyCode::Home => self.step(isize::MIN),
            KeyCode::End => self.step(isize::MAX),
            KeyCode::Right | KeyCode::Char(']') => self.move_tau(5),
            KeyCode::Left | KeyCode::Char('[') => self.move_tau(-5),
            KeyCode::Char('}') => self.move_tau(1),
            KeyCode::Char('{') => self.move_tau(-1),
            KeyCode::Char('d') => {
                self.disagree = !self.disagree;
                self.refocus();
            }
            KeyCode::Char('e') => {
                self.kind = if self.kind == Kind::Erroneous { Kind::All } else { Kind::Erroneous };
                self.refocus();
            }
            KeyCode::Char('c') => {
                self.kind = if self.kind == Kind::Correct { Kind::All } else { Kind::Correct };
                self.refocus();
            }
            KeyCode::Char('?') => self.help = true,
            _ => {}
        }
        Flow::Continue
    }

    /// The filter in words, empty when every item is listed.
    pub fn filter_words(&self) -> String {
        let mut parts = Vec::new();
        match self.kind {
            Kind::All => {}
            Kind::Erroneous => parts.push("erroneous"),
            Kind::Correct => parts.push("all-correct"),
        }
        if self.disagree {
            parts.push("disagreements");
        }
        parts.join(", ")
    }
}

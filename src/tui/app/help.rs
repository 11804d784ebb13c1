//! The key help over the view (`?` / F1): how far it is scrolled. The view lays the help out
//! and says how far it can scroll ([`App::help_fit`], after each frame); the keys here move
//! within that. While the help is open these keys scroll it and do nothing else; the others
//! go to the keymap as before (Esc, `?` and F1 close it, `q` quits).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Effect, Mode};

/// Where the help is scrolled to, and how far it can go as last drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HelpScroll {
    /// The first row shown.
    pub offset: usize,
    /// The largest offset (0 when everything fits), as last drawn.
    pub max: usize,
    /// Rows on screen, as last drawn.
    pub page: usize,
}

impl App {
    /// Open the help at its top.
    pub(super) fn open_help(&mut self) {
        self.mode = Mode::Help;
        self.help.offset = 0;
    }

    /// A key while the help is open: ↑/↓ `k`/`j` a row, PgUp/PgDn and Space a page, Home/End
    /// the ends. `None` for any other key (or when the help is not open): the keymap has it.
    pub fn help_key(&mut self, key: &KeyEvent) -> Option<Vec<Effect>> {
        if self.mode != Mode::Help || key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) {
            return None;
        }
        let h = &mut self.help;
        // A page keeps one row of the last one in view.
        let page = h.page.saturating_sub(1).max(1);
        let to = match key.code {
            KeyCode::Up | KeyCode::Char('k') => h.offset.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => h.offset.saturating_add(1),
            KeyCode::PageUp => h.offset.saturating_sub(page),
            KeyCode::PageDown | KeyCode::Char(' ') => h.offset.saturating_add(page),
            KeyCode::Home => 0,
            KeyCode::End => h.max,
            _ => return None,
        };
        h.offset = to.min(h.max);
        self.dirty = true;
        Some(vec![])
    }

    /// The help was drawn: it can scroll to `max`, with `page` rows on screen.
    pub fn help_fit(&mut self, max: usize, page: usize) {
        self.help.max = max;
        self.help.page = page;
        self.help.offset = self.help.offset.min(max);
    }
}

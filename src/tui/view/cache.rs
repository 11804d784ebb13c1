//! The view's cache of wrapped, highlighted step text, and the one text pipeline
//! (sanitise, LaTeX, highlight, wrap) that fills it.

use std::collections::HashMap;

use ratatui::text::Line;

use crate::event::NodeId;
use crate::tui::text::{latex_to_unicode, sanitize, wrap_line, Highlighter};
use crate::tui::theme::Theme;

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

    pub(super) fn highlighter(&mut self) -> &Highlighter {
        self.highlighter.get_or_insert_with(Highlighter::new)
    }

    /// The wrapped lines of a finished step; computed once per width.
    pub(super) fn step_lines(
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
pub(super) fn render_text(
    h: &Highlighter,
    text: &str,
    width: u16,
    latex: bool,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let clean = sanitize(text);
    let shown = if latex { latex_to_unicode(&clean) } else { clean.into_owned() };
    let lines = h.highlight(&shown, theme);
    let mut out = Vec::with_capacity(lines.len());
    for l in lines {
        wrap_line(l, width.max(1) as usize, &mut out);
    }
    out
}

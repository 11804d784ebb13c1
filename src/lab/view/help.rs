//! The keys: a footer line always on screen and a help overlay on `?`.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::Frame;

use crate::tui::keys_help;

/// Every key and what it does.
pub const KEYS: [(&str, &str); 10] = [
    ("↑/↓ j/k", "the previous / next item"),
    ("PgUp/PgDn", "a page of items up / down (Home/End: the first / last)"),
    ("←/→ [ ]", "τ down / up by 0.05"),
    ("{ }", "τ down / up by 0.01"),
    ("d", "only disagreements (predicted ≠ label) / every item"),
    ("e", "only erroneous items (a wrong step) / every item"),
    ("c", "only all-correct items / every item"),
    ("?", "this help (any key closes it)"),
    ("q Esc", "quit"),
    ("", "the metrics are over every item, whatever the filter"),
];

/// The footer: the keys in one line.
pub fn footer() -> Line<'static> {
    keys_help::footer(&[
        ("↑↓", "item"),
        ("←→/[]", "τ ±0.05"),
        ("{}", "±0.01"),
        ("d", "disagreements"),
        ("e/c", "erroneous/correct"),
        ("?", "help"),
        ("q", "quit"),
    ])
}

/// The help overlay, centred in `area`.
pub fn draw(frame: &mut Frame, area: Rect) {
    keys_help::draw(
        frame,
        area,
        &KEYS,
        10,
        &[
            "The predicted first wrong step is the first step scored below τ (a score",
            "equal to τ passes). ✓: predicted = the human label; ✗: they differ;",
            "?: the verifier scored no step of the item (left out of the metrics).",
        ],
        " ttc verifier view: keys ",
    );
}

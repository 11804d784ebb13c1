//! The keys: a footer line always on screen and a help overlay on `?`.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::Frame;

use crate::tui::keys_help;

/// Every key and what it does.
pub const KEYS: [(&str, &str); 9] = [
    ("←/→ h/l", "move the budget cursor"),
    ("Home/End", "smallest / largest budget"),
    ("Tab ↑/↓ j/k", "focus the next / previous panel"),
    ("1–6", "focus a panel (1 all problems, 2–6 bins 1–5)"),
    ("b", "switch oracle / model-predicted difficulty bins"),
    ("g", "all six panels in a grid / the focused one alone"),
    ("?", "this help (any key closes it)"),
    ("q Esc", "quit"),
    ("", "results.jsonl is re-read when it grows"),
];

/// The footer: the keys in one line.
pub fn footer() -> Line<'static> {
    keys_help::footer(&[
        ("←→", "budget"),
        ("Tab/1-6", "panel"),
        ("b", "bins"),
        ("g", "grid"),
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
        12,
        &[
            "Lines: compute-optimal (•, bold yellow) is the strategy chosen per bin and",
            "budget on one half of the problems, scored on the other; best-of-N is cyan.",
            "Efficiency ratio: the best-of-N budget that matches compute-optimal's",
            "accuracy, divided by the budget under the cursor.",
        ],
        " ttc bench view: keys ",
    );
}

//! Model output → safe, readable, coloured terminal lines: one door to sanitising
//! ([`crate::safe`]), LaTeX as Unicode ([`super::latex`]) and highlighting ([`super::highlight`]).

use ratatui::text::Span;

pub use super::highlight::{Carry, Highlighter};
pub use super::latex::latex_to_unicode;
pub use crate::safe::sanitize;

/// Display width of `line` in terminal cells (Unicode width; East Asian wide characters count 2).
pub fn wrap_width(line: &str) -> usize {
    Span::raw(line).width()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlighter_and_carry_can_move_to_worker_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Highlighter>();
        send_sync::<Carry>();
    }

    #[test]
    fn wrap_width_counts_cells() {
        assert_eq!(wrap_width("abc"), 3);
        assert_eq!(wrap_width("中文"), 4);
        assert_eq!(wrap_width("x²⁄√π"), 5);
        assert_eq!(wrap_width(""), 0);
    }
}

//! Model output → safe, readable, coloured terminal lines: one door to sanitising
//! ([`sanitize()`], from [`crate::safe`]), LaTeX as Unicode ([`latex_to_unicode`]),
//! highlighting ([`Highlighter`]) and wrapping ([`wrap_width`], [`wrap_line`]).

mod highlight;
mod latex;
mod sanitize;
mod wrap;

pub use highlight::{Carry, Highlighter};
pub use latex::latex_to_unicode;
pub use sanitize::{one_line, sanitize};
pub use wrap::{clip_width, wrap_line, wrap_plain, wrap_width};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlighter_and_carry_can_move_to_worker_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Highlighter>();
        send_sync::<Carry>();
    }
}

//! A panic in one candidate's work fails that candidate alone.
//!
//! Candidate work (generating, splitting, scoring one solution) runs inside [`guarded`]: a
//! panic there is caught and becomes an error message, so the strategy marks the candidate
//! failed and the others go on. While guarded work panics, the process's panic hook stays
//! silent (the message may quote model text, and stderr may be the TUI's screen); the
//! message that comes back is sanitized and clipped, never raw model text.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Once;
use std::task::{Context, Poll};

use futures::FutureExt;

/// Characters of a panic's own message kept in the error.
const MESSAGE_CHARS: usize = 120;

thread_local! {
    /// Guarded polls in progress on this thread.
    static GUARDED: Cell<u32> = const { Cell::new(0) };
    /// What the hook made of the last guarded panic on this thread.
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `fut`; a panic inside it comes back as `Err(message)` (sanitized and clipped).
pub async fn guarded<F: Future>(fut: F) -> Result<F::Output, String> {
    install_hook();
    match AssertUnwindSafe(Flagged(Box::pin(fut))).catch_unwind().await {
        Ok(v) => Ok(v),
        Err(payload) => {
            let seen = LAST.with(|l| l.borrow_mut().take());
            Err(seen.unwrap_or_else(|| describe(payload_text(payload.as_ref()), None)))
        }
    }
}

/// Polls the inner future with this thread marked as running guarded work.
struct Flagged<F>(Pin<Box<F>>);

impl<F: Future> Future for Flagged<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        struct Mark;
        impl Drop for Mark {
            fn drop(&mut self) {
                GUARDED.with(|g| g.set(g.get().saturating_sub(1)));
            }
        }
        GUARDED.with(|g| g.set(g.get() + 1));
        let _mark = Mark;
        self.0.as_mut().poll(cx)
    }
}

/// Installs (once) a hook that keeps guarded panics off stderr and hands every other panic
/// to the hook that was there before.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) == 0 {
                return previous(info);
            }
            let at = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
            let msg = describe(payload_text(info.payload()), at.as_deref());
            tracing::debug!("{msg}");
            LAST.with(|l| *l.borrow_mut() = Some(msg));
        }));
    });
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// The error shown for a panic: where, and its message made safe and short.
fn describe(message: &str, at: Option<&str>) -> String {
    let first = message.lines().next().unwrap_or("");
    let shown = crate::safe::for_display(first, MESSAGE_CHARS);
    match at {
        Some(at) => format!("internal error (a bug in ttc) at {at}: {shown}"),
        None => format!("internal error (a bug in ttc): {shown}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_a_safe_short_message() {
        let hostile = format!("\x1b]0;T\x07\x1b[2J{}", "model text ".repeat(100));
        let e = guarded(async move { panic!("{hostile}") }).await.unwrap_err();
        assert!(e.starts_with("internal error (a bug in ttc) at src/strategy/guard.rs:"), "{e}");
        assert!(!e.contains('\x1b') && !e.contains('\x07'), "{e:?}");
        assert!(e.chars().count() < 250, "clipped: {e}");
        assert_eq!(guarded(async { 7 }).await, Ok(7));
    }

    #[tokio::test]
    async fn the_guard_mark_is_cleared_after_a_panic() {
        let _ = guarded(async { panic!("x") }).await;
        assert_eq!(GUARDED.with(Cell::get), 0);
    }
}

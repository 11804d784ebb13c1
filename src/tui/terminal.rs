//! Owning the terminal: raw mode and the alternate screen on the way in, and
//! the terminal as it was on every way out (return, error, panic).

use std::io::Write;

use ratatui::backend::CrosstermBackend;
use ratatui::{DefaultTerminal, Terminal};

/// Restores the terminal when dropped.
pub struct TerminalGuard {
    pub terminal: DefaultTerminal,
}

impl TerminalGuard {
    /// Enter raw mode and the alternate screen, and install the panic hook.
    pub fn enter() -> std::io::Result<Self> {
        install_panic_hook();
        crossterm::terminal::enable_raw_mode()?;
        let mut out = std::io::stdout();
        if let Err(e) = crossterm::execute!(out, crossterm::terminal::EnterAlternateScreen) {
            restore();
            return Err(e);
        }
        match Terminal::new(CrosstermBackend::new(out)) {
            Ok(terminal) => Ok(Self { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }

    /// Draw one frame inside a synchronized update, so it never flickers.
    pub fn draw<F: FnOnce(&mut ratatui::Frame)>(&mut self, f: F) -> std::io::Result<()> {
        use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
        let mut out = std::io::stdout();
        let _ = crossterm::queue!(out, BeginSynchronizedUpdate);
        let r = self.terminal.draw(f).map(|_| ());
        let _ = crossterm::queue!(out, EndSynchronizedUpdate);
        let _ = out.flush();
        r
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Leave raw mode and the alternate screen; errors are ignored (best effort).
pub fn restore() {
    let _ = crossterm::terminal::disable_raw_mode();
    let _ = crossterm::execute!(
        std::io::stdout(),
        crossterm::terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// A panic on the UI thread restores the terminal before the message is
/// printed; a panic on a worker thread only fails that task, so it is logged.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let on_ui_thread = std::thread::current().name() == Some("main");
        if on_ui_thread {
            restore();
            previous(info);
        } else {
            // The payload may carry model text: keep escapes out of the log.
            let message = crate::safe::for_display(&info.to_string(), 2_000);
            tracing::error!("a task panicked: {message}");
        }
    }));
}

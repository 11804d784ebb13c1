//! The trace browser over the live view (`b`): the recorded traces, newest first; Enter
//! replays the chosen one as a run of this view ([`App::open_replay`]), q/Esc close it.
//! The listing and the reading happen in the runtime, off the UI loop.

use crossterm::event::KeyCode;

use super::{App, Effect, Mode};
use crate::trace::Trace;
use crate::tui::trace_list::{Browser, Flow};

impl App {
    /// `b`: ask the runtime for the list of traces.
    pub(super) fn browse_traces(&mut self) -> Vec<Effect> {
        self.message = Some("listing the recorded traces…".into());
        vec![Effect::ListTraces]
    }

    /// The list of traces arrived: show it, or say why there is none.
    pub fn on_traces(&mut self, listed: Result<Browser, String>) {
        self.dirty = true;
        match listed {
            Ok(b) if self.mode == Mode::Normal => {
                self.message = None;
                self.mode = Mode::TraceBrowser { browser: b };
            }
            Ok(_) => {}
            Err(e) => self.message = Some(e),
        }
    }

    /// A key in the trace browser.
    pub fn on_browser_key(&mut self, code: KeyCode) -> Vec<Effect> {
        let Mode::TraceBrowser { browser } = &mut self.mode else { return vec![] };
        self.dirty = true;
        match browser.on_key(code) {
            Flow::Stay => vec![],
            Flow::Quit => {
                self.mode = Mode::Normal;
                vec![]
            }
            Flow::Open(path) => {
                self.message = Some("opening the trace…".into());
                vec![Effect::OpenTrace(path)]
            }
        }
    }

    /// A trace chosen in the browser was read: replay it as a run of the view (the
    /// runtime keeps its run slot with [`Effect::Watch`]), or say why it cannot be.
    pub fn on_trace(&mut self, read: Result<Trace, String>) -> Vec<Effect> {
        self.dirty = true;
        match read {
            Ok(trace) => {
                self.open_replay(&trace, true);
                vec![Effect::Watch]
            }
            Err(e) => {
                let e = format!("cannot replay it: {e}");
                match &mut self.mode {
                    Mode::TraceBrowser { browser } => browser.note = Some(e),
                    _ => self.message = Some(e),
                }
                vec![]
            }
        }
    }
}

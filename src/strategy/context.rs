//! What a strategy runs with: the run's inputs and the sink its events go to.
//!
//! It lives beside the strategies, below the `run` module that starts them, so
//! strategies never import the module that picks them.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::budget::{Budget, BudgetTracker};
use crate::event::Event;
use crate::model::Generator;
use crate::problem::Problem;
use crate::spec::{NodeId, RunConfig, SolvePrompt};
use crate::verify::Verifier;

/// Sends events and stamps time; sending never blocks a strategy.
#[derive(Clone)]
pub struct EventSink {
    tx: mpsc::UnboundedSender<Event>,
    started: Instant,
    /// The last budget reported, and whether `RunFinished` was sent (for a run that stops
    /// on a bug, so it still ends properly).
    last: Arc<Mutex<(Budget, bool)>>,
}

impl EventSink {
    /// A sink and the receiver its events arrive on.
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx, started: Instant::now(), last: Arc::default() }, rx)
    }

    /// Send an event; a consumer that went away is not an error.
    pub fn emit(&self, e: Event) {
        match &e {
            Event::Budget(b) => self.last.lock().unwrap_or_else(|p| p.into_inner()).0 = b.clone(),
            Event::RunFinished { .. } => self.last.lock().unwrap_or_else(|p| p.into_inner()).1 = true,
            _ => {}
        }
        let _ = self.tx.send(e);
    }

    /// End a run that stopped without finishing (a bug): `RunFinished` with the last budget.
    pub(crate) fn finish_stopped(&self, why: &str) {
        let (budget, finished) = self.last.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if !finished {
            let budget = Budget { elapsed_ms: self.elapsed_ms(), ..budget };
            self.emit(Event::RunFinished {
                selected: None,
                correct: None,
                budget,
                error: Some(format!("the run stopped early: {why}")),
            });
        }
    }

    /// Resolves once every receiver of the sink's events is gone.
    pub(crate) async fn closed(&self) {
        self.tx.closed().await
    }

    /// Milliseconds since the run started.
    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }
}

/// What a strategy runs with.
pub struct RunContext {
    pub problem: Problem,
    pub config: RunConfig,
    pub generator: Arc<dyn Generator>,
    pub verifier: Arc<dyn Verifier>,
    pub prompt: SolvePrompt,
    pub sink: EventSink,
    pub cancel: CancellationToken,
    /// The first node id this strategy may use (strategies nested in another start later).
    pub first_node: NodeId,
    /// Spending carried over from an enclosing strategy.
    pub initial_budget: BudgetTracker,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_run_ends_once_with_its_last_budget() {
        let (sink, mut rx) = EventSink::channel();
        sink.emit(Event::Budget(Budget { policy_requests: 3, failed: 1, ..Budget::default() }));
        sink.finish_stopped("internal error (a bug in ttc): x");
        sink.finish_stopped("again");
        let _ = rx.try_recv();
        let Ok(Event::RunFinished { budget, error: Some(e), selected: None, .. }) = rx.try_recv() else {
            panic!("no RunFinished")
        };
        assert_eq!((budget.policy_requests, budget.failed), (3, 1));
        assert!(e.starts_with("the run stopped early: internal error"), "{e}");
        assert!(rx.try_recv().is_err(), "RunFinished is sent once");
    }
}

//! Starting a run: wiring a strategy to a generator, a verifier and an event channel.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::budget::Budget;
use crate::event::{Event, RunInfo};
use crate::model::{Generator, Message};
use crate::problem::Problem;
use crate::strategy::{adaptive, best_of_n, revise, search, Command, RunConfig, StrategyKind};
use crate::verify::Verifier;

/// The bundled solve prompt.
pub const SOLVE_PROMPT: &str = include_str!("../assets/prompts/solve.toml");

/// How the policy model is asked to solve a problem.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolvePrompt {
    #[serde(default)]
    pub system: String,
    pub user: String,
}

impl SolvePrompt {
    /// Parse a prompt file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, String> {
        let p: SolvePrompt = toml::from_str(text).map_err(|e| format!("{origin}: {}", e.message().trim()))?;
        if !p.user.contains("{problem}") {
            return Err(format!("{origin}: `user` must contain the {{problem}} placeholder"));
        }
        Ok(p)
    }

    /// The prompt that ships with ttc.
    pub fn bundled() -> Self {
        match Self::parse(SOLVE_PROMPT, "assets/prompts/solve.toml") {
            Ok(p) => p,
            Err(e) => unreachable!("the bundled solve prompt is valid: {e}"),
        }
    }

    /// The chat messages that ask for a solution of `problem`.
    pub fn messages(&self, problem: &Problem) -> Vec<Message> {
        let mut m = Vec::with_capacity(2);
        if !self.system.is_empty() {
            m.push(Message::system(self.system.clone()));
        }
        m.push(Message::user(fill(&self.user, &[("problem", &problem.text)])));
        m
    }
}

/// Fills the `{name}` placeholders of a prompt template in one pass: text put in is never
/// read again, so a problem or model text that itself says `{step}` stays as written.
/// Unknown placeholders stay as written too.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + values.iter().map(|v| v.1.len()).sum::<usize>());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let hit = values
            .iter()
            .find(|(name, _)| after.strip_prefix(name).is_some_and(|tail| tail.starts_with('}')));
        match hit {
            Some((name, value)) => {
                out.push_str(value);
                rest = &after[name.len() + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

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
    fn finish_stopped(&self, why: &str) {
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
    pub first_node: crate::event::NodeId,
    /// Spending carried over from an enclosing strategy.
    pub initial_budget: crate::budget::BudgetTracker,
}

/// A run in progress.
pub struct RunHandle {
    /// The run's events, ending with `RunFinished`.
    pub events: mpsc::UnboundedReceiver<Event>,
    /// Live changes for the strategy.
    pub commands: mpsc::UnboundedSender<Command>,
    /// Cancels the run and every request in it.
    pub cancel: CancellationToken,
    pub task: JoinHandle<()>,
}

/// Start a run on the current tokio runtime.
pub fn start(
    problem: Problem,
    config: RunConfig,
    generator: Arc<dyn Generator>,
    verifier: Arc<dyn Verifier>,
    prompt: SolvePrompt,
) -> RunHandle {
    let (sink, events) = EventSink::channel();
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    sink.emit(Event::RunStarted(RunInfo {
        problem: problem.clone(),
        config: config.clone(),
        generator: generator.info(),
        verifier: verifier.name(),
    }));
    let ctx = RunContext {
        problem,
        config,
        generator,
        verifier,
        prompt,
        sink,
        cancel: cancel.clone(),
        first_node: 0,
        initial_budget: Default::default(),
    };
    let task = tokio::spawn(async move {
        let load = forward_load(&ctx);
        let sink = ctx.sink.clone();
        let strategy = async move {
            match ctx.config.strategy {
                StrategyKind::BestOfN => best_of_n::run(ctx, cmd_rx).await,
                StrategyKind::Beam | StrategyKind::Lookahead | StrategyKind::Dvts => {
                    search::run(ctx, cmd_rx).await
                }
                StrategyKind::Revise => revise::run(ctx, cmd_rx).await,
                StrategyKind::Adaptive => adaptive::run(ctx, cmd_rx).await,
            }
        };
        // Candidates catch their own panics; this catches one in the strategy itself.
        match crate::strategy::guard::guarded(strategy).await {
            Err(msg) => sink.finish_stopped(&msg),
            Ok(()) => sink.finish_stopped("the strategy ended without a result (a bug in ttc)"),
        }
        drop(sink);
        // With the forwarder gone every sender is dropped, so consumers see the end.
        if let Some(load) = load {
            load.abort();
        }
    });
    RunHandle { events, commands: cmd_tx, cancel, task }
}

/// Report the backend's queue as `Load` events until the run ends.
fn forward_load(ctx: &RunContext) -> Option<JoinHandle<()>> {
    let mut rx = ctx.generator.load()?;
    let sink = ctx.sink.clone();
    Some(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = sink.tx.closed() => return,
                changed = rx.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let l = *rx.borrow_and_update();
                    sink.emit(Event::Load { running: l.running, queued: l.queued, limit: l.limit });
                }
            }
        }
    }))
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

    #[test]
    fn fill_reads_placeholders_once() {
        assert_eq!(fill("{a}-{b}-{c}", &[("a", "{b}"), ("b", "{a}")]), "{b}-{a}-{c}");
        assert_eq!(fill("{{a}} {", &[("a", "×")]), "{×} {");
    }
}

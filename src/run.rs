//! Starting a run: wiring a strategy to a generator, a verifier and an event channel.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::budget::BudgetTracker;
use crate::event::{Event, RunInfo};
use crate::model::Generator;
use crate::problem::Problem;
use crate::spec::{Command, NodeId, RunConfig, StrategyKind};
use crate::strategy::{adaptive, best_of_n, consistency, particles, revise, search};
use crate::verify::Verifier;

pub use crate::spec::{fill, SolvePrompt, SOLVE_PROMPT};
pub use crate::strategy::context::{EventSink, RunContext};

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
    let cancel = CancellationToken::new();
    sink.emit(Event::RunStarted(RunInfo {
        problem: problem.clone(),
        config: config.clone(),
        generator: generator.info(),
        verifier: verifier.name(),
    }));
    let from = Continuation { first_node: 0, budget: Default::default(), cancel };
    spawn(RunContext::new(problem, config, generator, verifier, prompt, sink, from), events)
}

/// Where more work on a run already under way starts: the next free node id and what the
/// run has spent so far (see [`continue_best_of_n`]).
pub struct Continuation {
    pub first_node: NodeId,
    pub budget: BudgetTracker,
    pub cancel: CancellationToken,
}

/// `config.n` more best-of-N candidates for a run that has finished its own: numbered on
/// from `from.first_node`, spending on from `from.budget`, and without a `RunStarted`, so
/// their events fold into the same run tree.
pub fn continue_best_of_n(
    problem: Problem,
    mut config: RunConfig,
    generator: Arc<dyn Generator>,
    verifier: Arc<dyn Verifier>,
    prompt: SolvePrompt,
    from: Continuation,
) -> RunHandle {
    let (sink, events) = EventSink::channel();
    config.strategy = StrategyKind::BestOfN;
    spawn(RunContext::new(problem, config, generator, verifier, prompt, sink, from), events)
}

/// Run the strategy `ctx.config` names on its own task, with the backend's load reported
/// while it works; the run always ends with `RunFinished`, even when the strategy panics.
fn spawn(ctx: RunContext, events: mpsc::UnboundedReceiver<Event>) -> RunHandle {
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let cancel = ctx.cancel.clone();
    let task = tokio::spawn(async move {
        let load = forward_load(&ctx);
        let hosts = forward_hosts(&ctx);
        let sink = ctx.sink.clone();
        let strategy = async move {
            match ctx.config.strategy {
                StrategyKind::BestOfN => best_of_n::run(ctx, cmd_rx).await,
                StrategyKind::Beam | StrategyKind::Lookahead | StrategyKind::Dvts => {
                    search::run(ctx, cmd_rx).await
                }
                StrategyKind::Revise => revise::run(ctx, cmd_rx).await,
                StrategyKind::Adaptive => adaptive::run(ctx, cmd_rx).await,
                StrategyKind::Consistency => consistency::run(ctx, cmd_rx).await,
                StrategyKind::Particles => particles::run(ctx, cmd_rx).await,
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
        if let Some(hosts) = hosts {
            hosts.abort();
        }
    });
    RunHandle { events, commands: cmd_tx, cancel, task }
}

impl RunContext {
    /// A strategy's context: the run's parts, its event sink, and where it starts.
    fn new(
        problem: Problem,
        config: RunConfig,
        generator: Arc<dyn Generator>,
        verifier: Arc<dyn Verifier>,
        prompt: SolvePrompt,
        sink: EventSink,
        from: Continuation,
    ) -> Self {
        Self {
            problem,
            config,
            generator,
            verifier,
            prompt,
            sink,
            cancel: from.cancel,
            first_node: from.first_node,
            initial_budget: from.budget,
        }
    }
}

/// Report a pool's hosts as `Hosts` events until the run ends (the first state at once).
fn forward_hosts(ctx: &RunContext) -> Option<JoinHandle<()>> {
    let rx = ctx.generator.hosts()?;
    Some(forward(rx, ctx.sink.clone(), true, |hosts| Event::Hosts { hosts: hosts.clone() }))
}

/// Report the backend's queue as `Load` events until the run ends.
fn forward_load(ctx: &RunContext) -> Option<JoinHandle<()>> {
    let rx = ctx.generator.load()?;
    Some(forward(rx, ctx.sink.clone(), false, |l| Event::Load {
        running: l.running,
        queued: l.queued,
        limit: l.limit,
    }))
}

/// Emit `event(state)` for each change of `rx` (and for its state now when `now`) until the
/// sink closes or the sender goes.
fn forward<T: Send + Sync + 'static>(
    mut rx: tokio::sync::watch::Receiver<T>,
    sink: EventSink,
    now: bool,
    event: impl Fn(&T) -> Event + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        if now {
            let e = event(&rx.borrow_and_update());
            sink.emit(e);
        }
        loop {
            tokio::select! {
                _ = sink.closed() => return,
                changed = rx.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let e = event(&rx.borrow_and_update());
                    sink.emit(e);
                }
            }
        }
    })
}

//! What the scripted tests of tree search and particle filtering share: a generator and a
//! verifier reading `v<value>` marks, a verifier that sends live commands, and a run to its end.

use std::sync::{Arc, Mutex};

use crate::event::Event;
use crate::problem::Problem;
use crate::run::{start, SolvePrompt};
use crate::scripted::{ScriptInput, ScriptedGenerator, ScriptedVerifier};
use crate::strategy::{Command, RunConfig};
use crate::tree::RunTree;
use crate::verify::Verifier;

/// A generator writing `f(seed, prefix)`.
pub(super) fn gen(f: impl Fn(i64, &[String]) -> String + Send + Sync + 'static) -> Arc<ScriptedGenerator> {
    Arc::new(ScriptedGenerator::new(move |i: &ScriptInput| f(i.seed, &i.prefix)))
}

/// The `v<value>` a step carries, as value/100; a step without one is left unscored.
pub(super) fn value(step: &str) -> Option<f64> {
    let v = step.split_whitespace().find_map(|w| w.strip_prefix('v'))?;
    Some(v.trim_end_matches('.').parse::<f64>().ok()? / 100.0)
}

pub(super) fn value_verifier() -> Arc<ScriptedVerifier> {
    Arc::new(ScriptedVerifier::new(|path: &[String]| value(path.last()?)))
}

/// Where a verifier finds the run's command sender once the run has started.
pub(super) type Holder = Arc<Mutex<Option<tokio::sync::mpsc::UnboundedSender<Command>>>>;

/// A verifier that sends `commands` while it scores the first round, then scores like
/// [`value_verifier`].
pub(super) fn commanding_verifier(commands: Vec<Command>) -> (Arc<ScriptedVerifier>, Holder) {
    let holder: Holder = Arc::new(Mutex::new(None));
    let sender = holder.clone();
    let ver = ScriptedVerifier::new(move |path: &[String]| {
        if let Some(tx) = sender.lock().unwrap().take() {
            for c in &commands {
                let _ = tx.send(c.clone());
            }
        }
        value(path.last()?)
    });
    (Arc::new(ver), holder)
}

pub(super) async fn run_with(
    cfg: RunConfig,
    gen: Arc<ScriptedGenerator>,
    ver: Arc<dyn Verifier>,
    holder: Option<Holder>,
) -> (Vec<Event>, RunTree) {
    let mut h = start(Problem::inline("Count.", Some("1".into())), cfg, gen, ver, SolvePrompt::bundled());
    if let Some(holder) = holder {
        *holder.lock().unwrap() = Some(h.commands.clone());
    }
    let mut events = Vec::new();
    let mut tree = RunTree::new();
    while let Some(e) = h.events.recv().await {
        tree.apply(&e);
        events.push(e);
    }
    (events, tree)
}

//! Placeholder while the strategy is written.
use tokio::sync::mpsc;

use super::Command;
use crate::run::RunContext;

/// Run the strategy.
pub async fn run(ctx: RunContext, commands: mpsc::UnboundedReceiver<Command>) {
    super::best_of_n::run(ctx, commands).await
}

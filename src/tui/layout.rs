//! Pure geometry and derivations of a run that both the state and the views need:
//! which body a run uses, the search tree's rows, the surviving beams, the revision
//! chains and how panes page. No drawing here, and no imports from the app or the views.

use std::collections::BTreeMap;

use crate::event::NodeId;
use crate::strategy::StrategyKind;
use crate::tree::{NodeStatus, NodeView, RunTree};

/// Narrowest readable pane.
pub const MIN_PANE_WIDTH: u16 = 34;
/// Narrowest chain column.
pub const MIN_CHAIN_WIDTH: u16 = 26;
/// The smallest terminal the view draws in.
pub const MIN_SIZE: (u16, u16) = (60, 16);
/// Rows beyond this depth share the last row (guards against absurd depths in replays).
pub const MAX_ROWS: u32 = 4096;

/// What fills the body for a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// Candidates side by side (best-of-N).
    Panes,
    /// The search tree above the surviving beams (beam, lookahead, DVTS).
    Tree,
    /// Revision chains side by side (sequential revisions).
    Revise,
}

/// The strategy that produces a run's nodes: an adaptive run's choice once it is known.
pub fn effective_strategy(tree: &RunTree) -> Option<StrategyKind> {
    let kind = tree.info.as_ref()?.config.strategy;
    if kind != StrategyKind::Adaptive {
        return Some(kind);
    }
    Some(tree.difficulty.as_ref()?.strategy)
}

/// Which view the body of a run uses.
pub fn body_of(tree: &RunTree) -> Body {
    match effective_strategy(tree) {
        Some(k) if k.stepwise() => Body::Tree,
        Some(StrategyKind::Revise) => Body::Revise,
        _ => Body::Panes,
    }
}

/// Node ids by depth, each row ordered by (parent's place in the row above, rank, id).
pub fn tree_rows(tree: &RunTree) -> Vec<Vec<NodeId>> {
    let nodes = &tree.nodes;
    let Some(deepest) = nodes.iter().map(|n| n.depth.min(MAX_ROWS)).max() else {
        return Vec::new();
    };
    let mut rows: Vec<Vec<NodeId>> = vec![Vec::new(); deepest as usize + 1];
    for n in nodes {
        rows[n.depth.min(MAX_ROWS) as usize].push(n.node);
    }
    let mut place = vec![u32::MAX; nodes.len()];
    let mut keyed: Vec<(u32, u32, NodeId)> = Vec::new();
    for row in &mut rows {
        // Keys computed once per node, then one plain sort: this runs every frame.
        keyed.clear();
        keyed.extend(row.iter().map(|&id| {
            let n = &nodes[id as usize];
            let parent = n.parent.map_or(0, |p| place.get(p as usize).copied().unwrap_or(u32::MAX));
            (parent, n.rank.unwrap_or(u32::MAX), id)
        }));
        keyed.sort_unstable();
        for (i, (slot, &(_, _, id))) in row.iter_mut().zip(&keyed).enumerate() {
            *slot = id;
            place[id as usize] = i as u32;
        }
    }
    rows
}

/// The paths still in play, for the panes: live nodes at the deepest depth
/// (kept, streaming, queued or failed there), best rank first, then every finished path.
pub fn surviving(tree: &RunTree) -> Vec<NodeId> {
    let Some(deepest) = tree.nodes.iter().map(|n| n.depth).max() else {
        return Vec::new();
    };
    let live = |n: &&NodeView| {
        n.depth == deepest
            && matches!(
                n.status,
                NodeStatus::Kept | NodeStatus::Streaming | NodeStatus::Queued | NodeStatus::Failed
            )
    };
    let mut out: Vec<&NodeView> = tree.nodes.iter().filter(live).collect();
    out.sort_by_key(|n| (n.rank.unwrap_or(u32::MAX), n.node));
    let mut ids: Vec<NodeId> = out.into_iter().map(|n| n.node).collect();
    ids.extend(tree.nodes.iter().filter(|n| n.status == NodeStatus::Done).map(|n| n.node));
    if ids.is_empty() {
        // Nothing survived (everything pruned or cancelled): show the last row as it ended.
        ids.extend(tree.nodes.iter().filter(|n| n.depth == deepest).map(|n| n.node));
    }
    ids
}

/// The round in progress (or the last one) and the depth limit, 1-based, for the header.
pub fn round_progress(tree: &RunTree) -> Option<(u32, u32)> {
    let info = tree.info.as_ref()?;
    let rounds = tree.nodes.iter().map(|n| n.depth + 1).max().unwrap_or(0).max(tree.round.unwrap_or(0));
    // A live depth change is announced as "max depth = D from depth K".
    let limit = tree
        .applied
        .iter()
        .rev()
        .find_map(|c| c.strip_prefix("max depth = ")?.split_whitespace().next()?.parse().ok())
        .unwrap_or(info.config.max_depth);
    Some((rounds, limit))
}

/// Every chain with its revision nodes, both in order.
pub fn chains(tree: &RunTree) -> Vec<(u32, Vec<NodeId>)> {
    let mut by_chain: BTreeMap<u32, Vec<(u32, NodeId)>> = BTreeMap::new();
    for n in &tree.nodes {
        if let Some(c) = n.chain {
            by_chain.entry(c).or_default().push((n.revision.unwrap_or(0), n.node));
        }
    }
    by_chain
        .into_iter()
        .map(|(c, mut revs)| {
            revs.sort_unstable();
            (c, revs.into_iter().map(|(_, id)| id).collect())
        })
        .collect()
}

/// Where a node sits: (chain index, revision index) within [`chains`].
pub fn locate(chains: &[(u32, Vec<NodeId>)], node: NodeId) -> Option<(usize, usize)> {
    chains
        .iter()
        .enumerate()
        .find_map(|(ci, (_, revs))| revs.iter().position(|&r| r == node).map(|ri| (ci, ri)))
}

/// The node shown as focused when none was picked: the latest revision of the first chain.
pub fn default_focus(chains: &[(u32, Vec<NodeId>)]) -> Option<NodeId> {
    chains.first().and_then(|(_, revs)| revs.last().copied())
}

/// How many of `len` columns at least `min_width` wide fit side by side in `width` (at least one).
pub fn columns(width: u16, min_width: u16, len: usize) -> usize {
    ((width / min_width).max(1) as usize).min(len)
}

/// The page of `len` items, `cols` to a page, that holds item `focus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Which page, from 0.
    pub index: usize,
    /// How many pages in all.
    pub count: usize,
    /// The first item on the page.
    pub first: usize,
    /// How many items the page shows.
    pub shown: usize,
}

impl Page {
    /// The page holding `focus` (`focus < len`, `0 < cols`).
    pub fn holding(focus: usize, len: usize, cols: usize) -> Self {
        let index = focus / cols;
        let first = index * cols;
        Page { index, count: len.div_ceil(cols), first, shown: cols.min(len - first) }
    }
}

/// Whether node `id` was sent to the server and has not had a word back: a streaming node
/// with no token yet, or one of the first queued nodes the client has admitted (the
/// client's running requests beyond the nodes already streaming; requests are admitted in
/// order). A server that runs one request at a time keeps such nodes waiting.
pub fn waits_for_server(tree: &RunTree, id: NodeId) -> bool {
    waiting_for_server(tree).contains(&id)
}

/// Every node [`waits_for_server`] is true of, in one pass over the run (for a frame or an
/// event, rather than a pass per node).
pub fn waiting_for_server(tree: &RunTree) -> Vec<NodeId> {
    let streaming = tree.nodes.iter().filter(|n| n.status == NodeStatus::Streaming);
    let mut out: Vec<NodeId> = streaming.clone().filter(|n| n.tokens == 0).map(|n| n.node).collect();
    if !tree.finished {
        let sent = tree.load.running.saturating_sub(streaming.count());
        let queued = tree.nodes.iter().filter(|n| n.status == NodeStatus::Queued);
        out.extend(queued.take(sent).map(|n| n.node));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_hold_the_focus() {
        assert_eq!(Page::holding(0, 5, 2), Page { index: 0, count: 3, first: 0, shown: 2 });
        assert_eq!(Page::holding(4, 5, 2), Page { index: 2, count: 3, first: 4, shown: 1 });
        assert_eq!(columns(100, MIN_PANE_WIDTH, 8), 2);
        assert_eq!(columns(10, MIN_PANE_WIDTH, 8), 1);
        assert_eq!(columns(400, MIN_PANE_WIDTH, 3), 3);
    }
}

//! The particle population of a particle-filtering run: one row per particle with its weight
//! bar, its line (the first-round particle it descends from) and what the latest resampling
//! did to it, so a strong particle copied over a weak one reads as `#12 ✗ ⇐ #7` (about to
//! be replaced) and then `#20 ← #7 over #12` (its copy, one step further). The ESS, the
//! weight temperature and the resampling threshold sit in the title.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use crate::event::NodeId;
use crate::tree::{NodeStatus, ParticlesView, RunTree};
use crate::tui::app::{App, RunView};
use crate::tui::text::{one_line, sanitize};
use crate::tui::theme::Theme;

/// Columns of the weight bar.
const BAR: usize = 16;

/// What the latest resampling did to a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Nothing: the particle kept its slot (or no resampling yet).
    Kept,
    /// Resampling just dropped this particle; a copy of `from` takes its slot next round.
    Replaced { from: NodeId },
    /// This particle continues a copy of `from` that took the slot of `over`.
    CopyOf { from: NodeId, over: Option<NodeId> },
    /// Resampling made `k` extra copies of this particle.
    Copied { k: usize },
}

/// The particle's line: the first-round particle it descends from (following parents up to
/// the first node of the run, a fork's first node, or a node with no known parent).
pub fn line_of(tree: &RunTree, node: NodeId) -> NodeId {
    let mut n = node;
    // Bounded: parents point to earlier nodes, but a hostile trace may loop.
    for _ in 0..tree.nodes.len() {
        match tree.nodes.get(n as usize).and_then(|v| v.parent) {
            Some(p) if p < n => n = p,
            _ => break,
        }
    }
    n
}

/// What the latest resampling did to the particle in `slot`.
pub fn mark(p: &ParticlesView, slot: usize) -> Mark {
    let Some(&(node, _)) = p.weights.get(slot) else { return Mark::Kept };
    let now = p.copies.iter().filter(|(r, _)| *r == p.round);
    if let Some((_, c)) = now.clone().find(|(_, c)| c.over == Some(node)) {
        return Mark::Replaced { from: c.from };
    }
    let k = now.filter(|(_, c)| c.from == node).count();
    if k > 0 {
        return Mark::Copied { k };
    }
    // The slot's particle of the round before, and the copies made after that round.
    let before = p.copies.iter().filter(|(r, _)| p.round > 0 && *r == p.round - 1);
    if let Some(&(prev, _)) = p.previous.get(slot) {
        if let Some((_, c)) = before.clone().find(|(_, c)| c.over == Some(prev)) {
            return Mark::CopyOf { from: c.from, over: c.over };
        }
    }
    if let Some((_, c)) = before.clone().find(|(_, c)| c.copy == Some(node)) {
        return Mark::CopyOf { from: c.from, over: c.over };
    }
    if slot >= p.previous.len() && !p.previous.is_empty() {
        if let Some((_, c)) = before.clone().filter(|(_, c)| c.over.is_none()).nth(slot - p.previous.len()) {
            return Mark::CopyOf { from: c.from, over: None };
        }
    }
    Mark::Kept
}

/// "every step", "never" or "when ESS < 0.5·N".
fn rule(threshold: f64) -> String {
    if threshold >= 1.0 {
        "every step".into()
    } else if threshold <= 0.0 {
        "never".into()
    } else {
        format!("when ESS < {threshold}·N")
    }
}

fn bar(w: f64, max: f64) -> (String, String) {
    let filled = if max > 0.0 { ((w / max) * BAR as f64).round() as usize } else { 0 }.min(BAR);
    ("█".repeat(filled), "░".repeat(BAR - filled))
}

/// One row of the population.
fn row(
    tree: &RunTree,
    p: &ParticlesView,
    slot: usize,
    max: f64,
    focused: Option<NodeId>,
    t: &Theme,
) -> Line<'static> {
    let (node, w) = p.weights[slot];
    let view = tree.nodes.get(node as usize);
    let dim = Style::default().fg(t.dim);
    let score = view.and_then(|n| n.score.or_else(|| n.score_with(crate::verify::Aggregation::Last)));
    let m = mark(p, slot);
    let replaced = matches!(m, Mark::Replaced { .. });
    let (full, empty) = bar(w, max);
    let col = Style::default().fg(t.score_color(score));
    let mut spans = vec![
        Span::styled(if focused == Some(node) { "▸" } else { " " }, Style::default().fg(t.accent)),
        Span::styled(
            format!("#{node:<4}"),
            Style::default().fg(t.fg).add_modifier(if replaced { Modifier::DIM } else { Modifier::BOLD }),
        ),
        Span::styled(full, if replaced { col.add_modifier(Modifier::DIM) } else { col }),
        Span::styled(empty, dim),
        Span::styled(format!(" {w:.3}"), Style::default().fg(t.fg)),
        Span::styled(score.map_or(" s –   ".to_string(), |s| format!(" s {s:.2}")), col),
        Span::styled(format!("  line #{:<4}", line_of(tree, node)), dim),
    ];
    let (text, style) = match m {
        Mark::Kept => (String::new(), dim),
        Mark::Replaced { from } => {
            (format!("✗ ⇐ #{from}"), Style::default().fg(t.status_pruned).add_modifier(Modifier::BOLD))
        }
        Mark::CopyOf { from, over: Some(o) } => {
            (format!("← #{from} over #{o}"), Style::default().fg(t.accent).add_modifier(Modifier::BOLD))
        }
        Mark::CopyOf { from, over: None } => {
            (format!("← #{from} (new)"), Style::default().fg(t.accent).add_modifier(Modifier::BOLD))
        }
        Mark::Copied { k } => {
            (format!("×{} copies", k + 1), Style::default().fg(t.ok).add_modifier(Modifier::BOLD))
        }
    };
    // One column wide enough for "← #1234 over #1234".
    spans.push(Span::styled(format!(" {text:<19}"), style));
    if let Some(n) = view {
        match n.status {
            NodeStatus::Done | NodeStatus::Pruned if n.answer.is_some() || n.done_reason.is_some() => {
                let a = n.answer.as_deref().map_or("no answer".to_string(), |a| one_line(&sanitize(a), 14));
                spans.push(Span::styled(format!("  finished → {a}"), Style::default().fg(t.fg)));
                match n.correct {
                    Some(true) => spans.push(Span::styled(" ✓", Style::default().fg(t.ok))),
                    Some(false) => spans.push(Span::styled(" ✗", Style::default().fg(t.bad))),
                    None => {}
                }
            }
            NodeStatus::Failed => spans.push(Span::styled("  failed", Style::default().fg(t.status_failed))),
            NodeStatus::Cancelled => spans.push(Span::styled("  cancelled", dim)),
            _ => spans.push(Span::styled(format!("  open · step {}", n.depth + 1), dim)),
        }
    }
    Line::from(spans)
}

/// The title: round, ESS of N, the weight temperature and when resampling happens.
pub fn title(p: &ParticlesView, temp: f64, threshold: f64) -> String {
    format!(
        " particles · round {} · ESS {:.2} of {} · weights T {} · resample {} · resampled {}× ",
        p.round,
        p.ess,
        p.weights.len(),
        temp,
        rule(threshold),
        p.resamplings
    )
}

/// Draw the population of `run` in `area`, with `focused` (the node the panes show) marked.
pub(super) fn draw_particles(f: &mut Frame, area: Rect, app: &App, run: &RunView, focused: Option<NodeId>) {
    let t = &app.theme;
    let knobs = app.knobs.config.particles;
    let block = Block::default().borders(Borders::ALL).border_style(Style::default().fg(t.border));
    let Some(p) = run.tree.particles.as_ref().filter(|p| !p.weights.is_empty()) else {
        let block = block.title(" particles · the first step is being written ");
        f.render_widget(Paragraph::new("").block(block), area);
        return;
    };
    let block = block.title(Span::styled(
        title(p, knobs.temp, knobs.ess_threshold),
        Style::default().fg(t.fg).add_modifier(Modifier::BOLD),
    ));
    let inner_rows = area.height.saturating_sub(2) as usize;
    let max = p.weights.iter().map(|w| w.1).fold(0.0, f64::max);
    // Scroll so the focused particle is in view.
    let at = focused.and_then(|n| p.weights.iter().position(|w| w.0 == n)).unwrap_or(0);
    let start = if inner_rows == 0 { 0 } else { (at + 1).saturating_sub(inner_rows) };
    let mut lines: Vec<Line> = (start..p.weights.len())
        .take(inner_rows)
        .map(|slot| row(&run.tree, p, slot, max, focused, t))
        .collect();
    let hidden = p.weights.len().saturating_sub(start + lines.len());
    if hidden > 0 && !lines.is_empty() {
        lines.pop();
        lines.push(Line::from(Span::styled(
            format!("  +{} more particles", hidden + 1),
            Style::default().fg(t.dim),
        )));
    }
    f.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, ParticleCopy};

    fn started(tree: &mut RunTree, node: NodeId, parent: Option<NodeId>) {
        tree.apply(&Event::NodeStarted { node, parent, seed: None, depth: 0, chain: None, revision: None });
    }

    #[test]
    fn a_copy_over_a_weak_particle_is_marked_then_followed() {
        let mut tree = RunTree::new();
        for n in 0..4 {
            started(&mut tree, n, None);
        }
        tree.apply(&Event::Weights {
            round: 1,
            weights: vec![(0, 0.7), (1, 0.1), (2, 0.1), (3, 0.1)],
            ess: 1.9,
        });
        tree.apply(&Event::Resampled {
            round: 1,
            copies: vec![ParticleCopy { from: 0, over: Some(1), copy: None }],
        });
        let p = tree.particles.clone().unwrap();
        assert_eq!(mark(&p, 1), Mark::Replaced { from: 0 });
        assert_eq!(mark(&p, 0), Mark::Copied { k: 1 });
        assert_eq!(mark(&p, 2), Mark::Kept);
        // The next round: slot 1 holds #5, the copy of #0 one step further.
        for (n, parent) in [(4, 0), (5, 0), (6, 2), (7, 3)] {
            started(&mut tree, n, Some(parent));
        }
        tree.apply(&Event::Weights {
            round: 2,
            weights: vec![(4, 0.4), (5, 0.4), (6, 0.1), (7, 0.1)],
            ess: 2.9,
        });
        let p = tree.particles.clone().unwrap();
        assert_eq!(mark(&p, 1), Mark::CopyOf { from: 0, over: Some(1) });
        assert_eq!(mark(&p, 0), Mark::Kept);
        assert_eq!((line_of(&tree, 5), line_of(&tree, 6)), (0, 2));
        let s = title(&p, 0.5, 0.5);
        assert!(s.contains("ESS 2.90 of 4") && s.contains("T 0.5") && s.contains("when ESS < 0.5·N"), "{s}");
        assert!(title(&p, 1.0, 1.0).contains("resample every step"));
    }

    #[test]
    fn a_hostile_parent_loop_ends() {
        let mut tree = RunTree::new();
        started(&mut tree, 0, Some(1));
        started(&mut tree, 1, Some(0));
        assert_eq!(line_of(&tree, 1), 0);
        assert_eq!(line_of(&tree, 0), 0);
        assert_eq!(line_of(&tree, 99), 99);
    }
}

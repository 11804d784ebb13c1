//! The header of the view: where models run, the knobs, the budget and the problem.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::safe::redact;
use crate::tui::app::App;
use crate::tui::layout::{body_of, round_progress, Body};
use crate::tui::text::{one_line, sanitize};
use crate::tui::theme::Theme;

fn kv<'a>(t: &Theme, k: &'a str, v: String) -> Vec<Span<'a>> {
    vec![Span::styled(k, Style::default().fg(t.dim)), Span::styled(v, Style::default().fg(t.fg))]
}

/// The header: backend, model, run state, knobs, budget and the problem.
pub(super) fn draw_header(f: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let c = &app.knobs.config;
    let bar = Style::default().bg(t.header_bg).fg(t.fg);
    let run_label = if app.runs.is_empty() {
        "no run yet".to_string()
    } else {
        format!("run {}/{}", app.current + 1, app.runs.len())
    };
    // A replay names its trace where a live run names its backend.
    let backend = match app.replay() {
        Some(r) => format!("replay of {}", r.name),
        None => app.backend.clone(),
    };
    let model = app.run().map(|r| r.model.clone()).or(app.model.clone()).unwrap_or_else(|| "no model".into());
    let mut l1 = vec![
        Span::styled(" ttc ", Style::default().fg(t.bg).bg(t.accent).add_modifier(Modifier::BOLD)),
        // The host may carry credentials (`http://user:pw@host`): never on screen.
        Span::styled(format!(" {} ", one_line(&sanitize(&redact(&backend)), 80)), bar),
        Span::styled(format!(" {} ", one_line(&sanitize(&model), 60)), bar.add_modifier(Modifier::BOLD)),
        Span::styled(format!(" {run_label} "), bar.fg(t.dim)),
    ];
    if let Some(r) = app.run() {
        let state = if r.paused {
            Span::styled(" PAUSED ", Style::default().fg(t.bg).bg(t.warn))
        } else if !r.tree.finished {
            Span::styled(" running ", bar.fg(t.status_streaming))
        } else if r.tree.error.is_some() {
            Span::styled(" ended with an error ", bar.fg(t.bad))
        } else {
            Span::styled(" finished ", bar.fg(t.status_done))
        };
        l1.push(state);
        match body_of(&r.tree) {
            Body::Tree => {
                if let Some((round, limit)) = round_progress(&r.tree) {
                    l1.push(Span::styled(
                        format!(" round {round}/{limit} "),
                        bar.add_modifier(Modifier::BOLD),
                    ));
                }
            }
            Body::Revise => {
                let rev = r.tree.nodes.iter().filter_map(|n| n.revision).max().map_or(0, |x| x + 1);
                let of = r.tree.info.as_ref().map(|i| i.config.revisions).unwrap_or_default();
                l1.push(Span::styled(format!(" revision {rev}/{of} "), bar.add_modifier(Modifier::BOLD)));
            }
            Body::Panes => l1.extend(super::consistency::header_span(&r.tree, t, bar)),
        }
        if let Some(p) = &r.tree.particles {
            l1.push(Span::styled(
                format!(" ESS {:.1}/{} ", p.ess, p.weights.len()),
                bar.add_modifier(Modifier::BOLD),
            ));
        }
        if let Some(change) = r.tree.applied.last() {
            l1.push(Span::styled(format!(" applied: {} ", one_line(change, 60)), bar.fg(t.accent)));
        }
    }
    // Strategy and verifier are the run's own; the knobs show what the user set (live or pending).
    let run_cfg = app.run().and_then(|r| r.tree.info.as_ref()).map(|i| &i.config);
    let mut l2 = Vec::new();
    l2.extend(kv(t, " strategy ", run_cfg.map_or(c.strategy, |r| r.strategy).to_string()));
    // The knobs of the run's strategy and of the one the next run would use, not all of them:
    // revisions spend chains × revisions, not N.
    use crate::strategy::StrategyKind as S;
    let kinds = [run_cfg.map_or(c.strategy, |r| r.strategy), c.strategy];
    let any = |f: fn(S) -> bool| kinds.iter().any(|k| f(*k));
    if any(|k| k != S::Revise) {
        l2.extend(kv(t, "  N ", c.n.to_string()));
    }
    if any(|k| matches!(k, S::Beam | S::Lookahead | S::Dvts | S::Particles | S::Adaptive)) {
        l2.extend(kv(t, "  depth ", c.max_depth.to_string()));
    }
    if any(|k| matches!(k, S::Beam | S::Lookahead | S::Dvts | S::Adaptive)) {
        l2.extend(kv(t, "  width ", c.width.to_string()));
    }
    if any(|k| k == S::Lookahead) {
        l2.extend(kv(t, "  lookahead ", c.lookahead.to_string()));
    }
    if any(|k| k == S::Revise) {
        l2.extend(kv(t, "  chains ", format!("{} × {} revisions", c.chains, c.revisions)));
    }
    l2.extend(kv(t, "  T ", format!("{:.1}", c.temperature)));
    if run_cfg.map_or(c.strategy, |r| r.strategy) == crate::strategy::StrategyKind::Particles {
        l2.extend(kv(t, "  weight T ", c.particles.temp.to_string()));
        l2.extend(kv(t, "  ESS threshold ", format!("{}·N", c.particles.ess_threshold)));
    }
    l2.extend(kv(t, "  verifier ", run_cfg.map_or(c.verifier, |r| r.verifier).to_string()));
    // The confidence verifier on a server without log-probabilities: said once, here.
    let run_verifier = app.run().and_then(|r| r.tree.info.as_ref()).map(|i| i.verifier.as_str());
    if run_verifier.is_some_and(|v| v.contains(crate::verify::confidence::NO_LOGPROBS)) {
        l2.push(Span::styled(" (no log-probabilities: majority vote)", Style::default().fg(t.warn)));
    }
    l2.extend(kv(t, "  agg ", c.aggregation.to_string()));
    l2.extend(kv(t, "  select ", c.selection.to_string()));
    if run_cfg.map_or(c.strategy, |r| r.strategy) == crate::strategy::StrategyKind::Consistency {
        l2.extend(kv(t, "  conf ", c.confidence.to_string()));
    }
    if app.latex {
        l2.push(Span::styled("  LaTeX→Unicode", Style::default().fg(t.accent)));
    }
    let mut l3 = Vec::new();
    if let Some(r) = app.run() {
        let b = &r.tree.budget;
        let generated: u64 = r.tree.nodes.iter().map(|n| n.tokens).sum();
        // While the run works the clock moves, not only when a candidate reports.
        let secs = r.elapsed_secs(app.now());
        let rate = if secs > 0.0 { generated as f64 / secs } else { 0.0 };
        l3.extend(kv(t, " tokens ", format!("{generated} gen / {} prompt", b.policy_prompt_tokens)));
        l3.extend(kv(t, "  verifier ", format!("{} calls", b.verifier_calls)));
        l3.extend(kv(
            t,
            "  requests ",
            format!("{} running / {} queued", r.tree.load.running, r.tree.load.queued),
        ));
        if !r.tree.hosts.is_empty() {
            l3.extend(kv(t, "  ", crate::model::pool::summary(&r.tree.hosts)));
        }
        l3.extend(kv(t, "  ", format!("{rate:.0} tok/s")));
        l3.extend(kv(t, "  gen-eq ", format!("{:.2}", b.generation_equivalents)));
        l3.extend(kv(t, "  ", format!("{secs:.1} s")));
    }
    let problem = app
        .run()
        .and_then(|r| r.tree.info.as_ref().map(|i| i.problem.clone()))
        .or(app.problem.clone())
        .map(|p| format!(" {}  {}", p.id, one_line(&sanitize(&p.text), 400)))
        .unwrap_or_else(|| " no problem — press p to pick one".into());
    let mut lines = vec![
        Line::from(l1).style(bar),
        Line::from(l2),
        Line::from(l3),
        Line::from(Span::styled(problem, Style::default().fg(t.dim))),
    ];
    if let Some(d) = app.run().and_then(|r| r.tree.difficulty.as_ref()) {
        lines.push(Line::from(vec![
            Span::styled(" difficulty ", Style::default().fg(t.dim)),
            Span::styled(
                format!("{:.2}", d.estimate),
                Style::default().fg(t.score_color(Some(d.estimate))).add_modifier(Modifier::BOLD),
            ),
            Span::styled(format!(" · bin {}/5 ({})", d.bin, sanitize(&d.method)), Style::default().fg(t.fg)),
            Span::styled(" → ", Style::default().fg(t.dim)),
            Span::styled(d.strategy.to_string(), Style::default().fg(t.accent).add_modifier(Modifier::BOLD)),
            Span::styled(format!(": {}", one_line(&sanitize(&d.reason), 300)), Style::default().fg(t.fg)),
        ]));
    }
    f.render_widget(Paragraph::new(lines), area);
}

//! The view of a particle-filtering run: the population with its weights, a copy of a strong
//! particle over a weak one marked and then followed, the ESS in the header, and the live
//! weight-temperature and ESS-threshold keys.

use std::sync::Arc;

use super::action::Action;
use super::app::{App, Effect};
use super::tests::{app, render};
use crate::event::Event;
use crate::problem::Problem;
use crate::run::{start, SolvePrompt};
use crate::scripted::{ScriptInput, ScriptedGenerator, ScriptedVerifier};
use crate::spec::{Command, RunConfig, StrategyKind};

/// The events of a scripted particles run: two strong particles (v90) and two weak ones (v1)
/// in round 1, so systematic resampling copies #0 over #1 and #2 over #3.
async fn events() -> Vec<Event> {
    let gen = Arc::new(ScriptedGenerator::new(|i: &ScriptInput| {
        if i.prefix.is_empty() {
            format!("12 + 30 = 42 s{} v{}", i.seed, if i.seed % 2 == 0 { 90 } else { 1 })
        } else {
            "The answer is \\boxed{42}. v50".to_string()
        }
    }));
    let ver = Arc::new(ScriptedVerifier::new(|path: &[String]| {
        let v = path.last()?.split_whitespace().find_map(|w| w.strip_prefix('v'))?;
        Some(v.trim_end_matches('.').parse::<f64>().ok()? / 100.0)
    }));
    let cfg = RunConfig { strategy: StrategyKind::Particles, n: 4, max_depth: 10, ..RunConfig::default() };
    let problem = Problem::inline("What is 12 + 30?", Some("42".into()));
    let mut h = start(problem, cfg, gen, ver, SolvePrompt::bundled());
    let mut out = Vec::new();
    while let Some(e) = h.events.recv().await {
        out.push(e);
    }
    out
}

fn app_with(events: &[Event]) -> App {
    let mut a = app();
    a.knobs.config.strategy = StrategyKind::Particles;
    a.problem = Some(Problem::inline("What is 12 + 30?", Some("42".into())));
    let fx = a.update(Action::Rerun);
    assert!(matches!(fx.as_slice(), [Effect::StartRun { .. }]));
    for e in events {
        a.on_event(0, e);
    }
    a
}

fn screen(a: &App) -> String {
    let term = render(a, 140, 34);
    let buf = term.backend().buffer().clone();
    (0..buf.area.height)
        .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn a_copy_over_a_weak_particle_shows_then_its_line_goes_on() {
    let all = events().await;
    let cut = all.iter().position(|e| matches!(e, Event::Resampled { .. })).unwrap() + 1;
    let s = screen(&app_with(&all[..cut]));
    assert!(s.contains("particles · round 1 · ESS 2.00 of 4"), "{s}");
    assert!(s.contains("ESS 2.0/4"), "the header shows the ESS: {s}");
    assert!(s.contains("#1") && s.contains("✗ ⇐ #0"), "#1 is about to be replaced by a copy of #0: {s}");
    assert!(s.contains("✗ ⇐ #2"), "{s}");
    assert!(s.contains("×2 copies"), "{s}");
    // One round later the copies are children of the strong particles, in the weak ones' slots.
    let cut2 = all.iter().position(|e| matches!(e, Event::Weights { round: 2, .. })).unwrap() + 1;
    let s = screen(&app_with(&all[..cut2]));
    assert!(s.contains("round 2"), "{s}");
    assert!(s.contains("← #0 over #1") && s.contains("← #2 over #3"), "{s}");
    assert!(s.contains("line #0") && s.contains("line #2") && !s.contains("line #1 "), "{s}");
    // The finished run still draws its population.
    let s = screen(&app_with(&all));
    assert!(s.contains("finished → 42"), "{s}");
}

#[tokio::test]
async fn the_weight_temperature_and_ess_threshold_keys_apply_at_the_next_step() {
    let all = events().await;
    let cut = all.iter().position(|e| matches!(e, Event::Resampled { .. })).unwrap() + 1;
    let mut a = app_with(&all[..cut]);
    let cmd = |c: Command| vec![Effect::Command { run: 0, command: c }];
    assert_eq!(a.update(Action::ParticleTempUp), cmd(Command::SetParticleTemp(2.0)));
    assert!(a.message.as_deref().unwrap_or("").contains("applies at the next step boundary"));
    assert_eq!(a.update(Action::ParticleTempDown), cmd(Command::SetParticleTemp(1.0)));
    assert_eq!(a.update(Action::ParticleTempDown), cmd(Command::SetParticleTemp(0.5)));
    assert_eq!(a.update(Action::EssThresholdUp), cmd(Command::SetEssThreshold(1.0)), "1 is the top");
    assert_eq!(a.update(Action::EssThresholdDown), cmd(Command::SetEssThreshold(0.9)));
    assert!(screen(&a).contains("weights T 0.5 · resample when ESS < 0.9·N"), "{}", screen(&a));
    // A finished run keeps the knob for the next run.
    let mut done = app_with(&all);
    assert_eq!(done.update(Action::ParticleTempUp), vec![]);
    assert!(done.message.as_deref().unwrap_or("").contains("next run"));
}

#[test]
fn the_knob_ladders_stay_in_range() {
    let mut a = app();
    for _ in 0..20 {
        a.update(Action::ParticleTempUp);
        a.update(Action::EssThresholdDown);
    }
    assert_eq!((a.knobs.config.particles.temp, a.knobs.config.particles.ess_threshold), (20.0, 0.0));
    for _ in 0..20 {
        a.update(Action::ParticleTempDown);
        a.update(Action::EssThresholdUp);
    }
    assert_eq!((a.knobs.config.particles.temp, a.knobs.config.particles.ess_threshold), (0.05, 1.0));
    a.knobs.config.particles.temp = 0.3;
    a.update(Action::ParticleTempUp);
    assert_eq!(a.knobs.config.particles.temp, 0.5, "between rungs, the next rung up");
}

#[test]
fn the_help_overlay_lists_the_particle_keys() {
    let mut a = app();
    a.update(Action::Help);
    let term = render(&a, 140, 40);
    let buf = term.backend().buffer().clone();
    let s: String = (0..buf.area.height)
        .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>() + "\n")
        .collect();
    assert!(s.contains("weight temperature up") && s.contains("ESS threshold down"), "{s}");
}

#[tokio::test]
async fn the_footer_and_header_name_the_particle_knobs() {
    let all = events().await;
    let s = screen(&app_with(&all[..4]));
    assert!(s.contains("y/Y weight T") && s.contains("n/N ESS threshold"), "{s}");
    assert!(s.contains("weight T 1") && s.contains("ESS threshold 1·N"), "{s}");
}

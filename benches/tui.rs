//! Rendering cost: a 64-pane best-of-N state, and a depth-40 beam-search tree, with about 2,000 tokens per pane,
//! drawn into a 240×60 `TestBackend`. The first frame fills the wrap cache;
//! the measured frames are what streaming costs per redraw.
//!
//! Run with `cargo bench --bench tui`.

use criterion::{criterion_group, criterion_main, Criterion};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use ttc::strategy::RunConfig;
use ttc::tui::action::Action;
use ttc::tui::app::App;
use ttc::tui::fixture::{best_of_n_events, Stage};
use ttc::tui::keymap::Keymap;
use ttc::tui::theme;
use ttc::tui::view::{draw, ViewCache};

/// An app showing one run (fed by the caller).
fn app() -> App {
    let mut app = App::new(
        theme::bundled("dark").unwrap(),
        Keymap::default(),
        "ollama http://127.0.0.1:11434".into(),
        RunConfig { n: 64, ..RunConfig::default() },
    );
    app.model = Some("bench".into());
    app.problem = Some(ttc::problem::Problem::inline("Add.", Some("18".into())));
    app.update(Action::Rerun);
    app
}

fn frame(c: &mut Criterion) {
    let mut app = app();
    let events = best_of_n_events(64, 2_000, Stage::Finished, false);
    for e in &events {
        app.on_event(0, e);
    }
    let tokens: u64 = app.run().unwrap().tree.nodes.iter().map(|n| n.tokens).sum();
    assert!(tokens > 64 * 1_900, "{tokens} tokens");

    let mut term = Terminal::new(TestBackend::new(240, 60)).unwrap();
    let mut cache = ViewCache::new();
    c.bench_function("tui/frame_64_panes_2000_tokens_240x60", |b| {
        b.iter(|| {
            term.draw(|f| {
                draw(f, &app, &mut cache);
            })
            .unwrap();
        })
    });
    // Paging shows panes not drawn before: the cost of a cold page.
    c.bench_function("tui/page_flip_cold_cache", |b| {
        b.iter(|| {
            cache.clear();
            term.draw(|f| {
                draw(f, &app, &mut cache);
            })
            .unwrap();
        })
    });
}

/// The tree view of a finished depth-40 beam search with N = 64, M = 4, with its panes.
fn tree(c: &mut Criterion) {
    let mut app = app();
    for e in &ttc::tui::fixture::beam_events(64, 4, 40) {
        app.on_event(0, e);
    }
    assert!(app.run().unwrap().tree.nodes.len() > 2_000);
    let mut term = Terminal::new(TestBackend::new(240, 60)).unwrap();
    let mut cache = ViewCache::new();
    c.bench_function("tui/tree_view_depth40_n64_240x60", |b| {
        b.iter(|| {
            term.draw(|f| {
                draw(f, &app, &mut cache);
            })
            .unwrap();
        })
    });
}

criterion_group!(benches, frame, tree);
criterion_main!(benches);

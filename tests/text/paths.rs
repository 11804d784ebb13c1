//! Every strategy and verifier over hostile model text, with chunk boundaries everywhere:
//! no panic, the run finishes, and steps and answers are what the text says.

use std::sync::Arc;

use ttc::event::Event;
use ttc::grade::{answers_equal, extract_answer};
use ttc::model::Generator;
use ttc::problem::Problem;
use ttc::run::{start, SolvePrompt};
use ttc::scripted::{ScriptInput, ScriptedGenerator};
use ttc::steps::split_steps;
use ttc::strategy::{RunConfig, StrategyKind};
use ttc::tree::{NodeStatus, RunTree};
use ttc::verify::{ArithVerifier, JudgeTemplate, JudgeVerifier, Verifier};

use crate::chunked::Chunked;

/// Solutions as small real models write them.
pub fn hostile() -> Vec<(&'static str, String)> {
    vec![
        (
            "multi-byte",
            "Multiply: 3 × 4 = 12 ✓\n\nπ ≈ 3.14 — 中文 🙂 e\u{301}\n\nThe answer is \\boxed{12}×".into(),
        ),
        ("cjk", "我们计算 6 × 7 = 42。\n\n所以答案是 \\boxed{42}".into()),
        (
            "markdown",
            "**Step 1.** Add:\n- 2 + 2 = 4\n- *then* `x`\n\n1. list\n2. more\n\n# The answer is **4**".into(),
        ),
        (
            "latex",
            "We need $\\frac{1}{2} + \\frac{1}{2} = 1$.\n\n$$\\sum_{i=1}^{n} i^2$$\n\nThus \\boxed{\\pi}"
                .into(),
        ),
        ("no box", "2 + 2 = 4\n\nSo we get 4 apples".into()),
        ("escapes", "\x1b[2J\x1b]0;T\x07 12 + 30 = 42\n\nThe answer is \\boxed{42}\x1b[0m".into()),
        ("bidi", "\u{202E}12 + 30 = 42\u{202C}\n\n\u{2066}The answer is \\boxed{42}\u{2069}".into()),
        ("delimiter runs", "× \n\n\n×\n\n\n\n\n—\n\n\n\nThe answer is \\boxed{×}".into()),
    ]
}

/// Enormous lines: a megabyte with no newline, and multi-byte text as long.
pub fn enormous() -> Vec<(&'static str, String)> {
    vec![
        ("1 MB line", "x".repeat(1 << 20) + " 2 + 2 = 4\n\nThe answer is \\boxed{4}"),
        ("1 MB multi-byte line", "中×—".repeat(120_000) + "\n\n2 × 3 = 6\n\nThe answer is \\boxed{6}"),
    ]
}

pub fn config(strategy: StrategyKind) -> RunConfig {
    RunConfig {
        strategy,
        n: 2,
        width: 2,
        chains: 1,
        revisions: 2,
        max_depth: 12,
        max_tokens: 1 << 22,
        ..RunConfig::default()
    }
}

pub async fn run(cfg: RunConfig, gen: Arc<dyn Generator>, ver: Arc<dyn Verifier>) -> (Vec<Event>, RunTree) {
    let mut h = start(Problem::inline("Solve it.", None), cfg, gen, ver, SolvePrompt::bundled());
    let mut events = Vec::new();
    let mut tree = RunTree::new();
    while let Some(e) = h.events.recv().await {
        tree.apply(&e);
        events.push(e);
    }
    (events, tree)
}

/// The run of `text` ended well: no failure, and steps and answer are the text's.
fn check(what: &str, text: &str, strategy: StrategyKind, events: &[Event], tree: &RunTree) {
    let expected = extract_answer(text);
    let Some(Event::RunFinished { selected, error, .. }) = events.last() else {
        panic!("{what}: the run did not finish: {:?}", events.last())
    };
    assert!(error.is_none(), "{what}: {error:?}");
    match (&expected, selected) {
        (Some(e), Some(s)) => assert!(answers_equal(e, s), "{what}: selected {s:?}, the text says {e:?}"),
        (e, s) => panic!("{what}: selected {s:?}, the text says {e:?}"),
    }
    assert!(
        tree.nodes.iter().all(|n| !matches!(n.status, NodeStatus::Failed | NodeStatus::Streaming)),
        "{what}: {:?}",
        tree.nodes.iter().map(|n| (n.status, n.error.clone())).collect::<Vec<_>>()
    );
    let want = split_steps(text);
    let done: Vec<_> = tree.nodes.iter().filter(|n| n.status == NodeStatus::Done).collect();
    assert!(!done.is_empty(), "{what}");
    for n in done {
        let steps: Vec<&str> = n.steps.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(steps, want, "{what}: node {}", n.node);
        assert!(
            n.answer.as_deref().zip(expected.as_deref()).is_some_and(|(a, e)| answers_equal(a, e)),
            "{what}"
        );
        if !strategy.stepwise() {
            assert_eq!(n.text, text, "{what}: node {}", n.node);
        }
    }
}

#[tokio::test]
async fn every_strategy_over_hostile_text_with_every_chunking() {
    for (name, text) in hostile() {
        for strategy in StrategyKind::ALL {
            // One character per chunk puts a boundary at every character; 2 and 3 with
            // offsets put deltas' ends and starts everywhere else.
            for (first, size) in [(1, 1), (1, 2), (2, 2), (1, 3), (2, 3), (3, 3), (5, 7)] {
                let what = format!("{name} / {strategy} / chunks {first}+{size}");
                let gen = Arc::new(Chunked::solution(first, size, &text));
                let (events, tree) = run(config(strategy), gen, Arc::new(ArithVerifier)).await;
                check(&what, &text, strategy, &events, &tree);
            }
        }
    }
}

#[tokio::test]
async fn every_strategy_over_enormous_lines() {
    for (name, text) in enormous() {
        for strategy in StrategyKind::ALL {
            for (first, size) in [(1, 4093), (3, 65_536)] {
                let what = format!("{name} / {strategy} / chunks {first}+{size}");
                let gen = Arc::new(Chunked::solution(first, size, &text));
                let (events, tree) = run(config(strategy), gen, Arc::new(ArithVerifier)).await;
                check(&what, &text, strategy, &events, &tree);
            }
        }
    }
}

#[tokio::test]
async fn the_judge_over_hostile_text_and_hostile_verdicts() {
    let mut all = hostile();
    all.extend(enormous());
    for (name, text) in all {
        for verdict in ["Yes", "✓ Yes", "**No** — 中文", "\x1b[2J", "", "🙂"] {
            let judge: Arc<dyn Generator> =
                Arc::new(ScriptedGenerator::new(move |_: &ScriptInput| verdict.into()));
            let ver = Arc::new(JudgeVerifier::new(judge, JudgeTemplate::bundled()));
            for strategy in [StrategyKind::BestOfN, StrategyKind::Beam] {
                let what = format!("{name} / judge says {verdict:?} / {strategy}");
                let gen = Arc::new(Chunked::solution(1, 3, &text));
                let (events, tree) = run(config(strategy), gen, ver.clone()).await;
                check(&what, &text, strategy, &events, &tree);
                let scored = tree.nodes.iter().flat_map(|n| &n.steps).filter_map(|s| s.verdict.as_ref());
                for s in scored {
                    // A verdict is its first word's letters: "✓ Yes" says neither.
                    let expect = match verdict {
                        "Yes" => Some(1.0),
                        "**No** — 中文" => Some(0.0),
                        _ => None,
                    };
                    assert_eq!(s.score, expect, "{what}");
                }
            }
        }
    }
}

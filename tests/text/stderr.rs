//! A panic in a candidate keeps the model's text off stderr (the terminal, or the TUI's screen).

use std::process::Command;
use std::sync::Arc;

use ttc::event::Event;
use ttc::scripted::{ScriptInput, ScriptedGenerator};
use ttc::strategy::StrategyKind;
use ttc::verify::ArithVerifier;

use crate::paths::{config, run};

const CHILD: &str = "TTC_TEXT_PANIC_CHILD";

#[test]
fn panics_in_candidates_keep_model_text_off_stderr() {
    if std::env::var_os(CHILD).is_some() {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            for strategy in StrategyKind::ALL {
                let gen = Arc::new(ScriptedGenerator::new(|i: &ScriptInput| {
                    if i.seed == 1 {
                        panic!("SECRET-MODEL-TEXT \x1b[2J");
                    }
                    "2 + 2 = 4\n\nThe answer is \\boxed{4}".to_string()
                }));
                let (events, _) = run(config(strategy), gen, Arc::new(ArithVerifier)).await;
                assert!(
                    matches!(events.last(), Some(Event::RunFinished { selected: Some(_), .. })),
                    "{strategy}"
                );
            }
        });
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "stderr::panics_in_candidates_keep_model_text_off_stderr",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "the child ran the runs: {stdout}");
    assert!(!stderr.contains("SECRET-MODEL-TEXT") && !stdout.contains("SECRET-MODEL-TEXT"), "{stderr}");
}

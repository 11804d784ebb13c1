//! Replay as a mode of the view, on the real binary in a pseudo-terminal: the trace
//! browser key opens a recorded run beside the live one and q comes back; a fork from a
//! replayed node (`ttc replay FILE`, no backend yet) sets the backend up and runs live on
//! the embedded model; `R` re-scores a finished run beside its own scores.

use std::path::PathBuf;
use std::time::Duration;

use super::isolated::{home, ok, ttc};
use super::tui::spawn;

/// A best-of-3 run on the embedded model recorded to a file of its own.
fn recorded(tag: &str) -> (PathBuf, PathBuf) {
    let h = home(&format!("replay-view-{tag}"));
    let file = h.join("run.jsonl");
    ok(&ttc(&h, &["run", "--backend", "pocket", "-n", "3", "--json", "--trace", file.to_str().unwrap()]));
    (h, file)
}

/// The answer the answers panel selects (after its `▶`).
fn selected(screen: &str) -> String {
    let at = screen.find("▶ ").expect("an answer is selected");
    screen[at + "▶ ".len()..].split_whitespace().next().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_browser_key_replays_a_trace_in_the_view_and_q_comes_back() {
    let mut s = spawn(&["--backend", "pocket", "-n", "3"], "replay-browse");
    s.screen.wait_for("pocket:L3:1").await;
    s.screen.wait_for("finished").await;
    s.screen.wait_for("▶ ").await;
    let live = selected(&s.screen.text());
    // The run's own trace is listed; Enter replays it here, beside the live run.
    s.press(b"b");
    s.screen.wait_for("recorded traces").await;
    s.screen.wait_for("Enter replay here").await;
    s.press(b"\r");
    s.screen.wait_for("replay of").await;
    s.screen.wait_for("run 2/2").await;
    for _ in 0..6 {
        s.press(b"+");
    }
    s.screen.wait_for("replay ended").await;
    // The replayed answer panel shows the run's answer, as the live one did.
    assert_eq!(selected(&s.screen.text()), live, "{}", s.screen.text());
    // q goes back to the live run; the view stays.
    s.press(b"q");
    s.screen.wait_for("run 1/2").await;
    let t = s.screen.text();
    assert!(t.contains("pocket (embedded") && !t.contains("replay of"), "{t}");
    // Esc closes the browser without replaying anything.
    s.press(b"b");
    s.screen.wait_for("recorded traces").await;
    s.press(b"\x1b");
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.screen.wait_for("run 1/2").await;
    assert!(!s.screen.text().contains("recorded traces"), "{}", s.screen.text());
    s.quit_and_check_restored().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fork_from_a_replayed_node_sets_up_the_backend_and_runs_live_on_the_embedded_model() {
    let (h, file) = recorded("fork");
    // Nothing listens on port 1: `auto` falls back to the embedded model when the fork asks.
    let mut s = spawn(&["replay", file.to_str().unwrap(), "--host", "http://127.0.0.1:1"], "replay-fork");
    s.screen.wait_for("replay of run.jsonl").await;
    s.press(b"\x1b[F");
    s.screen.wait_for("▶ ").await;
    s.press(b"f");
    // The status line's "fork of #0" is soon replaced by the backend setup's message, so the
    // fork is seen as the new live run (its settings: `f_on_a_replayed_node_forks_…` in the unit tests).
    s.screen.wait_for("run 2/2").await;
    s.screen.wait_for_within("pocket (embedded", Duration::from_secs(30)).await;
    s.screen.wait_for_within("finished", Duration::from_secs(60)).await;
    let t = s.screen.text();
    assert!(!t.contains("replay of"), "the fork is a live run: {t}");
    // Back to the replay with `<`, which keeps its place.
    s.press(b"<");
    s.screen.wait_for("replay of run.jsonl").await;
    s.quit_and_check_restored().await;
    std::fs::remove_dir_all(h).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn r_rescores_a_replayed_run_beside_its_own_scores_and_esc_clears() {
    let (h, file) = recorded("rescore");
    let mut s = spawn(&["replay", file.to_str().unwrap()], "replay-rescore");
    s.screen.wait_for("replay of run.jsonl").await;
    s.press(b"\x1b[F");
    s.screen.wait_for("finished").await;
    // The recorded verifier is the embedded PRM: the first other one is arith.
    s.press(b"R");
    s.screen.wait_for("re-scored with arith").await;
    s.screen.wait_for("re-scored arith").await;
    let t = s.screen.text();
    let arrows = t.lines().filter(|l| l.contains("└ ") && l.contains('→')).count();
    assert!(arrows > 0, "each step's score shows before→after: {t}");
    assert!(
        t.contains("selected ") && (t.contains("the answer changed") || t.contains("the same answer")),
        "{t}"
    );
    // Again: the next verifier (none); Esc clears it.
    s.press(b"R");
    s.screen.wait_for("re-scored with none").await;
    s.press(b"\x1b");
    s.screen.wait_for("re-scoring cleared").await;
    assert!(!s.screen.text().contains("re-scored none"), "{}", s.screen.text());
    s.quit_and_check_restored().await;
    std::fs::remove_dir_all(h).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fork_with_no_backend_to_set_up_says_why_and_the_replay_stays() {
    let (h, file) = recorded("fork-none");
    let args = ["replay", file.to_str().unwrap(), "--backend", "ollama", "--host", "http://127.0.0.1:1"];
    let mut s = spawn(&args, "replay-fork-none");
    s.screen.wait_for("replay of run.jsonl").await;
    s.press(b"\x1b[F");
    s.screen.wait_for("▶ ").await;
    s.press(b"f");
    s.screen.wait_for("run 2/2").await;
    s.screen.wait_for_within("ended with an error", Duration::from_secs(30)).await;
    s.screen.wait_for("cannot start a live run: no backend").await;
    s.press(b"<");
    s.screen.wait_for("replay of run.jsonl").await;
    s.quit_and_check_restored().await;
    std::fs::remove_dir_all(h).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn r_on_a_live_run_asks_the_judge_on_the_server_and_generates_nothing() {
    use super::ollama_server::{ServerConfig, TestServer};
    let server = TestServer::start(ServerConfig::default()).await;
    let args = [
        "--host",
        &server.url,
        "--model",
        "tiny-math",
        "--problem",
        "What is 12 + 30?",
        "--gold",
        "42",
        "-n",
        "2",
        "--verifier",
        "arith",
        "--verifier-model",
        "judge",
    ];
    let mut s = spawn(&args, "rescore-judge");
    s.screen.wait_for("finished").await;
    s.screen.wait_for("▶ 42").await;
    let generated = server.chat_requests().len();
    // On a server, the judge comes first after arith; its own model judges.
    s.press(b"R");
    s.screen.wait_for("re-scored with judge").await;
    s.screen.wait_for("re-scored judge").await;
    let judged = server.chat_requests();
    assert!(judged.len() > generated, "the judge asked the server");
    assert!(judged[..generated].iter().all(|b| b["model"] == "tiny-math"), "the run generated");
    assert!(judged[generated..].iter().all(|b| b["model"] == "judge"), "re-scoring only judged");
    s.quit_and_check_restored().await;
}

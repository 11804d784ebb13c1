//! `ttc bench view DIR`: bad directories exit 1 naming the path before the terminal is
//! touched; in a pseudo-terminal it draws, switches panels, reloads when results.jsonl grows,
//! quits on `q` and restores the terminal.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, CommandBuilder, PtySize};

fn home() -> PathBuf {
    std::env::temp_dir().join(format!("ttc-bench-view-home-{}", std::process::id()))
}

/// Run `ttc` with `args` (stdout and stderr piped), isolated from the user's config.
fn ttc(args: &[&str]) -> Output {
    super::isolated::command(&home()).args(args).output().unwrap()
}

fn fresh_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ttc-bench-view-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn line(problem: &str, strategy: &str, budget: u32, correct: bool) -> String {
    serde_json::json!({
        "problem": problem, "strategy": strategy, "budget": budget, "seed": 0, "answer": "1",
        "correct": correct, "tokens": 1, "gen_equivalents": budget as f64, "wall_ms": 1,
        "mean_score": if correct { 0.9 } else { 0.2 }, "pass_rate": if correct { 0.8 } else { 0.1 },
    })
    .to_string()
        + "\n"
}

/// A results directory: six problems, best-of-N and beam at budgets 1 and 2.
fn results_dir(name: &str) -> PathBuf {
    let d = fresh_dir(name);
    let mut text = String::new();
    for p in 0..6 {
        for budget in [1, 2] {
            text += &line(&format!("p{p}"), "best-of-n:weighted", budget, p < 3);
            text += &line(&format!("p{p}"), "beam:m=4", budget, p % 2 == 0);
        }
    }
    std::fs::write(d.join("results.jsonl"), text).unwrap();
    d
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn bench_view_refuses_bad_directories_with_exit_1_naming_the_path() {
    let missing = std::env::temp_dir().join(format!("ttc-bench-view-nowhere-{}", std::process::id()));
    let o = ttc(&["bench", "view", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains(missing.to_str().unwrap()) && stderr(&o).contains("no such directory"));
    assert!(o.stdout.is_empty(), "the terminal is not touched");

    let empty = fresh_dir("empty");
    let o = ttc(&["bench", "view", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains(empty.to_str().unwrap()) && e.contains("no results.jsonl"), "{e}");

    std::fs::write(empty.join("results.jsonl"), "").unwrap();
    let o = ttc(&["bench", "view", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("no finished results yet"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn bench_view_without_a_terminal_says_so_and_exits_1() {
    let dir = results_dir("notty");
    let o = ttc(&["bench", "view", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("needs a terminal"), "{}", stderr(&o));
    assert!(o.stdout.is_empty(), "no escape sequences on a pipe");
}

/// Wait until the screen shows `what`, or fail showing the screen.
fn wait_for(parser: &Mutex<vt100::Parser>, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if parser.lock().unwrap().screen().contents().contains(what) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the screen never showed {what:?}:\n{}", parser.lock().unwrap().screen().contents());
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

#[test]
fn bench_view_in_a_terminal_switches_panels_reloads_and_restores_the_terminal() {
    let dir = results_dir("pty");
    let pty = native_pty_system();
    let pair = pty.openpty(PtySize { rows: 36, cols: 140, pixel_width: 0, pixel_height: 0 }).unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_ttc"));
    cmd.args(["bench", "view", dir.to_str().unwrap()]);
    std::fs::create_dir_all(home()).unwrap();
    cmd.cwd(env!("CARGO_MANIFEST_DIR"));
    cmd.env("HOME", home());
    cmd.env("XDG_CONFIG_HOME", home().join("config"));
    cmd.env("TERM", "xterm-256color");
    cmd.env_remove("TTC_CONFIG");
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let parser = Arc::new(Mutex::new(vt100::Parser::new(36, 140, 0)));
    let raw: Arc<Mutex<Vec<u8>>> = Arc::default();
    let mut reader = pair.master.try_clone_reader().unwrap();
    let (p, r) = (parser.clone(), raw.clone());
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            p.lock().unwrap().process(&buf[..n]);
            r.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let mut keys = pair.master.take_writer().unwrap();
    let mut press = |k: &[u8]| {
        keys.write_all(k).unwrap();
        keys.flush().unwrap();
    };
    wait_for(&parser, "all problems · 6");
    wait_for(&parser, "at budget 2 (2/2)");
    press(b"2");
    wait_for(&parser, "oracle bin 1 (easiest) ·");
    press(b"b");
    wait_for(&parser, "model bin 1 (easiest) ·");
    // A bench still running appends a line at a new budget.
    append(&dir.join("results.jsonl"), &line("p0", "best-of-n:weighted", 4, true));
    wait_for(&parser, "reloaded 1×");
    wait_for(&parser, "at budget 2 (2/3)");
    press(b"q");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "ttc bench view did not quit on q");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    std::thread::sleep(Duration::from_millis(100));
    let raw = raw.lock().unwrap().clone();
    let tail = String::from_utf8_lossy(&raw[raw.len().saturating_sub(200)..]).into_owned();
    assert!(tail.contains("\u{1b}[?1049l"), "left the alternate screen: {tail:?}");
    assert!(!parser.lock().unwrap().screen().alternate_screen());
}

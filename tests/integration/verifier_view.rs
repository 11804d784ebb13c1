//! `ttc verifier view DIR`: bad directories exit 1 naming the path before the terminal is
//! touched, a pipe is refused; in a pseudo-terminal it draws the metrics, moves τ, filters to
//! disagreements, quits on `q` and restores the terminal.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, CommandBuilder, PtySize};

fn home() -> PathBuf {
    std::env::temp_dir().join(format!("ttc-verifier-view-home-{}", std::process::id()))
}

/// Run `ttc` with `args` (stdout and stderr piped), isolated from the user's config.
fn ttc(args: &[&str]) -> Output {
    super::isolated::command(&home()).args(args).output().unwrap()
}

fn fresh_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ttc-verifier-view-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Three scored items (no run.json: the steps are shown by number). At τ 0.50 only `gamma`
/// disagrees; at 0.60 `delta` does too.
fn eval_dir(name: &str) -> PathBuf {
    let d = fresh_dir(name);
    let lines = [
        r#"{"id":"alpha","predicted":1,"label":1,"scores":[0.9,0.4]}"#,
        r#"{"id":"gamma","predicted":1,"label":0,"scores":[0.7,0.2]}"#,
        r#"{"id":"delta","predicted":-1,"label":-1,"scores":[0.55,0.95]}"#,
    ];
    std::fs::write(d.join("items.jsonl"), lines.join("\n") + "\n").unwrap();
    d
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn verifier_view_refuses_bad_directories_with_exit_1_naming_the_path() {
    let missing = std::env::temp_dir().join(format!("ttc-verifier-view-nowhere-{}", std::process::id()));
    let o = ttc(&["verifier", "view", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains(missing.to_str().unwrap()) && stderr(&o).contains("no such directory"));
    assert!(o.stdout.is_empty(), "the terminal is not touched");

    let empty = fresh_dir("empty");
    let o = ttc(&["verifier", "view", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains(empty.to_str().unwrap()) && e.contains("no items.jsonl"), "{e}");

    std::fs::write(empty.join("items.jsonl"), "").unwrap();
    let o = ttc(&["verifier", "view", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("holds no scored item"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
    assert!(o.stdout.is_empty());
}

#[test]
fn verifier_view_without_a_terminal_says_so_and_exits_1() {
    let dir = eval_dir("notty");
    let o = ttc(&["verifier", "view", dir.to_str().unwrap()]);
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

/// `ttc verifier view DIR` running in a pseudo-terminal, with the screen it draws.
struct Session {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    keys: Box<dyn Write + Send>,
}

impl Session {
    fn start(dir: &std::path::Path) -> Session {
        let pty = native_pty_system();
        let pair = pty.openpty(PtySize { rows: 30, cols: 140, pixel_width: 0, pixel_height: 0 }).unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_ttc"));
        cmd.args(["verifier", "view", dir.to_str().unwrap()]);
        std::fs::create_dir_all(home()).unwrap();
        cmd.cwd(env!("CARGO_MANIFEST_DIR"));
        cmd.env("HOME", home());
        cmd.env("XDG_CONFIG_HOME", home().join("config"));
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("TTC_CONFIG");
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(30, 140, 0)));
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
        let keys = pair.master.take_writer().unwrap();
        Session { child, parser, raw, keys }
    }

    fn press(&mut self, k: &[u8]) {
        self.keys.write_all(k).unwrap();
        self.keys.flush().unwrap();
    }

    fn wait_for(&self, what: &str) {
        wait_for(&self.parser, what);
    }

    fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Quit with `q`: the process exits 0 and leaves the alternate screen.
    fn quit(mut self) {
        self.press(b"q");
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "ttc verifier view did not quit on q");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "{status:?}");
        std::thread::sleep(Duration::from_millis(100));
        let raw = self.raw.lock().unwrap().clone();
        let tail = String::from_utf8_lossy(&raw[raw.len().saturating_sub(200)..]).into_owned();
        assert!(tail.contains("\u{1b}[?1049l"), "left the alternate screen: {tail:?}");
        assert!(!self.parser.lock().unwrap().screen().alternate_screen());
    }
}

#[test]
fn verifier_view_in_a_terminal_moves_tau_filters_and_restores_the_terminal() {
    let dir = eval_dir("pty");
    let mut s = Session::start(&dir);
    s.wait_for("τ 0.50");
    s.wait_for("error acc 50.0% (1/2) · correct acc 100.0% (1/1)");
    s.wait_for("steps not available");
    s.press(b"]]");
    s.wait_for("τ 0.60");
    s.wait_for("correct acc 0.0% (0/1)");
    s.press(b"d");
    s.wait_for("disagreements 2/3");
    assert!(!s.screen().contains("alpha"), "alpha agrees and is not listed:\n{}", s.screen());
    s.quit();
}

#[test]
fn verifier_view_shows_the_steps_of_a_real_eval() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/processbench_small.json");
    let out = fresh_dir("real");
    let o = ttc(&[
        "verifier",
        "eval",
        "--processbench",
        fixture,
        "--verifier",
        "arith",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut s = Session::start(&out);
    s.wait_for("7 items · verifier arith");
    s.wait_for("Problem: Sue lives in a fun neighborhood.");
    s.wait_for("human: first wrong step #1");
    assert!(!s.screen().contains("steps not available"), "{}", s.screen());
    s.press(b"j");
    s.wait_for("Problem: A company sold 4000 gallons");
    s.quit();
}

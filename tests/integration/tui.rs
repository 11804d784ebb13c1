//! The real binary in a pseudo-terminal against the local server: it opens,
//! candidates stream into panes, `+` adds a pane, `q` quits and the terminal
//! is restored.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, CommandBuilder, PtySize};

use super::ollama_server::{ServerConfig, TestServer};

pub(super) struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
}

impl Screen {
    pub(super) fn text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Wait until the screen shows `what`.
    pub(super) async fn wait_for(&self, what: &str) {
        self.wait_for_within(what, Duration::from_secs(20)).await;
    }

    /// Wait at most `limit` until the screen shows `what`.
    pub(super) async fn wait_for_within(&self, what: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.text().contains(what) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the screen never showed {what:?}; it shows:\n{}", self.text());
    }
}

/// The real binary in a 140×36 pseudo-terminal, isolated from the user's files.
pub(super) struct Session {
    pub(super) screen: Screen,
    keys: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    home: std::path::PathBuf,
}

pub(super) fn spawn(args: &[&str], tag: &str) -> Session {
    spawn_with_env(args, tag, &[])
}

/// [`spawn`] with extra environment variables.
pub(super) fn spawn_with_env(args: &[&str], tag: &str, env: &[(&str, &str)]) -> Session {
    let home = std::env::temp_dir().join(format!("ttc-pty-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let pty = native_pty_system();
    let pair = pty.openpty(PtySize { rows: 36, cols: 140, pixel_width: 0, pixel_height: 0 }).unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_ttc"));
    for a in args {
        cmd.arg(a);
    }
    cmd.cwd(env!("CARGO_MANIFEST_DIR"));
    cmd.env("HOME", &home);
    cmd.env("XDG_CONFIG_HOME", home.join("config"));
    cmd.env("XDG_DATA_HOME", home.join("data"));
    cmd.env("TERM", "xterm-256color");
    cmd.env_remove("OLLAMA_HOST");
    cmd.env_remove("TTC_CONFIG");
    cmd.env_remove("TTC_BACKEND");
    cmd.env_remove("TTC_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let screen = Screen { parser: Arc::new(Mutex::new(vt100::Parser::new(36, 140, 0))), raw: Arc::default() };
    let mut reader = pair.master.try_clone_reader().unwrap();
    let (parser, raw) = (screen.parser.clone(), screen.raw.clone());
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            parser.lock().unwrap().process(&buf[..n]);
            raw.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let keys = pair.master.take_writer().unwrap();
    Session { screen, keys, child, home }
}

impl Session {
    pub(super) fn press(&mut self, k: &[u8]) {
        self.keys.write_all(k).unwrap();
        self.keys.flush().unwrap();
    }

    /// Quit with `q` and check the terminal was left as it was found.
    pub(super) async fn quit_and_check_restored(self) {
        self.quit_within_and_check_restored(Duration::from_secs(10)).await;
    }

    /// Quit with `q`, expect the process gone within `limit`, and check the terminal.
    async fn quit_within_and_check_restored(self, limit: Duration) {
        let home = self.quit_within_keeping_home(limit).await;
        std::fs::remove_dir_all(home).ok();
    }

    /// [`Session::quit_within_and_check_restored`], leaving the session's home for a look;
    /// returns it.
    pub(super) async fn quit_within_keeping_home(mut self, limit: Duration) -> std::path::PathBuf {
        self.press(b"q");
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "ttc did not quit on q");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(status.success(), "{status:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let raw = self.screen.raw.lock().unwrap().clone();
        let tail = String::from_utf8_lossy(&raw[raw.len().saturating_sub(200)..]).into_owned();
        assert!(tail.contains("\u{1b}[?1049l"), "left the alternate screen: {tail:?}");
        assert!(tail.contains("\u{1b}[?25h"), "showed the cursor again: {tail:?}");
        assert!(!self.screen.parser.lock().unwrap().screen().alternate_screen());
        self.home
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_view_streams_panes_grows_n_and_restores_the_terminal() {
    let server =
        TestServer::start(ServerConfig { token_delay: Duration::from_millis(40), ..ServerConfig::default() })
            .await;
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
        "--concurrency",
        "8",
    ];
    let mut s = spawn(&args, "ollama");

    // Two panes open and stream the candidates' text.
    s.screen.wait_for("#0").await;
    s.screen.wait_for("#1").await;
    s.screen.wait_for("12 + 30 = 42").await;
    assert!(s.screen.parser.lock().unwrap().screen().alternate_screen());

    // `+` raises N: a third pane appears while the run goes on.
    s.press(b"+");
    s.screen.wait_for("#2").await;
    s.screen.wait_for("N 3").await;
    s.screen.wait_for("finished").await;
    s.screen.wait_for("▶ 42").await;
    s.quit_and_check_restored().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn n_moves_on_a_finished_best_of_n_run_without_a_request_until_it_needs_one() {
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
        "none",
    ];
    let mut s = spawn(&args, "n-live");
    s.screen.wait_for("#1").await;
    s.screen.wait_for("finished").await;
    let chats = || server.chat_requests().len();
    assert_eq!(chats(), 2);

    // `+` on the finished run: one more candidate in the same run, a pane and a vote.
    s.press(b"+");
    s.screen.wait_for("#2").await;
    s.screen.wait_for("run 1/1").await;
    s.screen.wait_for("×3").await;
    assert_eq!(chats(), 3);
    // `-`: re-selected over the first 2, no request; `+` brings the third back, no request.
    s.press(b"-");
    s.screen.wait_for("beyond N").await;
    s.screen.wait_for("first 2 of 3").await;
    s.screen.wait_for("×2").await;
    s.press(b"+");
    s.screen.wait_for("×3").await;
    assert_eq!(chats(), 3, "stepping N within the candidates asks the server nothing");
    s.quit_and_check_restored().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_screen_on_the_embedded_model_shows_the_verifier_overrule_the_majority() {
    let mut s = spawn(&["--backend", "pocket"], "first-screen");
    s.screen.wait_for("pocket:L3:1").await;
    // Paced: the candidates are still being written a moment after the start.
    s.screen.wait_for("streaming").await;
    s.screen.wait_for("finished").await;
    let text = s.screen.text();
    // 58 has the most votes; the verifier's weighted choice is the right 68.
    assert!(text.contains("▶ 68"), "{text}");
    assert!(text.contains("58") && text.contains("×4"), "{text}");
    // `F`: full speed, said on the status line.
    s.press(b"F");
    s.screen.wait_for("full speed").await;
    s.quit_and_check_restored().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_view_refuses_a_pace_out_of_range_naming_the_range() {
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_ttc")).args(["--pace", "5000"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--pace") && err.contains("0..=1000"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_no_server_the_view_runs_the_embedded_model() {
    // Nothing listens on port 1: the view opens on the embedded model and starts a run.
    let mut s = spawn(&["--host", "http://127.0.0.1:1", "-n", "3"], "pocket");
    s.screen.wait_for("pocket (embedded").await;
    s.screen.wait_for("#2").await;
    s.screen.wait_for("verifier prm").await;
    s.screen.wait_for("finished").await;
    s.press(b"?");
    s.screen.wait_for("keys").await;
    s.press(b"?");
    s.quit_and_check_restored().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_never_answers_does_not_freeze_the_view() {
    let url = silent_server();
    let s = spawn(&["--backend", "ollama", "--host", &url], "silent");
    // The view draws before the server answers (generous for a loaded machine: the
    // old startup waited minutes for the stall timeout before its first frame).
    s.screen.wait_for_within("connecting to http://127.0.0.1", Duration::from_secs(5)).await;
    assert!(s.screen.parser.lock().unwrap().screen().alternate_screen());
    s.quit_within_and_check_restored(Duration::from_secs(5)).await;
}

/// A server that accepts connections and holds them open without a byte of reply.
fn silent_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn with_auto_a_silent_server_gives_way_to_the_embedded_model_and_says_why() {
    let url = silent_server();
    let s = spawn(&["--backend", "auto", "--host", &url, "-n", "2"], "autosilent");
    s.screen.wait_for_within("pocket (embedded", Duration::from_secs(20)).await;
    s.screen.wait_for("did not answer within 2.5 s); using the embedded pocket model").await;
    s.screen.wait_for("#1").await;
    s.quit_and_check_restored().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_theme_is_reported_on_screen() {
    let tag = "theme";
    let themes =
        std::env::temp_dir().join(format!("ttc-pty-{tag}-{}", std::process::id())).join("config/ttc/themes");
    std::fs::create_dir_all(&themes).unwrap();
    std::fs::write(themes.join("broken.toml"), "name = \"broken\"\nbg = \"not a colour\"\n").unwrap();
    let s = spawn(&["--backend", "pocket", "--theme", "broken", "-n", "2"], tag);
    s.screen.wait_for("broken.toml").await;
    s.screen.wait_for("#1").await;
    assert!(s.screen.text().contains("broken.toml"), "the warning stays while the run starts");
    s.quit_and_check_restored().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_auto_a_server_that_answers_with_errors_gives_way_to_the_embedded_model() {
    // Answers every request with HTTP 500: reachable, but of no use.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\nConnection: close\r\n\r\noops",
            );
        }
    });
    let s = spawn(&["--backend", "auto", "--host", &url, "-n", "2"], "auto500");
    s.screen.wait_for("pocket (embedded").await;
    s.screen.wait_for("using the embedded pocket model: Ollama failed (HTTP 500").await;
    s.screen.wait_for("#1").await;
    s.quit_and_check_restored().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_configured_verifier_holds_in_the_view_on_the_embedded_model() {
    // The same config as `ttc run` in cli.rs: `[run] verifier` beats the embedded PRM default.
    let tag = "verifier";
    let dir = std::env::temp_dir().join(format!("ttc-pty-{tag}-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("config.toml");
    std::fs::write(&cfg, "[run]\nverifier = \"arith\"\n").unwrap();
    let s = spawn(&["--backend", "pocket", "--config", cfg.to_str().unwrap(), "-n", "2"], tag);
    s.screen.wait_for("pocket (embedded").await;
    s.screen.wait_for("verifier arith").await;
    s.screen.wait_for("finished").await;
    assert!(!s.screen.text().contains("verifier prm"), "{}", s.screen.text());
    s.quit_and_check_restored().await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn with_ttc_log_the_view_logs_to_its_file_and_never_to_the_screen() {
    // A broken theme gives a warning, which is logged; so is the end of the session.
    let tag = "logs";
    let home = std::env::temp_dir().join(format!("ttc-pty-{tag}-{}", std::process::id()));
    let themes = home.join("config/ttc/themes");
    std::fs::create_dir_all(&themes).unwrap();
    std::fs::write(themes.join("broken.toml"), "name = \"broken\"\nbg = \"not a colour\"\n").unwrap();
    let s = spawn_with_env(
        &["--backend", "pocket", "--theme", "broken", "-n", "2"],
        tag,
        &[("TTC_LOG", "debug")],
    );
    s.screen.wait_for("#1").await;
    s.screen.wait_for("finished").await;
    let raw = s.screen.raw.clone();
    s.quit_within_keeping_home(Duration::from_secs(10)).await;
    let raw = String::from_utf8_lossy(&raw.lock().unwrap()).into_owned();
    for line in ["WARN", "DEBUG", "INFO", "session ended"] {
        assert!(!raw.contains(line), "a log line reached the terminal ({line}): {raw:?}");
    }
    let log = find_file(&home.join("data"), "ttc.log").expect("the view writes ttc.log in its data dir");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("broken.toml") && text.contains("session ended"), "{text}");
    std::fs::remove_dir_all(&home).ok();
}

/// The first file called `name` under `dir`.
fn find_file(dir: &std::path::Path, name: &str) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find_file(&path, name) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_in_the_view_is_recorded_and_replays_in_the_view() {
    let s = spawn(&["--backend", "pocket"], "trace-record");
    s.screen.wait_for("pocket:L3:1").await;
    s.screen.wait_for("finished").await;
    let home = s.quit_within_keeping_home(Duration::from_secs(10)).await;
    let traces: Vec<_> =
        std::fs::read_dir(home.join("data/ttc/traces")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(traces.len(), 1, "{traces:?}");
    let trace = traces[0].to_str().unwrap().to_string();

    let mut r = spawn(&["replay", &trace], "trace-replay");
    r.screen.wait_for("replay of").await;
    // Faster, then the recorded run ends as it did: the verifier's 68 over the majority's 58.
    r.press(b"+");
    r.screen.wait_for("at 2×").await;
    r.screen.wait_for("replay ended").await;
    let text = r.screen.text();
    assert!(text.contains("▶ 68") && text.contains("pocket:L3:1"), "{text}");
    r.press(b" ");
    r.screen.wait_for("replay paused").await;
    // Back to the start (the answer is gone), one event on, then to the end again.
    r.press(b"\x1b[H");
    r.screen.wait_for("event 0/").await;
    assert!(!r.screen.text().contains("▶ 68"), "{}", r.screen.text());
    r.press(b".");
    r.screen.wait_for("event 1/").await;
    r.press(b"\x1b[F");
    r.screen.wait_for("▶ 68").await;
    // Presenter mode from the start: playing stops after the first completed step.
    r.press(b"P");
    r.press(b"\x1b[H");
    r.screen.wait_for("event 0/").await;
    r.press(b" ");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let t = r.screen.text();
        if t.contains("replay paused (presenter)") && !t.contains("event 0/") {
            assert!(!t.contains("▶ 68"), "it stopped before the end: {t}");
            break;
        }
        assert!(Instant::now() < deadline, "presenter mode never stopped at a boundary: {t}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A key that would ask a model says that a replay only watches.
    r.press(b"r");
    r.screen.wait_for("only watches").await;
    r.quit_and_check_restored().await;
    std::fs::remove_dir_all(home).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trace_that_cannot_be_written_is_said_on_the_status_line() {
    let home = std::env::temp_dir().join(format!("ttc-pty-unwritable-data-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let data = home.join("data-file");
    std::fs::write(&data, "not a folder").unwrap();
    let s = spawn_with_env(
        &["--backend", "pocket", "-n", "2"],
        "trace-unwritable",
        &[("XDG_DATA_HOME", data.to_str().unwrap())],
    );
    s.screen.wait_for("cannot write the trace").await;
    s.screen.wait_for("finished").await;
    s.quit_and_check_restored().await;
    std::fs::remove_dir_all(&home).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_view_runs_on_a_pool_of_openai_servers_with_the_model_they_list() {
    use super::openai_server::{OpenAiServer, ServerConfig as OpenAiConfig};
    let (a, b) = (
        OpenAiServer::start(OpenAiConfig::default()).await,
        OpenAiServer::start(OpenAiConfig::default()).await,
    );
    // No --model: the view takes the first model `/v1/models` lists (tiny-math).
    let args = [
        "--backend",
        "openai",
        "--host",
        &a.url,
        "--host",
        &b.url,
        "--problem",
        "What is 12 + 30?",
        "--gold",
        "42",
        "-n",
        "4",
        "--concurrency",
        "2",
    ];
    let s = spawn(&args, "openai-pool");
    s.screen.wait_for("pool of 2 hosts").await;
    s.screen.wait_for("hosts 2/2 ok").await;
    s.screen.wait_for("finished").await;
    s.screen.wait_for("▶ 42").await;
    let (on_a, on_b) = (a.bodies("/v1/chat/completions").len(), b.bodies("/v1/chat/completions").len());
    assert_eq!(on_a + on_b, 4, "{on_a} + {on_b}");
    assert!(a.bodies("/v1/chat/completions").iter().all(|r| r["model"] == "tiny-math"));
    s.quit_and_check_restored().await;
}

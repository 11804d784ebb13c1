//! Fault injection through the real binary: `ttc run` (every strategy), `ttc models` and
//! `--backend auto` end in bounded time, name the host without its password, and never put a
//! raw escape on the terminal.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use super::faults::with_secret;
use super::ollama_server::faults::{html_page, HOSTILE};
use super::ollama_server::{ChatFault, Faults, PathFault, ServerConfig, SilentServer, TestServer};

const STRATEGIES: [&str; 6] = ["best-of-n", "beam", "lookahead", "dvts", "revise", "adaptive"];

/// Runs `ttc` isolated from the user's config; fails the test if it takes longer than `bound`.
async fn ttc(args: &[&str], bound: Duration) -> Output {
    ttc_with_host_env(args, None, bound).await
}

/// [`ttc`] with `OLLAMA_HOST` set to `host` when given.
async fn ttc_with_host_env(args: &[&str], host: Option<&str>, bound: Duration) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let host = host.map(str::to_string);
    let home = std::env::temp_dir().join(format!("ttc-faults-home-{}", std::process::id()));
    let started = Instant::now();
    let run = tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ttc"));
        match host {
            Some(h) => cmd.env("OLLAMA_HOST", h),
            None => cmd.env_remove("OLLAMA_HOST"),
        };
        cmd.args(&args)
            .env_remove("TTC_CONFIG")
            .env_remove("TTC_BACKEND")
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .output()
            .unwrap()
    });
    let out = tokio::time::timeout(bound + Duration::from_secs(20), run).await.expect("ttc ends").unwrap();
    assert!(started.elapsed() < bound, "ttc took {:?}", started.elapsed());
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// No password anywhere, no panic, and no raw escape in what a person reads.
fn assert_clean(o: &Output, human_stdout: bool) {
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert!(!out.contains("secret") && !err.contains("secret"), "password leaked:\n{out}\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!o.stderr.contains(&0x1b), "raw ESC on stderr: {err:?}");
    assert!(!err.contains('\u{9b}') && !err.contains('\u{202E}'), "{err:?}");
    if human_stdout {
        assert!(!o.stdout.contains(&0x1b), "raw ESC on stdout: {out:?}");
    }
}

fn run_args<'a>(host: &'a str, strategy: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "run",
        "--backend",
        "ollama",
        "--host",
        host,
        "--model",
        "tiny-math",
        "--problem",
        "What is 2 + 3?",
        "--gold",
        "5",
        "--strategy",
        strategy,
        "-n",
        "4",
        "--width",
        "2",
        "--verifier",
        "arith",
        "--stall-timeout",
        "0.5",
        "--seed",
        "1",
    ];
    a.extend_from_slice(extra);
    a
}

async fn server(faults: Faults) -> (TestServer, String) {
    let server = TestServer::start(ServerConfig { faults, ..ServerConfig::default() }).await;
    let host = with_secret(&server.url);
    (server, host)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_strategy_survives_one_stalled_candidate() {
    for strategy in STRATEGIES {
        let (_server, host) = server(Faults::on_chat(ChatFault::StallMidStream, &[1])).await;
        let o = ttc(&run_args(&host, strategy, &[]), Duration::from_secs(15)).await;
        assert_clean(&o, true);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{strategy}: {err}");
        assert!(err.contains("stalled") && err.contains("***@127.0.0.1"), "{strategy}: {err}");
        assert!(text(&o.stdout).contains("selected: 5"), "{strategy}: {}", text(&o.stdout));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_strategy_survives_a_broken_candidate_in_json_mode() {
    let faults = [
        ChatFault::HugeLine(3 << 20),
        ChatFault::Status(500, "text/html", html_page(500)),
        ChatFault::TruncatedJson,
        ChatFault::ResetMidStream,
    ];
    for (strategy, fault) in STRATEGIES.iter().zip(faults.iter().cycle()) {
        let (_server, host) = server(Faults { reset: true, ..Faults::on_chat(fault.clone(), &[0]) }).await;
        let o = ttc(&run_args(&host, strategy, &["--json"]), Duration::from_secs(15)).await;
        assert_clean(&o, false);
        assert_eq!(o.status.code(), Some(0), "{strategy} {fault:?}: {}", text(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["selected"], "5", "{strategy} {fault:?}");
        assert!(!v["run"]["generator"]["location"].as_str().unwrap().contains("secret"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_model_text_never_reaches_the_terminal_raw() {
    for strategy in STRATEGIES {
        let (_server, host) = server(Faults::on_chat(ChatFault::Hostile, &[])).await;
        let o = ttc(&run_args(&host, strategy, &[]), Duration::from_secs(15)).await;
        assert_clean(&o, true);
        assert_eq!(o.status.code(), Some(0), "{strategy}: {}", text(&o.stderr));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_answer_never_reaches_the_terminal_raw() {
    let (_server, host) = server(Faults::on_chat(ChatFault::Answer(HOSTILE.into()), &[])).await;
    let o = ttc(&run_args(&host, "best-of-n", &[]), Duration::from_secs(15)).await;
    assert_clean(&o, true);
    let o = ttc(&run_args(&host, "best-of-n", &["--json"]), Duration::from_secs(15)).await;
    assert_clean(&o, false);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_error_line_is_shown_cut_and_without_escapes() {
    let long = format!("{HOSTILE}{}", "<p>oops</p>".repeat(500));
    let (_server, host) = server(Faults::on_chat(ChatFault::ErrorLine(long), &[0])).await;
    let o = ttc(&run_args(&host, "best-of-n", &[]), Duration::from_secs(15)).await;
    assert_clean(&o, true);
    assert!(o.stderr.len() < 4000, "{}", text(&o.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn run_and_models_give_up_on_a_silent_server_naming_it() {
    let silent = SilentServer::start().await;
    let host = with_secret(&silent.url);
    for args in [
        vec!["models", "--host", &host, "--stall-timeout", "0.5"],
        vec!["run", "--backend", "ollama", "--host", &host, "--stall-timeout", "0.5", "--problem", "1+1?"],
    ] {
        let o = ttc(&args, Duration::from_secs(8)).await;
        assert_clean(&o, true);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains("did not answer") && err.contains("***@127.0.0.1"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn auto_falls_back_to_the_embedded_model_when_the_server_is_silent() {
    let silent = SilentServer::start().await;
    let host = with_secret(&silent.url);
    let o = ttc(&["run", "--backend", "auto", "--host", &host, "-n", "2", "--json"], Duration::from_secs(30))
        .await;
    assert_clean(&o, false);
    let err = text(&o.stderr);
    assert!(err.contains("did not answer within") && err.contains("embedded pocket model"), "{err}");
    assert!(err.contains("***@127.0.0.1"), "{err}");
    assert_eq!(o.status.code(), Some(0), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn models_hangs_on_tags_and_html_pages_end_clearly() {
    for fault in
        [PathFault::Hang, PathFault::HeadersThenNothing, PathFault::Reply(500, "text/html", html_page(500))]
    {
        let (_server, host) = server(Faults::on_path("/api/tags", fault.clone())).await;
        let o = ttc(&["models", "--host", &host, "--stall-timeout", "0.5"], Duration::from_secs(8)).await;
        assert_clean(&o, true);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{fault:?}: {err}");
        assert!(err.contains("***@127.0.0.1") && err.len() < 1500, "{fault:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn models_shows_hostile_names_safely_and_json_keeps_them() {
    let evil = format!("evil{HOSTILE}:latest");
    let cfg = ServerConfig { models: vec!["tiny-math".into(), evil.clone()], ..ServerConfig::default() };
    let server = TestServer::start(cfg).await;
    let host = with_secret(&server.url);
    let o = ttc(&["models", "--host", &host], Duration::from_secs(8)).await;
    assert_clean(&o, true);
    let out = text(&o.stdout);
    assert!(out.contains("evil␛[2J"), "{out}");
    assert!(text(&o.stderr).contains("plain HTTP"), "{}", text(&o.stderr));
    let o = ttc(&["models", "--host", &host, "--json"], Duration::from_secs(8)).await;
    assert_clean(&o, false);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.as_array().unwrap().iter().any(|m| m["name"] == evil.as_str()), "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_never_reach_json_events_or_stderr() {
    let (server, host) = server(Faults::default()).await;
    for mode in ["--json", "--events"] {
        let o = ttc(&run_args(&host, "best-of-n", &[mode]), Duration::from_secs(15)).await;
        assert_clean(&o, false);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        assert!(text(&o.stdout).contains("***@127.0.0.1"), "{}", text(&o.stdout));
        assert!(text(&o.stderr).contains("credentials") && text(&o.stderr).contains("plain HTTP"));
    }
    assert!(server.chat_requests().len() >= 8);
    assert!(server.requests().iter().all(|r| r.authorization.as_deref() == Some("Basic dXNlcjpzZWNyZXQ=")));
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_in_ollama_host_are_hidden_too() {
    let (_server, host) = server(Faults::default()).await;
    let args = [
        "run",
        "--backend",
        "ollama",
        "--model",
        "tiny-math",
        "--problem",
        "What is 2 + 3?",
        "-n",
        "2",
        "--json",
    ];
    let o = ttc_with_host_env(&args, Some(&host), Duration::from_secs(15)).await;
    assert_clean(&o, false);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["run"]["generator"]["location"].as_str().unwrap().starts_with("http://***@127.0.0.1"), "{v}");
    let o = ttc_with_host_env(&["models"], Some(&host), Duration::from_secs(8)).await;
    assert_clean(&o, true);
    assert!(text(&o.stderr).contains("credentials for http://***@127.0.0.1"), "{}", text(&o.stderr));
}

//! The `http` verifier in runs: `ttc run` and `ttc bench` on the embedded model with steps
//! scored by the local PRM server; the URL from the flag, `TTC_VERIFIER_URL` or the config;
//! a server that is down (steps unscored, the run finishes, no credentials shown); a bad or
//! missing URL.

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use serde_json::Value;

use super::prm_server::PrmServer;

/// Run `ttc` with `args` and extra environment, isolated from the user's config.
async fn ttc_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let home = std::env::temp_dir().join(format!("ttc-httprun-home-{}", std::process::id()));
    let run = tokio::task::spawn_blocking(move || {
        super::isolated::command(&home).args(&args).envs(env).output().unwrap()
    });
    tokio::time::timeout(Duration::from_secs(60), run).await.expect("ttc finishes").unwrap()
}

async fn ttc(args: &[&str]) -> Output {
    ttc_env(args, &[]).await
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn events(o: &Output) -> Vec<Value> {
    stdout(o).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == kind).collect()
}

const POCKET_RUN: [&str; 9] =
    ["run", "--backend", "pocket", "-n", "2", "--events", "--no-trace", "--verifier", "http"];

#[tokio::test(flavor = "multi_thread")]
async fn a_run_scores_its_steps_through_the_http_verifier() {
    let server = PrmServer::start().await;
    let url = format!("{}/good", server.url);
    let mut args = POCKET_RUN.to_vec();
    args.extend(["--verifier-url", &url]);
    let o = ttc(&args).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let ev = events(&o);
    let started = &ev[0];
    assert_eq!(started["verifier"], format!("http {url}"));
    assert_eq!(started["config"]["verifier"], "http");
    assert_eq!(started["config"]["aggregation"], "last");
    assert_eq!(started["config"]["aggregation_chosen"], false);
    let scored = of_kind(&ev, "step_scored");
    let completed = of_kind(&ev, "step_completed");
    assert!(!scored.is_empty() && scored.len() == completed.len(), "{} vs {}", scored.len(), completed.len());
    // The server scores a step 0.9 unless it says "wrong" or "skip" (pocket steps say neither).
    assert!(scored.iter().all(|e| e["score"]["score"] == 0.9), "{scored:?}");
    for f in of_kind(&ev, "node_finished") {
        assert_eq!(f["score"], 0.9, "{f}");
    }
    // Every scoring call posted the run's problem and the steps so far.
    let seen = server.seen();
    assert_eq!(seen.len(), scored.len());
    let problem = started["problem"]["text"].as_str().unwrap();
    assert!(seen.iter().all(|r| r.path == "/good" && r.body["problem"] == problem));
    assert!(seen.iter().any(|r| r.body["steps"].as_array().unwrap().len() > 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_url_comes_from_the_environment_or_the_config() {
    let server = PrmServer::start().await;
    let url = format!("{}/good", server.url);
    let o = ttc_env(&POCKET_RUN, &[("TTC_VERIFIER_URL", &url)]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(events(&o)[0]["verifier"], format!("http {url}"));

    let dir = std::env::temp_dir().join(format!("ttc-httprun-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config: PathBuf = dir.join("config.toml");
    std::fs::write(&config, format!("verifier_url = \"{url}\"\n[run]\nverifier = \"http\"\n")).unwrap();
    let args = [
        "run",
        "--config",
        config.to_str().unwrap(),
        "--backend",
        "pocket",
        "-n",
        "1",
        "--events",
        "--no-trace",
    ];
    let o = ttc(&args).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let ev = events(&o);
    assert_eq!(ev[0]["verifier"], format!("http {url}"));
    assert!(of_kind(&ev, "step_scored").iter().all(|e| e["score"]["score"] == 0.9));
    // The flag wins over both.
    let mut flagged = POCKET_RUN.to_vec();
    let other = format!("{}/good?from=flag", server.url);
    flagged.extend(["--verifier-url", &other]);
    let o = ttc_env(&flagged, &[("TTC_VERIFIER_URL", &url)]).await;
    assert_eq!(events(&o)[0]["verifier"], format!("http {other}"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_server_down_steps_are_unscored_and_the_run_finishes() {
    // Nothing listens on port 1.
    let url = "http://me:secret@127.0.0.1:1/score";
    let mut args = POCKET_RUN.to_vec();
    args.extend(["--verifier-url", url]);
    let o = ttc(&args).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let ev = events(&o);
    assert_eq!(ev.last().unwrap()["event"], "run_finished");
    assert_eq!(ev[0]["verifier"], "http http://***@127.0.0.1:1/score");
    let scored = of_kind(&ev, "step_scored");
    assert!(!scored.is_empty());
    for e in &scored {
        assert_eq!(e["score"]["score"], Value::Null, "{e}");
        let why = e["score"]["unscored"].as_str().unwrap();
        assert!(why.contains("the http verifier at http://***@127.0.0.1:1/score: cannot reach it"), "{why}");
    }
    assert_eq!(of_kind(&ev, "node_finished").len(), 2);
    assert!(of_kind(&ev, "node_failed").is_empty());
    assert!(!stdout(&o).contains("secret") && !stderr(&o).contains("secret"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_or_missing_url_is_refused_before_the_run() {
    for (url, says) in [
        (Some("not a url"), "--verifier-url not a url: not a URL"),
        (Some("ftp://me:secret@host/x"), "expected an http:// or https:// URL"),
        (None, "--verifier http needs --verifier-url URL"),
    ] {
        let mut args = POCKET_RUN.to_vec();
        if let Some(u) = url {
            args.extend(["--verifier-url", u]);
        }
        let o = ttc(&args).await;
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{url:?}: {e}");
        assert!(e.contains(says), "{url:?}: {e}");
        assert!(!e.contains("secret"), "{e}");
        assert!(stdout(&o).is_empty(), "{url:?}: nothing ran");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bench_takes_the_http_verifier() {
    let server = PrmServer::start().await;
    let url = format!("{}/good", server.url);
    let out = std::env::temp_dir().join(format!("ttc-httprun-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let args = [
        "bench",
        "--backend",
        "pocket",
        "--dataset",
        "pocket",
        "--problems",
        "1",
        "--strategies",
        "best-of-n:weighted",
        "--budgets",
        "2",
        "--verifier",
        "http",
        "--verifier-url",
        &url,
        "--out",
        out.to_str().unwrap(),
    ];
    let o = ttc(&args).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("bench.json")).unwrap()).unwrap();
    assert_eq!(config["verifier"], format!("http {url}"));
    assert_eq!(config["aggregation"], "last");
    assert!(!server.seen().is_empty());
    let _ = std::fs::remove_dir_all(&out);
}

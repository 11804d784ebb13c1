//! `ttc verifier eval` end to end: ProcessBench's metrics from the arithmetic checker on real
//! items, resuming, refusing to mix runs, bad input, verifiers that cannot be measured, and
//! the `http` verifier against a local server (good scores, a wrong count, a 500, a stall,
//! credentials in the URL).

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;
use ttc::problem::Problem;
use ttc::verify::{HttpVerifier, ScoreRequest, Verifier, VerifyError};

use super::prm_server::PrmServer;

/// Seven real ProcessBench (GSM8K) items: three with a wrong step, three all correct, one on
/// which the arithmetic checker finds no claim at all.
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/processbench_small.json");

/// Run `ttc` with `args`, isolated from the user's config and environment.
async fn ttc(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let home = std::env::temp_dir().join(format!("ttc-lab-home-{}", std::process::id()));
    let run =
        tokio::task::spawn_blocking(move || super::isolated::command(&home).args(&args).output().unwrap());
    tokio::time::timeout(Duration::from_secs(60), run).await.expect("ttc finishes").unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub(super) fn fresh_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ttc-lab-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

pub(super) fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

pub(super) fn items(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("items.jsonl")).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn metrics(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn arith_on_real_items_gives_processbench_metrics_and_resumes() {
    let out = fresh_dir("arith");
    let args = ["verifier", "eval", "--processbench", FIXTURE, "--verifier", "arith", "--out", s(&out)];
    let o = ttc(&args).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let table = stdout(&o);
    assert!(table.contains("7 (3 erroneous, 3 correct, 1 unscored)"), "{table}");
    assert!(table.contains("66.7% (2/3)"), "{table}");
    assert!(stderr(&o).contains("7 scored now, 0 from an earlier run"), "{}", stderr(&o));

    let lines = items(&out);
    let got: Vec<(String, Value, i64)> = lines
        .iter()
        .map(|l| {
            (l["id"].as_str().unwrap().to_string(), l["predicted"].clone(), l["label"].as_i64().unwrap())
        })
        .collect();
    let want = [
        ("gsm8k-0", Value::from(-1), 1),
        ("gsm8k-2", Value::from(1), 1),
        ("gsm8k-26", Value::Null, 0),
        ("gsm8k-36", Value::from(3), 3),
        ("gsm8k-202", Value::from(-1), -1),
        ("gsm8k-221", Value::from(-1), -1),
        ("gsm8k-258", Value::from(1), -1),
    ];
    assert_eq!(got, want.map(|(i, p, l)| (i.to_string(), p, l)).to_vec());
    assert_eq!(lines[1]["scores"], serde_json::json!([1.0, 0.0, 1.0, null]));

    let m = metrics(&out);
    assert_eq!((m["items"].as_u64(), m["unscored"].as_u64()), (Some(7), Some(1)));
    let f = |k: &str| m[k].as_f64().unwrap();
    assert!((f("error_acc") - 2.0 / 3.0).abs() < 1e-9 && (f("correct_acc") - 2.0 / 3.0).abs() < 1e-9);
    assert!((f("f1") - 2.0 / 3.0).abs() < 1e-9, "{m}");
    // 7 correct steps (six score 1, one 0) against 3 first-wrong steps (one 1, two 0): 16/21.
    assert_eq!(
        (m["step_auroc"]["positives"].as_u64(), m["step_auroc"]["negatives"].as_u64()),
        (Some(7), Some(3))
    );
    assert!((m["step_auroc"]["value"].as_f64().unwrap() - 16.0 / 21.0).abs() < 1e-9, "{m}");
    let sweep = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert_eq!(sweep.lines().count(), 20, "{sweep}");
    assert!(sweep.starts_with("threshold,error_acc,correct_acc,f1\n0.05,0.6667,0.6667,0.6667\n"), "{sweep}");

    // Run again: nothing is scored twice.
    let again = ttc(&args).await;
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(stderr(&again).contains("0 scored now, 7 from an earlier run"), "{}", stderr(&again));
    assert_eq!(items(&out).len(), 7);

    // A last line cut short by an interruption is dropped and its item scored again.
    let path = out.join("items.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let cut = text.trim_end().rfind('\n').unwrap() + 20;
    std::fs::write(&path, &text[..cut]).unwrap();
    let resumed = ttc(&args).await;
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    assert!(stderr(&resumed).contains("1 scored now, 6 from an earlier run"), "{}", stderr(&resumed));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);

    // Another verifier or another file: refused, naming what differs.
    let other = ttc(&[
        "verifier",
        "eval",
        "--processbench",
        FIXTURE,
        "--verifier",
        "http",
        "--verifier-url",
        "http://me:secret@127.0.0.1:9/x",
        "--out",
        s(&out),
    ])
    .await;
    assert_eq!(other.status.code(), Some(1));
    let e = stderr(&other);
    assert!(e.contains("the verifier (was arith, now http http://***@127.0.0.1:9/x)"), "{e}");
    assert!(!e.contains("secret"), "{e}");
    let copy = out.with_extension("json");
    std::fs::write(&copy, std::fs::read_to_string(FIXTURE).unwrap().replace("gsm8k-0", "gsm8k-0b")).unwrap();
    let moved =
        ttc(&["verifier", "eval", "--processbench", s(&copy), "--verifier", "arith", "--out", s(&out)]).await;
    assert_eq!(moved.status.code(), Some(1));
    assert!(stderr(&moved).contains("the input file (was"), "{}", stderr(&moved));
    let _ = std::fs::remove_file(copy);

    // --limit takes the first items; the directory's other scores stay but are not counted.
    let limited = ttc(&[&args[..], &["--limit", "2", "--threshold", "0.05"]].concat()).await;
    assert_eq!(limited.status.code(), Some(0), "{}", stderr(&limited));
    assert!(stdout(&limited).contains("2 (2 erroneous, 0 correct, 0 unscored)"), "{}", stdout(&limited));
    assert_eq!(metrics(&out)["threshold"].as_f64(), Some(0.05));
    assert_eq!(items(&out).len(), 7);
    let _ = std::fs::remove_dir_all(&out);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_named_and_skipped_or_refused() {
    let out = fresh_dir("bad");
    let dir = fresh_dir("bad-input");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("items.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"id":"a","problem":"p","steps":["2 + 2 = 4","3 * 3 = 10"],"label":1}"#,
            "\n",
            r#"{"id":"b","problem":"p","steps":["1 + 1 = 2"]}"#,
            "\n",
            r#"{"id":"c","problem":"p","steps":["1 + 1 = 2"],"label":-1}"#,
            "\n"
        ),
    )
    .unwrap();
    let o =
        ttc(&["verifier", "eval", "--processbench", s(&file), "--verifier", "arith", "--out", s(&out)]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains(&format!("{}: line 2: (id b) missing `label`; skipped", file.display())), "{e}");
    assert!(stdout(&o).contains("2 (1 erroneous, 1 correct, 0 unscored)"), "{}", stdout(&o));
    assert!(stdout(&o).contains("100.0% (1/1)"), "{}", stdout(&o));

    let prose = dir.join("prose.json");
    std::fs::write(&prose, "Sue lives in a fun neighborhood.").unwrap();
    let o = ttc(&["verifier", "eval", "--processbench", s(&prose), "--verifier", "arith", "--out", s(&out)])
        .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("prose.json is not JSON"), "{}", stderr(&o));

    let empty = dir.join("empty.json");
    std::fs::write(&empty, "\n").unwrap();
    let o = ttc(&["verifier", "eval", "--processbench", s(&empty), "--verifier", "arith", "--out", s(&out)])
        .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("empty.json is empty"), "{}", stderr(&o));

    let missing = dir.join("missing.json");
    let o =
        ttc(&["verifier", "eval", "--processbench", s(&missing), "--verifier", "arith", "--out", s(&out)])
            .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot read") && stderr(&o).contains("--processbench"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn verifiers_that_cannot_be_measured_here_say_why() {
    let out = fresh_dir("refuse");
    for (verifier, says) in [
        ("prm", "the embedded pocket PRM reads only the pocket task's arithmetic chains"),
        ("oracle", "the oracle has nothing to measure here"),
        ("none", "the none verifier scores no step"),
        ("http", "--verifier http needs --verifier-url"),
    ] {
        let o =
            ttc(&["verifier", "eval", "--processbench", FIXTURE, "--verifier", verifier, "--out", s(&out)])
                .await;
        assert_eq!(o.status.code(), Some(1), "{verifier}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{verifier}: {}", stderr(&o));
        assert!(!out.join("items.jsonl").exists(), "{verifier} scored something");
    }
    let o =
        ttc(&["verifier", "eval", "--processbench", FIXTURE, "--verifier", "prm", "--out", s(&out)]).await;
    assert!(
        stderr(&o).contains("7 of the 7 problems") && stderr(&o).contains("id gsm8k-0"),
        "{}",
        stderr(&o)
    );
}

/// A file whose steps tell the local server what to answer.
fn http_fixture(name: &str) -> PathBuf {
    let dir = fresh_dir(name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("items.json");
    std::fs::write(
        &file,
        r#"[{"id":"x","problem":"Add them.","steps":["fine","wrong here","skip","fine"],"label":1},
            {"id":"y","problem":"Again.","steps":["fine","fine"],"label":-1},
            {"id":"z","problem":"None.","steps":["skip"],"label":0}]"#,
    )
    .unwrap();
    file
}

#[tokio::test(flavor = "multi_thread")]
async fn the_http_verifier_scores_through_a_local_server() {
    let server = PrmServer::start().await;
    let file = http_fixture("http-good");
    let out = fresh_dir("http-good-out");
    let url = format!("{}/good", server.url);
    let o = ttc(&[
        "verifier",
        "eval",
        "--processbench",
        s(&file),
        "--verifier",
        "http",
        "--verifier-url",
        &url,
        "--out",
        s(&out),
    ])
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines = items(&out);
    assert_eq!(lines[0]["scores"], serde_json::json!([0.9, 0.1, null, 0.9]));
    assert_eq!((lines[0]["predicted"].as_i64(), lines[1]["predicted"].as_i64()), (Some(1), Some(-1)));
    assert_eq!(lines[2]["predicted"], Value::Null);
    assert!(stdout(&o).contains("3 (1 erroneous, 1 correct, 1 unscored)"), "{}", stdout(&o));
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    let x = seen.iter().find(|r| r.body["problem"] == "Add them.").expect("item x was posted");
    assert_eq!(x.body["steps"], serde_json::json!(["fine", "wrong here", "skip", "fine"]));
    assert_eq!(metrics(&out)["verifier"].as_str(), Some(format!("http {url}").as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn http_verifier_failures_name_the_url_without_credentials() {
    let server = PrmServer::start().await;
    let file = http_fixture("http-bad");
    let with_creds = server.url.replace("http://", "http://me:secret@");
    for (path, says) in [
        ("/short", "sent 4 steps but got 3 scores".to_string()),
        ("/range", "outside [0, 1]".to_string()),
        ("/fail", "HTTP 500 Internal Server Error: model crashed".to_string()),
        ("/stall", "no reply within 0.5 s".to_string()),
    ] {
        let out = fresh_dir(&format!("http-bad{}", path.replace('/', "-")));
        let url = format!("{with_creds}{path}");
        let o = ttc(&[
            "verifier",
            "eval",
            "--stall-timeout",
            "0.5",
            "--processbench",
            s(&file),
            "--verifier",
            "http",
            "--verifier-url",
            &url,
            "--out",
            s(&out),
        ])
        .await;
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{path}: {e}");
        assert!(e.contains(&says), "{path}: {e}");
        assert!(
            e.contains(&format!("the http verifier at {}", url.replace("me:secret", "***"))),
            "{path}: {e}"
        );
        assert!(!e.contains("secret") && !e.contains('\x1b') && !e.contains('\x07'), "{path}: {e}");
        assert!(e.contains("could not be scored") && e.contains("run the same command again"), "{path}: {e}");
        if path == "/fail" {
            assert!(!e.contains(&"x".repeat(400)), "the body is cut: {e}");
        }
        let _ = std::fs::remove_dir_all(&out);
    }
    // The credentials went to the server (as basic auth), never to the output.
    assert!(server
        .seen()
        .iter()
        .all(|r| r.authorization.as_deref().is_some_and(|a| a.starts_with("Basic "))));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_http_verifier_scores_a_prefix_and_can_be_cancelled() {
    let server = PrmServer::start().await;
    let problem = Problem::inline("p", None);
    let steps: Vec<String> = ["fine", "wrong", "fine"].map(String::from).to_vec();
    let v = HttpVerifier::new(&format!("{}/good", server.url), Duration::from_secs(5)).unwrap();
    let req = ScoreRequest { problem: &problem, steps: &steps, start: 1, finished: false, logprobs: None };
    let scores = v.score(req, CancellationToken::new()).await.unwrap();
    assert_eq!(scores.iter().map(|s| s.score).collect::<Vec<_>>(), [Some(0.1), Some(0.9)]);
    let stall = HttpVerifier::new(&format!("{}/stall", server.url), Duration::from_secs(30)).unwrap();
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        c.cancel();
    });
    let r =
        tokio::time::timeout(Duration::from_secs(5), stall.score(req, cancel)).await.expect("cancel ends it");
    assert_eq!(r.unwrap_err(), VerifyError::Cancelled);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_judge_is_measured_through_an_ollama_server() {
    let server = super::ollama_server::TestServer::start(super::ollama_server::ServerConfig::default()).await;
    let out = fresh_dir("judge");
    let o = ttc(&[
        "verifier",
        "eval",
        "--host",
        &server.url,
        "--processbench",
        FIXTURE,
        "--verifier",
        "judge",
        "--verifier-model",
        "judge",
        "--out",
        s(&out),
    ])
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The judge answers every step: no item is unscored.
    assert!(stdout(&o).contains("7 (4 erroneous, 3 correct, 0 unscored)"), "{}", stdout(&o));
    let lines = items(&out);
    assert_eq!(lines.len(), 7);
    assert!(lines.iter().all(|l| l["scores"].as_array().unwrap().iter().all(|s| s.is_number())), "{lines:?}");
    assert!(metrics(&out)["verifier"].as_str().unwrap().starts_with("judge judge"), "{}", metrics(&out));
    let _ = std::fs::remove_dir_all(&out);
}

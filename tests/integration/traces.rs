//! Traces end to end on the real binary: `ttc run` records one, `ttc replay --json` prints
//! what the run printed, `--no-trace` and `trace = false` record nothing, `ttc bench`
//! never records, `ttc traces` lists safely and `prune` deletes, `ttc replay` with no FILE
//! browses (an empty data dir is said without taking the terminal).

use std::path::{Path, PathBuf};

use super::ollama_server::{ServerConfig, TestServer};

use super::isolated::{ok, ttc};

/// A home of its own for one test: config and data directories inside it.
fn home(tag: &str) -> PathBuf {
    super::isolated::home(&format!("traces-{tag}"))
}

/// The traces recorded by default in `home`.
fn recorded(home: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(home.join("data/ttc/traces")) {
        Ok(r) => r.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn replay_json_equals_the_run_json() {
    let h = home("replay");
    for (i, strategy) in ["best-of-n", "beam", "revise"].iter().enumerate() {
        let file = h.join(format!("run-{i}.jsonl"));
        let f = file.to_str().unwrap();
        let run = ok(&ttc(
            &h,
            &["run", "--backend", "pocket", "-n", "4", "--strategy", strategy, "--json", "--trace", f],
        ));
        let replay = ok(&ttc(&h, &["replay", f, "--json"]));
        let (a, b): (serde_json::Value, serde_json::Value) =
            (serde_json::from_str(&run).unwrap(), serde_json::from_str(&replay).unwrap());
        assert!(a["candidates"].as_array().is_some_and(|c| !c.is_empty()), "{strategy}: {run}");
        assert_eq!(a, b, "{strategy}");
        assert_eq!(run, replay, "{strategy}: the same bytes");
    }
    // `--trace FILE` put them there, not in the data directory.
    assert!(recorded(&h).is_empty());
    std::fs::remove_dir_all(&h).ok();
}

#[test]
fn a_trace_cut_short_replays_what_it_holds_and_says_so() {
    let h = home("cut");
    let file = h.join("t.jsonl");
    let f = file.to_str().unwrap();
    ok(&ttc(&h, &["run", "--backend", "pocket", "-n", "2", "--trace", f]));
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.truncate(bytes.len() - 7);
    std::fs::write(&file, &bytes).unwrap();
    let o = ttc(&h, &["replay", f, "--text"]);
    let out = ok(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("the last line is cut short"), "{err}");
    assert!(out.contains("ends before the run finished"), "{out}");
    // A newer format is refused clearly.
    std::fs::write(&file, "{\"ttc_trace\":7,\"ttc_version\":\"9.9.9\"}\n").unwrap();
    let o = ttc(&h, &["replay", f, "--json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("upgrade ttc"), "{o:?}");
    std::fs::remove_dir_all(&h).ok();
}

#[test]
fn no_trace_and_trace_false_record_nothing_and_bench_never_records() {
    let h = home("off");
    ok(&ttc(&h, &["run", "--backend", "pocket", "-n", "2", "--no-trace"]));
    assert!(recorded(&h).is_empty());
    let config = h.join("ttc.toml");
    std::fs::write(&config, "trace = false\n").unwrap();
    ok(&ttc(&h, &["run", "--backend", "pocket", "-n", "2", "--config", config.to_str().unwrap()]));
    assert!(recorded(&h).is_empty());
    let out = h.join("bench");
    ok(&ttc(
        &h,
        &[
            "bench",
            "--backend",
            "pocket",
            "--dataset",
            "pocket:1",
            "--problems",
            "2",
            "--strategies",
            "best-of-n,beam",
            "--budgets",
            "1,2",
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    assert!(recorded(&h).is_empty(), "ttc bench recorded traces: {:?}", recorded(&h));
    // By default a run records one, and says where.
    let o = ttc(&h, &["run", "--backend", "pocket", "-n", "2"]);
    ok(&o);
    let traces = recorded(&h);
    assert_eq!(traces.len(), 1);
    assert!(String::from_utf8_lossy(&o.stderr).contains(&format!("ttc: trace: {}", traces[0].display())));
    std::fs::remove_dir_all(&h).ok();
}

#[test]
fn traces_lists_safely_and_prune_deletes() {
    let h = home("list");
    let o = ok(&ttc(&h, &["traces"]));
    assert!(o.contains("no traces yet"), "{o}");
    let hostile = "\x1b]0;pwned\x07\x1b[2J 一二三 Start at 2. Add 3.";
    ok(&ttc(&h, &["run", "--backend", "pocket", "-n", "2", "--problem", hostile, "--gold", "5"]));
    ok(&ttc(&h, &["run", "--backend", "pocket", "-n", "2", "--strategy", "beam"]));
    let list = ok(&ttc(&h, &["traces"]));
    assert!(!list.contains('\x1b') && !list.contains('\x07'), "{list:?}");
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 3, "{list}");
    // Newest first: the beam run, then the hostile one with its answer marked.
    assert!(lines[0].contains("beam") && lines[0].contains("pocket"), "{list}");
    assert!(lines[1].contains("best-of-n") && lines[1].contains("一二三"), "{list}");
    assert!(lines[1].contains('✓') || lines[1].contains('✗'), "{list}");
    assert!(lines[2].starts_with("2 traces in "), "{list}");

    let o = ttc(&h, &["traces", "prune"]);
    assert_eq!(o.status.code(), Some(2));
    let pruned = ok(&ttc(&h, &["traces", "prune", "--keep", "1"]));
    assert!(pruned.contains("deleted 1 traces"), "{pruned}");
    assert_eq!(recorded(&h).len(), 1);
    let pruned = ok(&ttc(&h, &["traces", "prune", "--older-than", "0"]));
    assert!(pruned.contains("deleted 1 traces"), "{pruned}");
    assert!(ok(&ttc(&h, &["traces"])).contains("no traces yet"));
    std::fs::remove_dir_all(&h).ok();
}

/// 64 candidates × 2,000 tokens from the local test server, recorded: the size is printed
/// (`cargo test --test integration trace_of_64 -- --nocapture`) and bounded.
#[tokio::test(flavor = "multi_thread")]
async fn the_trace_of_64_by_2000_tokens_is_small_and_replays() {
    let server = TestServer::start(ServerConfig::default()).await;
    let h = home("size");
    let file = h.join("big.jsonl");
    let (url, f) = (server.url.clone(), file.to_str().unwrap().to_string());
    let hh = h.clone();
    // The same run with and without its trace: the wall times are printed side by side.
    let (run, traced_ms, plain_ms) = tokio::task::spawn_blocking(move || {
        let args = |trace: &[&str]| -> (String, u128) {
            let mut a = vec![
                "run",
                "--backend",
                "ollama",
                "--host",
                &url,
                "--model",
                "bench",
                "--problem",
                "Add the numbers.",
                "--gold",
                "7",
                "-n",
                "64",
                "--max-tokens",
                "2000",
                "--verifier",
                "arith",
                "--concurrency",
                "64",
                "--json",
            ];
            a.extend_from_slice(trace);
            let started = std::time::Instant::now();
            let out = ok(&ttc(&hh, &a));
            (out, started.elapsed().as_millis())
        };
        let (run, traced_ms) = args(&["--trace", &f]);
        let (_, plain_ms) = args(&["--no-trace"]);
        (run, traced_ms, plain_ms)
    })
    .await
    .unwrap();
    eprintln!("64 x 2000 tokens: {traced_ms} ms with the trace, {plain_ms} ms without");
    let v: serde_json::Value = serde_json::from_str(&run).unwrap();
    assert_eq!(v["budget"]["policy_generated_tokens"], 128_000);
    let size = std::fs::metadata(&file).unwrap().len();
    let lines = std::fs::read_to_string(&file).unwrap().lines().count();
    eprintln!("trace of a 64 x 2000-token best-of-N run: {size} bytes, {lines} lines");
    // One line per token would be over 7 MB.
    assert!(size < 4 * 1024 * 1024, "{size}");
    let started = std::time::Instant::now();
    let replay = ok(&ttc(&h, &["replay", file.to_str().unwrap(), "--json"]));
    eprintln!("ttc replay --json of it: {} ms (process start included)", started.elapsed().as_millis());
    assert_eq!(run, replay);
    std::fs::remove_dir_all(&h).ok();
}

#[test]
fn an_unwritable_data_dir_warns_once_and_the_run_goes_on() {
    let h = home("unwritable");
    // The data directory is a file: no traces folder can be made in it.
    std::fs::write(h.join("data"), "not a folder").unwrap();
    let o = ttc(&h, &["run", "--backend", "pocket", "-n", "2", "--json"]);
    let out = ok(&o);
    assert!(out.contains("\"candidates\""), "{out}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches("cannot write the trace").count(), 1, "{err}");
    assert!(err.contains("the run goes on without it"), "{err}");
    std::fs::remove_dir_all(&h).ok();
}

#[test]
fn replay_with_no_file_browses_and_needs_a_terminal_only_when_there_are_traces() {
    let h = home("browse");
    let o = ttc(&h, &["replay"]);
    let out = ok(&o);
    assert!(out.contains("no traces yet in") && out.contains("records one"), "{out}");
    assert!(!out.contains('\x1b'), "the terminal was not taken: {out:?}");

    let traces = h.join("data/ttc/traces");
    std::fs::create_dir_all(&traces).unwrap();
    let asset = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/traces/01-greedy.jsonl");
    std::fs::copy(asset, traces.join("01-greedy.jsonl")).unwrap();
    let o = ttc(&h, &["replay"]);
    assert_eq!(o.status.code(), Some(1), "stdout: {}", String::from_utf8_lossy(&o.stdout));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("needs a terminal"), "{err}");
    let o = ttc(&h, &["replay", "--json"]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
}

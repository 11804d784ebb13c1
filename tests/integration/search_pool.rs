//! `ttc run --events` on the embedded model: beam search and DVTS finish at most N
//! solutions, and paths still open at max depth are completed rather than left without an answer.

/// Run `ttc` with `args`, isolated from the user's config and environment; stdout.
async fn events(args: &[&str]) -> Vec<serde_json::Value> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let home = std::env::temp_dir().join(format!("ttc-search-home-{}", std::process::id()));
    let out =
        tokio::task::spawn_blocking(move || super::isolated::command(&home).args(&args).output().unwrap())
            .await
            .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn run_events_show_a_pool_of_at_most_n_solutions() {
    for (strategy, n, width, depth) in
        [("beam", "4", "2", "4"), ("dvts", "6", "4", "2"), ("beam", "6", "4", "2")]
    {
        let ev = events(&[
            "run",
            "--backend",
            "pocket",
            "--strategy",
            strategy,
            "-n",
            n,
            "--width",
            width,
            "--depth",
            depth,
            "--seed",
            "1",
            "--events",
        ])
        .await;
        let what = format!("{strategy} N={n} M={width} depth={depth}");
        let n: usize = n.parse().unwrap();
        let finished: Vec<&serde_json::Value> = ev.iter().filter(|e| e["event"] == "node_finished").collect();
        assert!(!finished.is_empty() && finished.len() <= n, "{what}: {} finished", finished.len());
        for r in ev.iter().filter(|e| e["event"] == "round_finished") {
            assert!(r["finished"].as_u64().unwrap() as usize <= n, "{what}: {r}");
        }
        // The vote is over the pool and nothing else.
        let selection = ev.iter().find(|e| e["event"] == "selection").expect("a selection");
        let voters: usize = selection["answers"]
            .as_array()
            .map_or(0, |t| t.iter().map(|a| a["nodes"].as_array().map_or(0, Vec::len)).sum());
        assert!(voters <= finished.len(), "{what}: {selection}");
        // At max depth the open paths were completed, not left as they were.
        assert!(
            finished.iter().all(|f| ["stop", "length", "max_depth", "completed"]
                .contains(&f["done_reason"].as_str().unwrap_or(""))),
            "{what}"
        );
        assert_eq!(ev.last().unwrap()["event"], "run_finished", "{what}");
    }
}

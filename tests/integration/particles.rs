//! Particle filtering on the real binary: `ttc run --strategy particles` shows its weights and
//! resamplings in `--events` and `--json`, `ttc replay --json` prints what the run printed, and
//! its flags refuse values out of range.

use super::isolated::{home, ok, ttc};

#[test]
fn particles_show_weights_and_resamplings_in_events_and_json() {
    let h = home("particles");
    let base = ["run", "--backend", "pocket", "-n", "6", "--strategy", "particles", "--seed", "3"];
    let events = ok(&ttc(&h, &[&base[..], &["--events", "--no-trace"]].concat()));
    let lines: Vec<serde_json::Value> = events.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let weights: Vec<&serde_json::Value> = lines.iter().filter(|e| e["event"] == "weights").collect();
    let resampled: Vec<&serde_json::Value> = lines.iter().filter(|e| e["event"] == "resampled").collect();
    assert!(!weights.is_empty() && !resampled.is_empty(), "{events}");
    for w in &weights {
        let ws = w["weights"].as_array().unwrap();
        let sum: f64 = ws.iter().map(|p| p[1].as_f64().unwrap()).sum();
        assert!((sum - 1.0).abs() < 1e-9, "{w}");
        let ess = w["ess"].as_f64().unwrap();
        assert!(ess >= 1.0 - 1e-9 && ess <= ws.len() as f64 + 1e-9, "{w}");
    }
    // Threshold 1 (the default) resamples after every round that leaves a particle open.
    assert_eq!(resampled.len(), weights.len() - 1, "{events}");

    let file = h.join("particles.jsonl");
    let f = file.to_str().unwrap();
    let run = ok(&ttc(&h, &[&base[..], &["--json", "--trace", f]].concat()));
    let v: serde_json::Value = serde_json::from_str(&run).unwrap();
    assert_eq!(v["run"]["config"]["strategy"], "particles");
    let p = &v["particles"];
    assert_eq!(p["resamplings"].as_u64(), Some(resampled.len() as u64), "{run}");
    assert!(p["weights"].as_array().is_some_and(|w| w.len() == 6), "{run}");
    // Every copy is counted; the list holds the last ones (all of them in a run this short).
    let copies = p["copies"].as_array().map(Vec::len).unwrap_or(0);
    assert!(copies <= 256 && p["copies_total"].as_u64() == Some(copies as u64), "{run}");
    assert!(v["selected"].is_string(), "{run}");
    let replay = ok(&ttc(&h, &["replay", f, "--json"]));
    assert_eq!(run, replay, "replay prints what the run printed");
    std::fs::remove_dir_all(&h).ok();
}

#[test]
fn particle_flags_refuse_values_out_of_range() {
    let h = home("particles-flags");
    for (flag, bad, range) in [
        ("--particle-temp", "0", "0.05..=20"),
        ("--particle-temp", "21", "0.05..=20"),
        ("--ess-threshold", "1.5", "0..=1"),
    ] {
        let o = ttc(&h, &["run", "--backend", "pocket", "--strategy", "particles", flag, bad, "--json"]);
        assert_eq!(o.status.code(), Some(2), "{flag} {bad}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(range) && e.contains(flag), "{flag} {bad}: {e}");
    }
    let o = ttc(&h, &["run", "--backend", "pocket", "--strategy", "particles", "--resample", "stratified"]);
    assert_eq!(o.status.code(), Some(2));
    std::fs::remove_dir_all(&h).ok();
}

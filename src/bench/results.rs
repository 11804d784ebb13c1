//! The files a bench writes into its directory:
//!
//! - `bench.json`: the configuration ([`BenchConfig`]); a rerun into the same directory must
//!   match it, or it is refused naming the keys that differ.
//! - `results.jsonl`: one [`Record`] per problem × strategy × budget × seed, appended and
//!   flushed as each finishes. A rerun skips the lines already there; a last line cut short
//!   (a kill mid-write) is dropped and redone.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::resume::{append_after, check_identity, read_jsonl, IdentityWords};

/// One finished run: a line of `results.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The problem's id (`pocket:L3:1`, `bundled:math500:7`, `FILE:LINE`).
    pub problem: String,
    /// The strategy spec as given (`beam:m=4`).
    pub strategy: String,
    /// The nominal budget, in generation-equivalents.
    pub budget: usize,
    /// The seed index (the run's base seed is derived from it, see the runner).
    pub seed: u64,
    /// The selected answer.
    pub answer: Option<String>,
    /// Whether it equals the gold answer; null without one.
    pub correct: Option<bool>,
    /// Policy tokens generated.
    pub tokens: u64,
    /// Generation-equivalents the run measured.
    pub gen_equivalents: f64,
    /// Wall time of the run.
    pub wall_ms: u64,
    /// Mean verifier score over the finished candidates' final scores.
    pub mean_score: Option<f64>,
    /// Fraction of finished candidates whose answer equals gold; null without gold.
    pub pass_rate: Option<f64>,
    /// `--subsample`: mean accuracy of the selected answer over random subsets of B samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsample_accuracy: Option<f64>,
    /// `--subsample`: its variance over the subsets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsample_variance: Option<f64>,
    /// `--subsample`: how many subsets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsamples: Option<usize>,
    /// Adaptive-consistency: the samples the run drew (at most the budget).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<u32>,
}

/// What identifies one line: problem, strategy, budget, seed.
pub type Key = (String, String, usize, u64);

impl Record {
    /// The line's identity.
    pub fn key(&self) -> Key {
        (self.problem.clone(), self.strategy.clone(), self.budget, self.seed)
    }
}

/// `bench.json`: what a results directory holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchConfig {
    pub ttc_version: String,
    /// The dataset as given (`pocket`, `pocket:1-3`, `bundled:math500`, a file path).
    pub dataset: String,
    /// How many problems (the first K of the dataset).
    pub problems: usize,
    pub strategies: Vec<String>,
    pub budgets: Vec<usize>,
    pub seeds: Vec<u64>,
    /// The policy model (`pocket` on the embedded model).
    pub model: String,
    /// `pocket` or `ollama`.
    pub backend: String,
    /// The verifier's name (`pocket-prm`, `arith`, `judge:MODEL`).
    pub verifier: String,
    /// Settings that change results, beyond the keys above.
    #[serde(default)]
    pub temperature: f32,
    #[serde(default)]
    pub max_tokens: u32,
    #[serde(default)]
    pub aggregation: String,
    /// `--subsample K` (0: best-of-N runs once per budget).
    #[serde(default)]
    pub subsample: usize,
    /// `--confidence-window`, when the confidence verifier or the online cut-off reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence_window: Option<u32>,
    /// `--confidence-cutoff`, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence_cutoff: Option<f64>,
    /// `--n-per-request` on one OpenAI-compatible server: candidates' texts depend on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_per_request: Option<usize>,
}

impl BenchConfig {
    /// The keys whose values differ from `other`'s (the version is not compared).
    /// Whether `new` is this configuration with strategies added (every old one kept, in
    /// any order) and nothing else changed.
    pub fn is_extended_by(&self, new: &BenchConfig) -> bool {
        self.differing_keys(new) == ["strategies"]
            && self.strategies.iter().all(|s| new.strategies.contains(s))
    }

    pub fn differing_keys(&self, other: &BenchConfig) -> Vec<&'static str> {
        let mut keys = Vec::new();
        let mut check = |k: &'static str, same: bool| {
            if !same {
                keys.push(k);
            }
        };
        check("dataset", self.dataset == other.dataset);
        check("problems", self.problems == other.problems);
        check("strategies", self.strategies == other.strategies);
        check("budgets", self.budgets == other.budgets);
        check("seeds", self.seeds == other.seeds);
        check("model", self.model == other.model);
        check("backend", self.backend == other.backend);
        check("verifier", self.verifier == other.verifier);
        check("temperature", self.temperature == other.temperature);
        check("max_tokens", self.max_tokens == other.max_tokens);
        check("aggregation", self.aggregation == other.aggregation);
        check("subsample", self.subsample == other.subsample);
        check("confidence_window", self.confidence_window == other.confidence_window);
        check("confidence_cutoff", self.confidence_cutoff == other.confidence_cutoff);
        check("n_per_request", self.n_per_request == other.n_per_request);
        keys
    }
}

/// The results directory, opened for appending.
pub struct ResultsDir {
    pub dir: PathBuf,
    /// The lines already there.
    pub done: HashSet<Key>,
    /// Strategies this run added to the directory's configuration.
    pub added: Vec<String>,
    out: BufWriter<File>,
}

/// The configuration's file name in a results directory.
const CONFIG_FILE: &str = "bench.json";

/// The path of `bench.json` in `dir`.
pub fn config_path(dir: &Path) -> PathBuf {
    dir.join(CONFIG_FILE)
}

/// The path of `results.jsonl` in `dir`.
pub fn results_path(dir: &Path) -> PathBuf {
    dir.join("results.jsonl")
}

/// Read the records of a results file, ignoring a last line cut short: the records, and the
/// length in bytes of the part that holds them (where appending resumes).
pub fn read_records(path: &Path) -> Result<(Vec<Record>, u64), String> {
    read_jsonl(path, "a result record")
}

impl ResultsDir {
    /// Open (or create) `dir` for `config`: refuse a directory from another configuration,
    /// write `bench.json` when new, cut a broken last line off `results.jsonl`.
    pub fn open(dir: &Path, config: &BenchConfig) -> Result<ResultsDir, String> {
        // More strategies than the directory holds, all else the same: the new list is its
        // configuration from now on, and only the new strategies' lines are run.
        let mut added = Vec::new();
        if let Ok(text) = std::fs::read_to_string(config_path(dir)) {
            if let Ok(old) = serde_json::from_str::<BenchConfig>(&text) {
                if old.is_extended_by(config) {
                    added =
                        config.strategies.iter().filter(|s| !old.strategies.contains(s)).cloned().collect();
                    let text = serde_json::to_string_pretty(config).map_err(|e| e.to_string())?;
                    let path = config_path(dir);
                    std::fs::write(&path, text + "\n")
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                }
            }
        }
        let words = IdentityWords {
            file_is: "a bench configuration",
            holds: "results of another configuration",
            advice: "use another --out or the same settings",
            join: ", ",
        };
        check_identity(
            dir,
            CONFIG_FILE,
            config,
            |old, new| old.differing_keys(new).into_iter().map(String::from).collect(),
            &words,
        )?;
        let rpath = results_path(dir);
        let (records, good) = read_records(&rpath)?;
        let file = append_after(&rpath, good)?;
        Ok(ResultsDir {
            dir: dir.to_path_buf(),
            done: records.iter().map(Record::key).collect(),
            added,
            out: BufWriter::new(file),
        })
    }

    /// Append one record as a line and flush it.
    pub fn append(&mut self, record: &Record) -> Result<(), String> {
        let line = serde_json::to_string(record).map_err(|e| e.to_string())?;
        let path = results_path(&self.dir);
        let fail = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
        self.out.write_all(line.as_bytes()).map_err(fail)?;
        self.out.write_all(b"\n").map_err(fail)?;
        self.out.flush().map_err(fail)?;
        self.done.insert(record.key());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(problem: &str) -> Record {
        Record {
            problem: problem.into(),
            strategy: "beam:m=4".into(),
            budget: 4,
            seed: 0,
            answer: Some("12".into()),
            correct: Some(true),
            tokens: 100,
            gen_equivalents: 4.0,
            wall_ms: 5,
            mean_score: Some(0.5),
            pass_rate: None,
            subsample_accuracy: None,
            subsample_variance: None,
            subsamples: None,
            samples: None,
        }
    }

    fn config() -> BenchConfig {
        BenchConfig {
            ttc_version: "0".into(),
            dataset: "pocket".into(),
            problems: 2,
            strategies: vec!["beam:m=4".into()],
            budgets: vec![1, 2],
            seeds: vec![0],
            model: "pocket".into(),
            backend: "pocket".into(),
            verifier: "pocket-prm".into(),
            temperature: 0.8,
            max_tokens: 1024,
            aggregation: "last".into(),
            subsample: 0,
            confidence_window: None,
            n_per_request: None,
            confidence_cutoff: None,
        }
    }

    #[test]
    fn a_record_is_one_line_with_the_agreed_keys() {
        let v: serde_json::Value = serde_json::to_value(record("p")).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        for k in [
            "problem",
            "strategy",
            "budget",
            "seed",
            "answer",
            "correct",
            "tokens",
            "gen_equivalents",
            "wall_ms",
            "mean_score",
            "pass_rate",
        ] {
            assert!(keys.contains(&k), "{k}");
        }
        assert_eq!(v["pass_rate"], serde_json::Value::Null);
    }

    #[test]
    fn resume_drops_a_cut_short_last_line_and_refuses_another_config() {
        let dir = std::env::temp_dir().join(format!("ttc-bench-results-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut r = ResultsDir::open(&dir, &config()).unwrap();
        r.append(&record("a")).unwrap();
        r.append(&record("b")).unwrap();
        drop(r);
        let path = results_path(&dir);
        let full = std::fs::read_to_string(&path).unwrap();
        let cut = &full[..full.len() - 10];
        std::fs::write(&path, cut).unwrap();
        let r = ResultsDir::open(&dir, &config()).unwrap();
        assert_eq!(r.done.len(), 1);
        drop(r);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), full.lines().next().unwrap().to_string() + "\n");
        let other = BenchConfig { budgets: vec![1], seeds: vec![0, 1], ..config() };
        let e = ResultsDir::open(&dir, &other).err().unwrap();
        assert!(e.contains("differing: budgets, seeds"), "{e}");
        // Strategies added: accepted, and the directory's configuration says so; dropping one
        // is still another configuration.
        let mut more = config();
        more.strategies.push("beam:m=2".into());
        let r = ResultsDir::open(&dir, &more).unwrap();
        assert_eq!((r.done.len(), r.added.clone()), (1, vec!["beam:m=2".to_string()]));
        drop(r);
        let stored: BenchConfig =
            serde_json::from_str(&std::fs::read_to_string(config_path(&dir)).unwrap()).unwrap();
        assert_eq!(stored.strategies, more.strategies);
        let e = ResultsDir::open(&dir, &config()).err().unwrap();
        assert!(e.contains("differing: strategies"), "{e}");
        std::fs::write(&path, "{\"x\":1}\n{}\n").unwrap();
        assert!(ResultsDir::open(&dir, &more).err().unwrap().contains("line 1"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

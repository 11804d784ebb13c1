//! The output directory of `ttc verifier eval`: `run.json` (which verifier scored which
//! file), `items.jsonl` (one scored item per line, appended as they finish, so a run can be
//! resumed), and the summaries `metrics.json` and `sweep.csv`.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::items::ItemRecord;
use crate::resume::{append_after, check_identity, read_jsonl, IdentityWords};

/// What the scores in a directory belong to. A directory is resumed only with the same
/// verifier and the same file contents (the path may differ: a moved copy is the same data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// The verifier as named on the command line, with what changes its scores (the judge's
    /// model, the http verifier's URL with any credentials hidden).
    pub verifier: String,
    /// The input file, as given.
    pub file: String,
    /// FNV-1a of the file's bytes, hex.
    pub file_hash: String,
    /// What the items are: `processbench` (human step labels) or `traces` (ttc traces with
    /// gold answers, outcome labels only). A directory holds one kind only.
    #[serde(default = "processbench")]
    pub source: String,
}

fn processbench() -> String {
    "processbench".into()
}

impl Identity {
    /// The identity of scores by `verifier` of the file `file` with contents `bytes`.
    pub fn new(verifier: impl Into<String>, file: &Path, bytes: &[u8]) -> Self {
        Self {
            verifier: verifier.into(),
            file: file.display().to_string(),
            file_hash: format!("{:016x}", crate::hash::fnv1a(bytes)),
            source: processbench(),
        }
    }

    /// The identity of scores by `verifier` of items built from ttc traces: `files` names
    /// them, `bytes` is what the items were built from.
    pub fn traces(verifier: impl Into<String>, files: &str, bytes: &[u8]) -> Self {
        Self {
            verifier: verifier.into(),
            file: files.into(),
            file_hash: format!("{:016x}", crate::hash::fnv1a(bytes)),
            source: "traces".into(),
        }
    }

    /// What differs from `other`, in words; empty when the two match.
    pub fn differences(&self, other: &Identity) -> Vec<String> {
        let mut d = Vec::new();
        if self.source != other.source {
            d.push(format!(
                "the kind of items (was {}, now {}; a directory holds one kind)",
                self.source, other.source
            ));
        }
        if self.verifier != other.verifier {
            d.push(format!("the verifier (was {}, now {})", self.verifier, other.verifier));
        }
        if self.source == other.source && self.file_hash != other.file_hash {
            d.push(format!("the input file (was {}, now {}; the contents differ)", self.file, other.file));
        }
        d
    }
}

/// An open output directory: the items scored so far, and `items.jsonl` to append to.
pub struct EvalDir {
    dir: PathBuf,
    out: BufWriter<std::fs::File>,
}

/// The per-item results file's name in an eval directory.
pub const ITEMS_FILE: &str = "items.jsonl";

/// `DIR/items.jsonl`.
pub fn items_path(dir: &Path) -> PathBuf {
    dir.join(ITEMS_FILE)
}

impl EvalDir {
    /// Open (or create) `dir` for `identity`: refuse one that holds scores of another verifier
    /// or file (naming what differs), drop a cut-short last line of `items.jsonl`, and return
    /// the items already scored.
    pub fn open(dir: &Path, identity: &Identity) -> Result<(EvalDir, Vec<ItemRecord>), String> {
        let words = IdentityWords {
            file_is: "a verifier-eval run file",
            holds: "scores of another run",
            advice: "use another --out, or the same verifier and file",
            join: "; ",
        };
        check_identity(dir, "run.json", identity, |old, new| old.differences(new), &words)?;
        let path = items_path(dir);
        let (records, good) = read_jsonl::<ItemRecord>(&path, "an item record")?;
        let file = append_after(&path, good)?;
        Ok((EvalDir { dir: dir.to_path_buf(), out: BufWriter::new(file) }, records))
    }

    /// Append one item as a line and flush it.
    pub fn append(&mut self, record: &ItemRecord) -> Result<(), String> {
        let line = serde_json::to_string(record).map_err(|e| e.to_string())?;
        let path = items_path(&self.dir);
        let fail = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
        self.out.write_all(line.as_bytes()).map_err(fail)?;
        self.out.write_all(b"\n").map_err(fail)?;
        self.out.flush().map_err(fail)
    }

    /// Replace `items.jsonl` with `records` (written aside, then moved over it): the
    /// predictions then all follow the threshold of the latest run.
    pub fn rewrite(self, records: &[ItemRecord]) -> Result<(), String> {
        let path = items_path(&self.dir);
        let aside = self.dir.join("items.jsonl.new");
        let mut text = String::new();
        for r in records {
            text.push_str(&serde_json::to_string(r).map_err(|e| e.to_string())?);
            text.push('\n');
        }
        drop(self.out);
        std::fs::write(&aside, text).map_err(|e| format!("cannot write {}: {e}", aside.display()))?;
        std::fs::rename(&aside, &path).map_err(|e| format!("cannot replace {}: {e}", path.display()))
    }

    /// Write a summary file `name` into the directory.
    pub fn write(&self, name: &str, text: &str) -> Result<(), String> {
        let path = self.dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str) -> ItemRecord {
        ItemRecord { id: id.into(), predicted: Some(-1), label: -1, scores: vec![Some(1.0), None] }
    }

    #[test]
    fn resume_drops_a_cut_short_last_line_and_refuses_another_run() {
        let dir = std::env::temp_dir().join(format!("ttc-lab-dir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let id = Identity::new("arith", Path::new("a.json"), b"[1]");
        let (mut d, done) = EvalDir::open(&dir, &id).unwrap();
        assert!(done.is_empty());
        d.append(&record("x")).unwrap();
        d.append(&record("y")).unwrap();
        drop(d);
        let path = items_path(&dir);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"id\":\"z\",\"pred");
        std::fs::write(&path, &text).unwrap();
        let (mut d, done) = EvalDir::open(&dir, &id).unwrap();
        assert_eq!(done, vec![record("x"), record("y")]);
        d.append(&record("z")).unwrap();
        drop(d);
        let lines = std::fs::read_to_string(&path).unwrap();
        assert_eq!(lines.lines().count(), 3, "{lines}");
        assert!(lines.lines().all(|l| serde_json::from_str::<ItemRecord>(l).is_ok()), "{lines}");
        // Moved but the same contents: fine. Another verifier or other contents: refused.
        assert!(EvalDir::open(&dir, &Identity::new("arith", Path::new("b.json"), b"[1]")).is_ok());
        let e = EvalDir::open(&dir, &Identity::new("http http://***@h/", Path::new("c.json"), b"[2]"))
            .err()
            .unwrap();
        assert!(e.contains("the verifier (was arith, now http http://***@h/)"), "{e}");
        assert!(e.contains("the input file (was a.json, now c.json"), "{e}");
        // Scores of ProcessBench items refuse items built from traces, and the other way round.
        let e = EvalDir::open(&dir, &Identity::traces("arith", "assets/traces", b"[1]")).err().unwrap();
        assert!(e.contains("the kind of items (was processbench, now traces"), "{e}");
        assert!(!e.contains("the verifier"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

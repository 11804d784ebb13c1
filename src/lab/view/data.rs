//! What `ttc verifier view` reads from an eval directory: the scored items (`items.jsonl`),
//! which verifier scored which file (`run.json`), the threshold of the latest run
//! (`metrics.json`), and, when the ProcessBench file named in `run.json` is still there with
//! the same contents, each item's problem and steps. Everything that does not depend on τ
//! (the sweep's best row, step AUROC) is computed here once, with [`crate::lab::metrics`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::lab::dir::{items_path, Identity};
use crate::lab::items::{parse, ItemRecord};
use crate::lab::metrics::{best, step_auroc, sweep, Auroc, Scored, SweepRow};
use crate::safe::for_display;

/// An item's text from the original ProcessBench file.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub problem: String,
    pub steps: Vec<String>,
}

/// An eval directory, read.
#[derive(Debug, Clone)]
pub struct Data {
    /// The scored items, in the order of `items.jsonl`.
    pub records: Vec<ItemRecord>,
    /// The same items as the metrics take them.
    pub scored: Vec<Scored>,
    /// The verifier and file named in `run.json` (sanitized), when it is readable.
    pub verifier: Option<String>,
    pub file: Option<String>,
    /// The threshold of the latest eval run (`metrics.json`), when it is readable.
    pub threshold: Option<f64>,
    /// Problem and steps by item id, or why they cannot be shown (sanitized).
    pub texts: Result<HashMap<String, Text>, String>,
    /// The sweep's best row and step AUROC: independent of τ.
    pub best: Option<SweepRow>,
    pub auroc: Auroc,
    /// A cut-short last line of `items.jsonl` was left out.
    pub truncated: bool,
}

/// Read `items.jsonl`: every line an [`ItemRecord`]. A last line cut short (the eval is still
/// writing, or was interrupted) is left out; a broken line before it is an error naming the
/// file and line.
pub fn read_items(path: &Path) -> Result<(Vec<ItemRecord>, bool), String> {
    let shown = for_display(&path.display().to_string(), 200);
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let lines: Vec<(usize, &str)> = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).collect();
    let mut records = Vec::new();
    let mut truncated = false;
    for (k, (n, line)) in lines.iter().enumerate() {
        match serde_json::from_str::<ItemRecord>(line) {
            Ok(r) => records.push(r),
            Err(_) if k + 1 == lines.len() && !text.ends_with('\n') => truncated = true,
            Err(e) => {
                let e = for_display(&e.to_string(), 200);
                return Err(format!("{shown} line {} is not a scored item: {e}", n + 1));
            }
        }
    }
    Ok((records, truncated))
}

impl Data {
    /// Read the directory `dir` (which the caller has checked holds `items.jsonl`).
    pub fn load(dir: &Path) -> Result<Data, String> {
        let (records, truncated) = read_items(&items_path(dir))?;
        let scored: Vec<Scored> =
            records.iter().map(|r| Scored { label: r.label, scores: r.scores.clone() }).collect();
        let identity = read_identity(dir);
        let texts = match &identity {
            Ok(id) => read_texts(dir, id),
            Err(e) => Err(e.clone()),
        };
        let threshold = std::fs::read_to_string(dir.join("metrics.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v.get("threshold").and_then(serde_json::Value::as_f64))
            .filter(|t| (0.0..=1.0).contains(t));
        let rows = sweep(&scored);
        Ok(Data {
            best: best(&rows),
            auroc: step_auroc(&scored),
            verifier: identity.as_ref().ok().map(|i| for_display(&i.verifier, 80)),
            file: identity.as_ref().ok().map(|i| for_display(&i.file, 120)),
            records,
            scored,
            threshold,
            texts,
            truncated,
        })
    }

    /// The text of the item `id`, or why there is none.
    pub fn text(&self, id: &str) -> Result<&Text, String> {
        match &self.texts {
            Ok(map) => map.get(id).ok_or_else(|| {
                format!(
                    "item {} is not in {}",
                    for_display(id, 80),
                    self.file.as_deref().unwrap_or("the file")
                )
            }),
            Err(e) => Err(e.clone()),
        }
    }
}

fn read_identity(dir: &Path) -> Result<Identity, String> {
    let run = dir.join("run.json");
    let text = std::fs::read_to_string(&run)
        .map_err(|e| format!("{} cannot be read ({e}), so the ProcessBench file is unknown", shown(&run)))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not a verifier-eval run file ({e})", shown(&run)))
}

/// Where the file named in `run.json` may be: as given (relative to the working directory),
/// then relative to the eval directory and to its parent.
fn candidates(dir: &Path, file: &str) -> Vec<PathBuf> {
    let given = PathBuf::from(file);
    let mut out = vec![given.clone()];
    if given.is_relative() {
        out.push(dir.join(&given));
        if let Some(parent) = dir.parent() {
            out.push(parent.join(&given));
        }
    }
    out
}

/// The items' text by id, from the file `run.json` names, when its contents are the ones
/// that were scored.
fn read_texts(dir: &Path, id: &Identity) -> Result<HashMap<String, Text>, String> {
    let name = for_display(&id.file, 200);
    let Some(path) = candidates(dir, &id.file).into_iter().find(|p| p.is_file()) else {
        return Err(format!("{name} (the file the eval scored, named in run.json) is not there"));
    };
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {name}: {e}"))?;
    if Identity::new(&id.verifier, &path, &bytes).file_hash != id.file_hash {
        return Err(format!("{name} has changed since the eval (its contents differ)"));
    }
    let text = std::str::from_utf8(&bytes).map_err(|e| format!("{name} is not UTF-8 text: {e}"))?;
    let loaded = parse(text, &id.file).map_err(|e| for_display(&e, 300))?;
    Ok(loaded.items.into_iter().map(|i| (i.id, Text { problem: i.problem, steps: i.steps })).collect())
}

fn shown(p: &Path) -> String {
    for_display(&p.display().to_string(), 200)
}

//! Verifier-eval items from ttc traces: every finished candidate of a run whose problem has a
//! gold answer becomes one item, its steps (the whole path from the root for tree search), the
//! problem's text, and an outcome label: −1 when its final answer is correct, else
//! [`WRONG_STEP_UNKNOWN`] (a trace knows that the answer is wrong, not which step is).

use std::path::{Path, PathBuf};

use super::items::BenchItem;
use super::metrics::WRONG_STEP_UNKNOWN;
use crate::tree::{NodeView, RunTree};

/// The items built from some traces, what was skipped and why.
#[derive(Debug, Default)]
pub struct FromTraces {
    pub items: Vec<BenchItem>,
    /// Finished candidates of runs without a gold answer.
    pub no_gold: usize,
    /// Candidates that never finished (failed, cancelled, cut off, still streaming, or partial
    /// paths of tree search).
    pub unfinished: usize,
    /// Finished candidates with no steps (or a step whose text the trace lacks).
    pub no_steps: usize,
    /// `file:line: why` notes from the reader, and traces that could not be read at all.
    pub notes: Vec<String>,
}

/// The trace files named by `paths`: a file as given, a directory's `*.jsonl` files (not
/// recursive), sorted, each once. A path that does not exist is an error.
pub fn trace_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let entries = std::fs::read_dir(p)
                .map_err(|e| format!("cannot read the directory {}: {e}", p.display()))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && f.extension().is_some_and(|x| x == "jsonl"))
                .collect();
            found.sort();
            out.extend(found);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(format!(
                "{} does not exist (give trace files or directories of them to --traces)",
                p.display()
            ));
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    Ok(out)
}

/// Read every trace of `files` and build its items. A file that is not a readable trace is
/// skipped with a note, as a bad line is.
pub fn build(files: &[PathBuf]) -> FromTraces {
    let mut out = FromTraces::default();
    for f in files {
        match crate::trace::read(f) {
            Ok(trace) => {
                out.notes.extend(trace.notes.iter().cloned());
                add(&mut out, &f.display().to_string(), &trace.tree());
            }
            Err(e) => out.notes.push(format!("{e}; skipped")),
        }
    }
    out
}

/// Add the items of one run's tree; `name` (the trace file as given) starts their ids.
pub fn add(out: &mut FromTraces, name: &str, tree: &RunTree) {
    let problem = tree.info.as_ref().map(|i| &i.problem);
    for n in &tree.nodes {
        if n.done_reason.is_none() {
            out.unfinished += 1;
            continue;
        }
        let Some(problem) = problem.filter(|p| p.gold.is_some()) else {
            out.no_gold += 1;
            continue;
        };
        let Some(correct) = n.correct else {
            out.no_gold += 1;
            continue;
        };
        let Some(steps) = path_steps(tree, n) else {
            out.no_steps += 1;
            continue;
        };
        out.items.push(BenchItem {
            index: out.items.len(),
            id: format!("{name}#{}", n.node),
            problem: problem.text.clone(),
            steps,
            label: if correct { -1 } else { WRONG_STEP_UNKNOWN },
        });
    }
}

/// The steps of `node`'s whole path: its own, and where a tree-search child holds only its
/// new step, the earlier ones from its ancestors. `None` when it has none or a step's text is
/// missing everywhere.
fn path_steps(tree: &RunTree, node: &NodeView) -> Option<Vec<String>> {
    if node.steps.is_empty() {
        return None;
    }
    let mut steps = Vec::with_capacity(node.steps.len());
    for k in 0..node.steps.len() {
        let mut at = Some(node);
        let mut text = None;
        // Bounded walk: a malformed trace with a parent cycle cannot loop forever.
        for _ in 0..=tree.nodes.len() {
            let Some(n) = at else { break };
            if let Some(s) = n.steps.get(k).filter(|s| !s.text.trim().is_empty()) {
                text = Some(s.text.clone());
                break;
            }
            at = n.parent.and_then(|p| tree.nodes.iter().find(|m| m.node == p));
        }
        steps.push(text?);
    }
    Some(steps)
}

/// The items as JSONL in ProcessBench's shape ({id, problem, steps, label}): the file the
/// output directory keeps, so its scores can be resumed and viewed.
pub fn to_jsonl(items: &[BenchItem]) -> String {
    let mut s = String::new();
    for i in items {
        let v = serde_json::json!({"id": i.id, "problem": i.problem, "steps": i.steps, "label": i.label});
        s.push_str(&v.to_string());
        s.push('\n');
    }
    s
}

/// The name of that file inside the output directory.
pub const ITEMS_FROM_TRACES: &str = "trace-items.jsonl";

/// `DIR/trace-items.jsonl`.
pub fn items_file(dir: &Path) -> PathBuf {
    dir.join(ITEMS_FROM_TRACES)
}

#[cfg(test)]
#[path = "traces_tests.rs"]
mod tests;

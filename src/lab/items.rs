//! ProcessBench items in (a JSON array or JSONL file), and one scored item out (a line of
//! `items.jsonl`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::safe::for_display;

/// One ProcessBench item: a problem, its solution split into steps, and the human label.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchItem {
    /// Position in the file (0-based), for messages.
    pub index: usize,
    pub id: String,
    pub problem: String,
    pub steps: Vec<String>,
    /// Index of the first wrong step, −1 when every step is correct, −2 when the item is
    /// wrong but the step is unknown (built from a trace).
    pub label: i64,
}

/// The readable items of a file, and a message for each one that was skipped.
#[derive(Debug, Default)]
pub struct Loaded {
    pub items: Vec<BenchItem>,
    pub skipped: Vec<String>,
}

/// Longest piece of the file quoted in a message.
const QUOTE_CHARS: usize = 80;

/// Read `text` (the contents of the file `name`): a JSON array of items, or one item per
/// line. An item that is not readable is skipped with a message naming the file and the
/// item (index and id); a file with nothing readable is an error.
pub fn parse(text: &str, name: &str) -> Result<Loaded, String> {
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Err(format!("{name} is empty: expected ProcessBench items (a JSON array or JSONL)"));
    }
    let mut loaded = Loaded::default();
    let values: Vec<(String, Result<Value, String>)> = if trimmed.starts_with('[') {
        match serde_json::from_str::<Vec<Value>>(trimmed) {
            Ok(v) => v.into_iter().enumerate().map(|(i, v)| (format!("item {i}"), Ok(v))).collect(),
            Err(e) => {
                return Err(format!(
                    "{name} is not JSON: {e} (expected a JSON array of ProcessBench items, or JSONL)"
                ))
            }
        }
    } else {
        let lines: Vec<(String, Result<Value, String>)> = trimmed
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(n, l)| {
                (format!("line {}", n + 1), serde_json::from_str::<Value>(l).map_err(|e| e.to_string()))
            })
            .collect();
        if lines.iter().all(|(_, v)| v.is_err()) {
            if serde_json::from_str::<Value>(trimmed).is_ok() {
                return Err(format!(
                    "{name} is JSON but neither a JSON array of ProcessBench items nor one item per line (JSONL)"
                ));
            }
            let first = lines.first().and_then(|(_, v)| v.as_ref().err()).cloned().unwrap_or_default();
            return Err(format!(
                "{name} is not JSON: line 1: {first} (expected a JSON array of ProcessBench items, or JSONL)"
            ));
        }
        lines
    };
    let mut seen = std::collections::HashSet::new();
    for (index, (place, value)) in values.into_iter().enumerate() {
        let item = value.and_then(|v| item(&v, index));
        match item {
            Ok(item) if !seen.insert(item.id.clone()) => loaded.skipped.push(format!(
                "{name}: {place} (id {}): the id is used by an earlier item; skipped",
                shown(&item.id)
            )),
            Ok(item) => loaded.items.push(item),
            Err(e) => loaded.skipped.push(format!("{name}: {place}: {e}; skipped")),
        }
    }
    if loaded.items.is_empty() {
        let why = loaded.skipped.first().map(|s| format!(" (first: {s})")).unwrap_or_default();
        return Err(format!("{name} holds no readable ProcessBench item{why}"));
    }
    Ok(loaded)
}

fn shown(s: &str) -> String {
    for_display(s, QUOTE_CHARS)
}

/// One item from its JSON value.
fn item(v: &Value, index: usize) -> Result<BenchItem, String> {
    let Some(obj) = v.as_object() else { return Err("not a JSON object".into()) };
    let id = match obj.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err("`id` is not a string".into()),
        None => return Err("missing `id`".into()),
    };
    let with_id = |e: &str| format!("(id {}) {e}", shown(&id));
    let problem = match obj.get("problem") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(with_id("`problem` is not a string")),
        None => return Err(with_id("missing `problem`")),
    };
    let steps: Vec<String> = match obj.get("steps") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|s| s.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| with_id("`steps` holds something other than strings"))?,
        Some(_) => return Err(with_id("`steps` is not a list of strings")),
        None => return Err(with_id("missing `steps`")),
    };
    if steps.is_empty() {
        return Err(with_id("`steps` is empty"));
    }
    let label = match obj.get("label") {
        Some(l) => l.as_i64().ok_or_else(|| with_id("`label` is not an integer"))?,
        None => return Err(with_id("missing `label`")),
    };
    // −2 is what `ttc verifier eval --traces` writes for a wrong answer whose first wrong
    // step is unknown (see `metrics::WRONG_STEP_UNKNOWN`).
    if label < super::metrics::WRONG_STEP_UNKNOWN || label >= steps.len() as i64 {
        return Err(with_id(&format!(
            "`label` {label} is not -1, -2 (wrong, step unknown) or a step index (0..{})",
            steps.len() - 1
        )));
    }
    Ok(BenchItem { index, id, problem, steps, label })
}

/// One line of `items.jsonl`: an item's label, its steps' scores, and the prediction at the
/// run's threshold (`null` for an item with no score at all).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemRecord {
    pub id: String,
    pub predicted: Option<i64>,
    pub label: i64,
    pub scores: Vec<Option<f64>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good(id: &str, label: i64) -> String {
        format!(
            r#"{{"id":"{id}","problem":"p","steps":["a","b"],"label":{label},"final_answer_correct":false}}"#
        )
    }

    #[test]
    fn arrays_and_jsonl_read_the_same() {
        let array = format!("[{},{}]", good("x", -1), good("y", 1));
        let jsonl = format!("{}\n\n{}\n", good("x", -1), good("y", 1));
        let a = parse(&array, "a.json").unwrap();
        let b = parse(&jsonl, "b.jsonl").unwrap();
        assert_eq!(a.items, b.items);
        assert_eq!(
            a.items[1],
            BenchItem {
                index: 1,
                id: "y".into(),
                problem: "p".into(),
                steps: vec!["a".into(), "b".into()],
                label: 1
            }
        );
    }

    #[test]
    fn a_bad_item_is_skipped_with_its_place_and_id() {
        let text = format!(
            "[{}, {{\"id\":\"nolabel\",\"problem\":\"p\",\"steps\":[\"a\"]}}, {}, {{\"problem\":\"p\"}}, {}, {}]",
            good("a", 0),
            good("b", 5),
            good("c", -1),
            good("a", 1)
        );
        let l = parse(&text, "f.json").unwrap();
        assert_eq!(l.items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["a", "c"]);
        assert_eq!(l.skipped.len(), 4, "{:?}", l.skipped);
        assert!(l.skipped[0].contains("f.json: item 1: (id nolabel) missing `label`"), "{}", l.skipped[0]);
        assert!(l.skipped[1].contains("item 2: (id b) `label` 5 is not -1"), "{}", l.skipped[1]);
        assert!(l.skipped[2].contains("item 3: missing `id`"), "{}", l.skipped[2]);
        assert!(l.skipped[3].contains("item 5 (id a): the id is used"), "{}", l.skipped[3]);
    }

    #[test]
    fn empty_and_non_json_files_are_refused() {
        assert!(parse("  \n", "e.json").unwrap_err().contains("e.json is empty"));
        assert!(parse("hello there", "t.txt").unwrap_err().contains("t.txt is not JSON"));
        assert!(parse("[1, 2", "t.json").unwrap_err().contains("t.json is not JSON"));
        assert!(parse("[]", "n.json").unwrap_err().contains("n.json holds no readable"));
        let e = parse("{\n \"id\": \"x\"\n}\n", "obj.json").unwrap_err();
        assert!(e.contains("obj.json is JSON but neither a JSON array"), "{e}");
        let e = parse("{\"id\":\"x\"}\n", "one.jsonl").unwrap_err();
        assert!(e.contains("line 1: (id x) missing `problem`"), "{e}");
    }
}

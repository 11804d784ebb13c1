//! Resumable output directories: an identity file that says what the directory holds (a
//! rerun with another identity is refused, naming what differs) and a JSONL file of finished
//! records, appended to as work finishes, whose cut-short last line is dropped and redone.
//! Used by `ttc bench` (bench.json + results.jsonl) and `ttc verifier eval` (run.json +
//! items.jsonl).

use std::fs::{File, OpenOptions};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Check that `dir` is an output directory of `command` holding `file`, before reading it:
/// a missing path, a plain file or a directory without `file` gets a message naming the path
/// and what to do (`kind` names the directory, e.g. "a bench results"). Returns `dir/file`.
pub fn output_file(dir: &Path, file: &str, kind: &str, command: &str) -> Result<std::path::PathBuf, String> {
    let shown = crate::safe::for_display(&dir.display().to_string(), 200);
    let what = format!("give the --out directory of a `{command}` run");
    if !dir.exists() {
        return Err(format!("{shown}: no such directory; {what}"));
    }
    if !dir.is_dir() {
        return Err(format!("{shown} is not a directory; {what}"));
    }
    let path = dir.join(file);
    if !path.is_file() {
        return Err(format!(
            "{shown} is not {kind} directory: it has no {file}; run `{command} --out {shown} …` first"
        ));
    }
    Ok(path)
}

/// What an identity file is called in messages.
pub struct IdentityWords<'a> {
    /// What the file is, e.g. "a bench configuration".
    pub file_is: &'a str,
    /// What a directory of another identity holds, e.g. "results of another configuration".
    pub holds: &'a str,
    /// What to do then, e.g. "use another --out or the same settings".
    pub advice: &'a str,
    /// How the differences are joined (", " or "; ").
    pub join: &'a str,
}

/// Create `dir` if needed, then write `identity` to `dir/file` when it is new, or compare it
/// with the one there: `differences(old, new)` names what differs, and a difference refuses.
pub fn check_identity<T: Serialize + DeserializeOwned>(
    dir: &Path,
    file: &str,
    identity: &T,
    differences: impl Fn(&T, &T) -> Vec<String>,
    words: &IdentityWords<'_>,
) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(file);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let old: T = serde_json::from_str(&text)
                .map_err(|e| format!("{} is not {}: {e}", path.display(), words.file_is))?;
            let d = differences(&old, identity);
            if !d.is_empty() {
                return Err(format!(
                    "{} holds {} (differing: {}); {}",
                    dir.display(),
                    words.holds,
                    d.join(words.join),
                    words.advice
                ));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let text = serde_json::to_string_pretty(identity).map_err(|e| e.to_string())?;
            std::fs::write(&path, text + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// The records of a JSONL file and how many bytes of it are whole lines of records: a last
/// line cut short (no newline, or not a record) is left out, to be redone; blank lines are
/// skipped; a broken line before the last is an error naming the file and line (`what` says
/// what a line should be). A missing file is empty.
pub fn read_jsonl<T: DeserializeOwned>(path: &Path, what: &str) -> Result<(Vec<T>, u64), String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let mut records = Vec::new();
    let mut good = 0usize;
    let mut start = 0usize;
    let mut line_no = 0usize;
    while start < bytes.len() {
        line_no += 1;
        let end = bytes[start..].iter().position(|&b| b == b'\n').map(|i| start + i);
        let line = &bytes[start..end.unwrap_or(bytes.len())];
        match (serde_json::from_slice::<T>(line), end) {
            (Ok(r), Some(end)) => {
                records.push(r);
                start = end + 1;
                good = start;
            }
            // The last line, cut short or unterminated: dropped and redone.
            (_, None) => break,
            (Err(_), Some(end)) if line.iter().all(u8::is_ascii_whitespace) => {
                start = end + 1;
                good = start;
            }
            (Err(e), Some(end)) if end + 1 >= bytes.len() => {
                tracing::debug!("dropping a cut-short last line: {e}");
                break;
            }
            (Err(e), Some(_)) => {
                return Err(format!(
                    "{} line {line_no} is not {what} ({e}); move the file away or fix the line",
                    path.display()
                ))
            }
        }
    }
    Ok((records, good as u64))
}

/// Open `path` for appending after its first `good` bytes (what [`read_jsonl`] kept).
pub fn append_after(path: &Path, good: u64) -> Result<File, String> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    if len > good {
        file.set_len(good).map_err(|e| format!("cannot truncate {}: {e}", path.display()))?;
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("ttc-resume-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_cut_last_line_is_left_out_and_a_broken_middle_line_named() {
        let dir = scratch("jsonl");
        let p = dir.join("r.jsonl");
        std::fs::write(&p, "1\n\n2\n{\"cut").unwrap();
        let (r, good) = read_jsonl::<u32>(&p, "a number").unwrap();
        assert_eq!((r, good), (vec![1, 2], 5));
        std::fs::write(&p, "1\nx\n2\n").unwrap();
        let e = read_jsonl::<u32>(&p, "a number").unwrap_err();
        assert!(e.contains("line 2 is not a number"), "{e}");
        std::fs::write(&p, "1\n2\n{\"cut").unwrap();
        append_after(&p, 4).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "1\n2\n");
    }

    #[test]
    fn another_identity_is_refused_naming_the_difference() {
        let dir = scratch("identity");
        let words =
            IdentityWords { file_is: "an id", holds: "other work", advice: "use another dir", join: ", " };
        let diff = |a: &u32, b: &u32| if a == b { vec![] } else { vec![format!("{a} → {b}")] };
        check_identity(&dir, "id.json", &7u32, diff, &words).unwrap();
        check_identity(&dir, "id.json", &7u32, diff, &words).unwrap();
        let e = check_identity(&dir, "id.json", &8u32, diff, &words).unwrap_err();
        assert!(e.contains("holds other work (differing: 7 → 8); use another dir"), "{e}");
    }
}

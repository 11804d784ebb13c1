//! One line of the traces listing (`ttc traces`, and `ttc replay`'s browser): date,
//! strategy, model, answer with ✓/✗, size, problem — every text from a model or a file one
//! line, sanitised and clipped.

use unicode_width::UnicodeWidthStr;

use super::list::Entry;
use crate::safe::sanitize;

/// The widest problem text in the listing, in columns.
const PROBLEM_COLUMNS: usize = 48;
/// The widest answer in the listing, in columns.
const ANSWER_COLUMNS: usize = 16;

/// One listing line: date, strategy, model, answer with ✓/✗, size, problem. Every text
/// from a model or a file is one line, sanitised and clipped (`ttc replay`'s browser
/// shows the same lines).
pub fn row(e: &Entry) -> String {
    let (y, mo, d, h, mi, _) = crate::trace::utc(e.started_ms);
    let date = format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}");
    let (strategy, model, problem) = match &e.header {
        Ok(h) => {
            (h.run.config.strategy.to_string(), h.run.generator.model.clone(), h.run.problem.text.clone())
        }
        Err(why) => ("?".into(), "?".into(), format!("(unreadable: {why})")),
    };
    let answer = match &e.outcome {
        None => "(unfinished)".to_string(),
        Some((None, _)) => "(no answer)".to_string(),
        Some((Some(a), correct)) => {
            let mark = match correct {
                Some(true) => " ✓",
                Some(false) => " ✗",
                None => "",
            };
            format!("{}{mark}", one_line(a, ANSWER_COLUMNS))
        }
    };
    format!(
        "{date}  {}  {}  {}  {:>8}  {}",
        pad(&strategy, 10),
        pad(&one_line(&model, 14), 14),
        pad(&answer, ANSWER_COLUMNS + 2),
        size(e.size),
        one_line(&problem, PROBLEM_COLUMNS)
    )
}

/// `s` on one line, control characters made visible, at most `columns` wide (`…` when cut).
fn one_line(s: &str, columns: usize) -> String {
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let clean = sanitize(&crate::safe::redact(&flat)).into_owned();
    if clean.width() <= columns {
        return clean;
    }
    let mut out = String::new();
    for c in clean.chars() {
        if out.width() + unicode_width::UnicodeWidthChar::width(c).unwrap_or(0) + 1 > columns {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// `s` padded with spaces to `columns` display columns.
fn pad(s: &str, columns: usize) -> String {
    format!("{s}{}", " ".repeat(columns.saturating_sub(s.width())))
}

/// A file size for people: `812 B`, `14.2 KB`, `3.1 MB`.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_text_is_one_clean_line() {
        let s = one_line("Solve\x1b[2J this\nnow \u{202E}x", 80);
        assert!(!s.contains('\x1b') && !s.contains('\n') && !s.contains('\u{202E}'), "{s:?}");
        let cjk = one_line("一二三四五六七八九十", 9);
        assert!(cjk.width() <= 9 && cjk.ends_with('…'), "{cjk}");
        assert_eq!(size(812), "812 B");
        assert_eq!(size(14_541), "14.2 KB");
        assert_eq!(pad("ab", 4), "ab  ");
    }
}

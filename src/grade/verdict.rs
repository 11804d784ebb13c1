//! Grading a whole model response against a gold answer or reference solution.
//!
//! The extracted answer is compared with [`answers_equal`] (exact rationals, then 1e-4
//! relative tolerance for decimals and irrationals, symbolic comparison at sample points —
//! see `equal.rs`). A careful grader also accepts these readings of the extracted answer:
//!
//! - the last right-hand side of an equation chain: `2 \times 9 = 18` answers `18`;
//! - an inequality as the interval it describes: `x \le 2` is `(-\infty, 2]`;
//! - a decimal comma: `3,5` is `3.5` when the gold is a single number.

use super::equal::answers_equal;
use super::response::{extract_final, extract_gold, Extracted};

/// The outcome of [`grade_response`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseGrade {
    /// The response's answer; `None` when no rule found one (graded unequal).
    pub pred: Option<Extracted>,
    pub gold: Extracted,
    pub equal: bool,
}

/// Extracts the final answer of `response` and compares it with the answer in `gold`.
pub fn grade_response(response: &str, gold: &str) -> ResponseGrade {
    let gold = extract_gold(gold);
    let pred = extract_final(response);
    let equal = pred.as_ref().is_some_and(|p| lenient_equal(&p.answer, &gold.answer));
    ResponseGrade { pred, gold, equal }
}

/// [`answers_equal`] plus the readings listed in the module docs.
pub fn lenient_equal(pred: &str, gold: &str) -> bool {
    if answers_equal(pred, gold) {
        return true;
    }
    if let Some(rhs) = last_rhs(pred) {
        if last_rhs(gold).is_none() && answers_equal(rhs, gold) {
            return true;
        }
    }
    if let Some(interval) = inequality_interval(pred) {
        if answers_equal(&interval, gold) {
            return true;
        }
    }
    if let Some(g) = inequality_interval(gold) {
        if answers_equal(pred, &g) {
            return true;
        }
    }
    if let Some(d) = decimal_comma(pred) {
        if answers_equal(&d, gold) {
            return true;
        }
    }
    false
}

/// Right-hand side of the last top-level `=` or `\approx`, when the answer is no list.
fn last_rhs(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let mut depth = 0i32;
    let mut last = None;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => depth -= 1,
            b',' | b';' if depth == 0 => return None,
            b'=' if depth == 0 => last = Some(i + 1),
            b'\\' if s[i..].starts_with("\\approx") && depth == 0 => last = Some(i + 7),
            _ => {}
        }
        i += 1;
    }
    let rhs = s[last?..].trim();
    (!rhs.is_empty()).then_some(rhs)
}

/// `x \le 2` → `(-\infty,2]`, `-1 < x \le 3` → `(-1,3]`, `x > 0` → `(0,\infty)`.
fn inequality_interval(s: &str) -> Option<String> {
    let t = s.trim().trim_matches('$').trim();
    let t = t.replace("\\leq", "\\le").replace("\\geq", "\\ge").replace("<=", "\\le").replace(">=", "\\ge");
    // Split into operands and relations: (a, rel, b[, rel, c]).
    let mut parts: Vec<String> = Vec::new();
    let mut rels: Vec<&str> = Vec::new();
    let mut cur = String::new();
    let mut rest = t.as_str();
    while let Some(c) = rest.chars().next() {
        let rel = ["\\le", "\\ge", "<", ">"].into_iter().find(|r| {
            rest.starts_with(r)
                && !(r.starts_with('\\') && rest[r.len()..].starts_with(|c: char| c.is_ascii_alphabetic()))
        });
        if let Some(r) = rel {
            parts.push(std::mem::take(&mut cur).trim().to_string());
            rels.push(r);
            rest = &rest[r.len()..];
        } else {
            cur.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    parts.push(cur.trim().to_string());
    let is_var = |p: &str| p.len() == 1 && p.chars().all(|c| c.is_ascii_alphabetic());
    let closed = |r: &str| r == "\\le" || r == "\\ge";
    match (parts.as_slice(), rels.as_slice()) {
        ([v, a], [r]) if is_var(v) && !a.is_empty() => Some(match *r {
            "\\le" | "<" => format!("(-\\infty,{a}{}", if closed(r) { "]" } else { ")" }),
            _ => format!("{}{a},\\infty)", if closed(r) { "[" } else { "(" }),
        }),
        ([a, v], [r]) if is_var(v) && !a.is_empty() => inequality_interval(&format!("{v}{}{a}", flip(r))),
        ([a, v, b], [r1, r2]) if is_var(v) && matches!((*r1, *r2), ("<" | "\\le", "<" | "\\le")) => Some(
            format!("{}{a},{b}{}", if closed(r1) { "[" } else { "(" }, if closed(r2) { "]" } else { ")" }),
        ),
        _ => None,
    }
}

fn flip(r: &str) -> &'static str {
    match r {
        "\\le" => "\\ge",
        "\\ge" => "\\le",
        "<" => ">",
        _ => "<",
    }
}

/// `3,5` → `3.5`; `1,000` (a thousands group) and lists of several commas are not decimals.
fn decimal_comma(s: &str) -> Option<String> {
    let t = s.trim();
    let (int, frac) = t.split_once(',')?;
    let int_ok = !int.is_empty() && int.trim_start_matches('-').bytes().all(|c| c.is_ascii_digit());
    let frac_ok = !frac.is_empty() && frac.len() != 3 && frac.bytes().all(|c| c.is_ascii_digit());
    (int_ok && frac_ok && !int.trim_start_matches('-').is_empty()).then(|| format!("{int}.{frac}"))
}

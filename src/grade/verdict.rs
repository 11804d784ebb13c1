//! Grading a whole model response against a gold answer or reference solution.
//!
//! The extracted answer is compared with [`answers_equal`] (exact rationals, then 1e-4
//! relative tolerance for decimals and irrationals, symbolic comparison at sample points —
//! see `equal.rs`). A careful grader also accepts these readings of the extracted answer:
//!
//! - the last right-hand side of an equation chain: `2 \times 9 = 18` answers `18`;
//! - an inequality as the interval it describes: `x \le 2` is `(-\infty, 2]`;
//! - a decimal comma: `3,5` is `3.5` when the gold is a single number;
//! - inequalities joined by commas as a union: `x < -2, x > 3` is `(-\infty,-2)\cup(3,\infty)`;
//! - assignments to distinct variables as a point: `x=2, y=3` is `(2,3)`;
//! - a `\pm` as both values: `\frac{-1 \pm \sqrt5}{2}` is the list of both roots.

use super::equal::answers_equal;
use super::response::{extract_final, extract_gold, Extracted, Rule};

/// Longest response (bytes) taken whole as its answer when no rule finds one.
const MAX_WHOLE: usize = 200;

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
    // A short text where no rule finds an answer (`\text{Monday, Tuesday and Friday}`) is
    // itself the answer.
    let pred = extract_final(response).or_else(|| {
        let t = response.trim();
        (!t.is_empty() && t.len() <= MAX_WHOLE)
            .then(|| Extracted { answer: t.to_string(), rule: Rule::Whole })
    });
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
    let parts = split_commas(pred);
    if parts.len() > 1 && parts.len() <= MAX_PARTS {
        // `x < -2, x > 3` is the union `(-\infty,-2)\cup(3,\infty)`.
        let intervals: Option<Vec<String>> = parts.iter().map(|p| inequality_interval(p)).collect();
        if intervals.is_some_and(|v| answers_equal(&v.join("\\cup"), gold)) {
            return true;
        }
        // `x=2, y=3` is the point `(2,3)` when every part names its own variable.
        let values: Option<Vec<(&str, &str)>> = parts.iter().map(|p| assigned(p)).collect();
        if let Some(v) = values {
            let mut vars: Vec<&str> = v.iter().map(|(var, _)| *var).collect();
            vars.sort_unstable();
            vars.dedup();
            let tuple = v.iter().map(|(_, value)| *value).collect::<Vec<_>>().join(",");
            if vars.len() == v.len() && answers_equal(&format!("({tuple})"), gold) {
                return true;
            }
        }
    }
    // `\frac{-1 \pm \sqrt5}{2}` is both roots.
    if pred.contains("\\pm") {
        let value = last_rhs(pred).unwrap_or(pred);
        if let Some(j) = value.find("\\pm") {
            let (head, tail) = (&value[..j], &value[j + 3..]);
            let both = format!("{head}+{tail}, {head}-{tail}");
            if answers_equal(&both, gold) {
                return true;
            }
        }
    }
    false
}

/// Most comma-separated parts read as inequalities or assignments.
const MAX_PARTS: usize = 8;

/// Top-level comma-separated parts (commas inside brackets or braces do not split).
fn split_commas(s: &str) -> Vec<&str> {
    let b = s.as_bytes();
    let (mut depth, mut start, mut out) = (0i32, 0, Vec::new());
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => depth -= 1,
            b',' if depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s[start..].trim());
    out
}

/// `x = 2` → (`x`, `2`): one variable, one value.
fn assigned(part: &str) -> Option<(&str, &str)> {
    let (var, value) = part.split_once('=')?;
    let (var, value) = (var.trim(), value.trim());
    let single = var.len() == 1 && var.bytes().all(|c| c.is_ascii_alphabetic());
    (single && !value.is_empty() && !value.contains('=')).then_some((var, value))
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

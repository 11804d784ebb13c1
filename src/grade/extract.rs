//! Pulling the final answer out of a model-written solution.

use super::latex::matching_brace;

/// How many `\boxed` occurrences, latest first, are tried before giving up on boxes.
const MAX_BOX_TRIES: usize = 64;

/// Final answer of a solution: last `\boxed{}`/`\fbox{}`, else "the answer is X", else the last number.
///
/// A malformed answer (see [`well_formed`]) is no answer: a response cut off after
/// "The answer is \(" must not vote for `\(`.
pub fn extract_answer(text: &str) -> Option<String> {
    boxed_answer(text).or_else(|| answer_is(text)).or_else(|| last_number(text))
}

/// Whether an extracted answer can be an answer: it has a letter or digit, its braces
/// balance, no math delimiter (`$`, `\(`, `\[`) is left open or closes nothing, no command
/// is cut in half (a lone trailing `\`), and its round and square brackets balance when
/// counted together (so intervals such as `[0, 1)` are well formed; `\left.` and `\right.`
/// are the invisible brackets that balance a real one). Selection uses the same test.
pub fn well_formed(answer: &str) -> bool {
    if !answer.chars().any(char::is_alphanumeric) {
        return false;
    }
    let b = answer.as_bytes();
    let (mut depth, mut dollars, mut paren, mut bracket) = (0i64, 0usize, 0i64, 0i64);
    let mut plain = 0i64; // round and square brackets together
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if b[i..].starts_with(b"\\left.") => {
                plain += 1;
                i += 6;
                continue;
            }
            b'\\' if b[i..].starts_with(b"\\right.") => {
                plain -= 1;
                i += 7;
                continue;
            }
            b'\\' => {
                match b.get(i + 1) {
                    Some(b'(') => paren += 1,
                    Some(b')') => paren -= 1,
                    Some(b'[') => bracket += 1,
                    Some(b']') => bracket -= 1,
                    None => return false,
                    _ => {}
                }
                i += 2;
                continue;
            }
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            b'(' | b'[' => plain += 1,
            b')' | b']' => plain -= 1,
            // `$1000` is money; only a `$` not followed by a digit delimits math.
            b'$' if !b.get(i + 1).is_some_and(u8::is_ascii_digit) => dollars += 1,
            _ => {}
        }
        i += 1;
    }
    depth == 0 && dollars % 2 == 0 && paren == 0 && bracket == 0 && plain == 0
}

/// Content of the last `\boxed{...}` or `\fbox{...}` that is closed and non-empty.
fn boxed_answer(text: &str) -> Option<String> {
    let mut starts: Vec<usize> = Vec::new();
    for name in ["\\boxed", "\\fbox"] {
        starts.extend(text.match_indices(name).map(|(i, _)| i + name.len()));
    }
    // Latest first; an unclosed last box (truncated generation) falls back to an earlier one.
    starts.sort_unstable_by(|a, b| b.cmp(a));
    // Each try may scan to the end of the text; a bounded number keeps junk input linear.
    for after in starts.into_iter().take(MAX_BOX_TRIES) {
        let rest = &text[after..];
        let trimmed = rest.trim_start();
        let content = if trimmed.starts_with('{') {
            let open = after + (rest.len() - trimmed.len());
            matching_brace(text, open).map(|close| &text[open + 1..close])
        } else if rest.starts_with(char::is_whitespace) {
            // `\boxed 5` form (seen in MATH solutions): the box holds one token.
            trimmed.split(|c: char| c.is_whitespace() || c == '$').next()
        } else {
            None
        };
        if let Some(c) = content.map(str::trim).filter(|c| !c.is_empty() && well_formed(c)) {
            return Some(c.to_string());
        }
    }
    None
}

/// Text after the last "the answer is" / "the final answer is" / "final answer:".
fn answer_is(text: &str) -> Option<String> {
    // ASCII lowercasing keeps byte offsets identical, so indices map back to `text`.
    let lower = text.to_ascii_lowercase();
    let mut hits: Vec<(usize, usize)> = Vec::new();
    for pat in ["the final answer is", "the answer is", "final answer:"] {
        hits.extend(lower.match_indices(pat).map(|(i, m)| (i, i + m.len())));
    }
    hits.sort_unstable_by(|a, b| b.cmp(a));
    for (_, end) in hits {
        let rest = &text[end..];
        let line = rest.split('\n').next().unwrap_or("");
        let sentence = cut_sentence(line);
        let cleaned = clean_answer_phrase(sentence);
        if !cleaned.is_empty() && well_formed(&cleaned) {
            return Some(cleaned);
        }
    }
    None
}

/// Cuts at the first period followed by whitespace or the end (not the point in `3.5`).
pub(crate) fn cut_sentence(line: &str) -> &str {
    let b = line.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'.' && b.get(i + 1).is_none_or(|n| n.is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

/// Strips markdown bold, math dollars, colons and trailing punctuation around an answer phrase,
/// then math delimiters around the whole of it; a chain of equalities whose left sides are
/// plain arithmetic (`\(1034 - 45 = 989\)`) is its last value (see [`final_value`]).
fn clean_answer_phrase(s: &str) -> String {
    let no_bold = s.replace("**", "");
    let trim_set: &[char] = &['$', ':', '.', ',', ' ', '\t', '\r', '*'];
    let mut phrase = no_bold.trim_matches(trim_set);
    for (open, close) in [("\\(", "\\)"), ("\\[", "\\]")] {
        if let Some(inner) = phrase.strip_prefix(open).and_then(|r| r.strip_suffix(close)) {
            phrase = inner.trim_matches(trim_set);
        }
    }
    final_value(phrase).to_string()
}

/// The last side of `a = b = c` when every side before it is plain arithmetic (digits,
/// operators, brackets, `\times`, `\cdot`, `\div`, `\frac`): what a model that shows its sum
/// means as the answer. An equation with a letter (`y = 2x + 3`) is left whole.
fn final_value(s: &str) -> &str {
    let parts = super::latex::split_top_level(s, "=");
    let Some((last, before)) = parts.split_last() else { return s };
    let arithmetic = |p: &&str| {
        let p = ["\\times", "\\cdot", "\\div", "\\frac", "\\left", "\\right"]
            .iter()
            .fold(p.to_string(), |acc, cmd| acc.replace(cmd, " "));
        p.chars().any(|c| c.is_ascii_digit())
            && p.chars().all(|c| c.is_ascii_digit() || " +-*/×÷·.,(){}[]^".contains(c))
    };
    let last = last.trim();
    if before.is_empty() || last.is_empty() || !before.iter().all(arithmetic) {
        return s;
    }
    last
}

/// Last number in the text: integers, decimals, negatives, `1,000`-style groups, fractions `3/4`.
pub(crate) fn last_number(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut last: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < b.len() {
        let starts_decimal = b[i] == b'.'
            && b.get(i + 1).is_some_and(u8::is_ascii_digit)
            && (i == 0 || !b[i - 1].is_ascii_digit());
        if !b[i].is_ascii_digit() && !starts_decimal {
            i += 1;
            continue;
        }
        let mut start = i;
        // A minus is a sign only when it cannot be a binary operator (`3-5` is not `-5`).
        if i > 0 && b[i - 1] == b'-' {
            let before = if i >= 2 { Some(b[i - 2]) } else { None };
            if before.is_none_or(|c| !c.is_ascii_alphanumeric() && c != b')' && c != b'}') {
                start = i - 1;
            }
        }
        let mut j = i;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        // Thousands groups only directly after a 1-3 digit head: `1,000` yes, `2,3` no.
        if j - i <= 3 && j > i {
            while b.get(j) == Some(&b',')
                && b.get(j + 1..j + 4).is_some_and(|g| g.iter().all(u8::is_ascii_digit))
                && !b.get(j + 4).is_some_and(u8::is_ascii_digit)
            {
                j += 4;
            }
        }
        // A decimal part or a fraction denominator: `3.5`, `3/4`.
        if matches!(b.get(j), Some(b'.' | b'/')) && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
            j += 1;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
        }
        last = Some((start, j));
        i = j.max(i + 1);
    }
    last.map(|(s, e)| text[s..e].replace(',', ""))
}

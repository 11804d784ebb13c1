//! Final answers of whole model responses, with the rule that found them.
//!
//! [`extract_final`] tries, in order (the first that yields an answer wins):
//!
//! 1. `boxed` — the last closed `\boxed{}`/`\fbox{}`; boxes joined to it by nothing but
//!    `,`, "and", "or", math delimiters or spaces (`\boxed{2}` and `\boxed{3}`) are all
//!    taken, as a list, duplicates dropped.
//! 2. `answer_is` — after the last "the answer is", "final answer", "answer:" or `####`:
//!    the first math segment there, else the rest of the sentence.
//! 3. In the last paragraph, after its last math segment (`$…$`, `$$…$$`, `\(…\)`,
//!    `\[…\]`; a trailing name such as `\(n\)` is passed over; a `$` followed by a digit
//!    and prose, `$18 per day`, is currency, not math): `bold` — a bold `**29**` holding a
//!    number; `number_after_math` — when that math is symbolic, the first number after it
//!    in its sentence ("the degree of \(p(x)q(x)\) is 15"); else `math` — the segment.
//! 4. `assignment` — the value after the last `=`, `\le`, `<`, … of the last paragraph's
//!    last line that has one, outside math (`x = 5`, `x \le 2` keeps its relation).
//! 5. `last_number` — the last number of the last paragraph, else of the whole text
//!    (`1,000` thousands groups, decimals, `3/4`, signs).
//!
//! An answer that cannot be one (an open `\(` or `$`, unbalanced braces, no letter or digit,
//! as in a response cut off after "The answer is \(") is passed over for the next rule.
//!
//! Everything scans bytes for ASCII delimiters, so every slice is at a char boundary, and
//! each scan is linear: unclosed delimiters are remembered rather than searched again.

use super::equal::answers_equal;
use super::extract::{cut_sentence, last_number, well_formed};
use super::latex::matching_brace;

/// How many `\boxed` occurrences, latest first, are looked at.
const MAX_BOXES: usize = 64;
/// Most boxes joined into one list answer.
const MAX_JOINED: usize = 8;
/// Longest line searched for a final `x = 5` (bytes).
const MAX_ASSIGNMENT_LINE: usize = 2000;
/// How far after an "answer is" phrase its answer is looked for (bytes).
const ANSWER_WINDOW: usize = 400;

/// Which rule found an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Boxed,
    AnswerIs,
    Math,
    /// A bold `**18**` after the last math of the last paragraph.
    Bold,
    /// The first number after symbolic math in the last sentence.
    NumberAfterMath,
    Assignment,
    LastNumber,
    /// The whole text is the answer (short answers, gold answers).
    Whole,
    /// GSM8K's `#### 18` reference solutions.
    Hash,
}

impl Rule {
    /// The name written in `ttc grade` output lines.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Boxed => "boxed",
            Rule::AnswerIs => "answer_is",
            Rule::Math => "math",
            Rule::Bold => "bold",
            Rule::NumberAfterMath => "number_after_math",
            Rule::Assignment => "assignment",
            Rule::LastNumber => "last_number",
            Rule::Whole => "whole",
            Rule::Hash => "hash",
        }
    }
}

/// An extracted answer and the rule that found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    pub answer: String,
    pub rule: Rule,
}

fn found(answer: &str, rule: Rule) -> Option<Extracted> {
    let answer = answer.trim();
    // `\15`: a dollar sign lost its `$` on the way; a backslash before a digit is no command.
    let answer = if answer.contains('\\') { drop_backslash_before_digit(answer) } else { answer.to_string() };
    well_formed(&answer).then_some(Extracted { answer, rule })
}

fn drop_backslash_before_digit(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&'\\') {
            // A `\\` row break stays whole, even before a digit.
            out.push_str("\\\\");
            chars.next();
            continue;
        }
        if c == '\\' && chars.peek().is_some_and(char::is_ascii_digit) {
            continue;
        }
        out.push(c);
    }
    out
}

/// Final answer of a whole model response (see the module docs for the rules).
pub fn extract_final(text: &str) -> Option<Extracted> {
    if let Some(x) = boxed(text).and_then(|a| found(&a, Rule::Boxed)) {
        return Some(x);
    }
    if let Some(x) = answer_is(text).and_then(|a| found(&a, Rule::AnswerIs)) {
        return Some(x);
    }
    let last = last_paragraph(text);
    let segments = math_segments(last);
    // A trailing `\(n\)` or `$f(x)$` names what was asked for; the answer is elsewhere.
    let chosen = segments.iter().rev().find(|&&(s, e)| !is_name(&last[s..e])).or(segments.last());
    let after = chosen.map_or(0, |&(_, e)| e);
    if let Some(x) = bold_answer(&last[after..]).and_then(|b| found(&b, Rule::Bold)) {
        return Some(x);
    }
    if let Some(&(s, e)) = chosen {
        let content = &last[s..e];
        // "… is \((ax^6+…)(x^2+gx+h)\) is 15": after symbolic math, the number that follows.
        if !is_value(content) {
            let tail = first_sentence(last[e..].trim_start_matches(['$', '\\', ')', ']']));
            if let Some(x) = first_number(tail).and_then(|n| found(&n, Rule::NumberAfterMath)) {
                return Some(x);
            }
        }
        if let Some(x) = found(&joined_math(last, &segments, s), Rule::Math) {
            return Some(x);
        }
    }
    if let Some(x) = assignment(last, &segments).and_then(|a| found(&a, Rule::Assignment)) {
        return Some(x);
    }
    last_number(last).or_else(|| last_number(text)).and_then(|n| found(&n, Rule::LastNumber))
}

/// The math segment starting at `start`, with the segments before it that are joined to it
/// by "and", "or" or commas and say the same kind of thing: values (`$2$ and $3$`) or
/// relations of one variable (`$x < -2$ or $x > 3$`).
fn joined_math(para: &str, segments: &[(usize, usize)], start: usize) -> String {
    let Some(k) = segments.iter().position(|&(s, _)| s == start) else { return String::new() };
    let (s, e) = segments[k];
    let key = math_key(&para[s..e]);
    let mut parts = vec![&para[s..e]];
    let mut j = k;
    while j > 0 && key.is_some() && parts.len() < MAX_JOINED {
        let (ps, pe) = segments[j - 1];
        let gap = &para[pe..segments[j].0];
        if !is_connector(gap) || math_key(&para[ps..pe]) != key {
            break;
        }
        parts.push(&para[ps..pe]);
        j -= 1;
    }
    parts.reverse();
    parts.join(", ")
}

/// What a math segment says: a value (`Some("")`), a relation of one variable (`Some("x")`).
fn math_key(content: &str) -> Option<String> {
    let t = content.trim();
    let has_relation = RELATIONS.iter().any(|r| t.contains(r));
    if is_value(t) && !has_relation && !t.contains(',') {
        return Some(String::new());
    }
    let first = t.chars().next()?;
    let rest = t[first.len_utf8()..].trim_start();
    let relation = RELATIONS.iter().any(|r| rest.starts_with(r));
    (first.is_ascii_alphabetic() && relation && !t.contains(',')).then(|| first.to_string())
}

/// `n`, `S`, `f(x)`, `AB`, `r/s`, `M'`: a name, not a value.
fn is_name(content: &str) -> bool {
    let t = content.trim();
    !t.is_empty()
        && t.len() <= 5
        && t.bytes().any(|c| c.is_ascii_alphabetic())
        && t.bytes().all(|c| c.is_ascii_alphabetic() || matches!(c, b'(' | b')' | b'/' | b'\'' | b' '))
}

/// Whether math content has a value (no free letters outside commands and `\text{}`).
fn is_value(content: &str) -> bool {
    let b = content.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            let start = i + 1;
            i = start;
            while i < b.len() && b[i].is_ascii_alphabetic() {
                i += 1;
            }
            let name = &content[start..i];
            if matches!(name, "text" | "mathrm" | "textbf" | "mbox") && b.get(i) == Some(&b'{') {
                i = matching_brace(content, i).map_or(b.len(), |c| c + 1);
            } else if i == start {
                i += 1;
            }
            continue;
        }
        if b[i].is_ascii_alphabetic() {
            return false;
        }
        i += 1;
    }
    true
}

/// The last `**…**` of `text` that holds a digit, cut before its prose (`**10 digits**` → `10`).
fn bold_answer(text: &str) -> Option<String> {
    let parts: Vec<&str> = text.split("**").collect();
    // Odd-numbered parts are inside bold markers.
    let inner = parts.iter().skip(1).step_by(2).take(parts.len().saturating_sub(1) / 2).rev();
    for b in inner {
        if b.bytes().any(|c| c.is_ascii_digit()) && b.len() <= 80 {
            let head = leading_math(b.trim().trim_end_matches(['.', ':']));
            let head = head.trim_matches(['$', ' ']);
            if !head.is_empty() {
                return Some(head.to_string());
            }
        }
    }
    None
}

fn first_sentence(text: &str) -> &str {
    cut_sentence(text.split('\n').next().unwrap_or(""))
}

/// The first number of `text`, read as [`last_number`] reads numbers.
fn first_number(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let start = b.iter().position(u8::is_ascii_digit)?;
    // Extend to the end of this number (digits, `,` groups, one `.` or `/`), then read it.
    let mut end = start;
    while end < b.len() && (b[end].is_ascii_digit() || matches!(b[end], b',' | b'.' | b'/')) {
        end += 1;
    }
    let from = if start > 0 && b[start - 1] == b'-' { start - 1 } else { start };
    last_number(&text[from..end])
}

/// Whether `text` reads as a whole response rather than a bare answer.
pub fn looks_like_response(text: &str) -> bool {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    t.contains('\n')
        || t.contains("\\boxed")
        || t.contains("\\fbox")
        || t.contains("####")
        || lower.contains("answer is")
        || lower.contains("answer:")
        || prose_words(t) >= 4
        || (prose_words(t) >= 2 && !math_segments(t).is_empty())
}

/// The answer of a gold field: its box or `#### x` when it is a reference solution, else all of it.
pub fn extract_gold(text: &str) -> Extracted {
    if let Some(a) = boxed(text) {
        if let Some(x) = found(&a, Rule::Boxed) {
            return x;
        }
    }
    if let Some(i) = text.rfind("####") {
        if let Some(x) = found(&text[i + 4..], Rule::Hash) {
            return x;
        }
    }
    Extracted { answer: text.trim().to_string(), rule: Rule::Whole }
}

/// Words of three or more ASCII letters that are not LaTeX commands.
fn prose_words(s: &str) -> usize {
    let b = s.as_bytes();
    let (mut count, mut i) = (0, 0);
    while i < b.len() {
        if b[i].is_ascii_alphabetic() {
            let start = i;
            while i < b.len() && b[i].is_ascii_alphabetic() {
                i += 1;
            }
            let command = start > 0 && b[start - 1] == b'\\';
            if i - start >= 3 && !command {
                count += 1;
            }
        } else {
            i += 1;
        }
    }
    count
}

/// Text after the last blank line that has something in it.
fn last_paragraph(text: &str) -> &str {
    let t = text.trim_end();
    match t.rfind("\n\n") {
        Some(i) => &t[i + 2..],
        None => t,
    }
}

/// Contents of the last box and of the boxes joined to it (see rule 1).
fn boxed(text: &str) -> Option<String> {
    let mut starts: Vec<usize> = Vec::new();
    for name in ["\\boxed", "\\fbox"] {
        starts.extend(text.match_indices(name).map(|(i, _)| i));
    }
    starts.sort_unstable_by(|a, b| b.cmp(a));
    // (command start, content) latest first.
    let mut boxes: Vec<(usize, &str)> = Vec::new();
    let mut prev_start = text.len();
    for start in starts.into_iter().take(MAX_BOXES) {
        let Some((content, end)) = box_content(text, start) else { continue };
        if content.is_empty() || !well_formed(content) {
            continue;
        }
        // A box inside the previous box (`\boxed{\boxed{5}}`) is part of it.
        if end > prev_start {
            continue;
        }
        if let Some(&(later, _)) = boxes.last() {
            if !is_connector(&text[end..later]) || boxes.len() >= MAX_JOINED {
                break;
            }
        }
        boxes.push((start, content));
        prev_start = start;
    }
    // The same answer boxed twice, or in two forms (`\boxed{15\frac{39}{40}}` or
    // `\boxed{\frac{639}{40}}`), is one answer.
    let mut parts: Vec<&str> = Vec::new();
    for &(_, content) in boxes.iter().rev() {
        if !parts.iter().any(|p| answers_equal(p, content)) {
            parts.push(content);
        }
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Content of the box whose command starts at `start`, and the byte after the box.
fn box_content(text: &str, start: usize) -> Option<(&str, usize)> {
    let after = start + if text[start..].starts_with("\\boxed") { 6 } else { 5 };
    let rest = &text[after..];
    let trimmed = rest.trim_start();
    if trimmed.starts_with('{') {
        let open = after + (rest.len() - trimmed.len());
        let close = matching_brace(text, open)?;
        Some((text[open + 1..close].trim(), close + 1))
    } else if rest.starts_with(char::is_whitespace) {
        // `\boxed 5`: one token.
        let token = trimmed.split(|c: char| c.is_whitespace() || c == '$').next()?;
        let end = after + (rest.len() - trimmed.len()) + token.len();
        Some((token, end))
    } else {
        None
    }
}

/// Whether the text between two boxes joins them into one answer.
fn is_connector(gap: &str) -> bool {
    let set: &[char] = &['$', ' ', '\t', '\r', '\n', ',', ';', '\\', '(', ')', '[', ']', '.'];
    let mut core = gap.trim_matches(set).to_ascii_lowercase();
    // `$x = \boxed{-3}$ or $x = \boxed{2}$`: the second box's variable is no prose.
    if let Some(head) = core.strip_suffix('=') {
        let head = head.trim_end();
        let var = head.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        if head.len() - var.len() <= 1 || var.ends_with('\\') {
            core = var.trim_end_matches('\\').trim_matches(set).to_string();
        }
    }
    matches!(core.as_str(), "" | "and" | "or" | "," | "\\quad" | "quad")
}

/// Answer after the last "answer is" style phrase (rule 2).
fn answer_is(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let mut hits: Vec<usize> = Vec::new();
    for pat in ["answer is", "answer:", "answer**:", "answer**", "####"] {
        hits.extend(lower.match_indices(pat).map(|(i, m)| i + m.len()));
    }
    hits.sort_unstable_by(|a, b| b.cmp(a));
    hits.dedup();
    for end in hits.into_iter().take(16) {
        if let Some(a) = answer_after(&text[end..]).filter(|a| well_formed(a)) {
            return Some(a);
        }
    }
    None
}

/// The answer that an "answer is" phrase introduces, from the text right after it.
fn answer_after(rest: &str) -> Option<String> {
    let mut cut = rest.len().min(ANSWER_WINDOW);
    while !rest.is_char_boundary(cut) {
        cut -= 1;
    }
    let window = rest[..cut].trim_start_matches([':', '*', ' ', '\t']);
    // "The final answer is:\n\n$$18$$": the answer may sit on the next non-empty line.
    let window = window.trim_start();
    let line = window.split('\n').next().unwrap_or("");
    let segments = math_segments(line);
    if let Some(&(s, e)) = segments.first() {
        let before = &line[..s];
        // "the answer is that $x$ ..." is prose; a few words before math are fine ("is about").
        if prose_words(before) <= 3 {
            let inner = line[s..e].trim();
            if !inner.is_empty() {
                return Some(with_percent(inner, &line[e..]));
            }
        }
    }
    let sentence = cut_sentence(line);
    let cleaned = sentence.replace("**", "");
    let cleaned = cleaned.trim_matches(&['$', ':', '.', ',', ' ', '\t', '\r', '*'][..]);
    if cleaned.is_empty() {
        return None;
    }
    if prose_words(cleaned) == 0 {
        return Some(cleaned.to_string());
    }
    // "\frac34 of the class" → `\frac34`; "Verna received $7.00 in change" → `7.00`.
    let head = leading_math(cleaned);
    if !head.is_empty() {
        return Some(head.to_string());
    }
    // "Answer: let me think step by step" introduces no answer; "Evelyn" or "odd" is one.
    last_number(cleaned).or_else(|| (prose_words(cleaned) <= 1).then(|| cleaned.to_string()))
}

/// The part of `s` before its first prose word outside braces ("and"/"or" do not count).
fn leading_math(s: &str) -> &str {
    let b = s.as_bytes();
    let (mut depth, mut i) = (0i32, 0);
    while i < b.len() {
        match b[i] {
            b'{' => depth += 1,
            b'}' => depth -= 1,
            b'\\' => {
                // Skip the command name.
                i += 1;
                while i < b.len() && b[i].is_ascii_alphabetic() {
                    i += 1;
                }
                continue;
            }
            c if c.is_ascii_alphabetic() => {
                let start = i;
                while i < b.len() && b[i].is_ascii_alphabetic() {
                    i += 1;
                }
                let word = &s[start..i];
                if depth <= 0 && word.len() >= 3 && word != "and" {
                    return s[..start].trim_end_matches(&[' ', ',', '$', ':'][..]).trim();
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    s
}

/// Keeps a `%` written just after a math segment: `$50$%`.
fn with_percent(inner: &str, after: &str) -> String {
    let a = after.trim_start_matches(['$', ' ']);
    if a.starts_with('%') || a.starts_with("\\%") || a.to_ascii_lowercase().starts_with("percent") {
        format!("{inner}\\%")
    } else {
        inner.to_string()
    }
}

/// Byte ranges of the contents of math segments, in order (rule 3's scanner).
pub(crate) fn math_segments(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    // Delimiter kinds known to have no closer after some point: never searched again.
    let (mut no_dd, mut no_bracket, mut no_paren) = (false, false, false);
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if b.get(i + 1) == Some(&b'[') && !no_bracket => match find(text, i + 2, "\\]") {
                Some(c) => {
                    out.push((i + 2, c));
                    i = c + 2;
                }
                None => {
                    no_bracket = true;
                    i += 2;
                }
            },
            b'\\' if b.get(i + 1) == Some(&b'(') && !no_paren => match find(text, i + 2, "\\)") {
                Some(c) => {
                    out.push((i + 2, c));
                    i = c + 2;
                }
                None => {
                    no_paren = true;
                    i += 2;
                }
            },
            // Any other backslash escapes the next byte (`\$` is a dollar sign).
            b'\\' => i += 2,
            b'$' if b.get(i + 1) == Some(&b'$') => {
                if no_dd {
                    i += 2;
                    continue;
                }
                match find(text, i + 2, "$$") {
                    Some(c) => {
                        out.push((i + 2, c));
                        i = c + 2;
                    }
                    None => {
                        no_dd = true;
                        i += 2;
                    }
                }
            }
            b'$' => {
                // Inline math stays on one line; the search stops at the line's end.
                match inline_close(b, i + 1) {
                    Some(c) if !is_currency(&text[i + 1..c]) => {
                        out.push((i + 1, c));
                        i = c + 1;
                    }
                    _ => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    out
}

fn find(text: &str, from: usize, pat: &str) -> Option<usize> {
    text.get(from..)?.find(pat).map(|j| from + j)
}

/// The unescaped `$` closing inline math opened just before `from`, on the same line.
///
/// Each search stops at the next `$` or line end, so all searches together are linear.
fn inline_close(b: &[u8], from: usize) -> Option<usize> {
    let mut j = from;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'$' => return Some(j),
            b'\n' => return None,
            _ => j += 1,
        }
    }
    None
}

/// `$18 every day, so $` is money, not math: a digit right after the `$` and prose inside.
fn is_currency(content: &str) -> bool {
    content.starts_with(|c: char| c.is_ascii_digit()) && (content.ends_with(' ') || prose_words(content) >= 1)
        || content.trim().is_empty()
}

/// Relations whose right-hand side is an answer (rule 4), longest first.
const RELATIONS: &[&str] = &["\\leq", "\\geq", "\\le", "\\ge", "\\ne", "<=", ">=", "=", "<", ">"];

/// Rule 4: `x = 5` or `x \le 2` on the last line of `para` that has a relation outside math.
fn assignment(para: &str, segments: &[(usize, usize)]) -> Option<String> {
    // Outside math, segments are not looked into: the math rule has already had them.
    if !segments.is_empty() {
        return None;
    }
    for line in para.lines().rev() {
        // A final answer sits on a short line; a long one is prose (and bounds the work).
        if line.len() > MAX_ASSIGNMENT_LINE {
            continue;
        }
        let sentence = cut_sentence(line.trim());
        let Some(pos) = RELATIONS.iter().filter_map(|r| sentence.rfind(r).map(|p| (p, r.len()))).max() else {
            continue;
        };
        let value = sentence[pos.0 + pos.1..].trim();
        if value.is_empty() || prose_words(value) > 2 {
            continue;
        }
        let rel = &sentence[pos.0..pos.0 + pos.1];
        if rel == "=" {
            return Some(several_values(sentence).unwrap_or_else(|| value.to_string()));
        }
        // Keep the inequality whole, from the variable on: `x \le 2`.
        let head = sentence[..pos.0].trim_end();
        let var_start =
            head.char_indices().rev().find(|(_, c)| c.is_whitespace()).map_or(0, |(i, c)| i + c.len_utf8());
        return Some(sentence[var_start..].trim().to_string());
    }
    None
}

/// `x = 2 and x = 3` → `2, 3`: every piece of the sentence is an assignment.
fn several_values(sentence: &str) -> Option<String> {
    let lower = sentence.to_ascii_lowercase();
    let mut values = Vec::new();
    let mut rest = lower.as_str();
    let mut offset = 0;
    // Pieces split at " and ", " or " and ", " — on the lowercased copy, same byte offsets.
    while !rest.is_empty() {
        let cut = [" and ", " or ", ", "].iter().filter_map(|p| rest.find(p).map(|i| (i, p.len()))).min();
        let (piece_len, skip) = cut.unwrap_or((rest.len(), 0));
        let piece = &sentence[offset..offset + piece_len];
        if let Some((_, v)) = piece.rsplit_once('=') {
            let v = v.trim();
            if !v.is_empty() && prose_words(v) == 0 {
                values.push(v);
            }
        }
        offset += piece_len + skip;
        rest = &lower[offset..];
    }
    (values.len() >= 2).then(|| values.join(", "))
}

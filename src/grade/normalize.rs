//! MATH-style answer normalisation.
//!
//! Follows the Hendrycks MATH `strip_string` and Minerva `normalize_final_answer` recipes,
//! with a few deliberate differences: `0.5` stays a decimal (numeric comparison handles it),
//! `\\` row breaks survive (matrices need them), and thousands separators are removed only
//! when the groups really are three digits, so the list `1,2` is not read as `12`.

use super::latex::matching_brace;

/// Commands whose braced argument is kept and whose wrapper is dropped.
const WRAPPERS: &[&str] = &[
    "\\boxed",
    "\\fbox",
    "\\text",
    "\\textbf",
    "\\textit",
    "\\textrm",
    "\\textnormal",
    "\\textsf",
    "\\texttt",
    "\\mbox",
    "\\hbox",
    "\\mathrm",
    "\\mathbf",
    "\\mathit",
    "\\mathsf",
    "\\mathtt",
    "\\operatorname",
    "\\emph",
];

/// Unit words dropped after a quantity (lowercase; plural and singular where both occur).
const UNITS: &[&str] = &[
    "dollars",
    "dollar",
    "cents",
    "cent",
    "units",
    "unit",
    "square",
    "sq",
    "cubic",
    "cm",
    "centimeters",
    "centimeter",
    "mm",
    "millimeters",
    "km",
    "kilometers",
    "meters",
    "meter",
    "metres",
    "inches",
    "inch",
    "feet",
    "foot",
    "ft",
    "yards",
    "yard",
    "miles",
    "mile",
    "mph",
    "degrees",
    "degree",
    "radians",
    "hours",
    "hour",
    "hrs",
    "minutes",
    "minute",
    "mins",
    "seconds",
    "days",
    "day",
    "weeks",
    "years",
    "pounds",
    "lbs",
    "ounces",
    "oz",
    "grams",
    "kg",
    "liters",
    "gallons",
    "points",
    "percent",
    "ways",
    "integers",
    "people",
    "students",
];

/// MATH-style canonical form of an answer (see the module docs for the rules).
pub fn normalize(answer: &str) -> String {
    let mut s = map_unicode(answer.trim());
    s = strip_math_delimiters(&s);
    // A leading `\approx` (`\approx 3.5`) says how the number was obtained, not what it is.
    if let Some(rest) = s.trim_start().strip_prefix("\\approx") {
        s = rest.to_string();
    }
    s = thousands_hints_to_commas(&s);
    s = and_to_comma(&s);
    s = s
        .replace("\\dfrac", "\\frac")
        .replace("\\tfrac", "\\frac")
        .replace("\\cfrac", "\\frac")
        .replace("\\displaystyle", "");
    for deg in ["^{\\circ}", "^\\circ", "\\circ", "\\degree"] {
        s = s.replace(deg, "");
    }
    s = remove_sizing(&s);
    s = spacing_to_spaces(&s);
    s = unwrap_commands(&s);
    s = s.replace("\\%", "").replace('%', "");
    s = strip_units(&s);
    let mut t = s.trim().trim_end_matches('.').trim_end().to_string();
    if is_thousands(&t) {
        t = t.replace(',', "");
    }
    s = remove_spaces(&t);
    s = s.replace("infinity", "\\infty");
    s = add_leading_zeros(&s);
    s = strip_assignment(&s).to_string();
    s = fix_args(&s, 0, &mut { MAX_ARG_MATCHES });
    s = compact_single_char_groups(&s);
    s = slash_to_frac(&s);
    s = trim_decimal_zeros(&s);
    choice_letter(&s).unwrap_or(s)
}

/// Drops math delimiters `$`, `\(`, `\)`, `\[`, `\]` and escaped `\$` signs in one scan, so
/// a `\\` row break stays whole: in `\\[2pt]` or `$\\$` the second backslash belongs to the
/// row break, not to the bracket or the dollar.
fn strip_math_delimiters(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some('\\')) => {
                chars.next();
                out.push_str("\\\\");
            }
            ('\\', Some('$' | '(' | ')' | '[' | ']')) => {
                chars.next();
            }
            ('$', _) => {}
            _ => out.push(c),
        }
    }
    out
}

/// `,\!` (plus any spaces after it) and `{,}` are how MATH typesets thousands separators
/// (`10,\!080`); they become plain commas so the thousands check can see them.
fn thousands_hints_to_commas(s: &str) -> String {
    let s = s.replace("{,}", ",");
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(at) = rest.find(",\\!") {
        out.push_str(&rest[..at]);
        out.push(',');
        rest = rest[at + 3..].trim_start();
    }
    out.push_str(rest);
    out
}

/// Unicode math symbols to their LaTeX spelling, so one parser handles both.
fn map_unicode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\u{2212}' | '\u{2013}' => out.push('-'),
            '\u{d7}' => out.push_str("\\times "),
            '\u{b7}' | '\u{22c5}' => out.push_str("\\cdot "),
            '\u{f7}' => out.push_str("\\div "),
            '\u{3c0}' => out.push_str("\\pi "),
            '\u{221a}' => out.push_str("\\sqrt"),
            '\u{221e}' => out.push_str("\\infty "),
            '\u{b1}' => out.push_str("\\pm "),
            '\u{2248}' => out.push_str("\\approx "),
            '\u{b0}' => {}
            // Currency signs, like `\$`, say what a number counts, not what it is.
            '\u{20ac}' | '\u{a3}' | '\u{a5}' | '\u{20b9}' => {}
            '\u{a0}' | '\u{2009}' | '\u{202f}' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// `\text{and}`/`\text{or}` join the items of a list answer (`1 \text{ and } 2`): a comma.
fn and_to_comma(s: &str) -> String {
    let mut s = s.to_string();
    for cmd in ["\\text", "\\mbox", "\\textrm"] {
        for word in [" and ", "and ", " and", "and", " or ", "or ", " or", "or"] {
            s = s.replace(&format!("{cmd}{{{word}}}"), ",");
        }
    }
    s
}

/// Removes `\left`, `\right` and `\big`-style sizing, which never change meaning.
fn remove_sizing(s: &str) -> String {
    let mut s = s.replace("\\left.", "").replace("\\right.", "");
    for cmd in ["\\left", "\\right", "\\bigl", "\\bigr", "\\Bigl", "\\Bigr", "\\big", "\\Big"] {
        s = remove_control_word(&s, cmd);
    }
    s
}

/// Deletes the control word `cmd` wherever it is not the prefix of a longer word.
fn remove_control_word(s: &str, cmd: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find(cmd) {
        let end = at + cmd.len();
        out.push_str(&rest[..at]);
        if rest.as_bytes().get(end).is_some_and(u8::is_ascii_alphabetic) {
            // `\leftarrow`, `\rightarrow`: a different command, keep it.
            out.push_str(cmd);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Turns spacing commands (`\!`, `\,`, `\;`, `\:`, `\ `, `\quad`, `~`) into plain spaces.
///
/// Scans escapes left to right so that a `\\` row break followed by a space is kept.
fn spacing_to_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some('\\') => {
                    chars.next();
                    out.push_str("\\\\");
                }
                Some('!' | ',' | ';' | ':' | ' ') => {
                    chars.next();
                    out.push(' ');
                }
                _ => out.push('\\'),
            },
            '~' => out.push(' '),
            _ => out.push(c),
        }
    }
    remove_control_word(&remove_control_word(&out, "\\qquad"), "\\quad")
}

/// Drops wrapper commands such as `\text{...}` while keeping their content, in one pass.
///
/// A stack remembers, for every open brace, whether its closing brace belongs to a dropped
/// wrapper; this handles nesting without recursion, so deep input cannot overflow.
fn unwrap_commands(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut stack: Vec<bool> = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        let Some(c) = rest.chars().next() else { break };
        if c == '\\' {
            if let Some(len) = wrapper_len(rest) {
                stack.push(true);
                i += len + 1;
                continue;
            }
            // Copy an escape pair verbatim so `\{` and `\}` stay out of the brace stack.
            let next_len = rest[1..].chars().next().map_or(0, char::len_utf8);
            out.push_str(&rest[..1 + next_len]);
            i += 1 + next_len;
            continue;
        }
        match c {
            '{' => {
                stack.push(false);
                out.push('{');
            }
            '}' => {
                if stack.pop() != Some(true) {
                    out.push('}');
                }
            }
            _ => out.push(c),
        }
        i += c.len_utf8();
    }
    out
}

/// Length of the wrapper command at the start of `s` when it is directly followed by `{`.
fn wrapper_len(s: &str) -> Option<usize> {
    WRAPPERS.iter().find(|w| s.starts_with(*w) && s.as_bytes().get(w.len()) == Some(&b'{')).map(|w| w.len())
}

/// Drops trailing unit words after a quantity: `18 dollars`, `15 cm^2`, `5 apples`.
fn strip_units(s: &str) -> String {
    let cur = s.trim();
    if let Some(num) = number_then_words(cur) {
        return num.to_string();
    }
    let mut cur = cur.to_string();
    // Each pass removes one word ("square units" needs two).
    for _ in 0..4 {
        let t = cur.trim_end();
        let base =
            ["^2", "^3", "^{2}", "^{3}"].iter().find_map(|p| t.strip_suffix(p)).unwrap_or(t).trim_end();
        let word_start = base
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphabetic())
            .last()
            .map_or(base.len(), |(i, _)| i);
        let word = &base[word_start..];
        if word.is_empty() || !UNITS.contains(&word.to_ascii_lowercase().as_str()) {
            break;
        }
        let before = &base[..word_start];
        // `\sec`, `\deg`: a command, not a unit.
        if before.ends_with('\\') {
            break;
        }
        let before = before.trim_end();
        let quantity_like = before.bytes().any(|b| b.is_ascii_digit() || b == b'\\');
        if before.is_empty() || !quantity_like {
            break;
        }
        cur = before.to_string();
    }
    cur
}

/// `<number> <words>` (e.g. `5 apples`) → the number, for GSM8K-style answers with nouns.
fn number_then_words(s: &str) -> Option<&str> {
    let split = s.find(' ')?;
    let (num, words) = (&s[..split], s[split..].trim());
    let num_ok = !num.is_empty()
        && num.bytes().any(|b| b.is_ascii_digit())
        && num
            .bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_digit() || b == b'.' || b == b',' || (i == 0 && b == b'-'));
    let letters = words.bytes().filter(u8::is_ascii_alphabetic).count();
    let words_ok =
        letters >= 2 && words.bytes().all(|b| b.is_ascii_alphabetic() || b == b' ' || b == b'-' || b == b'.');
    (num_ok && words_ok).then_some(num)
}

/// Whether `s` is a number with `,` thousands separators in groups of three (`-1,234.5`).
fn is_thousands(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    if frac.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    let mut groups = int.split(',');
    let head_ok =
        groups.next().is_some_and(|h| (1..=3).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_digit()));
    let mut n_groups = 0;
    for g in groups {
        if g.len() != 3 || !g.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        n_groups += 1;
    }
    head_ok && n_groups > 0
}

/// Removes whitespace, keeping one space where it ends a control word before a letter.
///
/// Without that space `\cot x` would become the unknown command `\cotx`.
fn remove_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    // True while the output ends in a control word such as `\pi`.
    let mut in_word = false;
    let mut after_backslash = false;
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            pending_space = in_word;
            continue;
        }
        if pending_space && c.is_ascii_alphabetic() {
            out.push(' ');
            in_word = false;
        }
        pending_space = false;
        out.push(c);
        if after_backslash {
            in_word = c.is_ascii_alphabetic();
            after_backslash = false;
        } else if c == '\\' {
            after_backslash = true;
            in_word = false;
        } else if !(in_word && c.is_ascii_alphabetic()) {
            in_word = false;
        }
    }
    out
}

/// `.5` → `0.5`, also after a sign, bracket or comma.
fn add_leading_zeros(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len() + 2);
    for (i, c) in s.char_indices() {
        if c == '.'
            && b.get(i + 1).is_some_and(u8::is_ascii_digit)
            && (i == 0 || b"-+({[,=".contains(&b[i - 1]))
        {
            out.push('0');
        }
        out.push(c);
    }
    out
}

/// Greek letters accepted as the variable of a leading assignment (`\theta=...`).
const GREEK: &[&str] =
    &["alpha", "beta", "gamma", "delta", "theta", "lambda", "mu", "phi", "omega", "rho", "sigma", "tau"];

/// Drops a leading single-variable assignment: `x=5` → `5`, `f(x)=...`, `x\in[1,2]` → `[1,2]`.
///
/// Only a lone variable on the left counts, so real equations like `5x-7y+11z+4=0` stay.
pub(crate) fn strip_assignment(s: &str) -> &str {
    let b = s.as_bytes();
    let mut var_end = None;
    if b.first().is_some_and(u8::is_ascii_alphabetic) {
        var_end = Some(1);
        // `f(x)=`
        if b.len() > 4 && b[1] == b'(' && b[2].is_ascii_alphabetic() && b[3] == b')' {
            var_end = Some(4);
        }
    } else if let Some(rest) = s.strip_prefix('\\') {
        var_end = GREEK
            .iter()
            .find(|g| {
                rest.starts_with(*g) && !rest.as_bytes().get(g.len()).is_some_and(u8::is_ascii_alphabetic)
            })
            .map(|g| g.len() + 1);
    }
    let Some(end) = var_end else { return s };
    let rest = &s[end..];
    for op in ["=", "\\in"] {
        if let Some(value) = rest.strip_prefix(op) {
            let is_word_op = op == "\\in" && value.starts_with(|c: char| c.is_ascii_alphabetic());
            if !value.is_empty() && !value.contains('=') && !is_word_op {
                return value;
            }
        }
    }
    s
}

/// Maximum nesting of `\frac`/`\sqrt` arguments rewritten by [`fix_args`].
const MAX_FIX_DEPTH: usize = 32;
/// Brace matches [`fix_args`] may attempt; each scans to the end when braces are unclosed,
/// so an unbounded number would make `\sqrt{\sqrt{...` quadratic.
const MAX_ARG_MATCHES: usize = 256;

/// Braces the arguments of `\frac` and `\sqrt`: `\frac12` → `\frac{1}{2}`, `\sqrt2` → `\sqrt{2}`.
fn fix_args(s: &str, depth: usize, budget: &mut usize) -> String {
    if depth > MAX_FIX_DEPTH {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        let (cmd, nargs) = if starts_control_word(rest, "\\frac") {
            ("\\frac", 2)
        } else if starts_control_word(rest, "\\sqrt") {
            ("\\sqrt", 1)
        } else {
            let Some(c) = rest.chars().next() else { break };
            out.push(c);
            i += c.len_utf8();
            continue;
        };
        out.push_str(cmd);
        i += cmd.len();
        // `\sqrt[3]{x}`: copy the root index untouched.
        if cmd == "\\sqrt" && s[i..].starts_with('[') {
            if let Some(close) = s[i..].find(']') {
                out.push_str(&s[i..=i + close]);
                i += close + 1;
            }
        }
        for _ in 0..nargs {
            match take_arg(s, i, budget) {
                Some((arg, end)) => {
                    out.push('{');
                    out.push_str(&fix_args(arg, depth + 1, budget));
                    out.push('}');
                    i = end;
                }
                None => break,
            }
        }
    }
    out
}

/// Whether `s` starts with control word `cmd` not continued by another letter.
fn starts_control_word(s: &str, cmd: &str) -> bool {
    s.starts_with(cmd) && !s.as_bytes().get(cmd.len()).is_some_and(u8::is_ascii_alphabetic)
}

/// One TeX argument at byte `i`: a braced group, a control word, or a single character.
fn take_arg<'a>(s: &'a str, i: usize, budget: &mut usize) -> Option<(&'a str, usize)> {
    let rest = s.get(i..)?;
    let c = rest.chars().next()?;
    match c {
        '{' => {
            *budget = budget.checked_sub(1)?;
            let close = matching_brace(s, i)?;
            Some((&s[i + 1..close], close + 1))
        }
        '\\' => {
            let letters = rest[1..].bytes().take_while(u8::is_ascii_alphabetic).count();
            let len = 1 + letters.max(1).min(rest.len() - 1);
            let len = if rest.is_char_boundary(len) { len } else { 1 };
            Some((&rest[..len], i + len))
        }
        '}' | '^' | '_' | '&' => None,
        _ => Some((&rest[..c.len_utf8()], i + c.len_utf8())),
    }
}

/// `^{2}` → `^2` and `_{8}` → `_8` for one-character groups, so equivalent spellings share a key.
fn compact_single_char_groups(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let compactable = (b[i] == b'^' || b[i] == b'_')
            && b.get(i + 1) == Some(&b'{')
            && b.get(i + 2).is_some_and(u8::is_ascii_alphanumeric)
            && b.get(i + 3) == Some(&b'}')
            // `^{2}3` must not turn into `^23`.
            && !b.get(i + 4).is_some_and(u8::is_ascii_digit);
        if compactable {
            out.push(b[i] as char);
            out.push(b[i + 2] as char);
            i += 4;
            continue;
        }
        let Some(c) = s[i..].chars().next() else {
            break;
        };
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Whole-string integer fraction `a/b` → `\frac{a}{b}` (Hendrycks `fix_a_slash_b`).
fn slash_to_frac(s: &str) -> String {
    let (sign, body) = match s.strip_prefix('-') {
        Some(b) => ("-", b),
        None => ("", s),
    };
    let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    match body.split_once('/') {
        Some((a, b)) if all_digits(a) && all_digits(b) => format!("{sign}\\frac{{{a}}}{{{b}}}"),
        _ => s.to_string(),
    }
}

/// `18.00` → `18`, `18.90` → `18.9` for a whole-string decimal number.
fn trim_decimal_zeros(s: &str) -> String {
    let body = s.strip_prefix('-').unwrap_or(s);
    let Some((int, frac)) = body.split_once('.') else {
        return s.to_string();
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || frac.is_empty() || !digits(int) || !digits(frac) {
        return s.to_string();
    }
    let t = s.trim_end_matches('0').trim_end_matches('.');
    if t == "-0" {
        "0".to_string()
    } else {
        t.to_string()
    }
}

/// Multiple-choice `(C)` → `C`.
fn choice_letter(s: &str) -> Option<String> {
    let b = s.as_bytes();
    (b.len() == 3 && b[0] == b'(' && b[2] == b')' && b[1].is_ascii_uppercase())
        .then(|| (b[1] as char).to_string())
}

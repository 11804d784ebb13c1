//! LaTeX as Unicode for reading: `\frac{x+1}{2}` → `(x+1)⁄2`, `x^2` → `x²`.

use std::ops::Range;

/// Renders common LaTeX as Unicode for reading (`\frac{x+1}{2}` → `(x+1)⁄2`, `x^2` → `x²`).
///
/// Math delimiters (`$…$`, `$$…$$`, `\(…\)`, `\[…\]`) are removed; unknown commands stay as
/// written; fenced and inline code is left alone. Never panics, whatever the input.
pub fn latex_to_unicode(s: &str) -> String {
    if !s.contains(['\\', '$', '^', '_']) {
        return s.to_string();
    }
    let src: Vec<char> = s.chars().collect();
    let latex = Latex { close: matching_braces(&src), src: &src };
    let mut out = String::with_capacity(s.len());
    latex.run(&mut out, 0, src.len(), false, 0);
    out
}

/// Deeper nesting than this is copied as written, so hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 24;

/// Characters searched for the `$` that closes inline math, and for the `]` that closes a
/// root's index: without a bound, a long line of unclosed openers is quadratic.
const MAX_INLINE_MATH: usize = 2000;
const MAX_ROOT_INDEX: usize = 32;

/// For each `{`, the index of its matching `}` (escaped braces `\{` `\}` do not count).
fn matching_braces(src: &[char]) -> Vec<Option<usize>> {
    let mut close = vec![None; src.len()];
    let mut open = Vec::new();
    let mut i = 0;
    while i < src.len() {
        match src[i] {
            '\\' => i += 1,
            '{' => open.push(i),
            '}' => {
                if let Some(o) = open.pop() {
                    close[o] = Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    close
}

struct Latex<'a> {
    src: &'a [char],
    close: Vec<Option<usize>>,
}

impl Latex<'_> {
    /// Converts `src[start..end]` into `out`.
    fn run(&self, out: &mut String, start: usize, end: usize, mut math: bool, depth: usize) {
        if depth > MAX_DEPTH {
            out.extend(&self.src[start..end]);
            return;
        }
        let mut i = start;
        while i < end {
            let c = self.src[i];
            if !math && depth == 0 {
                if let Some(next) = self.code_at(i, end) {
                    out.extend(&self.src[i..next]);
                    i = next;
                    continue;
                }
            }
            i = match c {
                '\\' => self.command(out, i, end, &mut math, depth),
                '$' if !math => self.dollar(out, i, end, depth),
                '^' | '_' => self.script(out, i, end, math, depth),
                '{' => match self.close[i].filter(|&m| m < end) {
                    Some(m) => {
                        out.push('{');
                        self.run(out, i + 1, m, math, depth + 1);
                        out.push('}');
                        m + 1
                    }
                    None => {
                        out.push('{');
                        i + 1
                    }
                },
                _ => {
                    out.push(c);
                    i + 1
                }
            };
        }
    }

    fn render(&self, range: Range<usize>, math: bool, depth: usize) -> String {
        let mut out = String::new();
        self.run(&mut out, range.start, range.end, math, depth + 1);
        out
    }

    /// If a fenced code block or an inline code span starts at `i`, where it ends.
    fn code_at(&self, i: usize, end: usize) -> Option<usize> {
        let src = self.src;
        let line_end = |from: usize| (from..end).find(|&k| src[k] == '\n').unwrap_or(end);
        let run_len = |from: usize, c: char| (from..end).take_while(|&k| src[k] == c).count();
        if i == 0 || src[i - 1] == '\n' {
            let k = (i..end).find(|&k| src[k] != ' ').unwrap_or(end);
            let marker = *src.get(k).filter(|&&c| c == '`' || c == '~')?;
            let len = run_len(k, marker);
            if len >= 3 {
                // Copy through the closing fence line, or to the end when it never closes.
                let mut line = line_end(i);
                while line < end {
                    let next = line + 1;
                    let eol = line_end(next);
                    let body = (next..eol).find(|&k| src[k] != ' ').unwrap_or(eol);
                    let fence = run_len(body, marker);
                    if fence >= len && (body + fence..eol).all(|k| src[k].is_whitespace()) {
                        return Some(eol);
                    }
                    line = eol;
                }
                return Some(end);
            }
        }
        if src[i] == '`' {
            let len = run_len(i, '`');
            let eol = line_end(i);
            let mut k = i + len;
            while k < eol {
                let n = run_len(k, '`');
                if n == len {
                    return Some(k + n);
                }
                k += n.max(1);
            }
            return Some(i + len);
        }
        None
    }

    /// A `\…` at `i`; returns where to continue.
    fn command(&self, out: &mut String, i: usize, end: usize, math: &mut bool, depth: usize) -> usize {
        let src = self.src;
        let Some(&next) = src.get(i + 1).filter(|_| i + 1 < end) else {
            out.push('\\');
            return i + 1;
        };
        if !next.is_ascii_alphabetic() {
            match next {
                ',' | ';' | ':' | '>' | ' ' => out.push(' '),
                '!' => {}
                '$' | '%' | '&' | '#' | '_' | '{' | '}' => out.push(next),
                '|' => out.push('‖'),
                '(' | '[' => *math = true,
                ')' | ']' => *math = false,
                _ => {
                    out.push('\\');
                    out.push(next);
                }
            }
            return i + 2;
        }
        let name_end = (i + 1..end).find(|&k| !src[k].is_ascii_alphabetic()).unwrap_or(end);
        let name: String = src[i + 1..name_end].iter().collect();
        let as_written = |out: &mut String| {
            out.push('\\');
            out.push_str(&name);
            name_end
        };
        let arg = |at: usize| self.arg(at, end);
        match name.as_str() {
            "frac" | "dfrac" | "tfrac" | "cfrac" => {
                let Some((num, after)) = arg(name_end) else { return as_written(out) };
                let Some((den, after)) = arg(after) else { return as_written(out) };
                out.push_str(&atom(self.render(num, true, depth)));
                out.push('⁄');
                out.push_str(&atom(self.render(den, true, depth)));
                after
            }
            "binom" | "dbinom" | "tbinom" => {
                let Some((n, after)) = arg(name_end) else { return as_written(out) };
                let Some((k, after)) = arg(after) else { return as_written(out) };
                out.push_str(&format!("C({}, {})", self.render(n, true, depth), self.render(k, true, depth)));
                after
            }
            "sqrt" => {
                let mut at = name_end;
                let mut index = None;
                if src.get(at) == Some(&'[') {
                    if let Some(close) = (at + 1..end.min(at + 1 + MAX_ROOT_INDEX)).find(|&k| src[k] == ']') {
                        index = Some(self.render(at + 1..close, true, depth));
                        at = close + 1;
                    }
                }
                let Some((body, after)) = arg(at) else { return as_written(out) };
                match index.as_deref().map(str::trim) {
                    None | Some("2") => out.push('√'),
                    Some("3") => out.push('∛'),
                    Some("4") => out.push('∜'),
                    Some(n) => match scripted(n, superscript) {
                        Some(sup) => {
                            out.push_str(&sup);
                            out.push('√');
                        }
                        None => out.push_str(&format!("√[{n}]")),
                    },
                }
                out.push_str(&atom(self.render(body, true, depth)));
                after
            }
            "boxed" | "fbox" => {
                let Some((body, after)) = arg(name_end) else { return as_written(out) };
                out.push('[');
                out.push_str(&self.render(body, *math, depth));
                out.push(']');
                after
            }
            "text" | "textrm" | "textbf" | "textit" | "texttt" | "textsf" | "textup" | "textnormal"
            | "mbox" | "emph" => {
                let Some((body, after)) = arg(name_end) else { return as_written(out) };
                out.push_str(&self.render(body, false, depth));
                after
            }
            "mathrm" | "mathbf" | "mathit" | "mathsf" | "mathtt" | "mathcal" | "mathfrak" | "mathscr"
            | "operatorname" | "boldsymbol" | "bm" | "mathbb" => {
                let Some((body, after)) = arg(name_end) else { return as_written(out) };
                let body = self.render(body, true, depth);
                match double_struck(&body).filter(|_| name == "mathbb") {
                    Some(c) => out.push(c),
                    None => out.push_str(&body),
                }
                after
            }
            "pmod" => {
                let Some((body, after)) = arg(name_end) else { return as_written(out) };
                out.push_str(&format!(" (mod {})", self.render(body, true, depth)));
                after
            }
            "begin" | "end" => arg(name_end).map_or_else(|| as_written(out), |(_, after)| after),
            "left" | "right" => {
                // `\left.` is an invisible delimiter.
                if src.get(name_end) == Some(&'.') && name_end < end {
                    name_end + 1
                } else {
                    name_end
                }
            }
            "not" if src.get(name_end) == Some(&'=') && name_end < end => {
                out.push('≠');
                name_end + 1
            }
            _ => match symbol(&name) {
                Some(text) => {
                    out.push_str(text);
                    name_end
                }
                None => as_written(out),
            },
        }
    }

    /// A command argument at `at` (after spaces): a `{group}`, a `\command` or one character.
    /// Returns the range to render and where to continue.
    fn arg(&self, at: usize, end: usize) -> Option<(Range<usize>, usize)> {
        let src = self.src;
        let at = (at..end).find(|&k| src[k] != ' ')?;
        match src[at] {
            '{' => self.close[at].filter(|&m| m < end).map(|m| (at + 1..m, m + 1)),
            '}' => None,
            '\\' if at + 1 < end => {
                let stop = if src[at + 1].is_ascii_alphabetic() {
                    (at + 1..end).find(|&k| !src[k].is_ascii_alphabetic()).unwrap_or(end)
                } else {
                    at + 2
                };
                Some((at..stop, stop))
            }
            _ => Some((at..at + 1, at + 1)),
        }
    }

    /// A `$` or `$$` at `i` outside math; returns where to continue.
    fn dollar(&self, out: &mut String, i: usize, end: usize, depth: usize) -> usize {
        let src = self.src;
        if src.get(i + 1) == Some(&'$') && i + 1 < end {
            let close = (i + 2..end.saturating_sub(1)).find(|&k| src[k] == '$' && src[k + 1] == '$');
            return match close {
                Some(close) => {
                    self.run(out, i + 2, close, true, depth + 1);
                    close + 2
                }
                None => {
                    out.push_str("$$");
                    i + 2
                }
            };
        }
        // Pandoc's rule, so that prices like "$5 and $10" stay as they are: the opening `$` is
        // followed by a non-space, the closing one follows a non-space and is not before a digit.
        let opens = src.get(i + 1).is_some_and(|c| !c.is_whitespace()) && i + 1 < end;
        if !opens {
            out.push('$');
            return i + 1;
        }
        // A bounded search: a line of `$a $b …` would otherwise cost a scan per `$`.
        let close = (i + 2..end.min(i + 2 + MAX_INLINE_MATH)).take_while(|&k| src[k] != '\n').find(|&k| {
            src[k] == '$'
                && !src[k - 1].is_whitespace()
                && src[k - 1] != '\\'
                && !src.get(k + 1).is_some_and(char::is_ascii_digit)
        });
        match close.filter(|_| opens) {
            Some(close) => {
                self.run(out, i + 1, close, true, depth + 1);
                close + 1
            }
            None => {
                out.push('$');
                i + 1
            }
        }
    }

    /// A `^` or `_` at `i`; returns where to continue.
    fn script(&self, out: &mut String, i: usize, end: usize, math: bool, depth: usize) -> usize {
        let src = self.src;
        let c = src[i];
        let literal = |out: &mut String| {
            out.push(c);
            i + 1
        };
        let braced = src.get(i + 1) == Some(&'{');
        let Some((range, after)) = self.arg(i + 1, end) else { return literal(out) };
        if !math {
            // Outside math only `x^2`-like uses count, so `snake_case` and `file_123` survive.
            let has_base = i > 0 && (src[i - 1].is_alphanumeric() || matches!(src[i - 1], ')' | ']' | '}'));
            let one_char = src[i + 1] != '\\' && !braced;
            let then_word = one_char && src.get(after).is_some_and(|c| c.is_alphanumeric());
            if !has_base || then_word || src[i + 1].is_whitespace() {
                return literal(out);
            }
        }
        let inner = self.render(range, true, depth);
        let map = if c == '^' { superscript } else { subscript };
        if c == '^' && matches!(inner.as_str(), "°" | "′" | "″") {
            out.push_str(&inner);
        } else if let Some(mapped) = scripted(&inner, map) {
            out.push_str(&mapped);
        } else if braced {
            out.push(c);
            out.push('{');
            out.push_str(&inner);
            out.push('}');
        } else {
            out.push(c);
            out.push_str(&inner);
        }
        after
    }
}

/// Wraps `s` in parentheses unless it is one token (`12`, `x`, `π`, `√2`, `x²`, `(a+b)`).
fn atom(s: String) -> String {
    let t = s.trim();
    if t.is_empty() || is_one_token(t) {
        t.to_string()
    } else {
        format!("({t})")
    }
}

fn is_one_token(s: &str) -> bool {
    let rest = s.trim_start_matches(['√', '∛', '∜']);
    if rest.starts_with(['(', '[']) {
        return closes_at_end(rest);
    }
    let mut chars = rest.chars().peekable();
    match chars.next() {
        None => return false,
        Some(c) if c.is_ascii_digit() => {
            while chars.next_if(|c| c.is_ascii_digit() || *c == '.').is_some() {}
        }
        Some(_) => {}
    }
    chars.all(|c| is_script_char(c) || c == '′')
}

/// True when the bracket opening `s` is closed by its last character.
fn closes_at_end(s: &str) -> bool {
    let mut depth = 0usize;
    for (k, c) in s.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return k + c.len_utf8() == s.len();
                }
            }
            _ => {}
        }
    }
    false
}

fn is_script_char(c: char) -> bool {
    matches!(c, '¹' | '²' | '³' | '⁰'..='ⁿ' | '₀'..='ₜ' | 'ᵢ' | 'ⱼ' | 'ᵣ' | 'ᵤ' | 'ᵥ')
}

/// Every character of `s` (spaces dropped) in its super- or subscript form, or `None`.
fn scripted(s: &str, map: fn(char) -> Option<char>) -> Option<String> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    s.chars().filter(|c| !c.is_whitespace()).map(map).collect()
}

fn superscript(c: char) -> Option<char> {
    Some(match c {
        '0' => '⁰',
        '1' => '¹',
        '2' => '²',
        '3' => '³',
        '4' => '⁴',
        '5' => '⁵',
        '6' => '⁶',
        '7' => '⁷',
        '8' => '⁸',
        '9' => '⁹',
        '+' => '⁺',
        '-' | '−' => '⁻',
        '=' => '⁼',
        '(' => '⁽',
        ')' => '⁾',
        'n' => 'ⁿ',
        'i' => 'ⁱ',
        _ => return None,
    })
}

fn subscript(c: char) -> Option<char> {
    Some(match c {
        '0'..='9' => char::from_u32(0x2080 + (c as u32 - '0' as u32))?,
        '+' => '₊',
        '-' | '−' => '₋',
        '=' => '₌',
        '(' => '₍',
        ')' => '₎',
        'a' => 'ₐ',
        'e' => 'ₑ',
        'o' => 'ₒ',
        'x' => 'ₓ',
        'h' => 'ₕ',
        'k' => 'ₖ',
        'l' => 'ₗ',
        'm' => 'ₘ',
        'n' => 'ₙ',
        'p' => 'ₚ',
        's' => 'ₛ',
        't' => 'ₜ',
        'i' => 'ᵢ',
        'j' => 'ⱼ',
        'r' => 'ᵣ',
        'u' => 'ᵤ',
        'v' => 'ᵥ',
        _ => return None,
    })
}

fn double_struck(s: &str) -> Option<char> {
    Some(match s.trim() {
        "R" => 'ℝ',
        "N" => 'ℕ',
        "Z" => 'ℤ',
        "Q" => 'ℚ',
        "C" => 'ℂ',
        "P" => 'ℙ',
        "H" => 'ℍ',
        _ => return None,
    })
}

/// Commands that stand for a fixed piece of text.
fn symbol(name: &str) -> Option<&'static str> {
    Some(match name {
        // Greek
        "alpha" => "α",
        "beta" => "β",
        "gamma" => "γ",
        "delta" => "δ",
        "epsilon" | "varepsilon" => "ε",
        "zeta" => "ζ",
        "eta" => "η",
        "theta" => "θ",
        "vartheta" => "ϑ",
        "iota" => "ι",
        "kappa" => "κ",
        "lambda" => "λ",
        "mu" => "μ",
        "nu" => "ν",
        "xi" => "ξ",
        "omicron" => "ο",
        "pi" => "π",
        "varpi" => "ϖ",
        "rho" => "ρ",
        "varrho" => "ϱ",
        "sigma" => "σ",
        "varsigma" => "ς",
        "tau" => "τ",
        "upsilon" => "υ",
        "phi" | "varphi" => "φ",
        "chi" => "χ",
        "psi" => "ψ",
        "omega" => "ω",
        "Gamma" => "Γ",
        "Delta" => "Δ",
        "Theta" => "Θ",
        "Lambda" => "Λ",
        "Xi" => "Ξ",
        "Pi" => "Π",
        "Sigma" => "Σ",
        "Upsilon" => "Υ",
        "Phi" => "Φ",
        "Psi" => "Ψ",
        "Omega" => "Ω",
        // Operators and relations
        "times" => "×",
        "cdot" | "cdotp" => "·",
        "div" => "÷",
        "pm" => "±",
        "mp" => "∓",
        "le" | "leq" | "leqslant" => "≤",
        "ge" | "geq" | "geqslant" => "≥",
        "ne" | "neq" => "≠",
        "approx" => "≈",
        "equiv" => "≡",
        "sim" => "∼",
        "simeq" => "≃",
        "cong" => "≅",
        "propto" => "∝",
        "ll" => "≪",
        "gg" => "≫",
        "infty" => "∞",
        "circ" | "degree" => "°",
        "prime" => "′",
        "ast" => "∗",
        "star" => "⋆",
        "bullet" => "•",
        "oplus" => "⊕",
        "otimes" => "⊗",
        "mid" | "vert" | "lvert" | "rvert" => "|",
        "Vert" | "lVert" | "rVert" => "‖",
        "parallel" => "∥",
        "perp" => "⊥",
        "angle" => "∠",
        "triangle" => "△",
        "therefore" => "∴",
        "because" => "∵",
        // Arrows and logic
        "to" | "rightarrow" | "longrightarrow" => "→",
        "gets" | "leftarrow" | "longleftarrow" => "←",
        "leftrightarrow" => "↔",
        "mapsto" => "↦",
        "Rightarrow" | "Longrightarrow" | "implies" => "⇒",
        "Leftarrow" | "Longleftarrow" | "impliedby" => "⇐",
        "Leftrightarrow" | "Longleftrightarrow" | "iff" => "⇔",
        "forall" => "∀",
        "exists" => "∃",
        "neg" | "lnot" => "¬",
        "land" | "wedge" => "∧",
        "lor" | "vee" => "∨",
        // Sets
        "in" => "∈",
        "notin" => "∉",
        "ni" => "∋",
        "cup" => "∪",
        "cap" => "∩",
        "setminus" => "∖",
        "subset" => "⊂",
        "subseteq" => "⊆",
        "supset" => "⊃",
        "supseteq" => "⊇",
        "emptyset" | "varnothing" => "∅",
        // Big operators, calculus, dots
        "sum" => "∑",
        "prod" => "∏",
        "int" => "∫",
        "oint" => "∮",
        "partial" => "∂",
        "nabla" => "∇",
        "ldots" | "cdots" | "dots" | "dotsc" | "dotsb" | "dotso" => "…",
        "vdots" => "⋮",
        "ddots" => "⋱",
        // Delimiters
        "lfloor" => "⌊",
        "rfloor" => "⌋",
        "lceil" => "⌈",
        "rceil" => "⌉",
        "langle" => "⟨",
        "rangle" => "⟩",
        "lbrace" => "{",
        "rbrace" => "}",
        "backslash" => "\\",
        // Letters
        "ell" => "ℓ",
        "hbar" => "ℏ",
        "aleph" => "ℵ",
        // Named functions print as their names
        "sin" => "sin",
        "cos" => "cos",
        "tan" => "tan",
        "cot" => "cot",
        "sec" => "sec",
        "csc" => "csc",
        "arcsin" => "arcsin",
        "arccos" => "arccos",
        "arctan" => "arctan",
        "sinh" => "sinh",
        "cosh" => "cosh",
        "tanh" => "tanh",
        "log" => "log",
        "ln" => "ln",
        "lg" => "lg",
        "exp" => "exp",
        "lim" => "lim",
        "max" => "max",
        "min" => "min",
        "sup" => "sup",
        "inf" => "inf",
        "gcd" => "gcd",
        "lcm" => "lcm",
        "det" => "det",
        "deg" => "deg",
        "dim" => "dim",
        "ker" => "ker",
        "arg" => "arg",
        "mod" | "bmod" => "mod",
        // Spacing and sizing that only matter to a typesetter
        "quad" | "qquad" | "enspace" | "thinspace" => " ",
        "big" | "Big" | "bigg" | "Bigg" | "bigl" | "bigr" | "Bigl" | "Bigr" | "biggl" | "biggr" | "Biggl"
        | "Biggr" | "displaystyle" | "textstyle" | "scriptstyle" | "limits" | "nolimits" | "nonumber"
        | "notag" => "",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latex_table() {
        let cases = [
            (r"\frac{a}{b}", "a⁄b"),
            (r"\frac{x+1}{2}", "(x+1)⁄2"),
            (r"\dfrac{10}{3}", "10⁄3"),
            (r"\tfrac12", "1⁄2"),
            (r"\frac{\pi}{2}", "π⁄2"),
            (r"\frac{\sqrt{2}}{2}", "√2⁄2"),
            (r"\frac{2\pi}{n+1}", "(2π)⁄(n+1)"),
            (r"\sqrt{x}", "√x"),
            (r"\sqrt{x+1}", "√(x+1)"),
            (r"\sqrt[3]{x}", "∛x"),
            (r"\sqrt[4]{16}", "∜16"),
            (r"3 \times 4", "3 × 4"),
            (r"a \cdot b", "a · b"),
            (r"6 \div 2", "6 ÷ 2"),
            (r"\pm 1", "± 1"),
            (r"x \le y \leq z", "x ≤ y ≤ z"),
            (r"x \ge y \geq z", "x ≥ y ≥ z"),
            (r"x \ne y \neq z", "x ≠ y ≠ z"),
            (r"\pi \approx 3.14", "π ≈ 3.14"),
            (r"n \to \infty", "n → ∞"),
            (r"a \rightarrow b \Rightarrow c", "a → b ⇒ c"),
            (r"\alpha + \beta = \Gamma(\theta)", "α + β = Γ(θ)"),
            (r"90^\circ", "90°"),
            (r"90^{\circ}", "90°"),
            (r"x \in A \cup B \cap C", "x ∈ A ∪ B ∩ C"),
            (r"1, 2, \ldots, n \cdots", "1, 2, …, n …"),
            (r"\left( \frac{1}{2} \right)", "( 1⁄2 )"),
            (r"\left. x \right|", " x |"),
            (r"\boxed{42}", "[42]"),
            (r"\text{if } x", "if  x"),
            (r"\mathrm{d}x \textbf{bold}", "dx bold"),
            (r"a\,b\;c\!d\quad e", "a b cd  e"),
            ("x^2 + y^{10}", "x² + y¹⁰"),
            ("$x^{n+1}$ and $a_{n-1}$", "xⁿ⁺¹ and aₙ₋₁"),
            ("$a_1 + a_{ij}$", "a₁ + aᵢⱼ"),
            ("$x^{2k}$", "x^{2k}"),
            (r"\$5", "$5"),
            ("$x$", "x"),
            (r"\(x + 1\)", "x + 1"),
            (r"\[ \sum_{i=1}^{n} i \]", " ∑ᵢ₌₁ⁿ i "),
            ("$$\\frac{1}{2}$$", "1⁄2"),
            (r"\mathbb{R}", "ℝ"),
            (r"\binom{n}{k}", "C(n, k)"),
            (r"\foo{x} \bar", r"\foo{x} \bar"),
            ("costs $5 and $10", "costs $5 and $10"),
            ("my_var and file_123 and __init__", "my_var and file_123 and __init__"),
            ("`x^2` and\n```\n$a$\n```\n$b$", "`x^2` and\n```\n$a$\n```\nb"),
            ("plain text", "plain text"),
            (r"x \not= y", "x ≠ y"),
            (r"e^{i\pi} = -1", "e^{iπ} = -1"),
        ];
        assert!(cases.len() >= 30);
        for (input, expected) in cases {
            assert_eq!(latex_to_unicode(input), expected, "input: {input:?}");
        }
    }

    #[test]
    fn latex_never_panics_on_malformed_input() {
        let long_open = "{".repeat(5000);
        let long_nest = format!("{}x{}", "\\frac{".repeat(300), "}".repeat(300));
        let inputs = [
            "\\",
            "\\frac",
            "\\frac{",
            "\\frac{a}",
            "\\frac{a}{",
            "}}}{{{",
            "$",
            "$$",
            "$$x",
            "^",
            "_",
            "x^",
            "x_{",
            "\\sqrt[",
            "\\sqrt[3",
            "\\sqrt[3]",
            "\\left",
            "\\text{",
            "a\\",
            "\\[",
            "\\]",
            "```",
            "`",
            "{\\}",
            "\\{",
            "é\\frac{ü}{中}",
            "$\\$",
            "x^{\\frac{1}{2}}",
            "\\not",
            &long_open,
            &long_nest,
        ];
        for input in inputs {
            let _ = latex_to_unicode(input);
        }
        assert_eq!(latex_to_unicode("\\frac{a}"), "\\frac{a}");
        assert_eq!(latex_to_unicode("a\\"), "a\\");
        assert_eq!(latex_to_unicode("}}}{{{"), "}}}{{{");
    }
}

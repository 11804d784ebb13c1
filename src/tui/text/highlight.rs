//! Highlighting of model output: Markdown prose and math by a small scanner, fenced code by
//! syntect in its own language.

use std::ops::Range;
use std::sync::OnceLock;

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use syntect::easy::HighlightLines;
use syntect::highlighting::{
    Color as SynColor, FontStyle, HighlightState, ScopeSelectors, StyleModifier, Theme as SynTheme,
    ThemeItem, ThemeSettings,
};
use syntect::parsing::{ParseState, SyntaxReference, SyntaxSet};

use crate::tui::theme::Theme;

//
// Prose is coloured by a small Markdown scanner of our own: syntect's bundled Markdown syntax
// costs ~2 µs per byte with the pure-Rust regex engine and does not embed fenced languages.
// Fenced code goes through syntect in its own language.

/// The colour role of a piece of text; themes colour roles, syntect scopes map onto them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Text,
    Heading,
    Emphasis,
    Code,
    Math,
    Comment,
    Keyword,
    Str,
    Number,
    Function,
    Marker,
}

const ROLES: [Role; 11] = [
    Role::Text,
    Role::Heading,
    Role::Emphasis,
    Role::Code,
    Role::Math,
    Role::Comment,
    Role::Keyword,
    Role::Str,
    Role::Number,
    Role::Function,
    Role::Marker,
];

/// Code scopes → roles. syntect resolves the selectors; the "colour" it returns is a role index.
const SCOPE_ROLES: [(&str, Role); 8] = [
    ("comment", Role::Comment),
    ("keyword, storage", Role::Keyword),
    ("keyword.operator", Role::Code),
    ("string", Role::Str),
    ("constant.numeric, constant.language, constant.character", Role::Number),
    ("entity.name.function, support.function", Role::Function),
    ("entity.name.type, entity.name.class, support.type, support.class", Role::Keyword),
    ("variable.parameter", Role::Code),
];

fn role_colour(role: Role) -> SynColor {
    let index = ROLES.iter().position(|&r| r == role).unwrap_or(0);
    SynColor { r: index as u8, g: 0, b: 0, a: 0xff }
}

/// One styled byte range of a line.
type Segment = (Role, FontStyle, Range<usize>);

/// Syntaxes load once per process; each syntax compiles its regexes on first use.
struct Assets {
    syntaxes: SyntaxSet,
    roles: SynTheme,
}

fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let scopes = SCOPE_ROLES
            .iter()
            .filter_map(|&(selectors, role)| {
                Some(ThemeItem {
                    scope: selectors.parse::<ScopeSelectors>().ok()?,
                    style: StyleModifier {
                        foreground: Some(role_colour(role)),
                        background: None,
                        font_style: Some(FontStyle::empty()),
                    },
                })
            })
            .collect();
        let roles = SynTheme {
            name: Some("ttc roles".into()),
            settings: ThemeSettings { foreground: Some(role_colour(Role::Code)), ..Default::default() },
            scopes,
            ..Default::default()
        };
        Assets { syntaxes: SyntaxSet::load_defaults_newlines(), roles }
    })
}

/// Longer prose lines (bytes) are drawn plain: a runaway generation can emit kilobytes
/// without a newline, and emphasis matching is quadratic in the worst case.
const MAX_SCANNED_LINE: usize = 4096;

/// Longer code lines are drawn plain: syntect costs several µs per byte.
const MAX_PARSED_CODE_LINE: usize = 1024;

/// Colours solutions: Markdown prose, LaTeX math, fenced code in its own language.
///
/// Cheap to create and `Copy`; syntect's syntaxes load once per process on first use.
#[derive(Clone, Copy)]
pub struct Highlighter {
    assets: &'static Assets,
}

impl std::fmt::Debug for Highlighter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Highlighter").finish_non_exhaustive()
    }
}

impl Default for Highlighter {
    fn default() -> Self {
        Self::new()
    }
}

/// Where highlighting stopped: pass it to the next call so a code fence or display math that
/// spans steps (or lines highlighted one at a time) keeps its colours.
/// `Carry::default()` is the start of a solution.
#[derive(Clone, Debug, Default)]
pub struct Carry {
    fence: Option<FenceCarry>,
    display_math: Option<&'static str>,
}

#[derive(Clone, Debug)]
struct FenceCarry {
    marker: char,
    len: usize,
    code: Option<(HighlightState, ParseState)>,
}

/// An open fenced code block while highlighting.
struct Fence {
    marker: char,
    len: usize,
    code: Option<HighlightLines<'static>>,
}

impl Highlighter {
    /// The shared highlighter; the first call in a process loads syntect's syntaxes (~2 ms).
    pub fn new() -> Self {
        Self { assets: assets() }
    }

    /// Compiles the regexes of the languages solutions use most (~0.2 s in release builds), so
    /// the first code block drawn is not slow. Optional; call it on a background thread.
    pub fn warm_up(&self) {
        let sample = "```python\ndef f(x):\n    return [i for i in x]  # c\n```\n\
                      ```rust\nfn f() -> u8 { 0 }\n```\n```cpp\nint main() { return 0; }\n```\n";
        let _ = self.highlight(sample, &Theme::default());
    }

    /// Lines in the theme's text colour only; one `Line` per `str::lines` line.
    pub fn plain(&self, text: &str, theme: &Theme) -> Vec<Line<'static>> {
        let style = Style::new().fg(theme.fg);
        text.lines().map(|line| Line::from(Span::styled(line.to_string(), style))).collect()
    }

    /// Highlights a whole solution (or one step on its own); one `Line` per `str::lines` line,
    /// with exactly the input's characters. `text` should already be [`crate::safe::sanitize`]d.
    pub fn highlight(&self, text: &str, theme: &Theme) -> Vec<Line<'static>> {
        self.highlight_from(text, theme, Carry::default()).0
    }

    /// Highlights text that continues where `carry` left off; returns the lines and the carry
    /// for what comes next.
    pub fn highlight_from(&self, text: &str, theme: &Theme, carry: Carry) -> (Vec<Line<'static>>, Carry) {
        let roles = &self.assets.roles;
        let mut fence = carry.fence.map(|f| Fence {
            marker: f.marker,
            len: f.len,
            code: f.code.map(|(highlight, parse)| HighlightLines::from_state(roles, highlight, parse)),
        });
        let mut display_math = carry.display_math;
        let mut buf = String::new();
        let mut lines = Vec::new();
        for line in text.lines() {
            let whole = |role| vec![(role, FontStyle::empty(), 0..line.len())];
            let segments = match &mut fence {
                Some(open) if closes_fence(line, open.marker, open.len) => {
                    fence = None;
                    whole(Role::Comment)
                }
                Some(open) => match &mut open.code {
                    Some(code) => self.code_segments(code, line, &mut buf),
                    None => whole(Role::Code),
                },
                None => match opens_fence(line) {
                    Some((marker, len, lang)) => {
                        let code = self.code_syntax(lang).map(|syntax| HighlightLines::new(syntax, roles));
                        fence = Some(Fence { marker, len, code });
                        whole(Role::Comment)
                    }
                    None => prose_segments(line, &mut display_math),
                },
            };
            lines.push(to_line(line, &segments, theme));
        }
        let fence = fence.map(|f| FenceCarry {
            marker: f.marker,
            len: f.len,
            code: f.code.map(HighlightLines::state),
        });
        (lines, Carry { fence, display_math })
    }

    /// The syntax for a fence's info string (`python`, `rs`, `c++`), if syntect knows it.
    fn code_syntax(&self, lang: &str) -> Option<&'static SyntaxReference> {
        let lang = lang.to_ascii_lowercase();
        let token = match lang.as_str() {
            "" | "text" | "txt" | "plaintext" | "output" => return None,
            "python3" | "py3" | "sage" => "py",
            "shell" | "console" | "shell-session" => "sh",
            "javascript" | "ts" | "typescript" | "jsx" | "tsx" => "js",
            "c++" => "cpp",
            other => other,
        };
        self.assets.syntaxes.find_syntax_by_token(token)
    }

    /// One line of fenced code through syntect; plain code on error or when overlong.
    fn code_segments(
        &self,
        code: &mut HighlightLines<'static>,
        line: &str,
        buf: &mut String,
    ) -> Vec<Segment> {
        let whole = vec![(Role::Code, FontStyle::empty(), 0..line.len())];
        if line.len() > MAX_PARSED_CODE_LINE {
            return whole;
        }
        buf.clear();
        buf.push_str(line);
        buf.push('\n'); // the "newlines" syntaxes expect every line to end with one
        let Ok(regions) = code.highlight_line(buf, &self.assets.syntaxes) else { return whole };
        let mut out = Vec::with_capacity(regions.len());
        let mut at = 0;
        for (style, piece) in regions {
            let end = (at + piece.len()).min(line.len());
            if end > at {
                let role = ROLES.get(usize::from(style.foreground.r)).copied().unwrap_or(Role::Code);
                out.push((role, FontStyle::empty(), at..end));
            }
            at += piece.len();
        }
        out
    }
}

/// `(marker, length, language)` if `line` opens a fenced code block.
fn opens_fence(line: &str) -> Option<(char, usize, &str)> {
    let body = line.trim_start_matches(' ');
    let marker = body.chars().next().filter(|&c| c == '`' || c == '~')?;
    let len = body.chars().take_while(|&c| c == marker).count();
    if len < 3 {
        return None;
    }
    let info = body[len..].trim();
    if marker == '`' && info.contains('`') {
        return None; // inline code such as ```a``` , not a fence
    }
    let lang = info.split(|c: char| c.is_whitespace() || c == '{' || c == ',').next().unwrap_or("");
    Some((marker, len, lang))
}

fn closes_fence(line: &str, marker: char, len: usize) -> bool {
    let body = line.trim();
    body.len() >= len && body.chars().all(|c| c == marker)
}

/// Colours one prose line: block markers, inline code, math, then emphasis and links.
/// `display` carries an open `$$` or `\[` from line to line.
fn prose_segments(line: &str, display: &mut Option<&'static str>) -> Vec<Segment> {
    let b = line.as_bytes();
    let n = b.len();
    if n > MAX_SCANNED_LINE {
        return vec![(Role::Text, FontStyle::empty(), 0..n)];
    }
    let mut styles = vec![(Role::Text, FontStyle::empty()); n];

    let indent = b.iter().take_while(|&&c| c == b' ').count();
    let rest = &b[indent..];
    let mut inline_from = indent;
    if display.is_none() {
        let hashes = rest.iter().take_while(|&&c| c == b'#').count();
        let rule = rest.first().filter(|&&c| matches!(c, b'-' | b'*' | b'_')).is_some_and(|&c| {
            rest.iter().filter(|&&x| x == c).count() >= 3 && rest.iter().all(|&x| x == c || x == b' ')
        });
        if indent < 4 && (1..=6).contains(&hashes) && rest.get(hashes).is_none_or(|&c| c == b' ') {
            paint(&mut styles, 0..n, Role::Heading, FontStyle::BOLD);
        } else if rest.first() == Some(&b'>') {
            let marks = rest.iter().take_while(|&&c| c == b'>' || c == b' ').count();
            paint(&mut styles, indent..indent + marks, Role::Marker, FontStyle::empty());
            paint(&mut styles, indent + marks..n, Role::Comment, FontStyle::empty());
            inline_from = indent + marks;
        } else if rule {
            paint(&mut styles, 0..n, Role::Comment, FontStyle::empty());
            return runs(&styles);
        } else if let Some(marker) = list_marker(rest) {
            paint(&mut styles, indent..indent + marker, Role::Marker, FontStyle::empty());
            inline_from = indent + marker;
        }
    }

    // Inline code first: nothing inside it is Markdown or math.
    let mut i = inline_from;
    while i < n {
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] != b'`' {
            i += 1;
            continue;
        }
        let len = run_of(b, i, b'`');
        let close = (i + len..n).find(|&k| b[k] == b'`' && run_of(b, k, b'`') == len && b[k - 1] != b'`');
        match close {
            Some(k) => {
                paint(&mut styles, i..k + len, Role::Code, FontStyle::empty());
                i = k + len;
            }
            None => i += len,
        }
    }
    let is_code = |styles: &[(Role, FontStyle)], k: usize| styles[k].0 == Role::Code;

    // Math, on a copy where inline code is blanked so a `$` in code neither opens nor closes it.
    let mut scan = b.to_vec();
    for (k, byte) in scan.iter_mut().enumerate() {
        if is_code(&styles, k) {
            *byte = b' ';
        }
    }
    let maths = math_ranges(&scan, display);
    for range in &maths {
        paint(&mut styles, range.clone(), Role::Math, FontStyle::empty());
    }

    // Emphasis and links, stepping over code and math.
    let opaque = |styles: &[(Role, FontStyle)], k: usize| matches!(styles[k].0, Role::Code | Role::Math);
    let mut i = inline_from;
    while i < n {
        if opaque(&styles, i) {
            i += 1;
            continue;
        }
        match b[i] {
            b'\\' => i += 2,
            c @ (b'*' | b'_') => {
                let len = run_of(b, i, c).min(2);
                let after = i + run_of(b, i, c);
                let word_before = i > 0 && b[i - 1].is_ascii_alphanumeric();
                let opens =
                    b.get(after).is_some_and(|x| !x.is_ascii_whitespace()) && !(c == b'_' && word_before);
                let close = (after + 1..n).find(|&k| {
                    b[k] == c
                        && !opaque(&styles, k)
                        && run_of(b, k, c) >= len
                        && (len == 2 || b.get(k + 1) != Some(&c))
                        && !b[k - 1].is_ascii_whitespace()
                        && b[k - 1] != b'\\'
                        && !(c == b'_' && b.get(k + len).is_some_and(u8::is_ascii_alphanumeric))
                });
                match close.filter(|_| opens) {
                    Some(k) => {
                        let font = if len == 2 { FontStyle::BOLD } else { FontStyle::ITALIC };
                        for k in i..k + len {
                            if !opaque(&styles, k) {
                                let (role, old) = styles[k];
                                let role = if role == Role::Text { Role::Emphasis } else { role };
                                styles[k] = (role, old | font);
                            }
                        }
                        i = k + len;
                    }
                    None => i = after,
                }
            }
            b'[' => {
                let label_end = (i + 1..n).find(|&k| b[k] == b']' && b.get(k + 1) == Some(&b'('));
                let url_end = label_end.and_then(|l| (l + 2..n).find(|&k| b[k] == b')'));
                match (label_end, url_end) {
                    (Some(l), Some(u)) => {
                        paint(&mut styles, l + 2..u, Role::Marker, FontStyle::UNDERLINE);
                        i = u + 1;
                    }
                    _ => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    runs(&styles)
}

fn paint(styles: &mut [(Role, FontStyle)], range: Range<usize>, role: Role, font: FontStyle) {
    let end = range.end.min(styles.len());
    for s in &mut styles[range.start.min(end)..end] {
        *s = (role, font);
    }
}

/// Length of a list marker (`- `, `* `, `+ `, `12. `, `3) `) at the start of `rest`.
fn list_marker(rest: &[u8]) -> Option<usize> {
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    let len = match rest.first()? {
        b'-' | b'*' | b'+' => 1,
        _ if (1..=9).contains(&digits) && matches!(rest.get(digits), Some(b'.' | b')')) => digits + 1,
        _ => return None,
    };
    rest.get(len).is_none_or(|&c| c == b' ').then_some(len)
}

/// How many `c` bytes start at `at`.
fn run_of(b: &[u8], at: usize, c: u8) -> usize {
    b[at..].iter().take_while(|&&x| x == c).count()
}

/// Per-byte styles → segments of equal style.
fn runs(styles: &[(Role, FontStyle)]) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for (k, &(role, font)) in styles.iter().enumerate() {
        match out.last_mut() {
            Some((r, f, range)) if *r == role && *f == font => range.end = k + 1,
            _ => out.push((role, font, k..k + 1)),
        }
    }
    out
}

/// Byte ranges of math in one line; `display` carries an open `$$` or `\[` across lines.
fn math_ranges(b: &[u8], display: &mut Option<&'static str>) -> Vec<Range<usize>> {
    let n = b.len();
    let find = |from: usize, pat: &[u8]| {
        (from..n.saturating_sub(pat.len() - 1))
            .find(|&k| b[k..].starts_with(pat) && (k == 0 || b[k - 1] != b'\\'))
    };
    let mut out = Vec::new();
    let mut i = 0;
    if let Some(closer) = *display {
        match find(0, closer.as_bytes()) {
            Some(k) => {
                out.push(0..k + closer.len());
                i = k + closer.len();
                *display = None;
            }
            None => {
                out.push(0..n);
                return out;
            }
        }
    }
    if !b.contains(&b'$') && !b.contains(&b'\\') {
        return out;
    }
    while i < n {
        let (open, close): (usize, &'static str) = match (b[i], b.get(i + 1).copied()) {
            (b'\\', Some(b'$' | b'\\')) => {
                i += 2;
                continue;
            }
            (b'\\', Some(b'[')) => (2, "\\]"),
            (b'\\', Some(b'(')) => (2, "\\)"),
            (b'$', Some(b'$')) => (2, "$$"),
            (b'\\', Some(c)) if c.is_ascii_alphabetic() => {
                let mut k = i + 1;
                while k < n && b[k].is_ascii_alphabetic() {
                    k += 1;
                }
                while let Some(close) = b.get(k).filter(|&&c| c == b'{').and_then(|_| matching_brace(b, k)) {
                    k = close + 1;
                }
                out.push(i..k);
                i = k;
                continue;
            }
            (b'$', Some(c)) if !c.is_ascii_whitespace() => {
                // Pandoc's rule, so "$5 and $10" is not math (see `Latex::dollar`).
                let close = (i + 2..n).find(|&k| {
                    b[k] == b'$'
                        && !b[k - 1].is_ascii_whitespace()
                        && b[k - 1] != b'\\'
                        && !b.get(k + 1).is_some_and(u8::is_ascii_digit)
                });
                match close {
                    Some(k) => {
                        out.push(i..k + 1);
                        i = k + 1;
                    }
                    None => i += 1,
                }
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        match find(i + open, close.as_bytes()) {
            Some(k) => {
                out.push(i..k + close.len());
                i = k + close.len();
            }
            None => {
                out.push(i..n);
                if close != "\\)" {
                    *display = Some(close);
                }
                break;
            }
        }
    }
    out
}

/// The `}` matching the `{` at `open`, within this line.
fn matching_brace(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut k = open;
    while k < b.len() {
        match b[k] {
            b'\\' => k += 1,
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
        k += 1;
    }
    None
}

/// Builds the ratatui line from segments, merging neighbours that look the same.
fn to_line(line: &str, segments: &[Segment], theme: &Theme) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = Vec::with_capacity(segments.len());
    let mut last = None;
    for (role, font, range) in segments {
        let Some(piece) = line.get(range.clone()) else { continue };
        let style = style_for(*role, *font, theme);
        match spans.last_mut() {
            Some(span) if last == Some(style) => span.content.to_mut().push_str(piece),
            _ => spans.push(Span::styled(piece.to_string(), style)),
        }
        last = Some(style);
    }
    Line::from(spans)
}

fn style_for(role: Role, font: FontStyle, theme: &Theme) -> Style {
    let fg = match role {
        Role::Text => theme.fg,
        Role::Heading | Role::Function => theme.heading,
        Role::Emphasis | Role::Str => theme.emphasis,
        Role::Code => theme.code,
        Role::Math | Role::Number => theme.math,
        Role::Comment => theme.comment,
        Role::Keyword | Role::Marker => theme.accent,
    };
    let mut style = Style::new().fg(fg);
    if font.contains(FontStyle::BOLD) {
        style = style.add_modifier(Modifier::BOLD);
    }
    if font.contains(FontStyle::ITALIC) {
        style = style.add_modifier(Modifier::ITALIC);
    }
    if font.contains(FontStyle::UNDERLINE) {
        style = style.add_modifier(Modifier::UNDERLINED);
    }
    style
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::text::latex_to_unicode;

    fn theme() -> Theme {
        Theme::default()
    }

    fn texts(line: &Line<'_>) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    /// The foreground of the span covering byte `at` of `line`.
    fn colour_at(line: &Line<'_>, at: usize) -> Option<ratatui::style::Color> {
        let mut start = 0;
        for span in &line.spans {
            if at < start + span.content.len() {
                return span.style.fg;
            }
            start += span.content.len();
        }
        None
    }

    #[test]
    fn highlight_returns_one_line_per_input_line() {
        let h = Highlighter::new();
        let odd = [
            "",
            "\n",
            "one",
            "a\n\nb\n",
            "```python\ndef f(:\n",
            "```\nunclosed fence",
            "~~~~\n~~~\n~~~~\nafter",
            "$unbalanced $$ math \\[ open\nnext line\n",
            "\\frac{ \\ $ } { $$",
            "␛[31m ␡ \u{FFFD} ␀",
            "# heading\n> quote\n- item\n1. item\n**bold *both***\n[l](u)",
            "`` ` `` `unclosed",
            "```rust\nfn main() { let s = \"unterminated;\n```\ntext $x$",
            "中文 ✓ 😀 e\u{301}",
        ];
        for text in odd {
            let lines = h.highlight(text, &theme());
            assert_eq!(lines.len(), text.lines().count(), "{text:?}");
            for (line, input) in lines.iter().zip(text.lines()) {
                assert_eq!(texts(line), input, "highlighting must not change the text");
            }
            assert_eq!(h.plain(text, &theme()).len(), text.lines().count());
        }
    }

    #[test]
    fn random_markup_never_panics_and_keeps_the_text() {
        // A fixed-seed generator over the characters the parsers care about.
        const ALPHABET: [&str; 24] = [
            "\\", "$", "$$", "{", "}", "^", "_", "*", "**", "`", "```", "~~~", "[", "](", ")", "\n", " ",
            "x", "1", "frac", "sqrt[", "é", "中", "#",
        ];
        let h = Highlighter::new();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..3000 {
            let mut text = String::new();
            for _ in 0..(seed % 40) {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                text.push_str(ALPHABET[(seed >> 33) as usize % ALPHABET.len()]);
            }
            let converted = latex_to_unicode(&text);
            for input in [&text, &converted] {
                let lines = h.highlight(input, &theme());
                let joined: Vec<String> = lines.iter().map(texts).collect();
                assert_eq!(joined, input.lines().collect::<Vec<_>>(), "{input:?}");
            }
        }
    }

    #[test]
    fn highlight_survives_ten_kilobytes() {
        let h = Highlighter::new();
        let chunk = "## Step\nWe have $x^2 + \\frac{1}{2}$ and **bold** `code`.\n```python\nprint(1)\n```\n";
        let text = chunk.repeat(10_000 / chunk.len() + 1);
        assert!(text.len() >= 10_000);
        assert_eq!(h.highlight(&text, &theme()).len(), text.lines().count());
        let one_line = "x = $a$ ".repeat(1500) + &"y".repeat(MAX_SCANNED_LINE);
        assert_eq!(h.highlight(&one_line, &theme()).len(), 1);
    }

    #[test]
    fn highlight_uses_theme_colours() {
        let (h, t) = (Highlighter::new(), theme());
        let lines = h.highlight("# Title\nSo $x^2$ and \\sqrt{2} but `$y$`.\nplain", &t);
        assert_eq!(colour_at(&lines[0], 2), Some(t.heading));
        assert!(lines[0].spans[0].style.add_modifier.contains(Modifier::BOLD));
        let line = "So $x^2$ and \\sqrt{2} but `$y$`.";
        assert_eq!(colour_at(&lines[1], 0), Some(t.fg));
        assert_eq!(colour_at(&lines[1], line.find("x^2").unwrap()), Some(t.math));
        assert_eq!(colour_at(&lines[1], line.find("{2}").unwrap()), Some(t.math));
        assert_eq!(colour_at(&lines[1], line.find(" but").unwrap()), Some(t.fg));
        assert_eq!(colour_at(&lines[1], line.find("$y").unwrap()), Some(t.code), "no math inside code");
        assert_eq!(lines[2].spans.len(), 1, "neighbouring segments are merged");

        let light = crate::tui::theme::bundled("light").unwrap();
        let lines = h.highlight("# Title", &light);
        assert_eq!(colour_at(&lines[0], 2), Some(light.heading));
    }

    #[test]
    fn markdown_prose_is_styled() {
        let (h, t) = (Highlighter::new(), theme());
        let text = "Let **x** be *odd*, my_var_name, 2 * 3 * 4.\n- item _it_\n12. item\n> quote $q$\n---\n\
                    see [docs](http://a.b)\n#hashtag";
        let lines = h.highlight(text, &t);
        let first = "Let **x** be *odd*, my_var_name, 2 * 3 * 4.";
        let at = |needle: &str| first.find(needle).unwrap();
        assert_eq!(colour_at(&lines[0], at("x**")), Some(t.emphasis));
        assert!(lines[0].spans[1].style.add_modifier.contains(Modifier::BOLD));
        assert_eq!(colour_at(&lines[0], at("odd")), Some(t.emphasis));
        assert_eq!(colour_at(&lines[0], at("var")), Some(t.fg), "intraword underscores are not emphasis");
        assert_eq!(colour_at(&lines[0], at("3 *")), Some(t.fg), "spaced stars are not emphasis");
        assert_eq!(colour_at(&lines[1], 0), Some(t.accent), "list bullet");
        assert_eq!(colour_at(&lines[1], 9), Some(t.emphasis));
        assert_eq!(colour_at(&lines[2], 1), Some(t.accent), "numbered list marker");
        assert_eq!(colour_at(&lines[2], 4), Some(t.fg));
        assert_eq!(colour_at(&lines[3], 3), Some(t.comment), "quote");
        assert_eq!(colour_at(&lines[3], 9), Some(t.math));
        assert_eq!(colour_at(&lines[4], 0), Some(t.comment), "rule");
        assert_eq!(colour_at(&lines[5], 12), Some(t.accent), "link target");
        assert!(lines[5].spans.iter().any(|s| s.style.add_modifier.contains(Modifier::UNDERLINED)));
        assert_eq!(colour_at(&lines[6], 0), Some(t.fg), "#hashtag is not a heading");
    }

    #[test]
    fn fenced_code_is_highlighted_in_its_language() {
        let (h, t) = (Highlighter::new(), theme());
        let text = "```python\ndef f(x):  # note\n    return \"s\"\n```\n$a$";
        let lines = h.highlight(text, &t);
        assert_eq!(colour_at(&lines[0], 0), Some(t.comment), "fence lines are dimmed");
        assert_eq!(colour_at(&lines[1], 0), Some(t.accent), "keyword");
        assert_eq!(colour_at(&lines[1], 12), Some(t.comment), "comment");
        assert_eq!(colour_at(&lines[2], 12), Some(t.emphasis), "string");
        assert_eq!(colour_at(&lines[4], 1), Some(t.math), "prose again after the fence");

        let lines = h.highlight("~~~lean\ntheorem $x$\n~~~", &t);
        assert_eq!(colour_at(&lines[1], 0), Some(t.code), "unknown languages are plain code");
        assert_eq!(colour_at(&lines[1], 9), Some(t.code));
    }

    #[test]
    fn carry_continues_fences_and_display_math_across_steps() {
        let (h, t) = (Highlighter::new(), theme());
        let (_, carry) = h.highlight_from("Intro\n```python\nx = 1", &t, Carry::default());
        let (lines, carry) = h.highlight_from("# not a heading\n```\n$$\nx", &t, carry);
        assert_eq!(colour_at(&lines[0], 0), Some(t.comment), "a Python comment, not a heading");
        let (lines, _) = h.highlight_from("y\n$$ after", &t, carry);
        assert_eq!(colour_at(&lines[0], 0), Some(t.math));
        assert_eq!(colour_at(&lines[1], 4), Some(t.fg));
    }
}

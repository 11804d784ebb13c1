//! Byte-level LaTeX scanning shared by extraction, normalisation and comparison.
//!
//! These helpers work on bytes because every delimiter they look for is ASCII. UTF-8
//! continuation bytes are never ASCII, so every index they return or slice at is a valid
//! char boundary, and non-ASCII text simply passes through.

/// Index of the `}` that closes the `{` at byte `open`; escaped `\{`/`\}` do not count.
pub(crate) fn matching_brace(s: &str, open: usize) -> Option<usize> {
    let b = s.as_bytes();
    if b.get(open) != Some(&b'{') {
        return None;
    }
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            // A backslash escapes the next byte (`\{`, `\}`, `\\`): it never opens a group.
            b'\\' => {
                i += 2;
                continue;
            }
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// One step of a bracket-depth scan at byte `i`: (bytes consumed, depth change).
///
/// All bracket kinds count alike so that half-open intervals such as `[1,2)` balance.
fn bracket_step(b: &[u8], i: usize) -> (usize, i32) {
    match b[i] {
        b'\\' => match b.get(i + 1) {
            Some(b'{') => (2, 1),
            Some(b'}') => (2, -1),
            Some(_) => (2, 0),
            None => (1, 0),
        },
        b'(' | b'[' | b'{' => (1, 1),
        b')' | b']' | b'}' => (1, -1),
        _ => (1, 0),
    }
}

/// Splits `s` at occurrences of `sep` that are outside every bracket pair.
pub(crate) fn split_top_level<'a>(s: &'a str, sep: &str) -> Vec<&'a str> {
    let b = s.as_bytes();
    let sb = sep.as_bytes();
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        if depth == 0 && !sb.is_empty() && b[i..].starts_with(sb) {
            parts.push(&s[start..i]);
            i += sb.len();
            start = i;
            continue;
        }
        let (step, d) = bracket_step(b, i);
        // Stray closers must not push the depth negative, or later separators would hide.
        depth = (depth + d).max(0);
        i += step;
    }
    parts.push(&s[start.min(s.len())..]);
    parts
}

/// If one bracket pair encloses all of `s`, returns (opener, inside, closer).
///
/// The opener is `(`, `[` or `\{`; the closer may be any closing bracket, so intervals
/// like `(3,4]` are recognised.
pub(crate) fn enclosed(s: &str) -> Option<(&str, &str, &str)> {
    let b = s.as_bytes();
    let open_len = if s.starts_with("\\{") {
        2
    } else if matches!(b.first(), Some(b'(' | b'[')) {
        1
    } else {
        return None;
    };
    let mut depth = 0i32;
    let mut i = 0;
    while i < b.len() {
        let (step, d) = bracket_step(b, i);
        depth += d;
        if depth <= 0 {
            // The opener's partner must be the very last token.
            if d < 0 && i + step == b.len() {
                return Some((&s[..open_len], &s[open_len..i], &s[i..]));
            }
            return None;
        }
        i += step;
    }
    None
}

/// Byte offset of the control word `cmd` (e.g. `\pm`) where no letter follows it.
pub(crate) fn find_command(s: &str, cmd: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(off) = s[from..].find(cmd) {
        let at = from + off;
        let end = at + cmd.len();
        if !s.as_bytes().get(end).is_some_and(|c| c.is_ascii_alphabetic()) {
            return Some(at);
        }
        from = end;
    }
    None
}

//! Hostile text made safe to show: model output and server replies are untrusted.
//!
//! Every human-readable path (the view, headless summaries, error messages, `ttc models`)
//! passes server- or model-controlled strings through [`sanitize`] (no escape sequences reach
//! the terminal), [`clip`] (a 5 KB HTML error page does not fill the screen) and [`redact`]
//! (credentials in URLs are never shown). `--json` and `--events` carry the raw text, which is
//! JSON-escaped, but never credentials: URLs there go through [`redact`] too.

use std::borrow::Cow;

/// Makes untrusted text safe to draw: control characters and bidi overrides become visible marks.
///
/// C0 controls become their control pictures (ESC → `␛`), DEL → `␡`, C1 controls and bidi
/// overrides/isolates → `�`, a tab → 4 spaces, and `\r\n` → `\n`. Borrows when nothing changes.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    let Some(first) = s.find(needs_replacing) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..first]);
    let mut chars = s[first..].chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\t' => out.push_str("    "),
            c if needs_replacing(c) => out.push(placeholder(c)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_replacing(c: char) -> bool {
    // `is_control` is exactly C0, DEL and C1.
    (c.is_control() && c != '\n') || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn placeholder(c: char) -> char {
    match c {
        '\0'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{FFFD}'),
        '\u{7f}' => '␡',
        _ => '\u{FFFD}',
    }
}

/// At most `max_chars` characters of `s`; a longer text is cut on a character boundary and
/// ends with `… (N more bytes)`. Borrows when nothing is cut.
pub fn clip(s: &str, max_chars: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max_chars) {
        Some((at, _)) => Cow::Owned(format!("{}… ({} more bytes)", &s[..at], s.len() - at)),
        None => Cow::Borrowed(s),
    }
}

/// What replaces the credentials of a URL.
pub const REDACTED: &str = "***";

/// Hides the user information (`user:password@`) of every URL in `s`
/// (`http://me:pw@host/x` → `http://***@host/x`). Borrows when there is none.
pub fn redact(s: &str) -> Cow<'_, str> {
    let mut out: Option<String> = None;
    let mut copied = 0; // bytes of `s` already handled
    let mut search = 0;
    while let Some(rel) = s[search..].find("://") {
        let auth_start = search + rel + 3;
        let auth_end = authority_end(s, auth_start);
        if let Some(at) = s[auth_start..auth_end].rfind('@') {
            let o = out.get_or_insert_with(|| String::with_capacity(s.len()));
            o.push_str(&s[copied..auth_start]);
            o.push_str(REDACTED);
            copied = auth_start + at;
        }
        // Resume right after this `://`, not after the authority: a URL glued on
        // (`http://http://u:pw@h`) starts with the ':' that ended this one. An authority
        // holds no '/', so the next `://` lies past it and the scan stays linear.
        search = auth_start;
    }
    match out {
        Some(mut o) => {
            o.push_str(&s[copied..]);
            Cow::Owned(o)
        }
        None => Cow::Borrowed(s),
    }
}

/// Hides the credentials of one host as a user typed it, with or without a scheme
/// (`me:pw@host:11434` → `***@host:11434`).
pub fn redact_host(host: &str) -> Cow<'_, str> {
    if host.contains("://") {
        return redact(host);
    }
    let end = authority_end(host, 0);
    match host[..end].rfind('@') {
        Some(at) => Cow::Owned(format!("{REDACTED}{}", &host[at..])),
        None => Cow::Borrowed(host),
    }
}

/// Whether a host string carries credentials (`user:pw@`).
pub fn has_credentials(host: &str) -> bool {
    redact_host(host) != host
}

/// Where the authority that starts at byte `from` ends: the first `/ ? #`, white space or
/// quoting character (all ASCII, so the result is a character boundary).
fn authority_end(s: &str, from: usize) -> usize {
    s[from..]
        .find(|c: char| {
            matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>' | '(' | ')' | '[' | ']' | '`' | ',' | ';')
                || c.is_whitespace()
                || c.is_control()
        })
        .map_or(s.len(), |i| from + i)
}

/// Everything a person reads of an untrusted string: credentials hidden, controls made
/// visible, cut to `max_chars` characters.
pub fn for_display(s: &str, max_chars: usize) -> String {
    let redacted = redact(s);
    let clean = sanitize(&redacted);
    clip(&clean, max_chars).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_makes_controls_visible() {
        assert_eq!(sanitize("a\x1b[31mred"), "a␛[31mred");
        assert_eq!(sanitize("\0\x07\x08\r"), "␀␇␈␍");
        assert_eq!(sanitize("del\x7f"), "del␡");
        assert_eq!(sanitize("c1\u{85}\u{9b}"), "c1\u{FFFD}\u{FFFD}");
        assert_eq!(sanitize("bidi\u{202E}evil\u{2066}x\u{2069}"), "bidi\u{FFFD}evil\u{FFFD}x\u{FFFD}");
        assert_eq!(sanitize("\tx\ty"), "    x    y");
        assert_eq!(sanitize("a\r\nb\n"), "a\nb\n");
        assert_eq!(sanitize("ok ✓ 中文 \u{200D} é\n"), "ok ✓ 中文 \u{200D} é\n");
        assert_eq!(sanitize("7\x1b]0;TITLE\x07\x1b[2J"), "7␛]0;TITLE␇␛[2J");
    }

    #[test]
    fn sanitize_borrows_clean_text() {
        assert!(matches!(sanitize("plain text\nwith lines, ümlauts and ∑"), Cow::Borrowed(_)));
        assert!(matches!(sanitize(""), Cow::Borrowed(_)));
        assert!(matches!(sanitize("tab\t"), Cow::Owned(_)));
    }

    #[test]
    fn clip_cuts_on_characters() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcd", 3), "abc… (1 more bytes)");
        assert_eq!(clip("中文字", 1), "中… (6 more bytes)");
        assert_eq!(clip("", 0), "");
        assert_eq!(clip("x", 0), "… (1 more bytes)");
    }

    #[test]
    fn redact_hides_userinfo_of_every_url() {
        assert_eq!(redact("http://u:secret@h:1/api"), "http://***@h:1/api");
        assert_eq!(
            redact("error sending request for url (http://u:secret@127.0.0.1:9/api/chat): refused"),
            "error sending request for url (http://***@127.0.0.1:9/api/chat): refused"
        );
        assert_eq!(redact("a https://x:y@a.b and http://p@c.d/"), "a https://***@a.b and http://***@c.d/");
        assert_eq!(redact("http://u:p@ss@host/"), "http://***@host/");
        assert_eq!(redact("no urls here, just a@b"), "no urls here, just a@b");
        assert!(matches!(redact("http://host:1/x?a=b@c"), Cow::Borrowed(_)));
        assert_eq!(redact("://"), "://");
        assert_eq!(redact("http://中:文@主机/"), "http://***@主机/");
    }

    #[test]
    fn redact_host_handles_bare_hosts() {
        assert_eq!(redact_host("u:pw@localhost:11434"), "***@localhost:11434");
        assert_eq!(redact_host("localhost"), "localhost");
        assert_eq!(redact_host("http://u:pw@h"), "http://***@h");
        assert!(has_credentials("http://u:pw@h"));
        assert!(!has_credentials("http://h:11434"));
    }

    #[test]
    fn for_display_does_all_three() {
        assert_eq!(for_display("http://a:b@h \x1b[2J xyz", 20), "http://***@h ␛[2J xy… (1 more bytes)");
    }
}

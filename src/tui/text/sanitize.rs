//! Untrusted text made safe for the screen: [`sanitize`] (controls and bidi overrides
//! made visible, from [`crate::safe`]) and [`one_line`] (a short, flat label).

pub use crate::safe::sanitize;

/// The first line of `s`, cut to `max` characters.
///
/// Controls and bidi overrides are made visible first, so any string may be passed.
pub fn one_line(s: &str, max: usize) -> String {
    let flat: String = sanitize(s).split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}

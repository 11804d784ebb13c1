//! Colour themes: flat TOML files with one colour per UI role, bundled or from the user's folder.

use std::path::Path;

use ratatui::style::Color;

/// The themes compiled into the binary, in the order they are offered.
const BUNDLED: [(&str, &str); 3] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("colorblind", include_str!("../../themes/colorblind.toml")),
];

/// The theme used when none is named or the named one cannot be used.
const DEFAULT: &str = "dark";

/// Every colour key a theme file may set, in field order (`name` and `inherits` come on top).
pub const COLOUR_KEYS: [&str; 24] = [
    "bg",
    "fg",
    "dim",
    "accent",
    "border",
    "border_focused",
    "header_bg",
    "selected_bg",
    "ok",
    "bad",
    "warn",
    "heading",
    "code",
    "math",
    "emphasis",
    "comment",
    "score_low",
    "score_mid",
    "score_high",
    "status_queued",
    "status_streaming",
    "status_done",
    "status_failed",
    "status_pruned",
];

/// The colours of every UI role; build one with [`load`], [`bundled`] or [`parse`].
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// Shown in the UI and used to find the theme again.
    pub name: String,
    /// Background of the whole screen.
    pub bg: Color,
    /// Ordinary text.
    pub fg: Color,
    /// Secondary text: hints, counters, missing scores.
    pub dim: Color,
    /// Highlights: key hints, list bullets, links, code keywords.
    pub accent: Color,
    /// Pane borders.
    pub border: Color,
    /// The focused pane's border.
    pub border_focused: Color,
    /// Background of header and status bars.
    pub header_bg: Color,
    /// Background of the selected row or pane.
    pub selected_bg: Color,
    /// Correct answers and successes.
    pub ok: Color,
    /// Wrong answers and errors.
    pub bad: Color,
    /// Warnings.
    pub warn: Color,
    /// Markdown headings; function names in code.
    pub heading: Color,
    /// Inline and fenced code.
    pub code: Color,
    /// LaTeX math; numbers in code.
    pub math: Color,
    /// Bold and italic text; strings in code.
    pub emphasis: Color,
    /// Quotes, rules, code fences and code comments.
    pub comment: Color,
    /// Verifier score 0.
    pub score_low: Color,
    /// Verifier score 0.5.
    pub score_mid: Color,
    /// Verifier score 1.
    pub score_high: Color,
    /// A candidate waiting to start.
    pub status_queued: Color,
    /// A candidate receiving tokens.
    pub status_streaming: Color,
    /// A finished candidate.
    pub status_done: Color,
    /// A candidate that errored.
    pub status_failed: Color,
    /// A candidate cut by the search strategy.
    pub status_pruned: Color,
}

impl Theme {
    /// The colour for a verifier score in [0, 1]: low → mid → high, `dim` when there is no score.
    pub fn score_color(&self, score: Option<f64>) -> Color {
        let Some(t) = score.filter(|s| !s.is_nan()).map(|s| s.clamp(0.0, 1.0)) else {
            return self.dim;
        };
        let (from, to, t) = if t <= 0.5 {
            (self.score_low, self.score_mid, t * 2.0)
        } else {
            (self.score_mid, self.score_high, (t - 0.5) * 2.0)
        };
        match (from, to) {
            (Color::Rgb(r1, g1, b1), Color::Rgb(r2, g2, b2)) => {
                Color::Rgb(lerp(r1, r2, t), lerp(g1, g2, t), lerp(b1, b2, t))
            }
            // Named and indexed colours have no RGB to blend: step to the nearer end.
            _ if t < 0.5 => from,
            _ => to,
        }
    }

    fn slot_mut(&mut self, key: &str) -> Option<&mut Color> {
        Some(match key {
            "bg" => &mut self.bg,
            "fg" => &mut self.fg,
            "dim" => &mut self.dim,
            "accent" => &mut self.accent,
            "border" => &mut self.border,
            "border_focused" => &mut self.border_focused,
            "header_bg" => &mut self.header_bg,
            "selected_bg" => &mut self.selected_bg,
            "ok" => &mut self.ok,
            "bad" => &mut self.bad,
            "warn" => &mut self.warn,
            "heading" => &mut self.heading,
            "code" => &mut self.code,
            "math" => &mut self.math,
            "emphasis" => &mut self.emphasis,
            "comment" => &mut self.comment,
            "score_low" => &mut self.score_low,
            "score_mid" => &mut self.score_mid,
            "score_high" => &mut self.score_high,
            "status_queued" => &mut self.status_queued,
            "status_streaming" => &mut self.status_streaming,
            "status_done" => &mut self.status_done,
            "status_failed" => &mut self.status_failed,
            "status_pruned" => &mut self.status_pruned,
            _ => return None,
        })
    }

    /// Only the terminal's own palette; the base of `dark.toml` and the last resort if it broke.
    fn terminal_palette() -> Theme {
        Theme {
            name: "terminal".into(),
            bg: Color::Reset,
            fg: Color::Reset,
            dim: Color::DarkGray,
            accent: Color::Cyan,
            border: Color::DarkGray,
            border_focused: Color::Cyan,
            header_bg: Color::Reset,
            selected_bg: Color::DarkGray,
            ok: Color::Green,
            bad: Color::Red,
            warn: Color::Yellow,
            heading: Color::Yellow,
            code: Color::Green,
            math: Color::Magenta,
            emphasis: Color::Yellow,
            comment: Color::DarkGray,
            score_low: Color::Red,
            score_mid: Color::Yellow,
            score_high: Color::Green,
            status_queued: Color::DarkGray,
            status_streaming: Color::Cyan,
            status_done: Color::Green,
            status_failed: Color::Red,
            status_pruned: Color::Yellow,
        }
    }
}

impl Default for Theme {
    fn default() -> Self {
        bundled(DEFAULT).unwrap_or_else(Theme::terminal_palette)
    }
}

fn lerp(a: u8, b: u8, t: f64) -> u8 {
    (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round().clamp(0.0, 255.0) as u8
}

/// The names of the bundled themes.
pub fn bundled_names() -> Vec<&'static str> {
    BUNDLED.iter().map(|(name, _)| *name).collect()
}

/// A bundled theme by name.
pub fn bundled(name: &str) -> Option<Theme> {
    let (_, text) = BUNDLED.iter().find(|(n, _)| *n == name)?;
    // `dark` is the base of the others, so it builds on the terminal palette; a test keeps it complete.
    let base = if name == DEFAULT { Theme::terminal_palette() } else { bundled(DEFAULT)? };
    parse_over(text, &format!("bundled theme {name}"), base).ok()
}

/// Every theme name `load` accepts: the bundled ones and the `*.toml` files in `user_dir`, sorted.
pub fn available(user_dir: Option<&Path>) -> Vec<String> {
    let mut names: Vec<String> = bundled_names().into_iter().map(String::from).collect();
    if let Some(entries) = user_dir.and_then(|dir| std::fs::read_dir(dir).ok()) {
        for path in entries.flatten().map(|entry| entry.path()) {
            if path.extension().is_some_and(|ext| ext == "toml") {
                if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                    names.push(stem.to_string());
                }
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// Loads theme `name`: `<user_dir>/<name>.toml` first, then the bundled themes.
///
/// Never fails: an unknown name or a broken file falls back to a bundled theme, and the second
/// value says what went wrong (file path, key and value) for the status line or the log.
pub fn load(name: &str, user_dir: Option<&Path>) -> (Theme, Option<String>) {
    let user_file = user_dir
        .filter(|_| is_plain_name(name))
        .map(|dir| dir.join(format!("{name}.toml")))
        .filter(|path| path.is_file());
    if let Some(path) = user_file {
        let origin = path.display().to_string();
        let problem = match std::fs::read_to_string(&path) {
            Ok(text) => match parse(&text, &origin) {
                Ok(theme) => return (theme, None),
                Err(message) => message,
            },
            Err(err) => format!("{origin}: cannot read the theme file ({err})"),
        };
        let (fallback, used) = match bundled(name) {
            Some(theme) => (theme, name),
            None => (Theme::default(), DEFAULT),
        };
        return (fallback, Some(format!("{problem}; using the bundled \"{used}\" theme instead")));
    }
    if let Some(theme) = bundled(name) {
        return (theme, None);
    }
    let warning = format!(
        "unknown theme \"{name}\" (available: {}); using \"{DEFAULT}\"",
        available(user_dir).join(", ")
    );
    (Theme::default(), Some(warning))
}

/// Parses a theme file; `origin` (usually its path) starts every error message.
pub fn parse(text: &str, origin: &str) -> Result<Theme, String> {
    parse_over(text, origin, Theme::default())
}

/// What is wrong with a theme file; every message starts with where the file came from.
#[derive(Debug, thiserror::Error)]
enum ThemeError {
    #[error("{origin}:{line}:{column}: {message}")]
    Toml { origin: String, line: usize, column: usize, message: String },
    #[error("{origin}: missing key \"name\" (add a line like name = \"mine\")")]
    MissingName { origin: String },
    #[error("{origin}: key \"{key}\": {value} is not a string")]
    NotAString { origin: String, key: String, value: String },
    #[error("{origin}: unknown key \"{key}\" ({hint})", hint = key_hint(key))]
    UnknownKey { origin: String, key: String },
    #[error("{origin}: key \"{key}\": {value} is not a colour (use \"#rrggbb\", a colour name or 0-255)")]
    BadColour { origin: String, key: String, value: String },
    #[error("{origin}: inherits = \"{base}\" is not a bundled theme (bundled: {bundled})", bundled = bundled_names().join(", "))]
    UnknownBase { origin: String, base: String },
}

/// Parses `text`, starting from `default_base` unless the file says `inherits = "..."`.
fn parse_over(text: &str, origin: &str, default_base: Theme) -> Result<Theme, String> {
    parse_table(text, origin, default_base).map_err(|err| err.to_string())
}

fn parse_table(text: &str, origin: &str, default_base: Theme) -> Result<Theme, ThemeError> {
    let table: toml::Table = toml::from_str(text).map_err(|err| {
        let (line, column) = line_column(text, err.span().map_or(0, |span| span.start));
        let message = err.message().trim().to_string();
        ThemeError::Toml { origin: origin.into(), line, column, message }
    })?;
    let string_at = |key: &str| -> Result<Option<String>, ThemeError> {
        match table.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => {
                Err(ThemeError::NotAString { origin: origin.into(), key: key.into(), value: shown(other) })
            }
        }
    };
    let name = string_at("name")?.ok_or_else(|| ThemeError::MissingName { origin: origin.into() })?;
    let mut theme = match string_at("inherits")? {
        None => default_base,
        Some(base) => {
            bundled(&base).ok_or_else(|| ThemeError::UnknownBase { origin: origin.into(), base })?
        }
    };
    theme.name = name;
    for (key, value) in &table {
        if key == "name" || key == "inherits" {
            continue;
        }
        let colour = parse_colour(value);
        let slot = theme
            .slot_mut(key)
            .ok_or_else(|| ThemeError::UnknownKey { origin: origin.into(), key: key.clone() })?;
        *slot = colour.ok_or_else(|| ThemeError::BadColour {
            origin: origin.into(),
            key: key.clone(),
            value: shown(value),
        })?;
    }
    Ok(theme)
}

/// `"#rrggbb"`, a ratatui colour name (`"dark_gray"`, `"reset"`) or an index 0–255.
fn parse_colour(value: &toml::Value) -> Option<Color> {
    match value {
        toml::Value::Integer(index) => u8::try_from(*index).ok().map(Color::Indexed),
        toml::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A TOML value as the user wrote it, cut short so a warning stays on one line.
fn shown(value: &toml::Value) -> String {
    let text = value.to_string();
    let text = text.lines().next().unwrap_or_default();
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// "did you mean …" for a near-miss key, else the list of known keys.
fn key_hint(key: &str) -> String {
    let nearest =
        ["name", "inherits"].iter().chain(&COLOUR_KEYS).min_by_key(|known| edit_distance(key, known));
    match nearest.filter(|known| edit_distance(key, known) <= 2) {
        Some(known) => format!("did you mean \"{known}\"?"),
        None => format!("known keys: name, inherits, {}", COLOUR_KEYS.join(", ")),
    }
}

/// Levenshtein distance, for typo suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// 1-based line and column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// True for a bare file stem, so a theme name cannot walk out of the themes folder.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\', ':'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgb(color: Color) -> (u8, u8, u8) {
        match color {
            Color::Rgb(r, g, b) => (r, g, b),
            other => panic!("expected an RGB colour, got {other:?}"),
        }
    }

    #[test]
    fn every_bundled_theme_parses_and_sets_every_key() {
        for (name, text) in BUNDLED {
            let theme = bundled(name).unwrap_or_else(|| panic!("bundled theme {name} does not parse"));
            assert_eq!(theme.name, name);
            let table: toml::Table = toml::from_str(text).unwrap();
            for key in COLOUR_KEYS {
                assert!(table.contains_key(key), "{name}.toml does not set {key}");
            }
        }
        assert_eq!(bundled_names(), ["dark", "light", "colorblind"]);
        assert!(bundled("nope").is_none());
    }

    #[test]
    fn every_colour_key_has_a_field() {
        let mut theme = Theme::default();
        for key in COLOUR_KEYS {
            assert!(theme.slot_mut(key).is_some(), "{key}");
        }
        assert_ne!(Theme::default(), Theme::terminal_palette());
    }

    #[test]
    fn colour_forms() {
        let theme = parse(
            "name = \"t\"\nbg = \"#0a0B0c\"\nfg = \"red\"\ndim = \"dark_gray\"\naccent = \"reset\"\n\
             border = 42\nheading = \"Light Blue\"\ncode = \"7\"",
            "t.toml",
        )
        .unwrap();
        assert_eq!(theme.bg, Color::Rgb(10, 11, 12));
        assert_eq!(theme.fg, Color::Red);
        assert_eq!(theme.dim, Color::DarkGray);
        assert_eq!(theme.accent, Color::Reset);
        assert_eq!(theme.border, Color::Indexed(42));
        assert_eq!(theme.heading, Color::LightBlue);
        assert_eq!(theme.code, Color::Indexed(7));
    }

    #[test]
    fn missing_keys_inherit() {
        let dark = bundled("dark").unwrap();
        let light = bundled("light").unwrap();
        let mine = parse("name = \"mine\"\naccent = \"#ff0000\"", "mine.toml").unwrap();
        assert_eq!(mine, Theme { name: "mine".into(), accent: Color::Rgb(255, 0, 0), ..dark });
        let mine = parse("name = \"mine\"\ninherits = \"light\"\nbg = \"black\"", "mine.toml").unwrap();
        assert_eq!(mine, Theme { name: "mine".into(), bg: Color::Black, ..light });
    }

    #[test]
    fn errors_name_the_file_key_and_value() {
        let path = "/home/u/.config/ttc/themes/mine.toml";
        let err = parse("name = \"mine\"\nscore_low = \"#12\"", path).unwrap_err();
        assert_eq!(
            err,
            format!("{path}: key \"score_low\": \"#12\" is not a colour (use \"#rrggbb\", a colour name or 0-255)")
        );
        let err = parse("name = \"mine\"\nok = 256", path).unwrap_err();
        assert!(err.starts_with(&format!("{path}: key \"ok\": 256 is not a colour")), "{err}");
        let err = parse("name = \"mine\"\nok = \"grean\"", path).unwrap_err();
        assert!(err.contains("\"grean\" is not a colour"), "{err}");
        let err = parse("name = \"mine\"\nscore_lo = \"red\"", path).unwrap_err();
        assert!(err.starts_with(&format!("{path}: unknown key \"score_lo\"")), "{err}");
        assert!(err.ends_with("(did you mean \"score_low\"?)"), "{err}");
        let err = parse("name = \"mine\"\nwallpaper = \"red\"", path).unwrap_err();
        assert!(err.contains("known keys: name, inherits, bg,"), "{err}");
        let err = parse("bg = \"red\"", path).unwrap_err();
        assert!(err.contains("missing key \"name\""), "{err}");
        let err = parse("name = \"x\"\ninherits = \"solarized\"", path).unwrap_err();
        assert!(err.contains("\"solarized\" is not a bundled theme"), "{err}");
        let err = parse("name = \"x\"\nbg = \"red\n", path).unwrap_err();
        assert!(err.starts_with(&format!("{path}:2:")), "{err}");
        assert!(!err.contains('\n'), "one line for the status bar: {err}");
        let err = parse("name = 3", path).unwrap_err();
        assert!(err.contains("key \"name\": 3 is not a string"), "{err}");
    }

    #[test]
    fn load_prefers_user_files_and_falls_back_with_a_warning() {
        let dir = std::env::temp_dir().join(format!("ttc-theme-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("mine.toml"), "name = \"mine\"\nbg = \"#010203\"").unwrap();
        std::fs::write(dir.join("light.toml"), "name = \"light\"\nfg = \"#12\"").unwrap();
        std::fs::write(dir.join("broken.toml"), "name = ").unwrap();

        let (mine, warning) = load("mine", Some(&dir));
        assert_eq!((mine.bg, warning), (Color::Rgb(1, 2, 3), None));

        let (theme, warning) = load("light", Some(&dir));
        assert_eq!(theme, bundled("light").unwrap(), "a broken user file falls back to the bundled one");
        let warning = warning.unwrap();
        assert!(warning.contains(&dir.join("light.toml").display().to_string()), "{warning}");
        assert!(warning.contains("\"fg\""), "{warning}");

        let (theme, warning) = load("broken", Some(&dir));
        assert_eq!(theme, bundled("dark").unwrap());
        assert!(warning.unwrap().contains("broken.toml:1:"));

        let (theme, warning) = load("nope", Some(&dir));
        assert_eq!(theme, bundled("dark").unwrap());
        let warning = warning.unwrap();
        assert!(
            warning.contains("\"nope\"") && warning.contains("colorblind, dark, light, mine"),
            "{warning}"
        );

        assert_eq!(load("colorblind", None), (bundled("colorblind").unwrap(), None));
        assert!(load("../mine", Some(&dir)).1.is_some(), "names cannot leave the themes folder");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn score_colour_interpolates_between_the_three_stops() {
        let theme = bundled("dark").unwrap();
        assert_eq!(theme.score_color(Some(0.0)), theme.score_low);
        assert_eq!(theme.score_color(Some(0.5)), theme.score_mid);
        assert_eq!(theme.score_color(Some(1.0)), theme.score_high);
        assert_eq!(theme.score_color(Some(-3.0)), theme.score_low);
        assert_eq!(theme.score_color(Some(7.0)), theme.score_high);
        assert_eq!(theme.score_color(None), theme.dim);
        assert_eq!(theme.score_color(Some(f64::NAN)), theme.dim);

        let theme = Theme {
            score_low: Color::Rgb(0, 0, 0),
            score_mid: Color::Rgb(100, 200, 50),
            score_high: Color::Rgb(200, 200, 250),
            ..theme
        };
        assert_eq!(theme.score_color(Some(0.25)), Color::Rgb(50, 100, 25));
        assert_eq!(theme.score_color(Some(0.75)), Color::Rgb(150, 200, 150));

        let named = Theme { score_low: Color::Red, score_mid: Color::Yellow, ..theme };
        assert_eq!(named.score_color(Some(0.1)), Color::Red);
        assert_eq!(named.score_color(Some(0.4)), Color::Yellow);
    }

    #[test]
    fn colorblind_scores_run_blue_to_yellow_not_red_to_green() {
        let theme = bundled("colorblind").unwrap();
        let (low, high) = (rgb(theme.score_low), rgb(theme.score_high));
        assert!(low.2.abs_diff(high.2) > 100, "blue channels must differ: {low:?} {high:?}");
        // Red-green opponent axis (r - g) must move much less than the blue-yellow axis.
        let red_green = |(r, g, _): (u8, u8, u8)| f64::from(r) - f64::from(g);
        let blue_yellow = |(r, g, b): (u8, u8, u8)| f64::from(b) - (f64::from(r) + f64::from(g)) / 2.0;
        let rg_shift = (red_green(low) - red_green(high)).abs();
        let by_shift = (blue_yellow(low) - blue_yellow(high)).abs();
        assert!(rg_shift * 3.0 < by_shift, "red-green shift {rg_shift} vs blue-yellow {by_shift}");
        // Lightness rises with the score so the gradient also reads without hue.
        let luma = |(r, g, b): (u8, u8, u8)| 0.3 * f64::from(r) + 0.59 * f64::from(g) + 0.11 * f64::from(b);
        let mid = rgb(theme.score_mid);
        assert!(luma(low) < luma(mid) && luma(mid) < luma(high));
        // ok/bad differ in blue too, not only in red/green.
        let (ok, bad) = (rgb(theme.ok), rgb(theme.bad));
        assert!(ok.2.abs_diff(bad.2) > 100, "{ok:?} {bad:?}");
    }
}

//! Keys → actions, with defaults that a `[keys]` table in config.toml can remap.

use std::collections::HashMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;

/// A key with its modifiers, as written in config: "q", "ctrl-c", "enter", "f1", "+".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    /// A key from a terminal event. Shift is folded into the character itself.
    pub fn from_event(e: &KeyEvent) -> Self {
        Self {
            code: match e.code {
                KeyCode::BackTab => KeyCode::BackTab,
                c => c,
            },
            ctrl: e.modifiers.contains(KeyModifiers::CONTROL),
            alt: e.modifiers.contains(KeyModifiers::ALT),
        }
    }

    /// Parse "ctrl-c", "alt-x", "enter", "f5", "space", "+", "?".
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = s.trim();
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("ctrl-").or_else(|| lower.strip_prefix("c-")) {
                ctrl = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("alt-").or_else(|| lower.strip_prefix("m-")) {
                alt = true;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" | "shift-tab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse::<u8>().unwrap_or(1))
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
                    _ => {
                        return Err(format!(
                            "\"{s}\" is not a key (try \"q\", \"ctrl-c\", \"enter\", \"f1\", \"space\")"
                        ))
                    }
                }
            }
        };
        Ok(Self { code, ctrl, alt })
    }

    /// How the key is shown on screen.
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Enter => "Enter".to_string(),
            KeyCode::Esc => "Esc".to_string(),
            KeyCode::Tab => "Tab".to_string(),
            KeyCode::BackTab => "S-Tab".to_string(),
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Up => "↑".to_string(),
            KeyCode::Down => "↓".to_string(),
            KeyCode::Left => "←".to_string(),
            KeyCode::Right => "→".to_string(),
            KeyCode::PageUp => "PgUp".to_string(),
            KeyCode::PageDown => "PgDn".to_string(),
            KeyCode::F(n) => format!("F{n}"),
            KeyCode::Char(c) => c.to_string(),
            other => format!("{other:?}"),
        };
        match (self.ctrl, self.alt) {
            (true, _) => format!("C-{base}"),
            (_, true) => format!("M-{base}"),
            _ => base,
        }
    }
}

/// The bindings in use.
#[derive(Debug, Clone)]
pub struct Keymap {
    map: HashMap<Key, Action>,
}

const DEFAULTS: &[(&str, Action)] = &[
    ("q", Action::Quit),
    ("ctrl-c", Action::Quit),
    ("?", Action::Help),
    ("f1", Action::Help),
    ("esc", Action::Back),
    ("+", Action::NUp),
    ("=", Action::NUp),
    ("-", Action::NDown),
    ("d", Action::DepthUp),
    ("D", Action::DepthDown),
    ("w", Action::WidthUp),
    ("W", Action::WidthDown),
    ("o", Action::LookaheadUp),
    ("O", Action::LookaheadDown),
    ("c", Action::ChainsUp),
    ("C", Action::ChainsDown),
    ("u", Action::RevisionsUp),
    ("U", Action::RevisionsDown),
    ("t", Action::TemperatureUp),
    ("T", Action::TemperatureDown),
    ("s", Action::CycleStrategy),
    ("v", Action::CycleVerifier),
    ("a", Action::CycleAggregation),
    ("e", Action::CycleSelection),
    ("r", Action::Rerun),
    ("space", Action::PauseResume),
    ("x", Action::Cancel),
    ("p", Action::PickProblem),
    ("m", Action::PickModel),
    ("[", Action::PagePrev),
    ("]", Action::PageNext),
    ("z", Action::Zoom),
    ("left", Action::FocusPrev),
    ("h", Action::FocusPrev),
    ("backtab", Action::FocusPrev),
    ("right", Action::FocusNext),
    ("l", Action::FocusNext),
    ("tab", Action::FocusNext),
    ("up", Action::StepUp),
    ("k", Action::StepUp),
    ("down", Action::StepDown),
    ("j", Action::StepDown),
    ("enter", Action::Inspect),
    ("L", Action::ToggleLatex),
    ("<", Action::RunPrev),
    (">", Action::RunNext),
    ("K", Action::TreeUp),
    ("J", Action::TreeDown),
    ("g", Action::ToggleTree),
    ("f", Action::Fork),
    ("F", Action::TogglePace),
    ("b", Action::BrowseTraces),
    ("R", Action::Rescore),
    ("i", Action::ConfidenceUp),
    ("I", Action::ConfidenceDown),
    ("y", Action::ParticleTempUp),
    ("Y", Action::ParticleTempDown),
    ("n", Action::EssThresholdUp),
    ("N", Action::EssThresholdDown),
];

impl Default for Keymap {
    fn default() -> Self {
        let map = DEFAULTS.iter().filter_map(|(k, a)| Key::parse(k).ok().map(|k| (k, *a))).collect();
        Self { map }
    }
}

impl Keymap {
    /// Defaults with the user's `[keys]` table applied (`action = "key"` or `["k1", "k2"]`).
    /// Problems are returned as messages naming the key; the rest still applies.
    pub fn with_overrides(overrides: &HashMap<String, Vec<String>>) -> (Self, Vec<String>) {
        let mut km = Self::default();
        let mut problems = Vec::new();
        for (action_name, keys) in overrides {
            let action: Action = match serde_json::from_value(serde_json::Value::String(action_name.clone()))
            {
                Ok(a) => a,
                Err(_) => {
                    problems.push(format!("[keys] {action_name}: no such action"));
                    continue;
                }
            };
            let parsed: Vec<Key> = keys
                .iter()
                .filter_map(|k| match Key::parse(k) {
                    Ok(k) => Some(k),
                    Err(e) => {
                        problems.push(format!("[keys] {action_name}: {e}"));
                        None
                    }
                })
                .collect();
            if parsed.is_empty() {
                continue;
            }
            km.map.retain(|_, a| *a != action);
            for k in parsed {
                km.map.insert(k, action);
            }
        }
        (km, problems)
    }

    /// The action bound to a key press.
    pub fn action(&self, e: &KeyEvent) -> Option<Action> {
        let key = Key::from_event(e);
        self.map.get(&key).copied().or_else(|| {
            // Some terminals report shifted characters with SHIFT; the character already says it.
            let plain = Key { ctrl: key.ctrl, alt: key.alt, code: key.code };
            self.map.get(&plain).copied()
        })
    }

    /// The keys bound to an action, as shown on screen.
    pub fn keys_for(&self, action: Action) -> Vec<String> {
        let mut keys: Vec<String> =
            self.map.iter().filter(|(_, a)| **a == action).map(|(k, _)| k.label()).collect();
        keys.sort_by_key(|k| (k.chars().count(), k.clone()));
        keys
    }

    /// The first key of an action, for the footer.
    pub fn key_for(&self, action: Action) -> String {
        self.keys_for(action).into_iter().next().unwrap_or_else(|| "—".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn defaults_map_the_documented_keys() {
        let km = Keymap::default();
        assert_eq!(km.action(&press('+')), Some(Action::NUp));
        assert_eq!(km.action(&press('q')), Some(Action::Quit));
        assert_eq!(km.action(&KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(Action::Quit));
        assert_eq!(
            km.action(&KeyEvent::new(KeyCode::Char('D'), KeyModifiers::SHIFT)),
            Some(Action::DepthDown)
        );
        assert_eq!(km.action(&press('?')), Some(Action::Help));
    }

    #[test]
    fn every_action_has_a_default_key() {
        let km = Keymap::default();
        for a in Action::ALL {
            assert!(!km.keys_for(a).is_empty(), "{a:?}");
        }
    }

    #[test]
    fn overrides_replace_and_report_problems() {
        let mut o = HashMap::new();
        o.insert("n_up".to_string(), vec!["u".to_string()]);
        o.insert("fly".to_string(), vec!["f".to_string()]);
        o.insert("zoom".to_string(), vec!["ctrl-shift-alt-nope".to_string()]);
        let (km, problems) = Keymap::with_overrides(&o);
        assert_eq!(km.action(&press('u')), Some(Action::NUp));
        assert_eq!(km.action(&press('+')), None);
        assert_eq!(km.action(&press('z')), Some(Action::Zoom), "a bad binding keeps the default");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("fly")));
    }

    #[test]
    fn key_parsing() {
        assert_eq!(Key::parse("ctrl-c").unwrap(), Key { code: KeyCode::Char('c'), ctrl: true, alt: false });
        assert_eq!(Key::parse("F5").unwrap().code, KeyCode::F(5));
        assert_eq!(Key::parse("space").unwrap().code, KeyCode::Char(' '));
        assert!(Key::parse("nope").is_err());
        assert_eq!(Key::parse("ctrl-c").unwrap().label(), "C-c");
    }
}

//! How the policy model is asked to solve a problem, and the one way prompt
//! templates are filled.

use crate::model::Message;
use crate::problem::Problem;

/// The bundled solve prompt.
pub const SOLVE_PROMPT: &str = include_str!("../../assets/prompts/solve.toml");

/// How the policy model is asked to solve a problem.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolvePrompt {
    #[serde(default)]
    pub system: String,
    pub user: String,
}

impl SolvePrompt {
    /// Parse a prompt file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, String> {
        let p: SolvePrompt = toml::from_str(text).map_err(|e| format!("{origin}: {}", e.message().trim()))?;
        if !p.user.contains("{problem}") {
            return Err(format!("{origin}: `user` must contain the {{problem}} placeholder"));
        }
        Ok(p)
    }

    /// The prompt that ships with ttc.
    pub fn bundled() -> Self {
        match Self::parse(SOLVE_PROMPT, "assets/prompts/solve.toml") {
            Ok(p) => p,
            Err(e) => unreachable!("the bundled solve prompt is valid: {e}"),
        }
    }

    /// The chat messages that ask for a solution of `problem`.
    pub fn messages(&self, problem: &Problem) -> Vec<Message> {
        let mut m = Vec::with_capacity(2);
        if !self.system.is_empty() {
            m.push(Message::system(self.system.clone()));
        }
        m.push(Message::user(fill(&self.user, &[("problem", &problem.text)])));
        m
    }
}

/// Fills the `{name}` placeholders of a prompt template in one pass: text put in is never
/// read again, so a problem or model text that itself says `{step}` stays as written.
/// Unknown placeholders stay as written too.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + values.iter().map(|v| v.1.len()).sum::<usize>());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let hit = values
            .iter()
            .find(|(name, _)| after.strip_prefix(name).is_some_and(|tail| tail.starts_with('}')));
        match hit {
            Some((name, value)) => {
                out.push_str(value);
                rest = &after[name.len() + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_reads_placeholders_once() {
        assert_eq!(fill("{a}-{b}-{c}", &[("a", "{b}"), ("b", "{a}")]), "{b}-{a}-{c}");
        assert_eq!(fill("{{a}} {", &[("a", "×")]), "{×} {");
    }
}

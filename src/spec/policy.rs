//! The adaptive strategy's policy: which strategy, with which knobs, for each
//! of five difficulty bins.

use serde::{Deserialize, Serialize};

use super::kinds::StrategyKind;

/// The bundled policy table.
pub const POLICY: &str = include_str!("../../assets/policy.toml");

/// What to run for one difficulty bin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyEntry {
    pub bin: u8,
    pub strategy: StrategyKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookahead: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chains: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    pub reason: String,
}

impl PolicyEntry {
    /// Whether every knob lies in its [`crate::spec::limits`] range.
    fn check(&self) -> Result<(), String> {
        use crate::spec::limits::{self, check};
        if let Some(w) = self.width {
            check("width", w, &limits::WIDTH)?;
        }
        if let Some(d) = self.depth {
            check("depth", d, &limits::DEPTH)?;
        }
        if let Some(k) = self.lookahead {
            check("lookahead", k, &limits::LOOKAHEAD)?;
        }
        if let Some(c) = self.chains {
            check("chains", c, &limits::CHAINS)?;
        }
        if let Some(t) = self.temperature {
            check("temperature", t, &limits::TEMPERATURE)?;
        }
        Ok(())
    }
}

/// A strategy per difficulty bin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyTable {
    pub bins: Vec<PolicyEntry>,
}

impl PolicyTable {
    /// Parse and check a table: bins 1–5 each once, no nested adaptive, every knob within
    /// [`crate::spec::limits`]. Errors start with `origin` (and the line, when known).
    pub fn parse(text: &str, origin: &str) -> Result<Self, String> {
        let t: PolicyTable = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let place = line.map(|l| format!(":{l}")).unwrap_or_default();
            format!("{origin}{place}: {}", e.message().trim())
        })?;
        for b in 1..=5u8 {
            match t.bins.iter().filter(|e| e.bin == b).count() {
                1 => {}
                0 => return Err(format!("{origin}: no entry for bin {b} (each of bins 1-5 needs one)")),
                _ => return Err(format!("{origin}: bin {b} appears more than once")),
            }
        }
        if let Some(e) = t.bins.iter().find(|e| !(1..=5).contains(&e.bin)) {
            return Err(format!("{origin}: bin {} is out of range (1-5)", e.bin));
        }
        if t.bins.iter().any(|e| e.strategy == StrategyKind::Adaptive) {
            return Err(format!("{origin}: a bin cannot choose the adaptive strategy itself"));
        }
        for e in &t.bins {
            e.check().map_err(|why| format!("{origin}: bin {}: {why}", e.bin))?;
        }
        Ok(t)
    }

    /// The table that ships with ttc.
    pub fn bundled() -> Self {
        match Self::parse(POLICY, "assets/policy.toml") {
            Ok(t) => t,
            Err(e) => unreachable!("the bundled policy is valid: {e}"),
        }
    }

    /// The entry for a bin (1–5).
    pub fn lookup(&self, bin: u8) -> &PolicyEntry {
        let bin = bin.clamp(1, 5);
        // parse() guarantees every bin exists; fall back to the first entry regardless.
        self.bins.iter().find(|e| e.bin == bin).unwrap_or(&self.bins[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_policy_has_a_strategy_for_every_bin() {
        let t = PolicyTable::bundled();
        assert_eq!(t.lookup(1).strategy, StrategyKind::Revise);
        assert_eq!(t.lookup(2).strategy, StrategyKind::Revise);
        assert_eq!(t.lookup(3).strategy, StrategyKind::Beam);
        assert_eq!(t.lookup(4).strategy, StrategyKind::Beam);
        assert_eq!(t.lookup(5).strategy, StrategyKind::Dvts);
        for b in 1..=5 {
            assert!(!t.lookup(b).reason.is_empty());
        }
    }

    #[test]
    fn broken_policies_are_explained() {
        let e = PolicyTable::parse("[[bins]]\nbin = 1\nstrategy = \"beam\"\nreason = \"x\"\n", "p.toml")
            .unwrap_err();
        assert!(e.contains("p.toml") && e.contains("bin 2"), "{e}");
        let mut text = POLICY.replace("strategy = \"dvts\"", "strategy = \"adaptive\"");
        assert!(PolicyTable::parse(&text, "p.toml").unwrap_err().contains("adaptive"));
        text = POLICY.replace("strategy = \"dvts\"", "strategy = \"teleport\"");
        assert!(PolicyTable::parse(&text, "p.toml").unwrap_err().starts_with("p.toml"));
    }
}

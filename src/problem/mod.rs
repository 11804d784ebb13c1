//! Problems to solve: loading JSONL data sets (MATH-500, GSM8K, plain) and
//! small subsets bundled into the binary so the lab works with no files at all.

pub mod bundled;
pub mod error;
pub mod jsonl;
#[cfg(test)]
mod tests_load;

pub use bundled::{bundled, bundled_sets, load_indexed, resolve_pick, BundledSet};
pub use error::{LineError, ProblemError};
pub use jsonl::{load_jsonl, parse_jsonl, parse_jsonl_bytes, LoadReport, MAX_LINE_BYTES};

/// One problem with its gold answer and dataset metadata.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Problem {
    /// Stable address, e.g. "bundled:math500:7", "data/x.jsonl:12" (1-based line), or "inline".
    pub id: String,
    /// The problem statement shown to the model.
    pub text: String,
    /// Gold final answer, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gold: Option<String>,
    /// Dataset name: "math500", "gsm8k", "plain", or a file stem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Difficulty level 1–5 when the dataset has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
    /// Subject area (e.g. "Algebra") when the dataset has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

impl Problem {
    /// A problem typed on the command line or in the UI, with id "inline".
    pub fn inline(text: impl Into<String>, gold: Option<String>) -> Problem {
        Problem {
            id: "inline".to_string(),
            text: text.into(),
            gold,
            // No dataset behind it, so no source/level/subject to claim.
            source: None,
            level: None,
            subject: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_problem_has_inline_id() {
        let p = Problem::inline("What is 2+2?", Some("4".into()));
        assert_eq!(p.id, "inline");
        assert_eq!(p.text, "What is 2+2?");
        assert_eq!(p.gold.as_deref(), Some("4"));
        assert_eq!(p.source, None);
    }

    #[test]
    fn serde_skips_missing_optionals() {
        let p = Problem::inline("x", None);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, r#"{"id":"inline","text":"x"}"#);
        let back: Problem = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
    }
}

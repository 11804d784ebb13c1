//! Aggregation: how step scores become one solution score.

use serde::{Deserialize, Serialize};

/// How step scores become one solution score. Unscored steps are skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Aggregation {
    /// The last scored step (the paper's choice).
    #[default]
    Last,
    /// The weakest step.
    Min,
    /// The product of all step scores.
    Prod,
    /// The mean step score.
    Mean,
}

impl Aggregation {
    /// Every aggregation, in cycling order.
    pub const ALL: [Aggregation; 4] =
        [Aggregation::Last, Aggregation::Min, Aggregation::Prod, Aggregation::Mean];

    /// Aggregate; `None` when no step has a score.
    pub fn apply(self, scores: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
        let mut it = scores.into_iter().flatten().peekable();
        it.peek()?;
        Some(match self {
            Aggregation::Last => it.last().unwrap_or(0.0),
            Aggregation::Min => it.fold(f64::INFINITY, f64::min),
            Aggregation::Prod => it.product(),
            Aggregation::Mean => {
                let (sum, n) = it.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
                sum / n as f64
            }
        })
    }

    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Aggregation::Last => "last",
            Aggregation::Min => "min",
            Aggregation::Prod => "prod",
            Aggregation::Mean => "mean",
        }
    }
}

impl std::fmt::Display for Aggregation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule() {
        let s = [Some(0.9), None, Some(0.5), Some(0.8)];
        assert_eq!(Aggregation::Last.apply(s), Some(0.8));
        assert_eq!(Aggregation::Min.apply(s), Some(0.5));
        assert!((Aggregation::Prod.apply(s).unwrap() - 0.36).abs() < 1e-12);
        assert!((Aggregation::Mean.apply(s).unwrap() - 2.2 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn nothing_scored_is_none() {
        for a in Aggregation::ALL {
            assert_eq!(a.apply([None, None]), None);
            assert_eq!(a.apply(std::iter::empty()), None);
        }
    }
}

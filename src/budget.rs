//! Budget accounting: what a run spent.

use serde::{Deserialize, Serialize};

/// Compute spent by a run so far. Policy and verifier usage are kept apart.
///
/// `generation_equivalents` is the paper's x-axis: policy tokens generated,
/// in units of one average finished solution. For best-of-N with every
/// candidate finished it equals N; failed or cut-short work counts by its
/// tokens, so strategies that generate step by step compare fairly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    pub policy_prompt_tokens: u64,
    pub policy_generated_tokens: u64,
    pub policy_requests: u64,
    pub verifier_prompt_tokens: u64,
    pub verifier_generated_tokens: u64,
    pub verifier_requests: u64,
    /// Steps sent to the verifier.
    pub verifier_calls: u64,
    pub generation_equivalents: f64,
    pub finished: u64,
    pub failed: u64,
    pub cancelled: u64,
    /// Wall time since the run started, in milliseconds.
    pub elapsed_ms: u64,
}

/// Keeps a [`Budget`] up to date as work completes.
#[derive(Debug, Clone, Default)]
pub struct BudgetTracker {
    budget: Budget,
    /// Generated tokens of finished solutions, for generation-equivalents.
    finished_tokens: u64,
}

impl BudgetTracker {
    /// Record one policy request that produced `generated` tokens from `prompt` tokens.
    pub fn policy(&mut self, prompt: u64, generated: u64) {
        self.budget.policy_requests += 1;
        self.budget.policy_prompt_tokens += prompt;
        self.budget.policy_generated_tokens += generated;
        self.refresh();
    }

    /// A candidate finished with a solution of `tokens` tokens.
    pub fn finished(&mut self, tokens: u64) {
        self.budget.finished += 1;
        self.finished_tokens += tokens;
        self.refresh();
    }

    /// A candidate failed.
    pub fn failed(&mut self) {
        self.budget.failed += 1;
        self.refresh();
    }

    /// A candidate was cancelled.
    pub fn cancelled(&mut self) {
        self.budget.cancelled += 1;
        self.refresh();
    }

    /// Record one verifier call on one step.
    pub fn verifier(&mut self, usage: crate::verify::Usage) {
        self.budget.verifier_calls += 1;
        self.budget.verifier_requests += usage.requests;
        self.budget.verifier_prompt_tokens += usage.prompt_tokens;
        self.budget.verifier_generated_tokens += usage.generated_tokens;
    }

    fn refresh(&mut self) {
        let b = &mut self.budget;
        b.generation_equivalents = if b.finished > 0 && self.finished_tokens > 0 {
            let mean = self.finished_tokens as f64 / b.finished as f64;
            b.policy_generated_tokens as f64 / mean
        } else {
            // Nothing finished yet: count finished-or-failed requests.
            (b.finished + b.failed) as f64
        };
    }

    /// The budget now, stamped with the elapsed time.
    pub fn snapshot(&self, elapsed_ms: u64) -> Budget {
        Budget { elapsed_ms, ..self.budget.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Usage;

    #[test]
    fn all_finished_is_n_generations() {
        let mut t = BudgetTracker::default();
        for tokens in [100, 200, 300] {
            t.policy(50, tokens);
            t.finished(tokens);
        }
        let b = t.snapshot(7);
        assert_eq!(b.policy_requests, 3);
        assert_eq!(b.policy_prompt_tokens, 150);
        assert_eq!(b.policy_generated_tokens, 600);
        assert!((b.generation_equivalents - 3.0).abs() < 1e-12);
        assert_eq!(b.elapsed_ms, 7);
    }

    #[test]
    fn failed_work_counts_by_its_tokens() {
        let mut t = BudgetTracker::default();
        t.policy(10, 100);
        t.finished(100);
        t.policy(10, 50);
        t.failed();
        let b = t.snapshot(0);
        assert!((b.generation_equivalents - 1.5).abs() < 1e-12);
        assert_eq!((b.finished, b.failed), (1, 1));
    }

    #[test]
    fn verifier_usage_is_separate() {
        let mut t = BudgetTracker::default();
        t.verifier(Usage { requests: 1, prompt_tokens: 80, generated_tokens: 1 });
        t.verifier(Usage { requests: 5, prompt_tokens: 400, generated_tokens: 5 });
        let b = t.snapshot(0);
        assert_eq!((b.verifier_calls, b.verifier_requests, b.verifier_prompt_tokens), (2, 6, 480));
        assert_eq!(b.verifier_generated_tokens, 6);
        assert_eq!(b.policy_generated_tokens, 0);
    }
}

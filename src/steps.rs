//! Splitting solutions into steps: by default a blank line (`"\n\n"`) ends a step.

/// The text that separates steps.
pub const STEP_DELIMITER: &str = "\n\n";

/// Split a whole solution into its non-empty, trimmed steps.
pub fn split_steps(text: &str) -> Vec<String> {
    text.split(STEP_DELIMITER).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// Finds step boundaries in streaming text, one delta at a time.
#[derive(Debug, Default, Clone)]
pub struct StepSplitter {
    pending: String,
    /// Bytes of `pending` already searched for a delimiter.
    scanned: usize,
}

impl StepSplitter {
    /// A splitter with nothing fed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed a delta; returns the steps it completed, in order.
    pub fn feed(&mut self, delta: &str) -> Vec<String> {
        self.pending.push_str(delta);
        let mut done = Vec::new();
        loop {
            // Back up: the delimiter may straddle two deltas. The byte before may be inside a
            // multi-byte character (`×`, `中`), so back up to the start of that character.
            let mut from = self.scanned.saturating_sub(STEP_DELIMITER.len() - 1).min(self.pending.len());
            while !self.pending.is_char_boundary(from) {
                from -= 1;
            }
            match self.pending[from..].find(STEP_DELIMITER) {
                Some(rel) => {
                    let at = from + rel;
                    let step = self.pending[..at].trim();
                    if !step.is_empty() {
                        done.push(step.to_string());
                    }
                    self.pending.drain(..at + STEP_DELIMITER.len());
                    self.scanned = 0;
                }
                None => {
                    self.scanned = self.pending.len();
                    return done;
                }
            }
        }
    }

    /// The text after the last boundary (the step still being written).
    pub fn partial(&self) -> &str {
        &self.pending
    }

    /// End of text: the unfinished step, if it has any content.
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.pending);
        self.scanned = 0;
        let rest = rest.trim();
        (!rest.is_empty()).then(|| rest.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_text_splits_on_blank_lines() {
        assert_eq!(split_steps("a\n\nb\n\n\n\nc\n"), vec!["a", "b", "c"]);
        assert!(split_steps("  \n\n ").is_empty());
    }

    #[test]
    fn streaming_matches_whole_text_for_every_cut() {
        let text = "We compute.\n\n12 + 30 = 42\n\n\nThe answer is 42.";
        for cut in 0..=text.len() {
            if !text.is_char_boundary(cut) {
                continue;
            }
            let mut s = StepSplitter::new();
            let mut steps = s.feed(&text[..cut]);
            steps.extend(s.feed(&text[cut..]));
            steps.extend(s.finish());
            assert_eq!(steps, split_steps(text), "cut at {cut}");
        }
    }

    #[test]
    fn a_delta_ending_in_a_multi_byte_character_does_not_panic() {
        // Searching resumed one byte back, inside `×`: "byte index … is not a char boundary".
        for tail in ["×", "π", "✓", "—", "中", "🙂", "e\u{301}"] {
            let mut s = StepSplitter::new();
            assert!(s.feed(&format!("3 {tail}")).is_empty());
            assert_eq!(s.feed("\n\nnext"), vec![format!("3 {tail}")]);
            assert_eq!(s.finish().as_deref(), Some("next"));
        }
    }

    #[test]
    fn multi_byte_text_at_every_cut_point() {
        let text = "3 × 4 = 12 ✓\n\n中文 — π\n\n\n🙂 e\u{301}\n\nThe answer is \\boxed{12}×";
        for a in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            for b in (a..=text.len()).filter(|&i| text.is_char_boundary(i)) {
                let mut s = StepSplitter::new();
                let mut steps = s.feed(&text[..a]);
                steps.extend(s.feed(&text[a..b]));
                steps.extend(s.feed(&text[b..]));
                steps.extend(s.finish());
                assert_eq!(steps, split_steps(text), "cuts at {a} and {b}");
            }
        }
    }

    #[test]
    fn one_character_at_a_time() {
        let text = "a\n\nb\n\nc";
        let mut s = StepSplitter::new();
        let mut steps = Vec::new();
        for ch in text.chars() {
            steps.extend(s.feed(&ch.to_string()));
        }
        assert_eq!(s.partial(), "c");
        steps.extend(s.finish());
        assert_eq!(steps, vec!["a", "b", "c"]);
    }
}

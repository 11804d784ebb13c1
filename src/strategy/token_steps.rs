//! Which step each streamed token belongs to, for a verifier that reads the policy's own
//! token log-probabilities (`confidence`), and DeepConf's online cut-off over them.
//!
//! **Boundaries.** Tokens are fed to the step splitter one at a time, in order. A token belongs
//! to the step that is being written when it arrives; the token that completes a step's
//! delimiter belongs to the step it closes, and so does one that straddles the boundary
//! (`".\n\nThe"`: the text after the delimiter starts the next step, the token's confidence
//! counts for the step it ends). Delimiter tokens that close no step (a blank step) count for
//! the next step. When a delta's tokens do not spell its text (a server that sends them
//! differently), the delta's tokens all go to the step being written when it arrives.

use crate::model::TokenLogprob;
use crate::steps::StepSplitter;
use crate::verify::confidence::{compact, OnlineCutoff};
use crate::verify::StepLogprobs;

/// Steps completed by one delta, and the online cut-off's verdict.
#[derive(Debug, Default)]
pub struct Fed {
    /// Each completed step with its tokens (empty when log-probabilities are not kept).
    pub steps: Vec<(String, StepLogprobs)>,
    /// The mapped confidence of the first window that fell below the cut-off, if any did.
    pub cut: Option<f64>,
}

/// Splits a stream into steps, keeping each step's tokens when asked.
#[derive(Debug)]
pub struct TokenSteps {
    splitter: StepSplitter,
    keep: bool,
    bucket: Vec<TokenLogprob>,
    online: Option<OnlineCutoff>,
}

impl TokenSteps {
    /// A splitter that keeps tokens when `keep`, and watches them when `online` is given.
    pub fn new(keep: bool, online: Option<OnlineCutoff>) -> Self {
        Self { splitter: StepSplitter::new(), keep, bucket: Vec::new(), online }
    }

    /// Feed one delta and the tokens it came with.
    pub fn feed(&mut self, delta: &str, logprobs: Option<Vec<TokenLogprob>>) -> Fed {
        let mut fed = Fed::default();
        let tokens = logprobs.unwrap_or_default();
        if let Some(watch) = &mut self.online {
            fed.cut = tokens.iter().find_map(|t| watch.push(t));
        }
        if !self.keep || tokens.is_empty() {
            for step in self.splitter.feed(delta) {
                fed.steps.push((step, self.take()));
            }
            return fed;
        }
        let spelled = tokens.iter().map(|t| t.token.len()).sum::<usize>() == delta.len()
            && tokens.iter().map(|t| t.token.as_str()).collect::<String>() == delta;
        if !spelled {
            self.bucket.extend(tokens.into_iter().map(compact));
            for step in self.splitter.feed(delta) {
                fed.steps.push((step, self.take()));
            }
            return fed;
        }
        for t in tokens {
            let done = self.splitter.feed(&t.token);
            // Placed before the steps it completes are taken: it counts for the step it closes.
            self.bucket.push(compact(t));
            for step in done {
                fed.steps.push((step, self.take()));
            }
        }
        fed
    }

    /// The end of the stream: the unfinished step with the tokens left.
    pub fn finish(&mut self) -> Option<(String, StepLogprobs)> {
        let step = self.splitter.finish()?;
        Some((step, self.take()))
    }

    /// The tokens gathered so far, as one step's.
    fn take(&mut self) -> StepLogprobs {
        std::mem::take(&mut self.bucket).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TopLogprob;

    fn tok(text: &str, lp: f64) -> TokenLogprob {
        TokenLogprob {
            token: text.into(),
            logprob: lp,
            top_logprobs: vec![TopLogprob { token: text.into(), logprob: lp }],
        }
    }

    fn lps(s: &StepLogprobs) -> Vec<f64> {
        s.iter().map(|t| t.logprob).collect()
    }

    #[test]
    fn a_straddling_token_belongs_to_the_step_it_closes() {
        let mut ts = TokenSteps::new(true, None);
        let mut steps = Vec::new();
        for (i, t) in ["One", ".", "\n", "\nTw", "o", "\n\n", "\n\n", "Three"].iter().enumerate() {
            steps.extend(ts.feed(t, Some(vec![tok(t, -(i as f64))])).steps);
        }
        steps.extend(ts.finish());
        let texts: Vec<&str> = steps.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(texts, ["One.", "Two", "Three"]);
        assert_eq!(lps(&steps[0].1), [0.0, -1.0, -2.0, -3.0]);
        assert_eq!(lps(&steps[1].1), [-4.0, -5.0]);
        // A blank step's delimiter counts for the next step.
        assert_eq!(lps(&steps[2].1), [-6.0, -7.0]);
        // Token texts are dropped once placed.
        assert!(steps[0].1.iter().all(|t| t.token.is_empty() && t.top_logprobs[0].token.is_empty()));
    }

    #[test]
    fn tokens_that_do_not_spell_the_delta_go_to_the_step_being_written() {
        let mut ts = TokenSteps::new(true, None);
        let fed = ts.feed("a\n\nb", Some(vec![tok("x", -1.0), tok("y", -2.0)]));
        assert_eq!(fed.steps.len(), 1);
        assert_eq!(lps(&fed.steps[0].1), [-1.0, -2.0]);
        let (last, lp) = ts.finish().unwrap();
        assert_eq!((last.as_str(), lp.len()), ("b", 0));
    }

    #[test]
    fn without_keeping_the_steps_are_the_same_and_carry_nothing() {
        let text = "3 × 4 = 12 ✓\n\n中文 — π\n\nThe answer is 12";
        let mut kept = TokenSteps::new(true, None);
        let mut plain = TokenSteps::new(false, None);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for ch in text.chars() {
            let s = ch.to_string();
            a.extend(kept.feed(&s, Some(vec![tok(&s, -0.5)])).steps);
            b.extend(plain.feed(&s, Some(vec![tok(&s, -0.5)])).steps);
        }
        a.extend(kept.finish());
        b.extend(plain.finish());
        let names = |v: &[(String, StepLogprobs)]| v.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>();
        assert_eq!(names(&a), crate::steps::split_steps(text));
        assert_eq!(names(&a), names(&b));
        assert!(b.iter().all(|(_, l)| l.is_empty()));
        assert_eq!(a.iter().map(|(_, l)| l.len()).sum::<usize>(), text.chars().count());
    }
}

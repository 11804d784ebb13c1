//! The judge verifier: an LLM asked "is this step correct? Yes or No", scored
//! as p(Yes)/(p(Yes)+p(No)) from next-token log-probabilities.
//!
//! What it measures is step-local: each step is judged correct or not on its
//! own (with the earlier steps as context), so a solution is as good as its
//! weakest step and runs with the judge aggregate with `min` by default
//! ([`crate::spec::VerifierKind::default_aggregation`]).
//!
//! Two prompt formats (`format` in the template file): `single` (default) asks one user
//! message per step, filled from `template`; `conversation` is the chat format of
//! conversational PRMs (RLHFlow's Llama-3.1 PRMs, which search-and-learn uses): the first
//! step is the first user turn (`template`, with the problem), every later step its own user
//! turn (`turn`), each earlier step answered by the assistant turn `assistant` (the yes token
//! by default), and the score of step k is p(yes) of the reply after step k's turn;
//! `step-tag` is the format of step-tag PRMs (Math-Shepherd): the solution as one raw prompt,
//! no chat template (`raw_template`, with `{problem}` and `{steps}`), each step written
//! `Step i: TEXT` followed by the tag token (`tag`); for step k the prompt runs up to and
//! including step k's tag, and the score is p(yes) of the next token (sent with
//! [`GenRequest::raw`]: Ollama's `/api/generate`, `raw: true`).
//!
//! How a step gets its score ([`JudgeMethod`]):
//! - `logprobs`: the verdict tokens are among the reply's alternatives;
//! - `token`: the reply carries its chosen token but no alternatives — a
//!   one-token 0/1 score, marked as such rather than passed off as a probability;
//! - `sampled`: the fraction of K sampled verdicts that say yes, when the server
//!   has no log-probabilities, or neither verdict token is among the
//!   alternatives (or the lone chosen token is neither). Only when no sampled
//!   verdict is yes or no either is the step left unscored, with both reasons.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::{JudgeMethod, ScoreRequest, StepDetail, StepScore, Usage, Verifier, VerifyError};
use crate::model::{collect, GenError, GenRequest, Generator, Message, Role, TopLogprob};
use crate::spec::fill;

/// The bundled judge template.
pub const DEFAULT_TEMPLATE: &str = include_str!("../../assets/verifiers/judge.toml");

/// The judge's prompt and verdict tokens, read from a TOML data file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgeTemplate {
    pub yes: String,
    pub no: String,
    #[serde(default = "default_top")]
    pub top_logprobs: u8,
    #[serde(default = "default_samples")]
    pub samples: u32,
    #[serde(default = "default_sample_temperature")]
    pub sample_temperature: f32,
    #[serde(default)]
    pub system: String,
    /// The user message (single) or the first user turn (conversation); unused by step-tag.
    #[serde(default)]
    pub template: String,
    /// `single` (one user message per step), `conversation` (one user turn per step) or
    /// `step-tag` (one raw prompt, a tag after each step).
    #[serde(default)]
    pub format: JudgeFormat,
    /// Step-tag format: the token after each step whose next token is the verdict (` ки`).
    #[serde(default)]
    pub tag: Option<String>,
    /// Step-tag format: the raw prompt (`{problem}`, `{steps}`: `Step 1: … TAG\nStep 2: … TAG`).
    #[serde(default)]
    pub raw_template: Option<String>,
    /// Conversation format: the user turn of every step after the first (`{step}` by default).
    #[serde(default)]
    pub turn: Option<String>,
    /// Conversation format: the assistant's reply to each earlier step (`yes` by default).
    #[serde(default)]
    pub assistant: Option<String>,
}

/// How the judge's request is laid out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JudgeFormat {
    /// One user message per step, from `template`.
    #[default]
    Single,
    /// The steps as alternating user turns, earlier ones answered by `assistant`.
    Conversation,
    /// One raw prompt (no chat template), a tag token after each step.
    #[serde(rename = "step-tag")]
    StepTag,
}

fn default_top() -> u8 {
    20
}
fn default_samples() -> u32 {
    5
}
fn default_sample_temperature() -> f32 {
    1.0
}

impl JudgeTemplate {
    /// Parse a template file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, String> {
        let t: JudgeTemplate =
            toml::from_str(text).map_err(|e| format!("{origin}: {}", e.message().trim()))?;
        if t.yes.trim().is_empty() || t.no.trim().is_empty() {
            return Err(format!("{origin}: `yes` and `no` must be non-empty tokens"));
        }
        if t.format == JudgeFormat::StepTag {
            if !t.raw_template.as_deref().is_some_and(|r| r.contains("{steps}")) {
                return Err(format!(
                    "{origin}: format = \"step-tag\" needs `raw_template` with the {{steps}} placeholder"
                ));
            }
            if t.tag.as_deref().is_none_or(|tag| tag.trim().is_empty()) {
                return Err(format!("{origin}: format = \"step-tag\" needs a non-empty `tag`"));
            }
            if !t.template.is_empty() || !t.system.is_empty() {
                return Err(format!(
                    "{origin}: format = \"step-tag\" sends one raw prompt: use `raw_template`, not `template` or `system`"
                ));
            }
        } else {
            if !t.template.contains("{step}") {
                return Err(format!("{origin}: `template` must contain the {{step}} placeholder"));
            }
            if t.tag.is_some() || t.raw_template.is_some() {
                return Err(format!("{origin}: `tag` and `raw_template` need format = \"step-tag\""));
            }
        }
        if t.turn.as_deref().is_some_and(|turn| !turn.contains("{step}")) {
            return Err(format!("{origin}: `turn` must contain the {{step}} placeholder"));
        }
        if t.format != JudgeFormat::Conversation && (t.turn.is_some() || t.assistant.is_some()) {
            return Err(format!("{origin}: `turn` and `assistant` need format = \"conversation\""));
        }
        Ok(t)
    }

    /// The template that ships with ttc.
    pub fn bundled() -> Self {
        match Self::parse(DEFAULT_TEMPLATE, "assets/verifiers/judge.toml") {
            Ok(t) => t,
            Err(e) => unreachable!("the bundled judge template is valid: {e}"),
        }
    }

    /// The prompt for step `k` (0-based) of `steps`.
    pub fn render(&self, problem: &str, steps: &[String], k: usize) -> String {
        let previous = if k == 0 {
            "(none)".to_string()
        } else {
            steps[..k]
                .iter()
                .enumerate()
                .map(|(i, s)| format!("Step {}: {}", i + 1, s))
                .collect::<Vec<_>>()
                .join("\n\n")
        };
        // One pass: text from the problem or a step is never taken for a placeholder.
        let number = (k + 1).to_string();
        fill(
            &self.template,
            &[("problem", problem), ("previous", &previous), ("step_number", &number), ("step", &steps[k])],
        )
    }

    /// The request for step `k` (0-based): its messages, and the prompt as shown to the user
    /// (the rendered message, or the conversation written out turn by turn).
    pub fn request(&self, problem: &str, steps: &[String], k: usize) -> (Vec<Message>, String) {
        let mut m = Vec::with_capacity(2 * k + 2);
        if !self.system.is_empty() {
            m.push(Message::system(self.system.clone()));
        }
        if self.format == JudgeFormat::Single {
            let prompt = self.render(problem, steps, k);
            m.push(Message::user(prompt.clone()));
            return (m, prompt);
        }
        let turn = self.turn.as_deref().unwrap_or("{step}");
        let reply = self.assistant.as_deref().unwrap_or(&self.yes);
        for (i, step) in steps[..=k].iter().enumerate() {
            let number = (i + 1).to_string();
            let vars =
                [("problem", problem), ("previous", ""), ("step_number", number.as_str()), ("step", step)];
            if i == 0 {
                m.push(Message::user(fill(&self.template, &vars)));
            } else {
                m.push(Message::assistant(reply.to_string()));
                m.push(Message::user(fill(turn, &vars)));
            }
        }
        let shown = m
            .iter()
            .map(|msg| {
                let role = match msg.role {
                    Role::System => "system",
                    Role::User => "user",
                    Role::Assistant => "assistant",
                };
                format!("[{role}] {}", msg.content)
            })
            .collect::<Vec<_>>()
            .join("\n\n");
        (m, shown)
    }

    /// Step-tag format: the raw prompt for step `k` (0-based): `raw_template` with the steps
    /// up to and including step k, each `Step i: TEXT` and the tag, one per line.
    pub fn raw_prompt(&self, problem: &str, steps: &[String], k: usize) -> String {
        let tag = self.tag.as_deref().unwrap_or_default();
        let written: Vec<String> = steps[..=k]
            .iter()
            .enumerate()
            .map(|(i, s)| format!("Step {}: {}{tag}", i + 1, s.trim()))
            .collect();
        let raw = self.raw_template.as_deref().unwrap_or("{problem} {steps}");
        fill(raw, &[("problem", problem), ("steps", &written.join("\n"))])
    }

    /// The judge's request for step `k` (0-based) in the template's format, and the prompt as
    /// shown to the user.
    pub fn gen_request(&self, problem: &str, steps: &[String], k: usize) -> (GenRequest, String) {
        if self.format == JudgeFormat::StepTag {
            let prompt = self.raw_prompt(problem, steps, k);
            return (GenRequest::raw(prompt.clone()), prompt);
        }
        let (messages, shown) = self.request(problem, steps, k);
        (GenRequest::new(messages), shown)
    }

    fn is(&self, token: &str, verdict: &str) -> bool {
        token.trim().eq_ignore_ascii_case(verdict.trim())
    }

    /// p(yes), p(no) summed over matching alternatives; `None` when neither appears.
    pub fn verdict_probs(&self, top: &[TopLogprob]) -> Option<(f64, f64)> {
        let (mut y, mut n) = (0.0, 0.0);
        let mut seen = false;
        for t in top {
            if self.is(&t.token, &self.yes) {
                y += t.logprob.exp();
                seen = true;
            } else if self.is(&t.token, &self.no) {
                n += t.logprob.exp();
                seen = true;
            }
        }
        (seen && y + n > 0.0).then_some((y, n))
    }

    /// Read one verdict token: `Some(true)` for the yes token, `Some(false)` for no.
    pub fn parse_token(&self, token: &str) -> Option<bool> {
        if self.is(token, &self.yes) {
            Some(true)
        } else if self.is(token, &self.no) {
            Some(false)
        } else {
            None
        }
    }

    /// Read a sampled verdict: its first word, without punctuation.
    pub fn parse_verdict(&self, text: &str) -> Option<bool> {
        let first = text.split_whitespace().next()?;
        // Verdict tokens that are punctuation themselves ("+", "-") are read as written.
        for (verdict, is_yes) in [(&self.yes, true), (&self.no, false)] {
            let v = verdict.trim();
            if !v.is_empty() && !v.chars().any(char::is_alphanumeric) && first.starts_with(v) {
                return Some(is_yes);
            }
        }
        let word: String = first.chars().filter(|c| c.is_alphanumeric()).collect();
        if self.is(&word, &self.yes) {
            Some(true)
        } else if self.is(&word, &self.no) {
            Some(false)
        } else {
            None
        }
    }
}

/// An LLM as a generative process reward model.
pub struct JudgeVerifier {
    gen: Arc<dyn Generator>,
    template: JudgeTemplate,
}

impl JudgeVerifier {
    /// A judge asking `gen` with `template`.
    pub fn new(gen: Arc<dyn Generator>, template: JudgeTemplate) -> Self {
        Self { gen, template }
    }

    async fn score_one(
        &self,
        base: GenRequest,
        prompt: String,
        cancel: &CancellationToken,
    ) -> Result<StepScore, VerifyError> {
        let mut usage = Usage::default();
        if self.gen.info().logprobs {
            let mut req = base.clone();
            req.options.temperature = Some(0.0);
            req.options.num_predict = Some(1);
            req.top_logprobs = self.template.top_logprobs.clamp(5, 20);
            match collect(self.gen.as_ref(), req, cancel.clone()).await {
                Err(GenError::Cancelled) => return Err(VerifyError::Cancelled),
                Err(e) => {
                    return Ok(StepScore::unscored(
                        format!("judge request failed: {e}"),
                        judge_detail(JudgeMethod::Logprobs, prompt, None, vec![], vec![]),
                        usage,
                    ))
                }
                Ok(out) => {
                    usage.requests += 1;
                    usage.prompt_tokens += out.stats.prompt_tokens;
                    usage.generated_tokens += out.stats.generated_tokens;
                    // Without logprobs in the reply the server ignored the request: sample verdicts instead.
                    if let Some(first) = out.logprobs.first() {
                        if first.top_logprobs.is_empty() {
                            // Only the chosen token: a 0/1 verdict, not a probability.
                            let chosen = TopLogprob { token: first.token.clone(), logprob: first.logprob };
                            if let Some(yes) = self.template.parse_token(&chosen.token) {
                                return Ok(StepScore::scored(
                                    if yes { 1.0 } else { 0.0 },
                                    judge_detail(JudgeMethod::Token, prompt, None, vec![chosen], vec![]),
                                    usage,
                                ));
                            }
                            let why = format!(
                                "the judge's reply {:?} carries no alternatives and is neither {:?} nor {:?}",
                                chosen.token, self.template.yes, self.template.no
                            );
                            return self
                                .score_sampled(base, prompt, usage, Some((why, vec![chosen])), cancel)
                                .await;
                        }
                        let top = first.top_logprobs.clone();
                        if let Some((y, n)) = self.template.verdict_probs(&top) {
                            return Ok(StepScore::scored(
                                y / (y + n),
                                judge_detail(JudgeMethod::Logprobs, prompt, Some((y, n)), top, vec![]),
                                usage,
                            ));
                        }
                        // Neither verdict token among the alternatives: ask for sampled verdicts.
                        let got: Vec<String> = top.iter().take(6).map(|t| format!("{:?}", t.token)).collect();
                        let why = format!(
                            "neither {:?} nor {:?} is among the judge's top {} next tokens (got {})",
                            self.template.yes,
                            self.template.no,
                            top.len(),
                            got.join(", ")
                        );
                        return self.score_sampled(base, prompt, usage, Some((why, top)), cancel).await;
                    }
                }
            }
        }
        self.score_sampled(base, prompt, usage, None, cancel).await
    }

    /// Fallback without usable logprobs: the fraction of K sampled verdicts that say yes.
    /// `after` is why log-probabilities did not decide, with the alternatives that were seen.
    async fn score_sampled(
        &self,
        base: GenRequest,
        prompt: String,
        mut usage: Usage,
        after: Option<(String, Vec<TopLogprob>)>,
        cancel: &CancellationToken,
    ) -> Result<StepScore, VerifyError> {
        let (before, seen) = match after {
            Some((why, top)) => (Some(why), top),
            None => (None, Vec::new()),
        };
        let k = self.template.samples.max(1);
        let runs = (0..k).map(|i| {
            let mut req = base.clone();
            req.options.temperature = Some(self.template.sample_temperature);
            req.options.seed = Some(i as i64 + 1);
            req.options.num_predict = Some(4);
            collect(self.gen.as_ref(), req, cancel.clone())
        });
        let results = futures::future::join_all(runs).await;
        let mut verdicts = Vec::new();
        let (mut yes, mut no) = (0u32, 0u32);
        let mut last_err = None;
        for r in results {
            match r {
                Err(GenError::Cancelled) => return Err(VerifyError::Cancelled),
                Err(e) => last_err = Some(e.to_string()),
                Ok(out) => {
                    usage.requests += 1;
                    usage.prompt_tokens += out.stats.prompt_tokens;
                    usage.generated_tokens += out.stats.generated_tokens;
                    match self.template.parse_verdict(&out.text) {
                        Some(true) => yes += 1,
                        Some(false) => no += 1,
                        None => {}
                    }
                    verdicts.push(out.text.trim().to_string());
                }
            }
        }
        let detail = judge_detail(JudgeMethod::Sampled, prompt, None, seen, verdicts);
        Ok(if yes + no == 0 {
            let why = match last_err {
                Some(e) if usage.requests == 0 => format!("every judge request failed: {e}"),
                _ => format!(
                    "none of {k} sampled verdicts was {:?} or {:?}",
                    self.template.yes, self.template.no
                ),
            };
            let why = match before {
                Some(b) => format!("{b}; {why}"),
                None => why,
            };
            StepScore::unscored(why, detail, usage)
        } else {
            StepScore::scored(yes as f64 / (yes + no) as f64, detail, usage)
        })
    }
}

fn judge_detail(
    method: JudgeMethod,
    prompt: String,
    probs: Option<(f64, f64)>,
    top_logprobs: Vec<TopLogprob>,
    verdicts: Vec<String>,
) -> StepDetail {
    StepDetail::Judge {
        method,
        prompt,
        p_yes: probs.map(|p| p.0),
        p_no: probs.map(|p| p.1),
        top_logprobs,
        verdicts,
    }
}

#[async_trait]
impl Verifier for JudgeVerifier {
    fn name(&self) -> String {
        let info = self.gen.info();
        if info.logprobs {
            format!("judge:{}", info.model)
        } else {
            format!("judge:{} (sampled verdicts, no logprobs)", info.model)
        }
    }

    async fn score(
        &self,
        req: ScoreRequest<'_>,
        cancel: CancellationToken,
    ) -> Result<Vec<StepScore>, VerifyError> {
        let start = req.start.min(req.steps.len());
        let jobs = (start..req.steps.len()).map(|k| {
            let (base, prompt) = self.template.gen_request(&req.problem.text, req.steps, k);
            self.score_one(base, prompt, &cancel)
        });
        futures::future::join_all(jobs).await.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tl(token: &str, p: f64) -> TopLogprob {
        TopLogprob { token: token.into(), logprob: p.ln() }
    }

    #[test]
    fn bundled_template_parses_and_renders() {
        let t = JudgeTemplate::bundled();
        let steps = vec!["12 + 30 = 42".to_string(), "The answer is 42.".to_string()];
        let p = t.render("What is 12 + 30?", &steps, 1);
        assert!(p.contains("Step 1: 12 + 30 = 42"));
        assert!(p.contains("Step to check:\nThe answer is 42."));
        assert!(p.contains("Is step 2 correct?"));
        let p0 = t.render("Q", &steps, 0);
        assert!(p0.contains("(none)"));
    }

    #[test]
    fn placeholders_inside_the_problem_or_steps_stay_as_written() {
        let t = JudgeTemplate::bundled();
        let steps = vec!["Let {step} be 2.".to_string(), "So {previous} is {step_number}.".to_string()];
        let p = t.render("Find {step} and {problem}.", &steps, 1);
        assert!(p.contains("Find {step} and {problem}."), "{p}");
        assert!(p.contains("Step 1: Let {step} be 2."), "{p}");
        assert!(p.contains("So {previous} is {step_number}."), "{p}");
    }

    #[test]
    fn yes_no_probabilities_normalise_and_merge_variants() {
        let t = JudgeTemplate::bundled();
        let (y, n) =
            t.verdict_probs(&[tl("Yes", 0.6), tl(" yes", 0.1), tl("No", 0.2), tl("The", 0.1)]).unwrap();
        assert!((y - 0.7).abs() < 1e-9 && (n - 0.2).abs() < 1e-9);
        assert!((y / (y + n) - 0.7 / 0.9).abs() < 1e-9);
    }

    #[test]
    fn neither_token_is_none() {
        let t = JudgeTemplate::bundled();
        assert_eq!(t.verdict_probs(&[tl("Step", 0.5), tl("The", 0.3)]), None);
    }

    #[test]
    fn verdict_parsing() {
        let t = JudgeTemplate::bundled();
        assert_eq!(t.parse_verdict(" Yes."), Some(true));
        assert_eq!(t.parse_verdict("no, because"), Some(false));
        assert_eq!(t.parse_verdict("**Yes**"), Some(true));
        assert_eq!(t.parse_verdict("Maybe"), None);
        assert_eq!(t.parse_verdict(""), None);
    }

    #[test]
    fn broken_templates_name_the_problem() {
        assert!(JudgeTemplate::parse("yes = 1", "x.toml").unwrap_err().starts_with("x.toml:"));
        let e =
            JudgeTemplate::parse("yes=\"Y\"\nno=\"N\"\ntemplate=\"no placeholder\"", "x.toml").unwrap_err();
        assert!(e.contains("{step}"), "{e}");
        let e =
            JudgeTemplate::parse("yes=\"Y\"\nno=\"N\"\ntemplate=\"{step}\"\nbogus=1", "x.toml").unwrap_err();
        assert!(e.contains("bogus"), "{e}");
    }

    const PRM_CHAT: &str = include_str!("../../assets/verifiers/prm-chat.toml");

    #[test]
    fn the_conversation_format_lays_the_steps_out_as_turns() {
        let t = JudgeTemplate::parse(PRM_CHAT, "prm-chat.toml").unwrap();
        assert_eq!(t.format, JudgeFormat::Conversation);
        let steps: Vec<String> =
            ["12 + 30 = 42", "42 * 2 = 84", "The answer is 84."].map(String::from).into();
        let (m, shown) = t.request("What is (12 + 30) * 2?", &steps, 2);
        let turns: Vec<(Role, &str)> = m.iter().map(|x| (x.role, x.content.as_str())).collect();
        assert_eq!(
            turns,
            vec![
                (Role::User, "What is (12 + 30) * 2? 12 + 30 = 42"),
                (Role::Assistant, "+"),
                (Role::User, "42 * 2 = 84"),
                (Role::Assistant, "+"),
                (Role::User, "The answer is 84."),
            ]
        );
        assert!(
            shown.starts_with("[user] What is") && shown.ends_with("[user] The answer is 84."),
            "{shown}"
        );
        // Step 1 is the first turn alone.
        assert_eq!(t.request("Q", &steps, 0).0.len(), 1);
        // The single format is one user message, as before.
        let (m, shown) = JudgeTemplate::bundled().request("Q", &steps, 1);
        assert_eq!(m.last().unwrap().content, shown);
        assert_eq!(m.iter().filter(|x| x.role == Role::User).count(), 1);
    }

    const STEP_TAG: &str = include_str!("../../assets/verifiers/step-tag.toml");

    #[test]
    fn the_step_tag_format_is_one_raw_prompt_up_to_the_steps_tag() {
        let t = JudgeTemplate::parse(STEP_TAG, "step-tag.toml").unwrap();
        assert_eq!(t.format, JudgeFormat::StepTag);
        let steps: Vec<String> =
            ["12 + 30 = 42", "42 * 2 = 84\n", "The answer is 84."].map(String::from).into();
        let (req, shown) = t.gen_request("What is (12 + 30) * 2?", &steps, 1);
        assert_eq!(
            req.raw.as_deref(),
            Some("What is (12 + 30) * 2? Step 1: 12 + 30 = 42 ки\nStep 2: 42 * 2 = 84 ки")
        );
        assert!(req.messages.is_empty());
        assert_eq!(req.raw.as_deref(), Some(shown.as_str()));
        assert_eq!(t.raw_prompt("Q", &steps, 0), "Q Step 1: 12 + 30 = 42 ки");
        // Text that looks like a placeholder stays as written.
        assert_eq!(t.raw_prompt("{steps}?", &steps[..1], 0), "{steps}? Step 1: 12 + 30 = 42 ки");
        // The other formats send chat messages, as before.
        assert!(JudgeTemplate::bundled().gen_request("Q", &steps, 0).0.raw.is_none());
    }

    #[test]
    fn a_step_tag_template_needs_its_keys_and_only_its_keys() {
        let ok =
            "format=\"step-tag\"\nyes=\"+\"\nno=\"-\"\ntag=\" ки\"\nraw_template=\"{problem} {steps}\"\n";
        assert!(JudgeTemplate::parse(ok, "t.toml").is_ok());
        for (bad, says) in [
            (ok.replace("{steps}", "{step}"), "raw_template"),
            (ok.replace("tag=\" ки\"\n", ""), "non-empty `tag`"),
            (format!("{ok}template=\"{{step}}\"\n"), "not `template` or `system`"),
            (format!("{ok}turn=\"{{step}}\"\n"), "conversation"),
            (
                "yes=\"+\"\nno=\"-\"\ntemplate=\"{step}\"\ntag=\"x\"\n".to_string(),
                "need format = \"step-tag\"",
            ),
        ] {
            let e = JudgeTemplate::parse(&bad, "t.toml").unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn punctuation_verdicts_are_read_as_written() {
        let t = JudgeTemplate::parse(PRM_CHAT, "prm-chat.toml").unwrap();
        assert_eq!(t.parse_verdict("+"), Some(true));
        assert_eq!(t.parse_verdict(" -"), Some(false));
        assert_eq!(t.parse_verdict("?"), None);
        assert_eq!(
            t.verdict_probs(&[tl("+", 0.9), tl("-", 0.05), tl("The", 0.05)]).map(|(y, _)| y > 0.89),
            Some(true)
        );
        let e = JudgeTemplate::parse(
            "yes=\"+\"\nno=\"-\"\ntemplate=\"{step}\"\nturn=\"x\"\nformat=\"conversation\"",
            "c.toml",
        )
        .unwrap_err();
        assert!(e.contains("`turn`"), "{e}");
        let e = JudgeTemplate::parse("yes=\"+\"\nno=\"-\"\ntemplate=\"{step}\"\nassistant=\"+\"", "c.toml")
            .unwrap_err();
        assert!(e.contains("conversation"), "{e}");
    }
}

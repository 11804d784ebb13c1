//! The `http` verifier: any process reward model behind a small JSON endpoint.
//!
//! Protocol: one `POST URL` per solution with `{"problem": "...", "steps": ["...", ...]}`;
//! the reply is `{"scores": [0.9, 0.2, null, ...]}`, one score in [0, 1] per step, `null`
//! for a step the model leaves unscored. Anything else (no reply within the timeout, a
//! non-2xx status, another number of scores, a score outside [0, 1] or not a number) fails
//! the call with a [`VerifyError`] naming the URL, its credentials hidden; in a run
//! ([`HttpVerifier::leaving_failures_unscored`]) it leaves the steps unscored with that
//! reason instead, and the run goes on.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::{ScoreRequest, StepDetail, StepScore, Usage, Verifier, VerifyError};
use crate::safe::{for_display, redact};

/// The most characters of a reply body quoted in an error.
pub const BODY_CHARS: usize = 300;
/// The wait for a reply when no stall timeout is set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Scores the steps of a solution by asking an HTTP endpoint (see the module docs).
pub struct HttpVerifier {
    client: reqwest::Client,
    url: reqwest::Url,
    shown: String,
    timeout: Duration,
    /// A failed call leaves its steps unscored (with the reason) instead of failing.
    tolerant: bool,
}

impl HttpVerifier {
    /// A verifier posting to `url`, waiting at most `timeout` for each whole reply.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, VerifyError> {
        let shown = redact(url.trim()).into_owned();
        let parsed = reqwest::Url::parse(url.trim()).map_err(|e| {
            VerifyError::Setup(format!("--verifier-url {}: not a URL ({e})", for_display(&shown, 200)))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(VerifyError::Setup(format!(
                "--verifier-url {}: expected an http:// or https:// URL",
                for_display(&shown, 200)
            )));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| VerifyError::Setup(format!("cannot set up an HTTP client: {e}")))?;
        Ok(Self { client, url: parsed, shown: for_display(&shown, 200), timeout, tolerant: false })
    }

    /// The same verifier, but a failed call (unreachable, a timeout, a bad reply) leaves
    /// each of its steps unscored, the reason naming the URL: for runs, which go on
    /// without the scores. `ttc verifier eval` keeps the failure, to stop and say so.
    pub fn leaving_failures_unscored(mut self) -> Self {
        self.tolerant = true;
        self
    }

    /// The URL as it may be shown: credentials hidden.
    pub fn shown_url(&self) -> &str {
        &self.shown
    }

    fn fail(&self, what: impl std::fmt::Display) -> VerifyError {
        VerifyError::Setup(format!("the http verifier at {}: {what}", self.shown))
    }

    async fn ask(&self, problem: &str, steps: &[String]) -> Result<Vec<Option<f64>>, VerifyError> {
        let body = json!({ "problem": problem, "steps": steps });
        let reply = self
            .client
            .post(self.url.clone())
            .json(&body)
            .send()
            .await
            .map_err(|e| self.fail(format!("cannot reach it ({})", chain(e))))?;
        let status = reply.status();
        let text =
            reply.text().await.map_err(|e| self.fail(format!("the reply broke off ({})", chain(e))))?;
        if !status.is_success() {
            return Err(self.fail(format!("HTTP {status}: {}", for_display(text.trim(), BODY_CHARS))));
        }
        parse_scores(&text, steps.len()).map_err(|e| self.fail(e))
    }
}

/// An error and its causes in one line, without the request URL (which may hold credentials).
fn chain(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut s = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(c) = source {
        s.push_str(": ");
        s.push_str(&c.to_string());
        source = c.source();
    }
    for_display(&s, BODY_CHARS)
}

/// The scores of a reply body for `steps` steps.
pub fn parse_scores(body: &str, steps: usize) -> Result<Vec<Option<f64>>, String> {
    let quote = || for_display(body.trim(), BODY_CHARS);
    let v: Value =
        serde_json::from_str(body).map_err(|e| format!("the reply is not JSON ({e}): {}", quote()))?;
    let Some(list) = v.get("scores").and_then(Value::as_array) else {
        return Err(format!("the reply has no \"scores\" list: {}", quote()));
    };
    if list.len() != steps {
        return Err(format!("sent {steps} steps but got {} scores", list.len()));
    }
    list.iter()
        .enumerate()
        .map(|(k, s)| match s {
            Value::Null => Ok(None),
            Value::Number(n) => match n.as_f64() {
                Some(x) if (0.0..=1.0).contains(&x) => Ok(Some(x)),
                _ => Err(format!("the score of step {k} is {n}, outside [0, 1]")),
            },
            other => Err(format!(
                "the score of step {k} is {}, not a number or null",
                for_display(&other.to_string(), 60)
            )),
        })
        .collect()
}

#[async_trait]
impl Verifier for HttpVerifier {
    fn name(&self) -> String {
        format!("http {}", self.shown)
    }

    async fn score(
        &self,
        req: ScoreRequest<'_>,
        cancel: CancellationToken,
    ) -> Result<Vec<StepScore>, VerifyError> {
        let start = req.start.min(req.steps.len());
        let ask = tokio::time::timeout(self.timeout, self.ask(&req.problem.text, req.steps));
        let asked = tokio::select! {
            _ = cancel.cancelled() => return Err(VerifyError::Cancelled),
            r = ask => r.map_err(|_| self.fail(format!("no reply within {:.1} s", self.timeout.as_secs_f64()))).and_then(|r| r),
        };
        let scores = match asked {
            Ok(scores) => scores,
            Err(VerifyError::Setup(why)) if self.tolerant => {
                return Ok((start..req.steps.len())
                    .map(|k| {
                        let requests = u64::from(k == start);
                        StepScore::unscored(
                            why.clone(),
                            StepDetail::None,
                            Usage { requests, ..Usage::default() },
                        )
                    })
                    .collect())
            }
            Err(e) => return Err(e),
        };
        Ok(scores[start..]
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let usage = if i == 0 { Usage { requests: 1, ..Usage::default() } } else { Usage::default() };
                match s {
                    Some(p) => StepScore::scored(*p, StepDetail::None, usage),
                    None => StepScore::unscored(
                        "the http verifier left this step unscored",
                        StepDetail::None,
                        usage,
                    ),
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_checked() {
        assert_eq!(
            parse_scores(r#"{"scores":[0.9,null,0,1]}"#, 4),
            Ok(vec![Some(0.9), None, Some(0.0), Some(1.0)])
        );
        assert!(parse_scores(r#"{"scores":[0.9]}"#, 2)
            .unwrap_err()
            .contains("sent 2 steps but got 1 scores"));
        assert!(parse_scores(r#"{"scores":[1.5]}"#, 1)
            .unwrap_err()
            .contains("step 0 is 1.5, outside [0, 1]"));
        assert!(parse_scores(r#"{"scores":[-0.1]}"#, 1).unwrap_err().contains("outside"));
        assert!(parse_scores(r#"{"scores":["0.5"]}"#, 1).unwrap_err().contains("not a number or null"));
        assert!(parse_scores(r#"{"score":[0.5]}"#, 1).unwrap_err().contains("no \"scores\" list"));
        assert!(parse_scores("<html>oops</html>", 1).unwrap_err().contains("not JSON"));
    }

    #[test]
    fn a_url_is_checked_and_shown_without_credentials() {
        let v = HttpVerifier::new("http://me:secret@127.0.0.1:9/score", DEFAULT_TIMEOUT).unwrap();
        assert_eq!(v.shown_url(), "http://***@127.0.0.1:9/score");
        assert!(!v.name().contains("secret"));
        let Err(VerifyError::Setup(e)) = HttpVerifier::new("ftp://h/x", DEFAULT_TIMEOUT) else { panic!() };
        assert!(e.contains("http:// or https://"), "{e}");
        assert!(HttpVerifier::new("not a url", DEFAULT_TIMEOUT).is_err());
    }

    #[tokio::test]
    async fn in_a_run_a_failed_call_leaves_the_steps_unscored() {
        let problem = crate::problem::Problem::inline("p", None);
        let steps: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let req =
            ScoreRequest { problem: &problem, steps: &steps, start: 1, finished: false, logprobs: None };
        let url = "http://me:secret@127.0.0.1:1/score";
        let strict = HttpVerifier::new(url, Duration::from_secs(5)).unwrap();
        let Err(VerifyError::Setup(e)) = strict.score(req, CancellationToken::new()).await else { panic!() };
        assert!(e.contains("cannot reach it"), "{e}");
        let lenient = HttpVerifier::new(url, Duration::from_secs(5)).unwrap().leaving_failures_unscored();
        let out = lenient.score(req, CancellationToken::new()).await.unwrap();
        assert_eq!(out.len(), 2);
        for s in &out {
            let why = s.unscored.as_deref().unwrap();
            assert!(
                s.score.is_none() && why.starts_with("the http verifier at http://***@127.0.0.1:1/score"),
                "{why}"
            );
            assert!(!why.contains("secret"), "{why}");
        }
        assert_eq!((out[0].usage.requests, out[1].usage.requests), (1, 0));
    }
}

//! Where models run: the choice of backend (with the embedded model as the fallback of
//! `auto`), and the generator and verifier built on it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{read_file, Backend, Failure};
use crate::model::ollama::OllamaClient;
use crate::model::openai::OpenAiClient;
use crate::model::Generator;
use crate::safe::redact;
use crate::strategy::VerifierKind;
use crate::verify::{
    ArithVerifier, HttpVerifier, JudgeTemplate, JudgeVerifier, NoVerifier, OracleVerifier, Verifier,
};

/// The embedded pocket model, loaded once.
pub fn embedded_pocket() -> Result<Arc<crate::pocket::Pocket>, Failure> {
    crate::pocket::Pocket::embedded()
        .map_err(|e| Failure::new(format!("cannot load the embedded model: {e:#}")))
}

/// Resolve `auto`: Ollama when it answers within
/// [`AUTO_PROBE_TIMEOUT`](crate::model::ollama::AUTO_PROBE_TIMEOUT) (2.5 s, or the stall timeout
/// when shorter), else the embedded model. When `say`, the reason for a fallback and any
/// plain-HTTP warning ([`OllamaClient::transport_warning`]) go to stderr, once per process.
pub async fn choose_backend(backend: Backend, client: &OllamaClient, say: bool) -> Result<Backend, Failure> {
    static WARNED: std::sync::Once = std::sync::Once::new();
    let (chosen, why) = probe_backend(backend, client).await?;
    if say {
        if let Some(why) = why {
            eprintln!("ttc: {why}. Start `ollama serve` or pass --host to use your own models");
        }
        if chosen == Backend::Ollama {
            if let Some(w) = client.transport_warning() {
                WARNED.call_once(|| eprintln!("ttc: warning: {w}"));
            }
        }
    }
    Ok(chosen)
}

/// [`choose_backend`] without printing: the backend, and for a fallback from `auto` to the
/// embedded model the reason in words (the host redacted, the server's text made safe).
pub async fn probe_backend(
    backend: Backend,
    client: &OllamaClient,
) -> Result<(Backend, Option<String>), Failure> {
    use crate::model::ollama::AUTO_PROBE_TIMEOUT;
    use crate::model::GenError;
    match backend {
        Backend::Auto => match client.version_within(AUTO_PROBE_TIMEOUT).await {
            Ok(_) => Ok((Backend::Ollama, None)),
            Err(e @ (GenError::Unreachable { .. } | GenError::NoAnswer { .. })) => {
                let why = match &e {
                    GenError::NoAnswer { secs, .. } => format!("it did not answer within {secs:.1} s"),
                    GenError::Unreachable { detail, .. } => crate::safe::for_display(detail, 200),
                    _ => e.to_string(),
                };
                let reason = format!(
                    "no Ollama server at {} ({why}); using the embedded pocket model (arithmetic chains)",
                    client.host()
                );
                Ok((Backend::Pocket, Some(reason)))
            }
            Err(e) => Err(e.into()),
        },
        b => Ok((b, None)),
    }
}

/// What a verifier is built from besides its kind: the judge's model and template, the
/// `http` verifier's endpoint. [`super::Launch::verifier_settings`] fills it from the flags,
/// the environment and the config; `ttc verifier eval` from its own flags.
#[derive(Clone, Default)]
pub struct VerifierSettings {
    /// The judge's model, when it differs from the policy model.
    pub judge_model: Option<String>,
    /// `--judge-template`.
    pub judge_template: Option<PathBuf>,
    /// The `http` verifier's endpoint (it may hold credentials: never print it unredacted).
    pub url: Option<String>,
    /// The `http` verifier's wait for a reply.
    pub http_timeout: Option<Duration>,
    /// Whether a failed `http` call leaves its steps unscored (runs) instead of failing (the lab).
    pub http_unscored_on_failure: bool,
    /// The `confidence` verifier's tokens per group (the run's `confidence_window`).
    pub confidence_window: Option<u32>,
}

/// Build the verifier a run asks for. The judge uses `settings.judge_model` when it
/// differs from the policy model (`policy`, absent where nothing generates: the lab);
/// `say` prints a note when it must sample.
pub async fn build_verifier(
    kind: VerifierKind,
    client: Option<&OllamaClient>,
    policy: Option<Arc<dyn Generator>>,
    settings: &VerifierSettings,
    say: bool,
) -> Result<Arc<dyn Verifier>, Failure> {
    Ok(match kind {
        VerifierKind::Arith => Arc::new(ArithVerifier),
        VerifierKind::Oracle => Arc::new(OracleVerifier),
        VerifierKind::None => Arc::new(NoVerifier),
        VerifierKind::Prm => Arc::new(crate::pocket::PocketPrm::new(embedded_pocket()?)),
        VerifierKind::Confidence => {
            use crate::verify::confidence::{ConfidenceVerifier, DEFAULT_WINDOW, NO_LOGPROBS};
            // Without a policy (the lab, rescoring) there is nothing generated to read.
            let has = policy.as_ref().is_some_and(|p| p.info().logprobs);
            if say && policy.is_some() && !has {
                eprintln!("ttc: note: {NO_LOGPROBS}; every step stays unscored and selection falls back to majority voting");
            }
            Arc::new(ConfidenceVerifier::new(settings.confidence_window.unwrap_or(DEFAULT_WINDOW), has))
        }
        VerifierKind::Http => {
            let Some(url) = settings.url.as_deref().filter(|u| !u.trim().is_empty()) else {
                return Err(Failure::new(
                    "--verifier http needs --verifier-url URL (or TTC_VERIFIER_URL, or verifier_url in the config file)",
                ));
            };
            let timeout = settings.http_timeout.unwrap_or(crate::verify::http::DEFAULT_TIMEOUT);
            let v = HttpVerifier::new(url, timeout).map_err(|e| Failure::new(e.to_string()))?;
            if settings.http_unscored_on_failure {
                Arc::new(v.leaving_failures_unscored())
            } else {
                Arc::new(v)
            }
        }
        VerifierKind::Judge => {
            let template = match &settings.judge_template {
                Some(p) => JudgeTemplate::parse(&read_file(p, "judge template")?, &p.display().to_string())?,
                None => JudgeTemplate::bundled(),
            };
            let judge: Arc<dyn Generator> = match (settings.judge_model.as_deref(), policy) {
                (Some(m), Some(p)) if p.info().model == m => p,
                (None, Some(p)) => p,
                (Some(m), _) => {
                    let Some(client) = client else {
                        return Err(Failure::new(
                            "the judge verifier asks an Ollama model; with the embedded model use --verifier prm or arith",
                        ));
                    };
                    client.show(m).await?;
                    Arc::new(client.generator(m).await?)
                }
                (None, None) => {
                    return Err(Failure::new("the judge verifier needs a model: pass --verifier-model"))
                }
            };
            let info = judge.info();
            if info.backend == "pocket" {
                return Err(Failure::new(
                    "the judge verifier asks a server's model; with the embedded model use --verifier prm or arith",
                ));
            }
            if say && !info.logprobs {
                eprintln!(
                    "ttc: note: the server at {} returns no logprobs (Ollama 0.12.11 or newer does); the judge samples {} verdicts per step instead",
                    redact(&info.location),
                    template.samples
                );
            }
            Arc::new(JudgeVerifier::new(judge, template))
        }
    })
}

/// The first model the server lists.
pub async fn default_model(client: &OllamaClient) -> Result<String, Failure> {
    let models = client.list_models().await?;
    models.into_iter().next().map(|m| m.name).ok_or_else(|| {
        Failure::new(format!(
            "no models are installed on {}. Pull one with `ollama pull qwen2.5:1.5b`, then pass --model",
            redact(client.host())
        ))
    })
}

/// The first model an OpenAI-compatible server lists (`/v1/models`).
pub async fn default_openai_model(client: &OpenAiClient) -> Result<String, Failure> {
    let models = client.list_models().await?;
    models.into_iter().next().ok_or_else(|| {
        Failure::new(format!("the server at {} lists no models; pass --model", redact(client.host())))
    })
}

/// Where a run's models run, once chosen: the embedded model, the Ollama server of `client`,
/// or the OpenAI-compatible server of `openai`.
#[derive(Clone)]
pub struct Site {
    /// [`Backend::Ollama`], [`Backend::Pocket`] or [`Backend::Openai`]; `auto` is resolved
    /// before a site exists.
    pub backend: Backend,
    /// The Ollama server (unused on the embedded model, and for warnings only).
    pub client: OllamaClient,
    /// The OpenAI-compatible server, on [`Backend::Openai`] (see [`Site::openai`]).
    pub openai: Option<OpenAiClient>,
    /// The other hosts of a pool (`--host` repeated, `[[hosts]]` in the config), each a
    /// site of one server; empty for one host. See [`crate::model::pool`].
    pub others: Vec<Site>,
}

impl Site {
    /// A site on `backend`; `auto` counts as Ollama (resolve it first with [`probe_backend`]).
    /// [`Backend::Openai`] needs [`Site::openai`]: here it has no server and fails to build a
    /// generator.
    pub fn new(backend: Backend, client: OllamaClient) -> Self {
        let backend = match backend {
            Backend::Pocket | Backend::Openai => backend,
            _ => Backend::Ollama,
        };
        Self { backend, client, openai: None, others: Vec::new() }
    }

    /// A site on the OpenAI-compatible server of `openai` (`client` is kept for the callers
    /// that show an Ollama host; nothing is sent to it).
    pub fn openai(openai: OpenAiClient, client: OllamaClient) -> Self {
        Self { backend: Backend::Openai, client, openai: Some(openai), others: Vec::new() }
    }

    /// Whether models run on the embedded model.
    pub fn is_pocket(&self) -> bool {
        self.backend == Backend::Pocket
    }

    /// The Ollama server, when models run on one.
    pub fn server(&self) -> Option<&OllamaClient> {
        (self.backend == Backend::Ollama).then_some(&self.client)
    }

    /// The policy model when none is named: nothing on the embedded model, else the first
    /// model the server lists.
    pub async fn default_model(&self) -> Result<String, Failure> {
        match (self.backend, self.server(), &self.openai) {
            (Backend::Openai, _, Some(o)) => default_openai_model(o).await,
            (Backend::Openai, _, None) => Err(no_openai()),
            (_, Some(client), _) => default_model(client).await,
            _ => Ok(String::new()),
        }
    }

    /// The policy generator: the embedded model, or `model` on the server (checked to exist
    /// on Ollama; on an OpenAI-compatible server the list is fetched, so an unreachable
    /// server or a refused key is said here).
    ///
    /// With [`Site::others`] the generator is a [`crate::model::pool::Pool`] of every host
    /// that answers now (a host that does not is left out with a warning; the call fails only
    /// when none answers).
    pub async fn generator(&self, model: &str) -> Result<Arc<dyn Generator>, Failure> {
        if self.others.is_empty() {
            return self.one_generator(model).await;
        }
        let mut members = Vec::new();
        let mut first_error = None;
        for site in std::iter::once(self).chain(self.others.iter()) {
            let label = crate::safe::redact_host(site.host());
            match site.one_generator(model).await {
                Ok(g) => members.push(crate::model::pool::Member::new(label, g)),
                Err(e) => {
                    tracing::warn!(
                        "host {label} left out of the pool: {}",
                        crate::safe::for_display(&e.message, 300)
                    );
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) if members.is_empty() => Err(e),
            _ => Ok(Arc::new(crate::model::pool::Pool::new(members))),
        }
    }

    /// The server this site talks to (the Ollama host on the embedded model).
    pub fn host(&self) -> &str {
        match (&self.openai, self.backend) {
            (Some(o), Backend::Openai) => o.host(),
            _ => self.client.host(),
        }
    }

    /// The models the site's server lists (`/api/tags` on Ollama, `/v1/models` on an
    /// OpenAI-compatible server); the embedded model lists nothing.
    pub async fn list_models(&self) -> Result<Vec<String>, Failure> {
        match (self.backend, self.server(), &self.openai) {
            (Backend::Openai, _, Some(o)) => Ok(o.list_models().await?),
            (Backend::Openai, _, None) => Err(no_openai()),
            (_, Some(client), _) => Ok(client.list_models().await?.into_iter().map(|m| m.name).collect()),
            _ => Ok(Vec::new()),
        }
    }

    /// The generator of this one host (the pool's members are built by it).
    async fn one_generator(&self, model: &str) -> Result<Arc<dyn Generator>, Failure> {
        if self.backend == Backend::Openai {
            let Some(o) = &self.openai else { return Err(no_openai()) };
            return Ok(Arc::new(o.generator(model).await?));
        }
        match self.server() {
            None => Ok(Arc::new(crate::pocket::PocketGenerator::new(embedded_pocket()?))),
            Some(client) => {
                let generator = client.generator(model).await?;
                client.show(model).await?;
                Ok(Arc::new(generator))
            }
        }
    }

    /// The judge's generator when it is not the policy model: `model` on the site's server.
    /// `None` where [`build_verifier`] builds it (Ollama) or there is no server.
    pub fn judge_generator(&self, model: &str) -> Option<Arc<dyn Generator>> {
        let o = self.openai.as_ref().filter(|_| self.backend == Backend::Openai)?;
        Some(Arc::new(o.generator_unchecked(model)))
    }
}

/// A command that builds its site without the OpenAI-compatible client.
fn no_openai() -> Failure {
    Failure::new("this command cannot use --backend openai yet; `ttc run --backend openai` can")
}

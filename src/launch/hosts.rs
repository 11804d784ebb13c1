//! A pool of hosts from the settings: `--host` repeated, else `[[hosts]]` in the config.

use super::{Backend, Failure, Resolved, Site};
use crate::config::{Config, HostBackend};
use crate::model::ollama::OllamaClient;
use crate::model::openai::{ApiKey, OpenAiClient};

/// One host of a pool, as the settings name it.
#[derive(Debug, Clone, PartialEq)]
pub struct HostSpec {
    /// The server's base URL (it may hold credentials: show it only redacted).
    pub url: String,
    /// Its kind; `None`: the kind `--backend` names.
    pub backend: Option<HostBackend>,
    /// Its concurrency limit; `None`: `--concurrency` (or `concurrency`, or the default).
    pub concurrency: Option<usize>,
    /// The variable holding its API key; `None`: the run's key (see [`key_for`]).
    pub api_key_env: Option<String>,
}

/// The API key sent to `spec`: from its `api_key_env` variable when it names one (none when
/// the name is blank or the variable unset or blank), else the run's `key`.
pub fn key_for(spec: &HostSpec, key: &Option<ApiKey>) -> Option<ApiKey> {
    match spec.api_key_env.as_deref().map(str::trim) {
        None => key.clone(),
        Some("") => None,
        Some(var) => std::env::var(var).ok().and_then(ApiKey::new),
    }
}

/// The pool the settings name: every `--host` when there are several, else the `[[hosts]]`
/// of the config when no `--host` is given; empty (one host) otherwise.
pub fn pool_specs(flags: &[String], config: &Config) -> Vec<HostSpec> {
    let flags: Vec<&String> = flags.iter().filter(|h| !h.trim().is_empty()).collect();
    match flags.len() {
        0 => config
            .hosts
            .iter()
            .filter(|h| !h.url.trim().is_empty())
            .map(|h| HostSpec {
                url: h.url.clone(),
                backend: h.backend,
                concurrency: h.concurrency,
                api_key_env: h.api_key_env.clone(),
            })
            .collect(),
        1 => Vec::new(),
        _ => flags
            .into_iter()
            .map(|u| HostSpec { url: u.clone(), backend: None, concurrency: None, api_key_env: None })
            .collect(),
    }
}

/// The kind of server `spec` is on a run whose backend is `backend`.
pub fn kind_of(spec: &HostSpec, backend: Backend) -> HostBackend {
    spec.backend.unwrap_or(if backend == Backend::Openai { HostBackend::Openai } else { HostBackend::Ollama })
}

/// The first host of `pool` that is an Ollama server on a run whose backend is `backend`:
/// the one `auto` asks whether Ollama answers.
pub fn first_ollama(pool: &[HostSpec], backend: Backend) -> Option<&HostSpec> {
    pool.iter().find(|h| kind_of(h, backend) == HostBackend::Ollama)
}

/// The site of a pool: the first host, with the others in [`Site::others`]. Each host gets
/// its own client and so its own concurrency limit.
pub fn pool_site(resolved: &Resolved, backend: Backend, client: OllamaClient) -> Result<Site, Failure> {
    let mut sites = Vec::new();
    for spec in &resolved.pool {
        let mut settings = resolved.settings.clone();
        if let Some(c) = spec.concurrency {
            settings.concurrency = c;
        }
        sites.push(match kind_of(spec, backend) {
            HostBackend::Ollama => Site::new(Backend::Ollama, OllamaClient::new(&spec.url, settings)?),
            HostBackend::Openai => Site::openai(
                OpenAiClient::new(&spec.url, settings, key_for(spec, &resolved.api_key))?,
                client.clone(),
            ),
        });
    }
    if sites.is_empty() {
        return Ok(Site::new(backend, client));
    }
    let mut first = sites.remove(0);
    first.others = sites;
    Ok(first)
}

/// The concurrency of every host together: what a bench keeps in flight to fill the pool.
pub fn total_concurrency(resolved: &Resolved) -> usize {
    if resolved.pool.is_empty() {
        return resolved.settings.concurrency;
    }
    resolved.pool.iter().map(|h| h.concurrency.unwrap_or(resolved.settings.concurrency)).sum()
}

/// The judge's generator for a command that generates nothing else (`ttc rescore`,
/// `ttc verifier eval`) with `--backend openai`: `model` (else the first model the server
/// lists) on the OpenAI-compatible server, or on the pool. Returns it with its model.
pub async fn openai_judge(
    resolved: &Resolved,
    model: Option<String>,
) -> Result<(std::sync::Arc<dyn crate::model::Generator>, String), Failure> {
    let client = resolved.client()?;
    let site = if resolved.pool.is_empty() {
        Site::openai(resolved.openai_client()?, client)
    } else {
        pool_site(resolved, Backend::Openai, client)?
    };
    let model = match model {
        Some(m) => m,
        None => site.default_model().await?,
    };
    Ok((site.generator(&model).await?, model))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_flags_make_a_pool_and_one_flag_overrides_the_config_list() {
        let config = Config::parse(
            "[[hosts]]\nurl = \"http://a:8000\"\nbackend = \"openai\"\nconcurrency = 16\n\n[[hosts]]\nurl = \"http://b:11434\"\n",
            "c.toml",
        )
        .unwrap();
        let from_config = pool_specs(&[], &config);
        assert_eq!(from_config.len(), 2);
        assert_eq!(from_config[0].backend, Some(HostBackend::Openai));
        assert_eq!(from_config[0].concurrency, Some(16));
        assert_eq!(kind_of(&from_config[1], Backend::Auto), HostBackend::Ollama);
        assert_eq!(kind_of(&from_config[1], Backend::Openai), HostBackend::Openai);
        assert!(pool_specs(&["http://c".into()], &config).is_empty());
        let flags = pool_specs(&["http://c".into(), "http://d".into()], &config);
        assert_eq!(flags.iter().map(|h| h.url.as_str()).collect::<Vec<_>>(), ["http://c", "http://d"]);
    }

    #[test]
    fn auto_with_a_pool_of_openai_servers_means_openai() {
        let all_openai = "[[hosts]]\nurl = \"http://127.0.0.1:8000\"\nbackend = \"openai\"\n\n[[hosts]]\nurl = \"http://127.0.0.1:8001\"\nbackend = \"openai\"\n";
        let l = crate::launch::tests::launch_with_config("pool-auto", all_openai, &[]);
        assert_eq!(l.resolved.pool.len(), 2);
        assert_eq!(l.backend(), Backend::Openai);
        let mixed = format!("{all_openai}\n[[hosts]]\nurl = \"http://127.0.0.1:11999\"\n");
        let l = crate::launch::tests::launch_with_config("pool-mixed", &mixed, &[]);
        assert_eq!(l.backend(), Backend::Auto);
        // `auto` asks the pool's Ollama host, wherever it is listed.
        assert_eq!(l.resolved.host, "http://127.0.0.1:11999");
        assert_eq!(total_concurrency(&l.resolved), 3 * l.resolved.settings.concurrency);
    }

    #[test]
    fn a_host_may_name_its_own_key_or_none() {
        let config = Config::parse(
            "[[hosts]]\nurl = \"http://a:8000\"\napi_key_env = \"\"\n\n[[hosts]]\nurl = \"http://b:8000\"\n\n[[hosts]]\nurl = \"http://c:8000\"\napi_key_env = \"TTC_TEST_SURELY_UNSET_KEY_VAR\"\n\n[[hosts]]\nurl = \"http://d:8000\"\napi_key_env = \"PATH\"\n",
            "c.toml",
        )
        .unwrap();
        let specs = pool_specs(&[], &config);
        let run_key = ApiKey::new("sk-run-key");
        assert_eq!(key_for(&specs[0], &run_key), None, "a blank name: no key");
        assert_eq!(key_for(&specs[1], &run_key), run_key, "no name: the run's key");
        assert_eq!(key_for(&specs[2], &run_key), None, "an unset variable: no key");
        let path = std::env::var("PATH").ok().and_then(ApiKey::new);
        assert_eq!(key_for(&specs[3], &run_key), path, "the variable's value");
    }

    #[test]
    fn a_bad_hosts_entry_is_refused_and_an_out_of_range_limit_dropped() {
        assert!(Config::parse("[[hosts]]\nurl = \"http://a\"\nbackend = \"tgi\"\n", "c.toml").is_err());
        assert!(Config::parse("[[hosts]]\nurl = \"http://a\"\nport = 1\n", "c.toml").is_err());
        let mut c = Config::parse("[[hosts]]\nurl = \"http://a\"\nconcurrency = 0\n", "c.toml").unwrap();
        let w = c.drop_out_of_range("c.toml");
        assert!(w[0].contains("hosts.concurrency = 0 is out of range (valid: 1..=256)"), "{w:?}");
        assert_eq!(c.hosts[0].concurrency, None);
    }
}

//! Configuration layers: built-in defaults → user `config.toml` → environment → command-line flags.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::spec::{Aggregation, SelectionRule, VerifierKind};

/// The valid ranges of run settings (they live with the run vocabulary in [`crate::spec`]).
pub use crate::spec::limits;

/// Settings a user may keep in `config.toml`. Every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Ollama server URL.
    pub host: Option<String>,
    /// Policy model used when `--model` is not given.
    pub model: Option<String>,
    /// Judge model used when `--verifier-model` is not given.
    pub verifier_model: Option<String>,
    /// The `http` verifier's endpoint when neither `--verifier-url` nor `TTC_VERIFIER_URL`
    /// gives one (it may hold credentials; ttc never prints them).
    pub verifier_url: Option<String>,
    /// Requests in flight at once per server.
    pub concurrency: Option<usize>,
    /// Seconds without data before a stream fails.
    pub stall_timeout_secs: Option<f64>,
    /// Samples of one prompt in one request on OpenAI-compatible servers (`n`).
    pub n_per_request: Option<usize>,
    /// Colour theme for the interactive view: a bundled name or a file in the themes dir.
    pub theme: Option<String>,
    /// Record every run as a trace in the data directory (`false` turns it off).
    pub trace: Option<bool>,
    /// The OpenAI-compatible server's base URL for `--backend openai`.
    pub openai_host: Option<String>,
    /// The API key sent to an OpenAI-compatible server when neither `TTC_API_KEY` nor
    /// `OPENAI_API_KEY` is set (never printed).
    pub api_key: Option<crate::model::openai::ApiKey>,
    /// A pool of hosts (`[[hosts]]` tables), used when `--host` is not given: each request
    /// goes to the least-loaded healthy one.
    pub hosts: Vec<HostEntry>,
    /// Defaults for runs.
    pub run: RunDefaults,
    /// Key remapping for the interactive view: `action = "key"` or `action = ["k1", "k2"]`.
    pub keys: std::collections::HashMap<String, OneOrMany>,
}

/// A string or a list of strings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    /// The values as a list.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// One host of a pool in `config.toml`: `[[hosts]]` with `url`, `backend`, `concurrency`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostEntry {
    /// The server's base URL (it may hold credentials; ttc never prints them).
    pub url: String,
    /// Its kind; absent: the kind `--backend` names (Ollama unless `--backend openai`).
    #[serde(default)]
    pub backend: Option<HostBackend>,
    /// Requests in flight at once there; absent: `concurrency` (`--concurrency`).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// The environment variable holding this host's API key (an OpenAI-compatible host);
    /// `""`, or a variable that is unset or blank: no key goes there. Absent: the key of
    /// `TTC_API_KEY` / `OPENAI_API_KEY` / `api_key`.
    #[serde(default)]
    pub api_key_env: Option<String>,
}

/// The kind of server a `[[hosts]]` entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostBackend {
    Ollama,
    Openai,
}

/// Run settings used when the command line does not give them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunDefaults {
    pub n: Option<usize>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    pub verifier: Option<VerifierKind>,
    pub aggregation: Option<Aggregation>,
    pub selection: Option<SelectionRule>,
    /// Adaptive-consistency's confidence.
    pub confidence: Option<f64>,
    /// Adaptive-consistency's samples per batch.
    pub batch: Option<usize>,
    /// Particle filtering's weight temperature T.
    pub particle_temp: Option<f64>,
    /// How particle filtering resamples.
    pub resample: Option<crate::spec::ResampleKind>,
    /// Particle filtering's ESS threshold (a fraction of N).
    pub ess_threshold: Option<f64>,
    /// Tokens per group of the `confidence` verifier.
    pub confidence_window: Option<u32>,
    /// The `confidence` verifier's online cut-off.
    pub confidence_cutoff: Option<f64>,
}

/// A config file that could not be used; the defaults apply instead.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigWarning(pub String);

impl std::fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where ttc keeps its files.
pub fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "ttc")
}

/// Where user themes live (`<config dir>/themes/NAME.toml`).
pub fn themes_dir() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().join("themes"))
}

/// Where ttc keeps state between sessions (last model) and its log file.
pub fn data_dir() -> Option<PathBuf> {
    project_dirs().map(|d| d.data_dir().to_path_buf())
}

/// The user's config file path (it may not exist).
pub fn default_config_path() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().join("config.toml"))
}

impl Config {
    /// Parse config text; errors name `origin` and the offending key. Sizes are not checked
    /// here: see [`Config::drop_out_of_range`].
    pub fn parse(text: &str, origin: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| {
            let place = e.span().map(|s| line_of(text, s.start)).map(|l| format!(":{l}")).unwrap_or_default();
            format!("{origin}{place}: {}", e.message().trim())
        })
    }

    /// Drop every size outside its [`limits`] range, so the default applies to that key
    /// alone, and say so: `"ORIGIN: KEY = VALUE is out of range (valid: A..=B); using the default"`.
    pub fn drop_out_of_range(&mut self, origin: &str) -> Vec<String> {
        fn keep<T: PartialOrd + std::fmt::Display + Copy>(
            slot: &mut Option<T>,
            key: &str,
            range: &std::ops::RangeInclusive<T>,
            origin: &str,
            out: &mut Vec<String>,
        ) {
            if let Some(v) = *slot {
                if let Err(e) = limits::check(key, v, range) {
                    out.push(format!("{origin}: {e}; using the default"));
                    *slot = None;
                }
            }
        }
        let mut out = Vec::new();
        keep(&mut self.concurrency, "concurrency", &limits::CONCURRENCY, origin, &mut out);
        keep(&mut self.n_per_request, "n_per_request", &limits::N_PER_REQUEST, origin, &mut out);
        keep(&mut self.run.n, "run.n", &limits::N, origin, &mut out);
        for h in &mut self.hosts {
            keep(&mut h.concurrency, "hosts.concurrency", &limits::CONCURRENCY, origin, &mut out);
        }
        keep(&mut self.run.temperature, "run.temperature", &limits::TEMPERATURE, origin, &mut out);
        keep(&mut self.run.max_tokens, "run.max_tokens", &limits::MAX_TOKENS, origin, &mut out);
        keep(&mut self.run.confidence, "run.confidence", &limits::CONFIDENCE, origin, &mut out);
        keep(&mut self.run.batch, "run.batch", &limits::BATCH, origin, &mut out);
        keep(&mut self.run.particle_temp, "run.particle_temp", &limits::PARTICLE_TEMP, origin, &mut out);
        keep(&mut self.run.ess_threshold, "run.ess_threshold", &limits::ESS_THRESHOLD, origin, &mut out);
        keep(
            &mut self.run.confidence_window,
            "run.confidence_window",
            &limits::CONFIDENCE_WINDOW,
            origin,
            &mut out,
        );
        keep(
            &mut self.run.confidence_cutoff,
            "run.confidence_cutoff",
            &limits::CONFIDENCE_CUTOFF,
            origin,
            &mut out,
        );
        if let Some(s) = self.stall_timeout_secs.filter(|s| !limits::stall_timeout_ok(*s)) {
            out.push(format!(
                "{origin}: stall_timeout_secs = {s:?} is out of range (valid: more than 0, at most {}); using the default",
                limits::STALL_TIMEOUT_MAX_SECS
            ));
            self.stall_timeout_secs = None;
        }
        out
    }

    /// Load `path` (or the default location). A missing default file is not an
    /// error; a broken file yields the defaults and a warning naming the file and key.
    pub fn load(path: Option<&Path>) -> (Self, Vec<ConfigWarning>) {
        let (path, explicit) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => match default_config_path() {
                Some(p) => (p, false),
                None => return (Self::default(), Vec::new()),
            },
        };
        let origin = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => match Self::parse(&text, &origin) {
                Ok(mut c) => {
                    let warnings = c.drop_out_of_range(&origin).into_iter().map(ConfigWarning).collect();
                    (c, warnings)
                }
                Err(e) => {
                    (Self::default(), vec![ConfigWarning(format!("{e} — using the built-in defaults"))])
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => (Self::default(), Vec::new()),
            Err(e) => (
                Self::default(),
                vec![ConfigWarning(format!(
                    "cannot read config file {origin}: {e} — using the built-in defaults"
                ))],
            ),
        }
    }
}

/// The 1-based line holding `byte` (any byte offset, on a character boundary or not).
fn line_of(text: &str, byte: usize) -> usize {
    text.as_bytes()[..byte.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_config_parses() {
        let c = Config::parse(
            "host = \"http://gpu:11434\"\nmodel = \"qwen2.5:1.5b\"\nconcurrency = 8\n\n[run]\nn = 16\nverifier = \"judge\"\naggregation = \"min\"\nselection = \"majority\"\n",
            "c.toml",
        )
        .unwrap();
        assert_eq!(c.host.as_deref(), Some("http://gpu:11434"));
        assert_eq!(c.concurrency, Some(8));
        assert_eq!(c.run.n, Some(16));
        assert_eq!(c.run.verifier, Some(VerifierKind::Judge));
        assert_eq!(c.run.aggregation, Some(Aggregation::Min));
        assert_eq!(c.trace, None);
        assert_eq!(Config::parse("trace = false\n", "c.toml").unwrap().trace, Some(false));
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let e =
            Config::parse("host = \"x\"\nconcurrancy = 3\n", "/home/u/.config/ttc/config.toml").unwrap_err();
        assert!(e.starts_with("/home/u/.config/ttc/config.toml:2:"), "{e}");
        assert!(e.contains("concurrancy"), "{e}");
    }

    #[test]
    fn a_bad_value_is_named() {
        let e = Config::parse("[run]\nverifier = \"magic\"\n", "c.toml").unwrap_err();
        assert!(e.contains("c.toml:2") && e.contains("magic"), "{e}");
    }

    #[test]
    fn sizes_outside_the_limits_are_named_with_the_range() {
        let mut c = Config::parse("concurrency = 0\nstall_timeout_secs = 1e308\nhost = \"h\"\n[run]\nn = 100000\ntemperature = nan\nmax_tokens = 0\n", "c.toml").unwrap();
        let w = c.drop_out_of_range("c.toml");
        assert_eq!(
            w,
            [
                "c.toml: concurrency = 0 is out of range (valid: 1..=256); using the default",
                "c.toml: run.n = 100000 is out of range (valid: 1..=1024); using the default",
                "c.toml: run.temperature = NaN is out of range (valid: 0..=2); using the default",
                "c.toml: run.max_tokens = 0 is out of range (valid: 1..=131072); using the default",
                "c.toml: stall_timeout_secs = 1e308 is out of range (valid: more than 0, at most 86400); using the default",
            ]
        );
        // Only the bad keys fall back; the rest of the file still applies.
        assert_eq!((c.concurrency, c.run.n, c.stall_timeout_secs), (None, None, None));
        assert_eq!(c.host.as_deref(), Some("h"));
        assert!(limits::check("temperature", f32::NAN, &limits::TEMPERATURE).is_err());
        assert!(limits::check("width", 64, &limits::WIDTH).is_ok());
        assert!(limits::check("depth", 201, &limits::DEPTH).is_err());
        let mut ok =
            Config::parse("concurrency = 256\n[run]\nn = 1024\ntemperature = 0.0\n", "c.toml").unwrap();
        assert!(ok.drop_out_of_range("c.toml").is_empty());
        assert_eq!(ok.run.n, Some(1024));
    }

    #[test]
    fn consistency_keys_are_checked_against_their_limits() {
        let mut c = Config::parse("[run]\nconfidence = 0.3\nbatch = 65\n", "c.toml").unwrap();
        assert_eq!(
            c.drop_out_of_range("c.toml"),
            [
                "c.toml: run.confidence = 0.3 is out of range (valid: 0.5..=0.9999); using the default",
                "c.toml: run.batch = 65 is out of range (valid: 1..=64); using the default",
            ]
        );
        assert_eq!((c.run.confidence, c.run.batch), (None, None));
        let mut ok = Config::parse("[run]\nconfidence = 0.99\nbatch = 4\n", "c.toml").unwrap();
        assert!(ok.drop_out_of_range("c.toml").is_empty());
        assert_eq!((ok.run.confidence, ok.run.batch), (Some(0.99), Some(4)));
    }

    #[test]
    fn particle_and_confidence_keys_are_checked_against_their_limits() {
        let text = "[run]\nparticle_temp = 0.01\nresample = \"multinomial\"\ness_threshold = 1.5\nconfidence_window = 0\nconfidence_cutoff = -0.1\n";
        let mut c = Config::parse(text, "c.toml").unwrap();
        assert_eq!(
            c.drop_out_of_range("c.toml"),
            [
                "c.toml: run.particle_temp = 0.01 is out of range (valid: 0.05..=20); using the default",
                "c.toml: run.ess_threshold = 1.5 is out of range (valid: 0..=1); using the default",
                "c.toml: run.confidence_window = 0 is out of range (valid: 1..=4096); using the default",
                "c.toml: run.confidence_cutoff = -0.1 is out of range (valid: 0..=1); using the default",
            ]
        );
        // Each bad key falls back alone; the scheme still applies.
        let r = &c.run;
        assert_eq!(
            (r.particle_temp, r.ess_threshold, r.confidence_window, r.confidence_cutoff),
            (None, None, None, None)
        );
        assert_eq!(r.resample, Some(crate::spec::ResampleKind::Multinomial));
        let ok = "[run]\nparticle_temp = 0.5\ness_threshold = 0.5\nconfidence_window = 64\nconfidence_cutoff = 0.4\n";
        let mut ok = Config::parse(ok, "c.toml").unwrap();
        assert!(ok.drop_out_of_range("c.toml").is_empty());
        let r = &ok.run;
        assert_eq!(
            (r.particle_temp, r.ess_threshold, r.confidence_window, r.confidence_cutoff),
            (Some(0.5), Some(0.5), Some(64), Some(0.4))
        );
    }

    #[test]
    fn broken_files_fall_back_to_defaults_with_a_warning() {
        let dir = std::env::temp_dir().join(format!("ttc-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("config.toml");
        std::fs::write(&p, "concurrency = \"lots\"").unwrap();
        let (c, w) = Config::load(Some(&p));
        assert_eq!(c, Config::default());
        let w = &w[0].0;
        assert!(w.contains("config.toml") && w.contains("defaults"), "{w}");
        let (_, w) = Config::load(Some(&dir.join("missing.toml")));
        assert!(w[0].0.contains("cannot read config file"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn an_api_key_is_read_and_never_shown() {
        let c = Config::parse("api_key = \"sk-secret-1\"\nopenai_host = \"http://gpu:8000\"\n", "c.toml")
            .unwrap();
        assert_eq!(c.api_key, crate::model::openai::ApiKey::new("sk-secret-1"));
        assert_eq!(c.openai_host.as_deref(), Some("http://gpu:8000"));
        assert!(!format!("{c:?}").contains("secret"));
        for broken in
            ["api_key = sk-secret-1\n", "api_key = [\"sk-secret-1\"]\n", "api_key = \"sk-secret-1\n"]
        {
            let e = Config::parse(broken, "c.toml").unwrap_err();
            assert!(!e.contains("secret"), "{e}");
        }
    }
}

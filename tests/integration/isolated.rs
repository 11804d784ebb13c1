//! The real binary run in a home of its own, for tests that read what it writes there:
//! config and data directories inside the home, none of the user's settings.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh home for one test (`ttc-<tag>-<pid>` in the temp directory).
pub fn home(tag: &str) -> PathBuf {
    let h = std::env::temp_dir().join(format!("ttc-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&h);
    std::fs::create_dir_all(&h).unwrap();
    h
}

/// Run `ttc` with `args` in `home`, isolated from the user's config and environment.
pub fn ttc(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ttc"))
        .args(args)
        .env_remove("OLLAMA_HOST")
        .env_remove("TTC_CONFIG")
        .env_remove("TTC_BACKEND")
        .env_remove("TTC_VERIFIER_URL")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .output()
        .unwrap()
}

/// Its standard output, after checking that it exited 0 (its stderr shown when not).
pub fn ok(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

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

/// The variables that choose servers, keys or a config file: a test sets those it wants.
const CHOOSERS: [&str; 8] = [
    "OLLAMA_HOST",
    "TTC_CONFIG",
    "TTC_BACKEND",
    "TTC_VERIFIER_URL",
    "TTC_OPENAI_HOST",
    "TTC_API_KEY",
    "OPENAI_API_KEY",
    "TTC_LOG",
];

/// The `ttc` binary to run in `home`, isolated from the user's config and environment (add
/// arguments and variables, then run it).
pub fn command(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ttc"));
    for var in CHOOSERS {
        cmd.env_remove(var);
    }
    cmd.env("HOME", home).env("XDG_CONFIG_HOME", home.join("config")).env("XDG_DATA_HOME", home.join("data"));
    cmd
}

/// Run `ttc` with `args` in `home`, isolated from the user's config and environment.
pub fn ttc(home: &Path, args: &[&str]) -> Output {
    command(home).args(args).output().unwrap()
}

/// Its standard output, after checking that it exited 0 (its stderr shown when not).
pub fn ok(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

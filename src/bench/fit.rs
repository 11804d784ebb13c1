//! `ttc bench fit DIR --out policy.toml` (placeholder).

use std::path::Path;

/// Fit a policy from the bench in `dir` and write it to `out`.
pub fn fit(dir: &Path, out: &Path) -> Result<(), String> {
    let _ = (dir, out);
    Err("not built yet".into())
}

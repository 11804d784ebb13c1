//! `ttc bench report DIR` (placeholder).

use std::path::Path;

/// Write the report of the bench in `dir`.
pub fn report(dir: &Path) -> Result<(), String> {
    let _ = dir;
    Err("not built yet".into())
}

//! `ttc models`.

use std::process::ExitCode;

use super::{Failure, GlobalArgs};

/// List the server's models.
pub async fn models(global: &GlobalArgs, json: bool) -> Result<ExitCode, Failure> {
    let resolved = global.resolve();
    let client = resolved.client()?;
    let models = client.list_models().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&models)?);
    } else if models.is_empty() {
        eprintln!("no models are installed on {}. Pull one with `ollama pull qwen2.5:1.5b`", client.host());
    } else {
        let width = models.iter().map(|m| m.name.len()).max().unwrap_or(4).max(4);
        println!("{:width$}  {:>9}  MODIFIED", "NAME", "SIZE");
        for m in &models {
            println!("{:width$}  {:>9}  {}", m.name, human_size(m.size), m.modified_at);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

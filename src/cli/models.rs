//! `ttc models`.

use std::process::ExitCode;

use super::{Failure, GlobalArgs};
use crate::safe::for_display;

/// The longest model name shown in the table (longer ones are cut).
const MAX_NAME_CHARS: usize = 80;
/// The longest modification date shown.
const MAX_DATE_CHARS: usize = 40;

/// List the server's models.
pub async fn models(global: &GlobalArgs, json: bool) -> Result<ExitCode, Failure> {
    let resolved = global.resolve();
    if global.backend == crate::launch::Backend::Openai {
        return openai_models(&resolved, json).await;
    }
    let client = resolved.client()?;
    if let Some(w) = client.transport_warning() {
        eprintln!("ttc: warning: {w}");
    }
    let models = client.list_models().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&models)?);
    } else if models.is_empty() {
        eprintln!("no models are installed on {}. Pull one with `ollama pull qwen2.5:1.5b`", client.host());
    } else {
        // Names and dates come from the server: shown without escapes, and cut.
        let rows: Vec<(String, String)> = models
            .iter()
            .map(|m| (for_display(&m.name, MAX_NAME_CHARS), for_display(&m.modified_at, MAX_DATE_CHARS)))
            .collect();
        let width = rows.iter().map(|(n, _)| n.chars().count()).max().unwrap_or(4).max(4);
        println!("{:width$}  {:>9}  MODIFIED", "NAME", "SIZE");
        for ((name, modified), m) in rows.iter().zip(&models) {
            println!("{name:width$}  {:>9}  {modified}", human_size(m.size));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// List the models of the OpenAI-compatible server (`/v1/models`): names only, one a line.
async fn openai_models(resolved: &crate::launch::Resolved, json: bool) -> Result<ExitCode, Failure> {
    let client = resolved.openai_client()?;
    let models = client.list_models().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&models)?);
    } else if models.is_empty() {
        eprintln!("the server at {} lists no models", client.host());
    } else {
        for m in &models {
            println!("{}", for_display(m, MAX_NAME_CHARS));
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

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
    if !resolved.pool.is_empty() {
        return pool_models(&resolved, global.backend, json).await;
    }
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
        eprintln!(
            "the server at {} lists no models; serve one there, e.g. `vllm serve Qwen/Qwen2.5-1.5B-Instruct`",
            client.host()
        );
    } else {
        for m in &models {
            println!("{}", for_display(m, MAX_NAME_CHARS));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// List the models of every host of a pool: the union, each with the hosts that list it.
async fn pool_models(
    resolved: &crate::launch::Resolved,
    backend: crate::launch::Backend,
    json: bool,
) -> Result<ExitCode, Failure> {
    let listing = crate::launch::pool_models::list(resolved, backend).await?;
    for f in &listing.failed {
        eprintln!("ttc: warning: {}", for_display(f, 400));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&listing)?);
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", pool_table(&listing));
    if listing.models.is_empty() {
        eprintln!("no host of the pool lists a model");
    }
    Ok(ExitCode::SUCCESS)
}

/// The pool's hosts, numbered, then each model with the numbers of the hosts that list it.
fn pool_table(listing: &crate::launch::pool_models::PoolListing) -> String {
    let n = listing.hosts.len();
    let mut out = String::new();
    for (i, h) in listing.hosts.iter().enumerate() {
        out.push_str(&format!("host {} of {n}  {}\n", i + 1, for_display(h, MAX_NAME_CHARS)));
    }
    if listing.models.is_empty() {
        return out;
    }
    let names: Vec<String> = listing.models.iter().map(|m| for_display(&m.name, MAX_NAME_CHARS)).collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(4).max(4);
    out.push_str(&format!("\n{:width$}  HOSTS\n", "NAME"));
    for (name, m) in names.iter().zip(&listing.models) {
        let hosts: Vec<String> = m.hosts.iter().map(usize::to_string).collect();
        out.push_str(&format!("{name:width$}  {}\n", hosts.join(",")));
    }
    out
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

#[cfg(test)]
mod tests {
    use crate::launch::pool_models::{union, PoolListing};

    #[test]
    fn a_pool_table_numbers_the_hosts_and_lists_each_model_with_its_hosts() {
        let listing = PoolListing {
            hosts: vec!["http://***@a:8000".into(), "http://b:11434".into()],
            models: union(&[vec!["tiny-math".into()], vec!["tiny-math".into(), "qwen\x1b[2J".into()]]),
            failed: Vec::new(),
        };
        let t = super::pool_table(&listing);
        assert!(t.starts_with("host 1 of 2  http://***@a:8000\nhost 2 of 2  http://b:11434\n"), "{t}");
        assert!(t.contains("tiny-math  1,2\n"), "{t}");
        assert!(!t.contains('\x1b') && t.contains("qwen␛[2J"), "{t}");
    }
}

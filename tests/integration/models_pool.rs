//! `ttc models` on a pool of hosts: the union of every host's models, each with its hosts.

use std::time::Duration;

use super::openai_server::{OpenAiServer, ServerConfig};

async fn ttc(tag: &str, args: Vec<String>) -> std::process::Output {
    let home = super::isolated::home(&format!("models-pool-{tag}"));
    let run = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        super::isolated::ttc(&home, &args)
    });
    tokio::time::timeout(Duration::from_secs(60), run).await.expect("ttc finishes").unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn models_on_a_pool_lists_every_hosts_models_with_their_hosts() {
    let one =
        OpenAiServer::start(ServerConfig { models: vec!["tiny-math".into()], ..Default::default() }).await;
    let two = OpenAiServer::start(ServerConfig {
        models: vec!["tiny-math".into(), "only-on-two".into()],
        ..Default::default()
    })
    .await;
    let (url1, url2) = (one.url.clone(), two.url.clone());
    let args = |json: bool| {
        let mut a = vec!["models", "--backend", "openai", "--host", &url1, "--host", &url2];
        if json {
            a.push("--json");
        }
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let o = ttc("text", args(false)).await;
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains(&format!("host 1 of 2  {url1}")), "{out}");
    assert!(out.contains(&format!("host 2 of 2  {url2}")), "{out}");
    assert!(out.contains("tiny-math    1,2\n") && out.contains("only-on-two  2\n"), "{out}");
    let o = ttc("json", args(true)).await;
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["models"][0], serde_json::json!({"name": "tiny-math", "hosts": [1, 2]}));
    assert_eq!(v["models"][1], serde_json::json!({"name": "only-on-two", "hosts": [2]}));
    assert_eq!(v["hosts"].as_array().map(Vec::len), Some(2));
    // Credentials in a host never show.
    let secret = url1.replace("http://", "http://me:secret@");
    let o = ttc(
        "secret",
        ["models", "--backend", "openai", "--host", &secret, "--host", &url2].map(String::from).to_vec(),
    )
    .await;
    let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(!all.contains("secret") && all.contains("http://***@127.0.0.1"), "{all}");
    // A host that does not answer is named; the others are still listed.
    drop(two);
    let o = ttc("down", args(false)).await;
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("host 2 ("), "{err}");
    assert!(out.contains("tiny-math  1\n") && !out.contains("only-on-two"), "{out}");
}

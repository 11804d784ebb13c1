//! `--backend openai` beyond `ttc run` (bench, rescore, verifier eval with the judge) and a
//! pool of hosts (`--host` repeated): requests spread over the hosts, and a host killed
//! mid-run loses no candidate.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use ttc::event::Event;
use ttc::model::openai::OpenAiClient;
use ttc::model::pool::{Member, Pool};
use ttc::model::Generator;

use super::openai_server::{OpenAiServer, ServerConfig};

const PROCESSBENCH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/processbench_small.json");

/// Run `ttc` in a home of its own, off the runtime that serves the fake servers.
async fn ttc(tag: &str, args: &[&str]) -> (Output, PathBuf) {
    let home = super::isolated::home(&format!("pool-{tag}"));
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let h = home.clone();
    let run = tokio::task::spawn_blocking(move || super::isolated::command(&h).args(&args).output().unwrap());
    (tokio::time::timeout(Duration::from_secs(90), run).await.expect("ttc finishes").unwrap(), home)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn bench_args<'a>(hosts: &[&'a str], out: &'a str) -> Vec<&'a str> {
    let mut a = vec!["bench", "--backend", "openai"];
    for h in hosts {
        a.extend(["--host", h]);
    }
    a.extend([
        "--model",
        "tiny-math",
        "--dataset",
        "bundled:gsm8k",
        "--problems",
        "3",
        "--strategies",
        "best-of-n",
        "--budgets",
        "2,4",
        "--concurrency",
        "3",
        "--out",
        out,
    ]);
    a
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bench_runs_on_an_openai_server() {
    let server = OpenAiServer::start(ServerConfig::default()).await;
    let home = super::isolated::home("pool-bench-out");
    let out = home.join("bench");
    let (o, _) = ttc("bench", &bench_args(&[&server.url], out.to_str().unwrap())).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("bench.json")).unwrap()).unwrap();
    assert_eq!(config["backend"], "openai", "{config}");
    assert_eq!(config["model"], "tiny-math");
    let results = lines(&out.join("results.jsonl"));
    assert_eq!(results.len(), 6, "3 problems × 2 budgets");
    assert!(results.iter().all(|r| r["answer"].is_string()), "{results:?}");
    // 3 × (2 + 4) candidates, one streamed chat completion with `n` per problem and budget.
    let chats = server.bodies("/v1/chat/completions");
    assert_eq!(chats.len(), 6);
    let mut ns: Vec<u64> = chats.iter().map(|b| b["n"].as_u64().unwrap_or(1)).collect();
    ns.sort_unstable();
    assert_eq!(ns, [2, 2, 2, 4, 4, 4]);
    assert_eq!(config["n_per_request"], 8, "{config}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bench_spreads_its_requests_over_a_pool_of_hosts() {
    let (a, b) = (
        OpenAiServer::start(ServerConfig::default()).await,
        OpenAiServer::start(ServerConfig::default()).await,
    );
    let home = super::isolated::home("pool-bench2-out");
    let out = home.join("bench");
    let (o, _) = ttc("bench2", &bench_args(&[&a.url, &b.url], out.to_str().unwrap())).await;
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("a pool of 2 hosts, 6 requests at once in all"), "{err}");
    assert_eq!(lines(&out.join("results.jsonl")).len(), 6);
    let (on_a, on_b) = (a.bodies("/v1/chat/completions").len(), b.bodies("/v1/chat/completions").len());
    assert_eq!(on_a + on_b, 18);
    assert!(on_a > 0 && on_b > 0, "both hosts work: {on_a} + {on_b}");
}

#[tokio::test(flavor = "multi_thread")]
async fn rescore_and_verifier_eval_ask_the_judge_on_an_openai_server() {
    let server = OpenAiServer::start(ServerConfig::default()).await;
    let home = super::isolated::home("pool-judge-trace");
    let trace = home.join("run.jsonl");
    let t = trace.to_str().unwrap();
    let run = [
        "run",
        "--backend",
        "openai",
        "--host",
        &server.url,
        "--model",
        "tiny-math",
        "--problem",
        "What is 12 + 30?",
        "--gold",
        "42",
        "-n",
        "3",
        "--verifier",
        "arith",
        "--json",
        "--trace",
        t,
    ];
    let (o, _) = ttc("judge-run", &run).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let before = server.bodies("/v1/chat/completions").len();
    let rescore = [
        "rescore",
        t,
        "--backend",
        "openai",
        "--host",
        &server.url,
        "--verifier",
        "judge",
        "--verifier-model",
        "judge",
    ];
    let (o, _) = ttc("judge-rescore", &rescore).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let judged: Vec<Value> = server.bodies("/v1/chat/completions").into_iter().skip(before).collect();
    assert!(!judged.is_empty() && judged.iter().all(|b| b["model"] == "judge"), "{judged:?}");

    let out = home.join("eval");
    let eval = [
        "verifier",
        "eval",
        "--backend",
        "openai",
        "--host",
        &server.url,
        "--processbench",
        PROCESSBENCH,
        "--verifier",
        "judge",
        "--verifier-model",
        "judge",
        "--out",
        out.to_str().unwrap(),
    ];
    let (o, _) = ttc("judge-eval", &eval).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("0 unscored"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// A host that accepts connections and never answers, until it is killed: then every
/// connection it holds breaks before any text.
struct BlackHole {
    url: String,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl BlackHole {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((conn, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                held.push(conn);
            }
        });
        Self { url, accepted, task }
    }

    /// Drop the listener and every connection.
    fn kill(&self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_killed_mid_run_loses_no_candidate_and_shows_unhealthy() {
    let good = OpenAiServer::start(ServerConfig::default()).await;
    let hole = BlackHole::start().await;
    let settings = super::fast_settings();
    let client = |url: &str| OpenAiClient::new(url, settings.clone(), None).unwrap();
    // The hole is listed first: ties go to it, so it surely holds requests when it dies.
    let members = vec![
        Member::new(
            "hole",
            Arc::new(client(&hole.url).generator_unchecked("tiny-math")) as Arc<dyn Generator>,
        ),
        Member::new(
            "good",
            Arc::new(client(&good.url).generator_unchecked("tiny-math")) as Arc<dyn Generator>,
        ),
    ];
    let pool: Arc<dyn Generator> = Arc::new(Pool::new(members));
    let problem = ttc::problem::Problem::inline("What is 12 + 30?", Some("42".into()));
    let config = ttc::spec::RunConfig { n: 8, ..ttc::spec::RunConfig::default() };
    let mut handle = ttc::run::start(
        problem,
        config,
        pool,
        Arc::new(ttc::verify::ArithVerifier),
        ttc::run::SolvePrompt::bundled(),
    );
    let mut events = Vec::new();
    let mut killed = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if !killed && hole.accepted.load(Ordering::SeqCst) > 0 {
            hole.kill();
            killed = true;
        }
        let next = tokio::time::timeout_at(
            deadline,
            tokio::time::timeout(Duration::from_millis(20), handle.events.recv()),
        )
        .await
        .expect("the run ends");
        match next {
            Ok(Some(e)) => events.push(e),
            Ok(None) => break,
            Err(_) => {}
        }
    }
    assert!(killed, "the dead host was sent requests");
    let finished = events.iter().filter(|e| matches!(e, Event::NodeFinished { .. })).count();
    let failed: Vec<&Event> = events.iter().filter(|e| matches!(e, Event::NodeFailed { .. })).collect();
    assert_eq!((finished, failed.len()), (8, 0), "{failed:?}");
    assert!(
        events.iter().any(|e| matches!(e, Event::RunFinished { selected: Some(_), error: None, .. })),
        "the run selects an answer"
    );
    let unhealthy = events.iter().any(|e| match e {
        Event::Hosts { hosts } => hosts.iter().any(|h| h.host == "hole" && !h.healthy),
        _ => false,
    });
    assert!(unhealthy, "a hosts event shows the dead host unhealthy");
    assert_eq!(good.bodies("/v1/chat/completions").len(), 8, "every candidate ended on the live host");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_config_pool_mixes_an_openai_and_an_ollama_server() {
    let openai = OpenAiServer::start(ServerConfig::default()).await;
    let ollama = super::ollama_server::TestServer::start(super::ollama_server::ServerConfig::default()).await;
    let home = super::isolated::home("pool-config-file");
    let cfg = home.join("ttc.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[hosts]]\nurl = \"{}\"\nbackend = \"openai\"\nconcurrency = 2\n\n[[hosts]]\nurl = \"{}\"\nbackend = \"ollama\"\nconcurrency = 2\n",
            openai.url, ollama.url
        ),
    )
    .unwrap();
    // `auto` asks the Ollama host of the pool, finds it, and runs on both.
    let args = [
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--model",
        "tiny-math",
        "--problem",
        "What is 12 + 30?",
        "--gold",
        "42",
        "-n",
        "8",
        "--events",
    ];
    let (o, _) = ttc("config", &args).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (on_openai, on_ollama) = (openai.bodies("/v1/chat/completions").len(), ollama.chat_requests().len());
    assert_eq!(on_openai + on_ollama, 8);
    assert!(on_openai > 0 && on_ollama > 0, "{on_openai} + {on_ollama}");
    let events: Vec<Value> =
        String::from_utf8_lossy(&o.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let hosts = events.iter().find(|e| e["event"] == "hosts").expect("a hosts event");
    let limits: Vec<&Value> = hosts["hosts"].as_array().unwrap().iter().map(|h| &h["limit"]).collect();
    assert_eq!(limits, [2, 2], "{hosts}");
    assert!(events.iter().any(|e| e["event"] == "load" && e["limit"] == 4), "the summed load of the pool");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pool_never_shows_a_host_credential_or_the_key() {
    let (a, b) = (
        OpenAiServer::start(ServerConfig::default()).await,
        OpenAiServer::start(ServerConfig::default()).await,
    );
    let with_user = a.url.replace("http://", "http://me:HOSTSECRET@");
    let args = [
        "run",
        "--backend",
        "openai",
        "--host",
        &with_user,
        "--host",
        &b.url,
        "--model",
        "tiny-math",
        "--problem",
        "What is 12 + 30?",
        "-n",
        "4",
        "--events",
    ];
    let home = super::isolated::home("pool-secret-run");
    let run = {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            super::isolated::command(&home).args(&args).env("TTC_API_KEY", "sk-KEYSECRET").output().unwrap()
        })
    };
    let o = run.await.unwrap();
    let (out, err) = (String::from_utf8_lossy(&o.stdout).into_owned(), stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(out.contains("\"event\":\"hosts\"") && out.contains("***@127.0.0.1"), "{out}");
    for text in [&out, &err] {
        assert!(!text.contains("HOSTSECRET") && !text.contains("KEYSECRET"), "{text}");
    }
}

fn openai_member(label: &str, server: &OpenAiServer, model: &str) -> Member {
    let client = OpenAiClient::new(&server.url, super::fast_settings(), None).unwrap();
    Member::new(label, Arc::new(client.generator_unchecked(model)) as Arc<dyn Generator>)
}

/// Run best-of-`n` on `gen` and return every event.
async fn run_events(gen: Arc<dyn Generator>, n: usize) -> Vec<Event> {
    let problem = ttc::problem::Problem::inline("What is 12 + 30?", Some("42".into()));
    let config = ttc::spec::RunConfig { n, ..ttc::spec::RunConfig::default() };
    let mut handle = ttc::run::start(
        problem,
        config,
        gen,
        Arc::new(ttc::verify::ArithVerifier),
        ttc::run::SolvePrompt::bundled(),
    );
    let mut events = Vec::new();
    while let Some(e) =
        tokio::time::timeout(Duration::from_secs(60), handle.events.recv()).await.expect("the run ends")
    {
        events.push(e);
    }
    events
}

/// Each candidate's streamed text, by its seed.
fn texts_by_seed(events: &[Event]) -> std::collections::BTreeMap<i64, String> {
    let mut seeds = std::collections::HashMap::new();
    let mut texts = std::collections::BTreeMap::new();
    for e in events {
        match e {
            Event::NodeStarted { node, seed: Some(seed), .. } => {
                seeds.insert(*node, *seed);
                texts.insert(*seed, String::new());
            }
            Event::TextDelta { node, text } => {
                if let Some(t) = seeds.get(node).and_then(|s| texts.get_mut(s)) {
                    t.push_str(text);
                }
            }
            _ => {}
        }
    }
    texts
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_dropping_mid_stream_is_replayed_on_another_with_the_exact_multi_byte_text() {
    let dying =
        OpenAiServer::start(ServerConfig { drop_first: 1, drop_after: 3, ..ServerConfig::default() }).await;
    let good = OpenAiServer::start(ServerConfig::default()).await;
    // The dying host is listed first: ties go to it.
    let pool =
        Pool::new(vec![openai_member("dying", &dying, "unicode"), openai_member("good", &good, "unicode")]);
    let mut req = ttc::model::GenRequest::new(vec![ttc::model::Message::user("say something")]);
    req.options.seed = Some(5);
    let got = ttc::model::collect(&pool, req, tokio_util::sync::CancellationToken::new()).await.unwrap();
    assert_eq!(got.text, super::openai_server::UNICODE_TEXT);
    let (on_dying, on_good) = (dying.bodies("/v1/chat/completions"), good.bodies("/v1/chat/completions"));
    assert_eq!((on_dying.len(), on_good.len()), (1, 1));
    assert_eq!(on_dying[0], on_good[0], "the replay is the same request, seed and all");
    assert!(!pool.hosts_now()[0].healthy);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_dropping_every_stream_mid_answer_loses_no_candidate_and_changes_no_text() {
    // Reference: the same run on one healthy server.
    let reference = OpenAiServer::start(ServerConfig::default()).await;
    let alone: Arc<dyn Generator> = Arc::new(
        OpenAiClient::new(&reference.url, super::fast_settings(), None)
            .unwrap()
            .generator_unchecked("tiny-math"),
    );
    let expected = texts_by_seed(&run_events(alone, 8).await);
    assert_eq!(expected.len(), 8);

    let dying =
        OpenAiServer::start(ServerConfig { drop_first: 1000, drop_after: 4, ..ServerConfig::default() })
            .await;
    let good = OpenAiServer::start(ServerConfig::default()).await;
    let pool: Arc<dyn Generator> = Arc::new(Pool::new(vec![
        openai_member("dying", &dying, "tiny-math"),
        openai_member("good", &good, "tiny-math"),
    ]));
    let events = run_events(pool, 8).await;
    let finished = events.iter().filter(|e| matches!(e, Event::NodeFinished { .. })).count();
    let failed: Vec<&Event> = events.iter().filter(|e| matches!(e, Event::NodeFailed { .. })).collect();
    assert_eq!((finished, failed.len()), (8, 0), "{failed:?}");
    let on_dying = dying.bodies("/v1/chat/completions").len();
    assert!(on_dying > 0, "the dying host streamed part of some answers");
    assert_eq!(good.bodies("/v1/chat/completions").len(), 8, "every candidate ended on the live host");
    assert_eq!(texts_by_seed(&events), expected, "each text as if no host had failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pool_sends_samples_of_one_prompt_one_request_each() {
    let (a, b) = (
        OpenAiServer::start(ServerConfig::default()).await,
        OpenAiServer::start(ServerConfig::default()).await,
    );
    let pool =
        Arc::new(Pool::new(vec![openai_member("a", &a, "tiny-math"), openai_member("b", &b, "tiny-math")]));
    let id = ttc::model::SampleGroup::next_id();
    let tasks: Vec<_> = (0..4u32)
        .map(|i| {
            let pool = pool.clone();
            let mut req = ttc::model::GenRequest::new(vec![ttc::model::Message::user("What is 12 + 30?")]);
            req.options.seed = Some(i as i64);
            req.group = Some(ttc::model::SampleGroup { id, index: i, size: 4 });
            tokio::spawn(async move {
                ttc::model::collect(pool.as_ref(), req, tokio_util::sync::CancellationToken::new()).await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().expect("every sample finishes");
    }
    let bodies: Vec<_> =
        a.bodies("/v1/chat/completions").into_iter().chain(b.bodies("/v1/chat/completions")).collect();
    assert_eq!(bodies.len(), 4);
    assert!(bodies.iter().all(|b| b.get("n").is_none()), "{bodies:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_host_of_a_pool_gets_the_key_it_names_and_no_other() {
    let (a, b, c) = (
        OpenAiServer::start(ServerConfig::default()).await,
        OpenAiServer::start(ServerConfig::default()).await,
        OpenAiServer::start(ServerConfig::default()).await,
    );
    let home = super::isolated::home("pool-host-keys");
    let cfg = home.join("ttc.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[hosts]]\nurl = \"{}\"\napi_key_env = \"TTC_TEST_KEY_A\"\n\n[[hosts]]\nurl = \"{}\"\napi_key_env = \"\"\n\n[[hosts]]\nurl = \"{}\"\n",
            a.url, b.url, c.url
        ),
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap().to_string();
    let args = ["run", "--backend", "openai", "--model", "tiny-math", "--problem", "What is 12 + 30?"];
    let more = ["-n", "9", "--concurrency", "1", "--events", "--no-trace"];
    let o = tokio::task::spawn_blocking(move || {
        super::isolated::command(&home)
            .args(args)
            .args(more)
            .args(["--config", &cfg])
            .env("TTC_API_KEY", "sk-RUNKEY-1")
            .env("TTC_TEST_KEY_A", "sk-HOSTKEY-A")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let (out, err) = (String::from_utf8_lossy(&o.stdout).into_owned(), stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{err}");
    let auth = |s: &OpenAiServer| -> Vec<Option<String>> {
        s.requests()
            .into_iter()
            .filter(|r| r.path == "/v1/chat/completions")
            .map(|r| r.authorization)
            .collect()
    };
    let (on_a, on_b, on_c) = (auth(&a), auth(&b), auth(&c));
    assert!(!on_a.is_empty() && !on_b.is_empty() && !on_c.is_empty(), "{on_a:?} {on_b:?} {on_c:?}");
    assert!(on_a.iter().all(|k| k.as_deref() == Some("Bearer sk-HOSTKEY-A")), "{on_a:?}");
    assert!(on_b.iter().all(|k| k.is_none()), "{on_b:?}");
    assert!(on_c.iter().all(|k| k.as_deref() == Some("Bearer sk-RUNKEY-1")), "{on_c:?}");
    for text in [&out, &err] {
        assert!(!text.contains("HOSTKEY") && !text.contains("RUNKEY"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_judge_model_of_its_own_runs_on_the_pool_too() {
    // The first host does not answer: the judge, like the policy, runs on the one that does.
    let good = OpenAiServer::start(ServerConfig::default()).await;
    let dead = "http://127.0.0.1:1".to_string();
    let args = [
        "run",
        "--backend",
        "openai",
        "--host",
        &dead,
        "--host",
        &good.url,
        "--model",
        "tiny-math",
        "--verifier",
        "judge",
        "--verifier-model",
        "judge",
        "--problem",
        "What is 12 + 30?",
        "-n",
        "2",
        "--json",
        "--no-trace",
    ];
    let (o, _) = ttc("judge-pool", &args).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let scores: Vec<&Value> = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["steps"].as_array().unwrap())
        .map(|s| &s["verdict"]["score"])
        .collect();
    assert!(!scores.is_empty() && scores.iter().all(|s| s.is_number()), "{v}");
    assert!(good.bodies("/v1/chat/completions").iter().any(|b| b["model"] == "judge"));
}

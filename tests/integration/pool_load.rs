//! The pool's scheduling overhead under load, measured on demand (not part of the normal run):
//!
//! ```text
//! cargo test --test integration pool_load -- --ignored --nocapture
//! ```
//!
//! 1,000 concurrent streams over 4 in-process fake OpenAI-compatible servers (256 slots
//! each). The pool's own cost per request — choosing the host and handing the request to its
//! client — is timed apart from the server: from the call into the pool to the call into the
//! chosen host's generator. Printed, never asserted (a measurement, not a behaviour).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use ttc::model::openai::{OpenAiClient, ServerSettings};
use ttc::model::pool::{Member, Pool};
use ttc::model::{collect, ChunkStream, GenError, GenRequest, Generator, GeneratorInfo, Load, Message};

use super::openai_server::{OpenAiServer, ServerConfig};

/// A host's generator that notes when the pool handed it each request (by seed).
struct Timed {
    inner: Arc<dyn Generator>,
    arrived: Arc<Mutex<HashMap<i64, Instant>>>,
}

#[async_trait]
impl Generator for Timed {
    fn info(&self) -> GeneratorInfo {
        self.inner.info()
    }

    async fn generate(&self, req: GenRequest, cancel: CancellationToken) -> Result<ChunkStream, GenError> {
        let now = Instant::now();
        if let Some(seed) = req.options.seed {
            self.arrived.lock().unwrap().insert(seed, now);
        }
        self.inner.generate(req, cancel).await
    }

    fn load(&self) -> Option<tokio::sync::watch::Receiver<Load>> {
        self.inner.load()
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement; run with --ignored --nocapture"]
async fn scheduling_overhead_of_a_thousand_streams_over_four_hosts() {
    const HOSTS: usize = 4;
    const STREAMS: i64 = 1000;
    let mut servers = Vec::new();
    for _ in 0..HOSTS {
        servers.push(OpenAiServer::start(ServerConfig::default()).await);
    }
    let settings = ServerSettings {
        concurrency: 256,
        stall_timeout: Duration::from_secs(60),
        request_timeout: Duration::from_secs(60),
        ..super::fast_settings()
    };
    let arrived = Arc::new(Mutex::new(HashMap::new()));
    let members = servers
        .iter()
        .map(|s| {
            let g =
                OpenAiClient::new(&s.url, settings.clone(), None).unwrap().generator_unchecked("tiny-math");
            let timed = Timed { inner: Arc::new(g), arrived: arrived.clone() };
            Member::new(s.url.clone(), Arc::new(timed) as Arc<dyn Generator>)
        })
        .collect();
    let pool = Arc::new(Pool::new(members));
    let started_at = Arc::new(Mutex::new(HashMap::new()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for seed in 0..STREAMS {
        let (pool, started_at) = (pool.clone(), started_at.clone());
        tasks.push(tokio::spawn(async move {
            let mut req = GenRequest::new(vec![Message::user("What is 12 + 30?")]);
            req.options.seed = Some(seed);
            started_at.lock().unwrap().insert(seed, Instant::now());
            collect(pool.as_ref(), req, CancellationToken::new()).await
        }));
    }
    let mut ok = 0;
    let mut first_error = None;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let wall = started.elapsed();
    assert_eq!(ok, STREAMS, "{first_error:?}");
    let per_host: Vec<usize> = servers.iter().map(|s| s.bodies("/v1/chat/completions").len()).collect();
    assert_eq!(per_host.iter().sum::<usize>(), STREAMS as usize);
    let (started_at, arrived) = (started_at.lock().unwrap(), arrived.lock().unwrap());
    let mut overhead: Vec<f64> =
        (0..STREAMS).map(|s| (arrived[&s] - started_at[&s]).as_secs_f64() * 1e6).collect();
    overhead.sort_by(f64::total_cmp);
    let at = |q: f64| overhead[((overhead.len() - 1) as f64 * q) as usize];
    let mean = overhead.iter().sum::<f64>() / overhead.len() as f64;
    println!(
        "{STREAMS} concurrent streams over {HOSTS} hosts (requests per host {per_host:?}): {:.0} ms wall; pool choose+dispatch per request: mean {mean:.1} µs, median {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        wall.as_secs_f64() * 1e3,
        at(0.5),
        at(0.99),
        at(1.0),
    );
}

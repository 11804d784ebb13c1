//! Integration tests against a local server that speaks Ollama's wire protocol.

#[path = "../support/ollama_server.rs"]
mod ollama_server;
#[path = "../support/openai_server.rs"]
mod openai_server;
#[path = "../support/prm_server.rs"]
mod prm_server;

mod bench;
mod bench_view;
mod cli;
mod confidence;
mod consistency;
mod engine;
mod faults;
mod faults_cli;
mod http_run;
mod isolated;
mod lesson;
mod models_pool;
mod ollama;
mod openai;
mod openai_cli;
mod openai_load;
mod openai_n;
mod openai_real;
mod particles;
mod pool;
mod pool_load;
mod replay_view;
mod rescore;
mod search_pool;
mod step_tag;
mod throughput;
mod traces;
mod tui;
mod verifier_eval;
mod verifier_traces;
mod verifier_view;

use std::time::Duration;

use ollama_server::{ServerConfig, TestServer};
use ttc::model::ollama::{OllamaClient, OllamaSettings};

/// Settings that fail fast, for tests.
pub fn fast_settings() -> OllamaSettings {
    OllamaSettings {
        concurrency: 4,
        stall_timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(2),
        busy_retries: 3,
        busy_backoff: Duration::from_millis(5),
        n_per_request: ttc::model::ollama::DEFAULT_N_PER_REQUEST,
    }
}

/// A server with default behaviour and a client for it.
pub async fn server_and_client() -> (TestServer, OllamaClient) {
    let server = TestServer::start(ServerConfig::default()).await;
    let client = OllamaClient::new(&server.url, fast_settings()).unwrap();
    (server, client)
}

#![allow(dead_code)]
//! A local process-reward-model server for the `http` verifier's tests: it speaks the
//! protocol of `src/verify/http.rs` (POST `{"problem", "steps"}` → `{"scores"}`) on
//! `127.0.0.1:<random port>`, with its behaviour chosen by the request path:
//!
//! * `/good`  – one score per step: 0.1 for a step containing "wrong", `null` for a step
//!   containing "skip", else 0.9;
//! * `/short` – one score too few;
//! * `/range` – 1.5 for every step;
//! * `/fail`  – HTTP 500 with a long body holding an escape sequence;
//! * `/stall` – never answers.
//!
//! Every request is recorded (its path, its `Authorization` header and its JSON body).
//! Self-contained: included via `#[path = "../support/prm_server.rs"] mod prm_server;`.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
}

/// A running server; stopped when dropped.
pub struct PrmServer {
    /// `http://127.0.0.1:PORT` (add a path: `/good`, `/short`, …).
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    task: JoinHandle<()>,
}

impl PrmServer {
    pub async fn start() -> PrmServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            // Dropping the set (when the accept loop is aborted) ends every connection.
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let log = log.clone();
                connections.spawn(async move {
                    let svc = service_fn(move |req| answer(req, log.clone()));
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
                });
            }
        });
        PrmServer { url, seen, task }
    }

    /// The requests received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for PrmServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn reply(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, "application/json".parse().unwrap());
    r
}

async fn answer(
    req: Request<Incoming>,
    log: Arc<Mutex<Vec<Seen>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let authorization = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_string);
    let bytes = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let steps: Vec<String> = body["steps"]
        .as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap_or("").to_string()).collect())
        .unwrap_or_default();
    log.lock().unwrap().push(Seen { path: path.clone(), authorization, body });
    let scores = |f: &dyn Fn(&str) -> Value| -> Vec<Value> { steps.iter().map(|s| f(s)).collect() };
    Ok(match path.as_str() {
        "/good" => {
            let s = scores(&|s| {
                if s.contains("wrong") {
                    json!(0.1)
                } else if s.contains("skip") {
                    Value::Null
                } else {
                    json!(0.9)
                }
            });
            reply(StatusCode::OK, json!({ "scores": s }).to_string())
        }
        "/short" => {
            let mut s = scores(&|_| json!(0.5));
            s.pop();
            reply(StatusCode::OK, json!({ "scores": s }).to_string())
        }
        "/range" => reply(StatusCode::OK, json!({ "scores": scores(&|_| json!(1.5)) }).to_string()),
        "/fail" => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("model crashed \x1b]0;pwned\x07 {}", "x".repeat(2000)),
        ),
        "/stall" => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            reply(StatusCode::OK, "{}".into())
        }
        _ => reply(StatusCode::NOT_FOUND, "no such path".into()),
    })
}

//! Stream decoding throughput, measured on demand (not part of the normal run):
//!
//! ```text
//! cargo test --test integration throughput -- --ignored --nocapture
//! ```
//!
//! Prints MB/s for the line splitter against the previous algorithm (re-scan the whole buffer
//! after every read, drain each line), and end to end through the client over loopback.

use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use ttc::model::ndjson::LineDecoder;
use ttc::model::ollama::OllamaClient;
use ttc::model::{Chunk, GenRequest, Generator, Message};

use super::fast_settings;
use super::ollama_server::{ChatFault, Faults, ServerConfig, TestServer};

/// The splitting the client did before: search the whole buffer after every read.
fn old_split(reads: &[Vec<u8>]) -> usize {
    let mut buf: Vec<u8> = Vec::new();
    let mut lines = 0;
    for r in reads {
        buf.extend_from_slice(r);
        while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
            let _line: Vec<u8> = buf.drain(..=pos).collect();
            lines += 1;
        }
    }
    lines
}

fn new_split(reads: &[Vec<u8>]) -> usize {
    let mut d = LineDecoder::new(usize::MAX);
    let mut lines = 0;
    for r in reads {
        d.push(r);
        while d.next_line().unwrap().is_some() {
            lines += 1;
        }
    }
    lines
}

fn mb_per_s(bytes: usize, took: Duration) -> f64 {
    bytes as f64 / 1e6 / took.as_secs_f64()
}

fn measure(name: &str, reads: &[Vec<u8>], split: fn(&[Vec<u8>]) -> usize) {
    let total: usize = reads.iter().map(Vec::len).sum();
    let started = Instant::now();
    let lines = split(reads);
    let took = started.elapsed();
    println!("{name}: {} MB, {lines} lines, {took:.2?}, {:.1} MB/s", total >> 20, mb_per_s(total, took));
}

#[test]
#[ignore = "a measurement; run with --ignored --nocapture"]
fn throughput_of_the_line_splitter() {
    for mb in [4usize, 16] {
        let reads: Vec<Vec<u8>> = (0..(mb << 20) / 16384).map(|_| vec![b'a'; 16384]).collect();
        measure(&format!("no newline, old, {mb} MiB"), &reads, old_split);
        measure(&format!("no newline, new, {mb} MiB"), &reads, new_split);
    }
    let reads: Vec<Vec<u8>> = (0..(200usize << 20) / 16384).map(|_| vec![b'a'; 16384]).collect();
    measure("no newline, new, 200 MiB", &reads, new_split);
    let line = b"{\"message\":{\"content\":\"12+3\"},\"done\":false}\n".repeat(380);
    let reads: Vec<Vec<u8>> = (0..(64usize << 20) / line.len()).map(|_| line.clone()).collect();
    measure("short lines, old, 64 MiB", &reads, old_split);
    measure("short lines, new, 64 MiB", &reads, new_split);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement; run with --ignored --nocapture"]
async fn throughput_end_to_end() {
    let server = TestServer::start(ServerConfig::default()).await;
    let client = OllamaClient::new(&server.url, fast_settings()).unwrap();
    let gen = client.generator("bench").await.unwrap();
    let mut req = GenRequest::new(vec![Message::user("go")]);
    req.options.num_predict = Some(400_000);
    let started = Instant::now();
    let mut stream = gen.generate(req, CancellationToken::new()).await.unwrap();
    let mut chars = 0;
    while let Some(c) = stream.next().await {
        if let Chunk::Delta { text, .. } = c.unwrap() {
            chars += text.len();
        }
    }
    let took = started.elapsed();
    // Each piece is one NDJSON line of about 115 bytes on the wire.
    println!(
        "end to end: 400000 lines ({chars} text bytes) in {took:.2?}, {:.0} lines/s",
        400_000.0 / took.as_secs_f64()
    );

    let cfg = ServerConfig {
        faults: Faults::on_chat(ChatFault::HugeLine(200 << 20), &[]),
        ..ServerConfig::default()
    };
    let server = TestServer::start(cfg).await;
    let client = OllamaClient::new(&server.url, fast_settings()).unwrap();
    let gen = client.generator("tiny-math").await.unwrap();
    let started = Instant::now();
    let out =
        ttc::model::collect(&gen, GenRequest::new(vec![Message::user("1+1")]), CancellationToken::new())
            .await;
    println!("200 MiB line without a newline: failed after {:.2?}: {}", started.elapsed(), out.unwrap_err());
}

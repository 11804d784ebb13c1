//! Responsiveness of the real binary under a full stream load: 64 candidates
//! of 2,000 tokens from the local test server, as fast as it can send them.
//! Measures how long a key press takes to reach the screen, and how much CPU
//! an idle screen uses. Prints the numbers; asserts nothing about them.
//!
//! Run with `cargo bench --bench tui_latency`.

#[path = "../tests/support/ollama_server.rs"]
mod ollama_server;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ollama_server::{ServerConfig, TestServer};
use portable_pty::{native_pty_system, CommandBuilder, PtySize};

fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let server = rt.block_on(TestServer::start(ServerConfig::default()));
    let home = std::env::temp_dir().join(format!("ttc-latency-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let pair = native_pty_system()
        .openpty(PtySize { rows: 60, cols: 240, pixel_width: 0, pixel_height: 0 })
        .unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_ttc"));
    let args = [
        "--host",
        &server.url,
        "--model",
        "bench",
        "--problem",
        "Add.",
        "-n",
        "64",
        "--max-tokens",
        "2000",
        "--concurrency",
        "64",
    ];
    for a in args {
        cmd.arg(a);
    }
    cmd.cwd(env!("CARGO_MANIFEST_DIR"));
    cmd.env("HOME", &home);
    cmd.env("XDG_CONFIG_HOME", home.join("c"));
    cmd.env("XDG_DATA_HOME", home.join("d"));
    cmd.env("TERM", "xterm-256color");
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    let pid = child.process_id().unwrap();
    drop(pair.slave);
    let parser = Arc::new(Mutex::new(vt100::Parser::new(60, 240, 0)));
    let p2 = parser.clone();
    let mut reader = pair.master.try_clone_reader().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            p2.lock().unwrap().process(&buf[..n]);
        }
    });
    let mut keys = pair.master.take_writer().unwrap();
    let shows = |s: &str| parser.lock().unwrap().screen().contents().contains(s);
    let wait = |what: &str, limit: Duration| -> Option<Duration> {
        let t0 = Instant::now();
        while t0.elapsed() < limit {
            if shows(what) {
                return Some(t0.elapsed());
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        None
    };
    wait("streaming", Duration::from_secs(30)).expect("the run started");
    let mut lat = Vec::new();
    let mut n = 64;
    for _ in 0..10 {
        if shows("finished") {
            break;
        }
        n += 1;
        keys.write_all(b"+").unwrap();
        keys.flush().unwrap();
        match wait(&format!("N {n} "), Duration::from_secs(5)) {
            Some(d) => lat.push(d),
            None => println!("key press {n} never reached the screen"),
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    wait("finished", Duration::from_secs(120)).expect("the run finished");
    std::thread::sleep(Duration::from_millis(500));
    let hz = 100.0; // USER_HZ on Linux
    let t0 = cpu_ticks(pid).unwrap_or(0);
    std::thread::sleep(Duration::from_secs(5));
    let t1 = cpu_ticks(pid).unwrap_or(0);
    keys.write_all(b"q").unwrap();
    keys.flush().unwrap();
    let _ = child.wait();
    lat.sort();
    if lat.is_empty() {
        println!("tui_latency: the run finished before any key press was measured");
    } else {
        println!(
            "tui_latency: key press to screen under 64-stream load: median {:.1} ms, max {:.1} ms ({} presses)",
            lat[lat.len() / 2].as_secs_f64() * 1000.0,
            lat[lat.len() - 1].as_secs_f64() * 1000.0,
            lat.len()
        );
    }
    println!("tui_latency: idle CPU over 5 s: {:.2}% of one core", (t1 - t0) as f64 / hz / 5.0 * 100.0);
    std::fs::remove_dir_all(&home).ok();
}

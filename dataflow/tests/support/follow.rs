//! A `tickflow run --follow` child on a Kafka topic with its HTTP server on a free port: its
//! address (read from the `http server listening` log line), plain HTTP/1.0 GETs against it,
//! and every stderr line it logged.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `tickflow run --follow`; killed when dropped.
pub struct Running {
    child: Child,
    /// The HTTP server's address.
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

/// Starts `tickflow run --input kafka:{topic} --follow` plus `args`, with `env`.
pub fn spawn(
    dir: &Path,
    bootstrap: &str,
    topic: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tickflow"))
        .arg("run")
        .args(["--input", &format!("kafka:{topic}"), "--follow"])
        .args(args)
        .current_dir(dir)
        .env("DATA_PROC_HEALTH_PORT", "0")
        .env("DATA_PROC_KAFKA_BOOTSTRAP", bootstrap)
        .env("DATA_PROC_KAFKA_SESSION_TIMEOUT_MS", "6000")
        .env(
            "DATA_PROC_CONSUMER_GROUP",
            format!("g-{}", std::process::id()),
        )
        .env("DATA_PROC_PIPELINE_SHUTDOWN_TIMEOUT_MS", "5000")
        .env_remove("DATA_PROC_WORKERS")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tickflow");
    let stderr = child.stderr.take().expect("stderr");
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    let start = Instant::now();
    let addr = loop {
        let found = log
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.contains("http server listening"))
            .cloned();
        if let Some(line) = found {
            break address_in(&line);
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "tickflow exited early ({status}): {:?}",
                log.lock().unwrap()
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no http server line"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    Running { child, addr, log }
}

/// The loopback address of the `addr=IP:PORT` in a log line (text or JSON format).
fn address_in(line: &str) -> SocketAddr {
    let rest = &line[line.find("addr").expect("addr in log line")..];
    let bytes = rest.as_bytes();
    let colon = (1..bytes.len())
        .find(|&i| {
            bytes[i] == b':'
                && bytes[i - 1].is_ascii_digit()
                && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
        })
        .expect("IP:PORT in log line");
    let port: String = rest[colon + 1..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    format!("127.0.0.1:{port}").parse().unwrap()
}

/// `GET path` on `addr` over HTTP/1.0 (no chunked answers): status and body.
pub fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    try_get(addr, path).unwrap_or_else(|e| panic!("GET {addr}{path}: {e}"))
}

/// [`get`], with connection errors returned.
pub fn try_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut bytes = Vec::new();
    s.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string());
    Ok((status, body.unwrap_or_default()))
}

/// Percent-encodes a query parameter value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Polls `f` every 200 ms until it returns `Some`, for at most `limit`.
pub fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(t) = f() {
            return t;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

impl Running {
    /// `GET path` on the server.
    pub fn get(&self, path: &str) -> (u16, String) {
        get(self.addr, path)
    }

    /// Every stderr line so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Sends SIGTERM, waits up to `limit` for the exit (then kills), returns the whole log.
    pub fn stop(mut self, limit: Duration) -> Vec<String> {
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_millis(200));
        self.log()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

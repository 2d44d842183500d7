//! Test plumbing: a `tickflow run` child with its HTTP server on a free loopback port, a
//! minimal HTTP/1.0 client (no chunking to undo), and the `dir:` output as the oracle.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `tickflow run` with a server.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `tickflow run ARGS` in `dir` (serving on a free port) and waits for its address.
    pub fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tickflow"));
        cmd.arg("run")
            .args(args)
            .current_dir(dir)
            .env("DATA_PROC_HEALTH_PORT", "0")
            .env("DATA_PROC_HTTP_BIND_ADDRESS", "127.0.0.1")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn tickflow");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let mut server = Server {
            child,
            addr: "127.0.0.1:1".parse().unwrap(),
            log,
        };
        let line = server.wait_for("http server listening");
        let addr = line.split("addr=").nth(1).expect("addr=").trim();
        server.addr = addr
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .expect("address");
        server
    }

    /// Waits (up to 120 s) for a log line containing `needle` and returns it.
    pub fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(l) = self.log.lock().unwrap().iter().find(|l| l.contains(needle)) {
                return l.clone();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "tickflow exited ({status}) before {needle:?}: {:?}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in {:?}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The log so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// True while the process runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then the exit status (within 60 s).
    pub fn terminate(mut self) -> std::process::ExitStatus {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("tickflow did not stop after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `GET path` with optional bearer key: (status, body).
pub fn get_auth(addr: SocketAddr, path: &str, key: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let auth = key.map_or(String::new(), |k| format!("Authorization: Bearer {k}\r\n"));
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n{auth}\r\n").unwrap();
    let mut bytes = Vec::new();
    s.read_to_end(&mut bytes).expect("read response");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string());
    (status, body.unwrap_or_default())
}

/// The bundled reference data's all-tenants test key (reference/README.md): with the embedded
/// reference tables the API needs a key.
pub const ADMIN_KEY: &str = "tickflow-admin-test-key";

/// `GET path` with [`ADMIN_KEY`].
pub fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    get_auth(addr, path, Some(ADMIN_KEY))
}

/// `GET path` that must answer 200 with JSON.
pub fn get_json(addr: SocketAddr, path: &str) -> serde_json::Value {
    let (status, body) = get(addr, path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

/// The rows of a `dir:` CSV file as (header, rows).
pub fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).expect("csv");
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// True when a JSON object renders the CSV row (same columns, same values).
pub fn same_as_csv(header: &[String], row: &[String], json: &serde_json::Value) -> bool {
    header.iter().zip(row).all(|(col, field)| {
        let v = &json[col.as_str()];
        match v {
            serde_json::Value::String(s) => s == field,
            serde_json::Value::Number(n) => field.parse::<f64>().ok() == n.as_f64(),
            serde_json::Value::Bool(b) => field == &b.to_string(),
            serde_json::Value::Null => field.is_empty(),
            serde_json::Value::Array(a) => {
                let joined: Vec<&str> = a.iter().filter_map(|x| x.as_str()).collect();
                joined.join(";") == *field
            }
            serde_json::Value::Object(_) => false,
        }
    })
}

//! Servers for the integration tests: the shared test servers' addresses (fixed ports of
//! `scripts/services.sh`, overridable by `TICKFLOW_TEST_*` variables), and private Redis and
//! ClickHouse instances on free ports that a test may stop and restart (outage tests).
//! Private servers are owned by the test: stopped by their handle's `Drop`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The shared ClickHouse HTTP URL.
pub fn clickhouse_url() -> String {
    std::env::var("TICKFLOW_TEST_CLICKHOUSE_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:58123".into())
}

/// The shared Redis URL.
pub fn redis_url() -> String {
    std::env::var("TICKFLOW_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:56379/0".into())
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn wait_until(timeout: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !ready() {
        if start.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

fn stop(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        // SIGTERM: Redis saves its append-only file, ClickHouse shuts down cleanly.
        unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = c.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// A private redis-server (append-only file on, so a restart keeps the data).
pub struct PrivateRedis {
    /// Its port.
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts one on a free port.
    pub fn start() -> PrivateRedis {
        let mut r = PrivateRedis {
            port: free_port(),
            dir: tempfile::tempdir().expect("tempdir"),
            child: None,
        };
        r.up();
        r
    }
    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
    /// Starts it again after [`PrivateRedis::down`].
    pub fn up(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (apt-get install redis-server, or scripts/services.sh up)");
        self.child = Some(child);
        let url = self.url();
        let ok = wait_until(Duration::from_secs(10), || {
            redis::Client::open(url.as_str())
                .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
                .is_ok()
        });
        assert!(
            ok,
            "private redis on port {} not ready within 10 s",
            self.port
        );
    }
    /// Stops it.
    pub fn down(&mut self) {
        stop(&mut self.child);
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.down();
    }
}

/// A private clickhouse-server with its own data directory.
pub struct PrivateClickhouse {
    /// HTTP port.
    pub http_port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

fn write_config(dir: &Path, http: u16, tcp: u16) -> PathBuf {
    let d = dir.display();
    let config = format!(
        r#"<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/server.err.log</errorlog></logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>{http}</http_port>
    <tcp_port>{tcp}</tcp_port>
    <path>{d}/data/</path>
    <tmp_path>{d}/tmp/</tmp_path>
    <user_files_path>{d}/user_files/</user_files_path>
    <format_schema_path>{d}/format_schemas/</format_schema_path>
    <users_config>{d}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>536870912</mark_cache_size>
</yandex>
"#
    );
    let users = r#"<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
        <profile>default</profile><quota>default</quota></default></users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
        <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
    </interval></default></quotas>
</yandex>
"#;
    for sub in ["data", "tmp", "user_files", "format_schemas"] {
        std::fs::create_dir_all(dir.join(sub)).expect("mkdir");
    }
    std::fs::write(dir.join("users.xml"), users).expect("users.xml");
    let path = dir.join("config.xml");
    std::fs::write(&path, config).expect("config.xml");
    path
}

impl PrivateClickhouse {
    /// Starts one on free ports (as the current user: root works with 18.16).
    pub fn start() -> PrivateClickhouse {
        let mut c = PrivateClickhouse {
            http_port: free_port(),
            dir: tempfile::tempdir().expect("tempdir"),
            child: None,
        };
        write_config(c.dir.path(), c.http_port, free_port());
        c.up();
        c
    }
    /// Its HTTP URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }
    /// Starts it again after [`PrivateClickhouse::down`], on the same data.
    pub fn up(&mut self) {
        let child = Command::new("clickhouse-server")
            .arg(format!(
                "--config-file={}",
                self.dir.path().join("config.xml").display()
            ))
            .current_dir(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "clickhouse-server (apt-get install clickhouse-server, or scripts/services.sh up)",
            );
        self.child = Some(child);
        let url = format!("{}/ping", self.url());
        let ok = wait_until(Duration::from_secs(30), || {
            ureq::get(&url)
                .timeout(Duration::from_millis(300))
                .call()
                .is_ok()
        });
        if !ok {
            let log =
                std::fs::read_to_string(self.dir.path().join("server.err.log")).unwrap_or_default();
            let tail: String = log.lines().rev().take(3).collect::<Vec<_>>().join("\n");
            panic!("private clickhouse not ready within 30 s; its error log ends: {tail}");
        }
    }
    /// Stops it.
    pub fn down(&mut self) {
        stop(&mut self.child);
    }
}

impl Drop for PrivateClickhouse {
    fn drop(&mut self) {
        self.down();
    }
}

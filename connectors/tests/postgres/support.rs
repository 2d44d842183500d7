//! Test schemas on the shared server, and a private cluster for restarts.

use connectors::postgres::{connect, migrate, PgDsn};
use postgres::Client;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The server the tests use (scripts/services.sh's by default).
pub fn base_dsn() -> String {
    std::env::var("TICKFLOW_TEST_PG_DSN").unwrap_or_else(|_| {
        "host=127.0.0.1 port=55432 user=postgres dbname=tickflow sslmode=disable".to_string()
    })
}

/// `dsn` with its search path set to `schema`.
pub fn with_schema(dsn: &str, schema: &str) -> String {
    if dsn.starts_with("postgres://") || dsn.starts_with("postgresql://") {
        let sep = if dsn.contains('?') { '&' } else { '?' };
        format!("{dsn}{sep}options=-csearch_path%3D{schema}")
    } else {
        format!("{dsn} options='-csearch_path={schema}'")
    }
}

/// A fresh schema (dropped at the end), migrated, with a client whose search path is it.
pub struct TestSchema {
    pub name: String,
    pub dsn: PgDsn,
    pub client: Client,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl TestSchema {
    pub fn new(test: &str) -> TestSchema {
        Self::on(&base_dsn(), test)
    }

    pub fn on(base: &str, test: &str) -> TestSchema {
        let name = format!(
            "t_{test}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = connect(&PgDsn::new(base)).unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not reachable ({e}); start it with `scripts/services.sh up` \
                 or set TICKFLOW_TEST_PG_DSN"
            )
        });
        admin
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
            ))
            .expect("create schema");
        let dsn = PgDsn::new(with_schema(base, &name));
        let mut client = connect(&dsn).expect("connect to the test schema");
        migrate(&mut client).expect("migrate");
        TestSchema { name, dsn, client }
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let _ = self
            .client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

/// The repo's bundled reference tables.
pub fn reference_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../reference")
}

fn pg_bin() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL binaries in /usr/lib/postgresql (scripts/services.sh up installs them)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    dirs.sort();
    dirs.pop()
        .expect("an initdb under /usr/lib/postgresql/*/bin")
}

fn as_postgres(args: &[&str]) -> std::process::Output {
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .args(args)
        .output()
        .expect("runuser");
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A throwaway PostgreSQL cluster of this test alone (so restarting it disturbs no other test).
pub struct PrivateCluster {
    pub dir: tempfile::TempDir,
    pub port: u16,
    bin: PathBuf,
}

impl PrivateCluster {
    pub fn start() -> PrivateCluster {
        Self::start_with("")
    }

    /// A cluster with `extra` appended to its `postgresql.conf`; files named in it may be
    /// placed in [`PrivateCluster::path`] by `prepare` before the server starts.
    pub fn start_with(extra: &str) -> PrivateCluster {
        Self::start_prepared(extra, |_| {})
    }

    pub fn start_prepared(extra: &str, prepare: impl FnOnce(&Path)) -> PrivateCluster {
        let bin = pg_bin();
        let dir = tempfile::Builder::new()
            .prefix("tickflow-pg-")
            .tempdir_in("/tmp")
            .expect("tempdir");
        Command::new("chown")
            .args(["postgres:", &dir.path().display().to_string()])
            .status()
            .expect("chown");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let data = dir.path().join("data");
        as_postgres(&[
            &bin.join("initdb").display().to_string(),
            "-D",
            &data.display().to_string(),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
        ]);
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\nfsync = off\n",
            dir.path().display()
        );
        let conf_path = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf_path).expect("postgresql.conf");
        text.push_str(&conf);
        text.push_str(extra);
        std::fs::write(&conf_path, text).expect("write postgresql.conf");
        prepare(dir.path());
        let cluster = PrivateCluster { dir, port, bin };
        cluster.pg_ctl("start");
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn pg_ctl(&self, action: &str) {
        let log = self.dir.path().join("log");
        as_postgres(&[
            &self.bin.join("pg_ctl").display().to_string(),
            "-D",
            &self.data().display().to_string(),
            "-l",
            &log.display().to_string(),
            "-m",
            "fast",
            "-w",
            action,
        ]);
    }

    pub fn dsn(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres sslmode=disable",
            self.port
        )
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

impl TestSchema {
    /// A new client on `s`'s schema (after a server restart).
    pub fn reconnect(s: &TestSchema) -> Client {
        connect(&s.dsn).expect("reconnect")
    }
}

//! End to end as users run it: `tickflow run --input kafka:… --output clickhouse --output
//! redis` (a subprocess, configured by environment variables like a deployment) reading the
//! bundled samples from librdkafka's mock cluster (in this process) into the shared test servers.
//!
//! - `kafka_into_servers_equals_the_file_run`: ClickHouse (`FINAL WHERE NOT deleted`, per table)
//!   and the served Redis keys equal the `dir:` output of the same samples run from files, all
//!   fields but `source` and `ingested_at` (the comparison of `tests/compare.rs`).
//! - `crash_restart` (module): a `--follow` run SIGKILLed at seeded random points and restarted
//!   ends with ClickHouse and Redis identical to an uninterrupted run.
//! - `cluster_restart` (module): the same with a 3-process × 2-worker cluster (peers from
//!   `DATA_PROC_PEER_DNS`): SIGKILL of one process stops the others promptly (exit 1), and
//!   restarts of the whole cluster end identical to an uninterrupted one-process run.
//! - `follow_outage` (module): a ClickHouse stop/start and a Redis restart during a `--follow`
//!   run (private servers) lose nothing and keep memory bounded.
//! - `reference_change` (module): a PostgreSQL reference change while a `--follow` run reads a
//!   topic applies to later ticks at or after its `valid_from` and rewrites no emitted tick.
//!
//! Each test writes into its own ClickHouse database and Redis key prefix; a test fails with a
//! clear message when a server is unreachable (`scripts/services.sh up`).

use connectors::kafka::mock::MockBroker;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tickflow_tests::compare::{
    assert_redis_equals_dir, assert_tables_equal_dir, cleanup, count, dir_records, require_servers,
    shared_target, Target, TABLES,
};
use tickflow_tests::kafka::{produce_samples, BATCH_BYTES};
use tickflow_tests::{repo_root, run_with};

mod cluster_restart;
mod crash_restart;
mod follow_outage;
mod reference_change;

/// The `tickflow` binary of this build (beside the test's `deps/` directory); built with
/// `cargo build -p tickflow --bin tickflow` when missing (`cargo test -p tickflow-tests` alone
/// does not build other packages' binaries).
pub fn tickflow_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("tickflow");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let ok = Command::new(cargo)
            .args(["build", "-p", "tickflow", "--bin", "tickflow"])
            .current_dir(repo_root())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok && bin.exists(), "cannot build {}", bin.display());
    }
    bin
}

/// A `tickflow` command writing into `t`, reading Kafka at `bootstrap`, configured only by
/// environment variables (as a deployment would be).
pub fn tickflow(t: &Target, bootstrap: &str, cwd: &Path) -> Command {
    let mut c = Command::new(tickflow_bin());
    c.current_dir(cwd)
        .env_remove("DATA_PROC_WORKERS")
        // --follow serves HTTP; a free port each, as tests run in parallel.
        .env("DATA_PROC_HEALTH_PORT", "0")
        .env("DATA_PROC_KAFKA_BOOTSTRAP", bootstrap)
        .env("DATA_PROC_KAFKA_SESSION_TIMEOUT_MS", "6000")
        .env(
            "DATA_PROC_PIPELINE_BATCH_MAX_BYTES",
            BATCH_BYTES.to_string(),
        )
        .env("DATA_PROC_CLICKHOUSE_URL", &t.ch_url)
        .env("DATA_PROC_CLICKHOUSE_DATABASE", &t.db)
        .env("DATA_PROC_REDIS_URL", &t.redis_url)
        .env("DATA_PROC_REDIS_KEY_PREFIX", format!("{}:", t.prefix))
        .env(
            "DATA_PROC_REFERENCE_SOURCE",
            format!("dir:{}", repo_root().join("reference").display()),
        );
    c
}

/// Output of a finished command, asserted successful.
pub fn succeeded(o: std::io::Result<Output>, what: &str) -> String {
    let o = o.unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{what} failed:\n{text}");
    text
}

#[test]
fn kafka_into_servers_equals_the_file_run() {
    let t = shared_target("tf_e2e_kafka");
    require_servers(&t);
    let broker = MockBroker::start(1).expect("mock cluster");
    let topics = produce_samples(&broker);
    let tmp = tempfile::tempdir().expect("tempdir");
    // The independent computation: the same samples from files, in process, into `dir:`.
    let files = tmp.path().join("files");
    run_with(
        &[format!("dir:{}", repo_root().join("samples").display())],
        &files,
        1,
        false,
        |o| o.batch_max_bytes = BATCH_BYTES,
    );
    let input = format!("kafka:{}", topics.join(","));
    let out = tickflow(&t, broker.bootstrap_servers(), tmp.path())
        .args(["run", "--input", &input, "-w", "2"])
        .args(["--output", "clickhouse", "--output", "redis"])
        .output();
    succeeded(
        out,
        "tickflow run --input kafka:… --output clickhouse --output redis",
    );
    // The samples hold no malformed record: no dead letter on either side (their ids derive
    // from `source`, so they are compared by the Kafka tests, not here).
    assert!(dir_records(&files, "dead_letters").is_empty());
    assert_eq!(count(&t, "dead_letters"), 0, "dead letters in ClickHouse");
    assert_tables_equal_dir(&t, &files, &TABLES[..4]);
    assert_redis_equals_dir(&t, &files);
    cleanup(&t);
}

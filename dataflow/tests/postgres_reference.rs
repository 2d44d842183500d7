//! `tickflow migrate` and `tickflow run --reference postgres` against the real PostgreSQL
//! (`scripts/services.sh up`, or `TICKFLOW_TEST_PG_DSN`): the bundled reference set loaded
//! into PostgreSQL gives the same outputs as `--reference dir:reference`.

use connectors::postgres::{connect, PgDsn};
use std::path::{Path, PathBuf};
use std::process::Command;

fn base_dsn() -> String {
    std::env::var("TICKFLOW_TEST_PG_DSN").unwrap_or_else(|_| {
        "host=127.0.0.1 port=55432 user=postgres dbname=tickflow sslmode=disable".to_string()
    })
}

/// A fresh schema for this test; returns the DSN whose search path is it.
fn schema(name: &str) -> String {
    let base = base_dsn();
    let mut admin = connect(&PgDsn::new(base.as_str())).unwrap_or_else(|e| {
        panic!("PostgreSQL is not reachable ({e}); run `scripts/services.sh up` or set TICKFLOW_TEST_PG_DSN")
    });
    let schema = format!("{name}_{}", std::process::id());
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .expect("create schema");
    if base.contains("://") {
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}options=-csearch_path%3D{schema}")
    } else {
        format!("{base} options='-csearch_path={schema}'")
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tickflow(dsn: &str, args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tickflow"))
        .args(args)
        .current_dir(repo())
        .env("DATA_PROC_POSTGRES_DSN", dsn)
        .env("TICKFLOW_SAMPLES", repo().join("samples"))
        .env_remove("DATA_PROC_WORKERS")
        .output()
        .expect("run tickflow");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "tickflow {args:?} failed:\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("output dir")
        .map(|e| {
            let p = e.expect("entry").path();
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&p).expect("read output"))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn run_with_postgres_reference_equals_the_csv_reference() {
    let dsn = schema("e2e_reference");
    let reference = format!("dir:{}", repo().join("reference").display());
    let (stdout, _) = tickflow(
        &dsn,
        &[
            "migrate",
            "--only",
            "postgres",
            "--load-reference",
            &reference,
        ],
    );
    assert!(
        stdout.contains("postgres: 7 reference tables up to date"),
        "{stdout}"
    );
    assert!(stdout.contains("rows loaded"), "{stdout}");
    // Idempotent: a second migrate succeeds and changes no row.
    tickflow(&dsn, &["migrate", "--only", "postgres"]);

    let tmp = tempfile::tempdir().expect("tempdir");
    let pg_out = tmp.path().join("pg");
    let dir_out = tmp.path().join("dir");
    let empty_out = tmp.path().join("empty");
    tickflow(
        &dsn,
        &[
            "run",
            "--reference",
            "postgres",
            "--output",
            &format!("dir:{}", pg_out.display()),
        ],
    );
    tickflow(
        &dsn,
        &[
            "run",
            "--reference",
            &reference,
            "--output",
            &format!("dir:{}", dir_out.display()),
        ],
    );
    let pg = files(&pg_out);
    let dir = files(&dir_out);
    assert_eq!(
        pg.iter().map(|f| &f.0).collect::<Vec<_>>(),
        dir.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for ((name, a), (_, b)) in pg.iter().zip(&dir) {
        assert!(
            a == b,
            "{name} differs between --reference postgres and dir:"
        );
    }
    // The comparison can fail: without reference rows the ticks are classified differently.
    let empty = schema("e2e_empty_reference");
    tickflow(&empty, &["migrate", "--only", "postgres"]);
    tickflow(
        &empty,
        &[
            "run",
            "--reference",
            "postgres",
            "--output",
            &format!("dir:{}", empty_out.display()),
        ],
    );
    let ticks = |d: &Path| std::fs::read(d.join("ticks.jsonl")).expect("ticks.jsonl");
    assert_ne!(ticks(&pg_out), ticks(&empty_out));
    drop_schemas(&[&dsn, &empty]);
}

/// Drops the schemas of these test DSNs (their search path).
fn drop_schemas(dsns: &[&str]) {
    let mut admin = connect(&PgDsn::new(base_dsn())).expect("connect");
    for dsn in dsns {
        if let Some(schema) = dsn.rsplit("search_path").next() {
            let name = schema.trim_start_matches("%3D").trim_start_matches('=');
            let name = name.trim_end_matches('\'');
            let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"));
        }
    }
}

#[test]
fn unreachable_postgres_fails_the_run_without_showing_the_password() {
    let out = Command::new(env!("CARGO_BIN_EXE_tickflow"))
        .args(["run", "--reference", "postgres", "--output", "null"])
        .current_dir(repo())
        .env(
            "DATA_PROC_POSTGRES_DSN",
            "postgres://u:Hunter2Secret@127.0.0.1:1/x?connect_timeout=2",
        )
        .env("TICKFLOW_SAMPLES", repo().join("samples"))
        .output()
        .expect("run tickflow");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{all}");
    assert!(
        all.contains("--reference postgres") && all.contains("unavailable"),
        "{all}"
    );
    assert!(!all.contains("Hunter2Secret"), "{all}");
}

//! `tickflow migrate` (SPEC §8): applies the PostgreSQL and ClickHouse DDL, idempotently.
//!
//! PostgreSQL: the reference tables of SPEC §5 with their indexes and change-tracking
//! triggers ([`connectors::postgres::migrate`]), in the first schema of the DSN's search path;
//! `--load-reference dir:PATH` then loads (upserts) a directory of `<table>.csv` files, e.g.
//! the bundled `reference/`. ClickHouse: the tables of SPEC §6 ([`connectors::clickhouse::migrate`]: column types shared by
//! every server generation, LowCardinality and TTLs where the server supports them).
//! `--only postgres|clickhouse` limits the run to one store. Exit 0 when every store migrated,
//! 1 when one failed (its error printed, without credentials), 2 for a configuration error.

use crate::cli::load_config;
use crate::config::{Config, FlagOverrides};
use clap::Args;
use connectors::postgres::{connect, load_csv_dir, migrate, PgDsn, PgError};
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `tickflow migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// TOML configuration file.
    #[arg(long, env = "DATA_PROC_CONFIG")]
    pub config: Option<PathBuf>,
    /// Migrate only this store.
    #[arg(long, value_parser = ["postgres", "clickhouse"])]
    pub only: Option<String>,
    /// After migrating PostgreSQL, load these reference CSV tables into it (`dir:PATH`).
    #[arg(long, value_name = "dir:PATH")]
    pub load_reference: Option<String>,
}

/// Runs `tickflow migrate`.
pub fn migrate_command(args: MigrateArgs) -> ExitCode {
    let config = match load_config(args.config.as_deref(), &FlagOverrides::default()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let wants = |store: &str| args.only.as_deref().is_none_or(|o| o == store);
    let mut failed = false;
    if wants("postgres") {
        match migrate_postgres(&config, args.load_reference.as_deref()) {
            Ok(report) => println!("{report}"),
            Err(e) => {
                eprintln!("migrate postgres: {e}");
                failed = true;
            }
        }
    } else if args.load_reference.is_some() {
        eprintln!("migrate: --load-reference needs PostgreSQL (not with --only clickhouse)");
        return ExitCode::from(2);
    }
    if wants("clickhouse") {
        let ch = crate::cli::sink_options(&config).clickhouse;
        match connectors::clickhouse::migrate(&ch) {
            Ok(r) => println!(
                "clickhouse: database {} ready on server {} ({} statements, all IF NOT EXISTS)",
                ch.database, r.server_version, r.statements
            ),
            Err(e) => {
                eprintln!("migrate clickhouse: {e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Migrates the database of `postgres.dsn` and optionally loads CSV tables; returns the
/// report line.
fn migrate_postgres(config: &Config, load: Option<&str>) -> Result<String, PgError> {
    let dsn = PgDsn::new(config.postgres.dsn.expose());
    let mut client = connect(&dsn)?;
    let tables = migrate(&mut client)?;
    let mut report = format!("postgres: {} reference tables up to date", tables.len());
    if let Some(spec) = load {
        let dir = spec.strip_prefix("dir:").unwrap_or(spec);
        let counts = load_csv_dir(&mut client, std::path::Path::new(dir))?;
        let total: u64 = counts.iter().map(|(_, n)| n).sum();
        report.push_str(&format!(
            "; {total} rows loaded from {dir} ({} tables)",
            counts.len()
        ));
    }
    Ok(report)
}

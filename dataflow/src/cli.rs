//! The `tickflow` command line (SPEC §8), with clap derive; every flag that has a
//! `DATA_PROC_*` name reads it from the environment too (flags win).

use crate::config::{Config, FlagOverrides, LogFormat};
use crate::runtime::{run, RunOptions};
use crate::spec::{parse_input, parse_output, OutputSpec};
use clap::{Args, Parser, Subcommand};
use operators::model::Market;
use operators::model::ReferenceRow;
use operators::normalize::NormalizeConfig;
use operators::parse::PriceBounds;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// tickflow: one timely/differential dataflow job that normalizes ISO market prices.
#[derive(Debug, Parser)]
#[command(name = "tickflow", version, about, propagate_version = true)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the pipeline (no arguments: the bundled samples into ./out/).
    Run(RunArgs),
    /// Generate synthetic market data in any supported format.
    Generate(GenerateArgs),
    /// Replay historical data by event-time range, paced (`--speed N|max`).
    Replay(crate::replay_cmd::ReplayArgs),
    /// Dead letters: `reprocess` re-runs them through the parsers.
    Dlq {
        /// `reprocess`.
        #[command(subcommand)]
        action: crate::dlq_cmd::DlqAction,
    },
    /// Apply the PostgreSQL and ClickHouse DDL (idempotent).
    Migrate(crate::migrate_cmd::MigrateArgs),
    /// Check or print the effective configuration.
    Config {
        /// `check` or `print`.
        #[command(subcommand)]
        action: ConfigAction,
    },
}

/// `tickflow config` actions.
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Report every configuration error at once (exit 1 when there is one).
    Check(ConfigArgs),
    /// Print the effective configuration with secrets masked.
    Print(ConfigArgs),
}

/// Flags of `tickflow config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// TOML configuration file.
    #[arg(long, env = "DATA_PROC_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Flags of `tickflow run`. Flags override the `--config` file and the `DATA_PROC_*`
/// environment (which the configuration layer reads, with the same names as SPEC §9).
#[derive(Debug, Args, Default)]
pub struct RunArgs {
    /// Input: file:PATH[?format=NAME], dir:PATH, generator:mode=…,count=…,seed=… (repeatable).
    #[arg(long = "input", value_name = "SPEC")]
    pub inputs: Vec<String>,
    /// Output: dir:PATH[?views=…], clickhouse, redis, stdout, null (repeatable).
    #[arg(long = "output", value_name = "SPEC")]
    pub outputs: Vec<String>,
    /// Reference data: dir:PATH or postgres.
    #[arg(long, value_name = "SPEC")]
    pub reference: Option<String>,
    /// Serve the HTTP API while running.
    #[arg(long)]
    pub serve: bool,
    /// Do not stop at the end of the inputs: follow them for new data.
    #[arg(long)]
    pub follow: bool,
    /// Worker threads per process (`DATA_PROC_WORKERS`).
    #[arg(short = 'w', long)]
    pub workers: Option<u32>,
    /// Number of processes in the cluster (`DATA_PROC_PROCESSES`).
    #[arg(short = 'n', long)]
    pub processes: Option<u32>,
    /// Index of this process, 0-based (`DATA_PROC_PROCESS_INDEX`).
    #[arg(short = 'p', long = "process-index")]
    pub process_index: Option<u32>,
    /// File with one host:port per process (`DATA_PROC_HOSTFILE`).
    #[arg(long)]
    pub hostfile: Option<PathBuf>,
    /// TOML configuration file.
    #[arg(long, env = "DATA_PROC_CONFIG")]
    pub config: Option<PathBuf>,
    /// Write `{view}.changes.*` update logs instead of final state.
    #[arg(long)]
    pub changes: bool,
    /// Directory for checkpoints and committed positions.
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Log format (`DATA_PROC_LOGGING_FORMAT`).
    #[arg(long, value_parser = ["text", "json"])]
    pub log_format: Option<String>,
}

/// Flags of `tickflow generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Scenario: batch, historical, high-volume, malformed, late, corrections, continuous.
    #[arg(long, default_value = "batch")]
    pub mode: String,
    /// Output format name (pjm-da, …, envelope, simple-csv).
    #[arg(long, default_value = "simple-csv")]
    pub format: String,
    /// Number of observations.
    #[arg(long)]
    pub count: Option<u64>,
    /// Days of data (historical).
    #[arg(long)]
    pub days: Option<u32>,
    /// Ticks per second (continuous).
    #[arg(long)]
    pub rate: Option<u64>,
    /// Random seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output file (`-` for standard output), or `kafka[:TOPIC]` (settings from `[kafka]`).
    #[arg(long, default_value = "-")]
    pub output: String,
    /// TOML configuration file (for `--output kafka`).
    #[arg(long, env = "DATA_PROC_CONFIG")]
    pub config: Option<PathBuf>,
    /// CAISO only: write the raw OASIS SingleZip instead of the CSV.
    #[arg(long)]
    pub zip: bool,
    /// Instead of one document: write the bundled sample set (one file per format) into DIR.
    #[arg(long, value_name = "DIR")]
    pub sample_set: Option<PathBuf>,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run_command(args),
        Command::Generate(args) => crate::generate_cmd::generate_command(args),
        Command::Migrate(args) => crate::migrate_cmd::migrate_command(args),
        Command::Replay(args) => crate::replay_cmd::replay_command(args),
        Command::Dlq { action } => crate::dlq_cmd::dlq_command(action),
        Command::Config { action } => crate::config_cmd::config_command(action),
    }
}

/// Where the bundled samples live: `$TICKFLOW_SAMPLES`, `./samples`, or the repo's `samples/`.
pub fn samples_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("TICKFLOW_SAMPLES") {
        return PathBuf::from(p);
    }
    let local = PathBuf::from("samples");
    if local.is_dir() {
        return local;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../samples")
}

fn env_vars() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// Where the bundled reference set lives: `$TICKFLOW_REFERENCE`, `./reference`, or the repo's.
pub fn reference_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("TICKFLOW_REFERENCE") {
        return PathBuf::from(p);
    }
    let local = PathBuf::from("reference");
    if local.is_dir() {
        return local;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../reference")
}

/// Loads the reference rows named by `reference.source`: `embedded` (the bundled set, when
/// present) or `dir:PATH` (every bad row reported); `postgres` is read by `resolve_run`.
pub fn reference_rows(source: &str) -> Result<Option<Arc<Vec<ReferenceRow>>>, String> {
    let Some(dir) = reference_source_dir(source)? else {
        return Ok(None);
    };
    connectors::reference::load_dir(&dir)
        .map(|rows| Some(Arc::new(rows)))
        .map_err(|e| format!("--reference {}: {e}", dir.display()))
}

/// The snapshot `reference.source` names: [`reference_rows`], or for `postgres` the tables of
/// `postgres.dsn` (then `postgres` receives what the live source continues from).
fn reference_snapshot(
    config: &Config,
    postgres: &mut Option<crate::runtime::PostgresReference>,
) -> Result<Option<Arc<Vec<ReferenceRow>>>, String> {
    if config.reference.source.trim() != "postgres" {
        return reference_rows(&config.reference.source);
    }
    let (rows, live) = crate::pg_reference::postgres_snapshot(config)?;
    *postgres = Some(live);
    Ok(Some(rows))
}

/// The directory of CSV tables `reference.source` names (re-scanned while a job runs), or
/// `None` when the embedded set is absent.
pub fn reference_source_dir(source: &str) -> Result<Option<PathBuf>, String> {
    Ok(Some(match source.trim() {
        "" | "embedded" => {
            let dir = reference_dir();
            if !dir.is_dir() {
                tracing::warn!(dir = %dir.display(), "bundled reference data not found: ticks are not enriched");
                return Ok(None);
            }
            dir
        }
        s => match s.strip_prefix("dir:") {
            Some(p) => PathBuf::from(p),
            None => {
                return Err(format!(
                    "--reference {s}: not a directory of CSV tables (PostgreSQL is read by \
                     `reference_snapshot`)"
                ))
            }
        },
    }))
}

/// The configuration layers' view of `tickflow run`'s flags.
pub fn flag_overrides(args: &RunArgs) -> FlagOverrides {
    FlagOverrides {
        workers: args.workers,
        processes: args.processes,
        process_index: args.process_index,
        hostfile: args.hostfile.clone(),
        log_format: args.log_format.as_deref().and_then(|f| f.parse().ok()),
        inputs: (!args.inputs.is_empty()).then(|| args.inputs.clone()),
        outputs: (!args.outputs.is_empty()).then(|| args.outputs.clone()),
        reference: args.reference.clone(),
        state_dir: args.state_dir.clone(),
        changes: args.changes.then_some(true),
        ..FlagOverrides::default()
    }
}

/// Resolves a loaded configuration into run options; every problem is reported at once.
pub fn resolve_run(config: &Config, args: &RunArgs) -> Result<RunOptions, Vec<String>> {
    let mut errors = Vec::new();
    let mut opts = RunOptions {
        follow: args.follow,
        // SPEC §7: the server runs with --serve or --follow.
        serve: (args.serve || args.follow).then(|| crate::http::HttpOptions {
            bind_address: config.http.bind_address.clone(),
            port: config.http.port,
        }),
        api: crate::http::ApiOptions {
            api_keys: config.http.api_keys.clone(),
            serve_history_ms: config.http.serve_history_ms,
        },
        ..RunOptions::default()
    };
    let mut postgres = None;
    let inputs: Vec<String> = if config.pipeline.inputs.is_empty() {
        vec![format!("dir:{}", samples_dir().display())]
    } else {
        config.pipeline.inputs.clone()
    };
    for i in &inputs {
        match parse_input(i) {
            Ok(spec) => opts.inputs.push(spec),
            Err(e) => errors.push(e),
        }
    }
    for o in &config.output.sinks {
        match parse_output(o, config.output.changes) {
            Ok(spec) => opts.outputs.push(spec),
            Err(e) => errors.push(e),
        }
    }
    if opts
        .outputs
        .iter()
        .filter(|o| matches!(o, OutputSpec::Stdout))
        .count()
        > 1
    {
        errors.push("--output stdout given more than once".into());
    }
    opts.workers = config.cluster.workers.max(1) as usize;
    opts.processes = config.cluster.processes.max(1) as usize;
    let sources = crate::runtime::cluster::IndexSources {
        explicit: args.process_index.is_some()
            || std::env::var_os("DATA_PROC_PROCESS_INDEX").is_some(),
        pod_name: std::env::var("POD_NAME").ok().filter(|s| !s.is_empty()),
        hostname: std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()),
    };
    match crate::runtime::cluster::plan(&config.cluster, &sources) {
        Ok(plan) => {
            opts.process_index = plan.process_index;
            opts.peers = plan.peers;
        }
        Err(e) => errors.push(e),
    }
    opts.startup_timeout_ms = config.cluster.startup_timeout_ms;
    opts.hostfile = config.cluster.hostfile().map(Path::to_path_buf);
    opts.batch_max_bytes = config.pipeline.batch_max_bytes;
    opts.normalize = NormalizeConfig {
        default_tenant: config.pipeline.tenant_id.clone(),
        bounds: PriceBounds {
            min_price: config.normalization.min_price,
            max_price: config.normalization.max_price,
            per_market: Market::ISOS
                .iter()
                .map(|m| {
                    let (lo, hi) = config.normalization.bounds(*m);
                    (*m, lo, hi)
                })
                .collect(),
        },
        reference: match reference_snapshot(config, &mut postgres) {
            Ok(rows) => rows,
            Err(e) => {
                errors.push(e);
                None
            }
        },
    };
    opts.aggregation = aggregation_options(config);
    opts.kafka = crate::runtime::kafka_settings(&config.kafka, &mut errors);
    opts.idle_timeout_ms = config.aggregation.idle_timeout_ms;
    opts.commit_interval_ms = config.kafka.commit_interval_ms;
    if opts.follow
        && opts
            .inputs
            .iter()
            .any(|i| !matches!(i, crate::spec::InputSpec::Kafka { .. }))
    {
        errors.push("--follow is only available for kafka: inputs in this build".into());
    }
    opts.sinks = sink_options(config);
    opts.reference = crate::runtime::ReferenceOptions {
        // Only a snapshot that loaded is kept live (its directory is then known to be good).
        dir: match &opts.normalize.reference {
            Some(_) => reference_source_dir(&config.reference.source)
                .ok()
                .flatten(),
            None => None,
        },
        postgres,
        refresh_interval_ms: config.reference.refresh_interval_ms,
    };
    if errors.is_empty() {
        Ok(opts)
    } else {
        Err(errors)
    }
}

/// The server sinks' settings from `[clickhouse]`, `[redis]`, `[projection]` and `[output]`
/// (secrets exposed here only, to hand them to the clients).
pub fn sink_options(config: &Config) -> crate::runtime::SinkOptions {
    let path = |p: &Path| (!p.as_os_str().is_empty()).then(|| p.to_path_buf());
    let ch = &config.clickhouse;
    crate::runtime::SinkOptions {
        clickhouse: connectors::clickhouse::ClickhouseConfig {
            url: ch.url.clone(),
            database: ch.database.clone(),
            user: ch.user.clone(),
            password: ch.password.expose().to_string(),
            ca_path: path(&ch.ca_path),
            request_timeout_ms: ch.request_timeout_ms,
            batch_max_rows: usize::try_from(ch.batch_max_rows).unwrap_or(usize::MAX),
            buffer_max_bytes: usize::try_from(ch.buffer_max_bytes).unwrap_or(usize::MAX),
            insert_interval_ms: ch.insert_interval_ms,
            ttl_days: ch.ttl_days,
        },
        redis: connectors::redis::RedisConfig {
            url: config.redis.url.expose().to_string(),
            ca_path: path(&config.redis.ca_path),
            key_prefix: config.redis.key_prefix.clone(),
            ttl_seconds: config.projection.cache_ttl_seconds,
            ship_interval_ms: config.redis.ship_interval_ms,
            ..Default::default()
        },
        flush_interval_ms: config.output.flush_interval_ms,
        retry_max_backoff_ms: config.output.retry_max_backoff_ms,
        sort_memory_bytes: config.output.sort_memory_bytes,
    }
}

/// Bar intervals, watermarks and lateness from `[aggregation]` (market codes were validated
/// when the configuration loaded; unknown ones are ignored here).
pub fn aggregation_options(config: &Config) -> crate::runtime::AggregationOptions {
    let a = &config.aggregation;
    let ms = |v: Option<u64>| v.map(|x| i64::try_from(x).unwrap_or(i64::MAX));
    crate::runtime::AggregationOptions {
        intervals: a
            .bar_intervals
            .iter()
            .filter_map(|i| operators::model::BarInterval::from_name(i.name()))
            .collect(),
        watermark_delay_ms: ms(Some(a.watermark_delay_ms)).unwrap_or(0),
        allowed_lateness_ms: ms(Some(a.allowed_lateness_ms)).unwrap_or(0),
        markets: a
            .markets
            .iter()
            .filter_map(|(code, o)| {
                let m = Market::from_code(code)?;
                Some((m, ms(o.watermark_delay_ms), ms(o.allowed_lateness_ms)))
            })
            .collect(),
        sources: a
            .sources
            .iter()
            .map(|(src, o)| {
                (
                    src.clone(),
                    ms(o.watermark_delay_ms),
                    ms(o.allowed_lateness_ms),
                )
            })
            .collect(),
        latest_history: operators::latest::DEFAULT_HISTORY,
    }
}

/// Loads the configuration for `file` and `flags`, printing warnings; `Err` holds the exit code
/// after printing every error.
pub fn load_config(file: Option<&Path>, flags: &FlagOverrides) -> Result<Config, ExitCode> {
    match Config::load(file, &env_vars(), flags) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                eprintln!("warning: {w}");
            }
            Ok(loaded.config)
        }
        Err(errors) => {
            eprintln!("{errors}");
            Err(ExitCode::from(2))
        }
    }
}

/// Sets up `tracing` logs on stderr: human-readable text or JSON lines.
pub fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.logging.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match config.logging.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

fn run_command(args: RunArgs) -> ExitCode {
    let config = match load_config(args.config.as_deref(), &flag_overrides(&args)) {
        Ok(c) => c,
        Err(code) => return code,
    };
    init_logging(&config);
    let opts = match resolve_run(&config, &args) {
        Ok(o) => o,
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            return ExitCode::from(2);
        }
    };
    // SIGTERM/SIGINT drain the run (sources stop, sinks finish, positions are committed).
    crate::runtime::shutdown::install();
    crate::runtime::shutdown::watchdog(config.pipeline.shutdown_timeout_ms);
    match run(opts) {
        Ok(Some(report)) => {
            print!("{}", report.render());
            if report.total.sink_errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

//! The `tickflow` command line (SPEC §8), with clap derive; every flag that has a
//! `DATA_PROC_*` name reads it from the environment too (flags win).

use crate::runtime::{run, RunOptions};
use crate::spec::{parse_input, parse_output, OutputSpec};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

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

/// Flags of `tickflow run`.
#[derive(Debug, Args, Default)]
pub struct RunArgs {
    /// Input: file:PATH[?format=NAME], dir:PATH, generator:mode=…,count=…,seed=… (repeatable).
    #[arg(long = "input", value_name = "SPEC")]
    pub inputs: Vec<String>,
    /// Output: dir:PATH[?views=…], stdout, null (repeatable).
    #[arg(long = "output", value_name = "SPEC")]
    pub outputs: Vec<String>,
    /// Worker threads per process.
    #[arg(short = 'w', long, env = "DATA_PROC_WORKERS")]
    pub workers: Option<usize>,
    /// Number of processes in the cluster.
    #[arg(short = 'n', long, env = "DATA_PROC_PROCESSES")]
    pub processes: Option<usize>,
    /// Index of this process (0-based).
    #[arg(short = 'p', long = "process-index", env = "DATA_PROC_PROCESS_INDEX")]
    pub process_index: Option<usize>,
    /// File with one host:port per process.
    #[arg(long, env = "DATA_PROC_HOSTFILE")]
    pub hostfile: Option<PathBuf>,
    /// TOML configuration file.
    #[arg(long, env = "DATA_PROC_CONFIG")]
    pub config: Option<PathBuf>,
    /// Write `{view}.changes.*` update logs instead of final state.
    #[arg(long)]
    pub changes: bool,
    /// Log format.
    #[arg(long, value_parser = ["text", "json"], env = "DATA_PROC_LOG_FORMAT")]
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
    /// Output file (`-` for standard output).
    #[arg(long, default_value = "-")]
    pub output: String,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run_command(args),
        Command::Generate(args) => crate::generate_cmd::generate_command(args),
        Command::Config { action } => crate::config_cmd::config_command(action),
    }
}

/// Where the bundled samples live: `$TICKFLOW_SAMPLES`, `./samples`, or the repo's `samples/`.
pub fn samples_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("TICKFLOW_SAMPLES") {
        return PathBuf::from(p);
    }
    let local = PathBuf::from("samples");
    if local.join("README.md").is_file() {
        return local;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../samples")
}

/// Resolves `tickflow run` flags into run options; every problem is reported at once.
pub fn resolve_run(args: &RunArgs) -> Result<RunOptions, Vec<String>> {
    let mut errors = Vec::new();
    let mut opts = RunOptions::default();
    let inputs: Vec<String> = if args.inputs.is_empty() {
        vec![format!("dir:{}", samples_dir().display())]
    } else {
        args.inputs.clone()
    };
    for i in &inputs {
        match parse_input(i) {
            Ok(spec) => opts.inputs.push(spec),
            Err(e) => errors.push(e),
        }
    }
    let outputs = if args.outputs.is_empty() {
        vec!["dir:out".to_string()]
    } else {
        args.outputs.clone()
    };
    for o in &outputs {
        match parse_output(o, args.changes) {
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
    opts.workers = args.workers.unwrap_or(1);
    opts.processes = args.processes.unwrap_or(1);
    opts.process_index = args.process_index.unwrap_or(0);
    opts.hostfile = args.hostfile.clone();
    if opts.workers == 0 {
        errors.push("--workers must be at least 1".into());
    }
    if opts.processes == 0 {
        errors.push("--processes must be at least 1".into());
    }
    if opts.process_index >= opts.processes.max(1) {
        errors.push(format!(
            "--process-index {} is not below --processes {}",
            opts.process_index, opts.processes
        ));
    }
    if opts.processes > 1 && opts.hostfile.is_none() {
        errors.push("--hostfile is required with --processes > 1".into());
    }
    if errors.is_empty() {
        Ok(opts)
    } else {
        Err(errors)
    }
}

fn run_command(args: RunArgs) -> ExitCode {
    let opts = match resolve_run(&args) {
        Ok(o) => o,
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            return ExitCode::from(2);
        }
    };
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

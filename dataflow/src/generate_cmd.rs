//! `tickflow generate`: seeded, reproducible synthetic market data in any supported format, to a
//! file, standard output or Kafka (`--output kafka[:TOPIC]`, framed as [`crate::generate_kafka`]
//! describes), with a progress bar when standard error is a terminal.

use crate::cli::GenerateArgs;
use connectors::generator::{generate, sample_set, GenerateSpec, Mode, Pacer};
use operators::parse::Format;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// Builds the generation request from the flags; every problem is reported at once.
pub fn spec_from_args(args: &GenerateArgs) -> Result<GenerateSpec, Vec<String>> {
    let mut errors = Vec::new();
    let mode = Mode::from_name(&args.mode).unwrap_or_else(|| {
        errors.push(format!(
            "--mode {}: expected batch, historical, high-volume, malformed, late, corrections or continuous",
            args.mode
        ));
        Mode::Batch
    });
    let format = Format::from_name(&args.format).unwrap_or_else(|| {
        let known: Vec<_> = Format::ALL.iter().map(|f| f.name()).collect();
        errors.push(format!(
            "--format {}: expected one of {}",
            args.format,
            known.join(", ")
        ));
        Format::SimpleCsv
    });
    let mut spec = GenerateSpec::new(mode, format);
    spec.seed = args.seed;
    spec.count = args.count;
    if let Some(days) = args.days {
        if days == 0 {
            errors.push("--days must be at least 1".into());
        }
        spec.days = days;
    }
    if let Some(rate) = args.rate {
        if rate == 0 {
            errors.push("--rate must be at least 1 tick per second".into());
        }
        spec.rate = Some(rate as f64);
    }
    spec.zip = args.zip;
    let streams = args.output.starts_with("kafka") && format.is_record_stream();
    if mode == Mode::Continuous && args.output != "-" && !streams && args.count.is_none() {
        errors.push(
            "--mode continuous without --count never ends: write to standard output (--output -) or stream envelopes/simple-csv to kafka"
                .into(),
        );
    }
    if errors.is_empty() {
        Ok(spec)
    } else {
        Err(errors)
    }
}

/// Runs `tickflow generate`.
pub fn generate_command(args: GenerateArgs) -> ExitCode {
    if let Some(dir) = &args.sample_set {
        return match sample_set(dir) {
            Ok(files) => {
                for (format, path) in files {
                    eprintln!("wrote {} ({})", path.display(), format.name());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: --sample-set {}: {e}", dir.display());
                ExitCode::FAILURE
            }
        };
    }
    let spec = match spec_from_args(&args) {
        Ok(s) => s,
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            return ExitCode::from(2);
        }
    };
    if args.output == "kafka" || args.output.starts_with("kafka:") {
        return generate_to_kafka(&args, &spec);
    }
    let mut out: Box<dyn Write> = if args.output == "-" {
        Box::new(std::io::BufWriter::new(std::io::stdout().lock()))
    } else {
        match std::fs::File::create(&args.output) {
            Ok(f) => Box::new(std::io::BufWriter::with_capacity(1 << 20, f)),
            Err(e) => {
                eprintln!("error: --output {}: {e}", args.output);
                return ExitCode::FAILURE;
            }
        }
    };
    let bar = progress_bar(spec.item_count());
    let pacer = (spec.mode == Mode::Continuous).then(|| Pacer::new(spec.rate.unwrap_or(1000.0)));
    let mut progress = |n: u64| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
        if let Some(p) = &pacer {
            p.wait(n);
        }
    };
    let result = generate(&spec, &mut out, &mut progress)
        .and_then(|s| out.flush().map(|_| s).map_err(Into::into));
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    match result {
        Ok(summary) => {
            eprintln!(
                "generated {} items ({} observations, {} rows a parser must reject) as {}",
                summary.items,
                summary.observations,
                summary.dead_letters,
                spec.format.name()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--output kafka[:TOPIC]`: the generated items as messages (see [`crate::generate_kafka`]).
fn generate_to_kafka(args: &GenerateArgs, spec: &GenerateSpec) -> ExitCode {
    let settings = match crate::kafka_io::settings(args.config.as_deref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let topic = match args.output.strip_prefix("kafka:") {
        Some(t) if !t.is_empty() => Ok(t.to_string()),
        _ => crate::generate_kafka::default_topic(&settings, spec.format),
    };
    let mut writer = match topic.and_then(|t| {
        crate::generate_kafka::KafkaWriter::new(&settings, t.clone(), spec.format).map(|w| (w, t))
    }) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let bar = progress_bar(spec.item_count());
    let pacer = (spec.mode == Mode::Continuous).then(|| Pacer::new(spec.rate.unwrap_or(1000.0)));
    let mut progress = |n: u64| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
        if let Some(p) = &pacer {
            p.wait(n);
        }
    };
    let summary = generate(spec, &mut writer.0, &mut progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let result = summary
        .map_err(|e| e.to_string())
        .and_then(|s| writer.0.finish().map(|n| (s, n)));
    match result {
        Ok((summary, messages)) => {
            eprintln!(
                "produced {messages} messages to {} ({} items, {} observations, {} rows a parser must reject) as {}",
                writer.1,
                summary.items,
                summary.observations,
                summary.dead_letters,
                spec.format.name()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A progress bar on standard error when it is a terminal.
pub fn progress_bar(total: Option<u64>) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match total {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    Some(bar)
}

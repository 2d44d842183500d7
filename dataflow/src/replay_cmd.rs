//! `tickflow replay` (SPEC §8): historical replay by event-time range.
//!
//! Reads `file:PATH[?format=NAME]`, `dir:PATH` (each file) or `kafka:TOPIC` (every message now
//! in the topic), finds the event times of the records with the ordinary parsers, keeps the
//! units with a record in `[--from, --to)` and re-emits them in event-time order to
//! `kafka[:TOPIC]` or `file:PATH`, paced at `--speed N` × real time (the wall-clock gap between
//! two units is their event-time gap / N) or as fast as possible (`--speed max`).
//!
//! Unit of replay: an envelope line and a simple-CSV row (from files) are filtered one by one;
//! a native document, and any Kafka message, is replayed whole when any of its records is in
//! range, at the earliest in-range event time. Records no parser accepts have no event time and
//! are not replayed (counted as `skipped`). Exit 2 for bad flags, 1 for I/O or Kafka errors.

use crate::generate_kafka::{csv_key, default_topic, envelope_symbol};
use crate::kafka_io::{read_topic, settings, RawProducer};
use clap::Args;
use operators::model::{render::parse_rfc3339_ms, FeedInfo, FeedKind};
use operators::parse::{detect, parse_document, Document, Format, ParseCtx, ParseOutput};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Flags of `tickflow replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// `file:PATH[?format=NAME]`, `dir:PATH` or `kafka:TOPIC` (repeatable).
    #[arg(long = "input", value_name = "SPEC", required = true)]
    pub inputs: Vec<String>,
    /// `kafka[:TOPIC]` or `file:PATH` (envelopes and simple CSV only).
    #[arg(long, value_name = "SPEC")]
    pub output: String,
    /// First event time replayed (RFC 3339, inclusive).
    #[arg(long)]
    pub from: String,
    /// End of the range (RFC 3339, exclusive).
    #[arg(long)]
    pub to: String,
    /// Multiple of real time, or `max`.
    #[arg(long, default_value = "max")]
    pub speed: String,
    /// TOML configuration file (for Kafka).
    #[arg(long, env = "DATA_PROC_CONFIG")]
    pub config: Option<PathBuf>,
}

/// One replayable unit: a row, an envelope or a whole document.
#[derive(Clone, Debug)]
pub struct Unit {
    /// Earliest in-range event time, epoch ms.
    pub time_ms: i64,
    /// The unit's bytes (a row without its header).
    pub bytes: Vec<u8>,
    /// Its format.
    pub format: Format,
    /// The header line of a simple-CSV row.
    pub header: Option<Vec<u8>>,
}

impl Unit {
    /// The unit as a stand-alone document (a simple-CSV row gets its header).
    pub fn document(&self) -> Vec<u8> {
        match &self.header {
            Some(h) => [h.as_slice(), b"\n", &self.bytes, b"\n"].concat(),
            None => self.bytes.clone(),
        }
    }
}

/// Earliest event time of the records of `doc` within `[from, to)`.
fn in_range(doc: &[u8], format: Format, range: (i64, i64), ctx: &mut ParseCtx) -> Option<i64> {
    let feed = FeedInfo {
        id: 0,
        display: "replay".into(),
        kind: FeedKind::File,
    };
    let mut d = Document::whole(doc, &feed);
    d.format = Some(format);
    let mut out = ParseOutput::default();
    parse_document(&d, ctx, &mut out);
    out.ticks
        .iter()
        .map(|t| t.interval_start_ms)
        .filter(|t| *t >= range.0 && *t < range.1)
        .min()
}

/// Cuts one document into units and keeps those in range; returns the number skipped.
pub fn units_of(
    bytes: &[u8],
    format: Format,
    split_rows: bool,
    range: (i64, i64),
    out: &mut Vec<Unit>,
) -> u64 {
    let mut ctx = ParseCtx::default();
    let mut skipped = 0;
    if split_rows && format.is_record_stream() {
        let mut lines = bytes
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let header = if format == Format::SimpleCsv {
            lines.next().map(<[u8]>::to_vec)
        } else {
            None
        };
        for line in lines.filter(|l| !l.iter().all(u8::is_ascii_whitespace)) {
            let unit = Unit {
                time_ms: 0,
                bytes: line.to_vec(),
                format,
                header: header.clone(),
            };
            match in_range(&unit.document(), format, range, &mut ctx) {
                Some(t) => out.push(Unit { time_ms: t, ..unit }),
                None => skipped += 1,
            }
        }
    } else {
        match in_range(bytes, format, range, &mut ctx) {
            Some(t) => out.push(Unit {
                time_ms: t,
                bytes: bytes.to_vec(),
                format,
                header: None,
            }),
            None => skipped += 1,
        }
    }
    skipped
}

fn file_units(
    path: &Path,
    hint: Option<Format>,
    range: (i64, i64),
    out: &mut Vec<Unit>,
) -> Result<u64, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = path.file_name().and_then(|n| n.to_str());
    let format = match hint {
        Some(f) => f,
        None => detect(&bytes, name).map_err(|e| format!("{}: {e}", path.display()))?,
    };
    Ok(units_of(&bytes, format, true, range, out))
}

fn parse_speed(s: &str) -> Option<Option<f64>> {
    if s == "max" {
        return Some(None);
    }
    s.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x > 0.0)
        .map(Some)
}

/// Runs `tickflow replay`.
pub fn replay_command(args: ReplayArgs) -> ExitCode {
    let (Some(from), Some(to)) = (parse_rfc3339_ms(&args.from), parse_rfc3339_ms(&args.to)) else {
        eprintln!("error: --from/--to must be RFC 3339 times (2024-11-03T05:00:00Z)");
        return ExitCode::from(2);
    };
    let Some(speed) = parse_speed(&args.speed) else {
        eprintln!("error: --speed must be a positive number or max");
        return ExitCode::from(2);
    };
    let needs_kafka =
        args.output.starts_with("kafka") || args.inputs.iter().any(|i| i.starts_with("kafka:"));
    let kafka = if needs_kafka {
        match settings(args.config.as_deref()) {
            Ok(s) => Some(s),
            Err(code) => return code,
        }
    } else {
        None
    };
    let range = (from, to);
    let mut units = Vec::new();
    let mut skipped = 0;
    for input in &args.inputs {
        let r = match input.split_once(':') {
            Some(("file", rest)) => {
                let (path, hint) = match rest.split_once("?format=") {
                    Some((p, f)) => (p, Format::from_name(f)),
                    None => (rest, None),
                };
                file_units(Path::new(path), hint, range, &mut units)
            }
            Some(("dir", dir)) => std::fs::read_dir(dir)
                .map_err(|e| format!("{dir}: {e}"))
                .and_then(|entries| {
                    let mut paths: Vec<_> =
                        entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
                    paths.sort();
                    paths
                        .iter()
                        .try_fold(0, |n, p| Ok(n + file_units(p, None, range, &mut units)?))
                }),
            Some(("kafka", topic)) => kafka
                .as_ref()
                .ok_or_else(|| "no kafka settings".to_string())
                .and_then(|s| Ok((s, read_topic(s, topic)?)))
                .map(|(s, msgs)| {
                    let mut n = 0;
                    for m in msgs {
                        let hint = m
                            .format
                            .as_deref()
                            .and_then(Format::from_name)
                            .or_else(|| s.topic_format(topic));
                        match hint.or_else(|| detect(&m.payload, None).ok()) {
                            Some(f) => n += units_of(&m.payload, f, false, range, &mut units),
                            None => n += 1,
                        }
                    }
                    n
                }),
            _ => Err(format!(
                "--input {input}: expected file:PATH, dir:PATH or kafka:TOPIC"
            )),
        };
        match r {
            Ok(n) => skipped += n,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    units.sort_by_key(|u| u.time_ms);
    match emit(&args.output, kafka.as_ref(), &units, speed) {
        Ok(n) => {
            eprintln!(
                "replayed {n} units in [{}, {}) ({skipped} out of range or without event time)",
                args.from, args.to
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

enum Out {
    Kafka(RawProducer, Option<String>),
    File(std::io::BufWriter<std::fs::File>, bool),
}

fn emit(
    output: &str,
    kafka: Option<&connectors::kafka::KafkaSettings>,
    units: &[Unit],
    speed: Option<f64>,
) -> Result<u64, String> {
    let mut out = match (output.split_once(':'), kafka) {
        (Some(("file", path)), _) => {
            if units.iter().any(|u| !u.format.is_record_stream()) {
                return Err("--output file: takes envelopes and simple CSV only; replay native documents to kafka".into());
            }
            let f = std::fs::File::create(path).map_err(|e| format!("{path}: {e}"))?;
            Out::File(std::io::BufWriter::new(f), false)
        }
        (Some(("kafka", topic)), Some(s)) => {
            Out::Kafka(RawProducer::new(s)?, Some(topic.to_string()))
        }
        (None, Some(s)) if output == "kafka" => Out::Kafka(RawProducer::new(s)?, None),
        _ => {
            return Err(format!(
                "--output {output}: expected kafka[:TOPIC] or file:PATH"
            ))
        }
    };
    let bar = crate::generate_cmd::progress_bar(Some(units.len() as u64));
    let started = Instant::now();
    let first = units.first().map_or(0, |u| u.time_ms);
    for (i, u) in units.iter().enumerate() {
        if let Some(speed) = speed {
            let due = Duration::from_secs_f64((u.time_ms - first).max(0) as f64 / 1000.0 / speed);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        match &mut out {
            Out::Kafka(p, topic) => {
                let topic = match topic {
                    Some(t) => t.clone(),
                    None => default_topic(kafka.ok_or("no kafka settings")?, u.format)?,
                };
                let key = match (&u.header, u.format) {
                    (Some(h), _) => csv_key(h, &u.bytes),
                    (None, Format::Envelope) => envelope_symbol(&u.bytes),
                    _ => None,
                };
                p.send(
                    &topic,
                    key.as_deref().map(str::as_bytes),
                    &u.document(),
                    Some(u.format.name()),
                )?;
            }
            Out::File(w, header_written) => {
                let r = match &u.header {
                    Some(h) if !*header_written => {
                        *header_written = true;
                        w.write_all(h).and_then(|_| w.write_all(b"\n"))
                    }
                    _ => Ok(()),
                };
                r.and_then(|_| w.write_all(&u.bytes))
                    .and_then(|_| w.write_all(b"\n"))
                    .map_err(|e| e.to_string())?;
            }
        }
        if let Some(b) = &bar {
            b.set_position(i as u64 + 1);
        }
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    match &mut out {
        Out::Kafka(p, _) => p.flush()?,
        Out::File(w, _) => w.flush().map_err(|e| e.to_string())?,
    }
    Ok(units.len() as u64)
}

//! `tickflow dlq reprocess` (SPEC §8): re-runs dead letters through the parsers.
//!
//! Input: a `dead_letters.jsonl` (`file:PATH`, as the `dir:` sink writes it) or the dead-letter
//! topic (`kafka:TOPIC`, every message present now). `--from/--to`: integers select by position
//! (Kafka offset, or 0-based line of the file; `[from, to)`), RFC 3339 times by the letter's
//! `ingested_at` (the message timestamp on Kafka).
//!
//! Each letter's `raw_event` (base64-decoded when `raw_encoding` says so) is framed as a
//! document: an envelope or a whole native document stands alone; a CSV row gets the header
//! line of the document its `source` names: the file (`path:line`, read relative to the working
//! directory) or the Kafka message (`topic/partition@offset:line`, read from the brokers). It is parsed (format detected from content) and reported as `accepted N ticks`
//! or `still dead CODE: reason`. `--dry-run` writes nothing. Otherwise:
//! - `--output dir:PATH` writes `recovered_envelopes.jsonl` (recovered envelopes, one a line),
//!   `recovered_NNNN.csv` (each other recovered record as a stand-alone document) and
//!   `dead_letters.jsonl` (the letters still dead, new reason, `retry_count` + 1) — the first
//!   two are inputs for `tickflow run --input dir:PATH`;
//! - `--output kafka` produces recovered envelopes to the envelope topic and recovered
//!   documents to their market's topic (simple CSV to `--topic`), still-dead letters to the
//!   dead-letter topic.
//!
//! Exit 0 when every selected letter was handled, 1 on an I/O or Kafka error, 2 for bad flags.

use crate::kafka_io::{market_topic, read_message, read_topic, settings, RawProducer};
use base64::Engine as _;
use clap::{Args, Subcommand};
use connectors::kafka::encode::encode;
use connectors::sink::Update;
use operators::model::render::{parse_rfc3339_ms, push_dead_letter_json};
use operators::model::{DeadLetter, FeedInfo, FeedKind, FeedTable};
use operators::parse::{detect, parse_document, Document, Format, ParseCtx, ParseOutput};
use std::path::PathBuf;
use std::process::ExitCode;

/// `tickflow dlq` actions.
#[derive(Debug, Subcommand)]
pub enum DlqAction {
    /// Re-run dead letters through parsing and normalization.
    Reprocess(ReprocessArgs),
}

/// Flags of `tickflow dlq reprocess`.
#[derive(Debug, Args)]
pub struct ReprocessArgs {
    /// `file:PATH` (dead_letters.jsonl) or `kafka:TOPIC`.
    #[arg(long)]
    pub input: String,
    /// First letter: offset/line, or RFC 3339 time (inclusive).
    #[arg(long)]
    pub from: Option<String>,
    /// End: offset/line, or RFC 3339 time (exclusive).
    #[arg(long)]
    pub to: Option<String>,
    /// Report only; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// `dir:PATH` or `kafka`.
    #[arg(long)]
    pub output: Option<String>,
    /// Topic for recovered simple-CSV rows with `--output kafka`.
    #[arg(long)]
    pub topic: Option<String>,
    /// TOML configuration file (for Kafka).
    #[arg(long, env = "DATA_PROC_CONFIG")]
    pub config: Option<PathBuf>,
}

/// One letter read back: its position, time and JSON.
struct Letter {
    pos: i64,
    time_ms: Option<i64>,
    json: serde_json::Value,
}

/// What re-running one letter gave.
pub enum Outcome {
    /// Accepted now: the framed document, its format and the tick count.
    Accepted(Vec<u8>, Format, usize),
    /// Still rejected: the new dead letter (`retry_count` + 1).
    Dead(Box<DeadLetter>),
}

/// Re-runs one letter. `original(path)` returns the original document a letter's `source`
/// names (a file, or the Kafka message `topic/partition@offset`); a bare CSV row is re-framed
/// with its first line.
pub fn reprocess(
    json: &serde_json::Value,
    original: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Result<Outcome, String> {
    let text = json
        .get("raw_event")
        .and_then(|v| v.as_str())
        .ok_or("letter without raw_event")?;
    let raw = if json.get("raw_encoding").and_then(|v| v.as_str()) == Some("base64") {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| format!("raw_event: {e}"))?
    } else {
        text.as_bytes().to_vec()
    };
    let source = json.get("source").and_then(|v| v.as_str()).unwrap_or("dlq");
    let path = source.rsplit_once(':').map_or(source, |(p, _)| p);
    let name = std::path::Path::new(path)
        .file_name()
        .and_then(|n| n.to_str());
    let (doc, format) = match detect(&raw, name) {
        Ok(f) => (raw, Some(f)),
        Err(_) => {
            match original(path).and_then(|b| b.split(|&c| c == b'\n').next().map(<[u8]>::to_vec)) {
                Some(header) => {
                    let doc = [header.as_slice(), b"\n", &raw, b"\n"].concat();
                    let f = detect(&doc, name).ok();
                    (doc, f)
                }
                None => (raw, None),
            }
        }
    };
    let feed = FeedInfo {
        id: 0,
        display: path.to_string(),
        kind: FeedKind::File,
    };
    let mut d = Document::whole(&doc, &feed);
    d.format = format;
    d.name = name;
    let mut ctx = ParseCtx::default();
    let mut out = ParseOutput::default();
    parse_document(&d, &mut ctx, &mut out);
    if let (Some(f), true, false) = (format, out.dead.is_empty(), out.ticks.is_empty()) {
        return Ok(Outcome::Accepted(doc, f, out.ticks.len()));
    }
    let mut letter = match out.dead.into_iter().next() {
        Some(d) => d,
        None => return Err("the record parses to nothing".into()),
    };
    letter.source = source.to_string();
    letter.index = json.get("index").and_then(|v| v.as_u64()).unwrap_or(0) as u32;
    letter.retry_count = json
        .get("retry_count")
        .and_then(|v| v.as_u64())
        .unwrap_or(0) as u32
        + 1;
    Ok(Outcome::Dead(Box::new(letter)))
}

/// Parses a `--from/--to` bound: `Ok(Ok(position))` or `Ok(Err(time_ms))`.
fn bound(s: &str) -> Result<Result<i64, i64>, String> {
    s.parse::<i64>().map(Ok).or_else(|_| {
        parse_rfc3339_ms(s)
            .map(Err)
            .ok_or_else(|| format!("{s}: neither an offset nor an RFC 3339 time"))
    })
}

fn selected(l: &Letter, from: &Option<Result<i64, i64>>, to: &Option<Result<i64, i64>>) -> bool {
    let ok_from = match from {
        Some(Ok(p)) => l.pos >= *p,
        Some(Err(t)) => l.time_ms.is_some_and(|x| x >= *t),
        None => true,
    };
    let ok_to = match to {
        Some(Ok(p)) => l.pos < *p,
        Some(Err(t)) => l.time_ms.is_some_and(|x| x < *t),
        None => true,
    };
    ok_from && ok_to
}

/// Runs `tickflow dlq`.
pub fn dlq_command(action: DlqAction) -> ExitCode {
    let DlqAction::Reprocess(args) = action;
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &ReprocessArgs) -> Result<ExitCode, String> {
    let from = args.from.as_deref().map(bound).transpose()?;
    let to = args.to.as_deref().map(bound).transpose()?;
    let wants_kafka = args.input.starts_with("kafka:") || args.output.as_deref() == Some("kafka");
    let kafka = if wants_kafka {
        Some(settings(args.config.as_deref()).map_err(|_| "kafka settings".to_string())?)
    } else {
        None
    };
    let letters: Vec<Letter> = match args.input.split_once(':') {
        Some(("file", path)) => std::fs::read_to_string(path)
            .map_err(|e| format!("{path}: {e}"))?
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                let json: serde_json::Value =
                    serde_json::from_str(l).map_err(|e| format!("{path}:{}: {e}", i + 1))?;
                let time_ms = json
                    .get("ingested_at")
                    .and_then(|v| v.as_str())
                    .and_then(parse_rfc3339_ms);
                Ok(Letter {
                    pos: i as i64,
                    time_ms,
                    json,
                })
            })
            .collect::<Result<_, String>>()?,
        Some(("kafka", topic)) => read_topic(kafka.as_ref().ok_or("no kafka settings")?, topic)?
            .into_iter()
            .filter_map(|m| {
                let json = serde_json::from_slice(&m.payload).ok()?;
                Some(Letter {
                    pos: m.offset,
                    time_ms: m.timestamp_ms,
                    json,
                })
            })
            .collect(),
        _ => {
            return Ok(usage(&format!(
                "--input {}: expected file:PATH or kafka:TOPIC",
                args.input
            )))
        }
    };
    let mut producer = match (&kafka, args.output.as_deref(), args.dry_run) {
        (Some(s), Some("kafka"), false) => Some(RawProducer::new(s)?),
        _ => None,
    };
    let dir = match args.output.as_deref().and_then(|o| o.strip_prefix("dir:")) {
        Some(d) if !args.dry_run => {
            std::fs::create_dir_all(d).map_err(|e| format!("{d}: {e}"))?;
            Some(PathBuf::from(d))
        }
        _ => None,
    };
    if !args.dry_run && producer.is_none() && dir.is_none() {
        return Ok(usage(
            "--output dir:PATH or kafka is needed without --dry-run",
        ));
    }
    let lazy_kafka = std::cell::OnceCell::new();
    let original = |path: &str| -> Option<Vec<u8>> {
        let at = path.rsplit_once('@').and_then(|(tp, off)| {
            let (topic, part) = tp.rsplit_once('/')?;
            Some((topic, part.parse::<i32>().ok()?, off.parse::<i64>().ok()?))
        });
        if let Some((topic, partition, offset)) = at {
            let s = kafka.clone().or_else(|| {
                lazy_kafka
                    .get_or_init(|| settings(args.config.as_deref()).ok())
                    .clone()
            });
            if let Some(m) = s.and_then(|s| read_message(&s, topic, partition, offset)) {
                return Some(m);
            }
        }
        std::fs::read(path).ok()
    };
    let (mut envelopes, mut dead, mut accepted, mut docs) = (String::new(), String::new(), 0, 0);
    for l in letters.iter().filter(|l| selected(l, &from, &to)) {
        let id = l
            .json
            .get("event_id")
            .and_then(|v| v.as_str())
            .unwrap_or("?");
        match reprocess(&l.json, &original)? {
            Outcome::Accepted(doc, format, n) => {
                accepted += 1;
                println!("{id} accepted {n} ticks ({format})");
                if let (Some(p), Some(s)) = (&mut producer, &kafka) {
                    let topic = match (format, format.market()) {
                        (Format::Envelope, _) => Some(s.topics.in_envelopes.clone()),
                        (_, Some(m)) => market_topic(s, m.code()),
                        _ => args.topic.clone(),
                    };
                    let topic = topic.ok_or("--topic is needed for recovered simple-csv rows")?;
                    p.send(&topic, None, &doc, Some(format.name()))?;
                } else if format == Format::Envelope {
                    envelopes.push_str(String::from_utf8_lossy(&doc).trim_end());
                    envelopes.push('\n');
                } else if let Some(d) = &dir {
                    docs += 1;
                    let path = d.join(format!("recovered_{docs:04}.csv"));
                    std::fs::write(&path, &doc).map_err(|e| format!("{}: {e}", path.display()))?;
                }
            }
            Outcome::Dead(mut letter) => {
                let (code, why) = (letter.error_code.name(), &letter.error_message);
                println!("{id} still dead {code}: {why}");
                if let (Some(p), Some(s)) = (&mut producer, &kafka) {
                    // The message exactly as the Kafka sink writes dead letters.
                    letter.ingested_at_ms = now_ms();
                    let mut msgs = Vec::new();
                    encode(
                        Update::DeadLetter(&letter),
                        &FeedTable::default(),
                        &mut msgs,
                    );
                    for m in msgs {
                        let body = m.payload.as_bytes();
                        p.send(
                            &s.topics.out_dead_letters,
                            Some(m.key.as_bytes()),
                            body,
                            None,
                        )?;
                    }
                }
                push_dead_letter_json(&mut dead, &letter, false);
                dead.push('\n');
            }
        }
    }
    if let Some(p) = &mut producer {
        p.flush()?;
    }
    if let Some(d) = &dir {
        for (name, text) in [
            ("recovered_envelopes.jsonl", &envelopes),
            ("dead_letters.jsonl", &dead),
        ] {
            if !text.is_empty() {
                std::fs::write(d.join(name), text).map_err(|e| format!("{name}: {e}"))?;
            }
        }
    }
    let total = letters.iter().filter(|l| selected(l, &from, &to)).count();
    eprintln!(
        "reprocessed {total} dead letters: {accepted} accepted, {} still dead{}",
        total - accepted,
        if args.dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

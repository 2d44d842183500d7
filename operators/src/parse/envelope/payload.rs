//! An envelope's `raw_payload` → one row of its format: checksum, decoding (`json` or
//! `csv-line`), and the format from `metadata.format` or inferred from market and field names.

use super::contract::{Encoding, Envelope};
use crate::model::{ErrorCode, Market};
use crate::parse::fields::Columns;
use crate::parse::{detect, Format};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// A rejection: code and issues.
pub(crate) type Fail = (ErrorCode, Vec<String>);

fn violation(issue: String) -> Fail {
    (ErrorCode::ContractViolation, vec![issue])
}

/// Checks `checksum` (SHA-256 hex of the UTF-8 bytes of `raw_payload`) when present.
pub(crate) fn check_checksum(env: &Envelope<'_>) -> Result<(), Fail> {
    let Some(given) = env.checksum else {
        return Ok(());
    };
    let digest = Sha256::digest(env.raw_payload.as_bytes());
    let computed: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    if given.trim().eq_ignore_ascii_case(&computed) {
        Ok(())
    } else {
        Err(violation(format!(
            "checksum mismatch: payload.checksum is {given:?}, SHA-256 of raw_payload is {computed}"
        )))
    }
}

/// A decoded payload: a JSON object, or a CSV record with its columns.
pub(crate) enum Decoded {
    /// `encoding: json`.
    Json(Map<String, Value>),
    /// `encoding: csv-line`.
    Csv(csv::ByteRecord, Columns),
}

impl Decoded {
    /// The field names in order (lower-cased for CSV).
    fn names(&self) -> Vec<String> {
        match self {
            Decoded::Json(obj) => obj.keys().map(|k| k.trim().to_string()).collect(),
            Decoded::Csv(_, cols) => cols.names().to_vec(),
        }
    }

    /// The field texts in the order of [`Decoded::names`] (for detection only).
    fn texts(&self) -> Vec<String> {
        match self {
            Decoded::Json(obj) => obj
                .values()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                })
                .collect(),
            Decoded::Csv(rec, _) => rec
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect(),
        }
    }

    fn has(&self, name: &str) -> bool {
        match self {
            Decoded::Json(obj) => obj.keys().any(|k| k.trim().eq_ignore_ascii_case(name)),
            Decoded::Csv(_, cols) => cols.has(name),
        }
    }

    /// Adds a field (used to name a simple-CSV record's instrument by the envelope's symbol).
    fn push(&mut self, name: &str, value: &str) {
        match self {
            Decoded::Json(obj) => {
                obj.insert(name.to_string(), Value::String(value.to_string()));
            }
            Decoded::Csv(rec, cols) => {
                rec.push_field(value.as_bytes());
                let mut names: Vec<&[u8]> = cols.names().iter().map(|n| n.as_bytes()).collect();
                names.push(name.as_bytes());
                *cols = Columns::new(names);
            }
        }
    }
}

/// The column names of a `csv-line` payload: `metadata.columns` as an array of strings or one
/// comma-separated string.
fn columns(env: &Envelope<'_>) -> Result<Columns, Fail> {
    let Some(v) = env.metadata.and_then(|m| m.get("columns")) else {
        return Err(violation(
            "encoding csv-line needs payload.metadata.columns (the header)".to_string(),
        ));
    };
    match v {
        Value::Array(items) => {
            let mut names = Vec::with_capacity(items.len());
            for item in items {
                match item.as_str() {
                    Some(s) => names.push(s.as_bytes()),
                    None => {
                        return Err(violation(format!(
                            "payload.metadata.columns must hold strings, got {item}"
                        )))
                    }
                }
            }
            Ok(Columns::new(names))
        }
        Value::String(s) => {
            let (rec, _) = read_record(s.as_bytes()).map_err(|e| (ErrorCode::ParseError, vec![e]))?;
            Ok(Columns::new(rec.iter()))
        }
        other => Err(violation(format!(
            "payload.metadata.columns must be an array of names or a comma-separated string, got {other}"
        ))),
    }
}

/// Reads exactly one CSV record from `bytes` (a trailing line break is allowed).
fn read_record(bytes: &[u8]) -> Result<(csv::ByteRecord, usize), String> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut rec = csv::ByteRecord::new();
    match rdr.read_byte_record(&mut rec) {
        Ok(true) => {}
        Ok(false) => return Err("empty CSV line".to_string()),
        Err(e) => return Err(format!("bad CSV: {e}")),
    }
    let mut extra = csv::ByteRecord::new();
    match rdr.read_byte_record(&mut extra) {
        Ok(false) => {
            let n = rec.len();
            Ok((rec, n))
        }
        Ok(true) => Err("raw_payload holds more than one CSV line".to_string()),
        Err(e) => Err(format!("bad CSV: {e}")),
    }
}

/// Decodes `raw_payload` per its encoding.
pub(crate) fn decode(env: &Envelope<'_>) -> Result<Decoded, Fail> {
    match env.encoding {
        Encoding::Json => match serde_json::from_str::<Value>(env.raw_payload) {
            Ok(Value::Object(obj)) => Ok(Decoded::Json(obj)),
            Ok(other) => Err(violation(format!(
                "raw_payload with encoding json must be a JSON object, got {}",
                kind(&other)
            ))),
            Err(e) => Err((
                ErrorCode::ParseError,
                vec![format!("raw_payload is not valid JSON: {e}")],
            )),
        },
        Encoding::CsvLine => {
            let cols = columns(env)?;
            let (rec, n) = read_record(env.raw_payload.as_bytes())
                .map_err(|e| (ErrorCode::ParseError, vec![e]))?;
            if n != cols.len() {
                return Err((
                    ErrorCode::ParseError,
                    vec![format!("row has {n} fields, header has {}", cols.len())],
                ));
            }
            Ok(Decoded::Csv(rec, cols))
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Lower-case alphanumeric words of the envelope's descriptive fields (format hints).
fn hint_words(env: &Envelope<'_>) -> Vec<String> {
    let mut text = format!("{} {}", env.source_system, env.symbol);
    if let Some(meta) = env.metadata {
        for key in ["market_run", "run", "product", "report"] {
            if let Some(Value::String(s)) = meta.get(key) {
                text.push(' ');
                text.push_str(s);
            }
        }
    }
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Day-ahead (`Some(true)`) or real-time (`Some(false)`) from hint words; `None` when unclear.
fn day_ahead(words: &[String]) -> Option<bool> {
    let has = |set: &[&str]| words.iter().any(|w| set.contains(&w.as_str()));
    let da = has(&["da", "dam", "dayahead", "dalmp"]);
    let rt = has(&["rt", "rtm", "rtbm", "realtime", "final", "prelim", "rt5"]);
    match (da, rt) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

/// The payload's format: `metadata.format` when given, else inferred from the field names (and
/// one line of values), the envelope's market and its descriptive words.
pub(crate) fn format(env: &Envelope<'_>, decoded: &mut Decoded) -> Result<Format, Fail> {
    let market = Market::from_code(env.market);
    let format = match env.metadata.and_then(|m| m.get("format")) {
        Some(Value::String(name)) => Format::from_name(name)
            .ok_or_else(|| violation(format!("unknown payload.metadata.format {name:?}")))?,
        Some(other) if !other.is_null() => {
            return Err(violation(format!(
                "payload.metadata.format must be a format name, got {other}"
            )))
        }
        _ => infer(env, decoded, market)?,
    };
    if format == Format::Envelope {
        return Err(violation(
            "an envelope cannot carry an envelope".to_string(),
        ));
    }
    if let (Some(m), Some(fm)) = (market, format.market()) {
        if m != fm {
            return Err(violation(format!(
                "payload.market {:?} does not match format {}",
                env.market,
                format.name()
            )));
        }
    }
    if format == Format::SimpleCsv && !decoded.has("instrument_id") && !decoded.has("node") {
        // The envelope's symbol names the instrument of a record that names none.
        decoded.push("instrument_id", env.symbol);
    }
    Ok(format)
}

fn infer(env: &Envelope<'_>, decoded: &Decoded, market: Option<Market>) -> Result<Format, Fail> {
    let words = hint_words(env);
    let clean = |s: &str| s.replace([',', '"', '\n', '\r'], " ");
    let header: Vec<String> = decoded.names().iter().map(|n| clean(n)).collect();
    let values: Vec<String> = decoded.texts().iter().map(|v| clean(v)).collect();
    let fake = format!("{}\n{}\n", header.join(","), values.join(","));
    let detected = detect(fake.as_bytes(), Some(&words.join("_")));
    let inferred = match (detected, market) {
        (Ok(Format::PjmRt), _) if words.iter().any(|w| ["rt5", "fivemin", "5min"].contains(&w.as_str())) => {
            Ok(Format::PjmRt5)
        }
        (Ok(f), _) => Ok(f),
        (Err(_), Some(Market::Isone)) => match day_ahead(&words) {
            Some(true) => Ok(Format::IsoneDa),
            Some(false) => Ok(Format::IsoneRt),
            None => Err("an ISO-NE row whose market (day-ahead or real-time) cannot be told"),
        },
        (Err(_), Some(Market::Spp)) => match day_ahead(&words) {
            Some(true) => Ok(Format::SppDa),
            Some(false) => Ok(Format::SppRtbm),
            None => Err("an SPP row whose market (day-ahead or RTBM) cannot be told"),
        },
        (Err(_), Some(m @ (Market::Nyiso | Market::Miso | Market::Caiso))) => {
            return Err(violation(format!(
                "market {} has no stand-alone rows: its documents travel whole on the ingestion.{}.raw.v1 topic",
                m.code(),
                m.label()
            )))
        }
        (Err(_), _) => Err("the fields match no format"),
    };
    inferred.map_err(|why| {
        violation(format!(
            "cannot infer the payload format ({why}); set payload.metadata.format"
        ))
    })
}

/// Runs `f` with the decoded payload as a [`crate::parse::Row`].
pub(crate) fn with_row<R>(decoded: &Decoded, f: impl FnOnce(&crate::parse::Row<'_>) -> R) -> R {
    match decoded {
        Decoded::Json(obj) => f(&crate::parse::Row::Json(obj)),
        Decoded::Csv(rec, cols) => f(&crate::parse::Row::Csv {
            record: rec,
            columns: cols,
        }),
    }
}

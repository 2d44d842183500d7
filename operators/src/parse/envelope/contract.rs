//! The envelope contract (SPEC §2.2): which fields must be present, their types, and the
//! timestamp rules. Every violation found is reported, not only the first.

use crate::model::EpochMs;
use serde_json::{Map, Value};

/// Earliest accepted instant, 0001-01-01T00:00:00Z.
const MIN_MS: EpochMs = -62_135_596_800_000;
/// Latest accepted instant, 9999-12-31T23:59:59.999Z.
const MAX_MS: EpochMs = 253_402_300_799_999;

/// How `raw_payload` is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// A JSON object in the market's native field names.
    Json,
    /// One CSV line whose header is `metadata.columns`.
    CsvLine,
}

/// A validated envelope, borrowing from its parsed JSON.
#[derive(Debug)]
pub(crate) struct Envelope<'v> {
    pub ingested_at_ms: EpochMs,
    pub source_system: &'v str,
    pub market: &'v str,
    pub symbol: &'v str,
    pub raw_payload: &'v str,
    pub encoding: Encoding,
    pub metadata: Option<&'v Map<String, Value>>,
    pub checksum: Option<&'v str>,
}

/// What can be read from an envelope even when it breaks the contract (for its dead letter).
#[derive(Debug, Default)]
pub(crate) struct Salvage<'v> {
    pub tenant_id: Option<&'v str>,
    pub retry_count: u32,
}

/// Collects issues while reading fields.
struct Check<'v> {
    issues: Vec<String>,
    obj: &'v Map<String, Value>,
    prefix: &'static str,
}

impl<'v> Check<'v> {
    fn get(&self, name: &str) -> Option<&'v Value> {
        self.obj.get(name).filter(|v| !v.is_null())
    }

    fn missing(&mut self, name: &str) {
        self.issues
            .push(format!("missing field {}{name}", self.prefix));
    }

    fn mistyped(&mut self, name: &str, want: &str, got: &Value) {
        let got = match got {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        };
        self.issues.push(format!(
            "field {}{name} must be {want}, got {got}",
            self.prefix
        ));
    }

    fn opt_str(&mut self, name: &str) -> Option<&'v str> {
        match self.get(name)? {
            Value::String(s) => Some(s.as_str()),
            other => {
                self.mistyped(name, "a string", other);
                None
            }
        }
    }

    /// A required, non-empty string.
    fn str(&mut self, name: &str) -> Option<&'v str> {
        if self.get(name).is_none() {
            self.missing(name);
            return None;
        }
        let s = self.opt_str(name)?;
        if s.trim().is_empty() {
            self.issues
                .push(format!("field {}{name} must not be empty", self.prefix));
            return None;
        }
        Some(s)
    }

    fn opt_uint(&mut self, name: &str) -> Option<u64> {
        let v = self.get(name)?;
        match v.as_u64() {
            Some(n) => Some(n),
            None => {
                self.mistyped(name, "a non-negative integer", v);
                None
            }
        }
    }

    fn opt_int(&mut self, name: &str) -> Option<i64> {
        let v = self.get(name)?;
        match v.as_i64() {
            Some(n) => Some(n),
            None => {
                self.mistyped(name, "an integer", v);
                None
            }
        }
    }

    /// A required timestamp: an integer classified by size, or an RFC 3339 string.
    fn time(&mut self, name: &str) -> Option<EpochMs> {
        let Some(v) = self.get(name) else {
            self.missing(name);
            return None;
        };
        match timestamp_ms(v) {
            Ok(ms) => Some(ms),
            Err(why) => {
                self.issues
                    .push(format!("field {}{name}: {why}", self.prefix));
                None
            }
        }
    }
}

/// Epoch ms of an envelope timestamp. Numbers are classified by magnitude: below 1e11 seconds,
/// below 1e14 milliseconds, else microseconds (fractions allowed, truncated toward the past);
/// strings are RFC 3339 with any offset.
pub(crate) fn timestamp_ms(v: &Value) -> Result<EpochMs, String> {
    let ms = match v {
        Value::Number(n) => {
            let ms = if let Some(i) = n.as_i64() {
                let a = i.unsigned_abs();
                if a < 100_000_000_000 {
                    Some(i128::from(i) * 1000)
                } else if a < 100_000_000_000_000 {
                    Some(i128::from(i))
                } else {
                    Some(i128::from(i).div_euclid(1000))
                }
            } else if let Some(x) = n.as_f64().filter(|x| x.is_finite()) {
                let a = x.abs();
                let ms = if a < 1e11 {
                    x * 1000.0
                } else if a < 1e14 {
                    x
                } else {
                    x / 1000.0
                };
                // Saturating float-to-int conversion; the range check below rejects extremes.
                Some(ms.floor() as i128)
            } else {
                None
            };
            ms.ok_or_else(|| format!("not a usable timestamp: {n}"))?
        }
        Value::String(s) => crate::model::render::parse_rfc3339_ms(s)
            .map(i128::from)
            .ok_or_else(|| format!("not an RFC 3339 time: {s:?}"))?,
        other => {
            return Err(format!(
                "must be an integer or an RFC 3339 string, got {other}"
            ))
        }
    };
    if !(i128::from(MIN_MS)..=i128::from(MAX_MS)).contains(&ms) {
        return Err(format!("timestamp {v} is outside years 1..=9999"));
    }
    Ok(ms as EpochMs)
}

/// Reads what a dead letter needs from an envelope that may break the contract.
pub(crate) fn salvage(obj: &Map<String, Value>) -> Salvage<'_> {
    Salvage {
        tenant_id: obj
            .get("tenant_id")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty()),
        retry_count: obj
            .get("payload")
            .and_then(|p| p.get("retry_count"))
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
    }
}

/// Validates an envelope object against the contract.
///
/// Required: `event_id`, `trace_id`, `producer` (non-empty strings), `occurred_at`,
/// `ingested_at`, and `payload` with `source_system`, `market`, `symbol`, `raw_payload`
/// (strings; `raw_payload` may be empty only to fail later) and `received_at`. Optional:
/// `schema_version` (major version 1), `tenant_id`, `payload.sequence` (integer),
/// `payload.encoding` (`json` by default, or `csv-line`), `payload.metadata` (object),
/// `payload.retry_count` (non-negative integer) and `payload.checksum` (string). Unknown fields
/// are allowed.
pub(crate) fn validate(obj: &Map<String, Value>) -> Result<Envelope<'_>, Vec<String>> {
    let mut top = Check {
        issues: Vec::new(),
        obj,
        prefix: "",
    };
    top.str("event_id");
    top.str("trace_id");
    top.str("producer");
    if let Some(v) = top.opt_str("schema_version") {
        let major = v.trim().split('.').next().unwrap_or("");
        if major != "1" {
            top.issues.push(format!(
                "unsupported schema_version {v:?} (major version 1 expected)"
            ));
        }
    }
    top.opt_str("tenant_id");
    top.time("occurred_at");
    let ingested_at_ms = top.time("ingested_at");
    let payload = match top.get("payload") {
        None => {
            top.missing("payload");
            None
        }
        Some(Value::Object(p)) => Some(p),
        Some(other) => {
            top.mistyped("payload", "an object", other);
            None
        }
    };
    let mut issues = top.issues;
    let Some(payload) = payload else {
        return Err(issues);
    };
    let mut p = Check {
        issues: Vec::new(),
        obj: payload,
        prefix: "payload.",
    };
    let source_system = p.str("source_system");
    let market = p.str("market");
    let symbol = p.str("symbol");
    p.opt_int("sequence");
    p.time("received_at");
    let raw_payload = if p.get("raw_payload").is_none() {
        p.missing("raw_payload");
        None
    } else {
        p.opt_str("raw_payload")
    };
    let encoding = match p.opt_str("encoding").map(|e| e.trim().to_ascii_lowercase()) {
        None => Some(Encoding::Json),
        Some(e) if e == "json" => Some(Encoding::Json),
        Some(e) if e == "csv-line" => Some(Encoding::CsvLine),
        Some(e) => {
            p.issues.push(format!(
                "unsupported payload.encoding {e:?} (json or csv-line)"
            ));
            None
        }
    };
    let metadata = match p.get("metadata") {
        None => None,
        Some(Value::Object(m)) => Some(m),
        Some(other) => {
            p.mistyped("metadata", "an object", other);
            None
        }
    };
    p.opt_uint("retry_count");
    let checksum = p.opt_str("checksum");
    issues.extend(p.issues);
    match (
        ingested_at_ms,
        source_system,
        market,
        symbol,
        raw_payload,
        encoding,
    ) {
        (
            Some(ingested_at_ms),
            Some(source_system),
            Some(market),
            Some(symbol),
            Some(raw),
            Some(encoding),
        ) if issues.is_empty() => Ok(Envelope {
            ingested_at_ms,
            source_system,
            market,
            symbol,
            raw_payload: raw,
            encoding,
            metadata,
            checksum,
        }),
        _ => Err(issues),
    }
}

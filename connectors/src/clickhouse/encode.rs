//! Row encoding: one view update → one `JSONEachRow` object for its table, the record's identity
//! key and its data-derived row version. Pure: no I/O, deterministic.
//!
//! Row versions (`row_version`, the ReplacingMergeTree version) are even for a live row and odd
//! (`live | 1`) for the retraction of that row, so a retraction beats the row it retracts and a
//! later row with a greater data version beats the retraction:
//! - ticks: the tick's `version` (its number of arrivals: grows with every correction);
//! - bars: (`revision`, `is_final`): the revision grows whenever the bar changes, and finality
//!   is the last change of a bar;
//! - latest prices: (`interval_start`, the tick's `version`), as SPEC §6 asks: the latest price
//!   of an instrument only moves to a later interval or to a correction of the same tick;
//! - dead letters: `retry_count`;
//! - curve points: none from the data. A forward point's `as_of` and `version` can both go down
//!   (an interpolated point becoming priced by an older tick of its own instrument; a neighbour
//!   moving to a newer tick with fewer arrivals), so the sink numbers curve rows in write order
//!   instead (`sink.rs`).

use crate::clickhouse::ddl;
use operators::model::{
    render, Bar, CurvePoint, DeadLetter, EpochMs, FeedTable, LatestPrice, QualityFlags, Tick,
};
use std::fmt::Write as _;

/// The table of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TableId {
    /// `market_ticks`.
    Ticks,
    /// `ohlc_bars`.
    Bars,
    /// `latest_prices`.
    Latest,
    /// `curve_points`.
    Curves,
    /// `dead_letters`.
    DeadLetters,
}

impl TableId {
    /// Every table, in [`ddl::TABLES`] order.
    pub const ALL: [TableId; 5] = [
        TableId::Ticks,
        TableId::Bars,
        TableId::Latest,
        TableId::Curves,
        TableId::DeadLetters,
    ];

    /// The table's name.
    pub fn name(self) -> &'static str {
        ddl::TABLES[self as usize]
    }

    /// The `dir:` view stem of the table (metric label).
    pub fn view(self) -> &'static str {
        match self {
            TableId::Ticks => "ticks",
            TableId::Bars => "bars",
            TableId::Latest => "latest",
            TableId::Curves => "curves",
            TableId::DeadLetters => "dead_letters",
        }
    }
}

/// One encoded row without its `row_version` and `deleted` columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The table.
    pub table: TableId,
    /// The record's identity (the table's ORDER BY values), unique within the table.
    pub key: String,
    /// The JSON object of the row, open: without its closing `}`.
    pub json: String,
    /// The live row version derived from the data (even), `None` for curve points.
    pub version: Option<u64>,
}

impl Row {
    /// The complete JSON line with `row_version` and `deleted`.
    pub fn finish(&self, out: &mut String, row_version: u64, deleted: bool) {
        out.push_str(&self.json);
        let _ = writeln!(
            out,
            ",\"row_version\":{row_version},\"deleted\":{}}}",
            u8::from(deleted)
        );
    }
}

const SEP: char = '\u{1f}';

/// Saturating cap of the tick version inside a latest price's row version.
const LATEST_VERSION_BITS: u32 = 20;

/// Row version of a tick.
pub fn tick_version(t: &Tick) -> u64 {
    t.version.saturating_mul(2)
}

/// Row version of a bar: (revision, is_final).
pub fn bar_version(b: &Bar) -> u64 {
    (b.revision.min(u64::MAX >> 2) << 2) | (u64::from(b.is_final) << 1)
}

/// Row version of a latest price: (interval_start, tick version); interval starts before 1970
/// count as 1970 and versions saturate at 2^20 − 1.
pub fn latest_version(l: &LatestPrice) -> u64 {
    let start = l.interval_start_ms.clamp(0, (1 << 42) - 1) as u64;
    let v = l.version.min((1 << LATEST_VERSION_BITS) - 1);
    ((start << LATEST_VERSION_BITS) | v) << 1
}

fn push_str_field(out: &mut String, name: &str, v: &str) {
    let _ = write!(out, ",\"{name}\":");
    render::push_json_str(out, v);
}

fn push_opt_str(out: &mut String, name: &str, v: Option<&str>) {
    match v {
        Some(v) => push_str_field(out, name, v),
        None => {
            let _ = write!(out, ",\"{name}\":null");
        }
    }
}

/// Exact shortest round-trip form; non-finite values (never produced) as `null`.
fn push_f64(out: &mut String, name: &str, v: Option<f64>) {
    match v {
        Some(x) if x.is_finite() => {
            let _ = write!(out, ",\"{name}\":{x}");
        }
        _ => {
            let _ = write!(out, ",\"{name}\":null");
        }
    }
}

/// A `DateTime` text (`YYYY-MM-DD hh:mm:ss`, UTC, clamped to the type's range) and its `_ms`.
fn push_time(out: &mut String, name: &str, ms: EpochMs) {
    let secs = ms.div_euclid(1000).clamp(0, i64::from(u32::MAX));
    let (y, mo, d) = render::civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    let _ = write!(
        out,
        ",\"{name}\":\"{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}\",\"{name}_ms\":{ms}",
        s / 3600,
        (s / 60) % 60,
        s % 60
    );
}

fn push_flags(out: &mut String, flags: QualityFlags) {
    out.push_str(",\"quality_flags\":[");
    for (i, f) in flags.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "\"{}\"", f.name());
    }
    out.push(']');
}

/// Starts an object with its first string field (no leading comma).
fn open(name: &str, v: &str, capacity: usize) -> String {
    let mut out = String::with_capacity(capacity);
    let _ = write!(out, "{{\"{name}\":");
    render::push_json_str(&mut out, v);
    out
}

/// The `market_ticks` row of a tick.
pub fn tick_row(t: &Tick, feeds: &FeedTable) -> Row {
    let tick_id = operators::model::ids::tick_id(&t.identity()).to_string();
    let mut o = open("tenant_id", &t.tenant_id, 900);
    push_str_field(&mut o, "tick_id", &tick_id);
    push_str_field(&mut o, "instrument_id", &t.instrument_id);
    push_str_field(&mut o, "market", t.market.code());
    push_str_field(&mut o, "node", &t.node);
    push_str_field(&mut o, "market_run", &t.market_run);
    push_time(&mut o, "interval_start", t.interval_start_ms);
    push_time(&mut o, "interval_end", t.interval_end_ms);
    push_f64(&mut o, "price", Some(t.price));
    push_f64(&mut o, "energy", t.components.energy);
    push_f64(&mut o, "congestion", t.components.congestion);
    push_f64(&mut o, "loss", t.components.loss);
    push_f64(&mut o, "ghg", t.components.ghg);
    push_f64(&mut o, "volume", t.volume);
    push_f64(&mut o, "bid", t.bid);
    push_f64(&mut o, "ask", t.ask);
    push_opt_str(&mut o, "trade_id", t.trade_id.as_deref());
    o.push_str(",\"currency\":\"USD\",\"unit\":\"$/MWh\"");
    push_flags(&mut o, t.flags);
    let _ = write!(o, ",\"revision\":{},\"version\":{}", t.revision, t.version);
    push_str_field(&mut o, "source_system", &t.source_system);
    push_str_field(&mut o, "source", &feeds.render(&t.source));
    let e = t.enrichment.as_deref();
    push_opt_str(&mut o, "commodity", e.and_then(|e| e.commodity.as_deref()));
    push_opt_str(&mut o, "region", e.and_then(|e| e.region.as_deref()));
    push_opt_str(
        &mut o,
        "product_tier",
        e.and_then(|e| e.product_tier.as_deref()),
    );
    push_f64(&mut o, "contract_size", e.and_then(|e| e.contract_size));
    push_f64(&mut o, "tick_size", e.and_then(|e| e.tick_size));
    push_f64(
        &mut o,
        "classification_confidence",
        e.map(|e| e.classification_confidence),
    );
    push_opt_str(
        &mut o,
        "classification_method",
        e.map(|e| e.classification_method.name()),
    );
    push_time(&mut o, "ingested_at", t.ingested_at_ms);
    let mut key = String::with_capacity(80);
    let _ = write!(
        key,
        "{}{SEP}{}{SEP}{}{SEP}{tick_id}",
        t.tenant_id, t.instrument_id, t.interval_start_ms
    );
    Row {
        table: TableId::Ticks,
        key,
        json: o,
        version: Some(tick_version(t)),
    }
}

/// The `ohlc_bars` row of a bar.
pub fn bar_row(b: &Bar) -> Row {
    let mut o = open("tenant_id", &b.tenant_id, 600);
    push_str_field(&mut o, "instrument_id", &b.instrument_id);
    push_str_field(&mut o, "interval", b.interval.name());
    push_time(&mut o, "window_start", b.window_start_ms);
    push_time(&mut o, "window_end", b.window_end_ms);
    push_f64(&mut o, "open", Some(b.open));
    push_f64(&mut o, "high", Some(b.high));
    push_f64(&mut o, "low", Some(b.low));
    push_f64(&mut o, "close", Some(b.close));
    push_f64(&mut o, "volume", b.volume);
    push_f64(&mut o, "vwap", b.vwap);
    push_f64(&mut o, "twap", Some(b.twap));
    let _ = write!(o, ",\"trade_count\":{}", b.trade_count);
    push_time(&mut o, "first_at", b.first_at_ms);
    push_time(&mut o, "last_at", b.last_at_ms);
    let _ = write!(
        o,
        ",\"revision\":{},\"is_final\":{},\"bar_id\":\"{}\"",
        b.revision,
        u8::from(b.is_final),
        b.bar_id()
    );
    let key = format!(
        "{}{SEP}{}{SEP}{}{SEP}{}",
        b.tenant_id,
        b.instrument_id,
        b.interval.name(),
        b.window_start_ms
    );
    Row {
        table: TableId::Bars,
        key,
        json: o,
        version: Some(bar_version(b)),
    }
}

/// The `latest_prices` row of a latest price.
pub fn latest_row(l: &LatestPrice) -> Row {
    let mut o = open("tenant_id", &l.tenant_id, 300);
    push_str_field(&mut o, "instrument_id", &l.instrument_id);
    push_time(&mut o, "interval_start", l.interval_start_ms);
    push_time(&mut o, "interval_end", l.interval_end_ms);
    push_f64(&mut o, "price", Some(l.price));
    let _ = write!(o, ",\"version\":{}", l.version);
    push_flags(&mut o, l.flags);
    Row {
        table: TableId::Latest,
        key: format!("{}{SEP}{}", l.tenant_id, l.instrument_id),
        json: o,
        version: Some(latest_version(l)),
    }
}

/// The `curve_points` row of a curve point.
pub fn curve_row(p: &CurvePoint) -> Row {
    let mut o = open("tenant_id", &p.tenant_id, 400);
    push_str_field(&mut o, "curve_id", &p.curve_id);
    push_time(&mut o, "as_of", p.as_of_ms);
    push_str_field(&mut o, "tenor", &p.tenor);
    push_time(&mut o, "delivery_start", p.delivery_start_ms);
    push_time(&mut o, "delivery_end", p.delivery_end_ms);
    push_f64(&mut o, "price", Some(p.price));
    push_str_field(&mut o, "instrument_id", &p.instrument_id);
    let _ = write!(
        o,
        ",\"interpolated\":{},\"version\":{}",
        u8::from(p.interpolated),
        p.version
    );
    Row {
        table: TableId::Curves,
        key: curve_key(&p.tenant_id, &p.curve_id, p.delivery_start_ms, &p.tenor),
        json: o,
        version: None,
    }
}

/// The identity key of a curve point (also built from rows read back from the server).
pub fn curve_key(tenant: &str, curve_id: &str, delivery_start_ms: EpochMs, tenor: &str) -> String {
    format!("{tenant}{SEP}{curve_id}{SEP}{delivery_start_ms}{SEP}{tenor}")
}

/// The `dead_letters` row of a dead letter.
pub fn dead_letter_row(d: &DeadLetter) -> Row {
    use base64::Engine as _;
    let event_id = d.event_id().to_string();
    let mut o = open("event_id", &event_id, 400 + d.raw.len());
    push_str_field(&mut o, "failure_stage", d.failure_stage.name());
    push_str_field(&mut o, "error_code", d.error_code.name());
    push_str_field(&mut o, "error_message", &d.error_message);
    o.push_str(",\"issues\":[");
    for (i, issue) in d.issues.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        render::push_json_str(&mut o, issue);
    }
    o.push(']');
    push_str_field(&mut o, "source", &d.source);
    let _ = write!(o, ",\"index\":{}", d.index);
    match std::str::from_utf8(&d.raw) {
        Ok(text) => {
            push_str_field(&mut o, "raw_event", text);
            push_opt_str(&mut o, "raw_encoding", None);
        }
        Err(_) => {
            let b64 = base64::engine::general_purpose::STANDARD.encode(&d.raw);
            push_str_field(&mut o, "raw_event", &b64);
            push_opt_str(&mut o, "raw_encoding", Some("base64"));
        }
    }
    let _ = write!(o, ",\"raw_truncated\":{}", u8::from(d.raw_truncated));
    push_str_field(&mut o, "tenant_id", &d.tenant_id);
    push_time(&mut o, "ingested_at", d.ingested_at_ms);
    let _ = write!(o, ",\"retry_count\":{}", d.retry_count);
    Row {
        table: TableId::DeadLetters,
        key: event_id,
        json: o,
        version: Some(u64::from(d.retry_count) << 1),
    }
}

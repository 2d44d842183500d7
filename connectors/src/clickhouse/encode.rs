//! Row encoding: one view update → its table's row in `RowBinary` (columns in `ddl.rs` order,
//! see [`super::rowbinary`]), the record's identity key and its data-derived row version.
//! Pure: no I/O, deterministic. Binary rather than `JSONEachRow` because the server's JSON
//! parsing of ~40-column rows was most of the CPU of a Kafka → ClickHouse run (BENCHMARKS.md).
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
use crate::clickhouse::rowbinary as rb;
use operators::model::{
    Bar, CurvePoint, DeadLetter, EpochMs, FeedTable, LatestPrice, QualityFlags, Tick,
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
    /// The `RowBinary` bytes of every column but the last two (`row_version`, `deleted`).
    pub bytes: Vec<u8>,
    /// The live row version derived from the data (even), `None` for curve points.
    pub version: Option<u64>,
}

impl Row {
    /// Appends the complete `RowBinary` row, with `row_version` and `deleted`.
    pub fn finish(&self, out: &mut Vec<u8>, row_version: u64, deleted: bool) {
        out.extend_from_slice(&self.bytes);
        rb::u64(out, row_version);
        rb::u8(out, u8::from(deleted));
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

/// A time: its `DateTime('UTC')` column (seconds) and its exact `{name}_ms Int64` twin.
fn time(out: &mut Vec<u8>, ms: EpochMs) {
    rb::datetime_ms(out, ms);
    rb::i64(out, ms);
}

/// `quality_flags Array(String)`: the flag names in rendering order.
fn flags(out: &mut Vec<u8>, flags: QualityFlags) {
    rb::varint(out, flags.iter().count() as u64);
    for f in flags.iter() {
        rb::string(out, f.name());
    }
}

/// The `market_ticks` row of a tick.
pub fn tick_row(t: &Tick, feeds: &FeedTable) -> Row {
    let mut id_buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let tick_id: &str = operators::model::ids::tick_id(&t.identity())
        .hyphenated()
        .encode_lower(&mut id_buf);
    let mut o = Vec::with_capacity(512);
    rb::string(&mut o, &t.tenant_id);
    rb::string(&mut o, tick_id);
    rb::string(&mut o, &t.instrument_id);
    rb::string(&mut o, t.market.code());
    rb::string(&mut o, &t.node);
    rb::string(&mut o, &t.market_run);
    time(&mut o, t.interval_start_ms);
    time(&mut o, t.interval_end_ms);
    rb::f64(&mut o, t.price);
    let x = t.extras.get();
    rb::opt_f64(&mut o, x.components.energy);
    rb::opt_f64(&mut o, x.components.congestion);
    rb::opt_f64(&mut o, x.components.loss);
    rb::opt_f64(&mut o, x.components.ghg);
    rb::opt_f64(&mut o, t.volume);
    rb::opt_f64(&mut o, x.bid);
    rb::opt_f64(&mut o, x.ask);
    rb::opt_string(&mut o, t.trade_id.as_deref());
    rb::string(&mut o, "USD");
    rb::string(&mut o, "$/MWh");
    flags(&mut o, t.flags);
    rb::u64(&mut o, t.revision);
    rb::u64(&mut o, t.version);
    rb::string(&mut o, &t.source_system);
    let mut source = String::with_capacity(64);
    feeds.render_into(&t.source, &mut source);
    rb::string(&mut o, &source);
    let e = t.enrichment.as_deref();
    rb::opt_string(&mut o, e.and_then(|e| e.commodity.as_deref()));
    rb::opt_string(&mut o, e.and_then(|e| e.region.as_deref()));
    rb::opt_string(&mut o, e.and_then(|e| e.product_tier.as_deref()));
    rb::opt_f64(&mut o, e.and_then(|e| e.contract_size));
    rb::opt_f64(&mut o, e.and_then(|e| e.tick_size));
    rb::opt_f64(&mut o, e.map(|e| e.classification_confidence));
    rb::opt_string(&mut o, e.map(|e| e.classification_method.name()));
    time(&mut o, t.ingested_at_ms);
    let mut key = String::with_capacity(t.tenant_id.len() + t.instrument_id.len() + 64);
    key.push_str(&t.tenant_id);
    key.push(SEP);
    key.push_str(&t.instrument_id);
    key.push(SEP);
    let _ = write!(key, "{}", t.interval_start_ms);
    key.push(SEP);
    key.push_str(tick_id);
    Row {
        table: TableId::Ticks,
        key,
        bytes: o,
        version: Some(tick_version(t)),
    }
}

/// The `ohlc_bars` row of a bar.
pub fn bar_row(b: &Bar) -> Row {
    let mut o = Vec::with_capacity(256);
    rb::string(&mut o, &b.tenant_id);
    rb::string(&mut o, &b.instrument_id);
    rb::string(&mut o, b.interval.name());
    time(&mut o, b.window_start_ms);
    time(&mut o, b.window_end_ms);
    rb::f64(&mut o, b.open);
    rb::f64(&mut o, b.high);
    rb::f64(&mut o, b.low);
    rb::f64(&mut o, b.close);
    rb::opt_f64(&mut o, b.volume);
    rb::opt_f64(&mut o, b.vwap);
    rb::f64(&mut o, b.twap);
    rb::u64(&mut o, b.trade_count);
    time(&mut o, b.first_at_ms);
    time(&mut o, b.last_at_ms);
    rb::u64(&mut o, b.revision);
    rb::u8(&mut o, u8::from(b.is_final));
    rb::string(&mut o, &b.bar_id().to_string());
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
        bytes: o,
        version: Some(bar_version(b)),
    }
}

/// The `latest_prices` row of a latest price.
pub fn latest_row(l: &LatestPrice) -> Row {
    let mut o = Vec::with_capacity(128);
    rb::string(&mut o, &l.tenant_id);
    rb::string(&mut o, &l.instrument_id);
    time(&mut o, l.interval_start_ms);
    time(&mut o, l.interval_end_ms);
    rb::f64(&mut o, l.price);
    rb::u64(&mut o, l.version);
    flags(&mut o, l.flags);
    Row {
        table: TableId::Latest,
        key: format!("{}{SEP}{}", l.tenant_id, l.instrument_id),
        bytes: o,
        version: Some(latest_version(l)),
    }
}

/// The `curve_points` row of a curve point.
pub fn curve_row(p: &CurvePoint) -> Row {
    let mut o = Vec::with_capacity(160);
    rb::string(&mut o, &p.tenant_id);
    rb::string(&mut o, &p.curve_id);
    time(&mut o, p.as_of_ms);
    rb::string(&mut o, &p.tenor);
    time(&mut o, p.delivery_start_ms);
    time(&mut o, p.delivery_end_ms);
    rb::f64(&mut o, p.price);
    rb::string(&mut o, &p.instrument_id);
    rb::u8(&mut o, u8::from(p.interpolated));
    rb::u64(&mut o, p.version);
    Row {
        table: TableId::Curves,
        key: curve_key(&p.tenant_id, &p.curve_id, p.delivery_start_ms, &p.tenor),
        bytes: o,
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
    let mut o = Vec::with_capacity(256 + d.raw.len());
    rb::string(&mut o, &event_id);
    rb::string(&mut o, d.failure_stage.name());
    rb::string(&mut o, d.error_code.name());
    rb::string(&mut o, &d.error_message);
    rb::varint(&mut o, d.issues.len() as u64);
    for issue in &d.issues {
        rb::string(&mut o, issue);
    }
    rb::string(&mut o, &d.source);
    rb::u32(&mut o, d.index);
    // Same text as the `dir:` output: raw bytes that are not UTF-8 go as base64.
    match std::str::from_utf8(&d.raw) {
        Ok(text) => {
            rb::string(&mut o, text);
            rb::opt_string(&mut o, None);
        }
        Err(_) => {
            let b64 = base64::engine::general_purpose::STANDARD.encode(&d.raw);
            rb::string(&mut o, &b64);
            rb::opt_string(&mut o, Some("base64"));
        }
    }
    rb::u8(&mut o, u8::from(d.raw_truncated));
    rb::string(&mut o, &d.tenant_id);
    time(&mut o, d.ingested_at_ms);
    rb::u32(&mut o, d.retry_count);
    Row {
        table: TableId::DeadLetters,
        key: event_id,
        bytes: o,
        version: Some(u64::from(d.retry_count) << 1),
    }
}

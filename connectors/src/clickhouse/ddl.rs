//! The ClickHouse schema of SPEC §6 as SQL text: one database, five ReplacingMergeTree tables.
//!
//! Columns carry the `dir:` field names; every time is a `DateTime('UTC')` (second precision)
//! plus `{name}_ms Int64` (exact); flags and issues are `Array(String)`; booleans `UInt8`. Every
//! table adds `row_version UInt64` (the ReplacingMergeTree version; `version` is already a `dir:`
//! field of ticks, latest prices and curve points) and `deleted UInt8` (a retraction). The
//! ORDER BY of a table is the record identity, and its PARTITION BY derives from the identity
//! only, so every version of a record lands in the same part set and `FINAL` collapses them.
//!
//! The DDL is the same on every server except two additions where the server has them
//! ([`ServerFeatures`]): `LowCardinality(String)` on low-cardinality text columns and a `TTL`
//! on the history tables. ClickHouse 18.16 (Debian, used in tests) has neither (TTL came in
//! 19.6; LowCardinality needs an experimental setting before 19.x, and an unknown setting fails
//! the request there), so the statements stay plain for it. Pure text: nothing here does I/O.

/// What the connected server supports, from `SELECT version()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerFeatures {
    /// `TTL` clauses on MergeTree tables (≥ 19.6).
    pub ttl: bool,
    /// `LowCardinality(String)` without an experimental setting (≥ 19.9).
    pub low_cardinality: bool,
}

impl ServerFeatures {
    /// Features of a server reporting `version` (`18.16.1`, `24.3.2.23`, …); an unparseable
    /// version is treated as the oldest supported server.
    pub fn of_version(version: &str) -> ServerFeatures {
        let mut parts = version.trim().split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next().flatten().unwrap_or(0);
        let minor = parts.next().flatten().unwrap_or(0);
        let at_least = |ma: u32, mi: u32| (major, minor) >= (ma, mi);
        ServerFeatures {
            ttl: at_least(19, 6),
            low_cardinality: at_least(19, 9),
        }
    }

    /// The features of ClickHouse 18.16: none.
    pub const LEGACY: ServerFeatures = ServerFeatures {
        ttl: false,
        low_cardinality: false,
    };
}

/// The tables, in creation order.
pub const TABLES: [&str; 5] = [
    "market_ticks",
    "ohlc_bars",
    "latest_prices",
    "curve_points",
    "dead_letters",
];

/// A column: name and type; the type [`LC`] marks text worth `LowCardinality`.
struct Col(&'static str, &'static str);

const LC: &str = "LC";

/// A time column: `DateTime('UTC')` and its exact `{name}_ms Int64` twin.
fn time(name: &'static str) -> [Col; 2] {
    [Col(name, "DateTime('UTC')"), Col(ms_name(name), "Int64")]
}

fn ms_name(name: &'static str) -> &'static str {
    match name {
        "interval_start" => "interval_start_ms",
        "interval_end" => "interval_end_ms",
        "window_start" => "window_start_ms",
        "window_end" => "window_end_ms",
        "first_at" => "first_at_ms",
        "last_at" => "last_at_ms",
        "as_of" => "as_of_ms",
        "delivery_start" => "delivery_start_ms",
        "delivery_end" => "delivery_end_ms",
        _ => "ingested_at_ms",
    }
}

struct Table {
    name: &'static str,
    cols: Vec<Col>,
    partition: Option<&'static str>,
    order_by: &'static str,
    ttl_on: Option<&'static str>,
}

fn tables() -> Vec<Table> {
    let s = |n| Col(n, "String");
    let lc = |n| Col(n, LC);
    let f = |n| Col(n, "Float64");
    let nf = |n| Col(n, "Nullable(Float64)");
    let ns = |n| Col(n, "Nullable(String)");
    let u64c = |n| Col(n, "UInt64");
    let u8c = |n| Col(n, "UInt8");
    let arr = |n| Col(n, "Array(String)");
    let tail = || [u64c("row_version"), u8c("deleted")];
    let mut ticks = vec![
        lc("tenant_id"),
        s("tick_id"),
        s("instrument_id"),
        lc("market"),
        s("node"),
        lc("market_run"),
    ];
    ticks.extend(time("interval_start"));
    ticks.extend(time("interval_end"));
    ticks.extend([
        f("price"),
        nf("energy"),
        nf("congestion"),
        nf("loss"),
        nf("ghg"),
        nf("volume"),
        nf("bid"),
        nf("ask"),
        ns("trade_id"),
        lc("currency"),
        lc("unit"),
        arr("quality_flags"),
        u64c("revision"),
        u64c("version"),
        lc("source_system"),
        s("source"),
        ns("commodity"),
        ns("region"),
        ns("product_tier"),
        nf("contract_size"),
        nf("tick_size"),
        nf("classification_confidence"),
        ns("classification_method"),
    ]);
    ticks.extend(time("ingested_at"));
    ticks.extend(tail());

    let mut bars = vec![lc("tenant_id"), s("instrument_id"), lc("interval")];
    bars.extend(time("window_start"));
    bars.extend(time("window_end"));
    bars.extend([
        f("open"),
        f("high"),
        f("low"),
        f("close"),
        nf("volume"),
        nf("vwap"),
        f("twap"),
        u64c("trade_count"),
    ]);
    bars.extend(time("first_at"));
    bars.extend(time("last_at"));
    bars.extend([u64c("revision"), u8c("is_final"), s("bar_id")]);
    bars.extend(tail());

    let mut latest = vec![lc("tenant_id"), s("instrument_id")];
    latest.extend(time("interval_start"));
    latest.extend(time("interval_end"));
    latest.extend([f("price"), u64c("version"), arr("quality_flags")]);
    latest.extend(tail());

    let mut curves = vec![lc("tenant_id"), s("curve_id")];
    curves.extend(time("as_of"));
    curves.push(s("tenor"));
    curves.extend(time("delivery_start"));
    curves.extend(time("delivery_end"));
    curves.extend([
        f("price"),
        s("instrument_id"),
        u8c("interpolated"),
        u64c("version"),
    ]);
    curves.extend(tail());

    let mut dead = vec![
        s("event_id"),
        lc("failure_stage"),
        lc("error_code"),
        s("error_message"),
        arr("issues"),
        s("source"),
        Col("index", "UInt32"),
        s("raw_event"),
        ns("raw_encoding"),
        u8c("raw_truncated"),
        lc("tenant_id"),
    ];
    dead.extend(time("ingested_at"));
    dead.push(Col("retry_count", "UInt32"));
    dead.extend(tail());

    vec![
        Table {
            name: "market_ticks",
            cols: ticks,
            partition: Some("toYYYYMM(interval_start)"),
            order_by: "tenant_id, instrument_id, interval_start_ms, tick_id",
            ttl_on: Some("interval_start"),
        },
        Table {
            name: "ohlc_bars",
            cols: bars,
            partition: Some("toYYYYMM(window_start)"),
            // `bar_id` is the UUID of (instrument, tenant, interval, window_start). `interval`
            // itself must stay out of the key: 18.16 stores the key unquoted in its metadata
            // and then fails to parse its own table at the next server start.
            order_by: "tenant_id, instrument_id, window_start_ms, bar_id",
            ttl_on: None,
        },
        Table {
            name: "latest_prices",
            cols: latest,
            partition: None,
            order_by: "tenant_id, instrument_id",
            ttl_on: None,
        },
        Table {
            name: "curve_points",
            cols: curves,
            partition: Some("toYYYYMM(delivery_start)"),
            order_by: "tenant_id, curve_id, delivery_start_ms, tenor",
            ttl_on: Some("delivery_end"),
        },
        Table {
            name: "dead_letters",
            cols: dead,
            // ingested_at is wall clock, not identity: no partitioning by it.
            partition: None,
            order_by: "event_id",
            ttl_on: Some("ingested_at"),
        },
    ]
}

/// Quotes an identifier with backquotes (database names come from configuration).
pub fn ident(name: &str) -> String {
    format!("`{}`", name.replace('\\', "\\\\").replace('`', "\\`"))
}

/// `CREATE DATABASE IF NOT EXISTS` followed by one `CREATE TABLE IF NOT EXISTS` per table.
/// `ttl_days` = 0 adds no TTL even where the server supports it.
pub fn statements(database: &str, features: ServerFeatures, ttl_days: u32) -> Vec<String> {
    let db = ident(database);
    let mut out = vec![format!("CREATE DATABASE IF NOT EXISTS {db}")];
    for t in tables() {
        let cols: Vec<String> = t
            .cols
            .iter()
            .map(|Col(name, ty)| format!("    {} {}", ident(name), server_type(ty, features)))
            .collect();
        let mut sql = format!(
            "CREATE TABLE IF NOT EXISTS {db}.{} (\n{}\n) ENGINE = ReplacingMergeTree(row_version)",
            ident(t.name),
            cols.join(",\n")
        );
        if let Some(p) = t.partition {
            sql.push_str(&format!("\nPARTITION BY {p}"));
        }
        sql.push_str(&format!("\nORDER BY ({})", t.order_by));
        if let (Some(col), true, true) = (t.ttl_on, features.ttl, ttl_days > 0) {
            sql.push_str(&format!("\nTTL {col} + INTERVAL {ttl_days} DAY"));
        }
        out.push(sql);
    }
    out
}

/// The type of a column on a server with `features`.
fn server_type(ty: &'static str, features: ServerFeatures) -> &'static str {
    match ty {
        LC if features.low_cardinality => "LowCardinality(String)",
        LC => "String",
        other => other,
    }
}

/// The columns of `table` in DDL order with their types on a server with `features`: the
/// layout a `RowBinary` row of the table follows (empty for an unknown table).
pub fn column_types(table: &str, features: ServerFeatures) -> Vec<(&'static str, &'static str)> {
    tables()
        .into_iter()
        .find(|t| t.name == table)
        .map(|t| {
            t.cols
                .iter()
                .map(|c| (c.0, server_type(c.1, features)))
                .collect()
        })
        .unwrap_or_default()
}

/// The column names of `table` in DDL order (used by tests and readers).
pub fn columns(table: &str) -> Vec<&'static str> {
    tables()
        .into_iter()
        .find(|t| t.name == table)
        .map(|t| t.cols.iter().map(|c| c.0).collect())
        .unwrap_or_default()
}

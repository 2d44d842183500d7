//! Records for the connectors' tests (bars, latest prices, curve points, ticks).
#![allow(missing_docs)]

use operators::model::{
    Bar, BarInterval, CurvePoint, LatestPrice, Market, QualityFlags, SourcePos, Tick,
};
use std::sync::Arc;

pub const T0: i64 = 1_730_610_000_000; // 2024-11-03T05:00:00Z
pub const HOUR: i64 = 3_600_000;

pub fn latest(instrument: &str, start: i64, price: f64, version: u64) -> LatestPrice {
    LatestPrice {
        tenant_id: Arc::from("default"),
        instrument_id: Arc::from(instrument),
        interval_start_ms: start,
        interval_end_ms: start + HOUR,
        trade_id: None,
        source: SourcePos::default(),
        price,
        version,
        flags: QualityFlags(1),
    }
}

pub fn bar(instrument: &str, start: i64, close: f64, revision: u64, is_final: bool) -> Bar {
    Bar {
        tenant_id: Arc::from("default"),
        instrument_id: Arc::from(instrument),
        interval: BarInterval::H1,
        window_start_ms: start,
        window_end_ms: start + HOUR,
        open: 10.0,
        high: close.max(10.0),
        low: close.min(10.0),
        close,
        volume: None,
        vwap: None,
        twap: (10.0 + close) / 2.0,
        trade_count: 2,
        first_at_ms: start,
        last_at_ms: start + HOUR / 2,
        revision,
        is_final,
    }
}

pub fn point(curve: &str, tenor: &str, hour: i64, price: f64, interpolated: bool) -> CurvePoint {
    CurvePoint {
        tenant_id: Arc::from("default"),
        curve_id: Arc::from(curve),
        as_of_ms: T0,
        tenor: Arc::from(tenor),
        delivery_start_ms: T0 + hour * HOUR,
        delivery_end_ms: T0 + (hour + 1) * HOUR,
        price,
        instrument_id: Arc::from(format!("X.{tenor}")),
        interpolated,
        version: 1,
    }
}

pub fn tick(instrument: &str, start: i64, price: f64, version: u64) -> Tick {
    Tick {
        tenant_id: Arc::from("default"),
        instrument_id: Arc::from(instrument),
        market: Market::Pjm,
        node: Arc::from("N"),
        market_run: Arc::from("RT"),
        interval_start_ms: start,
        interval_end_ms: start + HOUR,
        price,
        volume: None,
        extras: Default::default(),
        trade_id: None,
        revision: 0,
        version,
        flags: QualityFlags(1),
        source_system: Arc::from("test"),
        source: SourcePos::default(),
        ingested_at_ms: T0,
        enrichment: None,
        horizon: Default::default(),
        slot: Default::default(),
    }
}

/// A name unique to this process and call, for databases and key prefixes.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

//! Served keys, values and versions of the Redis projection (SPEC §6). Pure: no I/O.
//!
//! - `served:latest_price:{tenant}:{instrument}` — the latest price as JSON (the `latest.csv`
//!   fields, rendered like `dir:`), version (interval_start, tick version);
//! - `served:bar:{tenant}:{instrument}:{interval}` — the bar with the greatest window start
//!   (the `bars.csv` fields), version (window_start, revision, is_final): an update of an
//!   older window never replaces a newer window's bar;
//! - `served:curve_snapshot:{tenant}:{curve_id}` — `{"tenant_id","curve_id","points":[…]}`
//!   with the `curves.jsonl` objects ordered by (delivery_start, tenor), maintained point by
//!   point from a hash of points (see `script.rs`).
//!
//! A version is a 40-digit string (two zero-padded `u64`s), so Lua compares it as bytes; the
//! low bit of the second number is 1 for the deletion of the value it retracts, which thereby
//! beats that value and loses to any later one.

use operators::model::{render, Bar, CurvePoint, LatestPrice};
use std::fmt::Write as _;

/// Channel every change is published on.
pub const CHANNEL: &str = "projection.updates";

/// The fixed-width, byte-comparable form of the version (a, b).
pub fn version(a: u64, b: u64) -> String {
    format!("{a:020}{b:020}")
}

/// Key of an instrument's latest price.
pub fn latest_key(prefix: &str, l: &LatestPrice) -> String {
    let parts = [
        prefix,
        "served:latest_price:",
        &l.tenant_id,
        ":",
        &l.instrument_id,
    ];
    let mut k = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    parts.iter().for_each(|p| k.push_str(p));
    k
}

/// Version of a latest price: (interval_start, tick version · 2).
pub fn latest_version(l: &LatestPrice, deleted: bool) -> String {
    version(
        l.interval_start_ms.max(0) as u64,
        l.version.saturating_mul(2) | u64::from(deleted),
    )
}

/// The latest price's JSON value: the `latest.csv` fields, rendered as `dir:` renders them.
pub fn latest_json(l: &LatestPrice) -> String {
    let mut o = String::with_capacity(200);
    o.push_str("{\"tenant_id\":");
    render::push_json_str(&mut o, &l.tenant_id);
    o.push_str(",\"instrument_id\":");
    render::push_json_str(&mut o, &l.instrument_id);
    o.push_str(",\"interval_start\":\"");
    render::push_time(&mut o, l.interval_start_ms);
    o.push_str("\",\"interval_end\":\"");
    render::push_time(&mut o, l.interval_end_ms);
    o.push_str("\",\"price\":");
    render::push_num(&mut o, l.price);
    let _ = write!(o, ",\"version\":{},\"quality_flags\":[", l.version);
    for (i, f) in l.flags.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        let _ = write!(o, "\"{}\"", f.name());
    }
    o.push_str("]}");
    o
}

/// Key of an instrument's last bar of one interval.
pub fn bar_key(prefix: &str, b: &Bar) -> String {
    format!(
        "{prefix}served:bar:{}:{}:{}",
        b.tenant_id,
        b.instrument_id,
        b.interval.name()
    )
}

/// Version of a bar: (window_start, (revision, is_final) · 2).
pub fn bar_version(b: &Bar, deleted: bool) -> String {
    let rev = (b.revision.min(u64::MAX >> 2) << 2) | (u64::from(b.is_final) << 1);
    version(b.window_start_ms.max(0) as u64, rev | u64::from(deleted))
}

/// The bar's JSON value: the `bars.csv` fields, rendered as `dir:` renders them.
pub fn bar_json(b: &Bar) -> String {
    let mut o = String::with_capacity(400);
    o.push_str("{\"tenant_id\":");
    render::push_json_str(&mut o, &b.tenant_id);
    o.push_str(",\"instrument_id\":");
    render::push_json_str(&mut o, &b.instrument_id);
    let _ = write!(o, ",\"interval\":\"{}\"", b.interval.name());
    for (name, t) in [
        ("window_start", b.window_start_ms),
        ("window_end", b.window_end_ms),
    ] {
        let _ = write!(o, ",\"{name}\":\"");
        render::push_time(&mut o, t);
        o.push('"');
    }
    for (name, x) in [
        ("open", b.open),
        ("high", b.high),
        ("low", b.low),
        ("close", b.close),
    ] {
        let _ = write!(o, ",\"{name}\":");
        render::push_num(&mut o, x);
    }
    o.push_str(",\"volume\":");
    render::push_opt_num_json(&mut o, b.volume);
    o.push_str(",\"vwap\":");
    render::push_opt_num_json(&mut o, b.vwap);
    o.push_str(",\"twap\":");
    render::push_num(&mut o, b.twap);
    let _ = write!(o, ",\"trade_count\":{}", b.trade_count);
    for (name, t) in [("first_at", b.first_at_ms), ("last_at", b.last_at_ms)] {
        let _ = write!(o, ",\"{name}\":\"");
        render::push_time(&mut o, t);
        o.push('"');
    }
    let _ = write!(
        o,
        ",\"revision\":{},\"is_final\":{},\"bar_id\":\"{}\"}}",
        b.revision,
        b.is_final,
        b.bar_id()
    );
    o
}

/// Key of a curve snapshot.
pub fn curve_key(prefix: &str, tenant: &str, curve_id: &str) -> String {
    format!("{prefix}served:curve_snapshot:{tenant}:{curve_id}")
}

/// The field of a point in the curve's points hash: fields sort as the snapshot's points.
pub fn point_field(p: &CurvePoint) -> String {
    format!("{:020}|{}", p.delivery_start_ms.max(0), p.tenor)
}

/// Version guarding a point: (as_of, version · 2) for a priced point, none (write order) for
/// an interpolated one. A forward point's data version can go down when its interpolation
/// neighbours change, so only a price of the point's own instrument is protected from an older
/// price of that instrument.
pub fn point_version(p: &CurvePoint) -> Option<String> {
    (!p.interpolated).then(|| version(p.as_of_ms.max(0) as u64, p.version.saturating_mul(2)))
}

/// The point's JSON (its `curves.jsonl` line).
pub fn point_json(p: &CurvePoint) -> String {
    let mut s = String::with_capacity(300);
    operators::model::push_curve_point_json(&mut s, p);
    s
}

/// The opening of a snapshot value up to its points array.
pub fn snapshot_head(tenant: &str, curve_id: &str) -> String {
    let mut o = String::from("{\"tenant_id\":");
    render::push_json_str(&mut o, tenant);
    o.push_str(",\"curve_id\":");
    render::push_json_str(&mut o, curve_id);
    o.push_str(",\"points\":[");
    o
}

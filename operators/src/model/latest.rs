//! The latest price of an instrument (SPEC §3 "Latest price") and its `latest.csv` rendering
//! (SPEC §6). Built by `latest::LatestBook`; rendering never fails.

use super::{render, EpochMs, QualityFlags, SourcePos, Sym, Tick};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt::Write as _;

/// One `latest.csv` row: the winning tick of an instrument with the greatest `interval_start`,
/// reduced to what the latest-price outputs carry (plus `trade_id` and `source`, which order it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatestPrice {
    /// Tenant.
    pub tenant_id: Sym,
    /// Instrument id.
    pub instrument_id: Sym,
    /// Interval start of the tick, epoch ms UTC.
    pub interval_start_ms: EpochMs,
    /// Interval end of the tick, epoch ms UTC.
    pub interval_end_ms: EpochMs,
    /// Trade id of the tick, if any.
    pub trade_id: Option<Sym>,
    /// Source position of the tick.
    pub source: SourcePos,
    /// Price.
    pub price: f64,
    /// The tick's `version` (number of arrivals of its identity).
    pub version: u64,
    /// The tick's quality flags.
    pub flags: QualityFlags,
}

/// The `latest.csv` header (SPEC §6), without a line break.
pub const LATEST_CSV_HEADER: &str =
    "tenant_id,instrument_id,interval_start,interval_end,price,version,quality_flags";

impl LatestPrice {
    /// The latest-price row of a tick.
    pub fn of(t: &Tick) -> LatestPrice {
        LatestPrice {
            tenant_id: t.tenant_id.clone(),
            instrument_id: t.instrument_id.clone(),
            interval_start_ms: t.interval_start_ms,
            interval_end_ms: t.interval_end_ms,
            trade_id: t.trade_id.clone(),
            source: t.source,
            price: t.price,
            version: t.version,
            flags: t.flags,
        }
    }

    /// "Newer than" order of two rows of one instrument: (interval_start, interval_end, trade_id,
    /// source position), then price bits, version and flags so that the order is total.
    pub fn recency_cmp(&self, other: &LatestPrice) -> Ordering {
        (
            self.interval_start_ms,
            self.interval_end_ms,
            &self.trade_id,
            self.source,
        )
            .cmp(&(
                other.interval_start_ms,
                other.interval_end_ms,
                &other.trade_id,
                other.source,
            ))
            .then_with(|| self.price.total_cmp(&other.price))
            .then_with(|| (self.version, self.flags.0).cmp(&(other.version, other.flags.0)))
    }

    /// The `latest.csv` sort key (SPEC §6): tenant, instrument, interval_start, interval_end, trade_id.
    pub fn sort_key(&self) -> (&str, &str, EpochMs, EpochMs, Option<&str>) {
        (
            &self.tenant_id,
            &self.instrument_id,
            self.interval_start_ms,
            self.interval_end_ms,
            self.trade_id.as_deref(),
        )
    }

    /// Appends this row as one `latest.csv` line (flags `;`-joined), no line break.
    pub fn push_csv(&self, out: &mut String) {
        render::push_csv_field(out, &self.tenant_id);
        out.push(',');
        render::push_csv_field(out, &self.instrument_id);
        out.push(',');
        render::push_time(out, self.interval_start_ms);
        out.push(',');
        render::push_time(out, self.interval_end_ms);
        out.push(',');
        render::push_num(out, self.price);
        let _ = write!(out, ",{},", self.version);
        for (i, f) in self.flags.iter().enumerate() {
            if i > 0 {
                out.push(';');
            }
            out.push_str(f.name());
        }
    }

    /// This row as one `latest.csv` line without a line break.
    pub fn csv_line(&self) -> String {
        let mut s = String::with_capacity(120);
        self.push_csv(&mut s);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::QualityFlag;
    use std::sync::Arc;

    fn row() -> LatestPrice {
        LatestPrice {
            tenant_id: Arc::from("default"),
            instrument_id: Arc::from("PJM.RT.PJM-RTO"),
            interval_start_ms: 1_730_610_000_000,
            interval_end_ms: 1_730_613_600_000,
            trade_id: None,
            source: SourcePos::default(),
            price: -4.5,
            version: 2,
            flags: QualityFlags::default(),
        }
    }

    #[test]
    fn csv_line_is_exact() {
        assert_eq!(LATEST_CSV_HEADER.split(',').count(), 7);
        let mut r = row();
        assert_eq!(
            r.csv_line(),
            "default,PJM.RT.PJM-RTO,2024-11-03T05:00:00Z,2024-11-03T06:00:00Z,-4.5,2,"
        );
        r.flags.insert(QualityFlag::Corrected);
        r.flags.insert(QualityFlag::PriceNegative);
        r.flags.insert(QualityFlag::Valid);
        r.instrument_id = Arc::from("X\"Y");
        assert_eq!(
            r.csv_line(),
            "default,\"X\"\"Y\",2024-11-03T05:00:00Z,2024-11-03T06:00:00Z,-4.5,2,\
             valid;price_negative;corrected"
        );
    }

    #[test]
    fn recency_orders_by_start_end_trade_then_source() {
        let a = row();
        let mut b = row();
        b.interval_end_ms += 1;
        assert_eq!(a.recency_cmp(&b), Ordering::Less);
        let mut c = row();
        c.trade_id = Some(Arc::from("t1"));
        assert_eq!(a.recency_cmp(&c), Ordering::Less); // no trade id sorts first
        let mut d = row();
        d.source.line = 9;
        d.price = -100.0;
        assert_eq!(a.recency_cmp(&d), Ordering::Less);
        let mut e = row();
        e.price = 1.0;
        assert_eq!(a.recency_cmp(&e), Ordering::Less);
        assert_eq!(a.recency_cmp(&a.clone()), Ordering::Equal);
    }
}

//! OHLC bars (SPEC §3 "Bar") and their `bars.csv` rendering (SPEC §6).
//!
//! A [`Bar`] is the aggregate of the live ticks of one (tenant, instrument) whose `interval_start`
//! falls in one window of one [`BarInterval`]. Bars are built by `window::BarAcc` and flow as
//! differential updates; rendering never fails (a non-finite number renders as `null` text, which
//! validated ticks never produce).

use super::{ids, render, EpochMs, Sym};
use serde::{Deserialize, Serialize};
use std::fmt;

const MINUTE_MS: i64 = 60_000;
/// Milliseconds in a UTC day (the nominal length of a `1d` bar; local operating days vary).
pub const DAY_MS: i64 = 86_400_000;

/// A bar interval (SPEC §3: `1m 5m 15m 1h 1d`). Orders by duration, which is the `bars.csv` sort
/// order of the interval column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum BarInterval {
    /// One minute, aligned to the UTC epoch.
    M1,
    /// Five minutes, aligned to the UTC epoch.
    M5,
    /// Fifteen minutes, aligned to the UTC epoch.
    M15,
    /// One hour, aligned to the UTC epoch.
    H1,
    /// The market's operating day in local prevailing time (23, 24 or 25 hours).
    D1,
}

impl BarInterval {
    /// Every interval, shortest first.
    pub const ALL: [BarInterval; 5] = [
        BarInterval::M1,
        BarInterval::M5,
        BarInterval::M15,
        BarInterval::H1,
        BarInterval::D1,
    ];

    /// The default set (`5m,1h,1d`).
    pub const DEFAULT: [BarInterval; 3] = [BarInterval::M5, BarInterval::H1, BarInterval::D1];

    /// The interval's name as configured and rendered (`1m`, `5m`, `15m`, `1h`, `1d`).
    pub fn name(self) -> &'static str {
        match self {
            BarInterval::M1 => "1m",
            BarInterval::M5 => "5m",
            BarInterval::M15 => "15m",
            BarInterval::H1 => "1h",
            BarInterval::D1 => "1d",
        }
    }

    /// Parses a name (surrounding spaces ignored, case-insensitive); `None` when unknown.
    pub fn from_name(s: &str) -> Option<BarInterval> {
        let s = s.trim();
        BarInterval::ALL
            .into_iter()
            .find(|i| i.name().eq_ignore_ascii_case(s))
    }

    /// Parses a comma-separated list (`"5m,1h,1d"`) into a sorted set without duplicates.
    /// Empty items are skipped; an unknown item is an error naming it.
    pub fn parse_list(s: &str) -> Result<Vec<BarInterval>, UnknownInterval> {
        let mut out = Vec::new();
        for item in s.split(',').map(str::trim).filter(|x| !x.is_empty()) {
            out.push(BarInterval::from_name(item).ok_or_else(|| UnknownInterval(item.into()))?);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Fixed duration of a sub-day interval; `None` for `1d`, whose length depends on the market
    /// and the date (see `window::WindowAssigner`).
    pub fn duration_ms(self) -> Option<i64> {
        match self {
            BarInterval::M1 => Some(MINUTE_MS),
            BarInterval::M5 => Some(5 * MINUTE_MS),
            BarInterval::M15 => Some(15 * MINUTE_MS),
            BarInterval::H1 => Some(60 * MINUTE_MS),
            BarInterval::D1 => None,
        }
    }

    /// Nominal duration (24 h for `1d`): for sorting and sizing, never for window arithmetic.
    pub fn nominal_ms(self) -> i64 {
        self.duration_ms().unwrap_or(DAY_MS)
    }

    /// Dense index 0..5 in [`BarInterval::ALL`] order, for per-interval arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for BarInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A bar interval name that is not one of `1m 5m 15m 1h 1d`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownInterval(pub String);

impl fmt::Display for UnknownInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown bar interval {:?} (expected 1m, 5m, 15m, 1h or 1d)",
            self.0
        )
    }
}

impl std::error::Error for UnknownInterval {}

/// One OHLC bar (SPEC §3). Prices are in the ticks' unit ($/MWh); times are epoch ms UTC.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    /// Tenant.
    pub tenant_id: Sym,
    /// Instrument id.
    pub instrument_id: Sym,
    /// Interval.
    pub interval: BarInterval,
    /// Window start (inclusive).
    pub window_start_ms: EpochMs,
    /// Window end (exclusive).
    pub window_end_ms: EpochMs,
    /// Price of the earliest tick by (interval_start, interval_end, trade_id, source position).
    pub open: f64,
    /// Highest price.
    pub high: f64,
    /// Lowest price.
    pub low: f64,
    /// Price of the latest tick in the same order as `open`.
    pub close: f64,
    /// Sum of the ticks' volumes; `None` when no tick has a volume.
    pub volume: Option<f64>,
    /// Volume-weighted average price over the ticks with a volume; `None` without volume.
    pub vwap: Option<f64>,
    /// Time-weighted average price (see `window::ohlc` for the weighting).
    pub twap: f64,
    /// Number of ticks.
    pub trade_count: u64,
    /// Smallest `interval_start` of the ticks.
    pub first_at_ms: EpochMs,
    /// Greatest `interval_start` of the ticks.
    pub last_at_ms: EpochMs,
    /// Sum of the ticks' `version`s: the number of accepted arrivals of the bar's identities.
    pub revision: u64,
    /// True once the window is closed for good (SPEC §4).
    pub is_final: bool,
}

/// The `bars.csv` header (SPEC §6), without a line break.
pub const BARS_CSV_HEADER: &str = "tenant_id,instrument_id,interval,window_start,window_end,open,high,low,close,volume,vwap,twap,trade_count,first_at,last_at,revision,is_final,bar_id";

impl Bar {
    /// The deterministic `bar_id` (SPEC §3), computed on demand (UUIDv5 over the bar's key).
    pub fn bar_id(&self) -> uuid::Uuid {
        ids::bar_id(
            &self.instrument_id,
            &self.tenant_id,
            self.interval.name(),
            self.window_start_ms,
        )
    }

    /// The `bars.csv` sort key (SPEC §6): tenant, instrument, interval duration, window start.
    pub fn sort_key(&self) -> (&str, &str, BarInterval, EpochMs) {
        (
            &self.tenant_id,
            &self.instrument_id,
            self.interval,
            self.window_start_ms,
        )
    }

    /// Appends this bar as one `bars.csv` line, columns as [`BARS_CSV_HEADER`], no line break.
    pub fn push_csv(&self, out: &mut String) {
        render::push_csv_field(out, &self.tenant_id);
        out.push(',');
        render::push_csv_field(out, &self.instrument_id);
        out.push(',');
        out.push_str(self.interval.name());
        out.push(',');
        render::push_time(out, self.window_start_ms);
        out.push(',');
        render::push_time(out, self.window_end_ms);
        for x in [self.open, self.high, self.low, self.close] {
            out.push(',');
            render::push_num(out, x);
        }
        out.push(',');
        render::push_opt_num_csv(out, self.volume);
        out.push(',');
        render::push_opt_num_csv(out, self.vwap);
        out.push(',');
        render::push_num(out, self.twap);
        out.push(',');
        render::push_u64(out, self.trade_count);
        out.push(',');
        render::push_time(out, self.first_at_ms);
        out.push(',');
        render::push_time(out, self.last_at_ms);
        out.push(',');
        render::push_u64(out, self.revision);
        out.push_str(if self.is_final { ",true," } else { ",false," });
        let mut id = [0u8; uuid::fmt::Hyphenated::LENGTH];
        out.push_str(self.bar_id().hyphenated().encode_lower(&mut id));
    }

    /// This bar as one `bars.csv` line without a line break.
    pub fn csv_line(&self) -> String {
        let mut s = String::with_capacity(200);
        self.push_csv(&mut s);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::render::parse_rfc3339_ms;
    use std::sync::Arc;

    #[test]
    fn interval_names_round_trip_and_order_by_duration() {
        for i in BarInterval::ALL {
            assert_eq!(BarInterval::from_name(i.name()), Some(i));
            assert_eq!(i.to_string(), i.name());
            assert_eq!(BarInterval::ALL[i.index()], i);
        }
        assert_eq!(BarInterval::from_name(" 1H "), Some(BarInterval::H1));
        assert_eq!(BarInterval::from_name("2h"), None);
        assert_eq!(BarInterval::from_name(""), None);
        assert!(BarInterval::ALL
            .windows(2)
            .all(|w| w[0] < w[1] && w[0].nominal_ms() < w[1].nominal_ms()));
        assert_eq!(BarInterval::M15.duration_ms(), Some(900_000));
        assert_eq!(BarInterval::D1.duration_ms(), None);
        assert_eq!(BarInterval::D1.nominal_ms(), DAY_MS);
    }

    #[test]
    fn interval_lists_parse_sorted_and_reject_unknown_names() {
        assert_eq!(
            BarInterval::parse_list("1d, 5m,1h,5m,").unwrap(),
            BarInterval::DEFAULT.to_vec()
        );
        assert_eq!(BarInterval::parse_list("").unwrap(), vec![]);
        let err = BarInterval::parse_list("5m,1w").unwrap_err();
        assert_eq!(err, UnknownInterval("1w".into()));
        assert!(err.to_string().contains("\"1w\""));
    }

    fn sample() -> Bar {
        let start = parse_rfc3339_ms("2024-11-03T05:00:00Z").unwrap();
        Bar {
            tenant_id: Arc::from("default"),
            instrument_id: Arc::from("PJM.RT.PJM-RTO"),
            interval: BarInterval::H1,
            window_start_ms: start,
            window_end_ms: start + 3_600_000,
            open: 25.5,
            high: 31.25,
            low: -4.88685,
            close: 30.0,
            volume: None,
            vwap: None,
            twap: 27.0000004,
            trade_count: 12,
            first_at_ms: start,
            last_at_ms: start + 3_300_000,
            revision: 13,
            is_final: false,
        }
    }

    #[test]
    fn bar_id_matches_the_spec_example() {
        assert_eq!(
            sample().bar_id().to_string(),
            "f45e97b2-f1cb-5ece-9d6a-2a29436db7ce"
        );
    }

    #[test]
    fn csv_line_is_exact() {
        assert_eq!(BARS_CSV_HEADER.split(',').count(), 18);
        assert_eq!(
            sample().csv_line(),
            "default,PJM.RT.PJM-RTO,1h,2024-11-03T05:00:00Z,2024-11-03T06:00:00Z,25.5,31.25,\
             -4.88685,30,,,27,12,2024-11-03T05:00:00Z,2024-11-03T05:55:00Z,13,false,\
             f45e97b2-f1cb-5ece-9d6a-2a29436db7ce"
        );
        let mut b = sample();
        b.tenant_id = Arc::from("acme, inc");
        b.interval = BarInterval::M5;
        b.volume = Some(1234.5);
        b.vwap = Some(-0.0000001);
        b.is_final = true;
        b.window_end_ms = b.window_start_ms + 300_250;
        let line = b.csv_line();
        assert!(line.starts_with(
            "\"acme, inc\",PJM.RT.PJM-RTO,5m,2024-11-03T05:00:00Z,2024-11-03T05:05:00.250Z,"
        ));
        assert!(line.contains(",30,1234.5,0,27,12,"), "{line}");
        assert!(line.contains(",13,true,"), "{line}");
        assert_eq!(line.split(',').count(), 19); // the quoted comma adds one split
    }
}

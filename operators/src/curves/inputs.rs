//! Forward-curve inputs: curve definitions ([`CurveSpec`]), members ([`MemberSpec`]) and the
//! latest price of an instrument ([`LatestPrice`], whose value part is a [`Quote`]).
//!
//! These are the minimal shapes the curve cores need; reference-data rows (`curve_definitions`,
//! `curve_members`, SPEC §5) and latest-price updates are mapped onto them by the caller.

use super::canonical_price;
use crate::model::{EpochMs, Sym, Tick};
use std::cmp::Ordering;

pub use crate::model::reference::Interpolation;

/// A curve definition: the part of a `curve_definitions` row the curve computation needs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CurveSpec {
    /// Tenant.
    pub tenant_id: Sym,
    /// Curve id.
    pub curve_id: Sym,
    /// Fill rule for members without a price.
    pub interpolation: Interpolation,
}

/// A curve member: a `curve_members` row. Identified by (tenant, curve_id, tenor).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MemberSpec {
    /// Tenant.
    pub tenant_id: Sym,
    /// The curve this member belongs to.
    pub curve_id: Sym,
    /// Tenor label, unique within the curve.
    pub tenor: Sym,
    /// The instrument whose latest price prices this member.
    pub instrument_id: Sym,
    /// Start of the delivery period, epoch ms UTC (the interpolation axis).
    pub delivery_start_ms: EpochMs,
    /// End of the delivery period, epoch ms UTC.
    pub delivery_end_ms: EpochMs,
}

/// An instrument's latest price as a curve sees it.
#[derive(Clone, Copy, Debug)]
pub struct Quote {
    /// Price in $/MWh.
    pub price: f64,
    /// `interval_start` of the latest tick, epoch ms UTC.
    pub as_of_ms: EpochMs,
    /// The latest tick's `version` (number of arrivals of its identity).
    pub version: u64,
}

impl Ord for Quote {
    /// Later `as_of`, then higher version, then price bits: the order in which the greatest
    /// quote is the most recent one.
    fn cmp(&self, other: &Quote) -> Ordering {
        (self.as_of_ms, self.version)
            .cmp(&(other.as_of_ms, other.version))
            .then_with(|| self.price.total_cmp(&other.price))
    }
}

impl PartialOrd for Quote {
    fn partial_cmp(&self, other: &Quote) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Quote {
    fn eq(&self, other: &Quote) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Quote {}

/// One update of an instrument's latest price (SPEC §3 "Latest price"): the input of
/// [`ForwardCurves::apply_price`](super::ForwardCurves::apply_price).
#[derive(Clone, Debug, PartialEq)]
pub struct LatestPrice {
    /// Tenant.
    pub tenant_id: Sym,
    /// Instrument id.
    pub instrument_id: Sym,
    /// Price in $/MWh.
    pub price: f64,
    /// `interval_start` of the latest tick, epoch ms UTC.
    pub as_of_ms: EpochMs,
    /// The latest tick's `version`.
    pub version: u64,
}

impl LatestPrice {
    /// The latest price a winning tick stands for.
    pub fn from_tick(t: &Tick) -> LatestPrice {
        LatestPrice {
            tenant_id: t.tenant_id.clone(),
            instrument_id: t.instrument_id.clone(),
            price: t.price,
            as_of_ms: t.interval_start_ms,
            version: t.version,
        }
    }

    /// The value part, with `-0` as `0`.
    pub fn quote(&self) -> Quote {
        Quote {
            price: canonical_price(self.price),
            as_of_ms: self.as_of_ms,
            version: self.version,
        }
    }
}

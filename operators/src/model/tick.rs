//! The normalized tick.

use super::{EpochMs, Market, SourcePos, Sym};
use serde::{Deserialize, Serialize};

/// Price components in $/MWh, stored so that `price = energy + congestion + loss (+ ghg)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Components {
    /// Energy (system marginal) component.
    pub energy: Option<f64>,
    /// Congestion component (NYISO's published sign is negated on the way in).
    pub congestion: Option<f64>,
    /// Marginal loss component.
    pub loss: Option<f64>,
    /// Greenhouse-gas component (CAISO).
    pub ghg: Option<f64>,
}

impl Components {
    /// Sum of the present components; `None` when none is present.
    pub fn sum(&self) -> Option<f64> {
        let parts = [self.energy, self.congestion, self.loss, self.ghg];
        if parts.iter().all(Option::is_none) {
            return None;
        }
        Some(parts.iter().flatten().sum())
    }

    /// True when no component is present.
    pub fn is_empty(&self) -> bool {
        self.energy.is_none()
            && self.congestion.is_none()
            && self.loss.is_none()
            && self.ghg.is_none()
    }
}

/// The numbers a tick may carry beside its price and volume: the price components, the best
/// bid and the best ask. Boxed, and only when one of them is present: most ticks streamed
/// through the views carry none, and eight bytes instead of 96 per tick is less memory traffic
/// in every stage. Equal when the numbers are (an all-absent set is always stored as none).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Extras(Option<Box<ExtraNumbers>>);

/// The numbers of [`Extras`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExtraNumbers {
    /// Price components.
    pub components: Components,
    /// Best bid, when known.
    pub bid: Option<f64>,
    /// Best ask, when known.
    pub ask: Option<f64>,
}

impl Extras {
    /// No components, bid or ask.
    pub const NONE: Extras = Extras(None);

    /// These numbers; boxed only when one is present.
    pub fn new(components: Components, bid: Option<f64>, ask: Option<f64>) -> Extras {
        let n = ExtraNumbers {
            components,
            bid,
            ask,
        };
        if components.is_empty() && bid.is_none() && ask.is_none() {
            Extras(None)
        } else {
            Extras(Some(Box::new(n)))
        }
    }

    /// Only price components.
    pub fn components(components: Components) -> Extras {
        Extras::new(components, None, None)
    }

    /// The numbers (all absent for none).
    pub fn get(&self) -> ExtraNumbers {
        self.0.as_deref().copied().unwrap_or_default()
    }
}

/// One quality flag (SPEC §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum QualityFlag {
    /// Passed every check.
    Valid = 1,
    /// Price below zero (informational: negative LMPs are real).
    PriceNegative = 2,
    /// Outside the market's configured bounds.
    OutOfRange = 4,
    /// |price − sum of components| > 0.01.
    ComponentsMismatch = 8,
    /// Arrived behind its feed's watermark but inside allowed lateness.
    LateArrival = 16,
    /// No reference-data row for the instrument.
    MissingMetadata = 32,
    /// The identity received more than one distinct value.
    Corrected = 64,
}

impl QualityFlag {
    /// All flags in rendering order.
    pub const ALL: [QualityFlag; 7] = [
        QualityFlag::Valid,
        QualityFlag::PriceNegative,
        QualityFlag::OutOfRange,
        QualityFlag::ComponentsMismatch,
        QualityFlag::LateArrival,
        QualityFlag::MissingMetadata,
        QualityFlag::Corrected,
    ];

    /// The flag's name as rendered.
    pub fn name(self) -> &'static str {
        match self {
            QualityFlag::Valid => "valid",
            QualityFlag::PriceNegative => "price_negative",
            QualityFlag::OutOfRange => "out_of_range",
            QualityFlag::ComponentsMismatch => "components_mismatch",
            QualityFlag::LateArrival => "late_arrival",
            QualityFlag::MissingMetadata => "missing_metadata",
            QualityFlag::Corrected => "corrected",
        }
    }
}

/// A set of [`QualityFlag`]s as a bit set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QualityFlags(pub u16);

impl QualityFlags {
    /// Adds a flag.
    pub fn insert(&mut self, f: QualityFlag) {
        self.0 |= f as u16;
    }
    /// Removes a flag.
    pub fn remove(&mut self, f: QualityFlag) {
        self.0 &= !(f as u16);
    }
    /// True when the flag is set.
    pub fn contains(self, f: QualityFlag) -> bool {
        self.0 & (f as u16) != 0
    }
    /// The set flags in rendering order.
    pub fn iter(self) -> impl Iterator<Item = QualityFlag> {
        QualityFlag::ALL
            .into_iter()
            .filter(move |f| self.contains(*f))
    }
    /// Recomputes `valid`: set exactly when no problem flag (out_of_range, components_mismatch) is set.
    pub fn refresh_valid(&mut self) {
        if self.contains(QualityFlag::OutOfRange) || self.contains(QualityFlag::ComponentsMismatch)
        {
            self.remove(QualityFlag::Valid);
        } else {
            self.insert(QualityFlag::Valid);
        }
    }
}

/// A tick's identity (SPEC §3): (tenant, instrument, interval_start, interval_end[, trade_id]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TickIdentity {
    /// Tenant.
    pub tenant_id: Sym,
    /// Instrument id.
    pub instrument_id: Sym,
    /// Interval start, epoch ms UTC.
    pub interval_start_ms: EpochMs,
    /// Interval end, epoch ms UTC.
    pub interval_end_ms: EpochMs,
    /// Trade id, for trade ticks.
    pub trade_id: Option<Sym>,
}

/// A normalized price tick (SPEC §3). Enrichment fields are added by the enrich stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// Tenant (default `default`).
    pub tenant_id: Sym,
    /// `{MARKET}.{RUN}.{NODE}` for market prices, or as given by simple CSV / envelopes.
    pub instrument_id: Sym,
    /// Market.
    pub market: Market,
    /// Node (pricing location) name as published.
    pub node: Sym,
    /// Market run: `DA`, `RT`, `RT5`, `RTPRELIM`, `HASP`, `RTPD`, `RTC`, or as given.
    pub market_run: Sym,
    /// Start of the priced interval, epoch ms UTC.
    pub interval_start_ms: EpochMs,
    /// End of the priced interval, epoch ms UTC (equal to the start for point ticks).
    pub interval_end_ms: EpochMs,
    /// Total price (LMP/SPP) in $/MWh.
    pub price: f64,
    /// Traded volume (MWh or contracts), when known.
    pub volume: Option<f64>,
    /// Price components, best bid and best ask ([`Tick::components`], [`Tick::bid`],
    /// [`Tick::ask`]).
    pub extras: Extras,
    /// Trade id, part of the identity when present.
    pub trade_id: Option<Sym>,
    /// Publisher's revision (PJM `version_nbr`; default 0).
    pub revision: u64,
    /// Number of arrivals of this identity (set by dedupe; 1 straight out of a parser).
    pub version: u64,
    /// Quality flags.
    pub flags: QualityFlags,
    /// Producing system (the format name for native files, the envelope's `source_system`).
    pub source_system: Sym,
    /// Where the record came from.
    pub source: SourcePos,
    /// Wall-clock ingestion time, epoch ms (exempt from determinism; not written to `dir:` files).
    pub ingested_at_ms: EpochMs,
    /// Reference-data enrichment (SPEC §5), shared between the ticks of one instrument version;
    /// `None` until the enrich stage ran.
    pub enrichment: Option<std::sync::Arc<super::Enrichment>>,
    /// The lateness horizon the tick was judged with (see [`Horizon`]).
    pub horizon: Horizon,
    /// The dense index dedupe gave the tick's (tenant, instrument) on this worker (see [`Slot`]).
    pub slot: Slot,
}

/// The lateness horizon of a tick (SPEC §4, [`crate::window::horizon`]): bars skip its windows
/// ending at or before it. Set by the lateness stage (dedupe sets it on the updates it emits), it
/// travels with the tick so batches are judged in place; it is routing data, not part of the
/// tick's value — any two horizons compare equal — and is never rendered.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Horizon(pub EpochMs);

impl Default for Horizon {
    /// No window closed.
    fn default() -> Self {
        Horizon(EpochMs::MIN)
    }
}

impl PartialEq for Horizon {
    fn eq(&self, _: &Horizon) -> bool {
        true
    }
}

/// The dense index of a tick's (tenant, instrument) among the instruments dedupe holds on one
/// worker, set by dedupe on the ticks it emits so the views stage after it (same worker) finds
/// the instrument's state by index instead of by name. A hint: consumers check the names of what
/// they find there, and [`Slot::NONE`] (the default) means "look up by name". Like [`Horizon`]
/// it is routing data, not part of the tick's value: any two slots compare equal, and it is
/// never rendered.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Slot(pub u32);

impl Slot {
    /// No slot assigned.
    pub const NONE: Slot = Slot(u32::MAX);

    /// The index, unless this is [`Slot::NONE`].
    pub fn index(self) -> Option<usize> {
        (self.0 != u32::MAX).then_some(self.0 as usize)
    }
}

impl Default for Slot {
    fn default() -> Self {
        Slot::NONE
    }
}

impl PartialEq for Slot {
    fn eq(&self, _: &Slot) -> bool {
        true
    }
}

impl Tick {
    /// This tick's identity.
    pub fn identity(&self) -> TickIdentity {
        TickIdentity {
            tenant_id: self.tenant_id.clone(),
            instrument_id: self.instrument_id.clone(),
            interval_start_ms: self.interval_start_ms,
            interval_end_ms: self.interval_end_ms,
            trade_id: self.trade_id.clone(),
        }
    }

    /// True when `other` carries the same value (price and components, SPEC §3 "equal in value").
    pub fn same_value(&self, other: &Tick) -> bool {
        self.price.to_bits() == other.price.to_bits() && self.components() == other.components()
    }

    /// The price components (all absent when the tick has none).
    pub fn components(&self) -> Components {
        self.extras.get().components
    }

    /// The best bid, when known.
    pub fn bid(&self) -> Option<f64> {
        self.extras.0.as_ref().and_then(|x| x.bid)
    }

    /// The best ask, when known.
    pub fn ask(&self) -> Option<f64> {
        self.extras.0.as_ref().and_then(|x| x.ask)
    }

    /// A stable 64-bit hash of (tenant, instrument) for routing: equal on every process.
    pub fn route_hash(&self) -> u64 {
        route_hash(&self.tenant_id, &self.instrument_id)
    }
}

/// A stable (seedless FxHash) hash of (tenant, instrument): identical on every process and run.
pub fn route_hash(tenant: &str, instrument: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    tenant.hash(&mut h);
    instrument.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every stage streams whole ticks: keep them small (components, bid and ask are boxed).
    #[test]
    fn a_tick_stays_small() {
        let size = std::mem::size_of::<Tick>();
        assert!(size <= 216, "Tick grew to {size} bytes");
    }

    #[test]
    fn extras_are_boxed_only_when_a_number_is_present() {
        assert_eq!(Extras::new(Components::default(), None, None), Extras::NONE);
        let c = Components {
            loss: Some(-0.5),
            ..Components::default()
        };
        let x = Extras::new(c, None, Some(2.0));
        assert_ne!(x, Extras::NONE);
        let n = x.get();
        assert_eq!((n.components, n.bid, n.ask), (c, None, Some(2.0)));
        assert_eq!(Extras::NONE.get(), ExtraNumbers::default());
    }
}

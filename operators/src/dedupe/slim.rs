//! The compact form in which dedupe keeps an emitted tick: its per-tick fields, packed, while
//! the fields every tick of an instrument usually shares (tenant, instrument, market, node,
//! run, source system) live once per instrument in a template tick.
//!
//! [`Slim::rebuild`] gives back exactly the tick that was emitted (a retraction must name the
//! old tick field for field): the identity key comes from the entry, the shared fields from the
//! template unless the tick's own differed (then they are kept boxed in the slim form).
//! The volume is stored as `f64` plus a presence flag, and the rarely present numbers
//! (components, bid, ask) stay in the tick's own [`Extras`] box (none when absent) — so the form is
//! about half a [`Tick`] (dedupe holds one per identity for as long as its largest window is
//! open: an hour and more for `1h` bars).

use crate::model::{Enrichment, EpochMs, Extras, Market, QualityFlags, SourcePos, Sym, Tick};
use std::sync::Arc;

/// The instrument-level fields of a tick that differ from its instrument's template.
#[derive(Clone, Debug, PartialEq)]
struct Shared {
    market: Market,
    node: Sym,
    market_run: Sym,
    source_system: Sym,
}

impl Shared {
    fn of(t: &Tick) -> Shared {
        Shared {
            market: t.market,
            node: t.node.clone(),
            market_run: t.market_run.clone(),
            source_system: t.source_system.clone(),
        }
    }

    /// True when `t`'s shared fields equal the template's (pointer equality first).
    fn same(t: &Tick, template: &Tick) -> bool {
        let eq = |a: &Sym, b: &Sym| Arc::ptr_eq(a, b) || a == b;
        t.market == template.market
            && eq(&t.node, &template.node)
            && eq(&t.market_run, &template.market_run)
            && eq(&t.source_system, &template.source_system)
    }
}

/// The per-tick fields of an emitted tick, without its identity key.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Slim {
    price: f64,
    /// The volume; `0.0` when absent.
    volume: f64,
    has_volume: bool,
    /// Components, bid and ask: the tick's own (boxed only when present).
    extras: Extras,
    pub(super) flags: QualityFlags,
    /// With bars kept by the store (`super::bars`): a bit per interval (`1 << index`) for
    /// every bar holding this value. Set by the core, kept across re-arrivals; 0 from
    /// [`Slim::of`].
    pub(super) mask: u8,
    pub(super) version: u64,
    revision: u64,
    source: SourcePos,
    ingested_at_ms: EpochMs,
    enrichment: Option<Arc<Enrichment>>,
    /// The tick's shared fields when they differ from the instrument's template.
    shared: Option<Box<Shared>>,
}

/// What decides the winner and whether two values are equal: (revision, source position) and
/// the value bits, so the winner never depends on arrival order.
pub(super) type Rank = (u64, SourcePos, ValueBits);

/// Price and components as bits (`u64::MAX − 1` for an absent component).
pub(super) type ValueBits = [u64; 5];

/// The value bits of a tick.
pub(super) fn value_bits(t: &Tick) -> ValueBits {
    bits(t.price, &t.extras)
}

fn bits(price: f64, extras: &Extras) -> ValueBits {
    let c = extras.get().components;
    let b = |x: Option<f64>| x.map_or(u64::MAX - 1, f64::to_bits);
    [
        price.to_bits(),
        b(c.energy),
        b(c.congestion),
        b(c.loss),
        b(c.ghg),
    ]
}

/// The rank of a tick.
pub(super) fn rank(t: &Tick) -> Rank {
    (t.revision, t.source, value_bits(t))
}

impl Slim {
    /// The slim form of `t`, sharing what it can with `template`.
    pub(super) fn of(t: &Tick, template: &Tick) -> Slim {
        Slim {
            price: t.price,
            volume: t.volume.unwrap_or(0.0),
            has_volume: t.volume.is_some(),
            extras: t.extras.clone(),
            flags: t.flags,
            mask: 0,
            version: t.version,
            revision: t.revision,
            source: t.source,
            ingested_at_ms: t.ingested_at_ms,
            enrichment: t.enrichment.clone(),
            shared: (!Shared::same(t, template)).then(|| Box::new(Shared::of(t))),
        }
    }

    /// The value bits (as [`value_bits`] of the rebuilt tick).
    pub(super) fn value_bits(&self) -> ValueBits {
        bits(self.price, &self.extras)
    }

    /// The rank (as [`rank`] of the rebuilt tick).
    pub(super) fn rank(&self) -> Rank {
        (self.revision, self.source, self.value_bits())
    }

    /// The tick this form stands for: `key` is its (interval_start, interval_end, trade_id),
    /// `template` its instrument's template tick.
    /// This value as bars hold it (`window::ohlc::Entry`), for the identity `key`.
    pub(super) fn bar_entry(
        &self,
        key: (EpochMs, EpochMs, &Option<Sym>),
        mask: u8,
    ) -> crate::window::ohlc::Entry {
        crate::window::ohlc::Entry::new(
            key.0,
            key.1,
            key.2.clone(),
            self.source,
            self.price,
            self.has_volume.then_some(self.volume),
            self.version,
            mask,
        )
    }

    /// Adds this value's sums, high and low to a bar swept in key order (see
    /// `BarState::add_values`).
    pub(super) fn add_to(
        &self,
        interval: (EpochMs, EpochMs),
        bar: &mut crate::window::ohlc::BarState,
    ) {
        bar.add_values(
            interval,
            self.price,
            self.has_volume.then_some(self.volume),
            self.version,
        );
    }

    pub(super) fn rebuild(&self, key: (EpochMs, EpochMs, &Option<Sym>), template: &Tick) -> Tick {
        let (market, node, market_run, source_system) = match &self.shared {
            Some(s) => (
                s.market,
                s.node.clone(),
                s.market_run.clone(),
                s.source_system.clone(),
            ),
            None => (
                template.market,
                template.node.clone(),
                template.market_run.clone(),
                template.source_system.clone(),
            ),
        };
        Tick {
            tenant_id: template.tenant_id.clone(),
            instrument_id: template.instrument_id.clone(),
            market,
            node,
            market_run,
            interval_start_ms: key.0,
            interval_end_ms: key.1,
            price: self.price,
            volume: self.has_volume.then_some(self.volume),
            extras: self.extras.clone(),
            trade_id: key.2.clone(),
            revision: self.revision,
            version: self.version,
            flags: self.flags,
            source_system,
            source: self.source,
            ingested_at_ms: self.ingested_at_ms,
            enrichment: self.enrichment.clone(),
            horizon: Default::default(),
            slot: Default::default(),
        }
    }
}

//! The latest price per (tenant, instrument) read from the held identities (SPEC §3 "Latest
//! price"): the *store latest*.
//!
//! An instrument's identities are held sorted by (interval_start, interval_end, trade_id), which
//! is the latest-price order of distinct identities, so its latest price is the value of its last
//! held identity — a correction of it replaces it, an older tick never does. Release pops
//! identities from the front only, so the last one goes last; the row emitted before stays when an
//! instrument has nothing held (a later arrival older than a released identity is too late for
//! every window, `LATE_DATA` upstream). [`DedupeCore::drain_latest`] emits, once per time, `(old,
//! −1)`, `(new, +1)` for every instrument an arrival touched whose row changed, sorted by key —
//! what `latest::LatestBook` emits fed with the core's updates, without a second copy of the
//! newest ticks or a per-tick update (a unit test compares the two).

use super::DedupeCore;
use crate::model::{ByPtr, LatestPrice, Sym, SymMap};

/// Store latest state: the rows emitted and the instruments touched since the last drain.
#[derive(Debug, Default)]
pub(super) struct StoreLatest {
    emitted: SymMap<SymMap<LatestPrice>>,
    pub(super) touched: Vec<(Sym, Sym)>,
    /// Drain generation: an instrument is in `touched` once per generation.
    pub(super) gen: u64,
}

impl DedupeCore {
    /// Derives the latest prices from the held identities (see the module doc).
    pub fn with_latest(mut self) -> DedupeCore {
        self.latest = Some(StoreLatest {
            gen: 1,
            ..StoreLatest::default()
        });
        self
    }

    /// Appends the latest-price changes since the last drain: `(old, −1)` then `(new, +1)` per
    /// touched instrument whose row changed, sorted by (tenant, instrument).
    pub fn drain_latest(&mut self, out: &mut Vec<(LatestPrice, i64)>) {
        let Some(l) = self.latest.as_mut() else {
            return;
        };
        let first = out.len();
        for (tenant, instrument) in l.touched.drain(..) {
            let Some(inst) = self
                .instruments
                .get(&ByPtr(&tenant))
                .and_then(|m| m.get(&ByPtr(&instrument)))
            else {
                continue;
            };
            let Some(e) = inst.entries.back() else {
                continue;
            };
            let key = (e.start, e.end, e.trade_id.as_deref());
            let new = LatestPrice::of(
                &e.slim
                    .rebuild((e.start, e.end, &e.trade_id), &inst.template),
            );
            let rows = match l.emitted.get_mut(&ByPtr(&tenant)) {
                Some(m) => m,
                None => l.emitted.entry(tenant.clone()).or_default(),
            };
            match rows.get_mut(&ByPtr(&instrument)) {
                Some(old) if *old == new => {}
                // Never older than what was emitted (the same identity corrected replaces it).
                Some(old)
                    if (
                        old.interval_start_ms,
                        old.interval_end_ms,
                        old.trade_id.as_deref(),
                    ) > key => {}
                Some(old) => {
                    out.push((std::mem::replace(old, new.clone()), -1));
                    out.push((new, 1));
                }
                None => {
                    rows.insert(instrument, new.clone());
                    out.push((new, 1));
                }
            }
        }
        l.gen += 1;
        out[first..].sort_by(|(a, da), (b, db)| {
            (&*a.tenant_id, &*a.instrument_id, da)
                .cmp(&(&*b.tenant_id, &*b.instrument_id, db))
                .then_with(|| a.sort_key().cmp(&b.sort_key()))
        });
    }
}

#[cfg(test)]
#[path = "latest_tests.rs"]
mod tests;

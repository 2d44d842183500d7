//! Alias resolution (SPEC §3): an instrument id that is an active alias of the tick's tenant is
//! replaced by its canonical `instrument_id` before identity, dedupe and enrichment, so the two
//! names share one identity, one latest price and one set of bars.
//!
//! Aliases are versioned like instrument rows and looked up as of the tick's `interval_start`
//! (the first version when the tick is older than every version). Resolution is one hop: the
//! target of an alias is never itself looked up as an alias, so a cycle in the table cannot loop.

use super::ReferenceView;
use crate::model::{EpochMs, Sym, Tick};

impl ReferenceView {
    /// The canonical instrument id for `instrument_id` of `tenant` at event time `at_ms`, or
    /// `None` when it is not an alias.
    pub fn resolve_alias(&self, tenant: &str, instrument_id: &str, at_ms: EpochMs) -> Option<&Sym> {
        let versions = self.tenant(tenant)?.aliases.get(instrument_id)?;
        versions.at(at_ms).map(|a| &a.instrument_id)
    }
}

/// Replaces `tick.instrument_id` by its canonical id when it is an alias; true when it changed.
/// The tick's `node` and `market` are kept as published.
pub fn resolve_tick(tick: &mut Tick, view: &ReferenceView) -> bool {
    let Some(canonical) =
        view.resolve_alias(&tick.tenant_id, &tick.instrument_id, tick.interval_start_ms)
    else {
        return false;
    };
    if *canonical == tick.instrument_id {
        return false;
    }
    tick.instrument_id = canonical.clone();
    true
}

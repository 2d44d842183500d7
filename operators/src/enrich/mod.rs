//! Reference data for lookups and the enrichment of ticks (SPEC §5), as pure code.
//!
//! [`ReferenceView`] holds every reference table of one worker, indexed for the per-tick path
//! and maintained incrementally from differential updates of [`ReferenceRow`]s
//! ([`ReferenceView::apply_all`]): the same updates a live reference collection carries, in any
//! order within a batch. [`enrich`] gives a tick the taxonomy of its instrument's version valid
//! at the tick's `interval_start` ([`asof`]); an instrument without a row is classified by the
//! tenant's rules and market hints ([`rules`]) and flagged `missing_metadata`, never dropped.
//! Aliases are resolved before identity ([`alias`]).
//!
//! Cost per tick: two hash lookups (tenant, then instrument) and a binary search among the
//! instrument's versions; for instruments without a row, one more lookup in a per-instrument
//! classification cache, cleared whenever a rule changes. Nothing here fails or does I/O.
//!
//! Which version applies: instruments and aliases as of event time; rules and curve definitions
//! and members by their current version (greatest `valid_from`); API keys as of the wall-clock
//! time given, with no fallback before their first `valid_from`.

pub mod alias;
pub mod asof;
pub mod rules;
#[cfg(test)]
mod tests;

use crate::model::reference::{
    CommodityRule, CurveDefinition, CurveMember, InstrumentAlias, RegionRule, TaxonomyInstrument,
};
use crate::model::{
    ClassificationMethod, Enrichment, EpochMs, Market, QualityFlag, ReferenceRow, Sym, Table, Tick,
};
use asof::{Versioned, Versions};
use rules::{Classification, RuleBook};
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::hash::Hash;

/// Classification cache: tenant → instrument → (market it was classified for, result).
type ClassCache = FxHashMap<Sym, FxHashMap<Sym, (Market, Classification)>>;

/// The reference tables of one tenant.
#[derive(Debug, Default)]
pub struct TenantTables {
    instruments: FxHashMap<Sym, Versions<TaxonomyInstrument>>,
    aliases: FxHashMap<Sym, Versions<InstrumentAlias>>,
    commodity_rules: BTreeMap<Sym, Versions<CommodityRule>>,
    region_rules: BTreeMap<Sym, Versions<RegionRule>>,
    rules: RuleBook,
    curves: BTreeMap<Sym, Versions<CurveDefinition>>,
    members: BTreeMap<Sym, BTreeMap<Sym, Versions<CurveMember>>>,
}

/// Every reference table of a worker, for lookups; see the module doc.
#[derive(Debug, Default)]
pub struct ReferenceView {
    tenants: FxHashMap<Sym, TenantTables>,
    live_rows: BTreeMap<Table, i64>,
    empty: TenantTables,
    cache: RefCell<ClassCache>,
}

fn apply_hashed<K: Hash + Eq + Clone, T: Versioned>(
    map: &mut FxHashMap<K, Versions<T>>,
    key: K,
    row: T,
    diff: i64,
) {
    let versions = map.entry(key.clone()).or_default();
    versions.apply(row, diff);
    if versions.is_vacant() {
        map.remove(&key);
    }
}

fn apply_ordered<K: Ord + Clone, T: Versioned>(
    map: &mut BTreeMap<K, Versions<T>>,
    key: K,
    row: T,
    diff: i64,
) {
    let versions = map.entry(key.clone()).or_default();
    versions.apply(row, diff);
    if versions.is_vacant() {
        map.remove(&key);
    }
}

impl ReferenceView {
    /// An empty view (no tenant has any row: every tick is classified by market hints).
    pub fn new() -> ReferenceView {
        ReferenceView::default()
    }

    /// A view of one snapshot: every row inserted once (inactive rows are ignored).
    pub fn from_rows(rows: impl IntoIterator<Item = ReferenceRow>) -> ReferenceView {
        let mut view = ReferenceView::new();
        view.apply_all(rows.into_iter().map(|r| (r, 1)));
        view
    }

    /// Applies one update; see [`ReferenceView::apply_all`].
    pub fn apply(&mut self, row: ReferenceRow, diff: i64) {
        self.apply_all([(row, diff)]);
    }

    /// Applies differential updates (`+1` insert, `−1` retract; an update is both). Inactive
    /// rows are deleted versions and change nothing. Rule books of the tenants whose rules
    /// changed are rebuilt once at the end, and the classification cache is cleared.
    pub fn apply_all(&mut self, updates: impl IntoIterator<Item = (ReferenceRow, i64)>) {
        let mut rules_changed: Vec<Sym> = Vec::new();
        for (row, diff) in updates {
            if !row.active() || diff == 0 {
                continue;
            }
            *self.live_rows.entry(row.table()).or_default() += diff;
            if let ReferenceRow::ApiKey(_) = row {
                // API keys are the query API's (`http::auth::LiveKeys` keeps their versions).
                continue;
            }
            let Some(tenant_id) = row.tenant_id().cloned() else {
                continue;
            };
            let t = self.tenants.entry(tenant_id.clone()).or_default();
            match row {
                ReferenceRow::Instrument(r) => {
                    apply_hashed(&mut t.instruments, r.instrument_id.clone(), r, diff)
                }
                ReferenceRow::Alias(r) => apply_hashed(&mut t.aliases, r.alias.clone(), r, diff),
                ReferenceRow::CommodityRule(r) => {
                    apply_ordered(&mut t.commodity_rules, r.commodity.clone(), r, diff);
                    rules_changed.push(tenant_id);
                }
                ReferenceRow::RegionRule(r) => {
                    apply_ordered(&mut t.region_rules, r.region.clone(), r, diff);
                    rules_changed.push(tenant_id);
                }
                ReferenceRow::CurveDefinition(r) => {
                    apply_ordered(&mut t.curves, r.curve_id.clone(), r, diff)
                }
                ReferenceRow::CurveMember(r) => {
                    let curve_id = r.curve_id.clone();
                    let tenors = t.members.entry(curve_id.clone()).or_default();
                    apply_ordered(tenors, r.tenor.clone(), r, diff);
                    if tenors.is_empty() {
                        t.members.remove(&curve_id);
                    }
                }
                ReferenceRow::ApiKey(_) => {}
            }
        }
        if rules_changed.is_empty() {
            return;
        }
        rules_changed.sort();
        rules_changed.dedup();
        for tenant in rules_changed {
            if let Some(t) = self.tenants.get_mut(&tenant) {
                t.rules = RuleBook::new(
                    t.commodity_rules.values().filter_map(Versions::current),
                    t.region_rules.values().filter_map(Versions::current),
                );
            }
        }
        self.cache.get_mut().clear();
    }

    fn tenant(&self, tenant: &str) -> Option<&TenantTables> {
        self.tenants.get(tenant)
    }

    /// Number of live rows of `table` (the `tickflow_reference_rows{table}` gauge).
    pub fn row_count(&self, table: Table) -> i64 {
        self.live_rows.get(&table).copied().unwrap_or(0)
    }

    /// The versions of an instrument's `taxonomy_instruments` row.
    pub fn instrument_versions(
        &self,
        tenant: &str,
        instrument_id: &str,
    ) -> Option<&Versions<TaxonomyInstrument>> {
        self.tenant(tenant)?.instruments.get(instrument_id)
    }

    /// The instrument's row valid at event time `at_ms` (as of; first version when earlier).
    pub fn instrument(
        &self,
        tenant: &str,
        instrument_id: &str,
        at_ms: EpochMs,
    ) -> Option<&TaxonomyInstrument> {
        self.instrument_versions(tenant, instrument_id)?.at(at_ms)
    }

    /// The tenant's current rule book (empty when it has no rules).
    pub fn rules(&self, tenant: &str) -> &RuleBook {
        &self.tenant(tenant).unwrap_or(&self.empty).rules
    }

    /// Classifies an instrument without a row by the tenant's rules (cached per instrument).
    pub fn classify(&self, tenant: &Sym, instrument_id: &Sym, market: Market) -> Classification {
        if let Ok(cache) = self.cache.try_borrow() {
            if let Some((m, c)) = cache.get(tenant).and_then(|t| t.get(instrument_id)) {
                if *m == market {
                    return c.clone();
                }
            }
        }
        let c = self.rules(tenant).classify(instrument_id, market);
        if let Ok(mut cache) = self.cache.try_borrow_mut() {
            cache
                .entry(tenant.clone())
                .or_default()
                .insert(instrument_id.clone(), (market, c.clone()));
        }
        c
    }

    /// The current definition of a forward curve.
    pub fn curve(&self, tenant: &str, curve_id: &str) -> Option<&CurveDefinition> {
        self.tenant(tenant)?.curves.get(curve_id)?.current()
    }

    /// The current definitions of the tenant's forward curves, by curve id.
    pub fn curves<'a>(&'a self, tenant: &str) -> impl Iterator<Item = &'a CurveDefinition> + 'a {
        self.tenant(tenant)
            .into_iter()
            .flat_map(|t| t.curves.values().filter_map(Versions::current))
    }

    /// The current members of a forward curve, by tenor label.
    pub fn curve_members<'a>(
        &'a self,
        tenant: &str,
        curve_id: &str,
    ) -> impl Iterator<Item = &'a CurveMember> + 'a {
        self.tenant(tenant)
            .and_then(|t| t.members.get(curve_id))
            .into_iter()
            .flat_map(|m| m.values().filter_map(Versions::current))
    }
}

/// The enrichment of `tick` (SPEC §5): its instrument's row valid at `interval_start` (method
/// `database`, confidence 0.95), else the tenant's rules and market hints with
/// `missing_metadata` set. Resolve aliases first ([`alias::resolve_tick`]).
pub fn enrich(tick: &Tick, view: &ReferenceView) -> Enrichment {
    if let Some(row) = view.instrument(&tick.tenant_id, &tick.instrument_id, tick.interval_start_ms)
    {
        return Enrichment {
            commodity: Some(row.commodity.clone()),
            region: row.region.clone(),
            product_tier: row.product_tier.clone(),
            contract_size: row.contract_size.map(|q| q.0),
            tick_size: row.tick_size.map(|q| q.0),
            classification_confidence: 0.95,
            classification_method: ClassificationMethod::Database,
            missing_metadata: false,
        };
    }
    let c = view.classify(&tick.tenant_id, &tick.instrument_id, tick.market);
    Enrichment {
        classification_confidence: c.confidence(),
        classification_method: c.method,
        commodity: c.commodity,
        region: c.region,
        product_tier: None,
        contract_size: None,
        tick_size: None,
        missing_metadata: true,
    }
}

/// Enriches ticks on one worker: resolves aliases, attaches the [`Enrichment`] (shared through an
/// `Arc` by the ticks of one instrument version) and flags `missing_metadata`.
///
/// The answer for an instrument depends on the tick's event time only through the versions of
/// its alias and instrument rows, so it is remembered per (tenant, instrument id as received)
/// with the event-time span in which it holds: most ticks cost one lookup.
#[derive(Debug)]
pub struct Enricher {
    view: ReferenceView,
    memo: rustc_hash::FxHashMap<Sym, rustc_hash::FxHashMap<Sym, Memo>>,
}

/// What [`Enricher::apply`] decided for one (tenant, instrument id as received).
#[derive(Debug)]
struct Memo {
    /// Event times `[from, to)` for which this answer holds.
    from_ms: EpochMs,
    to_ms: EpochMs,
    /// The market the rules classified for.
    market: Market,
    /// The canonical id when the received id is an alias.
    canonical: Option<Sym>,
    enrichment: std::sync::Arc<Enrichment>,
}

impl Enricher {
    /// An enricher over `view`.
    pub fn new(view: ReferenceView) -> Enricher {
        Enricher {
            view,
            memo: Default::default(),
        }
    }

    /// Applies live reference changes (`+1` insert, `−1` retract) to the view and forgets the
    /// enrichments shared so far: ticks enriched afterwards see the changes, ticks enriched
    /// before keep what they were given (SPEC §5).
    pub fn apply_changes(&mut self, updates: impl IntoIterator<Item = (ReferenceRow, i64)>) {
        self.view.apply_all(updates);
        self.memo.clear();
    }

    /// The view enrichments are taken from.
    pub fn view(&self) -> &ReferenceView {
        &self.view
    }

    /// Resolves the tick's alias and enriches it as of its `interval_start`.
    pub fn apply(&mut self, tick: &mut Tick) {
        let t = tick.interval_start_ms;
        let memo = self
            .memo
            .get(&tick.tenant_id)
            .and_then(|m| m.get(&tick.instrument_id))
            .filter(|m| m.from_ms <= t && t < m.to_ms && m.market == tick.market);
        if let Some(m) = memo {
            if let Some(c) = &m.canonical {
                tick.instrument_id = c.clone();
            }
            if m.enrichment.missing_metadata {
                tick.flags.insert(QualityFlag::MissingMetadata);
            }
            tick.enrichment = Some(m.enrichment.clone());
            return;
        }
        let received = tick.instrument_id.clone();
        let view = &self.view;
        let alias_span = view
            .tenant(&tick.tenant_id)
            .and_then(|tt| tt.aliases.get(&*received))
            .map_or((EpochMs::MIN, EpochMs::MAX), |v| v.span_at(t));
        let canonical = alias::resolve_tick(tick, view).then(|| tick.instrument_id.clone());
        let row_span = view
            .instrument_versions(&tick.tenant_id, &tick.instrument_id)
            .map_or((EpochMs::MIN, EpochMs::MAX), |v| v.span_at(t));
        let e = std::sync::Arc::new(enrich(tick, view));
        if e.missing_metadata {
            tick.flags.insert(QualityFlag::MissingMetadata);
        }
        tick.enrichment = Some(e.clone());
        let memo = Memo {
            from_ms: alias_span.0.max(row_span.0),
            to_ms: alias_span.1.min(row_span.1),
            market: tick.market,
            canonical,
            enrichment: e,
        };
        let tenant = match self.memo.get_mut(&*tick.tenant_id) {
            Some(m) => m,
            None => self.memo.entry(tick.tenant_id.clone()).or_default(),
        };
        tenant.insert(received, memo);
    }
}

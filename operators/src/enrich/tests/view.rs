//! `ReferenceView`: incremental updates, enrichment, aliases, curves and API keys.

use super::{
    alias, api_key, commodity_rule, curve, instrument, member, ms, region_rule, row, tick,
};
use crate::enrich::alias::resolve_tick;
use crate::enrich::{enrich, ReferenceView};
use crate::model::reference::Interpolation;
use crate::model::{ClassificationMethod, Market, Table};

#[test]
fn database_row_as_of_interval_start() {
    let view = ReferenceView::from_rows([
        row(instrument(
            "PJM.RT.WESTERN HUB",
            "2024-01-01T00:00:00Z",
            "standard",
        )),
        row(instrument(
            "PJM.RT.WESTERN HUB",
            "2025-01-01T00:00:00Z",
            "premium",
        )),
    ]);
    let early = enrich(
        &tick("PJM.RT.WESTERN HUB", Market::Pjm, "2023-06-01T00:00:00Z"),
        &view,
    );
    let mid = enrich(
        &tick("PJM.RT.WESTERN HUB", Market::Pjm, "2024-03-10T05:00:00Z"),
        &view,
    );
    let at = enrich(
        &tick("PJM.RT.WESTERN HUB", Market::Pjm, "2025-01-01T00:00:00Z"),
        &view,
    );
    assert_eq!(early.product_tier.as_deref(), Some("standard"));
    assert_eq!(mid.product_tier.as_deref(), Some("standard"));
    assert_eq!(at.product_tier.as_deref(), Some("premium"));
    assert_eq!(at.classification_method, ClassificationMethod::Database);
    assert_eq!(at.classification_confidence, 0.95);
    assert!(!at.missing_metadata);
    assert_eq!(at.commodity.as_deref(), Some("electricity"));
    assert_eq!((at.contract_size, at.tick_size), (Some(1.0), Some(0.01)));
    assert_eq!(view.row_count(Table::Instruments), 2);
}

#[test]
fn instruments_without_a_row_use_rules_and_are_flagged() {
    let mut view = ReferenceView::new();
    let t = tick(
        "ERCOT.RT.HB_HOUSTON/HU",
        Market::Ercot,
        "2024-11-03T05:00:00Z",
    );
    let e = enrich(&t, &view);
    assert!(e.missing_metadata);
    assert_eq!(e.region.as_deref(), Some("texas"));
    assert_eq!(e.classification_method, ClassificationMethod::RuleBased);
    assert_eq!(e.classification_confidence, 0.7);
    assert_eq!((e.product_tier, e.contract_size), (None, None));
    // A rule arriving later replaces the cached classification.
    view.apply(row(region_rule("gulf_coast", &["houston"], 1)), 1);
    assert_eq!(enrich(&t, &view).region.as_deref(), Some("gulf_coast"));
    view.apply(row(region_rule("gulf_coast", &["houston"], 1)), -1);
    assert_eq!(enrich(&t, &view).region.as_deref(), Some("texas"));
    // Rules are per tenant.
    view.apply(row(commodity_rule("natural_gas", &["NG"], 1)), 1);
    let mut other = tick("NYMEX.NG.F25", Market::Other, "2024-11-03T05:00:00Z");
    assert_eq!(
        enrich(&other, &view).commodity.as_deref(),
        Some("natural_gas")
    );
    other.tenant_id = "acme".into();
    let e = enrich(&other, &view);
    assert_eq!(e.commodity, None);
    assert_eq!(e.classification_method, ClassificationMethod::Fallback);
    assert_eq!(e.classification_confidence, 0.1);
}

#[test]
fn rule_version_update_and_deactivation() {
    let mut view = ReferenceView::new();
    let old = region_rule("west", &["SP15"], 1);
    let mut new = old.clone();
    new.keywords = vec!["NP15".into()];
    view.apply(row(old.clone()), 1);
    let t = tick("OTC.SP15.DA", Market::Other, "2024-11-03T05:00:00Z");
    assert_eq!(enrich(&t, &view).region.as_deref(), Some("west"));
    // The update (−1 old, +1 new) under the same key, delivered new first.
    view.apply_all([(row(new.clone()), 1), (row(old), -1)]);
    assert_eq!(enrich(&t, &view).region, None);
    let mut gone = new.clone();
    gone.active = false;
    view.apply_all([(row(new), -1), (row(gone), 1)]);
    assert_eq!(view.rules("default").len(), (0, 0));
    assert_eq!(view.row_count(Table::RegionRules), 0);
}

#[test]
fn a_row_loaded_mid_run_applies_to_later_ticks_only() {
    let mut view = ReferenceView::new();
    let t = tick("MISO.DA.ILLINOIS.HUB", Market::Miso, "2024-11-03T05:00:00Z");
    let before = enrich(&t, &view);
    view.apply(
        row(instrument(
            "MISO.DA.ILLINOIS.HUB",
            "2024-01-01T00:00:00Z",
            "standard",
        )),
        1,
    );
    let after = enrich(&t, &view);
    assert_eq!(
        before.classification_method,
        ClassificationMethod::RuleBased
    );
    assert_eq!(before.region.as_deref(), Some("midwest"));
    assert_eq!(before.classification_confidence, 0.8);
    assert_eq!(after.classification_method, ClassificationMethod::Database);
    view.apply(
        row(instrument(
            "MISO.DA.ILLINOIS.HUB",
            "2024-01-01T00:00:00Z",
            "standard",
        )),
        -1,
    );
    assert!(enrich(&t, &view).missing_metadata);
    assert_eq!(view.row_count(Table::Instruments), 0);
}

#[test]
fn aliases_resolve_as_of_and_one_hop() {
    let view = ReferenceView::from_rows([
        row(alias(
            "ERCOT.RT.HB_HOUSTON",
            "ERCOT.RT.HB_HOUSTON/HU",
            "2024-01-01T00:00:00Z",
        )),
        row(alias("A", "B", "2024-01-01T00:00:00Z")),
        row(alias("B", "A", "2024-01-01T00:00:00Z")),
        row(alias("OLD", "NEW1", "2024-01-01T00:00:00Z")),
        row(alias("OLD", "NEW2", "2025-01-01T00:00:00Z")),
        row(instrument(
            "ERCOT.RT.HB_HOUSTON/HU",
            "2024-01-01T00:00:00Z",
            "standard",
        )),
    ]);
    let mut t = tick("ERCOT.RT.HB_HOUSTON", Market::Ercot, "2025-07-01T00:00:00Z");
    assert!(resolve_tick(&mut t, &view));
    assert_eq!(&*t.instrument_id, "ERCOT.RT.HB_HOUSTON/HU");
    assert_eq!(&*t.node, "N");
    assert_eq!(
        enrich(&t, &view).classification_method,
        ClassificationMethod::Database
    );
    assert!(!resolve_tick(&mut t, &view));
    // A cycle resolves one hop and stops.
    let mut a = tick("A", Market::Other, "2024-06-01T00:00:00Z");
    assert!(resolve_tick(&mut a, &view));
    assert_eq!(&*a.instrument_id, "B");
    // As of the tick's interval_start; before the first version the first one applies.
    let at = |s: &str| {
        view.resolve_alias("default", "OLD", ms(s))
            .map(|s| s.to_string())
    };
    assert_eq!(at("2023-01-01T00:00:00Z").as_deref(), Some("NEW1"));
    assert_eq!(at("2024-12-31T23:00:00Z").as_deref(), Some("NEW1"));
    assert_eq!(at("2025-01-01T00:00:00Z").as_deref(), Some("NEW2"));
    assert_eq!(view.resolve_alias("acme", "OLD", 0), None);
    assert_eq!(view.resolve_alias("default", "UNKNOWN", 0), None);
}

#[test]
fn curves_and_members_by_current_version() {
    let mut view = ReferenceView::from_rows([
        row(curve("PJM.WH.FWD", Interpolation::Linear)),
        row(member(
            "PJM.WH.FWD",
            "DEC24",
            "PJM.FWD.DEC24",
            "2024-12-01T05:00:00Z",
        )),
        row(member(
            "PJM.WH.FWD",
            "BOM",
            "PJM.FWD.BOM",
            "2024-11-04T05:00:00Z",
        )),
    ]);
    assert_eq!(
        view.curve("default", "PJM.WH.FWD").map(|c| c.interpolation),
        Some(Interpolation::Linear)
    );
    let tenors: Vec<String> = view
        .curve_members("default", "PJM.WH.FWD")
        .map(|m| m.tenor.to_string())
        .collect();
    assert_eq!(tenors, ["BOM", "DEC24"]);
    view.apply(
        row(member(
            "PJM.WH.FWD",
            "BOM",
            "PJM.FWD.BOM",
            "2024-11-04T05:00:00Z",
        )),
        -1,
    );
    assert_eq!(view.curve_members("default", "PJM.WH.FWD").count(), 1);
    let mut flat = curve("PJM.WH.FWD", Interpolation::Flat);
    flat.valid_from_ms = 1;
    view.apply(row(flat), 1);
    assert_eq!(
        view.curve("default", "PJM.WH.FWD").map(|c| c.interpolation),
        Some(Interpolation::Flat)
    );
    assert_eq!(view.curves("default").count(), 1);
    assert_eq!(view.curves("acme").count(), 0);
    assert_eq!(view.curve_members("default", "NOPE").count(), 0);
}

#[test]
fn rows_round_trip_through_serde_and_keys_identify_versions() {
    let a = row(instrument("PJM.DA.X", "2024-01-01T00:00:00Z", "standard"));
    let text = serde_json::to_string(&a).unwrap_or_default();
    let back: Option<crate::model::ReferenceRow> = serde_json::from_str(&text).ok();
    assert_eq!(back.as_ref(), Some(&a));
    let mut changed = instrument("PJM.DA.X", "2024-01-01T00:00:00Z", "premium");
    changed.active = false;
    let b = row(changed);
    assert_eq!(a.key(), b.key());
    assert_ne!(a, b);
    let later = row(instrument("PJM.DA.X", "2025-01-01T00:00:00Z", "standard"));
    assert!(a.key() < later.key());
    let k = row(api_key("ab", Some("acme"), "2024-01-01T00:00:00Z")).key();
    assert_eq!((k.table, k.tenant_id, &*k.id), (Table::ApiKeys, None, "ab"));
}

/// `Enricher::apply` remembers answers per instrument with the event-time span they hold for:
/// ticks of many times, in any order, across alias and row versions and markets, get exactly
/// what a fresh lookup (alias resolution, then `enrich`) gives.
#[test]
fn enricher_memo_agrees_with_fresh_lookups_across_versions() {
    use crate::enrich::Enricher;
    use crate::model::QualityFlag;
    let rows = || {
        [
            row(alias("OLD", "NEW1", "2024-01-01T00:00:00Z")),
            row(alias("OLD", "NEW2", "2025-01-01T00:00:00Z")),
            row(instrument("NEW1", "2024-06-01T00:00:00Z", "standard")),
            row(instrument("NEW1", "2024-09-01T00:00:00Z", "premium")),
            row(instrument("NEW2", "2025-03-01T00:00:00Z", "basic")),
            row(instrument("X", "2024-02-01T00:00:00Z", "gold")),
        ]
    };
    let view = ReferenceView::from_rows(rows());
    let mut enricher = Enricher::new(ReferenceView::from_rows(rows()));
    let times = [
        "2025-07-01T00:00:00Z",
        "2023-01-01T00:00:00Z",
        "2024-08-31T23:00:00Z",
        "2024-09-01T00:00:00Z",
        "2024-12-31T23:00:00Z",
        "2025-01-01T00:00:00Z",
        "2024-06-01T00:00:00Z",
        "2024-05-31T23:00:00Z",
        "2025-02-28T23:00:00Z",
        "2025-03-01T00:00:00Z",
        "2024-01-31T23:00:00Z",
    ];
    let mut checked = 0;
    for round in 0..2 {
        for at in times {
            for (id, market) in [
                ("OLD", Market::Pjm),
                ("X", Market::Miso),
                ("UNKNOWN_NODE", Market::Ercot),
                ("UNKNOWN_NODE", Market::Caiso),
            ] {
                let mut want = tick(id, market, at);
                resolve_tick(&mut want, &view);
                let e = enrich(&want, &view);
                let mut got = tick(id, market, at);
                enricher.apply(&mut got);
                assert_eq!(
                    got.instrument_id, want.instrument_id,
                    "{id} at {at} ({round})"
                );
                assert_eq!(
                    got.enrichment.as_deref(),
                    Some(&e),
                    "{id} at {at} ({round})"
                );
                assert_eq!(
                    got.flags.contains(QualityFlag::MissingMetadata),
                    e.missing_metadata
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 88);
}

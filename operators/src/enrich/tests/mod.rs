//! Tests of the enrichment cores; builders for reference rows shared by them.

mod asof;
mod rules;
mod view;

use crate::model::reference::{
    ApiKey, CommodityRule, CurveDefinition, CurveMember, InstrumentAlias, Interpolation, Quantity,
    RegionRule, TaxonomyInstrument,
};
use crate::model::render::parse_rfc3339_ms;
use crate::model::{EpochMs, Market, ReferenceRow, SourcePos, Sym, Tick};

/// Epoch ms of an RFC 3339 literal (test input is well-formed).
pub(super) fn ms(s: &str) -> EpochMs {
    parse_rfc3339_ms(s).unwrap_or(i64::MIN)
}

pub(super) fn instrument(id: &str, valid_from: &str, tier: &str) -> TaxonomyInstrument {
    TaxonomyInstrument {
        tenant_id: "default".into(),
        instrument_id: id.into(),
        commodity: "electricity".into(),
        region: Some("northeast".into()),
        product_tier: Some(tier.into()),
        unit: Some("$/MWh".into()),
        contract_size: Some(Quantity(1.0)),
        tick_size: Some(Quantity(0.01)),
        metadata: "{}".into(),
        active: true,
        valid_from_ms: ms(valid_from),
        updated_at_ms: ms(valid_from),
    }
}

pub(super) fn alias(alias: &str, target: &str, valid_from: &str) -> InstrumentAlias {
    InstrumentAlias {
        tenant_id: "default".into(),
        alias: alias.into(),
        instrument_id: target.into(),
        active: true,
        valid_from_ms: ms(valid_from),
        updated_at_ms: ms(valid_from),
    }
}

fn words(keywords: &[&str]) -> Vec<String> {
    keywords.iter().map(|k| k.to_string()).collect()
}

pub(super) fn commodity_rule(name: &str, keywords: &[&str], priority: i64) -> CommodityRule {
    CommodityRule {
        tenant_id: "default".into(),
        commodity: name.into(),
        keywords: words(keywords),
        priority,
        active: true,
        valid_from_ms: 0,
        updated_at_ms: 0,
    }
}

pub(super) fn region_rule(name: &str, keywords: &[&str], priority: i64) -> RegionRule {
    RegionRule {
        tenant_id: "default".into(),
        region: name.into(),
        keywords: words(keywords),
        priority,
        active: true,
        valid_from_ms: 0,
        updated_at_ms: 0,
    }
}

pub(super) fn curve(id: &str, interpolation: Interpolation) -> CurveDefinition {
    CurveDefinition {
        tenant_id: "default".into(),
        curve_id: id.into(),
        name: format!("{id} curve").into(),
        commodity: Some("electricity".into()),
        region: None,
        interpolation,
        active: true,
        valid_from_ms: 0,
        updated_at_ms: 0,
    }
}

pub(super) fn member(curve: &str, tenor: &str, instrument: &str, start: &str) -> CurveMember {
    CurveMember {
        tenant_id: "default".into(),
        curve_id: curve.into(),
        tenor: tenor.into(),
        instrument_id: instrument.into(),
        delivery_start_ms: ms(start),
        delivery_end_ms: ms(start) + 86_400_000,
        active: true,
        valid_from_ms: 0,
        updated_at_ms: 0,
    }
}

pub(super) fn api_key(sha: &str, tenant: Option<&str>, valid_from: &str) -> ApiKey {
    ApiKey {
        key_sha256: sha.into(),
        tenant_id: tenant.map(Sym::from),
        scopes: words(&["read"]),
        active: true,
        valid_from_ms: ms(valid_from),
        updated_at_ms: ms(valid_from),
    }
}

pub(super) fn tick(instrument: &str, market: Market, at: &str) -> Tick {
    Tick {
        tenant_id: "default".into(),
        instrument_id: instrument.into(),
        market,
        node: "N".into(),
        market_run: "DA".into(),
        interval_start_ms: ms(at),
        interval_end_ms: ms(at) + 3_600_000,
        price: 25.0,
        volume: None,
        extras: Default::default(),
        trade_id: None,
        revision: 0,
        version: 1,
        flags: Default::default(),
        source_system: "test".into(),
        source: SourcePos::default(),
        ingested_at_ms: 0,
        enrichment: None,
        horizon: Default::default(),
        slot: Default::default(),
    }
}

pub(super) fn row(r: impl Into<ReferenceRow>) -> ReferenceRow {
    r.into()
}

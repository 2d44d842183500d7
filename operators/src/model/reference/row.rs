//! [`ReferenceRow`]: one row of any reference table, and its version identity [`RowKey`].

use super::{
    ApiKey, CommodityRule, CurveDefinition, CurveMember, InstrumentAlias, RegionRule, Table,
    TaxonomyInstrument,
};
use crate::model::{EpochMs, Sym};
use serde::{Deserialize, Serialize};

/// The identity of one version of a reference row: (table, tenant, natural key, `valid_from`).
/// Two rows with the same key are the old and new value of one update.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RowKey {
    /// Table.
    pub table: Table,
    /// Tenant; `None` for `api_keys`, whose tenant is an attribute of the key, not part of it.
    pub tenant_id: Option<Sym>,
    /// First natural-key column (instrument id, alias, commodity, region, curve id, key hash).
    pub id: Sym,
    /// Second natural-key column: the tenor of a curve member.
    pub sub: Option<Sym>,
    /// The version's `valid_from`, epoch ms.
    pub valid_from_ms: EpochMs,
}

/// One row of any reference table: the element of the live reference collection.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ReferenceRow {
    /// `taxonomy_instruments`.
    Instrument(TaxonomyInstrument),
    /// `instrument_aliases`.
    Alias(InstrumentAlias),
    /// `taxonomy_commodity_rules`.
    CommodityRule(CommodityRule),
    /// `taxonomy_region_rules`.
    RegionRule(RegionRule),
    /// `curve_definitions`.
    CurveDefinition(CurveDefinition),
    /// `curve_members`.
    CurveMember(CurveMember),
    /// `api_keys`.
    ApiKey(ApiKey),
}

/// Applies `$body` to the inner struct of every variant (all share the common columns).
macro_rules! each_row {
    ($row:expr, $r:ident => $body:expr) => {
        match $row {
            ReferenceRow::Instrument($r) => $body,
            ReferenceRow::Alias($r) => $body,
            ReferenceRow::CommodityRule($r) => $body,
            ReferenceRow::RegionRule($r) => $body,
            ReferenceRow::CurveDefinition($r) => $body,
            ReferenceRow::CurveMember($r) => $body,
            ReferenceRow::ApiKey($r) => $body,
        }
    };
}

impl ReferenceRow {
    /// The row's table.
    pub fn table(&self) -> Table {
        match self {
            ReferenceRow::Instrument(_) => Table::Instruments,
            ReferenceRow::Alias(_) => Table::Aliases,
            ReferenceRow::CommodityRule(_) => Table::CommodityRules,
            ReferenceRow::RegionRule(_) => Table::RegionRules,
            ReferenceRow::CurveDefinition(_) => Table::CurveDefinitions,
            ReferenceRow::CurveMember(_) => Table::CurveMembers,
            ReferenceRow::ApiKey(_) => Table::ApiKeys,
        }
    }

    /// The version's identity; see [`RowKey`].
    pub fn key(&self) -> RowKey {
        let (tenant_id, id, sub) = match self {
            ReferenceRow::Instrument(r) => (Some(&r.tenant_id), &r.instrument_id, None),
            ReferenceRow::Alias(r) => (Some(&r.tenant_id), &r.alias, None),
            ReferenceRow::CommodityRule(r) => (Some(&r.tenant_id), &r.commodity, None),
            ReferenceRow::RegionRule(r) => (Some(&r.tenant_id), &r.region, None),
            ReferenceRow::CurveDefinition(r) => (Some(&r.tenant_id), &r.curve_id, None),
            ReferenceRow::CurveMember(r) => (Some(&r.tenant_id), &r.curve_id, Some(&r.tenor)),
            ReferenceRow::ApiKey(r) => (None, &r.key_sha256, None),
        };
        RowKey {
            table: self.table(),
            tenant_id: tenant_id.cloned(),
            id: id.clone(),
            sub: sub.cloned(),
            valid_from_ms: self.valid_from_ms(),
        }
    }

    /// The row's tenant (`None` for an all-tenant API key).
    pub fn tenant_id(&self) -> Option<&Sym> {
        match self {
            ReferenceRow::ApiKey(r) => r.tenant_id.as_ref(),
            ReferenceRow::Instrument(r) => Some(&r.tenant_id),
            ReferenceRow::Alias(r) => Some(&r.tenant_id),
            ReferenceRow::CommodityRule(r) => Some(&r.tenant_id),
            ReferenceRow::RegionRule(r) => Some(&r.tenant_id),
            ReferenceRow::CurveDefinition(r) => Some(&r.tenant_id),
            ReferenceRow::CurveMember(r) => Some(&r.tenant_id),
        }
    }

    /// False for a deleted version.
    pub fn active(&self) -> bool {
        each_row!(self, r => r.active)
    }

    /// Start of the version's validity, epoch ms.
    pub fn valid_from_ms(&self) -> EpochMs {
        each_row!(self, r => r.valid_from_ms)
    }

    /// Last change, epoch ms.
    pub fn updated_at_ms(&self) -> EpochMs {
        each_row!(self, r => r.updated_at_ms)
    }
}

macro_rules! row_from {
    ($($t:ident => $v:ident),*) => {$(
        impl From<$t> for ReferenceRow {
            fn from(r: $t) -> ReferenceRow {
                ReferenceRow::$v(r)
            }
        }
    )*};
}

row_from!(
    TaxonomyInstrument => Instrument,
    InstrumentAlias => Alias,
    CommodityRule => CommodityRule,
    RegionRule => RegionRule,
    CurveDefinition => CurveDefinition,
    CurveMember => CurveMember,
    ApiKey => ApiKey
);

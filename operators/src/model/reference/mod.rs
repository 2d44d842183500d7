//! Reference-data rows (SPEC §5): one struct per table, and [`ReferenceRow`] over all of them.
//!
//! Every row carries `tenant_id`, `active`, `valid_from` and `updated_at` (epoch ms). A row is
//! one *version* of its natural key: [`ReferenceRow::key`] = (table, tenant, natural key,
//! `valid_from`), so the reference collection changes by ordinary differential updates: an
//! insert is `+1 row`, an update `−1 old, +1 new` under the same key, a deactivation `−1 old`
//! (a row with `active = false` is a deleted version: it never enters the collection).
//!
//! Rows are plain data (`Ord`, `Hash`, serde) so they can be exchanged between workers and held
//! in differential arrangements. Validation (required cells, finite sizes, RFC 3339 times) is
//! the loaders' job; these types hold whatever a loader accepted.

mod row;

pub use row::{ReferenceRow, RowKey};

use super::{EpochMs, Sym};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

/// A reference table (SPEC §5). The name is the PostgreSQL table and the CSV file stem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Table {
    /// `taxonomy_instruments`.
    Instruments,
    /// `instrument_aliases`.
    Aliases,
    /// `taxonomy_commodity_rules`.
    CommodityRules,
    /// `taxonomy_region_rules`.
    RegionRules,
    /// `curve_definitions`.
    CurveDefinitions,
    /// `curve_members`.
    CurveMembers,
    /// `api_keys`.
    ApiKeys,
}

impl Table {
    /// Every table, in load order.
    pub const ALL: [Table; 7] = [
        Table::Instruments,
        Table::Aliases,
        Table::CommodityRules,
        Table::RegionRules,
        Table::CurveDefinitions,
        Table::CurveMembers,
        Table::ApiKeys,
    ];

    /// The table name (`taxonomy_instruments`, …), also the CSV file stem and the metric label.
    pub fn name(self) -> &'static str {
        match self {
            Table::Instruments => "taxonomy_instruments",
            Table::Aliases => "instrument_aliases",
            Table::CommodityRules => "taxonomy_commodity_rules",
            Table::RegionRules => "taxonomy_region_rules",
            Table::CurveDefinitions => "curve_definitions",
            Table::CurveMembers => "curve_members",
            Table::ApiKeys => "api_keys",
        }
    }

    /// The table named `name` (exact, lower case), if any.
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// A finite quantity (contract size, tick size) with a total order, so rows holding one can be
/// `Eq`, `Ord` and `Hash`: ordered by [`f64::total_cmp`], hashed by bits (consistent with it).
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Quantity(pub f64);

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.0.total_cmp(&other.0) == Ordering::Equal
    }
}
impl Eq for Quantity {}
impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}
impl Hash for Quantity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

/// How a forward curve fills members without a price (SPEC §3 curves).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub enum Interpolation {
    /// Linear in `delivery_start` between the nearest priced neighbours.
    #[default]
    Linear,
    /// The previous priced point carried forward (the first one backward).
    Flat,
}

impl Interpolation {
    /// `linear` or `flat`.
    pub fn name(self) -> &'static str {
        match self {
            Interpolation::Linear => "linear",
            Interpolation::Flat => "flat",
        }
    }

    /// Parses `linear` / `flat`, case-insensitively.
    pub fn from_name(s: &str) -> Option<Interpolation> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("linear") {
            Some(Interpolation::Linear)
        } else if s.eq_ignore_ascii_case("flat") {
            Some(Interpolation::Flat)
        } else {
            None
        }
    }
}

/// `taxonomy_instruments`: the metadata of one instrument, as of `valid_from`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TaxonomyInstrument {
    /// Tenant.
    pub tenant_id: Sym,
    /// Canonical instrument id (`PJM.DA.WESTERN HUB`).
    pub instrument_id: Sym,
    /// Commodity (`electricity`, `natural_gas`, …).
    pub commodity: Sym,
    /// Region (`northeast`, `texas`, …).
    pub region: Option<Sym>,
    /// Product tier (`standard`, `premium`, …).
    pub product_tier: Option<Sym>,
    /// Unit of the price (`$/MWh`).
    pub unit: Option<Sym>,
    /// Contract size (e.g. MWh per contract).
    pub contract_size: Option<Quantity>,
    /// Minimum price increment.
    pub tick_size: Option<Quantity>,
    /// Free-form JSON object, compact text (`{}` when none).
    pub metadata: String,
    /// False for a deleted version.
    pub active: bool,
    /// Start of this version's validity in event time, epoch ms.
    pub valid_from_ms: EpochMs,
    /// When the row last changed, epoch ms (informational; breaks ties between equal `valid_from`).
    pub updated_at_ms: EpochMs,
}

/// `instrument_aliases`: another name for an instrument, resolved before identity (SPEC §3).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InstrumentAlias {
    /// Tenant.
    pub tenant_id: Sym,
    /// The alternative instrument id as it arrives.
    pub alias: Sym,
    /// The canonical instrument id it stands for.
    pub instrument_id: Sym,
    /// False for a deleted version.
    pub active: bool,
    /// Start of validity, epoch ms.
    pub valid_from_ms: EpochMs,
    /// Last change, epoch ms.
    pub updated_at_ms: EpochMs,
}

/// `taxonomy_commodity_rules`: instruments with a token equal to a keyword are this commodity.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CommodityRule {
    /// Tenant.
    pub tenant_id: Sym,
    /// The commodity assigned (`natural_gas`).
    pub commodity: Sym,
    /// Keywords compared with the instrument id's tokens, case-insensitively.
    pub keywords: Vec<String>,
    /// Higher wins; ties go to the smaller commodity name.
    pub priority: i64,
    /// False for a deleted version.
    pub active: bool,
    /// Start of validity, epoch ms.
    pub valid_from_ms: EpochMs,
    /// Last change, epoch ms.
    pub updated_at_ms: EpochMs,
}

/// `taxonomy_region_rules`: instruments with a token equal to a keyword are in this region.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RegionRule {
    /// Tenant.
    pub tenant_id: Sym,
    /// The region assigned (`texas`).
    pub region: Sym,
    /// Keywords compared with the instrument id's tokens, case-insensitively.
    pub keywords: Vec<String>,
    /// Higher wins; ties go to the smaller region name.
    pub priority: i64,
    /// False for a deleted version.
    pub active: bool,
    /// Start of validity, epoch ms.
    pub valid_from_ms: EpochMs,
    /// Last change, epoch ms.
    pub updated_at_ms: EpochMs,
}

/// `curve_definitions`: a forward curve (its points are the [`CurveMember`]s).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CurveDefinition {
    /// Tenant.
    pub tenant_id: Sym,
    /// Curve id (`PJM.WESTERN_HUB.FWD`).
    pub curve_id: Sym,
    /// Display name.
    pub name: Sym,
    /// Commodity.
    pub commodity: Option<Sym>,
    /// Region.
    pub region: Option<Sym>,
    /// How members without a price are filled.
    pub interpolation: Interpolation,
    /// False for a deleted version.
    pub active: bool,
    /// Start of validity, epoch ms.
    pub valid_from_ms: EpochMs,
    /// Last change, epoch ms.
    pub updated_at_ms: EpochMs,
}

/// `curve_members`: one tenor of a forward curve, priced by an instrument's latest price.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CurveMember {
    /// Tenant.
    pub tenant_id: Sym,
    /// The curve.
    pub curve_id: Sym,
    /// Tenor label (`DEC24`, `BOM`).
    pub tenor: Sym,
    /// The instrument whose latest price prices this tenor.
    pub instrument_id: Sym,
    /// Delivery start, epoch ms (the interpolation axis).
    pub delivery_start_ms: EpochMs,
    /// Delivery end, epoch ms.
    pub delivery_end_ms: EpochMs,
    /// False for a deleted version.
    pub active: bool,
    /// Start of validity, epoch ms.
    pub valid_from_ms: EpochMs,
    /// Last change, epoch ms.
    pub updated_at_ms: EpochMs,
}

/// `api_keys`: a hashed HTTP API key (SPEC §7).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ApiKey {
    /// Lower-case hex SHA-256 of the key as sent in `Authorization: Bearer`.
    pub key_sha256: Sym,
    /// The one tenant the key may read; `None` = all tenants.
    pub tenant_id: Option<Sym>,
    /// Granted scopes (`read`, `subscribe`, …).
    pub scopes: Vec<String>,
    /// False for a revoked key.
    pub active: bool,
    /// Start of validity (wall clock for keys), epoch ms.
    pub valid_from_ms: EpochMs,
    /// Last change, epoch ms.
    pub updated_at_ms: EpochMs,
}

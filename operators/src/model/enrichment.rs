//! The enrichment of a tick (SPEC §3, §5): taxonomy fields and how they were found.

use super::Sym;
use serde::{Deserialize, Serialize};

/// How a tick's taxonomy was found (SPEC §5).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub enum ClassificationMethod {
    /// From the instrument's `taxonomy_instruments` row (confidence 0.95).
    Database,
    /// From commodity/region rules or market hints (confidence 0.5 … 0.9).
    RuleBased,
    /// Nothing matched (confidence 0.1).
    #[default]
    Fallback,
}

impl ClassificationMethod {
    /// `database`, `rule_based` or `fallback`.
    pub fn name(self) -> &'static str {
        match self {
            ClassificationMethod::Database => "database",
            ClassificationMethod::RuleBased => "rule_based",
            ClassificationMethod::Fallback => "fallback",
        }
    }
}

/// The enrichment fields of a tick. Absent values render as `null`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Enrichment {
    /// Commodity (`electricity` for ISO prices).
    pub commodity: Option<Sym>,
    /// Region.
    pub region: Option<Sym>,
    /// Product tier (from the instrument row only).
    pub product_tier: Option<Sym>,
    /// Contract size (from the instrument row only).
    pub contract_size: Option<f64>,
    /// Tick size (from the instrument row only).
    pub tick_size: Option<f64>,
    /// Confidence of the classification, 0.1 … 0.95.
    pub classification_confidence: f64,
    /// How the classification was found.
    pub classification_method: ClassificationMethod,
    /// True when the instrument has no reference row: the tick is flagged `missing_metadata`.
    pub missing_metadata: bool,
}

impl Enrichment {
    /// Nothing known: method `fallback`, confidence 0.1, `missing_metadata`.
    pub fn fallback() -> Enrichment {
        Enrichment {
            commodity: None,
            region: None,
            product_tier: None,
            contract_size: None,
            tick_size: None,
            classification_confidence: 0.1,
            classification_method: ClassificationMethod::Fallback,
            missing_metadata: true,
        }
    }
}

impl Default for Enrichment {
    /// The same as [`Enrichment::fallback`].
    fn default() -> Self {
        Enrichment::fallback()
    }
}

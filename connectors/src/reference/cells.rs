//! One CSV record of a reference table → one [`ReferenceRow`], with every problem of the row.

use ::csv::ByteRecord;
use operators::model::reference::{
    ApiKey, CommodityRule, CurveDefinition, CurveMember, InstrumentAlias, Interpolation, Quantity,
    RegionRule, TaxonomyInstrument,
};
use operators::model::render::parse_rfc3339_ms;
use operators::model::{EpochMs, ReferenceRow, Sym, Table};
use std::collections::HashMap;

/// The cells of one record; every getter records its problem and returns a placeholder, so
/// all problems of a row are found in one pass.
pub(super) struct Cells<'a> {
    /// The record.
    pub record: &'a ByteRecord,
    /// Column name (lower case) → field index.
    pub index: &'a HashMap<String, usize>,
    /// Problems found so far, each naming its column.
    pub problems: Vec<String>,
}

impl Cells<'_> {
    /// The trimmed cell; `None` (reported once) when it is not UTF-8.
    fn text(&mut self, col: &str) -> Option<String> {
        let raw = self
            .index
            .get(col)
            .and_then(|i| self.record.get(*i))
            .unwrap_or_default();
        match std::str::from_utf8(raw) {
            Ok(s) => Some(s.trim().to_string()),
            Err(_) => {
                self.problems.push(format!("{col}: not UTF-8"));
                None
            }
        }
    }

    fn opt(&mut self, col: &str) -> Option<Sym> {
        self.text(col)
            .filter(|s| !s.is_empty())
            .map(|s| Sym::from(s.as_str()))
    }

    fn req(&mut self, col: &str) -> Sym {
        match self.text(col) {
            Some(s) if s.is_empty() => {
                self.problems.push(format!("{col}: required"));
                Sym::from("")
            }
            Some(s) => Sym::from(s.as_str()),
            None => Sym::from(""),
        }
    }

    fn time(&mut self, col: &str) -> EpochMs {
        let Some(s) = self.text(col) else { return 0 };
        parse_rfc3339_ms(&s).unwrap_or_else(|| {
            let problem = format!("{col}: `{s}` is not an RFC 3339 time");
            self.problems.push(problem);
            0
        })
    }

    fn active(&mut self) -> bool {
        let Some(s) = self.text("active") else {
            return false;
        };
        if s.eq_ignore_ascii_case("true") {
            true
        } else if s.eq_ignore_ascii_case("false") {
            false
        } else {
            self.problems
                .push(format!("active: `{s}` is not true or false"));
            false
        }
    }

    fn int(&mut self, col: &str) -> i64 {
        let Some(s) = self.text(col) else { return 0 };
        s.parse().unwrap_or_else(|_| {
            self.problems
                .push(format!("{col}: `{s}` is not an integer"));
            0
        })
    }

    fn quantity(&mut self, col: &str) -> Option<Quantity> {
        let s = self.text(col).filter(|s| !s.is_empty())?;
        match s.parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 => Some(Quantity(x)),
            _ => {
                let problem = format!("{col}: `{s}` is not a positive number");
                self.problems.push(problem);
                None
            }
        }
    }

    /// A `;`-separated list; `tokens` requires every item to be a possible token (`[A-Za-z0-9]+`).
    fn list(&mut self, col: &str, tokens: bool) -> Vec<String> {
        let Some(text) = self.text(col) else {
            return Vec::new();
        };
        let items: Vec<String> = text
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if tokens {
            if items.is_empty() {
                self.problems.push(format!("{col}: required"));
            }
            for k in &items {
                if !k.chars().all(|c| c.is_ascii_alphanumeric()) {
                    self.problems.push(format!(
                        "{col}: `{k}` can never equal a token (letters and digits only)"
                    ));
                }
            }
        }
        items
    }

    fn metadata(&mut self) -> String {
        let Some(s) = self.text("metadata") else {
            return String::new();
        };
        if s.is_empty() {
            return "{}".to_string();
        }
        match serde_json::from_str::<serde_json::Value>(&s) {
            Ok(v @ serde_json::Value::Object(_)) => v.to_string(),
            Ok(_) => {
                self.problems
                    .push("metadata: not a JSON object".to_string());
                String::new()
            }
            Err(e) => {
                self.problems.push(format!("metadata: invalid JSON: {e}"));
                String::new()
            }
        }
    }

    /// The row of `table`; meaningful only when no problem was recorded.
    pub fn row(&mut self, table: Table) -> ReferenceRow {
        let tenant_id = if table == Table::ApiKeys {
            None
        } else {
            Some(self.req("tenant_id"))
        };
        let tenant = || tenant_id.clone().unwrap_or_else(|| Sym::from(""));
        let active = self.active();
        let valid_from_ms = self.time("valid_from");
        let updated_at_ms = self.time("updated_at");
        match table {
            Table::Instruments => ReferenceRow::Instrument(TaxonomyInstrument {
                tenant_id: tenant(),
                instrument_id: self.req("instrument_id"),
                commodity: self.req("commodity"),
                region: self.opt("region"),
                product_tier: self.opt("product_tier"),
                unit: self.opt("unit"),
                contract_size: self.quantity("contract_size"),
                tick_size: self.quantity("tick_size"),
                metadata: self.metadata(),
                active,
                valid_from_ms,
                updated_at_ms,
            }),
            Table::Aliases => {
                let alias = self.req("alias");
                let instrument_id = self.req("instrument_id");
                if !alias.is_empty() && alias == instrument_id {
                    self.problems
                        .push("alias: equals its instrument_id".to_string());
                }
                ReferenceRow::Alias(InstrumentAlias {
                    tenant_id: tenant(),
                    alias,
                    instrument_id,
                    active,
                    valid_from_ms,
                    updated_at_ms,
                })
            }
            Table::CommodityRules => ReferenceRow::CommodityRule(CommodityRule {
                tenant_id: tenant(),
                commodity: self.req("commodity"),
                keywords: self.list("keywords", true),
                priority: self.int("priority"),
                active,
                valid_from_ms,
                updated_at_ms,
            }),
            Table::RegionRules => ReferenceRow::RegionRule(RegionRule {
                tenant_id: tenant(),
                region: self.req("region"),
                keywords: self.list("keywords", true),
                priority: self.int("priority"),
                active,
                valid_from_ms,
                updated_at_ms,
            }),
            Table::CurveDefinitions => {
                let interpolation = match self.text("interpolation") {
                    Some(s) => Interpolation::from_name(&s).unwrap_or_else(|| {
                        let problem = format!("interpolation: `{s}` is not linear or flat");
                        self.problems.push(problem);
                        Interpolation::Linear
                    }),
                    None => Interpolation::Linear,
                };
                ReferenceRow::CurveDefinition(CurveDefinition {
                    tenant_id: tenant(),
                    curve_id: self.req("curve_id"),
                    name: self.req("name"),
                    commodity: self.opt("commodity"),
                    region: self.opt("region"),
                    interpolation,
                    active,
                    valid_from_ms,
                    updated_at_ms,
                })
            }
            Table::CurveMembers => {
                let m = CurveMember {
                    tenant_id: tenant(),
                    curve_id: self.req("curve_id"),
                    tenor: self.req("tenor"),
                    instrument_id: self.req("instrument_id"),
                    delivery_start_ms: self.time("delivery_start"),
                    delivery_end_ms: self.time("delivery_end"),
                    active,
                    valid_from_ms,
                    updated_at_ms,
                };
                if self.problems.is_empty() && m.delivery_end_ms <= m.delivery_start_ms {
                    self.problems
                        .push("delivery_end: not after delivery_start".to_string());
                }
                ReferenceRow::CurveMember(m)
            }
            Table::ApiKeys => {
                let key = self.req("key_sha256").to_ascii_lowercase();
                if !key.is_empty()
                    && (key.len() != 64 || !key.chars().all(|c| c.is_ascii_hexdigit()))
                {
                    self.problems
                        .push("key_sha256: not 64 hex digits".to_string());
                }
                ReferenceRow::ApiKey(ApiKey {
                    key_sha256: Sym::from(key),
                    tenant_id: self.opt("tenant_id"),
                    scopes: self.list("scopes", false),
                    active,
                    valid_from_ms,
                    updated_at_ms,
                })
            }
        }
    }
}

//! Rule-based classification of instruments without a reference row (SPEC §5).
//!
//! * Tokens are the upper-cased `[A-Za-z0-9]+` runs of the instrument id
//!   (`ERCOT.RT.HB_HOUSTON/HU` → `ERCOT RT HB HOUSTON HU`).
//! * A rule matches when one of its keywords equals a token (keywords are compared upper-cased,
//!   so rules are case-insensitive). The highest `priority` wins; ties go to the smaller
//!   commodity/region name.
//! * Commodity: `electricity` for ISO prices (a tick of one of the seven markets), else the
//!   winning commodity rule. Region: the winning region rule, else the market hint
//!   (MISO→midwest, CAISO→west, ERCOT→texas, PJM/NYISO/ISONE→northeast, SPP→central).
//! * Method `rule_based` when a rule or a hint gave anything, with confidence 0.5, + 0.2 when
//!   the market is known, + 0.1 when a token is NODE or HUB, + 0.1 when a token is ZONE, at
//!   most 0.9; otherwise `fallback` at 0.1. Confidence is computed in hundredths, so it is the
//!   exact decimal (0.9, not 0.8999…).
//!
//! Pure functions; nothing here fails.

use crate::model::reference::{CommodityRule, RegionRule};
use crate::model::{ClassificationMethod, Market, Sym};
use std::cmp::Reverse;

/// The commodity of every ISO price.
pub const ELECTRICITY: &str = "electricity";

/// The upper-cased `[A-Za-z0-9]+` runs of `instrument_id`.
pub fn tokens(instrument_id: &str) -> Vec<String> {
    instrument_id
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_ascii_uppercase)
        .collect()
}

/// The region hinted by a market (SPEC §5), `None` for markets outside the seven ISOs.
pub fn market_hint(market: Market) -> Option<&'static str> {
    match market {
        Market::Miso => Some("midwest"),
        Market::Caiso => Some("west"),
        Market::Ercot => Some("texas"),
        Market::Pjm | Market::Nyiso | Market::Isone => Some("northeast"),
        Market::Spp => Some("central"),
        Market::Other => None,
    }
}

/// The outcome of classifying one instrument by rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classification {
    /// Commodity, when known.
    pub commodity: Option<Sym>,
    /// Region, when known.
    pub region: Option<Sym>,
    /// `rule_based` or `fallback`.
    pub method: ClassificationMethod,
    /// Confidence in hundredths (50 … 90, or 10).
    pub confidence_pct: u8,
}

impl Classification {
    /// Confidence as a fraction (0.1 … 0.9).
    pub fn confidence(&self) -> f64 {
        f64::from(self.confidence_pct) / 100.0
    }
}

/// One rule reduced to what matching needs: its name, upper-cased keywords and priority.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    name: Sym,
    keywords: Vec<String>,
    priority: i64,
}

impl Rule {
    fn new(name: &Sym, keywords: &[String], priority: i64) -> Rule {
        Rule {
            name: name.clone(),
            keywords: keywords
                .iter()
                .map(|k| k.trim().to_ascii_uppercase())
                .filter(|k| !k.is_empty())
                .collect(),
            priority,
        }
    }

    fn matches(&self, tokens: &[String]) -> bool {
        self.keywords.iter().any(|k| tokens.contains(k))
    }
}

/// The current commodity and region rules of one tenant, in match order (priority descending,
/// then name ascending), so the first matching rule wins.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleBook {
    commodity: Vec<Rule>,
    region: Vec<Rule>,
}

fn sort(rules: &mut [Rule]) {
    rules.sort_by(|a, b| {
        (Reverse(a.priority), &a.name, &a.keywords).cmp(&(
            Reverse(b.priority),
            &b.name,
            &b.keywords,
        ))
    });
}

fn first_match<'a>(rules: &'a [Rule], tokens: &[String]) -> Option<&'a Sym> {
    rules.iter().find(|r| r.matches(tokens)).map(|r| &r.name)
}

impl RuleBook {
    /// A rule book of the given (current, active) rules.
    pub fn new<'a>(
        commodity: impl IntoIterator<Item = &'a CommodityRule>,
        region: impl IntoIterator<Item = &'a RegionRule>,
    ) -> RuleBook {
        let mut book = RuleBook {
            commodity: commodity
                .into_iter()
                .map(|r| Rule::new(&r.commodity, &r.keywords, r.priority))
                .collect(),
            region: region
                .into_iter()
                .map(|r| Rule::new(&r.region, &r.keywords, r.priority))
                .collect(),
        };
        sort(&mut book.commodity);
        sort(&mut book.region);
        book
    }

    /// Number of (commodity, region) rules.
    pub fn len(&self) -> (usize, usize) {
        (self.commodity.len(), self.region.len())
    }

    /// Classifies `instrument_id` of a tick from `market` (SPEC §5 rules; see the module doc).
    pub fn classify(&self, instrument_id: &str, market: Market) -> Classification {
        let tokens = tokens(instrument_id);
        let market_known = market != Market::Other;
        let commodity_rule = first_match(&self.commodity, &tokens);
        let region_rule = first_match(&self.region, &tokens);
        let hint = market_hint(market);
        let commodity = if market_known {
            Some(Sym::from(ELECTRICITY))
        } else {
            commodity_rule.cloned()
        };
        let region = region_rule.cloned().or_else(|| hint.map(Sym::from));
        if commodity_rule.is_none() && region_rule.is_none() && hint.is_none() {
            return Classification {
                commodity,
                region,
                method: ClassificationMethod::Fallback,
                confidence_pct: 10,
            };
        }
        let has = |words: &[&str]| tokens.iter().any(|t| words.contains(&t.as_str()));
        let mut pct: u8 = 50;
        if market_known {
            pct += 20;
        }
        if has(&["NODE", "HUB"]) {
            pct += 10;
        }
        if has(&["ZONE"]) {
            pct += 10;
        }
        Classification {
            commodity,
            region,
            method: ClassificationMethod::RuleBased,
            confidence_pct: pct.min(90),
        }
    }
}

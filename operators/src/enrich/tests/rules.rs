//! SPEC §5 rules: tokens, priority, ties, hints and confidence.

use super::{commodity_rule, region_rule};
use crate::enrich::rules::{market_hint, tokens, RuleBook};
use crate::model::{ClassificationMethod, Market};

#[test]
fn tokens_are_upper_cased_alphanumeric_runs() {
    assert_eq!(
        tokens("ERCOT.RT.HB_HOUSTON/HU"),
        ["ERCOT", "RT", "HB", "HOUSTON", "HU"]
    );
    assert_eq!(
        tokens("isone.da..H.Internal_Hub"),
        ["ISONE", "DA", "H", "INTERNAL", "HUB"]
    );
    assert_eq!(tokens("NYISO.DA.N.Y.C."), ["NYISO", "DA", "N", "Y", "C"]);
    assert!(tokens("..--").is_empty());
    assert_eq!(tokens("é-GAS"), ["GAS"]);
}

#[test]
fn highest_priority_wins_and_ties_go_to_the_smaller_name() {
    let book = RuleBook::new(
        &[
            commodity_rule("natural_gas", &["GAS", "HENRY"], 10),
            commodity_rule("power", &["henry"], 20),
        ],
        &[
            region_rule("south", &["HENRY"], 5),
            region_rule("gulf", &["HENRY"], 5),
            region_rule("zzz", &["GAS"], 1),
        ],
    );
    let c = book.classify("NYMEX.NG.HENRY", Market::Other);
    assert_eq!(c.commodity.as_deref(), Some("power"));
    assert_eq!(c.region.as_deref(), Some("gulf"));
    assert_eq!(c.method, ClassificationMethod::RuleBased);
    assert_eq!(c.confidence_pct, 50);
    // A keyword must equal a token: no substring matches.
    let c = book.classify("ICE.GASOIL.FRONT", Market::Other);
    assert_eq!((&c.commodity, &c.region), (&None, &None));
    assert_eq!(c.method, ClassificationMethod::Fallback);
    assert_eq!(c.confidence(), 0.1);
}

#[test]
fn market_hints_apply_when_no_region_rule_matches() {
    let book = RuleBook::default();
    for (market, region) in [
        (Market::Miso, "midwest"),
        (Market::Caiso, "west"),
        (Market::Ercot, "texas"),
        (Market::Pjm, "northeast"),
        (Market::Nyiso, "northeast"),
        (Market::Isone, "northeast"),
        (Market::Spp, "central"),
    ] {
        assert_eq!(market_hint(market), Some(region));
        let c = book.classify(&format!("{}.DA.SOMEWHERE", market.code()), market);
        assert_eq!(c.region.as_deref(), Some(region), "{market}");
        assert_eq!(c.commodity.as_deref(), Some("electricity"));
        assert_eq!(c.method, ClassificationMethod::RuleBased);
        assert_eq!(c.confidence(), 0.7);
    }
    assert_eq!(market_hint(Market::Other), None);
    // A region rule beats the hint; an ISO price stays electricity whatever the commodity rules say.
    let book = RuleBook::new(
        &[commodity_rule("natural_gas", &["TEXAS"], 100)],
        &[region_rule("south", &["TEXAS"], 1)],
    );
    let c = book.classify("MISO.DA.TEXAS.HUB", Market::Miso);
    assert_eq!(c.region.as_deref(), Some("south"));
    assert_eq!(c.commodity.as_deref(), Some("electricity"));
}

#[test]
fn confidence_adds_market_node_hub_zone_and_caps_at_0_9() {
    let book = RuleBook::new(&[], &[region_rule("west", &["SP15"], 1)]);
    let cases: [(&str, Market, u8); 9] = [
        ("PJM.DA.PJM-RTO", Market::Pjm, 70),
        ("PJM.DA.WESTERN HUB", Market::Pjm, 80),
        ("CAISO.DA.SOME_NODE", Market::Caiso, 80),
        ("NYISO.DA.ZONE_A", Market::Nyiso, 80),
        ("ISONE.DA.HUB.ZONE", Market::Isone, 90),
        ("ISONE.DA.HUB.NODE.ZONE", Market::Isone, 90),
        ("OTC.SP15.HUB.ZONE", Market::Other, 70),
        ("OTC.SP15", Market::Other, 50),
        ("OTC.NODE.HUBS", Market::Other, 10),
    ];
    for (id, market, pct) in cases {
        let c = book.classify(id, market);
        assert_eq!(c.confidence_pct, pct, "{id}");
    }
    let c = book.classify("ISONE.DA.HUB.NODE.ZONE", Market::Isone);
    assert_eq!(c.confidence(), 0.9);
    assert_eq!(c.confidence().to_string(), "0.9");
    // NODE/HUB alone without any rule, hint or market is still a fallback.
    let c = book.classify("OTC.NODE.HUBS", Market::Other);
    assert_eq!(c.method, ClassificationMethod::Fallback);
}

#[test]
fn blank_keywords_never_match() {
    let book = RuleBook::new(&[commodity_rule("ghost", &["", "  "], 1)], &[]);
    assert_eq!(book.len(), (1, 0));
    let c = book.classify("A..B", Market::Other);
    assert_eq!(c.method, ClassificationMethod::Fallback);
}

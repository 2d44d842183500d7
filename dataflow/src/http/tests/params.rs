use super::*;

#[test]
fn latest_needs_exactly_one_selector() {
    let q = LatestQuery::parse(Some("instrument_id=PJM.RT.A%20B")).unwrap();
    assert_eq!(q.select, Select::One("PJM.RT.A B".into()));
    assert_eq!(q.tenant, "default");
    assert_eq!(q.at_ms, None);
    let q = LatestQuery::parse(Some("prefix=&tenant_id=acme&at=2024-11-03T05:00:00Z")).unwrap();
    assert_eq!(q.select, Select::Prefix("".into()));
    assert_eq!(q.tenant, "acme");
    assert_eq!(q.at_ms, Some(1_730_610_000_000));
    for bad in [
        None,
        Some(""),
        Some("instrument_id="),
        Some("instrument_id=a&prefix=b"),
        Some("instrument_id=a&instrument_id=b"),
        Some("instrument_id=a&at=yesterday"),
        Some("instrument_id=a&limit=3"),
    ] {
        let e = LatestQuery::parse(bad).unwrap_err();
        assert!(!e.0.is_empty(), "{bad:?}");
    }
    assert!(LatestQuery::parse(Some("instrument=x"))
        .unwrap_err()
        .0
        .contains("unknown parameter \"instrument\""));
}

#[test]
fn bars_ranges_are_half_open_and_checked() {
    let q = BarsQuery::parse(Some(
        "instrument_id=X&interval=1H&from=2024-11-03T00:00:00Z&to=2024-11-04T00:00:00Z",
    ))
    .unwrap();
    assert_eq!(q.interval, Some(BarInterval::H1));
    assert_eq!(q.to_ms - q.from_ms, 86_400_000);
    let q = BarsQuery::parse(Some("instrument_id=X")).unwrap();
    assert_eq!((q.from_ms, q.to_ms), (EpochMs::MIN, EpochMs::MAX));
    for (query, needle) in [
        ("interval=1h", "instrument_id"),
        ("instrument_id=X&interval=2h", "unknown interval"),
        (
            "instrument_id=X&from=2024-11-03T00:00:00Z&to=2024-11-03T00:00:00Z",
            "before",
        ),
        ("instrument_id=X&to=2024-13-03T00:00:00Z", "RFC 3339"),
    ] {
        let e = BarsQuery::parse(Some(query)).unwrap_err();
        assert!(e.0.contains(needle), "{query}: {e}");
    }
}

#[test]
fn curve_queries_and_horizons() {
    let q = CurveQuery::parse_projection(Some("instrument_id=C1&horizon=he0")).unwrap();
    assert_eq!(q.curve_id, "C1");
    assert_eq!(q.horizon.as_deref(), Some("he0"));
    assert!(CurveQuery::parse_projection(Some("tenant_id=x")).is_err());
    assert!(CurveQuery::parse_v1("C1", Some("horizon=x")).is_err());
    assert!(horizon_keeps("he0", "HE07"));
    assert!(horizon_keeps("", "HE07"));
    assert!(!horizon_keeps("HE1", "HE07"));
    assert!(!horizon_keeps("HE070", "HE07"));
    // A multi-byte label never splits inside a character.
    assert!(!horizon_keeps("é", "eé"));
}

#[test]
fn subscriptions_name_a_view_and_matching_filters() {
    let q = SubscribeQuery::parse(Some("view=bars&prefix=PJM.&interval=5m")).unwrap();
    assert_eq!(
        q.view,
        SubscribeView::Bars(Some(Select::Prefix("PJM.".into())), Some(BarInterval::M5))
    );
    let q = SubscribeQuery::parse(Some("view=curves&curve_id=C")).unwrap();
    assert_eq!(q.view, SubscribeView::Curves(Some("C".into())));
    for bad in [
        "",
        "view=ticks",
        "view=latest&interval=5m",
        "view=curves&instrument_id=x",
        "view=bars&curve_id=x",
        "view=latest&bogus=1",
    ] {
        assert!(SubscribeQuery::parse(Some(bad)).is_err(), "{bad}");
    }
    assert!(selects(&None, "x"));
    assert!(selects(&Some(Select::Prefix("P".into())), "PJM"));
    assert!(!selects(&Some(Select::One("P".into())), "PJM"));
}

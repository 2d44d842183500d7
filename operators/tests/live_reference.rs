//! Live reference data in the dataflow operators, driven by timely input handles:
//! `Normalize::normalize_with_reference` applies a change of time `t` to the documents of later
//! times (as of each tick's `interval_start`) and never rewrites ticks emitted before, and
//! `Forward::forward_curves` picks up a curve member added mid-run.

use operators::curves::Forward;
use operators::model::reference::{CurveDefinition, CurveMember, Quantity, TaxonomyInstrument};
use operators::model::render::parse_rfc3339_ms;
use operators::model::{
    CurvePoint, FeedKind, FeedTable, LatestPrice, QualityFlags, RawDocument, ReferenceRow,
    SourcePos, Tick,
};
use operators::normalize::{Normalize, NormalizeConfig, NormalizeStats};
use operators::parse::Format;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use timely::dataflow::operators::{Inspect, Probe};
use timely::dataflow::{InputHandleVec, ProbeHandle};

fn ms(s: &str) -> i64 {
    parse_rfc3339_ms(s).unwrap_or_else(|| panic!("bad test time {s}"))
}

fn instrument(valid_from: &str, region: &str, tier: &str) -> ReferenceRow {
    ReferenceRow::Instrument(TaxonomyInstrument {
        tenant_id: "default".into(),
        instrument_id: "PJM.RT.X".into(),
        commodity: "electricity".into(),
        region: Some(region.into()),
        product_tier: Some(tier.into()),
        unit: Some("$/MWh".into()),
        contract_size: Some(Quantity(1.0)),
        tick_size: Some(Quantity(0.01)),
        metadata: "{}".into(),
        active: true,
        valid_from_ms: ms(valid_from),
        updated_at_ms: ms(valid_from),
    })
}

/// A simple-CSV document of feed 0 with one tick per `(time, price)` of instrument `PJM.RT.X`.
fn document(batch: u64, rows: &[(&str, f64)]) -> RawDocument {
    let mut text = String::from("ts,price,instrument_id\n");
    for (ts, price) in rows {
        text.push_str(&format!("{ts},{price},PJM.RT.X\n"));
    }
    RawDocument {
        feed: 0,
        batch,
        bytes: Arc::from(text.into_bytes()),
        offset: 0,
        first_line: 1,
        header: None,
        name: Some(Arc::from("t.csv")),
        format: Some(Format::SimpleCsv),
        ingested_at_ms: 0,
        last: false,
        idle: false,
    }
}

/// What a tick was enriched with: (timely time, interval_start, region, product_tier).
type Seen = (u64, String, String, String);

fn seen(time: u64, t: &Tick) -> Seen {
    let e = t.enrichment.as_deref();
    let field = |f: Option<&str>| f.unwrap_or("-").to_string();
    (
        time,
        operators::model::render::time(t.interval_start_ms),
        field(e.and_then(|e| e.region.as_deref())),
        field(e.and_then(|e| e.product_tier.as_deref())),
    )
}

#[test]
fn a_reference_change_applies_to_documents_of_later_times_only() {
    timely::execute_directly(|worker| {
        let mut docs = InputHandleVec::<u64, RawDocument>::new();
        let mut changes = InputHandleVec::<u64, (ReferenceRow, i64)>::new();
        let out: Rc<RefCell<Vec<Seen>>> = Rc::default();
        let probe = ProbeHandle::new();
        let mut feeds = FeedTable::default();
        feeds.add("t.csv", FeedKind::File);
        let config = NormalizeConfig {
            reference: Some(Arc::new(vec![instrument(
                "2024-01-01T00:00:00Z",
                "northeast",
                "standard",
            )])),
            ..NormalizeConfig::default()
        };
        let sink = out.clone();
        worker.dataflow::<u64, _, _>(|scope| {
            let reference = changes.to_stream(scope);
            let parsed = docs.to_stream(scope).normalize_with_reference(
                Some(reference),
                Arc::new(feeds),
                config,
                Rc::new(RefCell::new(NormalizeStats::default())),
            );
            parsed
                .ticks
                .inspect_core(move |event| {
                    if let Ok((stamp, ticks)) = event {
                        let time = stamp.least().copied().unwrap_or(u64::MAX);
                        sink.borrow_mut()
                            .extend(ticks.iter().map(|t| seen(time, t)));
                    }
                })
                .probe_with(&probe);
        });
        let early = ("2024-06-01T00:00:00Z", 30.0);
        let late = ("2025-06-01T00:00:00Z", 40.0);
        // Time 0: the initial snapshot enriches both ticks.
        docs.send(document(0, &[early, late]));
        // Time 2's document arrives while the reference input is still at time 0: it waits.
        docs.advance_to(2);
        docs.send(document(1, &[early, late]));
        docs.advance_to(3);
        for _ in 0..50 {
            worker.step();
        }
        assert_eq!(
            out.borrow().len(),
            2,
            "time 2 is held back: {:?}",
            out.borrow()
        );
        // Time 1: region of the 2024 version updated, a version from 2025 added.
        changes.advance_to(1);
        changes.send((
            instrument("2024-01-01T00:00:00Z", "northeast", "standard"),
            -1,
        ));
        changes.send((instrument("2024-01-01T00:00:00Z", "midwest", "standard"), 1));
        changes.send((instrument("2025-01-01T00:00:00Z", "midwest", "premium"), 1));
        changes.advance_to(3);
        while probe.less_than(&3) {
            worker.step();
        }
        let expected: Vec<Seen> = [
            (0, early.0, "northeast", "standard"),
            (0, late.0, "northeast", "standard"),
            (2, early.0, "midwest", "standard"),
            (2, late.0, "midwest", "premium"),
        ]
        .into_iter()
        .map(|(t, at, r, p)| (t, at.to_string(), r.to_string(), p.to_string()))
        .collect();
        let mut got = out.borrow().clone();
        got.sort();
        assert_eq!(got, expected, "ticks of time 0 are never rewritten");
    });
}

fn definition() -> ReferenceRow {
    ReferenceRow::CurveDefinition(CurveDefinition {
        tenant_id: "default".into(),
        curve_id: "C".into(),
        name: "C".into(),
        commodity: None,
        region: None,
        interpolation: operators::model::reference::Interpolation::Linear,
        active: true,
        valid_from_ms: 0,
        updated_at_ms: 0,
    })
}

fn member(tenor: &str, instrument: &str, day: i64) -> ReferenceRow {
    const DAY: i64 = 86_400_000;
    ReferenceRow::CurveMember(CurveMember {
        tenant_id: "default".into(),
        curve_id: "C".into(),
        tenor: tenor.into(),
        instrument_id: instrument.into(),
        delivery_start_ms: day * DAY,
        delivery_end_ms: (day + 1) * DAY,
        active: true,
        valid_from_ms: 0,
        updated_at_ms: 0,
    })
}

fn latest(instrument: &str, price: f64) -> LatestPrice {
    LatestPrice {
        tenant_id: "default".into(),
        instrument_id: instrument.into(),
        interval_start_ms: 0,
        interval_end_ms: 3_600_000,
        trade_id: None,
        source: SourcePos::default(),
        price,
        version: 1,
        flags: QualityFlags::default(),
    }
}

#[test]
fn forward_curves_pick_up_a_member_added_mid_run() {
    timely::execute_directly(|worker| {
        let mut prices = InputHandleVec::<u64, (LatestPrice, i64)>::new();
        let mut changes = InputHandleVec::<u64, (ReferenceRow, i64)>::new();
        let out: Rc<RefCell<Vec<(CurvePoint, i64)>>> = Rc::default();
        let probe = ProbeHandle::new();
        let sink = out.clone();
        worker.dataflow::<u64, _, _>(|scope| {
            let initial = Arc::new(vec![definition(), member("M1", "X", 1)]);
            prices
                .to_stream(scope)
                .forward_curves(initial, changes.to_stream(scope))
                .inspect(move |update| sink.borrow_mut().push(update.clone()))
                .probe_with(&probe);
        });
        let mut run_until = |t: u64| {
            while probe.less_than(&t) {
                worker.step();
            }
        };
        prices.send((latest("X", 10.0), 1));
        prices.send((latest("Y", 20.0), 1));
        prices.advance_to(1);
        changes.advance_to(1);
        run_until(1);
        let tenors = |o: &[(CurvePoint, i64)]| -> Vec<(String, f64, bool, i64)> {
            o.iter()
                .map(|(p, d)| (p.tenor.to_string(), p.price, p.interpolated, *d))
                .collect()
        };
        assert_eq!(tenors(&out.borrow()), [("M1".into(), 10.0, false, 1)]);
        out.borrow_mut().clear();
        // Time 1: a member priced by Y (already quoted) joins the curve.
        changes.send((member("M2", "Y", 2), 1));
        changes.advance_to(2);
        prices.advance_to(2);
        run_until(2);
        assert_eq!(tenors(&out.borrow()), [("M2".into(), 20.0, false, 1)]);
        out.borrow_mut().clear();
        // Time 2: an unpriced member after them carries the last priced point; time 3: M2 goes.
        changes.send((member("M3", "Z", 3), 1));
        changes.advance_to(3);
        prices.advance_to(3);
        run_until(3);
        assert_eq!(tenors(&out.borrow()), [("M3".into(), 20.0, true, 1)]);
        out.borrow_mut().clear();
        changes.send((member("M2", "Y", 2), -1));
        changes.advance_to(4);
        prices.advance_to(4);
        run_until(4);
        let mut got = tenors(&out.borrow());
        got.sort_by(|a, b| a.0.cmp(&b.0).then(a.3.cmp(&b.3)));
        assert_eq!(
            got,
            [
                ("M2".into(), 20.0, false, -1),
                ("M3".into(), 20.0, true, -1),
                ("M3".into(), 10.0, true, 1),
            ]
        );
    });
}

use super::*;
use operators::model::SourcePos;
use std::sync::Arc;

const H: i64 = 3_600_000;

fn row(inst: &str, start: EpochMs, price: f64, version: u64) -> LatestPrice {
    LatestPrice {
        tenant_id: Arc::from("default"),
        instrument_id: Arc::from(inst),
        interval_start_ms: start,
        interval_end_ms: start + H,
        trade_id: None,
        source: SourcePos::default(),
        price,
        version,
        flags: Default::default(),
    }
}

fn bar(inst: &str, start: EpochMs, close: f64, is_final: bool) -> Bar {
    Bar {
        tenant_id: Arc::from("default"),
        instrument_id: Arc::from(inst),
        interval: BarInterval::H1,
        window_start_ms: start,
        window_end_ms: start + H,
        open: close,
        high: close,
        low: close,
        close,
        volume: None,
        vwap: None,
        twap: close,
        trade_count: 1,
        first_at_ms: start,
        last_at_ms: start,
        revision: 1,
        is_final,
    }
}

fn point(curve: &str, tenor: &str, start: EpochMs, price: f64) -> CurvePoint {
    CurvePoint {
        tenant_id: Arc::from("default"),
        curve_id: Arc::from(curve),
        as_of_ms: start,
        tenor: Arc::from(tenor),
        delivery_start_ms: start,
        delivery_end_ms: start + H,
        price,
        instrument_id: Arc::from("I"),
        interpolated: false,
        version: 1,
    }
}

#[test]
fn latest_follows_the_newest_tick_and_its_corrections() {
    let mut s = ServeState::new(u64::MAX, 48);
    let changes = s.apply(vec![
        ServeUpdate::Tick(row("A", 0, 1.0, 1), 1),
        ServeUpdate::Tick(row("A", H, 2.0, 1), 1),
        ServeUpdate::Tick(row("AB", 0, 5.0, 1), 1),
        ServeUpdate::Tick(row("B", 0, 7.0, 1), 1),
    ]);
    // One change per instrument: the newest row of the batch, never the superseded one.
    assert_eq!(changes.len(), 3);
    assert!(changes.iter().all(|c| c.diff() == 1));
    assert_eq!(s.latest("default", "A").map(|r| r.price), Some(2.0));
    assert_eq!(s.latest("other", "A"), None);
    // `at` answers from the history, also a tick superseded within the batch.
    assert_eq!(
        s.latest_at("default", "A", H / 2).map(|r| r.price),
        Some(1.0)
    );
    assert_eq!(s.latest_at("default", "A", 2 * H), None);
    let list = s.latest_prefix("default", "A", None, 10).unwrap();
    let names: Vec<_> = list.iter().map(|r| &*r.instrument_id).collect();
    assert_eq!(names, ["A", "AB"]);
    assert_eq!(s.latest_prefix("default", "A", None, 1), Err(TooMany(1)));
    assert_eq!(s.latest_prefix("default", "Z", None, 10).unwrap(), vec![]);
    // A correction of the newest tick: retraction then the new value.
    let changes = s.apply(vec![
        ServeUpdate::Tick(row("A", H, 2.0, 1), -1),
        ServeUpdate::Tick(row("A", H, 3.0, 2), 1),
    ]);
    assert_eq!(
        changes,
        vec![
            Change::Latest(row("A", H, 2.0, 1), -1),
            Change::Latest(row("A", H, 3.0, 2), 1)
        ]
    );
    assert_eq!(s.latest("default", "A").map(|r| r.price), Some(3.0));
}

#[test]
fn bars_apply_diffs_and_answer_half_open_ranges() {
    let mut s = ServeState::new(u64::MAX, 48);
    let open = bar("X", 0, 1.0, false);
    s.apply(vec![ServeUpdate::Bar(open.clone(), 1)]);
    let fin = bar("X", 0, 2.0, true);
    let changes = s.apply(vec![
        ServeUpdate::Bar(open.clone(), -1),
        ServeUpdate::Bar(fin.clone(), 1),
        ServeUpdate::Bar(bar("X", H, 4.0, false), 1),
    ]);
    assert_eq!(changes[0], Change::Bar(open.clone(), -1));
    assert!(changes[1..].iter().all(|c| c.diff() == 1));
    let all = s
        .bars("default", "X", None, EpochMs::MIN, EpochMs::MAX, 10)
        .unwrap();
    assert_eq!(all.iter().map(|b| b.close).collect::<Vec<_>>(), [2.0, 4.0]);
    let first = s
        .bars("default", "X", Some(BarInterval::H1), 0, H, 10)
        .unwrap();
    assert_eq!(first, vec![fin]);
    assert!(s
        .bars("default", "X", Some(BarInterval::M5), 0, H, 10)
        .unwrap()
        .is_empty());
    assert!(s.bars("default", "X", None, H, H, 10).unwrap().is_empty());
    assert_eq!(s.bars("default", "X", None, 0, 2 * H, 1), Err(TooMany(1)));
    // A retraction of something never held changes nothing and is counted.
    assert!(s.apply(vec![ServeUpdate::Bar(open, -1)]).is_empty());
    assert_eq!(s.counters.unmatched_retractions, 1);
}

#[test]
fn final_bars_are_pruned_after_the_history_in_event_time() {
    let mut s = ServeState::new(2 * H as u64, 48);
    s.apply(
        (0..3)
            .map(|i| ServeUpdate::Bar(bar("X", i * H, 1.0, true), 1))
            .collect(),
    );
    // The newest final window ends at 3H: the one ending at H (= 3H − history) goes.
    assert_eq!(
        s.bars("default", "X", None, 0, 10 * H, 10).unwrap().len(),
        2
    );
    // The newest final window ends at 4H: windows ending at or before 2H go.
    let open = bar("X", 10 * H, 1.0, false);
    s.apply(vec![
        ServeUpdate::Bar(bar("X", 3 * H, 1.0, true), 1),
        ServeUpdate::Bar(open.clone(), 1),
    ]);
    let left: Vec<_> = s
        .bars("default", "X", None, 0, 20 * H, 10)
        .unwrap()
        .iter()
        .map(|b| b.window_start_ms / H)
        .collect();
    assert_eq!(left, [2, 3, 10]);
    assert_eq!(s.counters.pruned_bars, 2);
    // Open bars are never pruned, whatever their age.
    s.apply(vec![ServeUpdate::Bar(bar("X", 30 * H, 1.0, true), 1)]);
    let left = s.bars("default", "X", None, 0, 40 * H, 10).unwrap();
    assert_eq!(left, vec![open, bar("X", 30 * H, 1.0, true)]);
}

#[test]
fn curves_hold_points_in_delivery_order_until_retracted() {
    let mut s = ServeState::new(u64::MAX, 48);
    let (a, b) = (point("C", "HE02", H, 2.0), point("C", "HE01", 0, 1.0));
    s.apply(vec![
        ServeUpdate::Curve(a.clone(), 1),
        ServeUpdate::Curve(b.clone(), 1),
    ]);
    assert_eq!(s.curve("default", "C"), Some(vec![b.clone(), a.clone()]));
    assert_eq!(s.curve("default", "D"), None);
    assert_eq!(s.all_points().count(), 2);
    s.apply(vec![ServeUpdate::Curve(a, -1), ServeUpdate::Curve(b, -1)]);
    assert_eq!(s.curve("default", "C"), None);
    assert_eq!(s.sizes(), (0, 0, 0));
}

#[test]
fn random_updates_match_a_recount_from_scratch() {
    // Seeded oracle: every applied point equals the multiset of all updates so far.
    let mut s = ServeState::new(u64::MAX, 48);
    let mut live: Vec<CurvePoint> = Vec::new();
    let mut seed = 7u64;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        seed >> 33
    };
    for _ in 0..200 {
        let mut batch = Vec::new();
        for _ in 0..(next() % 5) {
            if !live.is_empty() && next() % 3 == 0 {
                let p = live.swap_remove((next() as usize) % live.len());
                batch.push(ServeUpdate::Curve(p, -1));
            } else {
                let p = point(
                    "C",
                    &format!("T{}", next() % 8),
                    (next() % 8) as i64,
                    (next() % 4) as f64,
                );
                if !live.contains(&p) {
                    live.push(p.clone());
                    batch.push(ServeUpdate::Curve(p, 1));
                }
            }
        }
        s.apply(batch);
        let mut want = live.clone();
        want.sort_by(|a, b| {
            (a.delivery_start_ms, &a.tenor)
                .cmp(&(b.delivery_start_ms, &b.tenor))
                .then(a.price.total_cmp(&b.price))
        });
        let mut got = s.curve("default", "C").unwrap_or_default();
        got.sort_by(|a, b| {
            (a.delivery_start_ms, &a.tenor)
                .cmp(&(b.delivery_start_ms, &b.tenor))
                .then(a.price.total_cmp(&b.price))
        });
        assert_eq!(got, want);
    }
}

#[test]
fn history_is_kept_per_series() {
    let mut s = ServeState::new(2 * H as u64, 48);
    s.apply(vec![
        ServeUpdate::Bar(bar("OLD", 0, 1.0, true), 1),
        ServeUpdate::Bar(bar("NEW", 1000 * H, 1.0, true), 1),
    ]);
    // A series far ahead in event time does not prune another series' bars.
    assert_eq!(s.bars("default", "OLD", None, 0, H, 10).unwrap().len(), 1);
}

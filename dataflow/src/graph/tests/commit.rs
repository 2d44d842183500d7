//! `CommitTracker`: positions move only past records whose windows are all closed.

use super::*;
use operators::model::BarInterval;
use std::sync::Arc;

const MIN: i64 = 60_000;
/// 2024-11-03T05:00:00Z.
const T0: i64 = 1_730_610_000_000;

fn doc(feed: FeedId, offset: u64, empty: bool) -> RawDocument {
    RawDocument {
        feed,
        batch: 0,
        bytes: Arc::from(if empty { &b""[..] } else { &b"x"[..] }),
        offset,
        first_line: 1,
        header: None,
        name: None,
        format: None,
        ingested_at_ms: 0,
        last: empty,
        idle: false,
    }
}

/// Feeds 0 and 1 are Kafka feeds; 5-minute bars, 1 minute of lateness.
fn tracker() -> CommitTracker {
    let policy = LatenessPolicy::new(&[BarInterval::M5], 0, MIN);
    CommitTracker::new([0, 1].into_iter().collect(), Arc::new(policy))
}

fn positions(t: &mut CommitTracker) -> Vec<(FeedId, u64)> {
    t.safe_positions()
        .into_iter()
        .map(|p| (p.feed, p.next))
        .collect()
}

#[test]
fn only_judged_records_count_and_open_windows_hold_the_position() {
    let mut t = tracker();
    // Feed 0: one record a minute, offsets 10.. at times 0.., one tick each.
    for i in 0..8u64 {
        t.handed(i, &doc(0, 10 + i, false));
    }
    assert!(positions(&mut t).is_empty(), "nothing judged yet");
    t.judged_before(Some(6));
    for i in 0..6u64 {
        t.needs(0, 10 + i, Market::Pjm, T0 + i as i64 * MIN);
    }
    assert_eq!(positions(&mut t), [(0, 10)], "every window open");
    // G at 05:05: the 05:00 window closes only once G ≥ 05:05 + 1 min of lateness.
    t.watermark(T0 + 5 * MIN);
    assert_eq!(positions(&mut t), [(0, 10)]);
    t.watermark(T0 + 6 * MIN);
    assert_eq!(
        positions(&mut t),
        [(0, 15)],
        "05:00-05:05 final, 05:05 still open"
    );
    // Everything closed: the position is the next after everything judged, not handed out.
    t.watermark(EpochMs::MAX);
    assert_eq!(positions(&mut t), [(0, 16)]);
    t.judged_before(None);
    assert_eq!(positions(&mut t), [(0, 18)]);
}

#[test]
fn records_without_accepted_ticks_and_markers_need_nothing_other_feeds_are_ignored() {
    let mut t = tracker();
    t.handed(0, &doc(1, 3, false)); // dead letters only
    t.handed(1, &doc(1, 4, true)); // an idle marker: no record, next stays 4
    t.handed(0, &doc(7, 100, false)); // a file feed
    t.needs(7, 100, Market::Pjm, T0);
    t.judged_before(None);
    assert_eq!(positions(&mut t), [(1, 4)]);
    assert_eq!(t.needed_records(), 0);
}

#[test]
fn a_record_is_held_by_its_latest_window_and_the_oldest_needed_record_wins() {
    let mut t = tracker();
    for o in 0..3u64 {
        t.handed(0, &doc(0, o, false));
    }
    t.judged_before(None);
    // Record 0 holds a tick at 05:00 and one at 05:10; record 1 only 05:00; record 2 05:06.
    t.needs(0, 0, Market::Pjm, T0);
    t.needs(0, 0, Market::Pjm, T0 + 10 * MIN);
    t.needs(0, 1, Market::Pjm, T0);
    t.needs(0, 2, Market::Pjm, T0 + 6 * MIN);
    t.watermark(T0 + 11 * MIN);
    assert_eq!(positions(&mut t), [(0, 0)], "record 0 still feeds 05:10");
    t.watermark(T0 + 16 * MIN);
    assert_eq!(positions(&mut t), [(0, 3)]);
    // Once G passed a window, a tick of it needs nothing (it would be late anyway).
    t.needs(0, 1, Market::Pjm, T0);
    assert_eq!(t.needed_records(), 0);
}

#[test]
fn folding_before_a_limit_counts_only_what_happened_at_earlier_times() {
    let mut t = tracker();
    // Feed 0: one record a minute at times 0..10, one tick each; all judged.
    for i in 0..10u64 {
        t.handed(i, &doc(0, 10 + i, false));
        t.needs(0, 10 + i, Market::Pjm, T0 + i as i64 * MIN);
    }
    t.judged_before(Some(10));
    // G reaches 05:06 at time 6 (closes 05:00-05:05) and 05:11 at time 9 (closes 05:05-05:10).
    t.mark(6, T0 + 6 * MIN);
    t.mark(9, T0 + 11 * MIN);
    t.fold_before(Some(6));
    assert_eq!(
        t.positions(),
        [pos(0, 10)],
        "the mark of time 6 is not durable yet"
    );
    assert_eq!(t.folded_watermark(), EpochMs::MIN);
    t.fold_before(Some(7));
    assert_eq!(t.positions(), [pos(0, 15)]);
    t.fold_before(Some(9));
    assert_eq!(t.positions(), [pos(0, 15)], "G of time 9 not folded");
    t.fold_before(Some(10));
    assert_eq!(
        t.positions(),
        [pos(0, 20)],
        "both windows closed: all judged"
    );
    // A limit beyond what was judged folds only what was judged.
    t.handed(10, &doc(0, 20, false));
    t.fold_before(Some(50));
    assert_eq!(t.positions(), [pos(0, 20)], "time 10 not judged yet");
}

#[test]
fn records_handed_out_at_a_time_not_yet_durable_are_not_committed_past() {
    let mut t = tracker();
    // Dead letters only (no accepted tick): nothing holds them but durability.
    t.handed(0, &doc(1, 0, false));
    t.handed(3, &doc(1, 1, false));
    t.judged_before(None);
    t.fold_before(Some(3));
    assert_eq!(t.positions(), [pos(1, 1)]);
    t.fold_before(Some(4));
    assert_eq!(t.positions(), [pos(1, 2)]);
}

fn pos(feed: FeedId, next: u64) -> Position {
    Position { feed, next }
}

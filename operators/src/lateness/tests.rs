//! Lateness core: watermarks per feed key from earlier batches, horizons, `LATE_DATA`, and the
//! global watermark over live keys.

use super::*;
use crate::model::BarInterval;

const MIN: i64 = 60_000;

fn tick(feed: FeedId, market: Market, run: &Sym, start_ms: EpochMs) -> Tick {
    let mut t = crate::testkit::tick("X", start_ms, start_ms, 1.0);
    t.market = market;
    t.market_run = run.clone();
    t.source.feed = feed;
    t.flags = crate::model::QualityFlags::default();
    t
}

fn summary(feed: FeedId, batch: u64, last: bool, keys: &[(Market, &Sym, EpochMs)]) -> BatchSummary {
    let mut s = BatchSummary::new(feed, batch, last);
    for (m, r, t) in keys {
        s.observe(*m, r, *t);
    }
    s.seal();
    s
}

fn core(planned: usize) -> LatenessCore {
    // 1m bars, no delay, 2 minutes of lateness.
    let p = LatenessPolicy::new(&[BarInterval::M1], 0, 2 * MIN);
    LatenessCore::new(Arc::new(p), Some(planned))
}

#[test]
fn first_batch_is_never_late() {
    let rt: Sym = Arc::from("RT");
    let mut c = core(1);
    let mut t = tick(0, Market::Other, &rt, 0);
    assert_eq!(
        c.judge(&mut t),
        Verdict::Accept {
            horizon_ms: EpochMs::MIN
        }
    );
    assert!(!t.flags.contains(QualityFlag::LateArrival));
}

#[test]
fn later_batches_judge_against_earlier_ones() {
    let rt: Sym = Arc::from("RT");
    let mut c = core(1);
    c.fold(&summary(0, 0, false, &[(Market::Other, &rt, 10 * MIN)]));
    assert_eq!(c.advance(), Some(10 * MIN));
    // Watermark 10m, horizon 8m: the 1m window [7m, 8m) is closed, [8m, 9m) is open.
    let mut late = tick(0, Market::Other, &rt, 7 * MIN + 30_000);
    assert!(
        matches!(c.judge(&mut late), Verdict::Late { watermark_ms } if watermark_ms == 10 * MIN)
    );
    let mut behind = tick(0, Market::Other, &rt, 8 * MIN);
    assert_eq!(
        c.judge(&mut behind),
        Verdict::Accept {
            horizon_ms: 8 * MIN
        }
    );
    assert!(behind.flags.contains(QualityFlag::LateArrival));
    let mut ahead = tick(0, Market::Other, &rt, 11 * MIN);
    assert_eq!(
        c.judge(&mut ahead),
        Verdict::Accept {
            horizon_ms: 8 * MIN
        }
    );
    assert!(!ahead.flags.contains(QualityFlag::LateArrival));
    // Another feed key of the same file has no watermark of its own, but windows already
    // final under G (8m) are closed for it as well.
    let da: Sym = Arc::from("DA");
    let mut other = tick(0, Market::Other, &da, 7 * MIN);
    assert!(matches!(c.judge(&mut other), Verdict::Late { .. }));
    let mut fresh = tick(0, Market::Other, &da, 8 * MIN);
    assert!(matches!(c.judge(&mut fresh), Verdict::Accept { .. }));
    assert!(!fresh.flags.contains(QualityFlag::LateArrival));
}

#[test]
fn global_watermark_is_the_minimum_of_live_keys_and_infinite_at_the_end() {
    let rt: Sym = Arc::from("RT");
    let da: Sym = Arc::from("DA");
    let mut c = core(2);
    c.fold(&summary(
        0,
        0,
        false,
        &[(Market::Pjm, &rt, 5 * MIN), (Market::Pjm, &da, 50 * MIN)],
    ));
    // Feed 1 not seen yet: nothing is final.
    assert_eq!(c.advance(), None);
    c.fold(&summary(1, 0, false, &[(Market::Ercot, &rt, 3 * MIN)]));
    assert_eq!(c.advance(), Some(3 * MIN));
    assert_eq!(c.closed_ms(Market::Pjm), MIN);
    c.fold(&summary(1, 1, true, &[]));
    assert_eq!(c.advance(), Some(5 * MIN));
    c.fold(&summary(0, 1, true, &[]));
    assert_eq!(c.advance(), Some(EpochMs::MAX));
    assert_eq!(c.closed_ms(Market::Ercot), EpochMs::MAX);
}

#[test]
fn per_market_and_per_feed_settings() {
    let p = LatenessPolicy::new(&[BarInterval::M1], 10, 20)
        .with_market(Market::Pjm, Some(100), Some(200))
        .with_feed(3, None, Some(5_000));
    assert_eq!(p.delay_ms(0, Market::Ercot), 10);
    assert_eq!(p.delay_ms(0, Market::Pjm), 100);
    assert_eq!(p.delay_ms(3, Market::Pjm), 100);
    assert_eq!(p.lateness_ms(3, Market::Pjm), 5_000);
    assert_eq!(p.lateness_ms(0, Market::Pjm), 200);
    assert_eq!(p.closing_lateness_ms(Market::Ercot), 5_000);
}

/// An idle feed leaves the global minimum (the busy feed alone moves `G`), keeps its own
/// watermark, and rejoins with its next batch; `G` never goes back, so the windows it closed
/// meanwhile stay closed for the woken feed's old ticks.
#[test]
fn idle_feeds_leave_the_global_watermark_until_their_next_batch() {
    let rt: Sym = Arc::from("RT");
    let m = Market::Other;
    let mut c = LatenessCore::new(
        Arc::new(LatenessPolicy::new(&[BarInterval::M1], 0, 2 * MIN)),
        None,
    );
    c.fold(&summary(0, 0, false, &[(m, &rt, 10 * MIN)]));
    c.fold(&summary(1, 0, false, &[(m, &rt, 10 * MIN)]));
    assert_eq!(c.advance(), Some(10 * MIN));
    // Feed 1 goes quiet; feed 0 moves on alone.
    let mut idle = BatchSummary::new(1, 1, false);
    idle.idle = true;
    c.fold(&idle);
    c.fold(&summary(0, 1, false, &[(m, &rt, 30 * MIN)]));
    assert_eq!(c.advance(), Some(30 * MIN));
    // Feed 1 wakes up with data from minute 11: its own watermark is still 10 min, but the
    // windows G closed (ending at or before 28 min) are closed for it.
    let mut old = tick(1, m, &rt, 11 * MIN);
    assert!(matches!(c.judge(&mut old), Verdict::Late { .. }));
    let mut fresh = tick(1, m, &rt, 29 * MIN);
    assert!(matches!(c.judge(&mut fresh), Verdict::Accept { .. }));
    c.fold(&summary(1, 2, false, &[(m, &rt, 29 * MIN)]));
    // It rejoins the minimum: G waits for it (no advance past its 29 min).
    c.fold(&summary(0, 2, false, &[(m, &rt, 40 * MIN)]));
    assert_eq!(c.advance(), None);
    assert_eq!(c.global_ms(), 30 * MIN);
}

/// A resumed run starts at the committed watermark: re-read ticks (below their feed's judged
/// end) of windows closed there are dropped silently, new ones are `LATE_DATA`, ticks of
/// windows still open are accepted with the closed windows as their horizon.
#[test]
fn a_resumed_core_drops_replayed_ticks_of_closed_windows() {
    let rt: Sym = Arc::from("RT");
    let resume = Resume {
        watermark_ms: 30 * MIN,
        judged_next: [(0, 100)].into_iter().collect(),
    };
    let p = LatenessPolicy::new(&[BarInterval::M1], 0, 2 * MIN).with_resume(resume);
    let mut c = LatenessCore::new(Arc::new(p), None);
    assert_eq!(c.global_ms(), 30 * MIN);
    // Closed at G: window [27m, 28m) ends at 28m = G − lateness.
    let mut replayed = tick(0, Market::Other, &rt, 27 * MIN);
    replayed.source.offset = 99;
    assert_eq!(c.judge(&mut replayed), Verdict::Replayed);
    let mut new = tick(0, Market::Other, &rt, 27 * MIN);
    new.source.offset = 100;
    assert!(matches!(c.judge(&mut new), Verdict::Late { .. }));
    let mut other_feed = tick(1, Market::Other, &rt, 27 * MIN);
    other_feed.source.offset = 5;
    assert!(matches!(c.judge(&mut other_feed), Verdict::Late { .. }));
    let mut open = tick(0, Market::Other, &rt, 28 * MIN);
    open.source.offset = 50;
    assert_eq!(
        c.judge(&mut open),
        Verdict::Accept {
            horizon_ms: 28 * MIN
        }
    );
    assert_eq!((c.stats.replayed, c.stats.late_data), (1, 2));
}

//! `GET /v1/subscribe?view=latest|bars|curves&…` (SPEC §7): Server-Sent Events of one view.
//!
//! The subscriber first gets one `snapshot` event (`{"view","time","records":[…]}`: the view's
//! records selected by the filter at one complete point), then one `update` event per change
//! after that point (`{"time","diff","record"}`, `diff` −1 for a retraction, +1 for a new
//! value), in the order the state applied them; snapshot and receiver are taken under one read
//! of the state, so no change is missed or repeated. Changes reach subscribers through a
//! bounded broadcast channel: a subscriber that falls more than its capacity behind gets a
//! final `overflow` event and the stream ends (resubscribe for a new snapshot) — memory never
//! grows with a slow client. When the server stops the stream ends.

use super::api::{authenticate, ApiContext, ApiError, MAX_ITEMS};
use super::params::{selects, BadParam, SubscribeQuery, SubscribeView};
use super::served::Published;
use super::state::{Change, ServeState};
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use connectors::redis::keys;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError};

fn view_name(v: &SubscribeView) -> &'static str {
    match v {
        SubscribeView::Latest(_) => "latest",
        SubscribeView::Bars(..) => "bars",
        SubscribeView::Curves(_) => "curves",
    }
}

/// The record JSON of a change if the subscription selects it.
fn selected(q: &SubscribeQuery, c: &Change) -> Option<String> {
    match (&q.view, c) {
        (SubscribeView::Latest(sel), Change::Latest(l, _))
            if *l.tenant_id == *q.tenant && selects(sel, &l.instrument_id) =>
        {
            Some(keys::latest_json(l))
        }
        (SubscribeView::Bars(sel, iv), Change::Bar(b, _))
            if *b.tenant_id == *q.tenant
                && selects(sel, &b.instrument_id)
                && iv.is_none_or(|i| i == b.interval) =>
        {
            Some(keys::bar_json(b))
        }
        (SubscribeView::Curves(id), Change::Curve(p, _))
            if *p.tenant_id == *q.tenant && id.as_deref().is_none_or(|i| i == &*p.curve_id) =>
        {
            Some(keys::point_json(p))
        }
        _ => None,
    }
}

/// The snapshot's records, at most [`MAX_ITEMS`].
fn snapshot(q: &SubscribeQuery, state: &ServeState) -> Result<Vec<String>, BadParam> {
    let mut out = Vec::new();
    let mut push = |s: String| {
        if out.len() == MAX_ITEMS {
            return Err(BadParam(format!(
                "the snapshot would exceed {MAX_ITEMS} records: narrow the subscription"
            )));
        }
        out.push(s);
        Ok(())
    };
    match &q.view {
        SubscribeView::Latest(_) => {
            for l in state.all_latest() {
                if let Some(s) = selected(q, &Change::Latest(l.clone(), 1)) {
                    push(s)?;
                }
            }
        }
        SubscribeView::Bars(..) => {
            for b in state.all_bars() {
                if let Some(s) = selected(q, &Change::Bar(b.clone(), 1)) {
                    push(s)?;
                }
            }
        }
        SubscribeView::Curves(_) => {
            for p in state.all_points() {
                if let Some(s) = selected(q, &Change::Curve(p.clone(), 1)) {
                    push(s)?;
                }
            }
        }
    }
    Ok(out)
}

struct Live {
    query: SubscribeQuery,
    rx: broadcast::Receiver<Arc<Published>>,
    queue: VecDeque<Event>,
    done: bool,
}

async fn next_event(mut live: Live) -> Option<(Result<Event, Infallible>, Live)> {
    loop {
        if let Some(e) = live.queue.pop_front() {
            return Some((Ok(e), live));
        }
        if live.done {
            return None;
        }
        match live.rx.recv().await {
            Ok(batch) => {
                for c in &batch.changes {
                    if let Some(record) = selected(&live.query, c) {
                        let data = format!(
                            "{{\"time\":{},\"diff\":{},\"record\":{record}}}",
                            batch.time,
                            c.diff()
                        );
                        live.queue
                            .push_back(Event::default().event("update").data(data));
                    }
                }
            }
            Err(RecvError::Lagged(n)) => {
                live.done = true;
                let data = format!(
                    "{{\"error\":\"subscriber fell behind by {n} update batches and was cut off; subscribe again for a new snapshot\"}}"
                );
                live.queue
                    .push_back(Event::default().event("overflow").data(data));
            }
            Err(RecvError::Closed) => return None,
        }
    }
}

/// `GET /v1/subscribe`.
pub async fn subscribe(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let grant = authenticate(&ctx, &headers, "subscribe")?;
    let query = SubscribeQuery::parse(q.as_deref())?;
    grant.allows(&query.tenant)?;
    let (records, time, rx) = {
        let (state, rx) = ctx.served.subscribe();
        let records = snapshot(&query, &state)?;
        (records, state.applied_time, rx)
    };
    let mut data = format!(
        "{{\"view\":\"{}\",\"time\":{},\"records\":[",
        view_name(&query.view),
        time.map_or("null".to_string(), |t| t.to_string())
    );
    data.push_str(&records.join(","));
    data.push_str("]}");
    let mut queue = VecDeque::new();
    queue.push_back(Event::default().event("snapshot").data(data));
    let live = Live {
        query,
        rx,
        queue,
        done: false,
    };
    let stream = futures_util::stream::unfold(live, next_event);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::state::ServeUpdate;
    use crate::http::Served;
    use operators::model::{LatestPrice, SourcePos};

    fn row(price: f64) -> LatestPrice {
        LatestPrice {
            tenant_id: Arc::from("default"),
            instrument_id: Arc::from("X"),
            interval_start_ms: price as i64,
            interval_end_ms: price as i64 + 1,
            trade_id: None,
            source: SourcePos::default(),
            price,
            version: 1,
            flags: Default::default(),
        }
    }

    fn events(served: &Served, query: &str, batches: u32) -> Vec<String> {
        let query = SubscribeQuery::parse(Some(query)).unwrap();
        let (snapshot, rx) = served.subscribe();
        drop(snapshot);
        for i in 0..batches {
            served.apply(
                u64::from(i),
                vec![ServeUpdate::Tick(row(f64::from(i + 1)), 1)],
            );
        }
        served.close();
        let live = Live {
            query,
            rx,
            queue: VecDeque::new(),
            done: false,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut out = Vec::new();
            let mut state = Some(live);
            while let Some(live) = state.take() {
                if let Some((Ok(e), next)) = next_event(live).await {
                    out.push(format!("{e:?}"));
                    state = Some(next);
                }
            }
            out
        })
    }

    #[test]
    fn updates_arrive_in_order_with_retractions() {
        let served = Served::new(u64::MAX, 48, 16);
        let got = events(&served, "view=latest&instrument_id=X", 2);
        // +1 first price; then −1 first, +1 second.
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(
            got[0].contains("diff\\\":1") || got[0].contains("\"diff\":1"),
            "{got:?}"
        );
        assert!(got[1].contains("-1"), "{got:?}");
        assert!(got.iter().all(|e| e.contains("update")), "{got:?}");
    }

    #[test]
    fn a_lagging_subscriber_is_cut_off_with_an_overflow_event() {
        let served = Served::new(u64::MAX, 48, 2);
        let got = events(&served, "view=latest", 5);
        let last = got.last().unwrap();
        assert!(last.contains("overflow"), "{got:?}");
        assert!(got[..got.len() - 1].iter().all(|e| e.contains("update")));
        // Filters apply: another instrument's subscription sees nothing.
        let served = Served::new(u64::MAX, 48, 16);
        assert!(events(&served, "view=latest&instrument_id=Y", 3).is_empty());
    }
}

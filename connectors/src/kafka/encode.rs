//! Kafka messages of the out topics (SPEC §2.4): one message per view change, keyed by
//! `instrument_id` (`curve_id` for curves, `event_id` for dead letters).
//!
//! The body is the record's canonical JSON (the `render` functions every sink shares; bars and
//! latest prices, whose files are CSV, get the same fields as JSON here) with `ingested_at` where
//! the record has one, followed by the change fields: `record_id` (`tick_id`, `bar_id`,
//! `{curve_id}/{tenor}`, `{tenant_id}/{instrument_id}` for latest prices, `event_id`),
//! `version` (a bar's `revision`; 1 for dead letters), `is_final` (a bar's own flag; `true` for
//! dead letters, which never change; `false` for ticks, latest prices and curve points, which a
//! correction may still replace) and `diff` (+1 new value, −1 retraction). Consumers dedupe by
//! (`record_id`, `version`, `diff`). Encoding never fails.

use crate::sink::Update;
use operators::model::{push_curve_point_json, render, Bar, FeedTable, LatestPrice};
use std::fmt::Write as _;

/// Which out topic a message goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutTopic {
    /// Ticks as normalized (without enrichment fields).
    Normalized,
    /// Ticks with their enrichment (only when reference data enriched them).
    Enriched,
    /// Bars.
    Bars,
    /// Curve points.
    Curves,
    /// Latest prices.
    Latest,
    /// Dead letters.
    DeadLetters,
}

impl OutTopic {
    /// All out topics.
    pub const ALL: [OutTopic; 6] = [
        OutTopic::Normalized,
        OutTopic::Enriched,
        OutTopic::Bars,
        OutTopic::Curves,
        OutTopic::Latest,
        OutTopic::DeadLetters,
    ];

    /// The view stem counted for this topic.
    pub fn stem(self) -> &'static str {
        match self {
            OutTopic::Normalized => "ticks",
            OutTopic::Enriched => "enriched_ticks",
            OutTopic::Bars => "bars",
            OutTopic::Curves => "curves",
            OutTopic::Latest => "latest",
            OutTopic::DeadLetters => "dead_letters",
        }
    }
}

/// One message to produce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutMessage {
    /// Its topic.
    pub topic: OutTopic,
    /// Its key.
    pub key: String,
    /// Its JSON body.
    pub payload: String,
}

/// Replaces the closing `}` of `json` by the change fields.
fn close(json: &mut String, record_id: &str, version: Option<u64>, is_final: bool, diff: i64) {
    json.pop();
    json.push_str(",\"record_id\":");
    render::push_json_str(json, record_id);
    if let Some(v) = version {
        let _ = write!(json, ",\"version\":{v}");
    }
    let _ = write!(json, ",\"is_final\":{is_final},\"diff\":{diff}}}");
}

/// Appends the messages of one update to `out`.
pub fn encode(update: Update<'_>, feeds: &FeedTable, out: &mut Vec<OutMessage>) {
    match update {
        Update::Tick(t, diff) => {
            let id = operators::model::ids::tick_id(&t.identity()).to_string();
            let mut json = String::with_capacity(512);
            if t.enrichment.is_some() {
                render::push_tick_json(&mut json, t, feeds, true);
                close(&mut json, &id, None, false, diff);
                out.push(OutMessage {
                    topic: OutTopic::Enriched,
                    key: t.instrument_id.to_string(),
                    payload: std::mem::take(&mut json),
                });
                let mut plain = t.clone();
                plain.enrichment = None;
                render::push_tick_json(&mut json, &plain, feeds, true);
            } else {
                render::push_tick_json(&mut json, t, feeds, true);
            }
            close(&mut json, &id, None, false, diff);
            out.push(OutMessage {
                topic: OutTopic::Normalized,
                key: t.instrument_id.to_string(),
                payload: json,
            });
        }
        Update::Bar(b, diff) => {
            let mut json = bar_json(b);
            close(
                &mut json,
                &b.bar_id().to_string(),
                Some(b.revision),
                b.is_final,
                diff,
            );
            out.push(OutMessage {
                topic: OutTopic::Bars,
                key: b.instrument_id.to_string(),
                payload: json,
            });
        }
        Update::Latest(l, diff) => {
            let mut json = latest_json(l);
            let id = format!("{}/{}", l.tenant_id, l.instrument_id);
            close(&mut json, &id, None, false, diff);
            out.push(OutMessage {
                topic: OutTopic::Latest,
                key: l.instrument_id.to_string(),
                payload: json,
            });
        }
        Update::Curve(p, diff) => {
            let mut json = String::with_capacity(256);
            push_curve_point_json(&mut json, p);
            close(
                &mut json,
                &format!("{}/{}", p.curve_id, p.tenor),
                None,
                false,
                diff,
            );
            out.push(OutMessage {
                topic: OutTopic::Curves,
                key: p.curve_id.to_string(),
                payload: json,
            });
        }
        Update::DeadLetter(d) => {
            let mut json = String::with_capacity(512 + d.raw.len());
            render::push_dead_letter_json(&mut json, d, true);
            let id = d.event_id().to_string();
            close(&mut json, &id, Some(1), true, 1);
            out.push(OutMessage {
                topic: OutTopic::DeadLetters,
                key: id,
                payload: json,
            });
        }
    }
}

/// A bar as JSON, with the fields of `bars.csv` (SPEC §6).
pub fn bar_json(b: &Bar) -> String {
    let mut s = String::with_capacity(400);
    s.push_str("{\"tenant_id\":");
    render::push_json_str(&mut s, &b.tenant_id);
    s.push_str(",\"instrument_id\":");
    render::push_json_str(&mut s, &b.instrument_id);
    let _ = write!(
        s,
        ",\"interval\":\"{}\",\"window_start\":\"",
        b.interval.name()
    );
    render::push_time(&mut s, b.window_start_ms);
    s.push_str("\",\"window_end\":\"");
    render::push_time(&mut s, b.window_end_ms);
    s.push('"');
    for (name, x) in [
        ("open", b.open),
        ("high", b.high),
        ("low", b.low),
        ("close", b.close),
    ] {
        let _ = write!(s, ",\"{name}\":");
        render::push_num(&mut s, x);
    }
    s.push_str(",\"volume\":");
    render::push_opt_num_json(&mut s, b.volume);
    s.push_str(",\"vwap\":");
    render::push_opt_num_json(&mut s, b.vwap);
    s.push_str(",\"twap\":");
    render::push_num(&mut s, b.twap);
    let _ = write!(s, ",\"trade_count\":{},\"first_at\":\"", b.trade_count);
    render::push_time(&mut s, b.first_at_ms);
    s.push_str("\",\"last_at\":\"");
    render::push_time(&mut s, b.last_at_ms);
    let _ = write!(
        s,
        "\",\"revision\":{},\"bar_id\":\"{}\"}}",
        b.revision,
        b.bar_id()
    );
    s
}

/// A latest price as JSON, with the fields of `latest.csv` (SPEC §6).
pub fn latest_json(l: &LatestPrice) -> String {
    let mut s = String::with_capacity(200);
    s.push_str("{\"tenant_id\":");
    render::push_json_str(&mut s, &l.tenant_id);
    s.push_str(",\"instrument_id\":");
    render::push_json_str(&mut s, &l.instrument_id);
    s.push_str(",\"interval_start\":\"");
    render::push_time(&mut s, l.interval_start_ms);
    s.push_str("\",\"interval_end\":\"");
    render::push_time(&mut s, l.interval_end_ms);
    s.push_str("\",\"price\":");
    render::push_num(&mut s, l.price);
    let _ = write!(s, ",\"version\":{},\"quality_flags\":[", l.version);
    for (i, f) in l.flags.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "\"{}\"", f.name());
    }
    s.push_str("]}");
    s
}

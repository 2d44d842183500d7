//! The ClickHouse sink: nets each worker's view updates per record identity and inserts them as
//! `JSONEachRow` batches into the ReplacingMergeTree tables of `ddl.rs`.
//!
//! A batch is inserted when `batch_max_rows` keys are pending (live rows only: a retraction
//! may still be replaced within its time) and on every [`Sink::flush`] (live rows and the
//! retractions of complete times, written as `deleted = 1` rows that beat the row they retract);
//! [`Sink::finish`] writes everything. Rendered rows wait in a per-table outbox until the
//! server acknowledged them, so a failed insert is re-sent whole on the next flush: an insert
//! that reached the server before the connection broke is then written twice, which the
//! ReplacingMergeTree collapses (same identity, same version). Unreachable server →
//! [`SinkError::Unavailable`] (the runtime retries with capped backoff); a rejected insert (bad
//! schema, authentication) → [`SinkError::Fatal`].

use super::client::{ClickhouseError, Client};
use super::config::ClickhouseConfig;
use super::encode::{self, Row, TableId};
use super::lookup::curve_versions;
use crate::netting::{Net, Netting};
use crate::sink::{Sink, SinkError, Update};
use operators::model::FeedTable;
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// Curve-point versions remembered before the cache is dropped and read back again.
const CURVE_CACHE_MAX: usize = 1 << 20;

/// Rendered rows of one table waiting for the server's acknowledgement.
#[derive(Default)]
struct Outbox {
    body: String,
    rows: usize,
}

/// One worker's ClickHouse sink.
pub struct ClickhouseSink {
    client: Client,
    cfg: ClickhouseConfig,
    feeds: Arc<FeedTable>,
    pending: [Netting<Row>; 5],
    outbox: [Outbox; 5],
    curve_versions: FxHashMap<String, u64>,
    complete_before: Option<u64>,
    counts: [u64; 5],
    rows_written: u64,
}

impl From<ClickhouseError> for SinkError {
    fn from(e: ClickhouseError) -> Self {
        match e {
            ClickhouseError::Unavailable(_) => SinkError::Unavailable(e.to_string()),
            ClickhouseError::Rejected(_) | ClickhouseError::Config(_) => {
                SinkError::Fatal(e.to_string())
            }
        }
    }
}

/// How much of the pending state a write hands to the server.
#[derive(Clone, Copy)]
enum Drain {
    /// Live rows only (a batch reached its size).
    Live,
    /// Live rows and the retractions of complete times.
    Complete,
    /// Everything (end of input).
    All,
}

impl ClickhouseSink {
    /// A sink writing to `cfg` (no request is made until the first insert; run
    /// [`super::migrate`] first so the tables exist). `feeds` renders `source` fields.
    pub fn new(cfg: ClickhouseConfig, feeds: Arc<FeedTable>) -> Result<ClickhouseSink, SinkError> {
        Ok(ClickhouseSink {
            client: Client::new(&cfg)?,
            cfg,
            feeds,
            pending: Default::default(),
            outbox: Default::default(),
            curve_versions: FxHashMap::default(),
            complete_before: None,
            counts: [0; 5],
            rows_written: 0,
        })
    }

    /// Points the sink at another server (tests: the same buffered rows, a server that is up).
    #[cfg(test)]
    pub(crate) fn retarget_for_tests(&mut self, cfg: &ClickhouseConfig) {
        if let Ok(c) = Client::new(cfg) {
            self.client = c;
            self.cfg = cfg.clone();
        }
    }

    /// Rows the server acknowledged so far.
    pub fn rows_written(&self) -> u64 {
        self.rows_written
    }

    fn pending_rows(&self) -> usize {
        self.pending.iter().map(Netting::len).sum::<usize>()
            + self.outbox.iter().map(|o| o.rows).sum::<usize>()
    }

    fn push(&mut self, row: Row, diff: i64, time: u64) -> Result<(), SinkError> {
        let t = row.table as usize;
        self.counts[t] += 1;
        self.pending[t].apply(row.key.clone(), row, diff, time);
        if self.pending_rows() >= self.cfg.batch_max_rows.max(1) {
            self.ship(Drain::Live)?;
        }
        Ok(())
    }

    /// Reads back the stored versions of the curve points about to be drained that the sink
    /// has not numbered yet.
    fn load_curve_versions(&mut self, bound: Option<u64>) -> Result<(), SinkError> {
        let curves = &self.pending[TableId::Curves as usize];
        let mut wanted: Vec<(String, String)> = curves
            .drainable_keys(bound)
            .into_iter()
            .filter(|k| !self.curve_versions.contains_key(*k))
            .filter_map(|k| {
                let mut parts = k.split('\u{1f}');
                Some((parts.next()?.to_string(), parts.next()?.to_string()))
            })
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        wanted.sort();
        wanted.dedup();
        if self.curve_versions.len() > CURVE_CACHE_MAX {
            self.curve_versions.clear();
        }
        let stored = curve_versions(&self.client, &self.cfg.database, &wanted)?;
        // Points of these curves absent from the table start at version 0.
        for k in curves.drainable_keys(bound) {
            let v = stored.get(k).copied().unwrap_or(0);
            self.curve_versions.entry(k.to_string()).or_insert(v);
        }
        Ok(())
    }

    /// Renders the drained rows into the outboxes, then inserts every non-empty outbox.
    fn ship(&mut self, how: Drain) -> Result<(), SinkError> {
        let bound = match how {
            Drain::Live => Some(0),
            Drain::Complete => Some(self.complete_before.unwrap_or(0)),
            Drain::All => None,
        };
        self.load_curve_versions(bound)?;
        for table in TableId::ALL {
            let t = table as usize;
            for (key, net) in self.pending[t].drain(bound) {
                let (row, deleted) = match net {
                    Net::Live(r) => (r, false),
                    Net::Retracted(r) => (r, true),
                };
                let version = match row.version {
                    Some(v) => v | u64::from(deleted),
                    None => {
                        let v = self.curve_versions.entry(key).or_insert(0);
                        *v += 1;
                        *v
                    }
                };
                row.finish(&mut self.outbox[t].body, version, deleted);
                self.outbox[t].rows += 1;
            }
        }
        for table in TableId::ALL {
            let o = &mut self.outbox[table as usize];
            if o.rows == 0 {
                continue;
            }
            self.client
                .insert_json(&self.cfg.database, table.name(), o.body.as_bytes())?;
            self.rows_written += o.rows as u64;
            o.body.clear();
            o.rows = 0;
        }
        Ok(())
    }
}

impl Sink for ClickhouseSink {
    fn kind(&self) -> &'static str {
        "clickhouse"
    }
    fn durable_on_flush(&self) -> bool {
        true
    }

    fn write(&mut self, time: u64, update: Update<'_>) -> Result<(), SinkError> {
        let (row, diff) = match update {
            Update::Tick(t, d) => (encode::tick_row(t, &self.feeds), d),
            Update::Bar(b, d) => (encode::bar_row(b), d),
            Update::Latest(l, d) => (encode::latest_row(l), d),
            Update::Curve(p, d) => (encode::curve_row(p), d),
            Update::DeadLetter(dl) => (encode::dead_letter_row(dl), 1),
        };
        self.push(row, diff, time)
    }

    fn complete_before(&mut self, frontier: u64) {
        self.complete_before = Some(frontier);
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.ship(Drain::Complete)
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.ship(Drain::All)
    }

    fn counts(&self) -> Vec<(&'static str, u64)> {
        TableId::ALL
            .iter()
            .map(|t| (t.view(), self.counts[*t as usize]))
            .collect()
    }
}

//! The ClickHouse sink: nets each worker's view updates per record identity and inserts them as
//! `RowBinary` rows into the ReplacingMergeTree tables of `ddl.rs`.
//!
//! The worker nets and renders; rendered rows go to the sink's insert buffer, which its I/O
//! thread drains with one insert per table of everything buffered (`buffer.rs`: it inserts
//! when a flush asks, when a table holds `batch_max_rows` rows, or when half of
//! `buffer_max_bytes` is buffered; the worker waits only while `buffer_max_bytes` are
//! buffered). Rows are handed to the buffer when `batch_max_rows` keys are pending (live rows
//! only: a retraction may still be replaced within its time), by [`Sink::ship`] at most every
//! 200 ms, and on flushes (live rows and the retractions of complete times, written as
//! `deleted = 1` rows that beat the row they retract); [`Sink::finish`] writes everything.
//! [`Sink::flush`] returns when the server acknowledged every row handed over before it;
//! [`Sink::flush_start`] / [`Sink::flush_done`] do the same without blocking the worker. A
//! failed insert is re-sent whole: one that reached the server before the connection broke is
//! then written twice, which the ReplacingMergeTree collapses (same identity, same version).
//! Unreachable server → [`SinkError::Unavailable`] (the runtime retries with capped backoff); a
//! rejected insert (bad schema, authentication) → [`SinkError::Fatal`].

use super::buffer::{Deliver, InsertBuffer, Limits, Tables};
use super::client::{ClickhouseError, Client};
use super::config::ClickhouseConfig;
use super::encode::{self, Row, TableId};
use super::lookup::curve_versions;
use crate::netting::{Net, Netting};
use crate::sink::{Sink, SinkError, Update};
use operators::model::FeedTable;
use rustc_hash::FxHashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Curve-point versions remembered before the cache is dropped and read back again.
const CURVE_CACHE_MAX: usize = 1 << 20;

/// Least time between two hand-overs of complete rows by [`Sink::ship`] (each insert creates
/// a part the server has to merge).
const SHIP_INTERVAL: Duration = Duration::from_millis(200);

/// Where inserts go: the client and the database (shared by the worker and the I/O thread).
struct Target {
    client: Client,
    database: String,
}

/// Delivers inserts on the I/O thread.
struct Inserter {
    target: Arc<Mutex<Target>>,
    rows_written: Arc<AtomicU64>,
}

impl Deliver for Inserter {
    fn insert(&mut self, table: TableId, body: &[u8], rows: usize) -> Result<(), SinkError> {
        let (client, database) = self
            .target
            .lock()
            .map(|t| (t.client.clone(), t.database.clone()))
            .map_err(|_| SinkError::Fatal("clickhouse client lock poisoned".into()))?;
        client.insert_rowbinary(&database, table.name(), body)?;
        self.rows_written.fetch_add(rows as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// One worker's ClickHouse sink.
pub struct ClickhouseSink {
    target: Arc<Mutex<Target>>,
    io: InsertBuffer,
    cfg: ClickhouseConfig,
    feeds: Arc<FeedTable>,
    pending: [Netting<Row>; 5],
    outbox: Tables,
    /// The hand-over the last `flush_start` waits for.
    flush_mark: u64,
    curve_versions: FxHashMap<String, u64>,
    complete_before: Option<u64>,
    counts: [u64; 5],
    rows_written: Arc<AtomicU64>,
    last_ship: Instant,
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
        let target = Arc::new(Mutex::new(Target {
            client: Client::new(&cfg)?,
            database: cfg.database.clone(),
        }));
        let rows_written = Arc::new(AtomicU64::new(0));
        let io = InsertBuffer::start(
            "clickhouse-sink",
            Inserter {
                target: Arc::clone(&target),
                rows_written: Arc::clone(&rows_written),
            },
            Limits {
                max_bytes: cfg.buffer_max_bytes.max(1),
                batch_rows: cfg.batch_max_rows.max(1),
                min_interval: Duration::from_millis(cfg.insert_interval_ms),
            },
        )?;
        Ok(ClickhouseSink {
            target,
            io,
            cfg,
            feeds,
            pending: Default::default(),
            outbox: Tables::default(),
            flush_mark: 0,
            curve_versions: FxHashMap::default(),
            complete_before: None,
            counts: [0; 5],
            rows_written,
            last_ship: Instant::now(),
        })
    }

    /// Points the sink at another server (tests: the same buffered rows, a server that is up).
    #[cfg(test)]
    pub(crate) fn retarget_for_tests(&mut self, cfg: &ClickhouseConfig) {
        if let (Ok(client), Ok(mut t)) = (Client::new(cfg), self.target.lock()) {
            *t = Target {
                client,
                database: cfg.database.clone(),
            };
            self.cfg = cfg.clone();
        }
    }

    /// Rows the server acknowledged so far.
    pub fn rows_written(&self) -> u64 {
        self.rows_written.load(Ordering::Relaxed)
    }

    fn lookup_client(&self) -> Result<Client, SinkError> {
        self.target
            .lock()
            .map(|t| t.client.clone())
            .map_err(|_| SinkError::Fatal("clickhouse client lock poisoned".into()))
    }

    fn pending_rows(&self) -> usize {
        self.pending.iter().map(Netting::len).sum::<usize>() + self.outbox.rows()
    }

    fn push(&mut self, row: Row, diff: i64, time: u64) -> Result<(), SinkError> {
        let t = row.table as usize;
        self.counts[t] += 1;
        self.pending[t].apply(row.key.clone(), row, diff, time);
        if self.pending_rows() >= self.cfg.batch_max_rows.max(1) {
            self.hand_over(Drain::Live)?;
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
            // Rows numbered from the dropped cache may still be on their way: read after them.
            self.io.sync(self.io.handed()?)?;
            self.curve_versions.clear();
        }
        let stored = curve_versions(&self.lookup_client()?, &self.cfg.database, &wanted)?;
        // Points of these curves absent from the table start at version 0.
        for k in curves.drainable_keys(bound) {
            let v = stored.get(k).copied().unwrap_or(0);
            self.curve_versions.entry(k.to_string()).or_insert(v);
        }
        Ok(())
    }

    /// Renders the drained rows and moves them to the insert buffer; returns the hand-over's
    /// number (an error is the I/O thread's last failure; the rows are kept there).
    fn hand_over(&mut self, how: Drain) -> Result<u64, SinkError> {
        self.last_ship = Instant::now();
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
                row.finish(self.outbox.body_mut(table), version, deleted);
                self.outbox.add_row(table);
            }
        }
        self.io
            .append(&mut self.outbox, self.cfg.buffer_max_bytes.max(1))
    }

    /// Hands over, then waits until the server acknowledged everything handed over.
    fn hand_over_and_sync(&mut self, how: Drain) -> Result<(), SinkError> {
        match self.hand_over(how) {
            // Delivery failed earlier: `sync` retries it (and reports whether it still fails).
            Ok(_) | Err(SinkError::Unavailable(_)) => self.io.sync(self.io.handed()?),
            Err(e) => Err(e),
        }
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

    fn ship(&mut self) -> Result<(), SinkError> {
        // Every insert is a part on the server: hand complete rows over at most every
        // SHIP_INTERVAL_MS (full batches go at once, from `write`).
        if self.last_ship.elapsed() < SHIP_INTERVAL {
            return Ok(());
        }
        self.hand_over(Drain::Complete).map(|_| ())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.hand_over_and_sync(Drain::Complete)
    }

    fn flush_start(&mut self) -> Result<(), SinkError> {
        self.flush_mark = self.hand_over(Drain::Complete)?;
        self.io.request(self.flush_mark)
    }

    fn flush_done(&mut self) -> Result<bool, SinkError> {
        self.io.durable(self.flush_mark)
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.hand_over_and_sync(Drain::All)
    }

    fn counts(&self) -> Vec<(&'static str, u64)> {
        TableId::ALL
            .iter()
            .map(|t| (t.view(), self.counts[*t as usize]))
            .collect()
    }
}

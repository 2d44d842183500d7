//! The ClickHouse sink: nets each worker's view updates per record identity and inserts them as
//! `RowBinary` batches into the ReplacingMergeTree tables of `ddl.rs`.
//!
//! A batch is inserted when `batch_max_rows` keys are pending (live rows only: a retraction
//! may still be replaced within its time) and on every [`Sink::flush`] (live rows and the
//! retractions of complete times, written as `deleted = 1` rows that beat the row they retract);
//! [`Sink::finish`] writes everything. The worker nets and renders; the HTTP inserts run on the
//! sink's I/O thread ([`crate::offload`]: a bounded queue, so a slow server backpressures the
//! worker), and `flush`/`finish` return only when the server acknowledged every insert handed
//! over before them. A failed insert is re-sent whole: one that reached the server before the
//! connection broke is then written twice, which the ReplacingMergeTree collapses (same
//! identity, same version). Unreachable server → [`SinkError::Unavailable`] (the runtime
//! retries with capped backoff); a rejected insert (bad schema, authentication) →
//! [`SinkError::Fatal`].

use super::client::{ClickhouseError, Client};
use super::config::ClickhouseConfig;
use super::encode::{self, Row, TableId};
use super::lookup::curve_versions;
use crate::netting::{Net, Netting};
use crate::offload::{Offload, Transport};
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

/// Rendered rows of one table: one `INSERT` once handed to the I/O thread.
#[derive(Default)]
struct Outbox {
    body: Vec<u8>,
    rows: usize,
}

/// One insert for the I/O thread.
pub(crate) struct Insert {
    table: TableId,
    body: Vec<u8>,
    rows: usize,
}

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

impl Transport for Inserter {
    type Job = Insert;

    fn deliver(&mut self, job: &mut Insert) -> Result<(), SinkError> {
        let (client, database) = self
            .target
            .lock()
            .map(|t| (t.client.clone(), t.database.clone()))
            .map_err(|_| SinkError::Fatal("clickhouse client lock poisoned".into()))?;
        client.insert_rowbinary(&database, job.table.name(), &job.body)?;
        self.rows_written
            .fetch_add(job.rows as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// One worker's ClickHouse sink.
pub struct ClickhouseSink {
    target: Arc<Mutex<Target>>,
    io: Offload<Insert>,
    cfg: ClickhouseConfig,
    feeds: Arc<FeedTable>,
    pending: [Netting<Row>; 5],
    outbox: [Outbox; 5],
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
        let io = Offload::start(
            "clickhouse-sink",
            Inserter {
                target: Arc::clone(&target),
                rows_written: Arc::clone(&rows_written),
            },
        )?;
        Ok(ClickhouseSink {
            target,
            io,
            cfg,
            feeds,
            pending: Default::default(),
            outbox: Default::default(),
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
        self.pending.iter().map(Netting::len).sum::<usize>()
            + self.outbox.iter().map(|o| o.rows).sum::<usize>()
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
            self.io.sync()?;
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

    /// Renders the drained rows into the outboxes, then hands every non-empty outbox to the I/O
    /// thread as one insert (an error is the thread's last failure; the rows are kept there).
    fn hand_over(&mut self, how: Drain) -> Result<(), SinkError> {
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
                row.finish(&mut self.outbox[t].body, version, deleted);
                self.outbox[t].rows += 1;
            }
        }
        let mut result = Ok(());
        for table in TableId::ALL {
            let o = &mut self.outbox[table as usize];
            if o.rows == 0 {
                continue;
            }
            let job = Insert {
                table,
                body: std::mem::take(&mut o.body),
                rows: std::mem::take(&mut o.rows),
            };
            if let Err(e) = self.io.submit(job) {
                result = Err(e);
            }
        }
        result
    }

    /// Ships, then waits until the server acknowledged everything handed over.
    fn hand_over_and_sync(&mut self, how: Drain) -> Result<(), SinkError> {
        match self.hand_over(how) {
            // Delivery failed earlier: `sync` retries it (and reports whether it still fails).
            Ok(()) | Err(SinkError::Unavailable(_)) => self.io.sync(),
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
        self.hand_over(Drain::Complete)
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.hand_over_and_sync(Drain::Complete)
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

//! The ClickHouse sink's insert buffer and the I/O thread that drains it.
//!
//! The worker appends rendered `RowBinary` rows per table ([`InsertBuffer::append`], each
//! hand-over numbered by a sequence); the I/O thread takes everything buffered at once and
//! sends one `INSERT` per table. It inserts when a flush asks for it ([`InsertBuffer::request`]:
//! at most once per `min_interval`, which bounds the parts a quiet stream creates;
//! [`InsertBuffer::sync`]: at once), when a table holds `batch_rows` rows, or when half of
//! `max_bytes` is buffered — so inserts are as large as what piled up meanwhile, and a server slower than
//! the input gets fewer, larger inserts (fewer parts to write and merge) instead of a queue. The
//! worker blocks in `append` only while `max_bytes` are buffered and not yet taken: memory is
//! bounded by twice `max_bytes` plus one hand-over (allocations are kept and passed around —
//! worker outbox, buffer, insert — by swapping, never copied under the lock), and otherwise
//! the worker never waits for a round trip, so sinks after this one (Redis) are not held back
//! by ClickHouse.
//!
//! Durability: `acked` is the last hand-over whose rows the server acknowledged;
//! [`InsertBuffer::durable`] answers without waiting, [`InsertBuffer::sync`] waits.
//!
//! Failures: an insert that fails keeps its rows (the tables not yet acknowledged); the thread
//! stops, publishes the error (returned by the next `append`, `durable` and `sync` as
//! [`SinkError::Unavailable`] or [`SinkError::Fatal`]) and retries only when `sync` asks — the
//! worker's backoff paces the attempts. Re-sent rows are absorbed by the ReplacingMergeTree
//! (same identity, same version). Dropping the buffer stops the thread; rows not delivered
//! then are abandoned (only `sync` promises delivery).

use super::encode::TableId;
use crate::sink::SinkError;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Sends one insert; runs on the I/O thread.
pub(crate) trait Deliver: Send + 'static {
    /// Inserts `rows` rows of `table`, encoded in `body`.
    fn insert(&mut self, table: TableId, body: &[u8], rows: usize) -> Result<(), SinkError>;
}

/// When the I/O thread inserts without being asked, and when the worker waits.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Buffered bytes (not yet taken by the thread) at which `append` blocks.
    pub max_bytes: usize,
    /// Rows of one table at which the thread inserts without a flush asking.
    pub batch_rows: usize,
    /// Least time between two inserts that a flush asks for without waiting.
    pub min_interval: Duration,
}

/// Rendered rows per table.
#[derive(Default)]
pub(crate) struct Tables {
    body: [Vec<u8>; 5],
    rows: [usize; 5],
}

impl Tables {
    /// The rows of `table` so far, to render into.
    pub fn body_mut(&mut self, table: TableId) -> &mut Vec<u8> {
        &mut self.body[table as usize]
    }

    /// Counts one row rendered into `body_mut(table)`.
    pub fn add_row(&mut self, table: TableId) {
        self.rows[table as usize] += 1;
    }

    /// Rows held over all tables.
    pub fn rows(&self) -> usize {
        self.rows.iter().sum()
    }

    fn bytes(&self) -> usize {
        self.body.iter().map(Vec::len).sum()
    }

    fn is_empty(&self) -> bool {
        self.rows() == 0
    }

    /// Moves every row to `into`. A table `into` holds nothing of takes this one's buffer
    /// whole (and leaves its own, empty, here): no copy. This runs under the buffer's lock —
    /// copying the rows of a 2 s insert there stalled the workers' appends for tens of ms at
    /// every insert (the periodic latency spikes of BENCHMARKS.md "Servers").
    fn move_into(&mut self, into: &mut Tables) {
        for t in TableId::ALL {
            let i = t as usize;
            if self.rows[i] > 0 {
                if into.body[i].is_empty() {
                    std::mem::swap(&mut into.body[i], &mut self.body[i]);
                } else {
                    into.body[i].extend_from_slice(&self.body[i]);
                }
                into.rows[i] += self.rows[i];
            }
            self.body[i].clear();
            self.rows[i] = 0;
        }
    }
}

/// The last failure of the thread, as plain data (`SinkError` is not `Clone`).
#[derive(Clone)]
enum Failure {
    Unavailable(String),
    Fatal(String),
}

impl Failure {
    fn error(&self) -> SinkError {
        match self {
            Failure::Unavailable(m) => SinkError::Unavailable(m.clone()),
            Failure::Fatal(m) => SinkError::Fatal(m.clone()),
        }
    }
}

struct State {
    open: Tables,
    open_bytes: usize,
    /// Hand-overs so far (the last one's number).
    handed: u64,
    /// Every hand-over up to this one is acknowledged by the server.
    acked: u64,
    /// A flush waits for this hand-over: insert it (after `min_interval`).
    wanted: u64,
    /// A blocking `sync` waits for this hand-over: insert it now.
    urgent: u64,
    failure: Option<Failure>,
    /// Delivery attempts finished (successful or not).
    attempts: u64,
    /// After a failure: a `sync` asks for another attempt.
    retry: bool,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> Result<MutexGuard<'_, State>, SinkError> {
        self.state
            .lock()
            .map_err(|_| SinkError::Fatal("clickhouse insert thread panicked".into()))
    }

    fn wait<'a>(&self, g: MutexGuard<'a, State>) -> Result<MutexGuard<'a, State>, SinkError> {
        self.changed
            .wait(g)
            .map_err(|_| SinkError::Fatal("clickhouse insert thread panicked".into()))
    }
}

/// The worker's handle on the buffer and its I/O thread.
pub(crate) struct InsertBuffer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl InsertBuffer {
    /// Starts the I/O thread (named `name`) inserting with `deliver`.
    pub fn start<D: Deliver>(
        name: &str,
        deliver: D,
        limits: Limits,
    ) -> Result<InsertBuffer, SinkError> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                open: Tables::default(),
                open_bytes: 0,
                handed: 0,
                acked: 0,
                wanted: 0,
                urgent: 0,
                failure: None,
                attempts: 0,
                retry: false,
                closed: false,
            }),
            changed: Condvar::new(),
        });
        let for_thread = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || run(deliver, &for_thread, limits))
            .map_err(|e| SinkError::Fatal(format!("cannot start the {name} thread: {e}")))?;
        Ok(InsertBuffer {
            shared,
            thread: Some(thread),
        })
    }

    /// Moves the rows of `from` into the buffer (waiting while `max_bytes` are buffered) and
    /// returns the hand-over's number. The rows are kept even when this returns an error: the
    /// error is the thread's last failure, and [`InsertBuffer::sync`] retries.
    pub fn append(&self, from: &mut Tables, max_bytes: usize) -> Result<u64, SinkError> {
        let mut st = self.shared.lock()?;
        if from.is_empty() {
            return st
                .failure
                .as_ref()
                .map_or(Ok(st.handed), |f| Err(f.error()));
        }
        while st.open_bytes >= max_bytes && st.failure.is_none() && !st.closed {
            st = self.shared.wait(st)?;
        }
        st.open_bytes += from.bytes();
        from.move_into(&mut st.open);
        st.handed += 1;
        let handed = st.handed;
        self.shared.changed.notify_all();
        st.failure.as_ref().map_or(Ok(handed), |f| Err(f.error()))
    }

    /// The number of the last hand-over.
    pub fn handed(&self) -> Result<u64, SinkError> {
        Ok(self.shared.lock()?.handed)
    }

    /// Asks the thread to insert everything up to hand-over `mark` now (does not wait).
    pub fn request(&self, mark: u64) -> Result<(), SinkError> {
        let mut st = self.shared.lock()?;
        if mark > st.wanted {
            st.wanted = mark;
            self.shared.changed.notify_all();
        }
        Ok(())
    }

    /// Whether every hand-over up to `mark` is acknowledged (`Err`: the failure that stopped
    /// delivery before it).
    pub fn durable(&self, mark: u64) -> Result<bool, SinkError> {
        let st = self.shared.lock()?;
        if st.acked >= mark {
            return Ok(true);
        }
        st.failure.as_ref().map_or(Ok(false), |f| Err(f.error()))
    }

    /// Waits until every hand-over up to `mark` is acknowledged (after a failure: retries
    /// once), or returns the failure that stopped it.
    pub fn sync(&self, mark: u64) -> Result<(), SinkError> {
        let mut st = self.shared.lock()?;
        if st.acked >= mark {
            return Ok(());
        }
        st.wanted = st.wanted.max(mark);
        st.urgent = st.urgent.max(mark);
        if st.failure.is_some() {
            st.retry = true;
        }
        let attempts = st.attempts;
        self.shared.changed.notify_all();
        loop {
            if st.acked >= mark {
                return Ok(());
            }
            if let Some(f) = st.failure.as_ref().filter(|_| st.attempts > attempts) {
                return Err(f.error());
            }
            if st.closed {
                return Err(SinkError::Fatal("clickhouse insert thread ended".into()));
            }
            st = self.shared.wait(st)?;
        }
    }
}

impl Drop for InsertBuffer {
    fn drop(&mut self) {
        if let Ok(mut st) = self.shared.state.lock() {
            st.closed = true;
        }
        self.shared.changed.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What the thread does next.
enum Step {
    /// Insert what is buffered (or retry the batch that failed).
    Deliver,
    /// The buffer was dropped.
    Stop,
}

/// Waits until there is something to insert (see the module docs for when).
fn next<'a>(
    shared: &'a Shared,
    mut st: MutexGuard<'a, State>,
    limits: Limits,
    failed: bool,
    last_insert: Instant,
) -> Result<(MutexGuard<'a, State>, Step), SinkError> {
    loop {
        if st.closed {
            return Ok((st, Step::Stop));
        }
        let mut wait_at_most = None;
        if failed {
            if st.retry {
                st.retry = false;
                return Ok((st, Step::Deliver));
            }
        } else if !st.open.is_empty() {
            let since = last_insert.elapsed();
            if st.urgent > st.acked
                || st.open.rows.iter().any(|r| *r >= limits.batch_rows.max(1))
                || st.open_bytes >= limits.max_bytes / 2
                || (st.wanted > st.acked && since >= limits.min_interval)
            {
                return Ok((st, Step::Deliver));
            }
            if st.wanted > st.acked {
                wait_at_most = Some(limits.min_interval - since);
            }
        }
        st = match wait_at_most {
            None => shared.wait(st)?,
            Some(d) => {
                shared
                    .changed
                    .wait_timeout(st, d)
                    .map_err(|_| SinkError::Fatal("clickhouse insert thread panicked".into()))?
                    .0
            }
        };
    }
}

/// Inserts every non-empty table of `batch`, emptying each one the server acknowledged.
fn deliver_batch<D: Deliver>(d: &mut D, batch: &mut Tables) -> Result<(), SinkError> {
    for t in TableId::ALL {
        let i = t as usize;
        if batch.rows[i] > 0 {
            d.insert(t, &batch.body[i], batch.rows[i])?;
            // Keeps the allocation: it goes back to the open buffer by the next swap.
            batch.body[i].clear();
            batch.rows[i] = 0;
        }
    }
    Ok(())
}

fn run<D: Deliver>(mut d: D, shared: &Shared, limits: Limits) {
    // The batch being delivered, or the one that failed (retried before anything newer).
    let mut batch = Tables::default();
    let mut batch_end = 0u64;
    let mut last_insert = Instant::now();
    let Ok(mut st) = shared.lock() else { return };
    loop {
        let failed = !batch.is_empty();
        let step = match next(shared, st, limits, failed, last_insert) {
            Ok(s) => s,
            Err(_) => return,
        };
        let (mut guard, step) = step;
        if matches!(step, Step::Stop) {
            return;
        }
        if !failed {
            guard.open.move_into(&mut batch);
            guard.open_bytes = 0;
            batch_end = guard.handed;
            shared.changed.notify_all();
        }
        drop(guard);
        last_insert = Instant::now();
        let result = deliver_batch(&mut d, &mut batch);
        let Ok(mut g) = shared.lock() else { return };
        g.attempts += 1;
        match result {
            Ok(()) => {
                g.acked = batch_end;
                g.failure = None;
            }
            Err(e) => {
                g.failure = Some(match e {
                    SinkError::Unavailable(m) => Failure::Unavailable(m),
                    SinkError::Fatal(m) => Failure::Fatal(m),
                });
            }
        }
        shared.changed.notify_all();
        st = g;
    }
}

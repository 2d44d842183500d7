//! [`PostgresSource`]: the live reference collection read from the PostgreSQL tables of SPEC §5
//! (schema: `tickflow migrate`, `connectors/src/postgres/ddl.sql`).
//!
//! **Snapshot.** One `REPEATABLE READ` read-only transaction reads every table and the
//! snapshot's `xmin` (the oldest transaction still running when it was taken): the *cursor*.
//!
//! **Changes** (every `refresh_interval_ms`). Polling a timestamp such as `updated_at` can miss a
//! row: a transaction that stamped it earlier may commit after a later one was already read. So
//! rows carry `changed_txid`, the id of the transaction that last wrote them (set by a trigger),
//! and each poll reads, again in one repeatable-read snapshot, the rows and the
//! `reference_deletions` entries whose `changed_txid ≥ cursor`, then moves the cursor to that
//! snapshot's `xmin`. Every transaction invisible to the previous read has an id ≥ its `xmin`,
//! so nothing is missed whatever the commit order; rows already seen may be read again, and are
//! compared with the kept copy (by the row's `id`), so nothing is sent twice. The updates are
//! [`diff`] of the old and new versions of the rows touched: `−1 old, +1 new`, and a row set
//! `active = false`, deleted or truncated away is retracted (`−1`).
//!
//! **Failures.** A poll that cannot reach the server, or reads a row that does not validate,
//! changes nothing: the last good rows and the cursor are kept, the problem is logged once and
//! kept in [`last_error`](ReferenceSource::last_error), and the same changes are read again
//! later. A broken connection is re-opened on a later poll, after a backoff doubling from
//! 250 ms to 30 s; the cursor is a transaction id, which survives a server restart, so the first
//! poll after it returns exactly the changes made meanwhile. Errors never contain the password.

use super::pg_rows::read_table;
use super::{diff, Change, LoadErrors, RowError};
use crate::postgres::{connect, PgDsn, PgError};
use operators::model::{ReferenceRow, Table};
use postgres::{Client, IsolationLevel};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// First delay before reconnecting after a failure.
const BACKOFF_MIN: Duration = Duration::from_millis(250);
/// Longest delay between two reconnection attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// The rows a source holds (by table and `id`) and the cursor its next poll starts from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PgBaseline {
    rows: BTreeMap<(Table, i64), ReferenceRow>,
    cursor: u64,
}

impl PgBaseline {
    /// Every row held (active or not), by table then `id`.
    pub fn rows(&self) -> Vec<ReferenceRow> {
        self.rows.values().cloned().collect()
    }

    /// The transaction id from which the next poll reads changes.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }
}

/// Why a read failed.
enum ReadError {
    Pg(PgError),
    Rows(LoadErrors),
}

impl From<postgres::Error> for ReadError {
    fn from(e: postgres::Error) -> Self {
        ReadError::Pg(PgError::from_server(e))
    }
}

/// One consistent read: the snapshot's `xmin`, the rows read, the deleted row ids, and the
/// tables read whole.
struct Read {
    xmin: u64,
    rows: Vec<(Table, i64, ReferenceRow)>,
    deleted: BTreeSet<(Table, i64)>,
    whole: BTreeSet<Table>,
}

/// Reference rows from PostgreSQL, polled every refresh interval; see the module doc.
pub struct PostgresSource {
    dsn: PgDsn,
    refresh: Duration,
    client: Option<Client>,
    baseline: PgBaseline,
    last_poll: Option<Instant>,
    backoff: Duration,
    retry_at: Option<Instant>,
    error: Option<LoadErrors>,
}

impl std::fmt::Debug for PostgresSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSource")
            .field("dsn", &self.dsn)
            .field("refresh", &self.refresh)
            .field("connected", &self.client.is_some())
            .field("rows", &self.baseline.rows.len())
            .field("cursor", &self.baseline.cursor)
            .finish()
    }
}

impl PostgresSource {
    /// A source over the database `dsn` names, polled at most every `refresh`; call
    /// [`ReferenceSource::snapshot`] first. Nothing connects until then.
    pub fn new(dsn: PgDsn, refresh: Duration) -> PostgresSource {
        PostgresSource {
            dsn,
            refresh,
            client: None,
            baseline: PgBaseline::default(),
            last_poll: None,
            backoff: BACKOFF_MIN,
            retry_at: None,
            error: None,
        }
    }

    /// A source continuing from `baseline` (taken by another source, possibly in another
    /// thread): its first poll, after `refresh`, returns every change since that snapshot.
    pub fn resume(dsn: PgDsn, baseline: PgBaseline, refresh: Duration) -> PostgresSource {
        PostgresSource {
            baseline,
            last_poll: Some(Instant::now()),
            ..PostgresSource::new(dsn, refresh)
        }
    }

    /// The rows held and the cursor (to [`resume`](PostgresSource::resume) elsewhere).
    pub fn baseline(&self) -> &PgBaseline {
        &self.baseline
    }

    /// Reads the changes now (whatever the interval or backoff), applying them to the rows
    /// held; on a failure nothing changes and the error is recorded.
    pub fn poll_now(&mut self) -> Vec<(ReferenceRow, i64)> {
        self.last_poll = Some(Instant::now());
        let cursor = self.baseline.cursor;
        match self.read(Some(cursor)) {
            Ok(read) => {
                self.recovered();
                let updates = self.apply(read);
                if !updates.is_empty() {
                    tracing::info!(
                        updates = updates.len(),
                        "reference data changed in PostgreSQL"
                    );
                }
                updates
            }
            Err(e) => {
                self.failed(e);
                Vec::new()
            }
        }
    }

    fn client(&mut self) -> Result<&mut Client, PgError> {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            self.client = None;
        }
        if self.client.is_none() {
            let reconnect = self.error.is_some();
            self.client = Some(connect(&self.dsn)?);
            if reconnect {
                tracing::info!(dsn = %self.dsn.masked(), "reference source reconnected to PostgreSQL");
            }
        }
        self.client
            .as_mut()
            .ok_or_else(|| PgError::Unavailable("not connected".into()))
    }

    /// One repeatable-read transaction: `xmin`, deletions and the rows changed since `since`
    /// (every row when `None`, or of a table truncated since).
    fn read(&mut self, since: Option<u64>) -> Result<Read, ReadError> {
        let client = self.client().map_err(ReadError::Pg)?;
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        // The first statement fixes the transaction's snapshot; its xmin is the next cursor.
        let xmin: String = tx
            .query_one("SELECT pg_snapshot_xmin(pg_current_snapshot())::text", &[])?
            .try_get(0)?;
        let xmin: u64 = xmin
            .parse()
            .map_err(|_| ReadError::Pg(PgError::Server(format!("unexpected xmin `{xmin}`"))))?;
        let mut read = Read {
            xmin,
            rows: Vec::new(),
            deleted: BTreeSet::new(),
            whole: BTreeSet::new(),
        };
        if let Some(cursor) = since {
            let sql = "SELECT table_name, row_id FROM reference_deletions \
                       WHERE changed_txid >= $1::text::xid8";
            for r in tx.query(sql, &[&cursor.to_string()])? {
                let name: String = r.try_get(0)?;
                let id: Option<i64> = r.try_get(1)?;
                let Some(table) = Table::from_name(&name) else {
                    continue;
                };
                match id {
                    Some(id) => read.deleted.insert((table, id)),
                    None => read.whole.insert(table),
                };
            }
        } else {
            read.whole.extend(Table::ALL);
        }
        let mut errors = Vec::new();
        for table in Table::ALL {
            let from = if read.whole.contains(&table) {
                None
            } else {
                since
            };
            read_table(&mut tx, table, from, &mut read.rows, &mut errors)?;
        }
        tx.commit()?;
        if errors.is_empty() {
            Ok(read)
        } else {
            errors.sort();
            Err(ReadError::Rows(LoadErrors(errors)))
        }
    }

    /// Applies a read to the rows held and returns the differential updates.
    fn apply(&mut self, read: Read) -> Vec<(ReferenceRow, i64)> {
        let rows = &mut self.baseline.rows;
        let mut old = Vec::new();
        let mut new = Vec::new();
        for table in &read.whole {
            let ids: Vec<(Table, i64)> = rows.keys().filter(|k| k.0 == *table).copied().collect();
            old.extend(ids.iter().filter_map(|k| rows.remove(k)));
        }
        let present: BTreeSet<(Table, i64)> =
            read.rows.iter().map(|(t, id, _)| (*t, *id)).collect();
        for key in read.deleted.difference(&present) {
            old.extend(rows.remove(key));
        }
        for (table, id, row) in read.rows {
            old.extend(rows.insert((table, id), row.clone()));
            new.push(row);
        }
        self.baseline.cursor = read.xmin;
        diff(&old, &new)
            .into_iter()
            .flat_map(Change::updates)
            .collect()
    }

    fn recovered(&mut self) {
        if self.error.take().is_some() {
            tracing::info!("reference data readable again from PostgreSQL");
        }
        self.backoff = BACKOFF_MIN;
        self.retry_at = None;
    }

    fn failed(&mut self, e: ReadError) {
        let errors = match e {
            ReadError::Rows(errors) => errors,
            ReadError::Pg(e) => {
                // Reconnect on the next attempt, after a growing delay.
                self.client = None;
                self.retry_at = Some(Instant::now() + self.backoff);
                self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
                LoadErrors(vec![RowError {
                    file: "postgres".into(),
                    line: 0,
                    message: e.to_string(),
                }])
            }
        };
        if self.error.as_ref() != Some(&errors) {
            tracing::warn!(
                error = %errors,
                "reading reference data from PostgreSQL failed; keeping the previous rows"
            );
        }
        self.error = Some(errors);
    }
}

impl super::ReferenceSource for PostgresSource {
    fn snapshot(&mut self) -> Result<Vec<ReferenceRow>, LoadErrors> {
        self.last_poll = Some(Instant::now());
        match self.read(None) {
            Ok(read) => {
                self.recovered();
                self.baseline.rows.clear();
                self.apply(read);
                Ok(self.baseline.rows())
            }
            Err(e) => {
                self.failed(e);
                Err(self.error.clone().unwrap_or_else(|| LoadErrors(Vec::new())))
            }
        }
    }

    fn poll_changes(&mut self) -> Vec<(ReferenceRow, i64)> {
        let now = Instant::now();
        let due = self
            .last_poll
            .is_none_or(|at| now.duration_since(at) >= self.refresh);
        let waiting = self.retry_at.is_some_and(|at| now < at);
        if !due || waiting {
            return Vec::new();
        }
        self.poll_now()
    }

    fn last_error(&self) -> Option<&LoadErrors> {
        self.error.as_ref()
    }
}

//! [`ReferenceSource`]: where the live reference collection comes from, and its CSV-directory
//! implementation [`CsvDirSource`].
//!
//! A source hands out one [`snapshot`](ReferenceSource::snapshot) at start and then, on every
//! [`poll_changes`](ReferenceSource::poll_changes), the differential updates since the previous
//! call (`−1` for a live row that is gone or changed, `+1` for its new version; only active rows
//! are live, so a deactivation is the retraction of the active version). Applying every update
//! to the snapshot's active rows gives the source's current active rows.
//!
//! Failures never end the job: a re-scan that finds a bad file keeps the last good rows, returns
//! no change, logs one `tracing::warn` per distinct broken state, and keeps the problems in
//! [`last_error`](ReferenceSource::last_error) (for health checks) until a later scan succeeds.

use super::{diff, load_dir, Change, LoadErrors};
use operators::model::ReferenceRow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// A live source of reference rows (SPEC §5): CSV files today, PostgreSQL later.
pub trait ReferenceSource {
    /// Loads every table now and makes it the baseline of later changes.
    fn snapshot(&mut self) -> Result<Vec<ReferenceRow>, LoadErrors>;

    /// The differential updates since the baseline or the previous call, in a deterministic
    /// order; empty when nothing changed, when it is not yet time to look again, or when the
    /// source cannot be read (see [`ReferenceSource::last_error`]).
    fn poll_changes(&mut self) -> Vec<(ReferenceRow, i64)>;

    /// The problems of the latest failed read, until a read succeeds again.
    fn last_error(&self) -> Option<&LoadErrors>;
}

/// A file whose modification this close to a scan may be followed by another one that leaves
/// the same size and (coarse) mtime: such a directory is re-read on the next scan regardless.
const RACY: Duration = Duration::from_secs(2);

/// What identifies the state of a directory's CSV files without reading them.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Fingerprint {
    /// `(file name, size, mtime)` of every `*.csv` entry, by name.
    files: Vec<(String, u64, Option<SystemTime>)>,
    /// True when no file changed within [`RACY`] of taking the fingerprint.
    stable: bool,
}

fn fingerprint(dir: &Path) -> Option<Fingerprint> {
    let now = SystemTime::now();
    let mut stable = true;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).ok()? {
        let entry = entry.ok()?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".csv") {
            continue;
        }
        let meta = entry.metadata().ok()?;
        let mtime = meta.modified().ok();
        match mtime.map(|m| now.duration_since(m)) {
            Some(Ok(age)) if age >= RACY => {}
            _ => stable = false,
        }
        files.push((name, meta.len(), mtime));
    }
    files.sort();
    Some(Fingerprint { files, stable })
}

/// Reference tables from `<table>.csv` files in a directory, re-read at most every refresh
/// interval, and only when some file's size or mtime changed (or changed too recently to tell).
#[derive(Debug)]
pub struct CsvDirSource {
    dir: PathBuf,
    refresh: Duration,
    /// The last good load: the baseline of the next diff.
    rows: Vec<ReferenceRow>,
    /// The state of the files when last read (good or bad); `None` = read on the next poll.
    seen: Option<Fingerprint>,
    last_scan: Option<Instant>,
    error: Option<LoadErrors>,
}

impl CsvDirSource {
    /// A source over `dir` re-read at most every `refresh`; call
    /// [`ReferenceSource::snapshot`] first.
    pub fn new(dir: impl Into<PathBuf>, refresh: Duration) -> CsvDirSource {
        CsvDirSource {
            dir: dir.into(),
            refresh,
            rows: Vec::new(),
            seen: None,
            last_scan: None,
            error: None,
        }
    }

    /// A source whose baseline is `rows`, a snapshot loaded earlier from `dir` (possibly by
    /// another process): the first poll after `refresh` re-reads the files and returns every
    /// difference from `rows`.
    pub fn resume(dir: impl Into<PathBuf>, rows: Vec<ReferenceRow>, refresh: Duration) -> Self {
        CsvDirSource {
            rows,
            last_scan: Some(Instant::now()),
            ..CsvDirSource::new(dir, refresh)
        }
    }

    /// The directory read.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The rows of the last good load (the baseline of the next changes).
    pub fn rows(&self) -> &[ReferenceRow] {
        &self.rows
    }

    /// Reads the directory now (whatever the interval), returning the changes from the last
    /// good load; on a failure the rows are kept and the problems recorded.
    pub fn rescan(&mut self) -> Vec<(ReferenceRow, i64)> {
        self.last_scan = Some(Instant::now());
        let before = fingerprint(&self.dir);
        if let (Some(seen), Some(now)) = (&self.seen, &before) {
            if seen == now && seen.stable {
                return Vec::new();
            }
        }
        self.seen = before;
        match load_dir(&self.dir) {
            Ok(rows) => {
                if self.error.take().is_some() {
                    tracing::info!(dir = %self.dir.display(), "reference data readable again");
                }
                let changes = diff(&self.rows, &rows);
                self.rows = rows;
                if !changes.is_empty() {
                    tracing::info!(
                        dir = %self.dir.display(),
                        changes = changes.len(),
                        "reference data changed"
                    );
                }
                changes.into_iter().flat_map(Change::updates).collect()
            }
            Err(e) => {
                if self.error.as_ref() != Some(&e) {
                    tracing::warn!(
                        dir = %self.dir.display(),
                        error = %e,
                        "reference data re-scan failed; keeping the previous rows"
                    );
                }
                self.error = Some(e);
                Vec::new()
            }
        }
    }
}

impl ReferenceSource for CsvDirSource {
    fn snapshot(&mut self) -> Result<Vec<ReferenceRow>, LoadErrors> {
        self.last_scan = Some(Instant::now());
        self.seen = fingerprint(&self.dir);
        match load_dir(&self.dir) {
            Ok(rows) => {
                self.error = None;
                self.rows = rows.clone();
                Ok(rows)
            }
            Err(e) => {
                self.error = Some(e.clone());
                Err(e)
            }
        }
    }

    fn poll_changes(&mut self) -> Vec<(ReferenceRow, i64)> {
        match self.last_scan {
            Some(at) if at.elapsed() < self.refresh => Vec::new(),
            _ => self.rescan(),
        }
    }

    fn last_error(&self) -> Option<&LoadErrors> {
        self.error.as_ref()
    }
}

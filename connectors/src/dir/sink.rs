//! The per-worker `dir:` sink and the final merge.

use super::keyed::KeyedView;
use super::runs::{merge_runs, push_key_i64, SortedRuns};
use super::{DirConfig, View};
use crate::sink::{Sink, SinkError, Update};
use operators::model::{
    push_curve_point_json, render, Bar, CurvePoint, DeadLetter, FeedTable, LatestPrice, Tick,
    TickIdentity, BARS_CSV_HEADER, LATEST_CSV_HEADER,
};
use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const PARTS_DIR: &str = ".tickflow-parts";

/// One worker's share of a `dir:` output.
pub struct DirSink {
    cfg: Arc<DirConfig>,
    feeds: Arc<FeedTable>,
    worker: usize,
    ticks: FxHashMap<TickIdentity, Tick>,
    dead: SortedRuns,
    tick_changes: SortedRuns,
    bars: Option<KeyedView>,
    latest: Option<KeyedView>,
    curves: Option<KeyedView>,
    counts: FxHashMap<&'static str, u64>,
    line: String,
}

fn parts_dir(cfg: &DirConfig) -> PathBuf {
    cfg.path.join(PARTS_DIR)
}

fn stem(view: View, changes: bool) -> String {
    if changes {
        format!("{}.changes", view.stem())
    } else {
        view.stem().to_string()
    }
}

impl DirSink {
    /// The sink of global worker `worker`. Removes this worker's runs left by an earlier run.
    pub fn new(
        cfg: Arc<DirConfig>,
        feeds: Arc<FeedTable>,
        worker: usize,
    ) -> Result<DirSink, SinkError> {
        let dir = parts_dir(&cfg);
        std::fs::create_dir_all(&dir)
            .map_err(|e| SinkError::Fatal(format!("cannot create {}: {e}", dir.display())))?;
        let mine = format!(".w{worker}.");
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().contains(&mine) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let runs = |v: View| {
            SortedRuns::new(
                dir.clone(),
                format!("{}.w{worker}", stem(v, cfg.changes)),
                cfg.sort_memory_bytes,
            )
        };
        let keyed = |v: View| {
            cfg.views.contains(&v).then(|| {
                KeyedView::new(
                    dir.clone(),
                    format!("{}.w{worker}", stem(v, cfg.changes)),
                    cfg.changes,
                    cfg.sort_memory_bytes,
                )
            })
        };
        Ok(DirSink {
            dead: runs(View::DeadLetters),
            tick_changes: runs(View::Ticks),
            bars: keyed(View::Bars),
            latest: keyed(View::Latest),
            curves: keyed(View::Curves),
            cfg,
            feeds,
            worker,
            ticks: FxHashMap::default(),
            counts: FxHashMap::default(),
            line: String::new(),
        })
    }

    fn tick_key(t: &Tick) -> Vec<u8> {
        let mut k = Vec::with_capacity(t.instrument_id.len() + t.tenant_id.len() + 40);
        k.extend_from_slice(t.tenant_id.as_bytes());
        k.push(0);
        k.extend_from_slice(t.instrument_id.as_bytes());
        k.push(0);
        push_key_i64(&mut k, t.interval_start_ms);
        k.push(0);
        push_key_i64(&mut k, t.interval_end_ms);
        k.push(0);
        if let Some(trade) = &t.trade_id {
            k.extend_from_slice(trade.as_bytes());
        }
        k
    }

    fn bar_key(b: &Bar) -> Vec<u8> {
        let mut k = Vec::with_capacity(b.instrument_id.len() + b.tenant_id.len() + 24);
        k.extend_from_slice(b.tenant_id.as_bytes());
        k.push(0);
        k.extend_from_slice(b.instrument_id.as_bytes());
        k.push(0);
        push_key_i64(&mut k, b.interval.nominal_ms());
        k.push(0);
        push_key_i64(&mut k, b.window_start_ms);
        k
    }

    fn latest_key(l: &LatestPrice) -> Vec<u8> {
        let mut k = Vec::with_capacity(l.instrument_id.len() + l.tenant_id.len() + 2);
        k.extend_from_slice(l.tenant_id.as_bytes());
        k.push(0);
        k.extend_from_slice(l.instrument_id.as_bytes());
        k
    }

    fn curve_key(p: &CurvePoint) -> Vec<u8> {
        let mut k = Vec::with_capacity(p.curve_id.len() + p.tenant_id.len() + p.tenor.len() + 12);
        k.extend_from_slice(p.tenant_id.as_bytes());
        k.push(0);
        k.extend_from_slice(p.curve_id.as_bytes());
        k.push(0);
        push_key_i64(&mut k, p.delivery_start_ms);
        k.push(0);
        k.extend_from_slice(p.tenor.as_bytes());
        k
    }

    /// Renders and applies one keyed-view update (a change log line ends with its diff).
    fn keyed(
        view: &mut Option<KeyedView>,
        time: u64,
        key: Vec<u8>,
        mut line: String,
        json: bool,
        diff: i64,
        settled: bool,
    ) -> Result<bool, SinkError> {
        let Some(v) = view.as_mut() else {
            return Ok(false);
        };
        let changes = v.changes();
        if changes {
            if json {
                line.pop();
                line.push_str(&format!(",\"diff\":{diff}}}"));
            } else {
                line.push_str(&format!(",{diff}"));
            }
        }
        if settled && diff > 0 {
            v.settle(time, key, line.into_bytes())?;
        } else {
            v.apply(time, key, line.into_bytes(), diff)?;
        }
        Ok(true)
    }

    fn dead_key(d: &DeadLetter) -> Vec<u8> {
        let mut k = Vec::with_capacity(d.source.len() + 48);
        k.extend_from_slice(d.source.as_bytes());
        k.push(0);
        push_key_i64(&mut k, i64::from(d.index));
        k.push(0);
        k.extend_from_slice(d.failure_stage.name().as_bytes());
        k.push(0);
        k.extend_from_slice(d.error_code.name().as_bytes());
        k
    }
}

impl Sink for DirSink {
    fn kind(&self) -> &'static str {
        "dir"
    }

    fn write(&mut self, time: u64, update: Update<'_>) -> Result<(), SinkError> {
        match update {
            Update::Tick(t, diff) => {
                if !self.cfg.views.contains(&View::Ticks) {
                    return Ok(());
                }
                *self.counts.entry("ticks").or_default() += 1;
                if self.cfg.changes {
                    let mut key = Vec::new();
                    push_key_i64(&mut key, time as i64);
                    key.push(0);
                    key.extend_from_slice(&Self::tick_key(t));
                    key.push(0);
                    key.push(if diff < 0 { b'0' } else { b'1' });
                    self.line.clear();
                    render::push_tick_json(&mut self.line, t, &self.feeds, false);
                    self.line.pop();
                    self.line.push_str(&format!(",\"diff\":{diff}}}"));
                    self.tick_changes.push(key, self.line.as_bytes().to_vec())?;
                } else if diff > 0 {
                    self.ticks.insert(t.identity(), t.clone());
                } else {
                    let id = t.identity();
                    if self.ticks.get(&id) == Some(t) {
                        self.ticks.remove(&id);
                    }
                }
            }
            Update::Bar(b, diff) => {
                let mut line = String::with_capacity(256);
                b.push_csv(&mut line);
                if Self::keyed(
                    &mut self.bars,
                    time,
                    Self::bar_key(b),
                    line,
                    false,
                    diff,
                    b.is_final, // a final bar never changes again
                )? {
                    *self.counts.entry("bars").or_default() += 1;
                }
            }
            Update::Latest(l, diff) => {
                let mut line = String::with_capacity(160);
                l.push_csv(&mut line);
                let key = Self::latest_key(l);
                if Self::keyed(&mut self.latest, time, key, line, false, diff, false)? {
                    *self.counts.entry("latest").or_default() += 1;
                }
            }
            Update::Curve(p, diff) => {
                let mut line = String::with_capacity(256);
                push_curve_point_json(&mut line, p);
                let key = Self::curve_key(p);
                if Self::keyed(&mut self.curves, time, key, line, true, diff, false)? {
                    *self.counts.entry("curves").or_default() += 1;
                }
            }
            Update::DeadLetter(d) => {
                if !self.cfg.views.contains(&View::DeadLetters) {
                    return Ok(());
                }
                *self.counts.entry("dead_letters").or_default() += 1;
                self.line.clear();
                render::push_dead_letter_json(&mut self.line, d, false);
                if self.cfg.changes {
                    self.line.pop();
                    self.line.push_str(",\"diff\":1}");
                }
                self.dead
                    .push(Self::dead_key(d), self.line.as_bytes().to_vec())?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        // A dir output is durable only as a whole, when `finalize_dir` renames the merged files.
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        let dir = parts_dir(&self.cfg);
        let mut ticks = SortedRuns::new(
            dir,
            format!("{}.w{}", stem(View::Ticks, false), self.worker),
            self.cfg.sort_memory_bytes,
        );
        for t in self.ticks.values() {
            self.line.clear();
            render::push_tick_json(&mut self.line, t, &self.feeds, false);
            ticks.push(Self::tick_key(t), self.line.as_bytes().to_vec())?;
        }
        self.ticks.clear();
        ticks.finish()?;
        let empty = |dir: PathBuf| SortedRuns::new(dir, String::new(), 0);
        std::mem::replace(&mut self.dead, empty(parts_dir(&self.cfg))).finish()?;
        std::mem::replace(&mut self.tick_changes, empty(parts_dir(&self.cfg))).finish()?;
        for view in [&mut self.bars, &mut self.latest, &mut self.curves] {
            if let Some(v) = view.take() {
                v.finish()?;
            }
        }
        Ok(())
    }

    fn counts(&self) -> Vec<(&'static str, u64)> {
        let mut v: Vec<_> = self.counts.iter().map(|(k, v)| (*k, *v)).collect();
        v.sort();
        v
    }
}

/// Merges the runs of workers `0..workers` into the final view files (written to a temporary
/// name, then renamed) and removes the runs. Call once, after every worker's sink finished.
/// Returns `(file name, lines)` per file written.
pub fn finalize_dir(cfg: &DirConfig, workers: usize) -> Result<Vec<(String, u64)>, SinkError> {
    let dir = parts_dir(cfg);
    let mut written = Vec::new();
    let listing: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    for view in cfg.views.iter().copied() {
        let stem = stem(view, cfg.changes);
        let mut runs: Vec<PathBuf> = Vec::new();
        for w in 0..workers {
            let prefix = format!("{stem}.w{w}.");
            let mut mine: Vec<&PathBuf> = listing
                .iter()
                .filter(|p| file_name(p).starts_with(&prefix) && file_name(p).ends_with(".run"))
                .collect();
            mine.sort();
            runs.extend(mine.into_iter().cloned());
        }
        let name = format!("{stem}.{}", view.ext());
        let tmp = cfg.path.join(format!(".{name}.tmp"));
        let header = match view {
            View::Bars => Some(BARS_CSV_HEADER),
            View::Latest => Some(LATEST_CSV_HEADER),
            _ => None,
        }
        .map(|h| {
            if cfg.changes {
                format!("{h},diff")
            } else {
                h.to_string()
            }
        });
        let n = merge_runs(&runs, header.as_deref(), &tmp)?;
        std::fs::rename(&tmp, cfg.path.join(&name))?;
        written.push((name, n));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(written)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

//! The `dir:PATH[?views=…]` sink: the final state of a bounded input as sorted files (SPEC §6).
//!
//! Every worker keeps its share of each view and, at the end of input, writes it as sorted runs
//! (spilling earlier when a change log grows large); once every worker has finished, one worker
//! merges the runs of all workers into `ticks.jsonl`, `dead_letters.jsonl`, … . The sort keys are
//! the SPEC §6 orders, so the files are byte-identical at any worker or process count.
//! With `--changes`, `{stem}.changes.jsonl` logs every update with its `diff` instead.

mod keyed;
mod runs;
mod sink;

pub use keyed::KeyedView;
pub use runs::{merge_runs, push_key_i64, SortedRuns};
pub use sink::{finalize_dir, DirSink};

use std::collections::BTreeSet;

/// A view file of the `dir:` sink.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum View {
    /// `ticks.jsonl`.
    Ticks,
    /// `bars.csv`.
    Bars,
    /// `latest.csv`.
    Latest,
    /// `curves.jsonl`.
    Curves,
    /// `dead_letters.jsonl`.
    DeadLetters,
}

impl View {
    /// Every view.
    pub const ALL: [View; 5] = [
        View::Ticks,
        View::Bars,
        View::Latest,
        View::Curves,
        View::DeadLetters,
    ];

    /// The file stem (also the metric label `view`).
    pub fn stem(self) -> &'static str {
        match self {
            View::Ticks => "ticks",
            View::Bars => "bars",
            View::Latest => "latest",
            View::Curves => "curves",
            View::DeadLetters => "dead_letters",
        }
    }

    /// The file extension.
    pub fn ext(self) -> &'static str {
        match self {
            View::Bars | View::Latest => "csv",
            _ => "jsonl",
        }
    }

    /// Looks a view up by stem.
    pub fn from_stem(s: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.stem() == s.trim())
    }
}

/// Configuration of a `dir:` output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirConfig {
    /// Output directory (created when missing).
    pub path: std::path::PathBuf,
    /// Views written.
    pub views: BTreeSet<View>,
    /// Write `{stem}.changes.*` update logs instead of final state.
    pub changes: bool,
    /// Memory each sorted view of this worker's writer holds before it spills a sorted run
    /// (the runtime gives each worker its share of `output.sort_memory_bytes`, a per-process
    /// budget; [`DEFAULT_SORT_MEMORY_BYTES`] unless set).
    pub sort_memory_bytes: usize,
}

/// Default of `output.sort_memory_bytes`: large enough that a million-tick run spills nothing,
/// small enough that the final bars of a long run do not grow memory (they spill in runs).
pub const DEFAULT_SORT_MEMORY_BYTES: usize = 8 << 20;

impl DirConfig {
    /// Parses `PATH[?views=a,b]` (the part after `dir:`); every problem is reported.
    pub fn parse(spec: &str, changes: bool) -> Result<DirConfig, String> {
        let (path, query) = spec.split_once('?').unwrap_or((spec, ""));
        if path.is_empty() {
            return Err("dir: output needs a path".into());
        }
        let mut views: BTreeSet<View> = View::ALL.into_iter().collect();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("views", list)) => {
                    views.clear();
                    let mut bad = Vec::new();
                    for v in list.split(',').filter(|v| !v.is_empty()) {
                        match View::from_stem(v) {
                            Some(v) => {
                                views.insert(v);
                            }
                            None => bad.push(v.to_string()),
                        }
                    }
                    if !bad.is_empty() {
                        return Err(format!(
                            "unknown view(s) {} in dir:{spec} (known: ticks, bars, latest, curves, dead_letters)",
                            bad.join(", ")
                        ));
                    }
                }
                _ => return Err(format!("unknown dir: option {pair:?} (known: views=)")),
            }
        }
        Ok(DirConfig {
            path: path.into(),
            views,
            changes,
            sort_memory_bytes: DEFAULT_SORT_MEMORY_BYTES,
        })
    }
}

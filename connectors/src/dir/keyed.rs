//! One keyed view of the `dir:` sink (bars, latest, curves): the final state as a map from the
//! record's sort key to its rendered line, or, with `--changes`, the update log.
//!
//! A `+1` sets the key's line; a `−1` removes it only when it retracts exactly the line held
//! (an update may deliver the new value before the retraction of the old one). A record that
//! can no longer change (a final bar: its window is closed for good, later ticks of it are
//! dead letters) is *settled*: it goes straight to the sorted runs, which spill every
//! `spill_bytes`, so a long run's final bars do not stay in memory.

use super::runs::{push_key_i64, SortedRuns};
use rustc_hash::FxHashMap;
use std::path::PathBuf;

/// The state of one keyed view on one worker.
pub struct KeyedView {
    changes: bool,
    live: FxHashMap<Vec<u8>, Vec<u8>>,
    /// The change log (with `changes`), else the settled records.
    log: SortedRuns,
    /// Updates received.
    pub updates: u64,
}

impl KeyedView {
    /// A view whose runs are written to `dir` as `{prefix}.{n}.run`.
    pub fn new(dir: PathBuf, prefix: String, changes: bool, spill_bytes: usize) -> KeyedView {
        KeyedView {
            changes,
            live: FxHashMap::default(),
            log: SortedRuns::new(dir, prefix, spill_bytes),
            updates: 0,
        }
    }

    /// Applies one update of the record with sort `key` rendered as `line` (no line break; for a
    /// change log the line must already end with its `diff`).
    pub fn apply(
        &mut self,
        time: u64,
        key: Vec<u8>,
        line: Vec<u8>,
        diff: i64,
    ) -> std::io::Result<()> {
        self.updates += 1;
        if self.changes {
            let mut k = Vec::with_capacity(key.len() + 20);
            push_key_i64(&mut k, time as i64);
            k.push(0);
            k.extend_from_slice(&key);
            k.push(0);
            k.push(if diff < 0 { b'0' } else { b'1' });
            return self.log.push(k, line);
        }
        if diff > 0 {
            self.live.insert(key, line);
        } else if self.live.get(&key) == Some(&line) {
            self.live.remove(&key);
        }
        Ok(())
    }

    /// True when this view writes a change log.
    pub fn changes(&self) -> bool {
        self.changes
    }

    /// Adds a record that will never be retracted or replaced (see the module doc); without
    /// `changes` it is written to the sorted runs at once instead of being held.
    pub fn settle(&mut self, time: u64, key: Vec<u8>, line: Vec<u8>) -> std::io::Result<()> {
        if self.changes {
            return self.apply(time, key, line, 1);
        }
        self.updates += 1;
        self.live.remove(&key);
        self.log.push(key, line)
    }

    /// Writes what is held as sorted runs; returns nothing, the runs stay in the parts directory.
    pub fn finish(self) -> std::io::Result<()> {
        let KeyedView { live, mut log, .. } = self;
        for (k, l) in live {
            log.push(k, l)?;
        }
        log.finish()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settled_records_spill_and_replace_what_was_live() {
        let dir = tempfile::tempdir().unwrap();
        // A limit of a few records: settled records must not stay in memory.
        let mut v = KeyedView::new(dir.path().to_path_buf(), "b.w0".into(), false, 64);
        v.apply(0, b"k05".to_vec(), b"provisional".to_vec(), 1)
            .unwrap();
        for i in (0..20).rev() {
            let k = format!("k{i:02}").into_bytes();
            v.settle(1, k, format!("final {i}").into_bytes()).unwrap();
        }
        // The provisional line's retraction after its final replacement changes nothing.
        v.apply(1, b"k05".to_vec(), b"provisional".to_vec(), -1)
            .unwrap();
        v.apply(1, b"live".to_vec(), b"open".to_vec(), 1).unwrap();
        assert_eq!(v.live.len(), 1);
        let mut runs: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(runs.len() > 1, "settled records spilled in runs: {runs:?}");
        v.finish().unwrap();
        runs = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        let out = dir.path().join("out.csv");
        crate::dir::runs::merge_runs(&runs, None, &out).unwrap();
        let mut expected: Vec<String> = (0..20).map(|i| format!("final {i}")).collect();
        expected.push("open".into());
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(text.lines().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn retraction_of_another_value_keeps_the_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut v = KeyedView::new(dir.path().to_path_buf(), "b.w0".into(), false, 1 << 20);
        v.apply(0, b"k".to_vec(), b"old".to_vec(), 1).unwrap();
        v.apply(1, b"k".to_vec(), b"new".to_vec(), 1).unwrap();
        v.apply(1, b"k".to_vec(), b"old".to_vec(), -1).unwrap();
        assert_eq!(v.live.get(b"k".as_slice()), Some(&b"new".to_vec()));
        v.apply(2, b"k".to_vec(), b"new".to_vec(), -1).unwrap();
        assert!(v.live.is_empty());
    }
}

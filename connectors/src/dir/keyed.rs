//! One keyed view of the `dir:` sink (bars, latest, curves): the final state as a map from the
//! record's sort key to its rendered line, or, with `--changes`, the update log.
//!
//! A `+1` sets the key's line; a `−1` removes it only when it retracts exactly the line held
//! (an update may deliver the new value before the retraction of the old one).

use super::runs::{push_key_i64, SortedRuns};
use rustc_hash::FxHashMap;
use std::path::PathBuf;

/// The state of one keyed view on one worker.
pub struct KeyedView {
    changes: bool,
    live: FxHashMap<Vec<u8>, Vec<u8>>,
    log: SortedRuns,
    dir: PathBuf,
    prefix: String,
    spill_bytes: usize,
    /// Updates received.
    pub updates: u64,
}

impl KeyedView {
    /// A view whose runs are written to `dir` as `{prefix}.{n}.run`.
    pub fn new(dir: PathBuf, prefix: String, changes: bool, spill_bytes: usize) -> KeyedView {
        KeyedView {
            changes,
            live: FxHashMap::default(),
            log: SortedRuns::new(dir.clone(), prefix.clone(), spill_bytes),
            dir,
            prefix,
            spill_bytes,
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

    /// Writes what is held as sorted runs; returns nothing, the runs stay in the parts directory.
    pub fn finish(self) -> std::io::Result<()> {
        let KeyedView {
            changes,
            live,
            log,
            dir,
            prefix,
            spill_bytes,
            ..
        } = self;
        if changes {
            log.finish()?;
            return Ok(());
        }
        let mut runs = SortedRuns::new(dir, prefix, spill_bytes);
        for (k, l) in live {
            runs.push(k, l)?;
        }
        runs.finish()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

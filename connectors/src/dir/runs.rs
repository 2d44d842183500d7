//! Sorted runs of `key \x1f line` records, spilled to disk, and their k-way merge.
//!
//! Keys are byte strings whose lexicographic order is the view's sort order (fields separated by
//! `\0`, integers as fixed-width sign-flipped hex), so the merge never parses a line.

use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

const SEP: u8 = 0x1f;

/// A buffer of keyed lines that spills sorted runs to `dir` when it holds more than `limit_bytes`.
pub struct SortedRuns {
    dir: PathBuf,
    prefix: String,
    buf: Vec<(Vec<u8>, Vec<u8>)>,
    held_bytes: usize,
    limit_bytes: usize,
    runs: Vec<PathBuf>,
}

impl SortedRuns {
    /// Runs named `{prefix}.{n}.run` in `dir`.
    pub fn new(dir: PathBuf, prefix: String, limit_bytes: usize) -> SortedRuns {
        SortedRuns {
            dir,
            prefix,
            buf: Vec::new(),
            held_bytes: 0,
            limit_bytes,
            runs: Vec::new(),
        }
    }

    /// Adds one keyed line (the line must not contain `\n`).
    pub fn push(&mut self, key: Vec<u8>, line: Vec<u8>) -> std::io::Result<()> {
        self.held_bytes += key.len() + line.len() + 48;
        self.buf.push((key, line));
        if self.held_bytes > self.limit_bytes {
            self.spill()?;
        }
        Ok(())
    }

    /// Sorts what is held and writes it as one run.
    pub fn spill(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.buf.sort_unstable();
        std::fs::create_dir_all(&self.dir)?;
        let path = self
            .dir
            .join(format!("{}.{}.run", self.prefix, self.runs.len()));
        let mut w = BufWriter::with_capacity(1 << 20, File::create(&path)?);
        for (k, l) in self.buf.drain(..) {
            w.write_all(&k)?;
            w.write_all(&[SEP])?;
            w.write_all(&l)?;
            w.write_all(b"\n")?;
        }
        w.flush()?;
        self.held_bytes = 0;
        self.runs.push(path);
        Ok(())
    }

    /// Spills the rest and returns every run written.
    pub fn finish(mut self) -> std::io::Result<Vec<PathBuf>> {
        self.spill()?;
        Ok(self.runs)
    }
}

struct Head {
    key: Vec<u8>,
    line: Vec<u8>,
    src: usize,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        (&self.key, self.src) == (&other.key, other.src)
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Reversed: BinaryHeap is a max-heap and we want the smallest (key, line).
        (&other.key, &other.line, other.src).cmp(&(&self.key, &self.line, self.src))
    }
}

fn read_record(
    r: &mut BufReader<File>,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<(Vec<u8>, Vec<u8>)>> {
    buf.clear();
    if r.read_until(b'\n', buf)? == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
    }
    let split = memchr::memchr(SEP, buf).unwrap_or(buf.len());
    let key = buf[..split].to_vec();
    let line = buf.get(split + 1..).unwrap_or(&[]).to_vec();
    Ok(Some((key, line)))
}

/// Merges sorted runs into `out` (the lines only, each ending in `\n`), after an optional header
/// line. Returns the number of lines written.
pub fn merge_runs(runs: &[PathBuf], header: Option<&str>, out: &Path) -> std::io::Result<u64> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(out)?);
    if let Some(h) = header {
        w.write_all(h.as_bytes())?;
        w.write_all(b"\n")?;
    }
    let mut readers = Vec::with_capacity(runs.len());
    for p in runs {
        readers.push(BufReader::with_capacity(1 << 16, File::open(p)?));
    }
    let mut heap = BinaryHeap::new();
    let mut scratch = Vec::new();
    for (src, r) in readers.iter_mut().enumerate() {
        if let Some((key, line)) = read_record(r, &mut scratch)? {
            heap.push(Head { key, line, src });
        }
    }
    let mut n = 0;
    while let Some(Head { line, src, .. }) = heap.pop() {
        w.write_all(&line)?;
        w.write_all(b"\n")?;
        n += 1;
        if let Some((key, line)) = read_record(&mut readers[src], &mut scratch)? {
            heap.push(Head { key, line, src });
        }
    }
    w.flush()?;
    Ok(n)
}

/// Appends `v` as 16 hex digits whose byte order is the numeric order of `v`.
pub fn push_key_i64(key: &mut Vec<u8>, v: i64) {
    let u = (v as u64) ^ (1 << 63);
    key.extend_from_slice(format!("{u:016x}").as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spilled_runs_merge_in_key_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut runs = SortedRuns::new(dir.path().to_path_buf(), "t".into(), 200);
        let mut expected = Vec::new();
        for i in (0..100i64).rev() {
            let mut k = Vec::new();
            push_key_i64(&mut k, i - 50);
            runs.push(k, format!("line {}", i - 50).into_bytes())
                .unwrap();
            expected.push(format!("line {}", i - 50));
        }
        expected.reverse();
        let files = runs.finish().unwrap();
        assert!(files.len() > 1, "should have spilled");
        let out = dir.path().join("out");
        assert_eq!(merge_runs(&files, Some("h"), &out).unwrap(), 100);
        let text = std::fs::read_to_string(&out).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines[0], "h");
        assert_eq!(lines[1..].to_vec(), expected);
    }
}

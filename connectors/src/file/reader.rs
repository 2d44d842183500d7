//! One worker's reader over its share of the planned file feeds.
//!
//! Whole documents are read in one go. Record streams are cut into batches: batch `k` holds the
//! records whose first byte lies in `[k·S, (k+1)·S)` (S = `batch_max_bytes`), i.e. it starts at
//! the first record boundary at or after `k·S`. Batch `k` of the `j`-th striped feed belongs to
//! worker `(k + j) mod W`. To number lines exactly, a worker also scans (but does not parse) the
//! batches it does not own, counting line breaks; the scan is a memchr pass over the page cache.
//!
//! All striped feeds advance together, one batch number at a time (batch 0 of every feed, then
//! batch 1, …), after the whole documents (batch 0). The source stamps each document with its
//! batch number as the timely time, so time `k` means "batch `k` of every feed" on every worker —
//! the event-time machinery (SPEC §4) relies on this.
//! A record containing a quoted line break is not supported in record streams.
//!
//! **Pieces.** An owned batch is handed out as documents of about [`PIECE_BYTES`] (cut after a
//! line break outside quotes), all with the batch's number — so all of one timely time — one per poll. The
//! source yields between them, so each piece's ticks pass parse, enrichment and lateness while
//! they are still in the core's cache, instead of each stage sweeping the whole batch's ticks
//! (several MB) from memory; per-time costs stay those of the batch. Lines, headers and the
//! batch's `last` flag are carried so the pieces parse exactly as the batch would.

use super::plan::{InputPlan, ReadMode};
use crate::source::{Poll, Position, SourceHealth, SourceReader};
use operators::model::{FeedId, RawDocument};
use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

const SCAN_BLOCK: usize = 64 * 1024;

/// Size of the pieces a batch is handed out in (see the module docs): their ticks (~200 bytes
/// each, ~40 bytes of CSV) stay within a core's L2 cache.
pub const PIECE_BYTES: usize = 64 * 1024;

/// Reads one worker's share of an [`InputPlan`].
pub struct FileReader {
    plan: Arc<InputPlan>,
    whole: VecDeque<FeedId>,
    striped: VecDeque<(usize, FeedId)>,
    /// Open striped feeds, all at batch `round` or `round + 1`.
    cursors: Vec<StripeCursor>,
    /// Dead-letter documents of striped feeds that could not be opened.
    pending_errors: Vec<RawDocument>,
    /// The pieces of the current batch not handed out yet.
    pieces: VecDeque<RawDocument>,
    /// Reused read buffer of striped batches (owned ones are copied into their pieces).
    scratch: Vec<u8>,
    /// Index into `cursors` of the next feed to advance in this round.
    next: usize,
    worker: usize,
    workers: usize,
    batch_bytes: u64,
    positions: Vec<Position>,
    health: SourceHealth,
}

struct StripeCursor {
    feed: FeedId,
    rank: usize,
    file: Backing,
    size: u64,
    k: u64,
    start: u64,
    line: u32,
    header: Option<Arc<[u8]>>,
    /// The last batch has been cut.
    done: bool,
}

impl FileReader {
    /// A reader for global worker `worker` of `workers`, cutting record streams every
    /// `batch_bytes` bytes.
    pub fn new(
        plan: Arc<InputPlan>,
        worker: usize,
        workers: usize,
        batch_bytes: u64,
    ) -> FileReader {
        let whole = plan.whole_feeds_for(worker, workers).into();
        let striped = plan.striped_feeds().into_iter().enumerate().collect();
        FileReader {
            plan,
            whole,
            striped,
            cursors: Vec::new(),
            pending_errors: Vec::new(),
            pieces: VecDeque::new(),
            scratch: Vec::new(),
            next: 0,
            worker,
            workers: workers.max(1),
            batch_bytes: batch_bytes.max(1),
            positions: Vec::new(),
            health: SourceHealth::Running,
        }
    }

    fn now_ms() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }

    fn read_whole(&mut self, feed: FeedId) -> RawDocument {
        let Some(fp) = self.plan.feeds.get(feed as usize) else {
            return self.error_doc(feed, format!("feed {feed} is not planned"));
        };
        let bytes = match &fp.mode {
            ReadMode::ZipMember(member) => read_member(&fp.path, member),
            _ => match &fp.data {
                Some(data) => Ok(data.to_vec()),
                None => std::fs::read(&fp.path).map_err(|e| e.to_string()),
            },
        };
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => {
                return self.error_doc(feed, format!("cannot read {}: {e}", fp.path.display()))
            }
        };
        self.positions.push(Position {
            feed,
            next: bytes.len() as u64,
        });
        RawDocument {
            feed,
            batch: 0,
            bytes: bytes.into(),
            offset: 0,
            first_line: 1,
            header: None,
            name: Some(fp.name.as_str().into()),
            format: fp.format,
            ingested_at_ms: Self::now_ms(),
            last: true,
            idle: false,
        }
    }

    /// An unreadable file becomes a document the parser rejects (a dead letter naming the cause).
    fn error_doc(&mut self, feed: FeedId, why: String) -> RawDocument {
        self.health = SourceHealth::Stalled(why.clone());
        RawDocument {
            feed,
            batch: 0,
            bytes: format!("unreadable input: {why}").into_bytes().into(),
            offset: 0,
            first_line: 1,
            header: None,
            name: None,
            format: None,
            ingested_at_ms: Self::now_ms(),
            last: true,
            idle: false,
        }
    }

    /// Opens every striped feed; an unreadable one becomes a dead-letter document from the
    /// worker that owns its batch 0.
    fn open_stripes(&mut self) -> Vec<RawDocument> {
        let mut errors = Vec::new();
        while let Some((rank, feed)) = self.striped.pop_front() {
            let Some(fp) = self.plan.feeds.get(feed as usize) else {
                continue;
            };
            let opened = match &fp.data {
                Some(data) => Ok(Backing::Memory(data.clone())),
                None => File::open(&fp.path).map(Backing::File),
            };
            let file = match opened {
                Ok(f) => f,
                Err(e) => {
                    if rank % self.workers == self.worker {
                        let why = format!("cannot read {}: {e}", fp.path.display());
                        errors.push(self.error_doc(feed, why));
                    }
                    continue;
                }
            };
            let size = file.size();
            let header = first_line(&file).map(Arc::from);
            self.cursors.push(StripeCursor {
                feed,
                rank,
                file,
                size,
                k: 0,
                start: 0,
                line: 1,
                header,
                done: false,
            });
        }
        errors
    }

    /// Advances one striped feed by exactly one batch; the document when this worker owns it.
    fn step(&mut self, i: usize) -> Option<RawDocument> {
        let workers = self.workers as u64;
        let batch = self.batch_bytes;
        let worker = self.worker as u64;
        let cur = self.cursors.get_mut(i)?;
        if cur.done {
            return None;
        }
        let k = cur.k;
        cur.k += 1;
        let owned = (k + cur.rank as u64) % workers == worker;
        if cur.size == 0 {
            // An empty feed still has one (empty, last) batch, so it is seen to finish.
            cur.done = true;
            if !owned {
                return None;
            }
            let fp = self.plan.feeds.get(cur.feed as usize);
            return Some(RawDocument {
                feed: cur.feed,
                batch: 0,
                bytes: Arc::from(&[][..]),
                offset: 0,
                first_line: 1,
                header: None,
                name: fp.map(|f| Arc::from(f.name.as_str())),
                format: fp.and_then(|f| f.format),
                ingested_at_ms: Self::now_ms(),
                last: true,
                idle: false,
            });
        }
        // Batch `k` starts at the first record boundary at or after `k·S` (possibly empty when
        // a record is longer than S).
        let end = boundary_at_or_after(&cur.file, cur.size, (k + 1) * batch, cur.start);
        let len = (end - cur.start) as usize;
        let last = end >= cur.size;
        cur.done = last;
        if len == 0 {
            return None;
        }
        // Every batch is read into one reused buffer: other workers' batches are only scanned
        // for line breaks, and an owned one is copied into its pieces.
        let mut bytes = std::mem::take(&mut self.scratch);
        bytes.resize(len, 0);
        if let Err(e) = cur.file.read_exact_at(&mut bytes, cur.start) {
            // The rest of the feed cannot be read by this worker: say so as a dead letter
            // (never a silent gap), and end the feed here.
            cur.done = true;
            let (feed, start) = (cur.feed, cur.start);
            let path = self
                .plan
                .feeds
                .get(feed as usize)
                .map(|f| f.path.display().to_string())
                .unwrap_or_default();
            let mut doc = self.error_doc(feed, format!("cannot read {path} at byte {start}: {e}"));
            doc.batch = k;
            return Some(doc);
        }
        let first_line = cur.line;
        let lines = memchr::memchr_iter(b'\n', &bytes).count() as u32;
        cur.line = cur.line.saturating_add(lines);
        cur.start = end;
        if !owned {
            self.scratch = bytes;
            return None;
        }
        self.positions.push(Position {
            feed: cur.feed,
            next: end,
        });
        let fp = self.plan.feeds.get(cur.feed as usize);
        let batch_doc = RawDocument {
            feed: cur.feed,
            batch: k,
            bytes: Arc::from(&[][..]),
            offset: 0,
            first_line,
            header: if k == 0 { None } else { cur.header.clone() },
            name: fp.map(|f| Arc::from(f.name.as_str())),
            format: fp.and_then(|f| f.format),
            ingested_at_ms: Self::now_ms(),
            last,
            idle: false,
        };
        let header = cur.header.clone();
        self.pieces = split_pieces(&batch_doc, &bytes, header, PIECE_BYTES);
        self.scratch = bytes;
        self.pieces.pop_front()
    }
}

impl SourceReader for FileReader {
    fn poll(&mut self) -> Poll {
        if let Some(piece) = self.pieces.pop_front() {
            return Poll::Ready(piece);
        }
        if let Some(feed) = self.whole.pop_front() {
            return Poll::Ready(self.read_whole(feed));
        }
        if !self.striped.is_empty() {
            self.pending_errors = self.open_stripes();
        }
        if let Some(doc) = self.pending_errors.pop() {
            return Poll::Ready(doc);
        }
        // Round-robin over the open feeds, one batch each, so batch numbers never decrease.
        loop {
            if self.next >= self.cursors.len() {
                self.cursors.retain(|c| !c.done);
                self.next = 0;
                if self.cursors.is_empty() {
                    self.health = SourceHealth::Ceased;
                    return Poll::Done;
                }
            }
            let i = self.next;
            self.next += 1;
            if let Some(doc) = self.step(i) {
                return Poll::Ready(doc);
            }
        }
    }

    fn positions(&self) -> Vec<Position> {
        self.positions.clone()
    }

    fn health(&self) -> SourceHealth {
        self.health.clone()
    }
}

/// The documents of one batch (`doc` with its `bytes`), cut after the first line break at or
/// after every `piece_bytes`: each with its first line, the feed's `header` (all but a piece
/// starting at the top of the file, which holds it), and `last` only on the final one.
fn split_pieces(
    doc: &RawDocument,
    bytes: &[u8],
    header: Option<Arc<[u8]>>,
    piece_bytes: usize,
) -> VecDeque<RawDocument> {
    let mut out = VecDeque::new();
    let mut start = 0;
    let mut line = doc.first_line;
    while start < bytes.len() {
        let target = start.saturating_add(piece_bytes.max(1)).min(bytes.len());
        let end = piece_end(bytes, start, target);
        let piece = bytes.get(start..end).unwrap_or_default();
        out.push_back(RawDocument {
            bytes: Arc::from(piece),
            first_line: line,
            header: if start == 0 {
                doc.header.clone()
            } else {
                header.clone()
            },
            last: false,
            ..doc.clone()
        });
        line = line.saturating_add(memchr::memchr_iter(b'\n', piece).count() as u32);
        start = end;
    }
    match out.back_mut() {
        Some(p) => p.last = doc.last,
        None => out.push_back(doc.clone()),
    }
    out
}

/// Where the piece starting at `start` ends: just after the first line break at or after
/// `target - 1` that is outside quotes (an even number of `"` since `start`), so a piece never
/// cuts a quoted field's line break; the end of `bytes` when there is none.
fn piece_end(bytes: &[u8], start: usize, target: usize) -> usize {
    let mut from = target.saturating_sub(1).max(start);
    while let Some(i) = bytes.get(from..).and_then(|t| memchr::memchr(b'\n', t)) {
        let nl = from + i;
        let quotes = bytes
            .get(start..nl)
            .map_or(0, |b| memchr::memchr_iter(b'"', b).count());
        if quotes % 2 == 0 {
            return nl + 1;
        }
        from = nl + 1;
    }
    bytes.len()
}

/// The smallest record boundary (0, or just after a `\n`) at or after `target`, given that no
/// boundary lies in `(start, target)` is unknown: scans from `max(target, start+1) − 1`.
fn boundary_at_or_after(file: &Backing, size: u64, target: u64, start: u64) -> u64 {
    if target >= size {
        return size;
    }
    if start >= target {
        return start;
    }
    let mut pos = target - 1;
    let mut buf = vec![0u8; SCAN_BLOCK];
    while pos < size {
        let n = ((size - pos) as usize).min(SCAN_BLOCK);
        if file.read_exact_at(&mut buf[..n], pos).is_err() {
            return size;
        }
        if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
            return pos + i as u64 + 1;
        }
        pos += n as u64;
    }
    size
}

fn first_line(file: &Backing) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; SCAN_BLOCK];
    let mut line = Vec::new();
    let mut pos = 0u64;
    loop {
        let n = file.read_at(&mut buf, pos).ok()?;
        if n == 0 {
            return (!line.is_empty()).then_some(line);
        }
        if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
            line.extend_from_slice(&buf[..=i]);
            return Some(line);
        }
        line.extend_from_slice(&buf[..n]);
        pos += n as u64;
        if line.len() > 16 << 20 {
            return Some(line);
        }
    }
}

/// Where a striped feed's bytes live: a file read with positional reads, or memory (generated
/// inputs).
enum Backing {
    File(File),
    Memory(Arc<[u8]>),
}

impl Backing {
    fn size(&self) -> u64 {
        match self {
            Backing::File(f) => f.metadata().map(|m| m.len()).unwrap_or(0),
            Backing::Memory(b) => b.len() as u64,
        }
    }

    fn read_at(&self, buf: &mut [u8], pos: u64) -> std::io::Result<usize> {
        match self {
            Backing::File(f) => f.read_at(buf, pos),
            Backing::Memory(b) => {
                let start = (pos as usize).min(b.len());
                let n = buf.len().min(b.len() - start);
                buf[..n].copy_from_slice(&b[start..start + n]);
                Ok(n)
            }
        }
    }

    fn read_exact_at(&self, buf: &mut [u8], pos: u64) -> std::io::Result<()> {
        match self {
            Backing::File(f) => f.read_exact_at(buf, pos),
            Backing::Memory(_) => {
                if self.read_at(buf, pos)? == buf.len() {
                    Ok(())
                } else {
                    Err(std::io::ErrorKind::UnexpectedEof.into())
                }
            }
        }
    }
}

fn read_member(path: &std::path::Path, member: &str) -> Result<Vec<u8>, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| format!("bad zip: {e}"))?;
    let mut f = archive
        .by_name(member)
        .map_err(|e| format!("zip member {member}: {e}"))?;
    let mut out = Vec::new();
    (&mut f)
        .take(1 << 30)
        .read_to_end(&mut out)
        .map_err(|e| format!("zip member {member}: {e}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::plan::{plan_inputs, FileInput};
    use std::io::Write;

    #[test]
    fn pieces_split_a_batch_after_line_breaks_and_parse_as_the_batch() {
        let header: Arc<[u8]> = Arc::from(&b"ts_ms,node,price\n"[..]);
        let body = b"ts_ms,node,price\n1,A,1\n2,B,22\n3,C,333\n4,D,4";
        let doc = |k: u64, last: bool| RawDocument {
            feed: 3,
            batch: k,
            bytes: Arc::from(&[][..]),
            offset: 0,
            first_line: 10,
            header: (k > 0).then(|| header.clone()),
            name: None,
            format: None,
            ingested_at_ms: 0,
            last,
            idle: false,
        };
        for (k, last) in [(0, true), (5, false)] {
            for size in [1, 5, 9, 1 << 20] {
                let pieces = split_pieces(&doc(k, last), body, Some(header.clone()), size);
                let joined: Vec<u8> = pieces.iter().flat_map(|p| p.bytes.to_vec()).collect();
                assert_eq!(joined, body.to_vec(), "size {size}");
                let mut line = 10;
                for (i, p) in pieces.iter().enumerate() {
                    assert_eq!((p.feed, p.batch, p.first_line), (3, k, line));
                    assert_eq!(p.last, last && i + 1 == pieces.len());
                    let own_header = k == 0 && i == 0;
                    assert_eq!(p.header.is_none(), own_header, "size {size} piece {i}");
                    assert!(p.bytes.ends_with(b"\n") || i + 1 == pieces.len());
                    line += p.bytes.iter().filter(|b| **b == b'\n').count() as u32;
                }
                if size == 1 {
                    assert_eq!(pieces.len(), 5, "one piece per line");
                }
            }
        }
        // A quoted line break is never a cut.
        let quoted = b"ts,node\n1,\"A\nB\"\n2,C\n";
        let pieces = split_pieces(&doc(0, true), quoted, Some(header.clone()), 1);
        let texts: Vec<&[u8]> = pieces.iter().map(|p| &p.bytes[..]).collect();
        assert_eq!(
            texts,
            [&b"ts,node\n"[..], &b"1,\"A\nB\"\n"[..], &b"2,C\n"[..]]
        );
        assert_eq!(pieces[2].first_line, 13);
        let empty = split_pieces(&doc(2, true), b"", None, 8);
        assert_eq!((empty.len(), empty[0].last), (1, true));
    }

    #[test]
    fn stripes_cover_every_line_once_with_exact_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut f = std::fs::File::create(&path).unwrap();
        writeln!(f, "ts_ms,node,price").unwrap();
        for i in 0..1000 {
            writeln!(f, "{},N{},{}.5", 1_700_000_000_000u64 + i, i % 7, i).unwrap();
        }
        drop(f);
        let text = std::fs::read_to_string(&path).unwrap();
        let plan = Arc::new(
            plan_inputs(&[FileInput::File {
                path: path.to_string_lossy().into_owned(),
                format: None,
            }])
            .unwrap(),
        );
        for workers in [1usize, 2, 3] {
            for batch in [1u64, 7, 100, 4096, 1 << 20] {
                let mut lines: Vec<(u32, String)> = Vec::new();
                for w in 0..workers {
                    let mut r = FileReader::new(plan.clone(), w, workers, batch);
                    while let Poll::Ready(doc) = r.poll() {
                        let body = std::str::from_utf8(&doc.bytes).unwrap();
                        for (i, l) in body.lines().enumerate() {
                            lines.push((doc.first_line + i as u32, l.to_string()));
                        }
                    }
                }
                lines.sort();
                let expected: Vec<(u32, String)> = text
                    .lines()
                    .enumerate()
                    .map(|(i, l)| (i as u32 + 1, l.to_string()))
                    .collect();
                assert_eq!(lines, expected, "workers {workers} batch {batch}");
            }
        }
    }
}

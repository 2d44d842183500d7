//! Parse throughput per format: records/s and MB/s on one core, printed as a markdown table.
//!
//! ```text
//! cargo bench -p operators --bench parse [-- TICKS_CSV]
//! ```
//!
//! Inputs: every file under the fixture directory (`TICKFLOW_FIXTURES`, default
//! `../shared/fixtures/iso` next to the workspace; skipped with a message when absent), and the
//! simple-CSV benchmark file (`TICKFLOW_BENCH_TICKS` or the first argument, default
//! `/tmp/ticks.csv`), generated with `gen_ticks.py 1000000` (`TICKFLOW_GEN_TICKS`, default
//! `../shared/bench/gen_ticks.py`) when missing. The simple CSV is measured whole and cut into
//! 1 MiB chunks at line boundaries (as the file source reads it). Each figure is the median of
//! several runs after a warm-up; records are data rows (ticks + dead letters).

use operators::model::{FeedInfo, FeedKind};
use operators::parse::{parse_document, Document, Format, ParseCtx, ParseOutput};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const CHUNK: usize = 1 << 20;

struct Row {
    input: String,
    format: String,
    bytes: usize,
    rows: u64,
    ticks: usize,
    dead: usize,
    best: f64,
    median: f64,
}

fn workspace_sibling(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// Runs `f` (one full parse) until ~1 s has passed (at least 5, at most 50 runs); the best and
/// the median seconds (on a shared machine the best run is the one least disturbed).
fn measure(mut f: impl FnMut() -> (u64, usize, usize)) -> (f64, f64, (u64, usize, usize)) {
    let counts = f(); // warm-up
    let mut times = Vec::new();
    let begin = Instant::now();
    while times.len() < 5 || (begin.elapsed() < Duration::from_secs(1) && times.len() < 50) {
        let t = Instant::now();
        std::hint::black_box(f());
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    (times[0], times[times.len() / 2], counts)
}

fn parse_whole(bytes: &[u8], name: &str, format: Option<Format>) -> (u64, usize, usize) {
    let feed = FeedInfo {
        id: 0,
        display: name.to_string(),
        kind: FeedKind::File,
    };
    let mut doc = Document::whole(bytes, &feed);
    doc.name = Some(name);
    doc.format = format;
    let mut ctx = ParseCtx::default();
    let mut out = ParseOutput::default();
    parse_document(&doc, &mut ctx, &mut out);
    (out.rows, out.ticks.len(), out.dead.len())
}

/// Cuts at the first line break after every `CHUNK` bytes; the header travels beside each chunk.
fn parse_chunked(bytes: &[u8]) -> (u64, usize, usize) {
    let feed = FeedInfo {
        id: 0,
        display: "ticks.csv".into(),
        kind: FeedKind::File,
    };
    let header_end = memchr::memchr(b'\n', bytes).map_or(bytes.len(), |i| i + 1);
    let header = &bytes[..header_end];
    let mut ctx = ParseCtx::default();
    let mut out = ParseOutput::default();
    let (mut rows, mut ticks, mut dead) = (0, 0, 0);
    let (mut pos, mut line) = (header_end, 2u32);
    while pos < bytes.len() {
        let want = (pos + CHUNK).min(bytes.len());
        let end = memchr::memchr(b'\n', &bytes[want..]).map_or(bytes.len(), |i| want + i + 1);
        let chunk = &bytes[pos..end];
        let mut doc = Document::whole(chunk, &feed);
        doc.header = Some(header);
        doc.first_line = line;
        doc.format = Some(Format::SimpleCsv);
        out.clear();
        parse_document(&doc, &mut ctx, &mut out);
        rows += out.rows;
        ticks += out.ticks.len();
        dead += out.dead.len();
        line += memchr::memchr_iter(b'\n', chunk).count() as u32;
        pos = end;
    }
    (rows, ticks, dead)
}

/// The same file with the second field (`node`) quoted: every line takes the `csv`-crate path.
fn quote_nodes(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 10);
    for (i, line) in bytes.split_inclusive(|&c| c == b'\n').enumerate() {
        let mut fields = line.splitn(3, |&c| c == b',');
        match (i, fields.next(), fields.next(), fields.next()) {
            (1.., Some(a), Some(b), Some(c)) => {
                out.extend_from_slice(a);
                out.extend_from_slice(b",\"");
                out.extend_from_slice(b);
                out.extend_from_slice(b"\",");
                out.extend_from_slice(c);
            }
            _ => out.extend_from_slice(line),
        }
    }
    out
}

/// The same file with `ts_ms` rewritten as an RFC 3339 `ts` column.
fn rfc3339_times(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 4);
    for (i, line) in bytes.split_inclusive(|&c| c == b'\n').enumerate() {
        let comma = memchr::memchr(b',', line).unwrap_or(line.len());
        let (first, rest) = line.split_at(comma);
        if i == 0 {
            out.extend_from_slice(b"ts");
        } else {
            let ms: i64 = std::str::from_utf8(first)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            out.extend_from_slice(operators::model::render::time(ms).as_bytes());
        }
        out.extend_from_slice(rest);
    }
    out
}

fn fixture_files(dir: &Path, acc: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            fixture_files(&p, acc);
        } else if p.extension().is_some_and(|x| x != "md") {
            acc.push(p);
        }
    }
}

fn ticks_file() -> Option<PathBuf> {
    if std::env::var_os("TICKFLOW_BENCH_SMOKE").is_some() {
        eprintln!("smoke run (no --bench): the 1M-tick simple-CSV measurement is skipped");
        return None;
    }
    let arg = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let path = arg
        .or_else(|| std::env::var("TICKFLOW_BENCH_TICKS").ok())
        .map_or_else(|| PathBuf::from("/tmp/ticks.csv"), PathBuf::from);
    if path.is_file() {
        return Some(path);
    }
    let script = std::env::var_os("TICKFLOW_GEN_TICKS").map_or_else(
        || workspace_sibling("shared/bench/gen_ticks.py"),
        PathBuf::from,
    );
    eprintln!("generating {} with {}", path.display(), script.display());
    let ok = std::process::Command::new("python3")
        .arg(&script)
        .arg("1000000")
        .arg(&path)
        .status()
        .is_ok_and(|s| s.success());
    if ok && path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "SKIP simple-csv: {} missing and could not be generated",
            path.display()
        );
        None
    }
}

fn main() {
    // `cargo test --all-targets` runs this binary without `--bench`: a smoke run of the fixtures
    // only, so the test suite stays quick. `cargo bench` passes `--bench` and measures everything.
    if !std::env::args().any(|a| a == "--bench") {
        std::env::set_var("TICKFLOW_BENCH_SMOKE", "1");
    }
    let mut rows = Vec::new();
    let dir = std::env::var_os("TICKFLOW_FIXTURES")
        .map_or_else(|| workspace_sibling("shared/fixtures/iso"), PathBuf::from);
    let mut files = Vec::new();
    // TICKFLOW_BENCH_ONLY=simple-csv skips the fixtures (for profiling the hot path).
    let only_simple = std::env::var("TICKFLOW_BENCH_ONLY").is_ok_and(|v| v == "simple-csv");
    if !only_simple {
        fixture_files(&dir, &mut files);
    }
    files.sort();
    if files.is_empty() && !only_simple {
        eprintln!(
            "SKIP fixtures: none under {} (set TICKFLOW_FIXTURES)",
            dir.display()
        );
    }
    for path in files {
        let Ok(bytes) = std::fs::read(&path) else {
            eprintln!("SKIP {}: unreadable", path.display());
            continue;
        };
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        let format = operators::parse::detect(&bytes, Some(&name))
            .map_or_else(|e| format!("undetected: {e}"), |f| f.name().to_string());
        let (best, median, (r, t, d)) = measure(|| parse_whole(&bytes, &name, None));
        rows.push(Row {
            input: name,
            format,
            bytes: bytes.len(),
            rows: r,
            ticks: t,
            dead: d,
            best,
            median,
        });
    }
    if let Some(path) = ticks_file() {
        match std::fs::read(&path) {
            Ok(bytes) => {
                let name = path.display().to_string();
                let (best, median, (r, t, d)) =
                    measure(|| parse_whole(&bytes, "ticks.csv", Some(Format::SimpleCsv)));
                rows.push(Row {
                    input: format!("{name} (whole)"),
                    format: "simple-csv".into(),
                    bytes: bytes.len(),
                    rows: r,
                    ticks: t,
                    dead: d,
                    best,
                    median,
                });
                let variants = [
                    ("1 MiB chunks", bytes.clone()),
                    ("1 MiB chunks, node quoted", quote_nodes(&bytes)),
                    ("1 MiB chunks, ts as RFC 3339", rfc3339_times(&bytes)),
                ];
                for (label, bytes) in variants {
                    let (best, median, (r, t, d)) = measure(|| parse_chunked(&bytes));
                    rows.push(Row {
                        input: format!("{name} ({label})"),
                        format: "simple-csv".into(),
                        bytes: bytes.len(),
                        rows: r,
                        ticks: t,
                        dead: d,
                        best,
                        median,
                    });
                }
            }
            Err(e) => eprintln!("SKIP simple-csv: {}: {e}", path.display()),
        }
    }
    println!(
        "| input | format | MB | records | ticks | dead | best ms | median ms | records/s (best) | records/s (median) | MB/s (best) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let mb = r.bytes as f64 / 1e6;
        println!(
            "| {} | {} | {:.2} | {} | {} | {} | {:.2} | {:.2} | {:.2} M | {:.2} M | {:.0} |",
            r.input,
            r.format,
            mb,
            r.rows,
            r.ticks,
            r.dead,
            r.best * 1e3,
            r.median * 1e3,
            r.rows as f64 / r.best / 1e6,
            r.rows as f64 / r.median / 1e6,
            mb / r.best
        );
    }
}

//! The simple tick CSV (SPEC §2.3): bulk loads, benchmarks and other tools.
//!
//! Columns by name: time as `ts_ms` (epoch ms UTC) or `ts` (RFC 3339, any offset), `price`, the
//! instrument as `instrument_id` or `node` with optional `market` and `run`; optional `volume`,
//! `tenant_id`, `revision` (default 0) and `trade_id`. Ticks are points in time
//! (`interval_end = interval_start`).
//!
//! This is the throughput path, so it works on bytes: lines are split with `memchr`, fields by
//! scanning for commas, integers with SWAR and floats with `fast-float2` (bit-identical to std),
//! and instruments are resolved through a per-document cache (one hash lookup per row). A line
//! holding a `"` is handed to the `csv` crate instead, so quoted fields (even with embedded line
//! breaks) work. Documents may be chunks of a larger file cut at line boundaries: then
//! `doc.header` holds the header line and `doc.first_line` numbers the chunk's first line.
//!
//! Failure: every non-blank line after the header is one data row and ends in a tick or a dead
//! letter holding its raw bytes and exact line — `PARSE_ERROR` for a wrong field count, bytes
//! that are not UTF-8 or a missing required column; `VALIDATION_ERROR` for a missing or
//! non-finite price, a bad time, or a missing instrument. Blank lines are not data.

mod header;
mod num;
mod quoted;
mod record;
#[cfg(test)]
mod tests;

use super::csvdoc::{Row, RowResult};
use super::fields::Columns;
use super::{Document, ParseCtx, ParseOutput};
use crate::model::ErrorCode;
use header::read_one;
pub use header::SimpleCsvHeader;
pub(super) use record::Builder;
use record::Reject;

fn strip_cr(l: &[u8]) -> &[u8] {
    l.strip_suffix(b"\r").unwrap_or(l)
}

fn trim_break(l: &[u8]) -> &[u8] {
    strip_cr(l.strip_suffix(b"\n").unwrap_or(l))
}

fn is_blank(l: &[u8]) -> bool {
    l.iter().all(u8::is_ascii_whitespace)
}

/// Parses a whole simple-CSV document or chunk.
pub(super) fn parse(doc: &Document<'_>, ctx: &mut ParseCtx, out: &mut ParseOutput) {
    let bytes = doc.bytes;
    let mut builder = ctx.simple_csv.take().unwrap_or_else(|| Builder::new(ctx));
    let explicit = doc.header.map(|h| builder.header_of(h));
    let mut p = Parse {
        doc,
        pos: 0,
        line: 1,
        header: SimpleCsvHeader::default(),
        missing: Vec::new(),
        builder,
        ends: Vec::with_capacity(16),
        rec: csv::ByteRecord::new(),
        unquoted: Vec::new(),
    };
    // The first non-blank line is the header, unless the chunk's header was given; a chunk that
    // repeats the given header line verbatim is forgiven (the header is not a data row).
    while p.pos < bytes.len() {
        let (l, next) = p.next_line();
        if is_blank(l) {
            p.advance(next, 1);
            continue;
        }
        match &explicit {
            Some(_) if Some(l) != doc.header.map(trim_break) => {}
            _ => {
                let mut rec = csv::ByteRecord::new();
                let used = read_one(&bytes[p.pos..], &mut rec);
                let lines = memchr::memchr_iter(b'\n', &bytes[p.pos..p.pos + used]).count();
                let ends_with_break = bytes[..p.pos + used].ends_with(b"\n");
                if lines > usize::from(ends_with_break) {
                    // An unbalanced quote would swallow the rows: the header is its first line.
                    read_one(l, &mut rec);
                    p.advance(next, 1);
                } else {
                    p.advance(p.pos + used, lines.max(1) as u32);
                }
                if explicit.is_none() {
                    p.header = SimpleCsvHeader::from_columns(&Columns::new(rec.iter()));
                }
            }
        }
        break;
    }
    if let Some(h) = explicit {
        p.header = h;
    }
    p.missing = p.header.missing();
    let rest = &bytes[p.pos.min(bytes.len())..];
    // Every record ends a line (a quoted field may hold more), so the line count bounds the
    // ticks: reserve the batch once instead of growing it by copying (a megabyte of CSV is
    // ~8 MB of ticks).
    out.ticks
        .reserve(memchr::memchr_iter(b'\n', rest).count() + 1);
    let all_utf8 = std::str::from_utf8(rest).is_ok();
    p.rows(all_utf8, ctx, out);
    let mut builder = p.builder;
    builder.bound();
    ctx.simple_csv = Some(builder);
}

struct Parse<'d, 'a> {
    doc: &'d Document<'a>,
    pos: usize,
    line: u32,
    header: SimpleCsvHeader,
    missing: Vec<String>,
    builder: Builder,
    /// End offsets of the fields of the current line (reused).
    ends: Vec<usize>,
    rec: csv::ByteRecord,
    /// Unescaped field bytes of the current quoted line (reused).
    unquoted: Vec<u8>,
}

impl<'a> Parse<'_, 'a> {
    /// The current line without its line break, and the offset after the break.
    fn next_line(&self) -> (&'a [u8], usize) {
        let bytes = self.doc.bytes;
        let rest = &bytes[self.pos..];
        match memchr::memchr(b'\n', rest) {
            Some(i) => (strip_cr(&rest[..i]), self.pos + i + 1),
            None => (strip_cr(rest), bytes.len()),
        }
    }

    #[inline]
    fn advance(&mut self, next: usize, lines: u32) {
        self.pos = next;
        self.line = self.line.saturating_add(lines);
    }

    fn rows(&mut self, all_utf8: bool, ctx: &mut ParseCtx, out: &mut ParseOutput) {
        let bytes = self.doc.bytes;
        while self.pos < bytes.len() {
            let rest = &bytes[self.pos..];
            let (len, quote) = num::scan_line(rest, &mut self.ends);
            let next = (self.pos + len + 1).min(bytes.len());
            let l = strip_cr(&rest[..len]);
            if is_blank(l) {
                self.advance(next, 1);
                continue;
            }
            out.rows += 1;
            if quote {
                self.quoted(l, next, ctx, out);
                continue;
            }
            let line = self.line;
            self.advance(next, 1);
            let result = self.plain(l, all_utf8, line, ctx);
            self.finish(result, l, line, ctx, out);
        }
    }

    /// A line without quotes whose comma offsets are in `self.ends`.
    #[inline]
    fn plain(
        &mut self,
        l: &'a [u8],
        all_utf8: bool,
        line: u32,
        ctx: &mut ParseCtx,
    ) -> Result<crate::model::Tick, Reject> {
        self.ends.push(l.len());
        if let Some(r) = self.shape(self.ends.len()) {
            return Err(r);
        }
        if !all_utf8 && std::str::from_utf8(l).is_err() {
            return Err(parse_reject(vec!["line is not valid UTF-8".to_string()]));
        }
        let ends = &self.ends;
        let fields = self.header.fields(|i| {
            let end = *ends.get(i)?;
            let start = if i == 0 { 0 } else { ends.get(i - 1)? + 1 };
            l.get(start..end)
        });
        self.builder.tick(&fields, self.doc, line, ctx)
    }

    /// A record holding a `"`. When its quotes close on its line it is split here (with the
    /// `csv` crate's rules); else the `csv` crate reads it across lines, and a multi-line record
    /// that is rejected is taken to be a stray quote: only its first line is rejected.
    fn quoted(&mut self, l: &'a [u8], next: usize, ctx: &mut ParseCtx, out: &mut ParseOutput) {
        let doc = self.doc;
        let line = self.line;
        let start = self.pos;
        if quoted::split(l, &mut self.unquoted, &mut self.ends) {
            self.advance(next, 1);
            let result = match self.shape(self.ends.len()) {
                Some(r) => Err(r),
                None if std::str::from_utf8(l).is_err() => {
                    Err(parse_reject(vec!["line is not valid UTF-8".to_string()]))
                }
                None => {
                    let (buf, ends) = (&self.unquoted, &self.ends);
                    let fields = self.header.fields(|i| {
                        let end = *ends.get(i)?;
                        let start = if i == 0 { 0 } else { *ends.get(i - 1)? };
                        buf.get(start..end)
                    });
                    self.builder.tick(&fields, doc, line, ctx)
                }
            };
            self.finish(result, l, line, ctx, out);
            return;
        }
        let mut rec = std::mem::take(&mut self.rec);
        let used = read_one(&doc.bytes[start..], &mut rec);
        let raw = &doc.bytes[start..start + used];
        let lines = memchr::memchr_iter(b'\n', raw).count() as u32;
        let body = raw.strip_suffix(b"\n").unwrap_or(raw);
        let spans_lines = memchr::memchr(b'\n', body).is_some();
        let result = match self.shape(rec.len()) {
            Some(r) => Err(r),
            None if std::str::from_utf8(raw).is_err() => {
                Err(parse_reject(vec!["line is not valid UTF-8".to_string()]))
            }
            None => {
                let fields = self.header.fields(|i| rec.get(i));
                self.builder.tick(&fields, doc, line, ctx)
            }
        };
        self.rec = rec;
        if spans_lines && result.is_err() {
            self.advance(next, 1);
            let issue = "unbalanced quote: the record does not end on its line".to_string();
            let r = match result {
                Err(mut r) => {
                    r.issues.insert(0, issue);
                    r.code = ErrorCode::ParseError;
                    r
                }
                Ok(_) => parse_reject(vec![issue]),
            };
            self.finish(Err(r), l, line, ctx, out);
            return;
        }
        self.advance(start + used, lines.max(1));
        let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        self.finish(result, strip_cr(raw), line, ctx, out);
    }

    /// A dead letter when the record has the wrong number of fields or the header lacks a
    /// required column.
    #[inline]
    fn shape(&self, fields: usize) -> Option<Reject> {
        if fields != self.header.width {
            return Some(parse_reject(vec![format!(
                "row has {fields} fields, header has {}",
                self.header.width
            )]));
        }
        if !self.missing.is_empty() {
            return Some(parse_reject(self.missing.clone()));
        }
        None
    }

    #[inline]
    fn finish(
        &self,
        result: Result<crate::model::Tick, Reject>,
        raw: &[u8],
        line: u32,
        ctx: &mut ParseCtx,
        out: &mut ParseOutput,
    ) {
        match result {
            Ok(tick) => out.ticks.push(tick),
            Err(r) => {
                let mut dl = ctx.dead(self.doc, line, 0, 0, r.code, r.issues, raw);
                if let Some(t) = r.tenant {
                    dl.tenant_id = t;
                }
                out.dead.push(dl);
            }
        }
    }
}

fn parse_reject(issues: Vec<String>) -> Reject {
    Reject {
        code: ErrorCode::ParseError,
        issues,
        tenant: None,
    }
}

/// Parses one stand-alone simple-CSV record (an envelope payload), appending its tick to `out`.
pub(super) fn parse_row(
    row: &Row<'_>,
    doc: &Document<'_>,
    ctx: &mut ParseCtx,
    out: &mut ParseOutput,
) -> RowResult {
    const NAMES: [&str; 11] = [
        "ts_ms",
        "ts",
        "price",
        "instrument_id",
        "node",
        "market",
        "run",
        "volume",
        "tenant_id",
        "revision",
        "trade_id",
    ];
    let mut issues = Vec::new();
    let texts: Vec<Option<std::borrow::Cow<'_, str>>> = NAMES
        .iter()
        .map(|n| {
            row.text(&[n]).unwrap_or_else(|e| {
                issues.push(e);
                None
            })
        })
        .collect();
    let header = SimpleCsvHeader {
        width: NAMES.len(),
        ts_ms: row.has(&["ts_ms"]).then_some(0),
        ts: row.has(&["ts"]).then_some(1),
        price: row.has(&["price"]).then_some(2),
        instrument_id: row.has(&["instrument_id"]).then_some(3),
        node: row.has(&["node"]).then_some(4),
        market: Some(5),
        run: Some(6),
        volume: Some(7),
        tenant_id: Some(8),
        revision: Some(9),
        trade_id: Some(10),
    };
    issues.extend(header.missing());
    if !issues.is_empty() {
        return Err((ErrorCode::ParseError, issues));
    }
    let fields = header.fields(|i| texts.get(i)?.as_deref().map(str::as_bytes));
    let mut builder = ctx.simple_csv.take().unwrap_or_else(|| Builder::new(ctx));
    let result = builder.tick(&fields, doc, 1, ctx);
    builder.bound();
    ctx.simple_csv = Some(builder);
    match result {
        Ok(tick) => {
            out.ticks.push(tick);
            Ok(())
        }
        Err(r) => Err((r.code, r.issues)),
    }
}

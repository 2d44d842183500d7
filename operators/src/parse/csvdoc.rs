//! CSV documents and named-field rows.

use super::fields::Columns;
use std::borrow::Cow;

/// A CSV document read record by record with the 1-based line of each record's first byte.
pub struct CsvDoc<'a> {
    bytes: &'a [u8],
    reader: csv::Reader<&'a [u8]>,
    record: csv::ByteRecord,
    delimiter: u8,
    /// Byte offset and 0-based line of the reader's start within `bytes` (moved by
    /// [`CsvDoc::resume_after_first_line`]).
    base: usize,
    base_line: u32,
    /// Byte range of the last record read (through its line break), relative to `bytes`.
    last: (usize, usize),
}

/// One record of a [`CsvDoc`].
pub struct CsvRecord<'r> {
    /// The fields.
    pub fields: &'r csv::ByteRecord,
    /// 1-based line of the record's first byte within the document.
    pub line: u32,
    /// The record's raw bytes (to the end of its first line, without the line break).
    pub raw: &'r [u8],
    /// True when the record spans more than one line (a quoted line break, or an unbalanced
    /// quote that swallowed the lines after it; see [`CsvDoc::resume_after_first_line`]).
    pub spans_lines: bool,
}

impl<'a> CsvDoc<'a> {
    /// Reads `bytes` as comma-separated, `"`-quoted CSV; records may differ in length.
    pub fn new(bytes: &'a [u8]) -> CsvDoc<'a> {
        CsvDoc::with_delimiter(bytes, b',')
    }

    /// As [`CsvDoc::new`] with another delimiter.
    pub fn with_delimiter(bytes: &'a [u8], delimiter: u8) -> CsvDoc<'a> {
        CsvDoc {
            bytes,
            reader: Self::reader(bytes, delimiter),
            record: csv::ByteRecord::new(),
            delimiter,
            base: 0,
            base_line: 0,
            last: (0, 0),
        }
    }

    fn reader(bytes: &[u8], delimiter: u8) -> csv::Reader<&[u8]> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(bytes)
    }

    /// True when the last record read spans more than one line (a quoted field holding a line
    /// break, or an unbalanced quote that swallowed the lines after it).
    pub fn last_spans_lines(&self) -> bool {
        let (start, end) = self.last;
        let rec = self.bytes.get(start..end).unwrap_or_default();
        let rec = rec.strip_suffix(b"\n").unwrap_or(rec);
        memchr::memchr(b'\n', rec).is_some()
    }

    /// The first line of the last record read (without its line break).
    pub fn last_first_line(&self) -> &'a [u8] {
        let bytes: &'a [u8] = self.bytes;
        let rest = bytes.get(self.last.0..).unwrap_or_default();
        let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let line = &rest[..end];
        line.strip_suffix(b"\r").unwrap_or(line)
    }

    /// Re-reads the last record's first line alone (as a record of its own, for a record that
    /// [spans lines](CsvDoc::last_spans_lines) and is rejected) and continues with the line after
    /// it, so that one stray quote costs one line, never the rest of the document.
    pub fn resume_after_first_line(&mut self) -> csv::ByteRecord {
        let first = self.last_first_line();
        let mut rec = csv::ByteRecord::new();
        let mut one = Self::reader(first, self.delimiter);
        if !matches!(one.read_byte_record(&mut rec), Ok(true)) {
            rec.clear();
        }
        let start = self.last.0;
        let next = memchr::memchr(b'\n', &self.bytes[start.min(self.bytes.len())..])
            .map_or(self.bytes.len(), |i| start + i + 1);
        let lines_before = memchr::memchr_iter(b'\n', &self.bytes[..next]).count();
        self.base = next;
        self.base_line = u32::try_from(lines_before).unwrap_or(u32::MAX);
        self.reader = Self::reader(&self.bytes[next..], self.delimiter);
        self.last = (start, next);
        rec
    }

    /// The next record, or `None` at the end. Blank lines are skipped by the reader (they hold
    /// no data row). A syntax error yields `Err` with the line it was met on.
    pub fn next_record(&mut self) -> Option<Result<CsvRecord<'_>, (u32, String)>> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => None,
            Ok(true) => {
                let (line, byte) = self
                    .record
                    .position()
                    .map(|p| (p.line(), p.byte()))
                    .unwrap_or((0, 0));
                let mut line = line.saturating_add(u64::from(self.base_line));
                let mut start = (byte as usize)
                    .saturating_add(self.base)
                    .min(self.bytes.len());
                // With CRLF line ends the reader stops after the `\r` and reports the next
                // record as starting at the `\n`: the record really starts on the next line.
                if self.bytes.get(start) == Some(&b'\n') {
                    start += 1;
                    line += 1;
                }
                let end = usize::try_from(self.reader.position().byte())
                    .unwrap_or(usize::MAX)
                    .saturating_add(self.base)
                    .min(self.bytes.len());
                self.last = (start, end.max(start));
                let spans_lines = self.last_spans_lines();
                let rest = &self.bytes[start..];
                let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
                let raw = rest[..end].strip_suffix(b"\r").unwrap_or(&rest[..end]);
                Some(Ok(CsvRecord {
                    fields: &self.record,
                    line: u32::try_from(line).unwrap_or(u32::MAX),
                    raw,
                    spans_lines,
                }))
            }
            Err(e) => {
                let line = e
                    .position()
                    .map(|p| u32::try_from(p.line()).unwrap_or(u32::MAX))
                    .unwrap_or(0)
                    .saturating_add(self.base_line);
                Some(Err((line, e.to_string())))
            }
        }
    }
}

/// One stand-alone record with fields looked up by name: a CSV record under its header, or a
/// JSON object in a market's native field names (envelopes, SPEC §2.2).
#[derive(Clone, Copy)]
pub enum Row<'a> {
    /// A CSV record and its header's columns.
    Csv {
        /// The fields.
        record: &'a csv::ByteRecord,
        /// The header.
        columns: &'a Columns,
    },
    /// A JSON object.
    Json(&'a serde_json::Map<String, serde_json::Value>),
}

impl<'a> Row<'a> {
    /// True when the row has a field of one of these names (case-insensitive).
    pub fn has(&self, names: &[&str]) -> bool {
        match self {
            Row::Csv { columns, .. } => columns.find(names).is_some(),
            Row::Json(obj) => names
                .iter()
                .any(|n| obj.keys().any(|k| k.trim().eq_ignore_ascii_case(n))),
        }
    }

    /// The trimmed text of the first named field present; `Ok(None)` when absent, empty or null.
    /// Non-UTF-8 bytes are an error naming the field.
    pub fn text(&self, names: &[&str]) -> Result<Option<Cow<'a, str>>, String> {
        match self {
            Row::Csv { record, columns } => {
                let Some(i) = columns.find(names) else {
                    return Ok(None);
                };
                let Some(bytes) = record.get(i) else {
                    return Ok(None);
                };
                let s = std::str::from_utf8(bytes)
                    .map_err(|_| format!("field {} is not valid UTF-8", first(names)))?
                    .trim();
                Ok((!s.is_empty()).then_some(Cow::Borrowed(s)))
            }
            Row::Json(obj) => {
                let value = names.iter().find_map(|n| {
                    obj.iter()
                        .find(|(k, _)| k.trim().eq_ignore_ascii_case(n))
                        .map(|(_, v)| v)
                });
                Ok(match value {
                    None | Some(serde_json::Value::Null) => None,
                    Some(serde_json::Value::String(s)) => {
                        let s = s.trim();
                        (!s.is_empty()).then_some(Cow::Borrowed(s))
                    }
                    Some(serde_json::Value::Number(n)) => Some(Cow::Owned(n.to_string())),
                    Some(serde_json::Value::Bool(b)) => Some(Cow::Owned(b.to_string())),
                    Some(other) => {
                        return Err(format!("field {} is not a scalar: {other}", first(names)))
                    }
                })
            }
        }
    }

    /// The text of a required field, or an issue naming it.
    pub fn require(&self, names: &[&str]) -> Result<Cow<'a, str>, String> {
        self.text(names)?
            .ok_or_else(|| format!("missing {}", first(names)))
    }

    /// An optional number: `Ok(None)` when absent or empty, an issue when not a finite number.
    pub fn num(&self, names: &[&str]) -> Result<Option<f64>, String> {
        match self.text(names)? {
            None => Ok(None),
            Some(t) => super::fields::parse_f64(&t)
                .map(Some)
                .map_err(|e| format!("{}: {e}", first(names))),
        }
    }
}

/// The name a field is reported by: the first of its accepted names.
fn first<'n>(names: &[&'n str]) -> &'n str {
    names.first().copied().unwrap_or("field")
}

/// The result of parsing one stand-alone row: `Err` carries the code and every issue found.
pub type RowResult = Result<(), (crate::model::ErrorCode, Vec<String>)>;

/// Drives a header-then-rows CSV document: the first non-blank record (or `doc.header` for a
/// chunk that starts mid-file) is the header; every later record is one data row handed to `f`
/// with its 1-based document line. A row `f` rejects, and a row the CSV reader cannot read,
/// becomes a dead letter holding the row's raw bytes.
pub(crate) fn drive_rows(
    doc: &super::Document<'_>,
    ctx: &mut super::ParseCtx,
    out: &mut super::ParseOutput,
    mut f: impl FnMut(&Row<'_>, u32, &mut super::ParseCtx, &mut super::ParseOutput) -> RowResult,
) {
    drive_rows_raw(doc, ctx, out, |row, line, _raw, ctx, out| {
        f(row, line, ctx, out)
    });
}

/// As [`drive_rows`], also handing `f` the row's raw bytes (a slice of `doc.bytes`), for
/// formats that collect rows before deciding (CAISO's pivot groups).
pub(crate) fn drive_rows_raw(
    doc: &super::Document<'_>,
    ctx: &mut super::ParseCtx,
    out: &mut super::ParseOutput,
    mut f: impl FnMut(&Row<'_>, u32, &[u8], &mut super::ParseCtx, &mut super::ParseOutput) -> RowResult,
) {
    use crate::model::ErrorCode;
    let mut columns: Option<Columns> = doc.header.map(|h| {
        let mut hdr = CsvDoc::new(h);
        match hdr.next_record() {
            Some(Ok(r)) => Columns::new(r.fields.iter()),
            _ => Columns::default(),
        }
    });
    let mut csv = CsvDoc::new(doc.bytes);
    while let Some(next) = csv.next_record() {
        let rec = match next {
            Ok(rec) => rec,
            Err((line, why)) => {
                out.rows += 1;
                out.dead
                    .push(ctx.dead(doc, line, 0, 0, ErrorCode::ParseError, vec![why], b""));
                continue;
            }
        };
        let Some(cols) = columns.as_ref() else {
            if rec.spans_lines {
                // An unbalanced quote in the header: the header is its first line only.
                let first = csv.resume_after_first_line();
                columns = Some(Columns::new(first.iter()));
            } else {
                columns = Some(Columns::new(rec.fields.iter()));
            }
            continue;
        };
        out.rows += 1;
        if rec.fields.len() != cols.len() {
            if rec.spans_lines {
                let line = rec.line;
                // A stray quote swallowed the following lines: reject this line alone and
                // read on from the next one.
                let raw = csv.last_first_line();
                let issue = "unbalanced quote: the record does not end on its line".to_string();
                out.dead
                    .push(ctx.dead(doc, line, 0, 0, ErrorCode::ParseError, vec![issue], raw));
                csv.resume_after_first_line();
                continue;
            }
            let issue = format!(
                "row has {} fields, header has {}",
                rec.fields.len(),
                cols.len()
            );
            out.dead.push(ctx.dead(
                doc,
                rec.line,
                0,
                0,
                ErrorCode::ParseError,
                vec![issue],
                rec.raw,
            ));
            continue;
        }
        let row = Row::Csv {
            record: rec.fields,
            columns: cols,
        };
        if let Err((code, issues)) = f(&row, rec.line, rec.raw, ctx, out) {
            out.dead
                .push(ctx.dead(doc, rec.line, 0, 0, code, issues, rec.raw));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{ErrorCode, FeedInfo, FeedKind};
    use crate::parse::{Document, Format, ParseCtx, ParseOutput};

    fn pjm(text: &str) -> ParseOutput {
        let feed = FeedInfo {
            id: 0,
            display: "p.csv".into(),
            kind: FeedKind::File,
        };
        let mut doc = Document::whole(text.as_bytes(), &feed);
        doc.format = Some(Format::PjmDa);
        let mut ctx = ParseCtx::default();
        let mut out = ParseOutput::default();
        crate::parse::parse_document(&doc, &mut ctx, &mut out);
        out
    }

    const HEADER: &str = "datetime_beginning_utc,pnode_name,total_lmp_da\n";

    #[test]
    fn a_stray_quote_costs_one_line() {
        let out = pjm(&format!(
            "{HEADER}5/1/2025 4:00:00 AM,\"A,1\n5/1/2025 5:00:00 AM,B,2\n5/1/2025 6:00:00 AM,C,3\n"
        ));
        assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (3, 2, 1));
        assert_eq!(out.dead[0].source, "p.csv:2");
        assert_eq!(out.dead[0].error_code, ErrorCode::ParseError);
        assert_eq!(out.dead[0].raw, b"5/1/2025 4:00:00 AM,\"A,1");
        let lines: Vec<u32> = out.ticks.iter().map(|t| t.source.line).collect();
        assert_eq!(lines, vec![3, 4]);
    }

    #[test]
    fn a_quote_in_the_header_does_not_swallow_the_rows() {
        let out =
            pjm("datetime_beginning_utc,\"pnode_name,total_lmp_da\n5/1/2025 4:00:00 AM,B,2\n");
        assert_eq!((out.rows, out.dead.len()), (1, 1));
    }

    #[test]
    fn quoted_line_breaks_still_work() {
        let out = pjm(&format!(
            "{HEADER}5/1/2025 4:00:00 AM,\"A\nB\",1\n5/1/2025 5:00:00 AM,C,2\n"
        ));
        assert_eq!((out.rows, out.ticks.len()), (2, 2));
        assert_eq!(&*out.ticks[0].node, "A\nB");
        assert_eq!(out.ticks[1].source.line, 4);
    }
}

#[cfg(test)]
mod crlf_tests {
    #[test]
    fn crlf_records_start_on_their_own_line() {
        let bytes = b"a,b,c\r\ngood,1,2\r\nshort,1\r\nx,y,z\r\n";
        let mut d = super::CsvDoc::new(bytes);
        let mut seen = Vec::new();
        while let Some(Ok(r)) = d.next_record() {
            seen.push((
                r.line,
                r.spans_lines,
                String::from_utf8_lossy(r.raw).into_owned(),
            ));
        }
        let want = [
            (1, false, "a,b,c"),
            (2, false, "good,1,2"),
            (3, false, "short,1"),
            (4, false, "x,y,z"),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(l, s, r)| (*l, *s, r.to_string()))
            .collect();
        assert_eq!(seen, want);
    }
}

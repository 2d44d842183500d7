//! CSV documents and named-field rows.

use super::fields::Columns;
use std::borrow::Cow;

/// A CSV document read record by record with the 1-based line of each record's first byte.
pub struct CsvDoc<'a> {
    bytes: &'a [u8],
    reader: csv::Reader<&'a [u8]>,
    record: csv::ByteRecord,
}

/// One record of a [`CsvDoc`].
pub struct CsvRecord<'r> {
    /// The fields.
    pub fields: &'r csv::ByteRecord,
    /// 1-based line of the record's first byte within the document.
    pub line: u32,
    /// The record's raw bytes (to the end of its first line, without the line break).
    pub raw: &'r [u8],
}

impl<'a> CsvDoc<'a> {
    /// Reads `bytes` as comma-separated, `"`-quoted CSV; records may differ in length.
    pub fn new(bytes: &'a [u8]) -> CsvDoc<'a> {
        CsvDoc::with_delimiter(bytes, b',')
    }

    /// As [`CsvDoc::new`] with another delimiter.
    pub fn with_delimiter(bytes: &'a [u8], delimiter: u8) -> CsvDoc<'a> {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(bytes);
        CsvDoc {
            bytes,
            reader,
            record: csv::ByteRecord::new(),
        }
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
                let start = (byte as usize).min(self.bytes.len());
                let rest = &self.bytes[start..];
                let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
                let raw = rest[..end].strip_suffix(b"\r").unwrap_or(&rest[..end]);
                Some(Ok(CsvRecord {
                    fields: &self.record,
                    line: u32::try_from(line).unwrap_or(u32::MAX),
                    raw,
                }))
            }
            Err(e) => {
                let line = e
                    .position()
                    .map(|p| u32::try_from(p.line()).unwrap_or(u32::MAX))
                    .unwrap_or(0);
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
                    .map_err(|_| format!("field {} is not valid UTF-8", names[0]))?
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
                        return Err(format!("field {} is not a scalar: {other}", names[0]))
                    }
                })
            }
        }
    }

    /// The text of a required field, or an issue naming it.
    pub fn require(&self, names: &[&str]) -> Result<Cow<'a, str>, String> {
        self.text(names)?
            .ok_or_else(|| format!("missing {}", names[0]))
    }

    /// An optional number: `Ok(None)` when absent or empty, an issue when not a finite number.
    pub fn num(&self, names: &[&str]) -> Result<Option<f64>, String> {
        match self.text(names)? {
            None => Ok(None),
            Some(t) => super::fields::parse_f64(&t)
                .map(Some)
                .map_err(|e| format!("{}: {e}", names[0])),
        }
    }
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
            columns = Some(Columns::new(rec.fields.iter()));
            continue;
        };
        out.rows += 1;
        if rec.fields.len() != cols.len() {
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
        if let Err((code, issues)) = f(&row, rec.line, ctx, out) {
            out.dead
                .push(ctx.dead(doc, rec.line, 0, 0, code, issues, rec.raw));
        }
    }
}

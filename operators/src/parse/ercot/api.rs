//! ERCOT Public Reports API JSON (`api.ercot.com/api/public-reports/…`): `_meta`, `report`,
//! `fields[]` (each with a `name`), `data` (an array of arrays in `fields` order, or of objects)
//! and `_links`.
//!
//! Every `data` element is one record, positioned at the line of its first byte with its 1-based
//! element number (`source` renders `path:line[i]`); its dead letters carry the 0-based element
//! index and the element's own text. The product comes from the fields present, else from
//! `report.reportEMIL` / `emilId` (`NP4-190-CD` day-ahead, `NP6-905-CD` real-time).
//!
//! Failures: a document that is not valid JSON (truncated, not UTF-8) or lacks a `data` array is
//! one `PARSE_ERROR` for the document; an element that is neither an object nor an array as long
//! as `fields` is a `PARSE_ERROR`; bad values follow the record rules of the parent module.

use super::super::{Document, Format, ParseCtx, ParseOutput};
use super::{record, Product};
use crate::model::ErrorCode;
use crate::parse::Row;
use serde_json::{Map, Value};

/// Parses a whole API response.
pub(in crate::parse) fn parse_api(doc: &Document<'_>, ctx: &mut ParseCtx, out: &mut ParseOutput) {
    let body = doc.bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(doc.bytes);
    if body.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    let doc_error = |ctx: &mut ParseCtx, out: &mut ParseOutput, why: String| {
        out.rows += 1;
        out.dead
            .push(ctx.dead(doc, 1, 0, 0, ErrorCode::ParseError, vec![why], doc.bytes));
    };
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return doc_error(ctx, out, format!("bad JSON: {e}")),
    };
    let Some(top) = value.as_object() else {
        return doc_error(ctx, out, "ERCOT API response is not a JSON object".into());
    };
    let Some(data) = top.get("data").and_then(Value::as_array) else {
        return doc_error(ctx, out, "ERCOT API response has no data array".into());
    };
    let names: Vec<&str> = top
        .get("fields")
        .and_then(Value::as_array)
        .map(|fields| {
            fields
                .iter()
                .map(|f| f.get("name").and_then(Value::as_str).unwrap_or(""))
                .collect()
        })
        .unwrap_or_default();
    let hint = top
        .get("report")
        .and_then(Value::as_object)
        .and_then(product_hint);
    // Element byte spans; `None` only if the scanner and serde_json disagree (then line 1).
    let spans = data_spans(body).filter(|s| s.len() == data.len());
    let mut lines = LineCounter::new(body);

    for (i, el) in data.iter().enumerate() {
        out.rows += 1;
        let index = u32::try_from(i).unwrap_or(u32::MAX);
        let elem = index.saturating_add(1);
        let span = spans.as_ref().and_then(|s| s.get(i)).copied();
        let line = span.map(|(start, _)| lines.line_of(start)).unwrap_or(1);
        let owned_raw;
        let raw: &[u8] = match span.and_then(|(s, e)| body.get(s..e)) {
            Some(r) => r,
            None => {
                owned_raw = el.to_string().into_bytes();
                &owned_raw
            }
        };
        let built;
        let obj: &Map<String, Value> = match el {
            Value::Object(obj) => obj,
            Value::Array(values) if values.len() == names.len() => {
                built = names
                    .iter()
                    .zip(values)
                    .map(|(n, v)| (n.to_string(), v.clone()))
                    .collect::<Map<String, Value>>();
                &built
            }
            other => {
                let why = match other {
                    Value::Array(values) => format!(
                        "data element has {} values, fields[] names {}",
                        values.len(),
                        names.len()
                    ),
                    _ => "data element is neither an array nor an object".to_string(),
                };
                out.dead.push(ctx.dead(
                    doc,
                    line,
                    elem,
                    index,
                    ErrorCode::ParseError,
                    vec![why],
                    raw,
                ));
                continue;
            }
        };
        if let Err((code, issues)) = record(
            Format::ErcotApi,
            hint,
            &Row::Json(obj),
            doc,
            line,
            elem,
            ctx,
            out,
        ) {
            out.dead
                .push(ctx.dead(doc, line, elem, index, code, issues, raw));
        }
    }
}

/// The product named by the report's EMIL id.
fn product_hint(report: &Map<String, Value>) -> Option<Product> {
    let emil = report
        .iter()
        .find(|(k, _)| {
            let k = k.to_ascii_lowercase();
            k == "reportemil" || k == "emilid" || k == "emil"
        })
        .and_then(|(_, v)| v.as_str())
        .unwrap_or("")
        .to_ascii_uppercase();
    if emil.starts_with("NP4-190") {
        Some(Product::Dam)
    } else if emil.starts_with("NP6-905") {
        Some(Product::Rt)
    } else {
        None
    }
}

/// 1-based line numbers of ascending byte offsets, counted incrementally.
struct LineCounter<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: u32,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            pos: 0,
            line: 1,
        }
    }

    fn line_of(&mut self, offset: usize) -> u32 {
        let offset = offset.min(self.bytes.len());
        if offset < self.pos {
            self.pos = 0;
            self.line = 1;
        }
        let newlines = memchr::memchr_iter(b'\n', &self.bytes[self.pos..offset]).count();
        self.line = self
            .line
            .saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
        self.pos = offset;
        self.line
    }
}

/// Byte spans of the elements of the top-level `"data"` array of a JSON object (already known
/// to be valid JSON); `None` when the structure is not as expected.
fn data_spans(b: &[u8]) -> Option<Vec<(usize, usize)>> {
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = ws(b, i);
        match b.get(i)? {
            b'}' => return None,
            b',' => {
                i += 1;
                continue;
            }
            b'"' => {}
            _ => return None,
        }
        let key_end = skip_string(b, i)?;
        let key = b.get(i + 1..key_end - 1)?;
        i = ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = ws(b, i + 1);
        if key == b"data" && b.get(i) == Some(&b'[') {
            return array_spans(b, i);
        }
        i = skip_value(b, i)?;
    }
}

fn array_spans(b: &[u8], open: usize) -> Option<Vec<(usize, usize)>> {
    let mut spans = Vec::new();
    let mut i = open + 1;
    loop {
        i = ws(b, i);
        match b.get(i)? {
            b']' => return Some(spans),
            b',' => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let end = skip_value(b, i)?;
        spans.push((i, end));
        i = end;
    }
}

fn ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// End (exclusive) of the string starting at the quote at `i`.
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        match b.get(j)? {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
}

/// End (exclusive) of the value starting at `i`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match b.get(j)? {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while b
                .get(j)
                .is_some_and(|c| !matches!(c, b',' | b']' | b'}') && !c.is_ascii_whitespace())
            {
                j += 1;
            }
            Some(j)
        }
    }
}

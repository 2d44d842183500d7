//! MISO market-report LMP files (`miso-da`, `miso-rt`): a wide CSV with one row per
//! (node, value type) and 24 hour-ending columns, after a preamble:
//!
//! ```text
//! Day Ahead Market LMPs            <- title ("Realtime Market LMPs"; "Prelim…" = RTPRELIM)
//! 05/07/2013                       <- operating date (also 5/8/2013 or 2013-05-07)
//!
//! ,,,All Hours-Ending are Eastern Standard Time (EST)
//! Node,Type,Value,HE 1,...,HE 24   <- header, columns mapped by name
//! ```
//!
//! Hours are EST all year (UTC−5): `HE h` starts at local midnight (05:00Z) + (h − 1) hours.
//! Each `LMP` row gives one tick per HE cell; the node's `MCC` and `MLC` rows (published after
//! all LMP rows) fold in as congestion and loss, and energy is `LMP − MCC − MLC` rounded to 6
//! decimals (a published `MEC` row wins). Ticks are therefore emitted when the document ends.
//!
//! Accounting (SPEC §2.1): the CSV data rows are the rows. An LMP cell that is empty or not a
//! number is a `VALIDATION_ERROR` whose `index` is the cell's 0-based column position, as is an
//! MCC/MLC/MEC cell that is present but not a number (the tick then lacks that component); an
//! MCC/MLC/MEC row of a node without an LMP row, a row with an unknown `Value`, and every row of a
//! document without an operating date are dead letters too. A row whose field count differs
//! from the header's, and a document without a `Node,…,Value` header, are `PARSE_ERROR`s.

use super::csvdoc::CsvDoc;
use super::fields::{parse_f64, parse_mdy, parse_ymd, Columns};
use super::{Document, Draft, Format, ParseCtx, ParseOutput};
use crate::model::{Components, EpochMs, ErrorCode, Market};
use crate::time::{Date, Zone};
use rustc_hash::FxHashMap;

/// Parses a whole MISO market report.
pub(super) fn parse(format: Format, doc: &Document<'_>, ctx: &mut ParseCtx, out: &mut ParseOutput) {
    let mut st = State::default();
    let mut header: Option<Result<Header, String>> = None;
    let mut csv = CsvDoc::new(doc.bytes);
    while let Some(next) = csv.next_record() {
        let rec = match next {
            Ok(rec) => rec,
            Err((line, why)) => {
                out.rows += 1;
                let dead = ctx.dead(doc, line, 0, 0, ErrorCode::ParseError, vec![why], b"");
                out.dead.push(dead);
                continue;
            }
        };
        let Some(header) = &header else {
            header = st.preamble_or_header(rec.fields);
            continue;
        };
        out.rows += 1;
        let row = Cells {
            fields: rec.fields,
            line: rec.line,
            raw: rec.raw,
        };
        let result = match header {
            Ok(h) => st.data_row(h, &row, doc, ctx, out),
            Err(why) => Err((ErrorCode::ParseError, why.clone())),
        };
        if let Err((code, why)) = result {
            let dead = ctx.dead(doc, rec.line, 0, 0, code, vec![why], rec.raw);
            out.dead.push(dead);
        }
    }
    if header.is_none() {
        if !doc.bytes.iter().all(u8::is_ascii_whitespace) {
            out.rows += 1;
            let why = "no `Node,Type,Value,HE 1..HE 24` header found".to_string();
            let dead = ctx.dead(doc, 1, 0, 0, ErrorCode::ParseError, vec![why], doc.bytes);
            out.dead.push(dead);
        }
        return;
    }
    st.finish(format, doc, ctx, out);
}

/// The header: where the node and value type are, and which column holds which hour.
#[derive(Debug)]
struct Header {
    width: usize,
    node: usize,
    value: usize,
    hours: Vec<(usize, u32)>,
}

/// A data row's fields with its line and raw bytes.
struct Cells<'r> {
    fields: &'r csv::ByteRecord,
    line: u32,
    raw: &'r [u8],
}

/// An LMP cell waiting for the node's MCC/MLC rows.
struct Pending {
    node: u32,
    hour: u32,
    line: u32,
    start_ms: EpochMs,
    price: f64,
}

/// An MCC/MLC/MEC row, kept to account for it when its node has no LMP row.
struct ComponentRow {
    node: u32,
    line: u32,
    raw: Vec<u8>,
}

#[derive(Clone, Copy, Default)]
struct Parts {
    mcc: Option<f64>,
    mlc: Option<f64>,
    mec: Option<f64>,
}

#[derive(Default)]
struct State {
    title: String,
    date: Option<Date>,
    node_ids: FxHashMap<String, u32>,
    node_names: Vec<String>,
    has_lmp: Vec<bool>,
    pending: Vec<Pending>,
    parts: FxHashMap<(u32, u32), Parts>,
    component_rows: Vec<ComponentRow>,
}

impl State {
    /// A record before the header: the header itself (returned), or preamble text (title, date).
    fn preamble_or_header(&mut self, fields: &csv::ByteRecord) -> Option<Result<Header, String>> {
        let texts: Vec<String> = fields
            .iter()
            .map(|f| String::from_utf8_lossy(f).trim().to_string())
            .collect();
        let is = |n: &str| texts.iter().any(|t| t.eq_ignore_ascii_case(n));
        if is("node") && is("value") {
            return Some(Header::new(&Columns::new(fields.iter())));
        }
        for t in texts.iter().filter(|t| !t.is_empty()) {
            if self.date.is_none() {
                self.date = preamble_date(t);
            }
            self.title.push_str(&t.to_ascii_lowercase());
            self.title.push(' ');
        }
        None
    }

    fn node_id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.node_ids.get(name) {
            return *id;
        }
        let id = self.node_names.len() as u32;
        self.node_ids.insert(name.to_string(), id);
        self.node_names.push(name.to_string());
        self.has_lmp.push(false);
        id
    }

    /// One data row; `Err` rejects the whole row, cell errors become their own dead letters.
    fn data_row(
        &mut self,
        h: &Header,
        row: &Cells<'_>,
        doc: &Document<'_>,
        ctx: &mut ParseCtx,
        out: &mut ParseOutput,
    ) -> Result<(), (ErrorCode, String)> {
        let n = row.fields.len();
        let extra_filled = row
            .fields
            .iter()
            .skip(h.width)
            .any(|f| !f.trim_ascii().is_empty());
        if n < h.width || extra_filled {
            let why = format!("row has {n} fields, header has {}", h.width);
            return Err((ErrorCode::ParseError, why));
        }
        let text = |i: usize| -> Result<&str, (ErrorCode, String)> {
            let bytes = row.fields.get(i).unwrap_or_default();
            std::str::from_utf8(bytes).map(str::trim).map_err(|_| {
                (
                    ErrorCode::ParseError,
                    format!("field {i} is not valid UTF-8"),
                )
            })
        };
        let node = text(h.node)?;
        let value = text(h.value)?.to_ascii_uppercase();
        let Some(date) = self.date else {
            let why = "no operating date in the preamble".to_string();
            return Err((ErrorCode::ValidationError, why));
        };
        if node.is_empty() {
            return Err((ErrorCode::ValidationError, "missing Node".into()));
        }
        let kind = match value.as_str() {
            "LMP" => 0,
            "MCC" => 1,
            "MLC" => 2,
            "MEC" => 3,
            _ => {
                let why = format!("unknown Value type {value:?} (expected LMP, MCC or MLC)");
                return Err((ErrorCode::ValidationError, why));
            }
        };
        let id = self.node_id(node);
        let est = Zone::fixed_hours(-5);
        for &(col, hour) in &h.hours {
            let cell = text(col).and_then(|t| {
                if t.is_empty() && kind != 0 {
                    return Ok(None);
                }
                parse_f64(t).map(Some).map_err(|e| {
                    (
                        ErrorCode::ValidationError,
                        format!("{value} HE {hour}: {e}"),
                    )
                })
            });
            let x = match cell {
                Ok(Some(x)) => x,
                Ok(None) => continue,
                Err((code, why)) => {
                    let dead = ctx.dead(doc, row.line, 0, col as u32, code, vec![why], row.raw);
                    out.dead.push(dead);
                    continue;
                }
            };
            if kind != 0 {
                let p = self.parts.entry((id, hour)).or_default();
                match kind {
                    1 => p.mcc = Some(x),
                    2 => p.mlc = Some(x),
                    _ => p.mec = Some(x),
                }
                continue;
            }
            match est.hour_ending_start_ms(date, hour, false) {
                Ok(start_ms) => self.pending.push(Pending {
                    node: id,
                    hour,
                    line: row.line,
                    start_ms,
                    price: x,
                }),
                Err(e) => {
                    let why = vec![format!("HE {hour}: {e}")];
                    let code = ErrorCode::ValidationError;
                    let dead = ctx.dead(doc, row.line, 0, col as u32, code, why, row.raw);
                    out.dead.push(dead);
                }
            }
        }
        if kind == 0 {
            if let Some(flag) = self.has_lmp.get_mut(id as usize) {
                *flag = true;
            }
        } else {
            self.component_rows.push(ComponentRow {
                node: id,
                line: row.line,
                raw: row.raw.to_vec(),
            });
        }
        Ok(())
    }

    /// Emits the ticks with their components, and accounts for orphaned component rows.
    fn finish(self, format: Format, doc: &Document<'_>, ctx: &mut ParseCtx, out: &mut ParseOutput) {
        let prelim = self.title.contains("prelim")
            || doc
                .name
                .is_some_and(|n| n.to_ascii_lowercase().contains("prelim"));
        let run = match (format, prelim) {
            (Format::MisoDa, _) => "DA",
            (_, true) => "RTPRELIM",
            (_, false) => "RT",
        };
        out.ticks.reserve(self.pending.len());
        for p in &self.pending {
            let parts = self
                .parts
                .get(&(p.node, p.hour))
                .copied()
                .unwrap_or_default();
            let energy = parts.mec.or(match (parts.mcc, parts.mlc) {
                (Some(c), Some(l)) => Some(super::checks::round6(p.price - c - l)),
                _ => None,
            });
            let node = self
                .node_names
                .get(p.node as usize)
                .map_or("", String::as_str);
            let tick = ctx.tick(
                doc,
                Draft {
                    market: Market::Miso,
                    run,
                    node,
                    start_ms: p.start_ms,
                    end_ms: p.start_ms + 3_600_000,
                    price: p.price,
                    components: Components {
                        energy,
                        congestion: parts.mcc,
                        loss: parts.mlc,
                        ghg: None,
                    },
                    revision: 0,
                    line: p.line,
                    elem: 0,
                    source_system: format.name(),
                },
            );
            out.ticks.push(tick);
        }
        for r in &self.component_rows {
            if self.has_lmp.get(r.node as usize).copied().unwrap_or(false) {
                continue;
            }
            let node = self
                .node_names
                .get(r.node as usize)
                .map_or("", String::as_str);
            let why = vec![format!(
                "no LMP row for node {node:?}: components without a price"
            )];
            let code = ErrorCode::ValidationError;
            out.dead
                .push(ctx.dead(doc, r.line, 0, 0, code, why, &r.raw));
        }
    }
}

impl Header {
    /// Maps `Node`, `Value` and every `HE n` column by name.
    fn new(cols: &Columns) -> Result<Header, String> {
        let node = cols.require(&["node"])?;
        let value = cols.require(&["value"])?;
        let hours: Vec<(usize, u32)> = cols
            .names()
            .iter()
            .enumerate()
            .filter_map(|(i, n)| hour_label(n).map(|h| (i, h)))
            .collect();
        if hours.is_empty() {
            return Err("missing required columns HE 1..HE 24".into());
        }
        Ok(Header {
            width: cols.len(),
            node,
            value,
            hours,
        })
    }
}

/// `he 1`, `HE01`, `he_7` → the hour number.
fn hour_label(name: &str) -> Option<u32> {
    let rest = name.trim().to_ascii_lowercase();
    let rest = rest.strip_prefix("he")?;
    let rest = rest.trim_start_matches([' ', '_']);
    rest.parse::<u32>().ok()
}

/// A date in a preamble field: `05/07/2013`, `5/8/2013`, `2013-05-07`, possibly after a label
/// (`Market Date: 5/8/2013`).
fn preamble_date(text: &str) -> Option<Date> {
    let candidates = [Some(text), text.split_whitespace().last()];
    candidates.into_iter().flatten().find_map(|t| {
        let t = t.trim();
        let b = t.as_bytes();
        if b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && !b[4].is_ascii_digit() {
            parse_ymd(t).ok()
        } else {
            parse_mdy(t).ok()
        }
    })
}

#[cfg(test)]
#[path = "miso_tests.rs"]
mod tests;

//! ISO-NE ISO Express hourly LMP reports: `WW_DALMP_ISO` (`isone-da`) and `lmp_rt_final` /
//! `lmp_rt_prelim` (`isone-rt`).
//!
//! Every line starts with a record type: `C` comments, `H` headers (the first names the columns,
//! the second holds data types), `D` data, `T` the trailer. Only `D` records are data rows;
//! a record of another type is a `PARSE_ERROR`, as is a `D` record before the first `H`. A
//! document without record types (a plain header-then-rows export) is read the same way.
//!
//! `Date` (MM/DD/YYYY) + `Hour Ending` (`01`..`24`, `02X` = the repeated fall-back hour) are
//! America/New_York hour-ending labels placed on the UTC axis by position in the operating day
//! (SPEC §2.1); a label the day does not have (`02` on the spring-forward day) is a
//! `VALIDATION_ERROR`. The run is `DA`, `RT`, or `RTPRELIM` when the report's comments or file
//! name say preliminary. Components are published so that LMP = energy + congestion + loss.

use super::csvdoc::{drive_rows, CsvDoc, Row, RowResult};
use super::fields::{parse_mdy, parse_ymd, Columns, RowIssues};
use super::{Document, Draft, Format, ParseCtx, ParseOutput};
use crate::model::{Components, ErrorCode, Market};
use crate::time::{Date, Zone};

const DATE: &[&str] = &["Date", "OperatingDate", "Operating Date"];
const HOUR: &[&str] = &["Hour Ending", "HourEnding", "Hour_Ending", "HE"];
const NODE: &[&str] = &["Location Name", "LocationName", "Location"];
const PRICE: &[&str] = &["Locational Marginal Price", "LmpTotal", "LMP"];
const ENERGY: &[&str] = &["Energy Component", "EnergyComponent"];
const CONGESTION: &[&str] = &["Congestion Component", "CongestionComponent"];
const LOSS: &[&str] = &[
    "Marginal Loss Component",
    "Loss Component",
    "LossComponent",
    "MarginalLossComponent",
];

/// Parses a whole ISO Express C/H/D/T report.
pub(super) fn parse(format: Format, doc: &Document<'_>, ctx: &mut ParseCtx, out: &mut ParseOutput) {
    let zone = match Zone::get("America/New_York") {
        Ok(z) => z,
        Err(e) => {
            out.rows += 1;
            let dead = ctx.dead(
                doc,
                1,
                0,
                0,
                ErrorCode::UnexpectedError,
                vec![e.to_string()],
                doc.bytes,
            );
            out.dead.push(dead);
            return;
        }
    };
    let mut prelim = doc
        .name
        .is_some_and(|n| n.to_ascii_lowercase().contains("prelim"));
    if !has_record_types(doc) {
        let run = run_of(format, prelim);
        drive_rows(doc, ctx, out, |row, line, ctx, out| {
            parse_record(format, run, &zone, row, doc, line, ctx, out)
        });
        return;
    }
    let mut columns: Option<Columns> = None;
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
        let kind = record_type(rec.fields.get(0));
        let fail = match kind.as_str() {
            "C" => {
                let text = String::from_utf8_lossy(rec.raw).to_ascii_lowercase();
                prelim |= text.contains("prelim");
                continue;
            }
            // The first H names the columns; the next holds data types.
            "H" => {
                if columns.is_none() {
                    columns = Some(Columns::new(rec.fields.iter()));
                }
                continue;
            }
            "T" => continue,
            "D" => {
                out.rows += 1;
                match &columns {
                    None => Err((
                        ErrorCode::ParseError,
                        vec!["data record before the header (H) record".to_string()],
                    )),
                    Some(cols) if cols.len() != rec.fields.len() => Err((
                        ErrorCode::ParseError,
                        vec![format!(
                            "row has {} fields, header has {}",
                            rec.fields.len(),
                            cols.len()
                        )],
                    )),
                    Some(cols) => {
                        let row = Row::Csv {
                            record: rec.fields,
                            columns: cols,
                        };
                        let run = run_of(format, prelim);
                        parse_record(format, run, &zone, &row, doc, rec.line, ctx, out)
                    }
                }
            }
            other => {
                out.rows += 1;
                Err((
                    ErrorCode::ParseError,
                    vec![format!(
                        "unknown record type {other:?} (expected C, H, D or T)"
                    )],
                ))
            }
        };
        if let Err((code, issues)) = fail {
            let dead = ctx.dead(doc, rec.line, 0, 0, code, issues, rec.raw);
            out.dead.push(dead);
        }
    }
}

/// Parses one stand-alone D record given as named fields (an envelope payload). The run of an
/// `isone-rt` record is `RT`: a lone record does not say whether its report was preliminary.
pub(super) fn parse_row(
    format: Format,
    row: &Row<'_>,
    doc: &Document<'_>,
    ctx: &mut ParseCtx,
    out: &mut ParseOutput,
) -> RowResult {
    let zone = Zone::get("America/New_York")
        .map_err(|e| (ErrorCode::UnexpectedError, vec![e.to_string()]))?;
    parse_record(format, run_of(format, false), &zone, row, doc, 1, ctx, out)
}

fn run_of(format: Format, prelim: bool) -> &'static str {
    match (format, prelim) {
        (Format::IsoneDa, _) => "DA",
        (_, true) => "RTPRELIM",
        (_, false) => "RT",
    }
}

fn record_type(field: Option<&[u8]>) -> String {
    field
        .map(|f| String::from_utf8_lossy(f).trim().to_ascii_uppercase())
        .unwrap_or_default()
}

/// True when the first record starts with a C/H/D/T record type.
fn has_record_types(doc: &Document<'_>) -> bool {
    let mut csv = CsvDoc::new(doc.bytes);
    match csv.next_record() {
        Some(Ok(rec)) => matches!(
            record_type(rec.fields.get(0)).as_str(),
            "C" | "H" | "D" | "T"
        ),
        _ => true,
    }
}

/// The row logic shared by whole reports and stand-alone records.
#[allow(clippy::too_many_arguments)]
fn parse_record(
    format: Format,
    run: &str,
    zone: &Zone,
    row: &Row<'_>,
    doc: &Document<'_>,
    line: u32,
    ctx: &mut ParseCtx,
    out: &mut ParseOutput,
) -> RowResult {
    let missing: Vec<String> = [
        (DATE, "Date"),
        (HOUR, "Hour Ending"),
        (NODE, "Location Name"),
        (PRICE, "Locational Marginal Price"),
    ]
    .iter()
    .filter(|(names, _)| !row.has(names))
    .map(|(_, what)| format!("missing required column {what}"))
    .collect();
    if !missing.is_empty() {
        return Err((ErrorCode::ParseError, missing));
    }
    let mut is = RowIssues::default();
    let date = is.require(row, DATE);
    let hour = is.require(row, HOUR);
    let node = is.require(row, NODE);
    let price = is.require_num(row, PRICE);
    let components = Components {
        energy: is.num(row, ENERGY),
        congestion: is.num(row, CONGESTION),
        loss: is.num(row, LOSS),
        ghg: None,
    };
    let date = date.and_then(|d| parse_date(&d).map_err(|e| is.push(e)).ok());
    let hour = hour.and_then(|h| parse_hour_ending(&h).map_err(|e| is.push(e)).ok());
    let start = match (date, hour) {
        (Some(d), Some((he, repeated))) => zone
            .hour_ending_start_ms(d, he, repeated)
            .map_err(|e| is.push(format!("Hour Ending: {e}")))
            .ok(),
        _ => None,
    };
    is.finish()?;
    let (Some(start_ms), Some(node), Some(price)) = (start, node, price) else {
        return Err((ErrorCode::ValidationError, vec!["incomplete row".into()]));
    };
    let tick = ctx.tick(
        doc,
        Draft {
            market: Market::Isone,
            run,
            node: &node,
            start_ms,
            end_ms: start_ms + 3_600_000,
            price,
            components,
            revision: 0,
            line,
            elem: 0,
            source_system: format.name(),
        },
    );
    out.ticks.push(tick);
    Ok(())
}

/// `MM/DD/YYYY` (also `YYYY-MM-DD`, and a trailing time part is ignored).
fn parse_date(s: &str) -> Result<Date, String> {
    let d = s.split([' ', 'T']).next().unwrap_or(s);
    let b = d.as_bytes();
    let ymd = b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && !b[4].is_ascii_digit();
    if ymd { parse_ymd(d) } else { parse_mdy(d) }.map_err(|e| format!("Date: {e}"))
}

/// `01`..`24` (or `1`, `HE01`), with a trailing `X` marking the repeated fall-back hour.
fn parse_hour_ending(s: &str) -> Result<(u32, bool), String> {
    let t = s.trim().to_ascii_uppercase();
    let t = t.strip_prefix("HE").unwrap_or(&t).trim();
    let (num, repeated) = match t.strip_suffix('X') {
        Some(n) => (n.trim(), true),
        None => (t, false),
    };
    match num.parse::<u32>() {
        Ok(h) if (1..=25).contains(&h) => Ok((h, repeated)),
        _ => Err(format!("Hour Ending: bad hour-ending label {s:?}")),
    }
}

#[cfg(test)]
#[path = "isone_tests.rs"]
mod tests;

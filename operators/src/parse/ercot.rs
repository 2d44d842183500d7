//! ERCOT settlement point prices: MIS CSV `NP6-905-CD` (real-time, 15 min, run `RT`), MIS CSV
//! `NP4-190-CD` (day-ahead, 60 min, run `DA`) and the Public Reports API JSON of either
//! (`ercot-api`, in [`api`]). One record logic serves all three and stand-alone envelope rows.
//!
//! Time: `DeliveryDate` (`MM/DD/YYYY`, or `YYYY-MM-DD` in the API) + hour ending (`HourEnding`
//! `"01:00"`..`"24:00"`, or `DeliveryHour` 1..24 with `DeliveryInterval` 1..4), Central prevailing.
//! `interval_start` = UTC of local midnight + the hour's position in the day's published hours
//! (+ 15 min per interval); `24:00` ends at the next local midnight. `DSTFlag` `Y`/`true` marks
//! the *second* occurrence of the repeated fall-back hour (HE02); on any other hour or day it
//! names a non-existent hour and the record is a `VALIDATION_ERROR`, as is HE02 on the
//! spring-forward day. Node: `{SettlementPointName}/{SettlementPointType}` where a type is
//! published (one name carries several types), else the name.
//!
//! The product comes from the fields present (`HourEnding` → day-ahead, `DeliveryHour` +
//! `DeliveryInterval` → real-time), else from the format. Failures: a missing required column
//! or unreadable bytes is a `PARSE_ERROR`; a bad date, hour, flag, price or node a
//! `VALIDATION_ERROR`.

mod api;

use super::csvdoc::{drive_rows, Row, RowResult};
use super::fields::{parse_mdy, parse_ymd, RowIssues};
use super::{Document, Draft, Format, ParseCtx, ParseOutput};
use crate::model::{Components, ErrorCode, Market};
use crate::time::{Date, Zone};
use std::sync::OnceLock;

pub(super) use api::parse_api;

const DATE: &[&str] = &["DeliveryDate", "Delivery Date", "OperDay", "Oper Day"];
const HE: &[&str] = &["HourEnding", "Hour Ending"];
const HOUR: &[&str] = &["DeliveryHour", "Delivery Hour"];
const INTERVAL: &[&str] = &["DeliveryInterval", "Delivery Interval"];
const NAME: &[&str] = &[
    "SettlementPointName",
    "SettlementPoint",
    "Settlement Point Name",
    "Settlement Point",
];
const TYPE: &[&str] = &["SettlementPointType", "Settlement Point Type"];
const PRICE: &[&str] = &["SettlementPointPrice", "Settlement Point Price"];
const DST: &[&str] = &["DSTFlag", "DST Flag"];

const MINUTE_MS: i64 = 60_000;

/// Which ERCOT product a record belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Product {
    /// Day-ahead hourly (`NP4-190-CD`).
    Dam,
    /// Real-time 15-minute (`NP6-905-CD`).
    Rt,
}

/// Parses a whole MIS CSV document (`ercot-rt` or `ercot-dam`).
pub(super) fn parse_csv(
    format: Format,
    doc: &Document<'_>,
    ctx: &mut ParseCtx,
    out: &mut ParseOutput,
) {
    drive_rows(doc, ctx, out, |row, line, ctx, out| {
        record(format, None, row, doc, line, 0, ctx, out)
    });
}

/// Parses one stand-alone record: a CSV line under its header, or a JSON object in the native
/// (CSV or API) field names.
pub(super) fn parse_row(
    format: Format,
    row: &Row<'_>,
    doc: &Document<'_>,
    ctx: &mut ParseCtx,
    out: &mut ParseOutput,
) -> RowResult {
    record(format, None, row, doc, 1, 0, ctx, out)
}

/// The product of a record: from its fields when they tell, else from `hint` (an API report's
/// EMIL id), else from the format.
fn product(
    format: Format,
    hint: Option<Product>,
    row: &Row<'_>,
) -> Result<Product, (ErrorCode, Vec<String>)> {
    let dam = row.has(HE);
    let rt = row.has(HOUR) && row.has(INTERVAL);
    match (dam, rt, hint, format) {
        (true, false, _, _) => Ok(Product::Dam),
        (false, true, _, _) => Ok(Product::Rt),
        (_, _, Some(p), _) => Ok(p),
        (_, _, None, Format::ErcotDam) => Ok(Product::Dam),
        (_, _, None, Format::ErcotRt) => Ok(Product::Rt),
        _ => Err((
            ErrorCode::ParseError,
            vec![
                "missing required column HourEnding (or DeliveryHour and DeliveryInterval)".into(),
            ],
        )),
    }
}

/// Parses one record of a document of `format` into a tick appended to `out`.
#[allow(clippy::too_many_arguments)]
fn record(
    format: Format,
    hint: Option<Product>,
    row: &Row<'_>,
    doc: &Document<'_>,
    line: u32,
    elem: u32,
    ctx: &mut ParseCtx,
    out: &mut ParseOutput,
) -> RowResult {
    let product = product(format, hint, row)?;
    let mut required: Vec<(&[&str], &str)> = vec![
        (DATE, "DeliveryDate"),
        (NAME, "SettlementPointName"),
        (PRICE, "SettlementPointPrice"),
    ];
    match product {
        Product::Dam => required.push((HE, "HourEnding")),
        Product::Rt => {
            required.push((HOUR, "DeliveryHour"));
            required.push((INTERVAL, "DeliveryInterval"));
        }
    }
    let missing: Vec<String> = required
        .iter()
        .filter(|(names, _)| !row.has(names))
        .map(|(_, what)| format!("missing required column {what}"))
        .collect();
    if !missing.is_empty() {
        return Err((ErrorCode::ParseError, missing));
    }

    let mut is = RowIssues::default();
    let date = is
        .require(row, DATE)
        .and_then(|t| is.check(parse_date(&t).map_err(|e| format!("DeliveryDate: {e}"))));
    let (he, quarter) = match product {
        Product::Dam => {
            let he = is
                .require(row, HE)
                .and_then(|t| is.check(parse_hour_ending(&t)));
            (he, Some(0))
        }
        Product::Rt => {
            let he = is
                .require(row, HOUR)
                .and_then(|t| is.check(parse_int(&t, "DeliveryHour", 1, 25)));
            let q = is
                .require(row, INTERVAL)
                .and_then(|t| is.check(parse_int(&t, "DeliveryInterval", 1, 4)))
                .map(|i| i64::from(i) - 1);
            (he, q)
        }
    };
    let repeated = match is.text(row, DST) {
        Some(t) => is.check(parse_flag(&t)),
        None => Some(false),
    };
    let name = is.require(row, NAME);
    let kind = is.text(row, TYPE);
    let price = is.require_num(row, PRICE);
    let start_ms = match (date, he, quarter, repeated) {
        (Some(date), Some(he), Some(q), Some(rep)) => is.check(
            zone()
                .and_then(|z| {
                    z.hour_ending_start_ms(date, he, rep)
                        .map_err(|e| e.to_string())
                })
                .map(|s| s + q * 15 * MINUTE_MS),
        ),
        _ => None,
    };
    let (Some(start_ms), Some(name), Some(price)) = (start_ms, name, price) else {
        is.finish()?;
        return Err((ErrorCode::ValidationError, vec!["incomplete record".into()]));
    };
    is.finish()?;
    let node = match kind {
        Some(k) => format!("{name}/{k}"),
        None => name.into_owned(),
    };
    let (run, minutes) = match product {
        Product::Dam => ("DA", 60),
        Product::Rt => ("RT", 15),
    };
    let tick = ctx.tick(
        doc,
        Draft {
            market: Market::Ercot,
            run,
            node: &node,
            start_ms,
            end_ms: start_ms + minutes * MINUTE_MS,
            price,
            components: Components::default(),
            revision: 0,
            line,
            elem,
            source_system: format.name(),
        },
    );
    out.ticks.push(tick);
    Ok(())
}

/// America/Chicago, loaded once.
fn zone() -> Result<&'static Zone, String> {
    static ZONE: OnceLock<Result<Zone, String>> = OnceLock::new();
    ZONE.get_or_init(|| Zone::get("America/Chicago").map_err(|e| e.to_string()))
        .as_ref()
        .map_err(Clone::clone)
}

/// `MM/DD/YYYY` (MIS CSV) or `YYYY-MM-DD` (API; a `T…` time part is ignored).
fn parse_date(t: &str) -> Result<Date, String> {
    let t = t.trim();
    let iso = t.len() >= 5 && t.as_bytes()[..4].iter().all(u8::is_ascii_digit);
    if iso {
        parse_ymd(t.split('T').next().unwrap_or(t))
    } else {
        parse_mdy(t)
    }
}

/// `"01:00"`..`"24:00"` (minutes must be zero) or a bare hour number.
fn parse_hour_ending(t: &str) -> Result<u32, String> {
    let (h, m) = t.split_once(':').unwrap_or((t, "00"));
    if m.trim().parse::<u32>().ok() != Some(0) {
        return Err(format!("HourEnding: expected HH:00, got {t:?}"));
    }
    parse_int(h, "HourEnding", 1, 25)
}

fn parse_int(t: &str, what: &str, lo: u32, hi: u32) -> Result<u32, String> {
    match t.trim().parse::<u32>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
        _ => Err(format!("{what}: expected {lo}..{hi}, got {t:?}")),
    }
}

/// `Y`/`N`, `true`/`false` (JSON booleans arrive as text), `1`/`0`.
fn parse_flag(t: &str) -> Result<bool, String> {
    match t.trim().to_ascii_uppercase().as_str() {
        "Y" | "YES" | "TRUE" | "1" => Ok(true),
        "N" | "NO" | "FALSE" | "0" => Ok(false),
        _ => Err(format!("DSTFlag: expected Y or N, got {t:?}")),
    }
}

#[cfg(test)]
mod tests;

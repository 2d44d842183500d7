//! SPP Marketplace LMP-by-settlement-location CSV: RTBM 5-minute (`spp-rtbm`, run `RT`) and
//! day-ahead hourly (`spp-da`, run `DA`).
//!
//! Columns are found by trimmed name (pre-2026 daily files put a space after every comma; the
//! `BAA` column moves between products). Time comes from `GMTIntervalEnd` / `GMT Interval`, the
//! UTC **end** of the interval (`MM/DD/YYYY HH:MM:SS` or `M/D/YYYY HH:MM`): `interval_start` = end
//! − 5 or 60 minutes. Only when no GMT column exists is the Central-prevailing `Interval` used,
//! and a stamp in the fall-back fold is then rejected as ambiguous. Components: `LMP` total,
//! `MEC` energy, `MCC` congestion, `MLC` loss.
//!
//! Failures: a missing required column is a `PARSE_ERROR` for each row; a bad or missing stamp,
//! price or location a `VALIDATION_ERROR`; unreadable bytes a `PARSE_ERROR`.

use super::csvdoc::{drive_rows, Row, RowResult};
use super::fields::{parse_us_datetime, RowIssues};
use super::{Document, Draft, Format, ParseCtx, ParseOutput};
use crate::model::{Components, ErrorCode, Market};
use crate::time::{Fold, Zone};

const GMT: &[&str] = &["GMTIntervalEnd", "GMT Interval", "GMT Interval End"];
const LOCAL: &[&str] = &["Interval"];
const NODE: &[&str] = &[
    "Settlement Location",
    "Settlement Location Name",
    "SettlementLocation",
    "Pnode",
    "PNODE Name",
];
const PRICE: &[&str] = &["LMP"];

/// Parses a whole SPP CSV document.
pub(super) fn parse(format: Format, doc: &Document<'_>, ctx: &mut ParseCtx, out: &mut ParseOutput) {
    drive_rows(doc, ctx, out, |row, line, ctx, out| {
        parse_line(format, row, doc, line, ctx, out)
    });
}

/// Parses one stand-alone SPP record (an envelope payload).
pub(super) fn parse_row(
    format: Format,
    row: &Row<'_>,
    doc: &Document<'_>,
    ctx: &mut ParseCtx,
    out: &mut ParseOutput,
) -> RowResult {
    parse_line(format, row, doc, 1, ctx, out)
}

fn parse_line(
    format: Format,
    row: &Row<'_>,
    doc: &Document<'_>,
    line: u32,
    ctx: &mut ParseCtx,
    out: &mut ParseOutput,
) -> RowResult {
    let (run, minutes) = match format {
        Format::SppDa => ("DA", 60),
        _ => ("RT", 5),
    };
    let mut missing = Vec::new();
    if !row.has(GMT) && !row.has(LOCAL) {
        missing.push("missing required column GMTIntervalEnd".to_string());
    }
    if !row.has(NODE) {
        missing.push("missing required column Settlement Location".to_string());
    }
    if !row.has(PRICE) {
        missing.push("missing required column LMP".to_string());
    }
    if !missing.is_empty() {
        return Err((ErrorCode::ParseError, missing));
    }

    let mut is = RowIssues::default();
    let end_ms = interval_end_ms(row, &mut is);
    let node = is.require(row, NODE);
    let price = is.require_num(row, PRICE);
    let components = Components {
        energy: is.num(row, &["MEC"]),
        congestion: is.num(row, &["MCC"]),
        loss: is.num(row, &["MLC"]),
        ghg: None,
    };
    let (Some(end_ms), Some(node), Some(price)) = (end_ms, node, price) else {
        is.finish()?;
        return Err((ErrorCode::ValidationError, vec!["incomplete row".into()]));
    };
    is.finish()?;
    let tick = ctx.tick(
        doc,
        Draft {
            market: Market::Spp,
            run,
            node: &node,
            start_ms: end_ms - minutes * 60_000,
            end_ms,
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

/// The UTC interval end: the GMT column when present, else `Interval` in Central prevailing time.
fn interval_end_ms(row: &Row<'_>, is: &mut RowIssues) -> Option<i64> {
    if row.has(GMT) {
        let t = is.require(row, GMT)?;
        return is.check(
            parse_us_datetime(&t)
                .map(|dt| dt.naive_ms())
                .map_err(|e| format!("GMTIntervalEnd: {e}")),
        );
    }
    let t = is.require(row, LOCAL)?;
    let dt = is.check(parse_us_datetime(&t).map_err(|e| format!("Interval: {e}")))?;
    let zone = is.check(Zone::get("America/Chicago").map_err(|e| e.to_string()))?;
    if zone.is_ambiguous(dt) {
        is.push(format!(
            "Interval {t:?} falls in the fall-back hour and the file has no GMT column"
        ));
        return None;
    }
    is.check(
        zone.to_utc_ms(dt, Fold::First)
            .map_err(|e| format!("Interval: {e}")),
    )
}

#[cfg(test)]
mod tests;

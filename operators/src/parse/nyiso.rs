//! NYISO LBMP files: MIS `damlbmp_zone` (`nyiso-da`, hour-beginning), MIS `realtime_zone`
//! (`nyiso-rt`, interval-ending RTD) and the OASIS zonal LBMP export (`nyiso-oasis`:
//! `"RTD End Time Stamp"` or `"RTC End Time Stamp"`, every field quoted, `YYYY/MM/DD HH:MM:SS`).
//!
//! Stamps are Eastern prevailing wall-clock times with no offset column (SPEC §2.1):
//! - interval-ending stamps give `interval_end`; `interval_start` is 5 minutes earlier for RT/RTD
//!   and 15 for RTC, whatever the spacing of neighbouring stamps (off-grid reruns like `00:15:12`
//!   keep their own 5-minute interval);
//! - a stamp in the spring-forward gap is a `VALIDATION_ERROR`;
//! - a repeated fall-back stamp is resolved per node: the first occurrence is daylight time, the
//!   next standard time. Interval-ending files may label the end of the last daylight interval
//!   either `01:00` (second occurrence, wall clock at the end instant) or `02:00` (the hour it
//!   ends); both read right because each occurrence takes the earliest candidate instant the node
//!   has not used yet. A `Time Zone` column (`EDT`/`EST`), when present, decides instead.
//!
//! Columns are found by name pattern (`LBMP`, `Losses`, `Congestion`), not position. NYISO
//! publishes LBMP = energy + losses − congestion: congestion is stored negated, and energy is
//! derived as LBMP − loss − congestion (6 decimals) so that price = energy + congestion + loss.

use super::checks::{field_names, round6};
use super::csvdoc::{drive_rows, Row, RowResult};
use super::fields::{parse_us_datetime, RowIssues};
use super::{Document, Draft, Format, ParseCtx, ParseOutput};
use crate::model::{Components, EpochMs, ErrorCode, Market};
use crate::time::{Fold, LocalDateTime, Zone};
use rustc_hash::FxHashMap;

/// Parses a whole NYISO LBMP document; every data row becomes a tick or a dead letter.
pub(super) fn parse(format: Format, doc: &Document<'_>, ctx: &mut ParseCtx, out: &mut ParseOutput) {
    let mut clock = match Zone::get("America/New_York") {
        Ok(zone) => Clock::new(zone),
        Err(e) => {
            out.rows += 1;
            out.dead.push(ctx.dead(
                doc,
                1,
                0,
                0,
                ErrorCode::UnexpectedError,
                vec![e.to_string()],
                doc.bytes,
            ));
            return;
        }
    };
    let mut layout: Option<Result<Layout, Vec<String>>> = None;
    drive_rows(doc, ctx, out, |row, line, ctx, out| {
        let layout = layout.get_or_insert_with(|| Layout::resolve(format, &field_names(row)));
        match layout {
            Ok(layout) => parse_line(format, layout, &mut clock, row, doc, line, ctx, out),
            Err(missing) => Err((ErrorCode::ParseError, missing.clone())),
        }
    });
}

/// Where the values of one file variant are, found from its header names.
#[derive(Debug)]
struct Layout {
    run: &'static str,
    minutes: i64,
    ending: bool,
    time: String,
    node: String,
    price: String,
    loss: Option<String>,
    congestion: Option<String>,
    version: Option<String>,
    time_zone: Option<String>,
    execution: Option<String>,
}

impl Layout {
    /// Resolves the columns from lower-cased header names; `Err` lists the missing ones.
    fn resolve(format: Format, names: &[String]) -> Result<Layout, Vec<String>> {
        let find = |pred: &dyn Fn(&str) -> bool| names.iter().find(|n| pred(n)).cloned();
        let mis_stamp = || {
            find(&|n| n == "time stamp")
                .or_else(|| find(&|n| n.contains("time stamp") && !n.contains("execution")))
        };
        let (run, minutes, ending, time) = match format {
            Format::NyisoDa => ("DA", 60, false, mis_stamp()),
            Format::NyisoRt => ("RT", 5, true, mis_stamp()),
            _ => {
                if let Some(t) = find(&|n| n.contains("rtd end time")) {
                    ("RT", 5, true, Some(t))
                } else if let Some(t) = find(&|n| n.contains("rtc end time")) {
                    ("RTC", 15, true, Some(t))
                } else if let Some(t) = find(&|n| n.contains("eastern date hour")) {
                    ("DA", 60, false, Some(t))
                } else {
                    ("RT", 5, true, None)
                }
            }
        };
        let node = ["name", "zone name", "gen name", "generator name"]
            .iter()
            .find_map(|c| find(&|n| n == *c))
            .or_else(|| find(&|n| n.ends_with("name")));
        let price = find(&|n| n.contains("lbmp") && !n.contains("version"))
            .or_else(|| find(&|n| n == "lmp" || n == "price"));
        let mut missing = Vec::new();
        for (col, what) in [
            (&time, "time stamp (Time Stamp / RTD or RTC End Time Stamp)"),
            (&node, "node name (Name / Zone Name)"),
            (&price, "price (LBMP)"),
        ] {
            if col.is_none() {
                missing.push(format!("missing required column {what}"));
            }
        }
        let (Some(time), Some(node), Some(price)) = (time, node, price) else {
            return Err(missing);
        };
        Ok(Layout {
            run,
            minutes,
            ending,
            time,
            node,
            price,
            loss: find(&|n| n.contains("loss")),
            congestion: find(&|n| n.contains("congestion")),
            version: find(&|n| n.contains("version")),
            time_zone: find(&|n| n == "time zone" || n == "timezone"),
            execution: find(&|n| n.contains("execution")),
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn parse_line(
    format: Format,
    layout: &Layout,
    clock: &mut Clock,
    row: &Row<'_>,
    doc: &Document<'_>,
    line: u32,
    ctx: &mut ParseCtx,
    out: &mut ParseOutput,
) -> RowResult {
    let mut is = RowIssues::default();
    let stamp = is.require(row, &[&layout.time]);
    let node = is.require(row, &[&layout.node]);
    let price = is.require_num(row, &[&layout.price]);
    let loss = layout.loss.as_ref().and_then(|c| is.num(row, &[c]));
    let congestion = layout.congestion.as_ref().and_then(|c| is.num(row, &[c]));
    let time_zone = layout.time_zone.as_ref().and_then(|c| is.text(row, &[c]));
    let execution = layout.execution.as_ref().and_then(|c| is.text(row, &[c]));
    let revision = layout
        .version
        .as_ref()
        .and_then(|c| is.text(row, &[c]))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let local = stamp.as_ref().and_then(|s| {
        parse_us_datetime(s)
            .map_err(|e| is.push(format!("{}: {e}", layout.time)))
            .ok()
    });
    is.finish()?;
    let (Some(local), Some(node), Some(price)) = (local, node, price) else {
        return Err((ErrorCode::ValidationError, vec!["incomplete row".into()]));
    };
    let key = match &execution {
        Some(x) => format!("{node}\u{1f}{x}"),
        None => node.to_string(),
    };
    let instant = clock
        .instant(local, layout.ending, time_zone.as_deref(), &key)
        .map_err(|e| {
            (
                ErrorCode::ValidationError,
                vec![format!("{}: {e}", layout.time)],
            )
        })?;
    let span = layout.minutes * 60_000;
    let (start_ms, end_ms) = if layout.ending {
        (instant - span, instant)
    } else {
        (instant, instant + span)
    };
    // NYISO: LBMP = energy + losses − congestion; store congestion so that the parts add up.
    let congestion = congestion.map(|c| 0.0 - c);
    let energy = match (loss, congestion) {
        (Some(l), Some(c)) => Some(round6(price - l - c)),
        _ => None,
    };
    let tick = ctx.tick(
        doc,
        Draft {
            market: Market::Nyiso,
            run: layout.run,
            node: &node,
            start_ms,
            end_ms,
            price,
            components: Components {
                energy,
                congestion,
                loss,
                ghg: None,
            },
            revision,
            line,
            elem: 0,
            source_system: format.name(),
        },
    );
    out.ticks.push(tick);
    Ok(())
}

/// Places Eastern prevailing stamps on the UTC axis, remembering per node which instants of a
/// fall-back fold it has already used.
struct Clock {
    zone: Zone,
    used: FxHashMap<String, Vec<EpochMs>>,
}

impl Clock {
    fn new(zone: Zone) -> Clock {
        Clock {
            zone,
            used: FxHashMap::default(),
        }
    }

    /// The UTC instant a stamp denotes for the node (or node and run) `key`.
    fn instant(
        &mut self,
        local: LocalDateTime,
        ending: bool,
        time_zone: Option<&str>,
        key: &str,
    ) -> Result<EpochMs, String> {
        const HOUR_MS: i64 = 3_600_000;
        match time_zone.map(|z| z.trim().to_ascii_uppercase()).as_deref() {
            Some("EDT") => return Ok(local.naive_ms() + 4 * HOUR_MS),
            Some("EST") => return Ok(local.naive_ms() + 5 * HOUR_MS),
            _ => {}
        }
        let (first, second) = self.candidates(local, ending)?;
        let Some(second) = second else {
            return Ok(first);
        };
        let used = self.used.entry(key.to_string()).or_default();
        let pick = if !used.contains(&first) {
            first
        } else {
            second
        };
        used.push(pick);
        Ok(pick)
    }

    /// The one instant a stamp can denote, or the two of a fall-back fold (earlier first).
    fn candidates(
        &self,
        local: LocalDateTime,
        ending: bool,
    ) -> Result<(EpochMs, Option<EpochMs>), String> {
        let utc = |fold| self.zone.to_utc_ms(local, fold).map_err(|e| e.to_string());
        if self.zone.is_ambiguous(local) {
            return Ok((utc(Fold::First)?, Some(utc(Fold::Second)?)));
        }
        let at = utc(Fold::First)?;
        // An interval ending exactly where the fold ends (02:00) may also close the last
        // daylight interval: the second before it is then its daylight reading.
        if ending && local.minute == 0 && local.second == 0 && local.hour > 0 {
            if let Ok(before) = LocalDateTime::new(local.date, local.hour - 1, 59, 59) {
                if self.zone.is_ambiguous(before) {
                    let daylight = self
                        .zone
                        .to_utc_ms(before, Fold::First)
                        .map_err(|e| e.to_string())?;
                    return Ok((daylight + 1000, Some(at)));
                }
            }
        }
        Ok((at, None))
    }
}

#[cfg(test)]
#[path = "nyiso_tests.rs"]
mod tests;

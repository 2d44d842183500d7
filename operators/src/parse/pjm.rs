//! PJM Data Miner 2 hourly and five-minute LMP exports (`da_hrl_lmps`, `rt_hrl_lmps`,
//! `rt_fivemin_hrl_lmps`).
//!
//! Times come from `datetime_beginning_utc` (hour-beginning, `M/D/YYYY h:mm:ss AM`), which is
//! unambiguous across DST; `datetime_beginning_ept` is used only when the UTC column is absent.
//! Rows with `row_is_current=False` are earlier revisions, not errors: every row becomes a tick
//! with `revision = version_nbr`, and dedupe keeps the highest revision (SPEC §3).

use super::csvdoc::{drive_rows, Row, RowResult};
use super::fields::{parse_f64, parse_us_datetime};
use super::{Document, Draft, Format, ParseCtx, ParseOutput};
use crate::model::{Components, ErrorCode, Market};
use crate::time::{Fold, Zone};

/// Parses a whole Data Miner CSV document.
pub(super) fn parse(format: Format, doc: &Document<'_>, ctx: &mut ParseCtx, out: &mut ParseOutput) {
    drive_rows(doc, ctx, out, |row, line, ctx, out| {
        parse_line(format, row, doc, line, 0, ctx, out)
    });
}

/// Parses one stand-alone Data Miner record (an envelope payload).
pub(super) fn parse_row(
    format: Format,
    row: &Row<'_>,
    doc: &Document<'_>,
    ctx: &mut ParseCtx,
    out: &mut ParseOutput,
) -> RowResult {
    parse_line(format, row, doc, 1, 0, ctx, out)
}

fn parse_line(
    format: Format,
    row: &Row<'_>,
    doc: &Document<'_>,
    line: u32,
    elem: u32,
    ctx: &mut ParseCtx,
    out: &mut ParseOutput,
) -> RowResult {
    let (run, minutes) = match format {
        Format::PjmDa => ("DA", 60),
        Format::PjmRt5 => ("RT5", 5),
        _ => ("RT", 60),
    };
    let [price_col, energy_col, cong_col, loss_col] = if format == Format::PjmDa {
        [
            "total_lmp_da",
            "system_energy_price_da",
            "congestion_price_da",
            "marginal_loss_price_da",
        ]
    } else {
        [
            "total_lmp_rt",
            "system_energy_price_rt",
            "congestion_price_rt",
            "marginal_loss_price_rt",
        ]
    };
    let mut missing = Vec::new();
    for col in [price_col, "pnode_name"] {
        if !row.has(&[col]) {
            missing.push(format!("missing required column {col}"));
        }
    }
    if !row.has(&["datetime_beginning_utc", "datetime_beginning_ept"]) {
        missing.push("missing required column datetime_beginning_utc".to_string());
    }
    if !missing.is_empty() {
        return Err((ErrorCode::ParseError, missing));
    }

    let mut issues = Vec::new();
    let start_ms = match start_ms(row) {
        Ok(ms) => Some(ms),
        Err(e) => {
            issues.push(e);
            None
        }
    };
    let node = row.text(&["pnode_name"]).unwrap_or_else(|e| {
        issues.push(e);
        None
    });
    if node.is_none() && issues.is_empty() {
        issues.push("missing pnode_name".to_string());
    }
    let price = match row.require(&[price_col]) {
        Ok(t) => parse_f64(&t).map_err(|e| format!("{price_col}: {e}")),
        Err(e) => Err(format!("{e} (price)")),
    };
    let price = price.map_err(|e| issues.push(e)).ok();
    let mut comp = |col: &str| {
        row.num(&[col]).unwrap_or_else(|e| {
            issues.push(e);
            None
        })
    };
    let components = Components {
        energy: comp(energy_col),
        congestion: comp(cong_col),
        loss: comp(loss_col),
        ghg: None,
    };
    let revision = match row.text(&["version_nbr"]) {
        Ok(Some(v)) => v
            .parse::<u64>()
            .map_err(|_| issues.push(format!("bad version_nbr {v:?}")))
            .unwrap_or(0),
        Ok(None) => 0,
        Err(e) => {
            issues.push(e);
            0
        }
    };
    if !issues.is_empty() {
        return Err((ErrorCode::ValidationError, issues));
    }
    let (Some(start_ms), Some(node), Some(price)) = (start_ms, node, price) else {
        return Err((
            ErrorCode::ValidationError,
            vec!["incomplete row".to_string()],
        ));
    };
    let tick = ctx.tick(
        doc,
        Draft {
            market: Market::Pjm,
            run,
            node: &node,
            start_ms,
            end_ms: start_ms + minutes * 60_000,
            price,
            components,
            revision,
            line,
            elem,
            source_system: format.name(),
        },
    );
    out.ticks.push(tick);
    Ok(())
}

fn start_ms(row: &Row<'_>) -> Result<i64, String> {
    if let Some(utc) = row.text(&["datetime_beginning_utc"])? {
        return parse_us_datetime(&utc)
            .map(|dt| dt.naive_ms())
            .map_err(|e| format!("datetime_beginning_utc: {e}"));
    }
    let ept = row.require(&["datetime_beginning_ept"])?;
    let dt = parse_us_datetime(&ept).map_err(|e| format!("datetime_beginning_ept: {e}"))?;
    let zone = Zone::get("America/New_York").map_err(|e| e.to_string())?;
    zone.to_utc_ms(dt, Fold::First)
        .map_err(|e| format!("datetime_beginning_ept: {e}"))
}

#[cfg(test)]
mod tests {
    use crate::fixtures;
    use crate::model::render::time;

    #[test]
    fn rto_2024_versions_and_dst() {
        let Some(out) = fixtures::parse("pjm/pjm_dataminer_rt_hrl_lmps_pjm-rto_2024.csv") else {
            return;
        };
        assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (8808, 8808, 0));
        assert_eq!(fixtures::observations(&out), 8784);
        // CRLF file: the first data row is line 2, the last line 8809.
        assert_eq!(out.ticks.first().map(|t| t.source.line), Some(2));
        assert_eq!(out.ticks.last().map(|t| t.source.line), Some(8809));
        assert_eq!(
            fixtures::span(&out),
            ("2024-01-01T05:00:00Z".into(), "2025-01-01T04:00:00Z".into())
        );
        // The fall-back hour 1:00 EPT appears twice, at 05:00Z and 06:00Z.
        let fall: Vec<_> = out
            .ticks
            .iter()
            .filter(|t| {
                ["2024-11-03T05:00:00Z", "2024-11-03T06:00:00Z"]
                    .contains(&time(t.interval_start_ms).as_str())
            })
            .collect();
        assert_eq!(fall.len(), 2);
        assert!(out
            .ticks
            .iter()
            .all(|t| &*t.instrument_id == "PJM.RT.PJM-RTO"));
        let revised: Vec<_> = out.ticks.iter().filter(|t| t.revision == 2).collect();
        assert_eq!(revised.len(), 24);
        assert!(out.ticks.iter().all(|t| !t
            .flags
            .contains(crate::model::QualityFlag::ComponentsMismatch)));
    }

    #[test]
    fn hubs_da_and_rt() {
        for (f, run) in [
            (
                "pjm/pjm_dataminer_da_hrl_lmps_hubs_2025-05_2025-07.csv",
                "DA",
            ),
            (
                "pjm/pjm_dataminer_rt_hrl_lmps_hubs_2025-05_2025-07.csv",
                "RT",
            ),
        ] {
            let Some(out) = fixtures::parse(f) else {
                return;
            };
            assert_eq!(
                (out.rows, out.ticks.len(), out.dead.len()),
                (26508, 26508, 0),
                "{f}"
            );
            assert_eq!(fixtures::observations(&out), 26508);
            assert_eq!(
                fixtures::span(&out),
                ("2025-05-01T04:00:00Z".into(), "2025-08-01T04:00:00Z".into())
            );
            assert!(out.ticks.iter().all(|t| &*t.market_run == run));
            assert!(out
                .ticks
                .iter()
                .all(|t| t.interval_end_ms - t.interval_start_ms == 3_600_000));
        }
    }
}

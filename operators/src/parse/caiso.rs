//! CAISO OASIS SingleZip CSV (`PRC_LMP` DAM, `PRC_HASP_LMP`, `PRC_RTPD_LMP`, `PRC_INTVL_LMP` RTM):
//! one long layout, one row per price component, pivoted into one tick per
//! (`NODE`, `MARKET_RUN_ID`, `INTERVALSTARTTIME_GMT`, `INTERVALENDTIME_GMT`).
//!
//! Columns are found by name (DAM and HASP files order them differently); rows come in no
//! particular order. `LMP_TYPE` (or, without it, `XML_DATA_ITEM`) names the component: `LMP`
//! total, `MCE` energy, `MCC` congestion, `MCL` loss, `MGHG` greenhouse gas; the value is in `MW`
//! (`VALUE` in some reports). Times are UTC RFC 3339 with a `-00:00` offset. Runs: `DAM`→`DA`,
//! `HASP`, `RTPD`, `RTM`→`RT`, anything else verbatim in upper case. The raw `.zip` is unpacked by
//! the zip layer, which parses each member here.
//!
//! Accounting: a row that cannot be read (bad time, number, missing node or run, unknown
//! component) is a dead letter of its own and joins no group. A second row of the same component
//! in a group is a `CONTRACT_VIOLATION`; a group without an `LMP` row is one `CONTRACT_VIOLATION`
//! per row. Group dead letters carry the row's position in its group as `index`. A tick's line is
//! the smallest line among its group's rows, and ticks come out in that order.

use super::csvdoc::{drive_rows_raw, Row};
use super::fields::RowIssues;
use super::{Document, Draft, Format, ParseCtx, ParseOutput};
use crate::model::render::parse_rfc3339_ms;
use crate::model::{Components, ErrorCode, Market};
use rustc_hash::FxHashMap;

const START: &[&str] = &["INTERVALSTARTTIME_GMT"];
const END: &[&str] = &["INTERVALENDTIME_GMT"];
const NODE: &[&str] = &["NODE", "NODE_ID"];
const RUN: &[&str] = &["MARKET_RUN_ID"];
const TYPE: &[&str] = &["LMP_TYPE"];
const ITEM: &[&str] = &["XML_DATA_ITEM"];
const VALUE: &[&str] = &["MW", "VALUE", "PRC"];

/// A price component, in slot order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Comp {
    Lmp = 0,
    Energy = 1,
    Congestion = 2,
    Loss = 3,
    Ghg = 4,
}

impl Comp {
    fn from_type(t: &str) -> Option<Comp> {
        Some(match t.to_ascii_uppercase().as_str() {
            "LMP" | "LMP_PRC" => Comp::Lmp,
            "MCE" | "LMP_ENE_PRC" => Comp::Energy,
            "MCC" | "LMP_CONG_PRC" => Comp::Congestion,
            "MCL" | "LMP_LOSS_PRC" => Comp::Loss,
            "MGHG" | "LMP_GHG_PRC" => Comp::Ghg,
            _ => return None,
        })
    }
}

/// One component row waiting for its group to be complete.
struct Member {
    line: u32,
    comp: Comp,
    value: f64,
    /// Byte range of the row's raw text in the document.
    raw: (usize, usize),
}

struct Group {
    node: String,
    run: String,
    start_ms: i64,
    end_ms: i64,
    members: Vec<Member>,
}

/// Parses a whole OASIS CSV document (one zip member).
pub(super) fn parse(doc: &Document<'_>, ctx: &mut ParseCtx, out: &mut ParseOutput) {
    let mut groups: Vec<Group> = Vec::new();
    let mut by_key: FxHashMap<(String, String, i64, i64), usize> = FxHashMap::default();
    drive_rows_raw(doc, ctx, out, |row, line, raw, _ctx, _out| {
        let (node, run, start_ms, end_ms, comp, value) = read_row(row)?;
        let member = Member {
            line,
            comp,
            value,
            raw: span_in(doc.bytes, raw),
        };
        let key = (node, run, start_ms, end_ms);
        match by_key.get(&key) {
            Some(&i) => {
                if let Some(g) = groups.get_mut(i) {
                    g.members.push(member);
                }
            }
            None => {
                by_key.insert(key.clone(), groups.len());
                let (node, run, start_ms, end_ms) = key;
                groups.push(Group {
                    node,
                    run,
                    start_ms,
                    end_ms,
                    members: vec![member],
                });
            }
        }
        Ok(())
    });
    for g in &groups {
        pivot(g, doc, ctx, out);
    }
}

type Read = (String, String, i64, i64, Comp, f64);

/// Reads one component row; `Err` when it cannot join a group.
fn read_row(row: &Row<'_>) -> Result<Read, (ErrorCode, Vec<String>)> {
    let mut missing = Vec::new();
    for (names, what) in [
        (START, "INTERVALSTARTTIME_GMT"),
        (END, "INTERVALENDTIME_GMT"),
        (NODE, "NODE"),
        (RUN, "MARKET_RUN_ID"),
        (VALUE, "MW"),
    ] {
        if !row.has(names) {
            missing.push(format!("missing required column {what}"));
        }
    }
    if !row.has(TYPE) && !row.has(ITEM) {
        missing.push("missing required column LMP_TYPE".to_string());
    }
    if !missing.is_empty() {
        return Err((ErrorCode::ParseError, missing));
    }
    let mut is = RowIssues::default();
    let stamp = |is: &mut RowIssues, names: &[&str]| {
        let t = is.require(row, names)?;
        let what = names.first().copied().unwrap_or("time");
        is.check(parse_rfc3339_ms(&t).ok_or_else(|| format!("{what}: bad time {t:?}")))
    };
    let start_ms = stamp(&mut is, START);
    let end_ms = stamp(&mut is, END);
    if let (Some(s), Some(e)) = (start_ms, end_ms) {
        if e < s {
            is.push("INTERVALENDTIME_GMT is before INTERVALSTARTTIME_GMT");
        }
    }
    let node = is.require(row, NODE);
    let run = is.require(row, RUN).map(|r| run_code(&r));
    let kind = if row.has(TYPE) {
        is.require(row, TYPE)
    } else {
        is.require(row, ITEM)
    };
    let comp = kind.and_then(|k| {
        let c = Comp::from_type(&k);
        if c.is_none() {
            is.push(format!("unknown LMP_TYPE {k:?}"));
        }
        c
    });
    let value = is.require_num(row, VALUE);
    match (start_ms, end_ms, node, run, comp, value) {
        (Some(s), Some(e), Some(n), Some(r), Some(c), Some(v)) if is.list.is_empty() => {
            Ok((n.into_owned(), r, s, e, c, v))
        }
        _ => {
            is.finish()?;
            Err((ErrorCode::ValidationError, vec!["incomplete row".into()]))
        }
    }
}

/// OASIS `MARKET_RUN_ID` → instrument run code.
fn run_code(id: &str) -> String {
    let up = id.trim().to_ascii_uppercase();
    match up.as_str() {
        "DAM" => "DA".to_string(),
        "RTM" => "RT".to_string(),
        _ => up,
    }
}

/// Turns a complete group into one tick, or dead letters when it breaks the long layout.
fn pivot(g: &Group, doc: &Document<'_>, ctx: &mut ParseCtx, out: &mut ParseOutput) {
    let raw = |m: &Member| doc.bytes.get(m.raw.0..m.raw.1).unwrap_or(b"");
    let mut slots: [Option<f64>; 5] = [None; 5];
    let mut taken = vec![false; g.members.len()];
    for (pos, m) in g.members.iter().enumerate() {
        let slot = &mut slots[m.comp as usize];
        if slot.is_some() {
            let issue = format!(
                "second {:?} row for {} {} at {}",
                m.comp,
                g.node,
                g.run,
                crate::model::render::time(g.start_ms)
            );
            out.dead.push(ctx.dead(
                doc,
                m.line,
                0,
                pos as u32,
                ErrorCode::ContractViolation,
                vec![issue],
                raw(m),
            ));
            continue;
        }
        *slot = Some(m.value);
        taken[pos] = true;
    }
    let Some(price) = slots[Comp::Lmp as usize] else {
        for (pos, m) in g.members.iter().enumerate().filter(|(i, _)| taken[*i]) {
            let issue = format!(
                "no LMP row for {} {} at {}: component rows cannot form a tick",
                g.node,
                g.run,
                crate::model::render::time(g.start_ms)
            );
            out.dead.push(ctx.dead(
                doc,
                m.line,
                0,
                pos as u32,
                ErrorCode::ContractViolation,
                vec![issue],
                raw(m),
            ));
        }
        return;
    };
    let line = g.members.iter().map(|m| m.line).min().unwrap_or(1);
    let tick = ctx.tick(
        doc,
        Draft {
            market: Market::Caiso,
            run: &g.run,
            node: &g.node,
            start_ms: g.start_ms,
            end_ms: g.end_ms,
            price,
            components: Components {
                energy: slots[Comp::Energy as usize],
                congestion: slots[Comp::Congestion as usize],
                loss: slots[Comp::Loss as usize],
                ghg: slots[Comp::Ghg as usize],
            },
            revision: 0,
            line,
            elem: 0,
            source_system: Format::CaisoOasis.name(),
        },
    );
    out.ticks.push(tick);
}

/// The byte range of `part` (a sub-slice of `whole`) within `whole`; empty when it is not one.
fn span_in(whole: &[u8], part: &[u8]) -> (usize, usize) {
    let base = whole.as_ptr() as usize;
    match (part.as_ptr() as usize).checked_sub(base) {
        Some(start) if start + part.len() <= whole.len() => (start, start + part.len()),
        _ => (0, 0),
    }
}

#[cfg(test)]
mod tests;

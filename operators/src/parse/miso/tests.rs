//! Tests of the MISO parser: both real reports and hand-made preambles and malformed rows.

use super::super::checks::{assert_identity, parse_bytes};
use super::super::Format;
use crate::fixtures;
use crate::model::render::time;
use crate::model::ErrorCode;

fn header() -> String {
    let hours: Vec<String> = (1..=24).map(|h| format!("HE {h}")).collect();
    format!("Node,Type,Value,{}\n", hours.join(","))
}

fn row(node: &str, value: &str, x: f64) -> String {
    let cells: Vec<String> = (0..24).map(|h| format!("{:.2}", x + h as f64)).collect();
    format!("{node},Hub,{value},{}\n", cells.join(","))
}

fn report(title: &str, date: &str, rows: &[String]) -> String {
    format!(
        "{title}\n{date}\n\n,,,All Hours-Ending are Eastern Standard Time (EST)\n{}{}",
        header(),
        rows.concat()
    )
}

#[test]
fn day_ahead_fixture() {
    let Some(out) = fixtures::parse("miso/miso_20130507_da_lmp.csv") else {
        return;
    };
    assert_eq!(
        (out.rows, out.ticks.len(), out.dead.len()),
        (5271, 42168, 0)
    );
    assert_eq!(fixtures::observations(&out), 42168);
    assert_eq!(
        fixtures::span(&out),
        ("2013-05-07T05:00:00Z".into(), "2013-05-08T04:00:00Z".into())
    );
    assert_identity(&out);
    let t = &out.ticks[0];
    assert_eq!(&*t.instrument_id, "MISO.DA.AEC");
    assert_eq!(time(t.interval_start_ms), "2013-05-07T05:00:00Z");
    assert_eq!(time(t.interval_end_ms), "2013-05-07T06:00:00Z");
    assert_eq!(t.source.line, 6);
    assert_eq!(t.price, 24.84);
    // MCC -.31 and MLC -.92 fold in; energy = 24.84 + 0.31 + 0.92.
    assert_eq!(
        (
            t.components().congestion,
            t.components().loss,
            t.components().energy
        ),
        (Some(-0.31), Some(-0.92), Some(26.07))
    );
    // HE 20 is the integer `43`.
    assert_eq!(out.ticks[19].price, 43.0);
    assert_eq!(
        time(out.ticks[23].interval_start_ms),
        "2013-05-08T04:00:00Z"
    );
}

#[test]
fn real_time_final_fixture() {
    let Some(out) = fixtures::parse("miso/miso_20130508_rt_lmp_final.csv") else {
        return;
    };
    assert_eq!(
        (out.rows, out.ticks.len(), out.dead.len()),
        (5271, 42168, 0)
    );
    assert_eq!(fixtures::observations(&out), 42168);
    assert_eq!(
        fixtures::span(&out),
        ("2013-05-08T05:00:00Z".into(), "2013-05-09T04:00:00Z".into())
    );
    assert_identity(&out);
    assert!(out.ticks.iter().all(|t| &*t.market_run == "RT"));
    assert_eq!(out.ticks.iter().filter(|t| t.price < 0.0).count(), 122);
}

#[test]
fn est_all_year_and_preliminary_runs() {
    // July: still UTC-5, no DST; an ISO date line; a prelim title.
    let doc = report(
        "Realtime Market LMPs (Preliminary)",
        "2024-07-01",
        &[row("ILLINOIS.HUB", "LMP", 30.0)],
    );
    let out = parse_bytes(Some(Format::MisoRt), doc.as_bytes());
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (1, 24, 0));
    assert_eq!(&*out.ticks[0].instrument_id, "MISO.RTPRELIM.ILLINOIS.HUB");
    assert_eq!(time(out.ticks[0].interval_start_ms), "2024-07-01T05:00:00Z");
    assert_eq!(
        time(out.ticks[23].interval_start_ms),
        "2024-07-02T04:00:00Z"
    );
    // No components published: none invented.
    assert!(out.ticks[0].components().is_empty());
    // On a fall-back day there are still exactly 24 hours.
    let doc = report(
        "Day Ahead Market LMPs",
        "11/3/2024",
        &[row("X", "LMP", 1.0)],
    );
    let out = parse_bytes(None, doc.as_bytes());
    assert_eq!(&*out.ticks[0].instrument_id, "MISO.DA.X");
    assert_eq!(time(out.ticks[1].interval_start_ms), "2024-11-03T06:00:00Z");
    assert_eq!(time(out.ticks[2].interval_start_ms), "2024-11-03T07:00:00Z");
}

#[test]
fn columns_are_mapped_by_name() {
    // Hours in reverse order, Value before Node, an extra column.
    let hours: Vec<String> = (1..=24).rev().map(|h| format!("HE {h}")).collect();
    let cells: Vec<String> = (1..=24).rev().map(|h| format!("{h}")).collect();
    let doc = format!(
        "Day Ahead Market LMPs\n05/07/2013\n\nValue,Extra,Node,{}\nLMP,x,N1,{}\nMLC,x,N1,{}\n",
        hours.join(","),
        cells.join(","),
        vec!["0.5"; 24].join(",")
    );
    let out = parse_bytes(Some(Format::MisoDa), doc.as_bytes());
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (2, 24, 0));
    let he1 = out
        .ticks
        .iter()
        .find(|t| time(t.interval_start_ms) == "2013-05-07T05:00:00Z")
        .map(|t| (t.price, t.components().loss, t.components().energy));
    // Only MLC published: loss folds in, energy cannot be derived.
    assert_eq!(he1, Some((1.0, Some(0.5), None)));
}

#[test]
fn bad_cells_and_rows_become_dead_letters() {
    let mut lmp = row("A", "LMP", 10.0);
    lmp = lmp
        .replacen("10.00", "", 1)
        .replacen("12.00", "NaN", 1)
        .replacen("13.00", "abc", 1);
    let rows = [
        lmp,
        row("B", "LMP", 10.0),
        row("A", "MCC", 0.5),
        row("A", "MLC", 0.25),
        row("ORPHAN", "MCC", 1.0),
        row("B", "MCC", 1.0).replacen("1.00", "zz", 1),
        row("C", "XYZ", 1.0),
        "D,Hub,LMP,1,2,3\n".to_string(),
        row("", "LMP", 1.0),
    ];
    let doc = report("Day Ahead Market LMPs", "05/07/2013", &rows);
    let out = parse_bytes(Some(Format::MisoDa), doc.as_bytes());
    assert_eq!(out.rows, 9);
    assert_eq!(out.ticks.len(), 21 + 24);
    let dead: Vec<(ErrorCode, String, u32)> = out
        .dead
        .iter()
        .map(|d| (d.error_code, d.source.clone(), d.index))
        .collect();
    use ErrorCode::{ParseError as P, ValidationError as V};
    let expect = [
        (V, "t.csv:6", 3),
        (V, "t.csv:6", 5),
        (V, "t.csv:6", 6),
        (V, "t.csv:11", 3),
        (V, "t.csv:12", 0),
        (P, "t.csv:13", 0),
        (V, "t.csv:14", 0),
        (V, "t.csv:10", 0),
    ];
    let expect: Vec<(ErrorCode, String, u32)> = expect
        .iter()
        .map(|(c, s, i)| (*c, s.to_string(), *i))
        .collect();
    assert_eq!(dead, expect);
    // A's HE 2 has both components; B's HE 1 lost its congestion to the bad cell.
    let a2 = &out.ticks[0];
    assert_eq!(time(a2.interval_start_ms), "2013-05-07T06:00:00Z");
    assert_eq!(a2.components().energy, Some(11.0 - 1.5 - 1.25));
    let b1 = out
        .ticks
        .iter()
        .find(|t| &*t.node == "B")
        .map(|t| t.components());
    assert_eq!(b1.and_then(|c| c.congestion), None);
}

#[test]
fn broken_documents() {
    // No date in the preamble: every data row is a dead letter.
    let doc = report(
        "Day Ahead Market LMPs",
        "",
        &[row("A", "LMP", 1.0), row("B", "LMP", 1.0)],
    );
    let out = parse_bytes(Some(Format::MisoDa), doc.as_bytes());
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (2, 0, 2));
    assert_eq!(out.dead[0].error_code, ErrorCode::ValidationError);
    // No header at all.
    let out = parse_bytes(Some(Format::MisoDa), b"Day Ahead Market LMPs\n05/07/2013\n");
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (1, 0, 1));
    assert_eq!(out.dead[0].error_code, ErrorCode::ParseError);
    // A header without hour columns.
    let out = parse_bytes(
        Some(Format::MisoDa),
        b"05/07/2013\nNode,Type,Value\nA,Hub,LMP\n",
    );
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (1, 0, 1));
    assert_eq!(out.dead[0].error_code, ErrorCode::ParseError);
    // Non-UTF-8 node name.
    let mut bytes = report("Day Ahead Market LMPs", "05/07/2013", &[]).into_bytes();
    bytes.extend_from_slice(b"N\xff");
    bytes.extend_from_slice(row("", "LMP", 1.0).as_bytes());
    let out = parse_bytes(Some(Format::MisoDa), &bytes);
    assert_eq!(out.dead.len(), 1);
    assert_eq!(out.dead[0].error_code, ErrorCode::ParseError);
    // Empty.
    let out = parse_bytes(Some(Format::MisoRt), b"");
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (0, 0, 0));
}

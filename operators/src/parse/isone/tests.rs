//! Tests of the ISO-NE parser: the real day-ahead report, DST days, run detection, stand-alone
//! records and malformed records.

use super::super::checks::{assert_identity, parse_bytes};
use super::super::{parse_row, Columns, Document, Format, ParseCtx, ParseOutput, Row};
use crate::fixtures;
use crate::model::render::time;
use crate::model::{ErrorCode, FeedInfo, FeedKind};

const HEAD: &str = "\"C\",\"Day-Ahead Energy Market Hourly LMP Report\"\n\
\"H\",\"Date\",\"Hour Ending\",\"Location ID\",\"Location Name\",\"Location Type\",\"Locational Marginal Price\",\"Energy Component\",\"Congestion Component\",\"Marginal Loss Component\"\n\
\"H\",\"Date\",\"HE\",\"String\",\"String\",\"String\",\"Number\",\"Number\",\"Number\",\"Number\"\n";

fn d(date: &str, he: &str) -> String {
    format!("\"D\",\"{date}\",\"{he}\",\"4000\",\".H.INTERNAL_HUB\",\"HUB\",47.82,47.56,0.0,0.26\n")
}

fn starts(out: &ParseOutput) -> Vec<String> {
    out.ticks
        .iter()
        .map(|t| time(t.interval_start_ms))
        .collect()
}

#[test]
fn day_ahead_fixture() {
    let Some(out) = fixtures::parse("isone/isone_WW_DALMP_ISO_20260604.csv") else {
        return;
    };
    assert_eq!(
        (out.rows, out.ticks.len(), out.dead.len()),
        (29016, 29016, 0)
    );
    assert_eq!(fixtures::observations(&out), 29016);
    assert_eq!(
        fixtures::span(&out),
        ("2026-06-04T04:00:00Z".into(), "2026-06-05T03:00:00Z".into())
    );
    assert_identity(&out);
    let t = &out.ticks[0];
    assert_eq!(&*t.instrument_id, "ISONE.DA.UN.FRNKLNSQ13.810CC");
    assert_eq!(time(t.interval_start_ms), "2026-06-04T04:00:00Z");
    assert_eq!(time(t.interval_end_ms), "2026-06-04T05:00:00Z");
    assert_eq!(t.price, 47.19);
    assert_eq!(
        (
            t.components().energy,
            t.components().congestion,
            t.components().loss
        ),
        (Some(47.56), Some(0.0), Some(-0.37))
    );
    assert_eq!(t.source.line, 7);
    assert!(out.ticks.iter().all(|t| &*t.market_run == "DA"));
}

#[test]
fn fall_back_day_has_02x() {
    let doc = [
        HEAD.to_string(),
        d("11/03/2024", "01"),
        d("11/03/2024", "02"),
    ]
    .concat()
        + &d("11/03/2024", "02X")
        + &d("11/03/2024", "03")
        + "\"T\",\"4 lines\"";
    let out = parse_bytes(Some(Format::IsoneDa), doc.as_bytes());
    assert_eq!((out.rows, out.dead.len()), (4, 0));
    assert_eq!(
        starts(&out),
        [
            "2024-11-03T04:00:00Z",
            "2024-11-03T05:00:00Z",
            "2024-11-03T06:00:00Z",
            "2024-11-03T07:00:00Z"
        ]
    );
}

#[test]
fn spring_forward_day_has_no_02() {
    let doc = [
        HEAD.to_string(),
        d("03/10/2024", "01"),
        d("03/10/2024", "02"),
        d("03/10/2024", "03"),
    ]
    .concat();
    let out = parse_bytes(Some(Format::IsoneDa), doc.as_bytes());
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (3, 2, 1));
    assert_eq!(out.dead[0].error_code, ErrorCode::ValidationError);
    assert_eq!(out.dead[0].source, "t.csv:5");
    assert_eq!(
        starts(&out),
        ["2024-03-10T05:00:00Z", "2024-03-10T06:00:00Z"]
    );
}

#[test]
fn real_time_final_and_preliminary() {
    let body =
        HEAD.replace("Day-Ahead Energy Market", "Real-Time Energy Market") + &d("06/04/2026", "01");
    let out = parse_bytes(None, body.as_bytes());
    assert_eq!(&*out.ticks[0].instrument_id, "ISONE.RT..H.INTERNAL_HUB");
    let prelim = body.replace("Hourly LMP", "Hourly Preliminary LMP");
    let out = parse_bytes(None, prelim.as_bytes());
    assert_eq!(
        &*out.ticks[0].instrument_id,
        "ISONE.RTPRELIM..H.INTERNAL_HUB"
    );
}

#[test]
fn plain_header_without_record_types() {
    let doc = "Date,Hour Ending,Location Name,Locational Marginal Price,Energy Component,Congestion Component,Marginal Loss Component\n\
               06/04/2026,24,.Z.MAINE,40.1,43.85,0,-3.75\n";
    let out = parse_bytes(Some(Format::IsoneDa), doc.as_bytes());
    assert_eq!((out.rows, out.dead.len()), (1, 0));
    assert_eq!(time(out.ticks[0].interval_start_ms), "2026-06-05T03:00:00Z");
}

#[test]
fn stand_alone_records_share_the_row_logic() {
    let feed = FeedInfo {
        id: 0,
        display: "topic/0".into(),
        kind: FeedKind::File,
    };
    let doc = Document::whole(b"", &feed);
    let mut ctx = ParseCtx::default();
    let mut out = ParseOutput::default();
    let json: serde_json::Value = serde_json::json!({
        "Date": "11/03/2024", "Hour Ending": "02X", "Location Name": ".H.INTERNAL_HUB",
        "Locational Marginal Price": 30.5, "Energy Component": 30.0,
        "Congestion Component": 0.25, "Marginal Loss Component": 0.25
    });
    let Some(obj) = json.as_object() else {
        panic!("object")
    };
    parse_row(Format::IsoneRt, &Row::Json(obj), &doc, &mut ctx, &mut out).unwrap();
    let t = &out.ticks[0];
    assert_eq!(&*t.instrument_id, "ISONE.RT..H.INTERNAL_HUB");
    assert_eq!(time(t.interval_start_ms), "2024-11-03T06:00:00Z");

    let header = b"H,Date,Hour Ending,Location ID,Location Name,Location Type,Locational Marginal Price,Energy Component,Congestion Component,Marginal Loss Component";
    let columns = Columns::new(header.split(|b| *b == b','));
    let record = csv::ByteRecord::from(vec![
        "D",
        "06/04/2026",
        "01",
        "4000",
        ".H.INTERNAL_HUB",
        "HUB",
        "NaN",
        "1",
        "0",
        "0",
    ]);
    let row = Row::Csv {
        record: &record,
        columns: &columns,
    };
    let err = parse_row(Format::IsoneDa, &row, &doc, &mut ctx, &mut out).unwrap_err();
    assert_eq!(err.0, ErrorCode::ValidationError);
    assert_eq!(out.ticks.len(), 1);
}

#[test]
fn malformed_records_become_dead_letters() {
    let mut doc = b"\"D\",\"06/04/2026\",\"01\",\"1\",\"A\",\"HUB\",1,1,0,0\n".to_vec();
    doc.extend_from_slice(HEAD.as_bytes());
    doc.extend_from_slice(
        b"\"D\",\"06/04/2026\",\"01\",\"1\",\"B\",\"HUB\",abc,1,0,0\n\
          \"D\",\"06/04/2026\",\"01\",\"1\",\"C\",\"HUB\",NaN,1,0,0\n\
          \"D\",\"06/04/2026\",\"01\",\"1\",\"D\",\"HUB\",1,1,0\n\
          \"D\",\"06/31/2026\",\"01\",\"1\",\"E\",\"HUB\",1,1,0,0\n\
          \"D\",\"06/04/2026\",\"25\",\"1\",\"F\",\"HUB\",1,1,0,0\n\
          \"D\",\"06/04/2026\",\"01\",\"1\",\"G\xff\",\"HUB\",1,1,0,0\n\
          \"X\",\"06/04/2026\",\"01\",\"1\",\"H\",\"HUB\",1,1,0,0\n\
          \"D\",\"06/04/2026\",\"xx\",\"1\",\"I\",\"HUB\",1,1,0,0\n\
          \"D\",\"06/04/2026\",\"01\",\"1\",\"J\",\"HUB\",1,1,zz,0\n\
          \"D\",\"06/04/2026\",\"01\",\"1\",\"OK\",\"HUB\",1,1,0,0\n\
          \"T\",\"10 lines\"",
    );
    let out = parse_bytes(Some(Format::IsoneDa), &doc);
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (11, 1, 10));
    use ErrorCode::{ParseError as P, ValidationError as V};
    let codes: Vec<_> = out.dead.iter().map(|d| d.error_code).collect();
    assert_eq!(codes, [P, V, V, P, V, V, P, P, V, V]);
    assert_eq!(&*out.ticks[0].node, "OK");

    let no_price =
        HEAD.replace(",\"Locational Marginal Price\"", ",\"Price\"") + &d("06/04/2026", "01");
    let out = parse_bytes(Some(Format::IsoneDa), no_price.as_bytes());
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (1, 0, 1));
    assert_eq!(out.dead[0].error_code, ErrorCode::ParseError);
    assert!(out.dead[0]
        .error_message
        .contains("Locational Marginal Price"));

    let out = parse_bytes(Some(Format::IsoneDa), b"");
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (0, 0, 0));
    let out = parse_bytes(Some(Format::IsoneDa), HEAD.as_bytes());
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (0, 0, 0));
}

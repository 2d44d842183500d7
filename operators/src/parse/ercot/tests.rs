use crate::fixtures;
use crate::model::render::time;
use crate::model::{ErrorCode, FeedInfo, FeedKind, QualityFlag};
use crate::parse::{parse_as, parse_row, Document, Format, ParseCtx, ParseOutput, Row};

const RT_HEADER: &str = "DeliveryDate,DeliveryHour,DeliveryInterval,SettlementPointName,SettlementPointType,SettlementPointPrice,DSTFlag";
const DAM_HEADER: &str = "DeliveryDate,HourEnding,SettlementPoint,SettlementPointPrice,DSTFlag";

fn feed() -> FeedInfo {
    FeedInfo {
        id: 0,
        display: "ercot".into(),
        kind: FeedKind::File,
    }
}

fn parse_text(format: Format, text: &[u8]) -> ParseOutput {
    let feed = feed();
    let doc = Document::whole(text, &feed);
    let mut ctx = ParseCtx::default();
    let mut out = ParseOutput::default();
    parse_as(format, &doc, &mut ctx, &mut out);
    out
}

fn starts(out: &ParseOutput) -> Vec<String> {
    out.ticks
        .iter()
        .map(|t| time(t.interval_start_ms))
        .collect()
}

fn codes(out: &ParseOutput) -> Vec<(String, u32, ErrorCode)> {
    out.dead
        .iter()
        .map(|d| (d.source.clone(), d.index, d.error_code))
        .collect()
}

#[test]
fn np6_905_one_interval_name_and_type() {
    let Some(out) = fixtures::parse(
        "ercot/ercot_np6-905_rt_spp_cdr.00012301.0000000000000000.20240329.010211.SPPHLZNP6905_20240329_0100.csv",
    ) else {
        return;
    };
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (908, 908, 0));
    assert_eq!(fixtures::observations(&out), 908);
    assert_eq!(
        fixtures::span(&out),
        ("2024-03-29T05:45:00Z".into(), "2024-03-29T05:45:00Z".into())
    );
    assert!(out.ticks.iter().all(|t| &*t.market_run == "RT"
        && time(t.interval_end_ms) == "2024-03-29T06:00:00Z"
        && t.components().is_empty()));
    let price = |id: &str| {
        out.ticks
            .iter()
            .find(|t| &*t.instrument_id == id)
            .map(|t| (t.price, t.source.line))
    };
    assert_eq!(price("ERCOT.RT.LZ_AEN/LZEW"), Some((3.71, 497)));
    assert_eq!(price("ERCOT.RT.LZ_AEN/LZ"), Some((3.72, 498)));
    assert_eq!(
        out.ticks
            .iter()
            .filter(|t| t.flags.contains(QualityFlag::PriceNegative))
            .count(),
        300
    );
}

#[test]
fn api_dam_json_positions_and_hour_24() {
    let Some(out) =
        fixtures::parse("ercot/ercot_api_np4-190-cd_dam_spp_LZ_HOUSTON_20260926-27.json")
    else {
        return;
    };
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (48, 48, 0));
    assert_eq!(fixtures::observations(&out), 48);
    assert_eq!(
        fixtures::span(&out),
        ("2026-09-26T05:00:00Z".into(), "2026-09-28T04:00:00Z".into())
    );
    // Element 0: 2026-09-26 HE 24:00 = 23:00-24:00 CDT, its `[` on line 72.
    let first = &out.ticks[0];
    assert_eq!(&*first.instrument_id, "ERCOT.DA.LZ_HOUSTON");
    assert_eq!(time(first.interval_start_ms), "2026-09-27T04:00:00Z");
    assert_eq!(time(first.interval_end_ms), "2026-09-27T05:00:00Z");
    assert_eq!(first.price, 32.82);
    assert_eq!((first.source.line, first.source.elem), (72, 1));
    // Each element spans 7 lines.
    assert_eq!(
        (out.ticks[1].source.line, out.ticks[1].source.elem),
        (79, 2)
    );
    // HE 16:00 on 09-26 is a JSON integer.
    let he16 = out
        .ticks
        .iter()
        .find(|t| time(t.interval_start_ms) == "2026-09-26T20:00:00Z")
        .unwrap();
    assert_eq!(he16.price, 40.0);
    assert_eq!(&*he16.source_system, "ercot-api");
}

#[test]
fn fall_back_day_dst_flag_is_the_second_he02() {
    let text = format!(
        "{RT_HEADER}\n\
11/03/2024,1,1,HB_HOUSTON,HU,10,N\n\
11/03/2024,2,1,HB_HOUSTON,HU,11,N\n\
11/03/2024,2,1,HB_HOUSTON,HU,12,Y\n\
11/03/2024,2,4,HB_HOUSTON,HU,13,Y\n\
11/03/2024,3,1,HB_HOUSTON,HU,14,N\n\
11/03/2024,24,4,HB_HOUSTON,HU,15,N\n\
11/03/2024,3,1,HB_HOUSTON,HU,16,Y\n"
    );
    let out = parse_text(Format::ErcotRt, text.as_bytes());
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (7, 6, 1));
    assert_eq!(
        starts(&out),
        [
            "2024-11-03T05:00:00Z",
            "2024-11-03T06:00:00Z",
            "2024-11-03T07:00:00Z",
            "2024-11-03T07:45:00Z",
            "2024-11-03T08:00:00Z",
            "2024-11-04T05:45:00Z",
        ]
    );
    // DSTFlag=Y on HE03 names an hour that does not exist.
    assert_eq!(
        codes(&out),
        [("ercot:8".into(), 0, ErrorCode::ValidationError)]
    );

    let dam = format!(
        "{DAM_HEADER}\n11/03/2024,02:00,HB_NORTH,20,N\n11/03/2024,02:00,HB_NORTH,21,Y\n11/03/2024,24:00,HB_NORTH,22,N\n"
    );
    let out = parse_text(Format::ErcotDam, dam.as_bytes());
    assert_eq!(
        starts(&out),
        [
            "2024-11-03T06:00:00Z",
            "2024-11-03T07:00:00Z",
            "2024-11-04T05:00:00Z"
        ]
    );
    assert!(out
        .ticks
        .iter()
        .all(|t| &*t.instrument_id == "ERCOT.DA.HB_NORTH"));
}

#[test]
fn spring_day_and_flag_on_normal_day_are_rejected() {
    let text = format!(
        "{DAM_HEADER}\n\
03/10/2024,01:00,HB_NORTH,20,N\n\
03/10/2024,02:00,HB_NORTH,21,N\n\
03/10/2024,03:00,HB_NORTH,22,N\n\
03/29/2024,02:00,HB_NORTH,23,Y\n"
    );
    let out = parse_text(Format::ErcotDam, text.as_bytes());
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (4, 2, 2));
    assert_eq!(
        starts(&out),
        ["2024-03-10T06:00:00Z", "2024-03-10T07:00:00Z"]
    );
    assert_eq!(
        codes(&out),
        [
            ("ercot:3".into(), 0, ErrorCode::ValidationError),
            ("ercot:5".into(), 0, ErrorCode::ValidationError),
        ]
    );
}

#[test]
fn malformed_csv_rows() {
    let mut text = format!(
        "{RT_HEADER}\n\
03/29/2024,1,4,A,RN,NaN,N\n\
03/29/2024,1,5,A,RN,1,N\n\
02/30/2024,1,4,A,RN,1,N\n\
03/29/2024,1,4,,RN,1,N\n\
03/29/2024,1,4,A,RN,1,maybe\n\
03/29/2024,1,4,A\n\
03/29/2024,1,4,A,,2,N\n\
03/29/2024,1,4,B,RN,1,N\n"
    )
    .into_bytes();
    // Line 9's name is not UTF-8.
    if let Some(p) = text.iter().rposition(|&b| b == b'B') {
        text[p] = 0xfe;
    }
    let out = parse_text(Format::ErcotRt, &text);
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (8, 1, 7));
    // A row without a published type keeps the bare name.
    assert_eq!(&*out.ticks[0].instrument_id, "ERCOT.RT.A");
    use ErrorCode::*;
    let got: Vec<ErrorCode> = out.dead.iter().map(|d| d.error_code).collect();
    assert_eq!(
        got,
        [
            ValidationError,
            ValidationError,
            ValidationError,
            ValidationError,
            ValidationError,
            ParseError,
            ParseError
        ]
    );
    // Missing columns.
    let out = parse_text(
        Format::ErcotRt,
        b"DeliveryDate,DeliveryHour,SettlementPointName,SettlementPointPrice\n03/29/2024,1,A,1\n",
    );
    assert_eq!(codes(&out), [("ercot:2".into(), 0, ParseError)]);
}

#[test]
fn malformed_api_documents() {
    let doc = br#"{"report": {"reportEMIL": "NP6-905-CD"},
 "fields": [{"name": "deliveryDate"}, {"name": "deliveryHour"}, {"name": "deliveryInterval"},
            {"name": "settlementPoint"}, {"name": "settlementPointType"},
            {"name": "settlementPointPrice"}, {"name": "DSTFlag"}],
 "data": [
  ["2024-03-29", 1, 4, "LZ_AEN", "LZ", 3.72, false],
  ["2024-03-29", 1, 4, "LZ_AEN", "LZEW"],
  ["2024-03-29", 1, 4, "LZ_AEN", "LZEW", "abc", false],
  "oops",
  ["2024-03-29", 1, 4, "LZ_AEN", "LZEW", 3.71, true],
  {"deliveryDate": "2024-03-29", "deliveryHour": 2, "deliveryInterval": 1,
   "settlementPoint": "HB_BUSAVG", "settlementPointType": "SH", "settlementPointPrice": -1.5,
   "DSTFlag": false}
 ]}"#;
    let out = parse_text(Format::ErcotApi, doc);
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (6, 2, 4));
    assert_eq!(
        out.ticks
            .iter()
            .map(|t| (&*t.instrument_id, time(t.interval_start_ms), t.source.line))
            .collect::<Vec<_>>(),
        [
            ("ERCOT.RT.LZ_AEN/LZ", "2024-03-29T05:45:00Z".to_string(), 6),
            (
                "ERCOT.RT.HB_BUSAVG/SH",
                "2024-03-29T06:00:00Z".to_string(),
                11
            ),
        ]
    );
    use ErrorCode::*;
    assert_eq!(
        codes(&out),
        [
            ("ercot:7[1]".into(), 1, ParseError),
            ("ercot:8[2]".into(), 2, ValidationError),
            ("ercot:9[3]".into(), 3, ParseError),
            ("ercot:10[4]".into(), 4, ValidationError),
        ]
    );
    assert_eq!(
        out.dead[0].raw,
        br#"["2024-03-29", 1, 4, "LZ_AEN", "LZEW"]"#
    );

    // Truncated, non-UTF-8, not an API report: one PARSE_ERROR for the document.
    for bad in [
        &doc[..doc.len() / 2],
        b"{\"fields\": [], \"data\": [[\"\xff\"]]}".as_slice(),
        br#"{"statusCode": 401, "message": "Access denied"}"#.as_slice(),
        b"[1, 2]".as_slice(),
    ] {
        let out = parse_text(Format::ErcotApi, bad);
        assert_eq!((out.rows, out.ticks.len()), (1, 0));
        assert_eq!(codes(&out), [("ercot:1".into(), 0, ParseError)]);
    }
    let out = parse_text(Format::ErcotApi, b"  \n");
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (0, 0, 0));
}

#[test]
fn stand_alone_rows_csv_and_json() {
    let feed = feed();
    let doc = Document::whole(b"", &feed);
    let mut ctx = ParseCtx::default();
    let mut out = ParseOutput::default();
    // An API-named JSON object (envelope payload of ercot-api): the product comes from the fields.
    let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
        r#"{"deliveryDate":"2026-09-26","hourEnding":"24:00","settlementPoint":"LZ_HOUSTON","settlementPointPrice":32.82,"DSTFlag":false}"#,
    )
    .unwrap();
    parse_row(Format::ErcotApi, &Row::Json(&obj), &doc, &mut ctx, &mut out).unwrap();
    // A CSV line under its header (csv-line envelope).
    let cols = crate::parse::Columns::new(RT_HEADER.split(',').map(str::as_bytes));
    let rec = csv::ByteRecord::from(vec!["03/29/2024", "1", "4", "LZ_AEN", "LZEW", "3.71", "N"]);
    let row = Row::Csv {
        record: &rec,
        columns: &cols,
    };
    parse_row(Format::ErcotRt, &row, &doc, &mut ctx, &mut out).unwrap();
    assert_eq!(
        starts(&out),
        ["2026-09-27T04:00:00Z", "2024-03-29T05:45:00Z"]
    );
    assert_eq!(&*out.ticks[1].instrument_id, "ERCOT.RT.LZ_AEN/LZEW");
    // Neither product's fields and no product in the format.
    let obj: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(r#"{"deliveryDate":"2026-09-26","settlementPointPrice":1}"#).unwrap();
    let err = parse_row(Format::ErcotApi, &Row::Json(&obj), &doc, &mut ctx, &mut out).unwrap_err();
    assert_eq!(err.0, ErrorCode::ParseError);
}

#[test]
fn detected_from_content() {
    let Some(dir) = fixtures::dir() else { return };
    for (f, want) in [
        (
            "ercot/ercot_np6-905_rt_spp_cdr.00012301.0000000000000000.20240329.010211.SPPHLZNP6905_20240329_0100.csv",
            Format::ErcotRt,
        ),
        (
            "ercot/ercot_api_np4-190-cd_dam_spp_LZ_HOUSTON_20260926-27.json",
            Format::ErcotApi,
        ),
    ] {
        let bytes = std::fs::read(dir.join(f)).unwrap();
        assert_eq!(crate::parse::detect(&bytes, None), Ok(want), "{f}");
        assert_eq!(crate::parse::detect(&bytes, f.rsplit('/').next()), Ok(want), "{f}");
    }
    let dam = format!("{DAM_HEADER}\n03/29/2024,01:00,HB_NORTH,20,N\n");
    assert_eq!(
        crate::parse::detect(dam.as_bytes(), None),
        Ok(Format::ErcotDam)
    );
}

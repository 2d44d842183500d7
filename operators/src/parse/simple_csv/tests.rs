//! Exact-output tests of the simple-CSV parser.

use crate::model::render::time;
use crate::model::{DeadLetter, ErrorCode, FeedInfo, FeedKind, Market, QualityFlag, Tick};
use crate::parse::{parse_document, Document, Format, ParseCtx, ParseOutput};

fn feed() -> FeedInfo {
    FeedInfo {
        id: 0,
        display: "t.csv".into(),
        kind: FeedKind::File,
    }
}

fn run_doc(bytes: &[u8], header: Option<&[u8]>, first_line: u32) -> ParseOutput {
    let feed = feed();
    let mut doc = Document::whole(bytes, &feed);
    doc.header = header;
    doc.first_line = first_line;
    doc.format = Some(Format::SimpleCsv);
    let mut ctx = ParseCtx::default();
    let mut out = ParseOutput::default();
    parse_document(&doc, &mut ctx, &mut out);
    assert_eq!(
        out.rows as usize,
        out.ticks.len() + out.dead.len(),
        "accounting"
    );
    out
}

fn run(bytes: &str) -> ParseOutput {
    run_doc(bytes.as_bytes(), None, 1)
}

fn one_dead(out: &ParseOutput) -> &DeadLetter {
    assert_eq!((out.ticks.len(), out.dead.len()), (0, 1), "{:?}", out.dead);
    &out.dead[0]
}

fn lines(ticks: &[Tick]) -> Vec<u32> {
    ticks.iter().map(|t| t.source.line).collect()
}

#[test]
fn benchmark_shape_nodes_verbatim() {
    let out = run("ts_ms,node,price,volume\n1704067200010,MISO_NODE_001,33.6148,17\n1704067200020,PJM_NODE_002,-4.5,3\n");
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (2, 2, 0));
    let t = &out.ticks[0];
    assert_eq!(&*t.instrument_id, "MISO_NODE_001");
    assert_eq!(&*t.node, "MISO_NODE_001");
    assert_eq!(&*t.market_run, "");
    assert_eq!(t.market, Market::Other);
    assert_eq!(&*t.tenant_id, "default");
    assert_eq!(&*t.source_system, "simple-csv");
    assert_eq!(time(t.interval_start_ms), "2024-01-01T00:00:00.010Z");
    assert_eq!(t.interval_end_ms, t.interval_start_ms);
    assert_eq!(
        (t.price, t.volume, t.revision, t.version),
        (33.6148, Some(17.0), 0, 1)
    );
    assert!(t.trade_id.is_none() && t.components().is_empty());
    assert!(t.flags.contains(QualityFlag::Valid));
    assert!(out.ticks[1].flags.contains(QualityFlag::PriceNegative));
    assert_eq!(lines(&out.ticks), vec![2, 3]);
}

#[test]
fn instrument_ids_from_market_run_node() {
    let out = run(concat!(
        "ts,market,run,node,price\n",
        "2024-03-10T07:00:00Z,PJM,DA,WESTERN HUB,40\n",
        "2024-03-10T07:00:00Z,pjm,,WESTERN HUB,41\n",
        "2024-03-10T02:00:00-05:00,XYZ,RT5,N1,42\n",
        "2024-03-10T07:00:00.250+00:00,,,N2,20000\n",
    ));
    assert_eq!(out.dead.len(), 0, "{:?}", out.dead);
    let got: Vec<_> = out
        .ticks
        .iter()
        .map(|t| (&*t.instrument_id, t.market, &*t.market_run, &*t.node))
        .collect();
    assert_eq!(
        got,
        vec![
            ("PJM.DA.WESTERN HUB", Market::Pjm, "DA", "WESTERN HUB"),
            ("pjm.RT.WESTERN HUB", Market::Pjm, "RT", "WESTERN HUB"),
            ("XYZ.RT5.N1", Market::Other, "RT5", "N1"),
            ("N2", Market::Other, "", "N2"),
        ]
    );
    let times: Vec<_> = out
        .ticks
        .iter()
        .map(|t| time(t.interval_start_ms))
        .collect();
    assert_eq!(
        times,
        [
            "2024-03-10T07:00:00Z",
            "2024-03-10T07:00:00Z",
            "2024-03-10T07:00:00Z",
            "2024-03-10T07:00:00.250Z"
        ]
    );
    assert!(out.ticks[3].flags.contains(QualityFlag::OutOfRange));
    assert!(!out.ticks[3].flags.contains(QualityFlag::Valid));
}

#[test]
fn instrument_id_tenant_revision_trade() {
    let out = run(concat!(
        "instrument_id,node,market,ts_ms,price,tenant_id,revision,trade_id,volume\n",
        "CURVE.X,,PJM,1000,1.5,acme,3,T-1,\n",
        "CURVE.Y,BUS 7,,2000,2.5,,,,\n",
    ));
    assert_eq!(out.dead.len(), 0, "{:?}", out.dead);
    let (a, b) = (&out.ticks[0], &out.ticks[1]);
    assert_eq!(
        (&*a.instrument_id, &*a.node, &*a.market_run, a.market),
        ("CURVE.X", "CURVE.X", "RT", Market::Pjm)
    );
    assert_eq!(
        (&*a.tenant_id, a.revision, a.trade_id.as_deref()),
        ("acme", 3, Some("T-1"))
    );
    assert_eq!(a.volume, None);
    assert_eq!(
        (&*b.instrument_id, &*b.node, &*b.market_run, &*b.tenant_id),
        ("CURVE.Y", "BUS 7", "", "default")
    );
    assert_eq!((b.revision, b.trade_id.is_none()), (0, true));
}

#[test]
fn chunk_with_given_header_crlf_and_blank_lines() {
    let header = b"ts_ms,node,price\r\n";
    let chunk = b"5000,A,1\r\n\r\n   \r\n6000,B,2\r\n7000,A,3";
    let out = run_doc(chunk, Some(header), 101);
    assert_eq!((out.rows, out.ticks.len()), (3, 3));
    assert_eq!(lines(&out.ticks), vec![101, 104, 105]);
    assert_eq!(&*out.ticks[1].instrument_id, "B");
    assert_eq!(out.ticks[2].price, 3.0);
    // The same instrument resolves to one shared symbol.
    assert!(std::sync::Arc::ptr_eq(
        &out.ticks[0].instrument_id,
        &out.ticks[2].instrument_id
    ));
    // A chunk that repeats the given header is not a data row.
    let out = run_doc(b"ts_ms,node,price\n5000,A,1\n", Some(header), 1);
    assert_eq!((out.rows, out.ticks.len()), (1, 1));
    assert_eq!(lines(&out.ticks), vec![2]);
}

#[test]
fn quoted_fields_and_multiline_records() {
    let out = run(concat!(
        "\u{feff}\"ts_ms\",\"node\",\"price\"\n",
        "1000,\"A, \"\"quoted\"\" node\",\" 7.25 \"\n",
        "2000,\"line\nbreak\",8\n",
        "3000,C,9\n",
    ));
    assert_eq!(out.dead.len(), 0, "{:?}", out.dead);
    assert_eq!(&*out.ticks[0].node, "A, \"quoted\" node");
    assert_eq!(out.ticks[0].price, 7.25);
    assert_eq!(&*out.ticks[1].node, "line\nbreak");
    assert_eq!(lines(&out.ticks), vec![2, 3, 5]);
}

#[test]
fn every_malformed_line_is_a_dead_letter() {
    let doc = concat!(
        "ts_ms,node,price\n",
        "1000,A\n",                // 2 wrong field count
        "1000,A,1,extra\n",        // 3 wrong field count
        "1000,A,abc\n",            // 4 bad price
        "1000,A,NaN\n",            // 5 non-finite
        "1000,A,inf\n",            // 6 non-finite
        "1000,A,\n",               // 7 missing price
        "12:00,A,1\n",             // 8 bad time
        ",A,1\n",                  // 9 missing time
        "1000,,1\n",               // 10 missing instrument
        "1000,A\"B,\"1\n",         // 11 stray quote in a field, then an unbalanced quote
        "99999999999999999,A,1\n", // 12 time out of range
        "1000,OK,1\n",             // 13 good
    );
    let mut bytes = doc.as_bytes().to_vec();
    bytes.extend_from_slice(b"1000,\xff\xfe,1\n"); // 14 non-UTF-8
    let out = run_doc(&bytes, None, 1);
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (13, 1, 12));
    assert_eq!(out.ticks[0].source.line, 13);
    use ErrorCode::*;
    let got: Vec<_> = out
        .dead
        .iter()
        .map(|d| {
            (
                d.source.as_str(),
                d.error_code,
                String::from_utf8_lossy(&d.raw).to_string(),
            )
        })
        .collect();
    let want = [
        ("t.csv:2", ParseError, "1000,A"),
        ("t.csv:3", ParseError, "1000,A,1,extra"),
        ("t.csv:4", ValidationError, "1000,A,abc"),
        ("t.csv:5", ValidationError, "1000,A,NaN"),
        ("t.csv:6", ValidationError, "1000,A,inf"),
        ("t.csv:7", ValidationError, "1000,A,"),
        ("t.csv:8", ValidationError, "12:00,A,1"),
        ("t.csv:9", ValidationError, ",A,1"),
        ("t.csv:10", ValidationError, "1000,,1"),
        ("t.csv:11", ParseError, "1000,A\"B,\"1"),
        ("t.csv:12", ValidationError, "99999999999999999,A,1"),
        ("t.csv:14", ParseError, "1000,\u{fffd}\u{fffd},1"),
    ];
    for (g, w) in got.iter().zip(want.iter()) {
        assert_eq!((g.0, g.1, g.2.as_str()), *w);
    }
    assert_eq!(out.dead[0].issues, vec!["row has 2 fields, header has 3"]);
    assert_eq!(
        out.dead[2].issues,
        vec!["price: not a finite number: \"abc\""]
    );
    assert_eq!(out.dead[5].issues, vec!["missing price"]);
    assert_eq!(
        out.dead[8].issues,
        vec!["missing instrument (instrument_id or node)"]
    );
    assert_eq!(out.dead[11].raw, b"1000,\xff\xfe,1");
    assert!(out.dead.iter().all(|d| &*d.tenant_id == "default"));
}

#[test]
fn several_issues_are_all_reported() {
    let out = run("ts,node,price,volume,revision,tenant_id\nyesterday,,x,v,-1,t9\n");
    let d = one_dead(&out);
    assert_eq!(d.error_code, ErrorCode::ValidationError);
    assert_eq!(d.issues.len(), 5, "{:?}", d.issues);
    assert_eq!(&*d.tenant_id, "t9");
}

#[test]
fn missing_columns_reject_every_row() {
    let out = run("time,node,price\n1000,A,1\n2000,B,2\n");
    assert_eq!((out.rows, out.dead.len()), (2, 2));
    assert_eq!(out.dead[0].error_code, ErrorCode::ParseError);
    assert_eq!(
        out.dead[0].issues,
        vec!["missing required column ts_ms or ts"]
    );
    let out = run("ts_ms,price\n1000,1\n");
    assert_eq!(
        one_dead(&out).issues,
        vec!["missing required column instrument_id or node"]
    );
}

#[test]
fn empty_and_header_only_documents_have_no_rows() {
    for doc in ["", "\n\n  \n", "ts_ms,node,price\n", "ts_ms,node,price"] {
        let out = run(doc);
        assert_eq!(
            (out.rows, out.ticks.len(), out.dead.len()),
            (0, 0, 0),
            "{doc:?}"
        );
    }
    let out = run("ts_ms,node,price\n1,A,2");
    assert_eq!(out.ticks.len(), 1, "last line without a line break");
}

#[test]
fn detected_from_header() {
    let feed = feed();
    let bytes = b"ts_ms,node,price,volume\n1704067200010,N,1,2\n";
    let doc = Document::whole(bytes, &feed);
    let mut ctx = ParseCtx::default();
    let mut out = ParseOutput::default();
    parse_document(&doc, &mut ctx, &mut out);
    assert_eq!(out.ticks.len(), 1);
}

#[test]
fn unbalanced_quote_in_header_costs_only_the_header() {
    let out = run("ts_ms,\"node,price\n1000,A,1\n2000,B,2\n");
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (2, 0, 2));
    assert_eq!(out.dead[0].source, "t.csv:2");
    assert_eq!(out.dead[0].error_code, ErrorCode::ParseError);
}

#[test]
fn multiline_record_at_the_end_without_a_line_break() {
    let out = run("ts_ms,node,price\n1000,\"A\nB\",1");
    assert_eq!((out.rows, out.ticks.len()), (1, 1));
    assert_eq!(&*out.ticks[0].node, "A\nB");
    let out = run("ts_ms,node,price\n1000,\"A\nB,1");
    assert_eq!((out.rows, out.dead.len()), (2, 2), "{:?}", out.dead);
    assert_eq!(out.dead[0].raw, b"1000,\"A");
}

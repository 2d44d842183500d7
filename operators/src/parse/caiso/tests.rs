use crate::fixtures;
use crate::model::render::time;
use crate::model::{ErrorCode, FeedInfo, FeedKind, QualityFlag, Tick};
use crate::parse::{parse_as, Document, Format, ParseCtx, ParseOutput};

const DAM_HEADER: &str = "INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,OPR_DT,OPR_HR,OPR_INTERVAL,NODE_ID_XML,NODE_ID,NODE,MARKET_RUN_ID,LMP_TYPE,XML_DATA_ITEM,PNODE_RESMRID,GRP_TYPE,POS,MW,GROUP";

fn parse_text(text: &[u8]) -> ParseOutput {
    let feed = FeedInfo {
        id: 0,
        display: "caiso.csv".into(),
        kind: FeedKind::File,
    };
    let doc = Document::whole(text, &feed);
    let mut ctx = ParseCtx::default();
    let mut out = ParseOutput::default();
    parse_as(Format::CaisoOasis, &doc, &mut ctx, &mut out);
    out
}

/// A DAM row for node N at hour `h` (UTC 2020-01-02) of component `t` with value `v`.
fn row(node: &str, h: u32, t: &str, v: &str) -> String {
    format!(
        "2020-01-02T{h:02}:00:00-00:00,2020-01-02T{:02}:00:00-00:00,2020-01-01,22,0,{node},{node},{node},DAM,{t},LMP_PRC,{node},ALL_APNODES,0,{v},1",
        h + 1
    )
}

fn identity_exact(ticks: &[Tick]) {
    for t in ticks {
        let c = t.components();
        let sum =
            c.energy.unwrap() + c.congestion.unwrap() + c.loss.unwrap() + c.ghg.unwrap_or(0.0);
        // OASIS rounds every component to 5 decimals, so the published identity holds to one
        // unit in the last place (e.g. HASP -4.88685 = 30.61106 - 37.20294 + 1.70504 + 0.00001).
        assert!((t.price - sum).abs() <= 1.5e-5, "{t:?}");
        assert!(!t.flags.contains(QualityFlag::ComponentsMismatch));
    }
}

#[test]
fn dam_2020_subset_pivots() {
    let Some(out) = fixtures::parse("caiso/caiso_oasis_prc_lmp_dam_20200101_subset.csv") else {
        return;
    };
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (2144, 536, 0));
    assert_eq!(fixtures::observations(&out), 536);
    assert_eq!(
        fixtures::span(&out),
        ("2020-01-02T00:00:00Z".into(), "2020-01-02T23:00:00Z".into())
    );
    assert!(out.ticks.iter().all(|t| &*t.market_run == "DA"
        && t.interval_end_ms - t.interval_start_ms == 3_600_000
        && t.components().ghg.is_none()));
    // The first data row is AFPR_1_TOT_GEN-APND LMP at 05:00Z = 34.04259.
    let first = &out.ticks[0];
    assert_eq!(&*first.instrument_id, "CAISO.DA.AFPR_1_TOT_GEN-APND");
    assert_eq!(time(first.interval_start_ms), "2020-01-02T05:00:00Z");
    assert_eq!(first.price, 34.04259);
    assert_eq!(first.source.line, 2);
    assert_eq!(
        out.ticks
            .iter()
            .filter(|t| &*t.node == "SCEC_1_PDRP39-APND")
            .count(),
        8
    );
    identity_exact(&out.ticks);
}

#[test]
fn hasp_other_column_order() {
    let Some(out) = fixtures::parse("caiso/caiso_oasis_prc_hasp_lmp_20240312_20240314.csv") else {
        return;
    };
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (412, 103, 0));
    assert_eq!(fixtures::observations(&out), 103);
    assert_eq!(
        fixtures::span(&out),
        ("2024-03-12T19:15:00Z".into(), "2024-03-13T20:45:00Z".into())
    );
    assert!(out
        .ticks
        .iter()
        .all(|t| &*t.instrument_id == "CAISO.HASP.BAYSHOR2_1_N001"
            && t.interval_end_ms - t.interval_start_ms == 900_000));
    let t = out
        .ticks
        .iter()
        .find(|t| time(t.interval_start_ms) == "2024-03-12T20:00:00Z")
        .unwrap();
    assert_eq!(t.price, -4.88685);
    assert_eq!(
        out.ticks
            .iter()
            .filter(|t| t.flags.contains(QualityFlag::PriceNegative))
            .count(),
        10
    );
    identity_exact(&out.ticks);
}

#[test]
fn raw_singlezip_with_ghg() {
    let Some(out) =
        fixtures::parse("caiso/caiso_oasis_prc_lmp_dam_20240311_20240312_singlezip.zip")
    else {
        return;
    };
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (125, 25, 0));
    assert_eq!(fixtures::observations(&out), 25);
    assert_eq!(
        fixtures::span(&out),
        ("2024-03-12T06:00:00Z".into(), "2024-03-13T06:00:00Z".into())
    );
    assert!(out.ticks.iter().all(|t| t.components().ghg == Some(0.0)));
    identity_exact(&out.ticks);
}

#[test]
fn group_without_lmp_is_one_contract_violation_per_row() {
    let text = [
        DAM_HEADER.to_string(),
        row("A", 5, "MCE", "30"),
        row("B", 5, "LMP", "31"),
        row("A", 5, "MCC", "1"),
        row("B", 5, "MCE", "30"),
        row("A", 5, "MCL", "0.5"),
        row("B", 5, "MCE", "29"),
        row("A", 6, "LMP", "12.5"),
        String::new(),
    ]
    .join("\n");
    let out = parse_text(text.as_bytes());
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (7, 2, 4));
    let b = &out.ticks[0];
    assert_eq!(&*b.instrument_id, "CAISO.DA.B");
    assert_eq!(b.source.line, 3);
    assert_eq!(
        (b.price, b.components().energy, b.components().loss),
        (31.0, Some(30.0), None)
    );
    assert_eq!(out.ticks[1].components(), Default::default());
    let dead: Vec<(String, u32, ErrorCode)> = out
        .dead
        .iter()
        .map(|d| (d.source.clone(), d.index, d.error_code))
        .collect();
    assert_eq!(
        dead,
        vec![
            ("caiso.csv:2".into(), 0, ErrorCode::ContractViolation),
            ("caiso.csv:4".into(), 1, ErrorCode::ContractViolation),
            ("caiso.csv:6".into(), 2, ErrorCode::ContractViolation),
            ("caiso.csv:7".into(), 2, ErrorCode::ContractViolation),
        ]
    );
    assert!(out.dead[3].raw.starts_with(b"2020-01-02T05:00:00-00:00"));
}

#[test]
fn malformed_rows() {
    let text = [
        DAM_HEADER.to_string(),
        row("A", 5, "LMP", "NaN"),
        row("A", 5, "LMP", "abc"),
        row("A", 5, "XYZ", "1"),
        row("", 5, "LMP", "1"),
        row("A", 5, "LMP", "1").replace("2020-01-02T05:00:00-00:00", "2020-13-02T05:00:00-00:00"),
        "2020-01-02T05:00:00-00:00,2020-01-02T06:00:00-00:00,2020-01-01".to_string(),
        row("A\u{0}", 5, "LMP", "1").replace('\u{0}', "\u{1}"),
        row("A", 7, "LMP", "2"),
        String::new(),
    ]
    .join("\n");
    let mut bytes = text.into_bytes();
    // Make the node columns of line 8 non-UTF-8.
    for b in bytes.iter_mut().filter(|b| **b == 1) {
        *b = 0xff;
    }
    let out = parse_text(&bytes);
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (8, 1, 7));
    let codes: Vec<ErrorCode> = out.dead.iter().map(|d| d.error_code).collect();
    use ErrorCode::*;
    assert_eq!(
        codes,
        vec![
            ValidationError,
            ValidationError,
            ValidationError,
            ValidationError,
            ValidationError,
            ParseError,
            ParseError
        ]
    );
    // Rows that joined no group leave A at 05:00 without an LMP: nothing to pivot there.
    assert_eq!(time(out.ticks[0].interval_start_ms), "2020-01-02T07:00:00Z");
}

#[test]
fn missing_columns_and_odd_runs() {
    let out =
        parse_text(b"INTERVALSTARTTIME_GMT,NODE,LMP_TYPE,MW\n2020-01-02T05:00:00-00:00,A,LMP,1\n");
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (1, 0, 1));
    assert_eq!(out.dead[0].error_code, ErrorCode::ParseError);
    let text = "INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,NODE,MARKET_RUN_ID,XML_DATA_ITEM,VALUE\n\
2024-03-12T06:00:00-00:00,2024-03-12T06:05:00-00:00,N1,RTM,LMP_PRC,10\n\
2024-03-12T06:00:00Z,2024-03-12T06:05:00Z,N1,RTM,LMP_ENE_PRC,9\n\
2024-03-12T06:00:00-00:00,2024-03-12T06:15:00-00:00,N1,rtpd,LMP_PRC,11\n\
2024-03-12T06:00:00-00:00,2024-03-12T07:00:00-00:00,N1,ruc,LMP_PRC,12\n";
    let out = parse_text(text.as_bytes());
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (4, 3, 0));
    let ids: Vec<&str> = out.ticks.iter().map(|t| &*t.instrument_id).collect();
    assert_eq!(ids, ["CAISO.RT.N1", "CAISO.RTPD.N1", "CAISO.RUC.N1"]);
    assert_eq!(out.ticks[0].components().energy, Some(9.0));
    let out = parse_text(b"");
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (0, 0, 0));
}

#[test]
fn detected_from_content() {
    let Some(dir) = fixtures::dir() else { return };
    for f in [
        "caiso/caiso_oasis_prc_lmp_dam_20200101_subset.csv",
        "caiso/caiso_oasis_prc_hasp_lmp_20240312_20240314.csv",
        "caiso/caiso_oasis_prc_lmp_dam_20240311_20240312_singlezip.zip",
    ] {
        let bytes = std::fs::read(dir.join(f)).unwrap();
        assert_eq!(
            crate::parse::detect(&bytes, None),
            Ok(Format::CaisoOasis),
            "{f}"
        );
        assert_eq!(
            crate::parse::detect(&bytes, f.rsplit('/').next()),
            Ok(Format::CaisoOasis),
            "{f}"
        );
    }
}

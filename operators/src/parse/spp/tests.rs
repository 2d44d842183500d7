use crate::fixtures;
use crate::model::render::time;
use crate::model::{ErrorCode, FeedInfo, FeedKind, QualityFlag};
use crate::parse::{parse_as, Document, Format, ParseCtx, ParseOutput};

fn parse_text(format: Format, text: &[u8]) -> ParseOutput {
    let feed = FeedInfo {
        id: 0,
        display: "spp.csv".into(),
        kind: FeedKind::File,
    };
    let doc = Document::whole(text, &feed);
    let mut ctx = ParseCtx::default();
    let mut out = ParseOutput::default();
    parse_as(format, &doc, &mut ctx, &mut out);
    out
}

fn identity_holds(out: &ParseOutput) {
    for t in &out.ticks {
        let c = t.components();
        let sum = c.energy.unwrap() + c.congestion.unwrap() + c.loss.unwrap();
        assert!((t.price - sum).abs() <= 0.0003 + 1e-9, "{t:?}");
        assert!(!t.flags.contains(QualityFlag::ComponentsMismatch));
    }
}

#[test]
fn rtbm_daily_with_leading_spaces() {
    let Some(out) = fixtures::parse("spp/spp_RTBM-LMP-DAILY-SL-20250701_excerpt.csv") else {
        return;
    };
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (69, 69, 0));
    assert_eq!(fixtures::observations(&out), 69);
    assert_eq!(
        fixtures::span(&out),
        ("2025-07-01T05:00:00Z".into(), "2025-07-01T06:50:00Z".into())
    );
    let first = &out.ticks[0];
    assert_eq!(&*first.instrument_id, "SPP.RT.AEC");
    assert_eq!(time(first.interval_start_ms), "2025-07-01T05:00:00Z");
    assert_eq!(time(first.interval_end_ms), "2025-07-01T05:05:00Z");
    assert_eq!(first.price, 24.3625);
    assert_eq!(first.components().energy, Some(24.0822));
    assert_eq!(first.components().congestion, Some(0.0001));
    assert_eq!(first.components().loss, Some(0.2802));
    assert_eq!(first.source.line, 2);
    identity_holds(&out);
}

#[test]
fn rtbm_interval_file_with_baa_last() {
    let Some(out) = fixtures::parse("spp/spp_RTBM-LMP-SL-202606011205_excerpt.csv") else {
        return;
    };
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (6, 6, 0));
    assert_eq!(fixtures::observations(&out), 6);
    assert_eq!(
        fixtures::span(&out),
        ("2026-06-01T17:00:00Z".into(), "2026-06-01T17:00:00Z".into())
    );
    assert!(out.ticks.iter().all(|t| &*t.market_run == "RT"));
    let ciso = out
        .ticks
        .iter()
        .find(|t| &*t.instrument_id == "SPP.RT.CISO")
        .unwrap();
    assert_eq!(ciso.price, -6.7054);
    assert!(ciso.flags.contains(QualityFlag::PriceNegative));
    identity_holds(&out);
}

#[test]
fn day_ahead_unpadded_stamps_and_baa_third() {
    let Some(out) = fixtures::parse("spp/spp_DA-LMP-SL-202606010100_excerpt.csv") else {
        return;
    };
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (12, 12, 0));
    assert_eq!(fixtures::observations(&out), 12);
    assert_eq!(
        fixtures::span(&out),
        ("2026-06-01T05:00:00Z".into(), "2026-06-01T06:00:00Z".into())
    );
    assert!(out
        .ticks
        .iter()
        .all(|t| t.interval_end_ms - t.interval_start_ms == 3_600_000));
    let ciso = &out.ticks[1];
    assert_eq!(&*ciso.instrument_id, "SPP.DA.CISO");
    assert_eq!(ciso.price, 26.721);
    assert_eq!(ciso.components().congestion, Some(-0.005));
    identity_holds(&out);
}

#[test]
fn malformed_rows_become_dead_letters() {
    let text = b"Interval,GMTIntervalEnd,Settlement Location,Pnode,LMP,MLC,MCC,MEC,BAA\n\
06/01/2026 12:05:00,06/01/2026 17:05:00,AEC,SOUC,30.8669,0.3004,1.0656,29.5009,SPP\n\
06/01/2026 12:05:00,06/01/2026 17:05:00,AEC,SOUC,NaN,0.3004,1.0656,29.5009,SPP\n\
06/01/2026 12:05:00,13/01/2026 17:05:00,AEC,SOUC,1,0,0,1,SPP\n\
06/01/2026 12:05:00,06/01/2026 17:05:00,,SOUC,1,0,0,1,SPP\n\
06/01/2026 12:05:00,06/01/2026 17:05:00,AEC,SOUC,1,abc,0,1,SPP\n\
06/01/2026 12:05:00,06/01/2026 17:05:00,AEC\n\
06/01/2026 12:05:00,06/01/2026 17:05:00,A\xffC,SOUC,1,0,0,1,SPP\n\
06/01/2026 12:05:00,06/01/2026 17:05:00,AEC,SOUC,,0,0,1,SPP\n";
    let out = parse_text(Format::SppRtbm, text);
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (8, 1, 7));
    let codes: Vec<(u32, ErrorCode)> = out
        .dead
        .iter()
        .map(|d| {
            let line = d.source.rsplit(':').next().unwrap().parse().unwrap();
            (line, d.error_code)
        })
        .collect();
    assert_eq!(
        codes,
        vec![
            (3, ErrorCode::ValidationError),
            (4, ErrorCode::ValidationError),
            (5, ErrorCode::ValidationError),
            (6, ErrorCode::ValidationError),
            (7, ErrorCode::ParseError),
            (8, ErrorCode::ParseError),
            (9, ErrorCode::ValidationError),
        ]
    );
    assert!(out.dead[0]
        .raw
        .starts_with(b"06/01/2026 12:05:00,06/01/2026 17:05:00,AEC,SOUC,NaN"));
}

#[test]
fn missing_columns_and_local_fallback() {
    let out = parse_text(
        Format::SppDa,
        b"Interval,Settlement Location,Price\n6/1/2026 01:00,AEC,1\n",
    );
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (1, 0, 1));
    assert_eq!(out.dead[0].error_code, ErrorCode::ParseError);
    assert!(out.dead[0].error_message.contains("LMP"));
    // Without a GMT column the Central-prevailing interval end is used; the fold is ambiguous.
    let out = parse_text(
        Format::SppDa,
        b"Interval,Settlement Location,LMP\n6/1/2026 01:00,AEC,1\n11/1/2026 01:00,AEC,1\n11/1/2026 03:00,AEC,1\n",
    );
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (3, 2, 1));
    assert_eq!(time(out.ticks[0].interval_start_ms), "2026-06-01T05:00:00Z");
    assert_eq!(time(out.ticks[1].interval_start_ms), "2026-11-01T08:00:00Z");
    assert_eq!(out.dead[0].error_code, ErrorCode::ValidationError);
    // An empty document has no rows.
    let out = parse_text(Format::SppRtbm, b"");
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (0, 0, 0));
}

#[test]
fn stand_alone_json_row() {
    let feed = FeedInfo {
        id: 0,
        display: "t".into(),
        kind: FeedKind::File,
    };
    let doc = Document::whole(b"", &feed);
    let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
        r#"{" GMTIntervalEnd":"06/01/2026 17:05:00","Settlement Location":"AEC","LMP":30.8669,"MEC":29.5009,"MCC":1.0656,"MLC":0.3004}"#,
    )
    .unwrap();
    let mut ctx = ParseCtx::default();
    let mut out = ParseOutput::default();
    crate::parse::parse_row(
        Format::SppRtbm,
        &crate::parse::Row::Json(&obj),
        &doc,
        &mut ctx,
        &mut out,
    )
    .unwrap();
    assert_eq!(time(out.ticks[0].interval_start_ms), "2026-06-01T17:00:00Z");
    assert_eq!(&*out.ticks[0].instrument_id, "SPP.RT.AEC");
}

#[test]
fn detected_from_content() {
    let Some(dir) = fixtures::dir() else { return };
    for (f, want) in [
        (
            "spp/spp_RTBM-LMP-DAILY-SL-20250701_excerpt.csv",
            Format::SppRtbm,
        ),
        (
            "spp/spp_RTBM-LMP-SL-202606011205_excerpt.csv",
            Format::SppRtbm,
        ),
        ("spp/spp_DA-LMP-SL-202606010100_excerpt.csv", Format::SppDa),
    ] {
        let bytes = std::fs::read(dir.join(f)).unwrap();
        assert_eq!(crate::parse::detect(&bytes, None), Ok(want), "{f}");
        assert_eq!(
            crate::parse::detect(&bytes, f.rsplit('/').next()),
            Ok(want),
            "{f}"
        );
    }
    // A full day-ahead file lists many locations per hour before the second hour starts.
    let mut da =
        String::from("Interval,GMTIntervalEnd,BAA,Settlement Location,Pnode,LMP,MLC,MCC,MEC\n");
    for h in 1..=2 {
        for n in 0..40 {
            da.push_str(&format!(
                "6/1/2026 {h:02}:00,6/1/2026 {:02}:00,SPP,L{n},P{n},20,0,0,20\n",
                h + 5
            ));
        }
    }
    assert_eq!(crate::parse::detect(da.as_bytes(), None), Ok(Format::SppDa));
    let out = parse_text(Format::SppDa, da.as_bytes());
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (80, 80, 0));
}

//! Tests of the NYISO parser: the real MIS files and hand-made DST, OASIS and malformed documents.

use super::super::checks::{assert_identity, parse_bytes};
use super::super::Format;
use crate::fixtures;
use crate::model::render::time;
use crate::model::ErrorCode;

const MIS_HEADER: &str = "\"Time Stamp\",\"Name\",\"PTID\",\"LBMP ($/MWHr)\",\"Marginal Cost Losses ($/MWHr)\",\"Marginal Cost Congestion ($/MWHr)\"\n";

fn starts(out: &super::ParseOutput) -> Vec<String> {
    out.ticks
        .iter()
        .map(|t| time(t.interval_start_ms))
        .collect()
}

#[test]
fn day_ahead_fixture() {
    let Some(out) = fixtures::parse("nyiso/nyiso_20220718damlbmp_zone.csv") else {
        return;
    };
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (360, 360, 0));
    assert_eq!(fixtures::observations(&out), 360);
    assert_eq!(
        fixtures::span(&out),
        ("2022-07-18T04:00:00Z".into(), "2022-07-19T03:00:00Z".into())
    );
    assert_identity(&out);
    let t = &out.ticks[0];
    assert_eq!(&*t.instrument_id, "NYISO.DA.CAPITL");
    assert_eq!(time(t.interval_start_ms), "2022-07-18T04:00:00Z");
    assert_eq!(time(t.interval_end_ms), "2022-07-18T05:00:00Z");
    assert_eq!(t.price, 72.06);
    assert_eq!(t.components().loss, Some(5.27));
    // Published congestion 0.75 is negated; implied energy 72.06 - 5.27 + 0.75.
    assert_eq!(t.components().congestion, Some(-0.75));
    assert_eq!(t.components().energy, Some(67.54));
    assert_eq!(t.source.line, 2);
}

#[test]
fn real_time_fixture_keeps_off_grid_reruns() {
    let Some(out) = fixtures::parse("nyiso/nyiso_20220718realtime_zone.csv") else {
        return;
    };
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (4575, 4575, 0));
    assert_eq!(fixtures::observations(&out), 4575);
    assert_eq!(
        fixtures::span(&out),
        ("2022-07-18T04:00:00Z".into(), "2022-07-19T03:55:00Z".into())
    );
    assert_identity(&out);
    assert!(out
        .ticks
        .iter()
        .all(|t| t.interval_end_ms - t.interval_start_ms == 300_000
            && t.instrument_id.starts_with("NYISO.RT.")));
    // Off-grid stamp 00:15:12 EDT ends at 04:15:12Z and starts 5 minutes earlier.
    let s = starts(&out);
    assert!(s.iter().any(|x| x == "2022-07-18T04:10:12Z"));
    // Implied energy agrees across zones within 0.02 in every interval.
    let mut by_stamp: std::collections::BTreeMap<i64, Vec<f64>> = Default::default();
    for t in &out.ticks {
        by_stamp
            .entry(t.interval_end_ms)
            .or_default()
            .push(t.components().energy.unwrap_or(f64::NAN));
    }
    for (end, es) in by_stamp {
        let (lo, hi) = es
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), e| (a.min(*e), b.max(*e)));
        assert!(hi - lo <= 0.02 + 1e-9, "{} spread {}", time(end), hi - lo);
    }
}

#[test]
fn pyiso_excerpt_with_leading_blank_line_and_no_final_newline() {
    let Some(out) = fixtures::parse("nyiso/nyiso_realtime_zone_20160218_pyiso_excerpt.csv") else {
        return;
    };
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (45, 45, 0));
    assert_eq!(fixtures::observations(&out), 45);
    assert_eq!(
        fixtures::span(&out),
        ("2016-02-18T05:10:00Z".into(), "2016-02-18T05:40:00Z".into())
    );
    assert_eq!(out.ticks[0].source.line, 3);
    assert_eq!(&*out.ticks[44].node, "WEST");
}

fn rt_fall_back(stamps: &[&str]) -> super::ParseOutput {
    let mut doc = String::from(MIS_HEADER);
    for s in stamps {
        doc.push_str(&format!(
            "\"11/03/2024 {s}\",\"CAPITL\",61757,30.00,1.00,0.50\n"
        ));
        doc.push_str(&format!(
            "\"11/03/2024 {s}\",\"WEST\",61752,28.00,0.50,0.00\n"
        ));
    }
    parse_bytes(Some(Format::NyisoRt), doc.as_bytes())
}

fn fall_back_stamps(repeated: &[&str], tail: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["00:55:00", "01:00:00"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for m in (5..=55).step_by(5) {
        v.push(format!("01:{m:02}:00"));
    }
    v.extend(repeated.iter().map(|s| s.to_string()));
    for m in (5..=55).step_by(5) {
        v.push(format!("01:{m:02}:00"));
    }
    v.extend(tail.iter().map(|s| s.to_string()));
    v
}

fn assert_fall_back_day(out: &super::ParseOutput) {
    assert_eq!(out.dead.len(), 0, "{:?}", out.dead);
    assert_eq!(out.ticks.len(), 2 * 27);
    assert_eq!(fixtures::observations(out), 2 * 27);
    let capitl: Vec<String> = out
        .ticks
        .iter()
        .filter(|t| &*t.node == "CAPITL")
        .map(|t| time(t.interval_end_ms))
        .collect();
    // Ends run every 5 minutes from 04:55Z to 07:05Z without a gap or a repeat.
    let expect: Vec<String> = (0..27)
        .map(|i| time(1_730_609_700_000 + i * 300_000))
        .collect();
    assert_eq!(capitl, expect);
    assert_eq!(expect[0], "2024-11-03T04:55:00Z");
}

#[test]
fn fall_back_repeated_stamps_with_either_labelling() {
    // Labelled by the wall clock at the end instant: 01:00 repeats, 02:00 once.
    let a = fall_back_stamps(&["01:00:00"], &["02:00:00", "02:05:00"]);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    assert_fall_back_day(&rt_fall_back(&a));
    // Labelled by the hour the interval ends: 01:05..02:00 repeat.
    let mut b: Vec<String> = ["00:55:00", "01:00:00"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for _ in 0..2 {
        for m in (5..=55).step_by(5) {
            b.push(format!("01:{m:02}:00"));
        }
        b.push("02:00:00".into());
    }
    b.push("02:05:00".into());
    let b: Vec<&str> = b.iter().map(String::as_str).collect();
    assert_fall_back_day(&rt_fall_back(&b));
}

#[test]
fn fall_back_day_ahead_hour_repeats() {
    let mut doc = MIS_HEADER.replace('"', "");
    for h in ["00:00", "01:00", "01:00", "02:00"] {
        doc.push_str(&format!("11/03/2024 {h},CAPITL,61757,30.00,1.00,0.50\n"));
    }
    let out = parse_bytes(Some(Format::NyisoDa), doc.as_bytes());
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
fn spring_gap_is_a_validation_error() {
    let doc = format!(
        "{MIS_HEADER}\"03/10/2024 01:55:00\",\"CAPITL\",61757,30.00,1.00,0.50\n\
         \"03/10/2024 02:30:00\",\"CAPITL\",61757,30.00,1.00,0.50\n\
         \"03/10/2024 03:05:00\",\"CAPITL\",61757,30.00,1.00,0.50\n"
    );
    let out = parse_bytes(Some(Format::NyisoRt), doc.as_bytes());
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (3, 2, 1));
    assert_eq!(out.dead[0].error_code, ErrorCode::ValidationError);
    assert_eq!(out.dead[0].source, "t.csv:3");
    assert!(out.dead[0].error_message.contains("non-existent"));
    assert_eq!(
        starts(&out),
        ["2024-03-10T06:50:00Z", "2024-03-10T07:00:00Z"]
    );
}

#[test]
fn oasis_rtd_and_rtc() {
    let rtd = "\"RTD End Time Stamp\",\"Zone Name\",\"Zone PTID\",\"RTD Zonal LBMP\",\"RTD Zonal Losses\",\"RTD Zonal Congestion\",\"RTD Zonal Price Version\"\n\
               \"2024/07/01 00:05:00\",\"N.Y.C.\",\"61761\",\"40.50\",\"2.50\",\"-3.00\",\"1\"\n";
    let out = parse_bytes(None, rtd.as_bytes());
    assert_eq!((out.ticks.len(), out.dead.len()), (1, 0));
    let t = &out.ticks[0];
    assert_eq!(&*t.instrument_id, "NYISO.RT.N.Y.C.");
    assert_eq!(time(t.interval_start_ms), "2024-07-01T04:00:00Z");
    assert_eq!(time(t.interval_end_ms), "2024-07-01T04:05:00Z");
    assert_eq!(t.components().congestion, Some(3.0));
    assert_eq!(t.components().energy, Some(35.0));
    assert_eq!(t.revision, 1);
    assert_identity(&out);

    let rtc = "\"RTC Execution Time Stamp\",\"RTC End Time Stamp\",\"RTC Timestep\",\"Zone Name\",\"Zone PTID\",\"RTC Zonal LBMP\",\"RTC Zonal Losses\",\"RTC Zonal Congestion\"\n\
               \"2024/07/01 00:00:00\",\"2024/07/01 00:15:00\",\"1\",\"WEST\",\"61752\",\"20\",\"1\",\"0\"\n";
    let out = parse_bytes(None, rtc.as_bytes());
    assert_eq!((out.ticks.len(), out.dead.len()), (1, 0));
    let t = &out.ticks[0];
    assert_eq!(&*t.instrument_id, "NYISO.RTC.WEST");
    assert_eq!(time(t.interval_start_ms), "2024-07-01T04:00:00Z");
    assert_eq!(time(t.interval_end_ms), "2024-07-01T04:15:00Z");
}

#[test]
fn malformed_rows_become_dead_letters() {
    let mut doc = MIS_HEADER.as_bytes().to_vec();
    doc.extend_from_slice(
        b"\"07/18/2022 00:05:00\",\"CAPITL\",61757,abc,6.43,1.32\n\
          \"07/18/2022 00:05:00\",\"CENTRL\",61754,NaN,1.37,0.00\n\
          \"07/18/2022 00:05:00\",\"DUNWOD\",61760,81.21,7.65\n\
          \"13/45/2022 00:05:00\",\"GENESE\",61753,70.00,1.00,0.00\n\
          \"07/18/2022 00:05:00\",\"\",61753,70.00,1.00,0.00\n\
          \"07/18/2022 00:05:00\",\"H\xffQ\",61844,70.00,1.00,0.00\n\
          \"07/18/2022 00:05:00\",\"WEST\",61752,,1.00,0.00\n\
          \"07/18/2022 00:05:00\",\"NPX\",61845,70.00,x,0.00\n\
          \"07/18/2022 00:05:00\",\"O H\",61846,70.00,1.00,0.00",
    );
    let out = parse_bytes(Some(Format::NyisoRt), &doc);
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (9, 1, 8));
    let codes: Vec<_> = out.dead.iter().map(|d| d.error_code).collect();
    use ErrorCode::{ParseError as P, ValidationError as V};
    assert_eq!(codes, [V, V, P, V, V, P, V, V]);
    assert_eq!(
        out.dead[0].raw,
        b"\"07/18/2022 00:05:00\",\"CAPITL\",61757,abc,6.43,1.32"
    );
    assert_eq!(&*out.ticks[0].node, "O H");
}

#[test]
fn missing_columns_and_empty_documents() {
    let doc = "Time Stamp,Name,PTID\n07/18/2022 00:00,CAPITL,61757\n";
    let out = parse_bytes(Some(Format::NyisoDa), doc.as_bytes());
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (1, 0, 1));
    assert_eq!(out.dead[0].error_code, ErrorCode::ParseError);
    assert!(out.dead[0].error_message.contains("LBMP"));
    let out = parse_bytes(Some(Format::NyisoRt), b"");
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (0, 0, 0));
    let out = parse_bytes(Some(Format::NyisoRt), MIS_HEADER.as_bytes());
    assert_eq!((out.rows, out.ticks.len(), out.dead.len()), (0, 0, 0));
}

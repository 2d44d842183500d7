//! Property tests over every parser: random bytes and mutations of small valid documents
//! (truncation, byte flips, inserted NUL / quotes / line breaks / non-finite numbers, huge
//! lines) never panic, and every record is accounted for.
//!
//! Invariants checked on every run:
//! - every dead letter has a reason and at most 64 KiB of raw bytes; every tick has a finite
//!   price, `interval_end >= interval_start` and an instrument;
//! - a document with rows counted has outcomes (`rows > 0` ⇒ ticks + dead letters > 0);
//! - header-then-rows formats: a header and at least one more non-blank line ⇒ at least one
//!   outcome; envelopes: any non-blank line ⇒ at least one outcome;
//! - simple CSV and envelopes: every counted row is exactly one tick or one dead letter;
//! - without a hint, non-blank input always yields an outcome unless its detected format
//!   legitimately has no data row.

use operators::model::{FeedInfo, FeedKind, RAW_EVENT_MAX_BYTES};
use operators::parse::{detect, parse_as, parse_document, Document, Format, ParseCtx, ParseOutput};
use proptest::prelude::*;
use proptest::test_runner::Config;

fn seeds(format: Format) -> &'static [&'static str] {
    match format {
        Format::PjmDa => &["datetime_beginning_utc,datetime_beginning_ept,pnode_id,pnode_name,voltage,equipment,type,zone,system_energy_price_da,total_lmp_da,congestion_price_da,marginal_loss_price_da,row_is_current,version_nbr\r\n5/1/2025 4:00:00 AM,5/1/2025 12:00:00 AM,51217,EASTERN HUB,,,HUB,,30.98,24.966949,-6.094939,0.081888,True,1\r\n5/1/2025 5:00:00 AM,5/1/2025 1:00:00 AM,51217,EASTERN HUB,,,HUB,,29.1,28.5,-0.5,-0.1,True,1\r\n"],
        Format::PjmRt => &["datetime_beginning_utc,datetime_beginning_ept,pnode_id,pnode_name,voltage,equipment,type,zone,system_energy_price_rt,total_lmp_rt,congestion_price_rt,marginal_loss_price_rt,row_is_current,version_nbr\r\n11/3/2024 5:00:00 AM,11/3/2024 1:00:00 AM,1,PJM-RTO,,,ZONE,,20,21,0.5,0.5,False,1\r\n11/3/2024 6:00:00 AM,11/3/2024 1:00:00 AM,1,PJM-RTO,,,ZONE,,20,21,0.5,0.5,True,2\r\n"],
        Format::PjmRt5 => &["datetime_beginning_utc,datetime_beginning_ept,pnode_id,pnode_name,system_energy_price_rt,total_lmp_rt,congestion_price_rt,marginal_loss_price_rt,row_is_current,version_nbr\r\n5/1/2025 4:05:00 AM,5/1/2025 12:05:00 AM,1,PJM-RTO,20,21,0.5,0.5,True,1\r\n"],
        Format::NyisoDa => &["Time Stamp,Name,PTID,LBMP ($/MWHr),Marginal Cost Losses ($/MWHr),Marginal Cost Congestion ($/MWHr)\n07/18/2022 00:00,CAPITL,61757,72.06,5.27,0.75\n07/18/2022 01:00,CENTRL,61754,69.10,1.55,0.00\n"],
        Format::NyisoRt => &["\"Time Stamp\",\"Name\",\"PTID\",\"LBMP ($/MWHr)\",\"Marginal Cost Losses ($/MWHr)\",\"Marginal Cost Congestion ($/MWHr)\"\n\"07/18/2022 00:05:00\",\"CAPITL\",61757,77.34,6.43,1.32\n\"07/18/2022 00:10:00\",\"CENTRL\",61754,73.61,1.37,0.00\n"],
        Format::NyisoOasis => &["\"RTD End Time Stamp\",\"Zone Name\",\"Zone PTID\",\"RTD Zonal LBMP\",\"RTD Zonal Losses\",\"RTD Zonal Congestion\"\n\"2024/11/03 01:05:00\",\"CAPITL\",\"61757\",\"30.1\",\"1.2\",\"-0.5\"\n\"2024/11/03 01:10:00\",\"CAPITL\",\"61757\",\"31.1\",\"1.2\",\"-0.5\"\n"],
        Format::IsoneDa => &["\"C\",\"Day-Ahead Energy Market Hourly LMP Report\"\n\"H\",\"Date\",\"Hour Ending\",\"Location ID\",\"Location Name\",\"Location Type\",\"Locational Marginal Price\",\"Energy Component\",\"Congestion Component\",\"Marginal Loss Component\"\n\"D\",\"06/04/2026\",\"01\",4000,\".H.INTERNAL_HUB\",\"HUB\",30.5,30.1,0.2,0.2\n\"D\",\"06/04/2026\",\"02X\",4000,\".H.INTERNAL_HUB\",\"HUB\",30.5,30.1,0.2,0.2\n\"T\",\"Total\",2\n"],
        Format::IsoneRt => &["\"C\",\"Real-Time Energy Market Hourly Final LMP Report\"\n\"H\",\"Date\",\"Hour Ending\",\"Location ID\",\"Location Name\",\"Location Type\",\"Locational Marginal Price\",\"Energy Component\",\"Congestion Component\",\"Marginal Loss Component\"\n\"D\",\"11/03/2024\",\"02\",4000,\".H.INTERNAL_HUB\",\"HUB\",30.5,30.1,0.2,0.2\n"],
        Format::MisoDa => &["Day Ahead Market LMPs\n05/07/2013\n\n,,,All Hours-Ending are Eastern Standard Time (EST)\nNode,Type,Value,HE 1,HE 2,HE 3\nAECI,Interface,LMP,25.1,24.2,23.3\nAECI,Interface,MCC,0.1,0.2,0.3\nAECI,Interface,MLC,0.5,0.4,0.3\n"],
        Format::MisoRt => &["Realtime Market LMPs\n5/8/2013\n\n,,,All Hours-Ending are Eastern Standard Time (EST)\nNode,Type,Value,HE 1,HE 2\nAECI,Interface,LMP,25.1,24.2\n"],
        Format::CaisoOasis => &["INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,OPR_DT,OPR_HR,NODE_ID_XML,NODE_ID,NODE,MARKET_RUN_ID,LMP_TYPE,XML_DATA_ITEM,PNODE_RESMRID,GRP_TYPE,POS,MW,OPR_INTERVAL,GROUP\n2024-03-12T20:00:00-00:00,2024-03-12T20:15:00-00:00,2024-03-12,14,N1,N1,N1,HASP,LMP,LMP_PRC,N1,ALL,1,-4.88685,1,1\n2024-03-12T20:00:00-00:00,2024-03-12T20:15:00-00:00,2024-03-12,14,N1,N1,N1,HASP,MCE,LMP_ENE_PRC,N1,ALL,1,-4.5,1,1\n"],
        Format::ErcotRt => &["DeliveryDate,DeliveryHour,DeliveryInterval,SettlementPointName,SettlementPointType,SettlementPointPrice,DSTFlag\n03/29/2024,1,4,AEEC,RN,-5.15,N\n11/03/2024,2,1,LZ_AEN,LZ,20.5,Y\n"],
        Format::ErcotDam => &["DeliveryDate,HourEnding,SettlementPoint,SettlementPointPrice,DSTFlag\n09/26/2026,01:00,LZ_HOUSTON,25.5,N\n09/26/2026,24:00,LZ_HOUSTON,26.5,N\n"],
        Format::ErcotApi => &["{\"_meta\":{\"totalRecords\":2},\"fields\":[{\"name\":\"deliveryDate\"},{\"name\":\"hourEnding\"},{\"name\":\"settlementPoint\"},{\"name\":\"settlementPointPrice\"},{\"name\":\"DSTFlag\"}],\"data\":[[\"2026-09-26\",\"01:00\",\"LZ_HOUSTON\",25.5,false],[\"2026-09-26\",\"02:00\",\"LZ_HOUSTON\",26.5,false]]}"],
        Format::SppRtbm => &["Interval, GMT Interval, Settlement Location Name, PNODE Name, LMP, MLC, MCC, MEC\n07/01/2025 00:05:00,07/01/2025 05:05:00,AEC,SOUC,24.3625,0.2802,0.0001,24.0822\n07/01/2025 00:10:00,07/01/2025 05:10:00,AEC,SOUC,24.1314,0.3142,0.0001,23.8171\n"],
        Format::SppDa => &["Interval,GMTIntervalEnd,BAA,Settlement Location,Pnode,LMP,MLC,MCC,MEC\n6/1/2026 01:00,6/1/2026 06:00,SPP,AEC,SOUC,23.0201,0.9433,4.6205,17.4563\n6/1/2026 02:00,6/1/2026 07:00,SPP,AEC,SOUC,23.0201,0.9433,4.6205,17.4563\n"],
        Format::Envelope => &["{\"event_id\":\"e1\",\"trace_id\":\"t\",\"producer\":\"p\",\"occurred_at\":1714536000,\"ingested_at\":1714536000000,\"payload\":{\"source_system\":\"s\",\"market\":\"PJM\",\"symbol\":\"X\",\"received_at\":\"2024-05-01T04:00:00Z\",\"raw_payload\":\"{\\\"datetime_beginning_utc\\\":\\\"5/1/2025 4:00:00 AM\\\",\\\"pnode_name\\\":\\\"X\\\",\\\"total_lmp_da\\\":1.5}\",\"encoding\":\"json\"}}\n{\"event_id\":\"e2\",\"trace_id\":\"t\",\"producer\":\"p\",\"occurred_at\":1714536000,\"ingested_at\":1714536000000,\"payload\":{\"source_system\":\"s\",\"market\":\"ERCOT\",\"symbol\":\"X\",\"received_at\":1714536000000000,\"raw_payload\":\"1000,N,2.5\",\"encoding\":\"csv-line\",\"metadata\":{\"columns\":[\"ts_ms\",\"node\",\"price\"]}}}\n"],
        Format::SimpleCsv => &[
            "ts_ms,node,price,volume\n1704067200010,MISO_NODE_001,33.6148,17\n1704067200020,PJM_NODE_002,31.2,3\n",
            "ts,market,run,node,price,tenant_id,revision,trade_id\r\n2024-03-10T07:00:00Z,PJM,DA,\"WEST, HUB\",40,acme,1,T1\r\n2024-03-10T08:00:00+01:00,XYZ,,N,41,,,\r\n",
        ],
    }
}

/// Formats read as a header line followed by one data row per line.
fn header_then_rows(f: Format) -> bool {
    matches!(
        f,
        Format::PjmDa
            | Format::PjmRt
            | Format::PjmRt5
            | Format::NyisoDa
            | Format::NyisoRt
            | Format::NyisoOasis
            | Format::ErcotRt
            | Format::ErcotDam
            | Format::SppRtbm
            | Format::SppDa
            | Format::SimpleCsv
    )
}

#[derive(Clone, Debug)]
enum Mutation {
    Truncate(usize),
    Flip(usize, u8),
    Insert(usize, &'static [u8]),
    Delete(usize, usize),
    HugeLine(usize, usize),
    DuplicateLine(usize),
}

const INSERTS: &[&[u8]] = &[
    b"\0",
    b"\"",
    b"\n",
    b"\r\n",
    b",",
    b"NaN",
    b"inf",
    b"-1e400",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\n\n\n",
    b"{",
    b"}",
    b"[",
    b"\\",
    b"24:00",
    b"02X",
    b"-",
    b"9999999999999999999999",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1u8..=255).prop_map(|(p, x)| Mutation::Flip(p, x)),
        (any::<usize>(), proptest::sample::select(INSERTS))
            .prop_map(|(p, b)| Mutation::Insert(p, b)),
        (any::<usize>(), 1usize..40).prop_map(|(p, n)| Mutation::Delete(p, n)),
        (any::<usize>(), 1usize..(RAW_EVENT_MAX_BYTES + 4096))
            .prop_map(|(p, n)| Mutation::HugeLine(p, n)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
    ]
}

fn apply(doc: &mut Vec<u8>, m: &Mutation) {
    let at = |p: usize, len: usize| if len == 0 { 0 } else { p % (len + 1) };
    match *m {
        Mutation::Truncate(p) => doc.truncate(at(p, doc.len())),
        Mutation::Flip(p, x) => {
            if !doc.is_empty() {
                let i = p % doc.len();
                doc[i] ^= x;
            }
        }
        Mutation::Insert(p, b) => {
            let i = at(p, doc.len());
            doc.splice(i..i, b.iter().copied());
        }
        Mutation::Delete(p, n) => {
            let i = at(p, doc.len());
            let end = (i + n).min(doc.len());
            doc.drain(i..end);
        }
        Mutation::HugeLine(p, n) => {
            let i = at(p, doc.len());
            doc.splice(i..i, std::iter::repeat_n(b'7', n));
        }
        Mutation::DuplicateLine(p) => {
            let starts: Vec<usize> = std::iter::once(0)
                .chain(
                    doc.iter()
                        .enumerate()
                        .filter(|(_, &c)| c == b'\n')
                        .map(|(i, _)| i + 1),
                )
                .filter(|&s| s < doc.len())
                .collect();
            if let Some(&s) = starts.get(p % starts.len().max(1)) {
                let e = doc[s..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(doc.len(), |i| s + i + 1);
                let line = doc[s..e].to_vec();
                doc.splice(e..e, line);
            }
        }
    }
}

fn non_blank_lines(bytes: &[u8]) -> usize {
    bytes
        .split(|&c| c == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .count()
}

fn run(bytes: &[u8], format: Option<Format>) -> ParseOutput {
    let feed = FeedInfo {
        id: 0,
        display: "fuzz".into(),
        kind: FeedKind::File,
    };
    let mut doc = Document::whole(bytes, &feed);
    doc.format = format;
    let mut ctx = ParseCtx::default();
    let mut out = ParseOutput::default();
    match format {
        Some(f) => parse_as(f, &doc, &mut ctx, &mut out),
        None => parse_document(&doc, &mut ctx, &mut out),
    }
    out
}

fn check(bytes: &[u8], format: Option<Format>, out: &ParseOutput) -> Result<(), TestCaseError> {
    let outcomes = out.ticks.len() + out.dead.len();
    for d in &out.dead {
        prop_assert!(!d.issues.is_empty(), "dead letter without a reason");
        prop_assert!(d.raw.len() <= RAW_EVENT_MAX_BYTES);
    }
    for t in &out.ticks {
        prop_assert!(t.price.is_finite(), "non-finite price");
        prop_assert!(
            t.interval_end_ms >= t.interval_start_ms,
            "inverted interval"
        );
        prop_assert!(!t.instrument_id.is_empty(), "empty instrument");
    }
    prop_assert!(
        out.rows == 0 || outcomes > 0,
        "rows counted without outcomes"
    );
    let lines = non_blank_lines(bytes);
    let effective = format.or_else(|| detect(bytes, None).ok());
    match effective {
        Some(Format::SimpleCsv) => {
            prop_assert_eq!(out.rows as usize, outcomes, "simple-csv accounting");
            if lines >= 2 {
                prop_assert!(outcomes >= 1, "simple-csv data lines without outcome");
            }
        }
        Some(Format::Envelope) => {
            prop_assert_eq!(out.rows as usize, outcomes, "envelope accounting");
            prop_assert!(out.rows as usize <= lines.max(1));
            if lines >= 1 {
                prop_assert!(outcomes >= 1, "envelope lines without outcome");
            }
        }
        Some(f) if header_then_rows(f) && lines >= 2 => {
            prop_assert!(outcomes >= 1, "{} data lines without outcome", f.name());
        }
        None if lines >= 1 && !zip_magic(bytes) => {
            prop_assert!(outcomes >= 1, "undetected input without a dead letter");
        }
        _ => {}
    }
    Ok(())
}

fn zip_magic(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK")
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn mutated_seeds_with_and_without_hint(
        fi in 0usize..Format::ALL.len(),
        si in 0usize..2,
        muts in proptest::collection::vec(mutation(), 0..5),
    ) {
        let format = Format::ALL[fi];
        let s = seeds(format);
        let mut doc = s[si % s.len()].as_bytes().to_vec();
        for m in &muts {
            apply(&mut doc, m);
        }
        let out = run(&doc, Some(format));
        check(&doc, Some(format), &out)?;
        let out = run(&doc, None);
        check(&doc, None, &out)?;
    }
}

proptest! {
    #![proptest_config(config(300))]

    #[test]
    fn random_bytes_every_format(bytes in proptest::collection::vec(
        prop_oneof![any::<u8>(), Just(b','), Just(b'\n'), Just(b'"'), Just(b'{')], 0..400)
    ) {
        for format in Format::ALL {
            let out = run(&bytes, Some(format));
            check(&bytes, Some(format), &out)?;
        }
        let out = run(&bytes, None);
        check(&bytes, None, &out)?;
    }
}

#[test]
fn seeds_parse_without_panicking() {
    for format in Format::ALL {
        for seed in seeds(format) {
            let out = run(seed.as_bytes(), Some(format));
            assert!(
                out.rows > 0 || !out.ticks.is_empty() || !out.dead.is_empty(),
                "{format}"
            );
        }
    }
    // The seeds of the finished parsers are valid documents.
    for format in [
        Format::PjmDa,
        Format::PjmRt,
        Format::PjmRt5,
        Format::SimpleCsv,
        Format::Envelope,
    ] {
        for seed in seeds(format) {
            let out = run(seed.as_bytes(), None);
            assert!(out.dead.is_empty(), "{format}: {:?}", out.dead);
            assert!(!out.ticks.is_empty(), "{format}");
        }
    }
}

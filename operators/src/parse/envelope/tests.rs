//! Exact-output tests of the envelope parser.

use super::contract::timestamp_ms;
use crate::model::render::time;
use crate::model::{ErrorCode, FeedInfo, FeedKind, Market};
use crate::parse::{parse_document, Document, Format, ParseCtx, ParseOutput};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn feed() -> FeedInfo {
    FeedInfo {
        id: 0,
        display: "env.jsonl".into(),
        kind: FeedKind::File,
    }
}

fn run_bytes(bytes: &[u8], first_line: u32, hint: Option<Format>) -> ParseOutput {
    let feed = feed();
    let mut doc = Document::whole(bytes, &feed);
    doc.first_line = first_line;
    doc.format = hint;
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

fn run(envs: &[Value]) -> ParseOutput {
    let text: Vec<String> = envs.iter().map(Value::to_string).collect();
    run_bytes(text.join("\n").as_bytes(), 1, None)
}

const PJM_COLUMNS: &str = "datetime_beginning_utc,datetime_beginning_ept,pnode_id,pnode_name,voltage,equipment,type,zone,system_energy_price_da,total_lmp_da,congestion_price_da,marginal_loss_price_da,row_is_current,version_nbr";
const PJM_LINE: &str = "5/1/2025 4:00:00 AM,5/1/2025 12:00:00 AM,51217,EASTERN HUB,,,HUB,,30.98,24.966949,-6.094939,0.081888,True,1";

fn envelope(raw: &str, encoding: &str, market: &str, metadata: Value) -> Value {
    json!({
        "event_id": "e-1",
        "trace_id": "t-1",
        "schema_version": "1.0.0",
        "tenant_id": "acme",
        "producer": "ingestion-pjm@v1",
        "occurred_at": 1714536000000000_i64,
        "ingested_at": 1714536001000000_i64,
        "payload": {
            "source_system": "pjm-dataminer",
            "market": market,
            "symbol": "EASTERN HUB",
            "sequence": 7,
            "received_at": "2024-05-01T04:00:01Z",
            "raw_payload": raw,
            "encoding": encoding,
            "metadata": metadata,
            "retry_count": 2,
        }
    })
}

fn pjm_json() -> String {
    json!({
        "datetime_beginning_utc": "5/1/2025 4:00:00 AM",
        "pnode_name": "EASTERN HUB",
        "system_energy_price_da": 30.98,
        "total_lmp_da": 24.966949,
        "congestion_price_da": -6.094939,
        "marginal_loss_price_da": 0.081888,
        "version_nbr": 1
    })
    .to_string()
}

fn codes(out: &ParseOutput) -> Vec<ErrorCode> {
    out.dead.iter().map(|d| d.error_code).collect()
}

#[test]
fn pjm_json_payload_inferred() {
    let out = run(&[envelope(&pjm_json(), "json", "PJM", json!({}))]);
    assert_eq!((out.ticks.len(), out.dead.len()), (1, 0), "{:?}", out.dead);
    let t = &out.ticks[0];
    assert_eq!(&*t.instrument_id, "PJM.DA.EASTERN HUB");
    assert_eq!(
        (&*t.tenant_id, &*t.source_system),
        ("acme", "pjm-dataminer")
    );
    assert_eq!(t.market, Market::Pjm);
    assert_eq!(time(t.interval_start_ms), "2025-05-01T04:00:00Z");
    assert_eq!(time(t.interval_end_ms), "2025-05-01T05:00:00Z");
    assert_eq!(
        (t.price, t.components().energy, t.revision),
        (24.966949, Some(30.98), 1)
    );
    assert_eq!(time(t.ingested_at_ms), "2024-05-01T04:00:01Z");
    assert_eq!(t.source.line, 1);
}

#[test]
fn pjm_csv_line_with_columns_array_or_string() {
    let names: Vec<&str> = PJM_COLUMNS.split(',').collect();
    for cols in [json!(names), json!(PJM_COLUMNS)] {
        let meta = json!({ "columns": cols });
        let out = run(&[envelope(PJM_LINE, "csv-line", "PJM", meta)]);
        assert_eq!(out.dead.len(), 0, "{:?}", out.dead);
        assert_eq!(&*out.ticks[0].instrument_id, "PJM.DA.EASTERN HUB");
        assert_eq!(out.ticks[0].components().congestion, Some(-6.094939));
    }
}

#[test]
fn simple_csv_payloads_and_symbol_fallback() {
    let meta = json!({ "columns": "ts,market,node,price,volume" });
    let a = envelope(
        "2024-05-01T00:00:00-04:00,ERCOT,HB_HOUSTON,31.5,2",
        "csv-line",
        "ERCOT",
        meta,
    );
    // JSON without instrument: named by the symbol; market from the envelope.
    let raw = json!({"ts_ms": 1714536000000_i64, "price": 12.25}).to_string();
    let b = envelope(&raw, "json", "SPP", json!({ "format": "simple-csv" }));
    let out = run(&[a, b]);
    assert_eq!(out.dead.len(), 0, "{:?}", out.dead);
    let (a, b) = (&out.ticks[0], &out.ticks[1]);
    assert_eq!(
        (&*a.instrument_id, a.market, &*a.market_run),
        ("ERCOT.RT.HB_HOUSTON", Market::Ercot, "RT")
    );
    assert_eq!(time(a.interval_start_ms), "2024-05-01T04:00:00Z");
    assert_eq!(
        (a.volume, &*a.tenant_id, &*a.source_system),
        (Some(2.0), "acme", "pjm-dataminer")
    );
    assert_eq!(
        (&*b.instrument_id, b.market, b.price),
        ("EASTERN HUB", Market::Spp, 12.25)
    );
    assert_eq!((a.source.line, b.source.line), (1, 2));
}

#[test]
fn checksum_ok_and_mismatch() {
    let raw = pjm_json();
    let hex: String = Sha256::digest(raw.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut ok = envelope(&raw, "json", "PJM", json!({}));
    ok["payload"]["checksum"] = json!(hex.to_uppercase());
    let mut bad = envelope(&raw, "json", "PJM", json!({}));
    bad["payload"]["checksum"] = json!("00".repeat(32));
    let out = run(&[ok, bad]);
    assert_eq!(out.ticks.len(), 1);
    assert_eq!(codes(&out), vec![ErrorCode::ContractViolation]);
    assert!(
        out.dead[0].issues[0].starts_with("checksum mismatch"),
        "{:?}",
        out.dead[0].issues
    );
    assert_eq!(out.dead[0].source, "env.jsonl:2");
    assert_eq!(
        (&*out.dead[0].tenant_id, out.dead[0].retry_count),
        ("acme", 2)
    );
}

#[test]
fn timestamps_are_classified_by_size() {
    let at = |v: Value| timestamp_ms(&v).map(time);
    assert_eq!(at(json!(1714536000)), Ok("2024-05-01T04:00:00Z".into()));
    assert_eq!(
        at(json!(99_999_999_999_i64)),
        Ok("5138-11-16T09:46:39Z".into())
    );
    assert_eq!(
        at(json!(100_000_000_000_i64)),
        Ok("1973-03-03T09:46:40Z".into())
    );
    assert_eq!(
        at(json!(1714536000250_i64)),
        Ok("2024-05-01T04:00:00.250Z".into())
    );
    assert_eq!(
        at(json!(1714536000250999_i64)),
        Ok("2024-05-01T04:00:00.250Z".into())
    );
    assert_eq!(
        at(json!(1714536000.5)),
        Ok("2024-05-01T04:00:00.500Z".into())
    );
    assert_eq!(
        at(json!("2024-05-01T00:00:00-04:00")),
        Ok("2024-05-01T04:00:00Z".into())
    );
    assert!(at(json!("2024-05-01")).is_err());
    assert!(at(json!(true)).is_err());
    assert!(at(json!(i64::MAX)).is_err(), "beyond year 9999");
}

#[test]
fn contract_violations() {
    let good = || envelope(&pjm_json(), "json", "PJM", json!({}));
    let mut cases: Vec<(Value, &str)> = Vec::new();
    let mut e = good();
    e.as_object_mut().map(|o| o.remove("event_id"));
    cases.push((e, "missing field event_id"));
    let mut e = good();
    e["payload"]["sequence"] = json!("7");
    cases.push((e, "field payload.sequence must be an integer, got a string"));
    let mut e = good();
    e["payload"]["encoding"] = json!("avro");
    cases.push((
        e,
        "unsupported payload.encoding \"avro\" (json or csv-line)",
    ));
    let mut e = good();
    e["payload"] = json!("x");
    cases.push((e, "field payload must be an object, got a string"));
    let mut e = good();
    e["occurred_at"] = json!("yesterday");
    cases.push((e, "field occurred_at: not an RFC 3339 time: \"yesterday\""));
    let mut e = good();
    e["schema_version"] = json!("2.0.0");
    cases.push((
        e,
        "unsupported schema_version \"2.0.0\" (major version 1 expected)",
    ));
    let mut e = good();
    e["payload"]["raw_payload"] = json!(["a"]);
    cases.push((
        e,
        "field payload.raw_payload must be a string, got an array",
    ));
    cases.push((
        envelope("[1,2]", "json", "PJM", json!({})),
        "raw_payload with encoding json must be a JSON object, got an array",
    ));
    cases.push((
        envelope(PJM_LINE, "csv-line", "PJM", json!({})),
        "encoding csv-line needs payload.metadata.columns (the header)",
    ));
    cases.push((
        envelope(&pjm_json(), "json", "PJM", json!({"format": "pjm-daily"})),
        "unknown payload.metadata.format \"pjm-daily\"",
    ));
    cases.push((
        envelope(&pjm_json(), "json", "SPP", json!({})),
        "payload.market \"SPP\" does not match format pjm-da",
    ));
    cases.push((
        envelope(
            "{\"Time Stamp\":\"07/18/2022 00:05:00\",\"Name\":\"CAPITL\",\"LBMP ($/MWHr)\":1}",
            "json",
            "NYISO",
            json!({}),
        ),
        "format nyiso-rt does not carry stand-alone rows; send whole documents on its market topic",
    ));
    cases.push((
        envelope("{\"x\":1}", "json", "MISO", json!({})),
        "market MISO has no stand-alone rows: its documents travel whole on the ingestion.miso.raw.v1 topic",
    ));
    cases.push((
        envelope("{\"x\":1}", "json", "OTHER", json!({})),
        "cannot infer the payload format (the fields match no format); set payload.metadata.format",
    ));
    cases.push((
        envelope("{\"x\":1}", "json", "ISONE", json!({})),
        "cannot infer the payload format (an ISO-NE row whose market (day-ahead or real-time) cannot be told); set payload.metadata.format",
    ));
    let envs: Vec<Value> = cases.iter().map(|(e, _)| e.clone()).collect();
    let out = run(&envs);
    assert_eq!((out.ticks.len(), out.dead.len()), (0, cases.len()));
    for (i, (d, (_, want))) in out.dead.iter().zip(&cases).enumerate() {
        assert_eq!(
            d.error_code,
            ErrorCode::ContractViolation,
            "case {i}: {:?}",
            d.issues
        );
        assert_eq!(d.issues, vec![want.to_string()], "case {i}");
        assert_eq!(d.source, format!("env.jsonl:{}", i + 1));
        assert_eq!(d.raw, envs[i].to_string().into_bytes());
    }
}

#[test]
fn parse_errors_and_row_rejections() {
    let bad_price = pjm_json().replace("24.966949", "\"NaN\"");
    let lines = [
        "{\"event_id\": ".to_string(),
        "[1,2]".to_string(),
        envelope("{not json", "json", "PJM", json!({})).to_string(),
        envelope(&bad_price, "json", "PJM", json!({})).to_string(),
        envelope("a,\"b", "csv-line", "PJM", json!({"columns": PJM_COLUMNS})).to_string(),
        envelope("1,2", "csv-line", "PJM", json!({"columns": PJM_COLUMNS})).to_string(),
    ];
    let out = run_bytes(lines.join("\r\n").as_bytes(), 1, Some(Format::Envelope));
    use ErrorCode::*;
    assert_eq!(
        codes(&out),
        vec![
            ParseError,
            ContractViolation,
            ParseError,
            ValidationError,
            ParseError,
            ParseError
        ]
    );
    assert_eq!(out.dead[0].raw, b"{\"event_id\": ");
    assert_eq!(out.dead[3].source, "env.jsonl:4");
    assert_eq!(out.dead[5].issues, vec!["row has 2 fields, header has 14"]);
    let mut all_issues = out.dead.iter().flat_map(|d| d.issues.iter());
    assert!(all_issues.any(|i| i.contains("total_lmp_da")));
}

#[test]
fn lines_blank_lines_chunk_offsets_and_pretty_documents() {
    let e = envelope(&pjm_json(), "json", "PJM", json!({})).to_string();
    let doc = format!("\n{e}\r\n\r\n   \n{e}\n");
    let out = run_bytes(doc.as_bytes(), 41, None);
    assert_eq!((out.rows, out.ticks.len()), (2, 2));
    let lines: Vec<u32> = out.ticks.iter().map(|t| t.source.line).collect();
    assert_eq!(lines, vec![42, 45]);
    let pretty = serde_json::to_string_pretty(&envelope(&pjm_json(), "json", "PJM", json!({})))
        .unwrap_or_default();
    let out = run_bytes(format!("\n{pretty}\n").as_bytes(), 1, None);
    assert_eq!((out.rows, out.ticks.len()), (1, 1), "{:?}", out.dead);
    assert_eq!(out.ticks[0].source.line, 2);
    assert_eq!(run_bytes(b"", 1, Some(Format::Envelope)).rows, 0);
}

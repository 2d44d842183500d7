//! The canonical raw envelope (SPEC §2.2): JSON, one envelope per line in files (one per message
//! on Kafka), each carrying one stand-alone market record in `payload.raw_payload`.
//!
//! Per envelope: the JSON is read (`PARSE_ERROR` when it is not JSON), the contract is checked
//! (missing or mistyped fields, unsupported encoding, bad timestamps, checksum mismatch:
//! `CONTRACT_VIOLATION`, every issue listed), `raw_payload` is decoded (`json`: an object in the
//! market's native field names; `csv-line`: one CSV line under `metadata.columns`), its format is
//! `metadata.format` or inferred from the market and the field names, and the record goes to
//! that format's row parser ([`crate::parse::parse_row`]), whose own rejections keep their code.
//! Formats whose rows do not stand alone (NYISO, MISO, CAISO) are a `CONTRACT_VIOLATION`.
//!
//! The tick takes the envelope's `tenant_id` (when given), `payload.source_system`, its
//! `ingested_at`, and — when its own record names no market — the market of `payload.market`.
//! A simple-CSV record naming no instrument is named by `payload.symbol`.
//! Every non-blank line is one record: one tick or one dead letter whose raw bytes are the
//! envelope line and whose source is that line. A document that is one pretty-printed envelope
//! (a Kafka message) is read whole.

mod contract;
mod payload;
#[cfg(test)]
mod tests;

use super::{Document, ParseCtx, ParseOutput};
use crate::model::{ErrorCode, Market};
use serde_json::Value;

/// Parses an envelope document: one envelope per non-blank line.
pub(super) fn parse(doc: &Document<'_>, ctx: &mut ParseCtx, out: &mut ParseOutput) {
    if let Some((line, body)) = single_pretty_envelope(doc.bytes) {
        one(doc, line, body, ctx, out);
        return;
    }
    let bytes = doc.bytes;
    let mut pos = 0;
    let mut line = 1u32;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        let (len, next) = match memchr::memchr(b'\n', rest) {
            Some(i) => (i, pos + i + 1),
            None => (rest.len(), bytes.len()),
        };
        let l = &rest[..len];
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        if !l.iter().all(u8::is_ascii_whitespace) {
            one(doc, line, l, ctx, out);
        }
        pos = next;
        line = line.saturating_add(1);
    }
}

/// A document whose first non-blank line is not a whole JSON value but which as a whole is one
/// JSON object: `(line of its first byte, its bytes)`.
fn single_pretty_envelope(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &bytes[start..];
    let first_len = memchr::memchr(b'\n', rest)?;
    if rest.first() != Some(&b'{') || serde_json::from_slice::<Value>(&rest[..first_len]).is_ok() {
        return None;
    }
    match serde_json::from_slice::<Value>(rest) {
        Ok(Value::Object(_)) => {
            let line = memchr::memchr_iter(b'\n', &bytes[..start]).count() as u32 + 1;
            Some((line, rest.trim_ascii_end()))
        }
        _ => None,
    }
}

/// Parses one envelope at 1-based document line `line`.
fn one(doc: &Document<'_>, line: u32, raw: &[u8], ctx: &mut ParseCtx, out: &mut ParseOutput) {
    out.rows += 1;
    let value = match serde_json::from_slice::<Value>(raw) {
        Ok(v) => v,
        Err(e) => {
            let issue = format!("envelope is not valid JSON: {e}");
            out.dead
                .push(ctx.dead(doc, line, 0, 0, ErrorCode::ParseError, vec![issue], raw));
            return;
        }
    };
    let Value::Object(obj) = &value else {
        let issue = "envelope must be a JSON object".to_string();
        out.dead.push(ctx.dead(
            doc,
            line,
            0,
            0,
            ErrorCode::ContractViolation,
            vec![issue],
            raw,
        ));
        return;
    };
    let salvage = contract::salvage(obj);
    let tenant = salvage.tenant_id.map(|t| ctx.interner.intern(t));
    let first_tick = out.ticks.len();
    let result = record(doc, line, obj, ctx, out);
    match result {
        Ok(()) => {
            for tick in &mut out.ticks[first_tick..] {
                if let Some(t) = &tenant {
                    tick.tenant_id = t.clone();
                }
            }
        }
        Err((code, mut issues)) => {
            out.ticks.truncate(first_tick);
            if issues.is_empty() {
                issues.push("envelope rejected".to_string());
            }
            let mut dl = ctx.dead(doc, line, 0, 0, code, issues, raw);
            if let Some(t) = tenant {
                dl.tenant_id = t;
            }
            dl.retry_count = salvage.retry_count;
            out.dead.push(dl);
        }
    }
}

/// Validates, decodes and dispatches one envelope; the ticks go to `out`.
fn record(
    doc: &Document<'_>,
    line: u32,
    obj: &serde_json::Map<String, Value>,
    ctx: &mut ParseCtx,
    out: &mut ParseOutput,
) -> Result<(), payload::Fail> {
    let env = contract::validate(obj).map_err(|issues| (ErrorCode::ContractViolation, issues))?;
    payload::check_checksum(&env)?;
    let mut decoded = payload::decode(&env)?;
    let format = payload::format(&env, &mut decoded)?;
    // The record's own document: the envelope line, so positions name that line.
    let sub = Document {
        bytes: doc.bytes,
        feed: doc.feed,
        offset: doc.offset,
        first_line: doc.first_line.saturating_add(line.saturating_sub(1)),
        header: None,
        name: doc.name,
        format: Some(format),
        ingested_at_ms: env.ingested_at_ms,
    };
    let first_tick = out.ticks.len();
    // The envelope line is the row: whatever the row parser counts is undone.
    let rows = out.rows;
    let result = payload::with_row(&decoded, |row| {
        crate::parse::parse_row(format, row, &sub, ctx, out)
    });
    out.rows = rows;
    result?;
    let source_system = ctx.interner.intern(env.source_system);
    let market = Market::from_code(env.market);
    for tick in &mut out.ticks[first_tick..] {
        tick.source_system = source_system.clone();
        if let (Market::Other, Some(m)) = (tick.market, market) {
            tick.market = m;
            tick.flags = Default::default();
            ctx.flag(tick);
        }
    }
    Ok(())
}

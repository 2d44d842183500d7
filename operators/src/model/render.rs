//! Canonical rendering shared by every sink (SPEC §6): times as RFC 3339 UTC with `Z` and
//! milliseconds only when non-zero, numbers rounded to 6 decimals in their shortest form (no
//! exponent, no trailing `.0`, `-0` as `0`), null as an empty CSV field or JSON `null`.
//!
//! These functions are deterministic: the same value renders to the same bytes on every worker.

use super::{DeadLetter, Enrichment, EpochMs, FeedTable, Sym, Tick};
use base64::Engine as _;
use std::fmt::Write as _;

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn push_datetime(out: &mut String, ms: EpochMs) {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, mo, d) = civil_from_days(days);
    let secs = rem / 1000;
    if !(0..=9999).contains(&y) {
        let _ = write!(out, "{y:04}-{mo:02}-{d:02}T");
    } else {
        // The common case by hand: `write!` costs several times as much (bars and latest
        // rows carry three to five times each).
        push_digits(out, y as u32, 4);
        out.push('-');
        push_digits(out, mo, 2);
        out.push('-');
        push_digits(out, d, 2);
        out.push('T');
    }
    push_digits(out, (secs / 3600) as u32, 2);
    out.push(':');
    push_digits(out, ((secs / 60) % 60) as u32, 2);
    out.push(':');
    push_digits(out, (secs % 60) as u32, 2);
    let frac = rem % 1000;
    if frac != 0 {
        out.push('.');
        push_digits(out, frac as u32, 3);
    }
}

/// Appends the `width` low decimal digits of `v`, zero-padded.
fn push_digits(out: &mut String, v: u32, width: u32) {
    for i in (0..width).rev() {
        let digit = (v / 10u32.pow(i)) % 10;
        out.push(char::from(b'0' + digit as u8));
    }
}

/// Appends `v` in decimal (no formatting machinery: this runs for every rendered number).
pub fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [b'0'; 20];
    let mut start = buf.len();
    for slot in buf.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        start -= 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(buf.get(start..).unwrap_or_default()).unwrap_or_default());
}

/// Appends `ms` as RFC 3339 UTC with `Z` (`2024-11-03T05:00:00Z`, `…:00.250Z`).
pub fn push_time(out: &mut String, ms: EpochMs) {
    push_datetime(out, ms);
    out.push('Z');
}

/// Renders `ms` as RFC 3339 UTC with `Z`.
pub fn time(ms: EpochMs) -> String {
    let mut s = String::with_capacity(24);
    push_time(&mut s, ms);
    s
}

/// Appends `ms` as `YYYY-MM-DDTHH:MM:SS+00:00` (the predecessor's bar-id form).
pub fn push_time_offset(out: &mut String, ms: EpochMs) {
    push_datetime(out, ms);
    out.push_str("+00:00");
}

/// Parses an RFC 3339 timestamp (any offset) to epoch ms; sub-millisecond digits are truncated.
pub fn parse_rfc3339_ms(s: &str) -> Option<EpochMs> {
    let ts: jiff::Timestamp = s.trim().parse().ok()?;
    Some(ts.as_millisecond())
}

/// Appends `x` rounded to 6 decimals in its shortest form (`1.5`, `-0.25`, `40`, `0`).
pub fn push_num(out: &mut String, x: f64) {
    if !x.is_finite() {
        // Non-finite values never pass validation; render them as JSON-safe null text.
        out.push_str("null");
        return;
    }
    match micros(x) {
        Some(n) => push_micros(out, n),
        None => push_num_exact(out, x),
    }
}

/// `x` in millionths, rounded as `{:.6}` rounds (to nearest; ties are left to the exact
/// path), when that is certain from `y = x·1e6` alone: `|y| < 2^43` keeps `y`'s rounding error
/// below 2^-10, so a fraction of `y` more than 2^-8 away from ½ rounds the same way as the
/// exact product. `None` otherwise (near-ties and huge values take the exact path).
fn micros(x: f64) -> Option<i64> {
    const LIMIT: f64 = (1u64 << 43) as f64;
    const MARGIN: f64 = 1.0 / 256.0;
    let y = x * 1e6;
    if y.is_nan() || y.abs() >= LIMIT {
        return None;
    }
    let t = y.trunc();
    let frac = (y - t).abs(); // exact
    if (frac - 0.5).abs() <= MARGIN {
        return None;
    }
    let n = t as i64;
    Some(match (frac > 0.5, y < 0.0) {
        (false, _) => n,
        (true, false) => n + 1,
        (true, true) => n - 1,
    })
}

/// Appends `n` millionths as [`push_num`] renders them.
fn push_micros(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    let a = n.unsigned_abs();
    let (int, mut frac) = (a / 1_000_000, a % 1_000_000);
    push_u64(out, int);
    if frac != 0 {
        out.push('.');
        let mut width = 6;
        while frac % 10 == 0 {
            frac /= 10;
            width -= 1;
        }
        push_digits(out, frac as u32, width);
    }
}

/// [`push_num`] by exact decimal formatting.
fn push_num_exact(out: &mut String, x: f64) {
    let start = out.len();
    let _ = write!(out, "{x:.6}");
    // Trim trailing zeros and a trailing dot.
    while out.ends_with('0') {
        out.pop();
    }
    if out.ends_with('.') {
        out.pop();
    }
    if &out[start..] == "-0" {
        out.truncate(start);
        out.push('0');
    }
}

/// Renders a number as [`push_num`] does.
pub fn num(x: f64) -> String {
    let mut s = String::new();
    push_num(&mut s, x);
    s
}

/// Appends an optional number for CSV (empty when null).
pub fn push_opt_num_csv(out: &mut String, x: Option<f64>) {
    if let Some(x) = x {
        push_num(out, x);
    }
}

/// Appends an optional number for JSON (`null` when absent).
pub fn push_opt_num_json(out: &mut String, x: Option<f64>) {
    match x {
        Some(x) => push_num(out, x),
        None => out.push_str("null"),
    }
}

/// Appends `s` as a JSON string literal.
pub fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `s` as a CSV field, quoting it when it holds a comma, quote or line break.
pub fn push_csv_field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// The `;`-joined quality flags of a tick.
pub fn flags_joined(t: &Tick) -> String {
    let mut s = String::new();
    for (i, f) in t.flags.iter().enumerate() {
        if i > 0 {
            s.push(';');
        }
        s.push_str(f.name());
    }
    s
}

/// Appends one tick as a `ticks.jsonl` line (no trailing newline). `ingested_at` is included only
/// when `with_wall_clock` (it is left out of `dir:` files, SPEC §4).
pub fn push_tick_json(out: &mut String, t: &Tick, feeds: &FeedTable, with_wall_clock: bool) {
    out.push_str("{\"tenant_id\":");
    push_json_str(out, &t.tenant_id);
    out.push_str(",\"tick_id\":\"");
    let _ = write!(out, "{}", super::ids::tick_id(&t.identity()));
    out.push_str("\",\"instrument_id\":");
    push_json_str(out, &t.instrument_id);
    out.push_str(",\"market\":");
    push_json_str(out, t.market.code());
    out.push_str(",\"node\":");
    push_json_str(out, &t.node);
    out.push_str(",\"market_run\":");
    push_json_str(out, &t.market_run);
    out.push_str(",\"interval_start\":\"");
    push_time(out, t.interval_start_ms);
    out.push_str("\",\"interval_end\":\"");
    push_time(out, t.interval_end_ms);
    out.push_str("\",\"price\":");
    push_num(out, t.price);
    let x = t.extras.get();
    for (name, v) in [
        ("energy", x.components.energy),
        ("congestion", x.components.congestion),
        ("loss", x.components.loss),
        ("ghg", x.components.ghg),
        ("volume", t.volume),
        ("bid", x.bid),
        ("ask", x.ask),
    ] {
        let _ = write!(out, ",\"{name}\":");
        push_opt_num_json(out, v);
    }
    out.push_str(",\"trade_id\":");
    match &t.trade_id {
        Some(id) => push_json_str(out, id),
        None => out.push_str("null"),
    }
    out.push_str(",\"currency\":\"USD\",\"unit\":\"$/MWh\",\"quality_flags\":[");
    for (i, f) in t.flags.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "\"{}\"", f.name());
    }
    let _ = write!(
        out,
        "],\"revision\":{},\"version\":{}",
        t.revision, t.version
    );
    out.push_str(",\"source_system\":");
    push_json_str(out, &t.source_system);
    out.push_str(",\"source\":");
    push_json_str(out, &feeds.render(&t.source));
    if let Some(e) = &t.enrichment {
        push_enrichment_json(out, e);
    }
    if with_wall_clock {
        out.push_str(",\"ingested_at\":\"");
        push_time(out, t.ingested_at_ms);
        out.push('"');
    }
    out.push('}');
}

/// Appends the enrichment fields of a `ticks.jsonl` line (SPEC §3), each preceded by a comma:
/// `,"commodity":…,"region":…,"product_tier":…,"contract_size":…,"tick_size":…,
/// "classification_confidence":…,"classification_method":…` (`null` where absent).
pub fn push_enrichment_json(out: &mut String, e: &Enrichment) {
    for (name, v) in [
        ("commodity", &e.commodity),
        ("region", &e.region),
        ("product_tier", &e.product_tier),
    ] {
        let _ = write!(out, ",\"{name}\":");
        push_opt_str_json(out, v.as_ref());
    }
    out.push_str(",\"contract_size\":");
    push_opt_num_json(out, e.contract_size);
    out.push_str(",\"tick_size\":");
    push_opt_num_json(out, e.tick_size);
    out.push_str(",\"classification_confidence\":");
    push_num(out, e.classification_confidence);
    let _ = write!(
        out,
        ",\"classification_method\":\"{}\"",
        e.classification_method.name()
    );
}

fn push_opt_str_json(out: &mut String, s: Option<&Sym>) {
    match s {
        Some(s) => push_json_str(out, s),
        None => out.push_str("null"),
    }
}

/// Appends one dead letter as a `dead_letters.jsonl` line (no trailing newline).
pub fn push_dead_letter_json(out: &mut String, d: &DeadLetter, with_wall_clock: bool) {
    let _ = write!(out, "{{\"event_id\":\"{}\"", d.event_id());
    let _ = write!(
        out,
        ",\"failure_stage\":\"{}\",\"error_code\":\"{}\",\"error_message\":",
        d.failure_stage.name(),
        d.error_code.name()
    );
    push_json_str(out, &d.error_message);
    out.push_str(",\"issues\":[");
    for (i, issue) in d.issues.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_str(out, issue);
    }
    out.push_str("],\"source\":");
    push_json_str(out, &d.source);
    let _ = write!(out, ",\"index\":{},\"raw_event\":", d.index);
    match std::str::from_utf8(&d.raw) {
        Ok(text) => push_json_str(out, text),
        Err(_) => {
            push_json_str(
                out,
                &base64::engine::general_purpose::STANDARD.encode(&d.raw),
            );
            out.push_str(",\"raw_encoding\":\"base64\"");
        }
    }
    if d.raw_truncated {
        out.push_str(",\"raw_truncated\":true");
    }
    out.push_str(",\"tenant_id\":");
    push_json_str(out, &d.tenant_id);
    if with_wall_clock {
        out.push_str(",\"ingested_at\":\"");
        push_time(out, d.ingested_at_ms);
        out.push('"');
    }
    let _ = write!(out, ",\"retry_count\":{}}}", d.retry_count);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast paths render exactly as `write!` does, on values around ties, signs, tiny,
    /// huge and random values.
    #[test]
    fn integers_render_as_display_does() {
        for v in [0, 7, 10, 99, 1_000_000, 1_704_067_200_010, u64::MAX] {
            let mut s = String::from("x");
            push_u64(&mut s, v);
            assert_eq!(s, format!("x{v}"));
        }
    }

    #[test]
    fn fast_rendering_matches_fmt() {
        let mut vals = vec![
            0.0,
            -0.0,
            0.5e-6,
            -0.5e-6,
            1.5e-6,
            2.5e-6,
            0.0000004,
            -0.0000004,
            0.0000005,
            1e-7,
            12.3456785,
            12.3456775,
            -12.3456785,
            40.0,
            -40.0,
            1e12,
            -1e12,
            8.7e12,
            9.9e12,
            1e15,
            123456.1234565,
            0.1,
            0.2,
            0.3,
            1.0 / 3.0,
            -2.0 / 3.0,
        ];
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..200_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mag = 10f64.powi((seed % 20) as i32 - 8);
            let unit = (seed >> 11) as f64 / (1u64 << 53) as f64;
            let x = (unit - 0.5) * mag;
            vals.push(x);
            vals.push((x * 1e6).round() / 1e6 + 0.5e-6);
        }
        for x in vals {
            let mut fast = String::new();
            push_num(&mut fast, x);
            let mut exact = String::new();
            push_num_exact(&mut exact, x);
            assert_eq!(fast, exact, "{x:e}");
        }
        for ms in [
            0i64,
            1,
            999,
            1_704_067_200_010,
            -1,
            -86_400_001,
            253_402_300_799_999,
        ] {
            let mut fast = String::new();
            push_time(&mut fast, ms);
            let days = ms.div_euclid(86_400_000);
            let rem = ms.rem_euclid(86_400_000);
            let (y, mo, d) = civil_from_days(days);
            let secs = rem / 1000;
            let mut want = format!(
                "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}",
                secs / 3600,
                (secs / 60) % 60,
                secs % 60
            );
            if rem % 1000 != 0 {
                want.push_str(&format!(".{:03}", rem % 1000));
            }
            want.push('Z');
            assert_eq!(fast, want);
        }
    }

    #[test]
    fn numbers_render_shortest() {
        for (x, s) in [
            (1.5, "1.5"),
            (40.0, "40"),
            (-0.0, "0"),
            (-0.0000001, "0"),
            (0.1 + 0.2, "0.3"),
            (-4.88685, "-4.88685"),
            (1e15, "1000000000000000"),
            (123.4567891, "123.456789"),
        ] {
            assert_eq!(num(x), s, "{x}");
        }
    }

    #[test]
    fn times_render_with_millis_only_when_nonzero() {
        assert_eq!(time(0), "1970-01-01T00:00:00Z");
        assert_eq!(time(1_730_610_000_000), "2024-11-03T05:00:00Z");
        assert_eq!(time(1_730_610_000_250), "2024-11-03T05:00:00.250Z");
        assert_eq!(time(-1), "1969-12-31T23:59:59.999Z");
        let mut s = String::new();
        push_time_offset(&mut s, 1_730_610_000_000);
        assert_eq!(s, "2024-11-03T05:00:00+00:00");
    }

    #[test]
    fn enrichment_renders_nulls_and_numbers() {
        use crate::model::ClassificationMethod;
        let mut s = String::new();
        push_enrichment_json(&mut s, &Enrichment::fallback());
        assert_eq!(
            s,
            ",\"commodity\":null,\"region\":null,\"product_tier\":null,\"contract_size\":null,\
             \"tick_size\":null,\"classification_confidence\":0.1,\"classification_method\":\"fallback\""
        );
        let e = Enrichment {
            commodity: Some("electricity".into()),
            region: Some("north\"east".into()),
            product_tier: Some("standard".into()),
            contract_size: Some(1.0),
            tick_size: Some(0.01),
            classification_confidence: 0.95,
            classification_method: ClassificationMethod::Database,
            missing_metadata: false,
        };
        s.clear();
        push_enrichment_json(&mut s, &e);
        assert_eq!(
            s,
            ",\"commodity\":\"electricity\",\"region\":\"north\\\"east\",\"product_tier\":\"standard\",\
             \"contract_size\":1,\"tick_size\":0.01,\"classification_confidence\":0.95,\
             \"classification_method\":\"database\""
        );
    }

    #[test]
    fn civil_round_trips() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
